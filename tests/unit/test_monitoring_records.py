"""Monitoring records: the demo's next month drifts on exactly the planted features and identical data on
none; references are cached per model; scored batches record their drift; outcomes are matched to stored
predictions (unknown keys and repeats reported, conflicts refused with nothing written); performance matches
a hand computation; alert rules, history and exit codes; resources of real jobs; retraining compares and
promotes with an approval."""

from __future__ import annotations

import math
import shutil
from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.metrics import recall_score
from sqlmodel import func, select
from threadpoolctl import threadpool_limits

from mlcore.auth import create_user, set_member
from mlcore.config import Limits, Settings
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.synthetic import make_churn
from mlcore.deploy.batch import score_batch
from mlcore.errors import ConflictError, InputError, NotFound, PermissionDenied
from mlcore.i18n import catalog
from mlcore.jobs import get_job, run_job, submit_job
from mlcore.modeling.tracking import (
    TrainingSpec,
    get_model_version,
    load_model,
    register_model,
    run_detail,
    submit_training,
    transition_stage,
)
from mlcore.monitoring import records as R
from mlcore.monitoring.alerts import DriftRule, FailedJobRule, MetricRule, StaleBatchRule
from mlcore.planning.records import save_canvas
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, Job, User, utcnow
from mlcore.store.models_monitoring import DriftReferenceCache, Outcome, OutcomeImport
from mlcore.workspace import open_workspace

PW = "correct horse 1"
N_ROWS = 20_000  # as the core test: enough for every planted shift to be certain and the others to stay quiet
LEAK = "cancellation_fee_charged"
FEATURES = [
    "tenure_months",
    "contract",
    "payment_method",
    "region",
    "senior",
    "has_partner",
    "income",
    "monthly_charges",
    "total_charges",
    "num_support_tickets",
    "avg_call_minutes",
    "data_usage_gb",
    "satisfaction_score",
    "last_complaint",  # read as categories (its top values): the data import gave it that role
]


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):
        yield


def _save(ws, project_id, user_id, frame, name, target="churned"):
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic"))
    where = ImportTarget(project_id=project_id, dataset_name=name, target=target)
    return save_table(
        engine=ws.engine, store=ws.store, loaded=loaded, where=where, actor_id=user_id, operation="synthetic"
    )


def _run(ws, job_id):
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    return view


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A project with this month and next month of the demo data, a logistic regression in production
    (trained without the leaky column) and next month scored as batch "june"."""
    home = tmp_path_factory.mktemp("monitor") / "home"
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'ciclo.db'}", limits=Limits())
    ws = open_workspace(settings)
    demo = make_churn(N_ROWS, random_state=0)
    with session_scope(ws.engine) as s:
        admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
        people = {"root": admin.id}
        project = create_project(session=s, data=ProjectCreate(name="Churn"), actor=admin)
        for name, role in [
            ("mo", "model_developer"),
            ("dep", "deployment_engineer"),
            ("dan", "data_engineer"),
            ("pat", "product_designer"),
            ("vera", "viewer"),
        ]:
            user = create_user(session=s, actor=admin, name=name, role=role, password=PW)
            set_member(session=s, actor=admin, project_id=project.id, user_id=user.id, role=role)
            people[name] = user.id
        pid = project.id
    current = _save(ws, pid, people["dan"], demo.current, "churn")
    nxt = _save(ws, pid, people["dan"], demo.next_month, "churn_next_month")
    spec = TrainingSpec("churned", FEATURES, ["logistic_regression"], ["recall", "roc_auc"], n_splits=2)
    with threadpool_limits(1):
        job = submit_training(
            engine=ws.engine,
            settings=settings,
            project_id=pid,
            version_id=current.id,
            spec=spec,
            actor_id=people["mo"],
            launch=False,
        )
        run_id = _run(ws, job).result["run_id"]
    with session_scope(ws.engine) as s:
        mo = s.get(User, people["mo"])
        candidate = run_detail(session=s, project_id=pid, run_id=run_id).candidates[0]
        mv = register_model(session=s, actor=mo, project_id=pid, candidate_id=candidate.id, name="churn")
        mv = transition_stage(
            session=s, actor=mo, project_id=pid, model_version_id=mv.id, stage="staging", expected_version=mv.version
        )
        mv = transition_stage(
            session=s, actor=mo, project_id=pid, model_version_id=mv.id, stage="production", expected_version=mv.version
        )
        pipeline = load_model(session=s, store=ws.store, candidate_id=candidate.id)
    unique = demo.next_month.drop_duplicates("customer_id").reset_index(drop=True)
    batch = score_batch(
        pa.Table.from_pandas(unique, preserve_index=False),
        engine=ws.engine,
        pipeline=pipeline,
        project_id=pid,
        actor_id=people["dep"],
        model_version_id=mv.id,
        batch_key="june",
        key_column="customer_id",
        source={"kind": "version", "version_id": nxt.id},
    )
    yield {
        "ws": ws,
        "pid": pid,
        "people": people,
        "demo": demo,
        "current": current,
        "next": nxt,
        "mv": mv,
        "candidate_id": candidate.id,
        "pipeline": pipeline,
        "batch": batch,
        "unique": unique,
    }
    ws.engine.dispose()


@pytest.fixture
def fresh(world, tmp_path):
    """A copy of the module's workspace, for tests that write."""
    home = tmp_path / "home"
    shutil.copytree(world["ws"].settings.home, home)
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'ciclo.db'}", limits=Limits())
    ws = open_workspace(settings)
    yield {**world, "ws": ws}
    ws.engine.dispose()


def _user(s, w, name):
    return s.get(User, w["people"][name])


def _drift(w, version, who="dep"):
    job = R.submit_drift(
        engine=w["ws"].engine,
        settings=w["ws"].settings,
        project_id=w["pid"],
        actor_id=w["people"][who],
        model_version_id=w["mv"].id,
        version_id=version.id,
        launch=False,
    )
    view = _run(w["ws"], job)
    with session_scope(w["ws"].engine) as s:
        return R.get_drift_record(session=s, project_id=w["pid"], drift_id=view.result["drift_id"]), view


# --------------------------------------------------------------------------- drift


def test_next_month_drifts_on_exactly_the_planted_features_and_the_same_month_on_none(fresh):
    planted = set(fresh["demo"].problems.drifted_features)
    record, view = _drift(fresh, fresh["next"])
    assert set(record.drifted) == planted
    assert record.status == "alert" and record.kind == "version" and record.label == "churn_next_month v1"
    assert set(record.report.drifted("alert")) == {"monthly_charges", "payment_method"}
    assert record.report.prediction is not None and record.report.prediction.status != "ok"
    assert view.result["n_rows"] == N_ROWS
    same, _ = _drift(fresh, fresh["current"])
    assert same.status == "ok" and same.drifted == () and same.report.prediction.status == "ok"
    for line in record.report.explain("es") + record.report.explain("en"):
        assert "{" not in line
    with session_scope(fresh["ws"].engine) as s:
        records = R.drift_records(session=s, project_id=fresh["pid"])
        assert [r.id for r in records] == [same.id, record.id]  # newest first
        assert s.exec(select(func.count()).select_from(DriftReferenceCache)).one() == 1  # built once
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "monitor.drift")).all()
    assert len(events) == 2 and events[0].actor_name == "dep"
    table = R.drift_table(record.report, lang="es")
    assert table.iloc[0]["Veredicto"] == "Deriva fuerte" and table.iloc[-1]["Variable"] == "(predicciones del modelo)"
    history = R.drift_history_frame(records)
    # oldest first, by when the data was observed (the versions' creation), not when drift was measured
    assert list(history.drop_duplicates("order")["batch"]) == ["churn v1", "churn_next_month v1"]
    figure = R.drift_trend_figure(history, lang="en")
    assert len(figure.data) == len(record.report.features) + 1


def test_reference_is_built_from_training_rows_once_per_model_file(fresh, monkeypatch):
    w = fresh
    with session_scope(w["ws"].engine) as s:
        reference = R.reference_for_model(
            session=s, store=w["ws"].store, project_id=w["pid"], candidate_id=w["candidate_id"]
        )
    run_rows = int(N_ROWS * 0.8)
    assert reference.n_rows == run_rows  # the locked test rows are left out
    assert set(reference.feature_names) == set(FEATURES)
    assert LEAK not in reference.feature_names and reference.prediction is not None
    assert reference.feature("senior").role == "boolean" and reference.feature("has_partner").role == "boolean"
    monkeypatch.setattr(R, "_build_reference", lambda *a: pytest.fail("rebuilt"))
    with session_scope(w["ws"].engine) as s:
        again = R.reference_for_model(
            session=s, store=w["ws"].store, project_id=w["pid"], candidate_id=w["candidate_id"]
        )
        with pytest.raises(NotFound):
            R.reference_for_model(
                session=s, store=w["ws"].store, project_id=w["pid"] + 99, candidate_id=w["candidate_id"]
            )
    assert again == reference


def test_scoring_job_api_records_batch_drift(fresh):
    w = fresh
    frame = w["unique"]
    pipeline = w["pipeline"]
    with session_scope(w["ws"].engine) as s:
        drift = R.batch_drift_for_model(
            session=s, store=w["ws"].store, project_id=w["pid"], model_version_id=w["mv"].id
        )
    scorer = R._scorer(pipeline)
    for start in range(0, len(frame), 5_000):
        chunk = frame.iloc[start : start + 5_000]
        drift.update(chunk, scores=R._scores(pipeline, scorer, chunk[FEATURES]))
    report = drift.report(batch="june")
    assert set(report.drifted()) == set(w["demo"].problems.drifted_features)
    with session_scope(w["ws"].engine) as s:
        view = R.record_batch_drift(session=s, project_id=w["pid"], batch_id=w["batch"].batch_id, report=report)
        assert (
            view.kind == "batch" and view.label == "june" and view.model_ref == "churn@1" and view.created_by == "dep"
        )
        listed = R.scorable_batches(session=s, project_id=w["pid"])
        with pytest.raises(NotFound):
            R.record_batch_drift(session=s, project_id=w["pid"], batch_id=999, report=report)
    assert listed[0].has_drift and listed[0].version_id == w["next"].id
    # a model feature missing from a batch is reported, as an alert, not a crash
    with session_scope(w["ws"].engine) as s:
        drift = R.batch_drift_for_model(
            session=s, store=w["ws"].store, project_id=w["pid"], candidate_id=w["candidate_id"]
        )
    missing = drift.update(frame.drop(columns=["monthly_charges"]).iloc[:2000]).report()
    assert missing.missing_columns == ("monthly_charges",) and missing.status == "alert"
    assert missing.prediction is None  # no scores given: prediction drift not measured
    with pytest.raises(InputError) as info:
        drift.update(frame.iloc[:10], scores=[0.5, 0.4])
    assert info.value.key == "monitoring.reference.prediction_length"


def test_drift_of_a_batch_reads_its_version_again(fresh):
    w = fresh
    job = R.submit_drift(
        engine=w["ws"].engine,
        settings=w["ws"].settings,
        project_id=w["pid"],
        actor_id=w["people"]["dep"],
        batch_id=w["batch"].batch_id,
        launch=False,
    )
    view = _run(w["ws"], job)
    assert view.result["label"] == "june" and view.result["status"] == "alert"
    with session_scope(w["ws"].engine) as s:
        (record,) = R.drift_records(session=s, project_id=w["pid"])
    assert record.batch_id == w["batch"].batch_id and record.dataset_version_id == w["next"].id


def test_a_batch_with_columns_missing_is_a_clear_report(fresh):
    w = fresh
    cut = w["demo"].next_month.drop(columns=["monthly_charges", "contract"]).iloc[:3000]
    version = _save(w["ws"], w["pid"], w["people"]["dan"], cut, "partial")
    record, _ = _drift(w, version)
    assert record.status == "alert" and set(record.report.missing_columns) == {"monthly_charges", "contract"}
    assert record.report.prediction is None  # the model cannot score rows without its features
    texts = " ".join(record.report.explain("en"))
    assert 'Column "monthly_charges" is not in the batch' in texts


@pytest.mark.parametrize(
    "kwargs,key",
    [
        ({}, "monitor.drift.pick_one"),
        ({"version_id": 1, "batch_id": 1}, "monitor.drift.pick_one"),
        ({"version_id": "1"}, "monitor.bad_id"),
        ({"version_id": True}, "monitor.bad_id"),
    ],
)
def test_bad_drift_requests(world, kwargs, key):
    w = world
    with pytest.raises(InputError) as info:
        R.submit_drift(
            engine=w["ws"].engine,
            settings=w["ws"].settings,
            project_id=w["pid"],
            actor_id=w["people"]["dep"],
            model_version_id=w["mv"].id,
            launch=False,
            **kwargs,
        )
    assert info.value.key == key
    with pytest.raises(NotFound):
        R.submit_drift(
            engine=w["ws"].engine,
            settings=w["ws"].settings,
            project_id=w["pid"],
            actor_id=w["people"]["dep"],
            model_version_id=w["mv"].id,
            version_id=9999,
            launch=False,
        )


def test_a_model_trained_on_too_few_rows_has_no_reference(fresh):
    w = fresh
    tiny = _save(w["ws"], w["pid"], w["people"]["dan"], w["demo"].current.iloc[:24], "tiny")
    spec = TrainingSpec("churned", ["tenure_months", "contract"], ["dummy"], ["accuracy"], n_splits=2)
    job = submit_training(
        engine=w["ws"].engine,
        settings=w["ws"].settings,
        project_id=w["pid"],
        version_id=tiny.id,
        spec=spec,
        actor_id=w["people"]["mo"],
        launch=False,
    )
    run_id = _run(w["ws"], job).result["run_id"]
    with session_scope(w["ws"].engine) as s:
        candidate = run_detail(session=s, project_id=w["pid"], run_id=run_id).candidates[0]
        with pytest.raises(InputError) as info:
            R.reference_for_model(session=s, store=w["ws"].store, project_id=w["pid"], candidate_id=candidate.id)
    assert info.value.key == "monitor.reference.too_few_rows" and info.value.params["rows"] == 19
    assert "19" in info.value.message("es") and "{" not in info.value.message("es")


# --------------------------------------------------------------------------- delayed labels


def _outcomes(w, frame, who="dan", **kwargs):
    return R.import_outcomes(
        engine=w["ws"].engine,
        project_id=w["pid"],
        actor_id=w["people"][who],
        data=frame,
        key_column=kwargs.pop("key", "customer_id"),
        outcome_column=kwargs.pop("outcome", "churned"),
        **kwargs,
    )


def _counts(w):
    with session_scope(w["ws"].engine) as s:
        return (
            s.exec(select(func.count()).select_from(OutcomeImport)).one(),
            s.exec(select(func.count()).select_from(Outcome)).one(),
        )


def test_outcomes_are_matched_by_key_and_what_was_left_out_is_reported(fresh):
    w = fresh
    truth = w["unique"][["customer_id", "churned"]]
    part = truth.iloc[:5000]
    extra = pd.DataFrame(
        {
            "customer_id": ["NOPE-1", "=cmd|' /C calc'!A0", part.customer_id[0], None],
            "churned": [1, 0, part.churned[0], 1],
        }
    )
    view = _outcomes(w, pd.concat([part, extra], ignore_index=True), source={"kind": "file", "name": "june.csv"})
    assert (view.n_rows, view.n_matched, view.n_unknown, view.n_duplicates, view.n_incomplete) == (5004, 5000, 2, 1, 1)
    assert view.unknown_keys == ("NOPE-1", "=cmd|' /C calc'!A0")
    assert view.n_predictions == len(w["unique"])
    messages = view.messages("es")
    assert "5,000" in messages[0] and "5,004" in messages[0]
    assert any("NOPE-1" in m for m in messages) and not any("{" in m for m in messages)
    # keys are compared as trimmed text; importing again replaces, never duplicates
    again = _outcomes(w, truth.iloc[:100].assign(customer_id=lambda f: " " + f.customer_id + " "))
    assert again.n_matched == 100 and again.n_replaced == 100
    assert _counts(w) == (2, 5000)
    with session_scope(w["ws"].engine) as s:
        listed = R.outcome_imports(session=s, project_id=w["pid"])
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "monitor.labels")).all()
    assert [i.id for i in listed] == [again.id, view.id] and len(events) == 2
    assert list(R.outcome_imports_frame(listed, lang="en").iloc[1])[1] == "june.csv"


@pytest.mark.parametrize(
    "frame,kwargs,key",
    [
        (pd.DataFrame({"customer_id": ["C1", "C1"], "churned": [1, 0]}), {}, "monitoring.outcomes.conflicting"),
        (pd.DataFrame({"customer_id": ["X1", "X2"], "churned": [1, 0]}), {}, "monitoring.outcomes.no_match"),
        (pd.DataFrame({"customer_id": [], "churned": []}), {}, "monitoring.outcomes.empty"),
        (pd.DataFrame({"id": ["a"], "y": [1]}), {}, "monitor.outcomes.column_missing"),
        (pd.DataFrame({"customer_id": ["a"], "y": [1]}), {"outcome": "customer_id"}, "monitor.outcomes.same_column"),
        (
            pd.DataFrame({"customer_id": ["a"], "churned": [1]}),
            {"batch_column": "<script>"},
            "monitor.outcomes.column_missing",
        ),
    ],
)
def test_bad_outcomes_are_refused_and_nothing_is_written(fresh, frame, kwargs, key):
    w = fresh
    known = w["unique"].customer_id[0]
    if key == "monitoring.outcomes.conflicting":
        frame = pd.concat([frame.assign(customer_id=known), w["unique"][["customer_id", "churned"]].iloc[1:50]])
    before = _counts(w)
    with pytest.raises(InputError) as info:
        _outcomes(w, frame, **kwargs)
    assert info.value.key == key
    assert "{" not in info.value.message("es")
    if key == "monitoring.outcomes.conflicting":
        assert known in info.value.params["keys"]
    if key == "monitoring.outcomes.no_match":
        assert "X1" in info.value.params["keys"] and info.value.params["expected"]
    assert _counts(w) == before


def test_a_key_scored_in_two_batches_needs_the_batch_column(fresh):
    w = fresh
    rows = w["unique"].iloc[:300]
    score_batch(
        pa.Table.from_pandas(rows, preserve_index=False),
        engine=w["ws"].engine,
        pipeline=w["pipeline"],
        project_id=w["pid"],
        actor_id=w["people"]["dep"],
        model_version_id=w["mv"].id,
        batch_key="july",
        key_column="customer_id",
    )
    outcomes = rows[["customer_id", "churned"]].iloc[:10]
    with pytest.raises(InputError) as info:
        _outcomes(w, outcomes)
    assert info.value.key == "monitoring.predictions.duplicate_keys"
    view = _outcomes(w, outcomes.assign(batch="july"), batch_column="batch")
    assert view.n_matched == 10
    with session_scope(w["ws"].engine) as s:
        matched = R.matched_outcomes(session=s, project_id=w["pid"])
    assert set(matched["batch"]) == {"july"}


def test_performance_over_time_matches_a_hand_computation(fresh):
    w = fresh
    with session_scope(w["ws"].engine) as s:
        pat = _user(s, w, "pat")
        save_canvas(
            session=s, project_id=w["pid"], data={"metric": "recall", "threshold": 0.7}, expected_version=0, actor=pat
        )
        assert R.performance_for(session=s, project_id=w["pid"]) is None  # no outcome yet
    truth = w["unique"][["customer_id", "churned"]].iloc[:4000]
    _outcomes(w, truth)
    with session_scope(w["ws"].engine) as s:
        perf = R.performance_for(session=s, project_id=w["pid"], period="batch")
        matched = R.matched_outcomes(session=s, project_id=w["pid"])
        auc = R.performance_for(session=s, project_id=w["pid"], metric="roc_auc", period="W")
    assert perf.metric == "recall" and perf.threshold == 0.7 and perf.n == 4000
    assert len(matched) == 4000 and set(matched["outcome"]) == {"0", "1"}
    by_hand = recall_score(matched["outcome"].astype(int), matched["label"].astype(int))
    assert math.isclose(perf.overall, by_hand) and math.isclose(perf.table["value"].iloc[0], by_hand)
    assert perf.table["status"].iloc[0] == ("pass" if by_hand >= 0.7 else "fail")
    assert auc.threshold is None and 0.5 < auc.overall <= 1.0  # the criterion is about recall only
    frame = R.performance_frame(perf, lang="es")
    assert list(frame.columns) == ["Periodo", "Predicciones con resultado", "recall", "Criterio"]
    assert len(R.performance_figure(perf, lang="es").data) == 1


# --------------------------------------------------------------------------- alerts


def test_alert_rules_are_saved_per_project_with_a_version_and_an_audit(fresh):
    w = fresh
    with session_scope(w["ws"].engine) as s:
        defaults = R.alert_rules(session=s, project_id=w["pid"])
        assert not defaults.saved and defaults.version == 0
        assert [r.kind for r in defaults.rules] == ["drift", "failed_job", "stale_batch", "resources"]
        dep = _user(s, w, "dep")
        saved = R.save_alert_rules(
            session=s,
            actor=dep,
            project_id=w["pid"],
            rules=[DriftRule(psi_above=0.3), StaleBatchRule(max_days=2)],
            expected_version=0,
        )
    assert saved.saved and saved.version == 1 and saved.updated_by == "dep"
    with session_scope(w["ws"].engine) as s:
        dep = _user(s, w, "dep")
        with pytest.raises(ConflictError):
            R.save_alert_rules(session=s, actor=dep, project_id=w["pid"], rules=[], expected_version=0)
    for who in ("vera", "dan", "mo"):
        with session_scope(w["ws"].engine) as s, pytest.raises(PermissionDenied):
            R.save_alert_rules(session=s, actor=_user(s, w, who), project_id=w["pid"], rules=[], expected_version=1)
    with session_scope(w["ws"].engine) as s:
        assert R.alert_rules(session=s, project_id=w["pid"]).rules == (
            DriftRule(psi_above=0.3),
            StaleBatchRule(max_days=2),
        )
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "monitor.alerts")).one()
    assert "stale_batch(max_days=2" in event.after["rules"]
    form = R.rules_form(saved.rules, metric="recall", threshold=0.7)
    assert form.drift and form.drift_psi == 0.3 and not form.failed_job and not form.metric
    assert R.rules_from_form(form) == saved.rules
    with pytest.raises(InputError) as info:
        R.rules_from_form(R.RulesForm(metric=True))
    assert info.value.key == "monitor.alerts.metric_needed"
    with pytest.raises(InputError):
        R.rules_from_form(R.RulesForm(drift_psi=-1))
    assert list(R.rules_frame(saved.rules, lang="es").iloc[0]) == [
        "Deriva por encima de un umbral",
        "PSI mayor que: 0.3",
        "Crítica",
    ]


def test_alerts_fire_are_kept_in_the_history_and_resolve(fresh):
    w = fresh
    with session_scope(w["ws"].engine) as s:
        first = R.check_alerts(session=s, project_id=w["pid"])
    assert first.alerts == () and first.exit_code == 0  # a batch was scored just now; no drift report yet
    _drift(w, w["next"])
    with session_scope(w["ws"].engine) as s:
        fired = R.check_alerts(session=s, project_id=w["pid"])
        again = R.check_alerts(session=s, project_id=w["pid"], source="cli")
    assert [a.rule for a in fired.alerts] == ["drift"] and fired.exit_code == 2
    assert fired.opened == 0 and again.opened == 0  # the drift job itself checked and opened it
    assert "payment_method" in fired.alerts[0].message("en")
    with session_scope(w["ws"].engine) as s:
        (opened,) = R.alert_events(session=s, project_id=w["pid"])
    assert opened.open and opened.source == "job" and opened.rule == "drift"
    _drift(w, w["current"])  # the newest report is quiet again
    later = utcnow() + timedelta(days=10)
    with session_scope(w["ws"].engine) as s:
        quiet = R.check_alerts(session=s, project_id=w["pid"], now=later, fail_on="critical")
        events = R.alert_events(session=s, project_id=w["pid"])
    assert [a.rule for a in quiet.alerts] == ["stale_batch"] and quiet.exit_code == 0 and quiet.opened == 1
    assert [(e.rule, e.open) for e in events] == [("stale_batch", True), ("drift", False)]
    frame = R.alert_history_frame(events, lang="en")
    assert frame.iloc[0]["Resolved"] == "still firing" and "10.0 days" in frame.iloc[0]["Message"]
    with session_scope(w["ws"].engine) as s, pytest.raises(InputError):
        R.check_alerts(session=s, project_id=w["pid"], fail_on="loud")


def test_a_failed_job_and_a_failing_metric_fire(fresh):
    w = fresh
    with session_scope(w["ws"].engine) as s:
        job = submit_job(
            session=s, kind="sleep", params={"steps": "x"}, actor_id=w["people"]["dep"], project_id=w["pid"]
        )
        job_id = job.id
    assert run_job(engine=w["ws"].engine, job_id=job_id, settings=w["ws"].settings).status == "failed"
    _outcomes(w, w["unique"][["customer_id", "churned"]].iloc[:2000])
    with session_scope(w["ws"].engine) as s:
        dep = _user(s, w, "dep")
        R.save_alert_rules(
            session=s,
            actor=dep,
            project_id=w["pid"],
            rules=[FailedJobRule(), MetricRule(metric="recall", threshold=0.99)],
            expected_version=0,
        )
        check = R.check_alerts(session=s, project_id=w["pid"])
    assert {a.rule for a in check.alerts} == {"failed_job", "metric"} and check.exit_code == 2
    texts = R.alerts_frame(check.alerts, lang="es")["Mensaje"].tolist()
    assert any(str(job_id) in t and "fallaron" in t for t in texts) and all("{" not in t for t in texts)


# --------------------------------------------------------------------------- resources


def test_every_job_records_its_resources(fresh):
    w = fresh
    _, view = _drift(w, w["next"])
    with session_scope(w["ws"].engine) as s:
        job = s.get(Job, view.id)
        sleep = submit_job(session=s, kind="sleep", params={"steps": 2, "seconds": 0.05}, actor_id=w["people"]["dep"])
        sleep_id = sleep.id
    assert job.wall_s > 0 and job.cpu_s >= 0 and job.peak_memory_mb > 10
    assert job.rows_processed == N_ROWS and math.isclose(job.rows_per_s, N_ROWS / job.wall_s)
    run_job(engine=w["ws"].engine, job_id=sleep_id, settings=w["ws"].settings)
    with session_scope(w["ws"].engine) as s:
        slept = s.get(Job, sleep_id)
        trends = R.job_resources(session=s, project_id=w["pid"])
        assert get_job(session=s, job_id=sleep_id).status == "succeeded"
    assert slept.wall_s >= 0.1 and slept.rows_processed is None and slept.rows_per_s is None
    assert {"train", "drift"} <= set(trends.table["kind"])  # the project's jobs only (sleep has no project)
    frame = R.resources_frame(trends, lang="en")
    assert {"Training", "Drift"} <= set(frame["Job"]) and "Rows per second" in frame.columns
    assert R.resource_figure(trends, measure="rows_per_s").data


# --------------------------------------------------------------------------- retraining


def test_retraining_trains_a_challenger_compares_and_promotes_with_approval(fresh):
    w = fresh
    engine, settings = w["ws"].engine, w["ws"].settings
    with session_scope(engine) as s:
        spec = R.challenger_spec(session=s, project_id=w["pid"], model_version_id=w["mv"].id)
        newer = R.newer_versions(session=s, project_id=w["pid"], model_version_id=w["mv"].id)
    assert spec.families == ("logistic_regression",) and list(spec.features) == FEATURES and spec.search is None
    assert [v.id for v in newer] == [w["next"].id]
    with pytest.raises(InputError) as info:
        R.submit_challenger(
            engine=engine,
            settings=settings,
            project_id=w["pid"],
            model_version_id=w["mv"].id,
            version_id=w["current"].id,
            actor_id=w["people"]["mo"],
            launch=False,
        )
    assert info.value.key == "monitor.retrain.same_version"
    job = R.submit_challenger(
        engine=engine,
        settings=settings,
        project_id=w["pid"],
        model_version_id=w["mv"].id,
        version_id=w["next"].id,
        actor_id=w["people"]["mo"],
        launch=False,
    )
    _run(w["ws"], job)
    with session_scope(engine) as s:
        (request,) = R.retrain_requests(session=s, project_id=w["pid"])
    assert request.job_status == "succeeded" and request.challenger_id is not None and request.champion_ref == "churn@1"
    job = R.submit_comparison(
        engine=engine,
        settings=settings,
        project_id=w["pid"],
        model_version_id=w["mv"].id,
        challenger_id=request.challenger_id,
        version_id=w["next"].id,
        actor_id=w["people"]["dep"],
        launch=False,
    )
    result = _run(w["ws"], job).result
    with session_scope(engine) as s:
        (comparison,) = R.comparisons(session=s, project_id=w["pid"])
    # the challenger learned from next month: both are judged on its locked test rows only
    assert comparison.rows == "test" and comparison.n_rows == int(N_ROWS * 0.2) == result["n_rows"]
    assert comparison.primary_metric == "recall" and set(comparison.metrics) == {"recall", "roc_auc"}
    assert comparison.verdict in ("better", "similar", "worse")
    assert "{" not in comparison.summary("es")
    table = R.comparison_frame(comparison, lang="en")
    assert list(table["Metric"]) == ["recall", "roc_auc"]
    assert math.isclose(table["Difference"][0], table["Challenger"][0] - table["Champion"][0])

    for who in ("vera", "dan"):
        with session_scope(engine) as s, pytest.raises(PermissionDenied):
            R.promote_challenger(
                session=s, actor=_user(s, w, who), project_id=w["pid"], comparison_id=comparison.id, reason="x"
            )
    with session_scope(engine) as s, pytest.raises(PermissionDenied) as denied:  # may promote, may not register
        R.promote_challenger(
            session=s, actor=_user(s, w, "dep"), project_id=w["pid"], comparison_id=comparison.id, reason="ok"
        )
    assert denied.value.params["action"] == "model.register"
    with session_scope(engine) as s, pytest.raises(InputError) as info:
        R.promote_challenger(
            session=s, actor=_user(s, w, "mo"), project_id=w["pid"], comparison_id=comparison.id, reason=" "
        )
    assert info.value.key == "monitor.retrain.reason_required"
    with session_scope(engine) as s:
        promoted = R.promote_challenger(
            session=s,
            actor=_user(s, w, "mo"),
            project_id=w["pid"],
            comparison_id=comparison.id,
            reason="Recent data, better recall",
            override=True,
        )
        champion = get_model_version(session=s, project_id=w["pid"], model_version_id=w["mv"].id)
        (after,) = R.comparisons(session=s, project_id=w["pid"])
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "monitor.promote")).one()
        stages = s.exec(select(AuditEvent).where(AuditEvent.action == "model.stage")).all()
    assert promoted.ref == "churn@2" and promoted.stage == "production" and champion.stage == "archived"
    assert after.promoted and after.promoted_ref == "churn@2" and after.promoted_by == "mo"
    assert event.reason == "Recent data, better recall" and event.before == {"production": "churn@1"}
    assert sum(1 for e in stages if "comparison #" in e.reason) == 3  # staging, production, and the champion archived
    with session_scope(engine) as s, pytest.raises(InputError) as info:
        R.promote_challenger(
            session=s, actor=_user(s, w, "mo"), project_id=w["pid"], comparison_id=comparison.id, reason="x"
        )
    assert info.value.key == "monitor.retrain.already_promoted"


def test_catalog_has_every_monitoring_page_key_in_both_languages():
    en, es = catalog("en"), catalog("es")
    mine = [k for k in en if k.startswith("monitor.")]
    assert len(mine) > 200 and all(k in es and es[k] != "" for k in mine)
    assert np.mean([en[k] != es[k] for k in mine]) > 0.9
