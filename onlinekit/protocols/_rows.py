"""Row counts of a source (for parameters the file length determines, such as a horizon)."""

from __future__ import annotations

from typing import Any

__all__ = ["count_rows"]


def count_rows(source: Any, column: str) -> int:
    """Number of rows ``source`` yields for ``column``: ``len(source)`` when the source knows
    it, else one first pass over that column alone (a CSV file is read once more, one column
    parsed; the replay itself is a second pass). Rows the source drops (``errors="skip"``)
    are not counted."""
    if hasattr(source, "__len__"):
        return len(source)
    skipped, bad = getattr(source, "skipped", None), list(getattr(source, "bad_rows", []))
    n = 0
    for chunk in source.chunks(start=0, chunk_size=65536, kinds={column: "float"}):
        n += len(chunk)
    if skipped is not None:  # the replay pass counts the bad rows again
        source.skipped, source.bad_rows = skipped, bad
    return n
