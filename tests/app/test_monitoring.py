"""AppTest: the monitoring pages — drift as a job and its verdict, delayed labels imported and matched,
alerts listed and rules edited (not by a viewer), retraining decided with an approval, and bad input
(unknown keys, repeated and conflicting label rows, a batch with columns missing) said clearly."""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pyarrow as pa
import pytest
import streamlit as st
from sqlmodel import func, select
from threadpoolctl import threadpool_limits

from mlcore.auth import get_user
from mlcore.config import load_settings
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.versions import list_versions, read_version
from mlcore.deploy.batch import score_batch
from mlcore.errors import PermissionDenied
from mlcore.jobs import run_job
from mlcore.markdown import md_escape
from mlcore.modeling.tracking import (
    TrainingSpec,
    load_model,
    register_model,
    resolve_model,
    run_detail,
    submit_training,
    transition_stage,
)
from mlcore.monitoring import records as R
from mlcore.monitoring.alerts import DriftRule
from mlcore.projects import list_projects
from mlcore.store.engine import session_scope
from mlcore.store.models_monitoring import Outcome, OutcomeImport
from mlcore.workspace import open_workspace
from tests.app.conftest import signed_in_app, texts, wait_for_jobs

DRIFT, LABELS, ALERTS, RETRAIN = (
    "pages/monitoring.py",
    "pages/monitoring_performance.py",
    "pages/monitoring_alerts.py",
    "pages/monitoring_retraining.py",
)
FEATURES = ["tenure_months", "contract", "payment_method", "monthly_charges", "total_charges", "num_support_tickets"]


@pytest.fixture(autouse=True)
def _one_thread_jobs(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _save(ws, project_id, user_id, frame, name, target="churned"):
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic"))
    return save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project_id, dataset_name=name, target=target),
        actor_id=user_id,
        operation="synthetic",
    )


@pytest.fixture(scope="module")
def monitor_template(demo_template, tmp_path_factory):
    """The demo workspace with churn@1 in production (a logistic regression on this month) and next month
    scored as batch "june" from its dataset version."""
    home = tmp_path_factory.mktemp("monitor-home") / "home"
    shutil.copytree(demo_template, home)
    old = os.environ.get("MLCORE_HOME")
    os.environ["MLCORE_HOME"] = str(home)
    try:
        ws = open_workspace(load_settings())
        with session_scope(ws.engine) as s:
            pid = list_projects(session=s)[0].id
            versions = {v.dataset: v for v in list_versions(session=s, project_id=pid)}
            dev = get_user(session=s, name="demo-model-developer").id
            eng = get_user(session=s, name="demo-deployment-engineer").id
        spec = TrainingSpec("churned", FEATURES, ["logistic_regression"], ["recall", "roc_auc"], n_splits=2)
        with threadpool_limits(1):
            job = submit_training(
                engine=ws.engine,
                settings=ws.settings,
                project_id=pid,
                version_id=versions["churn"].id,
                spec=spec,
                actor_id=dev,
                launch=False,
            )
            run_id = run_job(engine=ws.engine, job_id=job, settings=ws.settings).result["run_id"]
        with session_scope(ws.engine) as s:
            actor = get_user(session=s, name="demo-model-developer")
            candidate = run_detail(session=s, project_id=pid, run_id=run_id).candidates[0]
            mv = register_model(session=s, actor=actor, project_id=pid, candidate_id=candidate.id, name="churn")
            for stage in ("staging", "production"):
                mv = transition_stage(
                    session=s,
                    actor=actor,
                    project_id=pid,
                    model_version_id=mv.id,
                    stage=stage,
                    expected_version=mv.version,
                )
            pipeline = load_model(session=s, store=ws.store, candidate_id=candidate.id)
        nxt = versions["churn_next_month"]
        rows = read_version(store=ws.store, version=nxt).to_pandas().drop_duplicates("customer_id")
        score_batch(
            pa.Table.from_pandas(rows, preserve_index=False),
            engine=ws.engine,
            pipeline=pipeline,
            project_id=pid,
            actor_id=eng,
            model_version_id=mv.id,
            batch_key="june",
            key_column="customer_id",
            source={"kind": "version", "version_id": nxt.id},
        )
        ws.engine.dispose()
    finally:
        if old is None:
            os.environ.pop("MLCORE_HOME", None)
        else:
            os.environ["MLCORE_HOME"] = old
    return home


@pytest.fixture
def mon_ws(tmp_path, monkeypatch, monitor_template):
    home = tmp_path / "home"
    shutil.copytree(monitor_template, home)
    monkeypatch.setenv("MLCORE_HOME", str(home))
    monkeypatch.delenv("MLCORE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MLCORE_USER", "tester")
    st.cache_resource.clear()
    st.cache_data.clear()
    ws = open_workspace(load_settings())
    yield ws
    wait_for_jobs(ws)
    st.cache_resource.clear()
    ws.engine.dispose()


def _context(ws):
    with session_scope(ws.engine) as s:
        pid = list_projects(session=s)[0].id
        versions = {v.dataset: v for v in list_versions(session=s, project_id=pid)}
        model = resolve_model(session=s, project_id=pid, ref="churn")
        people = {
            n: get_user(session=s, name=f"demo-{n}").id
            for n in ("deployment-engineer", "data-engineer", "model-developer", "viewer", "admin")
        }
    return pid, versions, model, people


def _open(ws, who, page):
    at = signed_in_app(ws, who)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _drift_in_process(ws, version):
    pid, _, model, people = _context(ws)
    job = R.submit_drift(
        engine=ws.engine,
        settings=ws.settings,
        project_id=pid,
        actor_id=people["deployment-engineer"],
        model_version_id=model.id,
        version_id=version.id,
        launch=False,
    )
    assert run_job(engine=ws.engine, job_id=job, settings=ws.settings).status == "succeeded"


def test_pages_render_in_both_languages(mon_ws):
    at = _open(mon_ws, "demo-admin", DRIFT)
    assert at.title[0].value == "Drift"
    assert "model degradation" in at.expander[0].markdown[0].value and "obsolete" in at.expander[0].markdown[0].value
    titles = {}
    for page in (DRIFT, LABELS, ALERTS, RETRAIN):
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        titles[page] = at.title[0].value
    assert titles == {DRIFT: "Drift", LABELS: "Delayed labels", ALERTS: "Alerts & resources", RETRAIN: "Retraining"}
    at = signed_in_app(mon_ws, "demo-admin")  # a fresh session: widget values keep the labels they were shown with
    at.sidebar.selectbox(key="lang_picker").select_index(1).run()
    for page, title in ((DRIFT, "Deriva"), (LABELS, "Etiquetas tardías"), (ALERTS, "Alertas y recursos")):
        at.switch_page(page).run()
        assert not at.exception and at.title[0].value == title
    at.switch_page(RETRAIN).run()
    assert not at.exception and at.title[0].value == "Reentrenamiento"
    assert any("Campeón" in s.label for s in at.selectbox)


def test_run_drift_as_a_job_and_see_the_verdict(mon_ws):
    pid, versions, _, _ = _context(mon_ws)
    at = _open(mon_ws, "demo-deployment-engineer", DRIFT)
    assert any("No drift report for churn@1" in i for i in texts(at, "info"))
    at.selectbox(key="monitor_drift_version").select(versions["churn_next_month"].id).run()
    at.button(key="monitor_drift_run").click().run()
    assert not at.exception
    assert any("Measuring drift" in s for s in texts(at, "success"))
    wait_for_jobs(mon_ws, timeout=120)
    at.run()
    assert not at.exception
    assert any(h.value == "Verdict for churn\\_next\\_month v1" for h in at.subheader)
    assert any("Drift alert" in e for e in texts(at, "error"))  # the verdict box
    assert any(m.label == "Rows compared" and m.value == f"{versions['churn_next_month'].n_rows:,}" for m in at.metric)
    table = at.dataframe[0].value
    assert "monthly_charges" in set(table["Feature"]) and table.iloc[0]["Verdict"] == "Strong drift"
    with session_scope(mon_ws.engine) as s:
        (record,) = R.drift_records(session=s, project_id=pid)
    assert record.status == "alert" and record.created_by == "Demo deployment engineer"
    # the viewer sees the report but cannot start a job
    viewer = _open(mon_ws, "demo-viewer", DRIFT)
    assert not [b for b in viewer.button if b.key == "monitor_drift_run"]
    assert any("Drift alert" in e for e in texts(viewer, "error"))


def test_a_batch_with_columns_missing_shows_which(mon_ws):
    pid, versions, _, people = _context(mon_ws)
    frame = read_version(store=mon_ws.store, version=versions["churn_next_month"]).to_pandas()
    partial = _save(mon_ws, pid, people["data-engineer"], frame.drop(columns=["monthly_charges"]), "partial")
    _drift_in_process(mon_ws, partial)
    at = _open(mon_ws, "demo-viewer", DRIFT)
    errors = texts(at, "error")
    assert any("missing from the data: monthly\\_charges." in e for e in errors)
    assert any(m.label == "Columns missing" and m.value == "1" for m in at.metric)


def test_import_labels_and_see_performance(mon_ws):
    pid, versions, _, _ = _context(mon_ws)
    at = _open(mon_ws, "demo-data-engineer", LABELS)
    assert any("No prediction has its real outcome yet" in i for i in texts(at, "info"))
    at.radio(key="monitor_labels_source").set_value("version").run()
    at.selectbox(key="monitor_labels_version").select(versions["churn_next_month"].id).run()
    at.selectbox(key="monitor_labels_key").select("customer_id").run()
    at.selectbox(key="monitor_labels_outcome").select("churned").run()
    at.button(key="monitor_labels_import").click().run()
    assert not at.exception
    n = versions["churn_next_month"].n_rows
    assert any(f"of {n:,} outcome rows matched" in s for s in texts(at, "success"))
    assert any("repeated outcome row(s)" in w for w in texts(at, "warning"))  # the planted duplicates
    assert at.get("plotly_chart") and any(
        "Predictions with outcome" in d.value.columns for d in at.dataframe if hasattr(d.value, "columns")
    )
    viewer = _open(mon_ws, "demo-viewer", LABELS)
    assert not [b for b in viewer.button if b.key == "monitor_labels_import"]
    assert any("You can look at this page but not change it" in i for i in texts(viewer, "info"))


def test_bad_label_files_say_what_is_wrong_and_keep_nothing(mon_ws):
    pid, versions, _, people = _context(mon_ws)
    known = read_version(store=mon_ws.store, version=versions["churn_next_month"]).to_pandas()["customer_id"]
    unknown = pd.DataFrame({"customer_id": [known[0], known[1], "GHOST-1", "<b>x</b>"], "outcome": [1, 0, 1, 0]})
    conflicting = pd.DataFrame({"customer_id": [known[0], known[0], known[1]], "outcome": [1, 0, 1]})
    bad = {
        "unknown": _save(mon_ws, pid, people["data-engineer"], unknown, "unknown_keys", target="outcome"),
        "conflicting": _save(mon_ws, pid, people["data-engineer"], conflicting, "conflicting", target="outcome"),
    }
    at = _open(mon_ws, "demo-deployment-engineer", LABELS)
    at.radio(key="monitor_labels_source").set_value("version").run()

    def _import(version):
        at.selectbox(key="monitor_labels_version").select(version.id).run()
        at.selectbox(key="monitor_labels_key").select("customer_id").run()
        at.selectbox(key="monitor_labels_outcome").select("outcome").run()
        at.button(key="monitor_labels_import").click().run()
        assert not at.exception

    _import(bad["conflicting"])
    assert any("different outcomes" in e and known[0] in e for e in texts(at, "error"))
    with session_scope(mon_ws.engine) as s:
        assert s.exec(select(func.count()).select_from(OutcomeImport)).one() == 0
        assert s.exec(select(func.count()).select_from(Outcome)).one() == 0
    _import(bad["unknown"])
    assert any("Imported: 2 of 4" in s for s in texts(at, "success"))
    warned = " ".join(texts(at, "warning"))
    assert "GHOST-1" in warned and "<b>" not in warned  # markup shown as text, not rendered


def test_alerts_are_listed_and_only_the_right_roles_edit_rules(mon_ws):
    pid, versions, _, _ = _context(mon_ws)
    _drift_in_process(mon_ws, versions["churn_next_month"])
    at = _open(mon_ws, "demo-deployment-engineer", ALERTS)
    assert any("Drift: " in e and "payment" in e for e in texts(at, "error"))
    assert at.dataframe  # the alert history (and the resources of the jobs)
    at.checkbox(key="rule_stale_on").uncheck()
    at.number_input(key="rule_drift_psi").set_value(0.5)
    at.button(key="FormSubmitter:monitor_rules_0-Save rules").click().run()
    assert not at.exception
    assert any("Alert rules saved (3 rules)" in s for s in texts(at, "success"))
    with session_scope(mon_ws.engine) as s:
        rules = R.alert_rules(session=s, project_id=pid)
    assert rules.version == 1 and rules.rules[0] == DriftRule(psi_above=0.5)
    assert "stale_batch" not in [r.kind for r in rules.rules]

    viewer = _open(mon_ws, "demo-viewer", ALERTS)
    assert not [b for b in viewer.button if "Save rules" in str(b.key)]
    assert any("PSI above: 0.5" in str(v) for v in viewer.dataframe[0].value.values.ravel())
    assert any(e for e in texts(viewer, "error"))  # still sees what fires
    with session_scope(mon_ws.engine) as s, pytest.raises(PermissionDenied):
        R.save_alert_rules(
            session=s,
            actor=get_user(session=s, name="demo-viewer"),
            project_id=pid,
            rules=[],
            expected_version=1,
        )


def test_retraining_page_promotes_with_an_approval(mon_ws):
    pid, versions, model, people = _context(mon_ws)
    job = R.submit_challenger(
        engine=mon_ws.engine,
        settings=mon_ws.settings,
        project_id=pid,
        model_version_id=model.id,
        version_id=versions["churn_next_month"].id,
        actor_id=people["model-developer"],
        launch=False,
    )
    with threadpool_limits(1):
        assert run_job(engine=mon_ws.engine, job_id=job, settings=mon_ws.settings).status == "succeeded"
    with session_scope(mon_ws.engine) as s:
        (request,) = R.retrain_requests(session=s, project_id=pid)
    job = R.submit_comparison(
        engine=mon_ws.engine,
        settings=mon_ws.settings,
        project_id=pid,
        model_version_id=model.id,
        challenger_id=request.challenger_id,
        version_id=versions["churn_next_month"].id,
        actor_id=people["deployment-engineer"],
        launch=False,
    )
    assert run_job(engine=mon_ws.engine, job_id=job, settings=mon_ws.settings).status == "succeeded"
    with session_scope(mon_ws.engine) as s:
        (comparison,) = R.comparisons(session=s, project_id=pid)

    viewer = _open(mon_ws, "demo-viewer", RETRAIN)
    assert not [b for b in viewer.button if "promote" in str(b.key).lower()]
    assert not [b for b in viewer.button if b.key == "monitor_retrain_train"]

    at = _open(mon_ws, "demo-model-developer", RETRAIN)
    verdict = md_escape(comparison.summary("en"))
    assert verdict in texts(at, "success") + texts(at, "info") + texts(at, "error")
    form = f"FormSubmitter:monitor_promote_{comparison.id}-Approve and promote"
    at.button(key=form).click().run()  # no reason given
    assert any("Write the reason" in e for e in texts(at, "error"))
    at.text_area(key=f"monitor_reason_{comparison.id}").input("Learned from June; better on recent customers")
    if comparison.verdict == "worse":
        at.checkbox(key=f"monitor_override_{comparison.id}").check()
    at.button(key=form).click().run()
    assert not at.exception
    assert any("churn@2 is now in production" in s for s in texts(at, "success"))
    with session_scope(mon_ws.engine) as s:
        assert resolve_model(session=s, project_id=pid, ref="churn").ref == "churn@2"
