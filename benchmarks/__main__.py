"""Benchmark runner: ``python -m benchmarks [NAME ...] [--quick] [--out DIR]``.

Each ``benchmarks/bench_<name>.py`` exposes ``run(quick: bool) -> dict``. The runner calls the
selected ones (default: all), prints their figures and writes
``<out>/<name>.json`` (default ``benchmarks/results/``) together with machine facts, so numbers
can be compared with peers measured in the same run. Benchmarks are never run by the tests'
default selection.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def available() -> list[str]:
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def machine() -> dict:
    info = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
            "processor": platform.processor()}
    try:
        import numba
        import numpy

        info.update(numpy=numpy.__version__, numba=numba.__version__)
    except ImportError:  # pragma: no cover
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(available())}")
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    ap.add_argument("--out", default=str(HERE / "results"), help="directory for the JSON results")
    args = ap.parse_args(argv)
    names = args.names or available()
    unknown = set(names) - set(available())
    if unknown:
        ap.error(f"unknown benchmark(s) {sorted(unknown)}; available: {available()}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(HERE.parent))
    for name in names:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        t0 = time.perf_counter()
        result = mod.run(quick=args.quick)
        doc = {"benchmark": name, "quick": args.quick, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "wall_s": time.perf_counter() - t0, "machine": machine(), "results": result}
        path = out / f"{name}{'-quick' if args.quick else ''}.json"
        path.write_text(json.dumps(doc, indent=2, default=float))
        print(f"== {name} ({doc['wall_s']:.1f} s) -> {path}")
        print(json.dumps(result, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
