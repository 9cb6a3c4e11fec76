"""Warm render time of the Compare models page with 20 candidates (5 runs of 4 model families on the same
folds), beside a one-line Streamlit page, measured with AppTest in the same run.

Usage: python benchmarks/evaluation_page.py [--rows 2000] [--runs 5] [--repeat 7]

Prints, per tab, the median warm render in seconds, its ratio to the one-second budget and its ratio to
rendering a trivial one-line app (interleaved repeats). The plots tab reads stored out-of-fold predictions
of three candidates (computed once, before timing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAMILIES = ["dummy", "logistic_regression", "hist_gradient_boosting", "random_forest"]
FAST = {"hist_gradient_boosting": {"max_iter": 30}, "random_forest": {"n_estimators": 20}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ciclo-bench-eval-"))
    os.environ["MLCORE_HOME"] = str(home)
    os.environ.pop("MLCORE_DATABASE_URL", None)

    from streamlit.testing.v1 import AppTest
    from threadpoolctl import threadpool_limits

    from mlcore.auth import get_user
    from mlcore.config import load_settings
    from mlcore.data.versions import list_versions
    from mlcore.demo import seed_demo
    from mlcore.jobs import run_job
    from mlcore.modeling.evaluation_records import submit_evaluation
    from mlcore.modeling.tracking import apply_settings, default_spec, submit_training
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace(load_settings())
    seed = seed_demo(engine=ws.engine, settings=ws.settings, n_rows=args.rows)
    project = seed.project_id
    with session_scope(ws.engine) as s:
        admin_id = get_user(session=s, name="demo-admin").id
        developer = get_user(session=s, name="demo-model-developer").id
        version = next(v for v in list_versions(session=s, project_id=project) if v.dataset == "churn")
        base = default_spec(session=s, store=ws.store, project_id=project, version_id=version.id)
    run_ids, candidates = [], []
    start = time.perf_counter()
    for k in range(args.runs):
        # the same seed (same folds) with other hyper-parameters: every candidate can be compared fold by fold
        params = {**FAST, "logistic_regression": {"C": 10.0 ** (k - 2)}}
        spec = apply_settings(base, {"families": FAMILIES, "n_splits": 5, "params": params}, task_type="classification")
        job = submit_training(
            engine=ws.engine,
            settings=ws.settings,
            project_id=project,
            version_id=version.id,
            spec=spec,
            actor_id=developer,
            launch=False,
        )
        with threadpool_limits(limits=1):
            view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
        assert view.status == "succeeded", (view.error_key, view.error_params)
        run_ids.append(view.result["run_id"])
        candidates += view.result["candidate_ids"]
    plotted = [c for c in candidates if c not in candidates[:: len(FAMILIES)]][:3]
    job = submit_evaluation(
        engine=ws.engine,
        settings=ws.settings,
        project_id=project,
        candidate_ids=plotted,
        mode="oof",
        actor_id=developer,
        launch=False,
    )
    with threadpool_limits(limits=1):
        assert run_job(engine=ws.engine, job_id=job, settings=ws.settings).status == "succeeded"
    print(
        f"demo rows: {args.rows}; {len(run_ids)} runs, {len(candidates)} candidates "
        f"(set-up {time.perf_counter() - start:.0f} s)"
    )

    def page(tab: str | None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
        at.session_state["user_id"] = admin_id
        at.session_state["last_seen"] = time.time() + 3600
        at.session_state["evaluation_runs"] = run_ids
        at.session_state["evaluation_plotted"] = plotted
        at.run()
        at.switch_page("pages/evaluation.py").run()
        if tab is not None:
            at.session_state["eval_tab"] = tab
        at.run()  # cold: caches, imports
        assert not at.exception, at.exception
        return at

    apps = {
        "one-line app": AppTest.from_string("import streamlit as st\nst.title('x')", default_timeout=60),
        "compare: leaderboard": page(None),
        "compare: plots": page("Plots"),
        "compare: threshold": page("Threshold and cost"),
    }
    apps["one-line app"].run()
    board = apps["compare: leaderboard"]
    assert len(board.dataframe[0].value) == len(candidates), "every candidate is on the leaderboard"
    samples: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(args.repeat):  # interleaved, so a busy moment hits every page alike
        for name, at in apps.items():
            began = time.perf_counter()
            at.run()
            samples[name].append(time.perf_counter() - began)
            assert not at.exception, at.exception
    reference = statistics.median(samples["one-line app"])
    print(f"reference (one-line app): {reference:.3f} s")
    print(f"{'page':24} {'warm s':>8} {'/1 s budget':>12} {'/one-line app':>14}")
    for name, values in samples.items():
        if name == "one-line app":
            continue
        warm = statistics.median(values)
        print(f"{name:24} {warm:8.3f} {warm / 1.0:12.2f} {warm / reference:14.1f}")


if __name__ == "__main__":
    main()
