"""Registered environments for ``onlinekit simulate ENV``: ``NAME`` or ``NAME?key=value&...``.

Each entry builds an environment (:mod:`onlinekit.streams.env`) from keyword parameters; the
values of a spec are read as integers, then floats, else text.

>>> from onlinekit.streams.environments import make_environment
>>> env = make_environment("cascading-bandit?n_items=6&m=2&seed=1")
>>> type(env).__name__, env.n_items, env.m, env.horizon
('CascadingBanditEnv', 6, 2, 1)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from onlinekit.streams.errors import StreamError

__all__ = ["ENVIRONMENTS", "EnvironmentInfo", "make_environment", "parse_spec"]


@dataclass(frozen=True)
class EnvironmentInfo:
    """A registered environment: its name, the factory that builds it, one line about it."""

    name: str
    factory: Callable[..., Any]
    description: str


def _cascading_bandit(n_items: int = 10, m: int = 3, seed: int = 0, a: float = 1.0, b: float = 10.0):
    from onlinekit.streams.cascade_env import CascadingBanditEnv

    return CascadingBanditEnv.random(n_items, m, seed=seed, a=a, b=b)


def _cascade_mdp(n_states: int = 3, n_items: int = 6, horizon: int = 3, m: int = 2, seed: int = 0,
                 q_max: float = 0.5, alpha: float = 0.5):
    from onlinekit.streams.cascade_env import random_cascading_mdp

    return random_cascading_mdp(n_states, n_items, horizon, m, seed=seed, q_max=q_max, alpha=alpha)


def _movielens_like(**params):
    from onlinekit.streams.cascade_env import movielens_like_mdp

    return movielens_like_mdp(**params)


def _auctions(**params):
    from onlinekit.streams.auctions import MultiChannelAuctions

    return MultiChannelAuctions(**params)


def _single_auction(**params):
    from onlinekit.streams.auctions import SingleChannelAuction

    return SingleChannelAuction(**params)


ENVIRONMENTS: dict[str, EnvironmentInfo] = {e.name: e for e in (
    EnvironmentInfo("cascading-bandit", _cascading_bandit,
                    "cascading bandit, attractions ~ Beta(a, b) (Kveton et al. 2015); one step per episode"),
    EnvironmentInfo("cascade-mdp", _cascade_mdp,
                    "random cascading MDP (Du et al. 2024); `horizon` steps per episode"),
    EnvironmentInfo("movielens-like", _movielens_like, "cascading MDP over genres, MovieLens-like set-up"),
    EnvironmentInfo("auctions", _auctions,
                    "multi-channel auctions (Deng et al. 2023): per-period channel budgets; one period per episode"),
    EnvironmentInfo("single-auction", _single_auction,
                    "a stream of single-slot auctions: one bid per episode"),
)}


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"NAME?k=v&..."`` -> ``(NAME, {k: v})`` (values: int, float, else text)."""
    from onlinekit.streams.open import _coerce

    name, _, query = spec.partition("?")
    return name, {k: _coerce(v) for k, v in parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))}


def make_environment(spec: str):
    """Build the environment a spec names; ``StreamError`` naming the known ones or the bad
    parameter."""
    try:
        name, params = parse_spec(spec)
    except ValueError as exc:
        raise StreamError(f"{spec}: cannot parse the parameters ({exc}); write NAME?key=value&key=value") from None
    if name not in ENVIRONMENTS:
        raise StreamError(f"unknown environment {name!r}; known: {', '.join(ENVIRONMENTS)}")
    factory = ENVIRONMENTS[name].factory
    try:
        return factory(**params)
    except TypeError as exc:
        known = ", ".join(inspect.signature(factory).parameters)
        raise StreamError(f"{spec}: {exc} (parameters: {known})") from None
    except ValueError as exc:  # InvalidEvent is a ValueError
        raise StreamError(f"{spec}: {exc}") from None
