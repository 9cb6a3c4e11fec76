"""Batch scoring as a job: sources, idempotence, kill safety, predictions equal to the model's, SHAP reasons,
clear refusals of bad input, and the frames and figures the deployment and prediction pages show."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func
from sqlmodel import select
from threadpoolctl import threadpool_limits

from mlcore.auth import create_user, set_member
from mlcore.config import Limits, Settings
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.synthetic import make_churn
from mlcore.deploy import batch as batch_module
from mlcore.deploy import dashboard as d
from mlcore.deploy import scoring
from mlcore.deploy.advisor import check_answers, recommend_mode, record_mode_choice
from mlcore.deploy.scoring import ScoringSource, submit_batch_scoring
from mlcore.errors import InputError, PermissionDenied
from mlcore.jobs import JobContext, list_jobs, reap_stale_jobs, request_cancel, run_job
from mlcore.modeling.tracking import (
    TrainingSpec,
    default_spec,
    get_candidate,
    load_model,
    register_model,
    resolve_model,
    submit_training,
    transition_stage,
)
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, User, utcnow
from mlcore.store.models_deployment import Prediction, PredictionBatch
from mlcore.store.models_modeling import TrainingRun
from mlcore.workspace import open_workspace

PW = "correct horse 1"
N_ROWS = 300


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):
        yield


def _settings(home) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'ciclo.db'}", limits=Limits())


def _user(s, name) -> User:
    return s.exec(select(User).where(User.name == name)).one()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A workspace with the churn data, one run (gradient boosting, logistic regression, k-nearest
    neighbours; 2 folds) and ``churn@1`` (gradient boosting) in production, ``near@1`` (knn) as candidate."""
    home = tmp_path_factory.mktemp("scoring") / "home"
    ws = open_workspace(_settings(home))
    with session_scope(ws.engine) as s:
        admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
        project = create_project(session=s, data=ProjectCreate(name="Churn"), actor=admin)
        for name, role in [("dep", "deployment_engineer"), ("mo", "model_developer"), ("vera", "viewer")]:
            u = create_user(session=s, actor=admin, name=name, role=role, password=PW)
            set_member(session=s, actor=admin, project_id=project.id, user_id=u.id, role=role)
        admin_id, project_id = admin.id, project.id
    data = make_churn(N_ROWS + 40, random_state=3)
    data = data.current.drop_duplicates("customer_id").head(N_ROWS).reset_index(drop=True)
    assert len(data) == N_ROWS
    loaded = ingest.load_frame(data, source=ingest.SourceInfo(format="synthetic"))
    version = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project_id, dataset_name="churn", target="churned"),
        actor_id=admin_id,
        operation="synthetic",
    )
    with session_scope(ws.engine) as s:
        base = default_spec(session=s, store=ws.store, project_id=project_id, version_id=version.id)
        mo = _user(s, "mo").id
    spec = TrainingSpec.from_json(
        {
            **base.to_json(),
            "families": ["hist_gradient_boosting", "logistic_regression", "knn"],
            "n_splits": 2,
            "params": {"hist_gradient_boosting": {"max_iter": 15}},
        }
    )
    job = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=project_id,
        version_id=version.id,
        spec=spec,
        actor_id=mo,
        launch=False,
    )
    with threadpool_limits(limits=1):
        view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    candidates = dict(zip(view.result["families"], view.result["candidate_ids"], strict=True))
    with session_scope(ws.engine) as s:
        dep = _user(s, "dep")
        mv = register_model(
            session=s,
            actor=_user(s, "mo"),
            project_id=project_id,
            candidate_id=candidates["hist_gradient_boosting"],
            name="churn",
        )
        for stage in ("staging", "production"):
            mv = transition_stage(
                session=s,
                actor=dep,
                project_id=project_id,
                model_version_id=mv.id,
                stage=stage,
                expected_version=mv.version,
            )
        register_model(
            session=s, actor=_user(s, "mo"), project_id=project_id, candidate_id=candidates["knn"], name="near"
        )
    ws.engine.dispose()
    return home, project_id, version.id, data


@pytest.fixture
def env(template, tmp_path):
    home, project_id, version_id, data = template
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    ws = open_workspace(_settings(copy))
    with session_scope(ws.engine) as s:
        people = {n: _user(s, n).id for n in ("root", "dep", "mo", "vera")}
    yield ws, project_id, version_id, data, people
    ws.engine.dispose()


def _submit(env, source=None, *, who="dep", **options):
    ws, project_id, version_id, _, people = env
    return submit_batch_scoring(
        engine=ws.engine,
        settings=ws.settings,
        project_id=project_id,
        model_ref=options.pop("model_ref", "churn"),
        source=source or ScoringSource.dataset_version(version_id),
        actor_id=people[who],
        launch=False,
        **options,
    )


def _run(env, source=None, **options):
    ws = env[0]
    job_id = _submit(env, source, **options)
    return run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)


def _ok(view):
    assert view.status == "succeeded", (view.error_key, view.error_params)
    return view.result


def _stored(ws, batch_id) -> pd.Series:
    with ws.engine.connect() as conn:
        rows = conn.execute(select(Prediction.row_key, Prediction.score).where(Prediction.batch_id == batch_id)).all()
    return pd.DataFrame(rows, columns=["key", "score"]).set_index("key")["score"]


def _model(env, ref="churn"):
    ws, project_id = env[0], env[1]
    with session_scope(ws.engine) as s:
        mv = resolve_model(session=s, project_id=project_id, ref=ref)
        run = s.get(TrainingRun, get_candidate(session=s, project_id=project_id, candidate_id=mv.candidate_id).run_id)
        features = list(run.features)
        return load_model(session=s, store=ws.store, candidate_id=mv.candidate_id), features


def _version_frame(env) -> pd.DataFrame:
    from mlcore.data.versions import get_version, read_version

    ws = env[0]
    with session_scope(ws.engine) as s:
        version = get_version(session=s, version_id=env[2])
    return read_version(store=ws.store, version=version).to_pandas()


def _count(ws, *conditions):
    with ws.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Prediction).where(*conditions)).scalar_one()


# --------------------------------------------------------------------------- the job


def test_job_scores_a_version_and_the_database_holds_predict_proba(env):
    ws, project_id, _, data, _ = env
    result = _ok(_run(env, segment_columns=["region", "contract"]))
    pipeline, features = _model(env)
    frame = _version_frame(env)  # the rows as stored (typed by the import), as the model saw them in training
    expected = pd.Series(pipeline.predict_proba(frame[features])[:, 1], index=frame["customer_id"].astype(str))
    stored = _stored(ws, result["batch_id"])
    assert len(stored) == N_ROWS == result["n_rows"]  # keyed by the identifier column, not by position
    assert np.allclose(stored.loc[expected.index].to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)
    with session_scope(ws.engine) as s:
        batch = d.get_batch(session=s, project_id=project_id, batch_id=result["batch_id"])
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "predict.batch")).all()
    assert batch.segment_columns == ("region", "contract") and batch.threshold == 0.5
    assert batch.source["kind"] == "dataset_version" and batch.source["model"] == "churn@1"
    assert result["label"] == batch.batch_key and batch.batch_key.startswith("auto-")
    assert len(events) == 1 and events[0].object_id == str(result["batch_id"])
    assert batch.summary.n_positive == int((expected >= 0.5).sum())


def test_the_same_batch_twice_replaces_it_without_duplicates(env):
    ws = env[0]
    first = _ok(_run(env))
    before = _stored(ws, first["batch_id"]).sort_index()
    second = _ok(_run(env))
    assert second["batch_key"] == first["batch_key"] and second["replaced"] == [first["batch_id"]]
    after = _stored(ws, second["batch_id"]).sort_index()
    assert after.equals(before) and _count(ws) == N_ROWS
    with session_scope(ws.engine) as s:
        assert [b.id for b in d.list_batches(session=s, project_id=env[1])] == [second["batch_id"]]
    named = _ok(_run(env, batch_key="nightly 2026-01-31"))
    assert named["replaced"] == [] and _count(ws) == 2 * N_ROWS


def test_a_kill_half_way_leaves_no_visible_batch_and_the_rerun_cleans_up(env, monkeypatch):
    ws, project_id = env[0], env[1]
    monkeypatch.setattr(scoring, "CHUNK_ROWS", 100)
    monkeypatch.setattr(batch_module, "_fail", lambda *a, **k: None)  # a killed process cleans nothing
    original = JobContext.progress

    def killed(self, fraction, message_key="", **params):
        if params.get("rows", 0) >= 200:
            raise SystemExit(9)
        return original(self, fraction, message_key, **params)

    monkeypatch.setattr(JobContext, "progress", killed)
    job_id = _submit(env)
    with pytest.raises(SystemExit):
        run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    with session_scope(ws.engine) as s:
        assert d.list_batches(session=s, project_id=project_id) == ()
        assert s.exec(select(PredictionBatch.status)).all() == ["writing"]
    assert 0 < _count(ws) < N_ROWS
    monkeypatch.undo()
    with session_scope(ws.engine) as s:  # what start-up does with a job whose heartbeat stopped
        assert reap_stale_jobs(session=s, now=utcnow() + timedelta(minutes=5)) == 1
    result = _ok(_run(env))
    assert _count(ws) == N_ROWS and result["n_rows"] == N_ROWS
    with session_scope(ws.engine) as s:
        assert s.exec(select(PredictionBatch.status)).all() == ["complete"]


def test_cancel_publishes_nothing(env, monkeypatch):
    ws = env[0]
    job_id = _submit(env)
    with session_scope(ws.engine) as s:
        request_cancel(session=s, job_id=job_id)
    assert run_job(engine=ws.engine, job_id=job_id, settings=ws.settings).status == "cancelled"
    with session_scope(ws.engine) as s:
        assert d.list_batches(session=s, project_id=env[1]) == ()


def test_files_and_queries_score_like_the_version(env, tmp_path):
    ws, project_id, _, data, _ = env
    frame = data
    reference = _stored(ws, _ok(_run(env))["batch_id"])
    csv = tmp_path / "today.csv"
    frame.to_csv(csv, index=False)
    from_csv = _ok(_run(env, ScoringSource.file(csv), key_column="customer_id"))
    assert np.allclose(_stored(ws, from_csv["batch_id"]).loc[reference.index], reference, atol=1e-9)
    assert csv.exists()  # the user's own file is never removed
    parquet = tmp_path / "today.parquet"
    frame.to_parquet(parquet)
    from_parquet = _ok(_run(env, ScoringSource.file(parquet)))  # the identifier column is the default key
    assert np.allclose(_stored(ws, from_parquet["batch_id"]).loc[reference.index], reference, atol=1e-9)
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        frame.assign(signup_date=frame["signup_date"].astype(str)).to_sql("customers", conn, index=False)
    url = f"sqlite:///{db}"
    from_sql = _ok(_run(env, ScoringSource.sql("SELECT * FROM customers", url=url)))
    assert np.allclose(_stored(ws, from_sql["batch_id"]).loc[reference.index], reference, atol=1e-9)
    assert list(ws.settings.staging_dir.glob("*")) == []  # the staged query result is gone
    with session_scope(ws.engine) as s:
        batch = d.get_batch(session=s, project_id=project_id, batch_id=from_sql["batch_id"])
    assert batch.source["kind"] == "query" and batch.source["url"] == url and "SELECT" in batch.source["query"]
    assert from_csv["batch_key"] != from_parquet["batch_key"] != from_sql["batch_key"]
    for statement in ("DELETE FROM customers", "SELECT 1; DROP TABLE customers"):
        with pytest.raises(InputError) as err:
            _submit(env, ScoringSource.sql(statement, url=url))
        assert err.value.key in ("ingest.sql_not_select", "ingest.sql_multiple")
    with pytest.raises(InputError) as err:
        _submit(env, ScoringSource.sql("SELECT * FROM customers", url=""))
    assert err.value.key == "scoring.url_required"
    assert pd.read_sql("select count(*) n from customers", sqlite3.connect(db))["n"][0] == N_ROWS


def test_a_repeated_identifier_is_not_the_automatic_key(env, tmp_path):
    ws, project_id, _, data, _ = env
    repeated = pd.concat([data, data.head(3)], ignore_index=True)
    path = tmp_path / "repeats.csv"
    repeated.to_csv(path, index=False)
    result = _ok(_run(env, ScoringSource.file(path)))
    assert result["key_column"] == scoring.ROW_NUMBER_COLUMN and result["n_rows"] == N_ROWS + 3
    assert sorted(_stored(ws, result["batch_id"]).index, key=int) == [str(i) for i in range(N_ROWS + 3)]
    with session_scope(ws.engine) as s:
        batch = d.get_batch(session=s, project_id=project_id, batch_id=result["batch_id"])
    assert batch.source["key_repeats"] == "customer_id"
    key, params = _failed(_run(env, ScoringSource.file(path), key_column="customer_id"))
    assert key == "deploy.duplicate_keys" and params["column"] == "customer_id"


def _failed(view):
    assert view.status == "failed"
    return view.error_key, view.error_params


def test_bad_inputs_are_refused_clearly(env, tmp_path):
    ws, project_id, _, data, _ = env
    frame = data
    write = lambda f, name: (f.to_csv(tmp_path / name, index=False), tmp_path / name)[1]  # noqa: E731
    # missing a feature: refused at once for a Parquet file (columns known), by the job for a CSV
    frame.drop(columns=["tenure_months"]).to_parquet(tmp_path / "m.parquet")
    with pytest.raises(InputError) as err:
        _submit(env, ScoringSource.file(tmp_path / "m.parquet"))
    assert err.value.key == "deploy.missing_features" and "tenure_months" in err.value.message("es")
    key, params = _failed(_run(env, ScoringSource.file(write(frame.drop(columns=["tenure_months"]), "m.csv"))))
    assert key == "deploy.missing_features" and "tenure_months" in params["columns"]
    # wrong types: text in a numeric feature
    bad = frame.astype({"tenure_months": object})
    bad.loc[5, "tenure_months"] = "twelve"
    key, params = _failed(_run(env, ScoringSource.file(write(bad, "t.csv"))))
    assert key == "deploy.not_numeric" and "twelve" in params["examples"]
    # extra columns are ignored and reported; unseen categories are reported and scored
    odd = frame.assign(extra="x", contract=frame["contract"].where(frame.index >= 4, "lifetime"))
    result = _ok(_run(env, ScoringSource.file(write(odd, "odd.csv"))))
    with session_scope(ws.engine) as s:
        batch = d.get_batch(session=s, project_id=project_id, batch_id=result["batch_id"])
    assert "extra" in batch.report.ignored_columns and batch.report.unseen["contract"][0] == 4
    assert any("lifetime" in m for m in scoring.report_messages(batch, lang="es"))
    # empty input
    empty = tmp_path / "empty.parquet"
    frame.iloc[:0].to_parquet(empty)
    assert _failed(_run(env, ScoringSource.file(empty)))[0] == "deploy.empty_input"
    write(frame.iloc[:0], "empty.csv")
    assert _failed(_run(env, ScoringSource.file(tmp_path / "empty.csv")))[0] in ("ingest.no_rows", "ingest.empty_file")
    # options and sources
    for options, expected in [
        ({"segment_columns": ["a", "b", "c", "d"]}, "deploy.too_many_segments"),
        ({"threshold": 1.5}, "deploy.bad_threshold"),
        ({"batch_key": "x" * 201}, "deploy.bad_batch_key"),
        ({"key_column": "nope"}, "deploy.key_column_missing"),
        ({"segment_columns": "region,=cmd|' /C calc'!A0"}, "deploy.columns_missing"),
        ({"model_ref": "@@"}, "tracking.bad_model_ref"),
    ]:
        with pytest.raises(InputError) as err:
            _submit(env, **options)
        assert err.value.key == expected
    with pytest.raises(InputError) as err:
        _submit(env, ScoringSource.file(tmp_path / "nowhere.csv"))
    assert err.value.key == "scoring.file_missing"
    assert [j.status for j in _scoring_jobs(env)].count("queued") == 0


def _scoring_jobs(env):
    with session_scope(env[0].engine) as s:
        return [j for j in list_jobs(session=s, project_id=env[1]) if j.kind == "predict_batch"]


def test_a_model_from_another_environment_is_refused(env):
    ws = env[0]
    queued = _submit(env)
    with session_scope(ws.engine) as s:
        mv = resolve_model(session=s, project_id=env[1], ref="churn")
        run = s.get(TrainingRun, mv.run_id)
        environment = json.loads(json.dumps(run.environment))
        run.environment = {**environment, "packages": {**environment["packages"], "scikit-learn": "0.24.2"}}
    with pytest.raises(InputError) as err:
        _submit(env)
    assert err.value.key == "modeling.env_mismatch" and "0.24.2" in err.value.message("en")
    assert [j.id for j in _scoring_jobs(env)] == [queued]
    key, params = _failed(run_job(engine=ws.engine, job_id=queued, settings=ws.settings))  # changed after submit
    assert key == "modeling.env_mismatch" and "0.24.2" in str(params)


def test_viewers_may_not_score(env):
    with pytest.raises(PermissionDenied):
        _submit(env, who="vera")
    assert _scoring_jobs(env) == []


def test_explain_stores_the_three_strongest_reasons(env):
    from mlcore.modeling.explain import explain

    ws, project_id, _, data, _ = env
    result = _ok(_run(env, explain=True, batch_key="explained"))
    pipeline, features = _model(env)
    frame = data.head(10)
    direct = explain(pipeline, frame[features].set_axis(frame["customer_id"].astype(str)), max_rows=10)
    with session_scope(ws.engine) as s:
        top = d.top_predictions(session=s, project_id=project_id, batch_id=result["batch_id"], n=5, lang="es")
        for key in frame["customer_id"].astype(str)[:3]:
            detail = d.prediction_detail(session=s, project_id=project_id, batch_id=result["batch_id"], row_key=key)
            strongest = direct.values.loc[key].abs().sort_values(ascending=False).index[:3].tolist()
            assert [r.feature for r in detail.row.reasons] == strongest
            assert detail.values and len(detail.reasons_text) == 3
    assert all(len(t.reasons_text) == 3 for t in top) and "probable" in top[0].reasons_text[0]


def test_explaining_a_model_agnostic_model_is_capped(env, monkeypatch):
    monkeypatch.setattr(scoring, "MAX_AGNOSTIC_EXPLAIN_ROWS", 100)
    with pytest.raises(InputError) as err:
        _submit(env, model_ref="near@1", explain=True)
    assert err.value.key == "scoring.explain_too_many" and "100" in err.value.message("en")
    assert _ok(_run(env, model_ref="near@1"))["n_rows"] == N_ROWS  # without reasons: no cap


def test_reasons_for_rows_by_class_and_in_slices(env):
    pipeline, features = _model(env, "near@1")
    frame = env[3].head(12)
    long = scoring.reasons_for_rows(pipeline, frame, key_column="customer_id", class_label=1)
    assert len(long) == 36 and set(long["row_key"]) == set(frame["customer_id"])
    assert (long.groupby("row_key")["contribution"].apply(lambda c: list(np.abs(c)) == sorted(np.abs(c))[::-1])).all()


def test_drift_is_recorded_for_the_batch_when_monitoring_can(env):
    records = pytest.importorskip("mlcore.monitoring.records")
    result = _ok(_run(env))
    with session_scope(env[0].engine) as s:
        found = records.drift_records(session=s, project_id=env[1])
    if result["drift_status"] is None:
        pytest.skip("no drift reference for this model")
    assert [r.batch_id for r in found] == [result["batch_id"]]


def test_drift_failures_never_fail_scoring(env, monkeypatch):
    records = pytest.importorskip("mlcore.monitoring.records")
    monkeypatch.setattr(records, "batch_drift_for_model", lambda **k: (_ for _ in ()).throw(RuntimeError("x")))
    assert _ok(_run(env))["drift_status"] is None


# --------------------------------------------------------------------------- what the pages show


def test_dashboard_views_filters_and_formula_safe_csv(env, tmp_path):
    ws, project_id, _, data, _ = env
    frame = data.copy()
    frame.loc[0, "customer_id"] = "=cmd|' /C calc'!A0"
    path = tmp_path / "evil.csv"
    frame.to_csv(path, index=False)
    result = _ok(_run(env, ScoringSource.file(path), segment_columns=["region"], batch_key="evil"))
    with session_scope(ws.engine) as s:
        batch = d.get_batch(session=s, project_id=project_id, batch_id=result["batch_id"])
        options = scoring.batch_options(session=s, project_id=project_id, lang="en")
        trend = d.batch_trend(session=s, project_id=project_id)
    assert [o.id for o in options] == [batch.id] and "evil" in options[0].label and "churn@1" in options[0].label
    values = scoring.segment_values(batch, "region")
    assert set(values) == set(frame["region"].dropna().unique()) | ({None} if frame["region"].isna().any() else set())
    everything = scoring.row_filter(batch, segments={"region": []}, score_range=(0.0, 1.0))
    assert everything.empty
    chosen = scoring.row_filter(batch, segments={"region": [values[0]]}, score_range=(0.5, 1.0), positive=None)
    with session_scope(ws.engine) as s:
        summary = d.batch_summary(session=s, project_id=project_id, batch_id=batch.id, filters=chosen)
    stored = _stored(ws, batch.id)
    keep = frame.set_index(frame["customer_id"].astype(str))["region"] == values[0]
    assert summary.n_rows == int(((stored >= 0.5) & keep.reindex(stored.index)).sum())
    fig = scoring.histogram_figure(summary, batch=batch, lang="es")
    assert sum(fig.data[0].y) == summary.n_rows and fig.layout.shapes  # the threshold line
    assert len(scoring.trend_figure(trend, lang="en").data) == 2
    table = scoring.segment_table(batch.summary.segments["region"], batch=batch, lang="es")
    assert table.iloc[:, 1].sum() == N_ROWS and "%" in table.iloc[0, 2]
    text = scoring.csv_bytes(engine=ws.engine, project_id=project_id, batch_id=batch.id, filters=None).decode(
        "utf-8-sig"
    )
    assert "'=cmd|" in text and "\n=cmd" not in text and len(text.strip().splitlines()) == N_ROWS + 1
    assert scoring.source_text(batch, lang="es").endswith("evil.csv")
    with session_scope(ws.engine) as s:
        detail = d.prediction_detail(session=s, project_id=project_id, batch_id=batch.id, row_key="=cmd|' /C calc'!A0")
    shown = scoring.detail_frame(detail, lang="en").set_index("Column")["Value"]
    assert shown["tenure_months"] == str(int(frame.loc[0, "tenure_months"]))  # 12, not 12.0
    assert len(shown["signup_date"]) == 10  # a date, without midnight
    assert scoring.percent_text(0.5, lang="en") == "50.0%" and scoring.percent_text(None) == "—"


def test_advisor_helpers_history_and_defaults(env):
    ws, project_id, _, _, people = env
    with session_scope(ws.engine) as s:
        assert scoring.default_answers(session=s, project_id=project_id).urgency == "day"
        assert scoring.mode_choice_history(session=s, project_id=project_id) == ()
        options = scoring.model_options(session=s, project_id=project_id, lang="es")
        assert [o.ref for o in options] == ["churn@1", "near@1"] and "Producción" in options[0].label
        assert (
            scoring.default_threshold(session=s, project_id=project_id, model_version_id=options[0].model_version_id)
            == 0.5
        )
        answers = check_answers(urgency="seconds", volume=500, period="hour", event_triggered=True)
        record_mode_choice(
            session=s,
            project_id=project_id,
            answers=answers,
            mode="batch",
            actor=s.get(User, people["dep"]),
            reason="cheap",
        )
    with session_scope(ws.engine) as s:
        history = scoring.mode_choice_history(session=s, project_id=project_id)
        assert scoring.default_answers(session=s, project_id=project_id) == answers
    assert [(c.mode, c.recommended, c.reason) for c in history] == [("batch", "online", "cheap")]
    frame = scoring.history_frame(history, lang="es")
    assert frame.iloc[0, 2].startswith("Por lotes")
    cards = scoring.tradeoff_cards(recommend_mode(answers), lang="es")
    assert [c.recommended for c in cards] == [True, False, False] and cards[0].title == "Servicio web en línea"
    assert all(c.pros and c.cons for c in cards)
