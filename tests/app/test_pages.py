"""AppTest: every page renders, its main interaction works, and the result is shown."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest
from sqlmodel import select

from mlcore.data.versions import list_versions
from mlcore.projects import get_project_by_name, list_projects
from mlcore.store.engine import session_scope
from mlcore.store.models import Project
from tests.app.conftest import texts, wait_for_jobs

PAGES = ["pages/projects.py", "pages/data_import.py", "pages/data_versions.py"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(at, page):
    at.switch_page(page).run()
    assert not at.exception
    assert len(at.title) == 1
    assert [s.key for s in at.sidebar.selectbox][:1] == ["lang_picker"], "the page runs inside the router"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_in_spanish(at, page):
    at.sidebar.selectbox(key="lang_picker").select_index(1).run()
    at.switch_page(page).run()
    assert not at.exception
    assert at.title[0].value in {"Proyectos", "Importar datos", "Versiones de datos"}


def test_language_is_remembered_for_the_user(at, app_ws):
    at.sidebar.selectbox(key="lang_picker").select_index(1).run()
    from mlcore.store.models import User

    with session_scope(app_ws.engine) as s:
        assert s.exec(select(User).where(User.name == "demo-admin")).one().language == "es"


def test_create_project_and_it_is_selected(at, app_ws):
    at.text_input(key="new_project_name").input("Fuga 2026")
    at.text_area(key="new_project_description").input("Quién se va el próximo mes")
    at.button(key="FormSubmitter:create_project-Create project").click().run()
    assert not at.exception
    assert any("Fuga 2026" in s for s in texts(at, "success"))
    with session_scope(app_ws.engine) as s:
        created = get_project_by_name(session=s, name="Fuga 2026")
    assert created.description == "Quién se va el próximo mes"
    assert at.session_state["project_id"] == created.id
    assert at.sidebar.selectbox(key="project_picker").value == created.id


@pytest.mark.parametrize("bad", ["../x", "/etc", "", "a\\b"])
def test_bad_project_name_shows_error_and_stores_nothing(at, app_ws, bad):
    at.text_input(key="new_project_name").input(bad)
    at.text_area(key="new_project_description").input("kept text")
    at.button(key="FormSubmitter:create_project-Create project").click().run()
    assert not at.exception
    assert at.error, "a clear message is shown"
    with session_scope(app_ws.engine) as s:
        assert len(list_projects(session=s, include_archived=True)) == 1
    assert at.text_area(key="new_project_description").value == "kept text"  # nothing the user typed is lost


def test_rename_and_archive(at, app_ws):
    with session_scope(app_ws.engine) as s:
        pid = list_projects(session=s)[0].id
    at.text_input(key=f"edit_name_{pid}").input("Churn renamed")
    at.button(key=f"FormSubmitter:edit_project_{pid}-Save changes").click().run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        assert s.get(Project, pid).name == "Churn renamed"
    at.button(key=f"FormSubmitter:edit_project_{pid}-Archive this project").click().run()
    with session_scope(app_ws.engine) as s:
        assert s.get(Project, pid).archived
    assert not at.exception


def test_stale_edit_shows_conflict_and_keeps_input(at, app_ws):
    with session_scope(app_ws.engine) as s:
        pid = list_projects(session=s)[0].id
    at.text_input(key=f"edit_name_{pid}").input("Mine")
    with session_scope(app_ws.engine) as s:  # someone else saves first
        theirs = s.get(Project, pid)
        theirs.name, theirs.version = "Theirs", theirs.version + 1
    at.button(key=f"FormSubmitter:edit_project_{pid}-Save changes").click().run()
    assert not at.exception
    assert any("meanwhile" in e for e in texts(at, "error"))
    assert at.text_input(key=f"edit_name_{pid}").value == "Mine"
    diff = at.dataframe[-1].value
    assert diff.to_dict("records") == [
        {"field": "name", "started_from": "Demo: customer churn", "now_saved": "Theirs", "yours": "Mine"}
    ]
    with session_scope(app_ws.engine) as s:
        assert s.get(Project, pid).name == "Theirs"
    at.button(key=f"reload_{pid}").click().run()  # start again from the saved version, then re-apply
    assert at.text_input(key=f"edit_name_{pid}").value == "Theirs"
    at.text_input(key=f"edit_name_{pid}").input("Mine")
    at.button(key=f"FormSubmitter:edit_project_{pid}-Save changes").click().run()
    with session_scope(app_ws.engine) as s:
        assert s.get(Project, pid).name == "Mine"


def _upload(at, name: str, content: bytes):
    at.switch_page("pages/data_import.py").run()
    at.file_uploader(key="upload_file_0").upload(name, content).run()
    assert not at.exception
    return at


def test_upload_csv_preview_save_creates_version(at, app_ws):
    csv = "id;ciudad;edad;ingreso;fuga\n" + "".join(
        f"{i};{'Ñuñoa' if i % 2 else 'Peñalolén'};{20 + i % 40};{1000 + 7 * i};{i % 3 == 0}\n" for i in range(60)
    )
    _upload(at, "clientes.csv", csv.encode("latin-1"))
    assert any("latin" in c.lower() or "1252" in c for c in texts(at, "caption"))
    assert at.dataframe and not at.warning
    at.text_input(key=next(k for k in _keys(at, "name_"))).input("clientes")
    at.button(key=next(k for k in _keys(at, "save_"))).click().run()
    assert not at.exception
    wait_for_jobs(app_ws)
    at.run()
    assert any("clientes v1" in s for s in texts(at, "success"))
    with session_scope(app_ws.engine) as s:
        project = get_project_by_name(session=s, name="Demo: customer churn")
        names = [v.label for v in list_versions(session=s, project_id=project.id)]
    assert "clientes v1" in names


def _keys(at, prefix):
    return [w.key for w in at.main if getattr(w, "key", None) and str(w.key).startswith(prefix)] or [
        k for k in at.session_state.filtered_state if str(k).startswith(prefix)
    ]


@pytest.mark.parametrize(
    "name,content",
    [
        ("empty.csv", b""),
        ("header_only.csv", b"a,b,c\n"),
        ("binary.csv", bytes(range(256)) * 20),
        ("ragged.csv", b"a,b\n1,2\n3,4,5\n"),
        ("dupes.csv", b"a,a\n1,2\n"),
    ],
)
def test_bad_uploads_show_a_message_and_store_nothing(at, app_ws, name, content):
    _upload(at, name, content)
    assert at.error
    assert not [b for b in at.button if str(b.key).startswith("save_")]
    with session_scope(app_ws.engine) as s:
        project = get_project_by_name(session=s, name="Demo: customer churn")
        assert len(list_versions(session=s, project_id=project.id)) == 2


def test_mixed_column_must_be_resolved_before_saving(at):
    csv = b"a,b\n" + b"".join(f"{i},{i if i != 5 else 'unknown'}\n".encode() for i in range(40))
    _upload(at, "mixed.csv", csv)
    assert at.warning, "the problem is explained"
    save = next(b for b in at.button if str(b.key).startswith("save_"))
    assert save.disabled


def test_sql_import_and_refusal(at, app_ws, tmp_path):
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        pd.DataFrame({"x": range(30), "y": ["a", "b", "c"] * 10}).to_sql("t", conn, index=False)
    at.switch_page("pages/data_import.py").run()
    at.text_input(key="sql_url").input(f"sqlite:///{db}")
    at.text_area(key="sql_query").input("DELETE FROM t")
    at.button(key="sql_preview").click().run()
    assert at.error and not at.exception
    at.text_area(key="sql_query").input("SELECT x, y FROM t")
    at.button(key="sql_preview").click().run()
    assert not at.exception and not at.error
    at.button(key="save_sql").click().run()
    wait_for_jobs(app_ws)
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from t").fetchone()[0] == 30
    with session_scope(app_ws.engine) as s:
        project = get_project_by_name(session=s, name="Demo: customer churn")
        versions = list_versions(session=s, project_id=project.id)
    sql_version = next(v for v in versions if v.operation == "import_sql")
    assert sql_version.n_rows == 30 and "SELECT x, y FROM t" in sql_version.recipe["query"]


def test_synthetic_generation_job(at, app_ws):
    at.switch_page("pages/data_import.py").run()
    at.number_input(key="synth_rows").set_value(300)
    at.button(key="synth_go").click().run()
    assert not at.exception
    wait_for_jobs(app_ws)
    at.run()
    assert any("churn_synthetic v1" in s for s in texts(at, "success"))


def test_versions_page_shows_versions_lineage_and_downloads(at):
    at.switch_page("pages/data_versions.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["version"]) == {"churn v1", "churn_next_month v1"}
    assert len(at.get("plotly_chart")) == 1
    assert {b.key for b in at.get("download_button")} == {"dl_csv", "dl_parquet"}


def test_job_progress_survives_leaving_the_page(at, app_ws):
    at.switch_page("pages/data_import.py").run()
    at.number_input(key="synth_rows").set_value(5000)
    at.button(key="synth_go").click().run()
    at.switch_page("pages/data_versions.py").run()  # the user goes elsewhere…
    assert not at.exception
    wait_for_jobs(app_ws)
    at.switch_page("pages/data_import.py").run()  # …and comes back: the job's outcome is there
    assert any("churn_synthetic v1" in s and "5,000" in s for s in texts(at, "success"))


def test_unexpected_error_shows_a_reference_not_a_traceback(at, monkeypatch):
    import mlcore.data.versions as versions

    def broken(**kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(versions, "list_versions", broken)
    at.switch_page("pages/data_versions.py").run()
    assert not at.exception
    errors = texts(at, "error")
    assert errors and "reference" in errors[0] and "exploded" not in errors[0]


def test_later_stages_show_the_planning_gate(at, app_ws):
    at.switch_page("pages/data_versions.py").run()
    assert any("no go/no-go decision yet" in m for m in texts(at, "info"))
    from mlcore.planning.records import get_canvas, record_decision
    from mlcore.store.models import User

    with session_scope(app_ws.engine) as s:
        project = get_project_by_name(session=s, name="Demo: customer churn")
        admin = s.exec(select(User).where(User.name == "demo-admin")).one()
        canvas_version = get_canvas(session=s, project_id=project.id).version
        record_decision(
            session=s,
            project_id=project.id,
            outcome="no_go",
            rationale="Not enough labelled churners yet.",
            expected_canvas_version=canvas_version,
            expected_decision_id=None,
            actor=admin,
        )
    at.switch_page("pages/labels.py").run()
    assert not at.exception
    assert any("Planning gate: no go, decided by Demo admin" in m for m in texts(at, "error"))
