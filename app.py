"""Ciclo's router: page config, sidebar (project, language) and navigation grouped by stage."""

from __future__ import annotations

import streamlit as st

from mlcore.errors import MLCoreError
from mlcore.i18n import LANGUAGES
from mlcore.store.engine import session_scope
from mlcore.users import set_language
from ui.i18n import lang, t
from ui.state import current_project, current_user, projects, select_project, workspace
from ui.widgets import show_error, show_unexpected

st.set_page_config(page_title="Ciclo", page_icon=":material/autorenew:", layout="wide")


def _sidebar() -> None:
    user = current_user()
    with st.sidebar:
        choice = st.selectbox(
            t("sidebar.language"),
            options=list(LANGUAGES),
            format_func=LANGUAGES.__getitem__,
            index=list(LANGUAGES).index(lang()),
            key="lang_picker",
        )
        if choice != lang():
            st.session_state["lang"] = choice
            with session_scope(workspace().engine) as s:
                set_language(session=s, user_id=user.id or 0, language=choice)
            st.rerun()
        active = projects()
        project = current_project()
        if active and project is not None:
            ids = [p.id for p in active]
            picked = st.selectbox(
                t("sidebar.project"),
                options=ids,
                index=ids.index(project.id),
                format_func=lambda i: next(p.name for p in active if p.id == i),
                key="project_picker",
            )
            if picked != project.id:
                select_project(picked)
                st.rerun()
        else:
            st.info(t("sidebar.no_project"))
        st.caption(t("sidebar.user", name=user.display_name or user.name))


_sidebar()
pages = {
    t("nav.stage0"): [
        st.Page("pages/projects.py", title=t("projects.title"), icon=":material/folder:", url_path="projects",
                default=True),
    ],
    t("nav.stage2"): [
        st.Page("pages/data_import.py", title=t("import.title"), icon=":material/upload_file:",
                url_path="import"),
        st.Page("pages/data_versions.py", title=t("versions.title"), icon=":material/history:",
                url_path="versions"),
    ],
}
page = st.navigation(pages)
try:
    page.run()
except MLCoreError as exc:
    show_error(exc)
except Exception as exc:  # the app keeps running; the user gets a reference id, the log the traceback
    show_unexpected(exc)
