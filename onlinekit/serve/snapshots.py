"""Atomic learner snapshots: ``state_to_bytes`` archives tagged with the log offset they cover.

A snapshot file ``snapshot-<offset>.npz`` holds the learner (class, params and learned state)
after the first ``offset`` logged events, plus ``extra = {"offset": offset, "sha256": ...}``
metadata. Files are written with temp file + fsync + rename, so a crash never leaves a
half-written file under a snapshot name. Loading tries the newest file first and falls back to
older ones when a file does not read back (truncated, corrupted, wrong offset); archives are
read with :func:`onlinekit.base.state_from_bytes`, which never unpickles and only instantiates
onlinekit learner classes.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from onlinekit._io import atomic_write_bytes, atomic_write_with
from onlinekit.base import Learner, state_from_bytes, state_to_bytes, write_state

__all__ = ["SnapshotStore", "Snapshot"]

_NAME = re.compile(r"^snapshot-(\d{20})\.npz$")


@dataclass
class Snapshot:
    """A loaded snapshot: the learner and the number of log events it covers."""

    learner: Learner
    offset: int
    path: Path


class SnapshotStore:
    """Snapshots of one served learner in a directory.

    Parameters
    ----------
    directory
        Where ``snapshot-<offset>.npz`` files live (created if missing).
    keep
        How many of the newest snapshots to keep (older ones are deleted after a write).

    Examples
    --------
    >>> import tempfile
    >>> from onlinekit.oco import OGD
    >>> store = SnapshotStore(tempfile.mkdtemp())
    >>> m = OGD(lr=0.1)
    >>> m.learn_one({"a": 1.0}, 2.0)
    >>> _ = store.write(store.encode(m, offset=1))
    >>> snap = store.load_newest()
    >>> snap.offset, snap.learner.predict_one({"a": 1.0}) == m.predict_one({"a": 1.0})
    (1, True)
    """

    def __init__(self, directory: str | os.PathLike, *, keep: int = 2):
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.keep = keep
        self.skipped: list[tuple[Path, str]] = []  # invalid files met by the last load

    @staticmethod
    def encode(learner: Learner, offset: int) -> tuple[int, bytes]:
        """Serialise ``learner`` as covering ``offset`` events (a copy nobody else mutates)."""
        return int(offset), state_to_bytes(learner, extra={"offset": int(offset)})

    @staticmethod
    def path_for_name(offset: int) -> str:
        """File name of the snapshot covering ``offset`` events."""
        return f"snapshot-{int(offset):020d}.npz"

    def path_for(self, offset: int) -> Path:
        return self.directory / self.path_for_name(offset)

    def write(self, encoded: tuple[int, bytes]) -> Path:
        """Write an :meth:`encode` result atomically; prune old snapshots; return the path."""
        offset, data = encoded
        path = self.path_for(offset)
        atomic_write_bytes(path, data)
        return self._sealed(path, hashlib.sha256(data).hexdigest())

    def _sealed(self, path: Path, digest: str) -> Path:
        # the digest sits in a side file written after the archive: a snapshot counts only
        # when both exist and agree, so a torn pair is skipped on load
        atomic_write_bytes(path.with_suffix(".sha256"), digest.encode("ascii"))
        self.prune()
        return path

    def write_learner(self, learner: Learner, offset: int) -> Path:
        """:meth:`write` of ``encode(learner, offset)``, the archive streamed into the file (no
        copy of it in memory; the serving layer's writer thread holds the GIL less).

        The digest is read back from the file written (fsynced) before the side file is written.
        """
        offset = int(offset)
        path = self.path_for(offset)
        atomic_write_with(path, lambda fh: write_state(learner, fh, extra={"offset": offset}))
        with open(path, "rb") as fh:
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        return self._sealed(path, digest)

    def offsets(self) -> list[int]:
        """Offsets of the snapshot files present, newest first."""
        out = []
        for p in self.directory.iterdir():
            m = _NAME.match(p.name)
            if m:
                out.append(int(m.group(1)))
        return sorted(out, reverse=True)

    def complete_offsets(self) -> list[int]:
        """Offsets of snapshots whose checksum file is written too, newest first."""
        return [o for o in self.offsets() if self.path_for(o).with_suffix(".sha256").exists()]

    def prune(self) -> None:
        """Delete all but the ``keep`` newest snapshots, and stray temp files."""
        for off in self.offsets()[self.keep:]:
            for p in (self.path_for(off), self.path_for(off).with_suffix(".sha256")):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
        for p in self.directory.glob(".snapshot-*.tmp"):
            try:
                p.unlink()
            except FileNotFoundError:  # pragma: no cover - raced with another cleaner
                pass

    def _read(self, offset: int, allowed_modules: tuple[str, ...]) -> Snapshot:
        path = self.path_for(offset)
        data = path.read_bytes()
        side = path.with_suffix(".sha256")
        if not side.exists():
            raise ValueError("checksum file missing")
        if side.read_text().strip() != hashlib.sha256(data).hexdigest():
            raise ValueError("checksum mismatch")
        learner, extra = state_from_bytes(data, allowed_modules=allowed_modules)
        if extra.get("offset") != offset:
            raise ValueError(f"archive says offset {extra.get('offset')!r}, file name says {offset}")
        return Snapshot(learner, offset, path)

    def load_newest(self, *, max_offset: int | None = None,
                    allowed_modules: tuple[str, ...] = ("onlinekit",)) -> Snapshot | None:
        """The newest snapshot that reads back, or ``None``.

        Files covering more than ``max_offset`` events (e.g. more than the log holds) are
        skipped. Invalid files are listed in :attr:`skipped` with the reason.
        """
        self.skipped = []
        for off in self.offsets():
            if max_offset is not None and off > max_offset:
                self.skipped.append((self.path_for(off), f"covers {off} events but the log holds {max_offset}"))
                continue
            try:
                return self._read(off, allowed_modules)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is skipped
                self.skipped.append((self.path_for(off), f"{type(exc).__name__}: {exc}"))
        return None

    def describe(self) -> dict[str, Any]:
        """Offsets present (newest first)."""
        return {"directory": str(self.directory), "offsets": self.offsets()}
