"""Tables of stage monitoring: Monitoring: drift reports, delayed labels, alerts (issue 12).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0010_monitoring.py``.

Prediction and batch ids are plain integers here (no foreign keys): scored batches are deleted
when a re-run replaces them, and what monitoring recorded about them must not block that.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from mlcore.store.models import utcnow


class DriftReferenceCache(SQLModel, table=True):
    """The training reference of one model (by its model file's SHA-256), built once and reused.

    The reference itself is a JSON artifact (``ciclo.drift_reference/1``); ``optional_features``
    are the columns compared only when a batch has them (free text no model reads).
    """

    __table_args__ = (UniqueConstraint("project_id", "model_sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    model_sha256: str = Field(max_length=64)
    candidate_id: int = Field(foreign_key="runcandidate.id")
    artifact_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    n_rows: int
    features: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    optional_features: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class DriftRecord(SQLModel, table=True):
    """One drift report: a scored batch or a dataset version against a model's training reference."""

    __table_args__ = (Index("ix_driftrecord_project_created", "project_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    model_version_id: int | None = None
    candidate_id: int = Field(foreign_key="runcandidate.id")
    model_sha256: str = Field(max_length=64)
    batch_id: int | None = Field(default=None, index=True)
    dataset_version_id: int | None = Field(default=None, foreign_key="datasetversion.id")
    label: str = Field(max_length=300)
    status: str = Field(max_length=10)
    n_rows: int
    n_alert: int = 0
    n_warn: int = 0
    drifted: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    observed_at: datetime
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_by_id: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class OutcomeImport(SQLModel, table=True):
    """One import of real outcomes: where they came from and what was matched or left out."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    source: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    n_rows: int
    n_matched: int
    n_unknown: int = 0
    unknown_keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    n_duplicates: int = 0
    n_incomplete: int = 0
    n_replaced: int = 0
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class Outcome(SQLModel, table=True):
    """The real outcome of one stored prediction (written in bulk; a newer import replaces it)."""

    __table_args__ = (UniqueConstraint("prediction_id"),)

    id: int | None = Field(default=None, primary_key=True)
    import_id: int = Field(foreign_key="outcomeimport.id", index=True)
    project_id: int = Field(index=True)
    prediction_id: int
    batch_id: int
    row_key: str = Field(max_length=300)
    outcome: str = Field(max_length=300)


class AlertRuleSet(SQLModel, table=True):
    """A project's alert rules (:func:`mlcore.monitoring.alerts.rule_to_dict` dicts)."""

    project_id: int = Field(foreign_key="project.id", primary_key=True)
    rules: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)
    updated_by_id: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class AlertEvent(SQLModel, table=True):
    """An alert from the moment a check first saw it until a check no longer does.

    ``open_fingerprint`` equals ``fingerprint`` while the alert is firing and is NULL once resolved,
    so the database keeps at most one open event per alert and project.
    """

    __table_args__ = (UniqueConstraint("project_id", "open_fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    rule: str = Field(max_length=20)
    severity: str = Field(max_length=10)
    key: str = Field(max_length=200)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    subject: str = Field(default="", max_length=1000)
    fingerprint: str = Field(max_length=64)
    open_fingerprint: str | None = Field(default=None, max_length=64)
    source: str = Field(default="app", max_length=20)
    first_seen_at: datetime = Field(default_factory=utcnow)
    last_seen_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None


class RetrainRequest(SQLModel, table=True):
    """A challenger asked for: the champion's configuration trained again on a newer dataset version."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    champion_version_id: int = Field(foreign_key="modelversion.id")
    dataset_version_id: int = Field(foreign_key="datasetversion.id")
    job_id: int = Field(foreign_key="job.id")
    spec: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ChallengerComparison(SQLModel, table=True):
    """Champion and challenger scored on the same recent labelled rows, and the promotion if any."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    champion_version_id: int = Field(foreign_key="modelversion.id")
    challenger_candidate_id: int = Field(foreign_key="runcandidate.id")
    dataset_version_id: int = Field(foreign_key="datasetversion.id")
    rows: str = Field(max_length=20)  # "all" labelled rows, or "test": rows no compared model trained on
    n_rows: int
    metrics: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    primary_metric: str = Field(max_length=40)
    threshold: float | None = None
    verdict: str = Field(max_length=20)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    promoted_version_id: int | None = Field(default=None, foreign_key="modelversion.id")
    promoted_by_id: int | None = Field(default=None, foreign_key="user.id")
    promoted_at: datetime | None = None
