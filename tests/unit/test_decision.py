"""Deploy decision: each canvas criterion is checked pass/fail/unknown with a reason, the recommendation
follows, the approver's decision is validated, and reports in both languages escape every user text."""

from __future__ import annotations

import re
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from mlcore.errors import InputError
from mlcore.modeling.decision import (
    CriterionCheck,
    DeployChecks,
    EvaluationReportData,
    ModelCardSections,
    check_criteria,
    make_deploy_decision,
    render_card_html,
    render_card_markdown,
    render_report_html,
    render_report_markdown,
)
from mlcore.modeling.evaluation import (
    CandidateFolds,
    Predictions,
    compare_top,
    leaderboard,
    metrics_at_threshold,
)
from mlcore.modeling.stress import (
    PerformanceReport,
    RobustnessResult,
    fairness_report,
    slice_performance,
)
from mlcore.planning.canvas import Canvas


def _performance(p95: float = 20.0, rate: float = 50_000.0) -> PerformanceReport:
    return PerformanceReport(
        method="predict_proba",
        latency_calls=100,
        latency_ms_p50=p95 / 2,
        latency_ms_p95=p95,
        latency_ms_p99=p95 * 1.5,
        throughput=((1000, rate / 2), (10_000, rate)),
        model_bytes=12_345,
        peak_memory_bytes=2_000_000,
        peak_memory_rows=10_000,
        training_seconds=3.2,
        host={"host": "box", "platform": "Linux", "cpus": 2},
    )


def _fairness(gap: bool):
    truth = [1, 0] * 40
    predicted = truth[:40] + ([1 - t for t in truth[40:]] if gap else truth[40:])
    return fairness_report(truth, predicted, pd.Series(["a"] * 40 + ["b"] * 40, name="gender"))


CANVAS = Canvas(
    task_type="classification",
    metric="recall",
    threshold=0.7,
    secondary_metric="precision",
    secondary_threshold=0.4,
    baseline_score=0.5,
    latency="seconds",
    volume_per_period=1_000_000,
    volume_period="day",
)


def _status(result: DeployChecks) -> dict[str, str]:
    return {c.criterion: c.status for c in result.checks}


def test_all_criteria_pass_recommends_go():
    result = check_criteria(
        CANVAS,
        test_metrics={"recall": 0.75, "precision": 0.45},
        baseline_metrics={"recall": 0.0, "precision": 0.0},
        performance=_performance(),
        fairness=[_fairness(gap=False)],
        fairness_limit=0.1,
    )
    assert _status(result) == {
        "metric_threshold": "pass",
        "secondary_constraint": "pass",
        "baseline_margin": "pass",
        "latency": "pass",
        "throughput": "pass",
        "fairness": "pass",
    }
    assert result.recommendation == "go"
    assert result.recommendation_key == "evaluation.recommendation.go"


def test_each_failing_criterion_recommends_no_go_with_a_reason():
    cases = {
        "metric_threshold": {"test_metrics": {"recall": 0.65, "precision": 0.45}},
        "secondary_constraint": {"test_metrics": {"recall": 0.75, "precision": 0.35}},
        "latency": {"performance": _performance(p95=1500.0)},
        "throughput": {"performance": _performance(rate=10.0)},  # 1e6 rows at 10/s: 27 hours > a day
        "fairness": {"fairness": [_fairness(gap=True)]},
    }
    base = {
        "test_metrics": {"recall": 0.75, "precision": 0.45},
        "baseline_metrics": {"recall": 0.0},
        "performance": _performance(),
        "fairness": [_fairness(gap=False)],
        "fairness_limit": 0.1,
    }
    for criterion, change in cases.items():
        result = check_criteria(CANVAS, **{**base, **change})
        failing = [c for c in result.checks if c.status == "fail"]
        assert [c.criterion for c in failing] == [criterion]
        assert result.recommendation == "no_go"
        for lang in ("en", "es"):
            text = failing[0].message(lang)
            assert text and "{" not in text and "evaluation." not in text


def test_metric_messages_use_translated_names_and_numbers():
    result = check_criteria(CANVAS, test_metrics={"recall": 0.65})
    first = result.checks[0]
    assert first.params == {"metric": "recall", "value": 0.65, "threshold": 0.7}
    assert first.message("en") == "Recall on the test set: 0.65; it does not reach the target of 0.7."
    assert (
        first.message("es") == "Exhaustividad (recall) en el conjunto de prueba: 0,65; no alcanza el objetivo de 0,7."
    )


def test_unknown_criteria_make_the_recommendation_incomplete():
    result = check_criteria(Canvas())
    assert _status(result) == {"metric_threshold": "unknown", "baseline_margin": "unknown", "latency": "unknown"}
    assert result.recommendation == "incomplete"
    assert result.checks[0].reason_key == "evaluation.check.metric_threshold.not_set"
    measured_later = check_criteria(CANVAS)
    assert measured_later.checks[0].reason_key == "evaluation.check.metric_threshold.not_measured"
    assert {c.criterion for c in measured_later.checks} == {
        "metric_threshold",
        "secondary_constraint",
        "baseline_margin",
        "latency",
        "throughput",
    }
    undefined = check_criteria(CANVAS, test_metrics={"recall": float("nan")})
    assert undefined.checks[0].status == "unknown"
    # a failure outranks unknowns
    assert check_criteria(CANVAS, test_metrics={"recall": 0.1}).recommendation == "no_go"


def test_baseline_margin_uses_the_better_baseline_and_the_metric_direction():
    canvas = Canvas(task_type="regression", metric="mae", threshold=10.0, baseline_score=8.0)
    beats = check_criteria(canvas, test_metrics={"mae": 6.0}, baseline_metrics={"mae": 12.0})
    margin = next(c for c in beats.checks if c.criterion == "baseline_margin")
    assert margin.status == "pass" and margin.params["source"] == "process" and margin.params["margin"] == 2.0
    assert "current process" in margin.message("en") and "proceso actual" in margin.message("es")
    short = check_criteria(canvas, test_metrics={"mae": 6.0}, baseline_metrics={"mae": 12.0}, min_margin=3.0)
    assert next(c for c in short.checks if c.criterion == "baseline_margin").status == "fail"
    worse = check_criteria(canvas, test_metrics={"mae": 9.0}, baseline_metrics={"mae": 7.0})
    check = next(c for c in worse.checks if c.criterion == "baseline_margin")
    assert check.status == "fail" and check.params["source"] == "dummy" and check.params["margin"] == -2.0
    equal = check_criteria(canvas, test_metrics={"mae": 8.0})
    assert next(c for c in equal.checks if c.criterion == "baseline_margin").status == "fail"
    none = check_criteria(Canvas(metric="f1", threshold=0.5), test_metrics={"f1": 0.6})
    assert next(c for c in none.checks if c.criterion == "baseline_margin").reason_key.endswith("no_baseline")


def test_latency_limits_follow_the_canvas_need():
    slow = _performance(p95=30_000.0)
    assert _status(check_criteria(Canvas(latency="seconds"), performance=slow))["latency"] == "fail"
    assert _status(check_criteria(Canvas(latency="minutes"), performance=slow))["latency"] == "pass"
    check = next(
        c for c in check_criteria(Canvas(latency="minutes"), performance=slow).checks if c.criterion == "latency"
    )
    assert "minutes" in check.message("en") and "minutos" in check.message("es")


def test_fairness_checks_need_a_limit_and_a_measurement():
    no_limit = check_criteria(CANVAS, fairness=[_fairness(gap=False)])
    assert next(c for c in no_limit.checks if c.criterion == "fairness").reason_key.endswith("no_limit")
    not_measured = check_criteria(CANVAS, fairness_limit=0.1)
    assert next(c for c in not_measured.checks if c.criterion == "fairness").reason_key.endswith("not_measured")
    per_column = check_criteria(
        CANVAS,
        fairness=[_fairness(gap=False), _fairness(gap=True)],
        fairness_limit=0.2,
        fairness_measure="demographic_parity_difference",
    )
    assert [c.status for c in per_column.checks if c.criterion == "fairness"] == ["pass", "pass"]
    assert "gender" in per_column.checks[-1].message("en")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"fairness_limit": 1.5}, "evaluation.check.bad_fairness_limit"),
        ({"fairness_limit": "0.1"}, "evaluation.check.bad_fairness_limit"),
        ({"fairness_measure": "vibes"}, "evaluation.check.unknown_fairness_measure"),
        ({"min_margin": -1.0}, "evaluation.check.bad_margin"),
        ({"min_margin": float("nan")}, "evaluation.check.bad_margin"),
    ],
)
def test_check_criteria_bad_inputs(kwargs, key):
    with pytest.raises(InputError) as err:
        check_criteria(CANVAS, **kwargs)
    assert err.value.key == key


# ----------------------------------------------------------------------------- the approver's decision


def test_deploy_decision_is_validated_and_overrides_are_flagged():
    when = datetime(2025, 5, 1, 9, 30)
    failing = check_criteria(CANVAS, test_metrics={"recall": 0.1})
    go = make_deploy_decision(
        "go", rationale="  Business accepts lower recall.\r\n", decided_by="Ana", decided_at=when, checks=failing
    )
    assert (
        go.overrides_recommendation
        and go.rationale == "Business accepts lower recall."
        and go.recommendation == "no_go"
    )
    passing = DeployChecks(
        (CriterionCheck("metric_threshold", "pass", "evaluation.check.metric_threshold.pass"),), "go"
    )
    assert make_deploy_decision(
        "no_go", rationale="Wait for May data.", decided_by="Ana", decided_at=when, checks=passing
    ).overrides_recommendation
    assert not make_deploy_decision("go", rationale="ok", decided_by="Ana", decided_at=when).overrides_recommendation
    bad = [
        ({"outcome": "maybe"}, "evaluation.decision.unknown_outcome"),
        ({"rationale": "   "}, "evaluation.decision.empty"),
        ({"rationale": "x" * 4001}, "evaluation.decision.too_long"),
        ({"rationale": "ok\x00"}, "evaluation.decision.control_chars"),
        ({"decided_by": "Ana\nBob"}, "evaluation.decision.control_chars"),
        ({"rationale": 5}, "evaluation.decision.not_text"),
    ]
    for change, key in bad:
        args = {"outcome": "go", "rationale": "fine", "decided_by": "Ana", **change}
        with pytest.raises(InputError) as err:
            make_deploy_decision(args.pop("outcome"), decided_at=when, **args)
        assert err.value.key == key


# ----------------------------------------------------------------------------- reports

EVIL = [
    "<script>alert('x')</script>",
    "[click me](javascript:alert(1))",
    "# Heading injected",
    "| a | b |",
    "**bold** _em_ `code`",
    "<img src=x onerror=alert(1)>",
    "=cmd|' /C calc'!A0",
]


def _full_report(text: str) -> EvaluationReportData:
    rows = {"train_rows": (80,) * 3, "test_rows": (20,) * 3}
    board = leaderboard(
        [
            CandidateFolds(text, "random_forest", {"recall": (0.8, 0.82, 0.81)}, **rows),
            CandidateFolds("baseline", "dummy", {"recall": (0.0, 0.0, 0.0)}, **rows),
        ]
    )
    truth = np.array([1, 0] * 30)
    predicted = np.array([1, 0] * 25 + [0, 1] * 5)
    p = Predictions(
        "classification", truth, predicted, np.column_stack([1 - predicted, predicted]).astype(float), (0, 1), 1, True
    )
    frame = pd.DataFrame({"segment": [text] * 30 + ["other"] * 30})
    robustness = RobustnessResult(
        ("recall",),
        {"recall": 0.8},
        pd.DataFrame(
            [
                {
                    "perturbation": "none",
                    "level": 0.0,
                    "metric": "recall",
                    "value": 0.8,
                    "std": 0.0,
                    "change": 0.0,
                    "degradation": 0.0,
                    "columns": 0,
                },
                {
                    "perturbation": "noise",
                    "level": 0.5,
                    "metric": "recall",
                    "value": 0.7,
                    "std": 0.01,
                    "change": -0.1,
                    "degradation": 0.1,
                    "columns": 3,
                },
            ]
        ),
        ("unseen_category",),
        60,
        1,
        2,
    )
    checks = check_criteria(CANVAS, test_metrics={"recall": 0.8, "precision": 0.5}, performance=_performance())
    decision = make_deploy_decision(
        "go", rationale=text + "\n" + text, decided_by=text, decided_at=datetime(2025, 5, 1), checks=checks
    )
    return EvaluationReportData(
        title=text,
        model_name=text,
        target=text,
        dataset_version="ab" * 32,
        test_rows=60,
        test_metrics={"recall": 0.8, "precision": 0.5},
        baseline_metrics={"recall": 0.0},
        leaderboard=board,
        comparisons=compare_top(board),
        threshold=metrics_at_threshold(
            truth, predicted.astype(float), 0.5, cost_false_positive=1, cost_false_negative=5
        ),
        robustness=robustness,
        slices=[slice_performance(p, frame, columns=["segment"], metric="recall", min_size=5)],
        fairness=[fairness_report(truth, predicted, pd.Series([text] * 30 + ["b"] * 30, name=text), min_group_size=1)],
        performance=_performance(),
        checks=checks,
        decision=decision,
        expert_concerns=[text, "Second concern"],
        caveats=[text],
        generated_at=datetime(2025, 5, 2, 10, 0),
    )


def _markdown_is_inert(markdown: str) -> None:
    pipes = None
    for line in markdown.splitlines():
        # no raw HTML tag, no link, no injected heading: only our own headings start with "#"
        assert not re.search(r"(?<!\\)<[a-zA-Z/]", line), line
        assert not re.search(r"(?<!\\)\]\(", line), line
        if line.startswith("#"):
            assert re.match(r"#{1,3} \S", line)
        # every row of a table has as many unescaped "|" as its header: user text cannot add columns
        if line.startswith("|"):
            count = len(re.findall(r"(?<!\\)\|", line))
            pipes = count if pipes is None else pipes
            assert count == pipes, line
        else:
            pipes = None
    assert "\n# Heading injected" not in markdown


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("text", EVIL)
def test_report_escapes_user_text_in_markdown_and_html(text, lang):
    data = _full_report(text)
    markdown = render_report_markdown(data, lang=lang)
    _markdown_is_inert(markdown)
    page = render_report_html(data, lang=lang)
    assert "<script" not in page and "<img" not in page
    assert page.count("<table>") >= 8
    for document in (markdown, page.split("<body>")[1]):
        assert "{" not in document, "unfilled placeholder"
        assert not re.search(r"evaluation\.[a-z_]+\.[a-z_]", document), "untranslated key"


def test_report_sections_and_languages():
    data = _full_report("Churn May")
    en = render_report_markdown(data, lang="en")
    es = render_report_markdown(data, lang="es")
    for heading in (
        "## Deploy decision",
        "## Success criteria",
        "## Held-out test set",
        "## Candidates compared",
        "## Decision threshold",
        "## Robustness",
        "## Real-world segments",
        "## Fairness",
        "## Hardware performance",
        "## Concerns raised by domain experts",
        "## Caveats",
    ):
        assert heading in en
    assert "## Decisión de despliegue" in es and "0,8" in es and "## Equidad" in es
    assert "the difference is probably real" in en
    assert data.checks is not None and data.checks.recommendation == "go"
    assert "This decision goes against" not in en  # "go" agrees with the checks
    assert "12,345 bytes" in en and "12.345 bytes" in es
    page = render_report_html(data, lang="es")
    assert page.startswith("<!DOCTYPE html>") and '<html lang="es">' in page and "@media print" in page
    assert "http" not in page and "<script" not in page  # self-contained
    minimal = render_report_markdown(EvaluationReportData("Only a title"), lang="en")
    assert "No decision has been recorded yet." in minimal and "## Robustness" not in minimal


def test_model_card_sections_escape_and_translate():
    p = Predictions("classification", np.array([1, 0] * 20), np.array([1, 0] * 20), None, (0, 1), 1, False)
    card = ModelCardSections(
        title="<b>Churn</b>",
        intended_use="Retention calls.\n# not a heading",
        data="[link](http://x)",
        dataset_version="v3",
        test_metrics={"f1": 0.7},
        slices=[slice_performance(p, pd.DataFrame({"c": ["x", "y"] * 20}), columns=["c"], metric="f1", min_size=5)],
        explanations=["Tenure matters most"],
        caveats=["Few seniors"],
        expert_concerns=["*Check* the 2023 data"],
    )
    for lang in ("en", "es"):
        markdown = render_card_markdown(card, lang=lang)
        _markdown_is_inert(markdown)
        assert "\\# not a heading" in markdown and "\\*Check\\*" in markdown
        page = render_card_html(card, lang=lang)
        assert "<b>" not in page and "&lt;b&gt;Churn&lt;/b&gt;" in page
    en = render_card_markdown(card, lang="en")
    for heading in (
        "## Intended use",
        "## Data",
        "## Metrics on the held-out test set",
        "## Performance by segment",
        "## Fairness",
        "## Explanations",
        "## Caveats",
        "## Concerns raised by domain experts",
    ):
        assert heading in en
    empty = render_card_markdown(ModelCardSections("X"), lang="es")
    assert "Aún no se ha escrito." in empty and "No se ha registrado ninguna inquietud." in empty


def test_reports_refuse_unknown_languages():
    for render in (render_report_markdown, render_report_html):
        with pytest.raises(InputError) as err:
            render(EvaluationReportData("x"), lang="fr")
        assert err.value.key == "evaluation.report.unknown_language"
    with pytest.raises(InputError):
        render_card_markdown(ModelCardSections("x"), lang="<script>")
