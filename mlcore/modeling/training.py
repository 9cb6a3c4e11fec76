"""Candidate models: families, preprocessing from column roles, validation schemes, metrics, and
cross-validated training with an optional time-budgeted search, reproducible from its configuration.

Everything here is UI-free and database-free: a job calls :func:`train_candidates` with the rows of a
dataset version and stores what it returns.
"""

from __future__ import annotations

import io
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, Protocol

import joblib
import numpy as np
import numpy.typing as npt
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import loguniform, randint
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    check_scoring,
    f1_score,
    make_scorer,
    mean_absolute_error,
    mean_absolute_percentage_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    root_mean_squared_error,
)
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    ParameterSampler,
    ShuffleSplit,
    StratifiedGroupKFold,
    StratifiedKFold,
    StratifiedShuffleSplit,
    TimeSeriesSplit,
    train_test_split,
)
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import LinearSVC, LinearSVR
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from sklearn.utils.validation import check_is_fitted

from mlcore.errors import InputError, MLCoreError
from mlcore.planning.canvas import METRICS as CANVAS_METRICS
from mlcore.planning.canvas import metric_direction

if TYPE_CHECKING:
    from mlcore.data.prepare.recipe import Recipe

__all__ = [
    "DATE_PARTS",
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "MAX_N_ITER",
    "METRICS",
    "MODEL_FAMILIES",
    "PARALLEL_MIN_ROWS",
    "ROLES",
    "SCHEMES",
    "SEARCH_KINDS",
    "TASK_TYPES",
    "CandidateResult",
    "DateParts",
    "GroupedSplit",
    "MetricCheck",
    "MetricSpec",
    "ModelFamily",
    "ReproduceResult",
    "SearchSummary",
    "TimeOrderedSplit",
    "TrainingCancelled",
    "Trial",
    "best_candidate",
    "build_pipeline",
    "fold_n_jobs",
    "json_safe_params",
    "lock_test_set",
    "make_estimator",
    "make_preprocessor",
    "make_scorers",
    "make_splitter",
    "positive_label",
    "reproduce",
    "run_config",
    "train_candidates",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]
Folds = list[tuple[Ints, Ints]]

TASK_TYPES: tuple[str, ...] = ("classification", "regression")
ROLES: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "text", "identifier")
"""Column roles, as recorded with a dataset version (see :data:`mlcore.data.ingest.ROLES`)."""

SCHEMES: tuple[str, ...] = ("stratified_kfold", "kfold", "group_kfold", "time_series", "holdout")
"""Validation schemes. ``stratified_kfold`` keeps class shares in every fold (plain shuffled
k-fold for regression); ``group_kfold`` keeps all rows of a group (a customer, a patient) in the
same fold; ``time_series`` always validates on rows later than the ones trained on; ``holdout``
is one shuffled split."""

SEARCH_KINDS: tuple[str, ...] = ("random", "halving")
MAX_CATEGORIES = 30
"""Most categories one-hot (or ordinal) encoded per column; rarer values are grouped as infrequent."""

MAX_CLASSES = 50
"""A classification target with more distinct values than this is refused (it is likely a number or an id)."""

MAX_N_ITER = 1000
"""Most hyper-parameter settings one search may try."""

DATE_PARTS: tuple[str, ...] = ("year", "quarter", "month", "day", "dayofweek", "dayofyear", "hour")
PARALLEL_MIN_ROWS = 20_000
"""Below this many rows, folds run one after another: starting worker processes costs more than it saves."""

_HALVING_FACTOR = 3
_DEFAULT_N_ITER = 20
_MISSING_CATEGORY = "missing"
_FIXED_COST_SHARE = 0.25


class Progress(Protocol):
    """``progress(fraction, key, **params)``: share done in [0, 1] and a catalog key describing the step."""

    def __call__(self, fraction: float, key: str, /, **params: Any) -> None: ...


class TrainingCancelled(MLCoreError):
    """Raised between folds when ``should_stop()`` says the user cancelled the training."""


# ----------------------------------------------------------------------------- transformers


class DateParts(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Dates as calendar numbers (year, month, day of week…), one column per part; missing stays NaN.

    Parameters
    ----------
    parts : sequence of str, default ("year", "month", "dayofweek")
        Any of :data:`DATE_PARTS`, each at most once.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when fitted on a frame whose column names are all text.

    Examples
    --------
    >>> X = pd.DataFrame({"signup": pd.to_datetime(["2024-01-31", None, "2025-06-02"])})
    >>> parts = DateParts().fit(X)
    >>> parts.transform(X).tolist()
    [[2024.0, 1.0, 2.0], [nan, nan, nan], [2025.0, 6.0, 0.0]]
    >>> list(parts.get_feature_names_out())
    ['signup_year', 'signup_month', 'signup_dayofweek']
    """

    def __init__(self, parts: Sequence[str] = ("year", "month", "dayofweek")) -> None:
        self.parts = parts

    def fit(self, X: Any, y: Any = None) -> DateParts:
        parts = tuple(self.parts)
        if not parts or len(set(parts)) != len(parts) or any(p not in DATE_PARTS for p in parts):
            raise ValueError(f"parts must be distinct values among {DATE_PARTS}, got {self.parts!r}")
        frame = _as_frame(X)
        self.n_features_in_ = frame.shape[1]
        if all(isinstance(c, str) for c in frame.columns) and isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self

    def transform(self, X: Any) -> Floats:
        check_is_fitted(self, "n_features_in_")
        frame = _as_frame(X)
        if frame.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {frame.shape[1]} columns; DateParts was fitted on {self.n_features_in_}")
        parts = tuple(self.parts)
        out = np.empty((len(frame), frame.shape[1] * len(parts)), dtype=np.float64)
        for j in range(frame.shape[1]):
            stamps = _to_datetime(frame.iloc[:, j])
            for k, part in enumerate(parts):
                values = getattr(stamps.dt, part)
                out[:, j * len(parts) + k] = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        check_is_fitted(self, "n_features_in_")
        if input_features is None:
            names = getattr(self, "feature_names_in_", None)
            input_features = list(names) if names is not None else [f"x{i}" for i in range(self.n_features_in_)]
        elif len(input_features) != self.n_features_in_:
            raise ValueError(f"input_features has {len(input_features)} names; expected {self.n_features_in_}")
        return np.asarray([f"{name}_{part}" for name in input_features for part in self.parts], dtype=object)


def _as_frame(X: Any) -> pd.DataFrame:
    if isinstance(X, pd.DataFrame):
        return X
    array = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else np.asarray(X)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D table, got {array.ndim} dimension(s)")
    return pd.DataFrame(array)


def _to_datetime(column: pd.Series) -> pd.Series:
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.dt.tz_convert(None)
    if pd.api.types.is_datetime64_any_dtype(column):
        return column
    return pd.to_datetime(column, errors="coerce", format="mixed")


def _category_text(X: pd.DataFrame) -> pd.DataFrame:
    """Categories as text (missing as NaN): the encoders need one type per column (yes/no, True/False, 1/0)."""
    frame = _as_frame(X)
    return frame.astype(object).astype(str).where(frame.notna(), np.nan)


def _as_float(X: pd.DataFrame) -> Floats:
    """Numbers as float64 with NaN for missing, whatever the pandas dtype (nullable integers, booleans)."""
    return np.asarray(_as_frame(X).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


# ----------------------------------------------------------------------------- model families


@dataclass(frozen=True)
class ModelFamily:
    """A kind of model Ciclo can train, with bounded defaults and a search space.

    Attributes
    ----------
    name, task_type : str
    estimator : type
        The scikit-learn class.
    defaults : mapping
        Hyper-parameters that differ from scikit-learn's defaults; sizes are bounded (trees at most
        200, limited depth or leaves) so that explanations (SHAP) stay fast.
    search_space : mapping
        Distributions or lists per hyper-parameter for random search (empty: nothing to tune).
    scaled : bool
        Numbers and date parts are standardised (linear models, neighbours, SVMs).
    native_categories : bool
        Categories are ordinal-encoded and handled natively (gradient boosting) instead of one-hot.
    parallel_inside : bool
        The model uses all cores itself (threads or ``n_jobs``), so folds run one after another.
    scale_target : bool
        Regression: the target is standardised while fitting (penalties that depend on its scale).
    accepts_text : bool
        Takes free-text columns (none of the current families does).
    """

    name: str
    task_type: str
    estimator: type[Any]
    defaults: Mapping[str, Any]
    search_space: Mapping[str, Any] = field(default_factory=dict)
    scaled: bool = False
    native_categories: bool = False
    parallel_inside: bool = False
    scale_target: bool = False
    accepts_text: bool = False


def _forest(cls: type[Any], task_type: str, name: str) -> ModelFamily:
    return ModelFamily(
        name,
        task_type,
        cls,
        {"n_estimators": 100, "max_depth": 12, "min_samples_leaf": 5, "n_jobs": -1},
        {
            "n_estimators": randint(50, 201),
            "max_depth": randint(4, 17),
            "min_samples_leaf": randint(1, 21),
            "max_features": ["sqrt", 0.5, 1.0],
        },
        parallel_inside=True,
    )


def _families(task_type: str) -> dict[str, ModelFamily]:
    classification = task_type == "classification"
    neighbours = KNeighborsClassifier if classification else KNeighborsRegressor
    tree = DecisionTreeClassifier if classification else DecisionTreeRegressor
    boosting = HistGradientBoostingClassifier if classification else HistGradientBoostingRegressor
    tree_space = {"max_depth": randint(2, 16), "min_samples_leaf": randint(1, 51)}
    boosting_space = {
        "learning_rate": loguniform(0.02, 0.3),
        "max_iter": randint(50, 201),
        "max_leaf_nodes": randint(8, 64),
        "min_samples_leaf": randint(5, 101),
        "l2_regularization": loguniform(1e-4, 10.0),
    }
    knn_space = {"n_neighbors": randint(3, 51), "weights": ["uniform", "distance"]}
    if classification:
        linear = [
            ModelFamily("dummy", task_type, DummyClassifier, {"strategy": "prior"}),
            ModelFamily(
                "logistic_regression",
                task_type,
                LogisticRegression,
                {"C": 1.0, "max_iter": 1000},
                {"C": loguniform(1e-3, 1e2)},
                scaled=True,
            ),
        ]
        svm = ModelFamily(
            "linear_svm", task_type, LinearSVC, {"C": 1.0, "max_iter": 5000}, {"C": loguniform(1e-3, 1e2)}, scaled=True
        )
    else:
        linear = [
            ModelFamily("dummy", task_type, DummyRegressor, {"strategy": "mean"}),
            ModelFamily("ridge", task_type, Ridge, {"alpha": 1.0}, {"alpha": loguniform(1e-3, 1e3)}, scaled=True),
            ModelFamily(
                "lasso",
                task_type,
                Lasso,
                {"alpha": 0.01, "max_iter": 5000},
                {"alpha": loguniform(1e-4, 1.0)},
                scaled=True,
                scale_target=True,
            ),
        ]
        svm = ModelFamily(
            "linear_svm",
            task_type,
            LinearSVR,
            {"C": 1.0, "epsilon": 0.0, "loss": "squared_epsilon_insensitive", "max_iter": 5000},
            {"C": loguniform(1e-3, 1e2), "epsilon": [0.0, 0.05, 0.1, 0.2]},
            scaled=True,
            scale_target=True,
        )
    others = [
        ModelFamily("knn", task_type, neighbours, {"n_neighbors": 15}, knn_space, scaled=True, parallel_inside=True),
        ModelFamily("decision_tree", task_type, tree, {"max_depth": 8, "min_samples_leaf": 10}, tree_space),
        _forest(RandomForestClassifier if classification else RandomForestRegressor, task_type, "random_forest"),
        _forest(ExtraTreesClassifier if classification else ExtraTreesRegressor, task_type, "extra_trees"),
        ModelFamily(
            "hist_gradient_boosting",
            task_type,
            boosting,
            {"max_iter": 100, "learning_rate": 0.1, "max_leaf_nodes": 31},
            boosting_space,
            native_categories=True,
            parallel_inside=True,
        ),
        svm,
    ]
    return {f.name: f for f in [*linear, *others]}


MODEL_FAMILIES: Mapping[str, Mapping[str, ModelFamily]] = {task: _families(task) for task in TASK_TYPES}
"""Task type -> family name -> :class:`ModelFamily`. Classification: dummy, logistic_regression, knn,
decision_tree, random_forest, extra_trees, hist_gradient_boosting, linear_svm. Regression: dummy, ridge,
lasso and the same others."""


def _check_task(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise InputError("modeling.unknown_task", task_type=str(task_type)[:40], choices=", ".join(TASK_TYPES))


def _family(name: str, task_type: str) -> ModelFamily:
    _check_task(task_type)
    families = MODEL_FAMILIES[task_type]
    if name not in families:
        raise InputError(
            "modeling.unknown_family", family=str(name)[:60], task_type=task_type, choices=", ".join(families)
        )
    return families[name]


def make_estimator(
    family: str, *, task_type: str, params: Mapping[str, Any] | None = None, random_state: int = 0
) -> BaseEstimator:
    """The model of ``family`` with its bounded defaults, ``params`` on top.

    Parameters
    ----------
    family : str
        A key of ``MODEL_FAMILIES[task_type]``.
    task_type : {"classification", "regression"}
    params : mapping, optional
        Hyper-parameters of the scikit-learn model (``{"C": 0.1}``), overriding the defaults.
    random_state : int
        Seed of models that use randomness.

    Returns
    -------
    sklearn estimator
        Lasso and linear SVM regression come wrapped in a ``TransformedTargetRegressor`` that
        standardises the target (their penalty depends on its scale); ``params`` still name the
        inner model's hyper-parameters.

    Raises
    ------
    InputError
        ``modeling.unknown_task``, ``modeling.unknown_family``, ``modeling.unknown_param``.

    Examples
    --------
    >>> make_estimator("random_forest", task_type="classification", params={"n_estimators": 50}).n_estimators
    50
    """
    spec = _family(family, task_type)
    allowed = spec.estimator().get_params()
    unknown = sorted(str(k) for k in (params or {}) if k not in allowed)
    if unknown:
        raise InputError(
            "modeling.unknown_param", family=family, param=", ".join(unknown)[:200], allowed=", ".join(sorted(allowed))
        )
    settings: dict[str, Any] = dict(spec.defaults)
    if "random_state" in allowed:
        settings["random_state"] = random_state
    settings.update(params or {})
    model = spec.estimator(**settings)
    if spec.scale_target:
        return TransformedTargetRegressor(regressor=model, transformer=StandardScaler())
    return model


def _columns_by_role(roles: Mapping[str, str], features: Sequence[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {"numeric": [], "datetime": [], "categorical": [], "text": [], "identifier": []}
    missing = [c for c in features if c not in roles]
    if missing:
        raise InputError("modeling.role_missing", columns=_names(missing))
    for column in features:
        role = roles[column]
        if role not in ROLES:
            raise InputError("modeling.unknown_role", column=column, role=str(role)[:40], roles=", ".join(ROLES))
        groups["categorical" if role == "boolean" else role].append(column)
    return groups


def make_preprocessor(
    roles: Mapping[str, str],
    features: Sequence[str],
    *,
    scaled: bool = False,
    native_categories: bool = False,
) -> ColumnTransformer:
    """The default feature preparation, built from column roles.

    * numeric: median imputation with a missing-value indicator (+ standardisation when ``scaled``);
    * datetime: year, month and day of week (:class:`DateParts`), imputed like numbers;
    * categorical and boolean: as text, missing as its own category, one-hot with at most
      :data:`MAX_CATEGORIES` values per column (rare and unseen values grouped as infrequent);
    * text and identifier: dropped.

    With ``native_categories`` (gradient boosting) numbers and dates keep their missing values
    and categories are ordinal-encoded instead (the model handles both natively).

    Raises
    ------
    InputError
        ``modeling.role_missing``, ``modeling.unknown_role``, ``modeling.no_features`` (nothing left to use).

    Examples
    --------
    >>> roles = {"age": "numeric", "plan": "categorical", "note": "text", "since": "datetime"}
    >>> prep = make_preprocessor(roles, ["age", "plan", "note", "since"], scaled=True)
    >>> [(name, cols) for name, _, cols in prep.transformers]
    [('numeric', ['age']), ('datetime', ['since']), ('categorical', ['plan'])]
    """
    groups = _columns_by_role(roles, features)
    numeric, dates, categorical = groups["numeric"], groups["datetime"], groups["categorical"]
    if not (numeric or dates or categorical):
        raise InputError("modeling.no_features", columns=_names(features) or "—")
    transformers: list[tuple[str, Any, list[str]]] = []
    as_float = FunctionTransformer(_as_float, feature_names_out="one-to-one")
    as_text = FunctionTransformer(_category_text, feature_names_out="one-to-one")
    if native_categories:
        if numeric:
            transformers.append(("numeric", as_float, numeric))
        if dates:
            transformers.append(("datetime", DateParts(), dates))
        if categorical:
            encoder = OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=np.nan,
                encoded_missing_value=np.nan,
                max_categories=MAX_CATEGORIES,
                dtype=np.float64,
            )
            transformers.append(("categorical", Pipeline([("text", as_text), ("ordinal", encoder)]), categorical))
        return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)

    def impute(*first: tuple[str, Any]) -> Pipeline:
        steps: list[tuple[str, Any]] = [
            *first,
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
        ]
        if scaled:
            steps.append(("scale", StandardScaler()))
        return Pipeline(steps)

    if numeric:
        transformers.append(("numeric", impute(("float", as_float)), numeric))
    if dates:
        transformers.append(("datetime", impute(("parts", DateParts())), dates))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, sparse_output=False
        )
        steps = [
            ("text", as_text),
            ("impute", SimpleImputer(strategy="constant", fill_value=_MISSING_CATEGORY)),
            ("onehot", encoder),
        ]
        transformers.append(("categorical", Pipeline(steps), categorical))
    return ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)


def build_pipeline(
    family: str,
    *,
    task_type: str,
    roles: Mapping[str, str],
    features: Sequence[str],
    params: Mapping[str, Any] | None = None,
    random_state: int = 0,
    preprocessor: BaseEstimator | None = None,
) -> Pipeline:
    """Feature preparation and the model of ``family``, as one scikit-learn ``Pipeline``.

    Parameters
    ----------
    family : str
    task_type : {"classification", "regression"}
    roles : mapping of str to str
        Column -> role (one of :data:`ROLES`) for every column in ``features``.
    features : sequence of str
        The input columns; text and identifier columns among them are dropped by the default preparation.
    params : mapping, optional
        The model's hyper-parameters (see :func:`make_estimator`).
    random_state : int
    preprocessor : sklearn transformer, optional
        Feature steps to use instead of :func:`make_preprocessor` (a preparation recipe's); it is cloned.

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``prepare`` and ``model``.

    Examples
    --------
    >>> pipe = build_pipeline("hist_gradient_boosting", task_type="regression",
    ...                       roles={"x": "numeric", "c": "categorical"}, features=["x", "c"])
    >>> [name for name, _ in pipe.steps], pipe.named_steps["model"].categorical_features
    (['prepare', 'model'], [False, True])
    """
    spec = _family(family, task_type)
    model = make_estimator(family, task_type=task_type, params=params, random_state=random_state)
    if preprocessor is not None:
        return Pipeline([("prepare", clone(preprocessor)), ("model", model)])
    prepare = make_preprocessor(roles, features, scaled=spec.scaled, native_categories=spec.native_categories)
    if spec.native_categories and "categorical_features" not in (params or {}):
        groups = _columns_by_role(roles, features)
        width = len(groups["numeric"]) + len(groups["datetime"]) * len(DateParts().parts)
        mask = [False] * width + [True] * len(groups["categorical"])
        model.set_params(categorical_features=mask if any(mask) else None)
    return Pipeline([("prepare", prepare), ("model", model)])


def fold_n_jobs(family: str, *, task_type: str, n_rows: int, n_tasks: int) -> int:
    """How many folds to fit at once: one for models that use every core themselves or small data.

    Examples
    --------
    >>> fold_n_jobs("random_forest", task_type="classification", n_rows=100_000, n_tasks=6)
    1
    """
    spec = _family(family, task_type)
    if spec.parallel_inside or spec.name == "dummy" or n_rows < PARALLEL_MIN_ROWS or n_tasks < 2:
        return 1
    return max(1, min(int(joblib.cpu_count()), n_tasks))


# ----------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class MetricSpec:
    """How a canvas metric is computed; every value is in the metric's natural units (MAE positive)."""

    name: str
    task_type: str
    function: Callable[..., float]
    response: str | tuple[str, ...] = "predict"
    positive_class: bool = False
    multiclass_average: bool = False

    @property
    def direction(self) -> Literal["higher", "lower"]:
        return metric_direction(self.name)


_RANKING = ("decision_function", "predict_proba")
METRICS: Mapping[str, MetricSpec] = {
    "recall": MetricSpec("recall", "classification", recall_score, positive_class=True, multiclass_average=True),
    "precision": MetricSpec(
        "precision", "classification", precision_score, positive_class=True, multiclass_average=True
    ),
    "f1": MetricSpec("f1", "classification", f1_score, positive_class=True, multiclass_average=True),
    "roc_auc": MetricSpec("roc_auc", "classification", roc_auc_score, _RANKING),
    "average_precision": MetricSpec(
        "average_precision", "classification", average_precision_score, _RANKING, positive_class=True
    ),
    "accuracy": MetricSpec("accuracy", "classification", accuracy_score),
    "balanced_accuracy": MetricSpec("balanced_accuracy", "classification", balanced_accuracy_score),
    "mae": MetricSpec("mae", "regression", mean_absolute_error),
    "rmse": MetricSpec("rmse", "regression", root_mean_squared_error),
    "r2": MetricSpec("r2", "regression", r2_score),
    "mape": MetricSpec("mape", "regression", mean_absolute_percentage_error),
}
"""The canvas metric names (:data:`mlcore.planning.canvas.METRICS`) and how each is scored. With more
than two classes recall, precision and f1 are macro averages, roc_auc and average_precision macro
one-vs-rest averages."""


class _OneVsRest:
    """Macro one-vs-rest average of a ranking metric, from probabilities or decision values.

    Works for models without ``predict_proba`` (linear SVM) and with test folds missing a class.
    """

    def __init__(self, function: Callable[..., float]) -> None:
        self.function = function

    def __call__(self, estimator: Any, X: Any, y: Any) -> float:
        method = "predict_proba" if hasattr(estimator, "predict_proba") else "decision_function"
        scores = np.asarray(getattr(estimator, method)(X), dtype=np.float64)
        truth = np.asarray(y)
        values = []
        for k, label in enumerate(estimator.classes_):
            positive = truth == label
            if 0 < positive.sum() < len(truth):
                values.append(float(self.function(positive, scores[:, k])))
        return float(np.mean(values)) if values else math.nan


def make_scorers(
    metrics: Sequence[str], *, task_type: str, n_classes: int = 2, pos_label: Any = None
) -> dict[str, Any]:
    """Scikit-learn scorers for canvas metrics, each returning the metric itself (errors positive).

    Parameters
    ----------
    metrics : sequence of str
        Names from :data:`METRICS` valid for ``task_type``.
    task_type : {"classification", "regression"}
    n_classes : int
        Classification: two classes use ``pos_label``; more use macro averages.
    pos_label : object, optional
        The class that counts as positive for recall, precision, f1 and average precision.

    Raises
    ------
    InputError
        ``modeling.unknown_metric``, ``modeling.metric_wrong_task``.

    Examples
    --------
    >>> sorted(make_scorers(["mae", "r2"], task_type="regression"))
    ['mae', 'r2']
    """
    _check_metrics(metrics, task_type)
    scorers: dict[str, Any] = {}
    for name in metrics:
        spec = METRICS[name]
        kwargs: dict[str, Any] = {}
        if name in ("recall", "precision", "f1"):
            kwargs["zero_division"] = 0.0
        if task_type == "classification" and n_classes > 2:
            if spec.response != "predict":
                scorers[name] = _OneVsRest(spec.function)
                continue
            if spec.multiclass_average:
                kwargs["average"] = "macro"
        elif spec.positive_class and pos_label is not None:
            kwargs["pos_label"] = pos_label
        scorers[name] = make_scorer(spec.function, response_method=spec.response, **kwargs)
    return scorers


def _check_metrics(metrics: Sequence[str], task_type: str) -> list[str]:
    _check_task(task_type)
    if isinstance(metrics, str) or not metrics:
        raise InputError("modeling.no_metrics", choices=", ".join(CANVAS_METRICS[task_type]))
    names = list(dict.fromkeys(metrics))
    for name in names:
        if name not in METRICS:
            raise InputError("modeling.unknown_metric", metric=str(name)[:40], choices=", ".join(METRICS))
        if METRICS[name].task_type != task_type:
            raise InputError(
                "modeling.metric_wrong_task",
                metric=name,
                task_type=task_type,
                choices=", ".join(CANVAS_METRICS[task_type]),
            )
    return names


def positive_label(y: pd.Series | Sequence[Any]) -> Any:
    """The class that counts as positive in a two-class target: 1 or True if present, else the rarer class.

    Examples
    --------
    >>> positive_label(pd.Series(["stay", "leave", "stay"]))
    'leave'
    >>> positive_label(pd.Series([0, 1, 0, 0]))
    1
    """
    counts = pd.Series(y).dropna().value_counts()
    for label in counts.index:
        if isinstance(label, bool | np.bool_ | int | float | np.number) and label == 1:
            return _plain(label)
    ordered = sorted(counts.items(), key=lambda kv: (kv[1], str(kv[0])))
    return _plain(ordered[0][0])


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# ----------------------------------------------------------------------------- validation schemes


class TimeOrderedSplit:
    """Time-series folds over rows sorted by ``order`` (the rows themselves may be in any order).

    Each fold trains on the earliest rows and validates on the block that follows them, as
    :class:`sklearn.model_selection.TimeSeriesSplit` does on sorted data.

    Examples
    --------
    >>> when = pd.to_datetime(["2024-03-01", "2024-01-01", "2024-02-01", "2024-04-01"])
    >>> [(tr.tolist(), te.tolist()) for tr, te in TimeOrderedSplit(when, n_splits=2).split(np.zeros((4, 1)))]
    [([1, 2], [0]), ([1, 2, 0], [3])]
    """

    def __init__(self, order: Any, n_splits: int = 5) -> None:
        self.order = order
        self.n_splits = n_splits

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return self.n_splits

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[Ints, Ints]]:
        order = np.asarray(self.order)
        if len(order) != len(X):
            raise ValueError(f"order has {len(order)} values for {len(X)} rows")
        ranked = np.argsort(order, kind="stable").astype(np.intp)
        for train, test in TimeSeriesSplit(self.n_splits).split(ranked):
            yield ranked[train], ranked[test]


class GroupedSplit:
    """A group-aware splitter bound to its groups, so it can be used like any other ``cv``."""

    def __init__(self, cv: Any, groups: Any) -> None:
        self.cv = cv
        self.groups = groups

    def get_n_splits(self, X: Any = None, y: Any = None, groups: Any = None) -> int:
        return int(self.cv.get_n_splits())

    def split(self, X: Any, y: Any = None, groups: Any = None) -> Iterator[tuple[Ints, Ints]]:
        yield from self.cv.split(X, y, np.asarray(self.groups))


def make_splitter(
    scheme: str,
    *,
    n_splits: int = 5,
    task_type: str,
    groups: Any = None,
    order: Any = None,
    test_size: float = 0.2,
    random_state: int = 0,
) -> Any:
    """A cross-validation splitter for ``scheme`` (see :data:`SCHEMES`), usable as ``cv=`` anywhere.

    Parameters
    ----------
    scheme : str
    n_splits : int
        Folds (ignored by ``holdout``).
    task_type : {"classification", "regression"}
        Classification folds keep the class shares (stratified); regression folds are shuffled.
    groups : array-like, optional
        One group label per row; required by ``group_kfold``.
    order : array-like, optional
        One date per row; required by ``time_series``.
    test_size : float
        Share of rows validated on by ``holdout``.
    random_state : int

    Raises
    ------
    InputError
        ``modeling.unknown_scheme``, ``modeling.bad_n_splits``, ``modeling.bad_test_size``,
        ``modeling.groups_required``, ``modeling.order_required``.

    Examples
    --------
    >>> make_splitter("stratified_kfold", n_splits=3, task_type="classification")
    StratifiedKFold(n_splits=3, random_state=0, shuffle=True)
    """
    _check_task(task_type)
    classification = task_type == "classification"
    if scheme not in SCHEMES:
        raise InputError("modeling.unknown_scheme", scheme=str(scheme)[:40], choices=", ".join(SCHEMES))
    if scheme == "holdout":
        _check_test_size(test_size)
        cls = StratifiedShuffleSplit if classification else ShuffleSplit
        return cls(n_splits=1, test_size=test_size, random_state=random_state)
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 2:
        raise InputError("modeling.bad_n_splits", n_splits=str(n_splits)[:20])
    n_splits = int(n_splits)
    if scheme == "group_kfold":
        if groups is None:
            raise InputError("modeling.groups_required")
        cls = StratifiedGroupKFold if classification else GroupKFold
        return GroupedSplit(cls(n_splits=n_splits, shuffle=True, random_state=random_state), groups)
    if scheme == "time_series":
        if order is None:
            raise InputError("modeling.order_required")
        return TimeOrderedSplit(order, n_splits=n_splits)
    if scheme == "stratified_kfold" and classification:
        return StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    return KFold(n_splits=n_splits, shuffle=True, random_state=random_state)


def _check_test_size(test_size: float) -> None:
    if isinstance(test_size, bool) or not isinstance(test_size, int | float) or not 0.0 < float(test_size) < 1.0:
        raise InputError("modeling.bad_test_size", test_size=str(test_size)[:20])


def lock_test_set(
    frame: pd.DataFrame,
    *,
    target: str,
    test_size: float = 0.2,
    task_type: str,
    random_state: int = 0,
    time_column: str | None = None,
) -> tuple[pd.Index, pd.Index]:
    """Set aside the rows no model may see until the final evaluation.

    Classification draws the test rows stratified by class; with ``time_column`` the test rows are
    the latest ``test_size`` share (ties at the boundary stay on the same side); otherwise they are
    drawn at random.

    Parameters
    ----------
    frame : pandas.DataFrame
        The labelled rows (unique index).
    target : str
    test_size : float, default 0.2
    task_type : {"classification", "regression"}
    random_state : int
    time_column : str, optional
        A datetime column: the test set is the most recent rows.

    Returns
    -------
    (pandas.Index, pandas.Index)
        Index labels of the training rows and of the locked test rows, disjoint, together all rows.

    Raises
    ------
    InputError
        ``modeling.target_not_a_column``, ``modeling.target_missing``, ``modeling.bad_test_size``,
        ``modeling.duplicate_index``, ``modeling.order_not_a_column``, ``modeling.order_not_dates``,
        ``modeling.order_missing``, ``modeling.too_few_rows``, ``modeling.too_few_per_class``.

    Examples
    --------
    >>> df = pd.DataFrame({"x": range(10), "y": [0, 1] * 5})
    >>> train, test = lock_test_set(df, target="y", test_size=0.2, task_type="classification")
    >>> len(train), len(test), sorted(df.loc[test, "y"])
    (8, 2, [0, 1])
    """
    _check_task(task_type)
    _check_test_size(test_size)
    if target not in frame.columns:
        raise InputError("modeling.target_not_a_column", column=str(target)[:80])
    if not frame.index.is_unique:
        raise InputError("modeling.duplicate_index", count=int(frame.index.duplicated().sum()))
    y = frame[target]
    _check_target_present(y)
    n_test = math.ceil(test_size * len(frame))
    if len(frame) < 2 or n_test >= len(frame):
        raise InputError("modeling.too_few_rows", rows=len(frame), minimum=2)
    if time_column is not None:
        stamps = _order_values(frame, time_column)
        ranked = np.argsort(stamps.to_numpy(), kind="stable")
        boundary = stamps.iloc[ranked[len(frame) - n_test]]
        is_test = (stamps >= boundary).to_numpy()
        if is_test.all():
            raise InputError("modeling.too_few_rows", rows=len(frame), minimum=2)
        return frame.index[~is_test], frame.index[is_test]
    stratify = None
    if task_type == "classification":
        counts = y.value_counts()
        if len(counts) < 2:
            raise InputError("modeling.single_class", label=str(counts.index[0])[:80], rows=int(counts.iloc[0]))
        if counts.min() < 2:
            raise InputError(
                "modeling.too_few_per_class", label=str(counts.idxmin())[:80], count=int(counts.min()), folds=2
            )
        stratify = y.to_numpy()
    train, test = train_test_split(
        np.arange(len(frame)), test_size=n_test, random_state=random_state, stratify=stratify
    )
    return frame.index[np.sort(train)], frame.index[np.sort(test)]


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Trial:
    """One parameter setting tried by the search."""

    params: Mapping[str, Any]
    score: float
    row_share: float
    seconds: float


@dataclass(frozen=True)
class SearchSummary:
    """What the search did for one family.

    Attributes
    ----------
    kind : {"random", "halving"}
    budget_s : float
        Seconds this family was given (its share of the run's budget).
    n_iter : int
        Settings asked for (the family defaults count as the first).
    planned : int
        Settings planned after timing the defaults.
    evaluated : int
        Settings whose cross-validation completed on all training rows.
    seconds : float
        Time spent, defaults included.
    stopped_by_budget : bool
        Fewer than ``n_iter`` settings were completed because the time ran out.
    metric : str
        The metric the search optimised (the first one asked for).
    best_params : mapping
        The chosen hyper-parameters (empty: the defaults won).
    trials : tuple of Trial
        Every completed evaluation, in order (halving: also those on a share of the rows).
    """

    kind: str
    budget_s: float
    n_iter: int
    planned: int
    evaluated: int
    seconds: float
    stopped_by_budget: bool
    metric: str
    best_params: Mapping[str, Any]
    trials: tuple[Trial, ...]


@dataclass(frozen=True, eq=False)
class CandidateResult:
    """One trained candidate: cross-validated metrics, the model refitted on all training rows, its record.

    Attributes
    ----------
    family, task_type : str
    params : mapping
        Every hyper-parameter of the pipeline (``pipeline.get_params()``), defaults included,
        keeping only values that are JSON-safe.
    model_params : mapping
        The hyper-parameters set on top of the family defaults (given or found by the search):
        what :func:`reproduce` needs.
    metrics : tuple of str
    fold_metrics : tuple of mapping
        Per fold: ``fold``, ``train_rows``, ``test_rows``, ``fit_seconds``, ``score_seconds`` and each metric.
    mean, std : mapping of str to float
        Per metric over folds (population standard deviation).
    cv_seconds : float
        Wall time of the cross-validation (of the chosen setting).
    fit_seconds : float
        Time to fit the final model on all training rows (0 when not refitted).
    size_bytes : int or None
        Size of the fitted pipeline serialised with joblib (uncompressed).
    pipeline : sklearn.pipeline.Pipeline or None
        Fitted on all training rows (None with ``refit=False``).
    features : tuple of str
        The input columns the pipeline expects.
    dropped : mapping of str to str
        Columns left out, with their role (identifiers).
    search : SearchSummary or None
    config : mapping
        JSON-safe: everything needed to re-run this candidate (see :func:`run_config`).
    """

    family: str
    task_type: str
    params: Mapping[str, Any]
    model_params: Mapping[str, Any]
    metrics: tuple[str, ...]
    fold_metrics: tuple[Mapping[str, float], ...]
    mean: Mapping[str, float]
    std: Mapping[str, float]
    cv_seconds: float
    fit_seconds: float
    size_bytes: int | None
    pipeline: Pipeline | None
    features: tuple[str, ...]
    dropped: Mapping[str, str]
    search: SearchSummary | None
    config: Mapping[str, Any]

    def fold_frame(self) -> pd.DataFrame:
        """The per-fold metrics as a table, one row per fold."""
        return pd.DataFrame(list(self.fold_metrics))


def best_candidate(results: Sequence[CandidateResult], metric: str | None = None) -> CandidateResult:
    """The candidate with the best mean ``metric`` (default: the first metric of the run).

    Raises
    ------
    InputError
        ``modeling.no_results`` for an empty list, ``modeling.unknown_metric`` if the metric was not computed.
    """
    if not results:
        raise InputError("modeling.no_results")
    name = metric or results[0].metrics[0]
    if any(name not in r.mean for r in results):
        raise InputError("modeling.unknown_metric", metric=str(name)[:40], choices=", ".join(results[0].metrics))
    sign = 1.0 if metric_direction(name) == "higher" else -1.0
    return max(results, key=lambda r: sign * r.mean[name] if not math.isnan(r.mean[name]) else -math.inf)


def json_safe_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the values JSON can hold exactly (numbers, text, booleans, None, lists and dicts of them).

    Estimators, types and non-finite floats are left out; NumPy scalars become Python ones.

    Examples
    --------
    >>> json_safe_params({"C": np.float64(0.5), "model": object(), "cols": ("a", "b"), "x": float("nan")})
    {'C': 0.5, 'cols': ['a', 'b']}
    """
    out: dict[str, Any] = {}
    for key, value in params.items():
        ok, safe = _json_safe(value)
        if ok:
            out[str(key)] = safe
    return out


def _json_safe(value: Any) -> tuple[bool, Any]:
    if value is None or isinstance(value, bool | str):
        return True, value
    if isinstance(value, np.bool_):
        return True, bool(value)
    if isinstance(value, int | np.integer):
        return True, int(value)
    if isinstance(value, float | np.floating):
        return (True, float(value)) if math.isfinite(value) else (False, None)
    if isinstance(value, list | tuple):
        items = [_json_safe(v) for v in value]
        return (True, [v for _, v in items]) if all(ok for ok, _ in items) else (False, None)
    if isinstance(value, dict):
        entries = {k: _json_safe(v) for k, v in value.items()}
        if all(isinstance(k, str) and ok for k, (ok, _) in entries.items()):
            return True, {k: v for k, (_, v) in entries.items()}
    return False, None


# ----------------------------------------------------------------------------- checks on the data


def _names(columns: Sequence[Any], limit: int = 10) -> str:
    shown = [str(c)[:60] for c in list(columns)[:limit]]
    more = len(columns) - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


def _check_target_present(y: pd.Series) -> None:
    missing = int(y.isna().sum())
    if missing:
        raise InputError("modeling.target_missing", count=missing, total=len(y))


def _aligned_target(X: pd.DataFrame, y: Any) -> pd.Series:
    if isinstance(y, pd.Series):
        if y.index.equals(X.index):
            return y
        if len(y) == len(X) and y.index.is_unique and y.index.isin(X.index).all():
            return y.reindex(X.index)
        raise InputError("modeling.target_misaligned", rows=len(X), labels=len(y))
    values = np.asarray(y)
    if values.ndim != 1 or len(values) != len(X):
        raise InputError("modeling.target_misaligned", rows=len(X), labels=int(values.size))
    return pd.Series(values, index=X.index, name="target")


def _check_target(y: pd.Series, task_type: str) -> tuple[list[Any], int]:
    """Refuse targets no model can learn from; return the classes (classification) and their count."""
    _check_target_present(y)
    if task_type == "regression":
        if not (pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(y)):
            raise InputError("modeling.target_not_numeric", dtype=str(y.dtype))
        if y.nunique() < 2:
            raise InputError("modeling.constant_target", value=str(y.iloc[0])[:80] if len(y) else "—")
        return [], 0
    counts = y.value_counts()
    if len(counts) < 2:
        raise InputError(
            "modeling.single_class",
            label=str(counts.index[0])[:80] if len(counts) else "—",
            rows=int(counts.iloc[0]) if len(counts) else 0,
        )
    if len(counts) > MAX_CLASSES:
        raise InputError("modeling.too_many_classes", count=len(counts), maximum=MAX_CLASSES)
    return sorted(counts.index, key=str), len(counts)


def _fill_roles(X: pd.DataFrame, features: Sequence[str], roles: Mapping[str, str]) -> dict[str, str]:
    """Roles for every feature: the given ones, others guessed from the column (as label review does)."""
    filled = {c: roles[c] for c in features if c in roles}
    guess = [c for c in features if c not in roles]
    if guess:
        from mlcore.data.labeling import feature_roles

        for column, role in feature_roles(X[guess]).items():
            if role == "empty":
                role = "numeric" if pd.api.types.is_numeric_dtype(X[column]) else "categorical"
            filled[str(column)] = role
    for column, role in filled.items():
        if role not in ROLES:
            raise InputError("modeling.unknown_role", column=column, role=str(role)[:40], roles=", ".join(ROLES))
    return filled


def _check_role_types(X: pd.DataFrame, roles: Mapping[str, str], used: Sequence[str]) -> None:
    for column in used:
        series, role = X[column], roles[column]
        if role == "numeric" and not (
            pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series) or series.isna().all()
        ):
            raise InputError("modeling.role_mismatch", column=column, role=role, dtype=str(series.dtype))
        if role == "datetime" and not (
            pd.api.types.is_datetime64_any_dtype(series) or series.isna().all() or _holds_dates(series)
        ):
            raise InputError("modeling.role_mismatch", column=column, role=role, dtype=str(series.dtype))


def _holds_dates(series: pd.Series) -> bool:
    """Calendar dates as Python objects (Arrow ``date32`` columns read with pandas' defaults) count as dates."""
    present = series.dropna()
    return bool(series.dtype == object and all(isinstance(v, date) for v in present))


def _order_values(X: pd.DataFrame, order: Any) -> pd.Series:
    if isinstance(order, str):
        if order not in X.columns:
            raise InputError("modeling.order_not_a_column", column=order[:80])
        values = X[order]
    else:
        values = pd.Series(np.asarray(order), index=X.index) if not isinstance(order, pd.Series) else order
        if len(values) != len(X):
            raise InputError("modeling.target_misaligned", rows=len(X), labels=len(values))
        values = pd.Series(values.to_numpy(), index=X.index)
    if not pd.api.types.is_datetime64_any_dtype(values):
        raise InputError("modeling.order_not_dates", column=str(getattr(values, "name", order))[:80])
    if values.isna().any():
        raise InputError("modeling.order_missing", count=int(values.isna().sum()))
    return values


def _group_values(X: pd.DataFrame, groups: Any) -> pd.Series:
    if isinstance(groups, str):
        if groups not in X.columns:
            raise InputError("modeling.groups_not_a_column", column=groups[:80])
        values = X[groups]
    else:
        values = pd.Series(np.asarray(groups), index=X.index) if len(groups) == len(X) else None
        if values is None:
            raise InputError("modeling.target_misaligned", rows=len(X), labels=len(groups))
    if values.isna().any():
        raise InputError("modeling.groups_missing", count=int(values.isna().sum()))
    return values


def _check_folds(
    y: pd.Series, *, scheme: str, n_splits: int, task_type: str, groups: pd.Series | None, test_size: float
) -> None:
    rows = len(y)
    needed = 2 if scheme == "holdout" else (n_splits + 1 if scheme == "time_series" else n_splits)
    if rows < needed:
        raise InputError("modeling.too_few_rows", rows=rows, minimum=needed)
    if scheme == "holdout" and (math.ceil(test_size * rows) >= rows or math.floor((1 - test_size) * rows) < 1):
        raise InputError("modeling.too_few_rows", rows=rows, minimum=needed)
    if groups is not None and scheme == "group_kfold":
        distinct = groups.nunique()
        if distinct < n_splits:
            raise InputError("modeling.too_few_groups", groups=distinct, folds=n_splits)
    if task_type == "classification" and scheme in ("stratified_kfold", "holdout", "group_kfold"):
        per_fold = 2 if scheme == "holdout" else n_splits
        counts = y.value_counts()
        if counts.min() < per_fold:
            raise InputError(
                "modeling.too_few_per_class", label=str(counts.idxmin())[:80], count=int(counts.min()), folds=per_fold
            )


def _check_search(search: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if search is None:
        return None
    if not isinstance(search, Mapping):
        raise InputError("modeling.bad_search", keys=type(search).__name__)
    unknown = set(search) - {"kind", "budget_s", "n_iter"}
    if unknown:
        raise InputError("modeling.bad_search", keys=_names(sorted(map(str, unknown))))
    kind = search.get("kind", "random")
    if kind not in SEARCH_KINDS:
        raise InputError("modeling.unknown_search", kind=str(kind)[:40], choices=", ".join(SEARCH_KINDS))
    budget = search.get("budget_s")
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not math.isfinite(budget) or budget <= 0:
        raise InputError("modeling.bad_budget", budget=str(budget)[:20])
    n_iter = search.get("n_iter", _DEFAULT_N_ITER)
    if isinstance(n_iter, bool) or not isinstance(n_iter, int | np.integer) or not 1 <= n_iter <= MAX_N_ITER:
        raise InputError("modeling.bad_n_iter", n_iter=str(n_iter)[:20], maximum=MAX_N_ITER)
    return {"kind": kind, "budget_s": float(budget), "n_iter": int(n_iter)}


# ----------------------------------------------------------------------------- the fold loop


@dataclass
class _TaskOutcome:
    fold: int | None
    fitted: Pipeline | None
    fit_seconds: float
    scores: dict[str, float] | None
    score_seconds: float


def _fit_and_score(
    fold: int | None,
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    train: Ints | None,
    test: Ints | None,
    scorer: Any,
) -> _TaskOutcome:
    model = clone(pipeline)
    start = time.perf_counter()
    if train is None:
        model.fit(X, y)
    else:
        model.fit(X.iloc[train], y.iloc[train])
    fit_seconds = time.perf_counter() - start
    if test is None:
        return _TaskOutcome(fold, model, fit_seconds, None, 0.0)
    start = time.perf_counter()
    scores = scorer(model, X.iloc[test], y.iloc[test])
    return _TaskOutcome(fold, None, fit_seconds, {k: float(v) for k, v in scores.items()}, time.perf_counter() - start)


@dataclass
class _Evaluation:
    folds: list[dict[str, float]]
    fitted: Pipeline | None
    refit_seconds: float
    seconds: float

    def mean(self, metric: str) -> float:
        return float(np.mean([f[metric] for f in self.folds]))


def _check_stop(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise TrainingCancelled("modeling.cancelled")


def _evaluate(
    pipeline: Pipeline,
    X: pd.DataFrame,
    y: pd.Series,
    folds: Folds,
    *,
    scorer: Any,
    n_jobs: int,
    refit: bool,
    on_task: Callable[[_TaskOutcome, int], None],
    should_stop: Callable[[], bool] | None,
    deadline: float | None = None,
) -> _Evaluation | None:
    """Fit and score every fold (and the final model when ``refit``); None if ``deadline`` passed first.

    ``should_stop`` and the deadline are checked between folds; with ``n_jobs > 1`` folds run in
    worker processes and the pending ones are abandoned when either fires.
    """
    tasks: list[tuple[int | None, Ints | None, Ints | None]] = [(k, tr, te) for k, (tr, te) in enumerate(folds)]
    if refit:
        tasks.append((None, None, None))
    outcomes: dict[int, _TaskOutcome] = {}
    final: _TaskOutcome | None = None
    start = time.perf_counter()

    def late() -> bool:
        return deadline is not None and time.perf_counter() > deadline

    def keep(outcome: _TaskOutcome, done: int) -> None:
        nonlocal final
        if outcome.fold is None:
            final = outcome
        else:
            outcomes[outcome.fold] = outcome
        on_task(outcome, done)

    if n_jobs == 1:
        for done, (fold, train, test) in enumerate(tasks, 1):
            _check_stop(should_stop)
            if late():
                return None
            keep(_fit_and_score(fold, pipeline, X, y, train, test, scorer), done)
    else:
        _check_stop(should_stop)
        run = Parallel(n_jobs=n_jobs, return_as="generator_unordered")
        outputs = run(delayed(_fit_and_score)(fold, pipeline, X, y, tr, te, scorer) for fold, tr, te in tasks)
        try:
            for done, outcome in enumerate(outputs, 1):
                keep(outcome, done)
                if done < len(tasks):
                    _check_stop(should_stop)
                    if late():
                        return None
        finally:
            with warnings.catch_warnings():
                # Abandoning pending folds is the point of stopping; joblib's advice is not for users.
                warnings.filterwarnings("ignore", message=".*tasks which were still being processed.*")
                outputs.close()
    rows = []
    for k in range(len(folds)):
        outcome = outcomes[k]
        assert outcome.scores is not None
        rows.append(
            {
                "fold": k + 1,
                "train_rows": len(folds[k][0]),
                "test_rows": len(folds[k][1]),
                "fit_seconds": outcome.fit_seconds,
                "score_seconds": outcome.score_seconds,
                **outcome.scores,
            }
        )
    return _Evaluation(
        rows,
        final.fitted if final is not None else None,
        final.fit_seconds if final is not None else 0.0,
        time.perf_counter() - start,
    )


class _Reporter:
    """Turns per-family progress into the run's overall fraction and calls ``progress``."""

    def __init__(self, progress: Progress | None, n_families: int) -> None:
        self.progress = progress
        self.n_families = n_families
        self.last = 0.0

    def __call__(self, family_index: int, within: float, key: str, **params: Any) -> None:
        # A search re-plans as it learns how long a setting takes; the bar never moves back.
        fraction = (family_index + min(max(within, 0.0), 1.0)) / self.n_families
        self.last = max(self.last, min(fraction, 1.0))
        if self.progress is not None:
            self.progress(self.last, key, **params)


# ----------------------------------------------------------------------------- search


def _sampled(space: Mapping[str, Any], n: int, random_state: int) -> list[dict[str, Any]]:
    if n <= 0 or not space:
        return []
    return [json_safe_params(p) for p in ParameterSampler(dict(space), n_iter=n, random_state=random_state)]


def _subsample(folds: Folds, y: pd.Series, share: float, random_state: int, classification: bool) -> Folds:
    """Each training fold cut to ``share`` of its rows (per class for classification, at least one each)."""
    if share >= 1.0:
        return folds
    rng = np.random.default_rng(random_state)
    out: Folds = []
    labels = y.to_numpy()
    for train, test in folds:
        if classification:
            kept = []
            for label in pd.unique(labels[train]):
                rows = train[labels[train] == label]
                kept.append(rng.permutation(rows)[: max(1, round(share * len(rows)))])
            out.append((np.sort(np.concatenate(kept)).astype(np.intp), test))
        else:
            out.append((np.sort(rng.permutation(train)[: max(2, round(share * len(train)))]).astype(np.intp), test))
    return out


def _halving_rounds(n_candidates: int, train_rows: int, min_rows: int) -> list[tuple[int, float]]:
    """(candidates, share of training rows) per round: a third survive each round, the last uses all rows."""
    rounds = 1
    while _HALVING_FACTOR**rounds < n_candidates:
        rounds += 1
    if n_candidates > 1:
        rounds = max(rounds, 2)
    while rounds > 1 and train_rows / _HALVING_FACTOR ** (rounds - 1) < min_rows:
        rounds -= 1
    plan = []
    for i in range(rounds):
        plan.append((math.ceil(n_candidates / _HALVING_FACTOR**i), 1.0 / _HALVING_FACTOR ** (rounds - 1 - i)))
    return plan


def _evaluation_share(row_share: float) -> float:
    """Expected cost of a cross-validation on ``row_share`` of the training rows, relative to all rows.

    Scoring the (full) validation folds and per-fit overheads do not shrink with the training rows.
    """
    return _FIXED_COST_SHARE + (1.0 - _FIXED_COST_SHARE) * row_share


def _halving_cost(n_candidates: int, train_rows: int, min_rows: int) -> float:
    """Expected cost of a halving search, in cross-validations on all rows."""
    return sum(c * _evaluation_share(share) for c, share in _halving_rounds(n_candidates, train_rows, min_rows))


# ----------------------------------------------------------------------------- training


@dataclass
class _Run:
    """Everything the candidates of one call share."""

    X: pd.DataFrame
    y: pd.Series
    task_type: str
    roles: dict[str, str]
    used: list[str]
    folds: Folds
    scorer: Any
    metrics: list[str]
    random_state: int
    refit: bool
    n_jobs: int | None
    should_stop: Callable[[], bool] | None
    report: _Reporter
    config: dict[str, Any]
    recipe: Recipe | None = None
    target_name: str | None = None


def train_candidates(
    X: pd.DataFrame,
    y: pd.Series | npt.ArrayLike,
    *,
    task_type: str,
    roles: Mapping[str, str],
    families: Sequence[str],
    metrics: Sequence[str],
    scheme: str = "stratified_kfold",
    n_splits: int = 5,
    groups: str | npt.ArrayLike | None = None,
    order: str | npt.ArrayLike | None = None,
    search: Mapping[str, Any] | None = None,
    random_state: int = 0,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    features: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    positive_class: Any = None,
    test_size: float = 0.2,
    refit: bool = True,
    n_jobs: int | None = None,
    recipe: Recipe | None = None,
) -> list[CandidateResult]:
    """Cross-validate each model family on the same folds, then fit it on all training rows.

    For every family: the folds are fitted and scored (all metrics from one set of predictions),
    the mean and standard deviation per metric recorded, and the model refitted on every row of
    ``X`` (pass the training rows only: keep the locked test set out, see :func:`lock_test_set`).
    With ``search``, other hyper-parameters are tried first within a time budget and the best by
    the first metric is kept (the family defaults are always the first setting tried).

    Parameters
    ----------
    X : pandas.DataFrame
        Training rows; column names must be text.
    y : pandas.Series or array-like
        The target, aligned with ``X``.
    task_type : {"classification", "regression"}
    roles : mapping of str to str
        Column -> role (:data:`ROLES`). Columns without a role are guessed from their values.
        Identifier columns are left out; text columns are refused (no family reads free text).
    families : sequence of str
        Keys of ``MODEL_FAMILIES[task_type]``, trained in this order.
    metrics : sequence of str
        Canvas metric names for the task; the first is the one a search optimises.
    scheme : str, default "stratified_kfold"
        One of :data:`SCHEMES`.
    n_splits : int, default 5
    groups : str or array-like, optional
        ``group_kfold``: a column of ``X`` (by name) or one group per row.
    order : str or array-like, optional
        ``time_series``: a datetime column of ``X`` (by name) or one date per row.
    search : mapping, optional
        ``{"kind": "random" | "halving", "budget_s": seconds, "n_iter": settings}`` (``n_iter``
        default 20, at most :data:`MAX_N_ITER`, the defaults counting as the first). The budget is
        shared by the families that have something to tune (what one leaves is passed on) and
        covers their cross-validations, not the final fits. Each family's defaults are always
        cross-validated in full (they are the fallback) and timed; the number of further
        settings is cut to what that timing says fits in the rest of the budget, and the search
        stops between folds when the budget is spent (an unfinished setting is discarded). So a
        search overruns its budget by at most one fold, or by the defaults' own time if they
        alone take longer. Halving tries many settings on a share of the rows, keeps the best
        third on three times as many rows, and so on up to all rows (keeping time for that
        last round); random search tries every setting on all rows.
    random_state : int, default 0
        Seeds the folds, the models and the search: the same seed and data give the same metrics.
    progress : callable, optional
        ``progress(fraction, key, **params)`` after every fold and final fit.
    should_stop : callable, optional
        Checked between folds; when it returns True, :class:`TrainingCancelled` is raised.
    features : sequence of str, optional
        The columns to use (default: all of ``X``); others may hold the group or order column.
    params : mapping of str to mapping, optional
        Family -> hyper-parameters on top of its defaults (kept fixed by the search).
    positive_class : object, optional
        Two classes: the class recall, precision, f1 and average precision are about (default
        :func:`positive_label`).
    test_size : float, default 0.2
        ``holdout`` only.
    refit : bool, default True
        Fit each family on all rows at the end (False: metrics only, ``pipeline`` is None).
    n_jobs : int, optional
        Folds fitted at once; default :func:`fold_n_jobs` per family.
    recipe : mlcore.data.prepare.recipe.Recipe, optional
        A preparation recipe whose feature steps become each family's preparation
        (:func:`~mlcore.data.prepare.recipe.compose_pipeline`): fitted inside every training fold only,
        resampling and augmentation only while fitting, saved with the model. Its row steps are not run
        here (they made the dataset version). The recipe and its fingerprint are recorded in ``config``.

    Returns
    -------
    list of CandidateResult
        One per family, in the order given.

    Raises
    ------
    InputError
        For anything the user can fix (each key says what and how): an unknown family, metric,
        scheme or search kind, a metric of the other task, a target with missing values or a
        single class, only constant features, text columns, fewer rows (or rows of a class, or
        groups) than folds, a budget that is not positive, a missing group or date column; with a
        recipe, the errors of its feature steps (a column that is not a feature, rebalancing with a
        regression model, class weights a model cannot use).
    TrainingCancelled
        When ``should_stop()`` returned True.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> Xa, ya = make_classification(200, n_features=4, random_state=0)
    >>> X = pd.DataFrame(Xa, columns=["a", "b", "c", "d"])
    >>> [r] = train_candidates(X, ya, task_type="classification", roles=dict.fromkeys(X, "numeric"),
    ...                        families=["logistic_regression"], metrics=["roc_auc"], n_splits=3)
    >>> r.family, len(r.fold_metrics), r.mean["roc_auc"] > 0.8
    ('logistic_regression', 3, True)
    """
    _check_task(task_type)
    if not isinstance(X, pd.DataFrame):
        raise InputError("modeling.not_a_frame", kind=type(X).__name__)
    if recipe is not None:
        from mlcore.data.prepare.recipe import Recipe

        if not isinstance(recipe, Recipe):
            raise InputError("prep.not_a_recipe", type=type(recipe).__name__)
    if not X.columns.is_unique:
        raise InputError("modeling.duplicate_columns", columns=_names(X.columns[X.columns.duplicated()].tolist()))
    if not X.index.is_unique:
        raise InputError("modeling.duplicate_index", count=int(X.index.duplicated().sum()))
    if isinstance(families, str) or not families:
        raise InputError("modeling.no_families", choices=", ".join(MODEL_FAMILIES[task_type]))
    names = list(dict.fromkeys(families))
    specs = [_family(name, task_type) for name in names]
    metric_names = _check_metrics(metrics, task_type)
    plan = _check_search(search)
    if scheme not in SCHEMES:
        raise InputError("modeling.unknown_scheme", scheme=str(scheme)[:40], choices=", ".join(SCHEMES))
    for name in params or {}:
        _family(name, task_type)
    for spec in specs:  # unknown hyper-parameters are refused before any training starts
        make_estimator(spec.name, task_type=task_type, params=(params or {}).get(spec.name))

    columns = list(X.columns) if features is None else list(dict.fromkeys(features))
    not_text = [c for c in columns if not isinstance(c, str)]
    if not_text:
        raise InputError("modeling.column_names_not_text", columns=_names(not_text))
    absent = [c for c in columns if c not in X.columns]
    if absent:
        raise InputError("modeling.features_not_columns", columns=_names(absent))
    if not columns:
        raise InputError("modeling.no_features", columns="—")
    all_roles = _fill_roles(X, columns, roles)
    text = [c for c in columns if all_roles[c] == "text"]
    refusing = [s.name for s in specs if not s.accepts_text]
    if text and refusing:
        raise InputError("modeling.text_not_supported", columns=_names(text), families=", ".join(refusing))
    dropped = {c: all_roles[c] for c in columns if all_roles[c] == "identifier"}
    used = [c for c in columns if c not in dropped]
    if not used:
        raise InputError("modeling.no_features", columns=_names(columns))
    _check_role_types(X, all_roles, used)
    constant = [c for c in used if X[c].nunique(dropna=False) <= 1]
    if len(constant) == len(used):
        raise InputError("modeling.only_constant_features", columns=_names(constant))

    target = _aligned_target(X, y)
    classes, n_classes = _check_target(target, task_type)
    pos: Any = None
    if task_type == "classification" and n_classes == 2:
        pos = positive_label(target) if positive_class is None else positive_class
        if pos not in set(classes):
            raise InputError("modeling.bad_positive_class", label=str(pos)[:80], classes=_names(classes))
        pos = _plain(pos)

    group_values = _group_values(X, groups) if scheme == "group_kfold" and groups is not None else None
    order_values = _order_values(X, order) if scheme == "time_series" and order is not None else None
    splitter = make_splitter(
        scheme,
        n_splits=n_splits,
        task_type=task_type,
        groups=group_values,
        order=order_values,
        test_size=test_size,
        random_state=random_state,
    )
    _check_folds(
        target, scheme=scheme, n_splits=n_splits, task_type=task_type, groups=group_values, test_size=test_size
    )
    data = X[used]
    folds: Folds = [(np.asarray(tr, np.intp), np.asarray(te, np.intp)) for tr, te in splitter.split(data, target)]
    if task_type == "classification":
        for k, (train, _) in enumerate(folds, 1):
            seen = target.iloc[train].unique()
            if len(seen) < 2:  # time or group folds can leave one class in a training fold
                raise InputError("modeling.fold_one_class", fold=k, label=str(seen[0])[:80], scheme=scheme)
    scorers = make_scorers(metric_names, task_type=task_type, n_classes=max(n_classes, 2), pos_label=pos)

    config: dict[str, Any] = {
        "format": 1,
        "task_type": task_type,
        "features": used,
        "roles": {c: all_roles[c] for c in columns},
        "scheme": scheme,
        "n_splits": int(n_splits) if scheme != "holdout" else 1,
        "test_size": float(test_size),
        "group_column": groups if isinstance(groups, str) else None,
        "order_column": order if isinstance(order, str) else None,
        "metrics": metric_names,
        "random_state": int(random_state),
        "positive_class": _json_safe(pos)[1],
    }
    if recipe is not None:
        config["recipe"] = recipe.to_dict()
        config["recipe_fingerprint"] = recipe.fingerprint
    run = _Run(
        X=data,
        y=target,
        task_type=task_type,
        roles=all_roles,
        used=used,
        folds=folds,
        scorer=check_scoring(None, scoring=scorers),
        metrics=metric_names,
        random_state=random_state,
        refit=refit,
        n_jobs=n_jobs,
        should_stop=should_stop,
        report=_Reporter(progress, len(specs)),
        config=config,
        recipe=recipe,
        target_name=target.name if isinstance(target.name, str) else None,
    )
    if recipe is not None:  # the recipe's column and model errors are raised before any training starts
        for spec in specs:
            _pipeline(run, spec, dict((params or {}).get(spec.name, {})))
    run.report(0, 0.0, "modeling.progress.start", families=len(specs), folds=len(folds))
    searching = [s.name for s in specs if s.search_space] if plan is not None else []
    spent = 0.0
    results: list[CandidateResult] = []
    for index, spec in enumerate(specs):
        fixed = dict((params or {}).get(spec.name, {}))
        if plan is not None and spec.name in searching:
            share = max(plan["budget_s"] - spent, 0.0) / (len(searching) - searching.index(spec.name))
            result, used_seconds = _train_searched(run, index, spec, fixed, plan, share)
            spent += used_seconds
        else:
            result = _train_one(run, index, spec, fixed)
        results.append(result)
    run.report(len(specs) - 1, 1.0, "modeling.progress.done", families=len(specs))
    return results


def _pipeline(run: _Run, spec: ModelFamily, model_params: Mapping[str, Any]) -> Pipeline:
    pipeline = build_pipeline(
        spec.name,
        task_type=run.task_type,
        roles=run.roles,
        features=run.used,
        params=model_params,
        random_state=run.random_state,
    )
    if run.recipe is None:
        return pipeline
    from mlcore.data.prepare.recipe import compose_pipeline

    # The target only names what the recipe's steps learn from; a recipe saved without one takes y's name.
    target = run.recipe.target if run.recipe.target is not None else (run.target_name or "__target__")
    composed: Pipeline = compose_pipeline(
        run.recipe,
        roles={c: run.roles[c] for c in run.used},
        model_pipeline=pipeline,
        target=target,
    )
    return composed


def _jobs(run: _Run, spec: ModelFamily, n_tasks: int) -> int:
    if run.n_jobs is not None:
        return max(1, min(int(run.n_jobs), n_tasks)) if run.n_jobs > 0 else max(1, int(joblib.cpu_count()))
    return fold_n_jobs(spec.name, task_type=run.task_type, n_rows=len(run.X), n_tasks=n_tasks)


def _train_one(run: _Run, index: int, spec: ModelFamily, model_params: Mapping[str, Any]) -> CandidateResult:
    pipeline = _pipeline(run, spec, model_params)
    n_folds = len(run.folds)
    steps = n_folds + (1 if run.refit else 0)
    folds_done = 0

    def on_task(outcome: _TaskOutcome, done: int) -> None:
        nonlocal folds_done
        if outcome.fold is None:
            run.report(index, done / steps, "modeling.progress.refit", family=spec.name, rows=len(run.X))
        else:
            folds_done += 1
            run.report(index, done / steps, "modeling.progress.fold", family=spec.name, fold=folds_done, folds=n_folds)

    evaluation = _evaluate(
        pipeline,
        run.X,
        run.y,
        run.folds,
        scorer=run.scorer,
        n_jobs=_jobs(run, spec, steps),
        refit=run.refit,
        on_task=on_task,
        should_stop=run.should_stop,
    )
    assert evaluation is not None
    return _result(run, spec, pipeline, model_params, evaluation, evaluation.fitted, evaluation.refit_seconds, None)


def _train_searched(
    run: _Run, index: int, spec: ModelFamily, fixed: Mapping[str, Any], plan: Mapping[str, Any], budget: float
) -> tuple[CandidateResult, float]:
    """Search ``spec``'s hyper-parameters within ``budget`` seconds, then refit the best setting."""
    start = time.perf_counter()
    deadline = start + budget
    metric = run.metrics[0]
    sign = 1.0 if metric_direction(metric) == "higher" else -1.0
    space = {k: v for k, v in spec.search_space.items() if k not in fixed}
    n_iter = int(plan["n_iter"]) if space else 1  # every tunable hyper-parameter was fixed by the user
    n_folds = len(run.folds)
    expected = [max(n_iter, 1) * n_folds]
    done_folds = [0]
    label = {"candidate": 1, "candidates": n_iter}

    def on_task(outcome: _TaskOutcome, done: int) -> None:
        done_folds[0] += 1
        run.report(
            index,
            0.95 * done_folds[0] / max(expected[0], 1),
            "modeling.progress.search_fold",
            family=spec.name,
            fold=done,
            folds=n_folds,
            **label,
        )

    def evaluate(model_params: Mapping[str, Any], folds: Folds, limit: float | None) -> _Evaluation | None:
        return _evaluate(
            _pipeline(run, spec, model_params),
            run.X,
            run.y,
            folds,
            scorer=run.scorer,
            n_jobs=_jobs(run, spec, len(folds)),
            refit=False,
            on_task=on_task,
            should_stop=run.should_stop,
            deadline=limit,
        )

    defaults = evaluate(dict(fixed), run.folds, None)
    assert defaults is not None
    trials = [Trial(dict(fixed), defaults.mean(metric), 1.0, defaults.seconds)]
    best_params, best_eval = dict(fixed), defaults
    unit = max(defaults.seconds, 1e-6)
    remaining = deadline - time.perf_counter()
    train_rows = min(len(tr) for tr, _ in run.folds)
    classification = run.task_type == "classification"
    min_rows = max(100, 20 * max(run.y.nunique(), 2)) if classification else 100
    completed = 1
    stopped = False

    if plan["kind"] == "random":
        affordable = int(remaining // unit) if remaining > 0 else 0
        planned = min(n_iter - 1, affordable)
        stopped = planned < n_iter - 1
        expected[0] = (1 + planned) * n_folds
        label["candidates"] = 1 + planned
        for k, sampled in enumerate(_sampled(space, planned, run.random_state), 2):
            label["candidate"] = k
            average = (time.perf_counter() - start) / (k - 1)
            if time.perf_counter() + average > deadline:
                stopped = True
                break
            model_params = {**sampled, **fixed}
            evaluation = evaluate(model_params, run.folds, deadline)
            if evaluation is None:
                stopped = True
                break
            completed += 1
            trials.append(Trial(model_params, evaluation.mean(metric), 1.0, evaluation.seconds))
            if sign * evaluation.mean(metric) > sign * best_eval.mean(metric):
                best_params, best_eval = model_params, evaluation
    else:
        n_candidates = 0
        for n in range(n_iter - 1, 0, -1):
            if _halving_cost(n, train_rows, min_rows) * unit <= remaining:
                n_candidates = n
                break
        stopped = n_candidates < n_iter - 1
        rounds = _halving_rounds(n_candidates, train_rows, min_rows) if n_candidates else []
        planned = n_candidates
        expected[0] = n_folds * (1 + sum(c for c, _ in rounds))
        label["candidates"] = 1 + planned
        survivors = [{**s, **fixed} for s in _sampled(space, n_candidates, run.random_state)]
        round_index = 0
        while round_index < len(rounds):
            share = rounds[round_index][1]
            last = round_index == len(rounds) - 1
            # Time kept for the round on all rows: without it the early rounds could use the whole
            # budget and no setting would ever be compared with the defaults.
            reserve = 0.0 if last else unit * rounds[-1][0]
            folds = _subsample(run.folds, run.y, share, run.random_state + round_index, classification)
            scored: list[tuple[float, int, dict[str, Any], _Evaluation]] = []
            cut = False
            for position, model_params in enumerate(survivors):
                label["candidate"] = position + 2
                spent_here = sum(item[3].seconds for item in scored)
                estimate = spent_here / len(scored) if scored else unit * _evaluation_share(share)
                if time.perf_counter() + estimate + reserve > deadline:
                    cut = True
                    break
                evaluation = evaluate(model_params, folds, deadline - reserve)
                if evaluation is None:
                    cut = True
                    break
                trials.append(Trial(model_params, evaluation.mean(metric), share, evaluation.seconds))
                scored.append((sign * evaluation.mean(metric), position, model_params, evaluation))
            stopped = stopped or cut
            scored.sort(key=lambda item: (-item[0] if not math.isnan(item[0]) else math.inf, item[1]))
            if last:
                completed += len(scored)
                for value, _, model_params, evaluation in scored:
                    if value > sign * best_eval.mean(metric):
                        best_params, best_eval = model_params, evaluation
                break
            if not scored:
                break
            if cut:
                # Out of time for the planned rounds: the best so far go straight to all rows.
                survivors = [item[2] for item in scored[: rounds[-1][0]]]
                round_index = len(rounds) - 1
            else:
                survivors = [item[2] for item in scored[: math.ceil(len(scored) / _HALVING_FACTOR)]]
                round_index += 1

    seconds = time.perf_counter() - start
    summary = SearchSummary(
        kind=str(plan["kind"]),
        budget_s=float(budget),
        n_iter=n_iter,
        planned=1 + planned,
        evaluated=completed,
        seconds=seconds,
        stopped_by_budget=stopped,
        metric=metric,
        best_params=json_safe_params(best_params),
        trials=tuple(trials),
    )
    pipeline = _pipeline(run, spec, best_params)
    fitted, fit_seconds = None, 0.0
    if run.refit:
        _check_stop(run.should_stop)
        start_fit = time.perf_counter()
        fitted = clone(pipeline).fit(run.X, run.y)
        fit_seconds = time.perf_counter() - start_fit
        run.report(index, 1.0, "modeling.progress.refit", family=spec.name, rows=len(run.X))
    result = _result(run, spec, pipeline, best_params, best_eval, fitted, fit_seconds, summary)
    return result, seconds


def _result(
    run: _Run,
    spec: ModelFamily,
    pipeline: Pipeline,
    model_params: Mapping[str, Any],
    evaluation: _Evaluation,
    fitted: Pipeline | None,
    fit_seconds: float,
    search: SearchSummary | None,
) -> CandidateResult:
    values = {m: np.array([f[m] for f in evaluation.folds], dtype=np.float64) for m in run.metrics}
    size = None
    if fitted is not None:
        buffer = io.BytesIO()
        joblib.dump(fitted, buffer)
        size = buffer.getbuffer().nbytes
    safe_model_params = json_safe_params(model_params)
    return CandidateResult(
        family=spec.name,
        task_type=run.task_type,
        params=json_safe_params((fitted if fitted is not None else pipeline).get_params(deep=True)),
        model_params=safe_model_params,
        metrics=tuple(run.metrics),
        fold_metrics=tuple(evaluation.folds),
        mean={m: float(np.mean(v)) for m, v in values.items()},
        std={m: float(np.std(v)) for m, v in values.items()},
        cv_seconds=evaluation.seconds,
        fit_seconds=fit_seconds,
        size_bytes=size,
        pipeline=fitted,
        features=tuple(run.used),
        dropped={c: r for c, r in run.config["roles"].items() if r == "identifier"},
        search=search,
        config={**run.config, "family": spec.name, "model_params": safe_model_params},
    )


# ----------------------------------------------------------------------------- reproduction


_SHARED_KEYS = (
    "format",
    "task_type",
    "features",
    "roles",
    "scheme",
    "n_splits",
    "test_size",
    "group_column",
    "order_column",
    "metrics",
    "random_state",
    "positive_class",
)


def run_config(results: Sequence[CandidateResult]) -> dict[str, Any]:
    """The JSON-safe record of a training run: how to re-run it and the metrics it gave.

    Keys: the shared settings (task, features, roles, scheme, folds, seed, metrics…), ``recipe`` and
    ``recipe_fingerprint`` when the run used a preparation recipe, ``families``,
    ``params`` (family -> hyper-parameters on top of the defaults, the search's choice included) and
    ``results`` (family -> ``mean`` and per-fold ``folds`` values per metric).

    Raises
    ------
    InputError
        ``modeling.no_results``.
    """
    if not results:
        raise InputError("modeling.no_results")
    first = results[0].config
    config = {key: first[key] for key in _SHARED_KEYS}
    for key in ("recipe", "recipe_fingerprint"):
        if key in first:
            config[key] = first[key]
    config["families"] = [r.family for r in results]
    config["params"] = {r.family: dict(r.model_params) for r in results}
    config["results"] = {
        r.family: {
            "mean": dict(r.mean),
            "folds": {m: [float(f[m]) for f in r.fold_metrics] for m in r.metrics},
        }
        for r in results
    }
    return config


@dataclass(frozen=True)
class MetricCheck:
    """One recorded metric against the re-run: the largest difference over folds and the mean."""

    family: str
    metric: str
    recorded: float
    reproduced: float
    difference: float
    matches: bool


@dataclass(frozen=True, eq=False)
class ReproduceResult:
    """Whether a re-run gave the recorded metrics (within ``tolerance``), per family and metric."""

    matches: bool
    checks: tuple[MetricCheck, ...]
    tolerance: float
    results: tuple[CandidateResult, ...]


def reproduce(
    run_config: Mapping[str, Any],
    X: pd.DataFrame,
    y: pd.Series | npt.ArrayLike,
    *,
    tolerance: float = 1e-9,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ReproduceResult:
    """Re-run the cross-validation a run recorded and compare every metric, fold by fold.

    The recorded hyper-parameters are used as they are: a time-budgeted search is not repeated
    (its number of settings depends on how fast the machine was), its choice is. A recorded
    preparation recipe is rebuilt from its record (and its fingerprint checked). The final fits
    are skipped (they do not change the metrics).

    Parameters
    ----------
    run_config : mapping
        What :func:`run_config` returned (for example read back from the database).
    X, y
        The same rows (the same dataset version); ``X`` holds at least the recorded features and the
        group or order column.
    tolerance : float, default 1e-9
        Largest absolute difference that still counts as the same.

    Raises
    ------
    InputError
        ``modeling.bad_run_config`` if a required entry is missing, plus those of :func:`train_candidates`.
    """
    required = (*_SHARED_KEYS, "families", "params", "results")
    missing = [k for k in required if k not in run_config]
    if missing:
        raise InputError("modeling.bad_run_config", keys=_names(missing))
    recipe = None
    if run_config.get("recipe") is not None:
        from mlcore.data.prepare.recipe import Recipe

        recipe = Recipe.from_dict(run_config["recipe"])
        recorded_fingerprint = run_config.get("recipe_fingerprint")
        if recorded_fingerprint is not None and recorded_fingerprint != recipe.fingerprint:
            raise InputError(
                "recipes.fingerprint_changed", recorded=str(recorded_fingerprint)[:12], now=recipe.fingerprint[:12]
            )
    results = train_candidates(
        X,
        y,
        task_type=run_config["task_type"],
        roles=run_config["roles"],
        families=run_config["families"],
        metrics=run_config["metrics"],
        scheme=run_config["scheme"],
        n_splits=max(int(run_config["n_splits"]), 2),
        groups=run_config["group_column"],
        order=run_config["order_column"],
        random_state=int(run_config["random_state"]),
        features=run_config["features"],
        params=run_config["params"],
        positive_class=run_config["positive_class"],
        test_size=float(run_config["test_size"]),
        refit=False,
        progress=progress,
        should_stop=should_stop,
        recipe=recipe,
    )
    checks: list[MetricCheck] = []
    for result in results:
        recorded = run_config["results"].get(result.family, {})
        for metric in result.metrics:
            before = list(recorded.get("folds", {}).get(metric, []))
            after = [float(f[metric]) for f in result.fold_metrics]
            recorded_mean = float(recorded.get("mean", {}).get(metric, math.nan))
            pairs = [*zip(before, after, strict=False), (recorded_mean, result.mean[metric])]
            difference = max(_difference(a, b) for a, b in pairs) if len(before) == len(after) else math.inf
            checks.append(
                MetricCheck(
                    family=result.family,
                    metric=metric,
                    recorded=recorded_mean,
                    reproduced=result.mean[metric],
                    difference=difference,
                    matches=difference <= tolerance,
                )
            )
    return ReproduceResult(
        matches=all(c.matches for c in checks), checks=tuple(checks), tolerance=tolerance, results=tuple(results)
    )


def _difference(a: float, b: float) -> float:
    if math.isnan(a) and math.isnan(b):
        return 0.0
    if math.isnan(a) or math.isnan(b):
        return math.inf
    return abs(a - b)
