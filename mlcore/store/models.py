"""All SQLModel tables of Ciclo, in one module (schema changes go through Alembic)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    """Timezone-aware UTC timestamp (SQLModel's ``UTCDateTime`` refuses naive ones)."""
    return datetime.now(UTC)


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    display_name: str = Field(default="", max_length=200)
    language: str = Field(default="en", max_length=8)
    # The job this person does (see mlcore.auth.ROLES); per-project roles are in Membership.
    role: str = Field(default="viewer", max_length=40)
    # argon2 hash; empty means the account cannot sign in with a password (e.g. SSO only).
    password_hash: str = Field(default="", max_length=300)
    email: str = Field(default="", max_length=300, index=True)
    disabled: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)


class LoginThrottle(SQLModel, table=True):
    """Failed sign-ins per typed name (known or not, so lock-outs reveal no account)."""

    name: str = Field(primary_key=True, max_length=100)
    failures: int = Field(default=0)
    locked_until: datetime | None = Field(default=None)


class Membership(SQLModel, table=True):
    """A user's role in one project."""

    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    role: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow)


class AuditEvent(SQLModel, table=True):
    """One write: who, when, where, what, before/after, and why."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    actor_id: int | None = Field(default=None, foreign_key="user.id", index=True)
    actor_name: str = Field(default="", max_length=100)
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    object_type: str = Field(max_length=40)
    object_id: str = Field(default="", max_length=100)
    action: str = Field(max_length=60, index=True)
    before: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(default="", max_length=5000)


class ProjectBase(SQLModel):
    # Lengths are checked by mlcore.projects with translated messages, not by pydantic.
    name: str
    description: str = ""
    task_type: str = "classification"


class Project(ProjectBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=100)
    description: str = Field(default="", max_length=5000)
    task_type: str = Field(default="classification", max_length=20)
    owner_id: int = Field(foreign_key="user.id")
    archived: bool = Field(default=False)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Artifact(SQLModel, table=True):
    """A file in the content-addressed store that Ciclo itself wrote."""

    sha256: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=20)
    size: int
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class Dataset(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow)


class DatasetVersion(SQLModel, table=True):
    """An immutable version of a dataset; ``parent_id`` + ``operation`` + ``recipe`` are its lineage."""

    __table_args__ = (UniqueConstraint("dataset_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    number: int
    parent_id: int | None = Field(default=None, foreign_key="datasetversion.id")
    operation: str = Field(max_length=40)
    recipe: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    artifact_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    n_rows: int
    n_cols: int
    columns: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    target: str | None = Field(default=None, max_length=300)
    source: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class Job(SQLModel, table=True):
    """Long work executed in its own process (``python -m mlcore jobs run ID``)."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=40, index=True)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="queued", max_length=20, index=True)
    progress: float = Field(default=0.0)
    message_key: str = Field(default="", max_length=200)
    message_params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_key: str = Field(default="", max_length=200)
    error_params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_ref: str = Field(default="", max_length=40)
    cancel_requested: bool = Field(default=False)
    pid: int | None = Field(default=None)
    project_id: int | None = Field(default=None, foreign_key="project.id", index=True)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    started_at: datetime | None = Field(default=None)
    heartbeat_at: datetime | None = Field(default=None)
    finished_at: datetime | None = Field(default=None)
    # What the job used (see mlcore.monitoring.resources); filled when it ends, whatever its status.
    wall_s: float | None = Field(default=None)
    cpu_s: float | None = Field(default=None)
    peak_memory_mb: float | None = Field(default=None)
    rows_processed: int | None = Field(default=None)
    rows_per_s: float | None = Field(default=None)


class PlanningCanvas(SQLModel, table=True):
    """A project's objectives canvas (the success criteria later stages read)."""

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)
    updated_by_id: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class ChecklistAnswer(SQLModel, table=True):
    """One feasibility-checklist answer, saved per item so people can fill the list at the same time."""

    __table_args__ = (UniqueConstraint("project_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    item_id: str = Field(max_length=80)
    answer: str = Field(default="unknown", max_length=20)
    evidence: str = Field(default="", max_length=5000)
    evidence_link: str = Field(default="", max_length=500)
    owner_role: str = Field(default="", max_length=40)
    due_date: date | None = Field(default=None)
    version: int = Field(default=1)
    updated_by_id: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class CustomChecklistItem(SQLModel, table=True):
    """A checklist item a project added for itself."""

    __table_args__ = (UniqueConstraint("project_id", "item_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    item_id: str = Field(max_length=80)
    dimension: str = Field(max_length=40)
    question: str = Field(max_length=1000)
    help: str = Field(default="", max_length=5000)
    owner_role: str = Field(default="", max_length=40)
    blocking: bool = Field(default=False)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class GateDecision(SQLModel, table=True):
    """A go / no-go / go-with-conditions decision; the newest one is the gate's status."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    decision: str = Field(max_length=30)
    rationale: str = Field(max_length=10000)
    conditions: str = Field(default="", max_length=10000)
    canvas: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    decided_by_id: int = Field(foreign_key="user.id")
    decided_at: datetime = Field(default_factory=utcnow)


class ProjectSettings(SQLModel, table=True):
    """Per-project settings (quality-check thresholds, …)."""

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    quality: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)


class QualityRun(SQLModel, table=True):
    """Quality-check results for one dataset version (the report itself is a JSON artifact)."""

    id: int | None = Field(default=None, primary_key=True)
    dataset_version_id: int = Field(foreign_key="datasetversion.id", index=True)
    report_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    thresholds: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    n_pass: int = 0
    n_warn: int = 0
    n_fail: int = 0
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class FindingAck(SQLModel, table=True):
    """A finding acknowledged with a note (also an audit event)."""

    __table_args__ = (UniqueConstraint("dataset_version_id", "finding_key"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_version_id: int = Field(foreign_key="datasetversion.id", index=True)
    finding_key: str = Field(max_length=300)
    note: str = Field(default="", max_length=5000)
    acknowledged_by_id: int = Field(foreign_key="user.id")
    acknowledged_at: datetime = Field(default_factory=utcnow)


class ProfileReport(SQLModel, table=True):
    """A ydata-profiling HTML report cached by the profiled data's SHA-256 and its settings."""

    __table_args__ = (UniqueConstraint("dataset_sha256", "mode"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_sha256: str = Field(max_length=64, index=True)
    mode: str = Field(max_length=60)  # "minimal", "explorative", or "compare:<other sha>"
    html_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    sampled: bool = False
    n_rows_profiled: int = 0
    created_at: datetime = Field(default_factory=utcnow)


class LabelIssueRun(SQLModel, table=True):
    """One run of label-issue detection on a dataset version.

    The ranked table (one row per labelled row, with out-of-fold probabilities) and the annotation
    order of unlabelled rows are Parquet artifacts; rows are identified by position in the version.
    """

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    dataset_version_id: int = Field(foreign_key="datasetversion.id", index=True)
    target: str = Field(max_length=300)
    features: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    excluded: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    cv: int = 5
    n_rows: int = 0  # labelled rows reviewed
    n_unlabeled: int = 0
    n_issues: int = 0
    # classes, noise_rate, thresholds, confident_joint (lists aligned with classes)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    ranked_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    annotation_sha256: str | None = Field(default=None, foreign_key="artifact.sha256", max_length=64)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class LabelDecisionRow(SQLModel, table=True):
    """One reviewer's decision about one row of a run (each reviewer keeps their own row)."""

    __table_args__ = (UniqueConstraint("run_id", "row", "reviewer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="labelissuerun.id", index=True)
    row: int  # position in the reviewed dataset version
    reviewer_id: int = Field(foreign_key="user.id", index=True)
    action: str = Field(max_length=20)
    new_label: str | None = Field(default=None, max_length=300)
    comment: str = Field(default="", max_length=1000)
    version: int = Field(default=1)
    decided_at: datetime = Field(default_factory=utcnow)


# Tables of the later stages live in one module per stage (one migration each); importing them
# here registers them wherever the store is used.
from mlcore.store import (  # noqa: E402, F401
    models_deployment,
    models_evaluation,
    models_interpretation,
    models_modeling,
    models_monitoring,
    models_preparation,
)
