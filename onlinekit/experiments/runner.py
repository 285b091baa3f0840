"""Run an experiment over seeds on a local process pool and write its outputs."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from onlinekit._io import atomic_write_text
from onlinekit.base import spawn_seeds

__all__ = ["ExperimentResult", "load_experiment", "run_experiment", "aggregate_rows", "config_from_params"]


@dataclass
class ExperimentResult:
    """What :func:`run_experiment` produced.

    Attributes
    ----------
    name, config, seeds
        The experiment, its config and the integer seed of each run.
    results
        One ``run`` result per seed, in seed order.
    table
        Aggregated rows (mean and std of each numeric column over seeds).
    files
        Paths written (empty when ``out`` was ``None``).
    """

    name: str
    config: Any
    seeds: list[int]
    results: list[dict]
    table: list[dict]
    files: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    failed_seeds: list[dict] = field(default_factory=list)
    comparison: list = field(default_factory=list)


def load_experiment(name: str):
    """The module of experiment ``name`` (``KeyError`` listing the known ones)."""
    from onlinekit.registry import experiments

    reg = experiments()
    if name not in reg:
        raise KeyError(f"unknown experiment {name!r}; known: {', '.join(reg) or '(none)'}")
    return reg[name].load()


def _coerce(value: str, target: Any) -> Any:
    if isinstance(target, bool):
        if value.lower() in ("1", "true", "yes"):
            return True
        if value.lower() in ("0", "false", "no"):
            return False
        raise ValueError(f"expected a boolean, got {value!r}")
    if isinstance(target, int):
        return int(value)
    if isinstance(target, float):
        return float(value)
    if isinstance(target, tuple):
        items = [v for v in value.split(",") if v]
        proto = target[0] if target else ""
        return tuple(_coerce(v, proto) for v in items)
    if target is None:
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def config_from_params(config: Any, params: dict[str, str]) -> Any:
    """Replace fields of a frozen config from ``key=value`` strings (typed by the defaults)."""
    fields = {f.name for f in dataclasses.fields(config)}
    unknown = set(params) - fields
    if unknown:
        raise KeyError(f"unknown config field(s) {sorted(unknown)}; fields: {sorted(fields)}")
    changes = {k: _coerce(v, getattr(config, k)) for k, v in params.items()}
    return dataclasses.replace(config, **changes)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.ndarray):
        return [_jsonable(v) for v in obj.tolist()]
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def aggregate_rows(per_seed_rows: Sequence[Sequence[dict]]) -> list[dict]:
    """Mean and std (ddof=1 when n > 1) of numeric columns, grouped by the text columns.

    Examples
    --------
    >>> aggregate_rows([[{"m": "a", "r": 1.0}], [{"m": "a", "r": 3.0}]])
    [{'m': 'a', 'n_seeds': 2, 'r_mean': 2.0, 'r_std': 1.414...}]
    """
    groups: dict[tuple, dict[str, list[float]]] = {}
    keys_of: dict[tuple, dict] = {}
    order: list[tuple] = []
    for rows in per_seed_rows:
        for row in rows:
            key_items = tuple((k, v) for k, v in row.items() if isinstance(v, str) or isinstance(v, bool))
            if key_items not in groups:
                groups[key_items] = {}
                keys_of[key_items] = dict(key_items)
                order.append(key_items)
            for k, v in row.items():
                if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                    groups[key_items].setdefault(k, []).append(float(v))
    out = []
    for key in order:
        row = dict(keys_of[key])
        vals = groups[key]
        row["n_seeds"] = max((len(v) for v in vals.values()), default=0)
        for k, v in vals.items():
            a = np.asarray(v)
            row[f"{k}_mean"] = float(a.mean())
            row[f"{k}_std"] = float(a.std(ddof=1)) if len(a) > 1 else 0.0
        out.append(row)
    return out


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def write_table(rows: list[dict], out: Path, stem: str = "table") -> list[Path]:
    """Write ``rows`` as CSV and as a Markdown table with ``mean +/- std`` cells."""
    import csv

    if not rows:
        return []
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    csv_path = out / f"{stem}.csv"
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in cols})
    md_cols = [c for c in cols if not c.endswith("_std")]
    header = [c[:-5] if c.endswith("_mean") else c for c in md_cols]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        cells = []
        for c in md_cols:
            v = r.get(c, "")
            if c.endswith("_mean"):
                s = r.get(c[:-5] + "_std")
                cells.append(f"{_fmt(v)} ± {_fmt(s)}" if s not in (None, "") else _fmt(v))
            else:
                cells.append(_fmt(v))
        lines.append("| " + " | ".join(cells) + " |")
    md_path = out / f"{stem}.md"
    md_path.write_text("\n".join(lines) + "\n")
    return [csv_path, md_path]


def plot_curves(results: list[dict], out: Path) -> list[Path]:
    """One PNG per curve name: mean over seeds with a +/- std band, per series label."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return []
    names: list[str] = []
    for r in results:
        for k in r.get("curves", {}):
            if k not in names:
                names.append(k)
    paths = []
    for name in names:
        fig, ax = plt.subplots(figsize=(6, 4))
        spec0 = next(r["curves"][name] for r in results if name in r.get("curves", {}))
        x = np.asarray(spec0["x"], dtype=float)
        for label in spec0["series"]:
            ys = [np.asarray(r["curves"][name]["series"][label], dtype=float)
                  for r in results if name in r.get("curves", {})]
            Y = np.vstack(ys)
            m, s = Y.mean(axis=0), Y.std(axis=0)
            ax.plot(x, m, label=str(label))
            if len(ys) > 1:
                ax.fill_between(x, m - s, m + s, alpha=0.2)
        ax.set_xlabel(spec0.get("xlabel", "t"))
        ax.set_ylabel(spec0.get("ylabel", name))
        if spec0.get("logx"):
            ax.set_xscale("log")
        if spec0.get("logy"):
            ax.set_yscale("log")
        ax.set_title(name)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"{name}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths


def _call(args: tuple[Callable, Any, int]) -> dict:
    fn, config, seed = args
    return fn(config, seed)


def _run_local(tasks, n: int, jobs: int, progress: bool, name: str,
               on_result: Callable[[int, dict], None] | None = None) -> list[dict]:
    """Run ``tasks`` (``(fn, config, seed)`` each) serially or on a pool of ``jobs`` workers
    with one math-library thread each; ``on_result(i, result)`` as each one finishes."""
    from concurrent.futures import as_completed

    from onlinekit._pool import worker_pool

    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc=name, unit="seed")
    results: list[Any] = [None] * len(tasks)
    try:
        if jobs > 1 and len(tasks) > 1:
            with worker_pool(min(jobs, len(tasks))) as pool:
                futs = {pool.submit(_call, t): i for i, t in enumerate(tasks)}
                try:
                    for f in as_completed(futs):
                        i = futs[f]
                        results[i] = f.result()
                        if on_result is not None:
                            on_result(i, results[i])
                        if bar:
                            bar.update(1)
                except BaseException:
                    for f in futs:
                        f.cancel()
                    raise
        else:
            for i, t in enumerate(tasks):
                results[i] = _call(t)
                if on_result is not None:
                    on_result(i, results[i])
                if bar:
                    bar.update(1)
    finally:
        if bar:
            bar.close()
    return results


#: Files a run writes at the top of ``out`` (besides plots): cleared at a fresh start.
_OWN_FILES = ("config.json", "failed_seeds.json", "table.csv", "table.md", "comparison.csv", "comparison.md")
_NONFINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _seed_path(out: Path, i: int) -> Path:
    return out / "seeds" / f"seed-{i:04d}.json"


def _clear_outputs(out: Path) -> None:
    """Remove what an earlier run left in ``out``: its config, per-seed results, failed
    seeds, table and plots (``*.png`` at the top level). Other files are left alone."""
    for name in _OWN_FILES:
        (out / name).unlink(missing_ok=True)
    for p in out.glob("*.png"):
        p.unlink()
    if (out / "seeds").is_dir():
        for p in (out / "seeds").glob("seed-*.json"):
            p.unlink()


def _decode(obj: Any) -> Any:
    """A per-seed result read back from its JSON: non-finite floats (written as ``'nan'``,
    ``'inf'``, ``'-inf'``) become floats again; lists of numbers become float arrays."""
    if isinstance(obj, str):
        return _NONFINITE.get(obj, obj)
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        items = [_decode(v) for v in obj]
        if items and all(isinstance(v, float) for v in items):
            return np.asarray(items, dtype=float)
        return items
    return obj


def _run_header(name: str, cfg: Any, seed: int, seeds: list[int]) -> dict:
    return {"experiment": name, "config": _jsonable(cfg), "root_seed": seed, "seeds": seeds}


def _check_resumable(path: Path, header: dict) -> None:
    """``ValueError`` naming the first difference between ``path`` (an earlier run's
    ``config.json``) and this run's ``header``."""
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"--resume: cannot read {path}: {exc}") from None
    for key in ("experiment", "root_seed", "seeds"):
        if old.get(key) != header[key]:
            what = {"seeds": "number of seeds", "root_seed": "root seed (--seed)"}.get(key, key)
            ov, nv = old.get(key), header[key]
            if key == "seeds":
                ov, nv = len(ov or []), len(nv)
            raise ValueError(f"--resume: {path} is from another run ({what}: {ov!r} there, {nv!r} now); "
                             "drop --resume to start afresh or choose another --out")
    oc, nc = old.get("config") or {}, header["config"]
    for k in list(dict.fromkeys([*nc, *oc])):
        if oc.get(k) != nc.get(k):
            raise ValueError(f"--resume: {path} is from another config ({k}={oc.get(k)!r} there, {nc.get(k)!r} now); "
                             "drop --resume to start afresh or choose another --out")


def run_experiment(
    name: str,
    *,
    config: Any = None,
    quick: bool = False,
    n_seeds: int | None = None,
    seed: int = 0,
    jobs: int | None = None,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    backend: str = "local",
    address: str | None = None,
    resume: bool = False,
) -> ExperimentResult:
    """Run experiment ``name`` for ``n_seeds`` seeds and (if ``out``) write its outputs.

    Per-run seeds are ``spawn_seeds(seed, n_seeds)``; with ``jobs > 1`` runs go to a process
    pool (one math-library thread per worker) and come back in seed order, so results do not
    depend on ``jobs``. With ``backend="ray"`` each seed is one Ray task (``address``: see
    :func:`~onlinekit.experiments.ray_backend.ensure_ray`) and ``jobs``, when given, caps the
    tasks running at once.

    With ``out``, ``config.json`` is written first and ``seeds/seed-<i>.json`` as soon as
    seed ``i`` finishes, so an interrupted run keeps its finished seeds; then
    ``failed_seeds.json`` (Ray: seeds that failed), ``table.csv``, ``table.md`` and one PNG
    per curve (when matplotlib is installed). A fresh start first removes what an earlier
    run left there; ``resume=True`` instead checks that ``config.json`` describes the same
    run (experiment, config, root seed, number of seeds; ``ValueError`` naming the first
    difference) and runs only the seeds without a result file. The outputs then equal those
    of an uninterrupted run byte for byte.

    Examples
    --------
    >>> res = run_experiment("ogd-regret", quick=True, n_seeds=2)
    >>> [r["method"] for r in res.table]
    ['ogd-constant', 'ogd-sqrt']
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend {backend!r} is not available; use 'local' or 'ray'")
    if address and backend != "ray":
        raise ValueError("an address applies to the Ray backend only: add --backend ray")
    if jobs is not None and int(jobs) < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if resume and out is None:
        raise ValueError("--resume needs --out (the directory of the run to continue)")
    mod = load_experiment(name)
    cfg = config if config is not None else (mod.Config.quick() if quick else mod.Config())
    n = int(n_seeds if n_seeds is not None else getattr(cfg, "n_seeds", 1))
    if n < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n}")
    if hasattr(mod, "data_path"):
        mod.data_path(cfg)  # a missing data set fails here, in one line, before any worker starts
    seeds = spawn_seeds(seed, n)
    header = _run_header(name, cfg, seed, seeds)
    outp = Path(out) if out is not None else None
    got: list[Any] = [None] * n
    if outp is not None:
        cfg_path = outp / "config.json"
        if resume and cfg_path.exists():
            _check_resumable(cfg_path, header)
            for i, s in enumerate(seeds):
                p = _seed_path(outp, i)
                if p.exists():
                    d = json.loads(p.read_text())
                    if d.get("seed") == s:
                        d.pop("seed")
                        got[i] = _decode(d)
            for stale in ("failed_seeds.json", "table.csv", "table.md", "comparison.csv", "comparison.md"):
                (outp / stale).unlink(missing_ok=True)
        else:
            _clear_outputs(outp)
        (outp / "seeds").mkdir(parents=True, exist_ok=True)
        atomic_write_text(cfg_path, json.dumps(header, indent=2))

    def save(j: int, r: dict) -> None:
        i = todo[j]
        got[i] = r
        if outp is not None:
            atomic_write_text(_seed_path(outp, i), json.dumps({"seed": seeds[i], **_jsonable(r)}))

    todo = [i for i in range(n) if got[i] is None]
    failed_seeds: list[dict] = []
    if todo and backend == "ray":
        from onlinekit.experiments import ray_backend

        _, fails = ray_backend.run_seeds(mod.run, cfg, [seeds[i] for i in todo], address=address,
                                         progress=progress, max_in_flight=jobs, on_result=save)
        failed_seeds = [{**f, "index": todo[f["index"]]} for f in fails]
    elif todo:
        _run_local([(mod.run, cfg, seeds[i]) for i in todo], len(todo), int(jobs or 1), progress, name,
                   on_result=save)
    index = [i for i in range(n) if got[i] is not None]
    results = [got[i] for i in index]
    ran = [seeds[i] for i in index]
    table = aggregate_rows([r.get("rows", []) for r in results])
    failures = list(mod.check(cfg, results)) if hasattr(mod, "check") and results else []
    comparison = list(mod.compare(cfg, results)) if hasattr(mod, "compare") and results else []
    res = ExperimentResult(name, cfg, ran, results, table, [], failures, failed_seeds, comparison)
    if outp is not None:
        files = [outp / "config.json"] + [_seed_path(outp, i) for i in index]
        if failed_seeds:
            p = outp / "failed_seeds.json"
            atomic_write_text(p, json.dumps(failed_seeds, indent=2))
            files.append(p)
        files += write_table(table, outp)
        if comparison:
            from onlinekit.experiments.comparison import write_comparison

            files += write_comparison(comparison, outp)
        files += plot_curves(results, outp)
        if hasattr(mod, "plot"):
            files += list(mod.plot(cfg, results, outp) or [])
        res.files = files
    return res
