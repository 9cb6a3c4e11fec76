"""Ciclo's router: page config, sidebar (project, language) and navigation grouped by stage."""

from __future__ import annotations

import streamlit as st

from mlcore.errors import MLCoreError
from mlcore.i18n import LANGUAGES
from mlcore.store.engine import session_scope
from mlcore.users import set_language
from ui.auth import sign_in_page, sign_out, signed_in_user
from ui.i18n import lang, t
from ui.router import routing
from ui.state import allowed, current_project, current_user, projects, select_project, workspace
from ui.widgets import show_error, show_unexpected

st.set_page_config(page_title="Ciclo", page_icon=":material/autorenew:", layout="wide")


def _language_changed() -> None:
    choice = st.session_state["lang_picker"]
    st.session_state["lang"] = choice
    with session_scope(workspace().engine) as s:
        set_language(session=s, user_id=current_user().id or 0, language=choice)


def _project_changed() -> None:
    select_project(st.session_state["project_picker"])


def _sidebar() -> None:
    user = current_user()
    with st.sidebar:
        if st.session_state.get("lang_picker") != lang():
            st.session_state["lang_picker"] = lang()
        st.selectbox(
            t("sidebar.language"),
            options=list(LANGUAGES),
            format_func=LANGUAGES.__getitem__,
            key="lang_picker",
            on_change=_language_changed,
        )
        active = projects()
        project = current_project()
        if active and project is not None:
            names = {p.id: p.name for p in active}
            st.session_state["project_picker"] = project.id
            st.selectbox(
                t("sidebar.project"),
                options=list(names),
                format_func=names.__getitem__,
                key="project_picker",
                on_change=_project_changed,
            )
        else:
            st.info(t("sidebar.no_project"))
        st.caption(t("sidebar.user", name=user.display_name or user.name, role=t(f"role_name.{user.role}")))
        if st.button(t("auth.sign_out"), key="sign_out", icon=":material/logout:"):
            sign_out("auth.signed_out")
            st.rerun()


signed_in = signed_in_user() is not None
pages = {
    t("nav.stage0"): [
        st.Page("pages/projects.py", title=t("projects.title"), icon=":material/folder:", default=True),
    ],
    t("nav.stage1"): [st.Page("pages/planning.py", title=t("planning.page.title"), icon=":material/flag:")],
    t("nav.stage2"): [
        st.Page("pages/data_import.py", title=t("import.title"), icon=":material/upload_file:"),
        st.Page("pages/data_versions.py", title=t("versions.title"), icon=":material/history:"),
        st.Page("pages/data_understanding.py", title=t("understanding.title"), icon=":material/query_stats:"),
    ],
    t("nav.stage3"): [st.Page("pages/labels.py", title=t("labels.title"), icon=":material/label:")],
    t("nav.stage4"): [
        st.Page("pages/preparation.py", title=t("recipes.title"), icon=":material/tune:"),
    ],
    t("nav.stage5"): [
        st.Page("pages/training.py", title=t("training.title"), icon=":material/model_training:"),
        st.Page("pages/experiments.py", title=t("experiments.title"), icon=":material/science:"),
        st.Page("pages/registry.py", title=t("registry.title"), icon=":material/inventory_2:"),
    ],
    t("nav.stage6"): [
        st.Page("pages/evaluation.py", title=t("evalpage.compare.title"), icon=":material/leaderboard:"),
        st.Page("pages/evaluation_tests.py", title=t("evalpage.tests.title"), icon=":material/fact_check:"),
    ],
    t("nav.stage7"): [
        st.Page("pages/interpretation.py", title=t("interpret.title"), icon=":material/psychology:"),
    ],
    t("nav.stage8"): [
        st.Page("pages/deployment.py", title=t("deploypage.title"), icon=":material/rocket_launch:"),
        st.Page("pages/predictions.py", title=t("predpage.title"), icon=":material/monitoring:"),
    ],
    t("nav.stage9"): [
        st.Page("pages/monitoring.py", title=t("monitor.drift.title"), icon=":material/monitor_heart:"),
        st.Page("pages/monitoring_performance.py", title=t("monitor.labels.title"), icon=":material/fact_check:"),
        st.Page("pages/monitoring_alerts.py", title=t("monitor.alerts.title"), icon=":material/notifications:"),
        st.Page("pages/monitoring_retraining.py", title=t("monitor.retrain.title"), icon=":material/autorenew:"),
    ],
}
pages = {group: entries for group, entries in pages.items() if entries}
admin_pages = []
if not signed_in or allowed("audit.read"):
    admin_pages.append(st.Page("pages/audit.py", title=t("audit.title"), icon=":material/policy:"))
if not signed_in or allowed("users.manage"):
    admin_pages.append(st.Page("pages/admin.py", title=t("admin.title"), icon=":material/manage_accounts:"))
if admin_pages:
    pages[t("nav.admin")] = admin_pages
if not signed_in:
    # Keep every page registered (hidden) so a deep link survives the sign-in and lands where it pointed.
    st.navigation(pages, position="hidden")
    sign_in_page()
    st.stop()
page = st.navigation(pages, expanded=True)  # every stage visible, no "View more"
_sidebar()
with routing():
    try:
        page.run()
    except MLCoreError as exc:
        show_error(exc)
    except Exception as exc:  # the app keeps running; the user gets a reference id, the log the traceback
        show_unexpected(exc)
