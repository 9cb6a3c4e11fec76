"""Store: migrations from empty match the models; SQLite pragmas; environment settings."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from mlcore.config import load_settings
from mlcore.store.engine import make_engine, upgrade_database


def test_migrations_from_empty_match_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_database(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert {"user", "project", "dataset", "datasetversion", "artifact", "job", "alembic_version"} <= tables


def test_upgrade_is_idempotent(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade_database(engine)
    upgrade_database(engine)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from alembic_version")).scalar() == 1


def test_sqlite_pragmas(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_foreign_keys_enforced(tmp_path):
    import pytest
    from sqlalchemy.exc import IntegrityError

    engine = make_engine(f"sqlite:///{tmp_path / 'f.db'}")
    upgrade_database(engine)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text("insert into dataset (project_id, name, created_at) values (999, 'x', '2026-01-01')"))


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLCORE_HOME", str(tmp_path / "h"))
    monkeypatch.delenv("MLCORE_DATABASE_URL", raising=False)
    monkeypatch.setenv("MLCORE_MAX_UPLOAD_MB", "7")
    s = load_settings()
    assert s.home == (tmp_path / "h").resolve()
    assert s.database_url == f"sqlite:///{(tmp_path / 'h').resolve() / 'ciclo.db'}"
    assert s.limits.max_upload_bytes == 7 * 1024 * 1024
    monkeypatch.setenv("MLCORE_DATABASE_URL", "postgresql://u:p@db/ciclo")
    assert load_settings().database_url == "postgresql://u:p@db/ciclo"


def test_default_home_is_git_ignored_workspace(monkeypatch):
    from pathlib import Path

    monkeypatch.delenv("MLCORE_HOME", raising=False)
    home = load_settings().home
    assert home.parts[-2:] == ("data", "workspace")
    gitignore = (Path(__file__).resolve().parents[2] / ".gitignore").read_text()
    assert "data/workspace/" in gitignore
