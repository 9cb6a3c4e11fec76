"""AppTest: the interpretation page — compute explanations as a job (and reuse them), the global and
one-row views, what-if with warnings for values never seen, expert reviews (saved, and a conflicting save
that keeps the text); a viewer sees no controls; bad input says what is wrong."""

from __future__ import annotations

import os
import shutil

import pytest
import streamlit as st
from sqlmodel import select
from threadpoolctl import threadpool_limits

from mlcore.config import load_settings
from mlcore.data.versions import list_versions
from mlcore.errors import PermissionDenied
from mlcore.jobs import list_jobs, run_job
from mlcore.modeling.explain_records import (
    find_explanation,
    list_reviews,
    model_choices,
    read_explanation,
    request_explanation,
    row_identifiers,
    save_review,
)
from mlcore.modeling.tracking import TrainingSpec, default_spec, submit_training
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, User
from mlcore.workspace import open_workspace
from tests.app.conftest import signed_in_app, texts, user_id, wait_for_jobs

PAGE = "pages/interpretation.py"
EXPERT, DEVELOPER, VIEWER = "demo-domain-expert", "demo-model-developer", "demo-viewer"


@pytest.fixture(autouse=True)
def _one_thread_jobs(monkeypatch):
    """Job processes fit on one thread: on a busy test machine that is much faster."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def explained_template(demo_template, tmp_path_factory):
    """The demo workspace with a run (gradient boosting + logistic regression, 3 folds) and the gradient
    boosting model explained on its training rows, built once in this process."""
    home = tmp_path_factory.mktemp("interp-template") / "home"
    shutil.copytree(demo_template, home)
    old = os.environ.get("MLCORE_HOME"), os.environ.get("MLCORE_DATABASE_URL")
    os.environ["MLCORE_HOME"] = str(home)
    os.environ.pop("MLCORE_DATABASE_URL", None)
    try:
        ws = open_workspace(load_settings())
        developer = user_id(ws, DEVELOPER)
        with session_scope(ws.engine) as s:
            churn = next(v for v in list_versions(session=s, project_id=1) if v.dataset == "churn")
            spec = default_spec(session=s, store=ws.store, project_id=1, version_id=churn.id)
        values = {
            **spec.to_json(),
            "families": ["hist_gradient_boosting", "logistic_regression"],
            "n_splits": 3,
            "params": {"hist_gradient_boosting": {"max_iter": 30}},
        }
        job_id = submit_training(
            engine=ws.engine,
            settings=ws.settings,
            project_id=1,
            version_id=churn.id,
            spec=TrainingSpec.from_json(values),
            actor_id=developer,
            launch=False,
        )
        with threadpool_limits(limits=1):
            assert run_job(engine=ws.engine, job_id=job_id, settings=ws.settings).status == "succeeded"
            with session_scope(ws.engine) as s:
                hgb = next(c for c in model_choices(session=s, project_id=1) if c.family == "hist_gradient_boosting")
            request = request_explanation(
                engine=ws.engine,
                settings=ws.settings,
                project_id=1,
                candidate_id=hgb.candidate_id,
                actor_id=developer,
                launch=False,
            )
            assert run_job(engine=ws.engine, job_id=request.job_id, settings=ws.settings).status == "succeeded"
        ws.engine.dispose()
    finally:
        for key, value in zip(("MLCORE_HOME", "MLCORE_DATABASE_URL"), old, strict=True):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return home


@pytest.fixture
def ws(explained_template, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(explained_template, home)
    monkeypatch.setenv("MLCORE_HOME", str(home))
    monkeypatch.delenv("MLCORE_DATABASE_URL", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    workspace = open_workspace(load_settings())
    yield workspace
    wait_for_jobs(workspace)
    st.cache_resource.clear()
    workspace.engine.dispose()


def _open(ws, who, *, lang="en"):
    at = signed_in_app(ws, who)
    if lang != "en":
        at.sidebar.selectbox(key="lang_picker").select(lang).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def _tab(at, label):
    at.session_state["interpret_tab"] = label
    at.run()
    assert not at.exception


def _hgb(ws):
    with session_scope(ws.engine) as s:
        return next(c for c in model_choices(session=s, project_id=1) if c.family == "hist_gradient_boosting")


def _record(ws, **options):
    with session_scope(ws.engine) as s:
        return find_explanation(session=s, project_id=1, candidate_id=_hgb(ws).candidate_id, **options)


def _keys(at):
    kinds = ("button", "radio", "text_area", "text_input", "selectbox", "number_input", "date_input")
    return {w.key for kind in kinds for w in getattr(at.main, kind) if w.key}


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    "lang,title,tabs",
    [
        ("en", "Interpret models", ["Global view", "One row", "What-if", "Expert review"]),
        ("es", "Interpretar modelos", ["Vista global", "Una fila", "Qué pasaría si", "Revisión experta"]),
    ],
)
def test_page_renders_in_both_languages(ws, lang, title, tabs):
    at = _open(ws, DEVELOPER, lang=lang)
    assert at.title[0].value == title and [t.label for t in at.tabs] == tabs
    assert at.selectbox(key="interpret_model_pick").value.startswith("candidate:")
    assert at.number_input(key="interpret_rows_pick").value == 2000
    summary = next(s for s in texts(at, "success") if "SHAP" in s)  # how many rows, which explainer
    assert ("all 480 rows" in summary and "Tree SHAP" in summary) if lang == "en" else "480 filas" in summary
    assert len(at.get("plotly_chart")) == 3  # importance, beeswarm, dependence
    if lang == "es":  # the other tabs in Spanish (each has its own test in English)
        for tab in tabs[1:]:
            _tab(at, tab)
        assert any("describen el modelo, no el mundo" in m.value for m in at.markdown)  # not causal effects


def test_a_project_without_models_says_where_to_train(app_ws):
    at = _open(app_ws, DEVELOPER)
    assert any("no trained model" in i for i in texts(at, "info"))
    assert not [k for k in _keys(at) if k.startswith("interpret_")]


# --------------------------------------------------------------------------- computing through the page


def test_compute_as_a_job_then_the_stored_result_is_reused(ws):
    at = _open(ws, DEVELOPER)
    at.number_input(key="interpret_rows_pick").set_value(150).run()
    assert any("no explanations for these settings" in i for i in texts(at, "info"))
    # the one computed earlier (all 480 rows) is offered meanwhile
    assert at.selectbox(key="interpret_earlier_pick").value == _record(ws).id
    at.button(key="interpret_compute").click().run()
    assert not at.exception
    assert any("Explanation job #" in s for s in texts(at, "success"))
    wait_for_jobs(ws, timeout=120)
    at.run()
    assert not at.exception
    record = _record(ws, max_rows=150)
    assert record is not None and record.n_rows == 150 and record.capped
    assert any("Explained 150 of 480 rows" in s and "Tree SHAP" in s for s in texts(at, "success"))
    assert len(at.get("plotly_chart")) == 3
    with session_scope(ws.engine) as s:
        jobs = len(list_jobs(session=s, project_id=1, limit=100))
    at.button(key="interpret_compute").click().run()  # the same settings again: shown at once, no job
    assert any("already computed" in s for s in texts(at, "success"))
    with session_scope(ws.engine) as s:
        assert len(list_jobs(session=s, project_id=1, limit=100)) == jobs


# --------------------------------------------------------------------------- one row


def test_one_row_shows_a_waterfall_and_a_sentence_and_rows_are_found(ws):
    record = _record(ws)
    explanation = read_explanation(store=ws.store, record=record)
    at = _open(ws, EXPERT)
    _tab(at, "One row")
    assert any("The model raised the probability of churned = 1" in m.value for m in at.markdown)
    assert len(at.get("plotly_chart")) == 1 and at.metric[0].label == "Prediction for this row"
    # another row from the list of the lowest predictions
    at.radio(key="interpret_side").set_value("lowest").run()
    at.button(key="interpret_show_listed").click().run()
    lowest = min(explanation.probabilities.items(), key=lambda kv: (kv[1], 0))[0]
    assert any(h.value.startswith(f"row {lowest} ") for h in at.subheader)
    assert any("lowered the probability" in m.value for m in at.markdown)
    # by position: one that was explained, one that does not exist
    at.radio(key="interpret_lookup").set_value("position").run()
    row = int(explanation.values.index[3])
    at.text_input(key="interpret_query_position").input(str(row))
    at.button(key="interpret_find").click().run()
    assert any(h.value.startswith(f"row {row} ") for h in at.subheader)
    at.text_input(key="interpret_query_position").input("9999")
    at.button(key="interpret_find").click().run()
    assert not at.exception
    assert any("There is no row 9999" in e for e in texts(at, "error"))
    assert any(h.value.startswith(f"row {row} ") for h in at.subheader)  # the shown row is kept
    # by an identifier that does not exist, then by one that repeats
    at.radio(key="interpret_lookup").set_value("identifier").run()
    at.text_input(key="interpret_query_identifier").input("<script>alert(1)</script>")
    at.button(key="interpret_find").click().run()
    assert any("No row has customer_id" in e for e in texts(at, "error"))
    ids = row_identifiers(store=ws.store, record=record)
    explained = set(explanation.values.index)
    twice = next(v for v, rows in ids.groupby(ids).groups.items() if len(rows) > 1 and set(rows) <= explained)
    at.text_input(key="interpret_query_identifier").input(twice)
    at.button(key="interpret_find").click().run()
    assert any(w.startswith("2 explained rows have this value") for w in texts(at, "warning"))
    assert len(at.radio(key="interpret_which").options) == 2


# --------------------------------------------------------------------------- what-if


def _whatif_widget(at, kind, label):
    return next(w for w in getattr(at.main, kind) if w.label == label and w.key.startswith("interpret_wi_"))


def test_what_if_changes_the_prediction_and_warns_about_values_never_seen(ws):
    at = _open(ws, EXPERT)
    _tab(at, "What-if")
    assert any(m.value.startswith("Changing row ") for m in at.markdown)
    leak = _whatif_widget(at, "selectbox", "cancellation_fee_charged")  # the most important feature
    leak.set_value("False" if leak.value == "True" else "True")
    at.button(key="interpret_whatif_run").click().run()
    assert not at.exception
    before, after = at.metric[0].value, at.metric[1].value
    assert at.metric[0].label == "Before" and before != after
    assert not texts(at, "warning")
    # a value above the training range and a category never seen: a warning each, still a prediction
    _whatif_widget(at, "number_input", "tenure_months").set_value(500.0)
    at.selectbox(key=next(k for k in _keys(at) if k.endswith("_of"))).set_value("contract")
    at.text_input(key=next(k for k in _keys(at) if k.endswith("_ov"))).input("lifetime")
    at.button(key="interpret_whatif_run").click().run()
    assert not at.exception
    warnings = texts(at, "warning")
    assert any("tenure\\_months = 500" in w and "above anything seen in training" in w for w in warnings)
    assert any("lifetime" in w and "never appeared in training" in w for w in warnings)
    assert any(m.value.startswith("Changed: ") and "contract = lifetime" in m.value for m in at.markdown)
    assert at.metric[1].value.endswith("%")


# --------------------------------------------------------------------------- expert review


def test_an_expert_saves_a_review_and_a_conflicting_save_keeps_the_text(ws):
    at = _open(ws, EXPERT)
    _tab(at, "Expert review")
    candidate = _hgb(ws).candidate_id
    feature = "cancellation_fee_charged"
    verdict, comment = f"interpret_verdict_{candidate}_{feature}", f"interpret_comment_{candidate}_{feature}"
    at.radio(key=verdict).set_value("implausible")
    at.text_area(key=comment).input("Charged only after cancelling: it leaks the answer.")
    at.button(key=f"interpret_save_{candidate}_{feature}").click().run()
    assert not at.exception
    assert any(f"Your review of {feature} was saved" in s for s in texts(at, "success"))
    with session_scope(ws.engine) as s:
        (review,) = list_reviews(session=s, project_id=1, candidate_id=candidate)
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "interpret.review")).all()
    assert (review.verdict, review.reviewer_id, review.version) == ("implausible", user_id(ws, EXPERT), 1)
    assert len(events) == 1 and events[0].actor_name == EXPERT
    assert any("Open concerns about this model: 1" in w and "leaks the answer" in w for w in texts(at, "warning"))

    # the same expert saves from another tab meanwhile: this save is refused and the text stays
    with session_scope(ws.engine) as s:
        save_review(
            session=s,
            actor=s.get(User, user_id(ws, EXPERT)),
            project_id=1,
            candidate_id=candidate,
            feature=feature,
            verdict="unsure",
            comment="From the other tab.",
            expected_version=1,
        )
    at.radio(key=verdict).set_value("plausible")
    at.text_area(key=comment).input("On reflection it is fine.")
    at.button(key=f"interpret_save_{candidate}_{feature}").click().run()
    assert not at.exception
    assert any("saved from another window or tab" in w for w in texts(at, "warning"))
    assert at.text_area(key=comment).value == "On reflection it is fine."
    with session_scope(ws.engine) as s:
        (review,) = list_reviews(session=s, project_id=1, candidate_id=candidate)
    assert (review.verdict, review.version) == ("unsure", 2)
    # saving again (after seeing the warning) replaces it
    at.button(key=f"interpret_save_{candidate}_{feature}").click().run()
    with session_scope(ws.engine) as s:
        (review,) = list_reviews(session=s, project_id=1, candidate_id=candidate)
    assert (review.verdict, review.comment, review.version) == ("plausible", "On reflection it is fine.", 3)
    # a concern without a comment is refused with a clear message
    other = next(r.key for r in at.main.radio if r.key.startswith("interpret_verdict_") and r.key != verdict)
    at.radio(key=other).set_value("unsure")
    at.button(key=other.replace("interpret_verdict_", "interpret_save_")).click().run()
    assert any("Say why in the comment" in e for e in texts(at, "error"))


def test_a_viewer_sees_explanations_and_reviews_but_no_controls(ws):
    candidate = _hgb(ws).candidate_id
    with session_scope(ws.engine) as s:
        save_review(
            session=s,
            actor=s.get(User, user_id(ws, EXPERT)),
            project_id=1,
            candidate_id=candidate,
            feature="tenure_months",
            verdict="unsure",
            comment="Why does it flatten after 40 months?",
        )
    at = _open(ws, VIEWER)
    assert "interpret_compute" not in _keys(at)
    assert any(i.startswith("You can look at this page but not change it") for i in texts(at, "info"))
    assert len(at.get("plotly_chart")) == 3
    _tab(at, "Expert review")
    assert not [k for k in _keys(at) if k.startswith(("interpret_verdict", "interpret_comment", "interpret_save"))]
    assert any("flatten after 40 months" in w for w in texts(at, "warning"))
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        save_review(
            session=s,
            actor=s.get(User, user_id(ws, VIEWER)),
            project_id=1,
            candidate_id=candidate,
            feature="tenure_months",
            verdict="plausible",
        )
