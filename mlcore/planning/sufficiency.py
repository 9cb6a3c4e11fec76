"""Evidence for "is there enough data?": what the data holds, learning curves, and a trivial baseline.

:func:`learning_curve_study` trains the same model on growing shares of the data and says, in
plain words, whether more data still helps; it also estimates the rows needed to reach the
canvas threshold from a fitted inverse power law. :func:`baseline_comparison` checks that the
threshold is worth reaching: better than a model that ignores the inputs and than today's process.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from joblib import Parallel, delayed
from scipy.optimize import OptimizeWarning, curve_fit
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import get_scorer
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from mlcore.i18n import translate
from mlcore.planning.canvas import (
    METRICS,
    TASK_TYPES,
    PlanningInputError,
    _check_metric_value,
    metric_direction,
)

__all__ = [
    "DEFAULT_FRACTIONS",
    "FIGURE_LABELS",
    "MAX_CATEGORIES",
    "MIN_ROWS",
    "BaselineComparison",
    "DataAvailability",
    "Finding",
    "PowerLawFit",
    "RowsNeeded",
    "SufficiencyStudy",
    "baseline_comparison",
    "data_availability",
    "default_estimator",
    "figure_labels",
    "fit_power_law",
    "learning_curve_figure",
    "learning_curve_study",
    "rows_needed",
]

Floats = npt.NDArray[np.float64]
Progress = Callable[[float, str], None]

MIN_ROWS = 50
"""Fewest labelled rows a learning curve is computed on: below this, every point is noise."""

DEFAULT_FRACTIONS: tuple[float, ...] = (0.1, 0.2, 0.4, 0.6, 0.8, 1.0)
MAX_CATEGORIES = 50
"""Text columns with at most this many distinct values are categories; longer ones (free text, ids) are left out."""

MAX_FOLDS = 20
EXTRAPOLATION_WARNING = 10.0
"""A rows-needed estimate beyond this many times the rows studied is flagged as a long extrapolation."""

# Data-availability rules of thumb (each becomes a Finding when it applies).
FEW_ROWS = 1000
RARE_CLASS_ROWS = 200
MOSTLY_MISSING = 0.30
SHORT_HISTORY_DAYS = 365

_SCORERS: dict[str, tuple[str, str, float]] = {
    # metric: (scorer for two classes or regression, scorer for more classes, sign to natural units)
    "recall": ("recall", "recall_macro", 1.0),
    "precision": ("precision", "precision_macro", 1.0),
    "f1": ("f1", "f1_macro", 1.0),
    "roc_auc": ("roc_auc", "roc_auc_ovr", 1.0),
    "average_precision": ("average_precision", "average_precision", 1.0),
    "accuracy": ("accuracy", "accuracy", 1.0),
    "balanced_accuracy": ("balanced_accuracy", "balanced_accuracy", 1.0),
    "mae": ("neg_mean_absolute_error", "", -1.0),
    "rmse": ("neg_root_mean_squared_error", "", -1.0),
    "r2": ("r2", "", 1.0),
    "mape": ("neg_mean_absolute_percentage_error", "", -1.0),
}
_BEST_POSSIBLE = {"mae": 0.0, "rmse": 0.0, "mape": 0.0}  # others: 1.0


@dataclass(frozen=True)
class Finding:
    """Something worth telling the team, as a catalog key and the parameters its message needs."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        """The finding in ``lang``."""
        return translate(self.key, lang, **self.params)


# ----------------------------------------------------------------------------- data availability


@dataclass(frozen=True)
class DataAvailability:
    """What the data holds for the chosen target.

    Attributes
    ----------
    rows, columns : int
        Size of the frame (columns include the target).
    labelled_rows : int
        Rows whose target is filled in.
    rows_per_class : tuple of (str, int)
        Classification only: labelled rows per class, most frequent first.
    minority_share : float or None
        Classification only: share of the rarest class among labelled rows.
    missing_share : float
        Share of missing cells over all columns but the target.
    missing_by_column : tuple of (str, float)
        The (at most 10) columns with the most missing values, share > 0, worst first.
    date_min, date_max : datetime or None
        First and last date in ``date_column``; ``date_span_days`` the days between them.
    findings : tuple of Finding
        Rules of thumb that apply (few rows, a rare class, unlabelled rows, mostly empty
        columns, less than a year of history).
    """

    target: str
    task_type: str
    rows: int
    columns: int
    labelled_rows: int
    rows_per_class: tuple[tuple[str, int], ...]
    minority_share: float | None
    missing_share: float
    missing_by_column: tuple[tuple[str, float], ...]
    date_column: str | None
    date_min: datetime | None
    date_max: datetime | None
    date_span_days: float | None
    findings: tuple[Finding, ...]


def _check_task(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise PlanningInputError("planning.task_unknown", value=str(task_type)[:40], choices=", ".join(TASK_TYPES))


def data_availability(
    df: pd.DataFrame, *, target: str, task_type: str, date_column: str | None = None
) -> DataAvailability:
    """Summarise how much usable data there is for ``target``.

    Parameters
    ----------
    df : pandas.DataFrame
        The dataset.
    target : str
        The column to predict.
    task_type : {"classification", "regression"}
    date_column : str, optional
        A datetime column whose coverage (first, last date, span) is reported.

    Returns
    -------
    DataAvailability

    Raises
    ------
    PlanningInputError
        ``planning.availability.target_not_a_column``, ``planning.availability.date_not_a_column``,
        ``planning.availability.not_dates`` (the date column does not hold dates),
        ``planning.task_unknown``.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "y": ["a", "b", "a", None]})
    >>> summary = data_availability(df, target="y", task_type="classification")
    >>> summary.labelled_rows, summary.rows_per_class, summary.missing_share
    (3, (('a', 2), ('b', 1)), 0.25)
    """
    _check_task(task_type)
    if target not in df.columns:
        raise PlanningInputError("planning.availability.target_not_a_column", column=str(target)[:80])
    labelled = df[target].notna()
    n_labelled = int(labelled.sum())
    findings: list[Finding] = []
    if n_labelled < FEW_ROWS:
        findings.append(Finding("planning.availability.few_rows", {"rows": n_labelled, "minimum": FEW_ROWS}))
    if n_labelled < len(df):
        findings.append(Finding("planning.availability.unlabelled_rows", {"rows": len(df) - n_labelled}))

    per_class: tuple[tuple[str, int], ...] = ()
    minority: float | None = None
    if task_type == "classification" and n_labelled:
        counts = df.loc[labelled, target].astype(str).value_counts(sort=False)
        ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        per_class = tuple((str(k), int(v)) for k, v in ordered)
        minority = per_class[-1][1] / n_labelled
        if per_class[-1][1] < RARE_CLASS_ROWS:
            findings.append(
                Finding(
                    "planning.availability.rare_class",
                    {"label": per_class[-1][0], "rows": per_class[-1][1], "minimum": RARE_CLASS_ROWS},
                )
            )

    features = df.drop(columns=[target])
    if features.shape[1] and len(df):
        shares = features.isna().mean()
        missing_share = float(features.isna().to_numpy().mean())
    else:
        shares = pd.Series(dtype=float)
        missing_share = 0.0
    worst = shares[shares > 0].sort_values(ascending=False, kind="stable").head(10)
    mostly_empty = [str(c) for c, s in shares.items() if s > MOSTLY_MISSING]
    if mostly_empty:
        findings.append(
            Finding(
                "planning.availability.mostly_missing_columns",
                {"columns": ", ".join(mostly_empty[:10]), "count": len(mostly_empty), "share": MOSTLY_MISSING},
            )
        )

    date_min = date_max = None
    span: float | None = None
    if date_column is not None:
        if date_column not in df.columns:
            raise PlanningInputError("planning.availability.date_not_a_column", column=str(date_column)[:80])
        if not pd.api.types.is_datetime64_any_dtype(df[date_column]):
            raise PlanningInputError("planning.availability.not_dates", column=str(date_column)[:80])
        dates = df[date_column].dropna()
        if len(dates):
            first, last = dates.min(), dates.max()
            date_min, date_max = first.to_pydatetime(), last.to_pydatetime()
            span = (last - first).total_seconds() / 86400.0
            if span < SHORT_HISTORY_DAYS:
                findings.append(
                    Finding("planning.availability.short_history", {"days": round(span), "minimum": SHORT_HISTORY_DAYS})
                )
    return DataAvailability(
        target=str(target),
        task_type=task_type,
        rows=len(df),
        columns=df.shape[1],
        labelled_rows=n_labelled,
        rows_per_class=per_class,
        minority_share=minority,
        missing_share=missing_share,
        missing_by_column=tuple((str(c), float(s)) for c, s in worst.items()),
        date_column=date_column,
        date_min=date_min,
        date_max=date_max,
        date_span_days=span,
        findings=tuple(findings),
    )


# ----------------------------------------------------------------------------- default model


def default_estimator(X: pd.DataFrame | npt.ArrayLike, *, task_type: str, random_state: int = 0) -> BaseEstimator:
    """The model the sufficiency study uses unless told otherwise: fast, robust, no tuning needed.

    Histogram gradient boosting (100 trees, no early stopping so that every training size
    gets the same model) on:

    * numeric and yes/no columns as they are (missing values are handled natively);
    * text/category columns with at most :data:`MAX_CATEGORIES` distinct values, ordinal-encoded
      and treated as categories (unseen and missing values become "missing");
    * nothing else: dates, free text and identifiers are left out (a learning curve asks how
      the amount of data matters, not how to engineer features).

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        The inputs (only their column types and distinct counts are looked at, never the target).
    task_type : {"classification", "regression"}
    random_state : int

    Returns
    -------
    sklearn.pipeline.Pipeline
        Or the bare gradient-boosting model when ``X`` is an array (every column numeric).

    Examples
    --------
    >>> X = pd.DataFrame({"n": [1.0, 2.0], "c": ["a", "b"], "when": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    >>> model = default_estimator(X, task_type="classification")
    >>> model.named_steps["prepare"].transformers[0][2], model.named_steps["prepare"].transformers[1][2]
    (['n'], ['c'])
    """
    _check_task(task_type)
    model_class = HistGradientBoostingClassifier if task_type == "classification" else HistGradientBoostingRegressor
    if not isinstance(X, pd.DataFrame):
        return model_class(early_stopping=False, random_state=random_state)
    numeric = [c for c in X.columns if pd.api.types.is_bool_dtype(X[c]) or (pd.api.types.is_numeric_dtype(X[c]))]
    categorical = [
        c
        for c in X.columns
        if c not in numeric
        and not pd.api.types.is_datetime64_any_dtype(X[c])
        and not isinstance(X[c].dtype, pd.PeriodDtype | pd.IntervalDtype)
        and X[c].nunique(dropna=True) <= MAX_CATEGORIES
    ]
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, encoded_missing_value=np.nan, dtype=np.float64
    )
    prepare = ColumnTransformer(
        [("numeric", "passthrough", numeric), ("categorical", encoder, categorical)],
        remainder="drop",
        sparse_threshold=0.0,
    )
    mask = [False] * len(numeric) + [True] * len(categorical)
    model = model_class(
        categorical_features=mask if any(mask) else None, early_stopping=False, random_state=random_state
    )
    return Pipeline([("prepare", prepare), ("model", model)])


# ----------------------------------------------------------------------------- power-law fit


@dataclass(frozen=True)
class PowerLawFit:
    """An inverse power law fitted to a learning curve.

    In "goodness" units ``g`` (the score for metrics where higher is better, minus the score
    for error metrics): ``g(n) = a - b * (n / n_ref) ** -c``. So ``b`` is the distance to the
    asymptote ``a`` at ``n_ref`` rows (the largest size studied) and ``c`` how fast it shrinks.

    Attributes
    ----------
    a, b, c : float
    n_ref : float
    cov : tuple of tuple of float
        3×3 covariance of (a, b, c), inflated by the lack of fit when the curve does not
        follow a power law closely.
    higher_is_better : bool
    a_max : float
        Upper bound of ``a`` (the metric's best possible value in goodness units; ``inf`` if none).
    """

    a: float
    b: float
    c: float
    n_ref: float
    cov: tuple[tuple[float, ...], ...]
    higher_is_better: bool
    a_max: float = math.inf

    @property
    def asymptote(self) -> float:
        """The score the curve approaches with unlimited data, in the metric's units."""
        return self.a if self.higher_is_better else -self.a

    def predict(self, n: npt.ArrayLike) -> Floats:
        """The fitted score at ``n`` training rows, in the metric's units."""
        g = self.a - self.b * (np.asarray(n, dtype=float) / self.n_ref) ** (-self.c)
        return np.asarray(g if self.higher_is_better else -g, dtype=np.float64)


def _power_law(x: Floats, a: float, b: float, c: float) -> Floats:
    return np.asarray(a - b * np.power(x, -c), dtype=np.float64)


def fit_power_law(
    train_sizes: Sequence[int] | npt.ArrayLike,
    scores: Sequence[float] | npt.ArrayLike,
    *,
    score_std: Sequence[float] | npt.ArrayLike | None = None,
    higher_is_better: bool = True,
    best_possible: float | None = None,
) -> PowerLawFit | None:
    """Fit ``score(n) = a - b * n^(-c)`` (or ``a + b * n^(-c)`` for errors) with bounds.

    Parameters
    ----------
    train_sizes, scores : array-like
        Mean score per training size (at least four sizes).
    score_std : array-like, optional
        Uncertainty of each mean (for example the standard error over folds); points with
        a smaller uncertainty weigh more.
    higher_is_better : bool
        ``False`` for error metrics.
    best_possible : float, optional
        The best value the metric can take (1 for rates, 0 for errors): the asymptote cannot
        pass it.

    Returns
    -------
    PowerLawFit or None
        ``None`` if there are fewer than four sizes or the fit does not converge.

    Examples
    --------
    >>> n = np.array([100, 200, 400, 800, 1600])
    >>> fit = fit_power_law(n, 0.9 - 2.0 * n ** -0.5, best_possible=1.0)
    >>> round(fit.asymptote, 3), round(fit.c, 2)
    (0.9, 0.5)
    """
    sizes = np.asarray(train_sizes, dtype=float)
    values = np.asarray(scores, dtype=float)
    if sizes.ndim != 1 or sizes.shape != values.shape or len(sizes) < 4 or not np.all(np.isfinite(values)):
        return None
    g = values if higher_is_better else -values
    n_ref = float(sizes.max())
    x = sizes / n_ref
    spread = float(np.ptp(g))
    scale = max(spread, 1e-6 * max(1.0, float(np.abs(g).max())))
    if score_std is not None:
        sigma = np.asarray(score_std, dtype=float)
        floor = max(0.1 * float(np.median(sigma[sigma > 0])) if np.any(sigma > 0) else 0.0, 1e-3 * scale)
        sigma = np.where(np.isfinite(sigma), np.maximum(sigma, floor), floor)
    else:
        sigma = np.full_like(g, 1e-2 * scale)
    upper_a = np.inf
    if best_possible is not None:
        upper_a = best_possible if higher_is_better else -best_possible
    g_last = float(g[np.argmax(sizes)])
    a0 = min(g_last + 0.5 * max(spread, 1e-3 * scale), upper_a - 1e-9) if np.isfinite(upper_a) else g_last + spread
    a0 = max(a0, g_last)
    p0 = (a0, max(a0 - g_last, 1e-6 * scale), 0.5)
    bounds = ([-np.inf, 0.0, 0.01], [upper_a, np.inf, 3.0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            params, cov = curve_fit(
                _power_law, x, g, p0=p0, sigma=sigma, absolute_sigma=True, bounds=bounds, maxfev=5000
            )
    except (RuntimeError, ValueError):
        return None
    residuals = (g - _power_law(x, *params)) / sigma
    dof = len(g) - 3
    chi2 = float(residuals @ residuals) / dof
    cov = cov * max(1.0, chi2)
    a, b, c = (float(v) for v in params)
    return PowerLawFit(
        a=a,
        b=b,
        c=c,
        n_ref=n_ref,
        cov=tuple(tuple(float(v) for v in row) for row in cov),
        higher_is_better=higher_is_better,
        a_max=float(upper_a),
    )


RowsStatus = Literal["reached", "estimated", "far", "unreachable", "no_fit"]


@dataclass(frozen=True)
class RowsNeeded:
    """How many training rows the fitted curve says are needed to reach a threshold.

    Attributes
    ----------
    status : {"reached", "estimated", "far", "unreachable", "no_fit"}
        ``reached``: the largest size studied already meets the threshold (``rows`` is the
        smallest studied size that does). ``estimated``: ``rows`` is the fitted estimate.
        ``far``: the estimate is more than :data:`EXTRAPOLATION_WARNING` times the rows
        studied, too long an extrapolation to give a number (``rows`` is ``None``).
        ``unreachable``: the fitted asymptote does not reach the threshold (or most curves
        compatible with the data do not): more data alone will not do (a better model,
        better features or better labels might). ``no_fit``: the curve could not be fitted.
    rows : int or None
        The median estimate (see :func:`rows_needed`).
    low, high : int or None
        An 80% interval from sampling the fit's parameters; ``high`` is ``None`` when more
        than 10% of the samples never reach the threshold (no upper bound).
    threshold : float
    asymptote : float or None
        The fitted score with unlimited data.
    studied_rows : int or None
        The largest training size studied.
    """

    status: RowsStatus
    rows: int | None
    low: int | None
    high: int | None
    threshold: float
    asymptote: float | None = None
    studied_rows: int | None = None

    @property
    def key(self) -> str:
        """Catalog key of the plain-words explanation (``planning.rows_needed.<status>``;
        ``estimated_open`` when the interval has no upper bound)."""
        if self.status == "estimated" and self.high is None:
            return "planning.rows_needed.estimated_open"
        return f"planning.rows_needed.{self.status}"

    @property
    def params(self) -> dict[str, Any]:
        """Parameters for the explanation: rows, low, high, threshold, asymptote, factor, limit."""
        nan = float("nan")
        factor = self.rows / self.studied_rows if self.rows is not None and self.studied_rows else nan
        return {
            "rows": self.rows if self.rows is not None else nan,
            "low": self.low if self.low is not None else nan,
            "high": self.high if self.high is not None else nan,
            "threshold": self.threshold,
            "asymptote": self.asymptote if self.asymptote is not None else nan,
            "factor": round(factor, 1),
            "limit": EXTRAPOLATION_WARNING,
        }


def _rows_for(a: Floats, b: Floats, c: Floats, target: float, n_ref: float) -> Floats:
    """Rows where ``a - b (n/n_ref)^-c`` reaches ``target`` (inf where it never does)."""
    gap = a - target
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        rows = n_ref * np.power(np.where(gap > 0, b / np.where(gap > 0, gap, 1.0), np.inf), 1.0 / c)
    return np.asarray(np.where((gap > 0) & np.isfinite(rows), np.maximum(rows, 1.0), np.inf), dtype=np.float64)


def rows_needed(
    fit: PowerLawFit | None,
    threshold: float,
    *,
    observed_sizes: Sequence[int] = (),
    observed_scores: Sequence[float] = (),
    metric: str | None = None,
    n_samples: int = 2000,
    random_state: int = 0,
) -> RowsNeeded:
    """Estimate the training rows needed for the fitted curve to reach ``threshold``.

    The estimate is the median over curves drawn from the fit's uncertainty (parameters
    sampled from its covariance and kept within its bounds), with the 10th and 90th
    percentiles as an 80% interval; if more than half of the drawn curves never reach the
    threshold, it is ``"unreachable"``. Without a usable covariance, the best fit's own
    estimate is given, with no interval.

    Parameters
    ----------
    fit : PowerLawFit or None
        From :func:`fit_power_law`.
    threshold : float
        In the metric's units.
    observed_sizes, observed_scores : sequence
        The studied sizes and mean scores: if one already meets the threshold the status is
        ``"reached"`` whatever the fit says.

    metric : str, optional
        Needed with ``observed_scores`` to know the metric's direction (defaults to the fit's).
    n_samples : int
        Parameter draws (from the fit's covariance) for the 80% interval.
    random_state : int

    Examples
    --------
    >>> n = np.array([100, 200, 400, 800, 1600])
    >>> fit = fit_power_law(n, 0.9 - 2.0 * n ** -0.5)
    >>> estimate = rows_needed(fit, 0.88)
    >>> estimate.status, round(estimate.rows, -3)
    ('estimated', 10000)
    >>> rows_needed(fit, 0.95).status
    'unreachable'
    """
    higher = fit.higher_is_better if fit is not None else metric is None or metric_direction(metric) == "higher"
    if metric is not None:
        higher = metric_direction(metric) == "higher"
    met = [
        int(n)
        for n, s in zip(observed_sizes, observed_scores, strict=True)
        if not math.isnan(s) and (s >= threshold if higher else s <= threshold)
    ]
    studied = int(max(observed_sizes)) if len(observed_sizes) else None
    asymptote = fit.asymptote if fit is not None else None
    if met:
        return RowsNeeded("reached", min(met), None, None, threshold, asymptote, studied)
    if fit is None:
        return RowsNeeded("no_fit", None, None, None, threshold, None, studied)
    studied = studied or int(fit.n_ref)
    target = threshold if fit.higher_is_better else -threshold
    point = float(_rows_for(np.array([fit.a]), np.array([fit.b]), np.array([fit.c]), target, fit.n_ref)[0])
    if not np.isfinite(point):
        return RowsNeeded("unreachable", None, None, None, threshold, asymptote, studied)
    low = high = None
    cov = np.asarray(fit.cov)
    if np.all(np.isfinite(cov)):
        rng = np.random.default_rng(random_state)
        draws = rng.multivariate_normal([fit.a, fit.b, fit.c], cov, size=n_samples, method="eigh")
        # Draws outside the fit's bounds describe impossible curves: clip them to the bounds.
        a = np.minimum(draws[:, 0], fit.a_max)
        b = np.maximum(draws[:, 1], 0.0)
        c = np.clip(draws[:, 2], 0.01, 3.0)
        sampled = _rows_for(a, b, c, target, fit.n_ref)
        # "lower"/"higher" pick sample values: interpolating between infinite draws is undefined.
        lo, mid = (float(np.quantile(sampled, q, method="lower")) for q in (0.1, 0.5))
        hi = float(np.quantile(sampled, 0.9, method="higher"))
        if not np.isfinite(mid):
            # Most plausible curves never get there, even if the single best fit does.
            return RowsNeeded("unreachable", None, None, None, threshold, asymptote, studied)
        point = mid
        low = int(round(lo))
        high = int(round(hi)) if np.isfinite(hi) else None
    if point > EXTRAPOLATION_WARNING * fit.n_ref:
        return RowsNeeded("far", None, None, None, threshold, asymptote, studied)
    return RowsNeeded("estimated", int(round(point)), low, high, threshold, asymptote, studied)


# ----------------------------------------------------------------------------- learning curves

Verdict = Literal["more_data_helps", "small_gains", "levelled_off", "too_noisy"]


@dataclass(frozen=True)
class SufficiencyStudy:
    """A learning curve and what it says about the amount of data.

    Scores are in the metric's own units (an MAE is positive, lower is better).

    Attributes
    ----------
    train_sizes : tuple of int
        Training rows at each point.
    fold_scores : tuple of tuple of float
        Validation score per size (outer) and fold (inner).
    val_mean, val_std, train_mean, train_std : tuple of float
        Mean and standard deviation over folds, on the validation folds and on the rows
        trained on (a large train/validation gap means the model would profit from more data).
    gain_per_doubling, gain_se : float
        How much the validation score improves per doubling of the data over the upper half
        of the curve, in the metric's units with improvement positive, and its standard error.
    min_gain : float
        The smallest gain per doubling worth collecting data for.
    verdict : {"more_data_helps", "small_gains", "levelled_off", "too_noisy"}
        See :func:`learning_curve_study` for the rule.
    fit : PowerLawFit or None
    rows_needed : RowsNeeded or None
        Only when a threshold was given.
    """

    task_type: str
    metric: str
    direction: str
    n_rows: int
    cv: int
    estimator: str
    classes: tuple[str, ...]
    positive_class: str | None
    fractions: tuple[float, ...]
    train_sizes: tuple[int, ...]
    fold_scores: tuple[tuple[float, ...], ...]
    val_mean: tuple[float, ...]
    val_std: tuple[float, ...]
    train_mean: tuple[float, ...]
    train_std: tuple[float, ...]
    gain_per_doubling: float
    gain_se: float
    min_gain: float
    verdict: Verdict
    threshold: float | None
    fit: PowerLawFit | None
    rows_needed: RowsNeeded | None

    @property
    def verdict_key(self) -> str:
        """Catalog key of the verdict in plain words (``planning.verdict.<verdict>``)."""
        return f"planning.verdict.{self.verdict}"

    @property
    def verdict_params(self) -> dict[str, Any]:
        """Parameters for the verdict's message: ``gain``, ``noise`` (2 × standard error), ``min_gain``."""
        return {
            "gain": _significant(self.gain_per_doubling),
            "noise": _significant(2 * self.gain_se),
            "min_gain": _significant(self.min_gain),
        }


def _significant(value: float, digits: int = 2) -> float:
    """Round to ``digits`` significant digits: message numbers should not pretend to more precision."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def _check_metric(task_type: str, metric: str) -> None:
    _check_task(task_type)
    if metric not in _SCORERS:
        raise PlanningInputError("planning.metric_unknown", metric=str(metric)[:40], metrics=", ".join(_SCORERS))
    if metric not in METRICS[task_type]:
        raise PlanningInputError(
            "planning.canvas.metric_task_mismatch",
            field="metric",
            metric=metric,
            task_type=task_type,
            metrics=", ".join(METRICS[task_type]),
        )


def _encode_target(
    y: Any, *, task_type: str, metric: str, cv: int, n_rows: int
) -> tuple[npt.NDArray[Any], tuple[str, ...], str | None]:
    """Validate ``y``; for classification return class codes with the positive class coded 1."""
    values = y.reset_index(drop=True) if isinstance(y, pd.Series) else pd.Series(np.asarray(y).ravel())
    if len(values) != n_rows:
        raise PlanningInputError("planning.study.length_mismatch", rows=n_rows, labels=len(values))
    missing = int(values.isna().sum())
    if missing:
        raise PlanningInputError("planning.study.target_missing_values", rows=missing)
    if n_rows < MIN_ROWS:
        raise PlanningInputError("planning.study.too_few_rows", rows=n_rows, minimum=MIN_ROWS)
    if task_type == "regression":
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise PlanningInputError("planning.study.target_not_numeric")
        numbers = values.to_numpy(dtype=float)
        if np.ptp(numbers) == 0:
            raise PlanningInputError("planning.study.constant_target", value=float(numbers[0]))
        if metric == "mape" and np.any(np.abs(numbers) < 1e-12):
            raise PlanningInputError("planning.study.mape_with_zeros")
        return numbers, (), None
    labels, codes = np.unique(values.to_numpy(), return_inverse=True)
    counts = np.bincount(codes)
    if len(labels) < 2:
        raise PlanningInputError("planning.study.single_class", label=str(labels[0])[:40])
    smallest = int(np.argmin(counts))
    if counts[smallest] < cv:
        raise PlanningInputError(
            "planning.study.class_too_small", label=str(labels[smallest])[:40], rows=int(counts[smallest]), folds=cv
        )
    positive: str | None = None
    if len(labels) == 2:
        # The positive class is 1 / True when present, otherwise the rarer class.
        names = [str(v) for v in labels]
        pos = next((i for i, v in enumerate(labels) if v is True or v == 1), None)
        if pos is None:
            pos = 0 if counts[0] < counts[1] else 1
        positive = names[pos]
        codes = (codes == pos).astype(np.int64)
        classes = (names[1 - pos], names[pos])
        return codes, classes, positive
    return codes.astype(np.int64), tuple(str(v) for v in labels), None


def _nested_order(train: npt.NDArray[np.intp], codes: npt.NDArray[Any] | None, seed: int) -> npt.NDArray[np.intp]:
    """Order a training fold so that every prefix is a random, class-balanced subsample of it.

    Prefixes are nested (each size adds rows to the previous one, as in a real data
    collection), every class appears among the first ``n_classes`` rows, and a prefix of size
    m holds about ``m × share`` rows of each class.
    """
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(train)
    if codes is None:
        return shuffled
    fold_codes = codes[shuffled]
    rank = np.empty(len(shuffled))
    firsts = []
    for label in np.unique(fold_codes):
        where = np.flatnonzero(fold_codes == label)
        rank[where] = (np.arange(len(where)) + rng.uniform()) / len(where)
        firsts.append(where[0])
    rank[firsts] = -1.0
    return shuffled[np.argsort(rank, kind="stable")]


def _take(X: Any, rows: npt.NDArray[np.intp]) -> Any:
    return X.iloc[rows] if isinstance(X, pd.DataFrame | pd.Series) else X[rows]


def _fit_and_score(
    estimator: BaseEstimator,
    X: Any,
    codes: npt.NDArray[Any],
    train: npt.NDArray[np.intp],
    test: npt.NDArray[np.intp],
    scorer: Any,
    sign: float,
) -> tuple[float, float]:
    model = clone(estimator)
    X_train, y_train = _take(X, train), codes[train]
    model.fit(X_train, y_train)
    return sign * float(scorer(model, _take(X, test), codes[test])), sign * float(scorer(model, X_train, y_train))


def _min_gain(metric: str, current: float) -> float:
    """Smallest worthwhile gain per doubling: 0.01 for rates and R², 1% of the current error otherwise."""
    if metric_direction(metric) == "lower":
        return max(0.01 * abs(current), 1e-12)
    return 0.01


def _verdict(sizes: Sequence[int], folds: Floats, *, metric: str) -> tuple[Verdict, float, float, float]:
    """Apply the verdict rule to validation scores ``folds`` (sizes × folds), in natural units."""
    sign = 1.0 if metric_direction(metric) == "higher" else -1.0
    n = np.asarray(sizes, dtype=float)
    upper = n >= n.max() / 2
    if upper.sum() < 2:
        upper[-2:] = True
    x = np.log2(n[upper])
    g = sign * folds[upper]  # goodness: improvement is positive
    xc = x - x.mean()
    slopes = (xc @ (g - g.mean(axis=0))) / (xc @ xc)
    gain = float(slopes.mean())
    se = float(slopes.std(ddof=1) / math.sqrt(len(slopes))) if len(slopes) > 1 else float("inf")
    min_gain = _min_gain(metric, float(folds[-1].mean()))
    verdict: Verdict
    if gain >= min_gain and gain - 2 * se > 0:
        verdict = "more_data_helps"
    elif gain + 2 * se < min_gain:
        verdict = "levelled_off"
    elif 2 * se >= min_gain:
        verdict = "too_noisy"
    else:
        verdict = "small_gains"
    return verdict, gain, se, min_gain


def _estimator_name(estimator: BaseEstimator) -> str:
    final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
    return type(final).__name__


def learning_curve_study(
    X: pd.DataFrame | npt.ArrayLike,
    y: pd.Series | npt.ArrayLike,
    *,
    task_type: str,
    metric: str,
    estimator: BaseEstimator | None = None,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    cv: int = 5,
    threshold: float | None = None,
    random_state: int = 0,
    n_jobs: int | None = None,
    progress: Progress | None = None,
) -> SufficiencyStudy:
    """Train on growing shares of the data with cross-validation and say whether more data helps.

    For each of ``cv`` folds (stratified for classification) the training part is ordered so
    that its prefixes are nested random subsamples (class-balanced for classification); the
    model is trained on the first ``fraction × n_train`` rows for each fraction and scored on
    the fold's held-out part, and on the rows it trained on. This is the computation of
    :func:`sklearn.model_selection.learning_curve`, with stratified nested subsets and
    progress reports.

    **Verdict rule.** Over the upper half of the curve (sizes at least half the largest), the
    validation score is regressed on log2(training rows) in each fold: the slope is the gain
    per doubling of the data. With ``gain`` its mean over folds and ``se`` its standard error,
    and ``min_gain`` the smallest gain worth collecting data for (0.01 for rates and R²,
    1% of the current error for MAE, RMSE and MAPE):

    * ``more_data_helps`` if ``gain ≥ min_gain`` and ``gain − 2·se > 0`` (clearly rising, by
      enough to be worth it);
    * ``levelled_off`` if ``gain + 2·se < min_gain`` (confidently below what is worth it);
    * ``too_noisy`` if neither holds and ``2·se ≥ min_gain``: the folds disagree by as much as
      the smallest gain worth having, so the curve cannot tell;
    * ``small_gains`` otherwise: the gain is measured well enough and sits around ``min_gain``
      (more data helps a little; whether it is worth collecting depends on its cost).

    Parameters
    ----------
    X : pandas.DataFrame or array-like
        Inputs, one row per example.
    y : pandas.Series or array-like
        Target, no missing values.
    task_type : {"classification", "regression"}
    metric : str
        One of :data:`mlcore.planning.canvas.METRICS` for the task.
    estimator : sklearn estimator, optional
        Defaults to :func:`default_estimator`.
    fractions : sequence of float
        Shares of the training folds to train on, in (0, 1], at least two.
    cv : int
        Number of folds (2 to 20).
    threshold : float, optional
        The canvas threshold: if given, :attr:`SufficiencyStudy.rows_needed` estimates the
        training rows needed to reach it from a fitted inverse power law (:func:`fit_power_law`).
    random_state : int
        Seeds the folds, the subsamples and the default model.
    n_jobs : int, optional
        Fits run in parallel (as in scikit-learn).
    progress : callable, optional
        ``progress(share_done, key)`` after each fit, with ``key`` a catalog key naming the step.

    Returns
    -------
    SufficiencyStudy

    Raises
    ------
    PlanningInputError
        ``planning.study.too_few_rows`` (fewer than :data:`MIN_ROWS`),
        ``planning.study.single_class``, ``planning.study.class_too_small`` (a class has fewer
        rows than folds), ``planning.study.target_missing_values``, ``planning.metric_unknown``,
        ``planning.canvas.metric_task_mismatch``, ``planning.study.bad_folds``,
        ``planning.study.bad_fractions``, ``planning.study.mape_with_zeros``, and the
        canvas's threshold range errors.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(300, random_state=0)
    >>> study = learning_curve_study(X, y, task_type="classification", metric="roc_auc",
    ...                              estimator=LogisticRegression(), cv=3)
    >>> study.train_sizes
    (20, 40, 80, 120, 160, 200)
    >>> study.verdict in ("more_data_helps", "small_gains", "levelled_off", "too_noisy")
    True
    """
    _check_metric(task_type, metric)
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or not 2 <= cv <= MAX_FOLDS:
        raise PlanningInputError("planning.study.bad_folds", value=str(cv)[:20], maximum=MAX_FOLDS)
    shares = sorted({float(f) for f in fractions})
    if len(shares) < 2 or shares[0] <= 0 or shares[-1] > 1:
        raise PlanningInputError("planning.study.bad_fractions")
    if threshold is not None:
        _check_metric_value(metric, float(threshold), field="threshold", strictly_positive_error=True)
    if not isinstance(X, pd.DataFrame):
        X = np.asarray(X)
        if X.ndim != 2:
            raise PlanningInputError("planning.study.not_a_table")
    n_rows = X.shape[0]
    codes, classes, positive = _encode_target(y, task_type=task_type, metric=metric, cv=cv, n_rows=n_rows)
    classification = task_type == "classification"
    if estimator is None:
        estimator = default_estimator(X, task_type=task_type, random_state=random_state)
    scorer_name = _SCORERS[metric][0 if not classification or len(classes) == 2 else 1]
    scorer = get_scorer(scorer_name)
    sign = _SCORERS[metric][2]

    splitter = (
        StratifiedKFold(cv, shuffle=True, random_state=random_state)
        if classification
        else KFold(cv, shuffle=True, random_state=random_state)
    )
    folds = list(splitter.split(np.zeros((n_rows, 1)), codes if classification else None))
    n_train = min(len(train) for train, _ in folds)
    smallest = 2 * len(classes) if classification else 5
    sizes = sorted({min(n_train, max(smallest, int(f * n_train))) for f in shares})
    orders = [
        _nested_order(train, codes if classification else None, random_state + k) for k, (train, _) in enumerate(folds)
    ]
    tasks = [(k, s) for k in range(len(folds)) for s in range(len(sizes))]
    if progress is not None:
        progress(0.0, "planning.progress.training")
    # Each subset is sorted back into row order: the same rows, but gathered with better memory locality.
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        delayed(_fit_and_score)(estimator, X, codes, np.sort(orders[k][: sizes[s]]), folds[k][1], scorer, sign)
        for k, s in tasks
    )
    val = np.empty((len(sizes), len(folds)))
    train_scores = np.empty((len(sizes), len(folds)))
    for done, ((k, s), (val_score, train_score)) in enumerate(zip(tasks, results, strict=True), start=1):
        val[s, k], train_scores[s, k] = val_score, train_score
        if progress is not None:
            progress(done / (len(tasks) + 1), "planning.progress.training")

    if progress is not None:
        progress(len(tasks) / (len(tasks) + 1), "planning.progress.fitting_curve")
    verdict, gain, se, min_gain = _verdict(sizes, val, metric=metric)
    higher = metric_direction(metric) == "higher"
    mean = val.mean(axis=1)
    std = val.std(axis=1, ddof=1) if len(folds) > 1 else np.zeros(len(sizes))
    fit = fit_power_law(
        sizes,
        mean,
        score_std=std / math.sqrt(len(folds)),
        higher_is_better=higher,
        best_possible=_BEST_POSSIBLE.get(metric, 1.0),
    )
    needed = None
    if threshold is not None:
        needed = rows_needed(
            fit,
            float(threshold),
            observed_sizes=sizes,
            observed_scores=[float(v) for v in mean],
            metric=metric,
            random_state=random_state,
        )
    if progress is not None:
        progress(1.0, "planning.progress.done")
    return SufficiencyStudy(
        task_type=task_type,
        metric=metric,
        direction=metric_direction(metric),
        n_rows=n_rows,
        cv=cv,
        estimator=_estimator_name(estimator),
        classes=classes,
        positive_class=positive,
        fractions=tuple(shares),
        train_sizes=tuple(int(s) for s in sizes),
        fold_scores=tuple(tuple(float(v) for v in row) for row in val),
        val_mean=tuple(float(v) for v in mean),
        val_std=tuple(float(v) for v in std),
        train_mean=tuple(float(v) for v in train_scores.mean(axis=1)),
        train_std=tuple(
            float(v) for v in (train_scores.std(axis=1, ddof=1) if len(folds) > 1 else np.zeros(len(sizes)))
        ),
        gain_per_doubling=gain,
        gain_se=se,
        min_gain=min_gain,
        verdict=verdict,
        threshold=None if threshold is None else float(threshold),
        fit=fit,
        rows_needed=needed,
    )


# ----------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class BaselineComparison:
    """The threshold against a model that ignores the inputs and against today's process.

    Attributes
    ----------
    dummy_strategy : str
        The :class:`~sklearn.dummy.DummyClassifier`/``DummyRegressor`` strategy used.
    dummy_score, dummy_std : float
        Its cross-validated score (mean, standard deviation over folds).
    threshold_beats_dummy : bool
        Whether the threshold is strictly better than the dummy's score.
    threshold_beats_stated : bool or None
        The same against the stated non-ML baseline (``None`` if none was stated).
    bar : float
        The score a model must reach to be worth it: the strictest of the threshold, the
        dummy's score and the stated baseline.
    conclusion : {"threshold_meaningful", "threshold_too_low_dummy", "threshold_too_low_stated"}
    """

    metric: str
    direction: str
    threshold: float
    dummy_strategy: str
    dummy_score: float
    dummy_std: float
    stated_baseline_score: float | None
    threshold_beats_dummy: bool
    threshold_beats_stated: bool | None
    bar: float
    conclusion: str

    @property
    def conclusion_key(self) -> str:
        """Catalog key of the conclusion in plain words."""
        return f"planning.baseline.{self.conclusion}"

    @property
    def conclusion_params(self) -> dict[str, Any]:
        """Parameters for the conclusion's message."""
        return {
            "threshold": self.threshold,
            "dummy": self.dummy_score,
            "stated": self.stated_baseline_score if self.stated_baseline_score is not None else float("nan"),
            "bar": self.bar,
        }


def _dummy_strategy(task_type: str, metric: str) -> str:
    if task_type == "classification":
        # Predicting the majority class scores 0 recall/precision/F1 on a rare positive class,
        # which says nothing; guessing at the observed class rates is the honest trivial rule.
        return "stratified" if metric in ("recall", "precision", "f1") else "prior"
    return "median" if metric in ("mae", "mape") else "mean"


def _strictly_better(metric: str, a: float, b: float) -> bool:
    return a > b if metric_direction(metric) == "higher" else a < b


def baseline_comparison(
    X: pd.DataFrame | npt.ArrayLike,
    y: pd.Series | npt.ArrayLike,
    *,
    task_type: str,
    metric: str,
    threshold: float,
    stated_baseline_score: float | None = None,
    cv: int = 5,
    random_state: int = 0,
) -> BaselineComparison:
    """Check that reaching ``threshold`` would beat a trivial rule and today's process.

    The trivial rule is a dummy model that ignores the inputs: for classification it guesses
    at random with the observed class shares (for recall, precision and F1) or always gives
    the class shares as probabilities (other metrics); for regression it predicts the median
    (MAE, MAPE) or the mean (RMSE, R²). It is cross-validated like the learning curve.

    Conclusion, in this order: ``threshold_too_low_dummy`` if the threshold is not strictly
    better than the dummy's score (a model could "succeed" without learning anything: raise
    the threshold or pick another metric); ``threshold_too_low_stated`` if it is not strictly
    better than the stated baseline (ML would not improve on today's process);
    otherwise ``threshold_meaningful``. ML must beat both to be worth it.

    Raises
    ------
    PlanningInputError
        As :func:`learning_curve_study` for the data, metric and threshold.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(200, 2)), (rng.uniform(size=200) < 0.3).astype(int)
    >>> result = baseline_comparison(X, y, task_type="classification", metric="accuracy", threshold=0.65)
    >>> result.dummy_strategy, result.conclusion
    ('prior', 'threshold_too_low_dummy')
    """
    _check_metric(task_type, metric)
    _check_metric_value(metric, float(threshold), field="threshold", strictly_positive_error=True)
    if stated_baseline_score is not None:
        _check_metric_value(metric, float(stated_baseline_score), field="baseline_score", strictly_positive_error=False)
    if isinstance(cv, bool) or not isinstance(cv, int | np.integer) or not 2 <= cv <= MAX_FOLDS:
        raise PlanningInputError("planning.study.bad_folds", value=str(cv)[:20], maximum=MAX_FOLDS)
    features = X if isinstance(X, pd.DataFrame) else np.asarray(X)
    n_rows = features.shape[0]
    codes, classes, _ = _encode_target(y, task_type=task_type, metric=metric, cv=cv, n_rows=n_rows)
    strategy = _dummy_strategy(task_type, metric)
    dummy: BaseEstimator
    if task_type == "classification":
        dummy = DummyClassifier(strategy=strategy, random_state=random_state)
        splitter: StratifiedKFold | KFold = StratifiedKFold(cv, shuffle=True, random_state=random_state)
    else:
        dummy = DummyRegressor(strategy=strategy)
        splitter = KFold(cv, shuffle=True, random_state=random_state)
    scorer_name = _SCORERS[metric][0 if task_type == "regression" or len(classes) == 2 else 1]
    # A dummy never looks at the inputs: a single column stands in for them.
    placeholder = np.zeros((n_rows, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero-division warnings are expected from trivial rules
        scores = _SCORERS[metric][2] * cross_val_score(dummy, placeholder, codes, cv=splitter, scoring=scorer_name)
    dummy_score = float(scores.mean())
    beats_dummy = _strictly_better(metric, float(threshold), dummy_score)
    beats_stated = (
        None if stated_baseline_score is None else _strictly_better(metric, float(threshold), stated_baseline_score)
    )
    candidates = [float(threshold), dummy_score] + ([float(stated_baseline_score)] if stated_baseline_score else [])
    bar = max(candidates) if metric_direction(metric) == "higher" else min(candidates)
    if not beats_dummy:
        conclusion = "threshold_too_low_dummy"
    elif beats_stated is False:
        conclusion = "threshold_too_low_stated"
    else:
        conclusion = "threshold_meaningful"
    return BaselineComparison(
        metric=metric,
        direction=metric_direction(metric),
        threshold=float(threshold),
        dummy_strategy=strategy,
        dummy_score=dummy_score,
        dummy_std=float(scores.std(ddof=1)),
        stated_baseline_score=None if stated_baseline_score is None else float(stated_baseline_score),
        threshold_beats_dummy=beats_dummy,
        threshold_beats_stated=beats_stated,
        bar=bar,
        conclusion=conclusion,
    )


# ----------------------------------------------------------------------------- chart

FIGURE_LABELS: tuple[str, ...] = ("title", "x_axis", "y_axis", "validation", "training", "threshold", "fit")
"""Names of the labels :func:`learning_curve_figure` shows; :func:`figure_labels` translates them."""


def figure_labels(lang: str = "en") -> dict[str, str]:
    """The chart's labels in ``lang`` (catalog keys ``planning.figure.<name>``).

    Examples
    --------
    >>> figure_labels("es")["x_axis"]
    'Filas de entrenamiento'
    """
    return {name: translate(f"planning.figure.{name}", lang) for name in FIGURE_LABELS}


def extrapolation_sizes(study: SufficiencyStudy, points: int = 60) -> Floats:
    """Training sizes over which the fitted curve is drawn: the studied range and beyond.

    Goes to four times the largest size, or to the rows-needed estimate when that is within
    :data:`EXTRAPOLATION_WARNING` times the largest size.
    """
    top = 4.0 * study.train_sizes[-1]
    needed = study.rows_needed
    if needed is not None and needed.rows is not None and needed.status == "estimated":
        top = max(top, 1.2 * needed.rows)
    return np.geomspace(study.train_sizes[0], top, points)


def learning_curve_figure(study: SufficiencyStudy, *, threshold: float | None = None, labels: Mapping[str, str]) -> Any:
    """Plot the learning curve: validation mean ± one standard deviation, training mean,
    the threshold, and the fitted curve extended beyond the data (dotted).

    Parameters
    ----------
    study : SufficiencyStudy
    threshold : float, optional
        Defaults to the study's threshold.
    labels : mapping
        Texts for :data:`FIGURE_LABELS` (see :func:`figure_labels`); missing ones show their name.

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = make_classification(300, random_state=0)
    >>> study = learning_curve_study(X, y, task_type="classification", metric="roc_auc",
    ...                              estimator=LogisticRegression(), cv=3)
    >>> fig = learning_curve_figure(study, threshold=0.9, labels=figure_labels("en"))
    >>> [trace.name for trace in fig.data][:2]
    ['Validation (mean of folds)', 'Score on the training rows']
    """
    import plotly.graph_objects as go

    def label(name: str) -> str:
        return str(labels.get(name, name))

    sizes = list(study.train_sizes)
    mean = np.asarray(study.val_mean)
    std = np.asarray(study.val_std)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=sizes, y=mean, mode="lines+markers", name=label("validation"), line={"color": "#1f77b4"})
    )
    fig.add_trace(
        go.Scatter(
            x=sizes,
            y=list(study.train_mean),
            mode="lines+markers",
            name=label("training"),
            line={"color": "#7f7f7f", "dash": "dash"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=sizes + sizes[::-1],
            y=list(mean + std) + list((mean - std)[::-1]),
            fill="toself",
            fillcolor="rgba(31,119,180,0.2)",
            line={"width": 0},
            hoverinfo="skip",
            showlegend=False,
        )
    )
    if study.fit is not None:
        grid = extrapolation_sizes(study)
        fig.add_trace(
            go.Scatter(
                x=grid,
                y=study.fit.predict(grid),
                mode="lines",
                name=label("fit"),
                line={"color": "#1f77b4", "dash": "dot"},
            )
        )
    line = threshold if threshold is not None else study.threshold
    if line is not None:
        fig.add_hline(y=line, line={"color": "#d62728", "dash": "dash"}, annotation_text=label("threshold"))
    fig.update_layout(
        title=label("title"),
        xaxis={"title": label("x_axis"), "type": "log"},
        yaxis={"title": label("y_axis")},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig
