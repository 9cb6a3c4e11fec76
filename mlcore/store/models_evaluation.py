"""Tables of stage evaluation: Evaluation: comparisons, test-set uses, deploy decisions (issue 9).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0007_evaluation.py``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from mlcore.store.models import utcnow


class HeldOutUse(SQLModel, table=True):
    """One look at a locked test set (the rows a run set aside), by whom and when.

    A test set is identified by the dataset version and the artifact listing its rows: two runs that
    locked the same rows share one test set, and one count of uses. Written with the results of the
    ``evaluate`` job that looked at it, in the same transaction.
    """

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    run_id: int = Field(foreign_key="trainingrun.id", index=True)
    dataset_version_id: int = Field(foreign_key="datasetversion.id")
    test_rows_sha256: str = Field(max_length=64, index=True)
    use_number: int  # 1 for the first look at these rows, 2 for the second...
    candidate_ids: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Whether the person was told the rows had been used before and went on anyway.
    acknowledged: bool = False
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class CandidateEvaluation(SQLModel, table=True):
    """One stored result of the ``evaluate`` job for one candidate; pages read these, never recompute.

    ``kind`` is ``oof`` (out-of-fold predictions on the run's folds), ``test`` (predictions on the
    locked test rows), ``stress`` (robustness, slices, another dataset version) or ``performance``
    (latency, throughput, size, memory). The artifact holds the predictions (Parquet) or the
    result (JSON); ``summary`` what tables show without reading it. The newest row of a kind counts.
    """

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    candidate_id: int = Field(foreign_key="runcandidate.id", index=True)
    kind: str = Field(max_length=20)
    artifact_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    held_out_use_id: int | None = Field(default=None, foreign_key="heldoutuse.id")
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class DecisionThreshold(SQLModel, table=True):
    """The decision threshold chosen for a two-class candidate (and so for its registered versions)."""

    __table_args__ = (UniqueConstraint("candidate_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    candidate_id: int = Field(foreign_key="runcandidate.id")
    threshold: float
    source: str = Field(default="manual", max_length=20)  # manual, min_cost or constraint
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    version: int = Field(default=1)
    updated_by_id: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class EvaluationSettings(SQLModel, table=True):
    """A project's evaluation settings: sensitive columns, the fairness limit and the baseline margin."""

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", unique=True)
    sensitive_columns: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    fairness_limit: float | None = None
    fairness_measure: str = Field(default="equalized_odds_difference", max_length=40)
    min_margin: float = 0.0
    version: int = Field(default=1)
    updated_by_id: int = Field(foreign_key="user.id")
    updated_at: datetime = Field(default_factory=utcnow)


class ModelDeployDecision(SQLModel, table=True):
    """The approver's go/no-go for a candidate, with the criteria as they were checked.

    A "go" promotes the registered ``model_version_id`` to production in the same transaction;
    ``replaced_version_id`` is the version it took the place of.
    """

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    candidate_id: int = Field(foreign_key="runcandidate.id", index=True)
    model_version_id: int | None = Field(default=None, foreign_key="modelversion.id")
    outcome: str = Field(max_length=10)
    rationale: str = Field(max_length=4000)
    recommendation: str = Field(default="", max_length=20)
    overrides: bool = False
    # [{"criterion", "status", "reason_key", "params"}] as checked when the decision was made
    checks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    promoted: bool = False
    replaced_version_id: int | None = Field(default=None, foreign_key="modelversion.id")
    decided_by_id: int = Field(foreign_key="user.id")
    decided_at: datetime = Field(default_factory=utcnow)
