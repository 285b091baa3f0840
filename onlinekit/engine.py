"""The replay and simulate loops.

:func:`replay` feeds a logged stream through a supervised learner in exact event order --
predict, then learn, event by event -- using the learner's ``predict_learn_many`` block fast
path when it has one. It records metrics at record points, checkpoints atomically every N
events, and resumes from a checkpoint with results identical to an uninterrupted run.
It is composed of :func:`iter_replay` (a generator of applied blocks, as River's
``iter_progressive_val_score``), :func:`with_metrics`, the record, checkpoint and progress
pieces of :mod:`onlinekit._replay` (shared with the log replay of the other protocols) and
:func:`to_report`.

:func:`simulate` runs a decision-maker against an interactive environment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit._replay import Checkpoints, Interrupted, Recorder, Step, check_every, drive, iter_steps, progress_bar
from onlinekit.base import Diverged, Learner, spawn_seeds
from onlinekit.metrics import Metric
from onlinekit.report import Report

__all__ = ["replay", "iter_replay", "with_metrics", "to_report", "simulate", "as_stream", "Interrupted"]


def as_stream(data: Any, block_size: int = 8192):
    """Accept a :class:`~onlinekit.streams.Stream`, a source, or an ``(X, y)`` pair."""
    from onlinekit.streams import ArraySource, Schema, Source, Stream

    if isinstance(data, Stream):
        return data
    if isinstance(data, Source):
        return Stream(data, Schema(target="y" if "y" in data.column_names() else None), block_size=block_size)
    if isinstance(data, tuple) and len(data) == 2:
        X, y = data
        X = np.asarray(X, dtype=np.float64)
        return Stream(ArraySource(X=X, y=y), Schema(target="y"), block_size=block_size)
    raise TypeError(f"cannot replay a {type(data).__name__}; give a Stream, a Source or (X, y)")


# --------------------------------------------------------------------------------------------
# replay
# --------------------------------------------------------------------------------------------


def _stream_identity(stream) -> dict:
    """What a checkpoint must match to be resumed on ``stream``: source and column roles."""
    s = stream.schema
    return {
        "source": stream.source.name,
        "columns": list(stream.source.column_names()),
        "features": list(stream.feature_names()),
        "target": s.target,
        "groups": [f"{g.name}={g.expr.text}" for g in s.groups],
        "sensitive": s.sensitive,
    }


def _check_identity(ckpt: Path, saved: dict, stream) -> None:
    mine = _stream_identity(stream)
    for key, want in mine.items():
        have = saved.get(key)
        if have is None and key != "source" and key not in saved:
            continue  # older checkpoints do not record every field
        if have != want:
            raise ValueError(f"checkpoint {ckpt} was written for {key} {have!r}, not {want!r}; "
                             "resume with the same source and columns, or use a new --out")


def iter_replay(learner: Any, stream: Any, *, start: Any = None, n_events: int = 0, record_every: int | None = None,
                max_events: int | None = None) -> Iterator[Step]:
    """Predict-then-learn over ``stream``, one :class:`~onlinekit._replay.Step` per piece of a
    block (blocks are cut at multiples of ``record_every`` and at ``max_events``).

    Each step's ``part`` is the :class:`~onlinekit.streams.Block` applied (``part.offset``
    is its first event) and ``out`` the predictions made before learning each of its events.
    ``start`` (a :class:`~onlinekit.streams.StreamPosition`) and ``n_events`` continue a
    stream from a checkpoint. A non-finite prediction raises ``Diverged``.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import OGD
    >>> X = np.arange(10.0).reshape(5, 2); y = X.sum(axis=1)
    >>> [(s.part.offset, len(s.out)) for s in iter_replay(OGD(lr=0.01), (X, y), record_every=2)]
    [(0, 2), (2, 2), (4, 1)]
    """
    from onlinekit.protocols.supervised import SUPERVISED

    stream = as_stream(stream)

    def apply(block) -> np.ndarray:
        try:
            preds = SUPERVISED.apply_block(learner, block)
        except Diverged as exc:
            raise _diverged(exc.offset, exc.message) from None
        if not _all_finite(preds):
            k = int(np.flatnonzero(~np.isfinite(preds))[0])
            raise _diverged(block.offset + k, f"the prediction is {float(preds[k])!r}")
        return preds

    from onlinekit.streams import StreamPosition

    blocks = stream.blocks(start=start or StreamPosition(), limit=max_events)
    return iter_steps(blocks, apply, lambda b, i, j: b.slice(i, j), n_events=n_events,
                      every=int(record_every or 1000), max_events=max_events)


def with_metrics(steps: Iterator[Step], metrics: Sequence[Metric]) -> Iterator[Step]:
    """Update ``metrics`` with each step's predictions (X is built, from a sparse block, only
    for metrics that read it)."""
    for step in steps:
        b = step.part
        for m in metrics:
            m.update(b.y, step.out, b.X if getattr(m, "uses_X", True) else None, b.groups, **b.extra)
        yield step


def _resume_position(stream, start):
    """``at_block_end`` for :func:`~onlinekit._replay.drive`: the stream position just after
    the last event applied, or ``None`` when rows were dropped inside a block cut short."""
    state = {"before": start}

    def at_block_end(step) -> Any:
        from onlinekit.streams import StreamPosition

        before, after, n = state["before"], stream.position, step.n_events
        if n == after.events:
            state["before"] = after
        elif after.rows - before.rows == after.events - before.events:
            # stopped inside a block without dropped rows: rows and events advance together
            state["before"] = StreamPosition(rows=before.rows + (n - before.events), events=n)
        else:
            return None
        return state["before"]

    return at_block_end


def replay(
    learner: Any,
    stream: Any,
    *,
    metrics: Sequence[Metric] | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = False,
    record_every: int | None = None,
    max_events: int | None = None,
) -> Report:
    """Progressive validation: for each event in order, predict, then learn.

    Parameters
    ----------
    learner
        A supervised learner (onlinekit or River). Its ``predict_learn_many`` is used when
        present; otherwise the per-event ``predict_one`` / ``learn_one`` loop.
    stream
        A :class:`~onlinekit.streams.Stream`, a source, or ``(X, y)`` arrays.
    metrics
        Metric objects (default: loss, plus accuracy for classifiers, plus per-group versions
        when the stream defines groups).
    checkpoint, checkpoint_every
        Write the learner, metrics and stream position to ``checkpoint`` (atomically) after the
        first block that ends at or past every ``checkpoint_every`` events, and at the end.
    resume
        If ``checkpoint`` exists, continue from it; the final report equals that of an
        uninterrupted run.
    progress
        Show a progress bar (events/s) on stderr.
    record_every
        Record metric values every this many events (default: every 1,000). The last event
        is always recorded.
    max_events
        Stop after this many events (in total, counting those before a resume).

    Returns
    -------
    Report

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.engine import replay
    >>> from onlinekit.oco import OGD
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(5000, 3)); y = X @ np.array([1.0, -1.0, 2.0])
    >>> rep = replay(OGD(lr=0.05), (X, y), record_every=1000)
    >>> rep.n_events, rep.series["events"]
    (5000, [1000.0, 2000.0, 3000.0, 4000.0, 5000.0])
    >>> [round(v, 2) for v in rep.series["squared_loss"]]   # all loss is paid early on
    [70.33, 70.33, 70.33, 70.33, 70.33]
    """
    from onlinekit.protocols.supervised import SUPERVISED
    from onlinekit.streams import StreamPosition

    stream = as_stream(stream)
    group_names = tuple(g.name for g in stream.schema.groups)
    metrics = (list(metrics) if metrics is not None
               else SUPERVISED.default_metrics(learner, group_names, sensitive=stream.schema.sensitive is not None))
    record_every = check_every(record_every, checkpoint_every)
    ckpts = Checkpoints(checkpoint, checkpoint_every, learner)
    start, n, prior_skipped, prior_bad, series = StreamPosition(), 0, 0, [], {}
    extra = ckpts.load() if resume else None
    if extra is not None:
        if "stream" in extra:
            _check_identity(ckpts.path, extra["stream"], stream)
        elif extra.get("source") != stream.source.name:
            raise ValueError(f"checkpoint {ckpts.path} was written for source {extra.get('source')!r}, "
                             f"not {stream.source.name!r}")
        if (stream.encoder is None) != ("encoder" not in extra):
            raise ValueError(f"checkpoint {ckpts.path}: feature encoding differs from this run's")
        if stream.encoder is not None:
            stream.encoder.load_state_dict(extra["encoder"])
        ckpts.restore()
        for m, s in zip(metrics, extra["metrics"], strict=True):
            m.load_state_dict(s)
        series, start, n = extra["series"], StreamPosition(**extra["position"]), int(extra["n_events"])
        prior_skipped, prior_bad = int(extra["skipped"]), list(extra["bad_rows"])
    resumed_from = n
    ckpts.start(n, extra is not None)

    def figures() -> dict:
        out: dict = {}
        for m in metrics:
            out.update(m.get())
        return out

    recorder = Recorder(record_every, figures, series)

    def save_extra(position, n_events: int) -> dict:
        out = {
            "position": {"rows": position.rows, "events": position.events},
            "metrics": [m.state_dict() for m in metrics],
            "series": recorder.state(),
            "n_events": n_events,
            "skipped": prior_skipped + stream.skipped,
            "bad_rows": prior_bad + [str(r) for r in stream.bad_rows],
            "stream": _stream_identity(stream),
            "source": stream.source.name,
        }
        if stream.encoder is not None:
            out["encoder"] = stream.encoder.state_dict()
        return out

    total = len(stream.source) if hasattr(stream.source, "__len__") else None
    steps = with_metrics(iter_replay(learner, stream, start=start, n_events=n, record_every=record_every,
                                     max_events=max_events), metrics)
    n, position, elapsed = drive(steps, at_block_end=_resume_position(stream, start), recorder=recorder, checkpoints=ckpts,
                                 save_extra=save_extra, n_events=n, position=start,
                                 bar=progress_bar(progress, total, n))
    if ckpts.path is not None and position is not None:
        ckpts.save(n, save_extra(position, n))
    recorder.finish(n)
    return to_report(learner, stream, figures(), recorder.series, n, resumed_from, elapsed,
                     prior_skipped, prior_bad)


def to_report(learner: Any, stream: Any, summary: dict, series: dict, n: int, resumed_from: int, elapsed: float,
              prior_skipped: int = 0, prior_bad: Sequence[str] = ()) -> Report:
    """The :class:`Report` of a supervised replay (``events_per_s`` counts this run's events)."""
    import onlinekit

    summary = dict(summary)
    done = n - resumed_from
    summary["events_per_s"] = done / elapsed if elapsed > 0 else float("nan")
    if stream.encoder is not None:
        features = stream.encoder.feature_list()
    else:
        features = [{"name": c, "column": c, "encoding": "numeric"} for c in stream.feature_names()]
    return Report(
        learner=repr(learner),
        source=stream.source.name,
        n_events=n,
        summary=summary,
        series=series,
        skipped=prior_skipped + stream.skipped,
        bad_rows=list(prior_bad) + [str(r) for r in stream.bad_rows],
        elapsed_s=elapsed,
        resumed_from=resumed_from,
        meta={"onlinekit_version": onlinekit.__version__, "features": features},
    )


def _diverged(offset: int | None, why: str) -> Diverged:
    """``diverged at event N: why (hint)``, with ``offset`` kept as an attribute only."""
    err = Diverged(f"diverged at event {offset}: {why} (try a smaller lr or --scale standard)")
    err.offset = offset
    return err


def _all_finite(a: np.ndarray) -> bool:
    from onlinekit.streams.schema import _all_finite as check

    return check(a)


# --------------------------------------------------------------------------------------------
# simulate
# --------------------------------------------------------------------------------------------


def simulate(
    policy: Any,
    env: Any,
    horizon: int,
    seed: int | None = None,
    *,
    record_every: int | None = None,
    progress: bool = False,
) -> Report:
    """Run ``policy`` against ``env`` for ``horizon`` rounds.

    The environment and the policy get seeds spawned from one
    :class:`numpy.random.SeedSequence` of ``seed`` (never equal streams): the environment is
    reset with the first child, and a policy with a ``seed`` parameter is replaced by
    ``policy.clone(seed=second child)`` (the report's ``learner`` names it). Each round:
    ``a = policy.act(obs)``; ``step = env.step(a)``; ``policy.update(obs, a, step.feedback)``.

    The series hold the cumulative reward and, when the environment's ``info`` has
    ``optimal_reward`` and ``expected_reward``, the cumulative pseudo-regret.

    Returns
    -------
    Report
        ``summary`` has ``reward``, ``mean_reward`` and (when available) ``regret``; the
        policy actually used is returned as ``report.policy``.
    """
    from onlinekit.protocols.environment import simulate_env

    if horizon < 0:
        raise ValueError(f"horizon must be >= 0, got {horizon}")
    env_seed, pol_seed = spawn_seeds(seed, 2) if seed is not None else (None, None)
    if seed is not None and isinstance(policy, Learner) and "seed" in policy.get_params():
        policy = policy.clone(seed=pol_seed)
    rep = simulate_env(policy, env, horizon, env_seed, episode_steps=1, record_every=record_every,
                       progress=progress)
    s = rep.summary
    summary = {"reward": s["reward"], "mean_reward": s["mean_reward"]}
    if "regret" in s:
        summary["regret"] = s["regret"]
    summary["rounds_per_s"] = s["episodes_per_s"]
    rep.summary = summary
    return rep
