"""The objectives canvas: a business goal translated into an ML goal with measurable success criteria.

A canvas is filled in over days, so every field is optional; :func:`canvas_completeness`
and :func:`missing_essentials` say how far along it is. :func:`propose_ml_goal` suggests a
task, metric and threshold for common business objectives, with the reasons in plain words.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlcore.errors import InputError
from mlcore.i18n import catalog, translate

__all__ = [
    "CLASSIFICATION_METRICS",
    "ESSENTIAL_FIELDS",
    "LATENCIES",
    "METRICS",
    "OBJECTIVE_TYPES",
    "REGRESSION_METRICS",
    "TASK_TYPES",
    "TEXT_LIMITS",
    "VOLUME_PERIODS",
    "Canvas",
    "PlanningInputError",
    "Proposal",
    "apply_proposal",
    "canvas_completeness",
    "check_text",
    "metric_direction",
    "meets_threshold",
    "missing_essentials",
    "parse_model",
    "propose_ml_goal",
    "validate_canvas",
]

TaskType = Literal["classification", "regression"]
Latency = Literal["seconds", "minutes", "hours", "days"]
VolumePeriod = Literal["hour", "day", "week", "month", "year"]
ObjectiveType = Literal[
    "reduce_churn",
    "detect_fraud",
    "forecast_demand",
    "prioritise_leads",
    "estimate_price_or_duration",
    "triage_tickets",
    "other",
]

TASK_TYPES: tuple[str, ...] = get_args(TaskType)
LATENCIES: tuple[str, ...] = get_args(Latency)
VOLUME_PERIODS: tuple[str, ...] = get_args(VolumePeriod)
OBJECTIVE_TYPES: tuple[str, ...] = get_args(ObjectiveType)

CLASSIFICATION_METRICS: tuple[str, ...] = (
    "recall",
    "precision",
    "f1",
    "roc_auc",
    "average_precision",
    "accuracy",
    "balanced_accuracy",
)
"""Classification metrics. With more than two classes recall, precision, f1 and average
precision are macro averages (every class counts the same) and roc_auc is one-vs-rest."""

REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "r2", "mape")
"""Regression metrics. ``mape`` is a fraction: 0.10 means an average error of 10%."""

METRICS: dict[str, tuple[str, ...]] = {
    "classification": CLASSIFICATION_METRICS,
    "regression": REGRESSION_METRICS,
}
_RATE_METRICS = frozenset(CLASSIFICATION_METRICS)
_ERROR_METRICS = frozenset({"mae", "rmse", "mape"})

TEXT_LIMITS: dict[str, int] = {
    "business_objective": 2000,
    "kpi_name": 200,
    "prediction_users": 500,
    "prediction_action": 2000,
    "target_definition": 2000,
    "prediction_unit": 200,
    "horizon": 200,
    "business_target": 2000,
    "baseline_process": 2000,
}
"""Longest accepted text, in characters, for each free-text field of the canvas."""

ESSENTIAL_FIELDS: tuple[str, ...] = (
    "business_objective",
    "kpi_name",
    "kpi_current_value",
    "prediction_users",
    "prediction_action",
    "task_type",
    "target_definition",
    "prediction_unit",
    "horizon",
    "business_target",
    "metric",
    "threshold",
    "baseline_process",
    "latency",
    "volume_per_period",
    "interpretability_required",
)
"""Fields a go/no-go decision needs. Classification adds the two error costs
(:data:`_CLASSIFICATION_ESSENTIALS`); the secondary constraint and the baseline's score are optional."""

_CLASSIFICATION_ESSENTIALS = ("cost_false_positive", "cost_false_negative")

# Parameters whose value is a code with its own catalog entry: messages show the translated name.
_NAMED_PARAMS = {
    "field": "planning.field.",
    "metric": "planning.metric.",
    "task_type": "planning.task.",
    "dimension": "planning.dimension.",
}
# Bidirectional overrides and isolates can make text display differently from what it says.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


class PlanningInputError(InputError):
    """An :class:`~mlcore.errors.InputError` that names fields and metrics in the reader's language.

    Parameters called ``field``, ``metric``, ``task_type`` or ``dimension`` hold codes
    (``"cost_false_positive"``); :meth:`message` replaces them by their translated names.

    Examples
    --------
    >>> err = PlanningInputError("planning.canvas.negative_cost", field="cost_false_positive", value=-1)
    >>> err.params["field"]
    'cost_false_positive'
    >>> err.message("es")[:37]
    '«Costo de un falso positivo» no puede'
    """

    def message(self, lang: str = "en") -> str:
        """Return the message translated into ``lang``, with coded parameters translated too."""
        params = dict(self.params)
        for name, prefix in _NAMED_PARAMS.items():
            value = params.get(name)
            if isinstance(value, str) and prefix + value in catalog("en"):
                params[name] = translate(prefix + value, lang)
        return translate(self.key, lang, **params)


def check_text(value: object, *, field: str, limit: int, multiline: bool = True) -> str | None:
    """Return ``value`` stripped (``None`` when empty), or raise if it is too long or has control characters.

    Parameters
    ----------
    value : object
        The text typed by a user (``None`` and ``""`` mean "not filled in yet").
    field : str
        Field name, for the error message.
    limit : int
        Longest accepted length in characters.
    multiline : bool
        Whether line breaks and tabs are allowed.

    Raises
    ------
    PlanningInputError
        ``planning.text.not_text``, ``planning.text.too_long`` or ``planning.text.control_chars``.

    Examples
    --------
    >>> check_text("  Keep customers  ", field="business_objective", limit=50)
    'Keep customers'
    >>> check_text("", field="business_objective", limit=50) is None
    True
    """
    if value is None:
        return None
    if not isinstance(value, str):
        raise PlanningInputError("planning.text.not_text", field=field)
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        return None
    allowed = {"\n", "\t"} if multiline else set()
    if any((unicodedata.category(ch) == "Cc" and ch not in allowed) or ch in _BIDI_CONTROLS for ch in text):
        raise PlanningInputError("planning.text.control_chars", field=field)
    if len(text) > limit:
        raise PlanningInputError("planning.text.too_long", field=field, maximum=limit, length=len(text))
    return text


def metric_direction(metric: str) -> Literal["higher", "lower"]:
    """Say whether a larger value of ``metric`` is better (``"higher"``) or worse (``"lower"``).

    Raises
    ------
    PlanningInputError
        ``planning.metric_unknown`` for a metric Ciclo does not know.

    Examples
    --------
    >>> metric_direction("recall"), metric_direction("mae")
    ('higher', 'lower')
    """
    if metric in _ERROR_METRICS:
        return "lower"
    if metric in _RATE_METRICS or metric == "r2":
        return "higher"
    raise PlanningInputError("planning.metric_unknown", metric=str(metric)[:40], metrics=", ".join(_all_metrics()))


def meets_threshold(metric: str, value: float, threshold: float) -> bool:
    """Whether ``value`` reaches ``threshold``: at least it for "higher" metrics, at most it for "lower" ones.

    A missing (NaN) value never meets a threshold.

    Examples
    --------
    >>> meets_threshold("recall", 0.82, 0.80), meets_threshold("mae", 12.0, 10.0)
    (True, False)
    """
    if math.isnan(value):
        return False
    return value >= threshold if metric_direction(metric) == "higher" else value <= threshold


def _all_metrics() -> tuple[str, ...]:
    return CLASSIFICATION_METRICS + REGRESSION_METRICS


def _check_metric_value(metric: str, value: float, *, field: str, strictly_positive_error: bool) -> None:
    """Raise if ``value`` cannot be a value of ``metric``."""
    if metric in _RATE_METRICS and not 0.0 <= value <= 1.0:
        raise PlanningInputError("planning.canvas.rate_out_of_range", field=field, metric=metric, value=value)
    if metric == "r2" and value > 1.0:
        raise PlanningInputError("planning.canvas.r2_above_one", field=field, value=value)
    if metric in _ERROR_METRICS and (value < 0.0 or (strictly_positive_error and value == 0.0)):
        raise PlanningInputError("planning.canvas.error_not_positive", field=field, metric=metric, value=value)


_Finite = Field(default=None, allow_inf_nan=False)


class Canvas(BaseModel):
    """The objectives canvas of one project; every field may still be empty.

    Build it with :func:`validate_canvas` (which turns every problem into a translated
    ``InputError``). Texts are stripped and empty texts become ``None``.

    Attributes
    ----------
    business_objective : str, optional
        What the business wants to change, in its own words.
    objective_type : str, optional
        One of :data:`OBJECTIVE_TYPES`, when the objective matches a common pattern.
    kpi_name, kpi_current_value : str, float, optional
        The business indicator that should move, and its value today.
    prediction_users, prediction_action : str, optional
        Who receives the predictions and what they do with them.
    task_type : {"classification", "regression"}, optional
        Predict a category or a number.
    target_definition, prediction_unit, horizon : str, optional
        What exactly is predicted, for what (a customer, an order…), and how far ahead.
    business_target : str, optional
        The success criterion in business words.
    metric, threshold : str, float, optional
        The ML metric (one of :data:`METRICS` for the task) and the value it must reach.
    secondary_metric, secondary_threshold : str, float, optional
        A constraint that must hold at the same time ("recall ≥ 0.80 at precision ≥ 0.50").
    cost_false_positive, cost_false_negative : float, optional
        Classification only: what one false alarm and one missed case cost (any currency, ≥ 0).
    baseline_process, baseline_score : str, float, optional
        How it is done today without ML, and that process's score on ``metric``.
    latency : {"seconds", "minutes", "hours", "days"}, optional
        How soon after the request a prediction is needed.
    volume_per_period, volume_period : int, str, optional
        How many predictions per hour/day/week/month/year.
    interpretability_required : bool, optional
        Whether each prediction must come with an explanation.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    business_objective: str | None = None
    objective_type: ObjectiveType | None = None
    kpi_name: str | None = None
    kpi_current_value: float | None = _Finite
    prediction_users: str | None = None
    prediction_action: str | None = None
    task_type: TaskType | None = None
    target_definition: str | None = None
    prediction_unit: str | None = None
    horizon: str | None = None
    business_target: str | None = None
    metric: str | None = None
    threshold: float | None = _Finite
    secondary_metric: str | None = None
    secondary_threshold: float | None = _Finite
    cost_false_positive: float | None = _Finite
    cost_false_negative: float | None = _Finite
    baseline_process: str | None = None
    baseline_score: float | None = _Finite
    latency: Latency | None = None
    volume_per_period: int | None = Field(default=None, ge=0)
    volume_period: VolumePeriod | None = None
    interpretability_required: bool | None = None

    @field_validator(*TEXT_LIMITS, mode="before")
    @classmethod
    def _texts(cls, value: object, info: Any) -> str | None:
        return check_text(value, field=info.field_name, limit=TEXT_LIMITS[info.field_name])

    @field_validator("metric", "secondary_metric", mode="before")
    @classmethod
    def _metric_known(cls, value: object, info: Any) -> object:
        if value is None or value == "":
            return None
        if value not in _all_metrics():
            raise PlanningInputError(
                "planning.metric_unknown", metric=str(value)[:40], metrics=", ".join(_all_metrics())
            )
        return value

    @field_validator("objective_type", "task_type", "latency", "volume_period", mode="before")
    @classmethod
    def _empty_choice(cls, value: object) -> object:
        return None if value == "" else value

    @model_validator(mode="after")
    def _consistent(self) -> Canvas:
        for metric_field in ("metric", "secondary_metric"):
            metric = getattr(self, metric_field)
            if metric is not None and self.task_type is not None and metric not in METRICS[self.task_type]:
                raise PlanningInputError(
                    "planning.canvas.metric_task_mismatch",
                    field=metric_field,
                    metric=metric,
                    task_type=self.task_type,
                    metrics=", ".join(METRICS[self.task_type]),
                )
        if self.metric is not None and self.secondary_metric is not None:
            if self.metric == self.secondary_metric:
                raise PlanningInputError("planning.canvas.secondary_same_metric", metric=self.metric)
            if (self.metric in _RATE_METRICS) != (self.secondary_metric in _RATE_METRICS):
                raise PlanningInputError(
                    "planning.canvas.metric_task_mismatch",
                    field="secondary_metric",
                    metric=self.secondary_metric,
                    task_type="classification" if self.metric in _RATE_METRICS else "regression",
                    metrics=", ".join(METRICS["classification" if self.metric in _RATE_METRICS else "regression"]),
                )
        if (self.secondary_metric is None) != (self.secondary_threshold is None):
            raise PlanningInputError("planning.canvas.secondary_incomplete")
        if self.metric is not None:
            if self.threshold is not None:
                _check_metric_value(self.metric, self.threshold, field="threshold", strictly_positive_error=True)
            if self.baseline_score is not None:
                _check_metric_value(
                    self.metric, self.baseline_score, field="baseline_score", strictly_positive_error=False
                )
        if self.secondary_metric is not None and self.secondary_threshold is not None:
            _check_metric_value(
                self.secondary_metric,
                self.secondary_threshold,
                field="secondary_threshold",
                strictly_positive_error=True,
            )
        for cost_field in _CLASSIFICATION_ESSENTIALS:
            cost = getattr(self, cost_field)
            if cost is None:
                continue
            if cost < 0:
                raise PlanningInputError("planning.canvas.negative_cost", field=cost_field, value=cost)
            if self.task_type == "regression":
                raise PlanningInputError("planning.canvas.costs_need_classification", field=cost_field)
        return self


_Model = TypeVar("_Model", bound=BaseModel)

_ERROR_KEYS = {
    "float": "planning.value.not_a_number",
    "int": "planning.value.not_a_whole_number",
    "bool": "planning.value.not_yes_no",
    "date": "planning.value.not_a_date",
    "datetime": "planning.value.not_a_date",
    "string": "planning.text.not_text",
    "finite": "planning.value.not_a_number",
}


def parse_model(model: type[_Model], data: Mapping[str, Any]) -> _Model:
    """Validate ``data`` into ``model``, turning pydantic's errors into translated input errors.

    Raises
    ------
    PlanningInputError
        ``planning.value.not_a_mapping`` if ``data`` is not a mapping, ``planning.value.unknown_field``
        for a field the model does not have, ``planning.value.not_a_choice`` for a value outside
        a fixed list, ``planning.value.negative`` below a lower bound, and a "not a number /
        whole number / yes-no / date" key for values of the wrong kind.
    """
    if not isinstance(data, Mapping):
        raise PlanningInputError("planning.value.not_a_mapping")
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "?"
        kind = first["type"]
        if kind == "extra_forbidden":
            raise PlanningInputError("planning.value.unknown_field", field=field[:60]) from None
        if kind in ("literal_error", "enum"):
            expected = first.get("ctx", {}).get("expected", "")
            raise PlanningInputError(
                "planning.value.not_a_choice", field=field, value=str(first["input"])[:60], choices=expected
            ) from None
        if kind in ("greater_than_equal", "greater_than"):
            raise PlanningInputError("planning.value.negative", field=field, value=first["input"]) from None
        key = next((k for prefix, k in _ERROR_KEYS.items() if kind.startswith(prefix)), "planning.value.invalid")
        raise PlanningInputError(key, field=field, value=str(first["input"])[:60]) from None


def validate_canvas(data: Mapping[str, Any]) -> Canvas:
    """Validate a (possibly partial) canvas given as a mapping of field names to values.

    Parameters
    ----------
    data : mapping
        Field names of :class:`Canvas` to values; missing fields and empty strings mean
        "not filled in yet". Numbers may come as strings ("0.8").

    Returns
    -------
    Canvas

    Raises
    ------
    PlanningInputError
        With a ``planning.*`` key, for example ``planning.canvas.rate_out_of_range``
        (a recall threshold of 1.2), ``planning.canvas.error_not_positive`` (an MAE threshold
        of 0), ``planning.canvas.negative_cost``, ``planning.canvas.metric_task_mismatch``
        (MAE for a classification task), ``planning.canvas.secondary_incomplete``,
        ``planning.text.too_long``, ``planning.value.unknown_field``.

    Examples
    --------
    >>> canvas = validate_canvas({"task_type": "classification", "metric": "recall", "threshold": "0.8"})
    >>> canvas.threshold
    0.8
    >>> validate_canvas({"task_type": "classification", "metric": "recall", "threshold": 1.2})
    Traceback (most recent call last):
    ...
    mlcore.planning.canvas.PlanningInputError: "Threshold" (1.2) must be between 0 and 1 for Recall: ...
    """
    return parse_model(Canvas, data)


def missing_essentials(canvas: Canvas) -> tuple[str, ...]:
    """The essential fields (:data:`ESSENTIAL_FIELDS`, plus error costs for classification) still empty.

    Examples
    --------
    >>> "metric" in missing_essentials(Canvas())
    True
    """
    needed = ESSENTIAL_FIELDS + (_CLASSIFICATION_ESSENTIALS if canvas.task_type == "classification" else ())
    return tuple(name for name in needed if getattr(canvas, name) is None)


def canvas_completeness(canvas: Canvas) -> float:
    """Share of the essential fields filled in, between 0 and 1.

    The error costs count only once the task is known to be classification, so choosing
    classification can lower the share: two more questions appear.

    Examples
    --------
    >>> canvas_completeness(Canvas())
    0.0
    >>> round(canvas_completeness(Canvas(kpi_name="Monthly churn rate")), 3)
    0.062
    """
    needed = len(ESSENTIAL_FIELDS) + (len(_CLASSIFICATION_ESSENTIALS) if canvas.task_type == "classification" else 0)
    return 1.0 - len(missing_essentials(canvas)) / needed


@dataclass(frozen=True)
class Proposal:
    """A suggested ML goal for a common business objective, with the reasons in plain words.

    Attributes
    ----------
    objective_type : str
        One of :data:`OBJECTIVE_TYPES`.
    task_type, metric, threshold : str, str, float or None
        The suggestion; ``None`` where no general answer exists (``threshold`` for errors
        measured in the user's own units, everything for ``"other"``).
    secondary_metric, secondary_threshold : str or None, float or None
        A constraint to hold at the same time, if the suggestion has one.
    task_reason_key, metric_reason_key, threshold_reason_key : str
        Catalog keys explaining why this task, why this metric and how to set the threshold.
    """

    objective_type: str
    task_type: str | None
    metric: str | None
    threshold: float | None
    secondary_metric: str | None
    secondary_threshold: float | None
    task_reason_key: str
    metric_reason_key: str
    threshold_reason_key: str


# (task, metric, threshold, secondary metric, secondary threshold) per objective type; the
# reasons live in the catalogs under planning.proposal.<objective>.{task,metric,threshold}.
_PROPOSALS: dict[str, tuple[str | None, str | None, float | None, str | None, float | None]] = {
    "reduce_churn": ("classification", "recall", 0.70, "precision", 0.40),
    "detect_fraud": ("classification", "average_precision", 0.40, None, None),
    "forecast_demand": ("regression", "mape", 0.20, None, None),
    "prioritise_leads": ("classification", "roc_auc", 0.75, "precision", 0.30),
    "estimate_price_or_duration": ("regression", "mae", None, "r2", 0.50),
    "triage_tickets": ("classification", "f1", 0.70, None, None),
    "other": (None, None, None, None, None),
}


def propose_ml_goal(objective_type: str) -> Proposal:
    """Suggest a task type, metric and threshold for a common business objective.

    Parameters
    ----------
    objective_type : str
        One of :data:`OBJECTIVE_TYPES`.

    Returns
    -------
    Proposal
        A starting point the team is expected to adjust (with :func:`apply_proposal`, then edits).

    Raises
    ------
    PlanningInputError
        ``planning.objective_unknown`` for an unknown objective type.

    Examples
    --------
    >>> p = propose_ml_goal("reduce_churn")
    >>> p.task_type, p.metric, p.threshold, p.secondary_metric, p.secondary_threshold
    ('classification', 'recall', 0.7, 'precision', 0.4)
    >>> p.metric_reason_key
    'planning.proposal.reduce_churn.metric'
    """
    if objective_type not in _PROPOSALS:
        raise PlanningInputError(
            "planning.objective_unknown", objective_type=str(objective_type)[:40], choices=", ".join(OBJECTIVE_TYPES)
        )
    task, metric, threshold, secondary, secondary_threshold = _PROPOSALS[objective_type]
    prefix = f"planning.proposal.{objective_type}."
    return Proposal(
        objective_type=objective_type,
        task_type=task,
        metric=metric,
        threshold=threshold,
        secondary_metric=secondary,
        secondary_threshold=secondary_threshold,
        task_reason_key=prefix + "task",
        metric_reason_key=prefix + "metric",
        threshold_reason_key=prefix + "threshold",
    )


def apply_proposal(canvas: Canvas, proposal: Proposal) -> Canvas:
    """Return a copy of ``canvas`` with the proposal's task, metric and thresholds filled in.

    Fields the proposal leaves open (``None``) keep the canvas's value, except that a change
    of metric clears the old threshold and baseline score (they were in the old metric's
    units) and a change to regression clears the error costs. Everything else is kept.

    Examples
    --------
    >>> canvas = Canvas(business_objective="Keep more customers", threshold=0.9, metric="accuracy")
    >>> new = apply_proposal(canvas, propose_ml_goal("reduce_churn"))
    >>> new.metric, new.threshold, new.business_objective
    ('recall', 0.7, 'Keep more customers')
    """
    values = canvas.model_dump()
    values["objective_type"] = proposal.objective_type
    if proposal.task_type is not None:
        values["task_type"] = proposal.task_type
        if proposal.task_type == "regression":
            values["cost_false_positive"] = values["cost_false_negative"] = None
    if proposal.metric is not None and proposal.metric != canvas.metric:
        values["metric"] = proposal.metric
        values["threshold"] = values["baseline_score"] = None
    if proposal.threshold is not None:
        values["threshold"] = proposal.threshold
    if proposal.task_type is not None or proposal.secondary_metric is not None:
        values["secondary_metric"] = proposal.secondary_metric
        values["secondary_threshold"] = proposal.secondary_threshold
    return validate_canvas(values)
