"""Settings read from the environment: workspace folder, database URL and input limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

_REPO_ROOT = Path(__file__).resolve().parent.parent


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw.isdigit() else default


@dataclass(frozen=True)
class Limits:
    """Input limits; every reader checks them before it reads a file whole."""

    max_upload_bytes: int = 500 * 1024 * 1024
    max_cells: int = 200_000_000
    max_excel_cells: int = 20_000_000
    max_columns: int = 5_000
    max_sql_rows: int = 5_000_000


@dataclass(frozen=True)
class Settings:
    """Where Ciclo keeps its files and metadata."""

    home: Path
    database_url: str
    limits: Limits = field(default_factory=Limits)
    session_idle_minutes: int = 30

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def staging_dir(self) -> Path:
        return self.home / "staging"


def load_settings() -> Settings:
    """Build settings from ``MLCORE_HOME``, ``MLCORE_DATABASE_URL``, ``MLCORE_MAX_UPLOAD_MB``
    and ``MLCORE_SESSION_IDLE_MINUTES``."""
    home = Path(os.environ.get("MLCORE_HOME") or _REPO_ROOT / "data" / "workspace").resolve()
    url = os.environ.get("MLCORE_DATABASE_URL") or f"sqlite:///{home / 'ciclo.db'}"
    limits = Limits(max_upload_bytes=_int_env("MLCORE_MAX_UPLOAD_MB", 500) * 1024 * 1024)
    idle = _int_env("MLCORE_SESSION_IDLE_MINUTES", 30) or 30
    return Settings(home=home, database_url=url, limits=limits, session_idle_minutes=idle)
