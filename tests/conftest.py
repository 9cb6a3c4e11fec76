"""Shared fixtures: a fresh workspace (SQLite file + artifact folder) per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlcore.auth import create_user
from mlcore.config import Limits, Settings
from mlcore.projects import ProjectCreate, create_project
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
        user = create_user(session=s, actor=None, name="ana", role="admin", password="correct horse 1")
        project = create_project(session=s, data=ProjectCreate(name="Churn", task_type="classification"), actor=user)
        return user.id or 0, project.id or 0


_FAST_HASHER = None


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    """Argon2 at its cheapest in tests: the same code path, without 60 ms per hash."""
    global _FAST_HASHER
    from argon2 import PasswordHasher

    from mlcore import auth

    _FAST_HASHER = _FAST_HASHER or PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(auth, "_hasher", _FAST_HASHER)
