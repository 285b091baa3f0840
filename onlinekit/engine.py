"""The replay and simulate loops.

:func:`replay` feeds a logged stream through a supervised learner in exact event order --
predict, then learn, event by event -- using the learner's ``predict_learn_many`` block fast
path when it has one. It records metrics at record points, checkpoints atomically every N
events, and resumes from a checkpoint with results identical to an uninterrupted run.

:func:`simulate` runs a decision-maker against an interactive environment.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit.base import Diverged, InvalidEvent, Learner, spawn_seeds, state_from_bytes, state_to_bytes
from onlinekit.metrics import Metric, default_metrics
from onlinekit.report import Report

__all__ = ["replay", "simulate", "task_of", "as_stream", "Interrupted"]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a replay: ``events`` were processed, ``checkpoint_events`` of them are
    in the newest checkpoint (``None`` without one)."""

    def __init__(self, events: int, checkpoint_events: int | None) -> None:
        self.events = events
        self.checkpoint_events = checkpoint_events
        where = ("rerun with --resume to continue from the checkpoint at event "
                 f"{checkpoint_events:,}" if checkpoint_events is not None else
                 "use --out with --checkpoint-every N to be able to resume")
        super().__init__(f"interrupted at event {events:,}; {where}")


def task_of(learner: Any) -> str:
    """``"classification"`` for binary classifiers (River classifiers or a logistic loss)."""
    try:
        from river import base

        if isinstance(learner, base.Classifier):
            return "classification"
    except ImportError:  # pragma: no cover
        pass
    if getattr(learner, "loss", None) == "logistic":
        return "classification"
    return "regression"


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


def _predict_learn(learner: Any, block, task: str) -> np.ndarray:
    """Predictions made before learning each event of ``block`` (then learned)."""
    kw = block.learn_kwargs()
    grow = getattr(learner, "grow_features", None)
    if grow is not None and block.width > learner.n_features_in_:
        grow(block.feature_names)  # new encoded columns (e.g. a new category level) at weight 0
    if block.onehot is not None and hasattr(learner, "predict_learn_onehot"):
        # one-hot columns as indices: learners that read them never see the mostly-zero X
        try:
            out = learner.predict_learn_onehot(block.numeric, block.onehot, block.y, block.width, **kw)
        except InvalidEvent as exc:
            raise exc.at(block.offset + (exc.offset or 0)) from None
        if out is not None:  # None: no exact sparse path for this configuration
            return np.asarray(out, dtype=np.float64)
    if hasattr(learner, "predict_learn_many"):
        try:
            return np.asarray(learner.predict_learn_many(block.X, block.y, **kw), dtype=np.float64)
        except InvalidEvent as exc:
            raise exc.at(block.offset + (exc.offset or 0)) from None
    n = len(block)
    out = np.empty(n)
    as_dict = not isinstance(learner, Learner)
    names = block.feature_names
    classify = task == "classification"
    for i in range(n):
        row = block.X[i]
        x = dict(zip(names, row.tolist(), strict=True)) if as_dict else row
        if classify and hasattr(learner, "predict_proba_one"):
            proba = learner.predict_proba_one(x)
            out[i] = float(proba.get(True, proba.get(1, proba.get(1.0, 0.0))))
        else:
            out[i] = float(learner.predict_one(x))
        yi = bool(block.y[i]) if classify else float(block.y[i])
        try:
            learner.learn_one(x, yi, **{k: v[i] for k, v in kw.items()})
        except InvalidEvent as exc:
            raise exc.at(block.offset + i) from None
    return out


def _record(series: dict[str, list], metrics: Sequence[Metric], n: int) -> None:
    series.setdefault("events", []).append(float(n))
    for m in metrics:
        for k, v in m.get().items():
            series.setdefault(k, []).append(float(v))


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


def _save_checkpoint(path: Path, learner, position, metrics, series, n, skipped, bad_rows, stream) -> None:
    from onlinekit._io import atomic_write_bytes

    extra = {
        "position": {"rows": position.rows, "events": position.events},
        "metrics": [m.state_dict() for m in metrics],
        "series": {k: np.asarray(v, dtype=np.float64) for k, v in series.items()},
        "n_events": n,
        "skipped": skipped,
        "bad_rows": list(bad_rows),
        "stream": _stream_identity(stream),
        "source": stream.source.name,
    }
    if stream.encoder is not None:
        extra["encoder"] = stream.encoder.state_dict()
    atomic_write_bytes(path, state_to_bytes(learner, extra))


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
    from onlinekit.streams import StreamPosition

    stream = as_stream(stream)
    task = task_of(learner)
    group_names = tuple(g.name for g in stream.schema.groups)
    metrics = (list(metrics) if metrics is not None
               else default_metrics(task, group_names, sensitive=stream.schema.sensitive is not None))
    record_every = int(record_every or 1000)
    if record_every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every}")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    ckpt = Path(checkpoint) if checkpoint is not None else None
    series: dict[str, list] = {}
    start = StreamPosition()
    n = 0
    prior_skipped = 0
    prior_bad: list[str] = []
    if resume and ckpt is not None and ckpt.exists():
        saved, extra = state_from_bytes(ckpt.read_bytes())
        if type(saved) is not type(learner) or repr(saved.get_params()) != repr(learner.get_params()):
            raise ValueError(f"checkpoint {ckpt} holds {saved!r}, not {learner!r}")
        if "stream" in extra:
            _check_identity(ckpt, extra["stream"], stream)
        elif extra.get("source") != stream.source.name:
            raise ValueError(f"checkpoint {ckpt} was written for source {extra.get('source')!r}, "
                             f"not {stream.source.name!r}")
        if (stream.encoder is None) != ("encoder" not in extra):
            raise ValueError(f"checkpoint {ckpt}: feature encoding differs from this run's")
        if stream.encoder is not None:
            stream.encoder.load_state_dict(extra["encoder"])
        learner.load_state_dict(saved.state_dict())
        for m, s in zip(metrics, extra["metrics"], strict=True):
            m.load_state_dict(s)
        series = {k: [float(x) for x in v] for k, v in extra["series"].items()}
        start = StreamPosition(**extra["position"])
        n = int(extra["n_events"])
        prior_skipped = int(extra["skipped"])
        prior_bad = list(extra["bad_rows"])
    resumed_from = n
    next_record = (n // record_every + 1) * record_every
    next_ckpt = (n // checkpoint_every + 1) * checkpoint_every if checkpoint_every else None
    last_recorded = series["events"][-1] if series.get("events") else 0.0
    bar = None
    if progress:
        from tqdm import tqdm

        total = len(stream.source) if hasattr(stream.source, "__len__") else None
        bar = tqdm(total=total, initial=n, unit="ev", unit_scale=True, desc="replay", mininterval=0.5)
    def save(position, n_events):
        _save_checkpoint(ckpt, learner, position, metrics, series, n_events,
                         prior_skipped + stream.skipped, prior_bad + [str(r) for r in stream.bad_rows],
                         stream)

    last_ckpt = n if resume and ckpt is not None and ckpt.exists() else None

    t0 = time.perf_counter()
    before = start
    consistent = True  # is (stream position) the position just after event n?
    try:
        for block in stream.blocks(start=start, limit=max_events):
            i = 0
            while i < len(block):
                stop_at = min(next_record, max_events) if max_events else next_record
                j = min(len(block), i + (stop_at - n))
                sub = block.slice(i, j) if (i, j) != (0, len(block)) else block
                try:
                    preds = _predict_learn(learner, sub, task)
                except Diverged as exc:
                    raise _diverged(exc.offset, exc.message) from None
                if not _all_finite(preds):
                    k = int(np.flatnonzero(~np.isfinite(preds))[0])
                    raise _diverged(sub.offset + k, f"the prediction is {float(preds[k])!r}")
                for m in metrics:  # X is built (from a sparse block) only for metrics that read it
                    m.update(sub.y, preds, sub.X if getattr(m, "uses_X", True) else None, sub.groups, **sub.extra)
                n += j - i
                i = j
                if n >= next_record:
                    _record(series, metrics, n)
                    last_recorded = n
                    next_record += record_every
                if max_events and n >= max_events:
                    break
            if bar is not None:
                bar.update(len(block))
            after = stream.position
            if n == after.events:
                consistent, before = True, after
            elif after.rows - before.rows == after.events - before.events:
                # stopped inside a block without dropped rows: rows and events advance together
                k = n - before.events
                before = StreamPosition(rows=before.rows + k, events=n)
                consistent = True
            else:
                consistent = False
            if consistent and next_ckpt and ckpt is not None and n >= next_ckpt:
                save(before, n)
                last_ckpt = n
                next_ckpt = (n // checkpoint_every + 1) * checkpoint_every
            if max_events and n >= max_events:
                break
    except KeyboardInterrupt:
        raise Interrupted(n, last_ckpt) from None
    finally:
        if bar is not None:
            bar.close()
    elapsed = time.perf_counter() - t0
    if ckpt is not None and consistent:
        save(before, n)
    if n and last_recorded != n:  # after the checkpoint: a resumed run records its own end
        _record(series, metrics, n)
    summary: dict[str, float] = {}
    for m in metrics:
        summary.update(m.get())
    done = n - resumed_from
    summary["events_per_s"] = done / elapsed if elapsed > 0 else float("nan")
    import onlinekit

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
        bad_rows=prior_bad + [str(r) for r in stream.bad_rows],
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
