"""Comparing candidates and reading one model's scores: the leaderboard, the corrected paired t-test across
folds, plot-ready curves, and the decision threshold with its expected cost.

Everything here is UI-free and database-free: each function returns a typed result (frames for charts)
that a page renders as it is.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from sklearn.base import is_classifier
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from mlcore.errors import InputError
from mlcore.i18n import translate
from mlcore.modeling.training import METRICS, CandidateResult, positive_label
from mlcore.planning.canvas import Canvas, metric_direction

__all__ = [
    "CONSTRAINT_MEASURES",
    "Candidate",
    "CandidateFolds",
    "Comparability",
    "Curve",
    "Leaderboard",
    "PairedComparison",
    "Predictions",
    "RunDescriptor",
    "TTestResult",
    "ThresholdChoice",
    "ThresholdMetrics",
    "calibration_curve_frame",
    "canvas_costs",
    "check_comparable",
    "compare_candidates",
    "compare_top",
    "confusion_frame",
    "corrected_resampled_ttest",
    "cumulative_gains_frame",
    "error_by_range",
    "folds_signature",
    "leaderboard",
    "metrics_at_threshold",
    "minimum_cost_threshold",
    "precision_recall_frame",
    "predict_for_evaluation",
    "regression_points",
    "roc_curve_frame",
    "score_predictions",
    "threshold_for_constraint",
    "threshold_table",
]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

BASELINE_FAMILY = "dummy"
CONSTRAINT_MEASURES: Mapping[str, Literal["at_least", "at_most"]] = {
    "precision": "at_least",
    "recall": "at_least",
    "f1": "at_least",
    "accuracy": "at_least",
    "specificity": "at_least",
    "selection_rate": "at_most",
    "false_positive_rate": "at_most",
}
"""Measures a threshold can be constrained on, and whether the bound is a minimum or a maximum."""

_MAXIMISABLE = ("precision", "recall", "f1", "accuracy", "specificity")
_RUN_FIELDS = ("scheme", "n_splits", "test_size", "group_column", "order_column", "random_state", "task_type")


# ----------------------------------------------------------------------------- input checks


def _vector(values: Any, name: str) -> npt.NDArray[Any]:
    """One column of values as a 1-D array; refuse tables and empty inputs."""
    if isinstance(values, pd.DataFrame):
        raise InputError("evaluation.not_one_column", name=name)
    array = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    if array.ndim != 1:
        raise InputError("evaluation.not_one_column", name=name)
    if len(array) == 0:
        raise InputError("evaluation.empty", name=name)
    return array


def _same_length(left: npt.NDArray[Any], right: npt.NDArray[Any], left_name: str, right_name: str) -> None:
    if len(left) != len(right):
        raise InputError(
            "evaluation.length_mismatch", left=left_name, right=right_name, n_left=len(left), n_right=len(right)
        )


def _truth(y_true: Any) -> npt.NDArray[Any]:
    truth = _vector(y_true, "y_true")
    missing = int(pd.isna(truth).sum())
    if missing:
        raise InputError("evaluation.truth_missing", count=missing, rows=len(truth))
    return truth


def _numbers(values: Any, name: str) -> Floats:
    array = _vector(values, name)
    if array.dtype.kind not in "biuf":
        try:
            array = np.asarray(pd.to_numeric(pd.Series(array), errors="raise"), dtype=np.float64)
        except (TypeError, ValueError):
            raise InputError("evaluation.not_numbers", name=name) from None
    out = np.asarray(array, dtype=np.float64)
    bad = int((~np.isfinite(out)).sum())
    if bad:
        raise InputError("evaluation.not_finite", name=name, count=bad, rows=len(out))
    return out


def _scores(values: Any, *, probabilities: bool) -> Floats:
    scores = _numbers(values, "scores")
    if probabilities and (scores.min() < 0.0 or scores.max() > 1.0):
        raise InputError(
            "evaluation.scores_not_probabilities", low=round(float(scores.min()), 6), high=round(float(scores.max()), 6)
        )
    return scores


def _binary(y_true: Any, pos_label: Any, *, both: bool) -> tuple[Bools, Any]:
    """``y_true == pos_label`` as booleans, refusing targets with more than two classes.

    With ``both``, each class must be present (a curve needs positives and negatives).
    """
    truth = _truth(y_true)
    labels = pd.unique(pd.Series(truth))
    if pos_label is None:
        if len(labels) > 2:
            raise InputError("evaluation.not_binary", count=len(labels))
        if len(labels) < 2:
            raise InputError("evaluation.single_class", label=str(labels[0])[:80], rows=len(truth))
        pos_label = positive_label(pd.Series(truth))
    elif sum(1 for v in labels if not _equal(v, pos_label)) > 1:
        raise InputError("evaluation.not_binary", count=len(labels))
    positive = _is(truth, pos_label)
    if both and (positive.all() or not positive.any()):
        raise InputError("evaluation.single_class", label=str(labels[0])[:80], rows=len(truth))
    return positive, pos_label


def _is(values: npt.NDArray[Any], label: Any) -> Bools:
    """``values == label`` element by element (False where the types cannot be compared)."""
    kind = values.dtype.kind
    if (kind in "biuf" and isinstance(label, int | float | np.number) and not isinstance(label, bool | np.bool_)) or (
        kind == "b" and isinstance(label, bool | np.bool_)
    ):
        return np.asarray(values == label, dtype=bool)
    return np.asarray(pd.Series(values) == label, dtype=bool)


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


def _check_threshold(threshold: Any) -> float:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float | np.integer | np.floating):
        raise InputError("evaluation.threshold_out_of_range", threshold=str(threshold)[:20])
    value = float(threshold)
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise InputError("evaluation.threshold_out_of_range", threshold=str(threshold)[:20])
    return value


def _check_metric(metric: Any, *, task_type: str | None = None) -> str:
    if not isinstance(metric, str) or metric not in METRICS:
        raise InputError("evaluation.unknown_metric", metric=str(metric)[:40], choices=", ".join(METRICS))
    if task_type is not None and METRICS[metric].task_type != task_type:
        raise InputError("evaluation.metric_wrong_task", metric=metric, task_type=task_type)
    return metric


# ----------------------------------------------------------------------------- predictions and metrics


@dataclass(frozen=True, eq=False)
class Predictions:
    """A model's answers on some rows, from one prediction call, with the true values.

    Attributes
    ----------
    task_type : {"classification", "regression"}
    y_true : ndarray
    y_pred : ndarray
        Predicted labels (classification: the class with the highest score) or numbers.
    scores : ndarray of shape (n_rows, n_classes) or None
        Classification: probabilities (or decision values when the model has no probabilities), one
        column per class of ``classes``; None for regression.
    classes : tuple
        The model's classes, in the order of the score columns (empty for regression).
    pos_label : object
        Two classes: the class that counts as positive; otherwise None.
    probabilities : bool
        Whether ``scores`` are probabilities (thresholds and calibration need them).
    """

    task_type: str
    y_true: npt.NDArray[Any]
    y_pred: npt.NDArray[Any]
    scores: Floats | None
    classes: tuple[Any, ...]
    pos_label: Any
    probabilities: bool

    def __len__(self) -> int:
        return len(self.y_true)

    @property
    def positive_scores(self) -> Floats:
        """Two classes: the score of the positive class, one per row."""
        if self.scores is None or self.pos_label is None:
            raise InputError("evaluation.not_binary", count=len(self.classes))
        column = next(k for k, c in enumerate(self.classes) if _equal(c, self.pos_label))
        return np.asarray(self.scores[:, column], dtype=np.float64)

    def at_threshold(self, threshold: float) -> Predictions:
        """The same rows with labels decided at ``threshold``: the positive class where its probability is at
        least ``threshold``, the other class elsewhere (for fairness and slices at the chosen threshold).

        Raises
        ------
        InputError
            ``evaluation.threshold_out_of_range``, ``evaluation.not_binary``, ``evaluation.needs_probabilities``.

        Examples
        --------
        >>> p = Predictions("classification", np.array(["a", "b"]), np.array(["a", "a"]),
        ...                 np.array([[0.7, 0.3], [0.6, 0.4]]), ("a", "b"), "b", True)
        >>> p.at_threshold(0.35).y_pred.tolist()
        ['a', 'b']
        """
        value = _check_threshold(threshold)
        if not self.probabilities:
            raise InputError("evaluation.needs_probabilities")
        scores = self.positive_scores
        negative = next(c for c in self.classes if not _equal(c, self.pos_label))
        labels = np.where(scores >= value, np.asarray([self.pos_label], dtype=object), negative)
        if self.y_pred.dtype != object:
            labels = labels.astype(self.y_pred.dtype)
        return Predictions(
            self.task_type, self.y_true, labels, self.scores, self.classes, self.pos_label, self.probabilities
        )

    def subset(self, rows: npt.ArrayLike) -> Predictions:
        """The same predictions restricted to ``rows`` (a boolean mask or positions)."""
        index = np.asarray(rows)
        return Predictions(
            task_type=self.task_type,
            y_true=self.y_true[index],
            y_pred=self.y_pred[index],
            scores=None if self.scores is None else self.scores[index],
            classes=self.classes,
            pos_label=self.pos_label,
            probabilities=self.probabilities,
        )


def _respond(pipeline: Any, X: pd.DataFrame) -> tuple[npt.NDArray[Any], Floats | None, tuple[Any, ...], bool]:
    """One prediction call: labels, scores, classes and whether the scores are probabilities.

    Classifiers are asked for probabilities (or decision values) once and the label is the class with
    the highest score, which is what ``predict`` returns for every Ciclo family; regressors are asked to predict.
    """
    if not is_classifier(pipeline):
        return np.asarray(pipeline.predict(X)), None, (), False
    classes = tuple(np.asarray(pipeline.classes_).tolist())
    if hasattr(pipeline, "predict_proba"):
        scores = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
        probabilities = True
    elif hasattr(pipeline, "decision_function"):
        raw = np.asarray(pipeline.decision_function(X), dtype=np.float64)
        scores = np.column_stack([-raw, raw]) if raw.ndim == 1 else raw
        probabilities = False
    else:
        return np.asarray(pipeline.predict(X)), None, classes, False
    labels = np.asarray(pipeline.classes_)[np.argmax(scores, axis=1)]
    return labels, scores, classes, probabilities


def _default_pos_label(classes: Sequence[Any], y_true: npt.NDArray[Any]) -> Any:
    for label in classes:
        if isinstance(label, bool | np.bool_ | int | float | np.number) and label == 1:
            return label
    if pd.Series(y_true).nunique() >= 2:
        return positive_label(pd.Series(y_true))
    raise InputError("evaluation.pos_label_needed", classes=", ".join(str(c)[:40] for c in classes))


def _make_predictions(
    y_true: npt.NDArray[Any],
    labels: npt.NDArray[Any],
    scores: Floats | None,
    classes: tuple[Any, ...],
    probabilities: bool,
    pos_label: Any,
) -> Predictions:
    task = "classification" if classes else "regression"
    pos = None
    if task == "classification" and len(classes) == 2:
        if pos_label is not None:
            if not any(_equal(c, pos_label) for c in classes):
                raise InputError(
                    "evaluation.bad_pos_label", label=str(pos_label)[:80], classes=", ".join(map(str, classes))
                )
            pos = next(c for c in classes if _equal(c, pos_label))
        else:
            pos = _default_pos_label(classes, y_true)
    return Predictions(task, y_true, labels, scores, classes, pos, probabilities)


def predict_for_evaluation(pipeline: Any, X: pd.DataFrame, y: Any, *, pos_label: Any = None) -> Predictions:
    """Predict ``X`` once and keep what every evaluation needs: labels, scores and the true values.

    Parameters
    ----------
    pipeline : fitted scikit-learn estimator
        Usually ``CandidateResult.pipeline``.
    X : pandas.DataFrame
    y : array-like
        True values, aligned with ``X``.
    pos_label : object, optional
        Two classes: the positive class (default 1 or True if it is a class, else the rarer class of ``y``).

    Returns
    -------
    Predictions

    Raises
    ------
    InputError
        ``evaluation.empty``, ``evaluation.length_mismatch``, ``evaluation.truth_missing``,
        ``evaluation.bad_pos_label``, ``evaluation.pos_label_needed``.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}); y = [0, 0, 1, 1]
    >>> p = predict_for_evaluation(LogisticRegression().fit(X, y), X, y)
    >>> p.task_type, p.pos_label, p.y_pred.tolist()
    ('classification', 1, [0, 0, 1, 1])
    """
    if not isinstance(X, pd.DataFrame) or len(X) == 0:
        raise InputError("evaluation.empty", name="X")
    truth = _truth(y)
    if len(truth) != len(X):
        raise InputError("evaluation.length_mismatch", left="y", right="X", n_left=len(truth), n_right=len(X))
    labels, scores, classes, probabilities = _respond(pipeline, X)
    return _make_predictions(truth, labels, scores, classes, probabilities, pos_label)


def score_predictions(predictions: Predictions, metrics: Sequence[str]) -> dict[str, float]:
    """Canvas metrics of ``predictions``, computed as training's scorers do (same averages and conventions).

    A metric that is undefined on these rows (ROC AUC with one class present, R² on one row) is NaN.

    Raises
    ------
    InputError
        ``evaluation.unknown_metric``, ``evaluation.metric_wrong_task``, ``evaluation.no_scores``
        (a ranking metric for a model without scores).

    Examples
    --------
    >>> p = Predictions("regression", np.array([1.0, 2.0, 4.0]), np.array([1.0, 3.0, 4.0]), None, (), None, False)
    >>> score_predictions(p, ["mae", "rmse"])
    {'mae': 0.3333333333333333, 'rmse': 0.5773502691896257}
    """
    if isinstance(metrics, str):
        metrics = [metrics]
    if not metrics:
        raise InputError("evaluation.no_metrics")
    names = list(dict.fromkeys(_check_metric(m, task_type=predictions.task_type) for m in metrics))
    p = predictions
    if p.task_type == "regression":
        truth = np.asarray(p.y_true, dtype=np.float64)
        predicted = np.asarray(p.y_pred, dtype=np.float64)
        return {m: _regression_metric(m, truth, predicted) for m in names}
    for name in names:
        if name in ("roc_auc", "average_precision") and p.scores is None:
            raise InputError("evaluation.no_scores", metric=name)
    if len(p.classes) != 2 or p.pos_label is None:
        return {m: _multiclass_metric(m, p) for m in names}
    truth_pos = _is(p.y_true, p.pos_label)
    predicted_pos = _is(p.y_pred, p.pos_label)
    counts = None
    out: dict[str, float] = {}
    for name in names:
        if name in ("roc_auc", "average_precision"):
            scores = p.positive_scores
            counts = counts if counts is not None else _cumulative_counts(truth_pos, scores)
            out[name] = _binary_ranking(name, truth_pos, scores, counts)
        elif name == "accuracy":
            out[name] = float(np.mean(_same_labels(p.y_true, p.y_pred)))
        else:
            out[name] = _binary_label_metric(name, truth_pos, predicted_pos)
    return out


def _same_labels(truth: npt.NDArray[Any], predicted: npt.NDArray[Any]) -> Bools:
    if truth.dtype.kind in "biuf" and predicted.dtype.kind in "biuf":
        return np.asarray(truth == predicted, dtype=bool)
    return np.asarray(pd.Series(truth) == pd.Series(predicted), dtype=bool)


def _binary_label_metric(name: str, truth: Bools, predicted: Bools) -> float:
    tp = float(np.count_nonzero(truth & predicted))
    fp = float(np.count_nonzero(~truth & predicted))
    fn = float(np.count_nonzero(truth & ~predicted))
    tn = float(len(truth)) - tp - fp - fn
    if name == "recall":
        return tp / (tp + fn) if tp + fn else 0.0
    if name == "precision":
        return tp / (tp + fp) if tp + fp else 0.0
    if name == "f1":
        return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    # balanced accuracy: the mean recall of the classes present in the truth
    recalls = [tp / (tp + fn)] if tp + fn else []
    recalls += [tn / (tn + fp)] if tn + fp else []
    return float(np.mean(recalls))


def _binary_ranking(
    name: str, truth: Bools, scores: Floats, counts: tuple[Floats, Floats, Floats] | None = None
) -> float:
    """ROC AUC or average precision from the counts at each distinct score (NaN with one class only).

    ROC AUC is the area under the (false, true) positive-rate steps, ties counted as half (as scikit-learn
    does); average precision is the sum of precisions weighted by the recall gained at each threshold.
    """
    n_pos = int(np.count_nonzero(truth))
    if n_pos == 0 or n_pos == len(truth):
        return math.nan
    tps, fps, _ = counts if counts is not None else _cumulative_counts(truth, scores)
    if name == "roc_auc":
        tpr = np.r_[0.0, tps / tps[-1]]
        fpr = np.r_[0.0, fps / fps[-1]]
        return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    precision = tps / (tps + fps)
    recall = tps / n_pos
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def _cumulative_counts(truth: Bools, scores: Floats) -> tuple[Floats, Floats, Floats]:
    """True and false positives when flagging every row scoring at least each distinct score (high to low)."""
    order = np.argsort(-scores)
    ordered = scores[order]
    ends = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    tps = np.cumsum(truth[order], dtype=np.float64)[ends]
    fps = (ends + 1).astype(np.float64) - tps
    return tps, fps, ordered[ends]


def _multiclass_metric(name: str, p: Predictions) -> float:
    if name in ("roc_auc", "average_precision"):
        assert p.scores is not None
        function = roc_auc_score if name == "roc_auc" else average_precision_score
        values = []
        for k, label in enumerate(p.classes):
            positive = _is(p.y_true, label)
            if 0 < positive.sum() < len(positive):
                values.append(float(function(positive, p.scores[:, k])))
        return float(np.mean(values)) if values else math.nan
    if name == "accuracy":
        return float(accuracy_score(p.y_true, p.y_pred))
    if name == "balanced_accuracy":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a class absent from these rows: it is left out, as intended
            return float(balanced_accuracy_score(p.y_true, p.y_pred))
    function = {"recall": recall_score, "precision": precision_score, "f1": f1_score}[name]
    return float(function(p.y_true, p.y_pred, average="macro", zero_division=0.0))


def _regression_metric(name: str, truth: Floats, predicted: Floats) -> float:
    error = truth - predicted
    if name == "mae":
        return float(np.mean(np.abs(error)))
    if name == "rmse":
        return float(np.sqrt(np.mean(error**2)))
    if name == "mape":
        return float(np.mean(np.abs(error) / np.maximum(np.abs(truth), np.finfo(np.float64).eps)))
    if len(truth) < 2:
        return math.nan
    residual = float(np.sum(error**2))
    total = float(np.sum((truth - truth.mean()) ** 2))
    if total == 0.0:
        return 1.0 if residual == 0.0 else 0.0
    return 1.0 - residual / total


# ----------------------------------------------------------------------------- which runs may be compared


@dataclass(frozen=True)
class RunDescriptor:
    """What identifies the data and folds of a training run, for deciding whether runs may be compared.

    Attributes
    ----------
    run_id : str
        How people call the run (shown in messages).
    target, task_type : str
    dataset_version_id : str
        The dataset version trained on.
    lineage_root : str
        The root of that version's lineage (the imported version it derives from), by id or SHA-256.
    folds_signature : str
        :func:`folds_signature` of the run's configuration.
    """

    run_id: str
    target: str
    task_type: str
    dataset_version_id: str
    lineage_root: str
    folds_signature: str


@dataclass(frozen=True)
class Comparability:
    """Runs that may be compared, and whether their folds are the same (needed for the paired test).

    ``reason_key``/``params`` say why the folds differ (None when ``paired``).
    """

    paired: bool
    reason_key: str | None
    params: Mapping[str, Any]

    def message(self, lang: str = "en") -> str:
        """Why the runs cannot be compared fold by fold ("" when they can)."""
        return "" if self.reason_key is None else translate(self.reason_key, lang, **self.params)


def folds_signature(config: Mapping[str, Any]) -> str:
    """A short hash of the settings that decide the folds (scheme, folds, test share, group/order column, seed, task).

    Two runs on the same dataset version with the same signature were cross-validated on the same folds.

    Examples
    --------
    >>> a = folds_signature({"scheme": "kfold", "n_splits": 5, "random_state": 0, "task_type": "regression"})
    >>> b = folds_signature({"scheme": "kfold", "n_splits": 5, "random_state": 1, "task_type": "regression"})
    >>> len(a), a == b
    (16, False)
    """
    if not isinstance(config, Mapping):
        raise InputError("evaluation.compare.bad_config")
    settings = {k: config.get(k) for k in _RUN_FIELDS}
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_comparable(runs: Sequence[RunDescriptor]) -> Comparability:
    """Refuse runs that answer different questions; say whether they share folds.

    Runs predicting a different target, of a different task, or trained on data from a different lineage
    cannot be ranked against each other. Runs on different versions of one lineage may be ranked (for
    example before and after a preparation recipe), but not compared fold by fold.

    Raises
    ------
    InputError
        ``evaluation.compare.no_runs``, ``evaluation.compare.different_task``,
        ``evaluation.compare.different_target``, ``evaluation.compare.different_lineage``.

    Examples
    --------
    >>> a = RunDescriptor("run 1", "churned", "classification", "v3", "v1", "abc")
    >>> check_comparable([a, RunDescriptor("run 2", "churned", "classification", "v3", "v1", "abc")]).paired
    True
    >>> check_comparable([a, RunDescriptor("run 3", "revenue", "regression", "v3", "v1", "abc")])
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: Runs “run 1” and “run 3” cannot be compared: ...
    """
    if not runs:
        raise InputError("evaluation.compare.no_runs")
    first = runs[0]
    for other in runs[1:]:
        names = {"run": first.run_id[:80], "other_run": other.run_id[:80]}
        if other.task_type != first.task_type:
            raise InputError(
                "evaluation.compare.different_task", **names, task=first.task_type, other_task=other.task_type
            )
        if other.target != first.target:
            raise InputError(
                "evaluation.compare.different_target",
                **names,
                target=first.target[:80],
                other_target=other.target[:80],
            )
        if other.lineage_root != first.lineage_root:
            raise InputError("evaluation.compare.different_lineage", **names)
    for other in runs[1:]:
        names = {"run": first.run_id[:80], "other_run": other.run_id[:80]}
        if other.dataset_version_id != first.dataset_version_id:
            return Comparability(False, "evaluation.compare.not_paired_version", names)
        if other.folds_signature != first.folds_signature:
            return Comparability(False, "evaluation.compare.not_paired_folds", names)
    return Comparability(True, None, {})


# ----------------------------------------------------------------------------- leaderboard


@dataclass(frozen=True)
class CandidateFolds:
    """A candidate's per-fold metrics, from a training result or read back from a stored run.

    Attributes
    ----------
    name : str
        Shown in the leaderboard (unique among the candidates compared).
    family : str
        ``"dummy"`` marks the baseline.
    folds : mapping of str to tuple of float
        Metric -> value per fold, in fold order.
    train_rows, test_rows : tuple of int
        Rows trained and validated on per fold (empty when unknown; the paired test needs them).
    """

    name: str
    family: str
    folds: Mapping[str, tuple[float, ...]]
    train_rows: tuple[int, ...] = ()
    test_rows: tuple[int, ...] = ()

    @classmethod
    def from_candidate(cls, result: CandidateResult, *, name: str | None = None) -> CandidateFolds:
        """The folds of a :class:`~mlcore.modeling.training.CandidateResult` (named after its family by default)."""
        folds = {m: tuple(float(f[m]) for f in result.fold_metrics) for m in result.metrics}
        return cls(
            name=name or result.family,
            family=result.family,
            folds=folds,
            train_rows=tuple(int(f.get("train_rows", 0)) for f in result.fold_metrics),
            test_rows=tuple(int(f.get("test_rows", 0)) for f in result.fold_metrics),
        )

    @property
    def is_baseline(self) -> bool:
        return self.family == BASELINE_FAMILY

    def mean(self, metric: str) -> float:
        values = self.folds[metric]
        return float(np.mean(values)) if values else math.nan


Candidate = CandidateResult | CandidateFolds


def _as_folds(candidates: Sequence[Candidate]) -> list[CandidateFolds]:
    if not candidates:
        raise InputError("evaluation.leaderboard.empty")
    out: list[CandidateFolds] = []
    seen: dict[str, int] = {}
    for item in candidates:
        if isinstance(item, CandidateResult):
            folds = CandidateFolds.from_candidate(item)
        elif isinstance(item, CandidateFolds):
            folds = item
        else:
            raise InputError("evaluation.leaderboard.bad_candidate", kind=type(item).__name__)
        count = seen.get(folds.name, 0) + 1
        seen[folds.name] = count
        if count > 1:
            folds = CandidateFolds(
                f"{folds.name} ({count})", folds.family, folds.folds, folds.train_rows, folds.test_rows
            )
        out.append(folds)
    return out


@dataclass(frozen=True, eq=False)
class Leaderboard:
    """Candidates ranked by the primary metric, with every metric's mean ± standard deviation.

    Attributes
    ----------
    metric : str
        The primary metric (ranking).
    direction : {"higher", "lower"}
    metrics : tuple of str
        Every metric all candidates have, primary first.
    table : pandas.DataFrame
        One row per candidate, best first: ``rank`` (ties share a rank; a missing score ranks last),
        ``name``, ``family``, ``baseline`` (the dummy model), ``n_folds``, ``<metric>_mean`` and
        ``<metric>_std`` per metric (population standard deviation over folds, as training records it),
        and ``margin``: how much better than the baseline on the primary metric (NaN without baseline).
    folds : pandas.DataFrame
        Tidy, for a box or strip plot: ``name``, ``family``, ``baseline``, ``fold``, ``metric``, ``value``.
    """

    metric: str
    direction: Literal["higher", "lower"]
    metrics: tuple[str, ...]
    table: pd.DataFrame
    folds: pd.DataFrame
    candidates: tuple[CandidateFolds, ...]

    @property
    def best(self) -> str:
        """Name of the best-ranked candidate."""
        return str(self.table["name"].iloc[0])

    @property
    def baseline(self) -> str | None:
        """Name of the baseline candidate, if one was trained."""
        rows = self.table.loc[self.table["baseline"], "name"]
        return str(rows.iloc[0]) if len(rows) else None

    def candidate(self, name: str) -> CandidateFolds:
        for item in self.candidates:
            if item.name == name:
                return item
        raise InputError("evaluation.leaderboard.unknown_candidate", name=str(name)[:80])


def leaderboard(candidates: Sequence[Candidate], *, metric: str | None = None) -> Leaderboard:
    """Rank candidates on the same folds by ``metric``, respecting its direction (lower is better for errors).

    Parameters
    ----------
    candidates : sequence of CandidateResult or CandidateFolds
        Repeated names get " (2)", " (3)"… appended.
    metric : str, optional
        The primary metric (default: the first metric of the first candidate).

    Returns
    -------
    Leaderboard

    Raises
    ------
    InputError
        ``evaluation.leaderboard.empty``, ``evaluation.unknown_metric``,
        ``evaluation.leaderboard.metric_missing`` (a candidate did not record the metric).

    Examples
    --------
    >>> a = CandidateFolds("forest", "random_forest", {"mae": (1.0, 3.0)})
    >>> b = CandidateFolds("baseline", "dummy", {"mae": (4.0, 4.0)})
    >>> board = leaderboard([b, a])
    >>> board.table[["rank", "name", "mae_mean", "mae_std", "margin"]].values.tolist()
    [[1, 'forest', 2.0, 1.0, 2.0], [2, 'baseline', 4.0, 0.0, 0.0]]
    """
    items = _as_folds(candidates)
    primary = metric if metric is not None else next(iter(items[0].folds), None)
    primary = _check_metric(primary)
    for item in items:
        if primary not in item.folds:
            raise InputError("evaluation.leaderboard.metric_missing", name=item.name[:80], metric=primary)
    shared = [m for m in items[0].folds if all(m in i.folds for i in items) and m in METRICS]
    ordered = [primary, *[m for m in shared if m != primary]]
    direction = metric_direction(primary)
    sign = 1.0 if direction == "higher" else -1.0
    rows = []
    for item in items:
        row: dict[str, Any] = {
            "name": item.name,
            "family": item.family,
            "baseline": item.is_baseline,
            "n_folds": len(item.folds[primary]),
        }
        for m in ordered:
            values = np.asarray(item.folds[m], dtype=np.float64)
            row[f"{m}_mean"] = float(np.mean(values)) if len(values) else math.nan
            row[f"{m}_std"] = float(np.std(values)) if len(values) else math.nan
        rows.append(row)
    table = pd.DataFrame(rows)
    key = sign * table[f"{primary}_mean"]
    table["rank"] = key.rank(method="min", ascending=False, na_option="bottom").astype(int)
    table = table.assign(_order=key.fillna(-np.inf)).sort_values(["_order"], ascending=False, kind="stable")
    table = table.drop(columns="_order").reset_index(drop=True)
    baseline_rows = table.loc[table["baseline"], f"{primary}_mean"]
    base = float(baseline_rows.max() if direction == "higher" else baseline_rows.min()) if len(baseline_rows) else None
    # "+ 0.0" turns the baseline's own -0.0 into 0.0
    table["margin"] = sign * (table[f"{primary}_mean"] - base) + 0.0 if base is not None else math.nan
    table = table[["rank", "name", "family", "baseline", "n_folds", *table.columns[4:-2], "margin"]]
    tidy = [
        {
            "name": item.name,
            "family": item.family,
            "baseline": item.is_baseline,
            "fold": k + 1,
            "metric": m,
            "value": float(v),
        }
        for item in items
        for m in ordered
        for k, v in enumerate(item.folds[m])
    ]
    folds = pd.DataFrame(tidy, columns=["name", "family", "baseline", "fold", "metric", "value"])
    return Leaderboard(primary, direction, tuple(ordered), table, folds, tuple(items))


# ----------------------------------------------------------------------------- corrected resampled t-test


@dataclass(frozen=True)
class TTestResult:
    """Nadeau and Bengio's corrected resampled t-test on per-fold differences.

    ``t_statistic`` is ``mean / sqrt((1/k + n_test/n_train) * variance)`` with the sample variance of
    the ``k`` differences; ``p_value`` is two-sided with ``k - 1`` degrees of freedom.
    """

    t_statistic: float
    p_value: float
    df: int
    mean_difference: float
    std_difference: float
    n_folds: int
    test_train_ratio: float


def corrected_resampled_ttest(
    differences: npt.ArrayLike, *, n_train: float | Sequence[float], n_test: float | Sequence[float]
) -> TTestResult:
    """Test whether per-fold differences between two models average to zero, correcting for overlapping folds.

    Cross-validation folds share most of their training rows, so the fold scores are correlated and the
    plain paired t-test finds differences that are not there. Nadeau and Bengio (2003) inflate the
    variance by ``n_test / n_train``.

    Parameters
    ----------
    differences : array-like
        Score of model A minus score of model B, one per fold (the same folds for both).
    n_train, n_test : number or sequence of numbers
        Rows trained and validated on (per fold, or one number for all); their means are used.

    Returns
    -------
    TTestResult
        All differences equal to zero give t = 0 and p = 1; all equal and non-zero give an infinite t and p = 0.

    Raises
    ------
    InputError
        ``evaluation.compare.too_few_folds`` (fewer than two), ``evaluation.not_finite``,
        ``evaluation.compare.bad_rows``.

    Examples
    --------
    >>> r = corrected_resampled_ttest([0.01, 0.02, 0.03, 0.02, 0.02], n_train=80, n_test=20)
    >>> round(r.t_statistic, 4), r.df
    (4.2164, 4)
    """
    values = _numbers(differences, "differences")
    k = len(values)
    if k < 2:
        raise InputError("evaluation.compare.too_few_folds", folds=k)
    train = np.atleast_1d(np.asarray(n_train, dtype=np.float64))
    test = np.atleast_1d(np.asarray(n_test, dtype=np.float64))
    if not (np.all(np.isfinite(train)) and np.all(np.isfinite(test)) and train.min() > 0 and test.min() > 0):
        raise InputError("evaluation.compare.bad_rows")
    ratio = float(test.mean() / train.mean())
    mean = float(values.mean())
    variance = float(values.var(ddof=1))
    scale = math.sqrt((1.0 / k + ratio) * variance)
    if scale == 0.0:
        t = 0.0 if mean == 0.0 else math.copysign(math.inf, mean)
        p = 1.0 if mean == 0.0 else 0.0
    else:
        t = mean / scale
        p = float(2.0 * stats.t.sf(abs(t), df=k - 1))
    return TTestResult(t, min(p, 1.0), k - 1, mean, math.sqrt(variance), k, ratio)


@dataclass(frozen=True)
class PairedComparison:
    """Two candidates compared fold by fold on one metric, with a verdict in plain words.

    ``better``/``worse`` are by mean score (respecting the metric's direction); ``difference`` is how much
    better, in the metric's units (≥ 0). ``verdict_key`` is ``evaluation.compare.verdict.real``
    (p < alpha), ``.chance`` or ``.tie`` (the same mean).
    """

    metric: str
    better: str
    worse: str
    mean_better: float
    mean_worse: float
    difference: float
    test: TTestResult
    alpha: float
    significant: bool
    verdict_key: str

    @property
    def verdict_params(self) -> dict[str, Any]:
        return {
            "better": self.better,
            "worse": self.worse,
            "metric": self.metric,
            "p": self.test.p_value,
            "difference": self.difference,
        }

    def verdict(self, lang: str = "en") -> str:
        """The verdict as a sentence in ``lang`` ("A is better than B on ROC AUC; the difference is probably real")."""
        return translate(
            self.verdict_key,
            lang,
            better=self.better,
            worse=self.worse,
            metric=translate(f"planning.metric.{self.metric}", lang),
            p=_p_text(self.test.p_value, lang),
            difference=_short(self.difference, lang),
        )


def _p_text(p: float, lang: str) -> str:
    text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    return text.replace(".", ",") if lang == "es" else text


def _short(value: float, lang: str) -> str:
    text = f"{value:.4g}"
    return text.replace(".", ",") if lang == "es" else text


def compare_candidates(a: Candidate, b: Candidate, *, metric: str, alpha: float = 0.05) -> PairedComparison:
    """Compare two candidates cross-validated on the same folds with the corrected resampled t-test.

    Raises
    ------
    InputError
        ``evaluation.unknown_metric``, ``evaluation.leaderboard.metric_missing``,
        ``evaluation.compare.fold_mismatch`` (different numbers of folds, or different rows per fold),
        ``evaluation.compare.rows_unknown``, ``evaluation.compare.too_few_folds``, ``evaluation.compare.bad_alpha``.

    Examples
    --------
    >>> a = CandidateFolds("A", "random_forest", {"roc_auc": (0.90, 0.91, 0.92)}, (80,) * 3, (20,) * 3)
    >>> b = CandidateFolds("B", "logistic_regression", {"roc_auc": (0.70, 0.71, 0.72)}, (80,) * 3, (20,) * 3)
    >>> c = compare_candidates(b, a, metric="roc_auc")
    >>> c.better, c.significant, c.verdict("en")
    ('A', True, 'A is better than B on ROC AUC; the difference is probably real (p < 0.001).')
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < float(alpha) < 1.0:
        raise InputError("evaluation.compare.bad_alpha", alpha=str(alpha)[:20])
    first, second = _as_folds([a, b])
    metric = _check_metric(metric)
    for item in (first, second):
        if metric not in item.folds:
            raise InputError("evaluation.leaderboard.metric_missing", name=item.name[:80], metric=metric)
    va = np.asarray(first.folds[metric], dtype=np.float64)
    vb = np.asarray(second.folds[metric], dtype=np.float64)
    names = {"name": first.name[:80], "other": second.name[:80]}
    if len(va) != len(vb):
        raise InputError("evaluation.compare.fold_mismatch", **names, folds=len(va), other_folds=len(vb))
    if not first.train_rows or not first.test_rows or not second.train_rows or not second.test_rows:
        raise InputError("evaluation.compare.rows_unknown", **names)
    if first.train_rows != second.train_rows or first.test_rows != second.test_rows or len(first.test_rows) != len(va):
        raise InputError("evaluation.compare.fold_mismatch", **names, folds=len(va), other_folds=len(vb))
    sign = 1.0 if metric_direction(metric) == "higher" else -1.0
    test = corrected_resampled_ttest(sign * (va - vb), n_train=first.train_rows, n_test=first.test_rows)
    a_better = test.mean_difference >= 0
    better, worse = (first, second) if a_better else (second, first)
    mean_better, mean_worse = better.mean(metric), worse.mean(metric)
    significant = test.p_value < alpha
    if abs(test.mean_difference) <= 1e-12:  # equal means, up to rounding
        key = "evaluation.compare.verdict.tie"
    else:
        key = "evaluation.compare.verdict.real" if significant else "evaluation.compare.verdict.chance"
    return PairedComparison(
        metric=metric,
        better=better.name,
        worse=worse.name,
        mean_better=mean_better,
        mean_worse=mean_worse,
        difference=abs(test.mean_difference),
        test=test,
        alpha=float(alpha),
        significant=significant,
        verdict_key=key,
    )


def compare_top(
    candidates: Sequence[Candidate] | Leaderboard,
    *,
    metric: str | None = None,
    top: int = 3,
    alpha: float = 0.05,
    versus_baseline: bool = True,
) -> tuple[PairedComparison, ...]:
    """Compare the best candidate with the next ``top - 1`` ones (and with the baseline), fold by fold.

    Raises
    ------
    InputError
        Those of :func:`leaderboard` and :func:`compare_candidates`; ``evaluation.compare.bad_top``.
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 2:
        raise InputError("evaluation.compare.bad_top", top=str(top)[:20])
    board = candidates if isinstance(candidates, Leaderboard) else leaderboard(candidates, metric=metric)
    name_metric = board.metric if metric is None else _check_metric(metric)
    names = [str(n) for n in board.table["name"]]
    best = board.candidate(names[0])
    others = [n for n in names[1:] if not board.candidate(n).is_baseline][: top - 1]
    if versus_baseline and board.baseline is not None and board.baseline != best.name:
        others.append(board.baseline)
    return tuple(compare_candidates(best, board.candidate(n), metric=name_metric, alpha=alpha) for n in others)


# ----------------------------------------------------------------------------- curves


@dataclass(frozen=True, eq=False)
class Curve:
    """A plot-ready curve: draw ``frame[y]`` against ``frame[x]``, and ``reference`` (chance) the same way.

    Attributes
    ----------
    kind : {"roc", "precision_recall", "calibration", "gains"}
    frame : pandas.DataFrame
    x, y : str
        Column names to plot.
    reference : pandas.DataFrame
        Two points with the same columns: what a model without skill draws.
    summary : float or None
        ROC AUC, average precision, Brier score (calibration); None for gains.
    summary_name : str
        ``roc_auc``, ``average_precision``, ``brier`` or "".
    """

    kind: str
    frame: pd.DataFrame
    x: str
    y: str
    reference: pd.DataFrame
    summary: float | None
    summary_name: str


def _thin(frame: pd.DataFrame, max_points: int | None) -> pd.DataFrame:
    """At most ``max_points`` rows, evenly spaced, always keeping the first and the last."""
    if max_points is None or len(frame) <= max_points:
        return frame.reset_index(drop=True)
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
        raise InputError("evaluation.bad_max_points", value=str(max_points)[:20])
    keep = np.unique(np.linspace(0, len(frame) - 1, max_points).round().astype(int))
    return frame.iloc[keep].reset_index(drop=True)


def roc_curve_frame(
    y_true: npt.ArrayLike, scores: npt.ArrayLike, *, pos_label: Any = None, max_points: int | None = 1000
) -> Curve:
    """The ROC curve: true-positive rate against false-positive rate as the threshold falls.

    Frame columns ``threshold`` (NaN for the first point, where nothing is flagged),
    ``false_positive_rate``, ``true_positive_rate``. Scores may be probabilities or any decision values.

    Raises
    ------
    InputError
        ``evaluation.single_class``, ``evaluation.not_binary``, ``evaluation.length_mismatch``,
        ``evaluation.not_finite`` (NaN scores), ``evaluation.empty``.

    Examples
    --------
    >>> c = roc_curve_frame([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> c.summary, c.frame["true_positive_rate"].tolist()
    (0.75, [0.0, 0.5, 0.5, 1.0, 1.0])
    """
    truth, _ = _binary(y_true, pos_label, both=True)
    values = _scores(scores, probabilities=False)
    _same_length(truth, values, "y_true", "scores")
    tps, fps, thresholds = _cumulative_counts(truth, values)
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    frame = pd.DataFrame(
        {"threshold": np.r_[np.nan, thresholds], "false_positive_rate": fpr, "true_positive_rate": tpr}
    )
    reference = pd.DataFrame({"false_positive_rate": [0.0, 1.0], "true_positive_rate": [0.0, 1.0]})
    return Curve(
        "roc",
        _thin(frame, max_points),
        "false_positive_rate",
        "true_positive_rate",
        reference,
        _binary_ranking("roc_auc", truth, values),
        "roc_auc",
    )


def precision_recall_frame(
    y_true: npt.ArrayLike, scores: npt.ArrayLike, *, pos_label: Any = None, max_points: int | None = 1000
) -> Curve:
    """Precision against recall as the threshold falls; the summary is the average precision.

    Frame columns ``threshold``, ``recall``, ``precision`` (one row per distinct score, highest first).
    The reference is the share of positives: the precision of flagging rows at random.

    Raises
    ------
    InputError
        As :func:`roc_curve_frame`.

    Examples
    --------
    >>> c = precision_recall_frame([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> round(c.summary, 4), c.frame["precision"].round(3).tolist()
    (0.8333, [1.0, 0.5, 0.667, 0.5])
    """
    truth, _ = _binary(y_true, pos_label, both=True)
    values = _scores(scores, probabilities=False)
    _same_length(truth, values, "y_true", "scores")
    tps, fps, thresholds = _cumulative_counts(truth, values)
    frame = pd.DataFrame({"threshold": thresholds, "recall": tps / tps[-1], "precision": tps / (tps + fps)})
    prevalence = float(truth.mean())
    reference = pd.DataFrame({"recall": [0.0, 1.0], "precision": [prevalence, prevalence]})
    return Curve(
        "precision_recall",
        _thin(frame, max_points),
        "recall",
        "precision",
        reference,
        _binary_ranking("average_precision", truth, values),
        "average_precision",
    )


def calibration_curve_frame(
    y_true: npt.ArrayLike,
    probabilities: npt.ArrayLike,
    *,
    pos_label: Any = None,
    n_bins: int = 10,
    strategy: Literal["uniform", "quantile"] = "uniform",
) -> Curve:
    """The reliability diagram: in each band of predicted probability, the share that really is positive.

    Frame columns ``bin``, ``lower``, ``upper``, ``count``, ``mean_predicted``, ``fraction_positive`` (empty
    bands left out). Bands are equal-width (``uniform``) or equal-count (``quantile``); a probability on a
    band edge belongs to the lower band, as in :func:`sklearn.calibration.calibration_curve`. The summary
    is the Brier score (mean squared error of the probabilities, lower is better).

    Raises
    ------
    InputError
        ``evaluation.scores_not_probabilities``, ``evaluation.bad_bins``, ``evaluation.bad_strategy``,
        plus those of :func:`roc_curve_frame` except a single class (calibration is defined with one).

    Examples
    --------
    >>> c = calibration_curve_frame([0, 1, 1, 0], [0.1, 0.2, 0.9, 0.95], n_bins=2)
    >>> c.frame[["mean_predicted", "fraction_positive", "count"]].round(3).values.tolist()
    [[0.15, 0.5, 2.0], [0.925, 0.5, 2.0]]
    """
    truth, _ = _binary(y_true, pos_label, both=False)
    values = _scores(probabilities, probabilities=True)
    _same_length(truth, values, "y_true", "scores")
    bins = _check_bins(n_bins)
    if strategy == "uniform":
        edges = np.linspace(0.0, 1.0, bins + 1)
    elif strategy == "quantile":
        edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, bins + 1)))
        edges[0], edges[-1] = min(edges[0], 0.0), max(edges[-1], 1.0)
    else:
        raise InputError("evaluation.bad_strategy", strategy=str(strategy)[:20], choices="uniform, quantile")
    ids = np.searchsorted(edges[1:-1], values)
    count = np.bincount(ids, minlength=len(edges) - 1).astype(np.float64)
    predicted = np.bincount(ids, weights=values, minlength=len(edges) - 1)
    positives = np.bincount(ids, weights=truth.astype(np.float64), minlength=len(edges) - 1)
    used = count > 0
    frame = pd.DataFrame(
        {
            "bin": np.flatnonzero(used) + 1,
            "lower": edges[:-1][used],
            "upper": edges[1:][used],
            "count": count[used],
            "mean_predicted": predicted[used] / count[used],
            "fraction_positive": positives[used] / count[used],
        }
    )
    reference = pd.DataFrame({"mean_predicted": [0.0, 1.0], "fraction_positive": [0.0, 1.0]})
    brier = float(np.mean((values - truth) ** 2))
    return Curve("calibration", frame, "mean_predicted", "fraction_positive", reference, brier, "brier")


def _check_bins(n_bins: Any) -> int:
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or not 1 <= n_bins <= 1000:
        raise InputError("evaluation.bad_bins", value=str(n_bins)[:20])
    return int(n_bins)


def cumulative_gains_frame(
    y_true: npt.ArrayLike, scores: npt.ArrayLike, *, pos_label: Any = None, max_points: int | None = 1000
) -> Curve:
    """Cumulative gains: acting on the top share of rows by score, the share of all positives reached.

    Frame columns ``share_of_rows``, ``share_of_positives`` and ``lift`` (how many times better than
    picking rows at random), from (0, 0) to (1, 1); rows with the same score are taken together.

    Raises
    ------
    InputError
        As :func:`roc_curve_frame`.

    Examples
    --------
    >>> c = cumulative_gains_frame([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    >>> c.frame[["share_of_rows", "share_of_positives"]].values.tolist()
    [[0.0, 0.0], [0.25, 0.5], [0.5, 0.5], [0.75, 1.0], [1.0, 1.0]]
    """
    truth, _ = _binary(y_true, pos_label, both=True)
    values = _scores(scores, probabilities=False)
    _same_length(truth, values, "y_true", "scores")
    tps, fps, _ = _cumulative_counts(truth, values)
    rows = np.r_[0.0, (tps + fps) / len(truth)]
    gains = np.r_[0.0, tps / tps[-1]]
    with np.errstate(divide="ignore", invalid="ignore"):
        lift = np.where(rows > 0, gains / np.where(rows > 0, rows, 1.0), np.nan)
    frame = pd.DataFrame({"share_of_rows": rows, "share_of_positives": gains, "lift": lift})
    reference = pd.DataFrame({"share_of_rows": [0.0, 1.0], "share_of_positives": [0.0, 1.0]})
    return Curve("gains", _thin(frame, max_points), "share_of_rows", "share_of_positives", reference, None, "")


def confusion_frame(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, labels: Sequence[Any] | None = None
) -> pd.DataFrame:
    """The confusion matrix of predicted labels, tidy: ``actual``, ``predicted``, ``count``, ``share_of_actual``.

    Every (actual, predicted) pair of ``labels`` (default: the labels seen, sorted as text) has a row,
    zeros included. For two classes at a chosen threshold, see :meth:`ThresholdMetrics.confusion_frame`.

    Examples
    --------
    >>> confusion_frame(["a", "b", "b"], ["a", "a", "b"]).values.tolist()
    [['a', 'a', 1, 1.0], ['a', 'b', 0, 0.0], ['b', 'a', 1, 0.5], ['b', 'b', 1, 0.5]]
    """
    truth = _truth(y_true)
    predicted = _vector(y_pred, "y_pred")
    _same_length(truth, predicted, "y_true", "y_pred")
    if labels is None:
        labels = sorted(set(pd.unique(pd.Series(truth))) | set(pd.unique(pd.Series(predicted))), key=str)
    counts = pd.crosstab(pd.Series(truth, name="actual"), pd.Series(predicted, name="predicted"))
    counts = counts.reindex(index=list(labels), columns=list(labels), fill_value=0)
    tidy = counts.stack().rename("count").reset_index()
    tidy.columns = ["actual", "predicted", "count"]
    totals = tidy.groupby("actual", sort=False)["count"].transform("sum")
    tidy["count"] = tidy["count"].astype(int)
    tidy["share_of_actual"] = np.where(totals > 0, tidy["count"] / totals.where(totals > 0, 1), 0.0)
    return tidy


# ----------------------------------------------------------------------------- regression plots


def _regression_inputs(y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> tuple[Floats, Floats]:
    truth = _numbers(y_true, "y_true")
    predicted = _numbers(y_pred, "y_pred")
    _same_length(truth, predicted, "y_true", "y_pred")
    return truth, predicted


def regression_points(
    y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, max_points: int | None = 5000, random_state: int = 0
) -> pd.DataFrame:
    """Points for the predicted-against-actual and residual plots: ``actual``, ``predicted``, ``residual``.

    ``residual`` is actual minus predicted (positive: the model predicted too low). With more rows than
    ``max_points`` a seeded random sample is returned (plots of 100,000 points are slow and unreadable).

    Raises
    ------
    InputError
        ``evaluation.empty``, ``evaluation.length_mismatch``, ``evaluation.not_numbers``, ``evaluation.not_finite``.

    Examples
    --------
    >>> regression_points([3.0, 5.0], [2.5, 6.0])["residual"].tolist()
    [0.5, -1.0]
    """
    truth, predicted = _regression_inputs(y_true, y_pred)
    frame = pd.DataFrame({"actual": truth, "predicted": predicted, "residual": truth - predicted})
    if max_points is not None and len(frame) > max_points:
        if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 1:
            raise InputError("evaluation.bad_max_points", value=str(max_points)[:20])
        keep = np.sort(np.random.default_rng(random_state).choice(len(frame), size=max_points, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    return frame


def error_by_range(y_true: npt.ArrayLike, y_pred: npt.ArrayLike, *, n_bins: int = 10) -> pd.DataFrame:
    """How large the errors are in each range of the true value (equal-count bins).

    Columns ``bin``, ``lower``, ``upper``, ``count``, ``mae``, ``rmse`` and ``mean_residual`` (actual minus
    predicted: positive means the model predicts too low in that range). Repeated values can merge bins.

    Examples
    --------
    >>> table = error_by_range([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.0, 6.0], n_bins=2)
    >>> table[["count", "mae", "mean_residual"]].values.tolist()
    [[2.0, 0.0, 0.0], [2.0, 1.5, -0.5]]
    """
    truth, predicted = _regression_inputs(y_true, y_pred)
    bins = _check_bins(n_bins)
    edges = np.unique(np.quantile(truth, np.linspace(0.0, 1.0, bins + 1)))
    if len(edges) < 2:
        edges = np.array([truth[0], truth[0]])
    ids = np.clip(np.searchsorted(edges[1:-1], truth, side="right"), 0, len(edges) - 2)
    error = truth - predicted
    size = len(edges) - 1
    count = np.bincount(ids, minlength=size).astype(np.float64)
    absolute = np.bincount(ids, weights=np.abs(error), minlength=size)
    squared = np.bincount(ids, weights=error**2, minlength=size)
    signed = np.bincount(ids, weights=error, minlength=size)
    used = count > 0
    return pd.DataFrame(
        {
            "bin": np.flatnonzero(used) + 1,
            "lower": edges[:-1][used],
            "upper": edges[1:][used],
            "count": count[used],
            "mae": absolute[used] / count[used],
            "rmse": np.sqrt(squared[used] / count[used]),
            "mean_residual": signed[used] / count[used],
        }
    )


# ----------------------------------------------------------------------------- threshold and cost


@dataclass(frozen=True)
class ThresholdMetrics:
    """What happens when every row scoring at least ``threshold`` is flagged positive.

    Precision, recall and F1 are 0 when undefined (nothing flagged, no positives), as in training's scorers.
    ``cost`` is ``false_positives * cost_false_positive + false_negatives * cost_false_negative`` over
    these rows and ``cost_per_row`` its average (None without costs).
    """

    threshold: float
    n_rows: int
    true_positives: int
    false_positives: int
    true_negatives: int
    false_negatives: int
    precision: float
    recall: float
    f1: float
    accuracy: float
    selection_rate: float
    specificity: float
    false_positive_rate: float
    cost: float | None = None
    cost_per_row: float | None = None

    def confusion_frame(self) -> pd.DataFrame:
        """The 2×2 confusion matrix, tidy: ``actual``, ``predicted`` (``positive``/``negative``), ``count``."""
        return pd.DataFrame(
            {
                "actual": ["positive", "positive", "negative", "negative"],
                "predicted": ["positive", "negative", "positive", "negative"],
                "count": [self.true_positives, self.false_negatives, self.false_positives, self.true_negatives],
            }
        )


def _costs(cost_false_positive: Any, cost_false_negative: Any) -> tuple[float, float] | None:
    if cost_false_positive is None and cost_false_negative is None:
        return None
    if cost_false_positive is None or cost_false_negative is None:
        raise InputError("evaluation.cost.incomplete")
    out = []
    for name, value in (("cost_false_positive", cost_false_positive), ("cost_false_negative", cost_false_negative)):
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise InputError("evaluation.cost.bad_value", field=name, value=str(value)[:20])
        number = float(value)
        if not math.isfinite(number) or number < 0:
            raise InputError("evaluation.cost.bad_value", field=name, value=str(value)[:20])
        out.append(number)
    return out[0], out[1]


def canvas_costs(canvas: Canvas) -> tuple[float, float]:
    """The planning canvas's cost of a false positive and of a false negative.

    Raises
    ------
    InputError
        ``evaluation.cost.missing_in_canvas`` when either is not filled in.

    Examples
    --------
    >>> canvas_costs(Canvas(task_type="classification", cost_false_positive=5, cost_false_negative=50))
    (5.0, 50.0)
    """
    if canvas.cost_false_positive is None or canvas.cost_false_negative is None:
        raise InputError("evaluation.cost.missing_in_canvas")
    return float(canvas.cost_false_positive), float(canvas.cost_false_negative)


def _sweep(truth: Bools, scores: Floats) -> pd.DataFrame:
    """Counts at every candidate threshold (each distinct score, and 1.0 when no score reaches it), ascending."""
    tps, fps, thresholds = _cumulative_counts(truth, scores)
    if thresholds[0] < 1.0:
        tps, fps, thresholds = np.r_[0.0, tps], np.r_[0.0, fps], np.r_[1.0, thresholds]
    n = float(len(truth))
    positives = float(np.count_nonzero(truth))
    negatives = n - positives
    frame = pd.DataFrame(
        {
            "threshold": thresholds,
            "true_positives": tps.astype(np.int64),
            "false_positives": fps.astype(np.int64),
            "true_negatives": (negatives - fps).astype(np.int64),
            "false_negatives": (positives - tps).astype(np.int64),
        }
    )
    return frame.iloc[::-1].reset_index(drop=True)


def _add_rates(frame: pd.DataFrame, n: int, costs: tuple[float, float] | None) -> pd.DataFrame:
    tp = frame["true_positives"].to_numpy(np.float64)
    fp = frame["false_positives"].to_numpy(np.float64)
    tn = frame["true_negatives"].to_numpy(np.float64)
    fn = frame["false_negatives"].to_numpy(np.float64)

    def ratio(num: Floats, den: Floats) -> Floats:
        return np.divide(num, den, out=np.zeros_like(num), where=den > 0)

    out = frame.copy()
    out["precision"] = ratio(tp, tp + fp)
    out["recall"] = ratio(tp, tp + fn)
    out["f1"] = ratio(2 * tp, 2 * tp + fp + fn)
    out["accuracy"] = (tp + tn) / n
    out["selection_rate"] = (tp + fp) / n
    out["specificity"] = ratio(tn, tn + fp)
    out["false_positive_rate"] = ratio(fp, fp + tn)
    if costs is not None:
        out["cost"] = fp * costs[0] + fn * costs[1]
        out["cost_per_row"] = out["cost"] / n
    return out


def _row_metrics(row: Mapping[str, Any], n: int) -> ThresholdMetrics:
    return ThresholdMetrics(
        threshold=float(row["threshold"]),
        n_rows=n,
        true_positives=int(row["true_positives"]),
        false_positives=int(row["false_positives"]),
        true_negatives=int(row["true_negatives"]),
        false_negatives=int(row["false_negatives"]),
        precision=float(row["precision"]),
        recall=float(row["recall"]),
        f1=float(row["f1"]),
        accuracy=float(row["accuracy"]),
        selection_rate=float(row["selection_rate"]),
        specificity=float(row["specificity"]),
        false_positive_rate=float(row["false_positive_rate"]),
        cost=float(row["cost"]) if "cost" in row else None,
        cost_per_row=float(row["cost_per_row"]) if "cost_per_row" in row else None,
    )


def _threshold_inputs(y_true: npt.ArrayLike, scores: npt.ArrayLike, pos_label: Any) -> tuple[Bools, Floats]:
    truth, _ = _binary(y_true, pos_label, both=False)
    values = _scores(scores, probabilities=True)
    _same_length(truth, values, "y_true", "scores")
    return truth, values


def metrics_at_threshold(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    threshold: float,
    *,
    pos_label: Any = None,
    cost_false_positive: float | None = None,
    cost_false_negative: float | None = None,
) -> ThresholdMetrics:
    """Counts, rates and (with both costs) the cost of flagging every row whose probability is ≥ ``threshold``.

    Parameters
    ----------
    y_true : array-like
        Two classes (one is accepted when ``pos_label`` is given).
    scores : array-like
        Probability of the positive class, in [0, 1].
    threshold : float
        In [0, 1].
    pos_label : object, optional
    cost_false_positive, cost_false_negative : float, optional
        Both or neither; see :func:`canvas_costs`.

    Raises
    ------
    InputError
        ``evaluation.threshold_out_of_range``, ``evaluation.scores_not_probabilities``,
        ``evaluation.not_finite``, ``evaluation.length_mismatch``, ``evaluation.not_binary``,
        ``evaluation.single_class`` (one class and no ``pos_label``), ``evaluation.cost.incomplete``,
        ``evaluation.cost.bad_value``.

    Examples
    --------
    >>> m = metrics_at_threshold([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.2, 0.7], 0.5,
    ...                          cost_false_positive=1, cost_false_negative=10)
    >>> (m.true_positives, m.false_positives, m.false_negatives), round(m.precision, 3), m.cost
    ((2, 1, 1), 0.667, 11.0)
    """
    value = _check_threshold(threshold)
    truth, values = _threshold_inputs(y_true, scores, pos_label)
    costs = _costs(cost_false_positive, cost_false_negative)
    flagged = values >= value
    tp = int(np.count_nonzero(truth & flagged))
    fp = int(np.count_nonzero(~truth & flagged))
    fn = int(np.count_nonzero(truth & ~flagged))
    tn = len(truth) - tp - fp - fn
    row = pd.DataFrame(
        {
            "threshold": [value],
            "true_positives": [tp],
            "false_positives": [fp],
            "true_negatives": [tn],
            "false_negatives": [fn],
        }
    )
    return _row_metrics(_add_rates(row, len(truth), costs).iloc[0].to_dict(), len(truth))


def threshold_table(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    pos_label: Any = None,
    cost_false_positive: float | None = None,
    cost_false_negative: float | None = None,
    max_rows: int | None = None,
) -> pd.DataFrame:
    """Every threshold worth considering (each distinct probability, and 1.0), with the metrics of
    :class:`ThresholdMetrics` as columns, ascending: the data behind a threshold slider or chart.

    Raises
    ------
    InputError
        As :func:`metrics_at_threshold`; ``evaluation.bad_max_points``.

    Examples
    --------
    >>> threshold_table([1, 0, 1], [0.9, 0.5, 0.2])[["threshold", "true_positives", "false_positives"]].values.tolist()
    [[0.2, 2.0, 1.0], [0.5, 1.0, 1.0], [0.9, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    truth, values = _threshold_inputs(y_true, scores, pos_label)
    costs = _costs(cost_false_positive, cost_false_negative)
    return _thin(_add_rates(_sweep(truth, values), len(truth), costs), max_rows)


@dataclass(frozen=True)
class ThresholdChoice:
    """A threshold chosen for a goal, or the closest one when the goal cannot be met.

    Attributes
    ----------
    met : bool
        False when no threshold satisfies the constraint.
    threshold : float
    metrics : ThresholdMetrics
        At the chosen threshold (or, when not met, where the constrained measure comes closest).
    reason_key : str
        ``evaluation.threshold.min_cost``, ``evaluation.threshold.constraint_met`` or
        ``evaluation.threshold.cannot_be_met``.
    params : mapping
    """

    met: bool
    threshold: float
    metrics: ThresholdMetrics
    reason_key: str
    params: Mapping[str, Any]

    def message(self, lang: str = "en") -> str:
        params = dict(self.params)
        for name in ("constraint", "maximize"):
            if name in params:
                params[name] = translate(f"evaluation.measure.{params[name]}", lang)
        for name in ("bound", "best", "threshold", "value", "cost", "cost_per_row"):
            if isinstance(params.get(name), float):
                params[name] = _short(params[name], lang)
        return translate(self.reason_key, lang, **params)


def minimum_cost_threshold(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    cost_false_positive: float,
    cost_false_negative: float,
    pos_label: Any = None,
) -> ThresholdChoice:
    """The threshold with the lowest total cost of errors (ties: the highest such threshold, flagging fewest rows).

    Raises
    ------
    InputError
        As :func:`metrics_at_threshold`.

    Examples
    --------
    >>> choice = minimum_cost_threshold([1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.2, 0.7],
    ...                                 cost_false_positive=1, cost_false_negative=10)
    >>> choice.threshold, choice.metrics.cost
    (0.4, 1.0)
    """
    truth, values = _threshold_inputs(y_true, scores, pos_label)
    costs = _costs(cost_false_positive, cost_false_negative)
    if costs is None:
        raise InputError("evaluation.cost.incomplete")
    table = _add_rates(_sweep(truth, values), len(truth), costs)
    cost = table["cost"].to_numpy()
    best = int(np.flatnonzero(cost == cost.min())[-1])
    metrics = _row_metrics(table.iloc[best].to_dict(), len(truth))
    params = {"threshold": metrics.threshold, "cost": metrics.cost, "cost_per_row": metrics.cost_per_row}
    return ThresholdChoice(True, metrics.threshold, metrics, "evaluation.threshold.min_cost", params)


def threshold_for_constraint(
    y_true: npt.ArrayLike,
    scores: npt.ArrayLike,
    *,
    constraint: str = "precision",
    bound: float,
    maximize: str = "recall",
    pos_label: Any = None,
) -> ThresholdChoice:
    """The threshold that maximises ``maximize`` while ``constraint`` stays within ``bound``.

    ``constraint`` is a minimum for precision, recall, F1, accuracy and specificity, and a maximum for
    selection rate and false-positive rate (see :data:`CONSTRAINT_MEASURES`). Ties go to the highest
    threshold. When no threshold satisfies the constraint the choice says so (``met`` False) and shows the
    threshold where the constrained measure comes closest.

    Raises
    ------
    InputError
        ``evaluation.threshold.unknown_measure``, ``evaluation.threshold.bad_bound``, and those of
        :func:`metrics_at_threshold`.

    Examples
    --------
    >>> y, s = [1, 1, 0, 0, 1], [0.9, 0.4, 0.6, 0.2, 0.7]
    >>> choice = threshold_for_constraint(y, s, constraint="precision", bound=0.75)
    >>> choice.met, choice.threshold, choice.metrics.recall
    (True, 0.4, 1.0)
    >>> threshold_for_constraint(y, s, constraint="precision", bound=1.0, maximize="recall").threshold
    0.7
    """
    if constraint not in CONSTRAINT_MEASURES:
        raise InputError(
            "evaluation.threshold.unknown_measure", measure=str(constraint)[:40], choices=", ".join(CONSTRAINT_MEASURES)
        )
    if maximize not in _MAXIMISABLE:
        raise InputError(
            "evaluation.threshold.unknown_measure", measure=str(maximize)[:40], choices=", ".join(_MAXIMISABLE)
        )
    if isinstance(bound, bool) or not isinstance(bound, int | float) or not (0.0 <= float(bound) <= 1.0):
        raise InputError("evaluation.threshold.bad_bound", bound=str(bound)[:20])
    truth, values = _threshold_inputs(y_true, scores, pos_label)
    table = _add_rates(_sweep(truth, values), len(truth), None)
    measured = table[constraint].to_numpy()
    at_least = CONSTRAINT_MEASURES[constraint] == "at_least"
    # A tiny tolerance so that a bound typed as 0.8 is met by 4/5 computed in floating point.
    ok = measured >= float(bound) - 1e-12 if at_least else measured <= float(bound) + 1e-12
    params: dict[str, Any] = {"constraint": constraint, "bound": float(bound), "maximize": maximize}
    if ok.any():
        target = np.where(ok, table[maximize].to_numpy(), -np.inf)
        best = int(np.flatnonzero(target == target.max())[-1])
        metrics = _row_metrics(table.iloc[best].to_dict(), len(truth))
        params |= {"threshold": metrics.threshold, "value": float(getattr(metrics, maximize))}
        return ThresholdChoice(True, metrics.threshold, metrics, "evaluation.threshold.constraint_met", params)
    closest = measured if at_least else -measured
    best = int(np.flatnonzero(closest == closest.max())[-1])
    metrics = _row_metrics(table.iloc[best].to_dict(), len(truth))
    params |= {"best": float(measured[best]), "threshold": metrics.threshold}
    return ThresholdChoice(False, metrics.threshold, metrics, "evaluation.threshold.cannot_be_met", params)
