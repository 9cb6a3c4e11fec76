"""Interpretation records: the ``explain`` job and the explanations it stores, the choices and views of the
interpretation page, and domain experts' reviews of what each feature's learned effect looks like.

An explanation is computed once per model (by its SHA-256), dataset version, set of rows, row cap, seed
and class, stored as one Parquet artifact (:meth:`~mlcore.modeling.explain.Explanation.to_table`) and
reused: asking again returns the stored one without a job. The computations live in
:mod:`mlcore.modeling.explain`, :mod:`mlcore.modeling.explain_views` and :mod:`mlcore.modeling.explain_text`.

Rows are identified by the version's identifier column when its values are unique among the explained
rows, otherwise by their position in the dataset version (as in :mod:`mlcore.modeling.tracking`); an
identifier whose values repeat can still be used to find rows, which may then be several.

Expert reviews are kept per model candidate, feature and reviewer, checked against a version number (a
save over a newer one is refused), recorded in the audit trail, and every saved state is kept.
:func:`open_concerns` lists the features an expert found implausible or was unsure about, for the
evaluation page and the model card.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from mlcore.artifacts import ArtifactStore, register_artifact
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data.understanding import version_roles
from mlcore.data.versions import VersionSummary, get_version, list_versions, read_version, version_in_project
from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import ACTIVE, JobCancelled, JobContext, job_kind
from mlcore.markdown import md_escape
from mlcore.modeling.explain import DEFAULT_MAX_ROWS, ExplainCancelled, Explanation, WhatIf, explain, what_if
from mlcore.modeling.explain_text import explanation_sentence, format_effect, format_number, format_percent
from mlcore.modeling.explain_views import LocalExplanation, importance_frame, local_explanation

# The rows a run trained on are rebuilt exactly as training built them (same labelled rows, same test
# rows left out), so tracking's helpers are shared rather than copied.
from mlcore.modeling.tracking import (
    CandidateRecord,
    RunRecord,
    _labelled,
    _training_rows,
    get_candidate,
    list_registry,
    load_model,
    read_test_rows,
    run_detail,
    training_runs,
)
from mlcore.store.engine import session_scope
from mlcore.store.models import Dataset, DatasetVersion, Job, User, utcnow
from mlcore.store.models_interpretation import ExpertReview, ExpertReviewChange, ModelExplanation
from mlcore.store.models_modeling import RunCandidate, TrainingRun

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

__all__ = [
    "COMMENT_MAX",
    "CONCERN_VERDICTS",
    "LOOKUPS",
    "MAX_ROWS_LIMIT",
    "REVIEW_FEATURES",
    "SUBSETS",
    "VERDICTS",
    "Concern",
    "DataChoice",
    "ExplainRequest",
    "ExplanationRecord",
    "LocalView",
    "ModelChoice",
    "ReviewChange",
    "ReviewFeature",
    "ReviewRecord",
    "RowOption",
    "RowShortlist",
    "WhatIfField",
    "WhatIfView",
    "contributions_frame",
    "data_choices",
    "explain_job",
    "explained_model",
    "find_explanation",
    "find_rows",
    "get_explanation",
    "list_explanations",
    "list_reviews",
    "local_view",
    "lookup_modes",
    "model_choices",
    "open_concerns",
    "outcome_name",
    "prediction_shortlist",
    "read_explanation",
    "request_explanation",
    "review_features",
    "review_history",
    "reviews_frame",
    "row_identifiers",
    "row_label",
    "save_review",
    "what_if_changes",
    "what_if_fields",
    "what_if_view",
]

SUBSETS: tuple[str, ...] = ("training", "all")
"""Which rows of the dataset version are explained: ``training`` the rows the run trained on (its own
version only: labelled rows, without the locked test rows), ``all`` every row."""
VERDICTS: tuple[str, ...] = ("plausible", "implausible", "unsure")
CONCERN_VERDICTS: tuple[str, ...] = ("implausible", "unsure")
"""Verdicts that make a feature an open concern (:func:`open_concerns`); they need a comment saying why."""
LOOKUPS: tuple[str, ...] = ("identifier", "position")
MAX_ROWS_LIMIT = 20_000
"""Largest row cap a user may ask for (tree explanations of 20,000 rows take tens of seconds)."""
COMMENT_MAX = 2000
REVIEW_FEATURES = 10
"""How many of the most important features are offered for review by default."""
_BASELINE = "dummy"
_SAVE_ATTEMPTS = 4
_MAX_SHORTLIST = 50


def _t(key: str, lang: str, **params: Any) -> str:
    return translate(key, lang, **params)


def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.name) if user is not None else ""


_version_in_project = version_in_project


def _candidate_and_run(session: Session, project_id: int, candidate_id: int) -> tuple[CandidateRecord, RunRecord]:
    candidate = get_candidate(session=session, project_id=project_id, candidate_id=candidate_id)
    run = run_detail(session=session, project_id=project_id, run_id=candidate.run_id).run
    return candidate, run


def _family_name(family: str, lang: str) -> str:
    return _t(f"modeling.family.{family}", lang)


# --------------------------------------------------------------------------- what can be explained


@dataclass(frozen=True)
class ModelChoice:
    """A model the interpretation page offers: a trained candidate, or a registered model version.

    Attributes
    ----------
    key : str
        ``candidate:<id>`` or ``registered:<model version id>`` (unique among the choices).
    candidate_id, run_id : int
    family, label : str
        ``label`` in the language asked for.
    task_type, target : str
    version_id : int
        The dataset version the run trained on.
    version_label : str
    model_sha256 : str
    model_version_id : int or None
    ref, stage : str
        ``churn@2`` and its stage for a registered version (empty for a candidate).
    """

    key: str
    candidate_id: int
    run_id: int
    family: str
    label: str
    task_type: str
    target: str
    version_id: int
    version_label: str
    model_sha256: str
    model_version_id: int | None = None
    ref: str = ""
    stage: str = ""


def model_choices(*, session: Session, project_id: int, lang: str = "en") -> list[ModelChoice]:
    """Registered model versions (production first, then newest), then every candidate of the project's runs
    (newest run first). Baselines are left out: they ignore the inputs, so there is nothing to explain.

    Examples
    --------
    >>> from mlcore.store.engine import make_engine, upgrade_database
    >>> engine = make_engine("sqlite://")
    >>> upgrade_database(engine)
    >>> with session_scope(engine) as s:
    ...     model_choices(session=s, project_id=1)
    []
    """
    runs = {r.id: r for r in training_runs(session=session, project_id=project_id)}
    if not runs:
        return []
    rows = session.exec(
        select(RunCandidate)
        .where(col(RunCandidate.run_id).in_(list(runs)), RunCandidate.family != _BASELINE)
        .order_by(col(RunCandidate.run_id).desc(), col(RunCandidate.position))
    ).all()
    out: list[ModelChoice] = []
    registered = [v for m in list_registry(session=session, project_id=project_id) for v in m.versions]
    order = {"production": 0, "staging": 1, "candidate": 2, "archived": 3}
    registered.sort(key=lambda v: (order.get(v.stage, 9), -v.id))
    for v in registered:
        run = runs.get(v.run_id)
        if run is None or v.family == _BASELINE:
            continue
        out.append(
            ModelChoice(
                key=f"registered:{v.id}",
                candidate_id=v.candidate_id,
                run_id=v.run_id,
                family=v.family,
                label=_t(
                    "interpret.model.registered",
                    lang,
                    ref=v.ref,
                    stage=_t(f"tracking.stage.{v.stage}", lang),
                    family=_family_name(v.family, lang),
                    run=v.run_id,
                ),
                task_type=run.task_type,
                target=run.target,
                version_id=run.version_id,
                version_label=run.version_label,
                model_sha256=v.model_sha256,
                model_version_id=v.id,
                ref=v.ref,
                stage=v.stage,
            )
        )
    for row in rows:
        run = runs[row.run_id]
        out.append(
            ModelChoice(
                key=f"candidate:{row.id}",
                candidate_id=row.id or 0,
                run_id=row.run_id,
                family=row.family,
                label=_t(
                    "interpret.model.candidate",
                    lang,
                    run=row.run_id,
                    family=_family_name(row.family, lang),
                    version=run.version_label,
                ),
                task_type=run.task_type,
                target=run.target,
                version_id=run.version_id,
                version_label=run.version_label,
                model_sha256=row.model_sha256,
            )
        )
    return out


@dataclass(frozen=True)
class DataChoice:
    """Rows to explain: a dataset version and which of its rows.

    Attributes
    ----------
    key : str
        ``<version id>:<subset>``.
    version_id : int
    subset : str
        One of :data:`SUBSETS`.
    n_rows : int
        Rows available (the cap may explain fewer).
    label : str
    """

    key: str
    version_id: int
    subset: str
    n_rows: int
    label: str


def data_choices(*, session: Session, project_id: int, candidate_id: int, lang: str = "en") -> list[DataChoice]:
    """The rows a candidate can be explained on: its run's training rows (the default), all rows of that
    version, then every other version of the project that has all the model's input columns.

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    _, run = _candidate_and_run(session, project_id, candidate_id)
    versions = list_versions(session=session, project_id=project_id)
    out = []
    for v in versions:
        if v.id != run.version_id:
            continue
        out.append(
            DataChoice(
                f"{v.id}:training",
                v.id,
                "training",
                run.n_train_rows,
                _t("interpret.data.training", lang, label=v.label, rows=format_number(run.n_train_rows, lang)),
            )
        )
        out.append(
            DataChoice(
                f"{v.id}:all",
                v.id,
                "all",
                v.n_rows,
                _t("interpret.data.all", lang, label=v.label, rows=format_number(v.n_rows, lang)),
            )
        )
    for v in versions:
        names = {str(c.get("name")) for c in v.columns}
        if v.id == run.version_id or not set(run.features) <= names:
            continue
        out.append(
            DataChoice(
                f"{v.id}:all",
                v.id,
                "all",
                v.n_rows,
                _t("interpret.data.other", lang, label=v.label, rows=format_number(v.n_rows, lang)),
            )
        )
    return out


# --------------------------------------------------------------------------- stored explanations


@dataclass(frozen=True)
class ExplanationRecord:
    """One stored explanation (see :class:`~mlcore.store.models_interpretation.ModelExplanation`).

    Attributes
    ----------
    id, project_id, candidate_id : int
        ``candidate_id``: the candidate it was first computed for (another with the same model shares it).
    model_sha256 : str
    version_id : int
    version_label, version_sha256 : str
    version_rows : int
        Rows in the dataset version (positions run from 0 to ``version_rows - 1``).
    subset : str
    max_rows, seed : int
    class_label : str
        The class explained, as text (empty for regression).
    artifact_sha256 : str
    explainer, model, output_space : str
    n_rows, n_available : int
    seconds : float
    id_column : str or None
        The identifier column the rows are indexed by (None: positions in the version).
    duplicate_id_column : str or None
        The version's identifier column when its values repeat (rows are positions then).
    target, task_type : str
    job_id : int or None
    created_by : str
    created_at : datetime
    """

    id: int
    project_id: int
    candidate_id: int
    model_sha256: str
    version_id: int
    version_label: str
    version_sha256: str
    version_rows: int
    subset: str
    max_rows: int
    seed: int
    class_label: str
    artifact_sha256: str
    explainer: str
    model: str
    output_space: str
    n_rows: int
    n_available: int
    seconds: float
    id_column: str | None
    duplicate_id_column: str | None
    target: str
    task_type: str
    job_id: int | None
    created_by: str
    created_at: datetime

    @property
    def capped(self) -> bool:
        return self.n_rows < self.n_available

    def rows_text(self, lang: str = "en") -> str:
        """``Explained 2,000 of 16,000 rows (a random sample: at most 2,000).``"""
        if self.capped:
            return _t(
                "explain.rows_used",
                lang,
                rows=format_number(self.n_rows, lang),
                total=format_number(self.n_available, lang),
                max_rows=format_number(self.max_rows, lang),
            )
        return _t("explain.rows_all", lang, rows=format_number(self.n_rows, lang))

    def explainer_text(self, lang: str = "en") -> str:
        """Which SHAP explainer was used, in words."""
        return _t(f"explain.explainer.{self.explainer}", lang)

    def summary(self, lang: str = "en") -> str:
        """One line: rows, explainer, data, time, who and when."""
        return _t(
            "interpret.record.summary",
            lang,
            rows=self.rows_text(lang),
            explainer=self.explainer_text(lang),
            data=self.data_text(lang),
            seconds=format_number(round(self.seconds, 1), lang),
            who=self.created_by,
            when=f"{self.created_at:%Y-%m-%d %H:%M}",
        )

    def data_text(self, lang: str = "en") -> str:
        key = "interpret.record.training" if self.subset == "training" else "interpret.record.all"
        return _t(key, lang, label=self.version_label)


def _record_rows(session: Session, *conditions: Any) -> list[ExplanationRecord]:
    stmt = (
        select(ModelExplanation, DatasetVersion, Dataset.name, TrainingRun)
        .join(DatasetVersion, col(DatasetVersion.id) == col(ModelExplanation.dataset_version_id))
        .join(Dataset, col(Dataset.id) == col(DatasetVersion.dataset_id))
        .join(RunCandidate, col(RunCandidate.id) == col(ModelExplanation.candidate_id))
        .join(TrainingRun, col(TrainingRun.id) == col(RunCandidate.run_id))
        .where(*conditions)
        .order_by(col(ModelExplanation.id).desc())
    )
    out = []
    for row, version, name, run in session.exec(stmt).all():
        out.append(
            ExplanationRecord(
                id=row.id or 0,
                project_id=row.project_id,
                candidate_id=row.candidate_id,
                model_sha256=row.model_sha256,
                version_id=row.dataset_version_id,
                version_label=f"{name} v{version.number}",
                version_sha256=version.artifact_sha256,
                version_rows=version.n_rows,
                subset=row.subset,
                max_rows=row.max_rows,
                seed=row.seed,
                class_label=row.class_label,
                artifact_sha256=row.artifact_sha256,
                explainer=row.explainer,
                model=row.model,
                output_space=row.output_space,
                n_rows=row.n_rows,
                n_available=row.n_available,
                seconds=row.seconds,
                id_column=row.id_column,
                duplicate_id_column=row.duplicate_id_column,
                target=run.target,
                task_type=run.task_type,
                job_id=row.job_id,
                created_by=_user_name(session, row.created_by_id),
                created_at=row.created_at,
            )
        )
    return out


def get_explanation(*, session: Session, project_id: int, explanation_id: int) -> ExplanationRecord:
    """One stored explanation of the project.

    Raises
    ------
    NotFound
        ``interpret.explanation_not_found``.
    """
    found = _record_rows(session, ModelExplanation.id == explanation_id, ModelExplanation.project_id == project_id)
    if not found:
        raise NotFound("interpret.explanation_not_found", explanation_id=explanation_id)
    return found[0]


def list_explanations(*, session: Session, project_id: int, candidate_id: int) -> list[ExplanationRecord]:
    """Every stored explanation of the candidate's model (by its SHA-256), newest first.

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    candidate = get_candidate(session=session, project_id=project_id, candidate_id=candidate_id)
    return _record_rows(
        session, ModelExplanation.project_id == project_id, ModelExplanation.model_sha256 == candidate.model_sha256
    )


@dataclass(frozen=True)
class _Key:
    """What identifies a stored explanation (the row cap is cut to the rows available)."""

    project_id: int
    candidate: CandidateRecord
    run: RunRecord
    version: VersionSummary
    subset: str
    max_rows: int
    seed: int
    class_label: Any
    class_key: str
    n_available: int

    def conditions(self) -> tuple[Any, ...]:
        return (
            ModelExplanation.project_id == self.project_id,
            ModelExplanation.model_sha256 == self.candidate.model_sha256,
            ModelExplanation.dataset_version_id == self.version.id,
            ModelExplanation.subset == self.subset,
            ModelExplanation.max_rows == self.max_rows,
            ModelExplanation.seed == self.seed,
            ModelExplanation.class_key == self.class_key,
        )

    def params(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "candidate_id": self.candidate.id,
            "version_id": self.version.id,
            "subset": self.subset,
            "max_rows": self.max_rows,
            "seed": self.seed,
            "class_key": self.class_key,
        }


def _whole(value: Any, key: str, *, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InputError(key, value=str(value)[:40], minimum=minimum, maximum=maximum or "")
    if value < minimum or (maximum is not None and value > maximum):
        raise InputError(key, value=str(value)[:40], minimum=minimum, maximum=maximum or "")
    return int(value)


def _class_key(class_label: Any) -> str:
    if class_label is None:
        return ""
    if isinstance(class_label, np.generic):
        class_label = class_label.item()
    if not isinstance(class_label, str | int | float | bool):
        raise InputError("interpret.bad_class", value=str(class_label)[:80])
    return json.dumps(class_label)


def _key(
    session: Session,
    *,
    project_id: int,
    candidate_id: int,
    version_id: int | None,
    subset: str | None,
    max_rows: int,
    seed: int,
    class_label: Any,
) -> _Key:
    candidate, run = _candidate_and_run(session, project_id, candidate_id)
    if candidate.family == _BASELINE:
        raise InputError("interpret.baseline")
    version_id = run.version_id if version_id is None else version_id
    version = _version_in_project(session, project_id, version_id)
    subset = subset if subset is not None else ("training" if version.id == run.version_id else "all")
    if subset not in SUBSETS:
        raise InputError("interpret.bad_subset", subset=str(subset)[:40], choices=", ".join(SUBSETS))
    if subset == "training" and version.id != run.version_id:
        raise InputError("interpret.training_rows_elsewhere", label=run.version_label)
    names = {str(c.get("name")) for c in version.columns}
    missing = [f for f in run.features if f not in names]
    if missing:
        raise InputError(
            "interpret.version_missing_columns", label=version.label, columns=", ".join(m[:60] for m in missing[:10])
        )
    max_rows = _whole(max_rows, "interpret.bad_max_rows", minimum=1, maximum=MAX_ROWS_LIMIT)
    seed = _whole(seed, "interpret.bad_seed", minimum=0)
    if class_label is not None and run.task_type != "classification":
        raise InputError("explain.class_for_regression")
    n_available = run.n_train_rows if subset == "training" else version.n_rows
    if n_available <= 0:
        raise InputError("explain.empty")
    return _Key(
        project_id=project_id,
        candidate=candidate,
        run=run,
        version=version,
        subset=subset,
        max_rows=min(max_rows, n_available),
        seed=seed,
        class_label=class_label,
        class_key=_class_key(class_label),
        n_available=n_available,
    )


def find_explanation(
    *,
    session: Session,
    project_id: int,
    candidate_id: int,
    version_id: int | None = None,
    subset: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
    class_label: Any = None,
) -> ExplanationRecord | None:
    """The stored explanation for these settings (of this model, whichever candidate asked first), if any.

    A row cap above the rows available means all of them: 2,000 and 5,000 on 480 rows find the same one.
    Defaults as in :func:`request_explanation`.

    Raises
    ------
    NotFound, InputError
        As :func:`request_explanation`.
    """
    key = _key(
        session,
        project_id=project_id,
        candidate_id=candidate_id,
        version_id=version_id,
        subset=subset,
        max_rows=max_rows,
        seed=seed,
        class_label=class_label,
    )
    found = _record_rows(session, *key.conditions())
    return found[0] if found else None


@dataclass(frozen=True)
class ExplainRequest:
    """What asking for an explanation gave: the stored one (no job) or the job computing it.

    Attributes
    ----------
    record : ExplanationRecord or None
        Already stored for these settings: nothing is recomputed.
    job_id : int or None
        The job computing it (one already running for the same settings is reused).
    """

    record: ExplanationRecord | None
    job_id: int | None

    @property
    def cached(self) -> bool:
        return self.record is not None


def request_explanation(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    candidate_id: int,
    actor_id: int,
    version_id: int | None = None,
    subset: str | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    seed: int = 0,
    class_label: Any = None,
    launch: bool = True,
) -> ExplainRequest:
    """Return the stored explanation for these settings, or queue (and start) the ``explain`` job.

    The job loads the model (environment and file hash checked), reads the rows, explains at most
    ``max_rows`` of them (a random sample drawn with ``seed``) with the explainer
    :func:`~mlcore.modeling.explain.choose_explainer` picks, stores the explanation as one Parquet artifact
    and records it in one transaction at the end (a cancelled or failed job leaves nothing). Values seen in
    the run's training rows are what :func:`what_if_view` calls "seen in training". The job's result holds
    ``explanation_id``, ``label`` and ``n_rows``.

    Parameters
    ----------
    engine, settings
    project_id, candidate_id : int
    actor_id : int
        Needs ``interpret.explain`` in the project.
    version_id : int, optional
        Default: the version the candidate's run trained on.
    subset : {"training", "all"}, optional
        Default: ``training`` on the run's version, ``all`` elsewhere.
    max_rows : int, default 2000
        Between 1 and :data:`MAX_ROWS_LIMIT`.
    seed : int, default 0
    class_label : optional
        The class to explain (classification); default the positive class.
    launch : bool, default True
        Start the job's process (tests run it in-process with :func:`mlcore.jobs.run_job`).

    Raises
    ------
    PermissionDenied
        Without ``interpret.explain`` in the project.
    NotFound
        ``tracking.candidate_not_found``, ``errors.version_not_found``.
    InputError
        ``interpret.baseline``, ``interpret.bad_subset``, ``interpret.training_rows_elsewhere``,
        ``interpret.version_missing_columns``, ``interpret.bad_max_rows``, ``interpret.bad_seed``,
        ``interpret.bad_class``, ``explain.class_for_regression``.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="interpret.explain", project_id=project_id)
        key = _key(
            session,
            project_id=project_id,
            candidate_id=candidate_id,
            version_id=version_id,
            subset=subset,
            max_rows=max_rows,
            seed=seed,
            class_label=class_label,
        )
        found = _record_rows(session, *key.conditions())
        if found:
            return ExplainRequest(found[0], None)
        params = key.params()
        running = _active_job(session, project_id, key)
        if running is not None:
            return ExplainRequest(None, running)
        job = submit_job(
            session=session,
            kind="explain",
            params={**params, "actor_id": actor_id, "model_sha256": key.candidate.model_sha256},
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return ExplainRequest(None, job_id)


def _active_job(session: Session, project_id: int, key: _Key) -> int | None:
    jobs = session.exec(
        select(Job).where(Job.kind == "explain", Job.project_id == project_id, col(Job.status).in_(ACTIVE))
    ).all()
    for job in jobs:
        params = dict(job.params or {})
        same_model = params.get("model_sha256") == key.candidate.model_sha256
        if same_model and all(params.get(k) == v for k, v in key.params().items() if k != "candidate_id"):
            return job.id
    return None


# --------------------------------------------------------------------------- the job


@dataclass(frozen=True)
class _Rows:
    X: pd.DataFrame
    reference: pd.DataFrame
    id_column: str | None
    duplicate_id_column: str | None


def _training_frame(store: ArtifactStore, run: RunRecord, version: VersionSummary) -> pd.DataFrame:
    frame, y, _ = _labelled(read_version(store=store, version=version), run.target)
    X, _ = _training_rows(frame, y, target=run.target, test_rows=read_test_rows(store=store, run=run))
    return X


def _rows(
    store: ArtifactStore, run: RunRecord, version: VersionSummary, run_version: VersionSummary, subset: str
) -> _Rows:
    if subset == "training":
        frame = _training_frame(store, run, version)
        reference = frame
    else:
        frame = read_version(store=store, version=version).to_pandas(date_as_object=False)
        reference = _training_frame(store, run, run_version)
    features = list(run.features)
    ids = [c for c, role in version_roles(version).items() if role == "identifier" and c in frame.columns]
    id_column = duplicate = None
    X = frame[features]
    if ids:
        values = frame[ids[0]]
        if values.notna().all() and values.astype(str).is_unique:
            X = X.set_axis(pd.Index(values.astype(str).to_numpy(), name=ids[0]))
            id_column = ids[0]
        else:
            duplicate = ids[0]
    if id_column is None:
        X = X.set_axis(pd.Index(frame.index.to_numpy(dtype=np.int64)))
    return _Rows(X, reference[[c for c in features if c in reference.columns]], id_column, duplicate)


def _job_progress(ctx: JobContext, start: float, span: float) -> Any:
    def report(fraction: float, key: str, /, **params: Any) -> None:
        ctx.progress(start + span * fraction, key, **params)

    return report


def _parse_class(class_key: str) -> Any:
    return json.loads(class_key) if class_key else None


@job_kind("explain")
def explain_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: explain a candidate on some rows and store the explanation (see :func:`request_explanation`)."""
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action="interpret.explain", project_id=project_id)
        key = _key(
            session,
            project_id=project_id,
            candidate_id=int(params["candidate_id"]),
            version_id=int(params["version_id"]),
            subset=str(params["subset"]),
            max_rows=int(params["max_rows"]),
            seed=int(params["seed"]),
            class_label=_parse_class(str(params.get("class_key", ""))),
        )
        pipeline = load_model(session=session, store=store, candidate_id=key.candidate.id, project_id=project_id)
        run_version = get_version(session=session, version_id=key.run.version_id)
    ctx.progress(0.01, "interpret.progress.reading", label=key.version.label)
    rows = _rows(store, key.run, key.version, run_version, key.subset)
    try:
        explanation = explain(
            pipeline,
            rows.X,
            max_rows=key.max_rows,
            random_state=key.seed,
            class_label=key.class_label,
            reference=rows.reference,
            progress=_job_progress(ctx, 0.05, 0.9),
        )
    except ExplainCancelled:
        raise JobCancelled() from None
    ctx.progress(0.97, "interpret.progress.saving", rows=explanation.n_rows)  # the last chance to cancel
    # Written only now, after the last cancellation point: a cancelled job leaves no file behind.
    ref = store.put_table(explanation.to_table())
    row = dict(
        project_id=project_id,
        candidate_id=key.candidate.id,
        model_sha256=key.candidate.model_sha256,
        dataset_version_id=key.version.id,
        subset=key.subset,
        max_rows=key.max_rows,
        seed=key.seed,
        class_key=key.class_key,
        class_label="" if explanation.class_label is None else str(explanation.class_label)[:300],
        artifact_sha256=ref.sha256,
        explainer=explanation.explainer,
        model=explanation.model[:100],
        output_space=explanation.output_space,
        n_rows=explanation.n_rows,
        n_available=explanation.n_available,
        seconds=float(explanation.seconds),
        id_column=rows.id_column,
        duplicate_id_column=rows.duplicate_id_column,
        job_id=ctx.job_id,
        created_by_id=actor_id,
    )
    explanation_id = _save_explanation(ctx.engine, row=row, key=key, size=ref.size)
    return {
        "explanation_id": explanation_id,
        "label": key.version.label,
        "n_rows": explanation.n_rows,
        "explainer": explanation.explainer,
    }


def _save_explanation(engine: Engine, *, row: Mapping[str, Any], key: _Key, size: int) -> int:
    """Record the artifact, the explanation and the audit event in one transaction.

    Two jobs for the same settings may finish together: the second finds the first one's row (the
    unique key refuses a duplicate) and returns it.
    """
    from mlcore.artifacts import ArtifactRef

    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                actor = require(
                    session=session,
                    user=session.get(User, row["created_by_id"]),
                    action="interpret.explain",
                    project_id=key.project_id,
                )
                existing = session.exec(select(ModelExplanation.id).where(*key.conditions())).first()
                if existing is not None:
                    return int(existing)
                register_artifact(
                    session=session, ref=ArtifactRef(row["artifact_sha256"], size), kind="parquet", actor_id=actor.id
                )
                stored = ModelExplanation(**row)
                session.add(stored)
                session.flush()
                record_event(
                    session=session,
                    actor=actor,
                    action="interpret.explain",
                    object_type="model_explanation",
                    object_id=stored.id or 0,
                    project_id=key.project_id,
                    after={
                        "candidate": key.candidate.id,
                        "model_sha256": key.candidate.model_sha256,
                        "dataset": key.version.label,
                        "rows": key.subset,
                        "explained_rows": row["n_rows"],
                        "max_rows": key.max_rows,
                        "explainer": row["explainer"],
                    },
                )
                return stored.id or 0
        except IntegrityError:
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def read_explanation(*, store: ArtifactStore, record: ExplanationRecord) -> Explanation:
    """The stored explanation (its file's hash checked).

    Raises
    ------
    NotFound, ArtifactCorrupted
        If the file is missing or changed.
    InputError
        ``explain.bad_stored``.
    """
    explanation = Explanation.from_table(store.read_table(record.artifact_sha256))
    index = explanation.values.index
    if record.id_column is None and index.dtype.kind == "f":
        # Positions come back as floats when the file also holds background rows (whose row id is empty).
        positions = pd.Index(index.to_numpy().astype(np.int64), name=index.name)
        probabilities = explanation.probabilities
        explanation = replace(
            explanation,
            values=explanation.values.set_axis(positions),
            data=explanation.data.set_axis(positions),
            predictions=explanation.predictions.set_axis(positions),
            probabilities=None if probabilities is None else probabilities.set_axis(positions),
        )
    return explanation


def explained_model(*, session: Session, store: ArtifactStore, record: ExplanationRecord) -> Pipeline:
    """The model an explanation is of (for what-if), loaded with the checks of
    :func:`~mlcore.modeling.tracking.load_model`."""
    return load_model(session=session, store=store, candidate_id=record.candidate_id, project_id=record.project_id)


# --------------------------------------------------------------------------- finding rows


def lookup_modes(record: ExplanationRecord) -> tuple[str, ...]:
    """How rows of this explanation can be looked up (:data:`LOOKUPS`): by identifier when the version has
    one, by position when rows are indexed by position."""
    if record.id_column is not None:
        return ("identifier",)
    if record.duplicate_id_column is not None:
        return ("identifier", "position")
    return ("position",)


def row_identifiers(*, store: ArtifactStore, record: ExplanationRecord) -> pd.Series | None:
    """The identifier of every row of the version by position, as text, when rows are indexed by position
    because the identifier repeats (None otherwise)."""
    if record.duplicate_id_column is None:
        return None
    table = store.read_table(record.version_sha256, columns=[record.duplicate_id_column])
    values = table.column(0).to_pandas()
    return pd.Series(values.astype(str).where(values.notna(), ""), name=record.duplicate_id_column)


def find_rows(
    explanation: Explanation,
    query: Any,
    *,
    by: str,
    record: ExplanationRecord,
    identifiers: pd.Series | None = None,
) -> tuple[Any, ...]:
    """The explained rows matching an identifier value or a position (several when an identifier repeats).

    Parameters
    ----------
    explanation : Explanation
    query : str or int
    by : {"identifier", "position"}
    record : ExplanationRecord
    identifiers : pandas.Series, optional
        :func:`row_identifiers` (needed to look up a repeating identifier).

    Returns
    -------
    tuple
        Row ids of ``explanation`` (at least one).

    Raises
    ------
    InputError
        ``interpret.row.empty``, ``interpret.row.bad_position``, ``interpret.row.unknown_lookup``,
        ``interpret.row.not_found`` (no row of the version has it), ``interpret.row.not_explained``
        (a row has it but was not explained: outside the sample or not among the rows explained).
    """
    text = str(query if query is not None else "").strip()
    if not text:
        raise InputError("interpret.row.empty")
    if by not in lookup_modes(record):
        raise InputError("interpret.row.unknown_lookup", by=str(by)[:20], choices=", ".join(lookup_modes(record)))
    index = explanation.values.index
    shown = text[:80]
    if by == "position":
        try:
            position = int(text)
        except ValueError:
            raise InputError("interpret.row.bad_position", value=shown) from None
        if position < 0:
            raise InputError("interpret.row.bad_position", value=shown)
        if position in index:
            return (position,)
        if position >= record.version_rows:
            raise InputError(
                "interpret.row.position_not_found", value=shown, total=record.version_rows, last=record.version_rows - 1
            )
        raise InputError("interpret.row.position_not_explained", value=shown, rows=explanation.n_rows)
    column = record.id_column or record.duplicate_id_column or ""
    if record.id_column is not None:
        if text in index:
            return (text,)
        raise InputError("interpret.row.not_found", column=column, value=shown, rows=explanation.n_rows)
    if identifiers is None:
        raise InputError("interpret.row.unknown_lookup", by=str(by)[:20], choices="position")
    positions = identifiers.index[identifiers.to_numpy() == text]
    if len(positions) == 0:
        raise InputError("interpret.row.not_found", column=column, value=shown, rows=explanation.n_rows)
    found = tuple(int(p) for p in positions if int(p) in index)
    if not found:
        raise InputError("interpret.row.not_explained", column=column, value=shown, rows=explanation.n_rows)
    return found


def row_label(row_id: Any, *, record: ExplanationRecord, identifiers: pd.Series | None = None, lang: str = "en") -> str:
    """How a row is named on the page: ``customer_id C0001`` or ``row 17 · customer_id C0001``."""
    if record.id_column is not None:
        return f"{record.id_column} {row_id}"
    text = _t("interpret.row.position", lang, position=row_id)
    if identifiers is not None and record.duplicate_id_column is not None:
        try:
            value = identifiers.iloc[int(row_id)]
        except (IndexError, ValueError, TypeError):
            return text
        return f"{text} · {record.duplicate_id_column} {value}"
    return text


@dataclass(frozen=True)
class RowOption:
    """A row to pick, named with its prediction."""

    row_id: Any
    label: str


@dataclass(frozen=True)
class RowShortlist:
    """The explained rows with the highest and the lowest predictions."""

    highest: tuple[RowOption, ...]
    lowest: tuple[RowOption, ...]


def _prediction_text(explanation: Explanation, row: Any, lang: str) -> str:
    if explanation.probabilities is not None:
        return format_percent(float(explanation.probabilities.loc[row]), lang)
    return format_number(float(explanation.predictions.loc[row]), lang)


def prediction_shortlist(
    explanation: Explanation,
    *,
    record: ExplanationRecord,
    identifiers: pd.Series | None = None,
    n: int = 10,
    lang: str = "en",
) -> RowShortlist:
    """The ``n`` explained rows with the highest predictions and the ``n`` with the lowest (probability of
    the explained class for classifiers).
    """
    n = max(1, min(int(n), _MAX_SHORTLIST))
    scores = explanation.probabilities if explanation.probabilities is not None else explanation.predictions
    order = np.argsort(-scores.to_numpy(dtype=np.float64), kind="stable")
    index = scores.index

    def option(i: int) -> RowOption:
        row = index[i]
        name = row_label(row, record=record, identifiers=identifiers, lang=lang)
        return RowOption(row, f"{name} — {_prediction_text(explanation, row, lang)}")

    highest = tuple(option(int(i)) for i in order[:n])
    lowest = tuple(option(int(i)) for i in order[::-1][:n])
    return RowShortlist(highest, lowest)


# --------------------------------------------------------------------------- local view and what-if


def outcome_name(record: ExplanationRecord) -> str:
    """What the sentence says is predicted: ``churned = 1`` (classification) or the target's name."""
    if record.task_type == "classification" and record.class_label != "":
        return f"{record.target} = {record.class_label}"
    return record.target


@dataclass(frozen=True, eq=False)
class LocalView:
    """One row explained for people: the sentence, the prediction and the average, the contributions.

    Attributes
    ----------
    local : LocalExplanation
        For :func:`~mlcore.modeling.explain_views.waterfall_figure`.
    sentence : str
        Markdown-safe.
    prediction_text, base_text : str
        The prediction and the model's average (percentages for classifiers).
    """

    local: LocalExplanation
    sentence: str
    prediction_text: str
    base_text: str


def _value_texts(local: LocalExplanation, lang: str) -> tuple[str, str]:
    if local.probability is not None and local.base_probability is not None:
        return format_percent(local.probability, lang), format_percent(local.base_probability, lang)
    return format_number(local.prediction, lang), format_number(local.base_value, lang)


def local_view(explanation: Explanation, row: Any, *, record: ExplanationRecord, lang: str = "en") -> LocalView:
    """The local explanation of one explained row, with its sentence in ``lang``.

    Raises
    ------
    InputError
        ``explain.unknown_row``.
    """
    local = local_explanation(explanation, row, lang=lang)
    sentence = explanation_sentence(local, lang=lang, outcome=outcome_name(record))
    prediction, base = _value_texts(local, lang)
    return LocalView(local, sentence, prediction, base)


def contributions_frame(local: LocalExplanation, *, lang: str = "en") -> pd.DataFrame:
    """The contributions of one row as a table: ``feature``, ``value`` and ``effect`` (probability points for
    classifiers, the model's units otherwise), largest first."""
    frame = local.contributions
    if local.probability is not None:
        effects = [format_effect(p, output_space="probability", lang=lang) for p in frame["points"]]
    else:
        space = "raw" if local.output_space == "raw" else "margin"
        effects = [format_effect(c, output_space=space, lang=lang) for c in frame["contribution"]]
    return pd.DataFrame(
        {
            "feature": frame["feature"].astype(str).to_numpy(),
            "value": frame["value_text"].astype(str).to_numpy(),
            "effect": effects,
        }
    )


@dataclass(frozen=True)
class WhatIfField:
    """One value of a row the what-if form lets people change.

    Attributes
    ----------
    feature : str
    kind : {"number", "date", "choice"}
    value : float or datetime.date or str or None
        The row's value (None when missing).
    options : tuple of str
        ``choice``: the values seen in training (and the row's own).
    minimum, maximum : float or str or None
        The range seen in training (numbers, ISO dates).
    step : float or None
        A sensible step for number inputs.
    seen : str
        The values seen in training, in words.
    integral : bool
        A number column of whole numbers (shown without decimals).
    """

    feature: str
    kind: str
    value: float | date | str | None
    options: tuple[str, ...] = ()
    minimum: float | str | None = None
    maximum: float | str | None = None
    step: float | None = None
    seen: str = ""
    integral: bool = False


def _step(low: float | None, high: float | None, integral: bool) -> float:
    if integral:
        return 1.0
    if low is None or high is None or not high > low:
        return 0.1
    return float(10 ** math.floor(math.log10((high - low) / 100.0))) if high - low > 0 else 0.1


def what_if_fields(explanation: Explanation, row: Any, *, lang: str = "en") -> tuple[WhatIfField, ...]:
    """The row's values as form fields, most important feature first.

    Raises
    ------
    InputError
        ``explain.unknown_row``.
    """
    try:
        found = row in explanation.data.index
    except TypeError:
        found = False
    if not found:
        raise InputError("explain.unknown_row", row=str(row)[:80])
    order = [f for f in importance_frame(explanation)["feature"] if f in explanation.data.columns]
    fields = []
    for feature in order:
        value = explanation.data.at[row, feature]
        seen = explanation.ranges.get(feature)
        kind = explanation.kinds.get(feature, "categorical")
        missing = value is None or (not isinstance(value, str) and bool(pd.isna(value)))
        if kind == "numeric":
            low = None if seen is None or seen.minimum is None else float(seen.minimum)
            high = None if seen is None or seen.maximum is None else float(seen.maximum)
            integral = pd.api.types.is_integer_dtype(explanation.data[feature])
            fields.append(
                WhatIfField(
                    feature,
                    "number",
                    None if missing else float(value),
                    minimum=low,
                    maximum=high,
                    step=_step(low, high, integral),
                    seen=_t(
                        "interpret.whatif.seen_range",
                        lang,
                        low=format_number(low, lang),
                        high=format_number(high, lang),
                    )
                    if low is not None
                    else "",
                    integral=integral,
                )
            )
        elif kind == "datetime":
            low_text = None if seen is None else seen.minimum
            high_text = None if seen is None else seen.maximum
            fields.append(
                WhatIfField(
                    feature,
                    "date",
                    None if missing else pd.Timestamp(value).date(),
                    minimum=low_text,
                    maximum=high_text,
                    seen=_t("interpret.whatif.seen_range", lang, low=str(low_text)[:10], high=str(high_text)[:10])
                    if low_text
                    else "",
                )
            )
        else:
            options = list(seen.categories) if seen is not None else []
            current = None if missing else str(value)
            if current is not None and current not in options:
                options.append(current)
            shown = ", ".join(options[:8]) + (" …" if len(options) > 8 else "")
            fields.append(
                WhatIfField(
                    feature,
                    "choice",
                    current,
                    options=tuple(options),
                    seen=_t("interpret.whatif.seen_values", lang, values=shown) if options else "",
                )
            )
    return tuple(fields)


def _same(field: WhatIfField, new: Any) -> bool:
    old = field.value
    if new is None or (isinstance(new, float) and math.isnan(new)) or (isinstance(new, str) and not new.strip()):
        return old is None
    if old is None:
        return False
    if field.kind == "number":
        try:
            number = float(new)
        except (TypeError, ValueError):
            return False
        return abs(number - float(old)) <= 1e-9 * max(1.0, abs(float(old)))  # type: ignore[arg-type]
    if field.kind == "date":
        return str(new)[:10] == str(old)[:10]
    return str(new).strip() == str(old)


def what_if_changes(fields: Sequence[WhatIfField], values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that differ from the row's, ready for :func:`what_if_view` (dates as ISO text,
    choices as text, cleared values as missing).

    Examples
    --------
    >>> fields = (WhatIfField("tenure", "number", 2.0), WhatIfField("plan", "choice", "monthly", ("monthly", "yearly")))
    >>> what_if_changes(fields, {"tenure": 2.0, "plan": "yearly"})
    {'plan': 'yearly'}
    """
    out: dict[str, Any] = {}
    for field in fields:
        if field.feature not in values or _same(field, values[field.feature]):
            continue
        new = values[field.feature]
        if new is None or (isinstance(new, str) and not new.strip()):
            out[field.feature] = None
        elif field.kind == "date":
            out[field.feature] = new.isoformat() if isinstance(new, date) else str(new)
        elif field.kind == "choice":
            out[field.feature] = str(new).strip()
        else:
            out[field.feature] = new
    return out


@dataclass(frozen=True, eq=False)
class WhatIfView:
    """A changed row: before and after, the new explanation in words, and warnings.

    Attributes
    ----------
    result : WhatIf
    before_text, after_text, change_text : str
        Predictions (percentages for classifiers) and the change (points, or the model's units).
    view : LocalView
        The changed row explained (same average as the original).
    warnings : tuple of str
        Values outside what training saw, Markdown-safe.
    """

    result: WhatIf
    before_text: str
    after_text: str
    change_text: str
    view: LocalView
    warnings: tuple[str, ...]


def what_if_view(
    pipeline: Pipeline,
    explanation: Explanation,
    row: Any,
    changes: Mapping[str, Any],
    *,
    record: ExplanationRecord,
    lang: str = "en",
) -> WhatIfView:
    """Change some values of an explained row and explain the new prediction (see
    :func:`~mlcore.modeling.explain.what_if`).

    Raises
    ------
    InputError
        Those of :func:`~mlcore.modeling.explain.what_if` (``explain.bad_number``, ``explain.bad_date``,
        ``explain.unknown_row``...).
    """
    result = what_if(pipeline, explanation, row, changes)
    single = result.explanation
    local = local_explanation(single, single.values.index[0], lang=lang)
    sentence = explanation_sentence(local, lang=lang, outcome=outcome_name(record))
    prediction, base = _value_texts(local, lang)
    if result.before_probability is not None and result.after_probability is not None:
        before = format_percent(result.before_probability, lang)
        after = format_percent(result.after_probability, lang)
        change = format_effect(
            100.0 * (result.after_probability - result.before_probability), output_space="probability", lang=lang
        )
    else:
        before = format_number(result.before_prediction, lang)
        after = format_number(result.after_prediction, lang)
        change = format_effect(result.after_prediction - result.before_prediction, output_space="raw", lang=lang)
    return WhatIfView(
        result=result,
        before_text=before,
        after_text=after,
        change_text=change,
        view=LocalView(local, sentence, prediction, base),
        warnings=tuple(md_escape(w.message(lang)) for w in result.warnings),
    )


# --------------------------------------------------------------------------- expert reviews


@dataclass(frozen=True)
class ReviewFeature:
    """A feature offered for review: its rank and share of the model's average impact."""

    feature: str
    rank: int
    share: float


def review_features(explanation: Explanation, *, top: int = REVIEW_FEATURES) -> tuple[ReviewFeature, ...]:
    """The ``top`` most important features (mean |SHAP|), most important first."""
    frame = importance_frame(explanation).head(max(int(top), 1))
    return tuple(
        ReviewFeature(str(f), i, float(s))
        for i, (f, s) in enumerate(zip(frame["feature"], frame["share"], strict=True))
    )


@dataclass(frozen=True)
class ReviewRecord:
    """One reviewer's current judgement of one feature of a model candidate.

    Attributes
    ----------
    id, project_id, candidate_id : int
    model_sha256, feature : str
    verdict : str
        One of :data:`VERDICTS`.
    comment : str
    reviewer_id : int
    reviewer : str
    version : int
        Pass back as ``expected_version`` to :func:`save_review`.
    created_at, updated_at : datetime
    """

    id: int
    project_id: int
    candidate_id: int
    model_sha256: str
    feature: str
    verdict: str
    comment: str
    reviewer_id: int
    reviewer: str
    version: int
    created_at: datetime
    updated_at: datetime

    def verdict_text(self, lang: str = "en") -> str:
        return _t(f"interpret.verdict.{self.verdict}", lang)


def _review_record(session: Session, row: ExpertReview) -> ReviewRecord:
    return ReviewRecord(
        id=row.id or 0,
        project_id=row.project_id,
        candidate_id=row.candidate_id,
        model_sha256=row.model_sha256,
        feature=row.feature,
        verdict=row.verdict,
        comment=row.comment,
        reviewer_id=row.reviewer_id,
        reviewer=_user_name(session, row.reviewer_id),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def list_reviews(*, session: Session, project_id: int, candidate_id: int) -> list[ReviewRecord]:
    """Every reviewer's current review of the candidate's features, by feature then time."""
    rows = session.exec(
        select(ExpertReview)
        .where(ExpertReview.project_id == project_id, ExpertReview.candidate_id == candidate_id)
        .order_by(col(ExpertReview.feature), col(ExpertReview.updated_at), col(ExpertReview.id))
    ).all()
    out = []
    for row in rows:
        session.refresh(row)
        out.append(_review_record(session, row))
    return out


@dataclass(frozen=True)
class ReviewChange:
    """One saved state of a review (its history)."""

    review_id: int
    feature: str
    version: int
    verdict: str
    comment: str
    changed_by: str
    changed_at: datetime


def review_history(*, session: Session, project_id: int, candidate_id: int) -> list[ReviewChange]:
    """Every save of every review of the candidate, newest first."""
    stmt = (
        select(ExpertReviewChange, ExpertReview.feature)
        .join(ExpertReview, col(ExpertReview.id) == col(ExpertReviewChange.review_id))
        .where(ExpertReview.project_id == project_id, ExpertReview.candidate_id == candidate_id)
        .order_by(col(ExpertReviewChange.id).desc())
    )
    return [
        ReviewChange(
            review_id=change.review_id,
            feature=feature,
            version=change.version,
            verdict=change.verdict,
            comment=change.comment,
            changed_by=_user_name(session, change.changed_by_id),
            changed_at=change.changed_at,
        )
        for change, feature in session.exec(stmt).all()
    ]


def _clean_comment(comment: Any) -> str:
    if not isinstance(comment, str):
        raise InputError("interpret.review.bad_comment", kind=type(comment).__name__[:40])
    text = "".join(ch for ch in comment if ch in "\n\t" or ch.isprintable()).strip()
    if len(text) > COMMENT_MAX:
        raise InputError("interpret.review.comment_too_long", limit=COMMENT_MAX, length=len(text))
    return text


def save_review(
    *,
    session: Session,
    actor: User,
    project_id: int,
    candidate_id: int,
    feature: str,
    verdict: str,
    comment: str = "",
    expected_version: int = 0,
) -> ReviewRecord:
    """Save the actor's review of one feature's learned effect in a candidate (an audit event).

    Parameters
    ----------
    session, actor
        The actor needs ``interpret.review`` in the project (domain experts).
    project_id, candidate_id : int
    feature : str
        One of the run's input columns.
    verdict : {"plausible", "implausible", "unsure"}
    comment : str
        Why; required for ``implausible`` and ``unsure`` (they become open concerns). At most
        :data:`COMMENT_MAX` characters.
    expected_version : int, default 0
        The version of the actor's review this save replaces (0: the actor has none yet).

    Returns
    -------
    ReviewRecord

    Raises
    ------
    PermissionDenied
        Without ``interpret.review``.
    NotFound
        ``tracking.candidate_not_found``.
    InputError
        ``interpret.review.bad_verdict``, ``interpret.review.unknown_feature``,
        ``interpret.review.comment_required``, ``interpret.review.comment_too_long``,
        ``interpret.review.bad_comment``.
    ConflictError
        ``interpret.review.conflict`` when the review changed since ``expected_version`` (saved from another
        tab or window); nothing is written.
    """
    actor = require(session=session, user=actor, action="interpret.review", project_id=project_id)
    candidate, run = _candidate_and_run(session, project_id, candidate_id)
    if verdict not in VERDICTS:
        raise InputError("interpret.review.bad_verdict", verdict=str(verdict)[:40], choices=", ".join(VERDICTS))
    if not isinstance(feature, str) or feature not in run.features:
        raise InputError(
            "interpret.review.unknown_feature", feature=str(feature)[:80], choices=", ".join(run.features[:10])
        )
    text = _clean_comment(comment)
    if verdict in CONCERN_VERDICTS and not text:
        raise InputError("interpret.review.comment_required", verdict=_t(f"interpret.verdict.{verdict}", "en"))
    expected = _whole(expected_version, "interpret.review.bad_version", minimum=0)
    existing = session.exec(
        select(ExpertReview).where(
            ExpertReview.candidate_id == candidate_id,
            ExpertReview.feature == feature,
            ExpertReview.reviewer_id == actor.id,
        )
    ).first()
    now = utcnow()
    if existing is None:
        if expected != 0:
            raise ConflictError("interpret.review.conflict_deleted", feature=feature)
        row = ExpertReview(
            project_id=project_id,
            candidate_id=candidate_id,
            model_sha256=candidate.model_sha256,
            feature=feature,
            verdict=verdict,
            comment=text,
            reviewer_id=actor.id or 0,
            version=1,
            created_at=now,
            updated_at=now,
        )
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:  # the same reviewer saved this feature a moment ago elsewhere
            raise ConflictError("interpret.review.conflict", feature=feature, when="") from None
        before: dict[str, Any] | None = None
    else:
        session.refresh(existing)
        if existing.version != expected:
            raise ConflictError(
                "interpret.review.conflict", feature=feature, when=f"{existing.updated_at:%Y-%m-%d %H:%M}"
            )
        before = {"verdict": existing.verdict, "comment": existing.comment}
        changed = session.execute(
            update(ExpertReview)
            .where(col(ExpertReview.id) == existing.id, col(ExpertReview.version) == expected)
            .values(verdict=verdict, comment=text, version=expected + 1, updated_at=now)
        )
        if getattr(changed, "rowcount", 1) != 1:
            raise ConflictError("interpret.review.conflict", feature=feature, when="")
        session.refresh(existing)
        row = existing
    session.add(
        ExpertReviewChange(
            review_id=row.id or 0,
            version=row.version,
            verdict=verdict,
            comment=text,
            changed_by_id=actor.id or 0,
            changed_at=now,
        )
    )
    record_event(
        session=session,
        actor=actor,
        action="interpret.review",
        object_type="expert_review",
        object_id=row.id or 0,
        project_id=project_id,
        before=before,
        after={"candidate": candidate_id, "feature": feature, "verdict": verdict, "comment": text},
    )
    session.flush()
    return _review_record(session, row)


@dataclass(frozen=True)
class Concern:
    """A feature a domain expert found implausible or was unsure about, with why.

    Attributes
    ----------
    feature, verdict, comment, reviewer : str
    reviewed_at : datetime
    """

    feature: str
    verdict: str
    comment: str
    reviewer: str
    reviewed_at: datetime

    def text(self, lang: str = "en") -> str:
        """``tenure_months — implausible (Ana, 2025-03-02): comment`` (not escaped)."""
        return _t(
            "interpret.concern",
            lang,
            feature=self.feature,
            verdict=_t(f"interpret.verdict.{self.verdict}", lang),
            reviewer=self.reviewer,
            when=f"{self.reviewed_at:%Y-%m-%d}",
            comment=self.comment,
        )


def open_concerns(*, session: Session, project_id: int, candidate_id: int) -> list[Concern]:
    """The open concerns about a candidate's learned effects: every reviewer's current review that says
    implausible or unsure, implausible first, then by feature.

    For the evaluation page and the model card (a registered version: pass its ``candidate_id``).

    Examples
    --------
    >>> from mlcore.store.engine import make_engine, upgrade_database
    >>> engine = make_engine("sqlite://")
    >>> upgrade_database(engine)
    >>> with session_scope(engine) as s:
    ...     open_concerns(session=s, project_id=1, candidate_id=1)
    []
    """
    reviews = [
        r
        for r in list_reviews(session=session, project_id=project_id, candidate_id=candidate_id)
        if r.verdict in CONCERN_VERDICTS
    ]
    reviews.sort(key=lambda r: (CONCERN_VERDICTS.index(r.verdict), r.feature, r.updated_at))
    return [Concern(r.feature, r.verdict, r.comment, r.reviewer, r.updated_at) for r in reviews]


def reviews_frame(reviews: Sequence[ReviewRecord], *, lang: str = "en") -> pd.DataFrame:
    """The reviews as a table: ``feature``, ``verdict`` (in words), ``comment``, ``reviewer``, ``updated``."""
    return pd.DataFrame(
        {
            "feature": [r.feature for r in reviews],
            "verdict": [r.verdict_text(lang) for r in reviews],
            "comment": [r.comment for r in reviews],
            "reviewer": [r.reviewer for r in reviews],
            "updated": [f"{r.updated_at:%Y-%m-%d %H:%M}" for r in reviews],
        },
        columns=["feature", "verdict", "comment", "reviewer", "updated"],
    )
