"""AppTest fixtures: a fresh workspace with the demo project (small) for each test."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from mlcore.config import load_settings
from mlcore.demo import seed_demo
from mlcore.jobs import ACTIVE, list_jobs
from mlcore.store.engine import session_scope
from mlcore.workspace import Workspace, open_workspace

ROOT = Path(__file__).resolve().parents[2]
DEMO_ROWS = 600


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A workspace with the demo project, built once and copied for each test."""
    home = tmp_path_factory.mktemp("demo-home")
    import os

    old = os.environ.get("MLCORE_HOME"), os.environ.get("MLCORE_DATABASE_URL")
    os.environ["MLCORE_HOME"] = str(home)
    os.environ.pop("MLCORE_DATABASE_URL", None)
    try:
        ws = open_workspace(load_settings())
        seed_demo(engine=ws.engine, settings=ws.settings, n_rows=DEMO_ROWS)
        ws.engine.dispose()
    finally:
        for key, value in zip(("MLCORE_HOME", "MLCORE_DATABASE_URL"), old, strict=True):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return home


@pytest.fixture
def app_ws(tmp_path, monkeypatch, demo_template) -> Workspace:
    import shutil

    home = tmp_path / "home"
    shutil.copytree(demo_template, home)
    monkeypatch.setenv("MLCORE_HOME", str(home))
    monkeypatch.delenv("MLCORE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MLCORE_USER", "tester")
    st.cache_resource.clear()
    st.cache_data.clear()
    ws = open_workspace(load_settings())
    yield ws
    wait_for_jobs(ws)
    st.cache_resource.clear()
    ws.engine.dispose()


def user_id(ws: Workspace, name: str) -> int:
    from mlcore.auth import get_user

    with session_scope(ws.engine) as s:
        return get_user(session=s, name=name).id


def signed_in_app(ws: Workspace, name: str) -> AppTest:
    """An AppTest whose session is signed in as ``name`` (the sign-in form has its own tests)."""
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    app.session_state["user_id"] = user_id(ws, name)
    app.session_state["last_seen"] = time.time()
    return app.run()


@pytest.fixture
def at(app_ws) -> AppTest:
    return signed_in_app(app_ws, "demo-admin")


def wait_for_jobs(ws: Workspace, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        with session_scope(ws.engine) as s:
            if not any(j.status in ACTIVE for j in list_jobs(session=s)):
                return
        time.sleep(0.2)
    raise AssertionError("jobs did not finish")


def texts(at: AppTest, kind: str) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]
