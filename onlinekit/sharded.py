"""Sharded replay: one learner per key of a column (per advertiser, per tenant, ...).

The stream is split by the value of one column (the *shard key*); each shard keeps the
original event order and is replayed (predict, then learn) through its own fresh clone of
the learner, on the local machine or as one Ray task per shard. The per-shard reports are
merged into a :class:`ShardedReport`; apart from timings it is identical between backends
and between job counts, because each shard is a pure function of its own events.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit._io import atomic_write_text
from onlinekit.report import Report
from onlinekit.streams.block import Chunk
from onlinekit.streams.source import Source

__all__ = ["ShardedReport", "replay_sharded", "split_by_key"]

_TIMING = ("events_per_s",)


class _ShardSource(Source):
    """Already-parsed columns of one shard, served as chunks (no re-parsing)."""

    def __init__(self, columns: dict[str, np.ndarray], lines: np.ndarray | None, name: str):
        super().__init__()
        self._cols = columns
        self._lines = lines
        self.name = name
        self._n = len(next(iter(columns.values()))) if columns else 0

    def __len__(self) -> int:
        return self._n

    def column_names(self) -> list[str]:
        return list(self._cols)

    def chunks(self, start=0, chunk_size=65536, kinds=None):
        names = list(kinds) if kinds is not None else list(self._cols)
        for lo in range(start, self._n, chunk_size):
            hi = min(lo + chunk_size, self._n)
            lines = None if self._lines is None else self._lines[lo:hi]
            yield Chunk(lo, {c: self._cols[c][lo:hi] for c in names}, lines, self.name)


#: How rows with a missing key are handled: an error naming the first one, or one shard.
MISSING_KEY = ("error", "pool")


def _missing_error(source: Source, shard_by: str, chunk, j: int) -> ValueError:
    where = f"line {int(chunk.lines[j])}" if chunk.lines is not None else f"event offset {chunk.offset + j}"
    return ValueError(f"{source.name}, {where}: shard key {shard_by!r} is missing (empty, null, NaN or infinite); "
                      "pass missing_key='pool' (--missing-key pool) to replay such rows as one shard (key '')")


def shard_plan(available: Sequence[str], schema, shard_by: str, encoder=None) -> tuple[Any, dict, list[str]]:
    """``(schema, kinds, keep)`` for splitting a source with columns ``available`` by ``shard_by``:
    the schema each shard replays with (the key column dropped from implicit features), the
    column kinds to read (categorical columns as text) and the columns each shard keeps."""
    from onlinekit.streams import Schema

    schema = schema if schema is not None else Schema()
    available = list(available)
    if shard_by not in available:
        raise KeyError(f"shard column {shard_by!r} not in the source; it has {available}")
    text_ok = encoder is not None and encoder.categorical != "none"
    if schema.features is None:  # implicit features: every other column but the key
        feats = tuple(c for c in schema.resolve_features(available, text_ok) if c != shard_by)
        schema = dataclasses.replace(schema, features=feats)
    # shards are held as columns in memory: categorical columns as text, not source codes
    used = schema.kinds(available, encoder)
    kinds = {c: {"cat": "str", "cat_or_float": "str_or_float"}.get(k, k) for c, k in used.items()}
    kinds.setdefault(shard_by, "str")
    keep = [c for c in kinds if c != shard_by] + ([shard_by] if shard_by in used else [])
    return schema, kinds, keep


def split_by_key(source: Source, schema, shard_by: str, *, missing_key: str = "error", encoder=None,
                 chunk_size: int = 65536) -> tuple[Any, dict[str, tuple[dict, Any]]]:
    """Read ``source`` and split its rows by the value of column ``shard_by``.

    Returns ``(schema, shards)``: the schema to replay each shard with (the shard column is
    removed from the features when they were implicit; named explicitly, it stays one) and
    ``{key: (columns, lines)}`` in order of the keys' first appearance, each shard's rows in
    stream order. Rows are grouped by one stable sort of the keys (``O(n log n)``).

    Keys are compared as text, the same way from every source: text (a CSV column, JSON
    strings) as written, so ``3``, ``3.0`` and ``03`` are three keys; numbers (float or
    integer arrays, Parquet numeric columns) canonically, a whole number without a decimal
    point (``3.0`` -> ``"3"``) and any other as its shortest round-trip form (``"0.5"``).
    A CSV key column is read as text unless ``schema.features`` names it (then as numbers).

    Parameters
    ----------
    source, schema, shard_by
        The stream, its column roles and the key column.
    missing_key
        ``"error"`` (default): an empty, null, NaN or infinite key raises ``ValueError``
        naming the first such row. ``"pool"``: those rows form one shard, key ``""``.
    chunk_size
        Rows read per chunk.

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.streams import ArraySource, Schema
    >>> src = ArraySource({"tenant": np.array(["a", "b", "a"]), "x": np.arange(3.0), "y": np.ones(3)})
    >>> schema, shards = split_by_key(src, Schema(target="y"), "tenant")
    >>> schema.features, list(shards), shards["a"][0]["x"].tolist()
    (('x',), ['a', 'b'], [0.0, 2.0])
    """
    from onlinekit._shard_keys import key_texts

    if missing_key not in MISSING_KEY:
        raise ValueError(f"missing_key must be one of {MISSING_KEY}, got {missing_key!r}")
    schema, kinds, keep = shard_plan(source.column_names(), schema, shard_by, encoder)
    key_parts: list[np.ndarray] = []
    col_parts: dict[str, list[np.ndarray]] = {c: [] for c in keep}
    line_parts: list = []
    for chunk in source.chunks(start=0, chunk_size=int(chunk_size), kinds=kinds):
        keys, missing = key_texts(chunk.columns[shard_by])
        if missing_key == "error" and missing.any():
            raise _missing_error(source, shard_by, chunk, int(np.argmax(missing)))
        key_parts.append(keys)
        for c in keep:
            col_parts[c].append(np.asarray(chunk.columns[c]))
        line_parts.append(chunk.lines)
    if not key_parts:
        return schema, {}
    keys = np.concatenate(key_parts)
    uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    perm = np.argsort(inverse, kind="stable")  # rows grouped by key, stream order within a key
    bounds = np.concatenate([[0], np.cumsum(np.bincount(inverse, minlength=len(uniq)))])
    cols = {c: np.concatenate(col_parts[c])[perm] for c in keep}
    lines = None if any(v is None for v in line_parts) else np.concatenate(line_parts)[perm]
    shards: dict[str, tuple[dict, Any]] = {}
    for g in np.argsort(first, kind="stable"):  # keys in order of first appearance
        lo, hi = int(bounds[g]), int(bounds[g + 1])
        shards[str(uniq[g])] = ({c: v[lo:hi] for c, v in cols.items()}, None if lines is None else lines[lo:hi])
    return schema, shards


@dataclass
class ShardedReport:
    """Merged result of :func:`replay_sharded`.

    Attributes
    ----------
    shard_by
        The shard column.
    source, learner
        Name of the whole source and ``repr`` of the learner template.
    reports
        One :class:`~onlinekit.report.Report` per key, in order of first appearance.
    summary
        Over all shards: ``n_shards``, ``n_events``; totals (``squared_loss``, ``regret``,
        ...) summed over shards (so ``regret`` is the sum of the per-key regrets, each against
        its own comparator); ``mean_*`` recomputed from the summed totals; ``accuracy``
        weighted by events. Per-group means stay in the shard reports.
    skipped, bad_rows
        Malformed rows of the source (before splitting) plus those of the shards.
    failures
        ``{"key": k, "error": "Type: message"}`` for each shard whose replay failed (it has no
        report; the others do).
    elapsed_s
        Wall time of the whole call.
    """

    shard_by: str
    source: str
    learner: str
    reports: dict[str, Report]
    summary: dict[str, float]
    skipped: int = 0
    bad_rows: list[str] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def n_events(self) -> int:
        """Events replayed over all shards."""
        return int(sum(r.n_events for r in self.reports.values()))

    def to_dict(self, timing: bool = True) -> dict[str, Any]:
        """JSON-able dict; ``timing=False`` drops wall times and throughputs (which is what
        is identical between backends)."""
        shards = {}
        for k, r in self.reports.items():
            d = r.to_dict()
            if not timing:
                d.pop("elapsed_s", None)
                for t in _TIMING:
                    d["summary"].pop(t, None)
            shards[k] = d
        out = {
            "shard_by": self.shard_by,
            "source": self.source,
            "learner": self.learner,
            "n_events": self.n_events,
            "summary": dict(self.summary),
            "skipped": self.skipped,
            "bad_rows": list(self.bad_rows),
            "failures": list(self.failures),
            "shards": shards,
        }
        if timing:
            out["elapsed_s"] = self.elapsed_s
        return out

    def format_table(self) -> str:
        """The merged summary, then one line per shard (events and first summary values)."""
        rows = [("learner", self.learner), ("source", self.source), ("shard by", self.shard_by)]
        for k, v in self.summary.items():
            rows.append((k, f"{v:.6g}" if isinstance(v, float) else str(v)))
        w = max(len(k) for k, _ in rows)
        lines = [f"{k:<{w}}  {v}" for k, v in rows]
        for key, r in self.reports.items():
            vals = ", ".join(f"{k}={v:.4g}" for k, v in r.summary.items() if k not in _TIMING)
            lines.append(f"  [{self.shard_by}={key}] {r.n_events:,} events: {vals}")
        for f in self.failures:
            lines.append(f"  [{self.shard_by}={f['key']}] FAILED: {f['error']}")
        return "\n".join(lines)

    def write(self, out: str | Path) -> list[Path]:
        """Write ``report.json`` (everything) and ``shards.csv`` (one summary row per key,
        without timings, so it is identical between backends)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        p = out / "report.json"
        atomic_write_text(p, json.dumps(self.to_dict(), indent=2))
        cols: list[str] = []
        for r in self.reports.values():
            for k in r.summary:
                if k not in cols and k not in _TIMING:
                    cols.append(k)
        q = out / "shards.csv"
        with open(q, "w", newline="") as fh:
            wr = csv.writer(fh)
            wr.writerow([self.shard_by, "n_events", *cols])
            for key, r in self.reports.items():
                wr.writerow([key, r.n_events, *(repr(float(r.summary[c])) if c in r.summary else "" for c in cols)])
        return [p, q]


def _replay_shard(learner, schema, metric_names, replay_kw, source_name, shard_by, key, columns, lines,
                  checkpoint=None, checkpoint_every=None) -> Report:
    """Replay one shard through a fresh clone of ``learner`` (module level: runs in workers);
    with ``checkpoint``, resume from it if it exists and write it every ``checkpoint_every`` events."""
    from onlinekit import engine
    from onlinekit.protocols.supervised import SUPERVISED
    from onlinekit.streams import Stream

    model = learner.clone()
    src = _ShardSource(columns, lines, f"{source_name}[{shard_by}={key}]")
    encoder = copy.deepcopy(replay_kw.get("encoder"))  # a fresh, unused encoder per shard
    stream = Stream(src, schema, block_size=replay_kw.get("block_size", 8192), errors=replay_kw.get("errors", "raise"),
                    encoder=encoder)
    metrics = None
    if metric_names:
        metrics = SUPERVISED.metrics(metric_names, model, tuple(g.name for g in schema.groups))
    return engine.replay(model, stream, metrics=metrics, record_every=replay_kw.get("record_every"),
                         checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=checkpoint is not None)


def _safe_replay(*args):
    try:
        return _replay_shard(*args), None
    except Exception as exc:  # reported per shard, like the Ray backend does
        return None, f"{type(exc).__name__}: {exc}"


def _merge_summary(reports: Sequence[Report]) -> dict[str, float]:
    """Totals add up; ``mean_*`` are recomputed from the merged totals; ``accuracy`` is
    weighted by events; per-group means (``name[g]``) are left to the shard reports."""
    total = sum(r.n_events for r in reports)
    out: dict[str, float] = {"n_shards": float(len(reports)), "n_events": float(total)}
    names: list[str] = []
    for r in reports:
        for k in r.summary:
            if k not in names and k not in _TIMING:
                names.append(k)
    for k in names:
        vals = [(float(r.summary[k]), r.n_events) for r in reports if k in r.summary]
        if k.startswith("mean_") or k.startswith("accuracy"):
            if "[" in k:
                continue
            base = k[len("mean_"):]
            if k.startswith("mean_") and base in names:
                out[k] = sum(float(r.summary.get(base, 0.0)) for r in reports) / total if total else math.nan
            else:
                num = sum(v * n for v, n in vals if n and math.isfinite(v))
                den = sum(n for v, n in vals if n and math.isfinite(v))
                out[k] = num / den if den else math.nan
        else:
            out[k] = float(sum(v for v, _ in vals))
    return out


def replay_sharded(
    learner: Any,
    source: Source,
    shard_by: str,
    *,
    schema=None,
    backend: str = "local",
    jobs: int = 1,
    address: str | None = None,
    metrics: Sequence[str] | None = None,
    block_size: int = 8192,
    errors: str = "raise",
    record_every: int | None = None,
    progress: bool = False,
    max_retries: int = 2,
    missing_key: str = "error",
    encoder=None,
) -> ShardedReport:
    """Replay ``source`` with one clone of ``learner`` per value of column ``shard_by``.

    Parameters
    ----------
    learner
        Template learner (unlearned); each shard gets ``learner.clone()``.
    source
        Any :class:`~onlinekit.streams.Source` (it is read once, fully, on this machine).
    shard_by
        The key column. It is not a feature unless ``schema.features`` names it.
    schema
        Column roles (default: target ``y``, every other column a feature).
    backend
        ``"local"`` (``jobs`` worker processes, one BLAS thread each; 1 = in this process) or
        ``"ray"`` (one Ray task per shard; ``jobs > 1`` caps the tasks running at once;
        ``address`` as in :func:`onlinekit.experiments.ray_backend.ensure_ray`).
    metrics
        Metric names for :func:`onlinekit.metrics.make_metric` (default: the replay defaults).
    block_size, errors, record_every
        As in :func:`onlinekit.engine.replay` / :class:`~onlinekit.streams.Stream`, per shard.
    progress
        Progress bar over shards.
    max_retries
        Ray backend: retries per shard task (system failures only).
    missing_key
        ``"error"`` or ``"pool"``: see :func:`split_by_key` (which also gives the rule by
        which keys from different sources compare).
    encoder
        Optional unused :class:`~onlinekit.streams.encode.FeatureEncoder`: each shard gets a
        fresh copy (its own category levels and running statistics).

    Returns
    -------
    ShardedReport

    Examples
    --------
    >>> import numpy as np
    >>> from onlinekit.oco import OGD
    >>> from onlinekit.sharded import replay_sharded
    >>> from onlinekit.streams import ArraySource, Schema
    >>> rng = np.random.default_rng(0)
    >>> tenant = rng.choice(["a", "b"], size=3000); x = rng.normal(size=3000)
    >>> y = np.where(tenant == "a", 2.0, -1.0) * x + 0.1 * rng.normal(size=3000)  # a model per tenant
    >>> src = ArraySource({"tenant": tenant, "x": x, "y": y})
    >>> rep = replay_sharded(OGD(lr=0.05), src, "tenant", schema=Schema(target="y"))
    >>> list(rep.reports), [r.n_events for r in rep.reports.values()]
    (['b', 'a'], [1565, 1435])
    >>> round(rep.summary["mean_squared_loss"], 4)
    0.0282
    """
    import time

    from onlinekit.streams import Schema

    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    if int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    t0 = time.perf_counter()
    if schema is None:
        schema = Schema(target="y" if "y" in source.column_names() else None)
    schema2, shards = split_by_key(source, schema, shard_by, missing_key=missing_key, encoder=encoder)
    replay_kw = {"block_size": int(block_size), "errors": errors, "record_every": record_every, "encoder": encoder}
    names = tuple(metrics) if metrics else None
    shared = (learner, schema2, names, replay_kw, source.name, shard_by)
    keys = list(shards)
    per_key = [(k, shards[k][0], shards[k][1]) for k in keys]
    outcomes: list[tuple[Report | None, str | None]] = []
    if backend == "ray":
        from onlinekit.experiments.ray_backend import map_tasks

        results, fails = map_tasks(_replay_shard, per_key, shared=shared, address=address, progress=progress,
                                   max_retries=max_retries, desc="shards",
                                   max_in_flight=int(jobs) if int(jobs) > 1 else None)
        errs = {f["index"]: f["error"] for f in fails}
        outcomes = [(results[i], errs.get(i)) for i in range(len(keys))]
    elif int(jobs) > 1 and len(keys) > 1:
        from onlinekit._pool import worker_pool

        with worker_pool(min(int(jobs), len(keys))) as pool:  # one math-library thread per worker
            futs = [pool.submit(_safe_replay, *shared, *a) for a in per_key]
            outcomes = [f.result() for f in futs]
    else:
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(keys), desc="shards", unit="shard")
        for a in per_key:
            outcomes.append(_safe_replay(*shared, *a))
            if bar:
                bar.update(1)
        if bar:
            bar.close()
    reports: dict[str, Report] = {}
    failures: list[dict] = []
    for key, (rep, err) in zip(keys, outcomes, strict=True):
        if rep is None:
            failures.append({"key": key, "error": err or "unknown error"})
        else:
            reports[key] = rep
    skipped = int(getattr(source, "skipped", 0)) + sum(r.skipped for r in reports.values())
    bad = [str(r) for r in getattr(source, "bad_rows", [])] + [b for r in reports.values() for b in r.bad_rows]
    return ShardedReport(
        shard_by=shard_by,
        source=source.name,
        learner=repr(learner),
        reports=reports,
        summary=_merge_summary(list(reports.values())),
        skipped=skipped,
        bad_rows=bad,
        failures=failures,
        elapsed_s=time.perf_counter() - t0,
    )
