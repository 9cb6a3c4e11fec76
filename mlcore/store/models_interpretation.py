"""Tables of stage interpretation: Interpretation: explanations, expert reviews (issue 10).

Imported at the end of :mod:`mlcore.store.models`, so that every table is registered with
``SQLModel.metadata`` wherever the store is used; the migration is ``0008_interpretation.py``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mlcore.store.models import utcnow


class ModelExplanation(SQLModel, table=True):
    """SHAP explanations of one model on one dataset version, stored once and reused.

    The cache key is the model's SHA-256 (two candidates with identical models share their
    explanations), the dataset version and which of its rows (``subset``), the row cap, the seed and the
    class asked for (``class_key``: JSON, empty for the model's default class). Written in one
    transaction at the end of the ``explain`` job; the artifact is one Parquet file
    (:meth:`mlcore.modeling.explain.Explanation.to_table`).
    """

    __table_args__ = (
        UniqueConstraint("project_id", "model_sha256", "dataset_version_id", "subset", "max_rows", "seed", "class_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    candidate_id: int = Field(foreign_key="runcandidate.id", index=True)  # the candidate it was asked for
    model_sha256: str = Field(max_length=64, index=True)
    dataset_version_id: int = Field(foreign_key="datasetversion.id")
    subset: str = Field(max_length=20)  # "training" (the run's training rows) or "all"
    max_rows: int
    seed: int
    class_key: str = Field(default="", max_length=400)
    class_label: str = Field(default="", max_length=300)  # the class explained, as text
    artifact_sha256: str = Field(foreign_key="artifact.sha256", max_length=64)
    explainer: str = Field(max_length=20)
    model: str = Field(max_length=100)
    output_space: str = Field(max_length=20)
    n_rows: int
    n_available: int
    seconds: float
    # The identifier column the rows are indexed by (None: rows are positions in the version), and the
    # version's identifier column when it could not be used because its values repeat.
    id_column: str | None = Field(default=None, max_length=300)
    duplicate_id_column: str | None = Field(default=None, max_length=300)
    job_id: int | None = Field(default=None, foreign_key="job.id")
    created_by_id: int = Field(foreign_key="user.id")
    created_at: datetime = Field(default_factory=utcnow)


class ExpertReview(SQLModel, table=True):
    """A domain expert's current judgement of one feature's learned effect in one model.

    One row per candidate, feature and reviewer; ``version`` guards against overwriting a newer save.
    Every save (the first included) is also kept in :class:`ExpertReviewChange` and the audit trail.
    """

    __table_args__ = (UniqueConstraint("candidate_id", "feature", "reviewer_id"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    candidate_id: int = Field(foreign_key="runcandidate.id", index=True)
    model_sha256: str = Field(max_length=64)
    feature: str = Field(max_length=300)
    verdict: str = Field(max_length=20)  # plausible, implausible or unsure
    comment: str = Field(default="", max_length=2000)
    reviewer_id: int = Field(foreign_key="user.id", index=True)
    version: int = Field(default=1)
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ExpertReviewChange(SQLModel, table=True):
    """One saved state of an expert review (the history of :class:`ExpertReview`)."""

    id: int | None = Field(default=None, primary_key=True)
    review_id: int = Field(foreign_key="expertreview.id", index=True)
    version: int
    verdict: str = Field(max_length=20)
    comment: str = Field(default="", max_length=2000)
    changed_by_id: int = Field(foreign_key="user.id")
    changed_at: datetime = Field(default_factory=utcnow)
