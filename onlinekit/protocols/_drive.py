"""Replay a log through a :class:`~onlinekit.protocols.LogProtocol` (any kind but supervised).

Rows are read from the source in chunks of the columns the protocol needs, applied in exact
row order, figures recorded every ``record_every`` events, and the learner, tracker, series
and source position checkpointed atomically at chunk ends; ``resume`` continues from the
checkpoint with the same result as an uninterrupted run.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit.base import InvalidEvent
from onlinekit.protocols._base import Columns, LogProtocol
from onlinekit.protocols._checkpoint import load_checkpoint, save_checkpoint
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


def replay_log(
    learner: Any,
    source: Any,
    columns: Columns,
    *,
    protocol: LogProtocol | None = None,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    progress: bool = False,
    record_every: int | None = None,
    max_events: int | None = None,
    chunk_size: int = 8192,
    out: str | Path | None = None,
) -> Report:
    """Replay ``source`` through ``learner`` under its protocol; returns a :class:`Report`.

    ``columns`` maps the protocol's role names to column names (see
    :meth:`LogProtocol.resolve_columns`). The report's ``summary`` holds the protocol's
    summary keys plus ``events_per_s``; ``series`` their values at the record points.
    With ``out``, the protocol's own files (e.g. ``releases.csv``) are written there and
    listed in ``report.meta["files"]``.
    """
    from onlinekit.protocols import protocol_of

    protocol = protocol or protocol_of(learner)
    if not protocol.replays:
        raise ValueError(f"the {protocol.name} protocol does not replay logs")
    record_every = int(record_every or 1000)
    if record_every < 1:
        raise ValueError(f"record_every must be >= 1, got {record_every}")
    if checkpoint_every is not None and checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be >= 1, got {checkpoint_every}")
    tracker = protocol.new_tracker(learner, columns)
    ckpt = Path(checkpoint) if checkpoint is not None else None
    ident = _identity(source, protocol, columns)
    series: dict[str, list[float]] = {}
    row, n = 0, 0
    if resume and ckpt is not None and ckpt.exists():
        extra = load_checkpoint(ckpt, learner, "stream", ident, "the same source and columns")
        tracker.load_state_dict(extra["tracker"])
        series = {k: [float(x) for x in v] for k, v in extra["series"].items()}
        row, n = int(extra["row"]), int(extra["n_events"])
    resumed_from = n
    last_ckpt = n if resumed_from else None

    def save(at_row: int) -> None:
        extra = {"stream": ident, "tracker": tracker.state_dict(), "row": at_row, "n_events": n,
                 "series": {k: np.asarray(v, dtype=np.float64) for k, v in series.items()}}
        save_checkpoint(ckpt, learner, extra)

    def record() -> None:
        series.setdefault("events", []).append(float(n))
        for k, v in tracker.get().items():
            if isinstance(v, (int, float, np.integer, np.floating)):
                series.setdefault(k, []).append(float(v))

    next_record = (n // record_every + 1) * record_every
    next_ckpt = (n // checkpoint_every + 1) * checkpoint_every if checkpoint_every else None
    bar = None
    if progress:
        from tqdm import tqdm

        total = len(source) if hasattr(source, "__len__") else None
        bar = tqdm(total=total, initial=n, unit="ev", unit_scale=True, desc="replay", mininterval=0.5)
    from onlinekit.engine import Interrupted

    kinds = protocol.kinds(columns)
    t0 = time.perf_counter()
    at_row, consistent = row, True
    try:
        for chunk in source.chunks(start=row, chunk_size=chunk_size, kinds=kinds):
            i = 0
            while i < len(chunk):
                stop_at = min(next_record, max_events) if max_events else next_record
                j = min(len(chunk), i + (stop_at - n))
                sub = chunk_slice(chunk, i, j)
                try:
                    protocol.apply_chunk(learner, sub, columns, tracker)
                except InvalidEvent as exc:
                    raise exc if exc.offset is not None else exc.at(n) from None
                n += j - i
                i = j
                if n >= next_record:
                    record()
                    next_record += record_every
                if max_events and n >= max_events:
                    break
            if bar is not None:
                bar.update(i)
            if i == len(chunk):
                at_row, consistent = chunk.end, True
            else:
                dense = chunk.end - chunk.offset == len(chunk)
                at_row, consistent = (chunk.offset + i, True) if dense else (at_row, False)
            if consistent and next_ckpt and ckpt is not None and n >= next_ckpt:
                save(at_row)
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
        save(at_row)
    if n and (not series.get("events") or series["events"][-1] != n):
        record()  # after the checkpoint: a resumed run records its own end
    summary = protocol.summary(tracker, learner)
    done = n - resumed_from
    summary["events_per_s"] = done / elapsed if elapsed > 0 else float("nan")
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
