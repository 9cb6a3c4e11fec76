"""Tables of stage modeling: Modeling: training runs, model registry (issue 8).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0005_modeling.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from mlcore.store.models import utcnow


class TrainingRun(SQLModel, table=True):
    """One training submission: the data, settings and environment every candidate of it shares.

    Written in one transaction with its candidates when the ``train`` job ends. ``run_config`` is
    what :func:`mlcore.modeling.training.reproduce` needs; the locked test rows are a Parquet
    artifact of row positions in the dataset version.
    """

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    dataset_version_id: int = Field(foreign_key="datasetversion.id", index=True)
    dataset_sha256: str = Field(max_length=64)
    target: str = Field(max_length=300)
    task_type: str = Field(max_length=20)
    features: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # [{"column": ..., "reason": catalog key, "params": {...}}] in the order they were shown
    excluded: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    scheme: str = Field(max_length=30)
    n_splits: int
    group_column: str | None = Field(default=None, max_length=300)
    order_column: str | None = Field(default=None, max_length=300)
    seed: int
    metrics: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # {"kind", "budget_s", "n_iter"}; empty without a search
    search: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Filled by preparation recipes (issue 7); no foreign key so either side can change alone.
    recipe_id: int | None = Field(default=None)
    recipe: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    test_rows_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    test_size: float
    n_train_rows: int
    n_test_rows: int
    n_unlabeled: int = 0  # rows of the version left out because their target is missing
    environment: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    run_config: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="completed", max_length=20)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    notes: str = Field(default="", max_length=5000)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class RunCandidate(SQLModel, table=True):
    """One model family trained in a run: cross-validated metrics and the fitted pipeline's artifact."""

    __table_args__ = (UniqueConstraint("run_id", "family"),)

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="trainingrun.id", index=True)
    position: int = 0  # order within the run
    family: str = Field(max_length=40)
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    model_params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    fold_metrics: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mean: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    std: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    cv_seconds: float = 0.0
    fit_seconds: float = 0.0
    size_bytes: int = 0
    model_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    search: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    notes: str = Field(default="", max_length=5000)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)


class RunReproduction(SQLModel, table=True):
    """One re-execution of a run from its stored configuration, and whether its metrics matched."""

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(foreign_key="trainingrun.id", index=True)
    matches: bool
    tolerance: float
    # [{"family", "metric", "recorded", "reproduced", "difference", "matches"}]
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    environment: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class RegisteredModel(SQLModel, table=True):
    """A named model of a project; its versions are trained candidates."""

    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    name: str = Field(max_length=100)
    description: str = Field(default="", max_length=5000)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ModelVersion(SQLModel, table=True):
    """Version ``number`` of a registered model, in one stage (candidate, staging, production, archived)."""

    __table_args__ = (UniqueConstraint("registered_model_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    registered_model_id: int = Field(foreign_key="registeredmodel.id", index=True)
    number: int
    candidate_id: int = Field(foreign_key="runcandidate.id", index=True)
    stage: str = Field(default="candidate", max_length=20)
    # The registered model's id while this version is in production, else NULL: the unique
    # constraint lets the database itself refuse a second production version of one model.
    production_of: int | None = Field(default=None, unique=True)
    version: int = Field(default=1)
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)
    stage_changed_by_id: int | None = Field(default=None, foreign_key="user.id")
    stage_changed_at: datetime | None = Field(default=None)
