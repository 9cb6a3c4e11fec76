"""AppTest: the evaluation pages — compare runs (and refuse other targets), plots from a job, move and save
the threshold, the held-out test with its second-use warning, stress tests, fairness with a bad column,
speed, the deploy decision (a viewer cannot decide) and the reports."""

from __future__ import annotations

import pytest
from sqlmodel import select
from threadpoolctl import threadpool_limits

from mlcore.auth import get_user
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.versions import list_versions, read_version
from mlcore.errors import PermissionDenied
from mlcore.jobs import list_jobs, run_job
from mlcore.modeling import evaluation_records as er
from mlcore.modeling.tracking import apply_settings, default_spec, register_model, submit_training
from mlcore.planning.records import get_canvas, save_canvas
from mlcore.store.engine import session_scope
from mlcore.store.models import User
from mlcore.store.models_modeling import ModelVersion
from tests.app.conftest import signed_in_app, texts, wait_for_jobs

COMPARE = "pages/evaluation.py"
TESTS = "pages/evaluation_tests.py"
PROJECT = 1


@pytest.fixture(autouse=True)
def _one_thread_jobs(monkeypatch):
    """Job processes fit their models on one thread: on a busy test machine that is much faster."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _uid(ws, name: str) -> int:
    with session_scope(ws.engine) as s:
        return get_user(session=s, name=name).id


def _versions(ws):
    with session_scope(ws.engine) as s:
        return {v.dataset: v for v in list_versions(session=s, project_id=PROJECT)}


def _train(ws, version, **changes) -> dict[str, int]:
    """A run trained in-process by the model developer; family -> candidate id (and "run")."""
    with session_scope(ws.engine) as s:
        base = default_spec(
            session=s, store=ws.store, project_id=PROJECT, version_id=version.id, target=changes.pop("target", None)
        )
    exclude = changes.pop("exclude", ())
    settings = {
        "features": [f for f in base.features if f not in exclude],
        "families": ["dummy", "logistic_regression", "hist_gradient_boosting"],
        "n_splits": 3,
        "params": {"hist_gradient_boosting": {"max_iter": 15}},
        **changes,
    }
    spec = apply_settings(base, settings, task_type="classification")
    job = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=PROJECT,
        version_id=version.id,
        spec=spec,
        actor_id=_uid(ws, "demo-model-developer"),
        launch=False,
    )
    with threadpool_limits(limits=1):
        view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    return {
        "run": view.result["run_id"],
        **dict(zip(view.result["families"], view.result["candidate_ids"], strict=True)),
    }


def _evaluate(ws, mode, candidate_ids, **options):
    job = er.submit_evaluation(
        engine=ws.engine,
        settings=ws.settings,
        project_id=PROJECT,
        candidate_ids=candidate_ids,
        mode=mode,
        actor_id=_uid(ws, "demo-model-developer"),
        launch=False,
        **options,
    )
    with threadpool_limits(limits=1):
        view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params, view.error_ref)


def _run_here(ws, monkeypatch):
    """Jobs the page submits stay queued (no process is started) and run here, in this process."""
    monkeypatch.setattr("mlcore.jobs.launch_job", lambda job_id, settings: None)

    def run_queued() -> None:
        with session_scope(ws.engine) as s:
            queued = [j.id for j in list_jobs(session=s, project_id=PROJECT) if j.status == "queued"]
        assert queued
        with threadpool_limits(limits=1):
            for job_id in queued:
                assert run_job(engine=ws.engine, job_id=job_id, settings=ws.settings).status == "succeeded"

    return run_queued


def _costs(ws):
    with session_scope(ws.engine) as s:
        designer = s.get(User, _uid(ws, "demo-product-designer"))
        record = get_canvas(session=s, project_id=PROJECT)
        save_canvas(
            session=s,
            project_id=PROJECT,
            data={
                "task_type": "classification",
                "metric": "roc_auc",
                "threshold": 0.75,
                "cost_false_positive": 10,
                "cost_false_negative": 100,
                "latency": "seconds",
            },
            expected_version=record.version,
            actor=designer,
        )


def _open(ws, who, page, tab=None, tab_key="eval_tab", lang="en"):
    at = signed_in_app(ws, who)
    if lang != "en":
        at.sidebar.selectbox(key="lang_picker").select(lang).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    if tab is not None:
        _tab(at, tab, tab_key)
    return at


def _tab(at, label, key="eval_tab"):
    at.session_state[key] = label
    at.run()
    assert not at.exception, at.exception


def test_pages_render_without_runs_in_both_languages(app_ws):
    for page, title, titulo in (
        (COMPARE, "Compare models", "Comparar modelos"),
        (TESTS, "Test and decide", "Probar y decidir"),
    ):
        at = _open(app_ws, "demo-viewer", page)
        assert at.title[0].value == title
        assert any("no trained models" in i for i in texts(at, "info"))
        at = _open(app_ws, "demo-viewer", page, lang="es")
        assert at.title[0].value == titulo


def test_compare_runs_and_refuse_another_target_with_the_reason(app_ws):
    versions = _versions(app_ws)
    first = _train(app_ws, versions["churn"])
    other = _train(app_ws, versions["churn"], target="senior", families=["dummy", "logistic_regression"])
    at = _open(app_ws, "demo-viewer", COMPARE)
    # the newest run is chosen first: the one predicting "senior"
    assert at.multiselect(key="eval_runs_pick").value == [other["run"]]
    at.multiselect(key="eval_runs_pick").unselect(other["run"]).select(first["run"]).run()
    assert not at.exception
    board = at.dataframe[0].value
    assert len(board) == 3 and set(board["candidate_id"]) == {
        first[f] for f in ("dummy", "logistic_regression", "hist_gradient_boosting")
    }
    assert board["baseline"].iloc[-1]  # the baseline ranks last
    assert any("difference is probably real" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1  # scores per fold
    at.multiselect(key="eval_runs_pick").select(other["run"]).run()
    assert not at.exception
    errors = texts(at, "error")
    assert errors and "cannot be compared" in errors[0] and "senior" in errors[0] and "churned" in errors[0]
    assert at.multiselect(key="eval_runs_pick").value == [first["run"], other["run"]]  # nothing lost
    at.sidebar.selectbox(key="lang_picker").select("es").run()
    at.switch_page(COMPARE).run()
    assert not at.exception and "no se pueden comparar" in texts(at, "error")[0]


def test_plots_job_then_move_find_and_save_the_threshold(app_ws):
    _costs(app_ws)
    ids = _train(app_ws, _versions(app_ws)["churn"])
    at = _open(app_ws, "demo-model-developer", COMPARE, tab="Plots")
    assert any("not computed yet" in i for i in texts(at, "info"))
    at.button(key="eval_oof_compute").click().run()
    assert not at.exception and any("job #" in s for s in texts(at, "success"))
    wait_for_jobs(app_ws, timeout=120)
    at.run()
    assert not at.exception
    charts = at.get("plotly_chart")
    assert len(charts) == 5  # ROC, precision-recall, calibration, gains, confusion matrix
    assert any(c.startswith("Logistic regression · run") for c in texts(at, "caption"))

    _tab(at, "Threshold and cost")
    focus = at.selectbox(key="eval_thr_focus").value
    assert focus in (ids["logistic_regression"], ids["hist_gradient_boosting"])
    slider = at.slider(key=f"eval_thr_{focus}")
    assert slider.value == 0.5
    before = {m.label: m.value for m in at.metric}
    slider.set_value(0.2).run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}
    assert float(after["Recall"]) >= float(before["Recall"]) and after != before  # a lower threshold finds more
    assert "Cost per row" in after and any("false positive 10.00" in c for c in texts(at, "caption"))
    at.radio(key="eval_thr_goal").set_value("min_cost").run()
    at.button(key="eval_thr_find").click().run()
    assert not at.exception
    found = at.slider(key=f"eval_thr_{focus}").value
    assert any("gives the lowest cost" in c for c in texts(at, "caption"))
    at.button(key="eval_thr_save").click().run()
    assert not at.exception
    assert not texts(at, "error"), texts(at, "error")
    with session_scope(app_ws.engine) as s:
        saved = er.get_threshold(session=s, project_id=PROJECT, candidate_id=focus)
    assert saved is not None and saved.threshold == pytest.approx(found) and saved.source == "min_cost"
    assert any("saved for" in s for s in texts(at, "success"))


def test_held_out_test_warns_before_a_second_use_and_records_it(app_ws, monkeypatch):
    run_queued = _run_here(app_ws, monkeypatch)
    ids = _train(app_ws, _versions(app_ws)["churn"])
    at = _open(app_ws, "demo-model-developer", TESTS, tab="Held-out test", tab_key="eval_tests_tab")
    assert at.selectbox(key="eval_tests_candidate").value == ids["logistic_regression"]
    assert not texts(at, "warning")
    at.button(key="eval_test_run").click().run()
    assert not at.exception
    run_queued()
    at.run()
    results = at.dataframe[0].value
    assert set(results["candidate_id"]) == {ids["logistic_regression"], ids["dummy"]}
    uses = at.dataframe[1].value
    assert list(uses["use_number"]) == [1] and uses["who"].iloc[0] == "Demo model developer"
    # a second look: warned first, refused without the confirmation, recorded with it
    assert any("already looked at 1 time" in w for w in texts(at, "warning"))
    at.button(key="eval_test_run").click().run()
    assert any("already used 1 time" in e for e in texts(at, "error"))
    with session_scope(app_ws.engine) as s:
        assert len(er.held_out_uses(session=s, project_id=PROJECT)) == 1
    at.checkbox(key="eval_test_ack").check().run()
    at.button(key="eval_test_run").click().run()
    assert not at.exception
    run_queued()
    at.run()
    uses = at.dataframe[1].value
    assert list(uses["use_number"]) == [2, 1] and list(uses["acknowledged"]) == [True, False]


def test_stress_fairness_and_speed(app_ws):
    versions = _versions(app_ws)
    # a copy of the churn data with a column that has one group only (a bad sensitive column)
    frame = read_version(store=app_ws.store, version=versions["churn"]).to_pandas().assign(country="CL")
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="derived"))
    copy = save_table(
        engine=app_ws.engine,
        store=app_ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=PROJECT, dataset_name="churn_cl", target="churned"),
        actor_id=_uid(app_ws, "demo-data-engineer"),
        operation="synthetic",
    )
    ids = _train(app_ws, copy, families=["dummy", "logistic_regression"], exclude=["country"])
    cid = ids["logistic_regression"]
    _evaluate(app_ws, "oof", [cid])
    _evaluate(
        app_ws, "stress", [cid], slice_columns=["contract", "region"], other_version_id=versions["churn_next_month"].id
    )
    _evaluate(app_ws, "performance", [cid], max_rows=1000, n_calls=20)

    at = _open(app_ws, "demo-ai-ethics-reviewer", TESTS, tab="Random and real-world tests", tab_key="eval_tests_tab")
    assert at.selectbox(key="eval_tests_candidate").value == cid
    assert any(w.startswith("Worst segments:") for w in texts(at, "warning"))
    assert len(at.get("plotly_chart")) == 1
    frames = [d.value for d in at.dataframe]
    assert "No change" in set(frames[0]["perturbation"])  # robustness
    assert set(frames[1]["column"]) == {"contract", "region"}  # slices
    assert frames[2]["metric"].iloc[0] == "ROC AUC"  # churn_next_month v1

    _tab(at, "Fairness", "eval_tests_tab")
    assert any("No column is marked as sensitive" in i for i in texts(at, "info"))
    at.multiselect(key="eval_sensitive").select("senior").select("country")
    at.button(key="FormSubmitter:eval_settings_1-Save settings").click().run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        assert er.get_settings(session=s, project_id=PROJECT).sensitive_columns == ("senior", "country")
    assert [h.value for h in at.subheader][-2:] == ["Groups of “senior”", "Groups of “country”"]
    assert any("“country” has only one group" in e for e in texts(at, "error"))  # said, and the rest is shown
    assert any(m.label == "Demographic-parity difference" for m in at.metric)
    groups = at.dataframe[0].value
    assert list(groups["group"]) == ["False", "True"]

    _tab(at, "Speed", "eval_tests_tab")
    table = at.dataframe[0].value
    assert table["value"].str.contains("rows/s").any() and "Machine" in set(table["measure"])


def test_deploy_decision_promotes_and_a_viewer_cannot_decide(app_ws):
    _costs(app_ws)  # the canvas: ROC AUC at least 0.75
    ids = _train(app_ws, _versions(app_ws)["churn"])
    cid = ids["logistic_regression"]
    _evaluate(app_ws, "test", [cid])
    designer = _open(app_ws, "demo-product-designer", TESTS, tab="Deploy decision", tab_key="eval_tests_tab")
    assert designer.selectbox(key="eval_tests_candidate").value == cid
    criteria = [m.value for m in designer.markdown if "-badge[" in m.value]
    assert len(criteria) >= 3 and any("**Metric on the test set**" in c and "Pass" in c for c in criteria)
    assert any("not in the model registry" in w for w in texts(designer, "warning"))
    designer.radio(key="eval_outcome_en").set_value("go")
    designer.text_area(key="eval_rationale").input("Beats the baseline on the test set.")
    designer.button(key=f"FormSubmitter:eval_decide_{cid}-Record the decision").click().run()
    assert any("not in the model registry" in e for e in texts(designer, "error"))  # refused, nothing recorded
    with session_scope(app_ws.engine) as s:
        assert er.deploy_decisions(session=s, project_id=PROJECT) == []
        developer = s.get(User, _uid(app_ws, "demo-model-developer"))
        register_model(session=s, actor=developer, project_id=PROJECT, candidate_id=cid, name="churn")
    designer.run()
    designer.radio(key="eval_outcome_en").set_value("go")
    designer.text_area(key="eval_rationale").input("Beats the baseline on the test set.")
    designer.button(key=f"FormSubmitter:eval_decide_{cid}-Record the decision").click().run()
    assert not designer.exception
    assert any("churn@1 is now in production" in s for s in texts(designer, "success"))
    history = designer.dataframe[-1].value
    assert list(history["model"]) == ["churn@1"] and history["promoted"].iloc[0]
    with session_scope(app_ws.engine) as s:
        assert [v.stage for v in s.exec(select(ModelVersion)).all()] == ["production"]

    viewer = _open(app_ws, "demo-viewer", TESTS, tab="Deploy decision", tab_key="eval_tests_tab")
    assert not [f for f in viewer.get("form")]
    assert any("You can look at this page but not change it" in i for i in texts(viewer, "info"))
    assert list(viewer.dataframe[-1].value["model"]) == ["churn@1"]  # the history is readable
    with session_scope(app_ws.engine) as s, pytest.raises(PermissionDenied):
        er.record_deploy_decision(
            session=s,
            store=app_ws.store,
            actor=s.get(User, _uid(app_ws, "demo-viewer")),
            project_id=PROJECT,
            candidate_id=cid,
            outcome="no_go",
            rationale="I disagree",
        )
    for tab in ("Held-out test", "Random and real-world tests", "Fairness", "Speed"):
        _tab(viewer, tab, "eval_tests_tab")
        assert not [b for b in viewer.main.button if (b.key or "").startswith("eval_")], tab

    _tab(designer, "Reports", "eval_tests_tab")
    buttons = designer.get("download_button")
    assert len(buttons) == 4
    assert any("Evaluation report: churn@1" in m.value for m in designer.markdown)
