"""Planning stage: canvas validation and proposals, checklist readiness, data sufficiency, report."""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.linear_model import LinearRegression, LogisticRegression
from threadpoolctl import threadpool_limits

from mlcore.errors import InputError
from mlcore.i18n import catalog, translate
from mlcore.planning.canvas import (
    CLASSIFICATION_METRICS,
    ESSENTIAL_FIELDS,
    METRICS,
    OBJECTIVE_TYPES,
    REGRESSION_METRICS,
    TEXT_LIMITS,
    Canvas,
    PlanningInputError,
    apply_proposal,
    canvas_completeness,
    meets_threshold,
    metric_direction,
    missing_essentials,
    propose_ml_goal,
    validate_canvas,
)
from mlcore.planning.checklist import (
    ANSWERS,
    DIMENSIONS,
    OWNER_ROLES,
    READY_SCORE,
    STATUSES,
    Answer,
    ChecklistItem,
    load_items,
    make_custom_item,
    overdue_items,
    readiness,
    validate_answer,
)
from mlcore.planning.report import OUTCOMES, ReportData, make_decision, render_html, render_markdown
from mlcore.planning.sufficiency import (
    FIGURE_LABELS,
    MIN_ROWS,
    baseline_comparison,
    data_availability,
    figure_labels,
    fit_power_law,
    learning_curve_figure,
    learning_curve_study,
    rows_needed,
)

ROOT = Path(__file__).resolve().parents[2]


def _key(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    assert isinstance(excinfo.value, InputError)
    return excinfo.value.key


def _full_canvas(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "business_objective": "Lose fewer customers",
        "objective_type": "reduce_churn",
        "kpi_name": "Monthly churn rate",
        "kpi_current_value": 0.2,
        "prediction_users": "Retention team",
        "prediction_action": "Call the customers most likely to leave",
        "task_type": "classification",
        "target_definition": "Cancels within 60 days",
        "prediction_unit": "Customer",
        "horizon": "60 days",
        "business_target": "Churn from 20% to 17%",
        "metric": "recall",
        "threshold": 0.8,
        "secondary_metric": "precision",
        "secondary_threshold": 0.5,
        "cost_false_positive": 5000,
        "cost_false_negative": 120000,
        "baseline_process": "Agents call customers who complained twice",
        "baseline_score": 0.35,
        "latency": "days",
        "volume_per_period": 20000,
        "volume_period": "month",
        "interpretability_required": True,
    }
    data.update(overrides)
    return data


# ----------------------------------------------------------------------------- canvas


def test_partial_canvas_is_valid_and_completeness_grows_monotonically():
    assert validate_canvas({}) == Canvas()
    assert canvas_completeness(Canvas()) == 0.0
    full = _full_canvas()
    previous = -1.0
    filled: dict[str, object] = {"task_type": "classification"}
    for name in [*ESSENTIAL_FIELDS, "cost_false_positive", "cost_false_negative"]:
        filled[name] = full[name]
        share = canvas_completeness(validate_canvas(filled))
        assert 0.0 <= share <= 1.0 and share >= previous
        previous = share
    complete = validate_canvas(full)
    assert canvas_completeness(complete) == 1.0 and missing_essentials(complete) == ()


def test_costs_are_essential_only_for_classification():
    assert "cost_false_negative" in missing_essentials(Canvas(task_type="classification"))
    assert "cost_false_negative" not in missing_essentials(Canvas(task_type="regression"))


def test_empty_texts_become_none_and_texts_are_stripped():
    canvas = validate_canvas({"business_objective": "  Keep customers \r\n", "kpi_name": "", "latency": ""})
    assert canvas.business_objective == "Keep customers" and canvas.kpi_name is None and canvas.latency is None


@pytest.mark.parametrize("metric", CLASSIFICATION_METRICS)
@pytest.mark.parametrize("threshold", [-0.1, 1.2])
def test_rate_threshold_outside_unit_interval_is_refused(metric, threshold):
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"task_type": "classification", "metric": metric, "threshold": threshold})
    assert _key(excinfo) == "planning.canvas.rate_out_of_range"
    assert excinfo.value.params["field"] == "threshold"


@pytest.mark.parametrize("metric", CLASSIFICATION_METRICS)
def test_rate_threshold_bounds_are_inclusive(metric):
    for value in (0.0, 1.0):
        assert validate_canvas({"metric": metric, "threshold": value}).threshold == value


def test_r2_and_error_thresholds():
    assert validate_canvas({"metric": "r2", "threshold": -0.5}).threshold == -0.5
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"metric": "r2", "threshold": 1.01})
    assert _key(excinfo) == "planning.canvas.r2_above_one"
    for metric in ("mae", "rmse", "mape"):
        for value in (0, -3):
            with pytest.raises(PlanningInputError) as excinfo:
                validate_canvas({"task_type": "regression", "metric": metric, "threshold": value})
            assert _key(excinfo) == "planning.canvas.error_not_positive"
        assert validate_canvas({"metric": metric, "threshold": 1500.0}).threshold == 1500.0
    # Today's process may have a perfect (zero) error; a target may not.
    assert validate_canvas({"metric": "mae", "baseline_score": 0}).baseline_score == 0


def test_secondary_threshold_and_baseline_score_follow_the_same_ranges():
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"metric": "recall", "secondary_metric": "precision", "secondary_threshold": 50})
    assert _key(excinfo) == "planning.canvas.rate_out_of_range"
    assert excinfo.value.params["field"] == "secondary_threshold"
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"metric": "recall", "baseline_score": 3})
    assert excinfo.value.params["field"] == "baseline_score"


@pytest.mark.parametrize("field", ["cost_false_positive", "cost_false_negative"])
def test_negative_costs_are_refused(field):
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"task_type": "classification", field: -1})
    assert _key(excinfo) == "planning.canvas.negative_cost" and excinfo.value.params["field"] == field
    assert getattr(validate_canvas({field: 0}), field) == 0


def test_costs_with_a_regression_task_are_refused():
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"task_type": "regression", "cost_false_positive": 10})
    assert _key(excinfo) == "planning.canvas.costs_need_classification"


@pytest.mark.parametrize(
    ("task_type", "metric"),
    [("classification", m) for m in REGRESSION_METRICS] + [("regression", m) for m in CLASSIFICATION_METRICS],
)
def test_metric_must_suit_the_task(task_type, metric):
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"task_type": task_type, "metric": metric})
    assert _key(excinfo) == "planning.canvas.metric_task_mismatch"


def test_secondary_condition_rules():
    cases = [
        ({"metric": "recall", "secondary_metric": "precision"}, "planning.canvas.secondary_incomplete"),
        ({"secondary_threshold": 0.5}, "planning.canvas.secondary_incomplete"),
        (
            {"metric": "recall", "secondary_metric": "recall", "secondary_threshold": 0.5},
            "planning.canvas.secondary_same_metric",
        ),
        (
            {"metric": "recall", "secondary_metric": "mae", "secondary_threshold": 3},
            "planning.canvas.metric_task_mismatch",
        ),
        ({"metric": "recall", "secondary_metric": "lift", "secondary_threshold": 3}, "planning.metric_unknown"),
    ]
    for data, key in cases:
        with pytest.raises(PlanningInputError) as excinfo:
            validate_canvas(data)
        assert _key(excinfo) == key, data


def test_texts_are_limited_and_control_characters_refused():
    limit = TEXT_LIMITS["kpi_name"]
    assert validate_canvas({"kpi_name": "x" * limit}).kpi_name == "x" * limit
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"kpi_name": "x" * (limit + 1)})
    assert _key(excinfo) == "planning.text.too_long" and excinfo.value.params["maximum"] == limit
    for bad in ("churn\x00rate", "churn\x1b[31m", "abc\u202edcba"):
        with pytest.raises(PlanningInputError) as excinfo:
            validate_canvas({"business_objective": bad})
        assert _key(excinfo) == "planning.text.control_chars"
    assert "\n" in (validate_canvas({"business_objective": "line one\nline two"}).business_objective or "")


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"colour": "red"}, "planning.value.unknown_field"),
        ({"threshold": "abc"}, "planning.value.not_a_number"),
        ({"threshold": float("nan")}, "planning.value.not_a_number"),
        ({"volume_per_period": -3}, "planning.value.negative"),
        ({"volume_per_period": "1.5"}, "planning.value.not_a_whole_number"),
        ({"latency": "weeks"}, "planning.value.not_a_choice"),
        ({"task_type": "clustering"}, "planning.value.not_a_choice"),
        ({"interpretability_required": "maybe"}, "planning.value.not_yes_no"),
        ({"business_objective": 42}, "planning.text.not_text"),
    ],
)
def test_wrong_kinds_of_values_get_translated_keys(data, key):
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas(data)
    assert _key(excinfo) == key
    assert excinfo.value.message("en") != excinfo.value.message("es")


def test_numbers_from_forms_are_accepted():
    canvas = validate_canvas({"metric": "recall", "threshold": "0.8", "volume_per_period": "1200"})
    assert canvas.threshold == 0.8 and canvas.volume_per_period == 1200


def test_error_messages_name_fields_and_metrics_in_the_reader_language():
    with pytest.raises(PlanningInputError) as excinfo:
        validate_canvas({"metric": "recall", "threshold": 2})
    assert "Umbral" in excinfo.value.message("es") and "Exhaustividad" in excinfo.value.message("es")
    assert "Threshold" in excinfo.value.message("en") and "Recall" in str(excinfo.value)


def test_metric_direction_and_meets_threshold():
    for metric in CLASSIFICATION_METRICS + ("r2",):
        assert metric_direction(metric) == "higher"
        assert meets_threshold(metric, 0.8, 0.8) and meets_threshold(metric, 0.81, 0.8)
        assert not meets_threshold(metric, 0.79, 0.8)
    for metric in ("mae", "rmse", "mape"):
        assert metric_direction(metric) == "lower"
        assert meets_threshold(metric, 9.0, 10.0) and not meets_threshold(metric, 11.0, 10.0)
    assert not meets_threshold("recall", float("nan"), 0.5)
    with pytest.raises(PlanningInputError) as excinfo:
        metric_direction("lift")
    assert _key(excinfo) == "planning.metric_unknown"


# ----------------------------------------------------------------------------- proposals


@pytest.mark.parametrize("objective", OBJECTIVE_TYPES)
def test_every_proposal_is_valid_explained_and_editable(objective):
    proposal = propose_ml_goal(objective)
    canvas = apply_proposal(Canvas(), proposal)
    assert validate_canvas(canvas.model_dump()) == canvas
    assert canvas.objective_type == objective
    if proposal.task_type is not None:
        assert proposal.metric in METRICS[proposal.task_type]
        assert canvas.task_type == proposal.task_type and canvas.metric == proposal.metric
    for key in (proposal.task_reason_key, proposal.metric_reason_key, proposal.threshold_reason_key):
        assert catalog("en")[key] and catalog("es")[key] and catalog("en")[key] != catalog("es")[key]
    # Accept, then change: the user's own threshold replaces the proposal's.
    if proposal.metric is not None:
        own = 0.9 if metric_direction(proposal.metric) == "higher" and proposal.metric != "r2" else 0.5
        changed = validate_canvas({**canvas.model_dump(), "threshold": own})
        assert changed.threshold == own and changed.metric == proposal.metric


def test_apply_proposal_keeps_the_users_text_and_clears_what_no_longer_fits():
    canvas = validate_canvas(_full_canvas())
    demand = apply_proposal(canvas, propose_ml_goal("forecast_demand"))
    assert demand.business_objective == canvas.business_objective
    assert demand.task_type == "regression" and demand.metric == "mape"
    assert demand.cost_false_positive is None and demand.baseline_score is None
    assert demand.secondary_metric is None
    price = apply_proposal(Canvas(threshold=0.5, metric="r2"), propose_ml_goal("estimate_price_or_duration"))
    assert price.metric == "mae" and price.threshold is None  # an MAE threshold is in the user's units
    unchanged = apply_proposal(canvas, propose_ml_goal("other"))
    assert unchanged.model_dump(exclude={"objective_type"}) == canvas.model_dump(exclude={"objective_type"})


def test_unknown_objective_is_refused():
    with pytest.raises(PlanningInputError) as excinfo:
        propose_ml_goal("world_peace")
    assert _key(excinfo) == "planning.objective_unknown"


# ----------------------------------------------------------------------------- checklist


def test_builtin_items_cover_every_dimension_with_translated_texts():
    items = load_items()
    assert len({i.id for i in items}) == len(items)
    for dimension in DIMENSIONS:
        members = [i for i in items if i.dimension == dimension]
        assert 3 <= len(members) <= 5, dimension
        assert any(i.blocking for i in members), dimension
    en, es = catalog("en"), catalog("es")
    for item in items:
        assert item.owner_role in OWNER_ROLES and not item.custom
        for key in (item.question_key, item.help_key):
            assert key is not None and en[key] and es[key] and en[key] != es[key]
        assert item.question("es") == es[f"planning.item.{item.id}.question"]
        assert len(item.help("en")) > len(item.question("en"))


def test_owner_roles_match_the_account_roles():
    from mlcore.auth import ROLES

    assert OWNER_ROLES == ROLES


def test_custom_items_are_validated():
    item = make_custom_item(" Has the union been consulted? ", dimension="legal", owner_role="product_designer")
    assert item.custom and item.question("es") == "Has the union been consulted?" and item.question_key is None
    assert make_custom_item("Has the union been consulted?", dimension="legal", owner_role="viewer").id == item.id
    cases = [
        (("", "legal", "viewer", None), "planning.checklist.question_empty"),
        (("x" * 301, "legal", "viewer", None), "planning.text.too_long"),
        (("bad\x07bell", "legal", "viewer", None), "planning.text.control_chars"),
        (("two\nlines", "legal", "viewer", None), "planning.text.control_chars"),
        (("ok?", "astrology", "viewer", None), "planning.checklist.unknown_dimension"),
        (("ok?", "legal", "overlord", None), "planning.checklist.unknown_role"),
        (("ok?", "legal", "viewer", "Bad Id!"), "planning.checklist.bad_item_id"),
        (("ok?", "legal", "viewer", "lawful_basis"), "planning.checklist.item_id_taken"),
    ]
    for (question, dimension, role, item_id), key in cases:
        with pytest.raises(PlanningInputError) as excinfo:
            make_custom_item(question, dimension=dimension, owner_role=role, item_id=item_id)
        assert _key(excinfo) == key, question


@pytest.mark.parametrize(
    "link",
    ["https://intranet.example/dpia.pdf", "http://10.0.0.1/report?id=3", "A" * 64, "0123456789abcdef" * 4],
)
def test_good_evidence_links(link):
    answer = validate_answer({"item_id": "lawful_basis", "answer": "yes", "evidence_link": f" {link} "})
    assert answer.evidence_link in (link, link.lower())


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "ftp://files/x", "http://", "https://a b.com", "file:///etc/passwd", "abc123", "a" * 63],
)
def test_bad_evidence_links(link):
    with pytest.raises(PlanningInputError) as excinfo:
        validate_answer({"item_id": "lawful_basis", "answer": "yes", "evidence_link": link})
    assert _key(excinfo) == "planning.answer.bad_link"


def test_answer_fields_are_validated():
    answer = validate_answer(
        {"item_id": "lawful_basis", "answer": "partly", "due_date": "2025-03-31", "owner_role": ""}
    )
    assert answer.due_date == date(2025, 3, 31) and answer.owner_role is None
    cases = [
        ({"item_id": "lawful_basis", "answer": "maybe"}, "planning.value.not_a_choice"),
        ({"item_id": "lawful_basis", "due_date": "31/03/2025"}, "planning.value.not_a_date"),
        ({"item_id": "lawful_basis", "owner_role": "boss"}, "planning.checklist.unknown_role"),
        ({"item_id": "Lawful basis!"}, "planning.checklist.bad_item_id"),
        ({"item_id": "lawful_basis", "evidence": "x" * 2001}, "planning.text.too_long"),
    ]
    for data, key in cases:
        with pytest.raises(PlanningInputError) as excinfo:
            validate_answer(data)
        assert _key(excinfo) == key, data


def _answers(items: tuple[ChecklistItem, ...], value: str) -> list[Answer]:
    return [Answer(item_id=i.id, answer=value) for i in items]


def test_readiness_all_yes_is_ready_and_nothing_answered_is_at_risk():
    items = load_items()
    ready = readiness(items, _answers(items, "yes"))
    assert ready.status == "ready" and ready.score == 1.0 and ready.unanswered == ()
    assert [d.dimension for d in ready.dimensions] == list(DIMENSIONS)
    nothing = readiness(items, [])
    assert nothing.status == "at_risk" and nothing.score == 0.0 and nothing.blockers == ()
    assert set(nothing.open_blocking) == {i.id for i in items if i.blocking}
    assert set(nothing.unanswered) == {i.id for i in items}
    assert readiness((), []).status == "at_risk"


def test_a_blocking_no_blocks_its_dimension_and_the_project():
    items = load_items()
    blocking = next(i for i in items if i.blocking)
    answers = [Answer(item_id=i.id, answer="no" if i.id == blocking.id else "yes") for i in items]
    result = readiness(items, answers)
    assert result.status == "blocked" and result.blockers == (blocking.id,)
    assert result.dimension(blocking.dimension).status == "blocked"
    assert all(d.status == "ready" for d in result.dimensions if d.dimension != blocking.dimension)


@pytest.mark.parametrize("value", ["unknown", "partly"])
def test_a_blocking_item_not_yet_yes_means_not_ready(value):
    items = load_items()
    blocking = next(i for i in items if i.blocking)
    answers = [Answer(item_id=i.id, answer=value if i.id == blocking.id else "yes") for i in items]
    result = readiness(items, answers)
    assert result.status == "at_risk" and result.blockers == ()
    assert result.open_blocking == (blocking.id,)
    assert result.dimension(blocking.dimension).status == "at_risk"


def test_dimension_score_rule_and_ready_threshold():
    items = (
        ChecklistItem("a", "security", "security_analyst", True),
        ChecklistItem("b", "security", "security_analyst", False),
        ChecklistItem("c", "security", "security_analyst", False),
        ChecklistItem("d", "security", "security_analyst", False),
    )
    # yes, yes, yes, no: 0.75 = READY_SCORE, blocking item yes -> ready despite a non-blocking "no".
    result = readiness(
        items,
        [
            Answer(item_id="a", answer="yes"),
            Answer(item_id="b", answer="yes"),
            Answer(item_id="c", answer="yes"),
            Answer(item_id="d", answer="no"),
        ],
    )
    assert result.dimension("security").score == READY_SCORE and result.status == "ready"
    # yes, partly, partly, no: (1 + 0.5 + 0.5 + 0) / 4 = 0.5 -> at risk.
    result = readiness(
        items,
        [
            Answer(item_id="a", answer="yes"),
            Answer(item_id="b", answer="partly"),
            Answer(item_id="c", answer="partly"),
            Answer(item_id="d", answer="no"),
        ],
    )
    assert result.dimension("security").score == 0.5 and result.status == "at_risk"


def test_readiness_invariants_over_random_answers():
    items = load_items() + (
        make_custom_item("Union consulted?", dimension="legal", owner_role="viewer", blocking=True),
    )
    rng = np.random.default_rng(0)
    for _ in range(200):
        values = {i.id: str(rng.choice([*ANSWERS, "skip"])) for i in items}
        answers = [Answer(item_id=k, answer=v) for k, v in values.items() if v != "skip"]
        result = readiness(items, answers)
        assert result.status in STATUSES and 0.0 <= result.score <= 1.0
        blocking_no = {i.id for i in items if i.blocking and values[i.id] == "no"}
        assert set(result.blockers) == blocking_no
        assert (result.status == "blocked") == bool(blocking_no)
        for d in result.dimensions:
            members = [i for i in items if i.dimension == d.dimension]
            expected = np.mean([{"yes": 1, "partly": 0.5}.get(values[i.id], 0) for i in members])
            assert d.score == pytest.approx(expected)
            if d.status == "ready":
                assert all(values[i.id] == "yes" for i in members if i.blocking) and d.score >= READY_SCORE
        if result.status == "ready":
            assert all(d.status == "ready" for d in result.dimensions)
        assert result.score == pytest.approx(np.mean([d.score for d in result.dimensions]))


def test_readiness_refuses_inconsistent_answers():
    items = load_items()
    for answers, key in [
        ([Answer(item_id="no_such_item", answer="yes")], "planning.checklist.unknown_item"),
        ([Answer(item_id="lawful_basis"), Answer(item_id="lawful_basis")], "planning.checklist.duplicate_answer"),
    ]:
        with pytest.raises(PlanningInputError) as excinfo:
            readiness(items, answers)
        assert _key(excinfo) == key
    with pytest.raises(PlanningInputError) as excinfo:
        readiness(items + items[:1], [])
    assert _key(excinfo) == "planning.checklist.duplicate_item"


def test_overdue_items():
    answers = [
        Answer(item_id="lawful_basis", answer="unknown", due_date=date(2025, 1, 10)),
        Answer(item_id="fallback_plan", answer="yes", due_date=date(2025, 1, 10)),
        Answer(item_id="infrastructure", answer="no", due_date=date(2025, 2, 10)),
    ]
    assert [a.item_id for a in overdue_items(answers, today=date(2025, 2, 1))] == ["lawful_basis"]


# ----------------------------------------------------------------------------- data availability


def test_data_availability_counts_classes_missing_values_and_dates():
    df = pd.DataFrame(
        {
            "x": [1.0, None, 3.0, None, 5.0, 6.0],
            "z": [None] * 6,
            "when": pd.to_datetime(["2024-01-01", "2024-01-05", None, "2024-03-01", "2024-02-01", "2024-01-02"]),
            "y": ["a", "b", "a", "a", None, "a"],
        }
    )
    summary = data_availability(df, target="y", task_type="classification", date_column="when")
    assert (summary.rows, summary.labelled_rows) == (6, 5)
    assert summary.rows_per_class == (("a", 4), ("b", 1)) and summary.minority_share == pytest.approx(0.2)
    assert summary.missing_share == pytest.approx(9 / 18)
    assert summary.missing_by_column[0] == ("z", 1.0)
    assert [s for _, s in summary.missing_by_column] == sorted((s for _, s in summary.missing_by_column), reverse=True)
    assert summary.date_min == datetime(2024, 1, 1) and summary.date_span_days == pytest.approx(60)
    keys = {f.key for f in summary.findings}
    assert {
        "planning.availability.few_rows",
        "planning.availability.unlabelled_rows",
        "planning.availability.rare_class",
        "planning.availability.mostly_missing_columns",
        "planning.availability.short_history",
    } <= keys
    for finding in summary.findings:
        assert "{" not in finding.message("es")


def test_data_availability_errors():
    df = pd.DataFrame({"x": [1, 2], "y": [0, 1], "s": ["2024-01-01", "x"]})
    for kwargs, key in [
        ({"target": "churn"}, "planning.availability.target_not_a_column"),
        ({"target": "y", "date_column": "nope"}, "planning.availability.date_not_a_column"),
        ({"target": "y", "date_column": "s"}, "planning.availability.not_dates"),
        ({"target": "y", "task_type": "ranking"}, "planning.task_unknown"),
    ]:
        with pytest.raises(PlanningInputError) as excinfo:
            data_availability(df, **{"task_type": "classification", **kwargs})
        assert _key(excinfo) == key
    regression = data_availability(df, target="y", task_type="regression")
    assert regression.rows_per_class == () and regression.minority_share is None


# ----------------------------------------------------------------------------- learning curves


def _logistic() -> LogisticRegression:
    return LogisticRegression(max_iter=2000)


def test_learning_curve_says_more_data_helps_when_it_does():
    X, y = make_classification(2000, n_features=100, n_informative=60, n_redundant=0, class_sep=0.8, random_state=0)
    study = learning_curve_study(X, y, task_type="classification", metric="roc_auc", estimator=_logistic())
    assert study.verdict == "more_data_helps"
    assert study.gain_per_doubling > study.min_gain
    assert list(study.train_sizes) == sorted(study.train_sizes) and study.train_sizes[-1] == 1600
    assert all(0.0 <= v <= 1.0 for v in study.val_mean) and all(s >= 0 for s in study.val_std)
    assert len(study.fold_scores) == len(study.train_sizes) and all(len(r) == 5 for r in study.fold_scores)


def test_learning_curve_says_levelled_off_on_a_simple_noisy_problem():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5000, 2))
    y = (rng.uniform(size=5000) < 1 / (1 + np.exp(-(X[:, 0] + 0.5 * X[:, 1])))).astype(int)
    study = learning_curve_study(
        X, y, task_type="classification", metric="roc_auc", estimator=_logistic(), threshold=0.9
    )
    assert study.verdict == "levelled_off"
    assert abs(study.gain_per_doubling) < study.min_gain
    # The best possible AUC here is about 0.77: 0.9 is out of reach with more of the same data.
    assert study.rows_needed is not None and study.rows_needed.status == "unreachable"
    assert study.rows_needed.asymptote is not None and study.rows_needed.asymptote < 0.9


def test_progress_is_reported_in_order_with_catalog_keys():
    X, y = make_classification(300, random_state=1)
    calls: list[tuple[float, str]] = []
    study = learning_curve_study(
        X,
        y,
        task_type="classification",
        metric="f1",
        estimator=_logistic(),
        cv=3,
        progress=lambda share, key: calls.append((share, key)),
    )
    shares = [share for share, _ in calls]
    assert shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == 1.0
    assert len(calls) >= 3 * len(study.train_sizes)
    assert all(key in catalog("en") and key in catalog("es") for _, key in calls)


def test_default_model_handles_the_demo_data_with_text_and_dates():
    from mlcore.data.synthetic import make_churn

    demo = make_churn(400, random_state=3).current
    X, y = demo.drop(columns=["churned"]), demo["churned"]
    with threadpool_limits(limits=1):
        study = learning_curve_study(
            X, y, task_type="classification", metric="average_precision", cv=3, fractions=(0.25, 0.5, 1.0)
        )
    assert study.estimator == "HistGradientBoostingClassifier" and study.positive_class == "1"
    assert study.verdict in ("more_data_helps", "small_gains", "levelled_off", "too_noisy")


def test_multiclass_and_string_labels():
    X, y = make_classification(600, n_classes=3, n_informative=5, random_state=2)
    labels = np.array(["billing", "technical", "urgent"])[y]
    study = learning_curve_study(X, labels, task_type="classification", metric="f1", estimator=_logistic(), cv=3)
    assert study.classes == ("billing", "technical", "urgent") and study.positive_class is None
    assert all(0 <= v <= 1 for v in study.val_mean)


def test_regression_errors_are_positive_and_lower_is_better():
    X, y = make_regression(800, n_features=5, noise=10.0, random_state=0)
    study = learning_curve_study(
        X, y, task_type="regression", metric="mae", estimator=LinearRegression(), cv=3, threshold=1000.0
    )
    assert study.direction == "lower" and all(v > 0 for v in study.val_mean)
    assert study.rows_needed is not None and study.rows_needed.status == "reached"
    assert study.rows_needed.rows == study.train_sizes[0]
    assert study.verdict in ("levelled_off", "small_gains")


@pytest.mark.parametrize(
    ("n_rows", "labels", "key"),
    [
        (30, None, "planning.study.too_few_rows"),
        (MIN_ROWS - 1, None, "planning.study.too_few_rows"),
        (100, "single", "planning.study.single_class"),
        (100, "tiny", "planning.study.class_too_small"),
        (100, "missing", "planning.study.target_missing_values"),
    ],
)
def test_learning_curve_refuses_unusable_data(n_rows, labels, key):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n_rows, 3))
    y = rng.integers(0, 2, n_rows).astype(float)
    if labels == "single":
        y[:] = 1
    elif labels == "tiny":
        y[:] = 0
        y[:2] = 1
    elif labels == "missing":
        y[5] = np.nan
    with pytest.raises(PlanningInputError) as excinfo:
        learning_curve_study(X, y, task_type="classification", metric="recall", estimator=_logistic())
    assert _key(excinfo) == key
    assert "{" not in excinfo.value.message("es")
    if n_rows == 30:
        assert excinfo.value.params == {"rows": 30, "minimum": MIN_ROWS} and "30" in str(excinfo.value)


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"metric": "lift"}, "planning.metric_unknown"),
        ({"metric": "mae"}, "planning.canvas.metric_task_mismatch"),
        ({"cv": 1}, "planning.study.bad_folds"),
        ({"fractions": (0.5,)}, "planning.study.bad_fractions"),
        ({"fractions": (0.0, 0.5)}, "planning.study.bad_fractions"),
        ({"threshold": 1.5}, "planning.canvas.rate_out_of_range"),
        ({"task_type": "ranking"}, "planning.task_unknown"),
    ],
)
def test_learning_curve_refuses_bad_options(kwargs, key):
    X, y = make_classification(100, random_state=0)
    options = {"task_type": "classification", "metric": "recall", "estimator": _logistic(), **kwargs}
    with pytest.raises(PlanningInputError) as excinfo:
        learning_curve_study(X, y, **options)
    assert _key(excinfo) == key


def test_regression_target_checks():
    X = np.random.default_rng(0).normal(size=(100, 2))
    for y, metric, key in [
        (np.full(100, 3.0), "mae", "planning.study.constant_target"),
        (np.r_[np.zeros(10), np.arange(1, 91)], "mape", "planning.study.mape_with_zeros"),
        (np.array(["a", "b"] * 50), "mae", "planning.study.target_not_numeric"),
    ]:
        with pytest.raises(PlanningInputError) as excinfo:
            learning_curve_study(X, y, task_type="regression", metric=metric, estimator=LinearRegression())
        assert _key(excinfo) == key


# ----------------------------------------------------------------------------- power law and rows needed

SIZES = np.geomspace(100, 3200, 6).round()


@pytest.mark.parametrize("higher_is_better", [True, False])
def test_rows_needed_recovers_a_known_power_law_within_25_percent(higher_is_better):
    # score(n) = 0.92 - 1.5 n^-0.5 (or an error 0.10 + 1.5 n^-0.5); the threshold is the value
    # at 8,000 rows, 2.5 times the largest size observed.
    def truth(n: np.ndarray | float) -> np.ndarray | float:
        return 0.92 - 1.5 * n**-0.5 if higher_is_better else 0.10 + 1.5 * n**-0.5

    metric = "roc_auc" if higher_is_better else "mae"
    for seed in range(10):
        noise = np.random.default_rng(seed).normal(0, 0.0005, len(SIZES))
        fit = fit_power_law(
            SIZES,
            truth(SIZES) + noise,
            score_std=np.full(len(SIZES), 0.0005),
            higher_is_better=higher_is_better,
            best_possible=1.0 if higher_is_better else 0.0,
        )
        assert fit is not None
        estimate = rows_needed(fit, float(truth(8000.0)), metric=metric)
        assert estimate.status == "estimated" and estimate.rows is not None
        assert abs(estimate.rows / 8000 - 1) <= 0.25, (seed, estimate)
        assert estimate.low is not None and estimate.low <= estimate.rows
        assert estimate.high is None or estimate.high >= estimate.rows


def test_rows_needed_interval_covers_the_truth_most_of_the_time_with_more_noise():
    covered = 0
    for seed in range(20):
        scores = 0.92 - 1.5 * SIZES**-0.5 + np.random.default_rng(seed).normal(0, 0.002, len(SIZES))
        fit = fit_power_law(SIZES, scores, score_std=np.full(len(SIZES), 0.002), best_possible=1.0)
        estimate = rows_needed(fit, 0.92 - 1.5 * 8000**-0.5, metric="roc_auc")
        covered += (estimate.low or 0) <= 8000 <= (estimate.high or np.inf)
    assert covered >= 14  # an 80% interval: 16 expected out of 20


def test_rows_needed_statuses():
    scores = 0.9 - 2.0 * SIZES**-0.5
    fit = fit_power_law(SIZES, scores, best_possible=1.0)
    assert fit is not None and fit.asymptote == pytest.approx(0.9, abs=1e-3)
    assert rows_needed(fit, 0.95, metric="roc_auc").status == "unreachable"
    far = rows_needed(fit, 0.899, metric="roc_auc")  # 0.9 - 2 n^-0.5 = 0.899 at 4 million rows
    assert far.status == "far" and far.rows is None  # no number for so long an extrapolation
    reached = rows_needed(fit, 0.82, observed_sizes=SIZES.astype(int), observed_scores=scores, metric="roc_auc")
    assert reached.status == "reached" and reached.rows == 800
    assert rows_needed(None, 0.95, metric="roc_auc").status == "no_fit"
    assert fit_power_law(SIZES[:3], scores[:3]) is None
    for status in ("reached", "estimated", "estimated_open", "far", "unreachable", "no_fit"):
        key = f"planning.rows_needed.{status}"
        assert key in catalog("en") and key in catalog("es")


def test_fitted_curve_is_monotone_and_bounded():
    fit = fit_power_law(SIZES, 0.9 - 2.0 * SIZES**-0.5, best_possible=1.0)
    assert fit is not None
    grid = np.geomspace(10, 1e7, 50)
    predicted = fit.predict(grid)
    assert np.all(np.diff(predicted) >= -1e-12) and np.all(predicted <= 1.0)


# ----------------------------------------------------------------------------- baseline


def test_baseline_comparison_conclusions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (rng.uniform(size=400) < 0.2).astype(int)
    lax = baseline_comparison(X, y, task_type="classification", metric="accuracy", threshold=0.7)
    assert lax.dummy_strategy == "prior" and lax.dummy_score == pytest.approx(0.8, abs=0.05)
    assert lax.conclusion == "threshold_too_low_dummy" and lax.bar == lax.dummy_score
    below_today = baseline_comparison(
        X, y, task_type="classification", metric="recall", threshold=0.5, stated_baseline_score=0.6
    )
    assert below_today.dummy_strategy == "stratified" and below_today.conclusion == "threshold_too_low_stated"
    assert below_today.bar == 0.6 and below_today.threshold_beats_stated is False
    good = baseline_comparison(
        X, y, task_type="classification", metric="roc_auc", threshold=0.8, stated_baseline_score=0.7
    )
    assert good.conclusion == "threshold_meaningful" and good.bar == 0.8
    assert good.dummy_score == pytest.approx(0.5)
    Xr, yr = make_regression(300, n_features=3, noise=5, random_state=0)
    regression = baseline_comparison(Xr, yr, task_type="regression", metric="mae", threshold=1.0)
    assert regression.direction == "lower" and regression.dummy_strategy == "median"
    assert regression.conclusion == "threshold_meaningful" and regression.bar == 1.0
    for result in (lax, below_today, good, regression):
        assert result.conclusion_key in catalog("en") and result.conclusion_key in catalog("es")


# ----------------------------------------------------------------------------- chart and report


@pytest.fixture(scope="module")
def small_study():
    X, y = make_classification(400, random_state=0)
    return learning_curve_study(
        X, y, task_type="classification", metric="roc_auc", estimator=_logistic(), cv=3, threshold=0.99
    )


def test_learning_curve_figure_uses_the_given_labels(small_study):
    labels = figure_labels("es")
    assert set(labels) == set(FIGURE_LABELS)
    fig = learning_curve_figure(small_study, labels=labels)
    names = {trace.name for trace in fig.data}
    assert {labels["validation"], labels["training"], labels["fit"]} <= names
    assert fig.layout.xaxis.title.text == labels["x_axis"] and fig.layout.xaxis.type == "log"
    assert any(shape.y0 == 0.99 for shape in fig.layout.shapes)
    fitted = next(trace for trace in fig.data if trace.name == labels["fit"])
    assert max(fitted.x) > small_study.train_sizes[-1]  # extrapolated beyond the data


def _report_data(study=None, text="<script>alert('x')</script>"):
    items = (*load_items(), make_custom_item(f"Custom {text}?", dimension="legal", owner_role="viewer"))
    answers = (
        validate_answer(
            {
                "item_id": "lawful_basis",
                "answer": "yes",
                "evidence": f"DPIA {text}",
                "evidence_link": 'https://intranet.example/dpia?a=1&b="2"',
            }
        ),
        validate_answer({"item_id": "fallback_plan", "answer": "no", "evidence_link": "ab" * 32}),
    )
    return ReportData(
        project_name=f"Churn {text}",
        canvas=validate_canvas(_full_canvas(business_objective=f"Keep {text} customers")),
        items=items,
        answers=answers,
        study=study,
        decision=make_decision(
            "go_with_conditions",
            rationale=f"Because {text}",
            decided_by=f"ana {text}",
            decided_at=datetime(2025, 3, 1, 10, 30),
        ),
        generated_at=datetime(2025, 3, 2),
    )


def test_html_report_escapes_user_text_and_is_self_contained(small_study):
    page = render_html(_report_data(small_study), lang="en")
    assert "<script" not in page.lower() and "&lt;script&gt;" in page
    assert "javascript:" not in page and "onerror" not in page
    assert '<a href="https://intranet.example/dpia?a=1&amp;b=&quot;2&quot;" rel="noopener noreferrer">' in page
    assert "<svg" in page and "cdn" not in page.lower()
    external = re.findall(r"""(?:src|href)\s*=\s*["']?(https?://[^"' >]+)""", page)
    assert external == ["https://intranet.example/dpia?a=1&amp;b=&quot;2&quot;"]
    assert page.count("<table>") >= 3


def test_markdown_report_escapes_user_text(small_study):
    text = render_markdown(_report_data(small_study, text="<b>*bold*</b> | [link](http://x)"), lang="en")
    assert "<b>" not in text and "*bold*" not in text and not re.search(r"(?<!\\)\]\(", text)
    assert "\\[link\\](http://x)" in text
    unescaped_pipe = re.compile(r"(?<!\\)\|")
    for block in text.split("\n\n"):
        if block.startswith("|"):  # a table: user text must not add cells
            assert len({len(unescaped_pipe.findall(line)) for line in block.splitlines()}) == 1
    assert "\\<b\\>" in text


@pytest.mark.parametrize("lang", ["en", "es"])
def test_reports_in_both_languages(small_study, lang):
    data = _report_data(small_study)
    for rendered in (render_html(data, lang=lang), render_markdown(data, lang=lang)):
        for key in (
            "planning.report.canvas",
            "planning.report.feasibility",
            "planning.report.sufficiency",
            "planning.decision.go_with_conditions",
            "planning.dimension.ai_ethics",
        ):
            heading = translate(key, lang)
            assert heading in rendered.replace("\\", "")
        assert "planning." not in rendered  # no untranslated key leaks into the report
    other = "es" if lang == "en" else "en"
    assert translate("planning.report.canvas", other) not in render_markdown(data, lang=lang)


def test_report_without_optional_parts_and_unknown_language():
    data = ReportData("Churn", Canvas(), load_items())
    text = render_markdown(data, lang="es")
    assert translate("planning.report.no_decision", "es") in text
    with pytest.raises(PlanningInputError) as excinfo:
        render_html(data, lang="fr")
    assert _key(excinfo) == "planning.report.unknown_language"


def test_decision_validation():
    with pytest.raises(PlanningInputError) as excinfo:
        make_decision("maybe", rationale="x", decided_by="ana", decided_at=datetime(2025, 1, 1))
    assert _key(excinfo) == "planning.decision.unknown_outcome"
    with pytest.raises(PlanningInputError) as excinfo:
        make_decision("go", rationale="  ", decided_by="ana", decided_at=datetime(2025, 1, 1))
    assert _key(excinfo) == "planning.decision.rationale_empty"


# ----------------------------------------------------------------------------- catalogs


def test_every_planning_key_exists_in_both_languages():
    en, es = catalog("en"), catalog("es")
    pattern = re.compile(r"""["'](planning\.[a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")
    literal = set()
    for path in (ROOT / "mlcore" / "planning").glob("*.py"):
        literal |= {k for k in pattern.findall(path.read_text(encoding="utf-8")) if not k.endswith(".")}
    dynamic = {f"planning.field.{name}" for name in Canvas.model_fields}
    dynamic |= {f"planning.field.{name}.help" for name in Canvas.model_fields}
    dynamic |= {f"planning.metric.{m}" for m in CLASSIFICATION_METRICS + REGRESSION_METRICS}
    dynamic |= {f"planning.metric.{m}.help" for m in CLASSIFICATION_METRICS + REGRESSION_METRICS}
    dynamic |= {f"planning.objective.{o}" for o in OBJECTIVE_TYPES}
    dynamic |= {f"planning.dimension.{d}{s}" for d, s in itertools.product(DIMENSIONS, ("", ".help"))}
    dynamic |= {f"planning.owner.{r}" for r in OWNER_ROLES} | {f"planning.answer.{a}" for a in ANSWERS}
    dynamic |= {f"planning.status.{s}" for s in STATUSES} | {f"planning.decision.{o}" for o in OUTCOMES}
    dynamic |= {f"planning.verdict.{v}" for v in ("more_data_helps", "small_gains", "levelled_off", "too_noisy")}
    dynamic |= {f"planning.figure.{name}" for name in FIGURE_LABELS}
    keys = literal | dynamic
    assert len(literal) > 50
    assert sorted(k for k in keys if k not in en) == []
    assert sorted(k for k in keys if k not in es) == []
    planning_keys = {k for k in en if k.startswith("planning.")}
    assert planning_keys == {k for k in es if k.startswith("planning.")}
    same = [k for k in planning_keys if en[k] == es[k] and len(en[k]) > 12]
    assert same == []  # every longer text is really translated
