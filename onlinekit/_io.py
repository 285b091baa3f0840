"""Small file helpers: atomic writes (temp file + fsync + rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_write_with"]


def _umask() -> int:
    old = os.umask(0o022)
    os.umask(old)
    return old


def atomic_write_bytes(path: str | os.PathLike, data: bytes, mode: int = 0o666) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write_with`)."""
    atomic_write_with(path, lambda fh: fh.write(data), mode)


def atomic_write_with(path: str | os.PathLike, write, mode: int = 0o666) -> None:
    """Call ``write(fh)`` on a new file that replaces ``path`` so that readers see either the
    old or the new file (``write`` may stream big pieces: they are written without the GIL).

    The bytes go to a temporary file in the same directory, which is flushed and fsynced,
    then renamed over ``path``; the directory is fsynced so the rename survives a crash.
    The file gets ``mode`` less the process umask, as :func:`open` would give it (pass
    ``0o600`` for files that hold secrets).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode & ~_umask())
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))
