"""Label review records: label-issue runs (the ``label_issues`` job), reviewers' decisions, and the
dataset versions that applied decisions and annotations become.

The computations live in :mod:`mlcore.data.labeling`; this module reads versions, runs them as a
job, stores what they produce and records who decided what. Rows are identified by their position
in the reviewed version (versions are immutable, so a position always names the same row).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, select, update

from mlcore.artifacts import ArtifactRef, ArtifactStore, register_artifact
from mlcore.audit import record_event
from mlcore.auth import can, require
from mlcore.config import Settings
from mlcore.data.labeling import (
    ACTIONS,
    LabelDecision,
    LabelIssues,
    apply_label_decisions,
    cv_metric_before_after,
    decision_agreement,
    find_label_issues,
    label_quality_summary,
    suggest_annotation_order,
)
from mlcore.data.quality import QualityReport
from mlcore.data.versions import VersionSummary, create_version, get_version, read_version, version_in_project
from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import JobContext, active_job, job_kind
from mlcore.store.engine import session_scope
from mlcore.store.models import (
    DatasetVersion,
    Job,
    LabelDecisionRow,
    LabelIssueRun,
    Project,
    QualityRun,
    User,
    utcnow,
)

__all__ = [
    "FOLD_CHOICES",
    "PARTS",
    "RULES",
    "SCOPES",
    "AnnotationItem",
    "ApplyPlan",
    "DecisionRecord",
    "EditedDecision",
    "IssueRun",
    "LabelEffect",
    "PlantedCheck",
    "ReviewItem",
    "agreement_table",
    "annotation_editor_frame",
    "annotation_item",
    "annotation_queue",
    "apply_annotations",
    "apply_review",
    "class_summary",
    "decision_editor_frame",
    "decisions_from_editor",
    "derived_versions",
    "feature_columns",
    "get_issue_run",
    "issue_runs",
    "label_effect",
    "label_issues_job",
    "label_issues_of",
    "list_decisions",
    "plan_apply",
    "planted_flip_check",
    "read_annotation_order",
    "read_ranked",
    "reason_text",
    "review_item",
    "review_progress",
    "review_queue",
    "reviewable_versions",
    "row_values",
    "save_decision",
    "submit_label_effect",
    "submit_label_issues",
    "suggested_exclusions",
    "suspects_frame",
]

RULES = ("consensus", "latest")
"""How disagreeing reviewers are resolved when decisions are applied.

``consensus``: a row changes only when everyone who decided it (``unsure`` does not count) made the
same decision; rows where reviewers disagree are skipped and listed. ``latest``: the most recent
decision by someone allowed to apply labels (``labels.apply``) wins.
"""

SCOPES = ("flagged", "all")
"""Rows a review queue offers: the rows confident learning flags, or every labelled row by suspicion."""

PARTS = ("review", "annotation")
"""Which decisions of a run are applied: those on labelled rows, or the labels given to unlabelled rows."""

FOLD_CHOICES = (3, 5, 10)
"""Cross-validation folds the detection job offers."""

_OPERATIONS = {"review": "label_decisions", "annotation": "annotation"}
_SAVE_ATTEMPTS = 8
_PROBA = "p_"  # probability columns of the stored tables: p_0 .. p_{k-1}, in the order of the run's classes


# --------------------------------------------------------------------------- runs


@dataclass(frozen=True)
class IssueRun:
    """One stored run of label-issue detection on a dataset version.

    Attributes
    ----------
    classes : tuple
        The target's classes, in the order of the probability columns.
    noise_rate, thresholds : tuple of float
        Per class (aligned with ``classes``): estimated share of rows labelled with it that belong
        to another class, and the confident-learning threshold.
    confident_joint : tuple of tuple of float
        Rows: given class; columns: the class the model is confident about.
    n_rows, n_unlabeled : int
        Labelled rows reviewed, and rows without a label (offered for annotation).
    """

    id: int
    project_id: int
    version_id: int
    target: str
    features: tuple[str, ...]
    excluded: tuple[str, ...]
    cv: int
    n_rows: int
    n_unlabeled: int
    n_issues: int
    classes: tuple[Hashable, ...]
    noise_rate: tuple[float, ...]
    thresholds: tuple[float, ...]
    confident_joint: tuple[tuple[float, ...], ...]
    ranked_sha256: str
    annotation_sha256: str | None
    created_by: str
    created_at: datetime

    def noise_frame(self) -> pd.DataFrame:
        """Estimated noise rate and threshold per class (indexed by class as text)."""
        return pd.DataFrame(
            {"noise_rate": self.noise_rate, "threshold": self.thresholds},
            index=pd.Index([str(c) for c in self.classes], name="class"),
        )


def _run_view(run: LabelIssueRun, user: User) -> IssueRun:
    summary = dict(run.summary)
    return IssueRun(
        id=run.id or 0,
        project_id=run.project_id,
        version_id=run.dataset_version_id,
        target=run.target,
        features=tuple(run.features),
        excluded=tuple(run.excluded),
        cv=run.cv,
        n_rows=run.n_rows,
        n_unlabeled=run.n_unlabeled,
        n_issues=run.n_issues,
        classes=tuple(summary.get("classes", ())),
        noise_rate=tuple(float(x) for x in summary.get("noise_rate", ())),
        thresholds=tuple(float(x) for x in summary.get("thresholds", ())),
        confident_joint=tuple(tuple(float(x) for x in r) for r in summary.get("confident_joint", ())),
        ranked_sha256=run.ranked_sha256,
        annotation_sha256=run.annotation_sha256,
        created_by=user.display_name or user.name,
        created_at=run.created_at,
    )


def issue_runs(*, session: Session, version_id: int) -> list[IssueRun]:
    """The stored detection runs of a version, newest first."""
    stmt = (
        select(LabelIssueRun, User)
        .join(User, col(User.id) == col(LabelIssueRun.created_by_id))
        .where(LabelIssueRun.dataset_version_id == version_id)
        .order_by(col(LabelIssueRun.id).desc())
    )
    return [_run_view(r, u) for r, u in session.exec(stmt).all()]


def get_issue_run(*, session: Session, run_id: int, project_id: int | None = None) -> IssueRun:
    """One run (refused when it belongs to another project than ``project_id``).

    Raises
    ------
    NotFound
        If there is no such run in the project.
    """
    found = session.exec(
        select(LabelIssueRun, User)
        .join(User, col(User.id) == col(LabelIssueRun.created_by_id))
        .where(LabelIssueRun.id == run_id)
    ).first()
    if found is None or (project_id is not None and found[0].project_id != project_id):
        raise NotFound("label_review.error.run_not_found", run_id=run_id)
    return _run_view(*found)


_version_in_project = version_in_project


def _check_reviewable(session: Session, *, project_id: int, version: VersionSummary) -> str:
    """The version's target, refusing regression projects and versions without a target."""
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("errors.project_not_found", name=str(project_id))
    if project.task_type == "regression":
        raise InputError("label_review.error.regression_project", project=project.name)
    if not version.target:
        raise InputError("label_review.error.no_target", label=version.label)
    return version.target


def reviewable_versions(versions: Sequence[VersionSummary]) -> list[VersionSummary]:
    """Versions with a target, newest first (the ones whose labels can be reviewed)."""
    return sorted((v for v in versions if v.target), key=lambda v: v.created_at, reverse=True)


def derived_versions(versions: Sequence[VersionSummary], *, run_id: int) -> list[VersionSummary]:
    """Versions created by applying a run's decisions or annotations, newest first."""
    made = [v for v in versions if v.operation in _OPERATIONS.values() and v.recipe.get("run_id") == run_id]
    return sorted(made, key=lambda v: v.created_at, reverse=True)


def class_summary(run: IssueRun, ranked: pd.DataFrame) -> pd.DataFrame:
    """Per class (as text, plus ``all``): rows, flagged rows, estimated noise rate, threshold, and
    ``to_<class>``: flagged rows whose suggested label is that class (see
    :func:`~mlcore.data.labeling.label_quality_summary`)."""
    summary = label_quality_summary(label_issues_of(run, ranked))
    summary.index = pd.Index([str(c) for c in summary.index], name="class")
    return summary.rename(columns={f"suggested_{c}": f"to_{c}" for c in run.classes})


def feature_columns(version: VersionSummary, *, exclude: Iterable[str] = ()) -> list[str]:
    """The columns the detection model learns from: all but the target, identifiers and ``exclude``.

    Examples
    --------
    >>> from datetime import datetime
    >>> cols = [{"name": "id", "role": "identifier"}, {"name": "x", "role": "numeric"},
    ...         {"name": "leak", "role": "categorical"}, {"name": "y", "role": "categorical"}]
    >>> v = VersionSummary(1, "d", 1, 3, 4, "0" * 64, "ana", datetime(2025, 1, 1), None, "import_csv", {}, "y",
    ...                    cols, {})
    >>> feature_columns(v, exclude=["leak"])
    ['x']
    """
    skip = set(exclude) | {version.target}
    return [str(c["name"]) for c in version.columns if c["name"] not in skip and c.get("role") != "identifier"]


def suggested_exclusions(*, session: Session, store: ArtifactStore, version_id: int) -> list[str]:
    """Columns the latest quality run of the version flags as leaking the target (to leave out).

    A column that is recorded with or after the outcome predicts the given label, mistakes
    included, and so hides the very errors the review looks for.
    """
    run = session.exec(
        select(QualityRun).where(QualityRun.dataset_version_id == version_id).order_by(col(QualityRun.id).desc())
    ).first()
    if run is None:
        return []
    try:
        report = QualityReport.from_json(store.read_bytes(run.report_sha256).decode("utf-8"))
    except (NotFound, InputError):
        return []
    leaks = [c for f in report.for_check("target_leakage") if f.status == "fail" for c in f.columns]
    return list(dict.fromkeys(leaks))


# --------------------------------------------------------------------------- the job



def submit_label_issues(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    version_id: int,
    actor_id: int,
    exclude: Sequence[str] = (),
    cv: int = 5,
    launch: bool = True,
) -> int:
    """Queue (and start) label-issue detection on a version; return the job id.

    Parameters
    ----------
    engine, settings
    project_id, version_id : int
    actor_id : int
        Needs ``labels.detect`` in the project.
    exclude : sequence of str
        Feature columns to leave out besides the target and identifiers (e.g. a leaky column).
    cv : int, default 5
        Cross-validation folds; every class needs at least this many rows.
    launch : bool, default True
        Start the job's process (tests run it in-process with :func:`mlcore.jobs.run_job`).

    Returns
    -------
    int
        The job id (of the job already doing the same thing, if one is running).

    Raises
    ------
    PermissionDenied
        Without ``labels.detect`` in the project.
    NotFound
        If the version is not in the project.
    InputError
        ``label_review.error.regression_project``, ``label_review.error.no_target``,
        ``label_review.error.unknown_columns`` or ``labeling.bad_folds``.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="labels.detect", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=version_id)
        _check_reviewable(session, project_id=project_id, version=version)
        names = {str(c["name"]) for c in version.columns}
        unknown = [c for c in exclude if c not in names]
        if unknown:
            raise InputError("label_review.error.unknown_columns", columns=", ".join(unknown[:5]))
        if isinstance(cv, bool) or not isinstance(cv, int) or not 2 <= cv <= max(version.n_rows, 2):
            raise InputError("labeling.bad_folds", folds=str(cv), rows=version.n_rows)
        match = {"mode": "detect", "version_id": version_id, "exclude": sorted(exclude), "cv": cv}
        running = active_job(session, kind="label_issues", project_id=project_id, match=match)
        if running is not None:
            return running
        job = submit_job(
            session=session,
            kind="label_issues",
            params={"project_id": project_id, "actor_id": actor_id, **match},
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


def _target_values(table: pa.Table, target: str) -> pd.Series:
    """The target by row position, with missing values as ``None`` and its own type kept."""
    return pd.Series(table.column(target).to_pylist(), dtype=object)


def _native(value: Any) -> Any:
    """A NumPy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value


def _ranked_table(issues: LabelIssues) -> pa.Table:
    ranked = issues.ranked
    frame = pd.DataFrame(
        {
            "row": ranked.index.to_numpy(dtype=np.int64),
            "score": ranked["score"].to_numpy(dtype=np.float64),
            "given_label": list(ranked["given_label"]),
            "suggested_label": list(ranked["suggested_label"]),
            "self_confidence": ranked["self_confidence"].to_numpy(dtype=np.float64),
            "margin": ranked["margin"].to_numpy(dtype=np.float64),
            "is_issue": ranked["is_issue"].to_numpy(dtype=bool),
            "reason": ranked["reason"].astype(str).to_numpy(),
        }
    )
    probabilities = issues.probabilities.loc[ranked.index].to_numpy(dtype=np.float64)
    for j in range(len(issues.classes)):
        frame[f"{_PROBA}{j}"] = probabilities[:, j]
    return pa.Table.from_pandas(frame, preserve_index=False)


def _annotation_table(order: pd.DataFrame, classes: tuple[Hashable, ...]) -> pa.Table:
    frame = pd.DataFrame(
        {
            "row": order.index.to_numpy(dtype=np.int64),
            "uncertainty": order["uncertainty"].to_numpy(dtype=np.float64),
            "predicted_label": list(order["predicted_label"]),
            "confidence": order["confidence"].to_numpy(dtype=np.float64),
        }
    )
    for j, cls in enumerate(classes):
        frame[f"{_PROBA}{j}"] = order[f"probability_{cls}"].to_numpy(dtype=np.float64)
    return pa.Table.from_pandas(frame, preserve_index=False)


@job_kind("label_issues")
def label_issues_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: find label issues on a version (``mode="detect"``), or measure the effect of applied
    decisions (``mode="effect"``, see :func:`submit_label_effect`)."""
    if params.get("mode") == "effect":
        return _effect(ctx, params)
    return _detect(ctx, params)


def _detect(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    exclude = [str(c) for c in params.get("exclude") or ()]
    cv = int(params.get("cv", 5))
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action="labels.detect", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=int(params["version_id"]))
        target = _check_reviewable(session, project_id=project_id, version=version)
    ctx.progress(0.02, "label_review.progress.reading", label=version.label)
    table = read_version(store=store, version=version)
    features = feature_columns(version, exclude=exclude)
    if not features:
        raise InputError("labeling.empty", rows=table.num_rows, columns=0)
    X = table.select(features).to_pandas()
    labels = _target_values(table, target)
    labelled = labels.notna().to_numpy()
    if not labelled.any():
        raise InputError("label_review.error.no_labels", rows=len(labels))
    given = labels[labelled].infer_objects()
    issues = find_label_issues(
        X[labelled], given, cv=cv, progress=lambda share, key: ctx.progress(0.05 + 0.8 * share, key)
    )
    annotation_ref: ArtifactRef | None = None
    if not labelled.all():
        ctx.progress(0.87, "label_review.progress.annotation_order", rows=int((~labelled).sum()))
        order = suggest_annotation_order(X[labelled], given, X[~labelled])
        annotation_ref = store.put_table(_annotation_table(order, issues.classes))
    ctx.progress(0.95, "label_review.progress.saving")
    ranked_ref = store.put_table(_ranked_table(issues))
    classes = [_native(c) for c in issues.classes]
    summary = {
        "classes": classes,
        "noise_rate": [float(x) for x in issues.noise_rate.to_numpy()],
        "thresholds": [float(x) for x in issues.thresholds.to_numpy()],
        "confident_joint": issues.confident_joint.to_numpy(dtype=np.float64).tolist(),
    }
    with session_scope(ctx.engine) as session:
        actor = require(
            session=session, user=session.get(User, actor_id), action="labels.detect", project_id=project_id
        )
        register_artifact(session=session, ref=ranked_ref, kind="parquet", actor_id=actor_id)
        if annotation_ref is not None:
            register_artifact(session=session, ref=annotation_ref, kind="parquet", actor_id=actor_id)
        run = LabelIssueRun(
            project_id=project_id,
            dataset_version_id=version.id,
            target=target,
            features=features,
            excluded=sorted(exclude),
            cv=cv,
            n_rows=int(labelled.sum()),
            n_unlabeled=int((~labelled).sum()),
            n_issues=issues.n_issues,
            summary=summary,
            ranked_sha256=ranked_ref.sha256,
            annotation_sha256=annotation_ref.sha256 if annotation_ref else None,
            created_by_id=actor_id,
        )
        session.add(run)
        session.flush()
        record_event(
            session=session,
            actor=actor,
            action="labels.detect",
            object_type="dataset_version",
            object_id=version.id,
            project_id=project_id,
            after={
                "run_id": run.id,
                "rows": run.n_rows,
                "unlabeled": run.n_unlabeled,
                "flagged": run.n_issues,
                "cv": cv,
                "excluded": ", ".join(sorted(exclude)),
                "ranked": ranked_ref.sha256,
            },
        )
        run_id = run.id or 0
    return {"label": version.label, "n_rows": int(labelled.sum()), "run_id": run_id, "n_issues": issues.n_issues}


# --------------------------------------------------------------------------- stored tables


def _with_classes(frame: pd.DataFrame, classes: tuple[Hashable, ...]) -> pd.DataFrame:
    frame = frame.set_index("row")
    frame.index.name = None
    return frame.rename(columns={f"{_PROBA}{j}": f"probability_{c}" for j, c in enumerate(classes)})


def read_ranked(*, store: ArtifactStore, run: IssueRun) -> pd.DataFrame:
    """The run's ranked rows, most suspicious first, indexed by row position.

    Columns as :attr:`mlcore.data.labeling.LabelIssues.ranked`, then ``probability_<class>``.
    """
    return _with_classes(store.read_table(run.ranked_sha256).to_pandas(), run.classes)


def read_annotation_order(*, store: ArtifactStore, run: IssueRun) -> pd.DataFrame:
    """Unlabelled rows, most uncertain first, indexed by row position (empty when every row had a label).

    Columns as :func:`mlcore.data.labeling.suggest_annotation_order`.
    """
    if run.annotation_sha256 is None:
        columns = ["uncertainty", "predicted_label", "confidence", *(f"probability_{c}" for c in run.classes)]
        return pd.DataFrame(columns=columns, index=pd.Index([], dtype=np.int64))
    return _with_classes(store.read_table(run.annotation_sha256).to_pandas(), run.classes)


def label_issues_of(run: IssueRun, ranked: pd.DataFrame) -> LabelIssues:
    """Rebuild the :class:`~mlcore.data.labeling.LabelIssues` of a stored run (for its summaries).

    ``ranked`` is :func:`read_ranked` of the run.
    """
    names = pd.Index(run.classes)
    by_row = ranked.sort_index()
    probabilities = by_row[[f"probability_{c}" for c in run.classes]].set_axis(names, axis=1)
    return LabelIssues(
        ranked=ranked[["score", "given_label", "suggested_label", "self_confidence", "margin", "is_issue", "reason"]],
        is_issue=by_row["is_issue"].rename("is_issue"),
        probabilities=probabilities,
        thresholds=pd.Series(run.thresholds, index=names, name="threshold"),
        confident_joint=pd.DataFrame(
            np.asarray(run.confident_joint, dtype=np.float64).reshape(len(names), len(names)),
            index=names.rename("given_label"),
            columns=names.rename("confident_label"),
        ),
        noise_rate=pd.Series(run.noise_rate, index=names, name="noise_rate"),
        classes=run.classes,
        cv=run.cv,
    )


@dataclass(frozen=True)
class PlantedCheck:
    """How a run did against the label flips planted in the demo data (only the demo knows them)."""

    planted: int
    flagged: int
    found: int

    @property
    def precision(self) -> float:
        return self.found / self.flagged if self.flagged else 0.0

    @property
    def recall(self) -> float:
        return self.found / self.planted if self.planted else 0.0


def planted_flip_check(*, store: ArtifactStore, version: VersionSummary, ranked: pd.DataFrame) -> PlantedCheck | None:
    """Compare a run on the demo's churn data with the label flips the generator planted.

    Returns None for any other version (real data has no list of its wrong labels).
    """
    from mlcore.data.synthetic import PlantedProblems

    sha = version.recipe.get("planted_problems_sha256")
    if not sha or version.operation != "synthetic" or version.recipe.get("batch") != "churn":
        return None
    try:
        problems = PlantedProblems.from_json(store.read_bytes(str(sha)).decode("utf-8"))
    except (NotFound, InputError):
        return None
    if problems.target != version.target:
        return None
    planted = set(problems.flipped_labels)
    flagged = {int(r) for r in ranked.index[ranked["is_issue"].to_numpy(dtype=bool)]}
    return PlantedCheck(planted=len(planted), flagged=len(flagged), found=len(planted & flagged))


def reason_text(row: Mapping[str, Any], *, lang: str) -> str:
    """Why a ranked row looks wrong (or right), in words: its ``reason`` key filled in."""
    return translate(
        str(row["reason"]),
        lang,
        given=str(row["given_label"]),
        suggested=str(row["suggested_label"]),
        probability=_percent(float(row["self_confidence"])),
    )


def suspects_frame(
    ranked: pd.DataFrame, *, lang: str, scope: str = "flagged", limit: int | None = None
) -> pd.DataFrame:
    """Ranked rows for display: ``row``, ``score``, ``given``, ``suggested``, ``confidence``, ``reason``."""
    rows = ranked[ranked["is_issue"]] if scope == "flagged" else ranked
    if limit is not None:
        rows = rows.iloc[:limit]
    return pd.DataFrame(
        {
            "row": rows.index.to_numpy(dtype=np.int64),
            "score": rows["score"].to_numpy(dtype=np.float64),
            "given": rows["given_label"].astype(str).to_numpy(),
            "suggested": rows["suggested_label"].astype(str).to_numpy(),
            "confidence": rows["self_confidence"].to_numpy(dtype=np.float64),
            "reason": [reason_text(r, lang=lang) for r in rows.to_dict("records")],
        }
    )


def row_values(frame: pd.DataFrame, row: int, *, hide: Iterable[str] = ()) -> pd.DataFrame:
    """One row of a version as a two-column table (``column``, ``value`` as text) for reading."""
    hidden = set(hide)
    values = frame.iloc[int(row)]
    return pd.DataFrame(
        [{"column": str(name), "value": _display(value)} for name, value in values.items() if name not in hidden],
        columns=["column", "value"],
    )


def _percent(share: float) -> str:
    """A probability as a percentage, with a decimal near 0 and 1 (where "0%" would mislead).

    Examples
    --------
    >>> _percent(0.4213), _percent(0.0049), _percent(0.9996)
    ('42%', '0.5%', '99.96%')
    """
    if 0.01 <= share <= 0.99:
        return f"{share:.0%}"
    return f"{share:.2%}" if share > 0.999 else f"{share:.1%}"


def _display(value: object) -> str:
    """A cell as a person reads it: dates without midnight, whole numbers without ".0".

    Examples
    --------
    >>> _display(690000.0), _display(22.6), _display(pd.Timestamp("2023-04-25")), _display(None)
    ('690000', '22.6', '2023-04-25', '—')
    """
    if _missing(value):
        return "—"
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return str(value.date())
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _missing(value: object) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class DecisionRecord:
    """One reviewer's saved decision about one row of a run."""

    run_id: int
    row: int
    reviewer_id: int
    reviewer: str
    action: str
    new_label: Hashable | None
    comment: str
    version: int
    decided_at: datetime

    @property
    def decision(self) -> LabelDecision:
        return LabelDecision(self.action, new_label=self.new_label, comment=self.comment)  # type: ignore[arg-type]


def _class_of(text: str | None, classes: Sequence[Hashable]) -> Hashable | None:
    if text is None:
        return None
    for cls in classes:
        if str(cls) == text:
            return cls
    return text


def _record(row: LabelDecisionRow, reviewer: str, classes: Sequence[Hashable]) -> DecisionRecord:
    return DecisionRecord(
        run_id=row.run_id,
        row=row.row,
        reviewer_id=row.reviewer_id,
        reviewer=reviewer,
        action=row.action,
        new_label=_class_of(row.new_label, classes),
        comment=row.comment,
        version=row.version,
        decided_at=row.decided_at,
    )


def list_decisions(*, session: Session, run_id: int, reviewer_id: int | None = None) -> list[DecisionRecord]:
    """Saved decisions of a run (only one reviewer's if ``reviewer_id``), oldest first."""
    run = session.get(LabelIssueRun, run_id)
    if run is None:
        raise NotFound("label_review.error.run_not_found", run_id=run_id)
    classes = tuple(run.summary.get("classes", ()))
    stmt = (
        select(LabelDecisionRow, User)
        .join(User, col(User.id) == col(LabelDecisionRow.reviewer_id))
        .where(LabelDecisionRow.run_id == run_id)
        .order_by(col(LabelDecisionRow.decided_at), col(LabelDecisionRow.id))
    )
    if reviewer_id is not None:
        stmt = stmt.where(LabelDecisionRow.reviewer_id == reviewer_id)
    return [_record(d, u.name, classes) for d, u in session.exec(stmt).all()]


def save_decision(
    *,
    session: Session,
    actor: User,
    project_id: int,
    run_id: int,
    row: int,
    decision: LabelDecision,
    expected_version: int = 0,
) -> DecisionRecord:
    """Save the actor's decision about one row at once, with who and when (also an audit event).

    Each reviewer has their own decision per row, so reviewers working at the same time never
    overwrite each other. ``expected_version`` is the version of the actor's own decision the
    form started from (0: none yet); if it changed meanwhile (the same person saved from another
    window) the save is refused.

    Parameters
    ----------
    session
    actor : User
        Needs ``labels.review`` in the project.
    project_id, run_id : int
    row : int
        Position of the row in the reviewed version.
    decision : LabelDecision
        A ``relabel`` must name one of the run's classes.
    expected_version : int, default 0

    Returns
    -------
    DecisionRecord

    Raises
    ------
    PermissionDenied
        Without ``labels.review`` in the project.
    NotFound
        If the run is not in the project.
    InputError
        ``label_review.error.bad_row``, ``labeling.unknown_class`` or ``labeling.not_a_decision``.
    ConflictError
        ``label_review.error.decision_changed`` for a stale save.
    """
    require(session=session, user=actor, action="labels.review", project_id=project_id)
    run = get_issue_run(session=session, run_id=run_id, project_id=project_id)
    if not isinstance(decision, LabelDecision):
        raise InputError("labeling.not_a_decision", row=str(row), kind=type(decision).__name__)
    total = run.n_rows + run.n_unlabeled
    if isinstance(row, bool) or not isinstance(row, int | np.integer) or not 0 <= int(row) < total:
        raise InputError("label_review.error.bad_row", row=str(row), rows=total)
    row = int(row)
    new_label = None
    if decision.action == "relabel":
        known = [c for c in run.classes if str(c) == str(decision.new_label)]
        if not known:
            raise InputError(
                "labeling.unknown_class", label=str(decision.new_label), known=", ".join(str(c) for c in run.classes)
            )
        new_label = str(known[0])
    existing = session.exec(
        select(LabelDecisionRow).where(
            LabelDecisionRow.run_id == run_id, LabelDecisionRow.row == row, LabelDecisionRow.reviewer_id == actor.id
        )
    ).first()
    values: dict[str, Any] = {
        "action": decision.action,
        "new_label": new_label,
        "comment": decision.comment,
        "decided_at": utcnow(),
    }
    before: dict[str, Any] = {}
    if existing is None:
        if expected_version != 0:
            raise ConflictError("label_review.error.decision_changed", row=row)
        saved = LabelDecisionRow(
            run_id=run_id,
            row=row,
            reviewer_id=actor.id or 0,
            action=decision.action,
            new_label=new_label,
            comment=decision.comment,
            version=1,
        )
        session.add(saved)
        try:
            session.flush()
        except IntegrityError as exc:  # the same reviewer saved this row from another window first
            raise ConflictError("label_review.error.decision_changed", row=row) from exc
    else:
        before = {"action": existing.action, "new_label": existing.new_label, "comment": existing.comment}
        changed = session.execute(
            update(LabelDecisionRow)
            .where(col(LabelDecisionRow.id) == existing.id, col(LabelDecisionRow.version) == expected_version)
            .values(version=expected_version + 1, **values)
        ).rowcount  # type: ignore[attr-defined]
        if changed != 1:
            raise ConflictError("label_review.error.decision_changed", row=row)
        session.expire(existing)
        saved = existing
        session.refresh(saved)
    record_event(
        session=session,
        actor=actor,
        action="labels.decide",
        object_type="label_decision",
        object_id=f"{run_id}:{row}",
        project_id=project_id,
        before=before,
        after={"action": decision.action, "new_label": new_label, "comment": decision.comment},
        reason=decision.comment,
    )
    return _record(saved, actor.name, run.classes)


def review_queue(
    ranked: pd.DataFrame, decided: Iterable[int], *, scope: str = "flagged", limit: int | None = None
) -> list[int]:
    """Rows still to review, most suspicious first, skipping those the reviewer already decided.

    Examples
    --------
    >>> ranked = pd.DataFrame({"is_issue": [True, True, False]}, index=[7, 2, 5])
    >>> review_queue(ranked, decided=[7]), review_queue(ranked, decided=[], scope="all")
    ([2], [7, 2, 5])
    """
    if scope not in SCOPES:
        raise InputError("label_review.error.bad_scope", scope=str(scope), allowed=", ".join(SCOPES))
    rows = ranked.index[ranked["is_issue"].to_numpy(dtype=bool)] if scope == "flagged" else ranked.index
    done = set(decided)
    queue = [int(r) for r in rows if int(r) not in done]
    return queue if limit is None else queue[:limit]


def annotation_queue(order: pd.DataFrame, decided: Iterable[int], *, limit: int | None = None) -> list[int]:
    """Unlabelled rows still to label, most uncertain first, skipping those the annotator labelled."""
    done = set(decided)
    queue = [int(r) for r in order.index if int(r) not in done]
    return queue if limit is None else queue[:limit]


def review_progress(ranked: pd.DataFrame, decided: Iterable[int], *, scope: str = "flagged") -> tuple[int, int]:
    """(rows decided, rows in the queue's scope) for one reviewer."""
    rows = ranked.index[ranked["is_issue"].to_numpy(dtype=bool)] if scope == "flagged" else ranked.index
    in_scope = {int(r) for r in rows}
    return len(in_scope & set(decided)), len(in_scope)


@dataclass(frozen=True)
class ReviewItem:
    """What a reviewer sees of one suspect row."""

    row: int
    rank: int
    score: float
    given_label: Hashable
    suggested_label: Hashable
    self_confidence: float
    is_issue: bool
    reason_key: str
    reason_params: dict[str, str]
    probabilities: pd.DataFrame  # class (text), probability
    values: pd.DataFrame  # column, value


def review_item(*, ranked: pd.DataFrame, frame: pd.DataFrame, row: int, target: str) -> ReviewItem:
    """One suspect with its features, given and suggested label, probabilities and why it looks wrong."""
    if row not in ranked.index:
        raise InputError("label_review.error.bad_row", row=str(row), rows=len(frame))
    entry = ranked.loc[[row]].to_dict("records")[0]  # one row as a Series would turn integer classes into floats
    probability_columns = [c for c in ranked.columns if str(c).startswith("probability_")]
    return ReviewItem(
        row=int(row),
        rank=int(ranked.index.get_loc(row)) + 1,
        score=float(entry["score"]),
        given_label=entry["given_label"],
        suggested_label=entry["suggested_label"],
        self_confidence=float(entry["self_confidence"]),
        is_issue=bool(entry["is_issue"]),
        reason_key=str(entry["reason"]),
        reason_params={
            "given": str(entry["given_label"]),
            "suggested": str(entry["suggested_label"]),
            "probability": _percent(float(entry["self_confidence"])),
        },
        probabilities=_probabilities(entry, probability_columns),
        values=row_values(frame, row, hide=[target]),
    )


def _probabilities(entry: Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "class": [c.removeprefix("probability_") for c in columns],
            "probability": [float(entry[c]) for c in columns],
        }
    )


@dataclass(frozen=True)
class AnnotationItem:
    """What an annotator sees of one unlabelled row."""

    row: int
    uncertainty: float
    predicted_label: Hashable
    confidence: float
    probabilities: pd.DataFrame  # class (text), probability
    values: pd.DataFrame  # column, value


def annotation_item(*, order: pd.DataFrame, frame: pd.DataFrame, row: int, target: str) -> AnnotationItem:
    """One unlabelled row with its values and the model's guess (see :func:`read_annotation_order`)."""
    if row not in order.index:
        raise InputError("label_review.error.bad_row", row=str(row), rows=len(frame))
    entry = order.loc[[row]].to_dict("records")[0]
    return AnnotationItem(
        row=int(row),
        uncertainty=float(entry["uncertainty"]),
        predicted_label=entry["predicted_label"],
        confidence=float(entry["confidence"]),
        probabilities=_probabilities(entry, [c for c in order.columns if str(c).startswith("probability_")]),
        values=row_values(frame, row, hide=[target]),
    )


def agreement_table(decisions: Sequence[DecisionRecord], *, rows: Iterable[int] | None = None) -> pd.DataFrame:
    """Rows two or more reviewers decided, disagreements first (see :func:`decision_agreement`).

    Only rows in ``rows`` when given (e.g. the labelled rows of a run).
    """
    keep = None if rows is None else {int(r) for r in rows}
    by_reviewer: dict[str, dict[Hashable, LabelDecision]] = {}
    for d in decisions:
        if keep is None or d.row in keep:
            by_reviewer.setdefault(d.reviewer, {})[d.row] = d.decision
    table = decision_agreement(by_reviewer)
    table.index.name = "row"
    return table


# --------------------------------------------------------------------------- table editing


def _decision_text(action: str | None, lang: str) -> str | None:
    return translate(f"labeling.action.{action}", lang) if action else None


def decision_editor_frame(
    ranked: pd.DataFrame,
    mine: Sequence[DecisionRecord],
    *,
    lang: str,
    scope: str = "flagged",
    limit: int | None = 200,
) -> pd.DataFrame:
    """The review queue as an editable table: one row per suspect with the reviewer's decision so far.

    Columns: ``row``, ``given``, ``suggested``, ``score`` (read only), then ``action`` (one of
    :data:`~mlcore.data.labeling.ACTIONS` or empty), ``new_label`` (class as text or empty),
    ``comment``, and ``reason`` (read only).
    """
    shown = suspects_frame(ranked, lang=lang, scope=scope, limit=limit)
    by_row = {d.row: d for d in mine}
    shown["action"] = [by_row[r].action if r in by_row else None for r in shown["row"]]
    shown["new_label"] = [
        str(by_row[r].new_label) if r in by_row and by_row[r].new_label is not None else None for r in shown["row"]
    ]
    shown["comment"] = [by_row[r].comment if r in by_row else "" for r in shown["row"]]
    return shown[["row", "given", "suggested", "score", "action", "new_label", "comment", "reason"]]


def annotation_editor_frame(
    order: pd.DataFrame, mine: Sequence[DecisionRecord], *, limit: int | None = 200
) -> pd.DataFrame:
    """Unlabelled rows as an editable table: ``row``, ``predicted``, ``confidence``, ``uncertainty``,
    then ``action``, ``new_label`` and ``comment`` as the annotator left them."""
    shown = order if limit is None else order.iloc[:limit]
    by_row = {d.row: d for d in mine}
    rows = [int(r) for r in shown.index]
    return pd.DataFrame(
        {
            "row": rows,
            "predicted": shown["predicted_label"].astype(str).to_numpy(),
            "confidence": shown["confidence"].to_numpy(dtype=np.float64),
            "uncertainty": shown["uncertainty"].to_numpy(dtype=np.float64),
            "action": [by_row[r].action if r in by_row else None for r in rows],
            "new_label": [
                str(by_row[r].new_label) if r in by_row and by_row[r].new_label is not None else None for r in rows
            ],
            "comment": [by_row[r].comment if r in by_row else "" for r in rows],
        }
    )


@dataclass(frozen=True)
class EditedDecision:
    """A decision typed into the table, with the version of the reviewer's decision it replaces."""

    row: int
    decision: LabelDecision
    expected_version: int


def decisions_from_editor(
    before: pd.DataFrame,
    edited: pd.DataFrame,
    *,
    mine: Sequence[DecisionRecord],
    default_label_column: str = "suggested",
) -> tuple[list[EditedDecision], list[tuple[int, InputError]]]:
    """The decisions a reviewer changed in the table, ready for :func:`save_decision`.

    A row counts when its ``action``, ``new_label`` or ``comment`` changed and it has an action.
    A ``relabel`` without a new class takes the row's ``default_label_column`` (the suggested or
    predicted label); a class given with another action is ignored.

    Returns
    -------
    (list of EditedDecision, list of (row, InputError))
        The valid changed decisions, and the rows whose input is refused (e.g. a comment too
        long), with the reason.

    Examples
    --------
    >>> before = pd.DataFrame({"row": [4, 9], "suggested": ["1", "0"], "action": [None, None],
    ...                        "new_label": [None, None], "comment": ["", ""]})
    >>> edited = before.assign(action=["relabel", None])
    >>> changed, problems = decisions_from_editor(before, edited, mine=[])
    >>> [(d.row, d.decision.describe(), d.expected_version) for d in changed], problems
    ([(4, 'relabel:1', 0)], [])
    """
    versions = {d.row: d.version for d in mine}
    out: list[EditedDecision] = []
    problems: list[tuple[int, InputError]] = []
    fields = ["action", "new_label", "comment"]
    old = before.set_index("row")[fields]
    for record in edited.to_dict("records"):
        row = int(record["row"])
        action, label, comment = (
            _cell(record.get("action")),
            _cell(record.get("new_label")),
            _cell(record.get("comment")),
        )
        if row in old.index:
            previous = old.loc[row]
            if [_cell(previous["action"]), _cell(previous["new_label"]), _cell(previous["comment"])] == [
                action,
                label,
                comment,
            ]:
                continue
        if action is None:
            continue
        if action == "relabel" and label is None:
            label = _cell(record.get(default_label_column))
        if action != "relabel":
            label = None
        try:
            decision = LabelDecision(action, new_label=label, comment=comment or "")  # type: ignore[arg-type]
        except InputError as exc:
            problems.append((row, exc))
            continue
        out.append(EditedDecision(row=row, decision=decision, expected_version=versions.get(row, 0)))
    return out, problems


def _cell(value: Any) -> str | None:
    """An edited cell as text, empty cells (None, NaN, "") as None."""
    if value is None or _missing(value):
        return None
    text = str(value)
    return text if text else None


# --------------------------------------------------------------------------- applying decisions


@dataclass(frozen=True)
class ApplyPlan:
    """What applying a run's decisions would do, before it is done.

    Attributes
    ----------
    rule : {"consensus", "latest"}
    part : {"review", "annotation"}
    decisions : dict of int to LabelDecision
        The resolved decision per row (``keep`` included; ``unsure``-only rows left out).
    counts : dict of str to int
        Rows per resolved action (``keep``, ``relabel``, ``exclude``), plus ``skipped`` and
        ``unsure`` (rows only marked unsure).
    skipped : tuple of int
        Rows left unchanged because reviewers disagree (``consensus``) or no one allowed to
        apply labels decided them (``latest``).
    disagreements : pandas.DataFrame
        :func:`agreement_table` for rows where reviewers differ, plus ``applied``: the decision
        used (as :meth:`~mlcore.data.labeling.LabelDecision.describe`, or None when skipped).
    reviewers : dict of int to tuple of str
        Who decided each resolved row.
    n_rows_before, n_rows_after : int
    applied_as : str or None
        The label of the version already made from exactly these decisions, if there is one
        (applying again is refused).
    """

    rule: str
    part: str
    decisions: dict[int, LabelDecision]
    counts: dict[str, int]
    skipped: tuple[int, ...]
    disagreements: pd.DataFrame
    reviewers: dict[int, tuple[str, ...]]
    n_rows_before: int
    n_rows_after: int
    applied_as: str | None = None

    def decisions_json(self) -> bytes:
        """Every resolved row's action, new class and reviewers, as stored with the new version."""
        per_row = [
            {
                "row": row,
                "action": d.action,
                "new_label": _native(d.new_label),
                "reviewers": list(self.reviewers.get(row, ())),
            }
            for row, d in sorted(self.decisions.items())
        ]
        return json.dumps(per_row, ensure_ascii=False, default=str).encode("utf-8")

    @property
    def n_changes(self) -> int:
        """Rows whose label changes or that are dropped."""
        return self.counts.get("relabel", 0) + self.counts.get("exclude", 0)


def _part_rows(store: ArtifactStore, run: IssueRun, part: str) -> set[int]:
    if part == "review":
        return set(store.read_table(run.ranked_sha256, columns=["row"]).column("row").to_pylist())
    if run.annotation_sha256 is None:
        return set()
    return set(store.read_table(run.annotation_sha256, columns=["row"]).column("row").to_pylist())


def plan_apply(
    *,
    session: Session,
    store: ArtifactStore,
    project_id: int,
    run_id: int,
    rule: str = "consensus",
    part: str = "review",
) -> ApplyPlan:
    """Resolve the run's decisions with ``rule`` (see :data:`RULES`) and say what would change.

    Raises
    ------
    NotFound
        If the run is not in the project.
    InputError
        ``label_review.error.bad_rule`` or ``label_review.error.bad_part``.
    """
    if rule not in RULES:
        raise InputError("label_review.error.bad_rule", rule=str(rule), allowed=", ".join(RULES))
    if part not in PARTS:
        raise InputError("label_review.error.bad_part", part=str(part), allowed=", ".join(PARTS))
    run = get_issue_run(session=session, run_id=run_id, project_id=project_id)
    rows = _part_rows(store, run, part)
    records = [d for d in list_decisions(session=session, run_id=run_id) if d.row in rows]
    may_apply: dict[int, bool] = {}
    if rule == "latest":
        for reviewer_id in {d.reviewer_id for d in records}:
            may_apply[reviewer_id] = can(
                session=session, user=session.get(User, reviewer_id), action="labels.apply", project_id=project_id
            )
    by_row: dict[int, list[DecisionRecord]] = {}
    for d in records:
        by_row.setdefault(d.row, []).append(d)
    resolved: dict[int, LabelDecision] = {}
    reviewers: dict[int, tuple[str, ...]] = {}
    skipped: list[int] = []
    unsure = 0
    for row, decided in sorted(by_row.items()):
        firm = [d for d in decided if d.action != "unsure"]
        if not firm:
            unsure += 1
            continue
        if rule == "consensus":
            if len({d.decision.describe() for d in firm}) > 1:
                skipped.append(row)
                continue
            chosen = firm[-1]
        else:
            allowed = [d for d in firm if may_apply.get(d.reviewer_id)]
            if not allowed:
                skipped.append(row)
                continue
            chosen = max(allowed, key=lambda d: (d.decided_at, d.version))
        resolved[row] = LabelDecision(chosen.action, new_label=chosen.new_label)  # type: ignore[arg-type]
        reviewers[row] = tuple(d.reviewer for d in firm)
    counts = {a: 0 for a in ACTIONS if a != "unsure"}
    for decision in resolved.values():
        counts[decision.action] += 1
    counts["skipped"], counts["unsure"] = len(skipped), unsure
    table = agreement_table(records)
    if not table.empty:
        table = table[~table["agree"]].copy()
        table["applied"] = [resolved[r].describe() if r in resolved else None for r in table.index]
    total = run.n_rows + run.n_unlabeled
    plan = ApplyPlan(
        rule=rule,
        part=part,
        decisions=resolved,
        counts=counts,
        skipped=tuple(skipped),
        disagreements=table,
        reviewers=reviewers,
        n_rows_before=total,
        n_rows_after=total - counts["exclude"],
    )
    digest = hashlib.sha256(plan.decisions_json()).hexdigest()
    made = session.exec(
        select(DatasetVersion).where(
            DatasetVersion.parent_id == run.version_id, DatasetVersion.operation == _OPERATIONS[part]
        )
    ).all()
    for version in made:
        if version.recipe.get("run_id") == run.id and version.recipe.get("decisions_sha256") == digest:
            return replace(plan, applied_as=get_version(session=session, version_id=version.id or 0).label)
    return plan


def _derived_table(table: pa.Table, target: str, result: pd.DataFrame) -> pa.Table:
    """``table`` keeping the rows of ``result`` (by position), with its target values."""
    kept = pa.array(result.index.to_numpy(dtype=np.int64))
    taken = table.take(kept)
    field = table.schema.field(target)
    values = [None if _missing(v) else _native(v) for v in result[target]]
    try:
        column = pa.array(values, type=field.type)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        column = pa.array([None if v is None else str(v) for v in values], type=pa.string())
        field = field.with_type(pa.string())
    index = taken.schema.get_field_index(target)
    return taken.set_column(index, field, column)


def _save_version(
    *,
    engine: Engine,
    store: ArtifactStore,
    project_id: int,
    parent: VersionSummary,
    table: pa.Table,
    actor_id: int,
    operation: str,
    recipe: dict[str, Any],
) -> int:
    """Record ``table`` as the next version of the parent's dataset (retried when a number race is lost)."""
    ref = store.put_table(table)
    roles = {str(c["name"]): str(c.get("role") or "") for c in parent.columns}
    last_error: Exception | None = None
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                actor = session.get(User, actor_id)
                version = create_version(
                    session=session,
                    project_id=project_id,
                    dataset_name=parent.dataset,
                    ref=ref,
                    table_schema=table.schema,
                    n_rows=table.num_rows,
                    roles={k: v for k, v in roles.items() if v},
                    target=parent.target,
                    operation=operation,
                    actor=actor,  # type: ignore[arg-type]
                    recipe=recipe,
                    source={"format": "derived", "encoding": None, "delimiter": None},
                    parent_id=parent.id,
                    action="labels.apply",
                )
                record_event(
                    session=session,
                    actor=actor,
                    action=f"labels.{operation}",
                    object_type="dataset_version",
                    object_id=version.id or 0,
                    project_id=project_id,
                    after={k: v for k, v in recipe.items() if not isinstance(v, dict | list)} | recipe["counts"],
                )
                return version.id or 0
        except (IntegrityError, OperationalError) as exc:  # lost a race for the version number
            last_error = exc
            time.sleep(0.05 * (attempt + 1))
    raise ConflictError("errors.import_conflict", detail=type(last_error).__name__)


def _apply(
    *, engine: Engine, store: ArtifactStore, project_id: int, run_id: int, actor_id: int, rule: str, part: str
) -> VersionSummary:
    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="labels.apply", project_id=project_id)
        run = get_issue_run(session=session, run_id=run_id, project_id=project_id)
        parent = _version_in_project(session, project_id=project_id, version_id=run.version_id)
        plan = plan_apply(session=session, store=store, project_id=project_id, run_id=run_id, rule=rule, part=part)
    if plan.n_changes == 0:
        raise InputError("label_review.error.nothing_to_apply", skipped=len(plan.skipped))
    if plan.applied_as is not None:
        raise InputError("label_review.error.already_applied", label=plan.applied_as)
    table = read_version(store=store, version=parent)
    target = _target_values(table, run.target)
    frame = pd.DataFrame({run.target: target})
    decisions: dict[Hashable, LabelDecision] = {row: d for row, d in plan.decisions.items()}
    result = apply_label_decisions(frame, target=run.target, decisions=decisions, allowed_labels=run.classes)
    decisions_ref = store.put_bytes(plan.decisions_json())
    with session_scope(engine) as session:
        register_artifact(session=session, ref=decisions_ref, kind="json", actor_id=actor_id)
    recipe = {
        "run_id": run.id,
        "rule": rule,
        "decisions_sha256": decisions_ref.sha256,
        "counts": dict(plan.counts),
        "skipped_rows": list(plan.skipped[:200]),
        "rows_before": plan.n_rows_before,
        "rows_after": len(result),
    }
    version_id = _save_version(
        engine=engine,
        store=store,
        project_id=project_id,
        parent=parent,
        table=_derived_table(table, run.target, result),
        actor_id=actor_id,
        operation=_OPERATIONS[part],
        recipe=recipe,
    )
    with session_scope(engine) as session:
        return get_version(session=session, version_id=version_id)


def apply_review(
    *,
    engine: Engine,
    store: ArtifactStore,
    project_id: int,
    run_id: int,
    actor_id: int,
    rule: str = "consensus",
) -> VersionSummary:
    """Apply the reviewers' decisions on labelled rows as a new version of the reviewed dataset.

    The new version's parent is the reviewed version, its operation ``label_decisions`` and its
    recipe records the run, the rule, the counts, the skipped rows and the SHA-256 of a JSON
    artifact listing every applied row's action, new class and reviewers. Relabelled rows get the
    new class, excluded rows are dropped, ``keep`` and ``unsure`` change nothing; disagreements
    are resolved by ``rule`` (see :data:`RULES` and :func:`plan_apply`).

    Raises
    ------
    PermissionDenied
        Without ``labels.apply`` in the project.
    NotFound
        If the run is not in the project.
    InputError
        ``label_review.error.nothing_to_apply`` when no row would change,
        ``label_review.error.already_applied`` when a version was already made from exactly these
        decisions, ``label_review.error.bad_rule``.
    """
    return _apply(
        engine=engine, store=store, project_id=project_id, run_id=run_id, actor_id=actor_id, rule=rule, part="review"
    )


def apply_annotations(
    *,
    engine: Engine,
    store: ArtifactStore,
    project_id: int,
    run_id: int,
    actor_id: int,
    rule: str = "consensus",
) -> VersionSummary:
    """Write the labels annotators gave to unlabelled rows as a new version (operation ``annotation``).

    Rows nobody labelled keep their missing target; an ``exclude`` drops the row. Recipe and
    rules as in :func:`apply_review`.

    Raises
    ------
    PermissionDenied
        Without ``labels.apply`` in the project.
    NotFound
        If the run is not in the project.
    InputError
        ``label_review.error.nothing_to_apply`` when no row was labelled.
    """
    return _apply(
        engine=engine,
        store=store,
        project_id=project_id,
        run_id=run_id,
        actor_id=actor_id,
        rule=rule,
        part="annotation",
    )


# --------------------------------------------------------------------------- effect of the decisions


@dataclass(frozen=True)
class LabelEffect:
    """Cross-validated score of the same model with the labels before and after a review."""

    version_id: int
    metric: str
    before: float
    after: float
    n_rows_before: int
    n_rows_after: int
    job_id: int


def submit_label_effect(
    *, engine: Engine, settings: Settings, project_id: int, version_id: int, actor_id: int, launch: bool = True
) -> int:
    """Queue (and start) the before/after cross-validated metric of a ``label_decisions`` version.

    Raises
    ------
    PermissionDenied
        Without ``labels.detect`` in the project (it trains models).
    NotFound
        If the version is not in the project.
    InputError
        ``label_review.error.not_a_review_version`` unless the version applied label decisions.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="labels.detect", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=version_id)
        if version.operation != "label_decisions" or "run_id" not in version.recipe:
            raise InputError("label_review.error.not_a_review_version", label=version.label)
        match = {"mode": "effect", "version_id": version_id}
        running = active_job(session, kind="label_issues", project_id=project_id, match=match)
        if running is not None:
            return running
        job = submit_job(
            session=session,
            kind="label_issues",
            params={"project_id": project_id, "actor_id": actor_id, **match},
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


def _effect(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action="labels.detect", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=int(params["version_id"]))
        run = get_issue_run(session=session, run_id=int(version.recipe["run_id"]), project_id=project_id)
        parent = _version_in_project(session, project_id=project_id, version_id=run.version_id)
    ctx.progress(0.05, "label_review.progress.reading", label=parent.label)
    table = read_version(store=store, version=parent)
    labels = _target_values(table, run.target)
    labelled = labels.notna().to_numpy()
    X = table.select(list(run.features)).to_pandas()[labelled]
    before = labels[labelled].infer_objects()
    applied = json.loads(store.read_bytes(str(version.recipe["decisions_sha256"])).decode("utf-8"))
    decisions: dict[Hashable, LabelDecision] = {
        int(d["row"]): LabelDecision(d["action"], new_label=_class_of(_text(d["new_label"]), run.classes))
        for d in applied
        if int(d["row"]) in before.index
    }
    after = apply_label_decisions(
        before.to_frame(run.target), target=run.target, decisions=decisions, allowed_labels=run.classes
    )[run.target].infer_objects()
    ctx.progress(0.1, "label_review.progress.effect")
    score_before, score_after = cv_metric_before_after(X, before, after, cv=run.cv)
    return {
        "label": version.label,
        "n_rows": len(after),
        "metric": "balanced_accuracy",
        "before": score_before,
        "after": score_after,
        "rows_before": len(before),
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def label_effect(*, session: Session, project_id: int, version_id: int) -> LabelEffect | None:
    """The latest finished before/after measurement of a ``label_decisions`` version, if any."""
    jobs = session.exec(
        select(Job)
        .where(Job.kind == "label_issues", Job.project_id == project_id, Job.status == "succeeded")
        .order_by(col(Job.id).desc())
    ).all()
    for job in jobs:
        if job.params.get("mode") == "effect" and job.params.get("version_id") == version_id:
            result = dict(job.result)
            return LabelEffect(
                version_id=version_id,
                metric=str(result.get("metric", "balanced_accuracy")),
                before=float(result["before"]),
                after=float(result["after"]),
                n_rows_before=int(result.get("rows_before", 0)),
                n_rows_after=int(result.get("n_rows", 0)),
                job_id=job.id or 0,
            )
    return None
