"""Cached workspace, the current user and project, kept across pages."""

from __future__ import annotations

import os

import streamlit as st
from sqlmodel import Session

from mlcore.i18n import LANGUAGES
from mlcore.projects import ProjectSummary, get_or_create_user, list_projects
from mlcore.store.engine import session_scope
from mlcore.store.models import User
from mlcore.workspace import Workspace, open_workspace

PROJECT_KEY = "project_id"


@st.cache_resource(show_spinner=False)
def workspace() -> Workspace:
    """One engine per server process; migrations and job clean-up run once at start-up."""
    return open_workspace()


def session() -> Session:
    return Session(workspace().engine, expire_on_commit=False)


def current_user() -> User:
    """The acting user (until sign-in exists: ``$MLCORE_USER`` or ``local``)."""
    if "user" not in st.session_state:
        with session_scope(workspace().engine) as s:
            user = get_or_create_user(session=s, name=os.environ.get("MLCORE_USER", "local"), display_name="")
            st.session_state["user"] = user
            if "lang" not in st.session_state and user.language in LANGUAGES:
                st.session_state["lang"] = user.language
    user: User = st.session_state["user"]
    return user


def projects(include_archived: bool = False) -> list[ProjectSummary]:
    with session_scope(workspace().engine) as s:
        return list_projects(session=s, include_archived=include_archived)


def current_project() -> ProjectSummary | None:
    """The project chosen in the sidebar, or the first active one."""
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
