"""Alert rules for a deployed model, evaluated over plain inputs (drift reports, performance on
delayed labels, job records, resource trends), so the app and ``mlcore monitor check`` share them.

Rules are typed (:class:`DriftRule`, :class:`MetricRule`, :class:`FailedJobRule`,
:class:`StaleBatchRule`, :class:`ResourceRule`) and round-trip through plain dicts
(:func:`rule_to_dict`, :func:`rule_from_dict`) so a project can store its own. Each fired
:class:`Alert` carries a severity and a catalog key; :func:`exit_code` turns a list of alerts
into the command's exit status (0 nothing fired, 1 only warnings, 2 something critical).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from mlcore.errors import InputError
from mlcore.monitoring.drift import DriftReport, FeatureDrift, Message
from mlcore.monitoring.performance import PerformanceOverTime
from mlcore.monitoring.resources import ResourceTrends
from mlcore.planning.canvas import meets_threshold, metric_direction

__all__ = [
    "RULE_KINDS",
    "SEVERITIES",
    "Alert",
    "DriftRule",
    "FailedJobRule",
    "JobRecord",
    "MetricRule",
    "MonitoringState",
    "ResourceRule",
    "Rule",
    "StaleBatchRule",
    "default_rules",
    "evaluate_alerts",
    "exit_code",
    "rule_from_dict",
    "rule_to_dict",
]

SEVERITIES: tuple[str, ...] = ("warning", "critical")
_MAX_LISTED = 10


def _check_severity(severity: object) -> None:
    if severity not in SEVERITIES:
        raise InputError("monitoring.alert.bad_severity", value=str(severity)[:40], choices=", ".join(SEVERITIES))


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InputError("monitoring.alert.bad_rule_value", name=name, value=str(value)[:40])


@dataclass(frozen=True)
class DriftRule:
    """Fires when, in the latest drift report, a feature's PSI is above ``psi_above`` or its column is missing.

    Attributes
    ----------
    psi_above : float, default 0.25
    features : tuple of str
        Only these features (empty: every feature, and the predictions).
    severity : {"warning", "critical"}, default "critical"
    """

    kind: ClassVar[str] = "drift"
    psi_above: float = 0.25
    features: tuple[str, ...] = ()
    severity: str = "critical"

    def __post_init__(self) -> None:
        _check_positive("psi_above", self.psi_above)
        if isinstance(self.features, str) or not all(isinstance(f, str) for f in self.features):
            raise InputError("monitoring.alert.bad_rule_value", name="features", value=str(self.features)[:40])
        object.__setattr__(self, "features", tuple(self.features))
        _check_severity(self.severity)


@dataclass(frozen=True)
class MetricRule:
    """Fires when the metric fails the criterion in the latest ``periods`` periods with a value.

    Attributes
    ----------
    metric : str
        A canvas metric; evaluated on a :class:`PerformanceOverTime` of the same metric.
    threshold : float
        The success criterion (at least it for "higher" metrics, at most for error metrics).
    periods : int, default 1
        Consecutive failing periods needed (2 or 3 ignores one unlucky week).
    severity : {"warning", "critical"}, default "critical"
    """

    kind: ClassVar[str] = "metric"
    metric: str
    threshold: float
    periods: int = 1
    severity: str = "critical"

    def __post_init__(self) -> None:
        metric_direction(self.metric)  # raises for an unknown metric
        if (
            isinstance(self.threshold, bool)
            or not isinstance(self.threshold, int | float)
            or not math.isfinite(self.threshold)
        ):
            raise InputError("monitoring.alert.bad_rule_value", name="threshold", value=str(self.threshold)[:40])
        if isinstance(self.periods, bool) or not isinstance(self.periods, int) or self.periods < 1:
            raise InputError("monitoring.alert.bad_rule_value", name="periods", value=str(self.periods)[:40])
        _check_severity(self.severity)


@dataclass(frozen=True)
class FailedJobRule:
    """Fires when a job (of the given kinds, or any) failed in the last ``within_days`` days.

    Attributes
    ----------
    kinds : tuple of str
        Job kinds watched (empty: all).
    within_days : float, default 1
    severity : {"warning", "critical"}, default "warning"
    """

    kind: ClassVar[str] = "failed_job"
    kinds: tuple[str, ...] = ()
    within_days: float = 1.0
    severity: str = "warning"

    def __post_init__(self) -> None:
        if isinstance(self.kinds, str) or not all(isinstance(k, str) for k in self.kinds):
            raise InputError("monitoring.alert.bad_rule_value", name="kinds", value=str(self.kinds)[:40])
        object.__setattr__(self, "kinds", tuple(self.kinds))
        _check_positive("within_days", self.within_days)
        _check_severity(self.severity)


@dataclass(frozen=True)
class StaleBatchRule:
    """Fires when no batch was scored for more than ``max_days`` days (or none ever was).

    Attributes
    ----------
    max_days : float, default 7
    severity : {"warning", "critical"}, default "warning"
    """

    kind: ClassVar[str] = "stale_batch"
    max_days: float = 7.0
    severity: str = "warning"

    def __post_init__(self) -> None:
        _check_positive("max_days", self.max_days)
        _check_severity(self.severity)


@dataclass(frozen=True)
class ResourceRule:
    """Fires for every regression of the latest run of a kind of job (see :mod:`mlcore.monitoring.resources`).

    Attributes
    ----------
    severity : {"warning", "critical"}, default "warning"
    """

    kind: ClassVar[str] = "resources"
    severity: str = "warning"

    def __post_init__(self) -> None:
        _check_severity(self.severity)


Rule = DriftRule | MetricRule | FailedJobRule | StaleBatchRule | ResourceRule
_RULES: dict[str, type[Rule]] = {
    cls.kind: cls for cls in (DriftRule, MetricRule, FailedJobRule, StaleBatchRule, ResourceRule)
}
RULE_KINDS: tuple[str, ...] = tuple(_RULES)


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A rule as plain JSON types, with its ``kind``.

    Examples
    --------
    >>> rule_to_dict(StaleBatchRule(max_days=3))
    {'kind': 'stale_batch', 'max_days': 3, 'severity': 'warning'}
    """
    out: dict[str, Any] = {"kind": rule.kind}
    for f in fields(rule):
        value = getattr(rule, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def rule_from_dict(data: Mapping[str, Any]) -> Rule:
    """Rebuild a rule from :func:`rule_to_dict` output.

    Raises
    ------
    InputError
        ``monitoring.alert.unknown_rule`` for an unknown kind or field, and the rule's own
        ``monitoring.alert.bad_rule_value`` / ``bad_severity``.

    Examples
    --------
    >>> rule_from_dict({"kind": "drift", "psi_above": 0.3, "features": ["income"]})
    DriftRule(psi_above=0.3, features=('income',), severity='critical')
    """
    if not isinstance(data, Mapping) or data.get("kind") not in _RULES:
        kind = data.get("kind") if isinstance(data, Mapping) else data
        raise InputError("monitoring.alert.unknown_rule", kind=str(kind)[:40], choices=", ".join(RULE_KINDS))
    cls = _RULES[str(data["kind"])]
    names = {f.name for f in fields(cls)}
    params: dict[str, Any] = {}
    for name, value in data.items():
        if name == "kind":
            continue
        if name not in names:
            raise InputError(
                "monitoring.alert.unknown_rule",
                kind=f"{data['kind']}.{str(name)[:40]}",
                choices=", ".join(sorted(names)),
            )
        params[name] = tuple(value) if isinstance(value, list) else value
    try:
        return cls(**params)
    except TypeError as exc:  # a required field left out
        raise InputError("monitoring.alert.bad_rule_value", name=str(data["kind"]), value=str(exc)[:80]) from exc


def default_rules(*, metric: str | None = None, threshold: float | None = None) -> tuple[Rule, ...]:
    """The rules a new project starts with: strong drift, a failed job, a week without batches, resource
    regressions, and the planning success criterion when it is known.

    Examples
    --------
    >>> [rule.kind for rule in default_rules(metric="recall", threshold=0.7)]
    ['drift', 'metric', 'failed_job', 'stale_batch', 'resources']
    """
    rules: list[Rule] = [DriftRule()]
    if metric is not None and threshold is not None:
        rules.append(MetricRule(metric=metric, threshold=threshold))
    rules += [FailedJobRule(), StaleBatchRule(), ResourceRule()]
    return tuple(rules)


# --------------------------------------------------------------------------- inputs and results


@dataclass(frozen=True)
class JobRecord:
    """A finished (or failed) job, as the alerts need it (the ``Job`` table's fields).

    Attributes
    ----------
    job_id : int or str
    kind, status : str
        Status ``failed`` is what :class:`FailedJobRule` watches.
    finished_at : datetime or None
    error_key : str
        The catalog key of the error, if any.
    """

    job_id: int | str
    kind: str
    status: str
    finished_at: datetime | None
    error_key: str = ""


@dataclass(frozen=True)
class MonitoringState:
    """Everything the rules look at, gathered by the caller (a page or ``mlcore monitor check``).

    Attributes
    ----------
    now : datetime
        The time of the check (naive times are taken as UTC).
    drift : tuple of DriftReport
        Oldest first; rules look at the last one.
    performance : tuple of PerformanceOverTime
        One per metric followed on delayed labels.
    jobs : tuple of JobRecord
    last_batch_at : datetime, optional
        When the latest batch was scored; defaults to the latest drift report's time.
    resources : ResourceTrends, optional
    """

    now: datetime
    drift: tuple[DriftReport, ...] = ()
    performance: tuple[PerformanceOverTime, ...] = ()
    jobs: tuple[JobRecord, ...] = ()
    last_batch_at: datetime | None = None
    resources: ResourceTrends | None = None


@dataclass(frozen=True)
class Alert:
    """A rule that fired.

    Attributes
    ----------
    rule : str
        The rule's kind (one of :data:`RULE_KINDS`).
    severity : {"warning", "critical"}
    key : str
        Catalog key of the message (English and Spanish).
    params : mapping
        Fills the message.
    subject : str
        What it is about (features, a metric, a job id), for grouping and de-duplicating.
    """

    rule: str
    severity: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    subject: str = ""

    def message(self, lang: str = "en") -> str:
        return Message(self.key, self.params).text(lang)


def _utc(moment: datetime) -> datetime:
    """A naive UTC datetime (aware times converted), so naive and aware inputs compare."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_MAX_LISTED])
    return shown + (f" (+{len(names) - _MAX_LISTED})" if len(names) > _MAX_LISTED else "")


def _drift_alerts(rule: DriftRule, state: MonitoringState) -> list[Alert]:
    if not state.drift:
        return []
    latest = state.drift[-1]
    watched: list[FeatureDrift] = list(latest.features)
    if latest.prediction is not None and not rule.features:
        watched.append(latest.prediction)
    if rule.features:
        wanted = set(rule.features)
        watched = [f for f in watched if f.feature in wanted]
    hits = [f for f in watched if f.column_missing or (not math.isnan(f.psi) and f.psi > rule.psi_above)]
    if not hits:
        return []
    names = [f.feature for f in hits]
    worst = max((f.psi for f in hits if not math.isnan(f.psi)), default=math.nan)
    params = {
        "n": len(hits),
        "features": _listed(names),
        "psi_above": rule.psi_above,
        "psi": round(worst, 3) if not math.isnan(worst) else "–",
        "batch": latest.batch or "",
    }
    return [Alert(rule.kind, rule.severity, "monitoring.alert.drift", params, subject=", ".join(names))]


def _metric_alerts(rule: MetricRule, state: MonitoringState) -> list[Alert]:
    followed = [p for p in state.performance if p.metric == rule.metric]
    if not followed:
        return []
    periods = [p for p in followed[-1].periods() if not math.isnan(p.value)]
    recent = periods[-rule.periods :]
    if len(recent) < rule.periods or any(meets_threshold(rule.metric, p.value, rule.threshold) for p in recent):
        return []
    last = recent[-1]
    params = {
        "metric": rule.metric,
        "value": round(last.value, 4),
        "threshold": rule.threshold,
        "period": last.period,
        "periods": rule.periods,
        "n": last.n,
    }
    key = "monitoring.alert.metric" if rule.periods == 1 else "monitoring.alert.metric_streak"
    return [Alert(rule.kind, rule.severity, key, params, subject=rule.metric)]


def _job_alerts(rule: FailedJobRule, state: MonitoringState) -> list[Alert]:
    since = _utc(state.now) - timedelta(days=rule.within_days)
    failed = [
        j
        for j in state.jobs
        if j.status == "failed"
        and j.finished_at is not None
        and _utc(j.finished_at) >= since
        and (not rule.kinds or j.kind in rule.kinds)
    ]
    if not failed:
        return []
    latest = max(failed, key=lambda j: _utc(j.finished_at or state.now))
    params = {
        "n": len(failed),
        "days": rule.within_days,
        "job_id": latest.job_id,
        "job_kind": latest.kind,
        "kinds": _listed(sorted({j.kind for j in failed})),
    }
    return [Alert(rule.kind, rule.severity, "monitoring.alert.failed_job", params, subject=str(latest.job_id))]


def _stale_alerts(rule: StaleBatchRule, state: MonitoringState) -> list[Alert]:
    last = state.last_batch_at
    if last is None:
        timed = [_utc(r.time) for r in state.drift if r.time is not None]
        last = max(timed) if timed else None
    if last is None:
        return [Alert(rule.kind, rule.severity, "monitoring.alert.no_batch_ever", {"days": rule.max_days})]
    age = (_utc(state.now) - _utc(last)).total_seconds() / 86400.0
    if age <= rule.max_days:
        return []
    params = {"days": rule.max_days, "age": round(age, 1), "last": _utc(last).strftime("%Y-%m-%d %H:%M")}
    return [Alert(rule.kind, rule.severity, "monitoring.alert.stale_batch", params)]


def _resource_alerts(rule: ResourceRule, state: MonitoringState) -> list[Alert]:
    if state.resources is None:
        return []
    out = []
    for r in state.resources.regressions:
        m = r.message
        out.append(Alert(rule.kind, rule.severity, m.key, m.params, subject=f"{r.kind}.{r.measure}"))
    return out


def evaluate_alerts(rules: Sequence[Rule], state: MonitoringState) -> tuple[Alert, ...]:
    """Evaluate every rule on the state; the alerts that fired, critical first, then in rule order.

    Parameters
    ----------
    rules : sequence of rules
    state : MonitoringState

    Returns
    -------
    tuple of Alert

    Raises
    ------
    InputError
        ``monitoring.alert.not_a_rule`` for something that is not a rule,
        ``monitoring.alert.bad_state`` if ``state`` is not a :class:`MonitoringState`.

    Examples
    --------
    >>> state = MonitoringState(now=datetime(2025, 6, 30), last_batch_at=datetime(2025, 6, 20))
    >>> alerts = evaluate_alerts([StaleBatchRule(max_days=7), FailedJobRule()], state)
    >>> [(a.rule, a.severity) for a in alerts], exit_code(alerts)
    ([('stale_batch', 'warning')], 1)
    >>> alerts[0].message("en")
    'No batch has been scored for 10.0 days (last on 2025-06-20 00:00; the rule allows 7).'
    """
    if not isinstance(state, MonitoringState):
        raise InputError("monitoring.alert.bad_state", type=type(state).__name__)
    fired: list[Alert] = []
    for rule in rules:
        if isinstance(rule, DriftRule):
            fired += _drift_alerts(rule, state)
        elif isinstance(rule, MetricRule):
            fired += _metric_alerts(rule, state)
        elif isinstance(rule, FailedJobRule):
            fired += _job_alerts(rule, state)
        elif isinstance(rule, StaleBatchRule):
            fired += _stale_alerts(rule, state)
        elif isinstance(rule, ResourceRule):
            fired += _resource_alerts(rule, state)
        else:
            raise InputError("monitoring.alert.not_a_rule", type=type(rule).__name__)
    order = {s: i for i, s in enumerate(reversed(SEVERITIES))}
    return tuple(sorted(fired, key=lambda a: order[a.severity]))


def exit_code(alerts: Sequence[Alert], *, fail_on: str = "warning") -> int:
    """The exit status of ``mlcore monitor check``: 0 when nothing at or above ``fail_on`` fired,
    1 when only warnings did, 2 when at least one critical alert did.

    Examples
    --------
    >>> exit_code([]), exit_code([Alert("drift", "critical", "monitoring.alert.drift")])
    (0, 2)
    >>> exit_code([Alert("stale_batch", "warning", "monitoring.alert.stale_batch")], fail_on="critical")
    0
    """
    _check_severity(fail_on)
    rank = SEVERITIES.index(fail_on)
    worst = max((SEVERITIES.index(a.severity) for a in alerts), default=-1)
    if worst < rank:
        return 0
    return 2 if worst == SEVERITIES.index("critical") else 1
