"""CSV parsing speed: ``onlinekit.streams.csv.CSVSource`` vs ``river.stream.iter_csv``.

A seeded numeric CSV (20 Gaussian features written with 8 significant digits, plus a 0/1
label: 21 columns) is written into a temporary directory. ``CSVSource`` is timed over the
whole file in chunks of 8,192 rows, the ``Stream`` default (best of 3, JIT warmed first); ``river.stream.iter_csv`` (float converters on
every column) over the first 100,000 rows (best of 3 in full mode). Rates are rows per second
on one core.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

N_FEATURES = 20
#: rows per chunk: the default block size of ``onlinekit.streams.Stream``
CHUNK = 8192


def _write_csv(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    names = [f"x{j}" for j in range(N_FEATURES)] + ["y"]
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        page = 100_000
        for lo in range(0, n, page):
            m = min(page, n - lo)
            X = rng.normal(size=(m, N_FEATURES))
            y = (rng.random(m) < 0.5).astype(np.int64)
            fmt = ",".join(["%.8g"] * N_FEATURES) + ",%d"
            # numpy's savetxt formats row by row; build the text in one go instead
            rows = (fmt % tuple(r) for r in zip(*X.T, y, strict=True))
            f.write("\n".join(rows) + "\n")


def _time_ours(path: Path, repeats: int) -> tuple[float, int]:
    from onlinekit.streams.csv import CSVSource

    best = float("inf")
    n = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        src = CSVSource(path)
        kinds = dict.fromkeys(src.column_names(), "float")
        n = 0
        for chunk in src.chunks(chunk_size=CHUNK, kinds=kinds):
            n += len(chunk)
        best = min(best, time.perf_counter() - t0)
    return best, n


def _time_river(path: Path, n_rows: int, repeats: int) -> tuple[float, int]:
    from river import stream

    names = [f"x{j}" for j in range(N_FEATURES)]
    converters = dict.fromkeys(names, float)
    converters["y"] = float
    best = float("inf")
    n = 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        n = 0
        for _x, _y in itertools.islice(stream.iter_csv(str(path), target="y", converters=converters), n_rows):
            n += 1
        best = min(best, time.perf_counter() - t0)
    return best, n


def run(quick: bool) -> dict:
    """Time both parsers; returns rows/s of each and their ratio.

    Parameters
    ----------
    quick
        ``True``: 100,000 rows and one river repeat (smoke test); ``False``: 1,000,000 rows.
    """
    n = 100_000 if quick else 1_000_000
    n_river = min(n, 100_000 if not quick else 20_000)
    tmp = Path(tempfile.mkdtemp(prefix="onlinekit-bench-csv-"))
    try:
        path = tmp / "numeric.csv"
        _write_csv(path, n)
        size_mb = path.stat().st_size / 2**20
        # warm the JIT (and the numba cache) on a small file
        small = tmp / "small.csv"
        _write_csv(small, 100)
        _time_ours(small, 1)
        t_ours, rows = _time_ours(path, 3)
        assert rows == n, (rows, n)
        t_river, rows_river = _time_river(path, n_river, 1 if quick else 3)
        ours = rows / t_ours
        river_rate = rows_river / t_river
        return {
            "rows": n,
            "columns": N_FEATURES + 1,
            "chunk_size": CHUNK,
            "file_mib": round(size_mb, 1),
            "onlinekit_rows_per_s": round(ours),
            "onlinekit_mib_per_s": round(size_mb / t_ours, 1),
            "river_rows": rows_river,
            "river_rows_per_s": round(river_rate),
            "speedup_vs_river": round(ours / river_rate, 1),
        }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
