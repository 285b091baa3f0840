"""The interactive-environment protocol used by ``onlinekit.engine.simulate``.

An environment is an object with

* ``reset(seed: int | None) -> obs`` -- start (or restart) an episode stream, drawing all
  randomness from its own generator seeded by ``seed``;
* ``step(action) -> Step`` -- apply ``action``; returns the feedback the policy may see, the
  next observation, the reward, and an ``info`` dict. ``info`` may carry
  ``"optimal_reward"`` (expected reward of the best action/policy this round) and
  ``"expected_reward"`` (expected reward of the action taken), from which the engine reports
  pseudo-regret.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

__all__ = ["Environment", "Step"]


class Step(NamedTuple):
    """Result of :meth:`Environment.step`."""

    feedback: Any
    obs: Any
    reward: float
    info: dict


@runtime_checkable
class Environment(Protocol):
    """See the module docstring."""

    def reset(self, seed: int | None = None) -> Any:
        """Start from scratch with a new seed; returns the first observation."""

    def step(self, action: Any) -> Step:
        """Apply ``action``."""
