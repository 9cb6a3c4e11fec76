"""Interpretation records: the explain job stores one explanation artifact atomically and reuses it by model
SHA-256; a cancelled or failed job leaves nothing; rows are found by identifier or position (repeating
identifiers included); what-if flags values never seen; expert reviews are saved, updated, version-checked,
audited, kept in history and refused to people without the role; open concerns list what experts doubt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select
from threadpoolctl import threadpool_limits

import mlcore.modeling.explain_records as records
from mlcore.auth import get_user
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.synthetic import make_churn
from mlcore.data.versions import list_versions, read_version
from mlcore.demo import seed_demo
from mlcore.errors import ConflictError, InputError, NotFound, PermissionDenied
from mlcore.jobs import request_cancel, run_job
from mlcore.modeling.explain_records import (
    COMMENT_MAX,
    data_choices,
    find_explanation,
    find_rows,
    list_explanations,
    list_reviews,
    local_view,
    lookup_modes,
    model_choices,
    open_concerns,
    prediction_shortlist,
    read_explanation,
    request_explanation,
    review_features,
    review_history,
    reviews_frame,
    row_identifiers,
    row_label,
    save_review,
    what_if_changes,
    what_if_fields,
    what_if_view,
)
from mlcore.modeling.tracking import (
    TrainingSpec,
    default_spec,
    load_model,
    read_test_rows,
    register_model,
    run_detail,
    submit_training,
)
from mlcore.store.engine import session_scope
from mlcore.store.models import Artifact, AuditEvent, Job
from mlcore.store.models_interpretation import ExpertReviewChange, ModelExplanation
from mlcore.store.models_modeling import RunCandidate, TrainingRun
from mlcore.workspace import open_workspace

FAMILIES = ["dummy", "logistic_regression", "hist_gradient_boosting"]
EXPERT, DEVELOPER, VIEWER = "demo-domain-expert", "demo-model-developer", "demo-viewer"


@pytest.fixture(autouse=True)
def _one_thread():
    with threadpool_limits(limits=1):
        yield


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The 600-row demo project with one run (baseline, logistic regression, gradient boosting, 3 folds)."""
    from mlcore.config import Limits, Settings

    home = tmp_path_factory.mktemp("interp-home")
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'ciclo.db'}", limits=Limits())
    ws = open_workspace(settings)
    seed_demo(engine=ws.engine, settings=ws.settings, n_rows=600)
    with session_scope(ws.engine) as s:
        churn = next(v for v in list_versions(session=s, project_id=1) if v.dataset == "churn")
        spec = default_spec(session=s, store=ws.store, project_id=1, version_id=churn.id)
        ids = {name: get_user(session=s, name=name).id for name in (EXPERT, DEVELOPER, VIEWER, "demo-admin")}
    values = {
        **spec.to_json(),
        "families": FAMILIES,
        "n_splits": 3,
        "params": {"hist_gradient_boosting": {"max_iter": 30}},
    }
    job_id = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        version_id=churn.id,
        spec=TrainingSpec.from_json(values),
        actor_id=ids[DEVELOPER],
        launch=False,
    )
    with threadpool_limits(limits=1):
        view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        detail = run_detail(session=s, project_id=1, run_id=view.result["run_id"])
    by_family = {c.family: c.id for c in detail.candidates}
    yield {"ws": ws, "version": churn, "run": detail.run, "ids": ids, **by_family}
    ws.engine.dispose()


def _explained(demo, candidate, **options):
    """The stored explanation for these settings, computing it in this process if needed."""
    ws = demo["ws"]
    request = request_explanation(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        candidate_id=candidate,
        actor_id=demo["ids"][DEVELOPER],
        launch=False,
        **options,
    )
    if request.record is not None:
        return request.record
    view = run_job(engine=ws.engine, job_id=request.job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        found = find_explanation(session=s, project_id=1, candidate_id=candidate, **options)
    assert found is not None and found.id == view.result["explanation_id"]
    return found


def _count(ws, table) -> int:
    with session_scope(ws.engine) as s:
        return len(s.exec(select(table)).all())


def _files(ws) -> set[str]:
    return {p.name for p in ws.store.root.glob("??/*")}


def _user(demo, name):
    from mlcore.store.models import User

    with session_scope(demo["ws"].engine) as s:
        return s.get(User, demo["ids"][name])


# --------------------------------------------------------------------------- the job and the cache


def test_job_stores_one_artifact_and_a_second_request_reuses_it(demo):
    ws = demo["ws"]
    files, artifacts, events = _files(ws), _count(ws, Artifact), _count(ws, AuditEvent)
    record = _explained(demo, demo["hist_gradient_boosting"])
    assert len(_files(ws) - files) == 1 and _count(ws, Artifact) == artifacts + 1  # one Parquet file
    assert _count(ws, AuditEvent) == events + 1
    assert record.explainer == "tree" and record.output_space == "log_odds" and record.class_label == "1"
    run = demo["run"]
    assert record.n_rows == record.n_available == run.n_train_rows == 480 and not record.capped
    assert record.max_rows == 480  # a cap above the rows available is stored as "all of them"
    assert "480" in record.rows_text("en") and "480" in record.rows_text("es")
    assert "Tree SHAP" in record.summary("en") and "training rows of churn v1" in record.summary("en")
    # the demo's customer_id repeats: rows are their positions in the version, never test rows
    assert record.id_column is None and record.duplicate_id_column == "customer_id"
    explanation = read_explanation(store=ws.store, record=record)
    index = explanation.values.index.to_numpy()
    assert not set(index) & set(read_test_rows(store=ws.store, run=run).tolist())
    total = explanation.base_value + explanation.values.sum(axis=1).to_numpy()
    np.testing.assert_allclose(total, explanation.predictions.to_numpy(), atol=1e-6)  # local accuracy
    with session_scope(ws.engine) as s:
        pipeline = load_model(session=s, store=ws.store, candidate_id=demo["hist_gradient_boosting"])
        rows = read_version(store=ws.store, version=demo["version"]).to_pandas(date_as_object=False)
    proba = pipeline.predict_proba(rows.loc[index, list(run.features)])[:, 1]
    np.testing.assert_allclose(explanation.probabilities.to_numpy(), proba, atol=1e-6)

    jobs = _count(ws, Job)
    for cap in (2000, 5000, 480):  # the same settings (any cap >= 480 rows) come back at once, without a job
        again = request_explanation(
            engine=ws.engine,
            settings=ws.settings,
            project_id=1,
            candidate_id=demo["hist_gradient_boosting"],
            actor_id=demo["ids"][EXPERT],
            max_rows=cap,
            launch=False,
        )
        assert again.cached and again.job_id is None and again.record.id == record.id
    assert _count(ws, Job) == jobs and _files(ws) - files == {record.artifact_sha256}


def test_explanations_are_reused_by_model_sha256_across_candidates(demo):
    ws = demo["ws"]
    record = _explained(demo, demo["hist_gradient_boosting"])
    with session_scope(ws.engine) as s:  # a second run holding the very same model file
        run = s.get(TrainingRun, demo["run"].id)
        copy = TrainingRun(**run.model_dump(exclude={"id"}))
        s.add(copy)
        s.flush()
        original = s.get(RunCandidate, demo["hist_gradient_boosting"])
        twin = RunCandidate(**{**original.model_dump(exclude={"id", "run_id"}), "run_id": copy.id})
        s.add(twin)
        s.flush()
        twin_id = twin.id
        found = find_explanation(session=s, project_id=1, candidate_id=twin_id)
        assert found is not None and found.id == record.id
        assert [e.id for e in list_explanations(session=s, project_id=1, candidate_id=twin_id)] == [record.id]
    again = request_explanation(
        engine=ws.engine, settings=ws.settings, project_id=1, candidate_id=twin_id, actor_id=demo["ids"][DEVELOPER]
    )
    assert again.record.id == record.id and again.job_id is None
    with session_scope(ws.engine) as s:  # another model never gets this one's explanation
        other = find_explanation(session=s, project_id=1, candidate_id=demo["logistic_regression"])
        assert other is None or other.model_sha256 != record.model_sha256
        s.delete(s.get(RunCandidate, twin_id))
        s.flush()
        s.delete(s.get(TrainingRun, copy.id))


def test_an_active_job_for_the_same_settings_is_reused(demo):
    ws = demo["ws"]
    options = dict(project_id=1, candidate_id=demo["logistic_regression"], max_rows=120, seed=5, launch=False)
    first = request_explanation(engine=ws.engine, settings=ws.settings, actor_id=demo["ids"][DEVELOPER], **options)
    second = request_explanation(engine=ws.engine, settings=ws.settings, actor_id=demo["ids"][EXPERT], **options)
    assert first.job_id is not None and second.job_id == first.job_id
    with session_scope(ws.engine) as s:
        request_cancel(session=s, job_id=first.job_id)
    assert run_job(engine=ws.engine, job_id=first.job_id, settings=ws.settings).status == "cancelled"


def test_cancelling_during_the_explanation_leaves_nothing(demo, monkeypatch):
    ws = demo["ws"]
    request = request_explanation(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        candidate_id=demo["hist_gradient_boosting"],
        actor_id=demo["ids"][DEVELOPER],
        max_rows=300,
        seed=1,
        launch=False,
    )
    real = records.explain
    calls = []

    def cancel_then_explain(*args, **kwargs):
        with session_scope(ws.engine) as s:
            request_cancel(session=s, job_id=request.job_id)
        calls.append(1)
        return real(*args, **kwargs)  # stops at its first progress report

    monkeypatch.setattr(records, "explain", cancel_then_explain)
    files, rows, events = _files(ws), _count(ws, ModelExplanation), _count(ws, AuditEvent)
    view = run_job(engine=ws.engine, job_id=request.job_id, settings=ws.settings)
    assert calls and view.status == "cancelled"
    assert _files(ws) == files and _count(ws, ModelExplanation) == rows and _count(ws, AuditEvent) == events
    with session_scope(ws.engine) as s:
        assert (
            find_explanation(session=s, project_id=1, candidate_id=demo["hist_gradient_boosting"], max_rows=300, seed=1)
            is None
        )


def test_a_failing_job_leaves_nothing_and_says_why(demo):
    ws = demo["ws"]
    files, rows = _files(ws), _count(ws, ModelExplanation)
    request = request_explanation(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        candidate_id=demo["logistic_regression"],
        actor_id=demo["ids"][DEVELOPER],
        class_label="maybe",
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=request.job_id, settings=ws.settings)
    assert view.status == "failed" and view.error_key == "explain.unknown_class"
    assert _files(ws) == files and _count(ws, ModelExplanation) == rows


def test_bad_requests_say_what_to_fix(demo):
    ws = demo["ws"]
    base = dict(engine=ws.engine, settings=ws.settings, project_id=1, actor_id=demo["ids"][DEVELOPER], launch=False)
    cand = demo["logistic_regression"]
    cases = [
        (dict(candidate_id=cand, max_rows=0), "interpret.bad_max_rows"),
        (dict(candidate_id=cand, max_rows=20_001), "interpret.bad_max_rows"),
        (dict(candidate_id=cand, max_rows=True), "interpret.bad_max_rows"),
        (dict(candidate_id=cand, max_rows="10"), "interpret.bad_max_rows"),
        (dict(candidate_id=cand, seed=-1), "interpret.bad_seed"),
        (dict(candidate_id=cand, subset="test"), "interpret.bad_subset"),
        (dict(candidate_id=cand, class_label=[1]), "interpret.bad_class"),
        (dict(candidate_id=demo["dummy"]), "interpret.baseline"),
    ]
    with session_scope(ws.engine) as s:
        other = next(v for v in list_versions(session=s, project_id=1) if v.dataset == "churn_next_month")
    cases.append((dict(candidate_id=cand, version_id=other.id, subset="training"), "interpret.training_rows_elsewhere"))
    jobs = _count(ws, Job)
    for options, key in cases:
        with pytest.raises(InputError) as info:
            request_explanation(**base, **options)
        assert info.value.key == key, options
        for lang in ("en", "es"):
            assert "{" not in info.value.message(lang)
    with pytest.raises(NotFound):
        request_explanation(**base, candidate_id=9999)
    with pytest.raises(NotFound):
        request_explanation(**base, candidate_id=cand, version_id=9999)
    with pytest.raises(PermissionDenied):
        request_explanation(**{**base, "actor_id": demo["ids"][VIEWER]}, candidate_id=cand)
    assert _count(ws, Job) == jobs


def test_a_version_without_the_model_columns_is_refused_and_not_offered(demo):
    ws = demo["ws"]
    frame = pd.DataFrame({"tenure_months": [1, 2, 3], "churned": [0, 1, 0]})
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic"))
    version = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=1, dataset_name="tiny", target="churned"),
        actor_id=demo["ids"]["demo-admin"],
        operation="synthetic",
    )
    with pytest.raises(InputError) as info:
        request_explanation(
            engine=ws.engine,
            settings=ws.settings,
            project_id=1,
            candidate_id=demo["logistic_regression"],
            actor_id=demo["ids"][DEVELOPER],
            version_id=version.id,
        )
    assert info.value.key == "interpret.version_missing_columns" and "contract" in info.value.message("en")
    with session_scope(ws.engine) as s:
        choices = data_choices(session=s, project_id=1, candidate_id=demo["logistic_regression"], lang="es")
    assert version.id not in {c.version_id for c in choices}
    assert [c.subset for c in choices[:2]] == ["training", "all"] and choices[0].n_rows == 480
    assert "filas de entrenamiento" in choices[0].label and choices[2].label.startswith("churn_next_month v1")


def test_model_choices_put_registered_versions_first_and_leave_out_the_baseline(demo):
    ws = demo["ws"]
    with session_scope(ws.engine) as s:
        before = model_choices(session=s, project_id=1)
    assert [c.family for c in before] == ["logistic_regression", "hist_gradient_boosting"]
    assert before[1].label == "Run 1 · Gradient boosting (histogram) · trained on churn v1"
    with session_scope(ws.engine) as s:
        register_model(
            session=s,
            actor=_user(demo, DEVELOPER),
            project_id=1,
            candidate_id=demo["hist_gradient_boosting"],
            name="churn",
        )
    with session_scope(ws.engine) as s:
        after = model_choices(session=s, project_id=1, lang="es")
    assert after[0].key.startswith("registered:") and after[0].ref == "churn@1"
    assert after[0].candidate_id == demo["hist_gradient_boosting"] and "churn@1" in after[0].label
    assert len({c.key for c in after}) == len(after) == 3


# --------------------------------------------------------------------------- rows, local view, what-if


def test_rows_are_found_by_position_or_by_a_repeating_identifier(demo):
    ws = demo["ws"]
    record = _explained(demo, demo["hist_gradient_boosting"])
    explanation = read_explanation(store=ws.store, record=record)
    ids = row_identifiers(store=ws.store, record=record)
    assert lookup_modes(record) == ("identifier", "position") and len(ids) == 600
    explained = list(explanation.values.index)
    first = explained[0]
    assert find_rows(explanation, str(first), by="position", record=record) == (first,)
    assert find_rows(explanation, f" {first} ", by="position", record=record) == (first,)
    assert row_label(first, record=record, identifiers=ids) == f"row {first} · customer_id {ids.iloc[first]}"
    test_row = int(read_test_rows(store=ws.store, run=demo["run"])[0])
    cases = [
        (str(test_row), "position", "interpret.row.position_not_explained"),
        ("600", "position", "interpret.row.position_not_found"),
        ("-1", "position", "interpret.row.bad_position"),
        ("abc", "position", "interpret.row.bad_position"),
        ("", "identifier", "interpret.row.empty"),
        ("C9999999", "identifier", "interpret.row.not_found"),
        ("=cmd|' /C calc'!A0", "identifier", "interpret.row.not_found"),
        (ids.iloc[test_row], "identifier", "interpret.row.not_explained"),
    ]
    for query, by, key in cases:
        with pytest.raises(InputError) as info:
            find_rows(explanation, query, by=by, record=record, identifiers=ids)
        assert info.value.key == key, (query, by)
        assert "{" not in info.value.message("es")
    repeated = ids[ids.duplicated(keep=False)]
    both = [v for v, group in repeated.groupby(repeated) if set(group.index) <= set(explained)]
    assert both, "the demo plants duplicate customers"
    found = find_rows(explanation, both[0], by="identifier", record=record, identifiers=ids)
    assert len(found) >= 2 and all(ids.iloc[r] == both[0] for r in found)


def test_positions_stay_whole_numbers_when_the_file_holds_background_rows(demo):
    ws = demo["ws"]
    record = _explained(demo, demo["logistic_regression"], max_rows=200)
    assert record.explainer == "linear" and record.n_rows == 200
    explanation = read_explanation(store=ws.store, record=record)
    assert len(explanation.background) > 0  # the linear explainer's background rows are stored too
    for index in (explanation.values.index, explanation.data.index, explanation.probabilities.index):
        assert index.dtype.kind == "i"
    row = explanation.values.index[0]
    assert row_label(row, record=record) == f"row {row}" and "." not in row_label(row, record=record)
    assert find_rows(explanation, str(row), by="position", record=record) == (row,)
    assert local_view(explanation, row, record=record).local.row_id == row


def test_rows_are_indexed_by_a_unique_identifier(demo):
    ws = demo["ws"]
    frame = make_churn(150, random_state=7).current
    frame["customer_id"] = [f"U{i:04d}" for i in range(len(frame))]
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic"))
    version = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=1, dataset_name="unique_ids", target="churned"),
        actor_id=demo["ids"]["demo-admin"],
        operation="synthetic",
    )
    record = _explained(demo, demo["logistic_regression"], version_id=version.id, max_rows=100)
    assert record.subset == "all" and record.id_column == "customer_id" and record.duplicate_id_column is None
    assert record.explainer == "linear" and record.n_rows == 100 and record.n_available == 150 and record.capped
    assert "100 of 150" in record.rows_text("en")
    explanation = read_explanation(store=ws.store, record=record)
    row = explanation.values.index[0]
    assert isinstance(row, str) and row.startswith("U")
    assert lookup_modes(record) == ("identifier",) and row_identifiers(store=ws.store, record=record) is None
    assert find_rows(explanation, row, by="identifier", record=record) == (row,)
    assert row_label(row, record=record) == f"customer_id {row}"
    missing = next(f"U{i:04d}" for i in range(150) if f"U{i:04d}" not in explanation.values.index)
    with pytest.raises(InputError) as info:
        find_rows(explanation, missing, by="identifier", record=record)
    assert info.value.key == "interpret.row.not_found"
    with pytest.raises(InputError) as info:
        find_rows(explanation, "3", by="position", record=record)
    assert info.value.key == "interpret.row.unknown_lookup"


def test_local_view_shortlist_and_what_if(demo):
    ws = demo["ws"]
    record = _explained(demo, demo["hist_gradient_boosting"])
    explanation = read_explanation(store=ws.store, record=record)
    short = prediction_shortlist(explanation, record=record, n=5, lang="es")
    top = [explanation.probabilities.loc[o.row_id] for o in short.highest]
    low = [explanation.probabilities.loc[o.row_id] for o in short.lowest]
    assert top == sorted(top, reverse=True) and low == sorted(low) and top[0] >= low[-1]
    assert short.highest[0].label.startswith("fila ") and short.highest[0].label.endswith(" %")
    row = short.highest[0].row_id
    for lang, word in (("en", "churned = 1"), ("es", "churned = 1")):
        view = local_view(explanation, row, record=record, lang=lang)
        assert word in view.sentence.replace("\\", "") and view.prediction_text in view.sentence
    with session_scope(ws.engine) as s:
        pipeline = load_model(session=s, store=ws.store, candidate_id=record.candidate_id)
    fields = what_if_fields(explanation, row, lang="en")
    assert [f.feature for f in fields][:3] == [f.feature for f in review_features(explanation, top=3)]
    by_name = {f.feature: f for f in fields}
    tenure = by_name["tenure_months"]
    assert tenure.kind == "number" and tenure.step == 1.0 and tenure.maximum == 71.0 and "71" in tenure.seen
    contract = by_name["contract"]
    assert contract.kind == "choice" and set(contract.options) == {"monthly", "one_year", "two_year"}
    assert by_name["signup_date"].kind == "date"
    assert what_if_changes(fields, {f.feature: f.value for f in fields}) == {}
    # another value of the most important feature changes the prediction
    main = fields[0]
    other = next(o for o in main.options if o != main.value) if main.kind == "choice" else main.minimum
    changes = what_if_changes(fields, {main.feature: other})
    assert changes == {main.feature: other}
    moved = what_if_view(pipeline, explanation, row, changes, record=record, lang="en")
    assert moved.result.after_probability != pytest.approx(moved.result.before_probability)
    assert moved.before_text == local_view(explanation, row, record=record).prediction_text
    assert moved.warnings == ()
    # outside the training range, and a category never seen: flagged, still predicted
    odd = what_if_changes(fields, {"tenure_months": 500.0, "contract": "lifetime"})
    flagged = what_if_view(pipeline, explanation, row, odd, record=record, lang="es")
    kinds = {w.kind for w in flagged.result.warnings}
    assert kinds == {"above_range", "unseen_category"} and len(flagged.warnings) == 2
    assert any("lifetime" in w for w in flagged.warnings) and 0.0 <= flagged.result.after_probability <= 1.0
    with pytest.raises(InputError) as info:
        what_if_view(pipeline, explanation, row, {"tenure_months": "many"}, record=record)
    assert info.value.key == "explain.bad_number"


# --------------------------------------------------------------------------- expert reviews


def _review(demo, who=EXPERT, **values):
    with session_scope(demo["ws"].engine) as s:
        return save_review(
            session=s,
            actor=_user(demo, who),
            project_id=1,
            candidate_id=demo["hist_gradient_boosting"],
            **{"feature": "tenure_months", "verdict": "plausible", "comment": "", "expected_version": 0, **values},
        )


def _reviews(demo):
    with session_scope(demo["ws"].engine) as s:
        return list_reviews(session=s, project_id=1, candidate_id=demo["hist_gradient_boosting"])


def _concerns(demo):
    with session_scope(demo["ws"].engine) as s:
        return open_concerns(session=s, project_id=1, candidate_id=demo["hist_gradient_boosting"])


def _events(demo):
    with session_scope(demo["ws"].engine) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == "interpret.review").order_by(AuditEvent.id)).all()


def test_reviews_are_saved_updated_version_checked_audited_and_kept_in_history(demo):
    first = _review(demo, feature="monthly_charges")
    assert first.version == 1 and first.verdict == "plausible" and first.comment == ""
    updated = _review(
        demo, feature="monthly_charges", verdict="implausible", comment="Price should raise churn.", expected_version=1
    )
    assert updated.id == first.id and updated.version == 2 and updated.verdict_text("es") == "no plausible"
    changes, events = _count(demo["ws"], ExpertReviewChange), len(_events(demo))
    for stale in (1, 0):  # saved meanwhile from another tab: refused, nothing written
        with pytest.raises(ConflictError) as info:
            _review(demo, feature="monthly_charges", verdict="plausible", comment="mine", expected_version=stale)
        assert info.value.key == "interpret.review.conflict" and "monthly_charges" in info.value.message("es")
    assert _count(demo["ws"], ExpertReviewChange) == changes and len(_events(demo)) == events
    saved = next(r for r in _reviews(demo) if r.feature == "monthly_charges")
    assert saved.version == 2 and saved.comment == "Price should raise churn."
    last = _events(demo)[-1]
    assert (
        last.actor_name == EXPERT and last.before["verdict"] == "plausible" and last.after["verdict"] == "implausible"
    )
    with session_scope(demo["ws"].engine) as s:
        history = review_history(session=s, project_id=1, candidate_id=demo["hist_gradient_boosting"])
    mine = [h for h in history if h.feature == "monthly_charges"]
    assert [(h.version, h.verdict) for h in mine] == [(2, "implausible"), (1, "plausible")]
    concerns = _concerns(demo)
    assert any(c.feature == "monthly_charges" and c.comment == "Price should raise churn." for c in concerns)
    concern = next(c for c in concerns if c.feature == "monthly_charges")
    assert "monthly_charges — no plausible" in concern.text("es")
    back = _review(demo, feature="monthly_charges", verdict="plausible", comment="Checked: fine.", expected_version=2)
    assert back.version == 3 and all(c.feature != "monthly_charges" for c in _concerns(demo))


def test_concerns_need_a_comment_and_bad_reviews_say_what_to_fix(demo):
    before = len(_events(demo))
    cases = [
        (dict(verdict="implausible", comment="   "), InputError, "interpret.review.comment_required"),
        (dict(verdict="unsure"), InputError, "interpret.review.comment_required"),
        (dict(verdict="maybe"), InputError, "interpret.review.bad_verdict"),
        (dict(feature="customer_id"), InputError, "interpret.review.unknown_feature"),
        (dict(feature="<script>"), InputError, "interpret.review.unknown_feature"),
        (dict(comment="x" * (COMMENT_MAX + 1)), InputError, "interpret.review.comment_too_long"),
        (dict(comment=3), InputError, "interpret.review.bad_comment"),
        (dict(expected_version=-1), InputError, "interpret.review.bad_version"),
        (dict(), PermissionDenied, "errors.permission_denied"),
    ]
    for values, error, key in cases:
        who = VIEWER if error is PermissionDenied else EXPERT
        with pytest.raises(error) as info:
            _review(demo, who=who, feature=values.pop("feature", "income"), **values)
        assert info.value.key == key, values
    for who in (VIEWER, DEVELOPER):  # only domain experts (and admins) review
        with pytest.raises(PermissionDenied):
            _review(demo, who=who, feature="income")
    with pytest.raises(NotFound), session_scope(demo["ws"].engine) as s:
        save_review(
            session=s, actor=_user(demo, EXPERT), project_id=1, candidate_id=999, feature="income", verdict="unsure"
        )
    assert len(_events(demo)) == before and all(r.feature != "income" for r in _reviews(demo))


def test_each_reviewer_has_their_own_review_and_everyone_sees_them(demo):
    text = "=cmd|' /C calc'!A0 <script>alert(1)</script>"
    mine = _review(demo, feature="satisfaction_score", verdict="unsure", comment=text)
    admins = _review(demo, who="demo-admin", feature="satisfaction_score", verdict="implausible", comment="Odd shape.")
    assert mine.id != admins.id and mine.version == admins.version == 1
    both = [r for r in _reviews(demo) if r.feature == "satisfaction_score"]
    assert {r.reviewer_id for r in both} == {demo["ids"][EXPERT], demo["ids"]["demo-admin"]}
    assert next(r for r in both if r.reviewer_id == demo["ids"][EXPERT]).comment == text  # kept exactly as typed
    concerns = [c for c in _concerns(demo) if c.feature == "satisfaction_score"]
    assert [c.verdict for c in concerns] == ["implausible", "unsure"]  # implausible first
    frame = reviews_frame(both, lang="es")
    assert list(frame.columns) == ["feature", "verdict", "comment", "reviewer", "updated"]
    assert set(frame["verdict"]) == {"dudoso", "no plausible"}


def test_open_concerns_reach_the_model_card(demo):
    from mlcore.modeling.evaluation_records import evaluation_card_sections, expert_concerns

    before = next((r.version for r in _reviews(demo) if r.feature == "monthly_charges"), 0)
    _review(
        demo,
        feature="monthly_charges",
        verdict="implausible",
        comment="<b>Price</b> should raise churn.",
        expected_version=before,
    )
    with session_scope(demo["ws"].engine) as s:
        lines = expert_concerns(session=s, project_id=1, candidate_id=demo["hist_gradient_boosting"], lang="en")
        card = evaluation_card_sections(
            session=s, store=demo["ws"].store, project_id=1, candidate_id=demo["hist_gradient_boosting"]
        )
    assert lines and lines[0].startswith("monthly_charges — implausible")  # implausible first
    assert card.expert_concerns == lines
