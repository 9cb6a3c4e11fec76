"""Training records: the train job stores complete, reproducible runs; the runs table, notes and tags;
loading refuses tampered files and other package versions; registry stages keep one production
version; packages are complete; bad input says what to do."""

from __future__ import annotations

import io
import json
import math
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlmodel import select
from threadpoolctl import threadpool_limits

from mlcore.artifacts import ArtifactCorrupted, sha256_file
from mlcore.auth import create_user, set_member
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.synthetic import make_churn
from mlcore.data.understanding import submit_quality
from mlcore.data.versions import create_version
from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.i18n import catalog, translate
from mlcore.jobs import JobContext, request_cancel, run_job
from mlcore.modeling.tracking import (
    PACKAGE_FILES,
    STAGES,
    TRANSITIONS,
    TrainingSpec,
    apply_settings,
    default_features,
    default_metrics,
    default_spec,
    export_package,
    family_names,
    get_candidate,
    list_registry,
    list_runs,
    load_model,
    package_filename,
    parallel_coordinates_chart,
    parameter_metric_frame,
    parameters_frame,
    read_test_rows,
    register_model,
    registry_frame,
    reproductions,
    resolve_model,
    resolve_version,
    run_detail,
    set_notes_and_tags,
    set_run_notes_and_tags,
    spec_settings,
    submit_reproduce,
    submit_training,
    training_runs,
    transition_stage,
)
from mlcore.planning.records import save_canvas
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import Artifact, AuditEvent, User
from mlcore.store.models_modeling import ModelVersion, RunCandidate, TrainingRun

PW = "correct horse 1"
N_ROWS = 300
FAMILIES = ["dummy", "logistic_regression", "hist_gradient_boosting"]
# Small boosting keeps every test fast; the families' own defaults are exercised in the benchmark.
FAST = {"hist_gradient_boosting": {"max_iter": 15}, "random_forest": {"n_estimators": 10, "n_jobs": 1}}


@pytest.fixture(autouse=True)
def _one_thread():
    """Models fit on one thread: on a busy two-core machine OpenMP threads wait for each other."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def churn() -> pd.DataFrame:
    return make_churn(N_ROWS, random_state=3).current


@pytest.fixture
def team(ws):
    """An admin, a model developer, a deployment engineer, a domain expert and a viewer in two projects."""
    with session_scope(ws.engine) as s:
        admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
        people = {"admin": admin}
        for name, role in [
            ("mo", "model_developer"),
            ("dep", "deployment_engineer"),
            ("edu", "domain_expert"),
            ("vera", "viewer"),
        ]:
            people[name] = create_user(session=s, actor=admin, name=name, role=role, password=PW)
        project = create_project(session=s, data=ProjectCreate(name="Churn"), actor=admin)
        prices = create_project(session=s, data=ProjectCreate(name="Prices", task_type="regression"), actor=admin)
        for name in ("mo", "dep", "edu", "vera"):
            for p in (project, prices):
                set_member(session=s, actor=admin, project_id=p.id, user_id=people[name].id, role=people[name].role)
    return {**people, "project": project.id, "prices": prices.id}


def _import(ws, team, frame, *, target="churned", name="churn", project=None, roles=None):
    loaded = ingest.load_frame(frame, roles=roles, source=ingest.SourceInfo(format="synthetic"))
    return save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project or team["project"], dataset_name=name, target=target, roles=roles),
        actor_id=team["admin"].id,
        operation="synthetic",
    )


def _spec(ws, team, version, *, project=None, **changes) -> TrainingSpec:
    project_id = project or team["project"]
    with session_scope(ws.engine) as s:
        base = default_spec(session=s, store=ws.store, project_id=project_id, version_id=version.id)
    settings = {"families": FAMILIES, "n_splits": 3, "params": FAST, **changes}
    task_type = "regression" if project_id == team["prices"] else "classification"
    return apply_settings(base, settings, task_type=task_type)


def _train(ws, team, version, *, actor="mo", project=None, spec=None, **changes):
    spec = spec or _spec(ws, team, version, project=project, **changes)
    job_id = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=project or team["project"],
        version_id=version.id,
        spec=spec,
        actor_id=team[actor].id,
        launch=False,
    )
    return run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)


def _trained(ws, team, version, **changes):
    view = _train(ws, team, version, **changes)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        return run_detail(session=s, project_id=team["project"], run_id=view.result["run_id"])


def _events(ws, action):
    with session_scope(ws.engine) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def _user(s, team, name) -> User:
    return s.get(User, team[name].id)


# --------------------------------------------------------------------------- defaults


def test_default_features_leave_out_identifiers_text_and_leaks_with_reasons(ws, team, churn):
    version = _import(ws, team, churn)
    with session_scope(ws.engine) as s:
        before = default_features(session=s, store=ws.store, project_id=team["project"], version_id=version.id)
    reasons = {e.column: e.reason for e in before.excluded}
    assert reasons == {"customer_id": "tracking.excluded.identifier", "last_complaint": "tracking.excluded.text"}
    assert "cancellation_fee_charged" in before.features  # no quality run yet: the leak is not known
    assert before.target == "churned" and "churned" not in before.features + before.columns
    assert set(before.features) | set(reasons) == set(before.columns)

    job = submit_quality(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        version_id=version.id,
        actor_id=team["admin"].id,
        launch=False,
    )
    assert run_job(engine=ws.engine, job_id=job, settings=ws.settings).status == "succeeded"
    with session_scope(ws.engine) as s:
        after = default_features(session=s, store=ws.store, project_id=team["project"], version_id=version.id)
        other_target = default_features(
            session=s, store=ws.store, project_id=team["project"], version_id=version.id, target="senior"
        )
    leak = next(e for e in after.excluded if e.column == "cancellation_fee_charged")
    assert leak.reason == "tracking.excluded.leakage" and 0.5 < leak.params["score"] <= 1.0
    assert "cancellation_fee_charged" not in after.features
    for lang in ("en", "es"):
        text = leak.message(lang)
        assert "cancellation_fee_charged" in text and "{" not in text
    assert list(after.excluded_frame(lang="es").columns) == ["column", "reason"]
    # the leak was measured against the version's target, not another one
    assert "cancellation_fee_charged" in other_target.features and "churned" in other_target.features


def test_default_metrics_put_the_canvas_metric_first(ws, team):
    with session_scope(ws.engine) as s:
        plain = default_metrics(session=s, project_id=team["project"])
        assert plain == ("roc_auc", "f1", "balanced_accuracy")
        save_canvas(
            session=s,
            project_id=team["project"],
            data={"task_type": "classification", "metric": "recall", "threshold": 0.7},
            expected_version=0,
            actor=_user(s, team, "admin"),
        )
    with session_scope(ws.engine) as s:
        chosen = default_metrics(session=s, project_id=team["project"])
        assert chosen[0] == "recall" and len(chosen) == len(set(chosen)) == 4
        assert default_metrics(session=s, project_id=team["prices"])[0] == "mae"


# --------------------------------------------------------------------------- the spec


def test_training_spec_is_validated_when_built():
    ok = TrainingSpec("y", ["a", "b", "a"], ["dummy"], ["roc_auc"], budget_s=5)
    assert ok.features == ("a", "b") and ok.search == "random" and ok.search_settings["budget_s"] == 5.0
    assert TrainingSpec.from_json(ok.to_json()) == ok
    assert json.loads(json.dumps(ok.to_json())) == ok.to_json()
    cases = [
        ({"budget_s": 0}, "modeling.bad_budget"),
        ({"budget_s": -3, "search": "halving"}, "modeling.bad_budget"),
        ({"search": "random"}, "modeling.bad_budget"),
        ({"search": "grid", "budget_s": 5}, "modeling.unknown_search"),
        ({"scheme": "loo"}, "modeling.unknown_scheme"),
        ({"n_splits": 1}, "modeling.bad_n_splits"),
        ({"n_splits": True}, "modeling.bad_n_splits"),
        ({"test_size": 1.0}, "modeling.bad_test_size"),
        ({"seed": -1}, "tracking.bad_seed"),
        ({"scheme": "group_kfold"}, "modeling.groups_required"),
        ({"scheme": "time_series"}, "modeling.order_required"),
        ({"features": ["a", "y"]}, "tracking.target_in_features"),
        ({"features": []}, "modeling.no_features"),
        ({"families": []}, "modeling.no_families"),
        ({"metrics": [3]}, "tracking.bad_spec"),
        ({"n_iter": 0, "budget_s": 5}, "modeling.bad_n_iter"),
        ({"params": {"rf": 3}}, "tracking.bad_spec"),
        ({"params": {"ridge": {"alpha": object()}}}, "tracking.bad_spec"),
    ]
    for change, key in cases:
        values = {"target": "y", "features": ["a"], "families": ["dummy"], "metrics": ["roc_auc"], **change}
        with pytest.raises(InputError) as info:
            TrainingSpec(**values)
        assert info.value.key == key, change
    with pytest.raises(InputError) as info:
        TrainingSpec("y", ["a"], ["dummy"], ["mae"], budget_s=0)
    assert info.value.message("en") == "The time budget must be a positive number of seconds (got 0)."
    assert "positivo" in info.value.message("es")
    with pytest.raises(InputError) as info:
        TrainingSpec.from_json({**ok.to_json(), "evil": 1})
    assert info.value.key == "tracking.bad_spec" and "evil" in info.value.message("en")


def test_settings_files_and_short_family_names():
    assert family_names("HGB, rf,logreg,rf", task_type="classification") == (
        "hist_gradient_boosting",
        "random_forest",
        "logistic_regression",
    )
    assert family_names(["ridge", "lasso"], task_type="regression") == ("ridge", "lasso")
    for bad, key in [("xgboost", "modeling.unknown_family"), ("", "modeling.no_families"), ("ridge", None)]:
        if key is None:
            with pytest.raises(InputError) as info:
                family_names(bad, task_type="classification")  # ridge is for regression
            assert info.value.key == "modeling.unknown_family"
            continue
        with pytest.raises(InputError) as info:
            family_names(bad, task_type="classification")
        assert info.value.key == key
    settings = spec_settings('{"families": "hgb", "n_splits": 4, "budget_s": 2}')
    base = TrainingSpec("y", ["a"], ["dummy"], ["roc_auc"])
    spec = apply_settings(base, settings, task_type="classification")
    assert spec.families == ("hist_gradient_boosting",) and spec.n_splits == 4 and spec.search == "random"
    assert spec_settings("") == {}
    for text in ["[1, 2]", "a: [1", "=cmd|' /C calc'!A0"]:
        with pytest.raises(InputError) as info:
            spec_settings(text, source="bad.yaml")
        assert info.value.key == "tracking.bad_config" and "bad.yaml" in info.value.message("en")
    with pytest.raises(InputError) as info:
        apply_settings(base, {"<script>": 1}, task_type="classification")
    assert info.value.key == "tracking.bad_spec"


# --------------------------------------------------------------------------- the train job


def test_train_job_stores_a_complete_run(ws, team, churn, monkeypatch):
    version = _import(ws, team, churn)
    seen: list[tuple[str, dict]] = []
    original = JobContext.progress

    def listening(self, fraction, message_key="", **params):
        seen.append((message_key, params))
        original(self, fraction, message_key, **params)

    monkeypatch.setattr(JobContext, "progress", listening)
    view = _train(ws, team, version)
    assert view.status == "succeeded" and view.progress == 1.0
    # progress per model and per fold, every message translated in both languages
    folds = [p for k, p in seen if k == "modeling.progress.fold"]
    assert {(p["family"], p["fold"]) for p in folds} == {(f, k) for f in FAMILIES for k in (1, 2, 3)}
    for key, params in seen:
        assert key in catalog("en") and key in catalog("es")
        assert "{" not in translate(key, "es", **params)

    with session_scope(ws.engine) as s:
        detail = run_detail(session=s, project_id=team["project"], run_id=view.result["run_id"])
        stored = s.get(TrainingRun, detail.run.id)
        assert s.get(Artifact, stored.test_rows_sha256).kind == "parquet"
        for c in detail.candidates:
            assert s.get(Artifact, c.model_sha256).kind == "joblib"
    run = detail.run
    assert run.dataset_sha256 == version.sha256 and run.version_label == "churn v1"
    assert run.target == "churned" and run.task_type == "classification" and run.seed == 0
    assert (
        run.scheme == "stratified_kfold" and run.n_splits == 3 and run.metrics == ("roc_auc", "f1", "balanced_accuracy")
    )
    assert "customer_id" not in run.features and "last_complaint" not in run.features
    assert {e.column: e.reason for e in run.excluded}["customer_id"] == "tracking.excluded.identifier"
    assert run.environment["packages"]["scikit-learn"] and run.environment["python"].count(".") == 2
    assert run.run_config["families"] == FAMILIES and run.run_config["random_state"] == 0
    assert run.recipe_id is None and run.n_unlabeled == 0
    # the locked test set: the right share, stratified, disjoint from training, all rows covered
    test_rows = read_test_rows(store=ws.store, run=run)
    assert len(test_rows) == run.n_test_rows == math.ceil(0.2 * N_ROWS)
    assert run.n_train_rows + run.n_test_rows == N_ROWS and len(set(test_rows)) == len(test_rows)
    share = churn["churned"].iloc[test_rows].mean()
    assert abs(share - churn["churned"].mean()) < 0.05
    assert [c.family for c in detail.candidates] == FAMILIES
    for c in detail.candidates:
        folds = c.fold_frame()
        assert len(folds) == 3 and set(run.metrics) <= set(folds.columns)
        for metric in run.metrics:
            assert c.mean[metric] == pytest.approx(folds[metric].mean())
            assert c.std[metric] == pytest.approx(folds[metric].std(ddof=0))
        assert c.size_bytes > 0 and c.cv_seconds > 0 and c.fit_seconds > 0
        assert folds["train_rows"].sum() == 2 * run.n_train_rows  # each row trains in k-1 folds
    logistic = detail.candidates[1]
    hyper = logistic.model_hyperparameters()
    assert hyper["C"] == 1.0 and hyper["max_iter"] == 1000 and "penalty" in hyper  # defaults included
    assert detail.candidates[2].model_params == {"max_iter": 15}
    assert detail.best().family != "dummy" and detail.best().mean["roc_auc"] > 0.7
    event = _events(ws, "model.train")[0]
    assert event.actor_name == "mo" and event.object_id == str(run.id)
    assert event.after["dataset_sha256"] == version.sha256 and "dummy" in event.after["families"]
    with session_scope(ws.engine) as s:
        assert [r.id for r in training_runs(session=s, project_id=team["project"])] == [run.id]


def test_rows_without_a_label_are_left_out_and_counted(ws, team, churn):
    frame = churn.copy()
    frame["churned"] = frame["churned"].astype("Int64")
    frame.loc[frame.index[:30], "churned"] = pd.NA
    version = _import(ws, team, frame)
    detail = _trained(ws, team, version, families=["dummy"])
    assert detail.run.n_unlabeled == 30
    assert detail.run.n_train_rows + detail.run.n_test_rows == N_ROWS - 30
    assert set(read_test_rows(store=ws.store, run=detail.run)).isdisjoint(range(30))
    # ingest refuses an empty column, but a derived version can lose every label
    table = pa.Table.from_pandas(churn.drop(columns=["churned"]), preserve_index=False)
    table = table.append_column("churned", pa.nulls(N_ROWS, pa.int64()))
    with session_scope(ws.engine) as s:
        version = create_version(
            session=s,
            project_id=team["project"],
            dataset_name="unlabelled",
            ref=ws.store.put_table(table),
            table_schema=table.schema,
            n_rows=N_ROWS,
            roles={"customer_id": "identifier", "last_complaint": "text"},
            target="churned",
            operation="synthetic",
            actor=_user(s, team, "admin"),
        )
    view = _train(ws, team, version, families=["dummy"])
    assert view.status == "failed" and view.error_key == "tracking.no_labels"
    assert "Annotate" in translate(view.error_key, "en", **view.error_params)


def test_cancelling_midway_leaves_nothing_behind(ws, team, churn, monkeypatch):
    version = _import(ws, team, churn)
    original = JobContext.progress

    def cancel_at_second_fold(self, fraction, message_key="", **params):
        if message_key == "modeling.progress.fold" and params.get("family") == "logistic_regression":
            with session_scope(self.engine) as s:
                request_cancel(session=s, job_id=self.job_id)
        original(self, fraction, message_key, **params)

    monkeypatch.setattr(JobContext, "progress", cancel_at_second_fold)
    view = _train(ws, team, version)
    assert view.status == "cancelled"
    with session_scope(ws.engine) as s:
        assert s.exec(select(TrainingRun)).all() == [] and s.exec(select(RunCandidate)).all() == []
        assert s.exec(select(Artifact).where(Artifact.kind == "joblib")).all() == []
    assert _events(ws, "model.train") == []


def test_same_seed_and_data_give_the_same_metrics_and_reproduce_matches(ws, team, churn):
    version = _import(ws, team, churn)
    first = _trained(ws, team, version, seed=11)
    again = _trained(ws, team, version, seed=11)
    other = _trained(ws, team, version, seed=12)
    for a, b in zip(first.candidates, again.candidates, strict=True):
        for metric in first.run.metrics:
            assert [f[metric] for f in a.fold_metrics] == [f[metric] for f in b.fold_metrics]
    assert list(read_test_rows(store=ws.store, run=first.run)) == list(read_test_rows(store=ws.store, run=again.run))
    assert list(read_test_rows(store=ws.store, run=first.run)) != list(read_test_rows(store=ws.store, run=other.run))

    job = submit_reproduce(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        run_id=first.run.id,
        actor_id=team["mo"].id,
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    assert view.status == "succeeded" and view.result["matches"] is True
    with session_scope(ws.engine) as s:
        [record] = reproductions(session=s, project_id=team["project"], run_id=first.run.id)
    table = record.frame()
    assert len(table) == len(FAMILIES) * len(first.run.metrics) and table["matches"].all()
    assert (table["difference"] <= 1e-9).all() and record.environment["packages"]
    assert _events(ws, "model.reproduce")[0].after["matches"] is True

    # a run whose record no longer says what the data give is reported, metric by metric
    with session_scope(ws.engine) as s:
        stored = s.get(TrainingRun, first.run.id)
        config = json.loads(json.dumps(stored.run_config))
        config["results"]["logistic_regression"]["folds"]["f1"][0] += 0.1
        stored.run_config = config
    job = submit_reproduce(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        run_id=first.run.id,
        actor_id=team["mo"].id,
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    assert view.status == "succeeded" and view.result["matches"] is False and view.result["differing"] == 1
    with session_scope(ws.engine) as s:
        latest = reproductions(session=s, project_id=team["project"], run_id=first.run.id)[0]
    differing = latest.frame().query("not matches")
    assert differing[["family", "metric"]].values.tolist() == [["logistic_regression", "f1"]]


# --------------------------------------------------------------------------- read side


def test_runs_table_filters_sorts_and_keeps_notes_and_tags(ws, team, churn):
    version = _import(ws, team, churn)
    first = _trained(ws, team, version)
    second = _trained(ws, team, version, families=["dummy", "random_forest"], seed=3)
    with session_scope(ws.engine) as s:
        frame = list_runs(session=s, project_id=team["project"])
        assert len(frame) == 5 and frame["run_id"].tolist()[:2] == [second.run.id] * 2
        for metric in first.run.metrics:
            assert {metric, f"{metric}_std"} <= set(frame.columns)
        ranked = list_runs(session=s, project_id=team["project"], sort_by="roc_auc")
        assert ranked["roc_auc"].is_monotonic_decreasing
        only = list_runs(session=s, project_id=team["project"], families=["dummy"])
        assert only["family"].tolist() == ["dummy", "dummy"]
        assert list_runs(session=s, project_id=team["project"], version_id=version.id + 99).empty
        with pytest.raises(InputError):
            list_runs(session=s, project_id=team["project"], sort_by="mae")
        assert list_runs(session=s, project_id=team["prices"]).empty

    candidate = first.candidates[1]
    with session_scope(ws.engine) as s:
        saved = set_notes_and_tags(
            session=s,
            actor=_user(s, team, "edu"),  # domain experts may annotate
            project_id=team["project"],
            candidate_id=candidate.id,
            notes="=cmd|' /C calc'!A0 stays text",
            tags=["baseline ", "Baseline", "<script>", "  good   one "],
            expected_version=candidate.version,
        )
    assert saved.tags == ("baseline", "<script>", "good one") and saved.version == candidate.version + 1
    with session_scope(ws.engine) as s, pytest.raises(ConflictError) as info:
        set_notes_and_tags(
            session=s,
            actor=_user(s, team, "mo"),
            project_id=team["project"],
            candidate_id=candidate.id,
            notes="stale",
            tags=[],
            expected_version=candidate.version,
        )
    assert info.value.key == "tracking.changed_meanwhile"
    for bad, key in [
        (["a,b"], "tracking.bad_tag"),
        (["x" * 41], "tracking.bad_tag"),
        ([f"t{i}" for i in range(21)], "tracking.too_many_tags"),
    ]:
        with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
            set_notes_and_tags(
                session=s,
                actor=_user(s, team, "mo"),
                project_id=team["project"],
                candidate_id=candidate.id,
                notes="",
                tags=bad,
                expected_version=saved.version,
            )
        assert info.value.key == key
    with session_scope(ws.engine) as s:
        run = set_run_notes_and_tags(
            session=s,
            actor=_user(s, team, "mo"),
            project_id=team["project"],
            run_id=second.run.id,
            notes="seed 3",
            tags=["sweep"],
            expected_version=second.run.version,
        )
        assert run.tags == ("sweep",) and run.notes == "seed 3"
        tagged = list_runs(session=s, project_id=team["project"], tags=["BASELINE", "sweep"])
    assert sorted(tagged["candidate_id"]) == sorted([candidate.id, *(c.id for c in second.candidates)])
    assert tagged.set_index("candidate_id").loc[candidate.id, "tags"] == ["baseline", "<script>", "good one"]
    event = _events(ws, "model.annotate")[0]
    assert event.actor_name == "edu" and "good one" in event.after["tags"]


def test_parameters_side_by_side_and_against_a_metric(ws, team, churn):
    version = _import(ws, team, churn)
    detail = _trained(ws, team, version, families=["logistic_regression", "hist_gradient_boosting"])
    ids = [c.id for c in detail.candidates]
    with session_scope(ws.engine) as s:
        side = parameters_frame(session=s, project_id=team["project"], candidate_ids=ids)
        differing = parameters_frame(session=s, project_id=team["project"], candidate_ids=ids, differing_only=True)
        full = parameters_frame(session=s, project_id=team["project"], candidate_ids=ids[:1], model_only=False)
        with pytest.raises(NotFound):
            parameters_frame(session=s, project_id=team["prices"], candidate_ids=ids)
    assert list(side.columns) == [
        f"run {detail.run.id} · logistic_regression",
        f"run {detail.run.id} · hist_gradient_boosting",
    ]
    assert side.loc["C"].tolist() == ["1", ""] and side.loc["max_iter"].tolist() == ["1000", "15"]
    assert len(differing) <= len(side) and all(differing.nunique(axis=1) > 1)
    assert any(name.startswith("prepare__") for name in full.index)

    # a small search: its trials are points of the parameters-against-metric view
    spec = _spec(ws, team, version, families=["logistic_regression"], budget_s=3, n_iter=4)
    view = _train(ws, team, version, spec=spec)
    assert view.status == "succeeded"
    with session_scope(ws.engine) as s:
        searched = run_detail(session=s, project_id=team["project"], run_id=view.result["run_id"])
        points = parameter_metric_frame(
            session=s, project_id=team["project"], metric="roc_auc", family="logistic_regression"
        )
    summary = searched.candidates[0].search
    assert summary["kind"] == "random" and summary["evaluated"] >= 1 and summary["metric"] == "roc_auc"
    assert (
        list(points.columns[:4]) == ["candidate_id", "run_id", "family", "source"] and points.columns[-1] == "roc_auc"
    )
    assert set(points["source"]) <= {"candidate", "trial"} and (points["family"] == "logistic_regression").all()
    assert points["roc_auc"].between(0, 1).all()
    figure = parallel_coordinates_chart(points, metric="roc_auc", lang="es")
    assert figure.data[0].type == "parcoords" and "roc" in figure.layout.title.text.lower()


# --------------------------------------------------------------------------- loading


def test_load_model_predicts_and_refuses_tampering_and_other_versions(ws, team, churn):
    version = _import(ws, team, churn)
    detail = _trained(ws, team, version, families=["logistic_regression"])
    candidate = detail.candidates[0]
    test_rows = read_test_rows(store=ws.store, run=detail.run)
    with session_scope(ws.engine) as s:
        model = load_model(session=s, store=ws.store, candidate_id=candidate.id, project_id=team["project"])
        with pytest.raises(NotFound):
            load_model(session=s, store=ws.store, candidate_id=candidate.id, project_id=team["prices"])
    predicted = model.predict(churn.iloc[test_rows][list(detail.run.features)])
    assert len(predicted) == len(test_rows) and set(predicted) <= {0, 1}

    # saved under other package versions: refused before anything is unpickled
    with session_scope(ws.engine) as s:
        stored = s.get(TrainingRun, detail.run.id)
        environment = json.loads(json.dumps(stored.environment))
        stored.environment = {**environment, "packages": {**environment["packages"], "scikit-learn": "0.24.2"}}
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        load_model(session=s, store=ws.store, candidate_id=candidate.id)
    assert info.value.key == "modeling.env_mismatch" and "0.24.2" in info.value.message("en")
    assert "0.24.2" in info.value.message("es")
    with session_scope(ws.engine) as s:
        s.get(TrainingRun, detail.run.id).environment = environment

    # a file changed on disk is refused
    path = ws.store.path(candidate.model_sha256)
    original = path.read_bytes()
    path.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    assert sha256_file(path) != candidate.model_sha256
    with session_scope(ws.engine) as s, pytest.raises(ArtifactCorrupted) as corrupted:
        load_model(session=s, store=ws.store, candidate_id=candidate.id)
    assert corrupted.value.key == "errors.artifact_corrupted"
    path.write_bytes(original)
    # a joblib file Ciclo did not record is never loaded
    with session_scope(ws.engine) as s:
        s.get(Artifact, candidate.model_sha256).kind = "json"
    with session_scope(ws.engine) as s, pytest.raises(NotFound) as info:
        load_model(session=s, store=ws.store, candidate_id=candidate.id)
    assert info.value.key == "errors.artifact_not_ours"


# --------------------------------------------------------------------------- registry


def _register(ws, team, candidate_id, name="churn", actor="mo"):
    with session_scope(ws.engine) as s:
        return register_model(
            session=s, actor=_user(s, team, actor), project_id=team["project"], candidate_id=candidate_id, name=name
        )


def _move(ws, team, version, stage, actor="dep", expected=None, reason=""):
    with session_scope(ws.engine) as s:
        return transition_stage(
            session=s,
            actor=_user(s, team, actor),
            project_id=team["project"],
            model_version_id=version.id,
            stage=stage,
            expected_version=version.version if expected is None else expected,
            reason=reason,
        )


def test_registry_stages_keep_one_production_version(ws, team, churn):
    version = _import(ws, team, churn)
    detail = _trained(ws, team, version)
    first, second = _register(ws, team, detail.candidates[1].id), _register(ws, team, detail.candidates[2].id)
    assert (first.ref, first.stage, second.ref) == ("churn@1", "candidate", "churn@2")
    assert first.family == "logistic_regression" and first.next_stages == ("staging", "archived")
    with pytest.raises(InputError) as info:
        _register(ws, team, detail.candidates[1].id)
    assert info.value.key == "tracking.already_registered" and "churn@1" in info.value.message("es")
    for bad, key in [
        ("churn@prod", "tracking.bad_model_name"),
        ("../x", "errors.name_path_chars"),
        ("", "errors.name_empty"),
    ]:
        with pytest.raises(InputError) as info:
            _register(ws, team, detail.candidates[0].id, name=bad)
        assert info.value.key == key

    with pytest.raises(InputError) as info:  # production only through staging
        _move(ws, team, first, "production")
    assert info.value.key == "tracking.illegal_transition" and "staging" in info.value.message("en")
    with pytest.raises(InputError) as info:
        _move(ws, team, first, "live")
    assert info.value.key == "tracking.unknown_stage"
    staged = _move(ws, team, first, "staging", reason="ready for a shadow run")
    with pytest.raises(ConflictError):
        _move(ws, team, first, "production")  # started from the version before the move
    live = _move(ws, team, staged, "production")
    assert live.stage == "production" and live.stage_changed_by == "dep"
    second = _move(ws, team, _move(ws, team, second, "staging"), "production", reason="better recall")
    with session_scope(ws.engine) as s:
        [model] = list_registry(session=s, project_id=team["project"])
        assert model.production.ref == "churn@2" and [v.ref for v in model.versions] == ["churn@2", "churn@1"]
        assert {v.ref: v.stage for v in model.versions} == {"churn@2": "production", "churn@1": "archived"}
        table = registry_frame([model], lang="es")
        assert table["stage"].tolist() == ["Producción", "Archivado"] and table["ref"].tolist() == [
            "churn@2",
            "churn@1",
        ]
        # references
        assert resolve_model(session=s, project_id=team["project"], ref="churn").ref == "churn@2"
        assert resolve_model(session=s, project_id=team["project"], ref=" churn @ 1").ref == "churn@1"
        assert resolve_model(session=s, project_id=team["project"], ref="churn@archived").ref == "churn@1"
        assert resolve_model(session=s, project_id=team["project"], ref="churn@latest").ref == "churn@2"
        for ref, error, key in [
            ("churn@staging", NotFound, "tracking.no_version_in_stage"),
            ("churn@9", NotFound, "tracking.model_version_missing"),
            ("nope", NotFound, "tracking.model_not_found"),
            ("churn@live", InputError, "tracking.bad_model_ref"),
            ("@1", InputError, "tracking.bad_model_ref"),
        ]:
            with pytest.raises(error) as info:
                resolve_model(session=s, project_id=team["project"], ref=ref)
            assert info.value.key == key, ref
        # the database itself refuses a second production version
        row = s.get(ModelVersion, first.id)
        row.stage, row.production_of = "production", model.id
        from sqlalchemy.exc import IntegrityError

        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
    # archived can come back to staging; production can only be archived
    back = _move(ws, team, resolve_model_ref(ws, team, "churn@1"), "staging")
    assert back.stage == "staging" and set(TRANSITIONS) == set(STAGES)
    with pytest.raises(InputError):
        _move(ws, team, resolve_model_ref(ws, team, "churn@2"), "candidate")
    events = _events(ws, "model.stage")
    moves = [(e.before["ref"], e.before["stage"], e.after["stage"], e.actor_name) for e in events]
    assert moves == [
        ("churn@1", "candidate", "staging", "dep"),
        ("churn@1", "staging", "production", "dep"),
        ("churn@2", "candidate", "staging", "dep"),
        ("churn@1", "production", "archived", "dep"),
        ("churn@2", "staging", "production", "dep"),
        ("churn@1", "archived", "staging", "dep"),
    ]
    assert events[0].reason == "ready for a shadow run" and events[3].after["replaced_by"] == "churn@2"
    assert [e.after["ref"] for e in _events(ws, "model.register")] == ["churn@1", "churn@2"]
    with session_scope(ws.engine) as s:
        assert run_detail(session=s, project_id=team["project"], run_id=detail.run.id).registered == {
            detail.candidates[1].id: ("churn@1",),
            detail.candidates[2].id: ("churn@2",),
        }


def resolve_model_ref(ws, team, ref):
    with session_scope(ws.engine) as s:
        return resolve_model(session=s, project_id=team["project"], ref=ref)


# --------------------------------------------------------------------------- model package


def test_export_package_is_complete_and_safe(ws, team, churn):
    version = _import(ws, team, churn)
    detail = _trained(ws, team, version, families=["hist_gradient_boosting"])
    candidate = detail.candidates[0]
    registered = _register(ws, team, candidate.id, name="churn [v1]")
    with session_scope(ws.engine) as s:
        data = export_package(
            session=s,
            store=ws.store,
            actor=_user(s, team, "dep"),
            project_id=team["project"],
            candidate_id=candidate.id,
            lang="es",
            intended_use="Priorizar llamadas de retención.",
        )
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.namelist() == list(PACKAGE_FILES) and archive.testzip() is None
    import hashlib

    assert hashlib.sha256(archive.read("model.joblib")).hexdigest() == candidate.model_sha256
    schema = json.loads(archive.read("input_schema.json"))
    assert [c["name"] for c in schema["columns"]] == list(detail.run.features)
    assert schema["target"] == {"name": "churned", "task_type": "classification", "classes": ["0", "1"]}
    contract = next(c for c in schema["columns"] if c["name"] == "contract")
    assert contract["role"] == "categorical" and contract["categories"]
    metrics = json.loads(archive.read("metrics.json"))
    assert metrics["mean"] == pytest.approx(dict(candidate.mean)) and len(metrics["folds"]) == 3
    requirements = archive.read("requirements.txt").decode()
    assert f"scikit-learn=={detail.run.environment['packages']['scikit-learn']}" in requirements
    card = archive.read("model_card.md").decode()
    assert card.startswith("# Ficha del modelo: churn \\[v1\\]@1") and "Priorizar llamadas" in card
    run_json = json.loads(archive.read("run.json"))
    assert run_json["dataset_version"]["sha256"] == version.sha256 and run_json["registered_as"] == [registered.ref]
    assert run_json["model_sha256"] == candidate.model_sha256 and run_json["seed"] == 0
    assert package_filename(registered.ref) == "churn-v1-1.zip"
    assert package_filename("../../etc/passwd") == "etc-passwd.zip" and package_filename("@@@") == "model.zip"
    event = _events(ws, "model.export")[0]
    assert event.actor_name == "dep" and event.after["model_sha256"] == candidate.model_sha256
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        export_package(
            session=s,
            store=ws.store,
            actor=_user(s, team, "dep"),
            project_id=team["project"],
            candidate_id=candidate.id,
            lang="fr",
        )
    assert info.value.key == "modeling.unknown_language"


# --------------------------------------------------------------------------- bad input


def _failed_key(view):
    assert view.status == "failed", view.status
    assert "{" not in translate(view.error_key, "es", **view.error_params)
    return view.error_key


def test_a_single_class_target_is_refused(ws, team, churn):
    frame = churn.assign(churned=0)
    version = _import(ws, team, frame)
    assert _failed_key(_train(ws, team, version, families=["dummy"])) == "modeling.single_class"


def test_only_constant_features_are_refused(ws, team, churn):
    frame = churn.assign(flat=1.0, same="a")
    version = _import(ws, team, frame)
    spec = _spec(ws, team, version, features=["flat", "same"], families=["logistic_regression"])
    assert _failed_key(_train(ws, team, version, spec=spec)) == "modeling.only_constant_features"


def test_text_columns_and_unknown_choices_are_refused_before_the_job(ws, team, churn):
    version = _import(ws, team, churn)
    cases = [
        ({"features": ["tenure_months", "last_complaint"]}, "modeling.text_not_supported"),
        ({"families": ["dummy", "gradient_magic"]}, "modeling.unknown_family"),
        ({"metrics": ["roc_auc", "mae"]}, "modeling.metric_wrong_task"),
        ({"metrics": ["wow"]}, "modeling.unknown_metric"),
        ({"params": {"logistic_regression": {"C": 1, "nonsense": 2}}}, "modeling.unknown_param"),
        ({"features": ["tenure_months", "=cmd|' /C calc'!A0"]}, "modeling.features_not_columns"),
        ({"scheme": "group_kfold", "group_column": "<script>"}, "modeling.groups_not_a_column"),
    ]
    base = _spec(ws, team, version, families=["logistic_regression"])
    for change, key in cases:
        spec = TrainingSpec.from_json({**base.to_json(), **change})  # a spec from a file may name anything
        with pytest.raises(InputError) as info:
            submit_training(
                engine=ws.engine,
                settings=ws.settings,
                project_id=team["project"],
                version_id=version.id,
                spec=spec,
                actor_id=team["mo"].id,
                launch=False,
            )
        assert info.value.key == key, change
        assert "{" not in info.value.message("es")
    with session_scope(ws.engine) as s:
        assert s.exec(select(TrainingRun)).all() == []


def test_fewer_rows_than_folds_and_a_zero_budget_are_refused(ws, team):
    rng = np.random.default_rng(0)
    tiny = pd.DataFrame({"size": rng.normal(size=8), "rooms": rng.integers(1, 5, 8), "price": rng.normal(size=8)})
    version = _import(ws, team, tiny, target="price", name="tiny", project=team["prices"])
    spec = _spec(ws, team, version, project=team["prices"], families=["dummy", "ridge"], n_splits=10)
    view = _train(ws, team, version, project=team["prices"], spec=spec)
    assert _failed_key(view) == "modeling.too_few_rows" and view.error_params["minimum"] == 10
    with pytest.raises(InputError) as info:
        _spec(ws, team, version, project=team["prices"], families=["dummy"], budget_s=0)
    assert info.value.key == "modeling.bad_budget"


def test_regression_runs_and_unknown_things_are_not_found(ws, team):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"size": rng.normal(size=120), "rooms": rng.integers(1, 5, 120)})
    frame["price"] = 3 * frame["size"] + frame["rooms"] + rng.normal(scale=0.1, size=120)
    version = _import(ws, team, frame, target="price", name="houses", project=team["prices"])
    spec = _spec(ws, team, version, project=team["prices"], families=["dummy", "ridge"])
    assert spec.metrics == ("mae", "rmse", "r2") and spec.scheme == "kfold"
    view = _train(ws, team, version, project=team["prices"], spec=spec)
    assert view.status == "succeeded", view.error_key
    with session_scope(ws.engine) as s:
        detail = run_detail(session=s, project_id=team["prices"], run_id=view.result["run_id"])
        assert detail.best("mae").family == "ridge" and detail.best("r2").family == "ridge"
        assert detail.candidates[1].mean["r2"] > 0.9
        for call, key in [
            (lambda: run_detail(session=s, project_id=team["project"], run_id=detail.run.id), "tracking.run_not_found"),
            (
                lambda: get_candidate(session=s, project_id=team["prices"], candidate_id=999),
                "tracking.candidate_not_found",
            ),
            (
                lambda: resolve_version(session=s, project_id=team["prices"], ref="nope v9"),
                "tracking.version_ref_not_found",
            ),
        ]:
            with pytest.raises(NotFound) as info:
                call()
            assert info.value.key == key
        assert resolve_version(session=s, project_id=team["prices"], ref=str(version.id)).id == version.id
        assert resolve_version(session=s, project_id=team["prices"], ref="houses  v1").id == version.id
        assert resolve_version(session=s, project_id=team["prices"], ref="houses").id == version.id
    with pytest.raises(NotFound):  # a version of another project
        submit_training(
            engine=ws.engine,
            settings=ws.settings,
            project_id=team["project"],
            version_id=version.id,
            spec=spec,
            actor_id=team["mo"].id,
            launch=False,
        )


def test_explanation_exists_in_both_languages():
    for lang in ("en", "es"):
        body = translate("tracking.explain.body", lang)
        assert len(body) > 400 and translate("tracking.explain.title", lang) != "tracking.explain.title"
    english = translate("tracking.explain.body", "en").lower()
    for topic in ("hyper-parameters", "experiments", "architecture", "environment", "metadata"):
        assert topic in english


def test_calendar_dates_read_as_python_objects_are_dates():
    """Arrow ``date32`` columns come out of pandas' default conversion as ``datetime.date`` objects."""
    from mlcore.modeling.training import train_candidates

    rng = np.random.default_rng(0)
    days = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 400, 90), unit="D")
    table = pa.table({"when": pa.array(days.date, pa.date32()), "x": rng.normal(size=90)})
    frame = table.to_pandas()
    assert frame["when"].dtype == object
    y = (frame["x"] > 0).astype(int)
    [result] = train_candidates(
        frame,
        y,
        task_type="classification",
        roles={"when": "datetime", "x": "numeric"},
        families=["logistic_regression"],
        metrics=["accuracy"],
        n_splits=3,
    )
    assert result.mean["accuracy"] > 0.8
    with pytest.raises(InputError) as info:
        train_candidates(
            frame.assign(when="soon"),
            y,
            task_type="classification",
            roles={"when": "datetime", "x": "numeric"},
            families=["logistic_regression"],
            metrics=["accuracy"],
            n_splits=3,
        )
    assert info.value.key == "modeling.role_mismatch"


def test_group_and_time_schemes_lock_and_record_their_columns(ws, team, churn):
    version = _import(ws, team, churn)
    features = ["tenure_months", "contract", "monthly_charges", "num_support_tickets", "satisfaction_score"]
    by_time = _trained(
        ws,
        team,
        version,
        families=["logistic_regression"],
        features=features,
        scheme="time_series",
        order_column="signup_date",
    )
    test_rows = read_test_rows(store=ws.store, run=by_time.run)
    when = pd.to_datetime(churn["signup_date"])
    train_rows = np.setdiff1d(np.arange(N_ROWS), test_rows)
    assert when.iloc[test_rows].min() >= when.iloc[train_rows].max()  # the test set is the most recent rows
    assert by_time.run.order_column == "signup_date" and by_time.run.scheme == "time_series"
    reasons = {e.column: e.reason for e in by_time.run.excluded}
    assert (
        reasons["signup_date"] == "tracking.excluded.split_column" and reasons["income"] == "tracking.excluded.by_user"
    )
    by_group = _trained(
        ws,
        team,
        version,
        families=["logistic_regression"],
        features=features,
        scheme="group_kfold",
        group_column="payment_method",
    )
    assert by_group.run.group_column == "payment_method" and by_group.run.run_config["group_column"] == "payment_method"
    job = submit_reproduce(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        run_id=by_group.run.id,
        actor_id=team["mo"].id,
        launch=False,
    )
    assert run_job(engine=ws.engine, job_id=job, settings=ws.settings).result["matches"] is True


# --------------------------------------------------------------------------- page views


def test_page_views_of_runs_are_translated_and_keep_the_table_order(ws, team, churn):
    from datetime import datetime

    from mlcore.modeling.tracking import (
        ReproductionRecord,
        candidate_labels,
        fold_metrics_chart,
        job_result_text,
        reproduction_frame,
        run_filter_choices,
        runs_table,
        scheme_choices,
    )
    from mlcore.modeling.training import SCHEMES, MetricCheck

    version = _import(ws, team, churn)
    detail = _trained(ws, team, version)
    with session_scope(ws.engine) as s:
        set_notes_and_tags(
            session=s,
            actor=_user(s, team, "mo"),
            project_id=team["project"],
            candidate_id=detail.candidates[0].id,
            notes="",
            tags=["Base", "x"],
            expected_version=detail.candidates[0].version,
        )
        set_run_notes_and_tags(
            session=s,
            actor=_user(s, team, "mo"),
            project_id=team["project"],
            run_id=detail.run.id,
            notes="",
            tags=["base"],
            expected_version=detail.run.version,
        )
        frame = list_runs(session=s, project_id=team["project"], sort_by="roc_auc")
        params = parameters_frame(
            session=s, project_id=team["project"], candidate_ids=[c.id for c in detail.candidates], lang="es"
        )
    choices = run_filter_choices(frame)
    assert choices.families == ("dummy", "logistic_regression", "hist_gradient_boosting")  # catalogue order
    assert [t.lower() for t in choices.tags] == ["base", "x"]  # "Base" and "base" are one tag
    assert dict(choices.versions) == {version.id: version.label}
    assert choices.metrics == detail.run.metrics

    table = runs_table(frame, lang="es")
    assert table["candidate_id"].tolist() == frame["candidate_id"].tolist()  # same order (best first)
    assert table["family"].iloc[-1] == "Línea base (ignora las entradas)"
    for metric in detail.run.metrics:
        assert all(" ± " in v and "," in v for v in table[metric])
    assert set(table["validation"]) == {"K-fold estratificado · 3 particiones"}
    assert table["size_kb"].tolist() == pytest.approx((frame["size_bytes"] / 1024).tolist())
    assert table.set_index("candidate_id").loc[detail.candidates[0].id, "tags"] == "Base, x"
    assert runs_table(frame.iloc[0:0], lang="en").empty

    labels = candidate_labels(frame, metric="roc_auc")
    assert list(labels) == frame["candidate_id"].tolist()
    assert labels[detail.candidates[1].id].startswith(f"Run {detail.run.id} · Logistic regression · ROC AUC 0.")
    assert list(params.columns) == [
        f"Ejecución {detail.run.id} · Línea base (ignora las entradas)",
        f"Ejecución {detail.run.id} · Regresión logística",
        f"Ejecución {detail.run.id} · Gradient boosting (histogramas)",
    ]

    figure = fold_metrics_chart(detail.candidates, metric="f1", lang="en")
    assert [trace.name for trace in figure.data] == [
        f"Run {detail.run.id} · {translate(f'modeling.family.{c.family}', 'en')}" for c in detail.candidates
    ]
    for trace, candidate in zip(figure.data, detail.candidates, strict=True):
        assert list(trace.x) == [1, 2, 3]
        assert list(trace.y) == pytest.approx([f["f1"] for f in candidate.fold_metrics])
        assert np.mean(trace.y) == pytest.approx(candidate.mean["f1"])
    assert not fold_metrics_chart(detail.candidates, metric="mae").data  # a metric the run did not compute

    assert scheme_choices("classification") == SCHEMES
    assert "stratified_kfold" not in scheme_choices("regression")
    record = ReproductionRecord(
        id=1,
        run_id=detail.run.id,
        matches=False,
        tolerance=1e-9,
        checks=(MetricCheck("random_forest", "roc_auc", 0.9, 0.8, 0.1, False),),
        environment={},
        job_id=None,
        created_by="mo",
        created_at=datetime(2026, 1, 1),
    )
    shown = reproduction_frame(record, lang="es")
    assert shown[["family", "metric", "matches"]].values.tolist() == [["Bosque aleatorio", "ROC AUC", False]]
    assert "2 metric values differ" in job_result_text("reproduce", {"run_id": 3, "matches": False, "differing": 2})
    trained = job_result_text(
        "train",
        {"run_id": 3, "label": "churn v1", "families": ["dummy", "knn"], "n_train_rows": 12000, "n_test_rows": 3000},
    )
    assert trained == "run #3 on churn v1: 2 models trained on 12,000 rows; 3,000 rows locked away as the test set."
    assert "{" not in job_result_text("train", {}, lang="es")  # an old or partial result never breaks the panel


# --------------------------------------------------------------------------- preparation recipes (issue 7)


def _saved_recipe(ws, team, version, *steps, project=None):
    from mlcore.data.recipes import draft_recipe, save_recipe

    recipe = draft_recipe(version, name="churn prep")
    for step in steps:
        recipe = recipe.with_step(step)
    with session_scope(ws.engine) as s:
        return save_recipe(session=s, actor=_user(s, team, "mo"), project_id=project or team["project"], recipe=recipe)


def test_training_with_a_recipe_records_it_and_reproduces(ws, team, churn):
    from mlcore.data.prepare.recipe import make_step

    version = _import(ws, team, churn)
    saved = _saved_recipe(ws, team, version, make_step("scale", method="robust"), make_step("smote", k_neighbors=3))
    detail = _trained(ws, team, version, families=["dummy", "logistic_regression"], recipe_id=saved.id)
    run = detail.run
    assert run.recipe_id == saved.id and run.recipe == saved.recipe.to_dict()
    assert run.run_config["recipe_fingerprint"] == saved.fingerprint
    assert run.run_config["spec"]["recipe_id"] == saved.id
    with session_scope(ws.engine) as s:
        model = load_model(session=s, store=ws.store, candidate_id=detail.candidates[1].id, project_id=team["project"])
    assert [name for name, _ in model.steps] == ["prepare", "s2_smote", "model"]  # saved with the model
    frame = churn.drop(columns=["churned"])[list(run.features)].head(5)
    assert model.predict(frame).shape == (5,)

    job = submit_reproduce(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        run_id=run.id,
        actor_id=team["mo"].id,
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    assert view.status == "succeeded" and view.result["matches"] is True


def test_training_recipes_are_checked_when_submitted(ws, team, churn):
    from mlcore.data.prepare.recipe import make_step

    version = _import(ws, team, churn)
    prices = _import(ws, team, churn.assign(churned=churn["tenure_months"] * 1.5), project=team["prices"])
    elsewhere = _saved_recipe(ws, team, prices, make_step("scale"), project=team["prices"])
    with pytest.raises(NotFound) as info:  # a recipe of another project
        _train(ws, team, version, recipe_id=elsewhere.id)
    assert info.value.key == "recipes.not_found"
    smote = _saved_recipe(ws, team, prices, make_step("smote"), project=team["prices"])
    with pytest.raises(InputError) as info:  # rebalancing classes of a regression target
        _train(ws, team, prices, project=team["prices"], recipe_id=smote.id, families=["ridge"], metrics=["mae"])
    assert info.value.key == "prep.needs_classification"
    dropped = _saved_recipe(ws, team, version, make_step("scale", columns=("customer_id",)))
    with pytest.raises(InputError) as info:  # identifiers are never features
        _train(ws, team, version, recipe_id=dropped.id)
    assert info.value.key in ("prep.unknown_column", "prep.wrong_role")
    with pytest.raises(InputError) as info:
        TrainingSpec("churned", ["tenure_months"], ["dummy"], ["roc_auc"], recipe_id="1")
    assert info.value.key == "tracking.bad_spec" and info.value.params["field"] == "recipe_id"
    spec = TrainingSpec("churned", ["tenure_months"], ["dummy"], ["roc_auc"], recipe_id=3)
    assert TrainingSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    with session_scope(ws.engine) as s:
        assert s.exec(select(TrainingRun)).all() == []
