"""AppTest: the data-understanding page — overview, full profile job, quality checks, finding rows,
acknowledgements, project thresholds — for a data engineer, and read-only for a viewer."""

from __future__ import annotations

from sqlmodel import select

from mlcore.auth import get_user
from mlcore.data.understanding import get_quality_settings, save_quality_settings, submit_quality
from mlcore.data.versions import list_versions
from mlcore.jobs import run_job
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, FindingAck
from tests.app.conftest import DEMO_ROWS, signed_in_app, texts, wait_for_jobs

PAGE = "pages/data_understanding.py"


def _open(ws, who: str, tab: str | None = None, lang: str = "en"):
    at = signed_in_app(ws, who)
    if lang != "en":
        at.sidebar.selectbox(key="lang_picker").select(lang).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    if tab is not None:
        at.session_state[f"und_tab_{lang}"] = tab
        at.run()
        assert not at.exception
    return at


def _ids(ws):
    with session_scope(ws.engine) as s:
        versions = {v.dataset: v for v in list_versions(session=s, project_id=1)}
        engineer = get_user(session=s, name="demo-data-engineer")
    return versions, engineer


def _checked(ws):
    """The quality checks of the version the page opens on (the newest), run in-process."""
    versions, engineer = _ids(ws)
    job_id = submit_quality(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        version_id=versions["churn_next_month"].id,
        actor_id=engineer.id,
        launch=False,
    )
    assert run_job(engine=ws.engine, job_id=job_id, settings=ws.settings).status == "succeeded"
    return versions["churn_next_month"]


def test_overview_renders_with_charts(app_ws):
    at = _open(app_ws, "demo-data-engineer")
    assert at.title[0].value == "Understand the data"
    assert at.selectbox(key="und_version").value is not None
    assert [m.value for m in at.metric][:2] == [f"{DEMO_ROWS:,}", "18"]
    assert len(at.get("plotly_chart")) == 3  # missing values, one distribution, relation to the target
    columns = at.dataframe[0].value
    assert len(columns) == 18 and "summary" in columns.columns
    assert at.selectbox(key="und_relation").value == "cancellation_fee_charged"  # the planted leak comes first
    version_id = at.selectbox(key="und_version").value
    at.selectbox(key=f"und_dist_{version_id}").select("income").run()
    assert not at.exception


def test_overview_in_spanish(app_ws):
    at = _open(app_ws, "demo-viewer", lang="es")
    assert at.title[0].value == "Entender los datos"
    assert "Relación de cada columna con el objetivo" in [h.value for h in at.subheader]


def test_profile_job_runs_and_the_report_is_shown(app_ws):
    at = _open(app_ws, "demo-data-engineer", tab="Full profile")
    at.button(key="und_build_profile").click().run()
    assert not at.exception
    assert any("job #" in s for s in texts(at, "success"))
    wait_for_jobs(app_ws, timeout=120)
    at.run()
    assert not at.exception
    assert at.get("download_button"), "the report can be downloaded"
    frames = [e for e in at.main if getattr(e, "type", "") == "iframe"]
    assert len(frames) == 1 and 'sandbox="allow-scripts"' in frames[0].proto.srcdoc
    assert any("All" in c and "rows are described" in c for c in texts(at, "caption"))
    assert not [b for b in at.button if b.key == "und_build_profile"]  # cached: nothing to build again


def test_quality_checks_run_show_finding_rows_and_acknowledge(app_ws):
    at = _open(app_ws, "demo-data-engineer", tab="Quality checks")
    assert any("have not been run" in i for i in texts(at, "info"))
    at.button(key="und_run_quality").click().run()
    assert any("quality checks (job #" in s for s in texts(at, "success"))
    wait_for_jobs(app_ws)
    at.run()
    assert not at.exception
    assert [m.label for m in at.metric][:3] == ["Failure", "Warning", "Pass"]
    version_id = at.selectbox(key="und_version").value
    picker = at.selectbox(key=f"und_finding_{version_id}")
    missing_income = next(k for k in picker.options if "Missing values" in k and "income" in k)
    picker.select(missing_income).run()
    key = at.selectbox(key=f"und_finding_{version_id}").value
    assert key.startswith("missing_values.")
    rows = at.dataframe[-1].value
    assert len(rows) > 0 and rows["income"].isna().all() and list(rows.columns)[0] == "income"
    at.text_area[0].input("Imputed in Preparation; the gaps are random.")
    form_button = next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:und_ack_{version_id}_"))
    form_button.click().run()
    assert not at.exception
    assert "Finding acknowledged." in texts(at, "success")
    assert any("Imputed in Preparation" in c for c in texts(at, "caption"))
    with session_scope(app_ws.engine) as s:
        acks = s.exec(select(FindingAck)).all()
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "quality.acknowledge")).all()
    assert [a.finding_key for a in acks] == [key] and acks[0].note.startswith("Imputed")
    assert len(events) == 1 and events[0].actor_name == "demo-data-engineer"


def test_acknowledgement_without_note_is_refused(app_ws):
    _checked(app_ws)
    at = _open(app_ws, "demo-data-engineer", tab="Quality checks")
    version_id = at.selectbox(key="und_version").value
    next(b for b in at.button if b.key and b.key.startswith(f"FormSubmitter:und_ack_{version_id}_")).click().run()
    assert not at.exception
    assert any("Write a note" in e for e in texts(at, "error"))
    with session_scope(app_ws.engine) as s:
        assert s.exec(select(FindingAck)).all() == []


def test_viewer_sees_results_but_no_controls(app_ws):
    _checked(app_ws)
    at = _open(app_ws, "demo-viewer", tab="Quality checks")
    keys = {b.key for b in at.button}
    assert "und_run_quality" not in keys and not any(k and k.startswith("FormSubmitter:und_") for k in keys)
    assert not at.text_area and not at.number_input
    assert any("Data engineer" in i or "data engineer" in i for i in texts(at, "info"))  # whom to ask
    assert [m.label for m in at.metric][:3] == ["Failure", "Warning", "Pass"]
    assert at.dataframe, "the rows of a finding are shown to readers too"
    at.session_state["und_tab_en"] = "Full profile"
    at.run()
    assert not at.exception
    assert "und_build_profile" not in {b.key for b in at.button}


def test_thresholds_saved_and_a_stale_save_keeps_the_input(app_ws):
    at = _open(app_ws, "demo-data-engineer", tab="Quality checks")
    key = "und_th_1_rare_class_count"
    submit = "FormSubmitter:und_settings_1-Save thresholds"
    at.number_input(key=key).set_value(5)
    at.button(key=submit).click().run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        saved = get_quality_settings(session=s, project_id=1)
        admin = get_user(session=s, name="demo-admin")
    assert saved.version == 1 and saved.thresholds.rare_class_count == 5
    with session_scope(app_ws.engine) as s:  # someone else saves meanwhile
        save_quality_settings(
            session=s, actor=admin, project_id=1, thresholds={"rare_class_count": 8}, expected_version=1
        )
    at.number_input(key=key).set_value(6)
    at.button(key=submit).click().run()
    assert not at.exception
    assert any("meanwhile" in e for e in texts(at, "error"))
    assert at.number_input(key=key).value == 6  # nothing the user typed is lost
    with session_scope(app_ws.engine) as s:
        assert get_quality_settings(session=s, project_id=1).thresholds.rare_class_count == 8
    at.button(key="und_settings_reload_1").click().run()
    assert at.number_input(key=key).value == 8
    at.number_input(key=key).set_value(6)
    at.button(key=submit).click().run()
    with session_scope(app_ws.engine) as s:
        final = get_quality_settings(session=s, project_id=1)
    assert final.version == 3 and final.thresholds.rare_class_count == 6


def test_share_thresholds_are_entered_in_percent(app_ws):
    at = _open(app_ws, "demo-data-engineer", tab="Quality checks")
    assert at.number_input(key="und_th_1_duplicate_fail_share").value == 5.0
    at.number_input(key="und_th_1_duplicate_fail_share").set_value(2.5)
    at.button(key="FormSubmitter:und_settings_1-Save thresholds").click().run()
    with session_scope(app_ws.engine) as s:
        assert get_quality_settings(session=s, project_id=1).thresholds.duplicate_fail_share == 0.025
