"""Cached workspace, the signed-in user and the current project, kept across pages."""

from __future__ import annotations

import streamlit as st

from mlcore.auth import can
from mlcore.projects import ProjectSummary, list_projects
from mlcore.store.engine import session_scope
from mlcore.store.models import User
from mlcore.workspace import Workspace, open_workspace

PROJECT_KEY = "project_id"


@st.cache_resource(show_spinner=False)
def workspace() -> Workspace:
    """One engine per server process; migrations and job clean-up run once at start-up."""
    return open_workspace()


def current_user() -> User:
    """The signed-in user (the router shows the sign-in page to everyone else)."""
    from ui.auth import signed_in_user

    user = signed_in_user()
    if user is None:
        st.stop()
    assert user is not None
    return user


def projects(include_archived: bool = False) -> list[ProjectSummary]:
    """The projects the signed-in user may see."""
    with session_scope(workspace().engine) as s:
        return list_projects(session=s, include_archived=include_archived, for_user=current_user())


def current_project() -> ProjectSummary | None:
    """The project chosen in the sidebar, or the first one the user may see."""
    active = projects()
    chosen = st.session_state.get(PROJECT_KEY)
    for p in active:
        if p.id == chosen:
            return p
    if active:
        st.session_state[PROJECT_KEY] = active[0].id
        return active[0]
    return None


def select_project(project_id: int) -> None:
    st.session_state[PROJECT_KEY] = project_id


def allowed(action: str, project_id: int | None = None) -> bool:
    """Whether the signed-in user may perform ``action`` (pages hide controls when not)."""
    with session_scope(workspace().engine) as s:
        return can(session=s, user=current_user(), action=action, project_id=project_id)
