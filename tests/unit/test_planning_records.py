"""Planning records: canvas, answers, custom items, the gate, and the sufficiency job, with their guards."""

from __future__ import annotations

import threading
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from mlcore.auth import create_user, set_member
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.errors import ConflictError, NotFound, PermissionDenied
from mlcore.jobs import run_job
from mlcore.planning.canvas import Canvas, PlanningInputError
from mlcore.planning.checklist import DIMENSIONS, load_items
from mlcore.planning.records import (
    THOROUGHNESS,
    GateStatus,
    add_custom_item,
    answer_conflicts,
    answer_edited,
    answers_frame,
    availability_for,
    availability_frame,
    blocking_frame,
    canvas_conflicts,
    canvas_edited,
    canvas_frame,
    checklist_items,
    classes_frame,
    decision_history,
    decisions_frame,
    evidence_from_json,
    gate_status,
    get_canvas,
    latest_evidence,
    list_answers,
    project_readiness,
    readiness_frame,
    record_decision,
    report_data,
    rows_needed_message,
    save_answer,
    save_canvas,
    stale_evidence,
    submit_sufficiency,
    success_criteria,
    verdict_message,
)
from mlcore.planning.report import render_html, render_markdown
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import Artifact, AuditEvent, ChecklistAnswer, Job, PlanningCanvas

PW = "correct horse 1"
CANVAS = {
    "business_objective": "Lose fewer subscribers",
    "objective_type": "reduce_churn",
    "task_type": "classification",
    "metric": "roc_auc",
    "threshold": 0.8,
    "baseline_process": "Call the customers whose contract ends",
    "baseline_score": 0.6,
    "cost_false_positive": 5,
    "cost_false_negative": 80,
}


@pytest.fixture
def people(ws):
    """Admin, product designer (owner of P), viewer, domain expert and data engineer, all members of P."""
    with session_scope(ws.engine) as s:
        admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
        designer = create_user(session=s, actor=admin, name="dana", role="product_designer", password=PW)
        viewer = create_user(session=s, actor=admin, name="vera", role="viewer", password=PW)
        expert = create_user(session=s, actor=admin, name="edu", role="domain_expert", password=PW)
        engineer = create_user(session=s, actor=admin, name="eng", role="data_engineer", password=PW)
        project = create_project(session=s, data=ProjectCreate(name="P"), actor=designer)
        for user, role in ((viewer, "viewer"), (expert, "domain_expert"), (engineer, "data_engineer")):
            set_member(session=s, actor=admin, project_id=project.id, user_id=user.id, role=role)
    return {
        "admin": admin,
        "designer": designer,
        "viewer": viewer,
        "expert": expert,
        "engineer": engineer,
        "project": project.id,
    }


def _events(ws, action):
    with session_scope(ws.engine) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def _race(*calls):
    """Run the calls at the same moment in threads; return "ok" or "conflict" per call."""
    results: dict[int, str] = {}
    barrier = threading.Barrier(len(calls))

    def run(i, call):
        barrier.wait()
        try:
            call()
            results[i] = "ok"
        except ConflictError:
            results[i] = "conflict"

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [results[i] for i in range(len(calls))]


# ----------------------------------------------------------------------------- canvas


def test_canvas_saves_with_versions_and_audit(ws, people):
    p, designer = people["project"], people["designer"]
    with session_scope(ws.engine) as s:
        assert get_canvas(session=s, project_id=p).version == 0
        first = save_canvas(session=s, project_id=p, data=CANVAS, expected_version=0, actor=designer)
    assert first.version == 1 and first.canvas.threshold == 0.8 and first.updated_by == "dana"
    with session_scope(ws.engine) as s:
        second = save_canvas(
            session=s, project_id=p, data={**CANVAS, "threshold": "0.85"}, expected_version=1, actor=designer
        )
    assert second.version == 2 and second.canvas.threshold == 0.85
    events = _events(ws, "planning.canvas_save")
    assert len(events) == 2 and events[1].before == {"threshold": 0.8} and events[1].after == {"threshold": 0.85}


def test_stale_canvas_save_is_refused_and_nothing_is_lost(ws, people):
    p, designer, admin = people["project"], people["designer"], people["admin"]
    with session_scope(ws.engine) as s:
        save_canvas(session=s, project_id=p, data=CANVAS, expected_version=0, actor=designer)
        save_canvas(session=s, project_id=p, data={**CANVAS, "threshold": 0.9}, expected_version=1, actor=admin)
    with session_scope(ws.engine) as s, pytest.raises(ConflictError) as info:
        save_canvas(session=s, project_id=p, data={**CANVAS, "threshold": 0.75}, expected_version=1, actor=designer)
    assert info.value.key == "planning.records.canvas_conflict" and info.value.params["version"] == 2
    with session_scope(ws.engine) as s:
        saved = get_canvas(session=s, project_id=p)
    assert saved.canvas.threshold == 0.9 and saved.version == 2
    frame = canvas_conflicts(
        started_from=Canvas.model_validate(CANVAS).model_dump(mode="json"),
        now_saved=saved.canvas,
        mine={**CANVAS, "threshold": 0.75},
        lang="en",
    )
    assert frame.to_dict("records") == [
        {"field": "Threshold", "started_from": "0.8", "now_saved": "0.9", "yours": "0.75"}
    ]


def test_two_first_saves_of_the_canvas_exactly_one_wins(ws, people):
    p = people["project"]

    def save(threshold, who):
        with session_scope(ws.engine) as s:
            save_canvas(
                session=s, project_id=p, data={**CANVAS, "threshold": threshold}, expected_version=0, actor=people[who]
            )

    assert sorted(_race(lambda: save(0.7, "designer"), lambda: save(0.9, "admin"))) == ["conflict", "ok"]
    with session_scope(ws.engine) as s:
        assert len(s.exec(select(PlanningCanvas)).all()) == 1


@pytest.mark.parametrize(
    "change,key",
    [
        ({"threshold": 1.2}, "planning.canvas.rate_out_of_range"),
        ({"threshold": -0.1}, "planning.canvas.rate_out_of_range"),
        ({"cost_false_positive": -3}, "planning.canvas.negative_cost"),
        ({"metric": "mae"}, "planning.canvas.metric_task_mismatch"),
    ],
)
def test_bad_canvas_is_refused_with_a_clear_message_and_nothing_stored(ws, people, change, key):
    with session_scope(ws.engine) as s, pytest.raises(PlanningInputError) as info:
        save_canvas(
            session=s,
            project_id=people["project"],
            data={**CANVAS, **change},
            expected_version=0,
            actor=people["admin"],
        )
    assert info.value.key == key
    message = info.value.message("en")
    assert "{" not in message and "_" not in message.split(":")[0]  # field names are shown translated
    with session_scope(ws.engine) as s:
        assert s.exec(select(PlanningCanvas)).all() == []
    assert _events(ws, "planning.canvas_save") == []


@pytest.mark.parametrize("who", ["viewer", "expert", "engineer"])
def test_only_product_designers_and_admins_edit_the_canvas(ws, people, who):
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        save_canvas(session=s, project_id=people["project"], data=CANVAS, expected_version=0, actor=people[who])


def test_canvas_helpers_for_display():
    assert not canvas_edited({"threshold": 0.7, "kpi_name": None}, {"threshold": 0.7, "kpi_name": "  "})
    assert canvas_edited({"threshold": 0.7}, {"threshold": 0.8})
    table = canvas_frame(Canvas.model_validate(CANVAS), "es")
    values = dict(zip(table["field"], table["value"], strict=True))
    assert values["Umbral"] == "0,8" and values["Tarea de ML"] == "clasificación"


# ----------------------------------------------------------------------------- answers


def _answer(item="target_recorded", answer="yes", **more):
    return {"item_id": item, "answer": answer, **more}


def test_answers_are_saved_per_item_with_evidence_and_audit(ws, people):
    p = people["project"]
    evidence = {
        "evidence": "The CRM keeps cancellations since 2019",
        "evidence_link": "https://intranet.example/crm.pdf",
        "owner_role": "data_engineer",
        "due_date": date(2026, 3, 1),
    }
    with session_scope(ws.engine) as s:
        record = save_answer(
            session=s, project_id=p, data=_answer(**evidence), expected_version=0, actor=people["engineer"]
        )
    assert record.version == 1 and record.updated_by == "eng"
    assert record.answer.evidence_link == evidence["evidence_link"] and record.answer.due_date == date(2026, 3, 1)
    with session_scope(ws.engine) as s:  # a domain expert may answer too
        save_answer(
            session=s,
            project_id=p,
            data=_answer(answer="partly", **evidence),
            expected_version=1,
            actor=people["expert"],
        )
        answers = list_answers(session=s, project_id=p)
    assert answers["target_recorded"].answer.answer == "partly" and answers["target_recorded"].version == 2
    assert answers["target_recorded"].answer.evidence == evidence["evidence"]
    events = _events(ws, "planning.answer")
    assert [e.object_id for e in events] == ["target_recorded"] * 2
    assert events[1].before == {"answer": "yes"} and events[1].after == {"answer": "partly"}


@pytest.mark.parametrize("expected", [0, 1])
def test_two_people_saving_the_same_item_exactly_one_wins(ws, people, expected):
    p = people["project"]
    if expected:
        with session_scope(ws.engine) as s:
            save_answer(
                session=s, project_id=p, data=_answer(answer="unknown"), expected_version=0, actor=people["admin"]
            )

    def save(answer, who):
        with session_scope(ws.engine) as s:
            save_answer(
                session=s, project_id=p, data=_answer(answer=answer), expected_version=expected, actor=people[who]
            )

    results = _race(lambda: save("yes", "engineer"), lambda: save("no", "expert"))
    assert sorted(results) == ["conflict", "ok"]
    with session_scope(ws.engine) as s:
        rows = s.exec(select(ChecklistAnswer)).all()
        saved = list_answers(session=s, project_id=p)["target_recorded"]
    assert len(rows) == 1 and saved.version == expected + 1
    winner = "yes" if results[0] == "ok" else "no"
    assert saved.answer.answer == winner  # the loser's value was refused, not silently merged
    mine = {"answer": "no" if winner == "yes" else "yes", "evidence": ""}
    frame = answer_conflicts(now_saved=saved, mine=mine, lang="en")
    assert frame.to_dict("records") == [
        {"field": "Answer", "now_saved": winner, "yours": mine["answer"]}
    ]  # both values, for the person whose save was refused


def test_stale_answer_reports_who_saved_meanwhile(ws, people):
    p = people["project"]
    with session_scope(ws.engine) as s:
        save_answer(session=s, project_id=p, data=_answer(), expected_version=0, actor=people["engineer"])
    with session_scope(ws.engine) as s, pytest.raises(ConflictError) as info:
        save_answer(session=s, project_id=p, data=_answer(answer="no"), expected_version=0, actor=people["expert"])
    assert info.value.key == "planning.records.answer_conflict" and info.value.params["who"] == "eng"
    assert "eng" in info.value.message("es")


def test_two_people_saving_different_items_both_win(ws, people):
    p = people["project"]

    def save(item, who):
        with session_scope(ws.engine) as s:
            save_answer(session=s, project_id=p, data=_answer(item=item), expected_version=0, actor=people[who])

    assert _race(lambda: save("target_recorded", "engineer"), lambda: save("lawful_basis", "expert")) == ["ok", "ok"]
    with session_scope(ws.engine) as s:
        assert set(list_answers(session=s, project_id=p)) == {"target_recorded", "lawful_basis"}


@pytest.mark.parametrize(
    "data,key",
    [
        (_answer(item="no_such_item"), "planning.checklist.unknown_item"),
        (_answer(evidence_link="javascript:alert(1)"), "planning.answer.bad_link"),
        (_answer(evidence_link="https://x.example/" + "a" * 600), "planning.text.too_long"),
        (_answer(answer="maybe"), "planning.value.not_a_choice"),
        (_answer(evidence_link="ab" * 32), "planning.records.link_not_stored"),
        (_answer(due_date="next week"), "planning.value.not_a_date"),
    ],
)
def test_bad_answers_are_refused_and_nothing_stored(ws, people, data, key):
    with session_scope(ws.engine) as s, pytest.raises(PlanningInputError) as info:
        save_answer(session=s, project_id=people["project"], data=data, expected_version=0, actor=people["admin"])
    assert info.value.key == key
    with session_scope(ws.engine) as s:
        assert s.exec(select(ChecklistAnswer)).all() == []


def test_viewers_cannot_answer(ws, people):
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        save_answer(session=s, project_id=people["project"], data=_answer(), expected_version=0, actor=people["viewer"])


def test_answer_edited_ignores_empty_texts():
    from mlcore.planning.checklist import Answer

    base = Answer(item_id="lawful_basis", answer="partly", owner_role="ai_ethics_reviewer")
    same = {"answer": "partly", "evidence": "", "evidence_link": None, "owner_role": "ai_ethics_reviewer"}
    assert not answer_edited(base, same)
    assert answer_edited(base, {**same, "evidence": "DPIA signed"})


# ----------------------------------------------------------------------------- custom items and readiness


def test_custom_items_join_the_checklist_and_the_readiness(ws, people):
    p = people["project"]
    with session_scope(ws.engine) as s:
        item = add_custom_item(
            session=s,
            project_id=p,
            question="Has the works council been consulted?",
            dimension="legal",
            owner_role="product_designer",
            blocking=True,
            help_text="Required by the collective agreement.",
            actor=people["designer"],
        )
        items = checklist_items(session=s, project_id=p)
    assert item.custom and item.id in {i.id for i in items} and len(items) == len(load_items()) + 1
    dims = [i.dimension for i in items]
    assert dims == sorted(dims, key=DIMENSIONS.index)  # grouped by dimension, in the usual order
    legal = [i.id for i in items if i.dimension == "legal"]
    assert legal[-1] == item.id  # the project's own questions come after the built-in ones
    with session_scope(ws.engine) as s:
        save_answer(
            session=s, project_id=p, data=_answer(item=item.id, answer="no"), expected_version=0, actor=people["expert"]
        )
        result = project_readiness(session=s, project_id=p)
        answers = list_answers(session=s, project_id=p)
    assert result.status == "blocked" and result.blockers == (item.id,)
    blocking = blocking_frame(result, items, answers, "en")
    assert (
        blocking.iloc[0]["question"] == "Has the works council been consulted?" and blocking.iloc[0]["answer"] == "no"
    )
    frame = readiness_frame(result, "es")
    assert list(frame.columns) == ["dimension", "score", "status", "answered"] and "bloqueada" in set(frame["status"])
    legal = answers_frame(items, answers, dimension="legal", lang="en")
    assert legal.iloc[-1]["question"] == "Has the works council been consulted?" and legal.iloc[-1]["answer"] == "no"
    assert len(_events(ws, "planning.item_add")) == 1


def test_custom_item_twice_or_by_the_wrong_role_is_refused(ws, people):
    p = people["project"]
    kwargs = {"question": "Union consulted?", "dimension": "legal", "owner_role": "product_designer"}
    with session_scope(ws.engine) as s:
        add_custom_item(session=s, project_id=p, actor=people["admin"], **kwargs)
    with session_scope(ws.engine) as s, pytest.raises(PlanningInputError) as info:
        add_custom_item(session=s, project_id=p, actor=people["designer"], **kwargs)
    assert info.value.key == "planning.records.item_exists"
    for who in ("viewer", "expert"):
        with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
            add_custom_item(session=s, project_id=p, actor=people[who], **{**kwargs, "question": "Other?"})


# ----------------------------------------------------------------------------- gate


def _canvas(ws, people, data=CANVAS):
    with session_scope(ws.engine) as s:
        return save_canvas(
            session=s, project_id=people["project"], data=data, expected_version=0, actor=people["designer"]
        ).version


def test_decision_records_the_gate_and_the_success_criteria(ws, people):
    p = people["project"]
    version = _canvas(ws, people)
    with session_scope(ws.engine) as s:
        assert gate_status(session=s, project_id=p) == GateStatus(None)
        assert success_criteria(session=s, project_id=p) is None
        status = record_decision(
            session=s,
            project_id=p,
            outcome="go_with_conditions",
            rationale="The data is there; legal still has to confirm the lawful basis.",
            conditions="Lawful basis confirmed in writing before training.",
            expected_canvas_version=version,
            expected_decision_id=None,
            actor=people["designer"],
        )
    assert status.outcome == "go_with_conditions" and status.level == "warning" and status.decided_by == "dana"
    assert "Lawful basis confirmed" in status.message("en")
    event = _events(ws, "planning.gate_decision")[0]
    assert event.reason.startswith("The data is there") and event.after["decision"] == "go_with_conditions"
    assert event.after["canvas_version"] == version and event.after["readiness"] in ("ready", "at_risk", "blocked")
    # the canvas changes later: the signed-off criteria do not
    with session_scope(ws.engine) as s:
        save_canvas(
            session=s,
            project_id=p,
            data={**CANVAS, "threshold": 0.6},
            expected_version=version,
            actor=people["designer"],
        )
        criteria = success_criteria(session=s, project_id=p)
        assert gate_status(session=s, project_id=p).decision_id == status.decision_id
    assert criteria.metric == "roc_auc" and criteria.threshold == 0.8 and criteria.cost_false_negative == 80
    assert criteria.met_by({"roc_auc": 0.81}) and not criteria.met_by({"roc_auc": 0.7})
    with pytest.raises(PlanningInputError) as info:
        criteria.met_by({"recall": 0.9})
    assert info.value.key == "planning.records.score_missing"
    # a later decision becomes the status; the history keeps both
    with session_scope(ws.engine) as s:
        record_decision(
            session=s,
            project_id=p,
            outcome="no_go",
            rationale="Legal said no.",
            expected_canvas_version=version + 1,
            expected_decision_id=status.decision_id,
            actor=people["admin"],
        )
        history = decision_history(session=s, project_id=p)
        assert gate_status(session=s, project_id=p).level == "error"
    assert [h.outcome for h in history] == ["no_go", "go_with_conditions"]
    assert list(decisions_frame(history, "es")["decision"]) == ["No avanzar", "Avanzar, con condiciones"]


@pytest.mark.parametrize(
    "canvas,outcome,conditions,key",
    [
        ({"business_objective": "x"}, "go", "", "planning.records.go_needs_criteria"),
        (CANVAS, "go_with_conditions", "  ", "planning.records.conditions_empty"),
        (CANVAS, "maybe", "", "planning.decision.unknown_outcome"),
    ],
)
def test_bad_decisions_are_refused(ws, people, canvas, outcome, conditions, key):
    version = _canvas(ws, people, canvas)
    with session_scope(ws.engine) as s, pytest.raises(PlanningInputError) as info:
        record_decision(
            session=s,
            project_id=people["project"],
            outcome=outcome,
            rationale="Because.",
            conditions=conditions,
            expected_canvas_version=version,
            expected_decision_id=None,
            actor=people["designer"],
        )
    assert info.value.key == key
    assert _events(ws, "planning.gate_decision") == []


def test_decision_on_a_canvas_that_changed_meanwhile_is_refused(ws, people):
    version = _canvas(ws, people)
    with session_scope(ws.engine) as s:
        save_canvas(
            session=s,
            project_id=people["project"],
            data={**CANVAS, "threshold": 0.9},
            expected_version=version,
            actor=people["admin"],
        )
    with session_scope(ws.engine) as s, pytest.raises(ConflictError) as info:
        record_decision(
            session=s,
            project_id=people["project"],
            outcome="go",
            rationale="Looks good.",
            expected_canvas_version=version,
            expected_decision_id=None,
            actor=people["designer"],
        )
    assert info.value.key == "planning.records.canvas_changed"
    with session_scope(ws.engine) as s:
        record_decision(
            session=s,
            project_id=people["project"],
            outcome="go",
            rationale="Looks good.",
            expected_canvas_version=version + 1,
            expected_decision_id=None,
            actor=people["designer"],
        )
    with session_scope(ws.engine) as s, pytest.raises(ConflictError) as info:
        record_decision(
            session=s,
            project_id=people["project"],
            outcome="no_go",
            rationale="No.",
            expected_canvas_version=version + 1,
            expected_decision_id=None,
            actor=people["admin"],
        )
    assert info.value.key == "planning.records.decision_changed"


@pytest.mark.parametrize("who", ["viewer", "expert", "engineer"])
def test_only_the_responsible_stakeholder_signs_off(ws, people, who):
    version = _canvas(ws, people)
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        record_decision(
            session=s,
            project_id=people["project"],
            outcome="go",
            rationale="Yes.",
            expected_canvas_version=version,
            expected_decision_id=None,
            actor=people[who],
        )
    with session_scope(ws.engine) as s:
        assert gate_status(session=s, project_id=people["project"]).outcome is None


# ----------------------------------------------------------------------------- sufficiency job


def _version(ws, people, n_rows=300, *, missing_target=0, seed=0):
    from sklearn.datasets import make_classification

    X, y = make_classification(n_rows, n_features=6, n_informative=4, random_state=seed)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    df["customer_id"] = [f"C{i:05d}" for i in range(n_rows)]
    df["signed_up"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(np.arange(n_rows), unit="D")
    df["churned"] = pd.array(y, dtype="Int64")
    if missing_target:
        df.loc[: missing_target - 1, "churned"] = pd.NA
    loaded = ingest.load_frame(df, source=ingest.SourceInfo(format="synthetic"))
    version = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=people["project"], dataset_name=f"d{n_rows}", target="churned"),
        actor_id=people["engineer"].id,
        operation="synthetic",
    )
    return version


def test_sufficiency_job_end_to_end(ws, people):
    p = people["project"]
    _canvas(ws, people)
    version = _version(ws, people, missing_target=20)
    job_id = submit_sufficiency(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        version_id=version.id,
        target="churned",
        date_column="signed_up",
        actor_id=people["engineer"].id,
        thoroughness="quick",
        launch=False,
    )
    job = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert job.status == "succeeded", (job.error_key, job.error_params, job.error_ref)
    assert job.result["label"] == version.label and job.result["n_rows"] == 280  # unlabelled rows left out
    with session_scope(ws.engine) as s:
        evidence = latest_evidence(session=s, store=ws.store, project_id=p)
        assert s.get(Artifact, job.result["sha256"]).kind == "json"
        canvas = get_canvas(session=s, project_id=p).canvas
    assert evidence.artifact_sha256 == job.result["sha256"] and evidence.job_id == job_id
    study = evidence.study
    folds, fractions = THOROUGHNESS["quick"]
    assert study.cv == folds and len(study.train_sizes) == len(fractions) and study.metric == "roc_auc"
    assert list(study.train_sizes) == sorted(study.train_sizes) and all(0 <= v <= 1 for v in study.val_mean)
    assert study.threshold == 0.8 and study.rows_needed is not None
    assert evidence.availability.labelled_rows == 280 and evidence.availability.date_span_days == 299
    assert evidence.baseline is not None and evidence.baseline.stated_baseline_score == 0.6
    assert stale_evidence(evidence, canvas) == ()
    assert stale_evidence(evidence, canvas.model_copy(update={"threshold": 0.9})) == ("threshold",)
    assert "doubl" in verdict_message(study, "en") and rows_needed_message(study, "es")
    assert _events(ws, "planning.sufficiency")[0].after["evidence_sha256"] == job.result["sha256"]
    with session_scope(ws.engine) as s:  # the evidence can be cited in the checklist by its SHA-256
        cited = save_answer(
            session=s,
            project_id=p,
            data=_answer(item="enough_labelled_examples", evidence_link=job.result["sha256"]),
            expected_version=0,
            actor=people["engineer"],
        )
    assert cited.answer.evidence_link == job.result["sha256"]
    table = availability_frame(evidence.availability, "en")
    assert "Rows with the target filled in" in set(table["label"])
    assert classes_frame(evidence.availability)["rows"].sum() == 280


def test_availability_for_a_version(ws, people):
    version = _version(ws, people, 120)
    summary = availability_for(
        store=ws.store, version=version, target="churned", task_type="classification", date_column="signed_up"
    )
    assert summary.rows == 120 and summary.date_min.year == 2024
    with pytest.raises(PlanningInputError) as info:
        availability_for(
            store=ws.store, version=version, target="churned", task_type="classification", date_column="x1"
        )
    assert info.value.key == "planning.availability.not_dates"


@pytest.mark.parametrize(
    "setup,target,key",
    [
        ("no_metric", "churned", "planning.records.study_needs_metric"),
        ("canvas", "not_there", "planning.availability.target_not_a_column"),
        ("tiny", "churned", "planning.study.too_few_rows"),
    ],
)
def test_bad_sufficiency_requests_are_refused_and_nothing_stored(ws, people, setup, target, key):
    _canvas(ws, people, {"business_objective": "x"} if setup == "no_metric" else CANVAS)
    version = _version(ws, people, 30 if setup == "tiny" else 120)
    with pytest.raises(PlanningInputError) as info:
        submit_sufficiency(
            engine=ws.engine,
            settings=ws.settings,
            project_id=people["project"],
            version_id=version.id,
            target=target,
            actor_id=people["designer"].id,
            launch=False,
        )
    assert info.value.key == key and "{" not in info.value.message("es")
    with session_scope(ws.engine) as s:
        assert s.exec(select(Job).where(Job.kind == "sufficiency")).all() == []
        assert latest_evidence(session=s, store=ws.store, project_id=people["project"]) is None


def test_sufficiency_needs_the_role_and_a_version_of_the_project(ws, people):
    _canvas(ws, people)
    version = _version(ws, people, 120)
    for who in ("viewer", "expert"):
        with pytest.raises(PermissionDenied):
            submit_sufficiency(
                engine=ws.engine,
                settings=ws.settings,
                project_id=people["project"],
                version_id=version.id,
                target="churned",
                actor_id=people[who].id,
                launch=False,
            )
    with session_scope(ws.engine) as s:
        other = create_project(session=s, data=ProjectCreate(name="Other"), actor=people["designer"]).id
    with pytest.raises(NotFound):
        submit_sufficiency(
            engine=ws.engine,
            settings=ws.settings,
            project_id=other,
            version_id=version.id,
            target="churned",
            actor_id=people["designer"].id,
            launch=False,
        )


def test_job_failure_stores_nothing(ws, people):
    """A single-class target passes the quick checks but fails in the job with a clear message."""
    _canvas(ws, people)
    df = pd.DataFrame({"x": np.arange(80.0), "churned": [1] * 80})
    loaded = ingest.load_frame(df, source=ingest.SourceInfo(format="synthetic"))
    version = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=people["project"], dataset_name="flat", target="churned"),
        actor_id=people["engineer"].id,
        operation="synthetic",
    )
    job_id = submit_sufficiency(
        engine=ws.engine,
        settings=ws.settings,
        project_id=people["project"],
        version_id=version.id,
        target="churned",
        actor_id=people["designer"].id,
        thoroughness="quick",
        launch=False,
    )
    job = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert job.status == "failed" and job.error_key == "planning.study.single_class"
    with session_scope(ws.engine) as s:
        assert latest_evidence(session=s, store=ws.store, project_id=people["project"]) is None
        assert s.exec(select(Artifact).where(Artifact.kind == "json")).all() == []
    assert _events(ws, "planning.sufficiency") == []


def test_unreadable_evidence_is_a_clear_error():
    with pytest.raises(PlanningInputError) as info:
        evidence_from_json(b'{"format": "something else"}')
    assert info.value.key == "planning.records.evidence_unreadable"


# ----------------------------------------------------------------------------- report


def test_report_data_from_the_records(ws, people):
    p = people["project"]
    version_no = _canvas(ws, people)
    version = _version(ws, people, 150)
    job_id = submit_sufficiency(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        version_id=version.id,
        target="churned",
        actor_id=people["designer"].id,
        thoroughness="quick",
        launch=False,
    )
    assert run_job(engine=ws.engine, job_id=job_id, settings=ws.settings).status == "succeeded"
    with session_scope(ws.engine) as s:
        save_answer(
            session=s,
            project_id=p,
            data=_answer(evidence="CRM export <b>2024</b>"),
            expected_version=0,
            actor=people["engineer"],
        )
        record_decision(
            session=s,
            project_id=p,
            outcome="go_with_conditions",
            rationale="Enough data.",
            conditions="Re-run with next month's data.",
            expected_canvas_version=version_no,
            expected_decision_id=None,
            actor=people["designer"],
        )
        data = report_data(session=s, store=ws.store, project_id=p, lang="en")
    markdown, page = render_markdown(data, lang="en"), render_html(data, lang="es")
    assert "Re-run with next month" in markdown and "Go, with conditions" in markdown
    assert "Data sufficiency (learning curve)" in markdown and "<svg" in page and "<b>2024" not in page
