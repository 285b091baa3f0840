"""Loader for the Open Bandit Dataset sample (Saito et al. 2020; ZOZOTOWN fashion e-commerce).

One row per (impression, position): the item shown, its position (left / centre / right of a
3-slot widget), whether it was clicked, and the logging policy's probability of showing that
item at that position (``propensity_score``). The sample shipped with ``obp`` 0.4.1 has
10,000 rows per file; the rows of one impression cannot be grouped (timestamps are almost all
distinct), so full slates are not available. Positions are side by side, not a top-down
cascade.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from onlinekit.streams.errors import MissingDataError, StreamError

__all__ = ["OBDLog", "load_obd"]

_WHERE = ("Get the Open Bandit Dataset small sample with: onlinekit data fetch obd (from the zr-obp "
          "repository, obp/dataset/obd/{random,bts}/all/), or the full data from "
          "https://research.zozo.com/data.html (Saito et al. 2020, arXiv 2008.07146).")


@dataclass(frozen=True)
class OBDLog:
    """Columns of one Open Bandit Dataset file.

    Attributes
    ----------
    item, position, click : ndarray of int64 (n,)
        Item shown, 0-based position (0 = left, 1 = centre, 2 = right) and click (0/1).
    propensity : ndarray (n,)
        Probability of that item at that position under the logging policy.
    timestamp : ndarray of datetime64[us] (n,)
    user_features : ndarray of str (n, 4)
        Hashed user features.
    affinity : ndarray (n, n_items)
        User-item affinity features.
    n_items, n_positions : int
    behavior_policy, campaign : str
    path : Path
    """

    item: np.ndarray
    position: np.ndarray
    click: np.ndarray
    propensity: np.ndarray
    timestamp: np.ndarray
    user_features: np.ndarray
    affinity: np.ndarray
    n_items: int
    n_positions: int
    behavior_policy: str
    campaign: str
    path: Path

    def __len__(self) -> int:
        return len(self.item)


def _resolve(path, behavior_policy: str, campaign: str) -> Path:
    p = Path(path)
    if p.is_dir():
        for cand in (p / behavior_policy / campaign / f"{campaign}.csv", p / campaign / f"{campaign}.csv",
                     p / f"{campaign}.csv"):
            if cand.is_file():
                return cand
        raise MissingDataError(f"no OBD file for policy {behavior_policy!r}, campaign {campaign!r} under {p}. {_WHERE}")
    if not p.is_file():
        raise MissingDataError(f"{p} does not exist. {_WHERE}")
    return p


def load_obd(path=None, behavior_policy: str = "random", campaign: str = "all") -> OBDLog:
    """Read one Open Bandit Dataset CSV.

    Parameters
    ----------
    path
        The CSV itself, or a directory holding ``<behavior_policy>/<campaign>/<campaign>.csv``;
        ``None``: the ``obd`` data set from :func:`onlinekit.data.resolve` (``onlinekit data
        fetch obd``, campaign ``all`` only).
    behavior_policy
        ``"random"`` (uniform logging) or ``"bts"`` (Bernoulli Thompson sampling).
    campaign
        ``"all"``, ``"men"`` or ``"women"``.

    Raises
    ------
    MissingDataError
        When the file is absent (the message says where to get it).
    StreamError
        On a malformed row (file, line and column named).

    Examples
    --------
    >>> from onlinekit.streams.obd import load_obd
    >>> load_obd("/nonexistent/obd")
    Traceback (most recent call last):
    ...
    onlinekit.streams.errors.MissingDataError: /nonexistent/obd does not exist. Get the Open Bandit ...
    """
    if path is None:
        from onlinekit.data import resolve

        path = resolve("obd")
    f = _resolve(path, behavior_policy, campaign)
    with open(f, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        col = {name: j for j, name in enumerate(header)}
        need = ["timestamp", "item_id", "position", "click", "propensity_score"]
        missing = [c for c in need if c not in col]
        if missing:
            raise StreamError(f"{f}: line 1: missing column(s) {missing}")
        uf = sorted((c for c in header if c.startswith("user_feature_")), key=lambda c: int(c.rsplit("_", 1)[1]))
        aff = sorted((c for c in header if c.startswith("user-item_affinity_")), key=lambda c: int(c.rsplit("_", 1)[1]))
        rows = list(reader)
    n = len(rows)
    item = np.empty(n, dtype=np.int64)
    position = np.empty(n, dtype=np.int64)
    click = np.empty(n, dtype=np.int64)
    prop = np.empty(n)
    ts = []
    ufeat = np.empty((n, len(uf)), dtype=object)
    affinity = np.empty((n, len(aff)))
    aff_idx = [col[c] for c in aff]
    uf_idx = [col[c] for c in uf]
    for i, row in enumerate(rows):
        line = i + 2
        try:
            item[i] = int(row[col["item_id"]])
            position[i] = int(row[col["position"]]) - 1
            click[i] = int(row[col["click"]])
            prop[i] = float(row[col["propensity_score"]])
            affinity[i] = [float(row[j]) for j in aff_idx]
        except (ValueError, IndexError) as exc:
            raise StreamError(f"{f}: line {line}: cannot parse row ({exc})") from None
        if click[i] not in (0, 1):
            raise StreamError(f"{f}: line {line}: column 'click': expected 0 or 1, got {click[i]}")
        if position[i] < 0:
            raise StreamError(f"{f}: line {line}: column 'position': expected >= 1, got {position[i] + 1}")
        if not 0.0 < prop[i] <= 1.0:
            raise StreamError(f"{f}: line {line}: column 'propensity_score': expected in (0, 1], got {prop[i]}")
        ufeat[i] = [row[j] for j in uf_idx]
        ts.append(row[col["timestamp"]].replace("+00:00", ""))
    timestamp = np.array(ts, dtype="datetime64[us]")
    n_items = max(len(aff), int(item.max()) + 1 if n else 0)
    return OBDLog(item, position, click, prop, timestamp, ufeat.astype(str), affinity, n_items,
                  int(position.max()) + 1 if n else 0, behavior_policy, campaign, f)
