"""Opening a workspace: engine, migrations, artifact store, and clean-up of jobs that died."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from mlcore.artifacts import ArtifactStore
from mlcore.config import Settings, load_settings
from mlcore.jobs import reap_stale_jobs
from mlcore.store.engine import make_engine, session_scope, upgrade_database


@dataclass(frozen=True)
class Workspace:
    settings: Settings
    engine: Engine
    store: ArtifactStore


def open_workspace(settings: Settings | None = None, *, migrate: bool = True) -> Workspace:
    """Connect to the database (migrating it to the newest schema) and mark dead jobs failed."""
    settings = settings or load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade_database(engine)
        with session_scope(engine) as s:
            reap_stale_jobs(session=s)
    return Workspace(settings=settings, engine=engine, store=ArtifactStore(settings.artifacts_dir))
