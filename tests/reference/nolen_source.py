"""A source without ``len()``: rows only through ``chunks`` (as a stream of unknown length)."""


class NoLenSource:
    """Wraps a source and hides its length (``count_rows`` must then read the rows)."""

    def __init__(self, src):
        self._src, self.name = src, "nolen"

    def column_names(self):
        return self._src.column_names()

    def chunks(self, **kw):
        return self._src.chunks(**kw)
