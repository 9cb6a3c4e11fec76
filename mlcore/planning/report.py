"""The planning report: canvas, feasibility, data evidence and the go/no-go decision, as Markdown or HTML.

The HTML is one self-contained, print-friendly page (inline CSS, the learning curve as an
inline SVG drawn here, no scripts, nothing fetched). Every text a user typed is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from mlcore.i18n import LANGUAGES, translate
from mlcore.markdown import md_escape
from mlcore.planning.canvas import (
    ESSENTIAL_FIELDS,
    Canvas,
    PlanningInputError,
    canvas_completeness,
    check_text,
    missing_essentials,
)
from mlcore.planning.checklist import DIMENSIONS, Answer, ChecklistItem, Readiness, readiness
from mlcore.planning.sufficiency import (
    BaselineComparison,
    DataAvailability,
    SufficiencyStudy,
    extrapolation_sizes,
    figure_labels,
)

__all__ = [
    "OUTCOMES",
    "Decision",
    "ReportData",
    "learning_curve_svg",
    "make_decision",
    "render_html",
    "render_markdown",
]

Outcome = Literal["go", "no_go", "go_with_conditions"]
OUTCOMES: tuple[str, ...] = ("go", "no_go", "go_with_conditions")
RATIONALE_LIMIT = 4000
NAME_LIMIT = 200

# Canvas fields in report order, with how their value is shown.
_CANVAS_ROWS: tuple[str, ...] = (
    "business_objective",
    "objective_type",
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
    "secondary_metric",
    "secondary_threshold",
    "cost_false_positive",
    "cost_false_negative",
    "baseline_process",
    "baseline_score",
    "latency",
    "volume_per_period",
    "volume_period",
    "interpretability_required",
)
_CODED = {
    "objective_type": "planning.objective.",
    "task_type": "planning.task.",
    "metric": "planning.metric.",
    "secondary_metric": "planning.metric.",
    "latency": "planning.latency.",
    "volume_period": "planning.period.",
}


@dataclass(frozen=True)
class Decision:
    """The go/no-go sign-off. Build it with :func:`make_decision`."""

    outcome: Outcome
    rationale: str
    decided_by: str
    decided_at: datetime


def make_decision(outcome: str, *, rationale: str, decided_by: str, decided_at: datetime) -> Decision:
    """Validate a go/no-go decision.

    Raises
    ------
    PlanningInputError
        ``planning.decision.unknown_outcome``, ``planning.decision.rationale_empty``, or the
        ``planning.text.*`` errors for the texts.

    Examples
    --------
    >>> make_decision("go", rationale="Blocking items cleared.", decided_by="ana",
    ...               decided_at=datetime(2025, 3, 1)).outcome
    'go'
    """
    if outcome not in OUTCOMES:
        raise PlanningInputError(
            "planning.decision.unknown_outcome", value=str(outcome)[:40], choices=", ".join(OUTCOMES)
        )
    text = check_text(rationale, field="rationale", limit=RATIONALE_LIMIT)
    if text is None:
        raise PlanningInputError("planning.decision.rationale_empty")
    who = check_text(decided_by, field="decided_by", limit=NAME_LIMIT, multiline=False)
    if who is None:
        raise PlanningInputError("planning.decision.who_empty")
    return Decision(outcome=outcome, rationale=text, decided_by=who, decided_at=decided_at)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ReportData:
    """Everything the planning report shows; only the project name, canvas and checklist are required.

    ``readiness`` is computed from ``items`` and ``answers`` when not given.
    """

    project_name: str
    canvas: Canvas
    items: Sequence[ChecklistItem]
    answers: Sequence[Answer] = ()
    readiness: Readiness | None = None
    availability: DataAvailability | None = None
    study: SufficiencyStudy | None = None
    baseline: BaselineComparison | None = None
    decision: Decision | None = None
    generated_at: datetime | None = None


# ----------------------------------------------------------------------------- document model
# The report is built once as blocks, then written as Markdown or HTML, so both say the same.


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str


@dataclass(frozen=True)
class _Para:
    text: str
    strong: bool = False


@dataclass(frozen=True)
class _Link:
    text: str
    href: str | None  # only http(s) URLs are links; anything else is shown as text


@dataclass(frozen=True)
class _Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str | _Link, ...], ...]


@dataclass(frozen=True)
class _Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class _Svg:
    markup: str  # built by learning_curve_svg from escaped text only


_Block = _Heading | _Para | _Table | _Bullets | _Svg


@dataclass
class _Writer:
    lang: str
    blocks: list[_Block] = field(default_factory=list)

    def t(self, key: str, **params: Any) -> str:
        return translate(key, self.lang, **params)


def _number(value: float | int | None, lang: str, digits: int = 3) -> str:
    """A number for people: thousands separated, trailing zeros dropped, decimal comma in Spanish."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        text = f"{int(round(value)):,}"
    else:
        text = f"{value:,.{digits}f}".rstrip("0").rstrip(".")
    if lang == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def _percent(value: float, lang: str) -> str:
    return _number(round(100 * value, 1), lang, 1) + " %"


def _when(value: datetime | date | None, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def _canvas_value(canvas: Canvas, name: str, lang: str) -> str:
    value = getattr(canvas, name)
    if value is None:
        return "—"
    if name in _CODED:
        return translate(_CODED[name] + str(value), lang)
    if isinstance(value, bool):
        return translate("planning.bool.true" if value else "planning.bool.false", lang)
    if isinstance(value, int | float):
        return _number(value, lang)
    return str(value)


def _build(data: ReportData, lang: str) -> list[_Block]:
    w = _Writer(lang)
    b = w.blocks
    b.append(_Heading(1, w.t("planning.report.title", project=data.project_name)))
    if data.generated_at is not None:
        b.append(_Para(w.t("planning.report.generated", when=_when(data.generated_at, lang))))

    decision = data.decision
    b.append(_Heading(2, w.t("planning.report.decision")))
    if decision is None:
        b.append(_Para(w.t("planning.report.no_decision")))
    else:
        b.append(_Para(w.t(f"planning.decision.{decision.outcome}"), strong=True))
        b.append(_Para(decision.rationale))
        b.append(
            _Para(w.t("planning.report.decided_by", who=decision.decided_by, when=_when(decision.decided_at, lang)))
        )

    canvas = data.canvas
    b.append(_Heading(2, w.t("planning.report.canvas")))
    b.append(_Para(w.t("planning.report.completeness", share=_percent(canvas_completeness(canvas), lang))))
    missing = missing_essentials(canvas)
    if missing:
        names = ", ".join(w.t(f"planning.field.{name}") for name in missing)
        b.append(_Para(w.t("planning.report.missing", fields=names)))
    shown = set(ESSENTIAL_FIELDS) | set(missing)  # essential fields show even when empty
    rows = tuple(
        (w.t(f"planning.field.{name}"), _canvas_value(canvas, name, lang))
        for name in _CANVAS_ROWS
        if getattr(canvas, name) is not None or name in shown
    )
    b.append(_Table((w.t("planning.report.field"), w.t("planning.report.value")), rows))

    _feasibility(w, data)
    if data.availability is not None:
        _availability(w, data.availability)
    if data.study is not None:
        _study(w, data.study)
    if data.baseline is not None:
        _baseline(w, data.baseline)
    return b


def _feasibility(w: _Writer, data: ReportData) -> None:
    b, lang = w.blocks, w.lang
    ready = data.readiness if data.readiness is not None else readiness(data.items, data.answers)
    b.append(_Heading(2, w.t("planning.report.feasibility")))
    b.append(
        _Para(
            w.t(
                "planning.report.overall",
                status=w.t(f"planning.status.{ready.status}"),
                score=_percent(ready.score, lang),
            ),
            strong=True,
        )
    )
    b.append(
        _Table(
            (w.t("planning.report.dimension"), w.t("planning.report.score"), w.t("planning.report.status")),
            tuple(
                (w.t(f"planning.dimension.{d.dimension}"), _percent(d.score, lang), w.t(f"planning.status.{d.status}"))
                for d in ready.dimensions
            ),
        )
    )
    by_id = {item.id: item for item in data.items}
    if ready.blockers:
        b.append(_Para(w.t("planning.report.blockers"), strong=True))
        b.append(_Bullets(tuple(by_id[i].question(lang) for i in ready.blockers)))
    if ready.open_blocking:
        b.append(_Para(w.t("planning.report.open_blocking"), strong=True))
        b.append(_Bullets(tuple(by_id[i].question(lang) for i in ready.open_blocking)))

    answers = {a.item_id: a for a in data.answers}
    headers = (
        w.t("planning.report.question"),
        w.t("planning.report.answer"),
        w.t("planning.report.owner"),
        w.t("planning.report.evidence"),
        w.t("planning.report.due"),
    )
    dimensions = DIMENSIONS + tuple(sorted({i.dimension for i in data.items} - set(DIMENSIONS)))
    for dimension in dimensions:
        members = [item for item in data.items if item.dimension == dimension]
        if not members:
            continue
        b.append(_Heading(3, w.t(f"planning.dimension.{dimension}")))
        rows: list[tuple[str | _Link, ...]] = []
        for item in members:
            answer = answers.get(item.id)
            question = item.question(lang) + (" " + w.t("planning.report.blocking_mark") if item.blocking else "")
            value = answer.answer if answer is not None else "unknown"
            owner = (answer.owner_role if answer is not None and answer.owner_role else None) or item.owner_role
            evidence: str | _Link = "—"
            if answer is not None and (answer.evidence or answer.evidence_link):
                text = " ".join(part for part in (answer.evidence, answer.evidence_link) if part)
                href = answer.evidence_link if answer.evidence_link and "://" in answer.evidence_link else None
                evidence = _Link(text, href)
            rows.append(
                (
                    question,
                    w.t(f"planning.answer.{value}"),
                    w.t(f"planning.owner.{owner}"),
                    evidence,
                    _when(answer.due_date if answer is not None else None, lang),
                )
            )
        b.append(_Table(headers, tuple(rows)))


def _availability(w: _Writer, summary: DataAvailability) -> None:
    b, lang = w.blocks, w.lang
    b.append(_Heading(2, w.t("planning.report.availability")))
    rows: list[tuple[str | _Link, ...]] = [
        (w.t("planning.report.rows"), _number(summary.rows, lang)),
        (w.t("planning.report.labelled_rows"), _number(summary.labelled_rows, lang)),
        (w.t("planning.report.missing_share"), _percent(summary.missing_share, lang)),
    ]
    if summary.rows_per_class:
        classes = "; ".join(f"{label}: {_number(n, lang)}" for label, n in summary.rows_per_class)
        rows.append((w.t("planning.report.rows_per_class"), classes))
    if summary.date_min is not None:
        rows.append(
            (
                w.t("planning.report.dates"),
                w.t(
                    "planning.report.date_range",
                    first=_when(summary.date_min.date(), lang),
                    last=_when(summary.date_max.date() if summary.date_max else None, lang),
                    days=_number(round(summary.date_span_days or 0.0), lang),
                ),
            )
        )
    b.append(_Table((w.t("planning.report.field"), w.t("planning.report.value")), tuple(rows)))
    if summary.missing_by_column:
        b.append(_Para(w.t("planning.report.most_missing")))
        b.append(_Bullets(tuple(f"{name}: {_percent(share, lang)}" for name, share in summary.missing_by_column)))
    if summary.findings:
        b.append(_Bullets(tuple(f.message(lang) for f in summary.findings)))


def _study(w: _Writer, study: SufficiencyStudy) -> None:
    b, lang = w.blocks, w.lang
    b.append(_Heading(2, w.t("planning.report.sufficiency")))
    b.append(
        _Para(
            w.t(
                "planning.report.study_setup",
                model=study.estimator,
                metric=w.t(f"planning.metric.{study.metric}"),
                folds=study.cv,
                rows=_number(study.n_rows, lang),
            )
        )
    )
    params = {k: _number(v, lang) for k, v in study.verdict_params.items()}
    b.append(_Para(w.t(study.verdict_key, **params), strong=True))
    if study.rows_needed is not None:
        needed = study.rows_needed
        b.append(_Para(w.t(needed.key, **{k: _number(v, lang) for k, v in needed.params.items()})))
    b.append(_Svg(learning_curve_svg(study, labels=figure_labels(lang), lang=lang)))
    b.append(
        _Table(
            (
                w.t("planning.figure.x_axis"),
                w.t("planning.report.validation_mean"),
                w.t("planning.report.validation_std"),
                w.t("planning.report.training_mean"),
            ),
            tuple(
                (_number(n, lang), _number(m, lang), _number(s, lang), _number(t, lang))
                for n, m, s, t in zip(study.train_sizes, study.val_mean, study.val_std, study.train_mean, strict=True)
            ),
        )
    )


def _baseline(w: _Writer, result: BaselineComparison) -> None:
    b, lang = w.blocks, w.lang
    b.append(_Heading(2, w.t("planning.report.baseline")))
    rows: list[tuple[str | _Link, ...]] = [
        (w.t("planning.field.threshold"), _number(result.threshold, lang)),
        (w.t("planning.report.dummy_score"), _number(result.dummy_score, lang)),
    ]
    if result.stated_baseline_score is not None:
        rows.append((w.t("planning.field.baseline_score"), _number(result.stated_baseline_score, lang)))
    rows.append((w.t("planning.report.bar"), _number(result.bar, lang)))
    b.append(_Table((w.t("planning.report.field"), w.t("planning.report.value")), tuple(rows)))
    params = {k: _number(v, lang) for k, v in result.conclusion_params.items()}
    b.append(_Para(w.t(result.conclusion_key, **params), strong=True))


# ----------------------------------------------------------------------------- Markdown

def _md_cell(value: str | _Link) -> str:
    text = value.text if isinstance(value, _Link) else value
    return md_escape(" ".join(text.split()))


def render_markdown(data: ReportData, *, lang: str) -> str:
    """Write the planning report as Markdown (every user text escaped).

    Parameters
    ----------
    data : ReportData
    lang : str
        One of :data:`mlcore.i18n.LANGUAGES`.

    Raises
    ------
    PlanningInputError
        ``planning.report.unknown_language``.

    Examples
    --------
    >>> from mlcore.planning.checklist import load_items
    >>> text = render_markdown(ReportData("Churn *Q3*", Canvas(), load_items()), lang="en")
    >>> text.splitlines()[0]
    '# Planning report: Churn \\\\*Q3\\\\*'
    """
    _check_lang(lang)
    out: list[str] = []
    for block in _build(data, lang):
        if isinstance(block, _Heading):
            out.append("#" * block.level + " " + md_escape(" ".join(block.text.split())))
        elif isinstance(block, _Para):
            lines = [md_escape(line) for line in block.text.split("\n")]
            text = "  \n".join(lines)
            out.append(f"**{text}**" if block.strong else text)
        elif isinstance(block, _Bullets):
            out.append("\n".join("- " + md_escape(" ".join(item.split())) for item in block.items))
        elif isinstance(block, _Table):
            out.append(
                "\n".join(
                    [
                        "| " + " | ".join(_md_cell(h) for h in block.headers) + " |",
                        "|" + "---|" * len(block.headers),
                        *("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows),
                    ]
                )
            )
        # The SVG chart has no Markdown form; the table below it carries the same numbers.
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
svg{max-width:100%;height:auto}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}a{color:#000}}
"""


def _h(text: str) -> str:
    return html.escape(text, quote=True)


def _html_cell(value: str | _Link) -> str:
    if isinstance(value, _Link):
        if value.href is not None and value.href.lower().startswith(("http://", "https://")):
            return f'<a href="{_h(value.href)}" rel="noopener noreferrer">{_h(value.text)}</a>'
        return _h(value.text)
    return _h(value).replace("\n", "<br>")


def render_html(data: ReportData, *, lang: str) -> str:
    """Write the planning report as one self-contained, print-friendly HTML page.

    No scripts and no external resources: the learning curve is an inline SVG. Every text
    (user-typed or not) is HTML-escaped; only ``http(s)`` evidence links become links.

    Raises
    ------
    PlanningInputError
        ``planning.report.unknown_language``.

    Examples
    --------
    >>> from mlcore.planning.checklist import load_items
    >>> page = render_html(ReportData("<script>alert(1)</script>", Canvas(), load_items()), lang="es")
    >>> "<script>" in page, "&lt;script&gt;" in page
    (False, True)
    """
    _check_lang(lang)
    body: list[str] = []
    blocks = _build(data, lang)
    for block in blocks:
        if isinstance(block, _Heading):
            body.append(f"<h{block.level}>{_h(block.text)}</h{block.level}>")
        elif isinstance(block, _Para):
            text = _h(block.text).replace("\n", "<br>")
            body.append(f"<p><strong>{text}</strong></p>" if block.strong else f"<p>{text}</p>")
        elif isinstance(block, _Bullets):
            body.append("<ul>" + "".join(f"<li>{_h(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, _Table):
            head = "".join(f"<th>{_h(h)}</th>" for h in block.headers)
            rows = "".join("<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        else:
            body.append(f"<figure>{block.markup}</figure>")
    title = blocks[0].text if isinstance(blocks[0], _Heading) else ""
    return (
        f'<!DOCTYPE html>\n<html lang="{_h(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_h(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _check_lang(lang: str) -> None:
    if lang not in LANGUAGES:
        raise PlanningInputError("planning.report.unknown_language", value=str(lang)[:20], choices=", ".join(LANGUAGES))


# ----------------------------------------------------------------------------- SVG chart


def learning_curve_svg(
    study: SufficiencyStudy, *, labels: dict[str, str], lang: str = "en", width: int = 640, height: int = 360
) -> str:
    """Draw the learning curve as a static SVG (same content as the plotly chart).

    Validation mean ± one standard deviation (band), training mean (grey, dashed), the fitted
    curve extended beyond the data (dotted), the threshold (red, dashed); logarithmic x axis.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> from sklearn.linear_model import LogisticRegression
    >>> from mlcore.planning.sufficiency import learning_curve_study
    >>> X, y = make_classification(300, random_state=0)
    >>> study = learning_curve_study(X, y, task_type="classification", metric="roc_auc",
    ...                              estimator=LogisticRegression(), cv=3, threshold=0.99)
    >>> svg = learning_curve_svg(study, labels=figure_labels("en"))
    >>> svg.startswith("<svg") and "<script" not in svg
    True
    """
    left, right, top, bottom = 64, 16, 36, 84
    plot_w, plot_h = width - left - right, height - top - bottom
    sizes = np.asarray(study.train_sizes, dtype=float)
    mean, std = np.asarray(study.val_mean), np.asarray(study.val_std)
    train = np.asarray(study.train_mean)
    grid = extrapolation_sizes(study, 40) if study.fit is not None else sizes
    fitted = study.fit.predict(grid) if study.fit is not None else np.array([])
    values = [mean - std, mean + std, train, fitted]
    if study.threshold is not None:
        values.append(np.array([study.threshold]))
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    low, high = float(finite.min()), float(finite.max())
    pad = 0.05 * (high - low or 1.0)
    low, high = low - pad, high + pad
    x_min, x_max = math.log10(float(grid.min())), math.log10(float(max(grid.max(), sizes.max())))
    x_span = (x_max - x_min) or 1.0

    def px(n: float) -> float:
        return left + (math.log10(n) - x_min) / x_span * plot_w

    def py(v: float) -> float:
        return top + (high - v) / (high - low) * plot_h

    def path(xs: npt.ArrayLike, ys: npt.ArrayLike) -> str:
        pairs = zip(np.asarray(xs, dtype=float), np.asarray(ys, dtype=float), strict=True)
        return " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in pairs if math.isfinite(y))

    def label(name: str) -> str:
        return _h(str(labels.get(name, name)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{label("title")}" font-family="sans-serif" font-size="11">',
        f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="14">{label("title")}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#999"/>',
    ]
    for k in range(5):
        v = low + (high - low) * k / 4
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{py(v):.1f}" y2="{py(v):.1f}" stroke="#eee"/>'
            f'<text x="{left - 6}" y="{py(v) + 4:.1f}" text-anchor="end">{_h(_number(v, lang))}</text>'
        )
    ticks = list(sizes if len(sizes) <= 8 else sizes[:: max(1, len(sizes) // 6)])
    if grid.max() > 1.5 * sizes.max():
        ticks.append(float(grid.max()))
    for n in ticks:
        parts.append(
            f'<text x="{px(n):.1f}" y="{top + plot_h + 15}" text-anchor="middle">{_h(_number(int(n), lang))}</text>'
        )
    band = path(sizes, mean + std) + " " + path(sizes[::-1], (mean - std)[::-1])
    parts.append(f'<polygon points="{band}" fill="#1f77b4" fill-opacity="0.2" stroke="none"/>')
    if len(fitted):
        parts.append(f'<polyline points="{path(grid, fitted)}" fill="none" stroke="#1f77b4" stroke-dasharray="2,3"/>')
    parts.append(f'<polyline points="{path(sizes, train)}" fill="none" stroke="#7f7f7f" stroke-dasharray="6,4"/>')
    parts.append(f'<polyline points="{path(sizes, mean)}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    parts.extend(
        f'<circle cx="{px(n):.1f}" cy="{py(m):.1f}" r="3" fill="#1f77b4"/>' for n, m in zip(sizes, mean, strict=True)
    )
    if study.threshold is not None:
        y = py(study.threshold)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#d62728" stroke-dasharray="6,3"/>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{top + plot_h + 32}" text-anchor="middle">{label("x_axis")}</text>'
        f'<text transform="translate(14,{top + plot_h / 2:.0f}) rotate(-90)" text-anchor="middle">'
        f"{label('y_axis')}</text>"
    )
    legend = [("validation", "#1f77b4", ""), ("training", "#7f7f7f", "6,4"), ("fit", "#1f77b4", "2,3")]
    if study.threshold is not None:
        legend.append(("threshold", "#d62728", "6,3"))
    for index, (name, colour, dash) in enumerate(legend):
        x = left + (index % 2) * plot_w / 2
        y = height - 30 + (index // 2) * 16
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x:.0f}" x2="{x + 22:.0f}" y1="{y - 4}" y2="{y - 4}" '
            f'stroke="{colour}" stroke-width="2"{dash_attr}/>'
            f'<text x="{x + 27:.0f}" y="{y}">{label(name)}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
