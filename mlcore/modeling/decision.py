"""The deploy decision: each success criterion of the planning canvas checked against measured results,
the approver's go/no-go, and the evaluation report and model card sections (Markdown or print-friendly HTML).

Every text a user typed (names, concerns, caveats, group and slice values) is escaped in both formats.
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from mlcore.errors import InputError
from mlcore.i18n import LANGUAGES, translate
from mlcore.markdown import md_cell, md_escape
from mlcore.modeling.evaluation import Leaderboard, PairedComparison, ThresholdMetrics
from mlcore.modeling.stress import (
    FairnessReport,
    PerformanceReport,
    RobustnessResult,
    SliceReport,
    VersionEvaluation,
)
from mlcore.planning.canvas import Canvas, meets_threshold, metric_direction

__all__ = [
    "CRITERIA",
    "FAIRNESS_MEASURES",
    "LATENCY_LIMITS_MS",
    "OUTCOMES",
    "CriterionCheck",
    "DeployChecks",
    "DeployDecision",
    "EvaluationReportData",
    "ModelCardSections",
    "check_criteria",
    "make_deploy_decision",
    "render_card_html",
    "render_card_markdown",
    "render_report_html",
    "render_report_markdown",
]

Status = Literal["pass", "fail", "unknown"]
Recommendation = Literal["go", "no_go", "incomplete"]

CRITERIA: tuple[str, ...] = (
    "metric_threshold",
    "secondary_constraint",
    "baseline_margin",
    "latency",
    "throughput",
    "fairness",
)
FAIRNESS_MEASURES: tuple[str, ...] = ("demographic_parity_difference", "equalized_odds_difference")
LATENCY_LIMITS_MS: Mapping[str, float] = {
    "seconds": 1_000.0,
    "minutes": 60_000.0,
    "hours": 3_600_000.0,
    "days": 86_400_000.0,
}
"""The canvas's latency need -> the longest acceptable 95th-percentile single-row latency, in milliseconds."""

_PERIOD_SECONDS: Mapping[str, float] = {
    "hour": 3_600.0,
    "day": 86_400.0,
    "week": 604_800.0,
    "month": 2_629_800.0,
    "year": 31_557_600.0,
}
OUTCOMES: tuple[str, ...] = ("go", "no_go")
RATIONALE_LIMIT = 4000
NAME_LIMIT = 200
_TEXT_LIMIT = 4000

# Parameters holding a code whose name is translated when a message is shown.
_CODED_PARAMS = {
    "metric": "planning.metric.",
    "need": "planning.latency.",
    "period": "planning.period.",
    "measure": "evaluation.fairness.measure.",
    "source": "evaluation.check.baseline_source.",
}


# ----------------------------------------------------------------------------- formatting


def _number(value: Any, lang: str, digits: int = 4) -> str:
    """A number for people: thousands separated, trailing zeros dropped, decimal comma in Spanish."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, int) or (abs(value) >= 1000 and abs(value) < 1e15) or (value.is_integer() and abs(value) >= 1):
        text = f"{int(round(value)):,}"
    elif abs(value) >= 10**-digits or value == 0:
        text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:.2g}"
    if text in ("-0", ""):
        text = "0"
    if lang == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _percent(value: float | None, lang: str) -> str:
    if value is None or math.isnan(value):
        return "—"
    return _number(round(100.0 * value, 1), lang, 1) + " %"


def _params(params: Mapping[str, Any], lang: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _CODED_PARAMS and isinstance(value, str):
            out[name] = translate(_CODED_PARAMS[name] + value, lang)
        elif isinstance(value, float | int) and not isinstance(value, bool):
            out[name] = _number(value, lang)
        else:
            out[name] = value
    return out


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise InputError("evaluation.report.unknown_language", value=str(lang)[:20], choices=", ".join(LANGUAGES))


# ----------------------------------------------------------------------------- criteria


@dataclass(frozen=True)
class CriterionCheck:
    """One success criterion checked against a measured result.

    Attributes
    ----------
    criterion : str
        One of :data:`CRITERIA`.
    status : {"pass", "fail", "unknown"}
        ``unknown``: the canvas does not set the criterion yet, or it was not measured.
    reason_key : str
        Catalog key explaining the status (``evaluation.check.<criterion>.<why>``).
    params : mapping
        Fill the message in; ``metric``, ``need``, ``period``, ``measure`` and ``source`` are codes that
        :meth:`message` translates.
    """

    criterion: str
    status: Status
    reason_key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        """The reason as a sentence in ``lang``, numbers formatted for that language."""
        return translate(self.reason_key, lang, **_params(self.params, lang))


@dataclass(frozen=True)
class DeployChecks:
    """Every criterion checked, and what they recommend.

    ``recommendation`` is ``no_go`` when any check fails, ``incomplete`` when none fails but some are
    unknown, and ``go`` when all pass.
    """

    checks: tuple[CriterionCheck, ...]
    recommendation: Recommendation

    @property
    def recommendation_key(self) -> str:
        return f"evaluation.recommendation.{self.recommendation}"

    def by_status(self, status: Status) -> tuple[CriterionCheck, ...]:
        return tuple(c for c in self.checks if c.status == status)


def _value(metrics: Mapping[str, float] | None, name: str) -> float | None:
    if metrics is None or name not in metrics:
        return None
    value = metrics[name]
    return float(value) if value is not None else None


def _metric_check(
    criterion: str, metric: str | None, threshold: float | None, measured: float | None
) -> CriterionCheck:
    prefix = f"evaluation.check.{criterion}."
    if metric is None or threshold is None:
        return CriterionCheck(criterion, "unknown", prefix + "not_set")
    if measured is None:
        return CriterionCheck(criterion, "unknown", prefix + "not_measured", {"metric": metric})
    params = {"metric": metric, "value": measured, "threshold": threshold}
    if math.isnan(measured):
        return CriterionCheck(criterion, "unknown", prefix + "undefined", params)
    if meets_threshold(metric, measured, threshold):
        return CriterionCheck(criterion, "pass", prefix + "pass", params)
    return CriterionCheck(criterion, "fail", prefix + "fail", params)


def _baseline_check(
    canvas: Canvas,
    test_metrics: Mapping[str, float] | None,
    baseline_metrics: Mapping[str, float] | None,
    margin: float,
) -> CriterionCheck:
    prefix = "evaluation.check.baseline_margin."
    metric = canvas.metric
    if metric is None:
        return CriterionCheck("baseline_margin", "unknown", prefix + "not_set")
    measured = _value(test_metrics, metric)
    if measured is None or math.isnan(measured):
        return CriterionCheck("baseline_margin", "unknown", prefix + "not_measured", {"metric": metric})
    sources: list[tuple[str, float]] = []
    dummy = _value(baseline_metrics, metric)
    if dummy is not None and not math.isnan(dummy):
        sources.append(("dummy", dummy))
    if canvas.baseline_score is not None:
        sources.append(("process", float(canvas.baseline_score)))
    if not sources:
        return CriterionCheck("baseline_margin", "unknown", prefix + "no_baseline", {"metric": metric})
    sign = 1.0 if metric_direction(metric) == "higher" else -1.0
    source, bar = max(sources, key=lambda item: sign * item[1])
    improvement = sign * (measured - bar) + 0.0
    params = {
        "metric": metric,
        "value": measured,
        "baseline": bar,
        "source": source,
        "margin": improvement,
        "min_margin": margin,
    }
    ok = improvement > 0 and improvement >= margin
    return CriterionCheck("baseline_margin", "pass" if ok else "fail", prefix + ("pass" if ok else "fail"), params)


def _latency_check(canvas: Canvas, performance: PerformanceReport | None) -> CriterionCheck:
    prefix = "evaluation.check.latency."
    if canvas.latency is None:
        return CriterionCheck("latency", "unknown", prefix + "not_set")
    limit = LATENCY_LIMITS_MS[canvas.latency]
    if performance is None:
        return CriterionCheck("latency", "unknown", prefix + "not_measured", {"need": canvas.latency})
    params = {"need": canvas.latency, "p95": performance.latency_ms_p95, "limit": limit}
    ok = performance.latency_ms_p95 <= limit
    return CriterionCheck("latency", "pass" if ok else "fail", prefix + ("pass" if ok else "fail"), params)


def _throughput_check(canvas: Canvas, performance: PerformanceReport | None) -> CriterionCheck | None:
    if canvas.volume_per_period is None or canvas.volume_period is None:
        return None
    prefix = "evaluation.check.throughput."
    params: dict[str, Any] = {"volume": canvas.volume_per_period, "period": canvas.volume_period}
    if performance is None or not performance.throughput:
        return CriterionCheck("throughput", "unknown", prefix + "not_measured", params)
    rate = performance.best_throughput
    seconds = canvas.volume_per_period / rate if rate > 0 else math.inf
    params |= {"seconds": seconds, "rate": rate}
    ok = seconds <= _PERIOD_SECONDS[canvas.volume_period]
    return CriterionCheck("throughput", "pass" if ok else "fail", prefix + ("pass" if ok else "fail"), params)


def _fairness_checks(reports: Sequence[FairnessReport], limit: float | None, measure: str) -> list[CriterionCheck]:
    prefix = "evaluation.check.fairness."
    if limit is None and not reports:
        return []
    if limit is None:
        return [CriterionCheck("fairness", "unknown", prefix + "no_limit", {"measure": measure})]
    if not reports:
        return [CriterionCheck("fairness", "unknown", prefix + "not_measured", {"measure": measure, "limit": limit})]
    out = []
    for report in reports:
        value = float(getattr(report, measure))
        params = {"column": report.sensitive, "measure": measure, "value": value, "limit": limit}
        if math.isnan(value):
            out.append(CriterionCheck("fairness", "unknown", prefix + "undefined", params))
        elif value <= limit:
            out.append(CriterionCheck("fairness", "pass", prefix + "pass", params))
        else:
            out.append(CriterionCheck("fairness", "fail", prefix + "fail", params))
    return out


def check_criteria(
    canvas: Canvas,
    *,
    test_metrics: Mapping[str, float] | None = None,
    baseline_metrics: Mapping[str, float] | None = None,
    performance: PerformanceReport | None = None,
    fairness: Sequence[FairnessReport] = (),
    fairness_limit: float | None = None,
    fairness_measure: str = "equalized_odds_difference",
    min_margin: float = 0.0,
) -> DeployChecks:
    """Check the canvas's success criteria against what the evaluation measured.

    * ``metric_threshold``: the canvas metric on the locked test set reaches the canvas threshold;
    * ``secondary_constraint`` (when the canvas has one): the same for the secondary metric;
    * ``baseline_margin``: the model beats the better of the dummy model on the test set
      (``baseline_metrics``) and the canvas's baseline score, by more than zero and at least ``min_margin``;
    * ``latency``: the 95th-percentile single-row latency is within :data:`LATENCY_LIMITS_MS` of the
      canvas's latency need;
    * ``throughput`` (when the canvas gives a volume per period): the volume can be scored within the period;
    * ``fairness`` (when a limit or a report is given), one per sensitive column: ``fairness_measure``
      is at most ``fairness_limit``.

    Parameters
    ----------
    canvas : Canvas
    test_metrics : mapping, optional
        Metrics of the model on the locked test set.
    baseline_metrics : mapping, optional
        Metrics of the dummy model on the same rows.
    performance : PerformanceReport, optional
    fairness : sequence of FairnessReport
    fairness_limit : float, optional
        Largest acceptable difference between groups, in [0, 1].
    fairness_measure : str
        One of :data:`FAIRNESS_MEASURES`.
    min_margin : float, default 0
        Smallest improvement over the baseline that counts, in the metric's units.

    Raises
    ------
    InputError
        ``evaluation.check.bad_fairness_limit``, ``evaluation.check.unknown_fairness_measure``,
        ``evaluation.check.bad_margin``.

    Examples
    --------
    >>> canvas = Canvas(task_type="classification", metric="recall", threshold=0.7, latency="seconds")
    >>> result = check_criteria(canvas, test_metrics={"recall": 0.74}, baseline_metrics={"recall": 0.0})
    >>> [(c.criterion, c.status) for c in result.checks], result.recommendation
    ([('metric_threshold', 'pass'), ('baseline_margin', 'pass'), ('latency', 'unknown')], 'incomplete')
    >>> result.checks[0].message("es")
    'Exhaustividad (recall) en el conjunto de prueba: 0,74; alcanza el objetivo de 0,7.'
    """
    if fairness_measure not in FAIRNESS_MEASURES:
        raise InputError(
            "evaluation.check.unknown_fairness_measure",
            measure=str(fairness_measure)[:40],
            choices=", ".join(FAIRNESS_MEASURES),
        )
    if fairness_limit is not None and (
        isinstance(fairness_limit, bool)
        or not isinstance(fairness_limit, int | float)
        or not 0.0 <= float(fairness_limit) <= 1.0
    ):
        raise InputError("evaluation.check.bad_fairness_limit", value=str(fairness_limit)[:20])
    if isinstance(min_margin, bool) or not isinstance(min_margin, int | float) or not math.isfinite(min_margin):
        raise InputError("evaluation.check.bad_margin", value=str(min_margin)[:20])
    if min_margin < 0:
        raise InputError("evaluation.check.bad_margin", value=str(min_margin)[:20])
    checks = [
        _metric_check("metric_threshold", canvas.metric, canvas.threshold, _value(test_metrics, canvas.metric or ""))
    ]
    if canvas.secondary_metric is not None:
        checks.append(
            _metric_check(
                "secondary_constraint",
                canvas.secondary_metric,
                canvas.secondary_threshold,
                _value(test_metrics, canvas.secondary_metric),
            )
        )
    checks.append(_baseline_check(canvas, test_metrics, baseline_metrics, float(min_margin)))
    checks.append(_latency_check(canvas, performance))
    throughput = _throughput_check(canvas, performance)
    if throughput is not None:
        checks.append(throughput)
    checks += _fairness_checks(
        list(fairness), None if fairness_limit is None else float(fairness_limit), fairness_measure
    )
    statuses = {c.status for c in checks}
    recommendation: Recommendation = "no_go" if "fail" in statuses else "incomplete" if "unknown" in statuses else "go"
    return DeployChecks(tuple(checks), recommendation)


# ----------------------------------------------------------------------------- the approver's decision


@dataclass(frozen=True)
class DeployDecision:
    """The approver's go/no-go. Build it with :func:`make_deploy_decision`.

    ``overrides_recommendation`` is True when the outcome goes against the checks' recommendation (a "go"
    while a criterion fails or is unknown, a "no_go" while all pass): the rationale must explain why.
    """

    outcome: Literal["go", "no_go"]
    rationale: str
    decided_by: str
    decided_at: datetime
    recommendation: Recommendation | None
    overrides_recommendation: bool


def _clean_text(value: object, *, name: str, limit: int, multiline: bool) -> str:
    if not isinstance(value, str):
        raise InputError("evaluation.decision.not_text", field=name)
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InputError("evaluation.decision.empty", field=name)
    allowed = {"\n", "\t"} if multiline else set()
    if any(unicodedata.category(ch) == "Cc" and ch not in allowed for ch in text):
        raise InputError("evaluation.decision.control_chars", field=name)
    if len(text) > limit:
        raise InputError("evaluation.decision.too_long", field=name, length=len(text), maximum=limit)
    return text


def make_deploy_decision(
    outcome: str,
    *,
    rationale: str,
    decided_by: str,
    decided_at: datetime,
    checks: DeployChecks | None = None,
) -> DeployDecision:
    """Validate the approver's go/no-go; a rationale is always required.

    Raises
    ------
    InputError
        ``evaluation.decision.unknown_outcome``, ``evaluation.decision.empty``,
        ``evaluation.decision.too_long``, ``evaluation.decision.control_chars``, ``evaluation.decision.not_text``.

    Examples
    --------
    >>> d = make_deploy_decision("go", rationale="Recall 0.74 on the test set.", decided_by="ana",
    ...                          decided_at=datetime(2025, 5, 1))
    >>> d.outcome, d.overrides_recommendation
    ('go', False)
    """
    if outcome not in OUTCOMES:
        raise InputError("evaluation.decision.unknown_outcome", value=str(outcome)[:40], choices=", ".join(OUTCOMES))
    text = _clean_text(rationale, name="rationale", limit=RATIONALE_LIMIT, multiline=True)
    who = _clean_text(decided_by, name="decided_by", limit=NAME_LIMIT, multiline=False)
    recommendation = checks.recommendation if checks is not None else None
    overrides = recommendation is not None and (outcome == "go") != (recommendation == "go")
    return DeployDecision(outcome, text, who, decided_at, recommendation, overrides)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- report data


@dataclass(frozen=True)
class EvaluationReportData:
    """Everything the evaluation report shows; only ``title`` is required, empty sections are left out.

    ``title``, ``model_name``, ``target``, names in ``other_versions``, ``expert_concerns`` and ``caveats``
    are user text (escaped when written).
    """

    title: str
    model_name: str = ""
    target: str = ""
    dataset_version: str = ""
    test_rows: int | None = None
    test_metrics: Mapping[str, float] = field(default_factory=dict)
    baseline_metrics: Mapping[str, float] = field(default_factory=dict)
    leaderboard: Leaderboard | None = None
    comparisons: Sequence[PairedComparison] = ()
    threshold: ThresholdMetrics | None = None
    robustness: RobustnessResult | None = None
    slices: Sequence[SliceReport] = ()
    other_versions: Sequence[tuple[str, VersionEvaluation]] = ()
    fairness: Sequence[FairnessReport] = ()
    performance: PerformanceReport | None = None
    checks: DeployChecks | None = None
    decision: DeployDecision | None = None
    expert_concerns: Sequence[str] = ()
    caveats: Sequence[str] = ()
    generated_at: datetime | date | None = None


@dataclass(frozen=True)
class ModelCardSections:
    """The model card's evaluation sections: intended use, data, metrics, slices, fairness, explanations,
    caveats and the domain experts' concerns. Texts are user text (escaped when written)."""

    title: str
    intended_use: str = ""
    data: str = ""
    dataset_version: str = ""
    test_metrics: Mapping[str, float] = field(default_factory=dict)
    baseline_metrics: Mapping[str, float] = field(default_factory=dict)
    slices: Sequence[SliceReport] = ()
    fairness: Sequence[FairnessReport] = ()
    explanations: Sequence[str] = ()
    caveats: Sequence[str] = ()
    expert_concerns: Sequence[str] = ()


# ----------------------------------------------------------------------------- document model
# A document is built once as blocks, then written as Markdown or HTML, so both say the same.


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Para:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class _Bullets:
    items: tuple[str, ...]


_Block = _Heading | _Para | _Table | _Bullets


class _Writer:
    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.blocks: list[_Block] = []

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.lang, **params)

    def n(self, value: Any) -> str:
        return _number(value, self.lang)

    def metric(self, name: str) -> str:
        return self.t(f"planning.metric.{name}")

    def heading(self, level: int, text: str) -> None:
        self.blocks.append(_Heading(level, text))

    def para(self, text: str, *, strong: bool = False) -> None:
        self.blocks.append(_Para(text, strong))

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.blocks.append(_Table(tuple(headers), tuple(tuple(r) for r in rows)))

    def bullets(self, items: Sequence[str]) -> None:
        cleaned = tuple(" ".join(str(i).split()) for i in items if str(i).strip())
        if cleaned:
            self.blocks.append(_Bullets(cleaned))


def _when(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _metrics_section(w: _Writer, test: Mapping[str, float], baseline: Mapping[str, float], rows: int | None) -> None:
    if rows is not None:
        w.para(w.t("evaluation.report.test_rows", rows=w.n(rows)))
    w.table(
        (w.t("evaluation.report.metric"), w.t("evaluation.report.model"), w.t("evaluation.report.baseline")),
        [(w.metric(m), w.n(v), w.n(baseline.get(m))) for m, v in test.items()],
    )


def _slices_section(w: _Writer, reports: Sequence[SliceReport]) -> None:
    for report in reports:
        w.para(
            w.t(
                "evaluation.report.slices_intro",
                metric=w.metric(report.metric),
                overall=w.n(report.overall),
                count=w.n(len(report.frame)),
                min_size=w.n(report.min_size),
            )
        )
        worst = report.worst
        if worst.empty:
            w.para(w.t("evaluation.report.no_worst_slices"))
            continue
        w.table(
            (
                w.t("evaluation.report.column"),
                w.t("evaluation.report.slice"),
                w.t("evaluation.report.rows"),
                w.metric(report.metric),
                w.t("evaluation.report.shortfall"),
            ),
            [
                (
                    str(r.column),
                    _slice_label(w, r.kind, r.slice),
                    w.n(int(r.n_rows)),
                    w.n(float(r.value)),
                    w.n(float(r.shortfall)),
                )
                for r in worst.itertuples()
            ],
        )


def _slice_label(w: _Writer, kind: str, label: Any) -> str:
    if kind in ("missing", "other"):
        return w.t(f"evaluation.report.slice_{kind}")
    return str(label)


def _fairness_section(w: _Writer, reports: Sequence[FairnessReport]) -> None:
    for report in reports:
        w.heading(3, w.t("evaluation.report.fairness_column", column=report.sensitive))
        w.table(
            (
                w.t("evaluation.report.group"),
                w.t("evaluation.report.rows"),
                w.t("evaluation.measure.selection_rate"),
                w.t("evaluation.report.tpr"),
                w.t("evaluation.measure.false_positive_rate"),
            ),
            [
                (
                    str(r.group) + (" " + w.t("evaluation.report.small_mark") if r.small else ""),
                    w.n(int(r.count)),
                    _percent(float(r.selection_rate), w.lang),
                    _percent(float(r.true_positive_rate), w.lang),
                    _percent(float(r.false_positive_rate), w.lang),
                )
                for r in report.groups.itertuples()
            ],
        )
        w.para(
            w.t(
                "evaluation.report.fairness_differences",
                parity=w.n(report.demographic_parity_difference),
                odds=w.n(report.equalized_odds_difference),
            )
        )
        if report.small_groups:
            w.para(
                w.t(
                    "evaluation.report.small_groups",
                    groups=", ".join(report.small_groups),
                    minimum=w.n(report.min_group_size),
                )
            )


def _build_report(data: EvaluationReportData, lang: str) -> list[_Block]:
    w = _Writer(lang)
    w.heading(1, w.t("evaluation.report.title", title=data.title))
    if data.generated_at is not None:
        w.para(w.t("evaluation.report.generated", when=_when(data.generated_at)))
    details = [
        (w.t("evaluation.report.model_name"), data.model_name or "—"),
        (w.t("evaluation.report.target"), data.target or "—"),
        (w.t("evaluation.report.dataset_version"), data.dataset_version or "—"),
    ]
    w.table((w.t("evaluation.report.field"), w.t("evaluation.report.value")), details)

    w.heading(2, w.t("evaluation.report.decision"))
    if data.checks is not None:
        w.para(w.t(data.checks.recommendation_key), strong=True)
    if data.decision is None:
        w.para(w.t("evaluation.report.no_decision"))
    else:
        d = data.decision
        w.para(w.t(f"evaluation.decision.outcome.{d.outcome}"), strong=True)
        w.para(d.rationale)
        w.para(w.t("evaluation.report.decided_by", who=d.decided_by, when=_when(d.decided_at)))
        if d.overrides_recommendation:
            w.para(w.t("evaluation.report.overrides"))
    if data.checks is not None:
        w.heading(2, w.t("evaluation.report.criteria"))
        w.table(
            (w.t("evaluation.report.criterion"), w.t("evaluation.report.status"), w.t("evaluation.report.detail")),
            [
                (w.t(f"evaluation.criterion.{c.criterion}"), w.t(f"evaluation.status.{c.status}"), c.message(lang))
                for c in data.checks.checks
            ],
        )

    if data.test_metrics:
        w.heading(2, w.t("evaluation.report.test_set"))
        _metrics_section(w, data.test_metrics, data.baseline_metrics, data.test_rows)

    if data.leaderboard is not None:
        board = data.leaderboard
        w.heading(2, w.t("evaluation.report.comparison"))
        w.para(w.t("evaluation.report.comparison_intro", metric=w.metric(board.metric)))
        w.table(
            (
                w.t("evaluation.report.rank"),
                w.t("evaluation.report.candidate"),
                w.t("evaluation.report.mean_std", metric=w.metric(board.metric)),
            ),
            [
                (
                    w.n(int(r["rank"])),
                    str(r["name"]) + (" " + w.t("evaluation.report.baseline_mark") if r["baseline"] else ""),
                    f"{w.n(float(r[board.metric + '_mean']))} ± {w.n(float(r[board.metric + '_std']))}",
                )
                for _, r in board.table.iterrows()
            ],
        )
    if data.comparisons:
        w.bullets([c.verdict(lang) for c in data.comparisons])

    if data.threshold is not None:
        m = data.threshold
        w.heading(2, w.t("evaluation.report.threshold"))
        rows = [
            (w.t("evaluation.measure.threshold"), w.n(m.threshold)),
            (w.t("evaluation.measure.precision"), w.n(m.precision)),
            (w.t("evaluation.measure.recall"), w.n(m.recall)),
            (w.t("evaluation.measure.f1"), w.n(m.f1)),
            (w.t("evaluation.measure.selection_rate"), _percent(m.selection_rate, lang)),
            (
                w.t("evaluation.report.confusion"),
                w.t(
                    "evaluation.report.confusion_counts",
                    tp=w.n(m.true_positives),
                    fp=w.n(m.false_positives),
                    tn=w.n(m.true_negatives),
                    fn=w.n(m.false_negatives),
                ),
            ),
        ]
        if m.cost is not None:
            rows.append((w.t("evaluation.measure.cost"), w.n(m.cost)))
            rows.append((w.t("evaluation.measure.cost_per_row"), w.n(m.cost_per_row)))
        w.table((w.t("evaluation.report.field"), w.t("evaluation.report.value")), rows)

    if data.robustness is not None:
        r = data.robustness
        primary = r.metrics[0]
        w.heading(2, w.t("evaluation.report.robustness"))
        w.para(
            w.t(
                "evaluation.report.robustness_intro",
                metric=w.metric(primary),
                rows=w.n(r.n_rows),
                repeats=w.n(r.n_repeats),
            )
        )
        shown = r.frame[r.frame["metric"] == primary]
        w.table(
            (
                w.t("evaluation.report.perturbation"),
                w.t("evaluation.report.level"),
                w.metric(primary),
                w.t("evaluation.report.change"),
            ),
            [
                (
                    w.t(f"evaluation.perturbation.{row.perturbation}"),
                    w.n(float(row.level)),
                    w.n(float(row.value)),
                    w.n(float(row.change)),
                )
                for row in shown.itertuples()
            ],
        )
        if r.skipped:
            w.para(
                w.t(
                    "evaluation.report.skipped", kinds=", ".join(w.t(f"evaluation.perturbation.{k}") for k in r.skipped)
                )
            )

    if data.slices:
        w.heading(2, w.t("evaluation.report.slices"))
        _slices_section(w, data.slices)

    if data.other_versions:
        w.heading(2, w.t("evaluation.report.other_versions"))
        for name, result in data.other_versions:
            w.heading(3, w.t("evaluation.report.version", name=name, rows=w.n(result.n_rows)))
            w.table(
                (w.t("evaluation.report.metric"), w.t("evaluation.report.value"), w.t("evaluation.report.change")),
                [(w.metric(m), w.n(v), w.n(result.change.get(m))) for m, v in result.metrics.items()],
            )

    if data.fairness:
        w.heading(2, w.t("evaluation.report.fairness"))
        _fairness_section(w, data.fairness)

    if data.performance is not None:
        p = data.performance
        w.heading(2, w.t("evaluation.report.performance"))
        rows = [
            (
                w.t("evaluation.report.latency"),
                w.t(
                    "evaluation.report.latency_value",
                    p50=w.n(p.latency_ms_p50),
                    p95=w.n(p.latency_ms_p95),
                    p99=w.n(p.latency_ms_p99),
                ),
            ),
            *[
                (
                    w.t("evaluation.report.throughput", rows=w.n(n)),
                    w.t("evaluation.report.rows_per_second", rate=w.n(round(rate))),
                )
                for n, rate in p.throughput
            ],
            (w.t("evaluation.report.model_size"), w.t("evaluation.report.bytes", value=w.n(p.model_bytes))),
            (
                w.t("evaluation.report.peak_memory", rows=w.n(p.peak_memory_rows)),
                w.t("evaluation.report.bytes", value=w.n(p.peak_memory_bytes)),
            ),
            (
                w.t("evaluation.report.training_time"),
                w.t("evaluation.report.seconds", value=w.n(p.training_seconds))
                if p.training_seconds is not None
                else "—",
            ),
            (w.t("evaluation.report.host"), ", ".join(str(p.host.get(k) or "—") for k in ("host", "platform", "cpus"))),
        ]
        w.table((w.t("evaluation.report.field"), w.t("evaluation.report.value")), rows)

    if data.expert_concerns:
        w.heading(2, w.t("evaluation.report.expert_concerns"))
        w.bullets(list(data.expert_concerns))
    if data.caveats:
        w.heading(2, w.t("evaluation.report.caveats"))
        w.bullets(list(data.caveats))
    return w.blocks


def _build_card(card: ModelCardSections, lang: str) -> list[_Block]:
    w = _Writer(lang)
    w.heading(1, w.t("evaluation.card.title", title=card.title))
    w.heading(2, w.t("evaluation.card.intended_use"))
    w.para(card.intended_use.strip() or w.t("evaluation.card.not_written"))
    w.heading(2, w.t("evaluation.card.data"))
    w.para(card.data.strip() or w.t("evaluation.card.not_written"))
    if card.dataset_version:
        w.para(w.t("evaluation.card.dataset_version", version=card.dataset_version))
    w.heading(2, w.t("evaluation.card.metrics"))
    if card.test_metrics:
        _metrics_section(w, card.test_metrics, card.baseline_metrics, None)
    else:
        w.para(w.t("evaluation.card.not_measured"))
    w.heading(2, w.t("evaluation.card.slices"))
    if card.slices:
        _slices_section(w, card.slices)
    else:
        w.para(w.t("evaluation.card.not_measured"))
    w.heading(2, w.t("evaluation.card.fairness"))
    if card.fairness:
        _fairness_section(w, card.fairness)
    else:
        w.para(w.t("evaluation.card.not_measured"))
    if card.explanations:
        w.heading(2, w.t("evaluation.card.explanations"))
        w.bullets(list(card.explanations))
    w.heading(2, w.t("evaluation.card.caveats"))
    if card.caveats:
        w.bullets(list(card.caveats))
    else:
        w.para(w.t("evaluation.card.not_written"))
    w.heading(2, w.t("evaluation.card.expert_concerns"))
    if card.expert_concerns:
        w.bullets(list(card.expert_concerns))
    else:
        w.para(w.t("evaluation.card.no_concerns"))
    return w.blocks


# ----------------------------------------------------------------------------- Markdown

_md = md_escape
_md_cell = md_cell


def _md_line(text: str) -> str:
    return _md(" ".join(str(text).split()))



def _markdown(blocks: Sequence[_Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            out.append("#" * block.level + " " + _md_line(block.text))
        elif isinstance(block, _Para):
            text = "  \n".join(_md(line.strip()) for line in block.text.split("\n") if line.strip())
            out.append(f"**{text}**" if block.strong and text else text)
        elif isinstance(block, _Bullets):
            out.append("\n".join("- " + _md_line(item) for item in block.items))
        else:
            out.append(
                "\n".join(
                    [
                        "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
                        "|" + "---|" * len(block.headers),
                        *("| " + " | ".join(_md_cell(c) or "—" for c in row) + " |" for row in block.rows),
                    ]
                )
            )
    return "\n\n".join(out) + "\n"


# ----------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;border-bottom:2px solid #333;padding-bottom:.3rem}
h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #bbb}
h3{font-size:1.05rem;margin-top:1.2rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;font-size:.92rem}
th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f2f2f2}
tr{page-break-inside:avoid}
@media print{body{margin:0;max-width:none}h2,h3{page-break-after:avoid}}
"""


def _h(text: str) -> str:
    return html.escape(str(text), quote=True)


def _html(blocks: Sequence[_Block], lang: str) -> str:
    body: list[str] = []
    for block in blocks:
        if isinstance(block, _Heading):
            body.append(f"<h{block.level}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, _Para):
            text = _h(block.text.strip()).replace("\n", "<br>")
            body.append(f"<p><strong>{text}</strong></p>" if block.strong else f"<p>{text}</p>")
        elif isinstance(block, _Bullets):
            body.append("<ul>" + "".join(f"<li>{_h(item)}</li>" for item in block.items) + "</ul>")
        else:
            head = "".join(f"<th>{_h(h)}</th>" for h in block.headers)
            rows = "".join("<tr>" + "".join(f"<td>{_h(c) or '—'}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    title = blocks[0].text if blocks and isinstance(blocks[0], _Heading) else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{_h(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_h(' '.join(title.split()))}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def render_report_markdown(data: EvaluationReportData, *, lang: str) -> str:
    """Write the evaluation report as Markdown in ``lang`` (every text escaped).

    Raises
    ------
    InputError
        ``evaluation.report.unknown_language``.

    Examples
    --------
    >>> text = render_report_markdown(EvaluationReportData("Churn *v2*"), lang="en")
    >>> text.splitlines()[0]
    '# Evaluation report: Churn \\\\*v2\\\\*'
    """
    _check_lang(lang)
    return _markdown(_build_report(data, lang))


def render_report_html(data: EvaluationReportData, *, lang: str) -> str:
    """Write the evaluation report as one self-contained, print-friendly HTML page (no scripts, nothing
    fetched; every text escaped).

    Raises
    ------
    InputError
        ``evaluation.report.unknown_language``.

    Examples
    --------
    >>> page = render_report_html(EvaluationReportData("<script>alert(1)</script>"), lang="es")
    >>> "<script>" in page, "&lt;script&gt;" in page
    (False, True)
    """
    _check_lang(lang)
    return _html(_build_report(data, lang), lang)


def render_card_markdown(card: ModelCardSections, *, lang: str) -> str:
    """Write the model card's evaluation sections as Markdown in ``lang`` (every text escaped).

    Raises
    ------
    InputError
        ``evaluation.report.unknown_language``.
    """
    _check_lang(lang)
    return _markdown(_build_card(card, lang))


def render_card_html(card: ModelCardSections, *, lang: str) -> str:
    """Write the model card's evaluation sections as a self-contained, print-friendly HTML page.

    Raises
    ------
    InputError
        ``evaluation.report.unknown_language``.
    """
    _check_lang(lang)
    return _html(_build_card(card, lang), lang)
