"""Testing a fitted model the ways production will: perturbed inputs (robustness), segments of the data
(slices), another dataset version, groups of people (fairness), and the machine it runs on (speed, memory).

The slow functions (:func:`robustness_suite`, :func:`measure_performance`) take a ``progress`` callback
so that a job can report how far along they are.
"""

from __future__ import annotations

import io
import math
import os
import platform
import socket
import time
import tracemalloc
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import joblib
import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    count,
    demographic_parity_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from mlcore.errors import InputError
from mlcore.modeling.evaluation import (
    Predictions,
    _check_metric,
    _is,
    _make_predictions,
    _respond,
    _truth,
    _vector,
    score_predictions,
)
from mlcore.modeling.training import positive_label
from mlcore.planning.canvas import metric_direction

__all__ = [
    "DEFAULT_LEVELS",
    "MISSING_GROUP",
    "PERTURBATIONS",
    "UNSEEN_CATEGORY",
    "FairnessReport",
    "PerformanceReport",
    "RobustnessResult",
    "SliceReport",
    "VersionEvaluation",
    "evaluate_on_frame",
    "fairness_report",
    "host_info",
    "iter_perturbations",
    "measure_performance",
    "perturb",
    "robustness_suite",
    "slice_performance",
]

Floats = npt.NDArray[np.float64]

PERTURBATIONS: tuple[str, ...] = ("noise", "missing", "out_of_range", "unseen_category")
"""``noise``: Gaussian noise on numbers, level = its standard deviation in units of each column's standard
deviation; ``missing``: level = share of cells (of every feature) emptied; ``out_of_range``: level = share of
numeric cells moved beyond the observed range (by half to one and a half times the range); ``unseen_category``:
level = share of category cells replaced by a value the model never saw."""

DEFAULT_LEVELS: Mapping[str, tuple[float, ...]] = {
    "noise": (0.1, 0.25, 0.5, 1.0),
    "missing": (0.05, 0.1, 0.25, 0.5),
    "out_of_range": (0.05, 0.1, 0.25),
    "unseen_category": (0.05, 0.1, 0.25, 0.5),
}
UNSEEN_CATEGORY = "__ciclo_unseen__"
MISSING_GROUP = "(missing)"
"""Group and slice label of rows whose value is missing."""

MAX_GROUPS = 50


class Progress(Protocol):
    """``progress(fraction, key, **params)``: share done in [0, 1] and a catalog key describing the step."""

    def __call__(self, fraction: float, key: str, /, **params: Any) -> None: ...


# ----------------------------------------------------------------------------- shared checks


def _frame(X: Any, name: str = "X") -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise InputError("evaluation.not_a_table", name=name)
    if len(X) == 0:
        raise InputError("evaluation.empty", name=name)
    return X


def _names(columns: Sequence[Any], limit: int = 10) -> str:
    shown = [str(c)[:60] for c in list(columns)[:limit]]
    more = len(columns) - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


def _features(pipeline: Any, frame: pd.DataFrame, features: Sequence[str] | None) -> list[str]:
    """The columns the model reads: ``features``, else what it was fitted on; all must be in ``frame``."""
    names = list(features) if features is not None else getattr(pipeline, "feature_names_in_", None)
    if names is None:
        names = list(frame.columns)
    names = [str(c) for c in names]
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InputError("evaluation.missing_columns", columns=_names(missing), count=len(missing))
    return names


def _guess_role(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "categorical"


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InputError("evaluation.bad_count", name=name, value=str(value)[:20], minimum=minimum)
    return int(value)


def _report(progress: Progress | None, fraction: float, key: str, **params: Any) -> None:
    if progress is not None:
        progress(min(max(fraction, 0.0), 1.0), key, **params)


# ----------------------------------------------------------------------------- perturbations


class _Perturber:
    """Perturbed copies of one frame; draws are shared across levels (common random numbers), so a
    higher level perturbs the same cells more (noise) or a superset of cells (rates): degradation is
    then monotone in expectation and rarely breaks monotony by chance."""

    def __init__(
        self, X: pd.DataFrame, columns: Sequence[str], roles: Mapping[str, str], reference: pd.DataFrame | None
    ) -> None:
        self.X = X
        self.columns = list(columns)
        ref = reference if reference is not None else X
        absent = [c for c in self.columns if c not in ref.columns]
        if absent:
            raise InputError("evaluation.missing_columns", columns=_names(absent), count=len(absent))
        resolved = {c: roles.get(c) or _guess_role(X[c]) for c in self.columns}
        self.numeric = [
            c
            for c in self.columns
            if resolved[c] == "numeric" and pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
        ]
        self.categorical = [c for c in self.columns if resolved[c] == "categorical"]
        self.values = X[self.numeric].to_numpy(dtype=np.float64, na_value=np.nan) if self.numeric else None
        if self.numeric:
            ref_values = ref[self.numeric].to_numpy(dtype=np.float64, na_value=np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing column: no spread, no range
                std, low, high = (
                    np.nanstd(ref_values, axis=0),
                    np.nanmin(ref_values, axis=0),
                    np.nanmax(ref_values, axis=0),
                )
            self.std = np.nan_to_num(std, nan=0.0)
            self.low = np.nan_to_num(low, nan=0.0)
            self.high = np.nan_to_num(high, nan=0.0)
            span = self.high - self.low
            self.span = np.where(span > 0, span, np.maximum(np.abs(self.high), 1.0))
        # Only the draws of the current (kind, seed) are kept: the suite loops kind -> seed -> level.
        self._draws: dict[tuple[str, int], tuple[Floats, ...]] = {}

    def applicable(self, kind: str) -> int:
        """How many columns ``kind`` acts on."""
        if kind in ("noise", "out_of_range"):
            return len(self.numeric)
        if kind == "unseen_category":
            return len(self.categorical)
        return len(self.columns)

    def draws(self, kind: str, seed: int) -> tuple[Floats, ...]:
        key = (kind, seed)
        if key not in self._draws:
            rng = np.random.default_rng([seed, PERTURBATIONS.index(kind)])
            n = len(self.X)
            if kind == "noise":
                self._draws = {key: (rng.standard_normal((n, len(self.numeric))),)}
            elif kind == "missing":
                self._draws = {key: (rng.random((n, len(self.columns))),)}
            elif kind == "out_of_range":
                # Which cells move (by level), and where to: beyond the observed range, on a random side.
                shape = (n, len(self.numeric))
                chosen, side, extra = rng.random(shape), rng.random(shape), rng.random(shape)
                distance = (0.5 + extra) * self.span[None, :]
                moved = np.where(side < 0.5, self.high[None, :] + distance, self.low[None, :] - distance)
                assert self.values is not None
                chosen[np.isnan(self.values)] = np.inf  # a missing value stays missing
                self._draws = {key: (chosen, moved)}
            else:
                self._draws = {key: (rng.random((n, len(self.categorical))),)}
        return self._draws[key]

    def apply(self, kind: str, level: float, seed: int) -> pd.DataFrame:
        """``X`` with ``kind`` at ``level``; unchanged columns are shared with ``X`` (treat it as read-only)."""
        changes: dict[Any, Any] = {}
        if kind == "noise":
            assert self.values is not None
            (z,) = self.draws(kind, seed)
            noisy = self.values + z * (level * self.std)[None, :]
            changes = {column: noisy[:, j] for j, column in enumerate(self.numeric)}
        elif kind == "missing":
            (u,) = self.draws(kind, seed)
            emptied = u < level
            changes = {column: _emptied(self.X[column], emptied[:, j]) for j, column in enumerate(self.columns)}
        elif kind == "out_of_range":
            assert self.values is not None
            chosen, moved = self.draws(kind, seed)
            changed = np.where(chosen < level, moved, self.values)
            changes = {column: changed[:, j] for j, column in enumerate(self.numeric)}
        else:
            (u,) = self.draws(kind, seed)
            for j, column in enumerate(self.categorical):
                values = self.X[column].to_numpy(dtype=object, copy=True)
                values[u[:, j] < level] = UNSEEN_CATEGORY
                changes[column] = values
        if self.X.columns.is_unique:
            # One frame built from the columns is several times faster than replacing them one by one.
            data = {column: changes.get(column, self.X[column]) for column in self.X.columns}
            return pd.DataFrame(data, index=self.X.index, copy=False)
        out = self.X.copy(deep=False)
        for column, values in changes.items():
            out[column] = values
        return out


def _emptied(series: pd.Series, mask: npt.NDArray[np.bool_]) -> Any:
    """``series`` with the ``mask`` cells missing, written with NumPy where the dtype allows (much faster)."""
    if not mask.any():
        return series
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iuf":
        values = series.to_numpy(dtype=np.float64, copy=True)
        values[mask] = np.nan
        return values
    if isinstance(dtype, np.dtype) and dtype.kind in "Ob":
        values = series.to_numpy(dtype=object, copy=True)
        values[mask] = np.nan
        return values
    return series.mask(mask)


def _check_levels(levels: Mapping[str, Sequence[float]] | None) -> dict[str, tuple[float, ...]]:
    if levels is None:
        return {k: tuple(v) for k, v in DEFAULT_LEVELS.items()}
    if not isinstance(levels, Mapping):
        raise InputError("evaluation.robustness.bad_levels")
    out: dict[str, tuple[float, ...]] = {}
    for kind, values in levels.items():
        if kind not in PERTURBATIONS:
            raise InputError(
                "evaluation.robustness.unknown_perturbation", kind=str(kind)[:40], choices=", ".join(PERTURBATIONS)
            )
        checked = []
        for value in values:
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
                raise InputError("evaluation.robustness.bad_level", kind=kind, level=str(value)[:20])
            number = float(value)
            if number < 0 or (kind != "noise" and number > 1):
                raise InputError("evaluation.robustness.bad_level", kind=kind, level=str(value)[:20])
            checked.append(number)
        out[kind] = tuple(sorted(set(checked)))
    return out


def _perturber(
    X: pd.DataFrame,
    columns: Sequence[str] | None,
    roles: Mapping[str, str] | None,
    reference: pd.DataFrame | None,
) -> _Perturber:
    frame = _frame(X)
    names = [str(c) for c in (columns if columns is not None else frame.columns)]
    missing = [c for c in names if c not in frame.columns]
    if missing:
        raise InputError("evaluation.missing_columns", columns=_names(missing), count=len(missing))
    if reference is not None:
        _frame(reference, "reference")
    return _Perturber(frame, names, dict(roles or {}), reference)


def perturb(
    X: pd.DataFrame,
    kind: str,
    level: float,
    *,
    columns: Sequence[str] | None = None,
    roles: Mapping[str, str] | None = None,
    reference: pd.DataFrame | None = None,
    random_state: int = 0,
) -> pd.DataFrame:
    """A perturbed copy of ``X`` (``X`` itself is not changed); see :data:`PERTURBATIONS`.

    Parameters
    ----------
    X : pandas.DataFrame
    kind : str
        One of :data:`PERTURBATIONS`.
    level : float
        Noise: standard deviations (≥ 0); others: a share of cells in [0, 1].
    columns : sequence of str, optional
        The features to perturb (default: every column).
    roles : mapping, optional
        Column -> role (``numeric``, ``categorical``…); guessed from the dtype when absent.
    reference : pandas.DataFrame, optional
        Rows whose standard deviations and ranges define "noise" and "out of range" (for example the
        training rows; default ``X``).
    random_state : int

    Raises
    ------
    InputError
        ``evaluation.not_a_table``, ``evaluation.empty``, ``evaluation.missing_columns``,
        ``evaluation.robustness.unknown_perturbation``, ``evaluation.robustness.bad_level``.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", "b"]})
    >>> perturb(X, "unseen_category", 1.0)["c"].tolist()
    ['__ciclo_unseen__', '__ciclo_unseen__', '__ciclo_unseen__', '__ciclo_unseen__']
    >>> bool(perturb(X, "out_of_range", 1.0)["x"].between(1.0, 4.0).any())
    False
    """
    checked = _check_levels({kind: [level]})
    perturber = _perturber(X, columns, roles, reference)
    return perturber.apply(kind, checked[kind][0], int(random_state)).copy()


def iter_perturbations(
    X: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    roles: Mapping[str, str] | None = None,
    levels: Mapping[str, Sequence[float]] | None = None,
    reference: pd.DataFrame | None = None,
    n_repeats: int = 1,
    random_state: int = 0,
) -> Iterator[tuple[str, float, int, pd.DataFrame]]:
    """Every perturbed frame the robustness suite predicts: ``(kind, level, repeat, frame)``.

    Kinds with no column to act on (no numbers for noise, no categories for unseen values) are skipped.
    The frames share their unchanged columns with ``X``: read them, do not modify them in place.
    """
    checked = _check_levels(levels)
    repeats = _check_int(n_repeats, "n_repeats", 1)
    perturber = _perturber(X, columns, roles, reference)
    for kind, values in checked.items():
        if not perturber.applicable(kind):
            continue
        for repeat in range(repeats):
            for level in values:
                yield kind, level, repeat, perturber.apply(kind, level, int(random_state) + repeat)


@dataclass(frozen=True, eq=False)
class RobustnessResult:
    """Metrics of a model on perturbed copies of its test rows.

    Attributes
    ----------
    metrics : tuple of str
    baseline : mapping of str to float
        The metrics on the unperturbed rows.
    frame : pandas.DataFrame
        Tidy, one row per perturbation, level and metric (plus ``perturbation == "none"`` at level 0):
        ``perturbation``, ``level``, ``metric``, ``value`` (mean over repeats), ``std`` (over repeats),
        ``change`` (value minus baseline), ``degradation`` (how much worse, in the metric's direction:
        positive is worse), ``columns`` (how many columns the perturbation touched).
    skipped : tuple of str
        Perturbations with no column to act on.
    n_rows, n_repeats, predict_calls : int
    """

    metrics: tuple[str, ...]
    baseline: Mapping[str, float]
    frame: pd.DataFrame
    skipped: tuple[str, ...]
    n_rows: int
    n_repeats: int
    predict_calls: int


def robustness_suite(
    pipeline: Any,
    X: pd.DataFrame,
    y: Any,
    *,
    metrics: Sequence[str],
    roles: Mapping[str, str] | None = None,
    levels: Mapping[str, Sequence[float]] | None = None,
    reference: pd.DataFrame | None = None,
    features: Sequence[str] | None = None,
    n_repeats: int = 1,
    random_state: int = 0,
    pos_label: Any = None,
    progress: Progress | None = None,
) -> RobustnessResult:
    """Score a fitted model on its test rows under noise, missing values, out-of-range values and unseen
    categories at increasing levels, with one prediction call per level and repeat.

    Parameters
    ----------
    pipeline : fitted scikit-learn estimator
    X : pandas.DataFrame
        Test rows (keep the training rows out).
    y : array-like
        True values aligned with ``X``.
    metrics : sequence of str
        Canvas metrics for the model's task.
    roles : mapping, optional
        Column -> role; guessed from dtypes when absent.
    levels : mapping of str to sequence of float, optional
        Perturbation -> levels (default :data:`DEFAULT_LEVELS`); leave a kind out to skip it.
    reference : pandas.DataFrame, optional
        Training rows: their spread and range define noise and out-of-range (default ``X``).
    features : sequence of str, optional
        The model's input columns (default: what it was fitted on).
    n_repeats : int, default 1
        Seeds per level; the frame reports the mean and standard deviation over them.
    random_state : int
    pos_label : object, optional
    progress : callable, optional
        ``progress(fraction, "evaluation.progress.robustness", perturbation=..., level=...)`` after each call.

    Returns
    -------
    RobustnessResult

    Raises
    ------
    InputError
        Those of :func:`perturb` and :func:`~mlcore.modeling.evaluation.score_predictions`,
        ``evaluation.length_mismatch``, ``evaluation.truth_missing``.
    """
    frame = _frame(X)
    truth = _truth(y)
    if len(truth) != len(frame):
        raise InputError("evaluation.length_mismatch", left="y", right="X", n_left=len(truth), n_right=len(frame))
    checked = _check_levels(levels)
    repeats = _check_int(n_repeats, "n_repeats", 1)
    columns = _features(pipeline, frame, features)
    perturber = _Perturber(
        frame, columns, dict(roles or {}), _frame(reference, "reference") if reference is not None else None
    )

    labels, scores, classes, probabilities = _respond(pipeline, frame)
    base = _make_predictions(truth, labels, scores, classes, probabilities, pos_label)
    baseline = score_predictions(base, metrics)
    names = list(baseline)
    kinds = [k for k in checked if perturber.applicable(k)]
    skipped = tuple(k for k in checked if not perturber.applicable(k))
    total = 1 + sum(len(checked[k]) for k in kinds) * repeats
    calls = 1
    _report(progress, calls / total, "evaluation.progress.robustness", perturbation="none", level=0.0)

    collected: dict[tuple[str, float], list[dict[str, float]]] = {}
    for kind in kinds:
        for repeat in range(repeats):
            for level in checked[kind]:
                perturbed = perturber.apply(kind, level, int(random_state) + repeat)
                labels, scores, _, _ = _respond(pipeline, perturbed)
                answer = Predictions(base.task_type, truth, labels, scores, classes, base.pos_label, probabilities)
                collected.setdefault((kind, level), []).append(score_predictions(answer, names))
                calls += 1
                _report(progress, calls / total, "evaluation.progress.robustness", perturbation=kind, level=level)

    rows: list[dict[str, Any]] = []
    for metric in names:
        rows.append(_robust_row("none", 0.0, metric, [baseline[metric]], baseline[metric], 0))
    for (kind, level), runs in collected.items():
        for metric in names:
            values = [r[metric] for r in runs]
            rows.append(_robust_row(kind, level, metric, values, baseline[metric], perturber.applicable(kind)))
    table = pd.DataFrame(
        rows, columns=["perturbation", "level", "metric", "value", "std", "change", "degradation", "columns"]
    )
    return RobustnessResult(tuple(names), baseline, table, skipped, len(frame), repeats, calls)


def _robust_row(kind: str, level: float, metric: str, values: list[float], base: float, columns: int) -> dict[str, Any]:
    # Plain Python: a handful of repeats, and NumPy's nan-functions cost more than the arithmetic here.
    finite = [v for v in values if math.isfinite(v)]
    value = math.fsum(finite) / len(finite) if finite else math.nan
    spread = math.sqrt(math.fsum((v - value) ** 2 for v in finite) / len(finite)) if finite else math.nan
    sign = 1.0 if metric_direction(metric) == "higher" else -1.0
    return {
        "perturbation": kind,
        "level": level,
        "metric": metric,
        "value": value,
        "std": spread,
        "change": value - base,
        "degradation": sign * (base - value) + 0.0,
        "columns": columns,
    }


# ----------------------------------------------------------------------------- slices


@dataclass(frozen=True, eq=False)
class SliceReport:
    """Performance per segment of the rows.

    Attributes
    ----------
    metric : str
    overall : float
        The metric on all rows.
    min_size : int
        Slices with fewer rows are marked ``small`` and never flagged (their metric is mostly noise).
    frame : pandas.DataFrame
        One row per slice: ``column``, ``kind`` (``value``, ``range``, ``missing`` or ``other`` — the
        rarer categories together), ``slice`` (the value, or "low – high" for a range), ``lower`` and
        ``upper`` (ranges: the smallest and largest value in the slice), ``n_rows``, ``share``, ``value``,
        ``shortfall`` (how much worse than overall, in the metric's direction: positive is worse),
        ``small`` and ``worst`` (among the ``n_worst`` largest shortfalls of slices that are not small).
    """

    metric: str
    overall: float
    min_size: int
    frame: pd.DataFrame

    @property
    def worst(self) -> pd.DataFrame:
        """The flagged slices, worst first."""
        return self.frame[self.frame["worst"]].sort_values("shortfall", ascending=False)


def _range_label(low: Any, high: Any) -> str:
    if isinstance(low, pd.Timestamp):
        return f"{low.date().isoformat()} – {pd.Timestamp(high).date().isoformat()}"
    return f"{float(low):.4g} – {float(high):.4g}"


def _segments(series: pd.Series, n_bins: int, max_categories: int) -> Iterator[tuple[str, str, Any, Any, Any]]:
    """``(kind, label, lower, upper, mask)`` for each segment of one column."""
    missing = series.isna().to_numpy()
    ordered = (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)) or (
        pd.api.types.is_datetime64_any_dtype(series)
    )
    if ordered and (~missing).any():
        present = series[~missing]
        if pd.api.types.is_datetime64_any_dtype(series):
            numbers = pd.Series(present.to_numpy(dtype="datetime64[ns]").astype(np.int64), index=present.index)
        else:
            numbers = present.astype(np.float64)
        codes = pd.qcut(numbers, q=n_bins, labels=False, duplicates="drop")
        values = np.full(len(series), -1, dtype=np.int64)
        values[~missing] = codes.to_numpy(dtype=np.int64)
        for code in sorted(set(codes.astype(int))):
            inside = present[codes == code]
            yield "range", _range_label(inside.min(), inside.max()), inside.min(), inside.max(), values == code
    elif (~missing).any():
        labels = series.astype(object).map(str).to_numpy(dtype=object)
        labels[missing] = None
        counts = pd.Series(labels[~missing]).value_counts(sort=True)
        kept = [str(v) for v in counts.index[:max_categories]]
        for value in kept:
            yield "value", value, None, None, labels == value
        if len(counts) > max_categories:
            yield "other", "", None, None, ~missing & ~pd.Series(labels).isin(kept).to_numpy()
    if missing.any():
        yield "missing", MISSING_GROUP, None, None, missing


def slice_performance(
    predictions: Predictions,
    frame: pd.DataFrame,
    *,
    columns: Sequence[str],
    metric: str,
    n_bins: int = 4,
    min_size: int = 30,
    n_worst: int = 3,
    max_categories: int = 20,
) -> SliceReport:
    """Score ``predictions`` in each segment of ``columns``: per category, per quantile bin of numbers and
    dates, and for missing values; flag the worst segments that are large enough to trust.

    Parameters
    ----------
    predictions : Predictions
        From :func:`~mlcore.modeling.evaluation.predict_for_evaluation` on ``frame``'s rows.
    frame : pandas.DataFrame
        The rows, in the same order (any extra columns, not only the model's features).
    columns : sequence of str
    metric : str
    n_bins : int, default 4
        Equal-count bins for numbers and dates (repeated values can merge bins).
    min_size : int, default 30
    n_worst : int, default 3
    max_categories : int, default 20
        The most common categories get a slice each; the rest share one ``other`` slice.

    Raises
    ------
    InputError
        ``evaluation.slices.no_columns``, ``evaluation.missing_columns``, ``evaluation.length_mismatch``,
        ``evaluation.bad_count``, and those of :func:`~mlcore.modeling.evaluation.score_predictions`.
    """
    table = _frame(frame)
    if isinstance(columns, str) or not columns:
        raise InputError("evaluation.slices.no_columns")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError("evaluation.missing_columns", columns=_names(missing), count=len(missing))
    if len(table) != len(predictions):
        raise InputError(
            "evaluation.length_mismatch", left="frame", right="predictions", n_left=len(table), n_right=len(predictions)
        )
    bins = _check_int(n_bins, "n_bins", 1)
    smallest = _check_int(min_size, "min_size", 1)
    flagged = _check_int(n_worst, "n_worst", 0)
    categories = _check_int(max_categories, "max_categories", 1)
    name = _check_metric(metric, task_type=predictions.task_type)
    overall = score_predictions(predictions, [name])[name]
    sign = 1.0 if metric_direction(name) == "higher" else -1.0
    rows: list[dict[str, Any]] = []
    for column in columns:
        series = table[column].reset_index(drop=True)
        for kind, label, low, high, mask in _segments(series, bins, categories):
            size = int(np.count_nonzero(mask))
            if size == 0:
                continue
            value = score_predictions(predictions.subset(mask), [name])[name]
            rows.append(
                {
                    "column": str(column),
                    "kind": kind,
                    "slice": label,
                    "lower": low,
                    "upper": high,
                    "n_rows": size,
                    "share": size / len(table),
                    "value": value,
                    "shortfall": sign * (overall - value) + 0.0,
                    "small": size < smallest,
                }
            )
    out = pd.DataFrame(
        rows, columns=["column", "kind", "slice", "lower", "upper", "n_rows", "share", "value", "shortfall", "small"]
    )
    eligible = (~out["small"].astype(bool)) & out["value"].notna() & (out["shortfall"] > 0)
    ranked = out.loc[eligible, "shortfall"].sort_values(ascending=False, kind="stable")
    out["worst"] = out.index.isin(ranked.index[:flagged])
    return SliceReport(name, overall, smallest, out)


# ----------------------------------------------------------------------------- another dataset version


@dataclass(frozen=True, eq=False)
class VersionEvaluation:
    """A fitted model scored on another frame (for example the newest dataset version).

    Attributes
    ----------
    metrics : mapping of str to float
    n_rows : int
        Labelled rows scored.
    n_unlabelled : int
        Rows left out because their target is missing (labels not known yet).
    ignored_columns : tuple of str
        Columns of the frame the model does not read.
    reference : mapping of str to float or None
        The metrics to compare with (for example on the locked test set).
    change : mapping of str to float
        Metric minus reference (empty without reference).
    predictions : Predictions
    """

    metrics: Mapping[str, float]
    n_rows: int
    n_unlabelled: int
    ignored_columns: tuple[str, ...]
    reference: Mapping[str, float] | None
    change: Mapping[str, float]
    predictions: Predictions


def evaluate_on_frame(
    pipeline: Any,
    frame: pd.DataFrame,
    *,
    target: str,
    metrics: Sequence[str],
    features: Sequence[str] | None = None,
    pos_label: Any = None,
    reference: Mapping[str, float] | None = None,
) -> VersionEvaluation:
    """Score a fitted model on the labelled rows of another frame; extra columns are ignored.

    Raises
    ------
    InputError
        ``evaluation.target_not_a_column``, ``evaluation.missing_columns`` (naming the model's features
        the frame lacks), ``evaluation.no_labelled_rows``, and those of
        :func:`~mlcore.modeling.evaluation.score_predictions`.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> model = LinearRegression().fit(pd.DataFrame({"x": [0.0, 1.0, 2.0]}), [0.0, 2.0, 4.0])
    >>> new = pd.DataFrame({"x": [3.0, 4.0, 5.0], "note": ["a", "b", "c"], "y": [6.0, 9.0, None]})
    >>> result = evaluate_on_frame(model, new, target="y", metrics=["mae"])
    >>> round(result.metrics["mae"], 6), result.n_unlabelled, result.ignored_columns
    (0.5, 1, ('note',))
    """
    table = _frame(frame, "frame")
    if target not in table.columns:
        raise InputError("evaluation.target_not_a_column", column=str(target)[:80])
    names = _features(pipeline, table.drop(columns=[target]), features)
    labelled = table[target].notna().to_numpy()
    if not labelled.any():
        raise InputError("evaluation.no_labelled_rows", rows=len(table))
    rows = table.loc[labelled]
    labels, scores, classes, probabilities = _respond(pipeline, rows[names])
    predictions = _make_predictions(rows[target].to_numpy(), labels, scores, classes, probabilities, pos_label)
    values = score_predictions(predictions, metrics)
    change: dict[str, float] = {}
    if reference is not None:
        change = {m: values[m] - float(reference[m]) for m in values if m in reference}
    ignored = tuple(str(c) for c in table.columns if c not in names and c != target)
    return VersionEvaluation(
        values, int(labelled.sum()), int((~labelled).sum()), ignored, reference, change, predictions
    )


# ----------------------------------------------------------------------------- fairness


@dataclass(frozen=True, eq=False)
class FairnessReport:
    """How a two-class model treats the groups of one sensitive column.

    Attributes
    ----------
    sensitive : str
        The column's name.
    pos_label : object
    groups : pandas.DataFrame
        One row per group: ``group``, ``count``, ``positives``, ``negatives`` (actual), ``selection_rate``
        (share flagged positive), ``true_positive_rate`` (NaN without positives), ``false_positive_rate``
        (NaN without negatives), ``small``.
    demographic_parity_difference : float
        Largest minus smallest selection rate (fairlearn).
    equalized_odds_difference : float
        The larger of the true- and false-positive-rate gaps between groups (as fairlearn's, ignoring
        rates a group cannot have).
    small_groups : tuple of str
        Groups with fewer than ``min_group_size`` rows: their rates are too noisy to act on.
    min_group_size : int
    """

    sensitive: str
    pos_label: Any
    groups: pd.DataFrame
    demographic_parity_difference: float
    equalized_odds_difference: float
    small_groups: tuple[str, ...]
    min_group_size: int


def fairness_report(
    y_true: npt.ArrayLike,
    y_pred: npt.ArrayLike,
    sensitive: npt.ArrayLike,
    *,
    name: str | None = None,
    pos_label: Any = None,
    min_group_size: int = 30,
) -> FairnessReport:
    """Selection rate, true- and false-positive rates and counts per group, with fairlearn's MetricFrame,
    and the demographic-parity and equalised-odds differences.

    Parameters
    ----------
    y_true, y_pred : array-like
        Actual and predicted labels (two classes); for the chosen threshold use
        ``predictions.at_threshold(t).y_pred`` (:meth:`~mlcore.modeling.evaluation.Predictions.at_threshold`).
    sensitive : array-like
        The group of each row (missing values form the group :data:`MISSING_GROUP`).
    name : str, optional
        The sensitive column's name (default: the Series name).
    pos_label : object, optional
        Default: 1 or True if present, else the rarer actual class.
    min_group_size : int, default 30

    Raises
    ------
    InputError
        ``evaluation.fairness.one_group``, ``evaluation.fairness.too_many_groups``, ``evaluation.not_binary``,
        ``evaluation.length_mismatch``, ``evaluation.empty``, ``evaluation.truth_missing``.

    Examples
    --------
    >>> report = fairness_report([1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0], list("aaabbb"), min_group_size=1)
    >>> report.groups[["group", "selection_rate", "true_positive_rate"]].values.tolist()
    [['a', 0.3333333333333333, 0.5], ['b', 0.6666666666666666, 1.0]]
    >>> round(report.demographic_parity_difference, 4), report.equalized_odds_difference
    (0.3333, 0.5)
    """
    truth = _truth(y_true)
    predicted = _vector(y_pred, "y_pred")
    groups_raw = _vector(sensitive, "sensitive")
    for other, label in ((predicted, "y_pred"), (groups_raw, "sensitive")):
        if len(other) != len(truth):
            raise InputError(
                "evaluation.length_mismatch", left="y_true", right=label, n_left=len(truth), n_right=len(other)
            )
    smallest = _check_int(min_group_size, "min_group_size", 1)
    if pd.isna(predicted).any():
        raise InputError("evaluation.predictions_missing", count=int(pd.isna(predicted).sum()))
    labels = set(pd.unique(pd.Series(truth))) | set(pd.unique(pd.Series(predicted)))
    if pos_label is None:
        ones = [v for v in labels if _label_is_one(v)]
        pos_label = ones[0] if ones else positive_label(pd.Series(truth))
    if len(labels - {pos_label}) > 1:
        raise InputError("evaluation.not_binary", count=len(labels))
    actual = _is(truth, pos_label).astype(int)
    flagged = _is(predicted, pos_label).astype(int)
    series = pd.Series(groups_raw)
    group = series.astype(object).where(series.notna(), MISSING_GROUP).map(str).to_numpy()
    distinct = pd.unique(group)
    if len(distinct) < 2:
        raise InputError(
            "evaluation.fairness.one_group", column=str(name or getattr(sensitive, "name", "") or "—")[:80]
        )
    if len(distinct) > MAX_GROUPS:
        raise InputError("evaluation.fairness.too_many_groups", count=len(distinct), maximum=MAX_GROUPS)

    frame = MetricFrame(
        metrics={
            "count": count,
            "selection_rate": selection_rate,
            "true_positive_rate": true_positive_rate,
            "false_positive_rate": false_positive_rate,
        },
        y_true=actual,
        y_pred=flagged,
        sensitive_features=pd.Series(group, name="group"),
    )
    by_group = frame.by_group.reset_index()
    positives = pd.Series(actual).groupby(group).sum()
    by_group["count"] = by_group["count"].astype(int)
    by_group["positives"] = by_group["group"].map(positives).astype(int)
    by_group["negatives"] = by_group["count"] - by_group["positives"]
    # fairlearn reports 0 for a rate a group cannot have (no actual positives); it is undefined.
    by_group.loc[by_group["positives"] == 0, "true_positive_rate"] = np.nan
    by_group.loc[by_group["negatives"] == 0, "false_positive_rate"] = np.nan
    by_group["small"] = by_group["count"] < smallest
    by_group = by_group[
        [
            "group",
            "count",
            "positives",
            "negatives",
            "selection_rate",
            "true_positive_rate",
            "false_positive_rate",
            "small",
        ]
    ]
    parity = float(demographic_parity_difference(actual, flagged, sensitive_features=group))
    gaps = [
        float(by_group[c].max() - by_group[c].min())
        for c in ("true_positive_rate", "false_positive_rate")
        if by_group[c].notna().sum() >= 2
    ]
    odds = max(gaps) if gaps else math.nan
    column = str(name if name is not None else getattr(sensitive, "name", None) or "sensitive")
    small = tuple(str(g) for g in by_group.loc[by_group["small"], "group"])
    return FairnessReport(column, pos_label, by_group, parity, odds, small, smallest)


def _label_is_one(value: Any) -> bool:
    return isinstance(value, bool | np.bool_ | int | float | np.number) and value == 1


# ----------------------------------------------------------------------------- hardware performance


def host_info() -> dict[str, Any]:
    """The machine measurements were taken on, JSON-safe: host, platform, machine, processor, Python,
    logical CPUs and total memory in bytes (None where unknown)."""
    memory: int | None = None
    try:
        memory = int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        memory = None
    return {
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "memory_bytes": memory,
    }


@dataclass(frozen=True)
class PerformanceReport:
    """How fast and how large a fitted model is on this machine.

    Attributes
    ----------
    method : str
        The prediction method timed (``predict_proba`` for classifiers that have it, else ``predict``).
    latency_calls : int
    latency_ms_p50, latency_ms_p95, latency_ms_p99 : float
        Single-row prediction latency percentiles, in milliseconds.
    throughput : tuple of (int, float)
        (batch rows, rows per second), best of ``repeats``; sizes above ``max_rows`` are cut to it.
    model_bytes : int
        Size of the model serialised with joblib (uncompressed).
    peak_memory_bytes : int
        Peak memory allocated while predicting the largest batch (traced by tracemalloc: Python and NumPy
        allocations; memory native libraries allocate on their own is not seen).
    peak_memory_rows : int
    training_seconds : float or None
        Time to fit the model, as recorded by training.
    host : mapping
        :func:`host_info`.
    """

    method: str
    latency_calls: int
    latency_ms_p50: float
    latency_ms_p95: float
    latency_ms_p99: float
    throughput: tuple[tuple[int, float], ...]
    model_bytes: int
    peak_memory_bytes: int
    peak_memory_rows: int
    training_seconds: float | None
    host: Mapping[str, Any]

    @property
    def best_throughput(self) -> float:
        """Highest rows per second measured."""
        return max((rate for _, rate in self.throughput), default=math.nan)

    def throughput_frame(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.throughput), columns=["rows", "rows_per_second"])


def measure_performance(
    pipeline: Any,
    X: pd.DataFrame,
    *,
    n_calls: int = 200,
    batch_sizes: Sequence[int] = (1_000, 10_000, 100_000),
    max_rows: int | None = None,
    repeats: int = 1,
    training_seconds: float | None = None,
    progress: Progress | None = None,
) -> PerformanceReport:
    """Time single-row predictions and batches, size the model and trace the memory a prediction takes.

    Batches larger than ``X`` repeat its rows. Call it in a job: with the default sizes it predicts
    100,000 rows a few times.

    Parameters
    ----------
    pipeline : fitted scikit-learn estimator
    X : pandas.DataFrame
        Rows to predict (for example the test rows).
    n_calls : int, default 200
        Single-row calls timed (after one warm-up call).
    batch_sizes : sequence of int
    max_rows : int, optional
        Largest batch actually predicted (keeps tests and small machines fast).
    repeats : int, default 1
        Timings per batch size; the best is kept.
    training_seconds : float, optional
    progress : callable, optional
        ``progress(fraction, "evaluation.progress.performance", step=...)``.

    Raises
    ------
    InputError
        ``evaluation.not_a_table``, ``evaluation.empty``, ``evaluation.bad_count``.
    """
    frame = _frame(X)
    calls = _check_int(n_calls, "n_calls", 1)
    times = _check_int(repeats, "repeats", 1)
    sizes = sorted({_check_int(s, "batch_sizes", 1) for s in batch_sizes})
    if max_rows is not None:
        cap = _check_int(max_rows, "max_rows", 1)
        sizes = sorted({min(s, cap) for s in sizes})
    method_name = "predict_proba" if hasattr(pipeline, "predict_proba") else "predict"
    method = getattr(pipeline, method_name)
    steps = 3 + len(sizes)
    step = 0

    singles = [frame.iloc[[i % len(frame)]] for i in range(calls)]
    method(singles[0])
    durations = np.empty(calls, dtype=np.float64)
    for i, row in enumerate(singles):
        start = time.perf_counter()
        method(row)
        durations[i] = time.perf_counter() - start
        if (i + 1) % max(1, calls // 10) == 0:
            _report(progress, (step + (i + 1) / calls) / steps, "evaluation.progress.performance", step="latency")
    step += 1
    p50, p95, p99 = (float(v) * 1000.0 for v in np.percentile(durations, [50, 95, 99]))

    throughput: list[tuple[int, float]] = []
    largest: pd.DataFrame | None = None
    for size in sizes:
        batch = frame.iloc[np.resize(np.arange(len(frame)), size)]
        best = math.inf
        for _ in range(times):
            start = time.perf_counter()
            method(batch)
            best = min(best, time.perf_counter() - start)
        throughput.append((size, size / best if best > 0 else math.inf))
        largest = batch
        step += 1
        _report(progress, step / steps, "evaluation.progress.performance", step="throughput", rows=size)

    assert largest is not None or not sizes
    target = largest if largest is not None else frame
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        method(target)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    step += 1
    _report(progress, step / steps, "evaluation.progress.performance", step="memory")

    buffer = io.BytesIO()
    joblib.dump(pipeline, buffer)
    step += 1
    _report(progress, 1.0, "evaluation.progress.performance", step="size")
    return PerformanceReport(
        method=method_name,
        latency_calls=calls,
        latency_ms_p50=p50,
        latency_ms_p95=p95,
        latency_ms_p99=p99,
        throughput=tuple(throughput),
        model_bytes=buffer.getbuffer().nbytes,
        peak_memory_bytes=max(0, int(peak - before)),
        peak_memory_rows=len(target),
        training_seconds=None if training_seconds is None else float(training_seconds),
        host=host_info(),
    )
