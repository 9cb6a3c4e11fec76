"""Bringing data into a project: staging uploads, saving tables as versions, and the import jobs."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from mlcore.artifacts import ArtifactStore
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data import ingest
from mlcore.data.versions import VersionSummary, create_version, get_version
from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.jobs import JobContext, job_kind
from mlcore.naming import check_name
from mlcore.store.engine import session_scope
from mlcore.store.models import User

Progress = Callable[[float, str], None]
_CHUNK = 4 * 1024 * 1024
_SAVE_ATTEMPTS = 8


def _no_progress(fraction: float, key: str) -> None:
    return None


@dataclass(frozen=True)
class ImportTarget:
    """Where an import goes and how its columns are to be read."""

    project_id: int
    dataset_name: str
    target: str | None = None
    roles: Mapping[str, str] | None = None
    drop: Sequence[str] = ()

    def validated(self) -> ImportTarget:
        return ImportTarget(
            project_id=self.project_id,
            dataset_name=check_name(self.dataset_name, what="dataset"),
            target=self.target or None,
            roles=dict(self.roles or {}),
            drop=tuple(self.drop),
        )

    def to_params(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "dataset_name": self.dataset_name,
            "target": self.target,
            "roles": dict(self.roles or {}),
            "drop": list(self.drop),
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ImportTarget:
        return cls(
            project_id=int(params["project_id"]),
            dataset_name=str(params["dataset_name"]),
            target=params.get("target"),
            roles=dict(params.get("roles") or {}),
            drop=tuple(params.get("drop") or ()),
        )


def stage_upload(*, settings: Settings, stream: IO[bytes], filename: str) -> Path:
    """Copy an uploaded file into the staging folder (atomically), refusing it if too large.

    Returns the staged path; the import job deletes it when done.

    Raises
    ------
    InputError
        If the file exceeds the configured upload limit (nothing is kept).
    """
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    suffix = Path(filename).suffix.lower()[:10]
    if not suffix.replace(".", "").isalnum():
        suffix = ""
    fd, tmp_name = tempfile.mkstemp(dir=settings.staging_dir, prefix="up-", suffix=".part")
    limit = settings.limits.max_upload_bytes
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                written += len(chunk)
                if written > limit:
                    raise InputError("errors.upload_too_large", limit_mb=limit // (1024 * 1024))
                out.write(chunk)
        final = Path(tmp_name[: -len(".part")] + suffix)
        os.replace(tmp_name, final)
        return final
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def save_table(
    *,
    engine: Engine,
    store: ArtifactStore,
    loaded: ingest.LoadedTable,
    where: ImportTarget,
    actor_id: int,
    operation: str,
    recipe: dict[str, Any] | None = None,
    parent_id: int | None = None,
    progress: Progress = _no_progress,
) -> VersionSummary:
    """Write ``loaded`` as Parquet into the artifact store and record it as a new version.

    The artifact is written first (atomically); the database row is written in
    one transaction, retried when a concurrent import took the same number.
    """
    where = where.validated()
    table: pa.Table = loaded.table
    progress(0.7, "imports.writing")
    ref = store.put_table(table)
    progress(0.9, "imports.recording")
    last_error: Exception | None = None
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                actor = session.get(User, actor_id)
                if actor is None:
                    raise NotFound("errors.user_not_found", name=str(actor_id))
                version = create_version(
                    session=session,
                    project_id=where.project_id,
                    dataset_name=where.dataset_name,
                    ref=ref,
                    table_schema=table.schema,
                    n_rows=table.num_rows,
                    roles=dict(loaded.roles),
                    target=where.target,
                    operation=operation,
                    actor=actor,
                    recipe=recipe,
                    source={
                        "format": loaded.source.format,
                        "encoding": loaded.source.encoding,
                        "delimiter": loaded.source.delimiter,
                    },
                    parent_id=parent_id,
                )
                version_id = version.id or 0
            with session_scope(engine) as session:
                return get_version(session=session, version_id=version_id)
        except (IntegrityError, OperationalError) as exc:  # lost a race for the number; try again
            last_error = exc
            time.sleep(0.05 * (attempt + 1))
    raise ConflictError("errors.import_conflict", detail=type(last_error).__name__)


def import_file(
    *,
    engine: Engine,
    settings: Settings,
    path: Path,
    filename: str,
    where: ImportTarget,
    actor_id: int,
    progress: Progress = _no_progress,
    operation: str | None = None,
    recipe: Mapping[str, Any] | None = None,
) -> VersionSummary:
    """Read, validate and save a CSV/Parquet/Excel file as a new dataset version.

    ``operation`` and ``recipe`` describe where the data came from when the file
    is only a staged copy (a SQL result is staged as Parquet).
    """
    where = where.validated()
    progress(0.05, "imports.reading")
    loaded = ingest.load_file(path, filename=filename, limits=settings.limits, roles=where.roles, drop=where.drop)
    return save_table(
        engine=engine,
        store=ArtifactStore(settings.artifacts_dir),
        loaded=loaded,
        where=where,
        actor_id=actor_id,
        operation=operation or f"import_{loaded.source.format}",
        recipe={
            "filename": Path(filename).name[:200],
            "roles": dict(loaded.roles),
            "drop": list(where.drop),
            **dict(recipe or {}),
        },
        progress=progress,
    )


def stage_table(*, settings: Settings, loaded: ingest.LoadedTable) -> Path:
    """Keep an already-read table (e.g. a SQL result) as a staged Parquet file for an import job."""
    import pyarrow.parquet as pq

    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=settings.staging_dir, prefix="sql-", suffix=".part")
    os.close(fd)
    try:
        pq.write_table(loaded.table, tmp_name)
        final = Path(tmp_name[: -len(".part")] + ".parquet")
        os.replace(tmp_name, final)
        return final
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _staged(settings: Settings, raw: str) -> Path:
    # Only files inside the staging folder may be imported by a job: the path comes from the DB.
    path = Path(raw).resolve()
    if settings.staging_dir.resolve() not in path.parents or not path.is_file():
        raise InputError("errors.staged_file_missing")
    return path


@job_kind("import_file")
def import_file_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: import a staged upload; the staged file is removed whatever happens."""
    path = _staged(ctx.settings, params["staged_path"])
    try:
        version = import_file(
            engine=ctx.engine,
            settings=ctx.settings,
            path=path,
            filename=str(params.get("filename", path.name)),
            where=ImportTarget.from_params(params),
            actor_id=int(params["actor_id"]),
            progress=lambda f, key: ctx.progress(f, key),
            operation=params.get("operation"),
            recipe=params.get("recipe"),
        )
    finally:
        path.unlink(missing_ok=True)
    return {"version_id": version.id, "label": version.label, "sha256": version.sha256, "n_rows": version.n_rows}


@job_kind("import_synthetic")
def import_synthetic_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: generate the synthetic churn dataset and save it as a version."""
    from mlcore.data.synthetic import make_churn

    n_rows = int(params.get("n_rows", 20_000))
    seed = int(params.get("random_state", 0))
    ctx.progress(0.1, "imports.generating")
    demo = make_churn(n_rows, random_state=seed)
    where = ImportTarget.from_params(params)
    loaded = ingest.load_frame(
        demo.current,
        roles=where.roles,
        drop=where.drop,
        source=ingest.SourceInfo(format="synthetic", encoding=None, delimiter=None),
    )
    version = save_table(
        engine=ctx.engine,
        store=ArtifactStore(ctx.settings.artifacts_dir),
        loaded=loaded,
        where=where,
        actor_id=int(params["actor_id"]),
        operation="synthetic",
        recipe={"generator": "churn", "n_rows": n_rows, "random_state": seed},
        progress=lambda f, key: ctx.progress(f, key),
    )
    return {"version_id": version.id, "label": version.label, "sha256": version.sha256, "n_rows": version.n_rows}


def role_editor_frame(preview: ingest.Preview) -> pd.DataFrame:
    """One row per column for the role editor: inferred role, drop flag, and what it holds.

    A column with a problem starts with no role, so the user has to decide
    (choose a role or drop it) before saving.
    """
    flagged = {p.column for p in preview.problems if p.column is not None}
    return pd.DataFrame(
        [
            {
                "column": c.name,
                "role": None if c.name in flagged else c.role,
                "drop": False,
                "dtype": c.dtype,
                "missing": c.n_missing,
                "distinct": c.n_distinct,
                "examples": ", ".join(c.examples)[:120],
            }
            for c in preview.columns
        ],
        columns=["column", "role", "drop", "dtype", "missing", "distinct", "examples"],
    )


@dataclass(frozen=True)
class RoleChoices:
    roles: dict[str, str]
    drop: tuple[str, ...]
    unresolved: tuple[ingest.Problem, ...]


def read_role_choices(preview: ingest.Preview, edited: pd.DataFrame) -> RoleChoices:
    """Turn the edited role table into roles/drop and list the problems they leave unresolved.

    A problem on a column is resolved by dropping the column or, for the
    kinds in :data:`ingest.ROLE_RESOLVABLE` (mixed values), by choosing a role for it.
    """
    inferred = {c.name: c.role for c in preview.columns}
    roles: dict[str, str] = {}
    drop: list[str] = []
    for row in edited.to_dict("records"):
        name = str(row["column"])
        if name not in inferred:
            continue
        if bool(row.get("drop")):
            drop.append(name)
        elif row.get("role") in ingest.ROLES:
            roles[name] = str(row["role"])
    unresolved = tuple(
        p
        for p in preview.problems
        if p.column is None or (p.column not in drop and (p.key not in ingest.ROLE_RESOLVABLE or p.column not in roles))
    )
    return RoleChoices(roles=roles, drop=tuple(drop), unresolved=unresolved)


def target_candidates(preview: ingest.Preview, choices: RoleChoices) -> list[str]:
    """Columns that can be the target: kept, and not identifiers or free text."""
    return [
        c.name
        for c in preview.columns
        if c.name not in choices.drop and choices.roles.get(c.name, c.role) not in ("identifier", "text")
    ]


def mask_url(url: str) -> str:
    """The database URL without its password, safe to record and show."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def submit_import(
    *,
    engine: Engine,
    settings: Settings,
    where: ImportTarget,
    actor_id: int,
    staged_path: Path | None = None,
    filename: str | None = None,
    sql: tuple[str, str] | None = None,
    synthetic: Mapping[str, Any] | None = None,
) -> int:
    """Validate what can be validated at once, queue the import job and start its process.

    Exactly one source: a staged upload, a SQL ``(url, query)`` (run now, on a
    read-only connection, and staged as Parquet so no password is stored), or
    synthetic-generator settings. Returns the job id.

    Raises
    ------
    InputError
        If the dataset name is invalid or the SQL query is refused.
    """
    from mlcore.jobs import launch_job, submit_job

    where = where.validated()
    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="dataset.import", project_id=where.project_id)
    params: dict[str, Any] = {**where.to_params(), "actor_id": actor_id}
    if staged_path is not None:
        kind = "import_file"
        params |= {"staged_path": str(staged_path), "filename": filename or staged_path.name}
    elif sql is not None:
        url, query = sql
        loaded = ingest.load_sql(url, query, limits=settings.limits, roles=where.roles, drop=where.drop)
        path = stage_table(settings=settings, loaded=loaded)
        kind = "import_file"
        params |= {
            "staged_path": str(path),
            "filename": "query.parquet",
            "operation": "import_sql",
            "recipe": {"url": mask_url(url), "query": query[:10_000]},
        }
    elif synthetic is not None:
        kind = "import_synthetic"
        params |= {
            "n_rows": int(synthetic.get("n_rows", 20_000)),
            "random_state": int(synthetic.get("random_state", 0)),
        }
    else:
        raise InputError("errors.import_no_source")
    with session_scope(engine) as session:
        job = submit_job(session=session, kind=kind, params=params, actor_id=actor_id, project_id=where.project_id)
        job_id = job.id or 0
    launch_job(job_id, settings)
    return job_id
