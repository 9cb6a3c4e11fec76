"""AppTest: sign-in, sign-out, idle expiry, role-based controls, the audit and admin pages."""

from __future__ import annotations

import time

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from mlcore.auth import authenticate
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent
from tests.app.conftest import ROOT, signed_in_app, texts


def _demo_password(ws, name: str) -> str:
    for line in (ws.settings.home / "demo-credentials.txt").read_text().splitlines():
        account, _role, password = line.split("\t")
        if account == name:
            return password
    raise AssertionError(name)


def test_sign_in_form_wrong_then_right(app_ws):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert at.title[0].value == "Sign in" and not at.exception
    at.text_input(key="signin_name").input("demo-viewer")
    at.text_input(key="signin_password").input("wrong password")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert texts(at, "error") == ["User name or password is not correct."]
    at.text_input(key="signin_name").input("nobody")
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert texts(at, "error") == ["User name or password is not correct."]  # no user enumeration
    at.text_input(key="signin_name").input("demo-viewer")
    at.text_input(key="signin_password").input(_demo_password(app_ws, "demo-viewer"))
    at.button(key="FormSubmitter:sign_in-Sign in").click().run()
    assert not at.exception and at.title[0].value == "Projects"


def test_sign_out_clears_the_session(at):
    at.sidebar.button(key="sign_out").click().run()
    assert at.title[0].value == "Sign in"
    assert "user_id" not in at.session_state and "project_id" not in at.session_state
    assert any("signed out" in i for i in texts(at, "info"))


def test_idle_session_expires(app_ws):
    at = signed_in_app(app_ws, "demo-admin")
    at.session_state["last_seen"] = time.time() - 31 * 60
    at.run()
    assert at.title[0].value == "Sign in" and any("expired" in i for i in texts(at, "info"))


@pytest.mark.parametrize("who", ["demo-viewer", "demo-domain-expert"])
def test_readers_see_no_write_controls(app_ws, who):
    at = signed_in_app(app_ws, who)
    assert not at.exception
    keys = {getattr(w, "key", None) for w in at.main.button} | {getattr(w, "key", None) for w in at.main.text_input}
    assert not any(
        str(k).startswith(("FormSubmitter:create_project", "FormSubmitter:edit_project", "new_project")) for k in keys
    )
    assert any("ask an administrator" in i for i in texts(at, "info"))
    at.switch_page("pages/data_import.py").run()
    assert not at.exception and not at.file_uploader and not at.main.button
    assert any("ask an administrator" in i for i in texts(at, "info"))
    at.switch_page("pages/data_versions.py").run()  # reading is fine
    assert not at.exception and at.dataframe


def test_data_engineer_can_import_but_not_edit_the_project(app_ws):
    at = signed_in_app(app_ws, "demo-data-engineer")
    assert any("ask an administrator" in i for i in texts(at, "info"))  # project settings: read-only
    at.switch_page("pages/data_import.py").run()
    assert at.button(key="synth_go") is not None and not at.exception


def test_admin_pages_hidden_from_others(app_ws):
    viewer = signed_in_app(app_ws, "demo-viewer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        viewer.switch_page("pages/admin.py")  # not registered for a viewer
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        viewer.switch_page("pages/audit.py")
    admin = signed_in_app(app_ws, "demo-admin")
    admin.switch_page("pages/admin.py").run()
    assert not admin.exception and admin.title[0].value == "Users and members"


def test_admin_creates_an_account_and_it_can_sign_in(at, app_ws):
    at.switch_page("pages/admin.py").run()
    at.text_input(key="new_user_name").input("lucia")
    at.text_input(key="new_user_password").input("short")
    at.button(key="FormSubmitter:create_user-Create account").click().run()
    assert any("at least 10" in e for e in texts(at, "error"))
    assert at.text_input(key="new_user_name").value == "lucia"  # nothing typed is lost
    at.text_input(key="new_user_password").input("a long enough secret")
    at.button(key="FormSubmitter:create_user-Create account").click().run()
    assert not at.exception and any("lucia" in s for s in texts(at, "success"))
    assert authenticate(engine=app_ws.engine, name="lucia", password="a long enough secret").role == "product_designer"
    assert "a long enough secret" not in str(
        at.session_state.filtered_state if hasattr(at.session_state, "filtered_state") else ""
    )


def test_audit_page_lists_and_filters(at, app_ws):
    at.switch_page("pages/audit.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert {"project.create", "dataset.version_create", "user.create"} <= set(table["action"])
    at.selectbox(key="audit_action").select_index(
        at.selectbox(key="audit_action").options.index("project.create")
    ).run()
    assert set(at.dataframe[0].value["action"]) == {"project.create"}
    assert at.get("download_button")
    with session_scope(app_ws.engine) as s:
        assert s.exec(select(AuditEvent)).first() is not None
