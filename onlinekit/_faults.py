"""Fault injection for tests of retried work: a learner that kills its process once.

:class:`CrashOnceOGD` is :class:`~onlinekit.oco.OGD` (same predictions, same updates) that,
the first time an update would take it past ``crash_at`` updates, creates the file
``marker`` and ends its process at once (``os._exit``), as a crashed worker or a lost node
does. Later copies find the marker and run through. It lives in ``onlinekit`` so that
checkpoints (which instantiate only onlinekit's classes) can hold it.
"""

from __future__ import annotations

import os

import numpy as np

from onlinekit.oco import OGD

__all__ = ["CrashOnceOGD"]


class CrashOnceOGD(OGD):
    """OGD (squared loss) that kills its process once, just before update ``crash_at + 1``.

    Parameters
    ----------
    marker
        File created just before the crash; while it exists, no copy crashes.
    crash_at
        Updates done before the crash (counted by the learner's own ``t_``, which a
        checkpoint restores).
    lr
        As in :class:`~onlinekit.oco.OGD`.

    Examples
    --------
    >>> import os, tempfile
    >>> marker = os.path.join(tempfile.mkdtemp(), "crashed")
    >>> open(marker, "w").close()            # already crashed once: runs like OGD
    >>> X = np.ones((5, 1)); y = np.ones(5)
    >>> CrashOnceOGD(marker, crash_at=2, lr=0.1).predict_learn_many(X, y).round(3).tolist()
    [0.0, 0.2, 0.36, 0.488, 0.59]
    """

    def __init__(self, marker: str, crash_at: int = 1000, lr: float = 0.01) -> None:
        self.marker = marker
        self.crash_at = crash_at
        super().__init__(lr=lr)

    def _check(self, n: int) -> None:
        if self.t_ + n > self.crash_at and not os.path.exists(self.marker):
            with open(self.marker, "w") as fh:
                fh.write(f"crashed at update {int(self.t_)} (pid {os.getpid()})\n")
            os._exit(1)

    def predict_learn_many(self, X, y, **kwargs) -> np.ndarray:
        self._check(len(y))
        return super().predict_learn_many(X, y, **kwargs)

    def learn_one(self, x, y, **kwargs):
        self._check(1)
        return super().learn_one(x, y, **kwargs)
