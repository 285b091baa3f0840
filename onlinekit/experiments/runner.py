"""Run an experiment over seeds on a local process pool and write its outputs."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
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


def _run_local(tasks, n: int, jobs: int, progress: bool, name: str) -> list[dict]:
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=n, desc=name, unit="seed")
    results: list[dict] = []
    if jobs > 1 and n > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for r in pool.map(_call, tasks):
                results.append(r)
                if bar:
                    bar.update(1)
    else:
        for t in tasks:
            results.append(_call(t))
            if bar:
                bar.update(1)
    if bar:
        bar.close()
    return results


def run_experiment(
    name: str,
    *,
    config: Any = None,
    quick: bool = False,
    n_seeds: int | None = None,
    seed: int = 0,
    jobs: int = 1,
    out: str | os.PathLike | None = None,
    progress: bool = False,
    backend: str = "local",
    address: str | None = None,
) -> ExperimentResult:
    """Run experiment ``name`` for ``n_seeds`` seeds and (if ``out``) write its outputs.

    Per-run seeds are ``spawn_seeds(seed, n_seeds)``; with ``jobs > 1`` runs go to a process
    pool and come back in seed order, so results do not depend on ``jobs``. Writes
    ``config.json``, ``seeds/seed-<i>.json``, ``table.csv``, ``table.md`` and one PNG per
    curve (when matplotlib is installed).

    Examples
    --------
    >>> res = run_experiment("ogd-regret", quick=True, n_seeds=2)
    >>> [r["method"] for r in res.table]
    ['ogd-constant', 'ogd-sqrt']
    """
    if backend not in ("local", "ray"):
        raise ValueError(f"backend {backend!r} is not available; use 'local' or 'ray'")
    mod = load_experiment(name)
    cfg = config if config is not None else (mod.Config.quick() if quick else mod.Config())
    n = int(n_seeds if n_seeds is not None else getattr(cfg, "n_seeds", 1))
    if n < 1:
        raise ValueError(f"n_seeds must be >= 1, got {n}")
    if hasattr(mod, "data_path"):
        mod.data_path(cfg)  # a missing data set fails here, in one line, before any worker starts
    seeds = spawn_seeds(seed, n)
    tasks = [(mod.run, cfg, s) for s in seeds]
    failed_seeds: list[dict] = []
    if backend == "ray":
        from onlinekit.experiments import ray_backend

        got, failed_seeds = ray_backend.run_seeds(mod.run, cfg, seeds, address=address, progress=progress)
        index = [i for i, r in enumerate(got) if r is not None]
        results = [got[i] for i in index]
    else:
        index = list(range(n))
        results = _run_local(tasks, n, jobs, progress, name)
    ran = [seeds[i] for i in index]
    table = aggregate_rows([r.get("rows", []) for r in results])
    failures = list(mod.check(cfg, results)) if hasattr(mod, "check") and results else []
    res = ExperimentResult(name, cfg, ran, results, table, [], failures, failed_seeds)
    if out is not None:
        outp = Path(out)
        (outp / "seeds").mkdir(parents=True, exist_ok=True)
        files = []
        cfg_path = outp / "config.json"
        atomic_write_text(cfg_path, json.dumps(
            {"experiment": name, "config": _jsonable(cfg), "root_seed": seed, "seeds": seeds}, indent=2))
        files.append(cfg_path)
        for i, s, r in zip(index, ran, results, strict=True):
            p = outp / "seeds" / f"seed-{i:04d}.json"
            atomic_write_text(p, json.dumps({"seed": s, **_jsonable(r)}))
            files.append(p)
        if failed_seeds:
            p = outp / "failed_seeds.json"
            atomic_write_text(p, json.dumps(failed_seeds, indent=2))
            files.append(p)
        files += write_table(table, outp)
        files += plot_curves(results, outp)
        if hasattr(mod, "plot"):
            files += list(mod.plot(cfg, results, outp) or [])
        res.files = files
    return res
