"""Immutable dataset versions: create, list, read, export, and their lineage graph."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from sqlmodel import Session, col, func, select

from mlcore.artifacts import ArtifactRef, ArtifactStore, register_artifact
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.errors import InputError, NotFound
from mlcore.naming import check_name
from mlcore.store.models import Dataset, DatasetVersion, Project, User

# Spreadsheets run a cell starting with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class VersionSummary:
    """What a user sees of one dataset version."""

    id: int
    dataset: str
    number: int
    n_rows: int
    n_cols: int
    sha256: str
    created_by: str
    created_at: datetime
    parent_id: int | None
    operation: str
    recipe: dict[str, Any]
    target: str | None
    columns: list[dict[str, Any]]
    source: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.dataset} v{self.number}"


def create_version(
    *,
    session: Session,
    project_id: int,
    dataset_name: str,
    ref: ArtifactRef,
    table_schema: pa.Schema,
    n_rows: int,
    roles: dict[str, str],
    target: str | None,
    operation: str,
    actor: User,
    recipe: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
    parent_id: int | None = None,
    action: str = "dataset.import",
) -> DatasetVersion:
    """Record a new version of ``dataset_name`` whose data is the stored Parquet ``ref``.

    The version number is the next free one for the dataset; two writers racing
    for the same number make one of them fail on the unique constraint, and the
    caller retries (see :func:`mlcore.data.imports.save_table`).

    Raises
    ------
    InputError
        If the dataset name is invalid or the target is not a column.
    NotFound
        If the project or parent version does not exist.
    PermissionDenied
        If ``actor``'s role in the project may not perform ``action``.
    """
    require(session=session, user=actor, action=action, project_id=project_id)
    name = check_name(dataset_name, what="dataset")
    project = session.get(Project, project_id)
    if project is None or project.archived:
        raise NotFound("errors.project_not_found", name=str(project_id))
    names = list(table_schema.names)
    if target is not None and target not in names:
        raise InputError("errors.target_not_a_column", target=target[:100])
    if parent_id is not None and session.get(DatasetVersion, parent_id) is None:
        raise NotFound("errors.version_not_found", version_id=parent_id)
    dataset = session.exec(select(Dataset).where(Dataset.project_id == project_id, Dataset.name == name)).first()
    if dataset is None:
        dataset = Dataset(project_id=project_id, name=name)
        session.add(dataset)
        session.flush()
    last = session.exec(select(func.max(DatasetVersion.number)).where(DatasetVersion.dataset_id == dataset.id)).one()
    register_artifact(session=session, ref=ref, kind="parquet", actor_id=actor.id)
    columns = [{"name": f.name, "dtype": str(f.type), "role": roles.get(f.name, "")} for f in table_schema]
    version = DatasetVersion(
        dataset_id=dataset.id or 0,
        number=(last or 0) + 1,
        parent_id=parent_id,
        operation=operation,
        recipe=recipe or {},
        artifact_sha256=ref.sha256,
        n_rows=n_rows,
        n_cols=len(names),
        columns=columns,
        target=target,
        source=source or {},
        created_by_id=actor.id or 0,
    )
    session.add(version)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="dataset.version_create",
        object_type="dataset_version",
        object_id=version.id or 0,
        project_id=project_id,
        after={
            "dataset": name,
            "number": version.number,
            "rows": n_rows,
            "sha256": ref.sha256,
            "operation": operation,
            "parent_id": parent_id,
        },
    )
    return version


def _summaries(session: Session, *conditions: Any) -> list[VersionSummary]:
    stmt = (
        select(DatasetVersion, Dataset, User)
        .join(Dataset, col(Dataset.id) == col(DatasetVersion.dataset_id))
        .join(User, col(User.id) == col(DatasetVersion.created_by_id))
        .where(*conditions)
        .order_by(col(Dataset.name), col(DatasetVersion.number))
    )
    return [
        VersionSummary(
            id=v.id or 0,
            dataset=d.name,
            number=v.number,
            n_rows=v.n_rows,
            n_cols=v.n_cols,
            sha256=v.artifact_sha256,
            created_by=u.display_name or u.name,
            created_at=v.created_at,
            parent_id=v.parent_id,
            operation=v.operation,
            recipe=dict(v.recipe),
            target=v.target,
            columns=list(v.columns),
            source=dict(v.source),
        )
        for v, d, u in session.exec(stmt).all()
    ]


def version_in_project(session: Session, project_id: int, version_id: int) -> VersionSummary:
    """The version, refusing one that belongs to another project (``errors.version_not_found``):
    roles and permissions are per project, so a version id from elsewhere must not leak through."""
    owner = session.exec(
        select(Dataset.project_id)
        .join(DatasetVersion, col(DatasetVersion.dataset_id) == col(Dataset.id))
        .where(DatasetVersion.id == version_id)
    ).first()
    if owner is None or owner != project_id:
        raise NotFound("errors.version_not_found", version_id=version_id)
    return get_version(session=session, version_id=version_id)


def list_versions(*, session: Session, project_id: int) -> list[VersionSummary]:
    """Every version of every dataset of a project, by dataset name then number."""
    return _summaries(session, Dataset.project_id == project_id)


def get_version(*, session: Session, version_id: int) -> VersionSummary:
    found = _summaries(session, DatasetVersion.id == version_id)
    if not found:
        raise NotFound("errors.version_not_found", version_id=version_id)
    return found[0]


def read_version(*, store: ArtifactStore, version: VersionSummary) -> pa.Table:
    """The version's data, after re-checking its SHA-256."""
    return store.read_table(version.sha256)


def neutralise_formulas(table: pa.Table) -> pa.Table:
    """Prefix text cells that a spreadsheet would run as a formula with a quote.

    Examples
    --------
    >>> t = pa.table({"a": ["=1+1", "ok", "@x", None]})
    >>> neutralise_formulas(t).column("a").to_pylist()
    ["'=1+1", 'ok', "'@x", None]
    """
    pattern = "^[" + "".join("\\" + p if p in "-+" else p for p in FORMULA_PREFIXES) + "]"
    cols = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            risky = pc.match_substring_regex(column, pattern)
            column = pc.if_else(risky, pc.binary_join_element_wise("'", column, ""), column)
        cols.append(column)
    return pa.Table.from_arrays(cols, names=table.column_names)


def export_csv(table: pa.Table) -> bytes:
    """UTF-8 CSV (with BOM so spreadsheets detect the encoding), formula-safe."""
    buf = io.BytesIO()
    buf.write(b"\xef\xbb\xbf")
    pacsv.write_csv(neutralise_formulas(table), buf)
    return buf.getvalue()


def export_parquet(*, store: ArtifactStore, version: VersionSummary) -> bytes:
    """The stored Parquet file itself (hash re-checked)."""
    return store.read_bytes(version.sha256)


def versions_frame(versions: list[VersionSummary], *, operation_labels: dict[str, str] | None = None) -> pd.DataFrame:
    """Versions as a table for display, newest first; operations shown through ``operation_labels``."""
    labels = operation_labels or {}
    by_id = {v.id: v.label for v in versions}
    cols = ["id", "version", "rows", "columns", "target", "parent", "operation", "sha256", "created_by", "created_at"]
    return pd.DataFrame(
        [
            {
                "id": v.id,
                "version": v.label,
                "rows": v.n_rows,
                "columns": v.n_cols,
                "target": v.target or "",
                "parent": by_id.get(v.parent_id, "") if v.parent_id else "",
                "operation": labels.get(v.operation, v.operation),
                "sha256": v.sha256,
                "created_by": v.created_by,
                "created_at": v.created_at,
            }
            for v in sorted(versions, key=lambda v: v.created_at, reverse=True)
        ],
        columns=cols,
    )


def columns_frame(version: VersionSummary) -> pd.DataFrame:
    """The version's columns with their type and role."""
    return pd.DataFrame(version.columns, columns=["name", "dtype", "role"])
