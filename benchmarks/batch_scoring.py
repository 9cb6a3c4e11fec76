"""Benchmark: batch scoring from Parquet into SQLite, Ciclo's path against the raw minimum.

Data: ``--rows`` rows (default 1,000,000) × 20 numeric features plus an integer id, written to a
Parquet file in row groups of 100,000. Model: ``hist_gradient_boosting`` (100 trees) built with
``mlcore.modeling.training.build_pipeline`` and fitted on 20,000 rows.

Side by side, alternating, best of ``--repeat``, each on a fresh database file:

* **Ciclo**: ``score_batch(parquet_chunks(path))`` into a migrated Ciclo database — input checks,
  chunked prediction, executemany per chunk, the score ranking the dashboards page through, the
  summary, the batch becoming visible in one transaction, the audit event;
* **raw**: ``pd.read_parquet`` + one ``predict_proba`` + ``sqlite3.executemany`` of the same rows
  (batch id, key as text, score, label, positive flag) into the same ``prediction`` table of a
  migrated database (same columns and foreign key), one commit; same pragmas (WAL,
  ``synchronous=NORMAL``). No ranking, no checks, no summary.

Target: Ciclo ≤ 1.3 × raw. Also checks the stored scores equal ``predict_proba``.
On a shared machine ``--threads 1`` keeps the model's thread pool from dominating the noise.

    python benchmarks/batch_scoring.py --rows 1000000 --repeat 3 [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET = 1.3
N_FEATURES = 20
FEATURES = [f"x{i}" for i in range(N_FEATURES)]


def _data(path: Path, rows: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, N_FEATURES))
    weights = rng.normal(size=N_FEATURES)
    y = (X @ weights + rng.normal(scale=2.0, size=rows) > 0).astype(int)
    table = pa.table({"id": np.arange(rows, dtype=np.int64), **{f: X[:, i] for i, f in enumerate(FEATURES)}})
    pq.write_table(table, path, row_group_size=100_000)
    sample = pd.DataFrame(X[:20_000], columns=FEATURES)
    return sample, pd.Series(y[:20_000])


def _fresh(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _workspace(db: Path) -> tuple[Any, int, int]:
    from mlcore.auth import create_user
    from mlcore.projects import ProjectCreate, create_project
    from mlcore.store.engine import make_engine, session_scope, upgrade_database

    engine = make_engine(f"sqlite:///{db}")
    upgrade_database(engine)
    with session_scope(engine) as s:
        user = create_user(session=s, actor=None, name="bench", role="admin", password="correct horse 1")
        project = create_project(session=s, data=ProjectCreate(name="Bench", task_type="classification"), actor=user)
        return engine, user.id or 0, project.id or 0


def _ciclo(db: Path, parquet: Path, pipeline: Any, rows: int) -> tuple[float, float, int]:
    from mlcore.deploy.batch import parquet_chunks, score_batch

    _fresh(db)
    engine, user_id, project_id = _workspace(db)
    start, cpu = time.perf_counter(), time.process_time()
    result = score_batch(
        parquet_chunks(parquet),
        engine=engine,
        pipeline=pipeline,
        project_id=project_id,
        actor_id=user_id,
        model_version_id=1,
        batch_key="bench",
        key_column="id",
        total_rows=rows,
    )
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    engine.dispose()
    return seconds, cpu, result.batch_id


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _raw(db: Path, parquet: Path, pipeline: Any) -> tuple[float, float]:
    _fresh(db)
    engine, user_id, project_id = _workspace(db)
    engine.dispose()
    conn = _connect(db)
    conn.execute(
        "INSERT INTO predictionbatch (project_id, model_version_id, batch_key, task_type, score_kind, source,"
        " status, n_rows, classes, segment_columns, shown_columns, detail_columns, report, summary, error_key,"
        " created_by_id, created_at) VALUES (?, 1, 'raw', 'classification', 'probability', '{}', 'writing', 0,"
        " '[]', '[]', '[]', '[]', '{}', '{}', '', ?, '2026-01-01 00:00:00')",
        (project_id, user_id),
    )
    batch_id = conn.execute("SELECT max(id) FROM predictionbatch").fetchone()[0]
    conn.commit()
    start, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_parquet(parquet)
    proba = pipeline.predict_proba(frame[FEATURES])[:, 1]
    positive = proba >= 0.5
    labels = np.where(positive, "1", "0")
    rows = list(
        zip(
            [batch_id] * len(frame),
            frame["id"].astype(str).tolist(),
            proba.tolist(),
            labels.tolist(),
            positive.tolist(),
            strict=True,
        )
    )
    conn.executemany("INSERT INTO prediction (batch_id, row_key, score, label, positive) VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    conn.close()
    return seconds, cpu


def _check(db: Path, batch_id: int, parquet: Path, pipeline: Any) -> float:
    """Largest difference between stored scores and predict_proba on a sample of keys."""
    frame = pd.read_parquet(parquet).iloc[:: max(1, pq.ParquetFile(parquet).metadata.num_rows // 1000)]
    expected = dict(zip(frame["id"].astype(str), pipeline.predict_proba(frame[FEATURES])[:, 1], strict=True))
    conn = sqlite3.connect(db)
    keys = list(expected)
    marks = ",".join("?" * len(keys))
    stored = dict(
        conn.execute(
            f"SELECT row_key, score FROM prediction WHERE batch_id = ? AND row_key IN ({marks})", [batch_id, *keys]
        ).fetchall()
    )
    conn.close()
    assert len(stored) == len(keys)
    return max(abs(stored[k] - expected[k]) for k in keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=None, help="limit the model's threads (both sides), e.g. 1 on a busy machine"
    )
    args = parser.parse_args()
    if args.threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)

    from mlcore.modeling.training import build_pipeline

    with tempfile.TemporaryDirectory(prefix="ciclo-bench-") as tmp:
        folder = Path(tmp)
        parquet = folder / "rows.parquet"
        X, y = _data(parquet, args.rows, args.seed)
        pipeline = build_pipeline(
            "hist_gradient_boosting",
            task_type="classification",
            roles={f: "numeric" for f in FEATURES},
            features=FEATURES,
        ).fit(X, y)
        print(
            f"{args.rows:,} rows x {N_FEATURES} features, Parquet {parquet.stat().st_size / 1e6:.0f} MB, "
            f"model hist_gradient_boosting, {os.cpu_count()} cores, model threads {args.threads or 'all'}"
        )
        ciclo, raw, ciclo_cpu, raw_cpu = [], [], [], []
        batch_id = 0
        for i in range(args.repeat):
            seconds, cpu, batch_id = _ciclo(folder / "ciclo.db", parquet, pipeline, args.rows)
            ciclo.append(seconds)
            ciclo_cpu.append(cpu)
            seconds, cpu = _raw(folder / "raw.db", parquet, pipeline)
            raw.append(seconds)
            raw_cpu.append(cpu)
            print(
                f"  run {i + 1}: ciclo {ciclo[-1]:.2f} s (cpu {ciclo_cpu[-1]:.2f} s), "
                f"raw {raw[-1]:.2f} s (cpu {raw_cpu[-1]:.2f} s)"
            )
        difference = _check(folder / "ciclo.db", batch_id, parquet, pipeline)
        best_c, best_r = min(ciclo), min(raw)
        ratio = best_c / best_r
        print(f"Ciclo score_batch:  best {best_c:.2f} s of {args.repeat}  ({args.rows / best_c:,.0f} rows/s)")
        print(f"raw:                best {best_r:.2f} s  ({args.rows / best_r:,.0f} rows/s)")
        print(f"ratio of the best times: {ratio:.2f}  (target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'})")
        paired = sorted(c / r for c, r in zip(ciclo, raw, strict=True))
        print(f"ratio run by run: median {paired[len(paired) // 2]:.2f}, range {paired[0]:.2f}-{paired[-1]:.2f}")
        cpu_ratio = min(ciclo_cpu) / min(raw_cpu)
        print(
            f"CPU time (this process, steadier on a shared machine): ciclo {min(ciclo_cpu):.2f} s, "
            f"raw {min(raw_cpu):.2f} s, ratio {cpu_ratio:.2f}"
        )
        print(f"largest |stored score - predict_proba| on a sample: {difference:.3g}")


if __name__ == "__main__":
    main()
