"""Data-quality checks: every problem planted in the demo data is found, clean data passes,
each check on tiny frames, thresholds, JSON, and frames that try to break things."""

from __future__ import annotations

import math
import string
import time
from datetime import date

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

from mlcore.data.ingest import infer_roles
from mlcore.data.profiling import distribution_figure, missing_figure, overview, target_relation_figure
from mlcore.data.quality import (
    CHECKS,
    MAX_ROWS_LISTED,
    STATUSES,
    Finding,
    QualityReport,
    QualityThresholds,
    run_checks,
)
from mlcore.data.synthetic import make_churn
from mlcore.errors import InputError
from mlcore.i18n import catalog, translate

TODAY = date(2025, 6, 30)
DEMO_ROLES = {
    "customer_id": "identifier",
    "signup_date": "datetime",
    "contract": "categorical",
    "payment_method": "categorical",
    "region": "categorical",
    "senior": "boolean",
    "has_partner": "boolean",
    "last_complaint": "text",
    "cancellation_fee_charged": "boolean",
    "churned": "categorical",
}


def _check_report(report: QualityReport) -> None:
    """Invariants every report keeps, whatever the data."""
    assert {f.check for f in report.findings} == set(CHECKS)
    assert [CHECKS.index(f.check) for f in report.findings] == sorted(CHECKS.index(f.check) for f in report.findings)
    summary = report.summary()
    assert sum(summary.values()) == len(report.findings)
    en, es = catalog("en"), catalog("es")
    for f in report.findings:
        assert f.status in STATUSES
        assert f.applicable or f.status == "pass"
        assert f.key in en and f.key in es, f.key
        assert len(f.rows) == min(f.n_rows, MAX_ROWS_LISTED)
        assert all(0 <= r < report.n_rows for r in f.rows)
        assert len(set(f.rows)) == len(f.rows)
        assert len(f.finding_id) <= 100
        for lang in ("en", "es"):
            text = translate(f.key, lang, **f.params)
            assert "{" not in text, (f.key, text)
    assert QualityReport.from_json(report.to_json()) == report


def _only(report: QualityReport, check: str, *, column: str | None = None) -> Finding:
    found = [f for f in report.for_check(check) if column is None or column in f.columns]
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- the demo data


@pytest.fixture(scope="module")
def demo():
    return make_churn(5000, random_state=1)


@pytest.fixture(scope="module")
def demo_report(demo):
    report = run_checks(demo.current, roles=DEMO_ROLES, target="churned", task_type="classification", today=TODAY)
    _check_report(report)
    return report


def test_demo_missing_values_are_found_exactly(demo, demo_report):
    planted = {**demo.problems.missing_at_random, **demo.problems.missing_not_at_random_rows}
    assert set(planted) == {"satisfaction_score", "avg_call_minutes", "income"}
    for column, rows in planted.items():
        finding = _only(demo_report, "missing_values", column=column)
        assert finding.status == "warn"
        assert finding.n_rows == len(rows) and set(finding.rows) == set(rows)


def test_demo_outliers_are_found_and_listed_first(demo, demo_report):
    for column, planted in demo.problems.outliers.items():
        finding = _only(demo_report, "outliers", column=column)
        assert finding.status == "warn"
        assert len(set(planted) & set(finding.rows)) >= 0.9 * len(planted)
        # Most extreme first: the planted values lead the list the page shows.
        assert len(set(planted) & set(finding.rows[: len(planted)])) >= 0.9 * len(planted)
        assert finding.params["n_iqr"] >= finding.params["n_outliers"] <= finding.params["n_robust"]


def test_demo_duplicate_rows_match_the_sidecar(demo, demo_report):
    finding = _only(demo_report, "duplicate_rows")
    copies = {later for _, later in demo.problems.duplicate_rows}
    assert finding.status == "warn"
    assert set(finding.rows) == copies and finding.n_rows == len(copies)


def test_demo_duplicate_identifiers_are_found(demo, demo_report):
    finding = _only(demo_report, "duplicate_identifiers", column="customer_id")
    assert finding.status == "warn"
    assert set(finding.rows) == {later for _, later in demo.problems.duplicate_rows}


def test_demo_leaky_column_is_the_only_leak(demo, demo_report):
    leaks = [f for f in demo_report.for_check("target_leakage") if f.status == "fail"]
    assert [f.columns for f in leaks] == [(demo.problems.leaky_column,)]
    assert leaks[0].params["score"] >= 0.95


def test_demo_class_imbalance_is_a_warning(demo, demo_report):
    finding = _only(demo_report, "class_imbalance")
    assert finding.status == "warn"
    assert finding.params["minority"] == "1"
    assert finding.params["share"] == pytest.approx(demo.problems.positive_rate, abs=0.01)


def test_demo_identifier_column_is_recognised(demo):
    column = demo.problems.identifier_column
    assert infer_roles(demo.current)[column] == "identifier"
    marked = run_checks(demo.current, roles=DEMO_ROLES, target=None, task_type="classification", today=TODAY)
    assert _only(marked, "identifier_like").status == "pass"
    unmarked = run_checks(
        demo.current, roles={**DEMO_ROLES, column: "categorical"}, target=None, task_type="classification", today=TODAY
    )
    flagged = _only(unmarked, "identifier_like", column=column)
    assert flagged.status == "warn"
    # Reported once, as an identifier, not a second time as a high-cardinality category.
    assert all(column not in f.columns for f in unmarked.for_check("high_cardinality"))


def test_demo_flipped_labels_only_conflict_when_features_are_identical(demo, demo_report):
    # The generator flips labels before copying rows, so every copy keeps its original's label,
    # and no two distinct customers share every feature: there is no conflict to find.
    target = demo.current[demo.problems.target]
    assert all(target.iloc[a] == target.iloc[b] for a, b in demo.problems.duplicate_rows)
    assert _only(demo_report, "conflicting_labels").status == "pass"
    # Flip one copy's label and the pair becomes a conflict.
    original, copy = demo.problems.duplicate_rows[0]
    df = demo.current.copy()
    df.loc[copy, "churned"] = 1 - df.loc[copy, "churned"]
    report = run_checks(df, roles=DEMO_ROLES, target="churned", task_type="classification", today=TODAY)
    finding = _only(report, "conflicting_labels")
    assert finding.status == "warn" and set(finding.rows) == {original, copy}


def test_demo_has_no_future_dates_and_versions_do_not_overlap(demo, demo_report):
    assert _only(demo_report, "future_dates").status == "pass"
    report = run_checks(
        demo.current,
        roles=DEMO_ROLES,
        target="churned",
        task_type="classification",
        other=demo.next_month,
        today=TODAY,
    )
    assert _only(report, "train_test_overlap").status == "pass"


# --------------------------------------------------------------------------- clean data


def test_clean_data_produces_no_failures():
    X, y = make_classification(n_samples=1500, n_features=8, n_informative=4, random_state=3)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(8)])
    df["segment"] = np.random.default_rng(3).choice(["north", "south", "east"], len(df))
    df["day"] = pd.date_range("2020-01-01", periods=len(df), freq="D")
    df["label"] = y
    report = run_checks(df, roles={"label": "categorical"}, target="label", task_type="classification", today=TODAY)
    _check_report(report)
    assert report.summary()["fail"] == 0
    assert report.status_by_check()["date_gaps"] == "pass"
    assert report.status_by_check()["outliers"] == "pass"


# --------------------------------------------------------------------------- each check


def _run(df: pd.DataFrame, *, roles=None, target=None, task="classification", **kw) -> QualityReport:
    report = run_checks(df, roles=roles or {}, target=target, task_type=task, today=TODAY, **kw)
    _check_report(report)
    return report


def test_missing_values_pass_warn_fail_empty():
    df = pd.DataFrame(
        {
            "full": [1.0, 2, 3, 4],
            "some": [1.0, None, 3, 4],
            "most": [None, None, None, 4.0],
            "none": [None, None, None, None],
        }
    )
    report = _run(df)
    assert all(c not in f.columns for f in report.for_check("missing_values") for c in ["full"])
    some = _only(report, "missing_values", column="some")
    assert (some.status, some.rows) == ("warn", (1,))
    assert _only(report, "missing_values", column="most").status == "fail"
    assert _only(report, "missing_values", column="none").key == "quality.missing_values.empty"
    assert _only(_run(df[["full"]]), "missing_values").status == "pass"
    lenient = _run(df, thresholds=QualityThresholds(missing_warn_share=0.3, missing_fail_share=0.8))
    assert [f.columns for f in lenient.for_check("missing_values")] == [("most",), ("none",)]
    assert _only(lenient, "missing_values", column="most").status == "warn"


def test_constant_and_quasi_constant_columns():
    n = 300
    df = pd.DataFrame({"same": ["x"] * n, "nearly": [0] * (n - 1) + [1], "varied": np.arange(n) % 3})
    report = _run(df)
    assert _only(report, "constant_columns", column="same").key == "quality.constant_columns.constant"
    nearly = _only(report, "constant_columns", column="nearly")
    assert nearly.key == "quality.constant_columns.quasi_constant" and nearly.rows == (n - 1,)
    assert _only(_run(df[["varied"]]), "constant_columns").status == "pass"


def test_duplicate_rows_warn_then_fail():
    df = pd.DataFrame({"a": range(100), "b": ["x"] * 100})
    assert _only(_run(df), "duplicate_rows").status == "pass"
    one = pd.concat([df, df.iloc[[5]]], ignore_index=True)
    finding = _only(_run(one), "duplicate_rows")
    assert (finding.status, finding.rows) == ("warn", (100,))
    many = pd.concat([df, df.iloc[:20]], ignore_index=True)
    assert _only(_run(many), "duplicate_rows").status == "fail"


def test_duplicate_identifiers():
    df = pd.DataFrame({"id": ["a", "b", "a", "c", "b", None, None], "v": range(7)})
    finding = _only(_run(df, roles={"id": "identifier"}), "duplicate_identifiers", column="id")
    assert finding.rows == (2, 4) and finding.params["n_values"] == 2
    assert _only(_run(df[["v"]]), "duplicate_identifiers").applicable is False


def test_mixed_types():
    df = pd.DataFrame(
        {
            "amount": ["10", "12.5", " 7 ", "n/a", "3", "4"],
            "code": ["a", "b", 3, "c", "d", "e"],
            "clean": ["a", "b", "c", "d", "e", "f"],
            "when": ["2024-01-05", "05/02/2024", "Mar 3 2024", "someday", None, "2024-04-01"],
        }
    )
    report = _run(df, roles={"when": "datetime"})
    amount = _only(report, "mixed_types", column="amount")
    assert (amount.key, amount.rows) == ("quality.mixed_types.text_in_numbers", (3,))
    code = _only(report, "mixed_types", column="code")
    assert (code.key, code.rows) == ("quality.mixed_types.numbers_in_text", (2,))
    when = _only(report, "mixed_types", column="when")
    assert (when.key, when.rows) == ("quality.mixed_types.bad_dates", (3,))
    assert all("clean" not in f.columns for f in report.findings)


def test_outliers():
    rng = np.random.default_rng(0)
    x = rng.normal(100, 10, 1000)
    assert _only(_run(pd.DataFrame({"x": x})), "outliers").status == "pass"
    x[7], x[500] = 1e6, -999.0
    finding = _only(_run(pd.DataFrame({"x": x})), "outliers", column="x")
    assert finding.status == "warn" and finding.rows == (7, 500)
    assert finding.params["lower"] < 100 < finding.params["upper"]
    # Codes with few distinct values are not measured on a scale.
    codes = pd.DataFrame({"code": [1, 2, 3] * 100 + [50]})
    assert _only(_run(codes), "outliers").status == "pass"


def test_high_cardinality_and_identifier_like():
    n = 400
    rng = np.random.default_rng(1)
    df = pd.DataFrame(
        {
            "city": [f"city number {i % 300}" for i in range(n)],
            "code": [f"A{i:05d}" for i in range(n)],
            "row_number": np.arange(1, n + 1),
            "salary": rng.integers(20_000, 200_000, n),
            "colour": rng.choice(["red", "green"], n),
        }
    )
    report = _run(df, roles={"city": "categorical", "code": "categorical"})
    assert _only(report, "high_cardinality", column="city").status == "warn"
    assert {f.columns[0] for f in report.for_check("identifier_like") if f.status == "warn"} == {"code", "row_number"}
    assert all("code" not in f.columns for f in report.for_check("high_cardinality"))
    lenient = QualityThresholds(high_cardinality_share=0.9)
    assert _only(_run(df, roles={"code": "identifier"}, thresholds=lenient), "high_cardinality").status == "pass"
    by_count = QualityThresholds(high_cardinality_share=0.9, high_cardinality_count=250)
    assert _only(_run(df, thresholds=by_count), "high_cardinality", column="city").status == "warn"


def test_target_leakage_classification_and_regression():
    rng = np.random.default_rng(2)
    n = 600
    y = rng.integers(0, 2, n)
    df = pd.DataFrame(
        {
            "honest": y + rng.normal(0, 1.5, n),
            "copy": y * 3.0 + rng.normal(0, 0.1, n),
            "coded": np.where(y == 1, "closed-", "open-") + (np.arange(n) % 4).astype(str),
            "y": y,
        }
    )
    report = _run(df, roles={"y": "categorical"}, target="y")
    assert {f.columns[0] for f in report.for_check("target_leakage") if f.status == "fail"} == {"copy", "coded"}
    reg = pd.DataFrame({"x": rng.normal(size=n), "noise": rng.normal(size=n)})
    reg["y"] = reg["x"] * 2 + rng.normal(0, 0.01, n)
    finding = _only(_run(reg, target="y", task="regression"), "target_leakage")
    assert finding.columns == ("x",) and finding.params["metric"] == "R²"
    no_target = _only(_run(df), "target_leakage")
    assert (no_target.status, no_target.applicable) == ("pass", False)


@pytest.mark.parametrize(
    ("n_minority", "status"),
    [(500, "pass"), (200, "warn"), (5, "fail")],
)
def test_class_imbalance(n_minority, status):
    n = 1000
    df = pd.DataFrame({"x": np.arange(n) % 7, "y": ["yes"] * n_minority + ["no"] * (n - n_minority)})
    finding = _only(_run(df, target="y"), "class_imbalance")
    assert finding.status == status
    if status != "pass":
        assert finding.params["minority"] == "yes"


def test_single_class_and_rare_classes():
    df = pd.DataFrame({"x": range(50), "y": ["a"] * 50})
    assert _only(_run(df, target="y"), "class_imbalance").key == "quality.class_imbalance.single_class"
    df.loc[[3, 9, 30], "y"] = "b"
    rare = _only(_run(df, target="y"), "rare_classes")
    assert (rare.status, rare.rows, rare.params["value"]) == ("warn", (3, 9, 30), "b")
    regression = _only(_run(df.assign(y=range(50)), target="y", task="regression"), "rare_classes")
    assert regression.applicable is False


def test_conflicting_labels():
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4, 5, 6],
            "a": [1, 1, 2, 2, 3, 1],
            "b": ["x", "x", "y", "y", "z", "x"],
            "y": [0, 1, 1, 1, 0, 0],
        }
    )
    finding = _only(_run(df, roles={"id": "identifier"}, target="y"), "conflicting_labels")
    assert finding.status == "fail" and set(finding.rows) == {0, 1, 5}
    assert finding.params["n_groups"] == 1
    consistent = _run(df.assign(y=[0, 0, 1, 1, 0, 0]), roles={"id": "identifier"}, target="y")
    assert _only(consistent, "conflicting_labels").status == "pass"
    assert _only(_run(df, target="y", task="regression"), "conflicting_labels").applicable is False


def test_train_test_overlap():
    train = pd.DataFrame({"id": range(200), "a": np.arange(200) * 1.5, "b": np.arange(200) % 3})
    test = pd.DataFrame({"id": range(1000, 1100), "a": np.arange(100) * 1.5 + 1000, "b": (np.arange(100) % 3) * 1.0})
    clean = _run(train, roles={"id": "identifier"}, other=test)
    assert _only(clean, "train_test_overlap").status == "pass"
    test.loc[[10, 20], ["a", "b"]] = train.loc[[4, 8], ["a", "b"]].to_numpy()
    test.loc[30, "id"] = 150
    report = _run(train, roles={"id": "identifier"}, other=test)
    rows = next(f for f in report.for_check("train_test_overlap") if f.key.endswith(("warn", "fail")))
    assert set(rows.rows) == {4, 8}  # float b in the test set still matches integer b
    ids = next(f for f in report.for_check("train_test_overlap") if f.key.endswith("shared_ids"))
    assert ids.rows == (150,)
    assert _only(_run(train), "train_test_overlap").applicable is False


def test_date_gaps_and_future_dates():
    months = pd.Series(pd.date_range("2023-01-31", periods=24, freq="ME"))
    gappy = pd.DataFrame({"month": months.drop([5, 6]).reset_index(drop=True), "v": range(22)})
    finding = _only(_run(gappy), "date_gaps")
    assert finding.status == "warn" and finding.params["n_missing"] == 2
    assert (finding.params["gap_start"], finding.params["gap_end"]) == ("2023-06", "2023-07")
    daily = pd.DataFrame({"day": pd.date_range("2024-01-01", periods=90, freq="D").repeat(2)})
    assert _only(_run(daily), "date_gaps").status == "pass"
    assert _only(_run(daily.head(4)), "date_gaps").key == "quality.date_gaps.too_few"
    future = daily.copy()
    future.loc[11, "day"] = pd.Timestamp("2031-02-03")
    finding = _only(_run(future), "future_dates")
    assert finding.rows == (11,) and finding.params["latest"] == "2031-02-03"
    assert _only(_run(pd.DataFrame({"v": [1, 2]})), "date_gaps").applicable is False


def test_progress_reports_every_check():
    calls: list[tuple[float, str]] = []
    _run(pd.DataFrame({"a": [1, 2, 3]}), progress=lambda f, k: calls.append((f, k)))
    assert [k for _, k in calls] == [f"quality.check.{c}.title" for c in CHECKS]
    assert [f for f, _ in calls] == sorted(f for f, _ in calls) and calls[-1][0] == 1.0


def test_every_check_has_a_title_and_an_explanation():
    for lang in ("en", "es"):
        texts = catalog(lang)
        for check in CHECKS:
            assert texts[f"quality.check.{check}.title"] and len(texts[f"quality.check.{check}.why"]) > 80


# --------------------------------------------------------------------------- thresholds and JSON


@pytest.mark.parametrize(
    "bad",
    [
        {"missing_warn_share": -0.1},
        {"missing_fail_share": 1.5},
        {"quasi_constant_share": math.nan},
        {"leakage_score": "0.9"},
        {"outlier_warn_share": True},
        {"iqr_multiplier": 0},
        {"robust_z": -1.0},
        {"rare_class_count": 2.5},
        {"high_cardinality_count": 0},
        {"missing_warn_share": 0.6, "missing_fail_share": 0.5},
        {"imbalance_warn_share": 0.01, "imbalance_fail_share": 0.02},
    ],
)
def test_bad_thresholds_are_refused(bad):
    with pytest.raises(InputError) as err:
        QualityThresholds(**bad)
    assert err.value.key in {"quality.bad_threshold", "quality.threshold_order"}


def test_thresholds_round_trip_through_settings():
    custom = QualityThresholds(leakage_score=0.9, rare_class_count=5)
    assert QualityThresholds.from_dict(custom.to_dict()) == custom
    assert QualityThresholds.from_dict({"rare_class_count": 5.0}).rare_class_count == 5
    with pytest.raises(InputError) as err:
        QualityThresholds.from_dict({"no_such_limit": 1})
    assert err.value.key == "quality.unknown_threshold"


def test_report_json_round_trip_and_bad_json():
    df = pd.DataFrame({"a": [1.0, None, 3.0, 3.0], "b": ["x", "y", "z", "z"], "y": [0, 1, 0, 0]})
    report = _run(df, target="y", thresholds=QualityThresholds(rare_class_count=2))
    again = QualityReport.from_json(report.to_json())
    assert again == report and again.summary() == report.summary()
    for text in ["", "[]", '{"format": "other"}', report.to_json().replace('"warn"', '"maybe"')]:
        with pytest.raises(InputError) as err:
            QualityReport.from_json(text)
        assert err.value.key == "quality.bad_report"


@pytest.mark.parametrize(
    ("frame", "kwargs", "key"),
    [
        (pd.DataFrame({"a": []}), {}, "profiling.no_rows"),
        (pd.DataFrame(index=range(3)), {}, "profiling.no_columns"),
        (pd.DataFrame({"a": [1]}), {"target": "y"}, "profiling.unknown_target"),
        (pd.DataFrame({"a": [1]}), {"task_type": "ranking"}, "profiling.unknown_task"),
        (pd.DataFrame({"a": [1]}), {"roles": {"a": "money"}}, "profiling.unknown_role"),
        (pd.DataFrame({"a": [1]}), {"roles": {"b": "numeric"}}, "profiling.unknown_column"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), {}, "profiling.duplicate_column"),
        (pd.DataFrame({0: [1]}), {}, "profiling.column_name_not_text"),
        (pd.DataFrame({"a": [1]}), {"other": [1, 2]}, "quality.other_not_a_frame"),
    ],
)
def test_bad_inputs_raise_input_errors(frame, kwargs, key):
    args = {"roles": {}, "target": None, "task_type": "classification", **kwargs}
    with pytest.raises(InputError) as err:
        run_checks(frame, **args)
    assert err.value.key == key


# --------------------------------------------------------------------------- robustness


def _overview_and_checks(df: pd.DataFrame, roles: dict[str, str], target: str | None = None) -> QualityReport:
    """Everything the data-understanding page computes; nothing may raise."""
    ov = overview(df, roles=roles, target=target)
    assert ov.n_rows == len(df) and list(ov.columns["column"]) == list(df.columns)
    for column in df.columns:
        distribution_figure(ov, column)
        if target is not None and column != target:
            target_relation_figure(df, column, target=target, task_type="classification", role=ov.roles[column])
    missing_figure(ov)
    report = run_checks(df, roles=roles, target=target, task_type="classification", today=TODAY)
    _check_report(report)
    return report


def test_all_empty_columns():
    df = pd.DataFrame(
        {
            "nothing": [np.nan] * 30,
            "no_text": pd.Series([None] * 30, dtype=object),
            "no_dates": pd.Series([pd.NaT] * 30),
            "y": [0, 1] * 15,
        }
    )
    roles = {"nothing": "numeric", "no_text": "text", "no_dates": "datetime", "y": "categorical"}
    report = _overview_and_checks(df, roles, target="y")
    empties = {f.columns[0] for f in report.for_check("missing_values") if f.key.endswith("empty")}
    assert empties == {"nothing", "no_text", "no_dates"}


def test_one_row_dataset():
    df = pd.DataFrame(
        {"id": ["a"], "x": [1.5], "c": ["k"], "t": ["some words"], "d": [pd.Timestamp("2024-01-01")], "y": [1]}
    )
    roles = {"id": "identifier", "x": "numeric", "c": "categorical", "t": "text", "d": "datetime", "y": "categorical"}
    report = _overview_and_checks(df, roles, target="y")
    assert report.n_rows == 1
    assert _only(report, "class_imbalance").key == "quality.class_imbalance.single_class"


@pytest.mark.slow
def test_thousand_columns_in_reasonable_time():
    rng = np.random.default_rng(0)
    n = 1000
    data = {f"num_{i}": rng.normal(size=n) for i in range(700)}
    data |= {f"cat_{i}": rng.choice(list("abcdef"), n) for i in range(290)}
    data |= {f"int_{i}": rng.integers(0, 50, n) for i in range(9)}
    data["y"] = rng.integers(0, 2, n)
    df = pd.DataFrame(data)
    start = time.perf_counter()
    overview(df, roles={}, target="y")
    report = run_checks(df, roles={}, target="y", task_type="classification", today=TODAY)
    assert time.perf_counter() - start < 20
    assert report.n_cols == 1000
    _check_report(report)


def test_unicode_and_very_long_column_names():
    long_name = "ingreso mensual declarado " * 12  # 312 characters
    df = pd.DataFrame(
        {
            long_name: [1.0, 2.0, None, 4.0] * 10,
            "💰 gasto": [5.0, 1e6, 3.0, 4.0] * 10,
            "año_región": ["Ñuñoa", "Ñuñoa", "Valparaíso", "Biobío"] * 10,
            "目标": [0, 1] * 20,
        }
    )
    roles = {"año_región": "categorical", "目标": "categorical"}
    report = _overview_and_checks(df, roles, target="目标")
    assert any(long_name in f.columns for f in report.findings)
    fig = distribution_figure(overview(df, roles=roles, target=None), long_name)
    assert len(fig.layout.title.text) <= 80


def test_column_of_very_long_strings():
    rng = np.random.default_rng(4)
    words = np.array(list(string.ascii_lowercase))
    texts = ["".join(rng.choice(words, 10_000)) for _ in range(60)]
    df = pd.DataFrame({"essay": texts, "label": ["a", "b", "c"] * 20})
    ov = overview(df, roles={"essay": "text", "label": "categorical"}, target="label")
    assert ov.distributions["essay"].kind == "lengths" and sum(ov.distributions["essay"].counts) == 60
    report = _overview_and_checks(df, {"essay": "text", "label": "categorical"}, target="label")
    assert all(len(str(v)) <= 200 for f in report.findings for v in f.params.values())
    as_category = run_checks(df, roles={"essay": "categorical"}, target=None, task_type="regression", today=TODAY)
    _check_report(as_category)


def test_datetime_column_with_mixed_formats():
    df = pd.DataFrame(
        {
            "when": ["2024-01-05", "06/01/2024", "Jan 7 2024", "2024-01-08T10:00:00", "not a date", None] * 5,
            "v": range(30),
        }
    )
    roles = {"when": "datetime"}
    ov = overview(df, roles=roles, target=None)
    assert ov.distributions["when"].kind == "histogram" and sum(ov.distributions["when"].counts) == 20
    report = _overview_and_checks(df, roles)
    assert _only(report, "mixed_types", column="when").n_rows == 5
    assert _only(report, "date_gaps").applicable


def test_unusual_dtypes_and_a_repeated_index():
    n = 40
    df = pd.DataFrame(
        {
            "cat": pd.Categorical(["a", "b"] * (n // 2), categories=["a", "b", "unused"]),
            "count": pd.array([1, None, 3, 4] * (n // 4), dtype="Int64"),
            "flag": pd.array([True, False, None, True] * (n // 4), dtype="boolean"),
            "when": pd.date_range("2024-01-01", periods=n, freq="D", tz="America/Santiago"),
            "blob": [{"k": i % 3} for i in range(n)],
            "y": ["p", "q"] * (n // 2),
        },
        index=[7] * n,
    )
    roles = {"blob": "categorical", "y": "categorical"}
    report = _overview_and_checks(df, roles, target="y")
    assert overview(df, roles=roles, target="y").columns.set_index("column").loc["cat", "n_distinct"] == 2
    assert _only(report, "date_gaps").status == "pass"
    assert _only(report, "missing_values", column="count").rows == tuple(range(1, n, 4))
