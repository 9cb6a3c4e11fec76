"""Delayed labels: match the real outcomes of past predictions by row key, then follow the model's
performance period by period against the success criterion from planning.

Decisions
---------
* Keys are compared as canonical text, stripped of surrounding spaces: ``17``, ``17.0``,
  ``"17"`` and ``" 17 "`` are one key. Outcomes and predicted labels are compared the same way
  (``1`` and ``"1"`` are one class).
* An outcome is matched by ``row_key`` alone, or by ``(batch, row_key)`` when the outcomes have a
  ``batch`` column. A key scored in several batches needs that column: matching is refused
  (``monitoring.predictions.duplicate_keys``) rather than guessing which prediction it belongs to.
* Outcome rows repeated with the *same* outcome (a file exported twice) are dropped and counted;
  the same key with *different* outcomes is refused (``monitoring.outcomes.conflicting``), naming
  the keys, because no rule can tell which one is true.
* Outcomes for keys that were never predicted are counted and a few are listed; when *no*
  outcome matches, the import is refused (``monitoring.outcomes.no_match``): the wrong column
  or the wrong file was almost certainly chosen.
* A metric undefined in a period (recall with no positive outcome, AUC with one class) is NaN and
  the period's status is ``n/a``, never a silent 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mlcore.errors import InputError
from mlcore.modeling.training import METRICS
from mlcore.monitoring.drift import Message, _key
from mlcore.planning.canvas import meets_threshold, metric_direction

__all__ = [
    "MAX_LISTED_KEYS",
    "PERIODS",
    "PERIOD_STATUSES",
    "OutcomeMatch",
    "PerformanceOverTime",
    "PeriodPerformance",
    "match_outcomes",
    "performance_over_time",
]

PERIODS: tuple[str, ...] = ("W", "M", "batch")
"""Weeks (Monday to Sunday), calendar months, or scoring batches."""

PERIOD_STATUSES: tuple[str, ...] = ("pass", "fail", "n/a")
MAX_LISTED_KEYS = 10
"""Keys listed by name in a report or an error; the counts are always complete."""

_KEY_CHARS = 40
_SEPARATOR = "\x1f"  # joins batch and row key; cannot come from a stripped key typed by a person


def _short(value: object, limit: int = _KEY_CHARS) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(keys: Sequence[str]) -> str:
    return ", ".join(_short(k.replace(_SEPARATOR, " / ")) for k in keys[:MAX_LISTED_KEYS])


def _canonical(column: pd.Series) -> pd.Series:
    """Canonical text of each value (missing stays missing), stripped of surrounding spaces.

    The result has a fresh ``RangeIndex`` (positions), whatever the index of ``column``.
    """
    values = column.to_numpy(dtype=object)
    missing = pd.isna(values)
    lookup = {u: _key(u, False).strip() for u in pd.unique(values[~missing])}
    out = pd.Series(values, dtype=object).map(lookup).astype(object)
    # A missing or all-space key means "no key".
    out[missing | (out == "").to_numpy()] = None
    return out


def _check_frame(frame: object, *, which: str, required: Sequence[str]) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError("monitoring.not_a_frame", type=_short(type(frame).__name__))
    if frame.columns.has_duplicates:
        raise InputError("monitoring.duplicate_column", column=_short(frame.columns[frame.columns.duplicated()][0]))
    for column in required:
        if column not in frame.columns:
            raise InputError(f"monitoring.{which}.missing_column", column=column)
    if len(frame) == 0:
        raise InputError(f"monitoring.{which}.empty")
    return frame


def _times(column: pd.Series) -> pd.Series:
    """Prediction times as naive UTC timestamps; refuse missing or unreadable ones."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        times = column
    else:
        times = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    bad = times.isna().to_numpy()
    if bad.any():
        examples = ", ".join(_short(v) for v in column[bad].astype(str).head(3))
        raise InputError("monitoring.predictions.bad_time", n=int(bad.sum()), examples=examples)
    return times.astype("datetime64[ns]")


@dataclass(frozen=True)
class OutcomeMatch:
    """Predictions joined with their real outcomes.

    Attributes
    ----------
    matched : pandas.DataFrame
        The predictions that have an outcome, in prediction order, with their columns
        (``time`` as a timestamp) plus ``outcome``.
    keys : tuple of str
        The columns matched on: ``("row_key",)`` or ``("batch", "row_key")``.
    n_predictions, n_outcome_rows : int
        Rows given on each side.
    n_matched : int
    n_unknown : int
        Outcome rows whose key matches no prediction (left out).
    unknown_keys : tuple of str
        The first of them (at most :data:`MAX_LISTED_KEYS`, cut to 40 characters).
    n_duplicates : int
        Outcome rows dropped because they repeated another with the same key and outcome.
    n_incomplete : int
        Outcome rows without a key or without an outcome (left out).

    Examples
    --------
    >>> preds = pd.DataFrame({"row_key": ["a", "b", "c"], "label": [1, 0, 1], "score": [0.9, 0.2, 0.7],
    ...                       "batch": "b1", "time": "2025-06-02"})
    >>> outcomes = pd.DataFrame({"row_key": ["a", "c", "c", "zz"], "outcome": [1, 0, 0, 1]})
    >>> m = match_outcomes(preds, outcomes)
    >>> m.n_matched, m.n_duplicates, m.unknown_keys, m.n_awaiting
    (2, 1, ('zz',), 1)
    """

    matched: pd.DataFrame
    keys: tuple[str, ...]
    n_predictions: int
    n_outcome_rows: int
    n_matched: int
    n_unknown: int
    unknown_keys: tuple[str, ...]
    n_duplicates: int
    n_incomplete: int

    @property
    def n_awaiting(self) -> int:
        """Predictions still waiting for their outcome."""
        return self.n_predictions - self.n_matched

    @property
    def coverage(self) -> float:
        """Share of the predictions that have an outcome."""
        return self.n_matched / self.n_predictions

    @property
    def messages(self) -> tuple[Message, ...]:
        """What was matched, and what was left out and why, in plain words."""
        out = [
            Message(
                "monitoring.outcomes.summary",
                {"n_matched": self.n_matched, "n_predictions": self.n_predictions, "coverage": self.coverage},
            )
        ]
        if self.n_unknown:
            out.append(
                Message(
                    "monitoring.outcomes.unknown_keys",
                    {"n": self.n_unknown, "keys": ", ".join(self.unknown_keys)},
                )
            )
        if self.n_duplicates:
            out.append(Message("monitoring.outcomes.duplicates_dropped", {"n": self.n_duplicates}))
        if self.n_incomplete:
            out.append(Message("monitoring.outcomes.incomplete_rows", {"n": self.n_incomplete}))
        return tuple(out)


def match_outcomes(predictions: pd.DataFrame, outcomes: pd.DataFrame) -> OutcomeMatch:
    """Join real outcomes to the predictions they belong to (see the module docstring for the rules).

    Parameters
    ----------
    predictions : pandas.DataFrame
        Columns ``row_key``, ``time`` (when it was scored), ``label`` (predicted class or number)
        and/or ``score`` (probability of the positive class, or the predicted number), and
        ``batch`` (optional). An ``outcome`` column, if any, is replaced.
    outcomes : pandas.DataFrame
        Columns ``row_key`` and ``outcome``; ``batch`` too when the same key was scored in
        several batches.

    Returns
    -------
    OutcomeMatch

    Raises
    ------
    InputError
        ``monitoring.predictions.missing_column`` / ``monitoring.outcomes.missing_column``,
        ``monitoring.predictions.empty`` / ``monitoring.outcomes.empty``,
        ``monitoring.predictions.no_prediction`` (neither ``label`` nor ``score``),
        ``monitoring.predictions.bad_time``, ``monitoring.predictions.missing_key``,
        ``monitoring.predictions.duplicate_keys``, ``monitoring.outcomes.conflicting``,
        ``monitoring.outcomes.no_match``, ``monitoring.not_a_frame``.
    """
    _check_frame(predictions, which="predictions", required=("row_key", "time"))
    _check_frame(outcomes, which="outcomes", required=("row_key", "outcome"))
    if "label" not in predictions.columns and "score" not in predictions.columns:
        raise InputError("monitoring.predictions.no_prediction")
    by_batch = "batch" in outcomes.columns
    if by_batch and "batch" not in predictions.columns:
        raise InputError("monitoring.predictions.missing_column", column="batch")
    keys = ("batch", "row_key") if by_batch else ("row_key",)

    pred_key = _compound(predictions, keys)
    if pred_key.isna().any():
        raise InputError("monitoring.predictions.missing_key", n=int(pred_key.isna().sum()))
    repeated = pred_key[pred_key.duplicated(keep=False)]
    if len(repeated):
        listed = list(dict.fromkeys(repeated.tolist()))
        raise InputError(
            "monitoring.predictions.duplicate_keys", n=len(listed), keys=_listed(listed), by_batch=str(by_batch).lower()
        )
    times = _times(predictions["time"])

    out_key = _compound(outcomes, keys).to_numpy(dtype=object)
    out_value = _canonical(outcomes["outcome"]).to_numpy(dtype=object)
    complete = pd.notna(out_key) & pd.notna(out_value)
    n_incomplete = int((~complete).sum())
    table = pd.DataFrame(
        {
            "key": out_key[complete],
            "value": out_value[complete],
            "raw": outcomes["outcome"].to_numpy(dtype=object)[complete],
        }
    )
    distinct = table.groupby("key", sort=False)["value"].nunique()
    conflicting = distinct.index[distinct > 1].tolist()
    if conflicting:
        raise InputError("monitoring.outcomes.conflicting", n=len(conflicting), keys=_listed(conflicting))
    unique = table.drop_duplicates("key", keep="first")
    n_duplicates = len(table) - len(unique)

    known = pd.Index(pred_key.to_numpy())
    found = known.get_indexer(unique["key"].to_numpy()) >= 0
    unknown = unique["key"][~found].tolist()
    if not found.any():
        raise InputError(
            "monitoring.outcomes.no_match", n=len(unique), keys=_listed(unknown), expected=_listed(pred_key.tolist())
        )
    lookup = pd.Series(unique["raw"].to_numpy()[found], index=unique["key"].to_numpy()[found])
    matched = predictions.assign(time=times.to_numpy(), outcome=pred_key.map(lookup).to_numpy())
    has_outcome = pred_key.isin(lookup.index).to_numpy()
    matched = matched[has_outcome].reset_index(drop=True)
    return OutcomeMatch(
        matched=matched,
        keys=keys,
        n_predictions=len(predictions),
        n_outcome_rows=len(outcomes),
        n_matched=len(matched),
        n_unknown=len(unknown),
        unknown_keys=tuple(_short(k.replace(_SEPARATOR, " / ")) for k in unknown[:MAX_LISTED_KEYS]),
        n_duplicates=n_duplicates,
        n_incomplete=n_incomplete,
    )


def _compound(frame: pd.DataFrame, keys: Sequence[str]) -> pd.Series:
    parts = [_canonical(frame[k]) for k in keys]
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    joined = parts[0].str.cat(parts[1:], sep=_SEPARATOR)
    return joined.where(pd.concat(parts, axis=1).notna().all(axis=1), None).reset_index(drop=True)


# --------------------------------------------------------------------------- performance over time


@dataclass(frozen=True)
class PeriodPerformance:
    """The metric in one period."""

    period: str
    start: pd.Timestamp
    end: pd.Timestamp
    n: int
    value: float
    status: str


@dataclass(frozen=True)
class PerformanceOverTime:
    """A metric per period on delayed labels, and whether each period meets the success criterion.

    Attributes
    ----------
    metric : str
        A canvas metric (:data:`mlcore.planning.canvas.METRICS`).
    period : {"W", "M", "batch"}
    threshold : float or None
        The criterion's threshold (``None``: no criterion, every status ``n/a``).
    direction : {"higher", "lower"}
        Whether a larger value of the metric is better.
    table : pandas.DataFrame
        One row per period, oldest first: ``period`` (label: week's Monday ``2025-06-02``,
        month ``2025-06`` or batch name), ``start`` and ``end`` (first and last instant of the
        week or month; first and last prediction of a batch), ``n`` (matched predictions),
        ``value`` (NaN when undefined or fewer than ``min_rows``), ``status``
        (``pass``/``fail``/``n/a``).
    overall : float
        The metric on all matched predictions.
    overall_status : str
    n : int
        Matched predictions used.
    pos_label : str or None
        The class counted as positive (two-class targets), as canonical text.
    """

    metric: str
    period: str
    threshold: float | None
    direction: str
    table: pd.DataFrame
    overall: float
    overall_status: str
    n: int
    pos_label: str | None

    def periods(self) -> tuple[PeriodPerformance, ...]:
        return tuple(
            PeriodPerformance(str(r.period), r.start, r.end, int(r.n), float(r.value), str(r.status))
            for r in self.table.itertuples(index=False)
        )

    def latest(self) -> PeriodPerformance | None:
        """The most recent period with a value (``None`` if no period has one)."""
        scored = [p for p in self.periods() if not math.isnan(p.value)]
        return scored[-1] if scored else None

    @property
    def messages(self) -> tuple[Message, ...]:
        """The latest period against the criterion, in plain words."""
        latest = self.latest()
        if latest is None:
            return (Message("monitoring.performance.no_value", {"metric": self.metric}),)
        params = {"metric": self.metric, "period": latest.period, "value": round(latest.value, 4), "n": latest.n}
        if self.threshold is None or latest.status == "n/a":
            return (Message("monitoring.performance.latest", params),)
        params["threshold"] = self.threshold
        failing = 0
        for p in reversed(self.periods()):
            if p.status == "n/a":
                continue
            if p.status != "fail":
                break
            failing += 1
        key = "monitoring.performance.latest_pass" if latest.status == "pass" else "monitoring.performance.latest_fail"
        out = [Message(key, params)]
        if failing > 1:
            out.append(Message("monitoring.performance.failing_streak", {"n": failing}))
        return tuple(out)


def performance_over_time(
    matched: OutcomeMatch | pd.DataFrame,
    *,
    metric: str,
    period: str = "W",
    threshold: float | None = None,
    pos_label: Any = None,
    min_rows: int = 1,
) -> PerformanceOverTime:
    """The metric per week, month or batch on predictions whose outcomes are known.

    Classification metrics that judge decisions (recall, precision, f1, accuracy, balanced
    accuracy) use ``label``; ranking metrics (roc_auc, average_precision) use ``score``, the
    probability of the positive class (two classes only). Regression metrics compare ``score``
    (the predicted number; ``label`` when there is no ``score``) with the outcome. With more than
    two classes recall, precision and f1 are macro averages, as in training.

    Parameters
    ----------
    matched : OutcomeMatch or pandas.DataFrame
        From :func:`match_outcomes` (or its ``matched`` frame).
    metric : str
        The success criterion's metric (``Canvas.metric``).
    period : {"W", "M", "batch"}, default "W"
    threshold : float, optional
        The success criterion's threshold (``Canvas.threshold``).
    pos_label : optional
        Two classes: the class counted as positive; default ``1`` or ``True`` if present,
        else the rarer class.
    min_rows : int, default 1
        Periods with fewer matched predictions get no value (status ``n/a``).

    Returns
    -------
    PerformanceOverTime

    Raises
    ------
    InputError
        ``monitoring.performance.unknown_metric``, ``monitoring.performance.bad_period``,
        ``monitoring.performance.bad_threshold``, ``monitoring.performance.bad_min_rows``,
        ``monitoring.performance.needs_label`` / ``needs_score``, ``monitoring.performance.needs_batch``,
        ``monitoring.performance.outcome_not_numeric``, ``monitoring.performance.ranking_needs_two_classes``,
        ``monitoring.performance.unknown_pos_label``, ``monitoring.performance.labels_do_not_match``.

    Examples
    --------
    >>> preds = pd.DataFrame({"row_key": list("abcd"), "label": [1, 0, 1, 1],
    ...                       "time": ["2025-06-02", "2025-06-03", "2025-06-10", "2025-06-11"]})
    >>> m = match_outcomes(preds, pd.DataFrame({"row_key": list("abcd"), "outcome": [1, 1, 1, 0]}))
    >>> perf = performance_over_time(m, metric="recall", threshold=0.7)
    >>> perf.table[["period", "n", "value", "status"]].values.tolist()
    [['2025-06-02', 2, 0.5, 'fail'], ['2025-06-09', 2, 1.0, 'pass']]
    """
    frame = matched.matched if isinstance(matched, OutcomeMatch) else matched
    if not isinstance(frame, pd.DataFrame):
        raise InputError("monitoring.not_a_frame", type=_short(type(frame).__name__))
    if metric not in METRICS:
        raise InputError("monitoring.performance.unknown_metric", metric=_short(metric), choices=", ".join(METRICS))
    if period not in PERIODS:
        raise InputError("monitoring.performance.bad_period", period=_short(period), choices=", ".join(PERIODS))
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold)
    ):
        raise InputError("monitoring.performance.bad_threshold", value=_short(threshold))
    if isinstance(min_rows, bool) or not isinstance(min_rows, int) or min_rows < 1:
        raise InputError("monitoring.performance.bad_min_rows", value=_short(min_rows))
    for column in ("time", "outcome"):
        if column not in frame.columns:
            raise InputError("monitoring.predictions.missing_column", column=column)
    if len(frame) == 0:
        raise InputError("monitoring.performance.nothing_matched")
    if period == "batch" and "batch" not in frame.columns:
        raise InputError("monitoring.performance.needs_batch")

    spec = METRICS[metric]
    truth, predicted, pos = _prepare(frame, metric, spec.task_type, spec.response, pos_label)
    n_classes = len(set(truth.tolist()) | set(predicted.tolist())) if spec.response == "predict" else 2
    if spec.task_type == "regression":
        n_classes = 0

    def score(rows: np.ndarray[Any, Any]) -> float:
        if len(rows) < min_rows:
            return math.nan
        return _metric_value(metric, truth.to_numpy()[rows], predicted.to_numpy()[rows], pos, n_classes)

    groups, labels, starts, ends = _periods(frame, period)
    records = []
    for label, start, end, rows in zip(labels, starts, ends, groups, strict=True):
        value = score(rows)
        records.append(
            {
                "period": label,
                "start": start,
                "end": end,
                "n": len(rows),
                "value": value,
                "status": _status(metric, value, threshold),
            }
        )
    table = pd.DataFrame(records, columns=["period", "start", "end", "n", "value", "status"])
    table["value"] = table["value"].astype(np.float64)
    overall = score(np.arange(len(frame)))
    return PerformanceOverTime(
        metric=metric,
        period=period,
        threshold=None if threshold is None else float(threshold),
        direction=metric_direction(metric),
        table=table,
        overall=overall,
        overall_status=_status(metric, overall, threshold),
        n=len(frame),
        pos_label=pos,
    )


def _status(metric: str, value: float, threshold: float | None) -> str:
    if threshold is None or math.isnan(value):
        return "n/a"
    return "pass" if meets_threshold(metric, value, float(threshold)) else "fail"


def _prepare(
    frame: pd.DataFrame, metric: str, task_type: str, response: str | tuple[str, ...], pos_label: Any
) -> tuple[pd.Series, pd.Series, str | None]:
    """Truth and prediction columns ready for the metric, and the positive class."""
    if task_type == "regression":
        column = "score" if "score" in frame.columns else "label"
        if column not in frame.columns:
            raise InputError("monitoring.performance.needs_score", metric=metric)
        truth = pd.to_numeric(frame["outcome"], errors="coerce")
        if truth.isna().any():
            raise InputError("monitoring.performance.outcome_not_numeric", n=int(truth.isna().sum()))
        predicted = pd.to_numeric(frame[column], errors="coerce")
        if predicted.isna().any():
            raise InputError(
                "monitoring.performance.prediction_not_numeric", column=column, n=int(predicted.isna().sum())
            )
        return (
            truth.astype(np.float64).reset_index(drop=True),
            predicted.astype(np.float64).reset_index(drop=True),
            None,
        )

    truth = _canonical(frame["outcome"]).reset_index(drop=True)
    if truth.isna().any():
        raise InputError("monitoring.performance.missing_outcomes", n=int(truth.isna().sum()))
    labels = _canonical(frame["label"]).reset_index(drop=True) if "label" in frame.columns else None
    classes = sorted(set(truth.tolist()) | (set(labels.dropna().tolist()) if labels is not None else set()))
    pos: str | None = None
    if pos_label is not None:
        pos = _key(pos_label, False).strip()
        if pos not in classes:
            raise InputError(
                "monitoring.performance.unknown_pos_label", label=_short(pos), classes=", ".join(classes[:20])
            )
    elif len(classes) <= 2:
        pos = next((c for c in ("1", "True") if c in classes), None)
        if pos is None:
            counts = truth.value_counts()
            pos = sorted(classes, key=lambda c: (int(counts[c]), c))[0]
    if response == "predict":
        if labels is None:
            raise InputError("monitoring.performance.needs_label", metric=metric)
        predicted = labels
        if predicted.isna().any():
            raise InputError(
                "monitoring.performance.missing_predictions", column="label", n=int(predicted.isna().sum())
            )
        if not set(predicted.tolist()) & set(truth.tolist()):
            raise InputError(
                "monitoring.performance.labels_do_not_match",
                labels=", ".join(_short(v) for v in sorted(set(predicted.tolist()))[:5]),
                outcomes=", ".join(_short(v) for v in sorted(set(truth.tolist()))[:5]),
            )
        return truth, predicted, pos
    if "score" not in frame.columns:
        raise InputError("monitoring.performance.needs_score", metric=metric)
    if len(set(truth.tolist())) > 2:
        raise InputError("monitoring.performance.ranking_needs_two_classes", metric=metric, n=len(set(truth.tolist())))
    scores = pd.to_numeric(frame["score"], errors="coerce").reset_index(drop=True)
    if scores.isna().any():
        raise InputError("monitoring.performance.missing_predictions", column="score", n=int(scores.isna().sum()))
    return truth, scores.astype(np.float64), pos


def _metric_value(
    metric: str, truth: np.ndarray[Any, Any], predicted: np.ndarray[Any, Any], pos: str | None, n_classes: int
) -> float:
    spec = METRICS[metric]
    if spec.task_type == "regression":
        if metric == "r2" and len(truth) < 2:
            return math.nan
        return float(spec.function(truth, predicted))
    if spec.response != "predict":
        positive = truth == pos
        if positive.all() or not positive.any():
            return math.nan
        return float(spec.function(positive, predicted.astype(np.float64)))
    if metric in ("recall", "precision", "f1"):
        # Two classes: the positive class's own score (``labels=[pos]``), NaN when it is undefined
        # (no positive outcome for recall, no positive prediction for precision).
        kwargs: dict[str, Any] = {"zero_division": np.nan, "average": "macro"}
        if n_classes <= 2:
            kwargs["labels"] = [pos]
        return float(spec.function(truth.astype(object), predicted.astype(object), **kwargs))
    if metric == "balanced_accuracy" and len(set(truth.tolist())) < 2:
        return math.nan
    return float(spec.function(truth.astype(object), predicted.astype(object)))


def _periods(
    frame: pd.DataFrame, period: str
) -> tuple[list[np.ndarray[Any, Any]], list[str], list[pd.Timestamp], list[pd.Timestamp]]:
    times = pd.to_datetime(frame["time"]).reset_index(drop=True)
    if isinstance(times.dtype, pd.DatetimeTZDtype):
        times = times.dt.tz_convert("UTC").dt.tz_localize(None)
    if times.isna().any():
        raise InputError("monitoring.predictions.bad_time", n=int(times.isna().sum()), examples="")
    if period == "batch":
        names = _canonical(frame["batch"]).reset_index(drop=True).fillna("")
        first = times.groupby(names, sort=False).min().sort_values(kind="stable")
        last = times.groupby(names, sort=False).max()
        positions = names.groupby(names, sort=False).indices
        labels = [str(b) for b in first.index]
        return (
            [np.asarray(positions[b]) for b in first.index],
            labels,
            [pd.Timestamp(first[b]) for b in first.index],
            [pd.Timestamp(last[b]) for b in first.index],
        )
    spans = times.dt.to_period("W-SUN" if period == "W" else "M")
    positions = spans.groupby(spans, sort=True).indices
    ordered = sorted(positions)
    fmt = "%Y-%m-%d" if period == "W" else "%Y-%m"
    return (
        [np.asarray(positions[p]) for p in ordered],
        [p.start_time.strftime(fmt) for p in ordered],
        [p.start_time for p in ordered],
        [p.end_time for p in ordered],
    )
