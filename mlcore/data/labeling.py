"""Label review: find suspect labels, order unlabeled rows for annotation, apply reviewers' decisions.

Confident learning is implemented here from the paper (Northcutt, Jiang & Chuang, 2021,
"Confident Learning: Estimating Uncertainty in Dataset Labels"); no cleanlab code is used.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np
import numpy.typing as npt
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import get_scorer, get_scorer_names
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    QuantileTransformer,
    SplineTransformer,
)

from mlcore.errors import InputError

__all__ = [
    "ACTIONS",
    "COMMENT_MAX_CHARS",
    "MAX_CATEGORIES",
    "MAX_CLASSES",
    "Action",
    "LabelDecision",
    "LabelIssues",
    "apply_label_decisions",
    "cv_metric_before_after",
    "decision_agreement",
    "default_model",
    "feature_roles",
    "find_label_issues",
    "label_quality_summary",
    "suggest_annotation_order",
]

MAX_CLASSES = 50
"""Most classes a target may have: beyond this it is more likely an identifier or a number."""

MAX_CATEGORIES = 50
"""Categories kept per categorical column by :func:`default_model`; rarer ones are grouped."""

COMMENT_MAX_CHARS = 1000
"""Longest reviewer comment accepted on a :class:`LabelDecision`."""

Action = Literal["keep", "relabel", "exclude", "unsure"]
ACTIONS: tuple[str, ...] = get_args(Action)

Progress = Callable[[float, str], None]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]

# A column of distinct strings averaging this many words or characters is prose, not a category.
_TEXT_MIN_WORDS = 3.0
_TEXT_MIN_CHARS = 30.0
# A string column whose values are nearly all distinct is an identifier (nothing to learn).
_IDENTIFIER_UNIQUE_SHARE = 0.9
# Numeric targets with non-whole values and more distinct values than this look continuous.
_MAX_FRACTIONAL_CLASSES = 10
_SPLINE_KNOTS = 5
_QUANTILES = 100
_AGREEMENT_COLUMNS = ("n_reviewers", "agree", "consensus")


# ----------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class LabelDecision:
    """One reviewer's decision about one row.

    Attributes
    ----------
    action : {"keep", "relabel", "exclude", "unsure"}
        ``keep`` (the label is right) and ``unsure`` change nothing; ``relabel`` sets the
        target to ``new_label``; ``exclude`` drops the row from the next dataset version.
    new_label : hashable, optional
        The corrected class; required for ``relabel`` and refused otherwise.
    comment : str
        Why, in the reviewer's words: at most :data:`COMMENT_MAX_CHARS` characters, no control
        characters other than line breaks (``\\n``, ``\\r``) and tabs.

    Raises
    ------
    InputError
        ``labeling.bad_action``, ``labeling.relabel_needs_label``, ``labeling.label_without_relabel``,
        ``labeling.comment_too_long`` or ``labeling.comment_control_characters``.

    Examples
    --------
    >>> LabelDecision("relabel", new_label="yes", comment="Called to cancel on 3 May").action
    'relabel'
    >>> LabelDecision("relabel")
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: A relabel decision needs the new class.
    """

    action: Action
    new_label: Hashable | None = None
    comment: str = ""

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InputError("labeling.bad_action", action=str(self.action), allowed=", ".join(ACTIONS))
        if self.action == "relabel" and _is_missing(self.new_label):
            raise InputError("labeling.relabel_needs_label")
        if self.action != "relabel" and self.new_label is not None:
            raise InputError("labeling.label_without_relabel", action=self.action)
        if not isinstance(self.comment, str):
            raise InputError("labeling.comment_not_text")
        if len(self.comment) > COMMENT_MAX_CHARS:
            raise InputError("labeling.comment_too_long", length=len(self.comment), maximum=COMMENT_MAX_CHARS)
        if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in self.comment):
            raise InputError("labeling.comment_control_characters")

    def describe(self) -> str:
        """Short language-neutral form: ``keep``, ``exclude``, ``unsure`` or ``relabel:<class>``."""
        return f"relabel:{self.new_label}" if self.action == "relabel" else self.action


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


# ----------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class LabelIssues:
    """What :func:`find_label_issues` found.

    Attributes
    ----------
    ranked : pandas.DataFrame
        One row per input row, indexed like ``features``, most suspicious first. Columns:
        ``score`` (suspicion in [0, 1]: ``(1 - margin) / 2``, above 0.5 when the model prefers
        another class), ``given_label``, ``suggested_label`` (the most probable other class when
        the row is flagged or the model prefers another class, else the given label),
        ``self_confidence`` (out-of-fold probability of the given label), ``margin``
        (that probability minus the largest other one, in [-1, 1]), ``is_issue`` and ``reason``
        (a catalog key; fill it with ``given``, ``suggested`` and ``probability``).
    is_issue : pandas.Series of bool
        Indexed like ``features`` in its order: rows confident learning flags.
    probabilities : pandas.DataFrame
        Out-of-fold predicted probabilities, indexed like ``features``, one column per class.
    thresholds : pandas.Series
        Per-class threshold ``t_j``: mean self-confidence of the rows labelled ``j``.
    confident_joint : pandas.DataFrame
        Rows: given label; columns: the class the model is confident about (counts, calibrated
        so that each row sums to the number of rows with that label).
    noise_rate : pandas.Series
        Per given class, the estimated share of rows labelled with it that belong to another class.
        Confident learning treats every confident disagreement as a labelling error, so when
        outcomes are inherently uncertain (churn, fraud) this also counts genuine surprises: read
        it as an upper bound on labelling mistakes.
    classes : tuple
        The classes, in the order of the probability columns.
    cv : int
        Folds used for the out-of-fold probabilities.
    """

    ranked: pd.DataFrame
    is_issue: pd.Series
    probabilities: pd.DataFrame
    thresholds: pd.Series
    confident_joint: pd.DataFrame
    noise_rate: pd.Series
    classes: tuple[Hashable, ...]
    cv: int

    @property
    def n_issues(self) -> int:
        """Number of flagged rows."""
        return int(self.is_issue.sum())


# ----------------------------------------------------------------------------- default model


def _datetime_to_days(X: pd.DataFrame) -> pd.DataFrame:
    """Dates and durations as float days (missing stays NaN), so they can be imputed and splined."""
    out = {}
    for name in X.columns:
        column = X[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert(None)
        if pd.api.types.is_timedelta64_dtype(column):
            out[name] = column.dt.total_seconds() / 86_400.0
        else:
            stamps = pd.to_datetime(column, errors="coerce")
            out[name] = (stamps - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86_400.0
    return pd.DataFrame(out, index=X.index)


def _as_category_text(X: pd.DataFrame) -> pd.DataFrame:
    """Categories as text (missing as NaN): the encoder needs one type per column."""
    return X.astype(object).astype(str).where(X.notna(), np.nan)


def feature_roles(features: pd.DataFrame) -> dict[Hashable, str]:
    """How :func:`default_model` uses each column.

    Roles: ``numeric`` (numbers, imputed then splined), ``datetime`` (dates and durations as
    days, then like numbers), ``categorical`` (text, categories and yes/no, one-hot with rare
    values grouped), ``text`` (free text: dropped), ``identifier`` (nearly all values distinct:
    dropped) and ``empty`` (all missing or a single value: dropped).

    Examples
    --------
    >>> X = pd.DataFrame({"n": [1.0, 2.0, 3.0], "c": ["a", "b", "a"], "k": [7, 7, 7]})
    >>> feature_roles(X)
    {'n': 'numeric', 'c': 'categorical', 'k': 'empty'}
    """
    roles: dict[Hashable, str] = {}
    for name in features.columns:
        column = features[name]
        present = column.dropna()
        if present.nunique() <= 1:
            roles[name] = "empty"
        elif pd.api.types.is_bool_dtype(column) or isinstance(column.dtype, pd.CategoricalDtype):
            roles[name] = "categorical"
        elif pd.api.types.is_numeric_dtype(column):
            roles[name] = "numeric"
        elif pd.api.types.is_datetime64_any_dtype(column) or pd.api.types.is_timedelta64_dtype(column):
            roles[name] = "datetime"
        else:
            roles[name] = _string_role(present)
    return roles


def _string_role(present: pd.Series) -> str:
    distinct = present.nunique()
    if distinct <= MAX_CATEGORIES:
        return "categorical"
    sample = present.astype(str)
    if len(sample) > 5_000:
        sample = sample.sample(5_000, random_state=0)
    if sample.str.split().str.len().mean() >= _TEXT_MIN_WORDS or sample.str.len().mean() >= _TEXT_MIN_CHARS:
        return "text"
    if distinct >= _IDENTIFIER_UNIQUE_SHARE * len(present):
        return "identifier"
    return "categorical"


def default_model(features: pd.DataFrame, *, random_state: int = 0) -> VotingClassifier:
    """The classifier :func:`find_label_issues` uses unless given one: two fast models, averaged.

    The class probabilities of two complementary models are averaged (soft voting):

    * an *additive* model, logistic regression on smooth per-column curves: numbers and dates
      are imputed (median, plus a missing-value indicator), mapped to quantiles (so outliers and
      skew do not matter) and expanded in cubic splines; categories are one-hot encoded;
    * histogram *gradient boosting*, which catches interactions between columns: numbers and
      dates as they are (missing values handled natively), categories ordinal-encoded and
      treated as categories.

    Categorical columns keep at most :data:`MAX_CATEGORIES` values, rarer ones grouped. Free
    text, identifiers and empty columns are dropped (see :func:`feature_roles`). On the demo
    churn data (additive by construction) the additive model alone ranks flipped labels a little
    better than boosting; on data with interactions (``make_classification``) boosting is far
    better and the additive model flags many correct rows. The average does about as well as the
    better of the two on each, at the cost of fitting both.

    Parameters
    ----------
    features : pandas.DataFrame
        Only column types and distinct counts are looked at.
    random_state : int

    Returns
    -------
    sklearn.ensemble.VotingClassifier

    Raises
    ------
    InputError
        ``labeling.no_usable_features`` if every column is text, an identifier or empty.

    Examples
    --------
    >>> X = pd.DataFrame({"n": [1.0, 2.0, 3.0], "c": ["a", "b", "a"], "note": [None] * 3})
    >>> model = default_model(X)
    >>> [name for name, _ in model.estimators]
    ['additive', 'boosting']
    >>> [(name, columns) for name, _, columns in model.estimators[0][1].named_steps["prepare"].transformers]
    [('numeric', ['n']), ('categorical', ['c'])]
    """
    roles = feature_roles(features)
    # ColumnTransformer reads integers as positions, so non-text column names are given as positions.
    by_name = all(isinstance(name, str) for name in features.columns)
    by_role: dict[str, list[Any]] = {}
    for position, (name, role) in enumerate(roles.items()):
        by_role.setdefault(role, []).append(name if by_name else position)
    numeric, dates, categorical = (
        by_role.get("numeric", []),
        by_role.get("datetime", []),
        by_role.get("categorical", []),
    )
    if not (numeric or dates or categorical):
        dropped = ", ".join(f"{name} ({role})" for name, role in roles.items())
        raise InputError("labeling.no_usable_features", columns=dropped)
    return VotingClassifier(
        [
            ("additive", _additive_model(numeric, dates, categorical, rows=len(features), random_state=random_state)),
            ("boosting", _boosting_model(numeric, dates, categorical, random_state=random_state)),
        ],
        voting="soft",
    )


def _additive_model(
    numeric: list[Any], dates: list[Any], categorical: list[Any], *, rows: int, random_state: int
) -> Pipeline:
    # A training fold holds at least half the rows; more quantiles than that only warn.
    n_quantiles = max(2, min(_QUANTILES, rows // 2))

    def curve() -> list[tuple[str, Any]]:
        return [
            ("impute", SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)),
            ("quantile", QuantileTransformer(n_quantiles=n_quantiles, random_state=random_state)),
            ("spline", SplineTransformer(n_knots=_SPLINE_KNOTS, degree=3)),
        ]

    transformers: list[tuple[str, Any, list[Any]]] = []
    if numeric:
        transformers.append(("numeric", Pipeline(curve()), numeric))
    if dates:
        transformers.append(("datetime", Pipeline([("days", _as_days()), *curve()]), dates))
    if categorical:
        encoder = OneHotEncoder(
            handle_unknown="infrequent_if_exist", max_categories=MAX_CATEGORIES, min_frequency=5, sparse_output=False
        )
        transformers.append(("categorical", Pipeline([("text", _as_text()), ("onehot", encoder)]), categorical))
    prepare = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    model = LogisticRegression(C=1.0, max_iter=1_000, random_state=random_state)
    return Pipeline([("prepare", prepare), ("model", model)])


def _boosting_model(numeric: list[Any], dates: list[Any], categorical: list[Any], *, random_state: int) -> Pipeline:
    transformers: list[tuple[str, Any, list[Any]]] = []
    if numeric:
        transformers.append(("numeric", "passthrough", numeric))
    if dates:
        transformers.append(("datetime", _as_days(), dates))
    if categorical:
        encoder = OrdinalEncoder(
            handle_unknown="use_encoded_value",
            unknown_value=np.nan,
            encoded_missing_value=np.nan,
            max_categories=MAX_CATEGORIES,
            dtype=np.float64,
        )
        transformers.append(("categorical", Pipeline([("text", _as_text()), ("ordinal", encoder)]), categorical))
    prepare = ColumnTransformer(transformers, remainder="drop", sparse_threshold=0.0)
    is_category = [False] * (len(numeric) + len(dates)) + [True] * len(categorical)
    model = HistGradientBoostingClassifier(
        categorical_features=is_category if categorical else None, random_state=random_state
    )
    return Pipeline([("prepare", prepare), ("model", model)])


def _as_days() -> FunctionTransformer:
    return FunctionTransformer(_datetime_to_days, feature_names_out="one-to-one")


def _as_text() -> FunctionTransformer:
    return FunctionTransformer(_as_category_text, feature_names_out="one-to-one")


# ----------------------------------------------------------------------------- validation


def _check_frame(features: pd.DataFrame) -> None:
    if not isinstance(features, pd.DataFrame):
        raise InputError("labeling.features_not_frame", kind=type(features).__name__)
    if features.shape[0] == 0 or features.shape[1] == 0:
        raise InputError("labeling.empty", rows=features.shape[0], columns=features.shape[1])
    if not features.index.is_unique:
        raise InputError("labeling.duplicate_index", count=int(features.index.duplicated().sum()))


def _aligned_labels(features: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """``labels`` in the row order of ``features``; the same rows in another order are accepted."""
    if not isinstance(labels, pd.Series):
        raise InputError("labeling.labels_not_series", kind=type(labels).__name__)
    if isinstance(labels.dtype, pd.CategoricalDtype):
        labels = labels.cat.remove_unused_categories()  # a category no row has is not a class here
    if labels.index.equals(features.index):
        return labels
    if labels.index.is_unique and len(labels) == len(features) and labels.index.isin(features.index).all():
        return labels.reindex(features.index)
    extra = int((~labels.index.isin(features.index)).sum())
    missing = int((~features.index.isin(labels.index)).sum())
    raise InputError(
        "labeling.index_mismatch", features=len(features), labels=len(labels), missing=missing, extra=extra
    )


def _check_target(labels: pd.Series, *, min_per_class: int) -> None:
    """Refuse targets confident learning cannot work with, saying what to do instead."""
    missing = int(labels.isna().sum())
    if missing:
        raise InputError("labeling.missing_labels", missing=missing, total=len(labels))
    distinct = labels.nunique()
    numeric = pd.api.types.is_numeric_dtype(labels) and not pd.api.types.is_bool_dtype(labels)
    if numeric:
        values = labels.to_numpy(dtype=np.float64)
        fractional = bool(np.any(values != np.round(values)))
        if distinct > MAX_CLASSES or (fractional and distinct > _MAX_FRACTIONAL_CLASSES):
            raise InputError("labeling.continuous_target", distinct=distinct)
    if distinct < 2:
        raise InputError("labeling.one_class", label=str(labels.iloc[0]))
    if distinct > MAX_CLASSES:
        raise InputError("labeling.too_many_classes", count=distinct, maximum=MAX_CLASSES)
    counts = labels.value_counts()
    if counts.iloc[-1] < min_per_class:
        raise InputError(
            "labeling.class_too_small", label=str(counts.index[-1]), count=int(counts.iloc[-1]), folds=min_per_class
        )


def _check_folds(cv: int, rows: int) -> None:
    if isinstance(cv, bool) or not isinstance(cv, int) or not 2 <= cv <= rows:
        raise InputError("labeling.bad_folds", folds=str(cv), rows=rows)


def _check_model(model: Any) -> None:
    if not hasattr(model, "fit") or not hasattr(model, "predict_proba"):
        raise InputError("labeling.model_without_proba", model=type(model).__name__)


def _encode(labels: pd.Series) -> tuple[Ints, tuple[Hashable, ...]]:
    categorical = pd.Categorical(labels)
    codes: Ints = np.asarray(categorical.codes, dtype=np.intp)
    return codes, tuple(categorical.categories.tolist())


# ----------------------------------------------------------------------------- out-of-fold


def _fit_predict(model: BaseEstimator, X: pd.DataFrame, y: Ints, train: Ints, test: Ints) -> tuple[Ints, Floats]:
    fitted = clone(model).fit(X.iloc[train], y[train])
    return test, np.asarray(fitted.predict_proba(X.iloc[test]), dtype=np.float64)


def _out_of_fold(
    model: BaseEstimator,
    X: pd.DataFrame,
    y: Ints,
    *,
    n_classes: int,
    cv: int,
    random_state: int,
    n_jobs: int | None,
    progress: Progress | None,
) -> Floats:
    splitter = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    probabilities = np.full((len(y), n_classes), np.nan)
    if progress is not None:
        progress(0.0, "labeling.progress.cross_validation")
    tasks = (delayed(_fit_predict)(model, X, y, train, test) for train, test in splitter.split(X, y))
    for done, (test, fold) in enumerate(Parallel(n_jobs=n_jobs, return_as="generator_unordered")(tasks), 1):
        if fold.shape[1] != n_classes:
            raise InputError("labeling.model_without_proba", model=type(model).__name__)
        probabilities[test] = fold
        if progress is not None:
            progress(done / (cv + 1), "labeling.progress.cross_validation")
    return probabilities


# ----------------------------------------------------------------------------- confident learning


@dataclass(frozen=True, eq=False)
class _Confident:
    thresholds: Floats
    joint: Floats  # calibrated confident joint, rows: given, columns: confident class
    noise_rate: Floats
    is_issue: npt.NDArray[np.bool_]
    confident_class: Ints  # -1 where no class reaches its threshold


def _confident_learning(probabilities: Floats, y: Ints) -> _Confident:
    """Thresholds, confident joint, noise rates and prune-by-noise-rate flags (Northcutt et al.)."""
    n, k = probabilities.shape
    counts = np.bincount(y, minlength=k).astype(np.float64)
    thresholds = np.array([probabilities[y == j, j].mean() for j in range(k)])
    # Counts on the threshold itself must be above it despite rounding.
    above = probabilities >= thresholds - 1e-12
    confident_class = np.where(above.any(axis=1), np.where(above, probabilities, -np.inf).argmax(axis=1), -1)
    raw = np.zeros((k, k))
    has = confident_class >= 0
    np.add.at(raw, (y[has], confident_class[has]), 1.0)
    # Calibrate: each row sums to the rows given that label (classes nobody is confident about
    # keep their count on the diagonal).
    row_sums = raw.sum(axis=1, keepdims=True)
    joint = np.where(row_sums > 0, raw / np.where(row_sums > 0, row_sums, 1.0), np.eye(k)) * counts[:, None]
    noise_rate = 1.0 - np.diag(joint) / counts

    # Prune by noise rate: for each (given i, true j) take the n * Q_ij rows labelled i with the
    # largest margin p_j - p_i; keep only those the model does not predict as i.
    joint_share = joint / n
    is_issue = np.zeros(n, dtype=bool)
    for i in range(k):
        rows = np.flatnonzero(y == i)
        for j in range(k):
            take = int(round(joint_share[i, j] * n))
            if i == j or take == 0:
                continue
            margin = probabilities[rows, j] - probabilities[rows, i]
            order = np.argsort(-margin, kind="stable")[:take]
            is_issue[rows[order]] = True
    is_issue &= probabilities.argmax(axis=1) != y
    return _Confident(thresholds, joint, noise_rate, is_issue, confident_class)


def find_label_issues(
    features: pd.DataFrame,
    labels: pd.Series,
    *,
    model: BaseEstimator | None = None,
    cv: int = 5,
    random_state: int = 0,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> LabelIssues:
    """Find rows whose label looks wrong with confident learning on out-of-fold probabilities.

    Each row's class probabilities come from a model that never saw it (stratified ``cv``-fold
    cross-validation). Per class ``j`` the threshold ``t_j`` is the mean probability of ``j``
    among rows labelled ``j``; a row is *confidently* of class ``j`` when its probability of
    ``j`` reaches ``t_j`` (the most probable such class if several). Counting given label
    against confident class gives the confident joint, calibrated to the class counts, whose
    off-diagonal share per class is the estimated noise rate. Rows are flagged by pruning by
    noise rate: for every pair (given ``i``, true ``j``), the ``n * Q[i, j]`` rows labelled
    ``i`` with the largest margin ``p_j - p_i``, provided the model does not predict ``i``.
    Rows are ranked by normalised margin.

    Rows with missing labels are refused rather than dropped, so that none silently leaves the
    review: annotate them first (:func:`suggest_annotation_order`) or pass only labelled rows.

    Parameters
    ----------
    features : pandas.DataFrame
        Model inputs, one row per example, unique index. Drop identifiers and columns that are
        recorded with or after the outcome (they leak the label and hide its errors).
    labels : pandas.Series
        The given labels, indexed like ``features`` (the same rows in another order are aligned).
    model : sklearn classifier, optional
        Any estimator with ``predict_proba`` (a pipeline that accepts ``features``); it is fitted
        on class codes ``0..k-1`` in the order of :attr:`LabelIssues.classes`. Defaults to
        :func:`default_model`.
    cv : int, default 5
        Folds; every class needs at least ``cv`` rows.
    random_state : int, default 0
        Seeds the fold split (and the default model).
    n_jobs : int, optional
        Folds fitted in parallel (joblib semantics).
    progress : callable, optional
        ``progress(share_done, key)`` after each fold, with ``key`` a catalog key.

    Returns
    -------
    LabelIssues

    Raises
    ------
    InputError
        ``labeling.empty``, ``labeling.index_mismatch``, ``labeling.duplicate_index``,
        ``labeling.missing_labels``, ``labeling.continuous_target``, ``labeling.one_class``,
        ``labeling.too_many_classes``, ``labeling.class_too_small``, ``labeling.bad_folds``,
        ``labeling.no_usable_features`` (default model, only text or identifiers) or
        ``labeling.model_without_proba``.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(400, n_features=6, n_informative=4, class_sep=2.0, random_state=0)
    >>> X, y = pd.DataFrame(X).add_prefix("x"), pd.Series(y)
    >>> y_noisy = y.copy()
    >>> y_noisy[:20] = 1 - y_noisy[:20]
    >>> issues = find_label_issues(X, y_noisy)
    >>> bool(issues.ranked.index[:10].isin(range(20)).all())
    True
    >>> list(issues.ranked.columns)
    ['score', 'given_label', 'suggested_label', 'self_confidence', 'margin', 'is_issue', 'reason']
    """
    _check_frame(features)
    labels = _aligned_labels(features, labels)
    _check_folds(cv, len(features))
    _check_target(labels, min_per_class=cv)
    if model is None:
        model = default_model(features, random_state=random_state)
    _check_model(model)
    y, classes = _encode(labels)
    probabilities = _out_of_fold(
        model,
        features,
        y,
        n_classes=len(classes),
        cv=cv,
        random_state=random_state,
        n_jobs=n_jobs,
        progress=progress,
    )
    found = _confident_learning(probabilities, y)
    ranked = _ranking(probabilities, y, classes, found, index=features.index)
    if progress is not None:
        progress(1.0, "labeling.progress.done")
    names = pd.Index(classes)
    return LabelIssues(
        ranked=ranked,
        is_issue=pd.Series(found.is_issue, index=features.index, name="is_issue"),
        probabilities=pd.DataFrame(probabilities, index=features.index, columns=names),
        thresholds=pd.Series(found.thresholds, index=names, name="threshold"),
        confident_joint=pd.DataFrame(
            found.joint, index=names.rename("given_label"), columns=names.rename("confident_label")
        ),
        noise_rate=pd.Series(found.noise_rate, index=names, name="noise_rate"),
        classes=classes,
        cv=cv,
    )


def _ranking(
    probabilities: Floats, y: Ints, classes: tuple[Hashable, ...], found: _Confident, *, index: pd.Index
) -> pd.DataFrame:
    n = len(y)
    rows = np.arange(n)
    self_confidence = probabilities[rows, y]
    others = probabilities.copy()
    others[rows, y] = -np.inf
    best_other = others.argmax(axis=1)
    margin = self_confidence - others[rows, best_other]
    prefers_other = margin < 0
    suggested = np.where(found.is_issue | prefers_other, best_other, y)
    confident_other = (found.confident_class >= 0) & (found.confident_class != y)
    reason = np.select(
        [
            found.is_issue & confident_other,
            found.is_issue | prefers_other,
            self_confidence < found.thresholds[y],
        ],
        ["labeling.reason.confident_other", "labeling.reason.prefers_other", "labeling.reason.low_confidence"],
        default="labeling.reason.consistent",
    )
    names = np.empty(len(classes), dtype=object)
    names[:] = classes
    frame = pd.DataFrame(
        {
            "score": (1.0 - margin) / 2.0,
            "given_label": names[y],
            "suggested_label": names[suggested],
            "self_confidence": self_confidence,
            "margin": margin,
            "is_issue": found.is_issue,
            "reason": reason,
        },
        index=index,
    )
    # Flagged rows first, then by suspicion; ties keep the input order.
    order = np.lexsort((rows, -frame["score"].to_numpy(), ~found.is_issue))
    return frame.iloc[order]


def label_quality_summary(issues: LabelIssues) -> pd.DataFrame:
    """Per class: rows, flagged rows, the estimated noise rate and where flagged rows would go.

    Parameters
    ----------
    issues : LabelIssues

    Returns
    -------
    pandas.DataFrame
        Indexed by class plus a final ``"all"`` row (``"(all)"`` if a class is called ``all``):
        ``rows``, ``flagged``, ``flagged_share``,
        ``estimated_noise_rate`` (see :attr:`LabelIssues.noise_rate`; for ``"all"`` the
        row-weighted mean), ``threshold``, and ``suggested_<class>``: flagged rows per suggested class.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(300, n_features=5, class_sep=2.0, random_state=1)
    >>> summary = label_quality_summary(find_label_issues(pd.DataFrame(X).add_prefix("x"), pd.Series(y)))
    >>> list(summary.index), int(summary.loc["all", "rows"])
    ([0, 1, 'all'], 300)
    """
    ranked = issues.ranked
    given = ranked["given_label"]
    flagged = ranked[ranked["is_issue"]]
    names = pd.Index(issues.classes)
    rows = given.value_counts().reindex(names, fill_value=0)
    flagged_count = flagged["given_label"].value_counts().reindex(names, fill_value=0)
    frame = pd.DataFrame(
        {
            "rows": rows.astype(np.int64),
            "flagged": flagged_count.astype(np.int64),
            "flagged_share": flagged_count / rows.where(rows > 0),
            "estimated_noise_rate": issues.noise_rate.reindex(names),
            "threshold": issues.thresholds.reindex(names),
        },
        index=names,
    )
    moves = pd.crosstab(flagged["given_label"], flagged["suggested_label"]).reindex(
        index=names, columns=names, fill_value=0
    )
    for cls in names:
        frame[f"suggested_{cls}"] = moves[cls].astype(np.int64)
    total = frame.sum(numeric_only=True)
    total["flagged_share"] = total["flagged"] / total["rows"]
    total["estimated_noise_rate"] = float((frame["estimated_noise_rate"] * frame["rows"]).sum() / total["rows"])
    total["threshold"] = np.nan
    total_name = "all" if "all" not in names else "(all)"
    return pd.concat([frame, total.to_frame(total_name).T.astype(frame.dtypes.to_dict())])


# ----------------------------------------------------------------------------- annotation order


Uncertainty = Literal["margin", "entropy", "least_confident"]


def suggest_annotation_order(
    features_labeled: pd.DataFrame,
    labels: pd.Series,
    features_unlabeled: pd.DataFrame,
    *,
    model: BaseEstimator | None = None,
    strategy: Uncertainty = "margin",
    random_state: int = 0,
) -> pd.DataFrame:
    """Rank unlabeled rows so annotators label the most informative first (uncertainty sampling).

    A model fitted on the labelled rows scores the unlabeled ones; the rows it is least sure
    about come first, since their labels teach the next model the most.

    Parameters
    ----------
    features_labeled : pandas.DataFrame
    labels : pandas.Series
        Labels of ``features_labeled`` (no missing values).
    features_unlabeled : pandas.DataFrame
        Rows to rank, same columns as ``features_labeled``.
    model : sklearn classifier, optional
        Defaults to :func:`default_model` built from ``features_labeled``.
    strategy : {"margin", "entropy", "least_confident"}, default "margin"
        ``margin``: 1 minus the gap between the two most probable classes; ``entropy``:
        normalised to [0, 1]; ``least_confident``: 1 minus the top probability, rescaled to [0, 1].
    random_state : int, default 0

    Returns
    -------
    pandas.DataFrame
        Indexed like ``features_unlabeled``, most uncertain first: ``uncertainty`` in [0, 1],
        ``predicted_label``, ``confidence`` (its probability), then ``probability_<class>``.

    Raises
    ------
    InputError
        As :func:`find_label_issues` for the labelled part, plus ``labeling.columns_differ``
        and ``labeling.bad_strategy``.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [0.0, 0.1, 0.2, 0.8, 0.9, 1.0]})
    >>> y = pd.Series(["a", "a", "a", "b", "b", "b"])
    >>> order = suggest_annotation_order(X, y, pd.DataFrame({"x": [0.05, 0.5, 0.95]}, index=[10, 11, 12]))
    >>> int(order.index[0])
    11
    """
    if strategy not in get_args(Uncertainty):
        raise InputError("labeling.bad_strategy", strategy=str(strategy), allowed=", ".join(get_args(Uncertainty)))
    _check_frame(features_labeled)
    labels = _aligned_labels(features_labeled, labels)
    _check_target(labels, min_per_class=1)
    if not isinstance(features_unlabeled, pd.DataFrame):
        raise InputError("labeling.features_not_frame", kind=type(features_unlabeled).__name__)
    if list(features_unlabeled.columns) != list(features_labeled.columns):
        if set(features_unlabeled.columns) != set(features_labeled.columns):
            diff = set(features_unlabeled.columns) ^ set(features_labeled.columns)
            raise InputError("labeling.columns_differ", columns=", ".join(sorted(map(str, diff))))
        features_unlabeled = features_unlabeled[features_labeled.columns]
    if model is None:
        model = default_model(features_labeled, random_state=random_state)
    _check_model(model)
    y, classes = _encode(labels)
    columns = ["uncertainty", "predicted_label", "confidence", *(f"probability_{c}" for c in classes)]
    if len(features_unlabeled) == 0:
        return pd.DataFrame(columns=columns, index=features_unlabeled.index)
    fitted = clone(model).fit(features_labeled, y)
    probabilities = np.asarray(fitted.predict_proba(features_unlabeled), dtype=np.float64)
    uncertainty = _uncertainty(probabilities, strategy)
    names = np.empty(len(classes), dtype=object)
    names[:] = classes
    top = probabilities.argmax(axis=1)
    frame = pd.DataFrame(
        {"uncertainty": uncertainty, "predicted_label": names[top], "confidence": probabilities.max(axis=1)},
        index=features_unlabeled.index,
    )
    for j, cls in enumerate(classes):
        frame[f"probability_{cls}"] = probabilities[:, j]
    order = np.lexsort((np.arange(len(frame)), -uncertainty))
    return frame.iloc[order]


def _uncertainty(probabilities: Floats, strategy: str) -> Floats:
    k = probabilities.shape[1]
    if strategy == "entropy":
        p = np.clip(probabilities, 1e-15, 1.0)
        result: Floats = -(p * np.log(p)).sum(axis=1) / math.log(k)
    elif strategy == "least_confident":
        result = (1.0 - probabilities.max(axis=1)) * k / (k - 1)
    else:
        top_two = np.sort(probabilities, axis=1)[:, -2:]
        result = 1.0 - (top_two[:, 1] - top_two[:, 0])
    return np.clip(result, 0.0, 1.0)


# ----------------------------------------------------------------------------- decisions applied


def apply_label_decisions(
    frame: pd.DataFrame,
    *,
    target: str,
    decisions: Mapping[Hashable, LabelDecision],
    allowed_labels: tuple[Hashable, ...] = (),
) -> pd.DataFrame:
    """Return a new frame with reviewers' decisions applied; ``frame`` is never changed.

    ``keep`` and ``unsure`` change nothing, ``exclude`` drops the row, ``relabel`` sets the
    target. A new class must already occur in the target or be listed in ``allowed_labels``
    (a text form of a known class, such as ``"1"`` for ``1``, is accepted).

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset version under review (unique index).
    target : str
        Target column.
    decisions : mapping of row label to LabelDecision
    allowed_labels : tuple, optional
        Classes that may be introduced although no row has them yet.

    Returns
    -------
    pandas.DataFrame
        A copy with relabelled rows updated and excluded rows removed (the order is kept).

    Raises
    ------
    InputError
        ``labeling.no_target_column``, ``labeling.duplicate_index``, ``labeling.unknown_rows``,
        ``labeling.not_a_decision`` or ``labeling.unknown_class``.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "a"]})
    >>> new = apply_label_decisions(
    ...     df, target="y", decisions={0: LabelDecision("relabel", new_label="b"), 2: LabelDecision("exclude")}
    ... )
    >>> new["y"].tolist(), df["y"].tolist()
    (['b', 'b'], ['a', 'b', 'a'])
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError("labeling.features_not_frame", kind=type(frame).__name__)
    if target not in frame.columns:
        raise InputError("labeling.no_target_column", target=str(target))
    if not frame.index.is_unique:
        raise InputError("labeling.duplicate_index", count=int(frame.index.duplicated().sum()))
    unknown = [row for row in decisions if row not in frame.index]
    if unknown:
        raise InputError("labeling.unknown_rows", count=len(unknown), examples=", ".join(str(r) for r in unknown[:5]))
    column = frame[target]
    known = list(pd.unique(column.dropna())) + list(allowed_labels)
    if isinstance(column.dtype, pd.CategoricalDtype):
        known += list(column.cat.categories)
    excluded: list[Hashable] = []
    relabel: dict[Hashable, Hashable] = {}
    for row, decision in decisions.items():
        if not isinstance(decision, LabelDecision):
            raise InputError("labeling.not_a_decision", row=str(row), kind=type(decision).__name__)
        if decision.action == "exclude":
            excluded.append(row)
        elif decision.action == "relabel":
            relabel[row] = _known_class(decision.new_label, known)
    result = frame.copy()
    if relabel:
        rows, values = list(relabel), list(relabel.values())
        column = result[target]
        if isinstance(column.dtype, pd.CategoricalDtype):
            extra = [v for v in dict.fromkeys(values) if v not in column.cat.categories]
            column = column.cat.add_categories(extra) if extra else column.copy()
        elif not _fits_dtype(values, column.dtype):
            column = column.astype(object)
        else:
            column = column.copy()
        column.loc[rows] = values
        result[target] = column
    if excluded:
        result = result.drop(index=excluded)
    return result


def _known_class(value: Hashable, known: list[Hashable]) -> Hashable:
    for cls in known:
        if _same(cls, value):
            return cls
    as_text = str(value)
    for cls in known:
        if str(cls) == as_text:
            return cls
    raise InputError("labeling.unknown_class", label=as_text, known=", ".join(sorted({str(c) for c in known})) or "-")


def _same(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _fits_dtype(values: list[Hashable], dtype: Any) -> bool:
    """Whether ``values`` can go into a column of ``dtype`` without changing any of them."""
    original = pd.Series(values, dtype=object)
    try:
        converted = original.astype(dtype)
    except (TypeError, ValueError):
        return False
    return all(_same(x, y) for x, y in zip(original, converted.astype(object), strict=True))


def decision_agreement(
    decisions_by_reviewer: Mapping[str, Mapping[Hashable, LabelDecision]],
) -> pd.DataFrame:
    """Compare reviewers: for every row two or more people decided, do they agree?

    Decisions agree when the action and the new class are the same (comments are ignored).

    Parameters
    ----------
    decisions_by_reviewer : mapping of reviewer name to (mapping of row label to LabelDecision)

    Returns
    -------
    pandas.DataFrame
        One row per row label reviewed at least twice, disagreements first: ``n_reviewers``,
        ``agree``, ``consensus`` (the shared decision as :meth:`LabelDecision.describe`, or None)
        and one column per reviewer with their decision (None where they did not review the row).

    Raises
    ------
    InputError
        ``labeling.reviewer_name_reserved`` if a reviewer is named like a summary column;
        ``labeling.not_a_decision`` for a value that is not a :class:`LabelDecision`.

    Examples
    --------
    >>> table = decision_agreement({
    ...     "ana": {1: LabelDecision("keep"), 2: LabelDecision("exclude")},
    ...     "ben": {1: LabelDecision("keep"), 2: LabelDecision("relabel", new_label="yes")},
    ... })
    >>> table[["agree", "ana", "ben"]].to_dict("index")
    {2: {'agree': False, 'ana': 'exclude', 'ben': 'relabel:yes'}, 1: {'agree': True, 'ana': 'keep', 'ben': 'keep'}}
    """
    reviewers = sorted(decisions_by_reviewer)
    reserved = [name for name in reviewers if name in _AGREEMENT_COLUMNS]
    if reserved:
        raise InputError("labeling.reviewer_name_reserved", name=reserved[0])
    by_row: dict[Hashable, dict[str, LabelDecision]] = {}
    for reviewer in reviewers:
        for row, decision in decisions_by_reviewer[reviewer].items():
            if not isinstance(decision, LabelDecision):
                raise InputError("labeling.not_a_decision", row=str(row), kind=type(decision).__name__)
            by_row.setdefault(row, {})[reviewer] = decision
    records = []
    index = []
    for row, decided in by_row.items():
        if len(decided) < 2:
            continue
        described = {reviewer: decision.describe() for reviewer, decision in decided.items()}
        agree = len(set(described.values())) == 1
        record: dict[str, Any] = {
            "n_reviewers": len(decided),
            "agree": agree,
            "consensus": next(iter(described.values())) if agree else None,
        }
        record.update({reviewer: described.get(reviewer) for reviewer in reviewers})
        records.append(record)
        index.append(row)
    columns = [*_AGREEMENT_COLUMNS, *reviewers]
    table = pd.DataFrame(records, index=pd.Index(index, dtype=object), columns=columns)
    if table.empty:
        return table
    table["agree"] = table["agree"].astype(bool)
    table["n_reviewers"] = table["n_reviewers"].astype(np.int64)
    order = np.lexsort((np.arange(len(table)), table["agree"].to_numpy()))
    return table.iloc[order]


# ----------------------------------------------------------------------------- effect of decisions


def cv_metric_before_after(
    features: pd.DataFrame,
    labels_before: pd.Series,
    labels_after: pd.Series,
    *,
    model: BaseEstimator | None = None,
    cv: int = 5,
    random_state: int = 0,
    metric: str = "balanced_accuracy",
) -> tuple[float, float]:
    """Cross-validated score with the labels before and after review, same model and fold seed.

    ``labels_after`` may cover fewer rows (excluded rows); the matching rows of ``features``
    are used. Read the result with care: relabelling towards what a model predicts makes the
    labels easier to predict, so the "after" score is optimistic. A held-out set with trusted
    labels is the honest test of whether the review helped.

    Parameters
    ----------
    features : pandas.DataFrame
    labels_before, labels_after : pandas.Series
        Indexed like (a subset of) ``features``.
    model : sklearn classifier, optional
        Defaults to :func:`default_model`.
    cv : int, default 5
    random_state : int, default 0
    metric : str, default "balanced_accuracy"
        Any scikit-learn scorer name.

    Returns
    -------
    (float, float)
        Mean score over the folds, before and after.

    Raises
    ------
    InputError
        ``labeling.unknown_metric``, plus the checks of :func:`find_label_issues` on each label set.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(300, n_features=5, class_sep=2.0, random_state=2)
    >>> X, y = pd.DataFrame(X).add_prefix("x"), pd.Series(y)
    >>> noisy = y.copy()
    >>> noisy[:30] = 1 - noisy[:30]
    >>> before, after = cv_metric_before_after(X, noisy, y)
    >>> before < after
    True
    """
    if metric not in get_scorer_names():
        raise InputError("labeling.unknown_metric", metric=str(metric))
    _check_frame(features)
    scorer = get_scorer(metric)
    scores = []
    for labels in (labels_before, labels_after):
        if not isinstance(labels, pd.Series):
            raise InputError("labeling.labels_not_series", kind=type(labels).__name__)
        if not labels.index.isin(features.index).all() or not labels.index.is_unique:
            extra = int((~labels.index.isin(features.index)).sum())
            raise InputError(
                "labeling.index_mismatch", features=len(features), labels=len(labels), missing=0, extra=extra
            )
        rows = features.loc[labels.index]
        labels = _aligned_labels(rows, labels)
        _check_folds(cv, len(rows))
        _check_target(labels, min_per_class=cv)
        estimator = default_model(rows, random_state=random_state) if model is None else model
        _check_model(estimator)
        y, _ = _encode(labels)
        splitter = StratifiedKFold(cv, shuffle=True, random_state=random_state)
        scores.append(float(np.mean(cross_val_score(estimator, rows, y, cv=splitter, scoring=scorer))))
    return scores[0], scores[1]
