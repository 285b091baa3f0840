"""Replay a log through a :class:`~onlinekit.protocols.LogProtocol` (any kind but supervised).

Rows are read from the source in chunks of the columns the protocol needs, applied in exact
row order, figures recorded every ``record_every`` events, and the learner, tracker, series
and source position checkpointed atomically at chunk ends; ``resume`` continues from the
checkpoint with the same result as an uninterrupted run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onlinekit._replay import Checkpoints, Recorder, check_every, drive, iter_steps, progress_bar
from onlinekit.base import InvalidEvent
from onlinekit.protocols._base import Columns, LogProtocol
from onlinekit.report import Report

__all__ = ["replay_log", "chunk_slice"]


def chunk_slice(chunk, i: int, j: int):
    """Rows ``i:j`` of ``chunk`` (a chunk again; its ``stop`` is the source row after row j-1
    when no row inside the chunk was dropped, else the chunk's own end)."""
    from onlinekit.streams.block import Chunk

    if (i, j) == (0, len(chunk)):
        return chunk
    dense = chunk.end - chunk.offset == len(chunk)
    stop = chunk.offset + j if dense and j < len(chunk) else chunk.end
    lines = None if chunk.lines is None else chunk.lines[i:j]
    offset = chunk.offset + i if dense else chunk.offset
    return Chunk(offset, {k: v[i:j] for k, v in chunk.columns.items()}, lines, chunk.source, stop)


def _identity(source, protocol: LogProtocol, columns: Columns) -> dict:
    return {"source": getattr(source, "name", "<source>"), "protocol": protocol.name,
            "columns": {k: (v if isinstance(v, str) else list(v)) for k, v in columns.items()}}


def replay_log(learner: Any, source: Any, columns: Columns, *, protocol: LogProtocol | None = None,
               record_every: int | None = None, max_events: int | None = None, chunk_size: int = 8192,
               checkpoint: str | Path | None = None, checkpoint_every: int | None = None, resume: bool = False,
               out: str | Path | None = None, progress: bool = False) -> Report:
    """Replay ``source`` through ``learner`` under its protocol; returns a :class:`Report`.

    ``columns`` maps the protocol's role names to column names (see
    :meth:`LogProtocol.resolve_columns`). The report's ``summary`` holds the protocol's
    summary keys plus ``events_per_s``; ``series`` their values at the record points.
    With ``out``, the protocol's own files (e.g. ``releases.csv``) are written there and
    listed in ``report.meta["files"]``.
    """
    from onlinekit.protocols import protocol_of

    protocol = protocol or protocol_of(learner)
    if not isinstance(protocol, LogProtocol):
        raise ValueError(f"the {protocol.name} protocol does not replay logs through replay_log")
    record_every = check_every(record_every, checkpoint_every)
    tracker = protocol.new_tracker(learner, columns)
    ckpts = Checkpoints(checkpoint, checkpoint_every, learner)
    ident = _identity(source, protocol, columns)
    series: dict = {}
    row, n = 0, 0
    extra = ckpts.resume("stream", ident, "source and columns") if resume else None
    if extra is not None:
        tracker.load_state_dict(extra["tracker"])
        series, row, n = extra["series"], int(extra["row"]), int(extra["n_events"])
    resumed_from = n
    ckpts.start(n, extra is not None)
    recorder = Recorder(record_every, tracker.get, series)
    applied = [n]  # events applied so far (an error without a row names this event)

    def apply(part) -> None:
        try:
            protocol.apply_chunk(learner, part, columns, tracker)
        except InvalidEvent as exc:
            raise exc if exc.offset is not None else exc.at(applied[0]) from None
        applied[0] += len(part)

    def at_block_end(step) -> int | None:
        chunk, i = step.block, step.stop
        if i == len(chunk):
            return chunk.end
        return chunk.offset + i if chunk.end - chunk.offset == len(chunk) else None

    def save_extra(at_row: int, n_events: int) -> dict:
        return {"stream": ident, "tracker": tracker.state_dict(), "row": at_row, "n_events": n_events,
                "series": recorder.state()}

    chunks = source.chunks(start=row, chunk_size=chunk_size, kinds=protocol.kinds(columns))
    steps = iter_steps(chunks, apply, chunk_slice, n_events=n, every=record_every, max_events=max_events)
    total = len(source) if hasattr(source, "__len__") else None
    n, at_row, elapsed = drive(steps, at_block_end=at_block_end, recorder=recorder, checkpoints=ckpts,
                               save_extra=save_extra, n_events=n, position=row, bar=progress_bar(progress, total, n))
    if ckpts.path is not None and at_row is not None:
        ckpts.save(n, save_extra(at_row, n))
    recorder.finish(n)
    series = recorder.series
    summary = protocol.summary(tracker, learner)
    summary["events_per_s"] = (n - resumed_from) / elapsed if elapsed > 0 else float("nan")
    files = [str(p) for p in protocol.write_outputs(tracker, Path(out))] if out is not None else []
    import onlinekit

    return Report(
        learner=repr(learner), source=getattr(source, "name", "<source>"), n_events=n, summary=summary,
        series=series, skipped=getattr(source, "skipped", 0),
        bad_rows=[str(r) for r in getattr(source, "bad_rows", [])], elapsed_s=elapsed,
        resumed_from=resumed_from,
        meta={"onlinekit_version": onlinekit.__version__, "protocol": protocol.name,
              "columns": ident["columns"], "files": files},
    )
