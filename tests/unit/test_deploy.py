"""Deployment: the mode advisor, batch scoring into the database and the dashboards' SQL."""

from __future__ import annotations

import csv
import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import func
from sqlmodel import col, select

from mlcore.auth import create_user, set_member
from mlcore.data.versions import FORMULA_PREFIXES
from mlcore.deploy import advisor
from mlcore.deploy import batch as batch_module
from mlcore.deploy import dashboard as d
from mlcore.deploy.advisor import (
    STREAM_RATE,
    AdvisorAnswers,
    check_answers,
    current_mode_choice,
    recommend_mode,
    record_mode_choice,
)
from mlcore.deploy.batch import (
    MAX_ROWS_OUT,
    Reason,
    ScoringCancelled,
    batch_key_for,
    masked_source,
    model_features,
    parquet_chunks,
    score_batch,
)
from mlcore.errors import InputError, NotFound, PermissionDenied
from mlcore.i18n import catalog
from mlcore.modeling.training import build_pipeline
from mlcore.planning.canvas import Canvas
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, User
from mlcore.store.models_deployment import Prediction, PredictionBatch, PredictionDetail, PredictionRank

N = 240
ROLES = {"age": "numeric", "income": "numeric", "plan": "categorical"}
FEATURES = ["age", "income", "plan"]


def _rows(n: int = N, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "customer": [f"C{i:04d}" for i in range(n)],
            "age": rng.integers(18, 80, n).astype(float),
            "income": rng.normal(50, 15, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "region": rng.choice(["north", "south", "east"], n),
            "note": ["free text"] * n,
        }
    )
    logit = (frame["age"] - 45) / 10 + (frame["plan"] == "pro") * 1.5 - (frame["income"] - 50) / 20
    y = (logit + rng.normal(0, 1, n) > 0).astype(int).to_numpy()
    return frame, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return _rows()


@pytest.fixture(scope="module")
def model(data):
    frame, y = data
    pipe = build_pipeline("logistic_regression", task_type="classification", roles=ROLES, features=FEATURES)
    return pipe.fit(frame[FEATURES], y)


@pytest.fixture
def env(ws, actor_and_project):
    user_id, project_id = actor_and_project
    return ws.engine, user_id, project_id


@pytest.fixture(scope="module")
def refusals(tmp_path_factory):
    """One workspace for the tests where every run is refused (nothing complete is ever written)."""
    from argon2 import PasswordHasher

    from mlcore import auth
    from mlcore.config import Limits, Settings
    from mlcore.workspace import open_workspace

    home = tmp_path_factory.mktemp("refusals")
    ws = open_workspace(Settings(home=home, database_url=f"sqlite:///{home / 'ciclo.db'}", limits=Limits()))
    hasher, auth._hasher = auth._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        with session_scope(ws.engine) as s:
            user = create_user(session=s, actor=None, name="ana", role="admin", password="correct horse 1")
            project = create_project(session=s, data=ProjectCreate(name="Refusals"), actor=user)
            ids = user.id, project.id
    finally:
        auth._hasher = hasher
    return ws.engine, *ids


def _score(env, model, frame, **options):
    engine, user_id, project_id = env
    settings = {
        "engine": engine,
        "pipeline": model,
        "project_id": project_id,
        "actor_id": user_id,
        "model_version_id": 7,
        "batch_key": "nightly",
        "key_column": "customer",
    }
    settings.update(options)
    return score_batch(frame, **settings)


def _stored(engine, batch_id):
    with engine.connect() as conn:
        rows = conn.execute(
            select(Prediction.row_key, Prediction.score, Prediction.label, Prediction.positive).where(
                Prediction.batch_id == batch_id
            )
        ).all()
    return pd.DataFrame(rows, columns=["row_key", "score", "label", "positive"]).set_index("row_key")


def _count(engine, table, *conditions):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()


# ----------------------------------------------------------------------------- advisor


@pytest.mark.parametrize(
    ("urgency", "volume", "period", "events", "mode", "alternative"),
    [
        ("day", 100_000, "day", False, "batch", None),
        ("hour", 5_000, "day", True, "batch", "online"),
        ("minutes", 2_000, "hour", True, "batch", "streaming"),  # 0.56/s: frequent small batches
        ("minutes", 1_000_000, "day", True, "streaming", "batch"),  # 11.6/s
        ("minutes", 2_000, "hour", False, "batch", "online"),
        ("seconds", 500, "hour", True, "online", None),
        ("seconds", 10_000_000, "day", True, "streaming", "online"),  # 116/s
        ("seconds", 10_000_000, "day", False, "online", "batch"),
    ],
)
def test_advisor_recommends_by_urgency_volume_and_trigger(urgency, volume, period, events, mode, alternative):
    rec = recommend_mode(check_answers(urgency=urgency, volume=volume, period=period, event_triggered=events))
    assert rec.mode == mode
    assert rec.alternative == alternative
    assert [t.mode for t in rec.tradeoffs][0] == mode and sorted(t.mode for t in rec.tradeoffs) == sorted(advisor.MODES)
    assert rec.reasons and (rec.alternative_reason is None) == (alternative is None)


def test_advisor_streaming_starts_at_the_stated_rate():
    at = check_answers(urgency="seconds", volume=int(STREAM_RATE * 3600), period="hour", event_triggered=True)
    below = check_answers(urgency="seconds", volume=int(STREAM_RATE * 3600) - 1, period="hour", event_triggered=True)
    assert at.per_second == STREAM_RATE
    assert recommend_mode(at).mode == "streaming" and recommend_mode(below).mode == "online"


def test_advisor_explains_in_both_languages():
    rec = recommend_mode(check_answers(urgency="seconds", volume=1_000_000, period="hour", event_triggered=False))
    en, es = rec.reasons_text("en"), rec.reasons_text("es")
    assert len(en) == 2 and en != es  # answer now + busy service (277.8 requests per second)
    assert "278" in en[1] and "278" in es[1]
    slow = recommend_mode(check_answers(urgency="minutes", volume=3000, period="hour", event_triggered=False))
    assert "0.83" in slow.reasons_text("en")[0] and "0,83" in slow.reasons_text("es")[0]
    keys = [k for t in rec.tradeoffs for k in (*t.pros, *t.cons)]
    assert all(k in catalog("en") and k in catalog("es") for k in keys)
    assert all(t.pros_text("es") != t.pros_text("en") for t in rec.tradeoffs)
    day = recommend_mode(check_answers(urgency="day", volume=10, period="week", event_triggered=False))
    assert "un día" in day.reasons_text("es")[0] and "a day" in day.reasons_text("en")[0]


@pytest.mark.parametrize(
    ("answers", "key"),
    [
        ({"urgency": "soon"}, "deploy.advisor.bad_urgency"),
        ({"volume": -1}, "deploy.advisor.bad_volume"),
        ({"volume": 1.5}, "deploy.advisor.bad_volume"),
        ({"volume": math.nan}, "deploy.advisor.bad_volume"),
        ({"volume": True}, "deploy.advisor.bad_volume"),
        ({"volume": "100"}, "deploy.advisor.bad_volume"),
        ({"period": "fortnight"}, "deploy.advisor.bad_period"),
        ({"event_triggered": "yes"}, "deploy.advisor.bad_trigger"),
    ],
)
def test_advisor_refuses_bad_answers(answers, key):
    given = {"urgency": "day", "volume": 10, "period": "day", "event_triggered": False, **answers}
    with pytest.raises(InputError) as err:
        check_answers(**given)
    assert err.value.key == key


def test_advisor_reads_the_canvas():
    assert advisor.answers_from_canvas(Canvas()) is None
    answers = advisor.answers_from_canvas(
        Canvas(latency="seconds", volume_per_period=10, volume_period="hour"), event_triggered=True
    )
    assert answers == AdvisorAnswers("seconds", 10, "hour", True)


def test_mode_choice_is_recorded_audited_and_guarded(ws, actor_and_project):
    user_id, project_id = actor_and_project
    answers = check_answers(urgency="day", volume=1000, period="day", event_triggered=False)
    with session_scope(ws.engine) as s:
        actor = s.get(User, user_id)
        assert current_mode_choice(session=s, project_id=project_id) is None
        first = record_mode_choice(session=s, project_id=project_id, answers=answers, mode="batch", actor=actor)
        with pytest.raises(InputError) as err:
            record_mode_choice(session=s, project_id=project_id, answers=answers, mode="online", actor=actor)
        assert err.value.key == "deploy.advisor.reason_required"
        with pytest.raises(InputError):
            record_mode_choice(session=s, project_id=project_id, answers=answers, mode="cloud", actor=actor)
        second = record_mode_choice(
            session=s, project_id=project_id, answers=answers, mode="online", actor=actor, reason="Sales wants it live"
        )
        viewer = create_user(session=s, actor=actor, name="vic", role="viewer", password="correct horse 1")
        set_member(session=s, actor=actor, project_id=project_id, user_id=viewer.id, role="viewer")
        with pytest.raises(PermissionDenied):
            record_mode_choice(session=s, project_id=project_id, answers=answers, mode="batch", actor=viewer)
    with session_scope(ws.engine) as s:
        current = current_mode_choice(session=s, project_id=project_id)
        assert first.recommended == "batch" and current is not None and current.id == second.id
        assert (current.mode, current.recommended, current.reason) == ("online", "batch", "Sales wants it live")
        assert current.answers == answers
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "deploy.choose")).all()
        assert len(events) == 2


# ----------------------------------------------------------------------------- scoring


def test_model_features_read_kinds_and_categories(model):
    specs = {f.name: f for f in model_features(model)}
    assert [specs[c].kind for c in FEATURES] == ["numeric", "numeric", "categorical"]
    assert specs["plan"].categories == frozenset({"basic", "plus", "pro"})


def test_stored_predictions_equal_predict_proba(env, model, data):
    frame, _ = data
    calls = []
    result = _score(
        env,
        model,
        frame,
        threshold=0.4,
        segment_columns=["region", "plan"],
        chunk_rows=70,
        progress=lambda f, key, **p: calls.append((f, key, p["rows"])),
        source={"kind": "query", "url": "postgresql://ana:s3cret@db/x", "password": "hunter2"},
    )
    engine = env[0]
    stored = _stored(engine, result.batch_id)
    expected = pd.Series(model.predict_proba(frame[FEATURES])[:, 1], index=frame["customer"])
    assert len(stored) == N and result.n_rows == N
    assert np.array_equal(stored.loc[expected.index, "score"].to_numpy(), expected.to_numpy())
    assert (stored["positive"] == (stored["score"] >= 0.4)).all()
    assert (stored["label"] == np.where(stored["score"] >= 0.4, "1", "0")).all()
    assert [c[2] for c in calls if c[1] == "deploy.progress.scored"] == [70, 140, 210, 240]
    assert all(0 <= c[0] <= 1 for c in calls)
    summary = result.summary
    assert summary.n_positive == int((expected >= 0.4).sum())
    assert summary.mean_score == pytest.approx(expected.mean())
    bins = np.minimum(np.floor(expected.to_numpy() * 20).astype(int), 19)
    assert [b.count for b in summary.histogram] == np.bincount(bins, minlength=20).tolist()
    assert dict(summary.label_counts) == {"1": summary.n_positive, "0": N - summary.n_positive}
    region = frame.assign(score=expected.to_numpy()).groupby("region")["score"].agg(["size", "mean"])
    stored_regions = {r.value: r for r in summary.segments["region"]}
    for name, row in region.iterrows():
        assert stored_regions[name].n_rows == row["size"]
        assert stored_regions[name].mean_score == pytest.approx(row["mean"])
    with engine.connect() as conn:
        batch = conn.execute(select(PredictionBatch).where(PredictionBatch.id == result.batch_id)).one()
    assert batch.status == "complete" and batch.model_version_id == 7 and batch.threshold == 0.4
    assert "s3cret" not in str(batch.source) and "hunter2" not in str(batch.source)
    assert _count(engine, PredictionDetail) == 0  # nothing wide was asked for


def test_sql_aggregates_match_the_stored_summary(env, model, data):
    frame, _ = data
    result = _score(env, model, frame, segment_columns=["region"], chunk_rows=100)
    everything = d.RowFilter(min_score=result.summary.min_score)  # keeps every row, forces the SQL path
    with session_scope(env[0]) as s:
        where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
        stored, sql = d.batch_summary(**where), d.batch_summary(**where, filters=everything)
        assert stored == result.summary and sql.segments == {}
        for name in ("n_rows", "n_positive", "share_positive", "min_score", "max_score", "histogram", "label_counts"):
            assert getattr(sql, name) == getattr(stored, name), name
        assert sql.mean_score == pytest.approx(stored.mean_score)
        by_sql = d.segment_breakdown(**where, segment="region", filters=everything)
        by_store = d.segment_breakdown(**where, segment="region")
        assert [(r.value, r.n_rows, r.n_positive) for r in by_sql] == [
            (r.value, r.n_rows, r.n_positive) for r in by_store
        ]


def test_rerun_replaces_the_batch_and_never_duplicates(env, model, data):
    frame, _ = data
    engine = env[0]
    first = _score(env, model, frame, shown_columns=["age"], reasons=_reasons_frame(frame))
    before = _stored(engine, first.batch_id).sort_index()
    second = _score(env, model, frame, shown_columns=["age"], reasons=_reasons_frame(frame))
    assert second.replaced_batch_ids == (first.batch_id,) and second.batch_id != first.batch_id
    assert _count(engine, Prediction) == N and _count(engine, PredictionDetail) == N
    assert _count(engine, PredictionBatch) == 1
    assert len(before) == N and _stored(engine, second.batch_id).sort_index().equals(before)
    assert _stored(engine, first.batch_id).empty
    with session_scope(engine) as s:
        batches = d.list_batches(session=s, project_id=env[2])
        assert [b.id for b in batches] == [second.batch_id]
        with pytest.raises(NotFound):
            d.get_batch(session=s, project_id=env[2], batch_id=first.batch_id)
    other = _score(env, model, frame, batch_key="other")
    assert other.replaced_batch_ids == () and _count(engine, Prediction) == 2 * N


def test_the_switch_to_a_rerun_is_one_step(env, model, data, monkeypatch):
    frame, _ = data
    engine = env[0]
    first = _score(env, model, frame)
    removed = []
    monkeypatch.setattr(batch_module, "_delete_batches", lambda engine, ids: removed.extend(ids))
    second = _score(env, model, frame)  # as if killed right after the new batch became visible
    assert removed == [first.batch_id]
    with session_scope(engine) as s:
        assert [b.id for b in d.list_batches(session=s, project_id=env[2])] == [second.batch_id]
        assert s.get(PredictionBatch, first.batch_id).status == "replaced"
    monkeypatch.undo()
    third = _score(env, model, frame)
    assert third.cleaned_batch_ids == (first.batch_id,) and third.replaced_batch_ids == (second.batch_id,)
    assert _count(engine, Prediction) == N and _count(engine, PredictionBatch) == 1


def test_failure_half_way_shows_nothing_and_keeps_the_previous_batch(env, model, data):
    frame, _ = data
    engine = env[0]
    good = _score(env, model, frame, chunk_rows=100)
    before = _stored(engine, good.batch_id)

    def crash(fraction, key, **params):
        if params.get("rows", 0) >= 200:
            raise KeyboardInterrupt  # what a kill looks like from inside, at the second chunk

    with pytest.raises(KeyboardInterrupt):
        _score(env, model, frame, chunk_rows=100, progress=crash)
    with session_scope(engine) as s:
        assert [b.id for b in d.list_batches(session=s, project_id=env[2])] == [good.batch_id]
        failed = s.exec(select(PredictionBatch).where(PredictionBatch.status == "failed")).all()
        assert len(failed) == 1 and failed[0].error_key == "KeyboardInterrupt"
    assert _count(engine, Prediction) == N  # only the good batch's rows
    assert _stored(engine, good.batch_id).equals(before)
    rerun = _score(env, model, frame)
    assert rerun.cleaned_batch_ids == (failed[0].id,) and rerun.replaced_batch_ids == (good.batch_id,)
    assert _count(engine, PredictionBatch) == 1 and _count(engine, Prediction) == N


def test_hard_kill_leaves_an_invisible_batch_that_the_next_run_removes(env, model, data, monkeypatch):
    frame, _ = data
    engine = env[0]
    monkeypatch.setattr(batch_module, "_fail", lambda *a, **k: None)  # a killed process cleans nothing

    def crash(fraction, key, **params):
        if params.get("rows", 0) >= 100:
            raise SystemExit(9)

    with pytest.raises(SystemExit):
        _score(env, model, frame, chunk_rows=100, progress=crash, reasons=_reasons_frame(frame))
    with session_scope(engine) as s:
        writing = s.exec(select(PredictionBatch)).one()
        assert writing.status == "writing"
        assert d.list_batches(session=s, project_id=env[2]) == ()
        assert d.batch_trend(session=s, project_id=env[2]) == ()
        with pytest.raises(NotFound):
            d.batch_summary(session=s, project_id=env[2], batch_id=writing.id)
    assert _count(engine, Prediction) == 100 and _count(engine, PredictionDetail) == 100
    monkeypatch.undo()
    result = _score(env, model, frame, chunk_rows=100)
    assert result.cleaned_batch_ids == (writing.id,)
    assert _count(engine, Prediction) == N and _count(engine, PredictionDetail) == 0
    assert _count(engine, PredictionBatch) == 1


def test_cancel_between_chunks(env, model, data):
    frame, _ = data
    asked = iter([False, False, True])
    with pytest.raises(ScoringCancelled):
        _score(env, model, frame, chunk_rows=50, should_stop=lambda: next(asked))
    assert _count(env[0], Prediction) == 0
    with session_scope(env[0]) as s:
        assert s.exec(select(PredictionBatch.error_key)).one() == "deploy.cancelled"


def test_input_checks_coerce_report_and_refuse_clearly(env, model, data):
    frame, _ = data
    as_text = frame.assign(age=frame["age"].map(lambda v: f" {v:g} "), extra=1)
    as_text.loc[3, "age"] = ""
    result = _score(env, model, as_text)
    expected = model.predict_proba(frame.assign(age=frame["age"].where(frame.index != 3))[FEATURES])[:, 1]
    stored = _stored(env[0], result.batch_id).loc[frame["customer"], "score"].to_numpy()
    assert np.allclose(stored, expected)
    assert result.report.coerced_columns == ("age",)
    assert set(result.report.ignored_columns) == {"region", "note", "extra"}
    assert any(f.key == "deploy.report.ignored" for f in result.report.findings())

    unseen = frame.assign(plan=frame["plan"].where(frame.index >= 5, "enterprise"))
    result = _score(env, model, unseen, batch_key="unseen")
    assert result.report.unseen == {"plan": (5, ("enterprise",))}
    stored = _stored(env[0], result.batch_id).loc[frame["customer"], "score"].to_numpy()
    assert np.array_equal(stored, model.predict_proba(unseen[FEATURES])[:, 1])
    assert "enterprise" in result.report.findings()[-1].message("es")


@pytest.mark.parametrize(
    ("change", "key", "needle"),
    [
        (lambda f: f.drop(columns=["income", "plan"]), "deploy.missing_features", "income, plan"),
        (lambda f: f.assign(age=["abc"] + ["3"] * (len(f) - 1)), "deploy.not_numeric", "abc"),
        (lambda f: f.assign(age=pd.Timestamp("2024-01-01")), "deploy.wrong_type_dates", "age"),
        (lambda f: f.iloc[:0], "deploy.empty_input", None),
        (lambda f: f.assign(customer="same"), "deploy.duplicate_keys", "same"),
        (lambda f: f.assign(customer=f["customer"].where(f.index != 4)), "deploy.key_missing", "1"),
        (lambda f: f.assign(customer="k" * 301 + "x"), "deploy.key_too_long", "300"),
        (lambda f: f.drop(columns=["customer"]), "deploy.key_column_missing", "customer"),
        (lambda f: pd.concat([f, f[["age"]]], axis=1), "deploy.duplicate_columns", "age"),
    ],
)
def test_bad_rows_are_refused_with_a_clear_key(refusals, model, data, change, key, needle):
    env = refusals
    frame, _ = data
    with pytest.raises(InputError) as err:
        _score(env, model, change(frame))
    assert err.value.key == key
    if needle is not None:
        assert needle in err.value.message("en")
    assert err.value.message("es") != err.value.message("en")
    assert _count(env[0], Prediction) == 0
    with session_scope(env[0]) as s:
        assert d.list_batches(session=s, project_id=env[2]) == ()


def test_duplicate_keys_across_chunks_are_refused(env, model, data):
    frame, _ = data
    repeated = pd.concat([frame, frame.iloc[[10]]], ignore_index=True)
    with pytest.raises(InputError) as err:
        _score(env, model, repeated, chunk_rows=100)
    assert err.value.key == "deploy.duplicate_keys" and "C0010" in err.value.message("en")
    assert _count(env[0], Prediction) == 0


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"threshold": 1.5}, "deploy.bad_threshold"),
        ({"threshold": math.nan}, "deploy.bad_threshold"),
        ({"threshold": "0.5"}, "deploy.bad_threshold"),
        ({"positive_class": "yes"}, "deploy.unknown_positive_class"),
        ({"segment_columns": ["region", "plan", "note", "age"]}, "deploy.too_many_segments"),
        ({"segment_columns": ["region", "region"]}, "deploy.duplicate_segments"),
        ({"segment_columns": "region"}, "deploy.bad_columns_option"),
        ({"segment_columns": ["nope"]}, "deploy.columns_missing"),
        ({"batch_key": "bad\x00key"}, "deploy.bad_batch_key"),
        ({"batch_key": ""}, "deploy.bad_batch_key"),
        ({"model_version_id": "3"}, "deploy.bad_model_version"),
        ({"chunk_rows": 0}, "deploy.bad_chunk_rows"),
        ({"reasons": [1, 2]}, "deploy.bad_reasons"),
        ({"reasons": pd.DataFrame({"row_key": ["C0000"]})}, "deploy.reasons_columns"),
    ],
)
def test_bad_options_are_refused(refusals, model, data, options, key):
    env = refusals
    frame, _ = data
    with pytest.raises(InputError) as err:
        _score(env, model, frame, **options)
    assert err.value.key == key


def test_bad_inputs_models_and_permissions(env, model, data):
    frame, y = data
    with pytest.raises(InputError) as err:
        _score(env, model, "select * from customers")
    assert err.value.key == "deploy.bad_input_type"
    with pytest.raises(InputError) as err:
        _score(env, model, [])
    assert err.value.key == "deploy.empty_input"
    words = build_pipeline("logistic_regression", task_type="classification", roles=ROLES, features=FEATURES)
    words.fit(frame[FEATURES], np.where(y == 1, "leave", "stay"))
    with pytest.raises(InputError) as err:
        _score(env, words, frame)
    assert err.value.key == "deploy.positive_class_required" and "leave" in err.value.message("en")
    result = _score(env, words, frame, positive_class="leave")
    assert np.allclose(
        _stored(env[0], result.batch_id).loc[frame["customer"], "score"], words.predict_proba(frame[FEATURES])[:, 0]
    )
    with pytest.raises(InputError) as err:
        _score(env, model.named_steps["model"], frame)
    assert err.value.key == "deploy.model_without_features"
    engine, user_id, project_id = env
    with session_scope(engine) as s:
        admin = s.get(User, user_id)
        viewer = create_user(session=s, actor=admin, name="vera", role="viewer", password="correct horse 1")
        set_member(session=s, actor=admin, project_id=project_id, user_id=viewer.id, role="viewer")
        viewer_id = viewer.id
    with pytest.raises(PermissionDenied):
        _score(env, model, frame, actor_id=viewer_id)
    with pytest.raises(NotFound):
        _score(env, model, frame, project_id=999)


def test_multiclass_regression_and_margin_models(env, data):
    frame, y = data
    engine = env[0]
    classes = np.array(["low", "mid", "high"])[(frame["age"].to_numpy() > 40).astype(int) + (y == 1)]
    multi = build_pipeline("logistic_regression", task_type="classification", roles=ROLES, features=FEATURES)
    multi.fit(frame[FEATURES], classes)
    with pytest.raises(InputError) as err:
        _score(env, multi, frame, threshold=0.5)
    assert err.value.key == "deploy.threshold_two_classes"
    result = _score(env, multi, frame, positive_class="high", batch_key="multi")
    proba = pd.DataFrame(multi.predict_proba(frame[FEATURES]), columns=multi.classes_, index=frame["customer"])
    with session_scope(engine) as s:
        where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
        detail = d.prediction_detail(**where, row_key="C0007")
        assert detail.probabilities == pytest.approx(proba.loc["C0007"].to_dict(), abs=1e-14)
        assert detail.row.score == proba.loc["C0007", "high"]
        assert detail.row.label == proba.loc["C0007"].idxmax()
        summary = d.batch_summary(**where)
        assert dict(summary.label_counts) == proba.idxmax(axis=1).value_counts().to_dict()
        assert summary.n_positive == int((proba.idxmax(axis=1) == "high").sum())
        label_only = d.batch_summary(**where, filters=d.RowFilter(label="mid"))
        assert label_only.n_rows == dict(summary.label_counts)["mid"] and label_only.n_positive == 0

    reg = build_pipeline("ridge", task_type="regression", roles=ROLES, features=FEATURES)
    reg.fit(frame[FEATURES], frame["income"] * 2 + y)
    with pytest.raises(InputError) as err:
        _score(env, reg, frame, positive_class="1")
    assert err.value.key == "deploy.positive_class_regression"
    result = _score(env, reg, frame, threshold=100.0, batch_key="reg")
    stored = _stored(engine, result.batch_id).loc[frame["customer"]]
    predicted = reg.predict(frame[FEATURES])
    assert np.array_equal(stored["score"].to_numpy(), predicted) and stored["label"].isna().all()
    assert result.summary.n_positive == int((predicted >= 100).sum())
    hist = result.summary.histogram
    assert sum(b.count for b in hist) == N and hist[0].low == predicted.min() and hist[-1].high == predicted.max()
    with session_scope(engine) as s:
        sql = d.batch_summary(
            session=s,
            project_id=env[2],
            batch_id=result.batch_id,
            filters=d.RowFilter(min_score=float(predicted.min())),
        )
        assert [b.count for b in sql.histogram] == [b.count for b in hist]

    svm = build_pipeline("linear_svm", task_type="classification", roles=ROLES, features=FEATURES)
    svm.fit(frame[FEATURES], y)
    result = _score(env, svm, frame, batch_key="svm")
    stored = _stored(engine, result.batch_id).loc[frame["customer"]]
    margin = svm.decision_function(frame[FEATURES])
    assert np.array_equal(stored["score"].to_numpy(), margin)
    assert (stored["label"] == np.where(margin >= 0, "1", "0")).all()


def _reasons_frame(frame: pd.DataFrame) -> pd.DataFrame:
    keys = frame["customer"].to_numpy()
    return pd.DataFrame(
        {
            "row_key": np.repeat(keys, 4),
            "feature": ["age", "income", "plan", "region"] * len(keys),
            "value": np.column_stack(
                [frame["age"].astype(str), frame["income"].round(1).astype(str), frame["plan"], frame["region"]]
            ).reshape(-1),
            "contribution": np.tile([0.5, -0.9, 0.01, 0.2], len(keys)),
        }
    )


def test_reasons_keep_the_top_three_and_read_in_both_languages(env, model, data):
    frame, _ = data
    long = _reasons_frame(frame)

    def per_chunk(chunk):
        return long[long["row_key"].isin(chunk["customer"])]

    for reasons, key in ((long, "frame"), (per_chunk, "callable")):
        result = _score(env, model, frame, reasons=reasons, batch_key=key, chunk_rows=90)
        with session_scope(env[0]) as s:
            top = d.top_predictions(session=s, project_id=env[2], batch_id=result.batch_id, n=5, lang="es")
            assert [t.row.score for t in top] == sorted([t.row.score for t in top], reverse=True)
            row = top[0].row
            assert [r.feature for r in row.reasons] == ["income", "age", "region"]
            assert row.reasons[0] == Reason(
                "income", str(frame.set_index("customer").loc[row.row_key, "income"].round(1)), -0.9
            )
            assert top[0].reasons_text[0].startswith("income = ") and "menos probable «1»" in top[0].reasons_text[0]
            english = d.top_predictions(session=s, project_id=env[2], batch_id=result.batch_id, n=1, lang="en")
            assert "made “1” less likely" in english[0].reasons_text[0]
    assert d.reason_text(Reason("tenure", "2", 0.0), lang="en") == "tenure = 2 did not change the prediction"
    labelled = d.reason_text(
        Reason("tenure", "2", 1.0), lang="en", outcome="churn", feature_labels={"tenure": "Months"}
    )
    assert labelled == "Months = 2 made “churn” more likely"


# ----------------------------------------------------------------------------- dashboards


@pytest.fixture
def scored(env, model, data):
    frame, _ = data
    result = _score(
        env,
        model,
        frame,
        segment_columns=["region", "plan"],
        shown_columns=["age", "note"],
        reasons=_reasons_frame(frame),
        chunk_rows=100,
    )
    expected = frame.assign(score=model.predict_proba(frame[FEATURES])[:, 1])
    return result, expected


def test_filters_and_breakdowns_agree_with_pandas(env, scored):
    result, expected = scored
    with session_scope(env[0]) as s:
        where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
        rows = d.RowFilter(segments={"region": ["north", "east"]}, min_score=0.2, max_score=0.9)
        mask = expected["region"].isin(["north", "east"]) & expected["score"].between(0.2, 0.9)
        summary = d.batch_summary(**where, filters=rows)
        assert summary.n_rows == int(mask.sum()) and summary.n_positive == int((expected[mask]["score"] >= 0.5).sum())
        assert summary.mean_score == pytest.approx(expected[mask]["score"].mean())
        assert sum(b.count for b in summary.histogram) == summary.n_rows
        by_plan = d.segment_breakdown(**where, segment="plan", filters=rows)
        truth = expected[mask].groupby("plan")["score"].agg(["size", "mean"])
        assert {r.value: r.n_rows for r in by_plan} == truth["size"].to_dict()
        assert [r.n_rows for r in by_plan] == sorted((r.n_rows for r in by_plan), reverse=True)
        positives = d.batch_summary(**where, filters=d.RowFilter(positive=True))
        assert positives.n_rows == int((expected["score"] >= 0.5).sum()) == positives.n_positive
        negatives = d.batch_summary(**where, filters=d.RowFilter(positive=False, label="0"))
        assert negatives.n_rows == N - positives.n_rows and negatives.n_positive == 0
        frame = d.segments_frame(d.segment_breakdown(**where, segment="region"), lang="es")
        assert list(frame["rows"]) == sorted(frame["rows"], reverse=True) and frame["rows"].sum() == N
        assert len(d.histogram_frame(summary)) == 20
        for bad, key in (
            (d.RowFilter(segments={"city": ["x"]}), "deploy.unknown_segment"),
            (d.RowFilter(min_score=math.inf), "deploy.bad_score_filter"),
            (d.RowFilter(max_score="0.5"), "deploy.bad_score_filter"),
            (d.RowFilter(segments={"region": ["x"] * 1001}), "deploy.too_many_filter_values"),
        ):
            with pytest.raises(InputError) as err:
                d.batch_summary(**where, filters=bad)
            assert err.value.key == key


def test_pages_cover_every_row_once_in_score_order(env, scored):
    result, expected = scored
    with session_scope(env[0]) as s:
        where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
        seen, page = [], d.prediction_page(**where, page_size=7)
        while True:
            seen += list(page.rows)
            if page.next_cursor is None:
                break
            page = d.prediction_page(**where, page_size=7, after=page.next_cursor)
        assert sorted(r.row_key for r in seen) == sorted(expected["customer"])
        assert [r.score for r in seen] == sorted(expected["score"], reverse=True)
        by_offset = d.prediction_page(**where, page_size=7, offset=14)
        assert by_offset.rows == tuple(seen[14:21])
        north = d.prediction_page(**where, page_size=1000, filters=d.RowFilter(segments={"region": ["north"]}))
        assert len(north.rows) == int((expected["region"] == "north").sum()) and north.next_cursor is None
        assert all(r.segments["region"] == "north" for r in north.rows)
        shown = d.rows_frame(d.top_predictions(**where, n=3), batch=d.get_batch(**where), lang="en")
        assert list(shown.columns[:4]) == ["id", "key", "score", "predicted"] and "reasons" in shown.columns
        for bad in ({"page_size": d.MAX_PAGE_SIZE + 1}, {"page_size": 0}, {"offset": MAX_ROWS_OUT}):
            with pytest.raises(InputError):
                d.prediction_page(**where, **bad)
        with pytest.raises(InputError):
            d.top_predictions(**where, n=d.MAX_TOP + 1)
        batch = d.get_batch(**where)
        with pytest.raises(AssertionError):
            d._ranked(s, batch, [], limit=MAX_ROWS_OUT + 1)


def test_drill_down_by_id_or_key(env, scored):
    result, expected = scored
    with session_scope(env[0]) as s:
        where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
        by_key = d.prediction_detail(**where, row_key="C0042", lang="es")
        by_id = d.prediction_detail(**where, prediction_id=by_key.row.id)
        assert by_key.row == by_id.row and by_key.reasons_text != by_id.reasons_text
        truth = expected.set_index("customer").loc["C0042"]
        assert by_key.row.score == truth["score"] and by_key.values == {"age": truth["age"], "note": "free text"}
        assert by_key.share_below == (expected["score"] < truth["score"]).mean()
        assert by_key.row.segments == {"region": truth["region"], "plan": truth["plan"]}
        assert by_key.probabilities is None
        with pytest.raises(NotFound):
            d.prediction_detail(**where, row_key="nobody")
        with pytest.raises(InputError):
            d.prediction_detail(**where)
        with pytest.raises(InputError):
            d.prediction_detail(**where, row_key="C0042", prediction_id=1)
        with pytest.raises(NotFound):
            d.prediction_detail(session=s, project_id=env[2] + 1, batch_id=result.batch_id, row_key="C0042")


def test_trend_lists_complete_batches_oldest_first(env, model, data):
    frame, _ = data
    engine, user_id, project_id = env
    results = [_score(env, model, frame.iloc[: 100 + 40 * i], batch_key=f"day-{i}") for i in range(3)]
    with session_scope(engine) as s:
        other = create_project(session=s, data=ProjectCreate(name="Other"), actor=s.get(User, user_id))
        s.add(
            PredictionBatch(
                project_id=project_id,
                model_version_id=7,
                batch_key="half",
                task_type="classification",
                score_kind="probability",
                status="writing",
                created_by_id=user_id,
            )
        )
    with session_scope(engine) as s:
        trend = d.batch_trend(session=s, project_id=project_id)
        assert [p.batch_id for p in trend] == [r.batch_id for r in results]
        assert [p.n_rows for p in trend] == [100, 140, 180]
        assert [p.share_positive for p in trend] == [r.summary.share_positive for r in results]
        assert d.batch_trend(session=s, project_id=project_id, model_version_id=8) == ()
        assert d.list_batches(session=s, project_id=other.id) == ()
        assert list(d.trend_frame(trend)["rows"]) == [100, 140, 180]


MALICIOUS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "<script>alert(1)</script>"]


def test_csv_export_is_formula_safe_and_streamed(env, model):
    frame, _ = _rows(60, seed=3)
    frame["customer"] = [MALICIOUS[i % len(MALICIOUS)] + f"#{i}" for i in range(len(frame))]
    frame["region"] = [MALICIOUS[(i + 1) % len(MALICIOUS)] for i in range(len(frame))]
    frame['=HYPERLINK("http://x")'] = "@evil"
    reasons = _reasons_frame(frame).assign(feature="=2+5")
    result = _score(
        env,
        model,
        frame,
        segment_columns=["region"],
        shown_columns=['=HYPERLINK("http://x")', "age"],
        reasons=reasons,
    )
    with session_scope(env[0]) as s:
        where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
        chunks = list(d.export_csv(**where, chunk_rows=25))
        whole = b"".join(d.export_csv(**where, lang="es"))
        limited = b"".join(d.export_csv(**where, max_rows=10))
        with pytest.raises(InputError):
            list(d.export_csv(**where, max_rows=MAX_ROWS_OUT + 1))
        first_region = frame["region"][0]
        segment = d.RowFilter(segments={"region": [first_region, "none such"]})
        filtered = b"".join(d.export_csv(**where, filters=segment))  # an IN (...) filter on the fast path
        detail = d.prediction_detail(**where, row_key=frame["customer"][0])
        assert detail.row.row_key == frame["customer"][0] and detail.row.segments["region"] == frame["region"][0]
    assert len(chunks) == 1 + 3 and chunks[0] == b"\xef\xbb\xbf"
    text = b"".join(chunks).decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    header, body = table[0], table[1:]
    assert len(body) == len(frame) and len(list(csv.reader(io.StringIO(limited.decode("utf-8-sig"))))) == 11
    assert header[:4] == ["key", "score", "predicted", "predicted positive"]
    assert header[5] == '\'=HYPERLINK("http://x")' and header[-1] == "reasons"
    for row in table:
        for cell in row:
            assert not cell.startswith(FORMULA_PREFIXES), cell
    keys = sorted(row[0][1:] if row[0].startswith("'") else row[0] for row in body)
    assert keys == sorted(frame["customer"])
    assert any("<script>" in row[0] for row in body)  # kept as inert text, not dropped
    assert all(row[-1].startswith("'=2+5 = ") for row in body)
    assert [float(row[1]) for row in body] == sorted((float(row[1]) for row in body), reverse=True)
    in_segment = list(csv.reader(io.StringIO(filtered.decode("utf-8-sig"))))[1:]
    assert len(in_segment) == int((frame["region"] == first_region).sum()) > 0
    spanish = next(csv.reader(io.StringIO(whole.decode("utf-8-sig"))))
    assert spanish[:4] == ["clave", "puntaje", "predicción", "predicho positivo"] and spanish[-1] == "razones"


def test_sources_keys_and_chunked_inputs(env, model, data, tmp_path):
    frame, _ = data
    assert masked_source({"url": "sqlite:////tmp/x.db", "api_token": "abc"})["api_token"] == "***"
    a = batch_key_for(source={"kind": "file", "name": "a.csv"}, model_version_id=1)
    assert a != batch_key_for(source={"kind": "file", "name": "a.csv"}, model_version_id=2)
    path = tmp_path / "rows.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=50)
    result = _score(env, model, parquet_chunks(path, chunk_rows=60), total_rows=N, batch_key=a)
    table = _score(env, model, pa.Table.from_pandas(frame, preserve_index=False), batch_key="arrow", chunk_rows=100)
    assert result.n_rows == table.n_rows == N
    assert _stored(env[0], result.batch_id).sort_index().equals(_stored(env[0], table.batch_id).sort_index())
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError) as err:
        list(parquet_chunks(broken))
    assert err.value.key == "deploy.bad_parquet"
    with session_scope(env[0]) as s:
        ids = s.exec(select(col(Prediction.id)).where(Prediction.batch_id == table.batch_id)).all()
        info = d.get_batch(session=s, project_id=env[2], batch_id=table.batch_id)
        assert (info.first_id, info.last_id) == (min(ids), max(ids))


def test_rank_is_built_in_slices_and_orders_every_read(env, model, data, monkeypatch):
    frame, y = data
    monkeypatch.setattr(batch_module, "RANK_SLICE_ROWS", 40)
    reg = build_pipeline("ridge", task_type="regression", roles=ROLES, features=FEATURES)
    reg.fit(frame[FEATURES], frame["income"])
    for pipeline, key in ((model, "classes"), (reg, "numbers")):
        result = _score(env, pipeline, frame, batch_key=key, segment_columns=["region"], chunk_rows=64)
        assert _count(env[0], PredictionRank, PredictionRank.batch_id == result.batch_id) == N
        with session_scope(env[0]) as s:
            where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
            rows = d.prediction_page(**where, page_size=N).rows
            assert [r.score for r in rows] == sorted((r.score for r in rows), reverse=True) and len(rows) == N
            middle = rows[N // 2].score
            high = d.prediction_page(**where, page_size=N, filters=d.RowFilter(min_score=middle)).rows
            assert len(high) == sum(r.score >= middle for r in rows)


def test_dashboard_view_matches_the_separate_reads(env, scored, monkeypatch):
    result, expected = scored
    with session_scope(env[0]) as s:
        where = dict(session=s, project_id=env[2], batch_id=result.batch_id)
        plain = d.dashboard_view(**where, top_n=5, page_size=10)
        assert plain.summary == d.batch_summary(**where) and len(plain.top) == 5 and len(plain.page.rows) == 10
        assert plain.segments["plan"] == d.segment_breakdown(**where, segment="plan")
        rows = d.RowFilter(segments={"region": ["north"]}, min_score=0.1)
        for cap in (20_000, 1):  # one pass for summary and breakdowns, or one GROUP BY each
            monkeypatch.setattr(d, "_MAX_PASS_GROUPS", cap)
            view = d.dashboard_view(**where, filters=rows, top_n=5, page_size=10, lang="es")
            separate = d.batch_summary(**where, filters=rows)
            for name in ("n_rows", "n_positive", "histogram", "label_counts", "min_score", "max_score"):
                assert getattr(view.summary, name) == getattr(separate, name)
            for name in ("region", "plan"):
                alone = d.segment_breakdown(**where, segment=name, filters=rows)
                assert [(r.value, r.n_rows, r.n_positive) for r in view.segments[name]] == [
                    (r.value, r.n_rows, r.n_positive) for r in alone
                ]
                assert [r.mean_score for r in view.segments[name]] == pytest.approx([r.mean_score for r in alone])
            assert view.top == d.top_predictions(**where, n=5, filters=rows, lang="es")
            assert view.page.rows == d.prediction_page(**where, page_size=10, filters=rows).rows
        mask = (expected["region"] == "north") & (expected["score"] >= 0.1)
        assert view.summary.n_rows == int(mask.sum())
        by_rank = d.prediction_page(**where, page_size=5, offset=30, filters=d.RowFilter(min_score=0.1))
        ranked = expected[expected["score"] >= 0.1].sort_values("score", ascending=False)
        assert [r.row_key for r in by_rank.rows] == list(ranked["customer"].iloc[30:35])
        joined = d.prediction_page(**where, page_size=5, offset=3, filters=rows)
        assert [r.row_key for r in joined.rows] == list(
            expected[mask].sort_values("score", ascending=False)["customer"].iloc[3:8]
        )
