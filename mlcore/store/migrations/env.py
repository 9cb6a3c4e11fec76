"""Alembic environment: uses the connection handed over by ``upgrade_database``."""

from alembic import context
from sqlmodel import SQLModel

import mlcore.store.models  # noqa: F401  (registers the tables)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    from mlcore.config import load_settings
    from mlcore.store.engine import make_engine

    connection = make_engine(load_settings().database_url).connect()

context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
