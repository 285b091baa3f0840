"""A stream: a source plus a schema, yielding :class:`Block` objects in event order."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from onlinekit.streams.block import Block
from onlinekit.streams.schema import Schema
from onlinekit.streams.source import BadRow, Source, check_errors_mode

__all__ = ["Stream", "StreamPosition"]


@dataclass(frozen=True)
class StreamPosition:
    """Where a stream stands: source rows consumed and events emitted."""

    rows: int = 0
    events: int = 0


class Stream:
    """Blocks of schema-mapped events from a source.

    Parameters
    ----------
    source
        Any :class:`~onlinekit.streams.source.Source`.
    schema
        Column roles. Default: every column is a feature.
    block_size
        Events per block (the last block may be shorter; bad rows make blocks shorter too).
    errors
        ``"raise"`` (default) or ``"skip"``; skipped rows are counted in :attr:`skipped`
        and described in :attr:`bad_rows`.
    encoder
        Optional :class:`~onlinekit.streams.encode.FeatureEncoder`: categorical features,
        missing cells and online scaling (its state is part of the stream's position).

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.streams import ArraySource, Schema, Stream
    >>> src = ArraySource(X=np.ones((5, 2)), y=np.arange(5.0))
    >>> st = Stream(src, Schema(target="y"), block_size=2)
    >>> [(b.offset, len(b)) for b in st.blocks()]
    [(0, 2), (2, 2), (4, 1)]
    >>> [(b.offset, len(b)) for b in st.blocks(start=StreamPosition(rows=3, events=3))]
    [(3, 2)]
    """

    def __init__(
        self,
        source: Source,
        schema: Schema | None = None,
        *,
        block_size: int = 8192,
        errors: str = "raise",
        encoder=None,
    ) -> None:
        if block_size < 1:
            raise ValueError(f"block_size must be >= 1, got {block_size}")
        self.source = source
        self.schema = schema if schema is not None else Schema()
        self.block_size = int(block_size)
        self.errors = check_errors_mode(errors)
        self._bad: list[BadRow] = []
        self._skipped = 0
        self.encoder = encoder
        self.position = StreamPosition()

    @property
    def skipped(self) -> int:
        """Rows skipped so far (malformed in the source or with non-finite values)."""
        return self._skipped + getattr(self.source, "skipped", 0)

    @property
    def bad_rows(self) -> list[BadRow]:
        """Descriptions of skipped rows (the first 10,000)."""
        return list(getattr(self.source, "bad_rows", [])) + self._bad

    def _on_bad(self, row: BadRow) -> None:
        self._skipped += 1
        if len(self._bad) < 10_000:
            self._bad.append(row)

    def feature_names(self) -> tuple[str, ...]:
        """Raw feature columns (before any encoding)."""
        return self.schema.resolve_features(self.source.column_names(), self._text_ok())

    def _text_ok(self) -> bool:
        return self.encoder is not None and self.encoder.categorical != "none"

    def blocks(self, start: StreamPosition | None = None, limit: int | None = None) -> Iterator[Block]:
        """Yield blocks from ``start`` (default: the beginning); updates :attr:`position`.

        ``limit``: stop after this many events in total (counting those before ``start``);
        blocks are cut so that none reaches past it, so an encoder never sees an event after
        the limit.
        """
        pos = start or StreamPosition()
        self.position = pos
        available = self.source.column_names()
        feats = self.schema.resolve_features(available, self._text_ok())
        kinds = self.schema.kinds(available, self.encoder)
        if not getattr(self.source, "categorical_codes", False):
            kinds = {c: {"cat": "str", "cat_or_float": "str_or_float"}.get(k, k) for c, k in kinds.items()}
        if self.encoder is not None:
            self.encoder.level_texts = getattr(self.source, "level_texts", {})
        events = pos.events
        while limit is None or events < limit:
            size = self.block_size if limit is None else min(self.block_size, limit - events)
            cut = False
            for chunk in self.source.chunks(start=self.position.rows, chunk_size=size, kinds=kinds):
                if self.encoder is not None:
                    self.encoder.setup(feats, {c: ("float" if chunk.columns[c].dtype == np.float64 else "str")
                                               for c in feats})
                block = self.schema.apply(chunk, events, feats, self.errors, self._on_bad, self.encoder)
                n = len(block)
                events += n
                self.position = StreamPosition(rows=chunk.end, events=events)
                if n:
                    yield block
                if limit is not None and limit - events < size:
                    cut = True  # ask the source again for a smaller chunk
                    break
            if not cut:
                return
