"""Benchmark: the prediction dashboard's queries on a 1,000,000-row batch, warm.

Builds a SQLite workspace with a few small earlier batches (for the trend) and one batch of
``--rows`` rows (default 1,000,000) scored by ``score_batch`` with three segment columns (region:
6 values, plan: 4, channel: 3), two shown values and three reasons per row. Then times, warm
(best of ``--repeat``), every call a dashboard page makes:

* **overview**: batch list, trend and ``dashboard_view`` — summary, the three segment breakdowns,
  top 20 with reasons in words, the first page of 50 rows;
* **filtered by a segment** (region = one value): ``dashboard_view`` with that filter;
* **filtered by segments and score range**: the same with ``min_score=0.8``, two regions and a plan;
* **paging**: the 20th page by keyset, a page at row 100,000 by offset;
* **drill-down**: one row by id and one by key;
* **CSV export** of 150,000 rows (a download, reported separately).

Target: everything one page needs well under one second. For comparison, the naive way — reading
the batch into pandas and aggregating there — is timed once (``pandas.read_sql`` of the batch).

    python benchmarks/dashboard.py --rows 1000000 --repeat 5
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_S = 1.0
FEATURES = [f"x{i}" for i in range(8)]


def _frame(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, len(FEATURES)))
    frame = pd.DataFrame(X, columns=FEATURES)
    frame.insert(0, "customer", [f"C{i:07d}" for i in range(rows)])
    frame["region"] = rng.choice(["north", "south", "east", "west", "centre", "islands"], rows)
    frame["plan"] = rng.choice(["basic", "plus", "pro", "family"], rows)
    frame["channel"] = rng.choice(["web", "store", "phone"], rows)
    weights = rng.normal(size=len(FEATURES))
    y = (X @ weights + rng.normal(scale=1.5, size=rows) > 0.8).astype(int)
    return frame, y


def _reasons(pipeline: Any) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """Per chunk, each row's top-three contributions of the logistic model (coefficient × standardised
    value) as the long frame ``score_batch`` takes (``row_key``, ``feature``, ``value``, ``contribution``)."""
    scaler = pipeline.named_steps["prepare"].named_transformers_["numeric"].named_steps["scale"]
    coefficients = pipeline.named_steps["model"].coef_[0][: len(FEATURES)]
    names = np.asarray(FEATURES, dtype=object)

    def explain(chunk: pd.DataFrame) -> pd.DataFrame:
        values = chunk[FEATURES].to_numpy()
        contributions = (values - scaler.mean_[: len(FEATURES)]) / scaler.scale_[: len(FEATURES)] * coefficients
        top = np.argsort(-np.abs(contributions), axis=1)[:, :3]
        rows = np.repeat(np.arange(len(chunk)), 3)
        columns = top.reshape(-1)
        return pd.DataFrame(
            {
                "row_key": chunk["customer"].to_numpy()[rows],
                "feature": names[columns],
                "value": np.round(values[rows, columns], 2).astype(str),
                "contribution": contributions[rows, columns],
            }
        )

    return explain


def _best(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from mlcore.auth import create_user
    from mlcore.deploy import dashboard as d
    from mlcore.deploy.batch import score_batch
    from mlcore.modeling.training import build_pipeline
    from mlcore.projects import ProjectCreate, create_project
    from mlcore.store.engine import make_engine, session_scope, upgrade_database

    with tempfile.TemporaryDirectory(prefix="ciclo-dash-") as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'dash.db'}")
        upgrade_database(engine)
        with session_scope(engine) as s:
            user = create_user(session=s, actor=None, name="bench", role="admin", password="correct horse 1")
            project = create_project(
                session=s, data=ProjectCreate(name="Bench", task_type="classification"), actor=user
            )
            user_id, project_id = user.id or 0, project.id or 0
        frame, y = _frame(args.rows, args.seed)
        pipeline = build_pipeline(
            "logistic_regression",
            task_type="classification",
            roles={f: "numeric" for f in FEATURES},
            features=FEATURES,
        ).fit(frame[FEATURES].iloc[:20_000], y[:20_000])
        common = dict(
            engine=engine,
            pipeline=pipeline,
            project_id=project_id,
            actor_id=user_id,
            model_version_id=1,
            key_column="customer",
            segment_columns=["region", "plan", "channel"],
            shown_columns=["x0", "x1"],
        )
        for day in range(5):
            score_batch(frame.sample(20_000, random_state=day), batch_key=f"day-{day}", **common)  # type: ignore[arg-type]
        start = time.perf_counter()
        result = score_batch(frame, batch_key="big", reasons=_reasons(pipeline), **common)  # type: ignore[arg-type]
        print(
            f"built a {result.n_rows:,}-row batch (3 segments, 2 shown values, 3 reasons per row) "
            f"in {time.perf_counter() - start:.1f} s"
        )
        batch_id = result.batch_id
        region = d.RowFilter(segments={"region": ["north"]})
        narrow = d.RowFilter(segments={"region": ["north", "south"], "plan": ["pro"]}, min_score=0.8)

        with session_scope(engine) as s:
            where = dict(session=s, project_id=project_id, batch_id=batch_id)

            def overview() -> None:
                d.list_batches(session=s, project_id=project_id)
                d.batch_trend(session=s, project_id=project_id)
                d.dashboard_view(**where, top_n=20, page_size=50, lang="es")

            def filtered(rows: d.RowFilter) -> Callable[[], None]:
                def page() -> None:
                    d.dashboard_view(**where, filters=rows, top_n=20, page_size=50, lang="es")

                return page

            def paging() -> None:
                page = d.prediction_page(**where, page_size=50)
                for _ in range(19):
                    assert page.next_cursor is not None
                    page = d.prediction_page(**where, page_size=50, after=page.next_cursor)
                d.prediction_page(**where, page_size=50, offset=100_000)

            first = d.prediction_page(**where, page_size=1).rows[0]

            def drill() -> None:
                d.prediction_detail(**where, prediction_id=first.id, lang="es")
                d.prediction_detail(**where, row_key="C0500000" if args.rows > 500_000 else "C0000001")

            pages = {
                "overview (no filter)": overview,
                "filtered: region = north": filtered(region),
                "filtered: 2 regions, plan, score >= 0.8": filtered(narrow),
                "paging: 20 keyset pages + offset 100,000": paging,
                "drill-down: by id and by key": drill,
            }
            print(f"warm, best of {args.repeat}:")
            worst = 0.0
            for name, fn in pages.items():
                seconds = _best(fn, args.repeat)
                worst = max(worst, seconds)
                print(f"  {name:45s} {seconds * 1000:8.1f} ms")
            parts = {
                "summary + 3 breakdowns in one pass, by region": lambda: d.dashboard_view(
                    **where, filters=region, top_n=1, page_size=1
                ),
                "summary alone, filtered by region": lambda: d.batch_summary(**where, filters=region),
                "breakdown by plan, filtered by region": lambda: d.segment_breakdown(
                    **where, segment="plan", filters=region
                ),
                "top 20, filtered by region": lambda: d.top_predictions(**where, n=20, filters=region),
                "drill-down by key": lambda: d.prediction_detail(**where, row_key="C0000001"),
            }
            print("  single queries:")
            for name, fn in parts.items():
                print(f"    {name:43s} {_best(fn, args.repeat) * 1000:8.1f} ms")
            start = time.perf_counter()
            size = sum(len(chunk) for chunk in d.export_csv(**where, lang="es"))
            print(f"CSV export of 150,000 rows: {time.perf_counter() - start:.2f} s, {size / 1e6:.1f} MB")
            print(
                f"slowest page: {worst * 1000:.0f} ms  (target < {TARGET_S * 1000:.0f} ms: "
                f"{'met' if worst < TARGET_S else 'NOT met'})"
            )

        start = time.perf_counter()
        with engine.connect() as conn:
            naive = pd.read_sql(
                "SELECT row_key, score, label, positive, seg1, seg2, seg3 FROM prediction WHERE batch_id = ?",
                conn.connection.driver_connection,
                params=(batch_id,),
            )
        naive.groupby("seg1")["score"].agg(["size", "mean"])
        naive.nlargest(20, "score")
        print(
            f"for comparison, the naive way (pull the whole batch into pandas, aggregate there): "
            f"{time.perf_counter() - start:.2f} s"
        )


if __name__ == "__main__":
    main()
