"""AppTest: the planning page, from the canvas to the go/no-go decision and the report."""

from __future__ import annotations

import pytest
from sqlmodel import select
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import app_test

from mlcore.auth import get_user
from mlcore.errors import PermissionDenied
from mlcore.planning.records import (
    gate_status,
    get_canvas,
    latest_evidence,
    list_answers,
    list_custom_items,
    record_decision,
    save_answer,
    save_canvas,
)
from mlcore.projects import list_projects
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent
from tests.app.conftest import signed_in_app, texts, wait_for_jobs

PAGE = "pages/planning.py"


@pytest.fixture
def pid(app_ws) -> int:
    with session_scope(app_ws.engine) as s:
        return list_projects(session=s)[0].id


@pytest.fixture
def downloads(monkeypatch) -> dict[str, tuple[bytes, str | None]]:
    """What the page's download buttons would send, by their URL."""
    files: dict[str, tuple[bytes, str | None]] = {}

    class Capturing(MemoryMediaFileStorage):
        def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
            file_id = super().load_and_get_id(path_or_data, mimetype, kind, filename)
            files[self.get_url(file_id)] = (self.get_file(file_id).content, filename)
            return file_id

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Capturing)
    return files


def _open(ws, who):
    at = signed_in_app(ws, who)
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Planning"
    return at


def _conflict_table(at):
    """The conflict view on the page (the one table with a "yours" column)."""
    (table,) = [d.value for d in at.dataframe if "yours" in d.value.columns]
    return table


def _answer_item(at, pid, item, answer, evidence=""):
    at.radio(key=f"ans_answer_{pid}_{item}@en").set_value(answer)
    at.text_area(key=f"ans_evidence_{pid}_{item}").input(evidence)
    at.button(key=f"FormSubmitter:ans_{pid}_{item}-Save answer").click().run()
    assert not at.exception, at.exception


def test_designer_walks_the_whole_planning_stage(app_ws, pid, downloads):
    at = _open(app_ws, "demo-product-designer")
    assert "no go/no-go decision yet" in " ".join(texts(at, "info"))

    # canvas: business words, then Ciclo's suggestion for the objective, adjusted, saved
    at.text_area(key=f"cv_business_objective_{pid}").input("Lose fewer subscribers next quarter")
    at.selectbox(key=f"cv_objective_type_{pid}@en").set_value("reduce_churn").run()
    assert any("Why this metric" in m.value for m in at.markdown)
    at.button(key=f"cv_apply_{pid}").click().run()
    assert not at.exception
    assert at.selectbox(key=f"cv_task_type_{pid}@en").value == "classification"
    assert at.selectbox(key=f"cv_metric_{pid}@en").value == "recall"
    assert at.number_input(key=f"cv_threshold_{pid}").value == 0.7
    assert at.text_area(key=f"cv_business_objective_{pid}").value == "Lose fewer subscribers next quarter"
    at.number_input(key=f"cv_threshold_{pid}").set_value(0.75)
    at.number_input(key=f"cv_cost_false_positive_{pid}").set_value(5.0)
    at.number_input(key=f"cv_cost_false_negative_{pid}").set_value(120.0)
    at.text_area(key=f"cv_baseline_process_{pid}").input("Call customers whose contract ends this month")
    at.number_input(key=f"cv_baseline_score_{pid}").set_value(0.3)
    at.button(key=f"cv_save_{pid}").click().run()
    assert not at.exception and "Canvas saved." in texts(at, "success")
    with session_scope(app_ws.engine) as s:
        saved = get_canvas(session=s, project_id=pid)
    assert saved.version == 1 and saved.canvas.metric == "recall" and saved.canvas.threshold == 0.75
    assert saved.canvas.secondary_metric == "precision" and saved.canvas.cost_false_negative == 120

    # checklist: answers saved one by one, readiness follows
    _answer_item(at, pid, "target_recorded", "yes", "The CRM records every cancellation since 2019")
    _answer_item(at, pid, "lawful_basis", "no", "Legal has not approved the use of call notes")
    with session_scope(app_ws.engine) as s:
        answers = list_answers(session=s, project_id=pid)
    assert answers["target_recorded"].answer.answer == "yes" and answers["lawful_basis"].answer.answer == "no"
    assert any("Legal constraints" in e.label and "blocked" in e.label for e in at.expander)

    # evidence: the data-sufficiency check runs as a job in its own process
    at.radio(key=f"ev_thoroughness_{pid}@en").set_value("quick")
    at.button(key=f"ev_run_{pid}").click().run()
    assert not at.exception and any("started" in s for s in texts(at, "success"))
    wait_for_jobs(app_ws, timeout=120)
    at.run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        evidence = latest_evidence(session=s, store=app_ws.store, project_id=pid)
    assert evidence is not None and evidence.study.cv == 3 and evidence.metric == "recall"
    assert any("doubl" in i or "fold" in i for i in texts(at, "info"))  # the verdict in plain words
    assert at.get("plotly_chart")  # the learning curve
    assert evidence.artifact_sha256 in [c.value for c in at.code]
    assert any("trivial model" in m.value or "Today's process" in m.value for m in at.markdown)

    # readiness and sign-off
    assert "blocking" in " ".join(texts(at, "warning")).lower()  # a go on a blocked checklist is warned about
    at.radio(key=f"gate_outcome_{pid}@en").set_value("go_with_conditions")
    at.text_area(key=f"gate_rationale_{pid}").input("Enough data; the legal question is the only blocker.")
    at.text_area(key=f"gate_conditions_{pid}").input("Legal approves the data use before training.")
    at.button(key=f"FormSubmitter:gate_{pid}-Record the decision").click().run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        status = gate_status(session=s, project_id=pid)
        event = s.exec(select(AuditEvent).where(AuditEvent.action == "planning.gate_decision")).one()
    assert status.outcome == "go_with_conditions" and status.decided_by == "Demo product designer"
    assert event.reason == "Enough data; the legal question is the only blocker."
    assert any("go, with conditions" in w for w in texts(at, "warning"))
    assert at.text_area(key=f"gate_rationale_{pid}").value == ""  # the next decision starts empty

    # report: both downloads carry the whole planning
    buttons = {b.key: b for b in at.get("download_button")}
    assert set(buttons) == {f"report_md_{pid}", f"report_html_{pid}"}
    markdown, md_name = downloads[buttons[f"report_md_{pid}"].proto.url]
    page, html_name = downloads[buttons[f"report_html_{pid}"].proto.url]
    assert md_name.endswith(".md") and html_name.endswith(".html")
    text = markdown.decode("utf-8")
    for expected in ("Lose fewer subscribers", "Go, with conditions", "Legal approves", "learning curve", "Recall"):
        assert expected in text, expected
    assert b"<svg" in page and b"CRM records every cancellation" in page


def test_stale_canvas_save_keeps_the_input_and_shows_what_changed(app_ws, pid):
    at = _open(app_ws, "demo-product-designer")
    with session_scope(app_ws.engine) as s:
        admin = get_user(session=s, name="demo-admin")
        save_canvas(session=s, project_id=pid, data={"kpi_name": "Monthly churn"}, expected_version=0, actor=admin)
    at.text_input(key=f"cv_kpi_name_{pid}").input("Customers lost per month")
    at.button(key=f"cv_save_{pid}").click().run()
    assert not at.exception
    assert any("saved the canvas meanwhile" in e for e in texts(at, "error"))
    assert at.text_input(key=f"cv_kpi_name_{pid}").value == "Customers lost per month"  # nothing typed is lost
    conflict = _conflict_table(at)
    assert conflict.to_dict("records") == [
        {
            "field": "Business indicator (KPI)",
            "started_from": "—",
            "now_saved": "Monthly churn",
            "yours": "Customers lost per month",
        }
    ]
    at.button(key=f"cv_mine_{pid}").click().run()  # seen both: save mine over theirs
    assert not at.exception and "Canvas saved." in texts(at, "success")
    with session_scope(app_ws.engine) as s:
        saved = get_canvas(session=s, project_id=pid)
    assert saved.version == 2 and saved.canvas.kpi_name == "Customers lost per month"


def test_bad_threshold_is_explained_and_nothing_saved(app_ws, pid):
    at = _open(app_ws, "demo-product-designer")
    at.selectbox(key=f"cv_task_type_{pid}@en").set_value("classification").run()
    at.selectbox(key=f"cv_metric_{pid}@en").set_value("recall")
    at.number_input(key=f"cv_threshold_{pid}").set_value(1.2)
    at.number_input(key=f"cv_cost_false_positive_{pid}").set_value(-5.0)
    at.button(key=f"cv_save_{pid}").click().run()
    assert not at.exception
    errors = texts(at, "error")
    assert any('"Threshold" (1.2) must be between 0 and 1 for Recall' in e for e in errors), errors
    assert at.number_input(key=f"cv_threshold_{pid}").value == 1.2
    with session_scope(app_ws.engine) as s:
        assert get_canvas(session=s, project_id=pid).version == 0


def test_two_people_answering_the_same_question_see_both_answers(app_ws, pid):
    at = _open(app_ws, "demo-product-designer")
    with session_scope(app_ws.engine) as s:
        engineer = get_user(session=s, name="demo-data-engineer")
        save_answer(
            session=s,
            project_id=pid,
            data={"item_id": "target_recorded", "answer": "yes", "evidence": "CRM since 2019"},
            expected_version=0,
            actor=engineer,
        )
    _answer_item(at, pid, "target_recorded", "no", "Only for contract customers")
    assert any("saved an answer to this question meanwhile" in e for e in texts(at, "error"))
    both = _conflict_table(at).set_index("field")
    assert both.loc["Answer"].tolist() == ["yes", "no"]
    assert both.loc["Evidence"].tolist() == ["CRM since 2019", "Only for contract customers"]
    assert at.radio(key=f"ans_answer_{pid}_target_recorded@en").value == "no"  # the refused input is kept
    # another item saves fine meanwhile: only the same item conflicts
    _answer_item(at, pid, "lawful_basis", "partly")
    assert _conflict_table(at) is not None  # the conflict on the other item is still shown
    at.button(key=f"ans_theirs_{pid}_target_recorded").click().run()
    assert at.radio(key=f"ans_answer_{pid}_target_recorded@en").value == "yes"
    assert at.text_area(key=f"ans_evidence_{pid}_target_recorded").value == "CRM since 2019"
    with session_scope(app_ws.engine) as s:
        answers = list_answers(session=s, project_id=pid)
    assert answers["target_recorded"].answer.answer == "yes" and answers["lawful_basis"].answer.answer == "partly"


def test_custom_question_joins_the_checklist(app_ws, pid):
    at = _open(app_ws, "demo-product-designer")
    at.text_input(key=f"custom_question_{pid}").input("Has the works council been consulted?")
    at.selectbox(key=f"custom_dimension_{pid}@en").set_value("legal")
    at.checkbox(key=f"custom_blocking_{pid}").check()
    at.button(key=f"FormSubmitter:custom_{pid}-Add the question").click().run()
    assert not at.exception
    assert any("Has the works council been consulted?" in m.value for m in at.markdown)
    assert at.text_input(key=f"custom_question_{pid}").value == ""  # ready for the next question
    with session_scope(app_ws.engine) as s:
        (item,) = list_custom_items(session=s, project_id=pid)
    _answer_item(at, pid, item.id, "no")
    assert any("blocked" in e.label for e in at.expander if "Legal" in e.label)


def test_viewer_reads_everything_but_cannot_change_or_sign_off(app_ws, pid):
    at = _open(app_ws, "demo-viewer")
    keys = {
        str(getattr(w, "key", "")) for kind in ("button", "text_area", "radio", "text_input") for w in getattr(at, kind)
    }
    assert not any(
        k.startswith(("cv_", "ev_run", "FormSubmitter:ans_", "FormSubmitter:gate_", "custom_")) for k in keys
    )
    assert sum("ask an administrator" in i for i in texts(at, "info")) >= 3  # canvas, checklist, sign-off
    assert at.dataframe, "the canvas and the answers are shown read-only"
    assert at.get("download_button"), "the report can be exported"
    with session_scope(app_ws.engine) as s, pytest.raises(PermissionDenied):
        viewer = get_user(session=s, name="demo-viewer")
        record_decision(
            session=s,
            project_id=pid,
            outcome="go",
            rationale="I would like it.",
            expected_canvas_version=0,
            expected_decision_id=None,
            actor=viewer,
        )


def test_page_in_spanish(app_ws):
    at = signed_in_app(app_ws, "demo-product-designer")
    at.sidebar.selectbox(key="lang_picker").select_index(1).run()
    at.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == "Planificación"
    assert any("aún no hay decisión" in i for i in texts(at, "info"))


def test_switching_language_keeps_what_was_chosen(app_ws, pid):
    at = _open(app_ws, "demo-product-designer")
    at.selectbox(key=f"cv_task_type_{pid}@en").set_value("classification").run()
    at.selectbox(key=f"cv_metric_{pid}@en").set_value("recall").run()
    _answer_item(at, pid, "target_recorded", "partly")
    at.sidebar.selectbox(key="lang_picker").select_index(1).run()
    assert not at.exception and at.title[0].value == "Planificación"
    assert at.selectbox(key=f"cv_task_type_{pid}@es").value == "classification"
    assert at.selectbox(key=f"cv_metric_{pid}@es").value == "recall"  # unsaved, and kept
    assert at.radio(key=f"ans_answer_{pid}_target_recorded@es").value == "partly"


def test_saving_my_answer_over_theirs_after_seeing_both(app_ws, pid):
    at = _open(app_ws, "demo-domain-expert")
    with session_scope(app_ws.engine) as s:
        engineer = get_user(session=s, name="demo-data-engineer")
        save_answer(
            session=s,
            project_id=pid,
            data={"item_id": "errors_tolerable", "answer": "yes"},
            expected_version=0,
            actor=engineer,
        )
    _answer_item(at, pid, "errors_tolerable", "partly", "Only if a person reviews every flagged case")
    assert _conflict_table(at).set_index("field").loc["Answer"].tolist() == ["yes", "partly"]
    at.button(key=f"ans_mine_{pid}_errors_tolerable").click().run()
    assert not at.exception and not [d for d in at.dataframe if "yours" in d.value.columns]
    with session_scope(app_ws.engine) as s:
        saved = list_answers(session=s, project_id=pid)["errors_tolerable"]
    assert saved.answer.answer == "partly" and saved.version == 2 and saved.updated_by == "Demo domain expert"
