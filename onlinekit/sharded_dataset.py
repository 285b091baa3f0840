"""Sharded replay read in parallel on a Ray cluster (Ray Data), no host holding the stream.

:func:`replay_sharded_dataset` reads a CSV or Parquet dataset with Ray Data on the cluster's
nodes, hash-partitions it by the shard key (``groupby``), replays each key's events through
its own clone of the learner where they landed, and sends back only each shard's
:class:`~onlinekit.report.Report` (summary and recorded series). The driver never holds the
events. Events carry their order in a column (``order_by``: an event index or timestamp,
unique within a shard): a distributed read and shuffle do not keep file order, so each shard
is sorted by it before its replay. The merged report equals :func:`onlinekit.sharded.replay_sharded`
over the same rows in ``order_by`` order (apart from timings).

Without an order column, :func:`replay_sharded_files` keeps the files' own order instead: it
reads each file (or run of Parquet row groups) in a Ray Data task with onlinekit's own readers,
tags every row with its position (file, row), hash-partitions by the normalised shard key and
replays each key in a task that handles many keys; workers write each shard's full report
(and, for long shards, checkpoints) to the output folder and send back summaries only. That
is what ``onlinekit replay DIR --shard-by COL --backend ray`` runs.
"""

from __future__ import annotations

import dataclasses
import json
import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from onlinekit.report import Report

__all__ = ["dataset_files", "replay_sharded_dataset", "replay_sharded_files"]


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


# --------------------------------------------------------------------------------------------
# File order: the CLI's path (``onlinekit replay DATASET --shard-by COL --backend ray``)

_KEY, _ORDER, _LINE = "__onlinekit_key", "__onlinekit_order", "__onlinekit_line"
#: Parquet rows per read task at most (a file is split at row-group boundaries).
PIECE_ROWS = 1 << 20
#: Order of a CSV row: ``file index * 2**40 + row in the file`` (row counts unknown before reading).
_CSV_STRIDE = 1 << 40


def dataset_files(spec: str) -> tuple[str, list[str]] | None:
    """``(kind, files)`` when ``spec`` is a CSV or Parquet file, or a folder of them (files in
    sorted path order, read as one stream in that order; hidden and ``_``-prefixed files
    skipped); ``None`` for anything else (``river:``, ``synthetic:``, JSONL).

    Examples
    --------
    >>> dataset_files("synthetic:linear") is None, dataset_files("events.jsonl") is None
    (True, True)
    >>> dataset_files("events.parquet")
    ('parquet', ['events.parquet'])
    """
    from pathlib import Path

    from onlinekit.streams.open import file_kind

    if spec.startswith(("river:", "synthetic:")):
        return None
    path = Path(spec)
    if not path.is_dir():
        kind = file_kind(spec)
        return (kind, [spec]) if kind in ("csv", "parquet") else None
    files = sorted(str(f) for f in path.rglob("*") if f.is_file()
                   and not any(part.startswith((".", "_")) for part in f.relative_to(path).parts))
    kinds = {file_kind(f) for f in files}
    if not files:
        raise ValueError(f"{spec}: the folder holds no data files")
    if len(kinds) != 1 or not kinds <= {"csv", "parquet"}:
        raise ValueError(f"{spec}: a dataset folder must hold only CSV or only Parquet files; found "
                         f"{sorted(str(k) for k in kinds)} (e.g. {files[0]})")
    return kinds.pop(), files


def cli_dataset_files(spec: str, errors: str = "raise") -> list[str] | None:
    """The files ``onlinekit replay SPEC --shard-by COL --backend ray`` reads on the cluster, or
    ``None`` (with a one-line note on stderr) when it must read ``spec`` on this machine."""
    import sys

    found = dataset_files(spec)
    why = ("not a CSV or Parquet file or folder" if found is None else
           "--errors skip is not supported by the parallel read" if errors != "raise" else None)
    if why is None:
        return found[1]
    from pathlib import Path

    if found is not None and Path(spec).is_dir():
        raise ValueError(f"{spec}: {why}; use --errors raise")
    print(f"note: {spec}: {why}; reading it on this machine and sending the shards to Ray", file=sys.stderr)
    return None


def _reader_options(source) -> dict:
    """``open_source`` options that reopen another file of a dataset the way ``source`` was opened."""
    from onlinekit.streams.csv import CSVSource

    opts = {"errors": source.errors}
    if isinstance(source, CSVSource):
        opts.update(delimiter=source.delimiter, na_values=tuple(sorted(source.na_values)),
                    header=list(source._names) if source._header_given else True)
    return opts


def _pieces(kind: str, files: Sequence[str]) -> list[dict]:
    """Read units: a CSV file, or a run of a Parquet file's row groups; ``base`` is the file's first order value."""
    if kind == "csv":
        return [{"path": f, "start": 0, "stop": -1, "base": i * _CSV_STRIDE} for i, f in enumerate(files)]
    import pyarrow.parquet as pq

    out, base = [], 0
    for f in files:
        md = pq.ParquetFile(f).metadata
        lo = pos = 0
        for g in range(md.num_row_groups):
            pos += md.row_group(g).num_rows
            if pos - lo >= PIECE_ROWS or g == md.num_row_groups - 1:
                out.append({"path": f, "start": lo, "stop": pos, "base": base})
                lo = pos
        base += md.num_rows
    return out


def _read_pieces(batch: dict, *, kinds, keep, shard_by, missing_key, open_kw, columns, chunk_size):
    """Ray Data task: read pieces with onlinekit's readers, tag rows with key, order and line."""
    from onlinekit._shard_keys import key_texts
    from onlinekit.sharded import _missing_error
    from onlinekit.streams import open_source

    for path, start, stop, base in zip(batch["path"], batch["start"], batch["stop"], batch["base"], strict=True):
        src = open_source(str(path), **open_kw)
        if src.column_names() != columns:
            raise ValueError(f"{path}: has columns {src.column_names()}, the dataset's first file {columns}")
        for chunk in src.chunks(start=int(start), chunk_size=chunk_size, kinds=kinds):
            n = len(chunk.columns[shard_by])
            if stop >= 0:
                n = max(0, min(n, int(stop) - chunk.offset))
            if n == 0:
                break
            keys, missing = key_texts(chunk.columns[shard_by][:n])
            if missing_key == "error" and missing.any():
                raise _missing_error(src, shard_by, chunk, int(np.argmax(missing)))
            out = {c: np.asarray(chunk.columns[c][:n]) for c in keep}
            out[_KEY] = keys.astype(object)
            out[_ORDER] = int(base) + chunk.offset + np.arange(n, dtype=np.int64)
            out[_LINE] = (np.full(n, -1, dtype=np.int64) if chunk.lines is None
                          else np.asarray(chunk.lines[:n], dtype=np.int64))
            yield out


def shard_file_name(key: str) -> str:
    """File stem of a shard's outputs: a digest of its key text (keys may hold any character).

    >>> shard_file_name("tenant-7")
    'd68629cd920ffa5d6fb78242'
    """
    import hashlib

    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _replay_groups(batch: dict, *, learner, schema, metric_names, replay_kw, source_name, shard_by, keep, out,
                   checkpoint_every) -> dict:
    """Ray Data task, one call per key: replay the key's rows in file order, write its full
    report to ``out/shards/``, return one summary row."""
    from pathlib import Path

    from onlinekit._io import atomic_write_text
    from onlinekit.sharded import _replay_shard

    key = str(batch[_KEY][0])
    perm = np.argsort(np.asarray(batch[_ORDER]), kind="stable")
    first = int(np.asarray(batch[_ORDER])[perm[0]])
    row = {"key": np.array([key], dtype=object), "first": np.array([first], dtype=np.int64),
           "report": np.array([""], dtype=object), "error": np.array([""], dtype=object)}
    try:
        cols = {}
        for c in keep:
            v = np.asarray(batch[c])[perm]
            cols[c] = v.astype(object) if v.dtype.kind == "U" else v  # text as the readers give it
        lines = np.asarray(batch[_LINE])[perm]
        lines = None if (lines < 0).any() else lines
        stem = shard_file_name(key)
        ckpt = None
        if out is not None and checkpoint_every and len(perm) > checkpoint_every:
            ckpt = Path(out) / "checkpoints" / f"{stem}.npz"
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            # checkpoints are taken between blocks: blocks no longer than the interval
            replay_kw = {**replay_kw, "block_size": min(int(replay_kw["block_size"]), int(checkpoint_every))}
        rep = _replay_shard(learner, schema, metric_names, replay_kw, source_name, shard_by, key, cols, lines,
                            ckpt, checkpoint_every)
        full = dataclasses.asdict(rep)
        if out is not None:
            p = Path(out) / "shards" / f"{stem}.json"
            p.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(p, json.dumps({"key": key, **rep.to_dict()}, indent=1))
        full["series"] = {}
        full["meta"] = {"shard_file": f"shards/{stem}.json"} if out is not None else {}
        row["report"][0] = json.dumps(full)
    except Exception as exc:  # reported per shard, like replay_sharded
        row["error"][0] = f"{type(exc).__name__}: {exc}"
    return row


def _quiet_ray_data(ray) -> None:
    """No progress bars or per-operator log lines from Ray Data on the driver's terminal."""
    import logging

    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.CRITICAL)  # a task's error is raised here, once


def _user_error(exc: BaseException) -> BaseException | None:
    """The ValueError/KeyError/StreamError a Ray Data task raised, under Ray's wrappers."""
    from onlinekit.streams import StreamError

    seen = set()
    todo = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, (ValueError, KeyError, StreamError)) and type(e).__module__.startswith(("onlinekit", "builtins")):
            return e
        todo += [getattr(e, "cause", None), e.__cause__, e.__context__]
    return None


def replay_sharded_files(
    learner: Any,
    spec: str,
    shard_by: str,
    *,
    schema=None,
    encoder=None,
    open_kw: dict | None = None,
    source=None,
    metrics: Sequence[str] | None = None,
    block_size: int = 8192,
    record_every: int | None = None,
    missing_key: str = "error",
    address: str | None = None,
    tasks: int | None = None,
    out=None,
    checkpoint_every: int | None = None,
    resume: bool = False,
):
    """Replay a CSV/Parquet file or folder with one clone of ``learner`` per ``shard_by`` key,
    read and replayed on a Ray cluster in file order; the driver holds only summaries.

    Parameters
    ----------
    learner
        Template learner (unlearned).
    spec
        A ``.csv``/``.parquet`` file or a folder of them (see :func:`dataset_files`; the
        stream is the files in sorted path order), on storage every node sees.
    shard_by
        The key column; keys follow :func:`onlinekit.sharded.split_by_key`'s rule.
    schema, encoder, metrics, block_size, record_every, missing_key
        As in :func:`onlinekit.sharded.replay_sharded`.
    open_kw
        Reader options (``errors``, CSV ``delimiter``/``header``/``na_values``) for
        :func:`onlinekit.streams.open_source`; ``errors="skip"`` is not supported here.
    source
        Instead of ``open_kw``: the first file, opened; every file is opened the same way.
    address
        Ray cluster (see :func:`onlinekit.experiments.ray_backend.ensure_ray`).
    tasks
        Replay tasks (hash partitions of the keys); default twice the cluster's CPUs.
    out
        Output folder every node can write: ``shards/<digest>.json`` (each shard's full
        report with its series, :func:`shard_file_name`) and ``checkpoints/``.
    checkpoint_every
        With ``out``: a shard longer than this checkpoints every this many events to
        ``out/checkpoints/<digest>.npz``; a retried task resumes it from there.
    resume
        Keep the checkpoints already in ``out`` (a rerun continues them); by default they
        and old shard files are removed first.

    Returns
    -------
    onlinekit.sharded.ShardedReport
        A task lost to a system failure (a crashed worker, a lost node) is retried by Ray
        (3 times by default) and resumes its long shards from their checkpoints.
        Per-shard reports hold summaries (no series), shards in order of first appearance;
        apart from timings and series it equals :func:`onlinekit.sharded.replay_sharded`
        over the files read one after the other.

    Examples
    --------
    Needs a Ray cluster, so not run as a doctest::

        rep = replay_sharded_files(OGD(lr=0.05), "/data/events/", "tenant", out="/data/runs/r1",
                                   checkpoint_every=100_000, address="head:6379")
    """
    import shutil
    from pathlib import Path

    from onlinekit.experiments.ray_backend import ensure_ray
    from onlinekit.sharded import MISSING_KEY, ShardedReport, _merge_summary, shard_plan
    from onlinekit.streams import Schema, open_source

    if missing_key not in MISSING_KEY:
        raise ValueError(f"missing_key must be one of {MISSING_KEY}, got {missing_key!r}")
    if checkpoint_every is not None and (checkpoint_every < 1 or out is None):
        raise ValueError("checkpoint_every must be >= 1 and needs an output folder (--out)")
    open_kw = _reader_options(source) if source is not None else dict(open_kw or {})
    if open_kw.get("errors", "raise") != "raise":
        raise ValueError("errors='skip' is not supported by the parallel read; use errors='raise'")
    found = dataset_files(spec)
    if found is None:
        raise ValueError(f"{spec}: not a CSV or Parquet file or folder")
    kind, files = found
    if kind != "csv":
        open_kw = {k: v for k, v in open_kw.items() if k == "errors"}
    t0 = time.perf_counter()
    columns = open_source(files[0], **open_kw).column_names()
    if schema is None:
        schema = Schema(target="y" if "y" in columns else None)
    schema2, kinds, keep = shard_plan(columns, schema, shard_by, encoder)
    if out is not None:
        for sub in ("shards",) + (() if resume else ("checkpoints",)):
            shutil.rmtree(Path(out) / sub, ignore_errors=True)
    ray = ensure_ray(address)
    with warnings.catch_warnings():  # Ray Data's deprecation notices about its own settings
        warnings.simplefilter("ignore", DeprecationWarning)
        _quiet_ray_data(ray)
    if tasks is None:
        tasks = max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
    pieces = _pieces(kind, files)
    read_kw = {"kinds": kinds, "keep": keep, "shard_by": shard_by, "missing_key": missing_key,
               "open_kw": open_kw, "columns": columns, "chunk_size": 65536}
    replay_kw = {"block_size": int(block_size), "errors": "raise", "record_every": record_every, "encoder": encoder}
    kw = {"learner": learner, "schema": schema2, "metric_names": tuple(metrics) if metrics else None,
          "replay_kw": replay_kw, "source_name": spec, "shard_by": shard_by, "keep": keep,
          "out": None if out is None else str(Path(out).resolve()), "checkpoint_every": checkpoint_every}
    rows = []
    try:
        with warnings.catch_warnings():  # Ray Data's deprecation notices about its own settings
            warnings.simplefilter("ignore", DeprecationWarning)
            ds = ray.data.from_items(pieces, override_num_blocks=len(pieces))
            ds = ds.map_batches(_read_pieces, fn_kwargs=read_kw, batch_size=1, batch_format="numpy")
            ds = ds.groupby(_KEY, num_partitions=int(tasks)).map_groups(
                _replay_groups, fn_kwargs=kw, batch_format="numpy")
            for r in ds.iter_rows():
                rows.append((int(r["first"]), str(r["key"]), str(r["report"]), str(r["error"])))
    except Exception as exc:
        err = _user_error(exc)
        if err is not None:
            first = str(err.args[0] if err.args else err).strip().splitlines()  # Ray appends retry advice
            raise type(err)(first[0] if first else type(err).__name__) from None
        raise
    rows.sort()
    reports: dict[str, Report] = {}
    failures: list[dict] = []
    for _, key, rep, err in rows:
        if err:
            failures.append({"key": key, "error": err})
        else:
            reports[key] = Report(**json.loads(rep))
    return ShardedReport(shard_by=shard_by, source=spec, learner=repr(learner), reports=reports,
                         summary=_merge_summary(list(reports.values())),
                         skipped=sum(r.skipped for r in reports.values()),
                         bad_rows=[b for r in reports.values() for b in r.bad_rows], failures=failures,
                         elapsed_s=time.perf_counter() - t0)
