"""Metadata store: SQLModel tables, engine construction and Alembic migrations."""

from mlcore.store.engine import make_engine, session_scope, upgrade_database

__all__ = ["make_engine", "session_scope", "upgrade_database"]
