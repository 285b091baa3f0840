"""Pieces every replay loop shares: steps, record points, checkpoints, progress, Ctrl-C.

The supervised replay (:func:`onlinekit.engine.replay`) and the log replay of the other
protocols (:func:`onlinekit.protocols.replay_log`) are both a generator of :class:`Step` s
(:func:`iter_steps`: blocks cut at record points and at ``max_events``) consumed by
:func:`drive`, which records figures (:class:`Recorder`), writes checkpoints at block ends
(:class:`Checkpoints`), moves the progress bar and turns Ctrl-C into :class:`Interrupted`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit.base import state_from_bytes, state_to_bytes

__all__ = ["Interrupted", "Step", "iter_steps", "cut_points", "Recorder", "Checkpoints", "drive", "check_every",
           "progress_bar"]


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


def check_every(record_every: int | None, checkpoint_every: int | None) -> int:
    """The record interval (default 1,000), after checking both intervals are >= 1."""
    record_every = int(record_every or 1000)
    if record_every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every}")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    return record_every


@dataclass
class Step:
    """One applied piece ``block[start:stop]`` (``part``) of a block; ``out`` is what the
    protocol returned for it, ``n_events`` the events done after it, ``last`` whether it ends
    the block (or the run, at ``max_events``)."""

    block: Any
    part: Any
    start: int
    stop: int
    n_events: int
    out: Any
    last: bool


def cut_points(n: int, length: int, every: int, max_events: int | None = None) -> Iterator[tuple[int, int]]:
    """``(i, j)`` pieces of a block of ``length`` events, ``n`` events done before it, so that
    no piece crosses a multiple of ``every`` (a record point) or ``max_events``.

    >>> list(cut_points(8, 10, 5))
    [(0, 2), (2, 7), (7, 10)]
    >>> list(cut_points(0, 10, 100, max_events=4))
    [(0, 4)]
    """
    i = 0
    while i < length and not (max_events and n >= max_events):
        stop_at = (n // every + 1) * every
        if max_events:
            stop_at = min(stop_at, max_events)
        j = min(length, i + (stop_at - n))
        yield i, j
        n += j - i
        i = j


def iter_steps(blocks: Iterable, apply: Callable[[Any], Any], slice_block: Callable[[Any, int, int], Any], *,
               n_events: int = 0, every: int, max_events: int | None = None) -> Iterator[Step]:
    """Apply each block of ``blocks`` in pieces (see :func:`cut_points`); yield a :class:`Step` each."""
    n = n_events
    for block in blocks:
        size = len(block)
        for i, j in cut_points(n, size, every, max_events):
            part = block if (i, j) == (0, size) else slice_block(block, i, j)
            out = apply(part)
            n += j - i
            done = bool(max_events and n >= max_events)
            yield Step(block, part, i, j, n, out, j == size or done)
            if done:
                return


class Recorder:
    """The series: ``figures()`` at every multiple of ``every`` events, and at the end."""

    def __init__(self, every: int, figures: Callable[[], dict], series: dict | None = None) -> None:
        self.every = every
        self.figures = figures
        self.series: dict[str, list[float]] = {k: [float(x) for x in v] for k, v in (series or {}).items()}

    def record(self, n: int) -> None:
        self.series.setdefault("events", []).append(float(n))
        for k, v in self.figures().items():
            if isinstance(v, (int, float, np.integer, np.floating)):
                self.series.setdefault(k, []).append(float(v))

    def step(self, n: int) -> None:
        if n % self.every == 0 and self.last() != n:
            self.record(n)

    def last(self) -> float:
        ev = self.series.get("events")
        return ev[-1] if ev else 0.0

    def finish(self, n: int) -> None:
        """Record the last event (after the final checkpoint: a resumed run records its own end)."""
        if n and self.last() != n:
            self.record(n)

    def state(self) -> dict:
        return {k: np.asarray(v, dtype=np.float64) for k, v in self.series.items()}


class Checkpoints:
    """Atomic checkpoints of a learner plus ``extra()`` (position, figures, identity).

    ``path`` ``None``: none are written. :meth:`load` restores the learner and returns the
    saved ``extra`` after checking it holds the same learner (class and parameters).
    """

    def __init__(self, path: str | Path | None, every: int | None, learner: Any) -> None:
        self.path = Path(path) if path is not None else None
        self.every = every
        self.learner = learner
        self.last_events: int | None = None
        self._next: int | None = None

    def load(self) -> dict | None:
        """The saved ``extra`` (learner restored), or ``None`` when there is no checkpoint."""
        if self.path is None or not self.path.exists():
            return None
        saved, extra = state_from_bytes(self.path.read_bytes())
        if type(saved) is not type(self.learner) or repr(saved.get_params()) != repr(self.learner.get_params()):
            raise ValueError(f"checkpoint {self.path} holds {saved!r}, not {self.learner!r}")
        self._saved = saved
        return extra

    def resume(self, key: str, identity: Any, what: str) -> dict | None:
        """:meth:`load`, check ``extra[key] == identity`` (else a ``ValueError`` saying to
        resume with the same ``what``), :meth:`restore`; ``None`` without a checkpoint."""
        extra = self.load()
        if extra is None:
            return None
        if extra.get(key) != identity:
            raise ValueError(f"checkpoint {self.path} was written for {extra.get(key)!r}, not {identity!r}; "
                             f"resume with the same {what}, or use a new --out")
        self.restore()
        return extra

    def restore(self) -> None:
        """Put the loaded learner state into the learner (after the caller checked ``extra``)."""
        self.learner.load_state_dict(self._saved.state_dict())

    def start(self, n: int, resumed: bool) -> None:
        self.last_events = n if resumed else None
        self._next = (n // self.every + 1) * self.every if self.every else None

    def due(self, n: int) -> bool:
        return self.path is not None and self._next is not None and n >= self._next

    def save(self, n: int, extra: dict) -> None:
        from onlinekit._io import atomic_write_bytes

        atomic_write_bytes(self.path, state_to_bytes(self.learner, extra))
        self.last_events = n
        if self.every:
            self._next = (n // self.every + 1) * self.every


def progress_bar(show: bool, total: int | None, initial: int, desc: str = "replay"):
    """A tqdm bar on stderr (``None`` when not shown)."""
    if not show:
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="ev", unit_scale=True, desc=desc, mininterval=0.5)


def drive(steps: Iterator[Step], *, at_block_end: Callable[[Step], Any], recorder: Recorder,
          checkpoints: Checkpoints, save_extra: Callable[[Any, int], dict], n_events: int, position: Any,
          bar=None) -> tuple[int, Any, float]:
    """Consume ``steps``: record points, and at each block end the position
    ``at_block_end(step)`` returns (``None``: not a resumable position) with a checkpoint when
    due; returns ``(events, last resumable position or None, seconds)``. Ctrl-C raises
    :class:`Interrupted`."""
    n = n_events
    t0 = time.perf_counter()
    try:
        for step in steps:
            n = step.n_events
            recorder.step(n)
            if not step.last:
                continue
            if bar is not None:
                bar.update(step.stop)
            position = at_block_end(step)
            if position is not None and checkpoints.due(n):
                checkpoints.save(n, save_extra(position, n))
    except KeyboardInterrupt:
        raise Interrupted(n, checkpoints.last_events) from None
    finally:
        if bar is not None:
            bar.close()
    return n, position, time.perf_counter() - t0
