"""Errors raised by stream sources and schemas."""

from __future__ import annotations

__all__ = ["StreamError", "MissingDataError"]


class StreamError(ValueError):
    """A malformed source, row or column; the message names file, line and column."""


class MissingDataError(FileNotFoundError):
    """A data file is absent; the message says where to get it."""
