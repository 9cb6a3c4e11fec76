"""Tables of stage deployment: Deployment: deployment mode, prediction batches (issue 11).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0009_deployment.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from mlcore.store.models import utcnow


class DeploymentChoice(SQLModel, table=True):
    """A deployment mode chosen for a project with the advisor's answers; the newest row counts."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    mode: str = Field(max_length=20)
    recommended: str = Field(max_length=20)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    reason: str = Field(default="", max_length=5000)
    decided_by_id: int = Field(foreign_key="user.id")
    decided_at: datetime = Field(default_factory=utcnow)


class PredictionBatch(SQLModel, table=True):
    """One scoring run's predictions; dashboards read only batches whose status is ``complete``.

    ``status`` is ``writing`` while rows are inserted (a killed run stays so, invisible, and the next
    run with the same ``batch_key`` removes it), ``complete`` once visible, ``replaced`` for the
    moment between a re-run becoming visible and the old rows being deleted, ``failed`` after an error.
    """

    __table_args__ = (
        Index("ix_predictionbatch_project_key", "project_id", "batch_key"),
        Index("ix_predictionbatch_project_status", "project_id", "status", "completed_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    # The model registry's version id; a plain integer so batches outlive registry clean-ups.
    model_version_id: int = Field(index=True)
    batch_key: str = Field(max_length=200)
    task_type: str = Field(max_length=20)
    score_kind: str = Field(max_length=20)  # probability, margin or value
    source: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="writing", max_length=20)
    n_rows: int = 0
    threshold: float | None = None
    positive_class: str | None = Field(default=None, max_length=300)
    classes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Names of the user's segment columns, stored in Prediction.seg1..seg3 in this order.
    segment_columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    shown_columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Which PredictionDetail columns this batch filled (empty: it has no detail rows).
    detail_columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Smallest and largest id of the batch's rows, kept up to date with every chunk written: full
    # passes and clean-ups read that id range (see mlcore.deploy.batch.scan_conditions).
    first_id: int | None = None
    last_id: int | None = None
    error_key: str = Field(default="", max_length=200)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None


class Prediction(SQLModel, table=True):
    """One scored row of a batch (written in bulk with executemany, never as ORM objects).

    Only narrow columns live here, so that a pass over a million rows of a batch stays fast; the
    wide ones (probabilities, reasons, shown values) are in :class:`PredictionDetail`. No secondary
    index: rows are appended, a batch is read by its id range (``PredictionBatch.first_id`` ..
    ``last_id``) and ranked through :class:`PredictionRank`.
    """

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="predictionbatch.id")
    row_key: str = Field(max_length=300)
    # Positive-class probability, decision value (models without probabilities) or regression value.
    score: float
    label: str | None = Field(default=None, max_length=300)
    positive: bool | None = None
    seg1: str | None = Field(default=None, max_length=200)
    seg2: str | None = Field(default=None, max_length=200)
    seg3: str | None = Field(default=None, max_length=200)


class PredictionDetail(SQLModel, table=True):
    """The wide part of a prediction, written only when the batch has any of it.

    ``probabilities``: class -> probability (more than two classes); ``reasons``: the top reasons as
    ``{"f1": feature, "v1": value, "c1": contribution, "f2": ...}``; ``row_values``: shown column -> value.
    """

    prediction_id: int = Field(foreign_key="prediction.id", primary_key=True)
    batch_id: int  # no index: rows are found by prediction_id (ranges, joins)
    probabilities: dict[str, float] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    reasons: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    row_values: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class PredictionRank(SQLModel, table=True):
    """A complete batch's rows in score order: the index behind top-N, pages and score ranges.

    Written in one sorted ``INSERT ... SELECT`` when the batch completes (appending in order is far
    cheaper than keeping an index on ``Prediction`` up to date while rows arrive in any order).
    """

    __table_args__ = {"sqlite_with_rowid": False}

    batch_id: int = Field(primary_key=True)
    score: float = Field(primary_key=True)
    prediction_id: int = Field(primary_key=True)
