"""Sharded replay read in parallel on a Ray cluster (Ray Data), no host holding the stream.

:func:`replay_sharded_dataset` reads a CSV or Parquet dataset with Ray Data on the cluster's
nodes, hash-partitions it by the shard key (``groupby``), replays each key's events through
its own clone of the learner where they landed, and sends back only each shard's
:class:`~onlinekit.report.Report` (summary and recorded series). The driver never holds the
events. Events carry their order in a column (``order_by``: an event index or timestamp,
unique within a shard): a distributed read and shuffle do not keep file order, so each shard
is sorted by it before its replay. The merged report equals :func:`onlinekit.sharded.replay_sharded`
over the same rows in ``order_by`` order (apart from timings).

Not yet done (issue 18): batching many small groups per task beyond Ray Data's own
partitioning, checkpoints inside long shards, and series written by the workers to the
output location.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from onlinekit.report import Report

__all__ = ["replay_sharded_dataset"]


def _replay_group(batch: dict, *, learner, schema, metric_names, replay_kw, shard_by, order_by, source_name,
                  missing_key) -> dict:
    """One shard (all rows of one key, any order) -> one row: key, first order value, report."""
    from onlinekit._shard_keys import key_texts
    from onlinekit.sharded import _replay_shard

    keys, missing = key_texts(np.asarray(batch[shard_by], dtype=object))
    key = str(keys[0]) if len(keys) else ""
    out = {"key": np.array([key], dtype=object), "first": np.array([0], dtype=np.int64),
           "report": np.array([""], dtype=object), "error": np.array([""], dtype=object)}
    try:
        if missing.any() and missing_key == "error":
            raise ValueError(f"shard key {shard_by!r} is missing (empty, null, NaN or infinite) in "
                             f"{int(missing.sum())} row(s); pass missing_key='pool' to replay them as one shard")
        order = np.asarray(batch[order_by])
        perm = np.argsort(order, kind="stable")
        order = order[perm]
        if len(order) > 1 and np.any(order[1:] == order[:-1]):
            raise ValueError(f"order column {order_by!r} repeats a value within shard {key!r}: event order is ambiguous")
        out["first"][0] = int(order[0]) if len(order) else 0
        cols = {c: np.asarray(batch[c])[perm] for c in schema.kinds(list(batch)) if c in batch}
        rep = _replay_shard(learner, schema, metric_names, replay_kw, source_name, shard_by, key, cols, None)
        out["report"][0] = json.dumps(dataclasses.asdict(rep))
    except Exception as exc:  # reported per shard, like replay_sharded
        out["error"][0] = f"{type(exc).__name__}: {exc}"
    return out


def replay_sharded_dataset(
    learner: Any,
    paths: str | Sequence[str],
    shard_by: str,
    order_by: str,
    *,
    fmt: str = "parquet",
    schema=None,
    metrics: Sequence[str] | None = None,
    block_size: int = 8192,
    record_every: int | None = None,
    address: str | None = None,
    num_partitions: int | None = None,
    missing_key: str = "error",
):
    """Replay a CSV/Parquet dataset with one clone of ``learner`` per ``shard_by`` value, on Ray.

    Parameters
    ----------
    learner
        Template learner (unlearned).
    paths
        Files or folders Ray Data reads (``read_parquet`` / ``read_csv``), e.g. a partitioned
        Parquet dataset on storage every node sees.
    shard_by
        The key column (read as text from CSV; keys follow :func:`onlinekit.sharded.split_by_key`'s rule).
    order_by
        Event order within a shard: an integer column, unique within each shard.
    fmt
        ``"parquet"`` or ``"csv"``.
    schema
        Column roles (default: target ``y``, every column but ``shard_by`` and ``order_by`` a feature).
    metrics, block_size, record_every, missing_key
        As in :func:`onlinekit.sharded.replay_sharded`.
    address
        Ray cluster (see :func:`onlinekit.experiments.ray_backend.ensure_ray`).
    num_partitions
        Hash partitions of the shuffle (default: Ray Data's).

    Returns
    -------
    onlinekit.sharded.ShardedReport
        Shards in order of their first ``order_by`` value.

    Examples
    --------
    Needs a Ray cluster, so not run as a doctest::

        rep = replay_sharded_dataset(OGD(lr=0.05), "s3://bucket/events/", "tenant", "event_id")
    """
    from onlinekit.experiments.ray_backend import ensure_ray
    from onlinekit.sharded import MISSING_KEY, ShardedReport, _merge_summary
    from onlinekit.streams import Schema

    if fmt not in ("parquet", "csv"):
        raise ValueError(f"fmt must be 'parquet' or 'csv', got {fmt!r}")
    if missing_key not in MISSING_KEY:
        raise ValueError(f"missing_key must be one of {MISSING_KEY}, got {missing_key!r}")
    t0 = time.perf_counter()
    ray = ensure_ray(address)
    if fmt == "csv":
        import pyarrow as pa
        from pyarrow import csv as pacsv

        ds = ray.data.read_csv(paths, convert_options=pacsv.ConvertOptions(column_types={shard_by: pa.string()}))
    else:
        ds = ray.data.read_parquet(paths)
    names = ds.schema().names
    for c in (shard_by, order_by):
        if c not in names:
            raise KeyError(f"column {c!r} not in the dataset; it has {names}")
    schema = schema if schema is not None else Schema(target="y" if "y" in names else None)
    if schema.features is None:
        feats = tuple(c for c in schema.resolve_features(names) if c not in (shard_by, order_by))
        schema = dataclasses.replace(schema, features=feats)
    replay_kw = {"block_size": int(block_size), "errors": "raise", "record_every": record_every}
    source_name = paths if isinstance(paths, str) else f"{len(paths)} paths"
    kw = {"learner": learner, "schema": schema, "metric_names": tuple(metrics) if metrics else None,
          "replay_kw": replay_kw, "shard_by": shard_by, "order_by": order_by, "source_name": str(source_name),
          "missing_key": missing_key}
    rows = ds.groupby(shard_by, num_partitions=num_partitions).map_groups(
        _replay_group, fn_kwargs=kw, batch_format="numpy").take_all()
    rows.sort(key=lambda r: (int(r["first"]), str(r["key"])))
    reports: dict[str, Report] = {}
    failures: list[dict] = []
    for r in rows:
        if r["error"]:
            failures.append({"key": str(r["key"]), "error": str(r["error"])})
        else:
            reports[str(r["key"])] = Report(**json.loads(r["report"]))
    return ShardedReport(shard_by=shard_by, source=str(source_name), learner=repr(learner), reports=reports,
                         summary=_merge_summary(list(reports.values())),
                         skipped=sum(r.skipped for r in reports.values()),
                         bad_rows=[b for r in reports.values() for b in r.bad_rows], failures=failures,
                         elapsed_s=time.perf_counter() - t0)
