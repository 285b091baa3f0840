"""Checkpoints of the protocol drivers: the learner plus the driver's own data, written atomically.

A checkpoint is a :func:`onlinekit.base.state_to_bytes` archive whose ``extra`` holds, under
``key``, the identity of what was being run (a stream and its columns, an environment and its
seed); resuming checks the learner's class and parameters and that identity before touching
anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onlinekit.base import state_from_bytes, state_to_bytes

__all__ = ["load_checkpoint", "save_checkpoint"]


def load_checkpoint(ckpt: Path, learner: Any, key: str, ident: Any, what: str) -> dict:
    """Restore ``learner`` from ``ckpt`` and return the archive's ``extra``.

    Raises ``ValueError`` (learner unchanged) when the archive holds another learner or was
    written for another ``ident``; ``what`` names what must match (for the message).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from onlinekit.experts import Hedge
    >>> p = Path(tempfile.mkdtemp()) / "ck.npz"
    >>> save_checkpoint(p, Hedge(n_experts=2), {"run": "a", "n": 3})
    >>> load_checkpoint(p, Hedge(n_experts=2), "run", "a", "the same run")["n"]
    3
    >>> load_checkpoint(p, Hedge(n_experts=2), "run", "b", "the same run")
    Traceback (most recent call last):
    ...
    ValueError: checkpoint ... was written for 'a', not 'b'; resume with the same run, or use a new --out
    """
    saved, extra = state_from_bytes(Path(ckpt).read_bytes())
    if type(saved) is not type(learner) or repr(saved.get_params()) != repr(learner.get_params()):
        raise ValueError(f"checkpoint {ckpt} holds {saved!r}, not {learner!r}")
    if extra.get(key) != ident:
        raise ValueError(f"checkpoint {ckpt} was written for {extra.get(key)!r}, not {ident!r}; "
                         f"resume with {what}, or use a new --out")
    learner.load_state_dict(saved.state_dict())
    return extra


def save_checkpoint(ckpt: Path, learner: Any, extra: dict) -> None:
    """Write ``learner`` and ``extra`` to ``ckpt`` atomically (temp file, fsync, rename)."""
    from onlinekit._io import atomic_write_bytes

    atomic_write_bytes(Path(ckpt), state_to_bytes(learner, extra))
