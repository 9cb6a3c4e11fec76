"""Training records: the ``train`` and ``reproduce`` jobs, the runs and candidates they store, notes
and tags, the model registry with its stages, loading a stored model, and model packages.

The computations live in :mod:`mlcore.modeling.training`; this module reads dataset versions, runs
the training as a job, stores what it produces (one transaction at the end) and records who did what.

Rows whose target is missing are left out of a run (they cannot be learned from) and counted in
``n_unlabeled``; a version whose target is missing everywhere is refused (``tracking.no_labels``).
Rows are identified by their position in the dataset version (versions are immutable).
"""

from __future__ import annotations

import io
import json
import math
import re
import time
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select, update

from mlcore.artifacts import ArtifactCorrupted, ArtifactRef, ArtifactStore, load_joblib, register_artifact
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data.quality import QualityReport
from mlcore.data.understanding import version_roles
from mlcore.data.versions import VersionSummary, get_version, list_versions, read_version, version_in_project
from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import JobCancelled, JobContext, active_job, job_kind
from mlcore.modeling.environment import check_environment, environment_fingerprint
from mlcore.modeling.training import (
    MAX_N_ITER,
    MODEL_FAMILIES,
    SCHEMES,
    SEARCH_KINDS,
    CandidateResult,
    MetricCheck,
    SearchSummary,
    TrainingCancelled,
    Trial,
    json_safe_params,
    lock_test_set,
    make_estimator,
    make_scorers,
    reproduce,
    run_config,
    train_candidates,
)
from mlcore.planning.canvas import METRICS as CANVAS_METRICS
from mlcore.planning.canvas import metric_direction
from mlcore.store.engine import session_scope
from mlcore.store.models import Dataset, DatasetVersion, Project, QualityRun, User, utcnow
from mlcore.store.models_modeling import (
    ModelVersion,
    RegisteredModel,
    RunCandidate,
    RunReproduction,
    TrainingRun,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go
    from sklearn.pipeline import Pipeline

__all__ = [
    "DEFAULT_FAMILIES",
    "DEFAULT_METRICS",
    "FAMILY_ALIASES",
    "MAX_TAGS",
    "MAX_TAG_LENGTH",
    "NOTES_MAX",
    "PACKAGE_FILES",
    "REPRODUCE_TOLERANCE",
    "STAGES",
    "MAX_SETTINGS_BYTES",
    "TRANSITIONS",
    "CandidateRecord",
    "Exclusion",
    "FeatureChoice",
    "ModelVersionRecord",
    "RegisteredModelRecord",
    "ReproductionRecord",
    "RunDetail",
    "RunFilterChoices",
    "RunRecord",
    "SplitColumns",
    "TrainingSpec",
    "apply_settings",
    "candidate_labels",
    "default_features",
    "default_metrics",
    "default_spec",
    "export_package",
    "family_names",
    "fold_metrics_chart",
    "get_candidate",
    "get_model_version",
    "job_result_text",
    "list_registry",
    "list_runs",
    "load_model",
    "metric_text",
    "package_filename",
    "parallel_coordinates_chart",
    "parameter_metric_frame",
    "parameters_frame",
    "progress_text",
    "read_test_rows",
    "register_model",
    "registry_frame",
    "reproduce_job",
    "reproduction_frame",
    "reproductions",
    "resolve_model",
    "resolve_version",
    "run_detail",
    "run_filter_choices",
    "runs_table",
    "scheme_choices",
    "set_notes_and_tags",
    "set_run_notes_and_tags",
    "spec_settings",
    "split_column_choices",
    "submit_reproduce",
    "submit_training",
    "train_job",
    "training_runs",
    "transition_stage",
    "validate_spec",
]

STAGES: tuple[str, ...] = ("candidate", "staging", "production", "archived")
"""The stages of a registered model version, in the order a version usually goes through them."""

TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    "candidate": ("staging", "archived"),
    "staging": ("production", "archived"),
    "production": ("archived",),
    "archived": ("staging",),
}
"""Allowed stage changes. A version reaches production only through staging; an archived version can
come back to staging (to be checked again before it returns to production). Promoting a version to
production archives the one that was there: there is at most one production version per model."""

DEFAULT_FAMILIES: Mapping[str, tuple[str, ...]] = {
    "classification": ("dummy", "logistic_regression", "random_forest", "hist_gradient_boosting"),
    "regression": ("dummy", "ridge", "random_forest", "hist_gradient_boosting"),
}
"""The families pre-selected for a new run: a baseline, a linear model and two tree ensembles."""

DEFAULT_METRICS: Mapping[str, tuple[str, ...]] = {
    "classification": ("roc_auc", "f1", "balanced_accuracy"),
    "regression": ("mae", "rmse", "r2"),
}
"""Metrics pre-selected after the planning canvas's own (see :func:`default_metrics`)."""

FAMILY_ALIASES: Mapping[str, str] = {
    "hgb": "hist_gradient_boosting",
    "gbm": "hist_gradient_boosting",
    "rf": "random_forest",
    "forest": "random_forest",
    "et": "extra_trees",
    "logreg": "logistic_regression",
    "lr": "logistic_regression",
    "logistic": "logistic_regression",
    "tree": "decision_tree",
    "dt": "decision_tree",
    "svm": "linear_svm",
    "baseline": "dummy",
}
"""Short names accepted by :func:`family_names` (the CLI's ``--models hgb,rf,logreg``)."""

PACKAGE_FILES: tuple[str, ...] = (
    "model.joblib",
    "input_schema.json",
    "metrics.json",
    "requirements.txt",
    "model_card.md",
    "run.json",
)
"""The files of a model package, in the order they are written."""

NOTES_MAX = 5000
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
REPRODUCE_TOLERANCE = 1e-9
"""Largest difference between a recorded and a re-computed metric that still counts as the same."""

_REF = re.compile(r"^(?P<name>[^@]+?)\s*(?:@\s*(?P<selector>[^@]+))?$")
_FILENAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MODEL_PREFIXES = ("model__regressor__", "model__")
_SAVE_ATTEMPTS = 4


# --------------------------------------------------------------------------- small helpers


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("errors.project_not_found", name=str(project_id))
    return project


_version_in_project = version_in_project


def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.name) if user is not None else ""



def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def metric_text(mean: float, std: float | None = None, *, lang: str = "en", digits: int = 3) -> str:
    """A metric as people read it: ``0.812 ± 0.010`` (decimal comma in Spanish), ``—`` when unknown.

    Examples
    --------
    >>> metric_text(0.81234, 0.0101), metric_text(0.81234, 0.0101, lang="es"), metric_text(float("nan"))
    ('0.812 ± 0.010', '0,812 ± 0,010', '—')
    """

    def one(value: float) -> str:
        if value is None or not math.isfinite(value):
            return "—"
        text = f"{value:,.{digits}f}"
        return text.replace(",", "\0").replace(".", ",").replace("\0", ".") if lang == "es" else text

    if std is None:
        return one(mean)
    if mean is None or not math.isfinite(mean):
        return "—"
    return f"{one(mean)} ± {one(std)}"


def progress_text(key: str, params: Mapping[str, Any], *, lang: str = "en") -> str:
    """A job's progress message in ``lang``, model family codes shown by their names.

    Examples
    --------
    >>> progress_text("modeling.progress.fold", {"family": "random_forest", "fold": 2, "folds": 5}, lang="es")
    'Bosque aleatorio: partición 2 de 5 lista'
    """
    if not key:
        return ""
    shown = dict(params)
    family = shown.get("family")
    if isinstance(family, str) and any(family in families for families in MODEL_FAMILIES.values()):
        shown["family"] = translate(f"modeling.family.{family}", lang)
    return translate(key, lang, **shown)


# --------------------------------------------------------------------------- defaults


@dataclass(frozen=True)
class Exclusion:
    """A column left out of the features by default, and why.

    Attributes
    ----------
    column : str
    reason : str
        Catalog key (``tracking.excluded.identifier``, ``.identifier_like``, ``.leakage``, ``.text``
        or ``.by_user``); :meth:`message` fills it in.
    params : mapping
        Values for the message (``score`` for a leak).
    """

    column: str
    reason: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        """Why the column is left out, in ``lang``."""
        return translate(self.reason, lang, column=self.column, **self.params)

    def to_json(self) -> dict[str, Any]:
        return {"column": self.column, "reason": self.reason, "params": dict(self.params)}


@dataclass(frozen=True)
class FeatureChoice:
    """The features offered for a target, with the columns left out by default and why.

    Attributes
    ----------
    target : str
    features : tuple of str
        Pre-selected features, in the version's column order.
    excluded : tuple of Exclusion
        Columns not pre-selected, with their reason (the user may still add them back, except text).
    columns : tuple of str
        Every column that could be a feature (all but the target).
    roles : mapping of str to str
        Column -> role as recorded with the version.
    """

    target: str
    features: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    columns: tuple[str, ...]
    roles: Mapping[str, str]

    def excluded_frame(self, *, lang: str = "en") -> pd.DataFrame:
        """Columns left out and why, for display: ``column``, ``reason``."""
        return pd.DataFrame(
            [{"column": e.column, "reason": e.message(lang)} for e in self.excluded], columns=["column", "reason"]
        )


def _latest_quality_report(session: Session, store: ArtifactStore, version_id: int) -> QualityReport | None:
    run = session.exec(
        select(QualityRun).where(QualityRun.dataset_version_id == version_id).order_by(col(QualityRun.id).desc())
    ).first()
    if run is None:
        return None
    try:
        return QualityReport.from_json(store.read_bytes(run.report_sha256).decode("utf-8"))
    except (NotFound, InputError, ArtifactCorrupted):
        return None


def default_features(
    *, session: Session, store: ArtifactStore, project_id: int, version_id: int, target: str | None = None
) -> FeatureChoice:
    """The features pre-selected for training on a version: every column but the target, except

    * identifier columns (role ``identifier``, or flagged as identifier-like by the latest quality
      run): an id tells nothing about new rows and lets a model memorise the training rows;
    * columns the latest quality run flags as leaking the target (only when it checked this target):
      they are recorded with or after the outcome and would not be known when predicting;
    * free-text columns (role ``text``): no model family reads free text.

    Parameters
    ----------
    session, store
    project_id, version_id : int
    target : str, optional
        Default: the version's target.

    Raises
    ------
    NotFound
        If the version is not in the project.
    InputError
        ``tracking.no_target`` (no target given and none recorded), ``modeling.target_not_a_column``.
    """
    version = _version_in_project(session, project_id=project_id, version_id=version_id)
    target = target or version.target
    if not target:
        raise InputError("tracking.no_target", label=version.label)
    names = [str(c["name"]) for c in version.columns]
    if target not in names:
        raise InputError("modeling.target_not_a_column", column=str(target)[:80])
    roles = version_roles(version)
    excluded: dict[str, Exclusion] = {}
    for name in names:
        if name == target:
            continue
        if roles.get(name) == "identifier":
            excluded[name] = Exclusion(name, "tracking.excluded.identifier")
        elif roles.get(name) == "text":
            excluded[name] = Exclusion(name, "tracking.excluded.text")
    report = _latest_quality_report(session, store, version.id)
    if report is not None:
        for finding in report.for_check("target_leakage"):
            if finding.status == "fail" and report.target == target:
                for name in finding.columns:
                    if name in names and name != target and name not in excluded:
                        score = round(_float(finding.params.get("score")), 3)
                        excluded[name] = Exclusion(name, "tracking.excluded.leakage", {"score": score})
        for finding in report.for_check("identifier_like"):
            if finding.status != "pass":
                for name in finding.columns:
                    if name in names and name != target and name not in excluded:
                        excluded[name] = Exclusion(name, "tracking.excluded.identifier_like")
    columns = tuple(n for n in names if n != target)
    return FeatureChoice(
        target=target,
        features=tuple(n for n in columns if n not in excluded),
        excluded=tuple(excluded[n] for n in columns if n in excluded),
        columns=columns,
        roles=roles,
    )


def default_metrics(*, session: Session, project_id: int) -> tuple[str, ...]:
    """The metrics pre-selected for a run: the planning canvas's metric first, then its second
    metric, then the usual ones for the project's task (:data:`DEFAULT_METRICS`). Editable.

    Raises
    ------
    NotFound
        If there is no such project.
    """
    from mlcore.planning.records import get_canvas

    task_type = _project(session, project_id).task_type
    canvas = get_canvas(session=session, project_id=project_id).canvas
    valid = CANVAS_METRICS.get(task_type, ())
    chosen = [m for m in (canvas.metric, canvas.secondary_metric) if m is not None and m in valid]
    return tuple(dict.fromkeys([*chosen, *DEFAULT_METRICS.get(task_type, ())]))


def family_names(families: str | Sequence[str], *, task_type: str) -> tuple[str, ...]:
    """Family names from a list or a comma-separated text, short names (:data:`FAMILY_ALIASES`) allowed.

    Raises
    ------
    InputError
        ``modeling.unknown_task``, ``modeling.unknown_family``, ``modeling.no_families``.

    Examples
    --------
    >>> family_names("hgb, rf,logreg", task_type="classification")
    ('hist_gradient_boosting', 'random_forest', 'logistic_regression')
    """
    if task_type not in MODEL_FAMILIES:
        raise InputError("modeling.unknown_task", task_type=str(task_type)[:40], choices=", ".join(MODEL_FAMILIES))
    items = families.split(",") if isinstance(families, str) else list(families)
    names = []
    for item in items:
        text = str(item).strip()
        if not text:
            continue
        name = FAMILY_ALIASES.get(text.lower(), text.lower())
        if name not in MODEL_FAMILIES[task_type]:
            raise InputError(
                "modeling.unknown_family",
                family=text[:60],
                task_type=task_type,
                choices=", ".join(MODEL_FAMILIES[task_type]),
            )
        names.append(name)
    if not names:
        raise InputError("modeling.no_families", choices=", ".join(MODEL_FAMILIES[task_type]))
    return tuple(dict.fromkeys(names))


# --------------------------------------------------------------------------- the training spec


def _text_tuple(value: Any, *, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or isinstance(value, Mapping):
        raise InputError("tracking.bad_spec", field=key, value=type(value).__name__)
    items = list(value)
    if not all(isinstance(v, str) for v in items):
        raise InputError("tracking.bad_spec", field=key, value=", ".join(str(v)[:30] for v in items[:5]))
    return tuple(dict.fromkeys(items))


def _integer(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | np.integer)


def _share(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and 0.0 < float(value) < 1.0


@dataclass(frozen=True)
class TrainingSpec:
    """Everything a training run is asked to do, validated when built.

    Attributes
    ----------
    target : str
    features : tuple of str
        Input columns (see :func:`default_features`).
    families : tuple of str
        Model families (keys of ``MODEL_FAMILIES[task_type]``), trained in this order.
    metrics : tuple of str
        Canvas metric names; the first is the one a search optimises and the runs table sorts by.
    scheme : str, default "stratified_kfold"
        One of :data:`~mlcore.modeling.training.SCHEMES` (regression treats stratified as plain k-fold).
    n_splits : int, default 5
        Folds (ignored by ``holdout``).
    group_column, order_column : str, optional
        Required by ``group_kfold`` and ``time_series``. With ``time_series`` the locked test set is
        the most recent rows.
    test_size : float, default 0.2
        Share of the labelled rows locked away as the test set before any training.
    validation_size : float, default 0.2
        ``holdout`` only: share of the training rows validated on.
    seed : int, default 0
        Seeds the test set, the folds, the models and the search.
    search : {"random", "halving"}, optional
        A time-budgeted hyper-parameter search; giving ``budget_s`` alone means ``"random"``.
    budget_s : float, optional
        Seconds the search may take over all families; must be positive.
    n_iter : int, default 20
        Most settings a search tries per family (the defaults count as the first).
    params : mapping of str to mapping
        Family -> hyper-parameters set on top of its defaults (kept fixed by a search).
    recipe_id : int, optional
        A saved preparation recipe of the project (:mod:`mlcore.data.recipes`) whose feature steps become
        each model's preparation, fitted inside the training folds only.

    Raises
    ------
    InputError
        ``tracking.bad_spec`` (wrong type), ``tracking.target_in_features``, ``modeling.no_features``,
        ``modeling.no_families``, ``modeling.no_metrics``, ``modeling.unknown_scheme``,
        ``modeling.bad_n_splits``, ``modeling.bad_test_size``, ``tracking.bad_seed``,
        ``modeling.unknown_search``, ``modeling.bad_budget``, ``modeling.bad_n_iter``,
        ``modeling.groups_required``, ``modeling.order_required``.

    Examples
    --------
    >>> spec = TrainingSpec("churned", ["tenure", "plan"], ["dummy", "random_forest"], ["roc_auc"], budget_s=30)
    >>> spec.search, spec.n_splits, spec.features
    ('random', 5, ('tenure', 'plan'))
    >>> TrainingSpec("y", ["x"], ["dummy"], ["mae"], budget_s=0)
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: The time budget must be a positive number of seconds (got 0).
    """

    target: str
    features: tuple[str, ...]
    families: tuple[str, ...]
    metrics: tuple[str, ...]
    scheme: str = "stratified_kfold"
    n_splits: int = 5
    group_column: str | None = None
    order_column: str | None = None
    test_size: float = 0.2
    validation_size: float = 0.2
    seed: int = 0
    search: str | None = None
    budget_s: float | None = None
    n_iter: int = 20
    params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    recipe_id: int | None = None

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        if not isinstance(self.target, str) or not self.target.strip():
            raise InputError("tracking.bad_spec", field="target", value=str(self.target)[:40])
        put("features", _text_tuple(self.features, key="features"))
        put("families", _text_tuple(self.families, key="families"))
        put("metrics", _text_tuple(self.metrics, key="metrics"))
        if self.target in self.features:
            raise InputError("tracking.target_in_features", column=self.target[:80])
        if not self.features:
            raise InputError("modeling.no_features", columns="—")
        if not self.families:
            raise InputError("modeling.no_families", choices="—")
        if not self.metrics:
            raise InputError("modeling.no_metrics", choices="—")
        if self.scheme not in SCHEMES:
            raise InputError("modeling.unknown_scheme", scheme=str(self.scheme)[:40], choices=", ".join(SCHEMES))
        if not _integer(self.n_splits) or self.n_splits < 2:
            raise InputError("modeling.bad_n_splits", n_splits=str(self.n_splits)[:20])
        for name in ("test_size", "validation_size"):
            if not _share(getattr(self, name)):
                raise InputError("modeling.bad_test_size", test_size=str(getattr(self, name))[:20])
            put(name, float(getattr(self, name)))
        if not _integer(self.seed) or not 0 <= self.seed < 2**32:
            raise InputError("tracking.bad_seed", seed=str(self.seed)[:20])
        for name in ("group_column", "order_column"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InputError("tracking.bad_spec", field=name, value=str(value)[:40])
        if self.scheme == "group_kfold" and self.group_column is None:
            raise InputError("modeling.groups_required")
        if self.scheme == "time_series" and self.order_column is None:
            raise InputError("modeling.order_required")
        search = self.search if self.search is not None else ("random" if self.budget_s is not None else None)
        if search is not None:
            if search not in SEARCH_KINDS:
                raise InputError("modeling.unknown_search", kind=str(search)[:40], choices=", ".join(SEARCH_KINDS))
            budget = self.budget_s
            if isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(budget):
                raise InputError("modeling.bad_budget", budget=str(budget)[:20])
            if budget <= 0:
                raise InputError("modeling.bad_budget", budget=f"{budget:g}")
            put("search", search)
            put("budget_s", float(budget))
        if not _integer(self.n_iter) or not 1 <= self.n_iter <= MAX_N_ITER:
            raise InputError("modeling.bad_n_iter", n_iter=str(self.n_iter)[:20], maximum=MAX_N_ITER)
        params = self.params or {}
        if not isinstance(params, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Mapping) for k, v in params.items()
        ):
            raise InputError("tracking.bad_spec", field="params", value=type(params).__name__)
        clean = {k: json_safe_params(v) for k, v in params.items()}
        if clean != {k: dict(v) for k, v in params.items()}:
            raise InputError("tracking.bad_spec", field="params", value="not JSON")
        put("params", clean)
        if self.recipe_id is not None and (not _integer(self.recipe_id) or not 0 < self.recipe_id < 2**63):
            raise InputError("tracking.bad_spec", field="recipe_id", value=str(self.recipe_id)[:40])
        if self.recipe_id is not None:
            put("recipe_id", int(self.recipe_id))

    @property
    def search_settings(self) -> dict[str, Any] | None:
        """What :func:`~mlcore.modeling.training.train_candidates` takes as ``search``."""
        if self.search is None:
            return None
        return {"kind": self.search, "budget_s": self.budget_s, "n_iter": self.n_iter}

    def to_json(self) -> dict[str, Any]:
        """JSON-safe form (stored with the job; :meth:`from_json` reads it back)."""
        out = asdict(self)
        for name in ("features", "families", "metrics"):
            out[name] = list(out[name])
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingSpec:
        """A spec from a mapping (a stored job, a JSON or YAML config file).

        Raises
        ------
        InputError
            ``tracking.bad_spec`` if it is not a mapping or has unknown keys, plus those of the class.
        """
        if not isinstance(data, Mapping):
            raise InputError("tracking.bad_spec", field="—", value=type(data).__name__)
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InputError("tracking.bad_spec", field=", ".join(unknown)[:200], value="?")
        missing = [k for k in ("target", "features", "families", "metrics") if k not in data]
        if missing:
            raise InputError("tracking.bad_spec", field=", ".join(missing), value="—")
        return cls(**dict(data))


def validate_spec(spec: TrainingSpec, *, task_type: str, version: VersionSummary) -> None:
    """Check a spec against the project's task and the version's columns before a job starts.

    Raises
    ------
    InputError
        ``modeling.unknown_family``, ``modeling.unknown_metric``, ``modeling.metric_wrong_task``,
        ``modeling.unknown_param``, ``modeling.target_not_a_column``, ``modeling.features_not_columns``,
        ``modeling.groups_not_a_column``, ``modeling.order_not_a_column``,
        ``modeling.text_not_supported`` (a free-text feature).
    """
    if task_type not in MODEL_FAMILIES:
        raise InputError("modeling.unknown_task", task_type=str(task_type)[:40], choices=", ".join(MODEL_FAMILIES))
    for family in spec.families:
        if family not in MODEL_FAMILIES[task_type]:
            raise InputError(
                "modeling.unknown_family",
                family=family[:60],
                task_type=task_type,
                choices=", ".join(MODEL_FAMILIES[task_type]),
            )
    make_scorers(list(spec.metrics), task_type=task_type)
    for family in spec.families:
        make_estimator(family, task_type=task_type, params=spec.params.get(family))
    names = {str(c["name"]) for c in version.columns}
    if spec.target not in names:
        raise InputError("modeling.target_not_a_column", column=spec.target[:80])
    absent = [c for c in spec.features if c not in names]
    if absent:
        raise InputError("modeling.features_not_columns", columns=", ".join(a[:60] for a in absent[:10]))
    if spec.scheme == "group_kfold" and spec.group_column not in names:
        raise InputError("modeling.groups_not_a_column", column=str(spec.group_column)[:80])
    if spec.scheme == "time_series" and spec.order_column not in names:
        raise InputError("modeling.order_not_a_column", column=str(spec.order_column)[:80])
    roles = version_roles(version)
    text = [c for c in spec.features if roles.get(c) == "text"]
    if text:
        refusing = [f for f in spec.families if not MODEL_FAMILIES[task_type][f].accepts_text]
        if refusing:
            raise InputError(
                "modeling.text_not_supported",
                columns=", ".join(t[:60] for t in text[:10]),
                families=", ".join(refusing),
            )


def default_spec(
    *, session: Session, store: ArtifactStore, project_id: int, version_id: int, target: str | None = None
) -> TrainingSpec:
    """A ready-to-run spec with every default: :func:`default_features`, :func:`default_metrics`,
    :data:`DEFAULT_FAMILIES`, 5 stratified folds (k-fold for regression), seed 0, no search."""
    task_type = _project(session, project_id).task_type
    choice = default_features(session=session, store=store, project_id=project_id, version_id=version_id, target=target)
    if not choice.features:
        raise InputError("modeling.no_features", columns=", ".join(choice.columns[:10]) or "—")
    return TrainingSpec(
        target=choice.target,
        features=choice.features,
        families=DEFAULT_FAMILIES[task_type],
        metrics=default_metrics(session=session, project_id=project_id),
        scheme="stratified_kfold" if task_type == "classification" else "kfold",
    )


MAX_SETTINGS_BYTES = 1_000_000
"""Largest training-settings file read (:func:`spec_settings`)."""


def spec_settings(text: str, *, source: str = "") -> dict[str, Any]:
    """Training settings from the text of a JSON or YAML file (keys of :class:`TrainingSpec`).

    Raises
    ------
    InputError
        ``tracking.bad_config`` if the text is not a JSON or YAML mapping (or is too large).

    Examples
    --------
    >>> spec_settings("families: hgb, rf\\nn_splits: 3\\nseed: 7")
    {'families': 'hgb, rf', 'n_splits': 3, 'seed': 7}
    """
    import yaml

    where = source[:300] or "—"
    if len(text) > MAX_SETTINGS_BYTES:
        raise InputError("tracking.bad_config", path=where, detail=f"more than {MAX_SETTINGS_BYTES:,} characters")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError("tracking.bad_config", path=where, detail=" ".join(str(exc).split())[:200]) from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise InputError("tracking.bad_config", path=where, detail=type(data).__name__)
    return dict(data)


def apply_settings(spec: TrainingSpec, settings: Mapping[str, Any], *, task_type: str) -> TrainingSpec:
    """``spec`` with ``settings`` on top (a settings file, command-line options); None values are skipped.

    ``families`` may use short names (:data:`FAMILY_ALIASES`); ``features``, ``families`` and
    ``metrics`` may be comma-separated text. A ``budget_s`` alone starts a random search.

    Raises
    ------
    InputError
        ``tracking.bad_spec`` for unknown keys, plus those of :class:`TrainingSpec` and :func:`family_names`.

    Examples
    --------
    >>> base = TrainingSpec("y", ["a", "b"], ["dummy"], ["roc_auc"])
    >>> spec = apply_settings(base, {"families": "hgb,rf", "n_splits": 3, "seed": None}, task_type="classification")
    >>> spec.families, spec.n_splits, spec.seed
    (('hist_gradient_boosting', 'random_forest'), 3, 0)
    """
    values = spec.to_json()
    for key, value in settings.items():
        if value is None:
            continue
        if key == "families":
            value = list(family_names(value, task_type=task_type))
        elif key in ("features", "metrics") and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        values[key] = value
    return TrainingSpec.from_json(values)


# --------------------------------------------------------------------------- data of a run


def _target_values(table: pa.Table, target: str) -> pd.Series:
    """The target by row position, missing values as None, its own type kept (no ints turned into floats)."""
    return pd.Series(table.column(target).to_pylist(), dtype=object)


def _labelled(table: pa.Table, target: str) -> tuple[pd.DataFrame, pd.Series, int]:
    """The labelled rows (index: position in the version) with the target as its own type, and how many
    rows have no label."""
    values = _target_values(table, target)
    present = values.notna().to_numpy()
    if not present.any():
        raise InputError("tracking.no_labels", rows=len(values), target=target[:80])
    frame = table.to_pandas(date_as_object=False)  # calendar dates as datetime64, like timestamps
    y = values[present].infer_objects()
    y.name = target
    frame = frame.loc[present].assign(**{target: y})
    return frame, y, int((~present).sum())


def _training_rows(
    frame: pd.DataFrame, y: pd.Series, *, target: str, test_rows: np.ndarray
) -> tuple[pd.DataFrame, pd.Series]:
    keep = ~np.isin(frame.index.to_numpy(), test_rows)
    return frame.loc[keep].drop(columns=[target]), y.loc[keep]


def read_test_rows(*, store: ArtifactStore, run: RunRecord) -> npt.NDArray[np.int64]:
    """Positions (in the run's dataset version) of the rows locked away as the test set, ascending.

    Raises
    ------
    NotFound, ArtifactCorrupted
        If the stored list is missing or changed.
    """
    table = store.read_table(run.test_rows_sha256)
    return np.asarray(table.column("row").to_numpy(), dtype=np.int64)


# --------------------------------------------------------------------------- submitting


def submit_training(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    version_id: int,
    spec: TrainingSpec,
    actor_id: int,
    launch: bool = True,
) -> int:
    """Queue (and start) the ``train`` job; return its id.

    The job reads the version, keeps the rows that have a target value (rows without one cannot be
    learned from: they are left out and counted in ``n_unlabeled``; if no row has one the job fails
    with ``tracking.no_labels``), locks the test set away (:func:`~mlcore.modeling.training.lock_test_set`),
    cross-validates every family with progress per model and fold, stores each fitted pipeline as a
    joblib artifact, and writes the :class:`TrainingRun` with its candidates in one transaction at the
    end (a cancelled or failed job leaves no run). Its result holds ``run_id``.

    Parameters
    ----------
    engine, settings
    project_id, version_id : int
    spec : TrainingSpec
    actor_id : int
        Needs ``model.train`` in the project.
    launch : bool, default True
        Start the job's process (tests and the CLI run it in-process with :func:`mlcore.jobs.run_job`).

    Returns
    -------
    int
        The job id (of the job already training exactly this, if one is running).

    Raises
    ------
    PermissionDenied
        Without ``model.train`` in the project.
    NotFound
        If the version is not in the project.
    InputError
        See :func:`validate_spec`.
    """
    from mlcore.jobs import launch_job, submit_job

    if not isinstance(spec, TrainingSpec):
        raise InputError("tracking.bad_spec", field="spec", value=type(spec).__name__)
    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="model.train", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=version_id)
        validate_spec(spec, task_type=_project(session, project_id).task_type, version=version)
        if spec.recipe_id is not None:
            _check_recipe(session, spec, project_id=project_id, version=version)
        match = {"version_id": version_id, "spec": spec.to_json()}
        running = active_job(session, kind="train", project_id=project_id, match=match)
        if running is not None:
            return running
        job = submit_job(
            session=session,
            kind="train",
            params={"project_id": project_id, "actor_id": actor_id, **match},
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


def _check_recipe(session: Session, spec: TrainingSpec, *, project_id: int, version: VersionSummary) -> Any:
    """The spec's saved recipe (of this project), checked against the features and every family."""
    from mlcore.data.recipes import check_training_recipe, training_recipe

    recipe = training_recipe(session=session, project_id=project_id, recipe_id=spec.recipe_id or 0)
    roles = version_roles(version)
    check_training_recipe(
        recipe,
        roles={c: roles[c] for c in spec.features if c in roles},
        target=spec.target,
        task_type=_project(session, project_id).task_type,
        families=spec.families,
    )
    return recipe


def _exclusions(choice: FeatureChoice, spec: TrainingSpec) -> list[dict[str, Any]]:
    by_column = {e.column: e for e in choice.excluded}
    used = set(spec.features)
    out = []
    for column in choice.columns:
        if column in used:
            continue
        if column in by_column:
            exclusion = by_column[column]
        elif column in (spec.group_column, spec.order_column):
            exclusion = Exclusion(column, "tracking.excluded.split_column")
        else:
            exclusion = Exclusion(column, "tracking.excluded.by_user")
        out.append(exclusion.to_json())
    return out


def _job_progress(ctx: JobContext, start: float, span: float) -> Any:
    def report(fraction: float, key: str, /, **params: Any) -> None:
        ctx.progress(start + span * fraction, key, **params)

    return report


@job_kind("train")
def train_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: train the candidates of a :class:`TrainingSpec` on a version and store the run."""
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    spec = TrainingSpec.from_json(params["spec"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action="model.train", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=int(params["version_id"]))
        task_type = _project(session, project_id).task_type
        validate_spec(spec, task_type=task_type, version=version)
        choice = default_features(
            session=session, store=store, project_id=project_id, version_id=version.id, target=spec.target
        )
        recipe = _check_recipe(session, spec, project_id=project_id, version=version) if spec.recipe_id else None
    ctx.progress(0.01, "tracking.progress.reading", label=version.label)
    table = read_version(store=store, version=version)
    frame, y, n_unlabeled = _labelled(table, spec.target)
    ctx.progress(0.03, "tracking.progress.locking", rows=len(frame), percent=round(100 * spec.test_size))
    time_column = spec.order_column if spec.scheme == "time_series" else None
    train_index, test_index = lock_test_set(
        frame,
        target=spec.target,
        test_size=spec.test_size,
        task_type=task_type,
        random_state=spec.seed,
        time_column=time_column,
    )
    test_rows = np.asarray(test_index, dtype=np.int64)
    X, y_train = _training_rows(frame, y, target=spec.target, test_rows=test_rows)
    try:
        results = train_candidates(
            X,
            y_train,
            task_type=task_type,
            roles=version_roles(version),
            families=list(spec.families),
            metrics=list(spec.metrics),
            scheme=spec.scheme,
            n_splits=spec.n_splits,
            groups=spec.group_column if spec.scheme == "group_kfold" else None,
            order=spec.order_column if spec.scheme == "time_series" else None,
            search=spec.search_settings,
            random_state=spec.seed,
            progress=_job_progress(ctx, 0.05, 0.85),
            features=list(spec.features),
            params={f: p for f, p in spec.params.items() if f in spec.families},
            test_size=spec.validation_size,
            recipe=recipe,
        )
    except TrainingCancelled:
        raise JobCancelled() from None
    ctx.progress(0.91, "tracking.progress.saving", models=len(results))
    model_refs = [store.put_joblib(r.pipeline) for r in results]
    test_ref = store.put_table(pa.table({"row": pa.array(np.sort(test_rows), type=pa.int64())}))
    environment = environment_fingerprint()
    config = run_config(results)
    ctx.progress(0.97, "tracking.progress.saving", models=len(results))  # last chance to cancel
    run = dict(
        project_id=project_id,
        dataset_version_id=version.id,
        dataset_sha256=version.sha256,
        target=spec.target,
        task_type=task_type,
        features=list(config["features"]),
        excluded=_exclusions(choice, spec),
        scheme=spec.scheme,
        n_splits=int(config["n_splits"]),
        group_column=spec.group_column if spec.scheme == "group_kfold" else None,
        order_column=spec.order_column if spec.scheme == "time_series" else None,
        seed=spec.seed,
        metrics=list(config["metrics"]),
        search=spec.search_settings or {},
        recipe_id=spec.recipe_id,
        recipe=recipe.to_dict() if recipe is not None else None,
        test_rows_sha256=test_ref.sha256,
        test_size=spec.test_size,
        n_train_rows=len(X),
        n_test_rows=len(test_rows),
        n_unlabeled=n_unlabeled,
        environment=environment,
        run_config={**config, "spec": spec.to_json()},
        job_id=ctx.job_id,
        created_by_id=actor_id,
    )
    candidates = [
        dict(
            position=position,
            family=result.family,
            params=dict(result.params),
            model_params=dict(result.model_params),
            fold_metrics=[dict(f) for f in result.fold_metrics],
            mean=dict(result.mean),
            std=dict(result.std),
            cv_seconds=result.cv_seconds,
            fit_seconds=result.fit_seconds,
            size_bytes=int(result.size_bytes or 0),
            model_sha256=ref.sha256,
            search=_search_json(result.search),
        )
        for position, (result, ref) in enumerate(zip(results, model_refs, strict=True))
    ]
    run_id, candidate_ids = _save_run(
        ctx.engine, run=run, candidates=candidates, refs=[*model_refs, test_ref], label=version.label
    )
    return {
        "run_id": run_id,
        "label": version.label,
        "candidate_ids": candidate_ids,
        "families": [r.family for r in results],
        "n_train_rows": len(X),
        "n_test_rows": len(test_rows),
        "n_unlabeled": n_unlabeled,
    }


def _save_run(
    engine: Engine,
    *,
    run: Mapping[str, Any],
    candidates: Sequence[Mapping[str, Any]],
    refs: Sequence[ArtifactRef],
    label: str,
) -> tuple[int, list[int]]:
    """Write the run, its candidates, their artifacts' records and the audit event in one transaction.

    Identical models (a baseline on the same data) have the same hash: two jobs finishing together
    may race to record the same artifact, so a lost race is retried.
    """
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                row = TrainingRun(**run)
                actor = require(
                    session=session,
                    user=session.get(User, row.created_by_id),
                    action="model.train",
                    project_id=row.project_id,
                )
                for ref in refs:
                    kind = "parquet" if ref.sha256 == row.test_rows_sha256 else "joblib"
                    register_artifact(session=session, ref=ref, kind=kind, actor_id=row.created_by_id)
                session.add(row)
                session.flush()
                rows = []
                for candidate in candidates:
                    stored = RunCandidate(run_id=row.id or 0, **candidate)
                    session.add(stored)
                    rows.append(stored)
                session.flush()
                record_event(
                    session=session,
                    actor=actor,
                    action="model.train",
                    object_type="training_run",
                    object_id=row.id or 0,
                    project_id=row.project_id,
                    after={
                        "dataset": label,
                        "dataset_sha256": row.dataset_sha256,
                        "target": row.target,
                        "families": ", ".join(c.family for c in rows),
                        "metrics": ", ".join(row.metrics),
                        "scheme": row.scheme,
                        "n_splits": row.n_splits,
                        "seed": row.seed,
                        "train_rows": row.n_train_rows,
                        "test_rows": row.n_test_rows,
                        "unlabeled_rows": row.n_unlabeled,
                    },
                )
                return row.id or 0, [c.id or 0 for c in rows]
        except IntegrityError:
            if attempt == _SAVE_ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def _search_json(search: SearchSummary | None) -> dict[str, Any]:
    if search is None:
        return {}
    out = asdict(search)
    out["trials"] = [
        {"params": dict(t.params), "score": t.score if math.isfinite(t.score) else None, **_trial_extra(t)}
        for t in search.trials
    ]
    safe: dict[str, Any] = json.loads(json.dumps(out, default=str))
    return safe


def _trial_extra(trial: Trial) -> dict[str, float]:
    return {"row_share": trial.row_share, "seconds": trial.seconds}


# --------------------------------------------------------------------------- read side


@dataclass(frozen=True)
class CandidateRecord:
    """One stored candidate of a run (one model family).

    Attributes
    ----------
    id, run_id, position : int
    family, task_type : str
    params : mapping
        Every hyper-parameter of the fitted pipeline, defaults included (JSON-safe ones).
    model_params : mapping
        Hyper-parameters set on top of the family defaults (given, or chosen by the search).
    metrics : tuple of str
    fold_metrics : tuple of mapping
        Per fold: ``fold``, ``train_rows``, ``test_rows``, ``fit_seconds``, ``score_seconds`` and each metric.
    mean, std : mapping of str to float
    cv_seconds, fit_seconds : float
    size_bytes : int
        The fitted pipeline serialised (uncompressed).
    model_sha256 : str
    search : mapping
        :class:`~mlcore.modeling.training.SearchSummary` as JSON (empty without a search).
    notes : str
    tags : tuple of str
    version : int
        Pass back as ``expected_version`` to :func:`set_notes_and_tags`.
    """

    id: int
    run_id: int
    position: int
    family: str
    task_type: str
    params: Mapping[str, Any]
    model_params: Mapping[str, Any]
    metrics: tuple[str, ...]
    fold_metrics: tuple[Mapping[str, Any], ...]
    mean: Mapping[str, float]
    std: Mapping[str, float]
    cv_seconds: float
    fit_seconds: float
    size_bytes: int
    model_sha256: str
    search: Mapping[str, Any]
    notes: str
    tags: tuple[str, ...]
    version: int

    @property
    def label(self) -> str:
        """``run 3 · random_forest`` (the family as its code; pages translate ``modeling.family.<code>``)."""
        return f"run {self.run_id} · {self.family}"

    def fold_frame(self) -> pd.DataFrame:
        """The per-fold metrics, one row per fold."""
        return pd.DataFrame([dict(f) for f in self.fold_metrics])

    def model_hyperparameters(self) -> dict[str, Any]:
        """The model step's own hyper-parameters (defaults included), without the preparation steps'."""
        out: dict[str, Any] = {}
        for key, value in self.params.items():
            for prefix in _MODEL_PREFIXES:
                if key.startswith(prefix) and "__" not in key[len(prefix) :]:
                    out.setdefault(key[len(prefix) :], value)
                    break
        return dict(sorted(out.items()))


def _candidate(row: RunCandidate, run: TrainingRun) -> CandidateRecord:
    return CandidateRecord(
        id=row.id or 0,
        run_id=row.run_id,
        position=row.position,
        family=row.family,
        task_type=run.task_type,
        params=dict(row.params),
        model_params=dict(row.model_params),
        metrics=tuple(run.metrics),
        fold_metrics=tuple(dict(f) for f in row.fold_metrics),
        mean={k: _float(v) for k, v in row.mean.items()},
        std={k: _float(v) for k, v in row.std.items()},
        cv_seconds=row.cv_seconds,
        fit_seconds=row.fit_seconds,
        size_bytes=row.size_bytes,
        model_sha256=row.model_sha256,
        search=dict(row.search),
        notes=row.notes,
        tags=tuple(row.tags),
        version=row.version,
    )


@dataclass(frozen=True)
class RunRecord:
    """One stored training run: data, settings and environment its candidates share.

    Attributes
    ----------
    id, project_id, version_id : int
    version_label : str
        ``churn v2``.
    dataset_sha256 : str
    target, task_type : str
    features : tuple of str
        The columns the models use (identifiers dropped).
    excluded : tuple of Exclusion
        Columns of the version that were not features, with why.
    scheme : str
    n_splits : int
    group_column, order_column : str or None
    seed : int
    metrics : tuple of str
    search : mapping
        ``kind``, ``budget_s``, ``n_iter`` (empty without a search).
    recipe_id : int or None
    recipe : mapping or None
    test_rows_sha256 : str
        Parquet list of the locked test rows (see :func:`read_test_rows`).
    test_size : float
    n_train_rows, n_test_rows, n_unlabeled : int
    environment : mapping
        :func:`~mlcore.modeling.environment.environment_fingerprint` at training time.
    run_config : mapping
        What :func:`~mlcore.modeling.training.reproduce` needs (plus the submitted ``spec``).
    status : str
    job_id : int or None
    notes : str
    tags : tuple of str
    version : int
        Pass back as ``expected_version`` to :func:`set_run_notes_and_tags`.
    created_by : str
    created_at : datetime
    """

    id: int
    project_id: int
    version_id: int
    version_label: str
    dataset_sha256: str
    target: str
    task_type: str
    features: tuple[str, ...]
    excluded: tuple[Exclusion, ...]
    scheme: str
    n_splits: int
    group_column: str | None
    order_column: str | None
    seed: int
    metrics: tuple[str, ...]
    search: Mapping[str, Any]
    recipe_id: int | None
    recipe: Mapping[str, Any] | None
    test_rows_sha256: str
    test_size: float
    n_train_rows: int
    n_test_rows: int
    n_unlabeled: int
    environment: Mapping[str, Any]
    run_config: Mapping[str, Any]
    status: str
    job_id: int | None
    notes: str
    tags: tuple[str, ...]
    version: int
    created_by: str
    created_at: datetime

    @property
    def roles(self) -> dict[str, str]:
        """Column -> role the run used."""
        return {str(k): str(v) for k, v in dict(self.run_config.get("roles", {})).items()}


def _run_record(run: TrainingRun, label: str, created_by: str) -> RunRecord:
    return RunRecord(
        id=run.id or 0,
        project_id=run.project_id,
        version_id=run.dataset_version_id,
        version_label=label,
        dataset_sha256=run.dataset_sha256,
        target=run.target,
        task_type=run.task_type,
        features=tuple(run.features),
        excluded=tuple(
            Exclusion(str(e.get("column", "")), str(e.get("reason", "")), dict(e.get("params") or {}))
            for e in run.excluded
        ),
        scheme=run.scheme,
        n_splits=run.n_splits,
        group_column=run.group_column,
        order_column=run.order_column,
        seed=run.seed,
        metrics=tuple(run.metrics),
        search=dict(run.search),
        recipe_id=run.recipe_id,
        recipe=dict(run.recipe) if run.recipe is not None else None,
        test_rows_sha256=run.test_rows_sha256,
        test_size=run.test_size,
        n_train_rows=run.n_train_rows,
        n_test_rows=run.n_test_rows,
        n_unlabeled=run.n_unlabeled,
        environment=dict(run.environment),
        run_config=dict(run.run_config),
        status=run.status,
        job_id=run.job_id,
        notes=run.notes,
        tags=tuple(run.tags),
        version=run.version,
        created_by=created_by,
        created_at=run.created_at,
    )


def _runs_query(session: Session, *conditions: Any) -> list[tuple[TrainingRun, str, str]]:
    stmt = (
        select(TrainingRun, Dataset.name, DatasetVersion.number, User)
        .join(DatasetVersion, col(DatasetVersion.id) == col(TrainingRun.dataset_version_id))
        .join(Dataset, col(Dataset.id) == col(DatasetVersion.dataset_id))
        .join(User, col(User.id) == col(TrainingRun.created_by_id))
        .where(*conditions)
        .order_by(col(TrainingRun.id).desc())
    )
    return [
        (run, f"{name} v{number}", user.display_name or user.name) for run, name, number, user in session.exec(stmt)
    ]


def training_runs(*, session: Session, project_id: int, version_id: int | None = None) -> list[RunRecord]:
    """The project's runs (of one version if given), newest first."""
    conditions: list[Any] = [TrainingRun.project_id == project_id]
    if version_id is not None:
        conditions.append(TrainingRun.dataset_version_id == version_id)
    return [_run_record(*found) for found in _runs_query(session, *conditions)]


def _run_row(session: Session, *, project_id: int, run_id: int) -> TrainingRun:
    run = session.get(TrainingRun, run_id)
    if run is None or run.project_id != project_id:
        raise NotFound("tracking.run_not_found", run_id=run_id)
    session.refresh(run)
    return run


def _candidate_row(session: Session, *, project_id: int, candidate_id: int) -> tuple[RunCandidate, TrainingRun]:
    candidate = session.get(RunCandidate, candidate_id)
    run = session.get(TrainingRun, candidate.run_id) if candidate is not None else None
    if candidate is None or run is None or run.project_id != project_id:
        raise NotFound("tracking.candidate_not_found", candidate_id=candidate_id)
    session.refresh(candidate)
    return candidate, run


def get_candidate(*, session: Session, project_id: int, candidate_id: int) -> CandidateRecord:
    """One candidate of the project.

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    candidate, run = _candidate_row(session, project_id=project_id, candidate_id=candidate_id)
    return _candidate(candidate, run)


@dataclass(frozen=True)
class ReproductionRecord:
    """One re-execution of a run and whether every metric matched (see :func:`submit_reproduce`)."""

    id: int
    run_id: int
    matches: bool
    tolerance: float
    checks: tuple[MetricCheck, ...]
    environment: Mapping[str, Any]
    job_id: int | None
    created_by: str
    created_at: datetime

    def frame(self) -> pd.DataFrame:
        """Per family and metric: ``family``, ``metric``, ``recorded``, ``reproduced``, ``difference``, ``matches``."""
        columns = ["family", "metric", "recorded", "reproduced", "difference", "matches"]
        return pd.DataFrame([asdict(c) for c in self.checks], columns=columns)


def reproductions(*, session: Session, project_id: int, run_id: int) -> list[ReproductionRecord]:
    """The re-executions of a run, newest first.

    Raises
    ------
    NotFound
        ``tracking.run_not_found``.
    """
    _run_row(session, project_id=project_id, run_id=run_id)
    stmt = (
        select(RunReproduction, User)
        .join(User, col(User.id) == col(RunReproduction.created_by_id))
        .where(RunReproduction.run_id == run_id)
        .order_by(col(RunReproduction.id).desc())
    )
    return [
        ReproductionRecord(
            id=r.id or 0,
            run_id=r.run_id,
            matches=r.matches,
            tolerance=r.tolerance,
            checks=tuple(
                MetricCheck(
                    family=str(c["family"]),
                    metric=str(c["metric"]),
                    recorded=_float(c["recorded"]),
                    reproduced=_float(c["reproduced"]),
                    difference=_float(c["difference"]),
                    matches=bool(c["matches"]),
                )
                for c in r.checks
            ),
            environment=dict(r.environment),
            job_id=r.job_id,
            created_by=u.display_name or u.name,
            created_at=r.created_at,
        )
        for r, u in session.exec(stmt).all()
    ]


@dataclass(frozen=True)
class RunDetail:
    """A run with its candidates, where they are registered, and its reproductions.

    Attributes
    ----------
    run : RunRecord
    candidates : tuple of CandidateRecord
        In training order.
    registered : mapping of int to tuple of str
        Candidate id -> registered versions (``churn@2``).
    reproductions : tuple of ReproductionRecord
        Newest first.
    """

    run: RunRecord
    candidates: tuple[CandidateRecord, ...]
    registered: Mapping[int, tuple[str, ...]]
    reproductions: tuple[ReproductionRecord, ...]

    def metrics_frame(self, *, lang: str = "en") -> pd.DataFrame:
        """One row per candidate: ``candidate_id``, ``family``, then per metric its ``mean ± std`` as text."""
        rows = []
        for c in self.candidates:
            row: dict[str, Any] = {"candidate_id": c.id, "family": c.family}
            for metric in self.run.metrics:
                row[metric] = metric_text(c.mean.get(metric, math.nan), c.std.get(metric, math.nan), lang=lang)
            rows.append(row)
        return pd.DataFrame(rows, columns=["candidate_id", "family", *self.run.metrics])

    def best(self, metric: str | None = None) -> CandidateRecord:
        """The candidate with the best mean ``metric`` (default: the run's first metric).

        Raises
        ------
        InputError
            ``modeling.unknown_metric`` for a metric the run did not compute.
        """
        name = metric or self.run.metrics[0]
        if name not in self.run.metrics:
            raise InputError("modeling.unknown_metric", metric=str(name)[:40], choices=", ".join(self.run.metrics))
        sign = 1.0 if metric_direction(name) == "higher" else -1.0

        def key(c: CandidateRecord) -> float:
            value = c.mean.get(name, math.nan)
            return sign * value if math.isfinite(value) else -math.inf

        return max(self.candidates, key=key)


def _registered_refs(session: Session, candidate_ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    if not candidate_ids:
        return {}
    stmt = (
        select(ModelVersion, RegisteredModel.name)
        .join(RegisteredModel, col(RegisteredModel.id) == col(ModelVersion.registered_model_id))
        .where(col(ModelVersion.candidate_id).in_(list(candidate_ids)))
        .order_by(col(ModelVersion.id))
    )
    out: dict[int, list[str]] = {}
    for mv, name in session.exec(stmt).all():
        out.setdefault(mv.candidate_id, []).append(f"{name}@{mv.number}")
    return {k: tuple(v) for k, v in out.items()}


def run_detail(*, session: Session, project_id: int, run_id: int) -> RunDetail:
    """One run of the project with its candidates.

    Raises
    ------
    NotFound
        ``tracking.run_not_found``.
    """
    found = _runs_query(session, TrainingRun.id == run_id, TrainingRun.project_id == project_id)
    if not found:
        raise NotFound("tracking.run_not_found", run_id=run_id)
    run = found[0][0]
    session.refresh(run)
    rows = session.exec(
        select(RunCandidate).where(RunCandidate.run_id == run_id).order_by(col(RunCandidate.position))
    ).all()
    for row in rows:
        session.refresh(row)
    candidates = tuple(_candidate(r, run) for r in rows)
    return RunDetail(
        run=_run_record(*found[0]),
        candidates=candidates,
        registered=_registered_refs(session, [c.id for c in candidates]),
        reproductions=tuple(reproductions(session=session, project_id=project_id, run_id=run_id)),
    )


_RUN_COLUMNS = (
    "run_id",
    "candidate_id",
    "family",
    "dataset",
    "version_id",
    "target",
    "scheme",
    "n_splits",
    "seed",
    "search",
)
_TAIL_COLUMNS = ("cv_seconds", "fit_seconds", "size_bytes", "tags", "registered", "notes", "created_by", "created_at")


def list_runs(
    *,
    session: Session,
    project_id: int,
    families: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
    version_id: int | None = None,
    run_ids: Sequence[int] | None = None,
    sort_by: str | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """The runs table: one row per candidate, newest run first (or best first by ``sort_by``).

    Columns: ``run_id``, ``candidate_id``, ``family`` (code), ``dataset`` (``churn v2``),
    ``version_id``, ``target``, ``scheme``, ``n_splits``, ``seed``, ``search`` (kind or empty), then
    for every metric computed by any listed run ``<metric>`` (mean over folds) and ``<metric>_std``
    (NaN where a run did not compute it), then ``cv_seconds``, ``fit_seconds``, ``size_bytes``,
    ``tags`` (list: the candidate's and its run's), ``registered`` (list of ``name@number``),
    ``notes``, ``created_by``, ``created_at``.

    Parameters
    ----------
    session, project_id
    families : sequence of str, optional
        Only these families.
    tags : sequence of str, optional
        Only candidates carrying at least one of these tags (on the candidate or its run).
    version_id : int, optional
        Only runs on this dataset version.
    run_ids : sequence of int, optional
    sort_by : str, optional
        A metric: best first (highest, or lowest for errors), missing values last.
    limit : int, default 1000
        Most runs read.
    """
    conditions: list[Any] = [TrainingRun.project_id == project_id]
    if version_id is not None:
        conditions.append(TrainingRun.dataset_version_id == version_id)
    if run_ids is not None:
        conditions.append(col(TrainingRun.id).in_(list(run_ids)))
    runs = _runs_query(session, *conditions)[: max(int(limit), 0)]
    by_id = {run.id: (run, label, who) for run, label, who in runs}
    candidates = (
        session.exec(
            select(RunCandidate)
            .where(col(RunCandidate.run_id).in_(list(by_id)))
            .order_by(col(RunCandidate.run_id).desc(), col(RunCandidate.position))
        ).all()
        if by_id
        else []
    )
    registered = _registered_refs(session, [c.id or 0 for c in candidates])
    metrics: list[str] = []
    for run, _, _ in runs:
        metrics.extend(m for m in run.metrics if m not in metrics)
    wanted_tags = {t.strip().lower() for t in tags or () if t.strip()}
    rows = []
    for c in candidates:
        run, label, who = by_id[c.run_id]
        if families is not None and c.family not in families:
            continue
        all_tags = list(dict.fromkeys([*c.tags, *run.tags]))
        if wanted_tags and not wanted_tags & {t.lower() for t in all_tags}:
            continue
        row: dict[str, Any] = {
            "run_id": run.id,
            "candidate_id": c.id,
            "family": c.family,
            "dataset": label,
            "version_id": run.dataset_version_id,
            "target": run.target,
            "scheme": run.scheme,
            "n_splits": run.n_splits,
            "seed": run.seed,
            "search": str(run.search.get("kind", "")) if run.search else "",
        }
        for metric in metrics:
            row[metric] = _float(c.mean.get(metric))
            row[f"{metric}_std"] = _float(c.std.get(metric))
        row.update(
            {
                "cv_seconds": c.cv_seconds,
                "fit_seconds": c.fit_seconds,
                "size_bytes": c.size_bytes,
                "tags": all_tags,
                "registered": list(registered.get(c.id or 0, ())),
                "notes": c.notes or run.notes,
                "created_by": who,
                "created_at": run.created_at,
            }
        )
        rows.append(row)
    columns = [*_RUN_COLUMNS, *[x for m in metrics for x in (m, f"{m}_std")], *_TAIL_COLUMNS]
    frame = pd.DataFrame(rows, columns=columns)
    if sort_by is not None:
        if sort_by not in metrics:
            raise InputError("modeling.unknown_metric", metric=str(sort_by)[:40], choices=", ".join(metrics) or "—")
        ascending = metric_direction(sort_by) == "lower"
        frame = frame.sort_values(sort_by, ascending=ascending, na_position="last", kind="stable")
        frame = frame.reset_index(drop=True)
    return frame


def _display_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return f"{value:g}"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def parameters_frame(
    *,
    session: Session,
    project_id: int,
    candidate_ids: Sequence[int],
    model_only: bool = True,
    differing_only: bool = False,
    lang: str | None = None,
) -> pd.DataFrame:
    """Hyper-parameters of several candidates side by side, as text (one column per candidate).

    The index is the parameter name; columns are the candidates' labels (``run 3 · random_forest``,
    or ``Run 3 · Random forest`` when ``lang`` is given; ``#id`` added if two labels are the same).
    A parameter a family does not have is empty.

    Parameters
    ----------
    candidate_ids : sequence of int
    model_only : bool, default True
        Only the model step's parameters (not the preparation steps').
    differing_only : bool, default False
        Only the parameters whose values differ between the candidates.
    lang : str, optional
        Label the columns with the families' names in this language.

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``.
    """
    records = [get_candidate(session=session, project_id=project_id, candidate_id=i) for i in candidate_ids]
    labels = [r.label if lang is None else _candidate_name(r.run_id, r.family, lang) for r in records]
    labels = [f"{lab} #{r.id}" if labels.count(lab) > 1 else lab for lab, r in zip(labels, records, strict=True)]
    values = [r.model_hyperparameters() if model_only else dict(r.params) for r in records]
    names = sorted({k for v in values for k in v})
    table = {
        label: [_display_value(v[name]) if name in v else "" for name in names]
        for label, v in zip(labels, values, strict=True)
    }
    frame = pd.DataFrame(table, index=pd.Index(names, name="parameter"), columns=labels)
    if differing_only and len(records) > 1:
        frame = frame[frame.nunique(axis=1) > 1]
    return frame


def parameter_metric_frame(
    *,
    session: Session,
    project_id: int,
    metric: str,
    family: str | None = None,
    run_ids: Sequence[int] | None = None,
    include_trials: bool = True,
) -> pd.DataFrame:
    """Hyper-parameters against a metric, one row per candidate (and per search trial), for a
    parallel-coordinates view.

    Columns: ``candidate_id``, ``run_id``, ``family``, ``source`` (``candidate`` or ``trial``), then
    the model hyper-parameters that vary (numbers stay numbers, others are text), then ``metric``
    (the mean over folds). Trials are the settings a search tried on all training rows, scored on
    the metric the search optimised; they are included only for that metric.
    """
    frame = list_runs(session=session, project_id=project_id, run_ids=run_ids)
    if family is not None:
        frame = frame[frame["family"] == family]
    rows: list[dict[str, Any]] = []
    for candidate_id in frame["candidate_id"].tolist():
        record = get_candidate(session=session, project_id=project_id, candidate_id=int(candidate_id))
        if metric not in record.metrics:
            continue
        base = {"candidate_id": record.id, "run_id": record.run_id, "family": record.family}
        rows.append({**base, "source": "candidate", **record.model_hyperparameters(), metric: record.mean[metric]})
        search = record.search
        if include_trials and search and search.get("metric") == metric:
            defaults = record.model_hyperparameters()
            for trial in search.get("trials", []):
                if float(trial.get("row_share", 1.0)) < 1.0 or trial.get("score") is None:
                    continue
                rows.append({**base, "source": "trial", **defaults, **trial["params"], metric: float(trial["score"])})
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(columns=["candidate_id", "run_id", "family", "source", metric])
    fixed = ["candidate_id", "run_id", "family", "source"]
    varying = [
        c for c in out.columns if c not in fixed and c != metric and out[c].astype(str).nunique(dropna=False) > 1
    ]
    out = out[[*fixed, *varying, metric]].copy()
    for column in varying:
        numbers = pd.to_numeric(out[column], errors="coerce")
        if numbers.notna().sum() == out[column].notna().sum() and not out[column].map(type).eq(bool).any():
            out[column] = numbers
        else:
            out[column] = out[column].map(lambda v: "" if v is None else _display_value(v))
    return out.reset_index(drop=True)


def parallel_coordinates_chart(frame: pd.DataFrame, *, metric: str, lang: str = "en") -> go.Figure:
    """Parallel coordinates of :func:`parameter_metric_frame`: one axis per hyper-parameter, the
    metric last, lines coloured by the metric (text values get one tick per value)."""
    import plotly.graph_objects as go

    dimensions = []
    skip = {"candidate_id", "run_id", "family", "source"}
    for column in [c for c in frame.columns if c not in skip]:
        values = frame[column]
        label = translate(f"planning.metric.{metric}", lang) if column == metric else str(column)
        if pd.api.types.is_numeric_dtype(values):
            dimensions.append({"label": label, "values": values.to_numpy(dtype=np.float64)})
        else:
            categories = sorted(values.astype(str).unique())
            codes = values.astype(str).map({c: i for i, c in enumerate(categories)})
            dimensions.append(
                {
                    "label": label,
                    "values": codes.to_numpy(dtype=np.float64),
                    "tickvals": list(range(len(categories))),
                    "ticktext": categories,
                }
            )
    colour = frame[metric].to_numpy(dtype=np.float64) if metric in frame else np.zeros(len(frame))
    figure = go.Figure(
        go.Parcoords(
            line={"color": colour, "colorscale": "Viridis", "showscale": True},
            dimensions=dimensions,
        )
    )
    figure.update_layout(
        title=translate("tracking.chart.parallel_title", lang, metric=translate(f"planning.metric.{metric}", lang)),
        margin={"l": 60, "r": 60, "t": 110, "b": 30},  # room for the axis names above the axes
        font={"size": 13},
    )
    return figure


# --------------------------------------------------------------------------- page views


def scheme_choices(task_type: str) -> tuple[str, ...]:
    """The validation schemes offered for a task (stratifying needs classes).

    Examples
    --------
    >>> scheme_choices("regression")
    ('kfold', 'group_kfold', 'time_series', 'holdout')
    """
    return tuple(s for s in SCHEMES if task_type == "classification" or s != "stratified_kfold")


@dataclass(frozen=True)
class SplitColumns:
    """Columns that can split the rows: ``groups`` for group k-fold (any non-text column), ``dates``
    for a time-series split (date columns)."""

    groups: tuple[str, ...]
    dates: tuple[str, ...]


def split_column_choices(choice: FeatureChoice) -> SplitColumns:
    """The group and date columns a run on ``choice``'s version could be split by.

    Examples
    --------
    >>> choice = FeatureChoice("y", ("a",), (), ("id", "when", "note", "a"),
    ...                        {"id": "identifier", "when": "datetime", "note": "text", "a": "numeric"})
    >>> split_column_choices(choice)
    SplitColumns(groups=('id', 'when', 'a'), dates=('when',))
    """
    return SplitColumns(
        groups=tuple(c for c in choice.columns if choice.roles.get(c) != "text"),
        dates=tuple(c for c in choice.columns if choice.roles.get(c) == "datetime"),
    )


def _frame_metrics(frame: pd.DataFrame) -> list[str]:
    fixed = {*_RUN_COLUMNS, *_TAIL_COLUMNS}
    return [str(c) for c in frame.columns if c not in fixed and not str(c).endswith("_std")]


@dataclass(frozen=True)
class RunFilterChoices:
    """What the runs table can be filtered and sorted by (from an unfiltered :func:`list_runs`).

    Attributes
    ----------
    families : tuple of str
        Family codes, in the order :data:`~mlcore.modeling.training.MODEL_FAMILIES` lists them.
    tags : tuple of str
        Every tag, case-insensitively unique, sorted.
    versions : mapping of int to str
        Dataset version id -> label, newest run's version first.
    metrics : tuple of str
        Metrics computed by any run, in the order the runs listed them.
    """

    families: tuple[str, ...]
    tags: tuple[str, ...]
    versions: Mapping[int, str]
    metrics: tuple[str, ...]


def run_filter_choices(frame: pd.DataFrame) -> RunFilterChoices:
    """The families, tags, dataset versions and metrics found in a :func:`list_runs` frame.

    Examples
    --------
    >>> frame = pd.DataFrame({"family": ["random_forest", "dummy"], "version_id": [2, 2],
    ...                       "dataset": ["churn v2", "churn v2"], "roc_auc": [0.8, 0.5],
    ...                       "roc_auc_std": [0.01, 0.0], "tags": [["Good"], ["good", "base"]]})
    >>> choices = run_filter_choices(frame)
    >>> choices.families, choices.tags, dict(choices.versions), choices.metrics
    (('dummy', 'random_forest'), ('base', 'Good'), {2: 'churn v2'}, ('roc_auc',))
    """
    present = set(frame["family"]) if "family" in frame else set()
    order = list(dict.fromkeys(f for families in MODEL_FAMILIES.values() for f in families))
    families = [f for f in order if f in present] + sorted(str(f) for f in present if f not in order)
    tags: dict[str, str] = {}
    for row_tags in frame.get("tags", pd.Series(dtype=object)):
        for tag in row_tags or ():
            tags.setdefault(str(tag).lower(), str(tag))
    versions: dict[int, str] = {}
    if "version_id" in frame:
        for version_id, label in zip(frame["version_id"], frame["dataset"], strict=True):
            versions.setdefault(int(version_id), str(label))
    return RunFilterChoices(
        families=tuple(families),
        tags=tuple(sorted(tags.values(), key=str.lower)),
        versions=versions,
        metrics=tuple(_frame_metrics(frame)),
    )


def _family_name(family: str, lang: str) -> str:
    return translate(f"modeling.family.{family}", lang)


def _candidate_name(run_id: int, family: str, lang: str) -> str:
    return translate("experiments.candidate_name", lang, run=run_id, family=_family_name(family, lang))


def _unique_tags(tags: Iterable[Any]) -> list[str]:
    seen: dict[str, str] = {}
    for tag in tags:
        seen.setdefault(str(tag).lower(), str(tag))
    return list(seen.values())


def runs_table(frame: pd.DataFrame, *, lang: str = "en") -> pd.DataFrame:
    """A :func:`list_runs` frame as people read it, in the same row order.

    Columns: ``run_id``, ``candidate_id``, ``family`` (its name), ``dataset``, then per metric its
    code holding ``mean ± std`` as text, then ``validation`` (scheme and folds), ``search`` (its
    name, empty without one), ``seed``, ``cv_seconds``, ``size_kb``, ``tags`` and ``registered``
    (comma-separated; a tag on both the model and its run shown once), ``notes``, ``created_by``,
    ``created_at``.

    Examples
    --------
    >>> frame = pd.DataFrame({"run_id": [3], "candidate_id": [7], "family": ["random_forest"],
    ...     "dataset": ["churn v1"], "scheme": ["kfold"], "n_splits": [5], "seed": [0], "search": ["random"],
    ...     "roc_auc": [0.8123], "roc_auc_std": [0.0101], "cv_seconds": [1.5], "size_bytes": [2048],
    ...     "tags": [["a", "b"]], "registered": [["churn@1"]], "notes": [""], "created_by": ["Ana"],
    ...     "created_at": [None]})
    >>> row = runs_table(frame, lang="es").iloc[0]
    >>> row["family"], row["roc_auc"], row["validation"], row["search"], float(row["size_kb"]), row["tags"]
    ('Bosque aleatorio', '0,812 ± 0,010', 'K-fold · 5 particiones', 'Búsqueda aleatoria', 2.0, 'a, b')
    """
    metrics = _frame_metrics(frame)
    columns = [
        "run_id",
        "candidate_id",
        "family",
        "dataset",
        *metrics,
        "validation",
        "search",
        "seed",
        "cv_seconds",
        "size_kb",
        "tags",
        "registered",
        "notes",
        "created_by",
        "created_at",
    ]
    rows = []
    for record in frame.to_dict("records"):
        scheme = str(record["scheme"])
        name = translate(f"modeling.scheme.{scheme}", lang)
        validation = (
            name
            if scheme == "holdout"
            else translate("experiments.validation", lang, scheme=name, folds=int(record["n_splits"]))
        )
        search = str(record.get("search") or "")
        row: dict[str, Any] = {
            "run_id": int(record["run_id"]),
            "candidate_id": int(record["candidate_id"]),
            "family": _family_name(str(record["family"]), lang),
            "dataset": record["dataset"],
        }
        for metric in metrics:
            row[metric] = metric_text(_float(record[metric]), _float(record.get(f"{metric}_std")), lang=lang)
        row.update(
            {
                "validation": validation,
                "search": translate(f"tracking.search.{search}", lang) if search else "",
                "seed": int(record["seed"]),
                "cv_seconds": _float(record["cv_seconds"]),
                "size_kb": _float(record["size_bytes"]) / 1024,
                "tags": ", ".join(_unique_tags(record["tags"] or ())),
                "registered": ", ".join(str(r) for r in record["registered"] or ()),
                "notes": record["notes"],
                "created_by": record["created_by"],
                "created_at": record["created_at"],
            }
        )
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def candidate_labels(frame: pd.DataFrame, *, metric: str | None = None, lang: str = "en") -> dict[int, str]:
    """Candidate id -> a label for pick lists, in the frame's order: ``Run 3 · Random forest ·
    ROC AUC 0.812 ± 0.010``, with where it is registered.

    Examples
    --------
    >>> frame = pd.DataFrame({"run_id": [3], "candidate_id": [7], "family": ["dummy"],
    ...     "roc_auc": [0.5], "roc_auc_std": [0.0], "registered": [["churn@1"]]})
    >>> candidate_labels(frame, metric="roc_auc")
    {7: 'Run 3 · Baseline (ignores the inputs) · ROC AUC 0.500 ± 0.000 · registered as churn@1'}
    """
    out: dict[int, str] = {}
    for record in frame.to_dict("records"):
        label = _candidate_name(int(record["run_id"]), str(record["family"]), lang)
        if metric is not None and metric in record:
            value = metric_text(_float(record[metric]), _float(record.get(f"{metric}_std")), lang=lang)
            label = f"{label} · {translate(f'planning.metric.{metric}', lang)} {value}"
        if record.get("registered"):
            refs = ", ".join(str(r) for r in record["registered"])
            label = translate("experiments.candidate_registered", lang, label=label, refs=refs)
        out[int(record["candidate_id"])] = label
    return out


def fold_metrics_chart(candidates: Sequence[CandidateRecord], *, metric: str, lang: str = "en") -> go.Figure:
    """``metric`` in each validation fold, one line per candidate: how much a model's score moves
    from one part of the data to another (the spread behind ``± std``)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for c in candidates:
        folds = [f for f in c.fold_metrics if metric in f]
        if not folds:
            continue
        figure.add_trace(
            go.Scatter(
                x=[int(f["fold"]) for f in folds],
                y=[_float(f[metric]) for f in folds],
                mode="lines+markers",
                name=_candidate_name(c.run_id, c.family, lang),
            )
        )
    name = translate(f"planning.metric.{metric}", lang)
    figure.update_layout(
        title=translate("experiments.chart.folds_title", lang, metric=name),
        xaxis={"title": translate("experiments.chart.fold", lang), "dtick": 1},
        yaxis={"title": name},
        legend={"orientation": "h", "y": -0.2},
        margin={"l": 60, "r": 20, "t": 60, "b": 40},
    )
    return figure


def reproduction_frame(record: ReproductionRecord, *, lang: str = "en") -> pd.DataFrame:
    """:meth:`ReproductionRecord.frame` with family and metric names in ``lang``."""
    frame = record.frame()
    frame["family"] = [_family_name(str(f), lang) for f in frame["family"]]
    frame["metric"] = [translate(f"planning.metric.{m}", lang) for m in frame["metric"]]
    return frame


def job_result_text(kind: str, result: Mapping[str, Any], *, lang: str = "en") -> str:
    """What a finished ``train`` or ``reproduce`` job produced, for the jobs panel.

    Examples
    --------
    >>> job_result_text("reproduce", {"run_id": 4, "matches": True, "differing": 0})
    'run #4 re-executed: every metric matches.'
    >>> job_result_text("train", {"run_id": 5, "label": "churn v1", "families": ["dummy", "knn"],
    ...                           "n_train_rows": 480, "n_test_rows": 120}, lang="es")
    'ejecución #5 sobre churn v1: 2 modelos con 480 filas; 120 filas reservadas como conjunto de prueba.'
    """
    if kind == "reproduce":
        key = "experiments.job.reproduced_match" if result.get("matches") else "experiments.job.reproduced_differ"
        return translate(key, lang, run_id=result.get("run_id", "?"), differing=result.get("differing", "?"))
    return translate(
        "experiments.job.trained",
        lang,
        run_id=result.get("run_id", "?"),
        label=result.get("label", ""),
        models=len(result.get("families") or ()),
        train=f"{int(result.get('n_train_rows', 0)):,}".replace(",", "." if lang == "es" else ","),
        test=f"{int(result.get('n_test_rows', 0)):,}".replace(",", "." if lang == "es" else ","),
    )


# --------------------------------------------------------------------------- notes and tags


def _clean_tags(tags: Sequence[str]) -> list[str]:
    if isinstance(tags, str):
        tags = [tags]
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str):
            raise InputError("tracking.bad_tag", tag=str(tag)[:40], maximum=MAX_TAG_LENGTH)
        text = " ".join(tag.split())
        if not text:
            continue
        if len(text) > MAX_TAG_LENGTH or "," in text or any(unicodedata.category(ch).startswith("C") for ch in text):
            raise InputError("tracking.bad_tag", tag=text[:40], maximum=MAX_TAG_LENGTH)
        if text.lower() not in {t.lower() for t in out}:
            out.append(text)
    if len(out) > MAX_TAGS:
        raise InputError("tracking.too_many_tags", count=len(out), maximum=MAX_TAGS)
    return out


def _clean_notes(notes: str) -> str:
    if not isinstance(notes, str):
        raise InputError("tracking.notes_too_long", maximum=NOTES_MAX)
    text = notes.strip()
    if len(text) > NOTES_MAX:
        raise InputError("tracking.notes_too_long", maximum=NOTES_MAX)
    return text


def set_notes_and_tags(
    *,
    session: Session,
    actor: User,
    project_id: int,
    candidate_id: int,
    notes: str,
    tags: Sequence[str],
    expected_version: int,
) -> CandidateRecord:
    """Save a candidate's notes and tags (an audit event), refusing a stale save.

    Parameters
    ----------
    actor : User
        Needs ``model.annotate`` in the project.
    candidate_id : int
    notes : str
        At most :data:`NOTES_MAX` characters.
    tags : sequence of str
        At most :data:`MAX_TAGS`, each at most :data:`MAX_TAG_LENGTH` characters, no commas;
        spaces are tidied and case-insensitive duplicates dropped.
    expected_version : int
        The candidate's ``version`` the form started from.

    Raises
    ------
    PermissionDenied
        Without ``model.annotate`` in the project.
    NotFound
        ``tracking.candidate_not_found``.
    InputError
        ``tracking.notes_too_long``, ``tracking.bad_tag``, ``tracking.too_many_tags``.
    ConflictError
        ``tracking.changed_meanwhile`` if someone saved since ``expected_version``.
    """
    require(session=session, user=actor, action="model.annotate", project_id=project_id)
    candidate, run = _candidate_row(session, project_id=project_id, candidate_id=candidate_id)
    text, clean = _clean_notes(notes), _clean_tags(tags)
    before = {"notes": candidate.notes, "tags": ", ".join(candidate.tags)}
    changed = session.execute(
        update(RunCandidate)
        .where(col(RunCandidate.id) == candidate_id, col(RunCandidate.version) == expected_version)
        .values(notes=text, tags=clean, version=expected_version + 1)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise ConflictError("tracking.changed_meanwhile", what=f"run {run.id} · {candidate.family}")
    session.refresh(candidate)
    record_event(
        session=session,
        actor=actor,
        action="model.annotate",
        object_type="run_candidate",
        object_id=candidate_id,
        project_id=project_id,
        before=before,
        after={"notes": text, "tags": ", ".join(clean)},
    )
    return _candidate(candidate, run)


def set_run_notes_and_tags(
    *,
    session: Session,
    actor: User,
    project_id: int,
    run_id: int,
    notes: str,
    tags: Sequence[str],
    expected_version: int,
) -> RunRecord:
    """Save a run's notes and tags (shared by all its candidates in the runs table); as
    :func:`set_notes_and_tags`.

    Raises
    ------
    PermissionDenied, NotFound, InputError, ConflictError
        As :func:`set_notes_and_tags` (``tracking.run_not_found``).
    """
    require(session=session, user=actor, action="model.annotate", project_id=project_id)
    run = _run_row(session, project_id=project_id, run_id=run_id)
    text, clean = _clean_notes(notes), _clean_tags(tags)
    before = {"notes": run.notes, "tags": ", ".join(run.tags)}
    changed = session.execute(
        update(TrainingRun)
        .where(col(TrainingRun.id) == run_id, col(TrainingRun.version) == expected_version)
        .values(notes=text, tags=clean, version=expected_version + 1)
    ).rowcount  # type: ignore[attr-defined]
    if changed != 1:
        raise ConflictError("tracking.changed_meanwhile", what=f"run {run_id}")
    record_event(
        session=session,
        actor=actor,
        action="model.annotate",
        object_type="training_run",
        object_id=run_id,
        project_id=project_id,
        before=before,
        after={"notes": text, "tags": ", ".join(clean)},
    )
    found = _runs_query(session, TrainingRun.id == run_id)
    session.refresh(found[0][0])
    return _run_record(*found[0])


# --------------------------------------------------------------------------- loading a model


def load_model(*, session: Session, store: ArtifactStore, candidate_id: int, project_id: int | None = None) -> Pipeline:
    """The fitted pipeline of a candidate, ready to predict.

    Refuses (before anything is unpickled) when the run recorded other scikit-learn, NumPy or
    joblib versions than the running ones, and when the file changed since Ciclo wrote it.

    Parameters
    ----------
    session, store
    candidate_id : int
    project_id : int, optional
        Also refuse a candidate of another project.

    Raises
    ------
    NotFound
        ``tracking.candidate_not_found``, or the artifact is missing or not Ciclo's own.
    InputError
        ``modeling.env_mismatch`` naming the package and both versions.
    ArtifactCorrupted
        ``errors.artifact_corrupted`` when the file's hash no longer matches.
    """
    candidate = session.get(RunCandidate, candidate_id)
    run = session.get(TrainingRun, candidate.run_id) if candidate is not None else None
    if candidate is None or run is None or (project_id is not None and run.project_id != project_id):
        raise NotFound("tracking.candidate_not_found", candidate_id=candidate_id)
    check_environment(run.environment)
    model: Pipeline = load_joblib(session=session, store=store, sha256=candidate.model_sha256)
    return model


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class ModelVersionRecord:
    """One version of a registered model.

    Attributes
    ----------
    id, model_id : int
    name : str
    number : int
    stage : str
        One of :data:`STAGES`.
    candidate_id, run_id : int
    family, task_type, target : str
    dataset_version_id : int
    metrics : tuple of str
    mean, std : mapping of str to float
    model_sha256 : str
    version : int
        Pass back as ``expected_version`` to :func:`transition_stage`.
    created_by : str
    created_at : datetime
    stage_changed_by : str
    stage_changed_at : datetime or None
    """

    id: int
    model_id: int
    name: str
    number: int
    stage: str
    candidate_id: int
    run_id: int
    family: str
    task_type: str
    target: str
    dataset_version_id: int
    metrics: tuple[str, ...]
    mean: Mapping[str, float]
    std: Mapping[str, float]
    model_sha256: str
    version: int
    created_by: str
    created_at: datetime
    stage_changed_by: str
    stage_changed_at: datetime | None

    @property
    def ref(self) -> str:
        """``churn@3``: what :func:`resolve_model` accepts."""
        return f"{self.name}@{self.number}"

    @property
    def next_stages(self) -> tuple[str, ...]:
        """The stages this version may move to (see :data:`TRANSITIONS`)."""
        return TRANSITIONS.get(self.stage, ())


@dataclass(frozen=True)
class RegisteredModelRecord:
    """A registered model and its versions, newest first."""

    id: int
    project_id: int
    name: str
    description: str
    created_by: str
    created_at: datetime
    versions: tuple[ModelVersionRecord, ...]

    @property
    def production(self) -> ModelVersionRecord | None:
        """The version in production, if any (there is at most one)."""
        return next((v for v in self.versions if v.stage == "production"), None)

    @property
    def latest(self) -> ModelVersionRecord | None:
        return self.versions[0] if self.versions else None


def _version_records(session: Session, *conditions: Any) -> list[ModelVersionRecord]:
    stmt = (
        select(ModelVersion, RegisteredModel, RunCandidate, TrainingRun)
        .join(RegisteredModel, col(RegisteredModel.id) == col(ModelVersion.registered_model_id))
        .join(RunCandidate, col(RunCandidate.id) == col(ModelVersion.candidate_id))
        .join(TrainingRun, col(TrainingRun.id) == col(RunCandidate.run_id))
        .where(*conditions)
        .order_by(col(RegisteredModel.name), col(ModelVersion.number).desc())
    )
    out = []
    for mv, model, candidate, run in session.exec(stmt).all():
        session.refresh(mv)
        out.append(
            ModelVersionRecord(
                id=mv.id or 0,
                model_id=model.id or 0,
                name=model.name,
                number=mv.number,
                stage=mv.stage,
                candidate_id=candidate.id or 0,
                run_id=run.id or 0,
                family=candidate.family,
                task_type=run.task_type,
                target=run.target,
                dataset_version_id=run.dataset_version_id,
                metrics=tuple(run.metrics),
                mean={k: _float(v) for k, v in candidate.mean.items()},
                std={k: _float(v) for k, v in candidate.std.items()},
                model_sha256=candidate.model_sha256,
                version=mv.version,
                created_by=_user_name(session, mv.created_by_id),
                created_at=mv.created_at,
                stage_changed_by=_user_name(session, mv.stage_changed_by_id),
                stage_changed_at=mv.stage_changed_at,
            )
        )
    return out


def get_model_version(*, session: Session, project_id: int, model_version_id: int) -> ModelVersionRecord:
    """One registered model version of the project.

    Raises
    ------
    NotFound
        ``tracking.model_version_not_found``.
    """
    found = _version_records(session, ModelVersion.id == model_version_id, RegisteredModel.project_id == project_id)
    if not found:
        raise NotFound("tracking.model_version_not_found", model_version_id=model_version_id)
    return found[0]


def list_registry(*, session: Session, project_id: int) -> list[RegisteredModelRecord]:
    """The project's registered models by name, each with its versions (newest first)."""
    versions = _version_records(session, RegisteredModel.project_id == project_id)
    by_model: dict[int, list[ModelVersionRecord]] = {}
    for v in versions:
        by_model.setdefault(v.model_id, []).append(v)
    models = session.exec(
        select(RegisteredModel).where(RegisteredModel.project_id == project_id).order_by(col(RegisteredModel.name))
    ).all()
    return [
        RegisteredModelRecord(
            id=m.id or 0,
            project_id=m.project_id,
            name=m.name,
            description=m.description,
            created_by=_user_name(session, m.created_by_id),
            created_at=m.created_at,
            versions=tuple(by_model.get(m.id or 0, ())),
        )
        for m in models
    ]


def registry_frame(models: Sequence[RegisteredModelRecord], *, lang: str = "en") -> pd.DataFrame:
    """Every registered version as a row: ``model_version_id``, ``ref``, ``name``, ``number``,
    ``stage`` (translated), ``stage_code``, ``family``, ``run_id``, ``candidate_id``, ``metric``
    (the run's first, translated), ``value`` (``mean ± std``), ``created_by``, ``created_at``,
    ``stage_changed_by``, ``stage_changed_at``."""
    columns = [
        "model_version_id",
        "ref",
        "name",
        "number",
        "stage",
        "stage_code",
        "family",
        "run_id",
        "candidate_id",
        "metric",
        "value",
        "created_by",
        "created_at",
        "stage_changed_by",
        "stage_changed_at",
    ]
    rows = []
    for model in models:
        for v in model.versions:
            metric = v.metrics[0] if v.metrics else ""
            rows.append(
                {
                    "model_version_id": v.id,
                    "ref": v.ref,
                    "name": v.name,
                    "number": v.number,
                    "stage": translate(f"tracking.stage.{v.stage}", lang),
                    "stage_code": v.stage,
                    "family": translate(f"modeling.family.{v.family}", lang),
                    "run_id": v.run_id,
                    "candidate_id": v.candidate_id,
                    "metric": translate(f"planning.metric.{metric}", lang) if metric else "",
                    "value": metric_text(v.mean.get(metric, math.nan), v.std.get(metric, math.nan), lang=lang),
                    "created_by": v.created_by,
                    "created_at": v.created_at,
                    "stage_changed_by": v.stage_changed_by,
                    "stage_changed_at": v.stage_changed_at,
                }
            )
    return pd.DataFrame(rows, columns=columns)


def _model_name(name: str) -> str:
    from mlcore.naming import check_name

    clean = check_name(name, what="model")
    if "@" in clean or "," in clean:
        raise InputError("tracking.bad_model_name", name=clean[:100])
    return clean


def register_model(
    *,
    session: Session,
    actor: User,
    project_id: int,
    candidate_id: int,
    name: str,
    description: str = "",
) -> ModelVersionRecord:
    """Register a candidate as the next version of the model ``name`` (created if new), in stage
    ``candidate`` (an audit event).

    Parameters
    ----------
    actor : User
        Needs ``model.register`` in the project.
    candidate_id : int
    name : str
        The model's name in the project (no ``@``: it separates the name from the version in refs).
    description : str
        Kept when the model is created (what it predicts, for whom).

    Raises
    ------
    PermissionDenied
        Without ``model.register`` in the project.
    NotFound
        ``tracking.candidate_not_found``.
    InputError
        A bad name (``errors.name_*``, ``tracking.bad_model_name``), ``tracking.already_registered``
        when this candidate already is a version of this model, ``tracking.notes_too_long``.
    ConflictError
        ``tracking.registry_race`` if someone registered a version of this model at the same moment.
    """
    require(session=session, user=actor, action="model.register", project_id=project_id)
    candidate, run = _candidate_row(session, project_id=project_id, candidate_id=candidate_id)
    clean = _model_name(name)
    text = _clean_notes(description)
    model = session.exec(
        select(RegisteredModel).where(RegisteredModel.project_id == project_id, RegisteredModel.name == clean)
    ).first()
    try:
        if model is None:
            model = RegisteredModel(project_id=project_id, name=clean, description=text, created_by_id=actor.id or 0)
            session.add(model)
            session.flush()
        existing = session.exec(
            select(ModelVersion).where(
                ModelVersion.registered_model_id == model.id, ModelVersion.candidate_id == candidate_id
            )
        ).first()
        if existing is not None:
            raise InputError("tracking.already_registered", ref=f"{clean}@{existing.number}")
        last = session.exec(
            select(func.max(ModelVersion.number)).where(ModelVersion.registered_model_id == model.id)
        ).one()
        mv = ModelVersion(
            registered_model_id=model.id or 0,
            number=(last or 0) + 1,
            candidate_id=candidate_id,
            stage="candidate",
            created_by_id=actor.id or 0,
        )
        session.add(mv)
        session.flush()
    except IntegrityError as exc:
        raise ConflictError("tracking.registry_race", name=clean) from exc
    record_event(
        session=session,
        actor=actor,
        action="model.register",
        object_type="model_version",
        object_id=mv.id or 0,
        project_id=project_id,
        after={
            "ref": f"{clean}@{mv.number}",
            "candidate_id": candidate_id,
            "run_id": run.id,
            "family": candidate.family,
            "model_sha256": candidate.model_sha256,
            "stage": "candidate",
        },
    )
    return get_model_version(session=session, project_id=project_id, model_version_id=mv.id or 0)


def _set_stage(session: Session, *, mv_id: int, model_id: int, stage: str, expected_version: int, actor: User) -> bool:
    changed = session.execute(
        update(ModelVersion)
        .where(col(ModelVersion.id) == mv_id, col(ModelVersion.version) == expected_version)
        .values(
            stage=stage,
            production_of=model_id if stage == "production" else None,
            version=expected_version + 1,
            stage_changed_by_id=actor.id,
            stage_changed_at=utcnow(),
        )
    ).rowcount  # type: ignore[attr-defined]
    return bool(changed == 1)


def transition_stage(
    *,
    session: Session,
    actor: User,
    project_id: int,
    model_version_id: int,
    stage: str,
    expected_version: int,
    reason: str = "",
) -> ModelVersionRecord:
    """Move a model version to another stage (see :data:`TRANSITIONS`); every change is an audit
    event with who, from, to and why.

    Promoting to ``production`` archives the model's current production version in the same
    transaction (its own audit event), so a model never has two production versions; the database
    refuses a second one as well.

    Parameters
    ----------
    actor : User
        Needs ``model.promote`` in the project.
    model_version_id : int
    stage : str
        One of :data:`STAGES`.
    expected_version : int
        The version's ``version`` the form started from.
    reason : str
        Why (kept in the audit trail).

    Raises
    ------
    PermissionDenied
        Without ``model.promote`` in the project.
    NotFound
        ``tracking.model_version_not_found``.
    InputError
        ``tracking.unknown_stage``, ``tracking.illegal_transition`` (with the allowed stages),
        ``tracking.notes_too_long``.
    ConflictError
        ``tracking.changed_meanwhile`` if the version changed since ``expected_version``, or
        another version reached production at the same moment.
    """
    require(session=session, user=actor, action="model.promote", project_id=project_id)
    current = get_model_version(session=session, project_id=project_id, model_version_id=model_version_id)
    if stage not in STAGES:
        raise InputError("tracking.unknown_stage", stage=str(stage)[:40], choices=", ".join(STAGES))
    why = _clean_notes(reason)
    allowed = TRANSITIONS[current.stage]
    if stage not in allowed:
        raise InputError(
            "tracking.illegal_transition",
            ref=current.ref,
            stage_from=current.stage,
            stage_to=stage,
            allowed=", ".join(allowed) or "—",
        )
    if current.version != expected_version:
        raise ConflictError("tracking.changed_meanwhile", what=current.ref)
    try:
        if stage == "production":
            previous = session.exec(
                select(ModelVersion).where(
                    ModelVersion.registered_model_id == current.model_id,
                    ModelVersion.stage == "production",
                    ModelVersion.id != current.id,
                )
            ).first()
            if previous is not None:
                if not _set_stage(
                    session,
                    mv_id=previous.id or 0,
                    model_id=current.model_id,
                    stage="archived",
                    expected_version=previous.version,
                    actor=actor,
                ):
                    raise ConflictError("tracking.changed_meanwhile", what=f"{current.name}@{previous.number}")
                session.flush()
                record_event(
                    session=session,
                    actor=actor,
                    action="model.stage",
                    object_type="model_version",
                    object_id=previous.id or 0,
                    project_id=project_id,
                    before={"ref": f"{current.name}@{previous.number}", "stage": "production"},
                    after={"ref": f"{current.name}@{previous.number}", "stage": "archived", "replaced_by": current.ref},
                    reason=why,
                )
        if not _set_stage(
            session,
            mv_id=current.id,
            model_id=current.model_id,
            stage=stage,
            expected_version=expected_version,
            actor=actor,
        ):
            raise ConflictError("tracking.changed_meanwhile", what=current.ref)
        session.flush()
    except IntegrityError as exc:
        raise ConflictError("tracking.changed_meanwhile", what=current.ref) from exc
    record_event(
        session=session,
        actor=actor,
        action="model.stage",
        object_type="model_version",
        object_id=current.id,
        project_id=project_id,
        before={"ref": current.ref, "stage": current.stage},
        after={"ref": current.ref, "stage": stage},
        reason=why,
    )
    return get_model_version(session=session, project_id=project_id, model_version_id=current.id)


def resolve_model(*, session: Session, project_id: int, ref: str) -> ModelVersionRecord:
    """The model version a reference names.

    * ``churn`` — the production version of ``churn`` (refused if there is none: say which version);
    * ``churn@3`` — version 3;
    * ``churn@production``, ``churn@staging``, ``churn@candidate``, ``churn@archived`` — the newest
      version in that stage;
    * ``churn@latest`` — the newest version, whatever its stage.

    Raises
    ------
    InputError
        ``tracking.bad_model_ref``.
    NotFound
        ``tracking.model_not_found``, ``tracking.no_version_in_stage``, ``tracking.model_version_missing``.

    Examples
    --------
    >>> from mlcore.store.engine import make_engine
    >>> with Session(make_engine("sqlite://")) as s:
    ...     resolve_model(session=s, project_id=1, ref="@@")
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: “@@” is not a model reference...
    """
    match = _REF.match(ref.strip()) if isinstance(ref, str) else None
    if match is None or not match.group("name").strip():
        raise InputError("tracking.bad_model_ref", ref=str(ref)[:100])
    name = match.group("name").strip()
    selector = (match.group("selector") or "production").strip().lower()
    model = session.exec(
        select(RegisteredModel).where(RegisteredModel.project_id == project_id, RegisteredModel.name == name)
    ).first()
    if model is None:
        raise NotFound("tracking.model_not_found", name=name[:100])
    versions = _version_records(session, ModelVersion.registered_model_id == model.id)
    if selector.isdigit():
        found = [v for v in versions if v.number == int(selector)]
        if not found:
            raise NotFound("tracking.model_version_missing", ref=f"{name}@{selector}"[:100])
        return found[0]
    if selector == "latest":
        if not versions:
            raise NotFound("tracking.model_version_missing", ref=f"{name}@latest")
        return versions[0]
    if selector not in STAGES:
        raise InputError("tracking.bad_model_ref", ref=str(ref)[:100])
    in_stage = [v for v in versions if v.stage == selector]
    if not in_stage:
        raise NotFound("tracking.no_version_in_stage", name=name[:100], stage=selector)
    return in_stage[0]


# --------------------------------------------------------------------------- model package


def package_filename(name: str, *, suffix: str = ".zip") -> str:
    """A file name safe on every system for a package named ``name``.

    Examples
    --------
    >>> package_filename("churn@3 (Año 2025)/../x")
    'churn-3-A-o-2025-x.zip'
    """
    stem = re.sub(r"-*\.{2,}-*", "-", _FILENAME_UNSAFE.sub("-", name))
    stem = re.sub(r"-{2,}", "-", stem).strip("-.")[:80].strip("-.") or "model"
    return stem + suffix


def _candidate_result(record: CandidateRecord, run: RunRecord) -> CandidateResult:
    shared = {k: v for k, v in run.run_config.items() if k not in ("families", "params", "results", "spec")}
    return CandidateResult(
        family=record.family,
        task_type=record.task_type,
        params=record.params,
        model_params=record.model_params,
        metrics=record.metrics,
        fold_metrics=record.fold_metrics,
        mean=record.mean,
        std=record.std,
        cv_seconds=record.cv_seconds,
        fit_seconds=record.fit_seconds,
        size_bytes=record.size_bytes,
        pipeline=None,
        features=run.features,
        dropped={c: r for c, r in run.roles.items() if r == "identifier"},
        search=None,
        config={**shared, "family": record.family, "model_params": dict(record.model_params)},
    )


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False, default=str).encode("utf-8")


def export_package(
    *,
    session: Session,
    store: ArtifactStore,
    actor: User,
    project_id: int,
    candidate_id: int,
    lang: str = "en",
    title: str | None = None,
    intended_use: str = "",
    limitations: str = "",
) -> bytes:
    """A model package (zip) of a candidate: the files of :data:`PACKAGE_FILES`.

    * ``model.joblib`` — the fitted pipeline exactly as stored (hash checked);
    * ``input_schema.json`` — per feature its name, role, type, missing values, range or categories
      (from the training rows);
    * ``metrics.json`` — cross-validated metrics per fold, mean and standard deviation;
    * ``requirements.txt`` — the exact package versions of the run;
    * ``model_card.md`` — the model card in ``lang``;
    * ``run.json`` — the run's data version, target, features, exclusions, settings, seed,
      hyper-parameters, environment and configuration.

    The export is an audit event (who took which model out of Ciclo).

    Parameters
    ----------
    actor : User
        Needs ``model.export`` in the project.
    candidate_id : int
    lang : str
        Language of the model card.
    title : str, optional
        The card's title (default: the registered ``name@number``, else ``run N · family``).
    intended_use, limitations : str
        The card's texts, written by the team.

    Raises
    ------
    PermissionDenied
        Without ``model.export`` in the project.
    NotFound
        ``tracking.candidate_not_found``, or a stored file is missing.
    ArtifactCorrupted
        A stored file changed since Ciclo wrote it.
    InputError
        ``modeling.unknown_language``.
    """
    from mlcore.modeling.card import ModelCardData, input_schema, model_card_markdown, requirements_txt

    require(session=session, user=actor, action="model.export", project_id=project_id)
    detail_record = get_candidate(session=session, project_id=project_id, candidate_id=candidate_id)
    detail = run_detail(session=session, project_id=project_id, run_id=detail_record.run_id)
    run = detail.run
    record = next(c for c in detail.candidates if c.id == candidate_id)
    refs = detail.registered.get(candidate_id, ())
    card_title = (title or "").strip() or (refs[-1] if refs else record.label)
    result = _candidate_result(record, run)
    card = ModelCardData.from_candidate(
        result,
        title=card_title,
        target=run.target,
        data_version_sha=run.dataset_sha256,
        environment=run.environment,
        intended_use=intended_use,
        limitations=limitations,
        trained_at=run.created_at,
    )
    card_text = model_card_markdown(card, lang=lang)
    version = get_version(session=session, version_id=run.version_id)
    table = read_version(store=store, version=version)
    frame, y, _ = _labelled(table, run.target)
    X, _ = _training_rows(frame, y, target=run.target, test_rows=read_test_rows(store=store, run=run))
    schema = input_schema(X, list(run.features), run.roles)
    schema["target"] = {"name": run.target, "task_type": run.task_type}
    if run.task_type == "classification":
        schema["target"]["classes"] = sorted({str(v) for v in y.unique()})
    model_bytes = store.read_bytes(record.model_sha256)
    metrics = {
        "metrics": list(record.metrics),
        "validation": {"scheme": run.scheme, "n_splits": run.n_splits, "seed": run.seed},
        "mean": dict(record.mean),
        "std": dict(record.std),
        "folds": [dict(f) for f in record.fold_metrics],
    }
    run_json = {
        "format": 1,
        "run_id": run.id,
        "candidate_id": record.id,
        "registered_as": list(refs),
        "family": record.family,
        "task_type": run.task_type,
        "dataset_version": {"id": run.version_id, "label": run.version_label, "sha256": run.dataset_sha256},
        "target": run.target,
        "features": list(run.features),
        "excluded": [e.to_json() for e in run.excluded],
        "rows": {"train": run.n_train_rows, "test_locked": run.n_test_rows, "unlabeled_left_out": run.n_unlabeled},
        "test_size": run.test_size,
        "scheme": run.scheme,
        "n_splits": run.n_splits,
        "seed": run.seed,
        "search": dict(run.search),
        "recipe_id": run.recipe_id,
        "recipe": run.recipe,
        "params": dict(record.params),
        "model_params": dict(record.model_params),
        "model_sha256": record.model_sha256,
        "environment": dict(run.environment),
        "run_config": dict(run.run_config),
        "created_by": run.created_by,
        "created_at": run.created_at.isoformat(),
    }
    contents = {
        "model.joblib": model_bytes,
        "input_schema.json": _json_bytes(schema),
        "metrics.json": _json_bytes(metrics),
        "requirements.txt": requirements_txt(run.environment).encode("utf-8"),
        "model_card.md": card_text.encode("utf-8"),
        "run.json": _json_bytes(run_json),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in PACKAGE_FILES:
            info = zipfile.ZipInfo(name, date_time=run.created_at.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, contents[name])
    record_event(
        session=session,
        actor=actor,
        action="model.export",
        object_type="run_candidate",
        object_id=candidate_id,
        project_id=project_id,
        after={"run_id": run.id, "family": record.family, "model_sha256": record.model_sha256, "lang": lang},
    )
    return buffer.getvalue()


# --------------------------------------------------------------------------- reproduce


def submit_reproduce(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    run_id: int,
    actor_id: int,
    launch: bool = True,
) -> int:
    """Queue (and start) the ``reproduce`` job: re-execute a run from its stored configuration on the
    same dataset version and training rows, and compare every metric fold by fold. Its result holds
    ``matches`` and ``reproduction_id`` (see :func:`reproductions`).

    Raises
    ------
    PermissionDenied
        Without ``model.train`` in the project.
    NotFound
        ``tracking.run_not_found``.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="model.train", project_id=project_id)
        _run_row(session, project_id=project_id, run_id=run_id)
        match = {"run_id": run_id}
        running = active_job(session, kind="reproduce", project_id=project_id, match=match)
        if running is not None:
            return running
        job = submit_job(
            session=session,
            kind="reproduce",
            params={"project_id": project_id, "actor_id": actor_id, **match},
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


@job_kind("reproduce")
def reproduce_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: re-run a stored run's cross-validation and record whether the metrics match."""
    project_id, actor_id, run_id = int(params["project_id"]), int(params["actor_id"]), int(params["run_id"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action="model.train", project_id=project_id)
        run = run_detail(session=session, project_id=project_id, run_id=run_id).run
        version = _version_in_project(session, project_id=project_id, version_id=run.version_id)
    ctx.progress(0.01, "tracking.progress.reading", label=version.label)
    table = read_version(store=store, version=version)  # the hash is re-checked: same data or nothing
    frame, y, _ = _labelled(table, run.target)
    X, y_train = _training_rows(frame, y, target=run.target, test_rows=read_test_rows(store=store, run=run))
    try:
        outcome = reproduce(
            run.run_config,
            X,
            y_train,
            tolerance=REPRODUCE_TOLERANCE,
            progress=_job_progress(ctx, 0.05, 0.9),
        )
    except TrainingCancelled:
        raise JobCancelled() from None
    environment = environment_fingerprint()
    checks = [
        {
            "family": c.family,
            "metric": c.metric,
            "recorded": c.recorded if math.isfinite(c.recorded) else None,
            "reproduced": c.reproduced if math.isfinite(c.reproduced) else None,
            "difference": c.difference if math.isfinite(c.difference) else None,
            "matches": c.matches,
        }
        for c in outcome.checks
    ]
    ctx.progress(0.97, "tracking.progress.comparing")
    with session_scope(ctx.engine) as session:
        actor = require(session=session, user=session.get(User, actor_id), action="model.train", project_id=project_id)
        row = RunReproduction(
            run_id=run_id,
            matches=outcome.matches,
            tolerance=outcome.tolerance,
            checks=checks,
            environment=environment,
            job_id=ctx.job_id,
            created_by_id=actor_id,
        )
        session.add(row)
        session.flush()
        record_event(
            session=session,
            actor=actor,
            action="model.reproduce",
            object_type="training_run",
            object_id=run_id,
            project_id=project_id,
            after={
                "reproduction_id": row.id,
                "matches": outcome.matches,
                "differing": sum(not c.matches for c in outcome.checks),
                "checks": len(outcome.checks),
            },
        )
        reproduction_id = row.id or 0
    return {
        "run_id": run_id,
        "reproduction_id": reproduction_id,
        "matches": outcome.matches,
        "differing": sum(not c.matches for c in outcome.checks),
    }


# --------------------------------------------------------------------------- versions by reference


def resolve_version(*, session: Session, project_id: int, ref: str) -> VersionSummary:
    """A dataset version of the project from what a person types: its id (``12``), its label
    (``churn v2``) or a dataset name (its newest version).

    Raises
    ------
    NotFound
        ``tracking.version_ref_not_found``.
    """
    text = " ".join(str(ref).split())
    versions = list_versions(session=session, project_id=project_id)
    if text.isdigit():
        found = [v for v in versions if v.id == int(text)]
    else:
        found = [v for v in versions if v.label == text]
        if not found:
            found = sorted((v for v in versions if v.dataset == text), key=lambda v: v.number)[-1:]
    if not found:
        raise NotFound("tracking.version_ref_not_found", ref=text[:100])
    return found[0]
