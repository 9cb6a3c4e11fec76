"""Benchmark: importing a large CSV with mlcore versus a plain ``pandas.read_csv``.

Generates a mixed-type CSV, then times (a) ``pandas.read_csv`` and (b) what the app does on
import (``load_file`` + Parquet write + SHA-256 of the written file), best of three, and
measures the peak memory of each in a fresh subprocess. Prints the time and memory ratios;
the targets are <= 1.5 (time) and <= 3.0 (memory, against the DataFrame's in-memory size).

    python benchmarks/import_csv.py --rows 1000000 --cols 20
"""

from __future__ import annotations

import argparse
import hashlib
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TIME_TARGET = 1.5
MEMORY_TARGET = 3.0
STEPS = ("baseline", "pandas", "ingest")


def generate_csv(path: Path, *, rows: int, cols: int, seed: int = 0) -> None:
    """Write a CSV whose columns cycle through int, float, float, category and date."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    categories = np.array(["norte", "sur", "centro", "oriente", "poniente"])
    days = np.arange("2020-01-01", "2024-12-31", dtype="datetime64[D]")
    columns: dict[str, pa.Array] = {}
    for i in range(cols):
        kind = i % 5
        if kind == 0:
            columns[f"count_{i}"] = pa.array(rng.integers(0, 100_000, rows))
        elif kind in (1, 2):
            columns[f"amount_{i}"] = pa.array(np.round(rng.normal(100, 30, rows), 3))
        elif kind == 3:
            columns[f"zone_{i}"] = pa.array(categories[rng.integers(0, len(categories), rows)])
        else:
            columns[f"date_{i}"] = pa.array(days[rng.integers(0, len(days), rows)].astype(str))
    options = pacsv.WriteOptions(quoting_style="needed")
    pacsv.write_csv(pa.table(columns), path, write_options=options)


def run_pandas(path: Path) -> int:
    import pandas as pd

    df = pd.read_csv(path)
    return int(df.memory_usage(deep=True).sum())


def run_ingest(path: Path, out: Path) -> str:
    import pyarrow.parquet as pq

    from mlcore.config import Limits
    from mlcore.data.ingest import load_file

    loaded = load_file(path, filename=path.name, limits=Limits(max_upload_bytes=1 << 40))
    pq.write_table(loaded.table, out)
    digest = hashlib.sha256()
    with out.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def best_of(n: int, step: object, *args: object) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step(*args)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return min(times)


def worker(step: str, path: Path) -> None:
    """Run one step in this (fresh) process; the parent reads its peak RSS."""
    import pandas  # noqa: F401 - every step pays for the same imports, so baseline cancels them
    import pyarrow.csv  # noqa: F401
    import pyarrow.parquet  # noqa: F401

    import mlcore.data.ingest  # noqa: F401

    if step == "pandas":
        run_pandas(path)
    elif step == "ingest":
        run_ingest(path, path.with_suffix(".parquet"))


def measure(step: str, path: Path) -> None:
    """Run ``step`` in a child and print that child's peak RSS in bytes.

    RUSAGE_CHILDREN reports the largest child ever waited for, so each measurement runs in
    its own intermediate process that has exactly one child.
    """
    subprocess.run([sys.executable, __file__, "--worker", step, str(path)], check=True)
    print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024)  # Linux: kilobytes


def peak_rss(step: str, path: Path) -> int:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", step, str(path)], check=True, capture_output=True, text=True
    )
    return int(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--worker", nargs=2, metavar=("STEP", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, metavar=("STEP", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return 0
    if args.measure:
        measure(args.measure[0], Path(args.measure[1]))
        return 0

    with tempfile.TemporaryDirectory(prefix="ciclo-bench-") as tmp:
        path = Path(tmp) / "bench.csv"
        start = time.perf_counter()
        generate_csv(path, rows=args.rows, cols=args.cols)
        elapsed = time.perf_counter() - start
        size_mb = path.stat().st_size / 1e6
        print(f"generated {args.rows:,} x {args.cols} CSV, {size_mb:.0f} MB in {elapsed:.1f} s")

        frame_bytes = run_pandas(path)  # also warms the page cache for both readers
        t_pandas = best_of(args.repeat, run_pandas, path)
        t_ingest = best_of(args.repeat, run_ingest, path, Path(tmp) / "out.parquet")
        rss = {step: peak_rss(step, path) for step in STEPS}

    mem_pandas = rss["pandas"] - rss["baseline"]
    mem_ingest = rss["ingest"] - rss["baseline"]
    time_ratio = t_ingest / t_pandas
    memory_ratio = mem_ingest / frame_bytes
    mb = 1e6
    print()
    print(f"{'step':<36}{'best time (s)':>14}{'peak RSS - baseline (MB)':>26}")
    print(f"{'pandas.read_csv':<36}{t_pandas:>14.2f}{mem_pandas / mb:>26.0f}")
    print(f"{'load_file + write Parquet + SHA-256':<36}{t_ingest:>14.2f}{mem_ingest / mb:>26.0f}")
    print(f"{'(baseline: imports only)':<36}{'':>14}{rss['baseline'] / mb:>26.0f}")
    print(f"DataFrame in memory (deep): {frame_bytes / mb:.0f} MB")
    print()
    time_ok, memory_ok = time_ratio <= TIME_TARGET, memory_ratio <= MEMORY_TARGET
    verdict = {True: "OK", False: "OVER"}
    print(f"time ratio   (ingest / pandas):         {time_ratio:.2f}  target <= {TIME_TARGET}  {verdict[time_ok]}")
    print(
        f"memory ratio (ingest peak / DataFrame): {memory_ratio:.2f}  target <= {MEMORY_TARGET}  {verdict[memory_ok]}"
    )
    return 0 if time_ok and memory_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
