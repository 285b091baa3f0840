"""Recorded entropy: the OS-CSPRNG bits a secure draw used, so a log replay repeats it exactly.

A mechanism with ``noise="secure"`` draws its noise from ``os.urandom``; its state after an
event is therefore not a function of its state before and the event. A service that rebuilds
a learner by replaying its event log (``onlinekit serve`` after a crash) would draw *fresh*
noise for every replayed release: the rebuilt state would disagree with the releases already
acknowledged, and the fresh noise on the same data would spend privacy budget a second time.

Inside :func:`recording`, every secure draw also appends the exact bits it consumed to a
:class:`Tape`; :meth:`Tape.to_bytes` gives them as one blob to log with the event. Inside
:func:`replaying` (given that blob), the same draws read those bits instead of the OS, so the
replayed event leaves the learner in the state the original left it in. Bits are never drawn
twice from the OS: after a replay the learner's own stream goes on with fresh bits.

The blob holds the noise of the release: keep the log as private as the data it holds.

Examples
--------
>>> from onlinekit.privacy import TreeCounter
>>> c = TreeCounter(T=64)
>>> with recording() as tape:
...     first = c.release(1.0)
>>> twin = TreeCounter(T=64)
>>> with replaying(tape.to_bytes()):
...     again = twin.release(1.0)
>>> again == first, len(tape.segments) > 0
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np

__all__ = ["Tape", "recording", "replaying", "active", "EntropyMismatch"]

_ACTIVE: ContextVar = ContextVar("onlinekit_entropy", default=None)


class EntropyMismatch(RuntimeError):
    """A replay asked for bits the recording does not hold (the log does not match the learner)."""


class Tape:
    """Bit segments of the secure draws made while recording: ``(first_bit, words)`` each,
    ``words`` an int64 array whose bits from ``first_bit`` on are exactly what the draw read."""

    def __init__(self) -> None:
        self.segments: list[tuple[int, np.ndarray]] = []

    def to_bytes(self) -> bytes:
        """The segments as one blob: per segment ``[first_bit, n_words]`` then the words (int64)."""
        parts = []
        for first, words in self.segments:
            parts.append(np.array([first, len(words)], dtype=np.int64))
            parts.append(np.asarray(words, dtype=np.int64))
        return np.concatenate(parts).tobytes() if parts else b""

    @staticmethod
    def segments_from(blob: bytes) -> list[tuple[int, np.ndarray]]:
        """Inverse of :meth:`to_bytes` (``ValueError`` on a malformed blob)."""
        a = np.frombuffer(blob, dtype=np.int64)
        out, i = [], 0
        while i < len(a):
            if i + 2 > len(a):
                raise ValueError("truncated entropy record")
            first, n = int(a[i]), int(a[i + 1])
            if not 0 <= first < 64 or n < 0 or i + 2 + n > len(a):
                raise ValueError("malformed entropy record")
            out.append((first, a[i + 2:i + 2 + n].copy()))
            i += 2 + n
        return out


class _Replay:
    def __init__(self, blob: bytes) -> None:
        self.segments = Tape.segments_from(blob)
        self.used = 0

    def next_segment(self) -> tuple[int, np.ndarray]:
        if self.used >= len(self.segments):
            raise EntropyMismatch("the replayed event makes more secure draws than were recorded")
        seg = self.segments[self.used]
        self.used += 1
        return seg


def active():
    """The :class:`Tape` being recorded, the replay being read, or ``None``."""
    return _ACTIVE.get()


@contextmanager
def recording() -> Iterator[Tape]:
    """Record the bits of every secure draw made inside the block into the yielded tape."""
    tape = Tape()
    token = _ACTIVE.set(tape)
    try:
        yield tape
    finally:
        _ACTIVE.reset(token)


@contextmanager
def replaying(blob: bytes) -> Iterator[None]:
    """Make the secure draws inside the block read the recorded ``blob`` (from
    :meth:`Tape.to_bytes`); raises :class:`EntropyMismatch` if they do not use all of it."""
    rep = _Replay(blob)
    token = _ACTIVE.set(rep)
    try:
        yield
    finally:
        _ACTIVE.reset(token)
    if rep.used != len(rep.segments):
        raise EntropyMismatch(f"the replayed event used {rep.used} of {len(rep.segments)} recorded draws")


def secure_stream(owner):
    """The bit stream a secure draw of ``owner`` reads now: its OS stream (taped when
    recording) or, when replaying, the next recorded segment."""
    from onlinekit.privacy.noise import ReplayBitStream, SecureBitStream

    tap = _ACTIVE.get()
    if isinstance(tap, _Replay):
        return ReplayBitStream(*tap.next_segment())
    if owner._bits is None:
        owner._bits = SecureBitStream()
    owner._bits.tape = tap
    return owner._bits
