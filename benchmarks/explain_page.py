"""Warm render time of the interpretation page (AppTest), tab by tab, beside an empty Streamlit page.

Usage: python benchmarks/explain_page.py [--rows 20000] [--max-rows 2000] [--repeat 5]

Builds the demo project (``--rows`` rows), trains gradient boosting and logistic regression (3 folds), and
explains the gradient boosting model on ``--max-rows`` of its training rows in this process, then measures
the page as a signed-in domain expert sees it: the global view (importance, beeswarm, dependence), one
row (waterfall and sentence), what-if (the form, then a changed row) and the expert review. Each figure
prints the median warm render over ``--repeat`` reruns, its ratio to the one-second budget, and its ratio to
rendering a trivial one-line app in the same run (measured in between, so both see the same machine load).
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

BUDGET = 1.0
TABS = ("Global view", "One row", "What-if", "Expert review")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--max-rows", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="ciclo-bench-explain-"))
    os.environ["MLCORE_HOME"] = str(home)
    os.environ.pop("MLCORE_DATABASE_URL", None)

    from streamlit.testing.v1 import AppTest

    from mlcore.auth import get_user
    from mlcore.config import load_settings
    from mlcore.data.versions import list_versions
    from mlcore.demo import seed_demo
    from mlcore.jobs import run_job
    from mlcore.modeling.explain_records import model_choices, request_explanation
    from mlcore.modeling.tracking import TrainingSpec, default_spec, submit_training
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace(load_settings())
    seed_demo(engine=ws.engine, settings=ws.settings, n_rows=args.rows)
    with session_scope(ws.engine) as s:
        expert = get_user(session=s, name="demo-domain-expert").id
        developer = get_user(session=s, name="demo-model-developer").id
        churn = next(v for v in list_versions(session=s, project_id=1) if v.dataset == "churn")
        spec = default_spec(session=s, store=ws.store, project_id=1, version_id=churn.id)
    values = {**spec.to_json(), "families": ["hist_gradient_boosting", "logistic_regression"], "n_splits": 3}
    job = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        version_id=churn.id,
        spec=TrainingSpec.from_json(values),
        actor_id=developer,
        launch=False,
    )
    assert run_job(engine=ws.engine, job_id=job, settings=ws.settings).status == "succeeded"
    with session_scope(ws.engine) as s:
        hgb = next(c for c in model_choices(session=s, project_id=1) if c.family == "hist_gradient_boosting")
    request = request_explanation(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        candidate_id=hgb.candidate_id,
        actor_id=developer,
        max_rows=args.max_rows,
        launch=False,
    )
    start = time.perf_counter()
    view = run_job(engine=ws.engine, job_id=request.job_id, settings=ws.settings)
    assert view.status == "succeeded", view
    print(f"demo rows: {args.rows}; explained rows: {view.result['n_rows']} in {time.perf_counter() - start:.1f} s")

    def median_warm(at: AppTest, prepare=None, check=None) -> float:
        at.run()  # cold: caches, imports
        samples = []
        for _ in range(args.repeat):
            if prepare is not None:
                prepare(at)
            begin = time.perf_counter()
            at.run()
            samples.append(time.perf_counter() - begin)
            assert not at.exception, at.exception
        if check is not None:
            assert check(at), "the page did not show what was measured"
        return statistics.median(samples)

    def one_line() -> float:
        return median_warm(AppTest.from_string("import streamlit as st\nst.title('x')", default_timeout=60))

    def page(tab: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
        at.session_state["user_id"] = expert
        at.session_state["last_seen"] = time.time() + 3600
        at.session_state["interpret_tab"] = tab
        at.run()
        at.switch_page("pages/interpretation.py")
        return at

    def what_if_changed(at: AppTest) -> None:
        # the what-if result is kept in the session: every rerun shows the changed row explained again
        if not any(m.label == "After" for m in at.metric):
            box = next(w for w in at.main.number_input if w.label == "tenure_months")
            box.set_value(500)
            at.button(key="interpret_whatif_run").click()

    print(f"{'view':26} {'warm s':>8} {'/1 s budget':>12} {'one-line s':>11} {'/one-line':>10}")
    checks = {
        "Global view": lambda at: len(at.get("plotly_chart")) == 3,
        "One row": lambda at: len(at.get("plotly_chart")) == 1 and any("probability" in m.value for m in at.markdown),
        "What-if": lambda at: any(w.label == "tenure_months" for w in at.main.number_input),
        "Expert review": lambda at: any(r.key.startswith("interpret_verdict_") for r in at.main.radio),
        "What-if (changed row)": lambda at: any(m.label == "After" for m in at.metric) and at.get("plotly_chart"),
    }
    cases = [(tab, tab, None) for tab in TABS] + [("What-if (changed row)", "What-if", what_if_changed)]
    for name, tab, prepare in cases:
        baseline = one_line()
        warm = median_warm(page(tab), prepare, checks[name])
        verdict = "ok" if warm < BUDGET else "OVER"
        print(f"{name:26} {warm:8.3f} {warm / BUDGET:12.2f} {baseline:11.3f} {warm / baseline:10.1f}  {verdict}")


if __name__ == "__main__":
    main()
