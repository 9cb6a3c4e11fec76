"""Shared fixtures: a fresh workspace (SQLite file + artifact folder) per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.config import Limits, Settings
from mlcore.projects import ProjectCreate, create_project, get_or_create_user
from mlcore.store.engine import session_scope
from mlcore.workspace import Workspace, open_workspace


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    home = tmp_path / "home"
    return Settings(home=home, database_url=f"sqlite:///{home / 'ciclo.db'}", limits=Limits())


@pytest.fixture
def ws(settings: Settings) -> Workspace:
    return open_workspace(settings)


@pytest.fixture
def actor_and_project(ws: Workspace) -> tuple[int, int]:
    with session_scope(ws.engine) as s:
        user = get_or_create_user(session=s, name="ana")
        project = create_project(session=s, data=ProjectCreate(name="Churn", task_type="classification"), actor=user)
        return user.id or 0, project.id or 0
