"""The result of a replay or a simulation: a summary, sampled series, and files."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit._io import atomic_write_text

__all__ = ["Report"]


def _clean(v: Any) -> Any:
    """JSON-ready values: numpy scalars to Python, NaN and infinities to ``None`` (null)."""
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.ndarray):
        return [_clean(x) for x in v.tolist()]
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    return v


@dataclass
class Report:
    """Summary and series of a run.

    Attributes
    ----------
    learner
        ``repr`` of the learner or policy.
    source
        Name of the stream or environment.
    n_events
        Events processed (in total, including those before a resume).
    summary
        Final value of every metric, plus throughput.
    series
        Metric values at the record points; ``series["events"]`` holds the event counts.
    skipped
        Rows skipped as malformed (``errors="skip"``); ``bad_rows`` describes them.
    elapsed_s
        Wall time of this call (not counting time before a resume).
    resumed_from
        Event offset the run resumed from (0 for a fresh run).
    meta
        Provenance written at the top of ``report.json``: ``onlinekit_version``, the
        ``command`` line, the ``features`` the learner saw (with their encodings).
    """

    learner: str
    source: str
    n_events: int
    summary: dict[str, float]
    series: dict[str, list[float]]
    skipped: int = 0
    bad_rows: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    resumed_from: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            **self.meta,
            "learner": self.learner,
            "source": self.source,
            "n_events": self.n_events,
            "skipped": self.skipped,
            "elapsed_s": self.elapsed_s,
            "resumed_from": self.resumed_from,
            "summary": self.summary,
            "series": self.series,
        })

    def format_table(self) -> str:
        """A short two-column text table of the summary."""
        rows = [("learner", self.learner), ("source", self.source), ("events", f"{self.n_events:,}")]
        if self.skipped:
            rows.append(("skipped rows", f"{self.skipped:,}"))
        for k, v in self.summary.items():
            rows.append((k, f"{v:.6g}" if isinstance(v, float) else str(v)))
        w = max(len(k) for k, _ in rows)
        return "\n".join(f"{k:<{w}}  {v}" for k, v in rows)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``report.json``, ``series.csv``, ``skipped.csv`` (if any rows were skipped)
        and, when matplotlib is installed, one PNG per series."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for stale in [*out.glob("*.png"), out / "skipped.csv"]:  # from an earlier run into the same folder
            stale.unlink(missing_ok=True)
        files = []
        p = out / "report.json"
        atomic_write_text(p, json.dumps(self.to_dict(), indent=2))
        files.append(p)
        p = out / "series.csv"
        cols = list(self.series)
        with open(p, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for row in zip(*(self.series[c] for c in cols), strict=True):
                w.writerow([repr(float(v)) for v in row])
        files.append(p)
        if self.bad_rows:
            p = out / "skipped.csv"
            with open(p, "w", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(["row"])
                for r in self.bad_rows:
                    w.writerow([r])
            files.append(p)
        files += self.plot(out)
        return files

    def plot(self, out: str | Path) -> list[Path]:
        """PNG plots of the series (needs the ``plot`` extra); returns the paths written."""
        try:  # the object API: no pyplot state, no GUI backend, safe off the main thread
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:
            return []
        out = Path(out)
        x = np.asarray(self.series.get("events", []), dtype=float)
        if len(x) == 0:
            return []
        by_base: dict[str, list[str]] = {}
        for k in self.series:
            if k == "events":
                continue
            base = k.split("[", 1)[0]
            by_base.setdefault(base, []).append(k)
        paths = []
        for base, keys in by_base.items():
            fig = Figure(figsize=(6, 4))
            FigureCanvasAgg(fig)
            # fixed margins that fit 8-character tick labels: tight_layout would lay the text
            # out twice, doubling the time of a replay's plots for the same picture
            fig.subplots_adjust(left=0.16, right=0.97, bottom=0.12, top=0.92)
            ax = fig.add_subplot()
            for k in keys:
                ax.plot(x, np.asarray(self.series[k], dtype=float), label=k)
            ax.set_xlabel("events")
            ax.set_ylabel(base)
            ax.set_title(f"{base} — {self.learner}"[:80])
            if len(keys) > 1:
                ax.legend(fontsize=7)
            safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in base)
            path = out / f"{safe}.png"
            fig.savefig(path, dpi=110)
            paths.append(path)
        return paths
