"""The ``environment`` protocol: a decision learner against a simulated environment.

One step: ``a = learner.act(obs)``; ``step = env.step(a)``; ``learner.update(obs, a,
step.feedback)``. An **episode** is ``env.horizon`` steps (1 when the environment has no
``horizon``: a cascading bandit round, an auction, an auction period). :func:`simulate_env`
is the driver (``onlinekit simulate``, :func:`onlinekit.engine.simulate` and
:func:`onlinekit.cascade.simulate.run_episodes` all run through it): progress bar, record
points, checkpoints of learner + environment + figures at episode ends, resume equal to an
uninterrupted run bit for bit, Ctrl-C as :class:`~onlinekit.engine.Interrupted`.

Regret against the environment's optimum, per episode:

* ``"plan"`` (a learner with a plan, ``policy_`` / ``lengths_``, on a cascading MDP with
  more than one step per episode): ``V*_1(s_1) - V^{pi_k}_1(s_1)``, the exact values of the
  optimal policy and of the learner's plan at the start of episode ``k`` from its initial
  state ``s_1``;
* ``"grid-lp"`` (a grid budgeter, ``sgd-ucb-budgeter``, on stationary multi-channel auctions,
  ``competitor_pacing=False``): ``OPT - conversion_t`` per period, where ``OPT`` is the
  expected grid LP (:class:`onlinekit.bidding.GridLP`) on the environment's Monte Carlo
  conversion and spend curves at the learner's grid (``channel_curves(grid, 200 periods,
  seed=0)``), under the learner's ``total_budget`` and ``target_roi`` -- the benchmark SGD-UCB's
  regret is stated against (Deng et al. 2023);
* ``"info"`` (otherwise): the sum over the episode's steps of
  ``info["optimal_reward"] - info["expected_reward"]`` (pseudo-regret), when the
  environment reports both at every step; no ``regret`` otherwise (e.g. a single-auction
  stream, or auctions whose competitors pace, where no fixed optimum exists).

Summary keys: ``reward`` (total realised reward), ``mean_reward`` (per episode), ``regret``
(when available), ``episodes``, ``steps``.

Examples
--------
>>> from onlinekit.cascade import CascadeKLUCB
>>> from onlinekit.protocols.environment import simulate_env
>>> from onlinekit.streams.environments import make_environment
>>> env = make_environment("cascading-bandit?n_items=6&m=2&seed=1")
>>> rep = simulate_env(CascadeKLUCB(n_items=6, m=2), env, 2000, seed=0)
>>> rep.summary["episodes"], rep.summary["regret"] > 0, rep.series["events"][-1]
(2000, True, 2000.0)
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit.protocols._base import Protocol, Tracker
from onlinekit.report import Report

__all__ = ["ENVIRONMENT", "EnvTracker", "simulate_env", "env_state", "load_env_state", "is_decision_learner",
           "grid_lp_optimum"]

#: Learner parameters an environment determines (taken from its attributes of the same name).
ENV_PARAMS = ("n_states", "n_items", "horizon", "m", "rewards", "n_channels", "auction")


def is_decision_learner(cls: type) -> bool:
    """Whether a class meets the environment protocol (``act`` and ``update``)."""
    return callable(getattr(cls, "act", None)) and callable(getattr(cls, "update", None))


class EnvTracker(Tracker):
    """Totals of a simulation and, optionally, the per-episode reward and regret."""

    def __init__(self, mode: str, keep_episodes: bool = False) -> None:
        self.mode = mode  # "plan" or "info"
        self.keep = bool(keep_episodes)
        self.reward = 0.0
        self.regret = 0.0
        self.has_regret = True
        self.episodes = 0
        self.steps = 0
        self.ep_reward: list[float] = []
        self.ep_regret: list[float] = []

    def get(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reward": self.reward,
                               "mean_reward": self.reward / self.episodes if self.episodes else math.nan}
        if self.has_regret and self.episodes:
            out["regret"] = self.regret
        out["episodes"] = self.episodes
        out["steps"] = self.steps
        return out

    def state_dict(self) -> dict:
        return {"mode": self.mode, "reward": self.reward, "regret": self.regret, "has_regret": self.has_regret,
                "episodes": self.episodes, "steps": self.steps,
                "ep_reward": np.asarray(self.ep_reward, dtype=np.float64),
                "ep_regret": np.asarray(self.ep_regret, dtype=np.float64)}

    def load_state_dict(self, state: dict) -> None:
        if state["mode"] != self.mode:
            raise ValueError(f"tracker state measures regret by {state['mode']!r}, not {self.mode!r}")
        if self.keep and len(np.asarray(state["ep_reward"]).ravel()) != int(state["episodes"]):
            raise ValueError("the checkpoint kept no per-episode figures; resume with keep_episodes=False")
        self.reward, self.regret = float(state["reward"]), float(state["regret"])
        self.has_regret = bool(state["has_regret"])
        self.episodes, self.steps = int(state["episodes"]), int(state["steps"])
        self.ep_reward = [float(x) for x in np.asarray(state["ep_reward"]).ravel()]
        self.ep_regret = [float(x) for x in np.asarray(state["ep_regret"]).ravel()]


# -- environment state (checkpoints) ---------------------------------------------------------


def env_state(env) -> dict:
    """Every attribute of ``env`` as plain data; random generators as their bit-generator state."""
    out = {}
    for k, v in vars(env).items():
        if isinstance(v, np.random.Generator):
            out[k] = {"__rng__": v.bit_generator.state}
        else:
            out[k] = v
    return out


def load_env_state(env, state: dict) -> None:
    """Inverse of :func:`env_state` (the environment must be built with the same parameters)."""
    for k, v in state.items():
        if isinstance(v, dict) and "__rng__" in v:
            getattr(env, k).bit_generator.state = v["__rng__"]
        else:
            setattr(env, k, v)


# -- the protocol -----------------------------------------------------------------------------


class _Environment(Protocol):
    name = "environment"
    operations = ("act", "feedback")
    replays = False
    summary_keys = ("reward", "mean_reward", "regret", "episodes", "steps")
    inferred = ENV_PARAMS

    def infer_params(self, cls: type, env) -> dict[str, Any]:
        """The learner parameters ``env`` determines (:data:`ENV_PARAMS` that ``cls`` takes)."""
        takes = inspect.signature(cls.__init__).parameters
        out = {k: getattr(env, k) for k in ENV_PARAMS if k in takes and hasattr(env, k)}
        # arrays as nested lists: the learner's repr (report, checkpoint identity) stays one line
        return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in out.items()}

    def steps_per_episode(self, env) -> int:
        """Steps of one episode: the environment's ``horizon`` (1 without one)."""
        return int(getattr(env, "horizon", 1))

    def new_tracker(self, learner, env, steps: int, keep_episodes: bool = False) -> EnvTracker:
        planned = steps > 1 and hasattr(learner, "policy_") and hasattr(env, "optimal_values")
        mode = "plan" if planned else "grid-lp" if _grid_lp_fits(learner, env) else "info"
        return EnvTracker(mode, keep_episodes)

    def optimum(self, learner, env, tracker: EnvTracker):
        """What regret is measured against: ``V*[0]`` (plan), the grid-LP value, or ``None``."""
        if tracker.mode == "plan":
            return env.optimal_values()[0]
        if tracker.mode == "grid-lp":
            return grid_lp_optimum(learner, env)
        return None

    def play_episode(self, learner, env, obs, steps: int, tracker: EnvTracker, v_star=None):
        """One episode of ``steps`` steps (the per-event path); returns the next observation."""
        regret = 0.0
        reward = 0.0
        H = steps
        if tracker.mode == "plan":
            from onlinekit.cascade.simulate import policy_value

            V = policy_value(env, learner.policy_, learner.lengths_)
            regret = v_star[obs[1]] - V[0, obs[1]]
        for _ in range(H):
            action = learner.act(obs)
            step = env.step(action)
            learner.update(obs, action, step.feedback)
            reward += float(step.reward)
            if tracker.mode == "grid-lp":
                regret += v_star - float(step.reward)
            elif tracker.mode == "info" and tracker.has_regret:
                info = step.info or {}
                if "optimal_reward" in info and "expected_reward" in info:
                    regret += float(info["optimal_reward"]) - float(info["expected_reward"])
                else:
                    tracker.has_regret = False
            obs = step.obs
        tracker.reward += reward
        tracker.regret += regret
        tracker.episodes += 1
        tracker.steps += H
        if tracker.keep:
            tracker.ep_reward.append(reward)
            tracker.ep_regret.append(regret)
        return obs


def _grid_lp_fits(learner, env) -> bool:
    from onlinekit.streams.auctions import MultiChannelAuctions

    return (isinstance(env, MultiChannelAuctions) and not env.competitor_pacing
            and all(hasattr(learner, k) for k in ("grid", "total_budget", "target_roi")))


def grid_lp_optimum(learner, env, n_periods: int = 200) -> float:
    """Expected conversion per period of the best grid-budget distribution (the expected grid
    LP) on ``env``'s conversion / spend curves at ``learner.grid``, under the learner's budget
    and ROI target.

    Examples
    --------
    >>> from onlinekit.bidding import SGDUCBBudgeter
    >>> from onlinekit.streams.auctions import MultiChannelAuctions
    >>> env = MultiChannelAuctions(rounds_per_period=20, competitor_pacing=False, competitor_init=(0.0, 1.25))
    >>> opt = grid_lp_optimum(SGDUCBBudgeter(grid=(0.0, 0.2, 0.4), n_channels=3, total_budget=0.3), env, 20)
    >>> 0.0 < opt < 3.0
    True
    """
    from onlinekit.bidding import GridLP

    grid = np.asarray(learner.grid, dtype=np.float64)
    V, D = env.channel_curves(grid, n_periods=n_periods, seed=0)
    sol = GridLP(V.shape[0], V.shape[1]).solve(V, D, float(learner.total_budget), float(learner.target_roi))
    if sol.status not in ("optimal", "optimal_inaccurate"):
        raise ValueError(f"the grid LP benchmark of this environment is {sol.status}")
    return float(sol.value)


#: The environment protocol.
ENVIRONMENT = _Environment()


def simulate_env(
    learner: Any,
    env: Any,
    episodes: int,
    seed: int | None = 0,
    *,
    episode_steps: int | None = None,
    source: str | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = False,
    record_every: int | None = None,
    keep_episodes: bool = False,
) -> Report:
    """Run ``learner`` against ``env`` for ``episodes`` episodes; returns a :class:`Report`.

    The environment is reset with ``seed`` (a caller that also seeds the learner spawns
    separate seeds). An episode is ``episode_steps`` steps (default: the environment's
    ``horizon``, else 1). ``series`` holds ``events`` (episodes done),
    ``reward`` and ``regret`` at every ``record_every``-th episode (default: 200 points) and
    at the end. With ``checkpoint`` the learner, the environment (its random generator
    included), the figures and the observation are saved every ``checkpoint_every``
    episodes and at the end; ``resume`` continues from there. ``keep_episodes`` keeps the
    per-episode reward and regret (arrays ``report.episode_reward`` / ``report.episode_regret``).
    The learner used is ``report.policy``.
    """
    from onlinekit._replay import Checkpoints, Recorder, Step, check_every, drive, progress_bar

    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 0:
        raise ValueError(f"episodes must be an integer >= 0, got {episodes!r}")
    record_every = check_every(record_every or max(1, episodes // 200), checkpoint_every)
    P = ENVIRONMENT
    steps = int(episode_steps or P.steps_per_episode(env))
    tracker = P.new_tracker(learner, env, steps, keep_episodes)
    name = source or type(env).__name__
    ident = {"env": name, "seed": seed, "episode_steps": steps}
    ckpts = Checkpoints(checkpoint, checkpoint_every, learner)
    series: dict = {}
    obs = env.reset(seed)
    extra = ckpts.load() if resume else None
    if extra is not None:
        if extra.get("env") != ident:
            raise ValueError(f"checkpoint {ckpts.path} was written for {extra.get('env')!r}, not {ident!r}; "
                             "resume with the same environment and seed, or use a new --out")
        ckpts.restore()
        load_env_state(env, extra["env_state"])
        tracker.load_state_dict(extra["tracker"])
        series, obs = extra["series"], extra["obs"]
    resumed_from = tracker.episodes
    ckpts.start(resumed_from, extra is not None)

    def figures() -> dict:
        return {"reward": tracker.reward, **({"regret": tracker.regret} if tracker.has_regret else {})}

    recorder = Recorder(record_every, figures, series)
    v_star = P.optimum(learner, env, tracker)

    def episodes_played():
        nonlocal obs
        while tracker.episodes < episodes:
            obs = P.play_episode(learner, env, obs, steps, tracker, v_star)
            yield Step(None, None, 0, 1, tracker.episodes, None, True)

    def save_extra(_position, _n: int) -> dict:
        return {"env": ident, "env_state": env_state(env), "tracker": tracker.state_dict(), "obs": obs,
                "series": recorder.state()}

    n, _, elapsed = drive(episodes_played(), at_block_end=lambda step: step.n_events, recorder=recorder,
                          checkpoints=ckpts, save_extra=save_extra, n_events=resumed_from, position=resumed_from,
                          bar=progress_bar(progress, episodes, resumed_from, desc="simulate"))
    if ckpts.path is not None and ckpts.last_events != n:
        ckpts.save(n, save_extra(n, n))
    recorder.finish(n)
    series = recorder.series
    if not tracker.has_regret:
        series.pop("regret", None)
    summary = tracker.get()
    done = tracker.episodes - resumed_from
    summary["episodes_per_s"] = done / elapsed if elapsed > 0 else math.nan
    import onlinekit

    meta = {"onlinekit_version": onlinekit.__version__, "protocol": P.name, "environment": name,
            "seed": seed, "regret": tracker.mode if tracker.has_regret else None}
    rep = Report(learner=repr(learner), source=name, n_events=tracker.episodes, summary=summary, series=series,
                 elapsed_s=elapsed, resumed_from=resumed_from, meta=meta)
    if keep_episodes:
        rep.episode_reward = np.asarray(tracker.ep_reward)
        rep.episode_regret = np.asarray(tracker.ep_regret)
    rep.policy = learner
    return rep
