"""Drift: the demo's planted drift is found on exactly the planted features, identical data raises
nothing, statistics match scipy and hand computations, chunks give the same answer as one frame, and
bad inputs (one-row reference, missing columns, odd values) get clear errors or clear reports."""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp

from mlcore.data.synthetic import make_churn
from mlcore.errors import InputError
from mlcore.i18n import catalog
from mlcore.monitoring.drift import (
    MISSING_BIN,
    OTHER_BIN,
    STATUSES,
    DriftAccumulator,
    DriftReference,
    DriftReport,
    DriftThresholds,
    build_reference,
    drift_history,
    drift_report,
    population_stability_index,
)

ROLES = {
    "customer_id": "identifier",
    "signup_date": "datetime",
    "contract": "categorical",
    "payment_method": "categorical",
    "region": "categorical",
    "senior": "boolean",
    "has_partner": "boolean",
    "last_complaint": "text",
}
NOT_FEATURES = ["churned", "cancellation_fee_charged"]  # the target, and a column known only afterwards


@pytest.fixture(scope="module")
def demo():
    return make_churn(20_000, random_state=0)


@pytest.fixture(scope="module")
def reference(demo) -> DriftReference:
    return build_reference(demo.current.drop(columns=NOT_FEATURES), roles=ROLES)


@pytest.fixture(scope="module")
def next_report(demo, reference) -> DriftReport:
    return drift_report(reference, demo.next_month.drop(columns=NOT_FEATURES), batch="2025-06")


def _check_report(report: DriftReport) -> None:
    """Invariants of every report."""
    en, es = catalog("en"), catalog("es")
    assert report.status in STATUSES
    assert report.status == max((f.status for f in report.features), key=STATUSES.index) or (
        report.prediction is not None and report.status == report.prediction.status
    )
    for f in (*report.features, *([report.prediction] if report.prediction else [])):
        assert f.status in STATUSES
        assert (f.status == "ok") == (not f.reasons)
        assert (f.status == "ok") == (not f.messages)
        assert len(f.bins) == len(f.reference_shares) == len(f.batch_shares)
        assert f.bins[-1] == MISSING_BIN
        assert math.isclose(sum(f.reference_shares), 1.0)
        if not f.column_missing:
            assert math.isclose(sum(f.batch_shares), 1.0)
            assert f.psi >= 0 and 0 <= f.js <= 1 and 0 <= f.chi2_pvalue <= 1
        if f.kind == "numeric" and not f.column_missing and f.n_rows > f.n_missing:
            assert 0 <= f.ks <= 1 and 0 <= f.ks_pvalue <= 1
        for m in f.messages:
            assert m.key in en and m.key in es, m.key
    for m in report.messages:
        assert m.key in en and m.key in es, m.key
    english, spanish = report.explain("en"), report.explain("es")
    assert len(english) == len(spanish) and english != spanish
    assert not any("{" in line for line in english + spanish)


# --------------------------------------------------------------------------- the demo


def test_next_month_drifts_on_exactly_the_planted_features(demo, next_report):
    _check_report(next_report)
    assert set(next_report.drifted()) == set(demo.problems.drifted_features)
    assert next_report.status == "alert"
    # The big shifts are alerts; the subtle ones (2% higher totals, more network complaints) warnings.
    assert set(next_report.drifted("alert")) == {"monthly_charges", "payment_method"}
    assert next_report.missing_columns == () and next_report.extra_columns == ()


def test_identical_data_raises_nothing(demo, reference):
    report = drift_report(reference, demo.current.drop(columns=NOT_FEATURES))
    _check_report(report)
    assert report.status == "ok" and report.drifted() == ()
    table = report.table()
    assert (table["psi"] == 0).all() and (table["js"] == 0).all()
    # Numeric KS compares the batch with a 2,000-value sketch: at most 1/(2·2000) apart.
    assert table["ks"].max() <= 1 / (2 * 2000) + 1e-12
    assert [m.key for m in report.messages] == ["monitoring.summary.ok"]


def test_explanations_say_what_drifted_in_both_languages(next_report):
    payment = next_report.feature("payment_method")
    assert payment.unseen_examples == ("digital_wallet",)
    assert 0.10 < payment.unseen_share < 0.14
    keys = [m.key for m in payment.messages]
    assert "monitoring.explain.unseen" in keys and "monitoring.meaning.unseen" in keys
    charges = next_report.feature("monthly_charges")
    assert charges.messages[0].key == "monitoring.explain.numeric_higher"
    assert charges.messages[0].params["change"] in ("+14%", "+15%", "+16%")
    text_en = " ".join(next_report.explain("en"))
    text_es = " ".join(next_report.explain("es"))
    assert "digital_wallet" in text_en and "digital_wallet" in text_es
    assert "monthly_charges" in text_en and "Drift alert" in text_en and "Alerta de deriva" in text_es


def test_chunks_give_the_same_report_as_one_frame(demo, reference, next_report):
    frame = demo.next_month.drop(columns=NOT_FEATURES)
    cuts = [0, 1, 7, 999, 5000, 5000, 13_001, len(frame)]  # uneven, one empty chunk
    chunked = drift_report(reference, (frame.iloc[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)))
    one, many = next_report.table(), chunked.table()
    pd.testing.assert_frame_equal(one.drop(columns=["batch_mean"]), many.drop(columns=["batch_mean"]))
    np.testing.assert_allclose(one["batch_mean"], many["batch_mean"], rtol=1e-12)


def test_a_batch_read_back_from_sqlite_drifts_the_same(demo, reference, next_report):
    """Booleans come back as 0/1 and dates as text from SQLite: still the same features drift."""
    con = sqlite3.connect(":memory:")
    demo.next_month.drop(columns=NOT_FEATURES).iloc[:20_000].to_sql("batch", con, index=False)
    acc = DriftAccumulator(reference)
    for chunk in pd.read_sql("SELECT * FROM batch", con, chunksize=6_000):
        acc.update(chunk)
    report = acc.report()
    assert report.drifted() == next_report.drifted()
    assert report.feature("senior").status == "ok" and math.isclose(report.feature("senior").psi, 0.0, abs_tol=1e-3)
    assert report.feature("senior").unseen_share == 0.0


def test_small_batches_from_the_same_distribution_raise_nothing(demo, reference):
    """PSI of 30 rows is large by chance alone; the tests keep such noise from raising drift."""
    frame = demo.current.drop(columns=NOT_FEATURES)
    for seed in range(8):
        sample = frame.sample(30, random_state=seed)
        report = drift_report(reference, sample)
        assert report.drifted() == (), (seed, report.drifted())
        assert max(f.psi for f in report.features) > 0.1  # ... though PSI alone would have cried wolf


# --------------------------------------------------------------------------- statistics by hand


def test_psi_by_hand():
    assert population_stability_index([0.25] * 4, [0.25] * 4) == 0
    expected = (0.6 - 0.5) * math.log(0.6 / 0.5) + (0.4 - 0.5) * math.log(0.4 / 0.5)
    assert math.isclose(population_stability_index([0.5, 0.5], [0.6, 0.4]), expected)
    # An empty bin counts as 1e-4.
    smoothed = (0.9 - 1.0) * math.log(0.9) + (0.1 - 1e-4) * math.log(0.1 / 1e-4)
    assert math.isclose(population_stability_index([1.0, 0.0], [0.9, 0.1]), smoothed)
    assert population_stability_index([0.5, 0.5], [0.9, 0.1]) > population_stability_index([0.5, 0.5], [0.6, 0.4])


def test_bins_and_counts_by_hand():
    frame = pd.DataFrame({"x": [*range(1, 21), None, None], "c": ["a"] * 12 + ["b"] * 6 + ["c"] * 3 + [None]})
    ref = build_reference(frame, roles={}, bins=4, top_k=2)
    x, c = ref.feature("x"), ref.feature("c")
    assert x.edges == (5.0, 10.0, 15.0) and x.counts == (5, 5, 5, 5) and x.n_missing == 2
    assert x.sketch == tuple(float(v) for v in range(1, 21)) and x.mean == 10.5
    assert c.categories == ("a", "b") and c.counts == (12, 6, 3) and c.known == ("a", "b", "c")
    batch = pd.DataFrame({"x": [0, 5, 5.5, 30, None], "c": ["a", "c", "zz", None, "b"]})
    report = drift_report(ref, batch)
    fx, fc = report.feature("x"), report.feature("c")
    # (≤5] gets 0 and 5; (5,10] 5.5; (15,∞) 30; one missing.
    assert fx.batch_shares == (0.4, 0.2, 0.0, 0.2, 0.2)
    assert fx.bins == ("≤ 5", "(5, 10]", "(10, 15]", "> 15", MISSING_BIN)
    assert fc.bins == ("a", "b", OTHER_BIN, MISSING_BIN)
    assert fc.batch_shares == (0.2, 0.2, 0.4, 0.2)
    assert fc.unseen_share == 0.2 and fc.unseen_examples == ("zz",)
    ref_shares = np.array([5, 5, 5, 5, 2]) / 22
    assert math.isclose(fx.psi, population_stability_index(ref_shares, [0.4, 0.2, 0.0, 0.2, 0.2]))
    assert math.isclose(fx.js, float(jensenshannon(ref_shares, [0.4, 0.2, 0.0, 0.2, 0.2], base=2)))
    assert fx.batch_mean == pytest.approx((0 + 5 + 5.5 + 30) / 4)


def test_ks_equals_scipy_when_the_reference_fits_the_sketch():
    rng = np.random.default_rng(3)
    train = np.round(rng.normal(size=1500), 2)  # rounded: ties on both sides
    batch = np.round(rng.normal(0.1, 1.1, size=4000), 2)
    ref = build_reference(pd.DataFrame({"x": train}), roles={}, sketch_size=2000)
    f = drift_report(ref, pd.DataFrame({"x": batch})).feature("x")
    expected = ks_2samp(train, batch, method="asymp")
    assert f.ks == pytest.approx(expected.statistic, abs=1e-12)
    assert f.ks_pvalue == pytest.approx(expected.pvalue, rel=1e-9)


def test_ks_with_a_sketch_is_within_half_over_n_of_the_exact_statistic():
    rng = np.random.default_rng(4)
    train, batch = rng.lognormal(size=50_000), rng.lognormal(0.04, 1.0, size=30_000)
    ref = build_reference(pd.DataFrame({"x": train}), roles={}, sketch_size=500)
    f = drift_report(ref, [pd.DataFrame({"x": part}) for part in np.array_split(batch, 7)]).feature("x")
    assert len(ref.feature("x").sketch) == 500
    exact = ks_2samp(train, batch, method="asymp")
    assert abs(f.ks - exact.statistic) <= 1 / (2 * 500) + 1e-12
    # The p-value uses the full reference size, so it has the power of the full data.
    assert f.ks_pvalue < 1e-3 and exact.pvalue < 1e-3
    assert abs(math.log10(f.ks_pvalue) - math.log10(exact.pvalue)) < 1


def test_chi_squared_matches_scipy_and_pools_sparse_bins():
    ref = build_reference(pd.DataFrame({"c": ["a"] * 50 + ["b"] * 30 + ["c"] * 20}), roles={})
    f = drift_report(ref, pd.DataFrame({"c": ["a"] * 20 + ["b"] * 25 + ["c"] * 5})).feature("c")
    table = np.array([[50, 30, 20], [20, 25, 5]])
    assert f.chi2_pvalue == pytest.approx(chi2_contingency(table, correction=False).pvalue, rel=1e-9)
    # 20 rows: "c" expects 20·24/120 = 4 rows, under 5, so it is pooled, and the pool (still
    # under 5) is merged into the smallest other bin, "b": a 2x2 table remains.
    small = drift_report(ref, pd.DataFrame({"c": ["a"] * 4 + ["b"] * 12 + ["c"] * 4})).feature("c")
    pooled = np.array([[50, 50], [4, 16]])
    assert small.chi2_pvalue == pytest.approx(chi2_contingency(pooled, correction=False).pvalue, rel=1e-9)
    tiny = drift_report(ref, pd.DataFrame({"c": ["a"] * 2 + ["b"] * 6 + ["c"] * 2})).feature("c")
    assert tiny.chi2_pvalue == 1.0 and tiny.status == "ok"  # nothing testable in 10 rows


# --------------------------------------------------------------------------- behaviour


def test_a_batch_with_a_column_missing_is_reported_not_a_crash(demo, reference):
    batch = demo.next_month.drop(columns=[*NOT_FEATURES, "income", "region"]).assign(new_col=1)
    report = drift_report(reference, batch)
    _check_report(report)
    assert report.missing_columns == ("region", "income")
    income = report.feature("income")
    assert income.status == "alert" and income.reasons == ("column_missing",) and income.column_missing
    assert math.isnan(income.psi) and income.missing_share == 1.0
    assert income.messages[0].key == "monitoring.explain.column_missing"
    assert "income" in " ".join(report.explain("es"))
    assert report.extra_columns == ("new_col",)


def test_a_column_missing_from_some_chunks_counts_those_rows_as_missing():
    ref = build_reference(pd.DataFrame({"x": np.arange(100.0), "y": np.arange(100.0)}), roles={})
    acc = DriftAccumulator(ref)
    acc.update(pd.DataFrame({"x": np.arange(50.0), "y": np.arange(50.0)}))
    acc.update(pd.DataFrame({"x": np.arange(50.0, 100.0)}))
    y = acc.report().feature("y")
    assert not y.column_missing and y.missing_share == 0.5 and y.status == "alert"
    assert "monitoring.explain.missing" in [m.key for m in y.messages]


def test_unreadable_numbers_count_as_missing():
    ref = build_reference(pd.DataFrame({"x": np.arange(200.0)}), roles={})
    batch = pd.DataFrame({"x": ["12", "abc", "=cmd|' /C calc'!A0", "inf", *map(str, range(196))]})
    f = drift_report(ref, batch).feature("x")
    assert f.n_missing == 3 and f.missing_share == pytest.approx(0.015)


def test_booleans_and_numbers_as_text_are_the_same_categories():
    ref = build_reference(
        pd.DataFrame({"flag": [True, False] * 20, "code": [1, 2] * 20}), roles={"code": "categorical"}
    )
    batch = pd.DataFrame({"flag": ["1", "0", "true", "False"] * 10, "code": [1.0, "2", " 2", 2] * 10})
    report = drift_report(ref, batch)
    assert report.feature("flag").status == "ok" and report.feature("flag").unseen_share == 0
    # " 2" is not "2": whitespace inside categorical data is kept (it is a different value).
    assert report.feature("code").unseen_examples == (" 2",)


def test_malicious_text_is_data_not_markup():
    nasty = ["=cmd|' /C calc'!A0", "<script>alert(1)</script>"]
    ref = build_reference(pd.DataFrame({"c": ["ok"] * 40, "<b>x</b>": range(40)}), roles={"c": "categorical"})
    report = drift_report(ref, pd.DataFrame({"c": nasty * 20, "<b>x</b>": range(40)}))
    c = report.feature("c")
    assert c.status == "alert" and set(c.unseen_examples) == set(nasty)
    assert report.feature("<b>x</b>").status == "ok"


def test_unseen_values_tracked_by_name_are_bounded():
    ref = build_reference(pd.DataFrame({"c": ["a", "b"] * 20}), roles={})
    acc = DriftAccumulator(ref)
    for part in range(3):
        acc.update(pd.DataFrame({"c": [f"v{part}_{i}" for i in range(2000)]}))
    f = acc.report().feature("c")
    assert f.unseen_share == 1.0 and len(f.unseen_examples) == 5
    assert len(acc._states[0].unseen_counts) == 1000  # noqa: SLF001 - memory bound is the point


def test_prediction_drift():
    rng = np.random.default_rng(5)
    train = pd.DataFrame({"x": rng.normal(size=2000)})
    scores = 1 / (1 + np.exp(-train["x"]))
    ref = build_reference(train, roles={}, prediction=pd.Series(scores, name="score"))
    assert ref.prediction is not None and ref.prediction.kind == "numeric"
    shifted = rng.normal(0.8, 1.0, size=2000)
    batch = pd.DataFrame({"x": shifted, "score": 1 / (1 + np.exp(-shifted))})
    report = drift_report(ref, batch)
    _check_report(report)
    assert report.prediction is not None and report.prediction.status == "alert"
    assert report.prediction.messages[0].key == "monitoring.explain.prediction_higher"
    assert "monitoring.summary.prediction_alert" in [m.key for m in report.messages]
    assert report.table()["is_prediction"].tolist() == [False, True]
    # Without the prediction column: features only, and the report says so.
    without = drift_report(ref, batch[["x"]])
    assert without.prediction is None
    assert "monitoring.summary.prediction_not_found" in [m.key for m in without.messages]
    # Predicted labels (text) are profiled as categories, the prediction named by a column.
    labelled = train.assign(label=np.where(scores > 0.5, "leave", "stay"))
    ref2 = build_reference(labelled, roles={}, prediction="label")
    assert ref2.feature_names == ("x",) and ref2.prediction is not None and ref2.prediction.kind == "categorical"
    report2 = drift_report(ref2, batch.assign(label=np.where(batch["score"] > 0.5, "leave", "stay")))
    assert (
        report2.prediction is not None and report2.prediction.messages[0].key == "monitoring.explain.prediction_share"
    )


def test_thresholds_are_configurable_and_monotonic(demo, reference):
    batch = demo.next_month.drop(columns=NOT_FEATURES)
    strict = drift_report(
        reference, batch, thresholds=DriftThresholds(psi_warn=0.5, psi_alert=0.9, ks_warn=0.5, js_warn=0.5)
    )
    assert set(strict.drifted()) == {"payment_method"}  # unseen values still warn
    assert strict.drifted("alert") == ()
    lenient = drift_report(reference, batch, thresholds=DriftThresholds(psi_warn=0.05, psi_alert=0.08))
    assert set(strict.drifted()) <= set(lenient.drifted())
    assert lenient.feature("contract").status == "alert"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"psi_warn": -0.1},
        {"psi_alert": float("nan")},
        {"alpha": 2.0},
        {"psi_warn": 0.3, "psi_alert": 0.2},
        {"unseen_warn": "0.1"},
        {"ks_warn": True},
    ],
)
def test_bad_thresholds(kwargs):
    with pytest.raises(InputError) as err:
        DriftThresholds(**kwargs)
    assert err.value.key == "monitoring.drift.bad_threshold"


def test_history_is_tidy_and_ordered(reference, demo):
    current = demo.current.drop(columns=NOT_FEATURES)
    nxt = demo.next_month.drop(columns=NOT_FEATURES)
    reports = [
        drift_report(reference, nxt.iloc[:5000], batch="june", time=datetime(2025, 6, 30)),
        drift_report(reference, current.iloc[:5000], batch="may", time=datetime(2025, 5, 31)),
    ]
    history = drift_history(reports)
    n = len(reference.features)
    assert len(history) == 2 * n
    assert history["batch"].tolist() == ["may"] * n + ["june"] * n
    assert history["time"].is_monotonic_increasing
    june = history[history["batch"] == "june"].set_index("feature")
    assert june.loc["payment_method", "status"] == "alert" and (june["batch_status"] == "alert").all()
    assert drift_history([]).empty
    with pytest.raises(InputError):
        drift_history(["not a report"])  # type: ignore[list-item]


def test_report_round_trips_through_json(next_report):
    text = json.dumps(next_report.to_dict(), allow_nan=False)
    again = DriftReport.from_dict(json.loads(text))
    assert again.to_dict() == next_report.to_dict()
    assert again.explain("es") == next_report.explain("es")
    with pytest.raises(InputError) as err:
        DriftReport.from_dict({"format": "something else"})
    assert err.value.key == "monitoring.drift.bad_format"


# --------------------------------------------------------------------------- the reference


def test_reference_round_trips_and_holds_no_raw_rows(reference, demo):
    text = reference.to_json()
    json.loads(text)  # strict JSON: no NaN
    again = DriftReference.from_json(text)
    assert again.to_dict() == reference.to_dict()
    assert len(text) < 300_000
    assert all(len(f.sketch) <= 2000 for f in reference.features)
    assert set(reference.skipped) == {"customer_id", "signup_date"}
    assert "C0" not in text  # no customer id leaks into the stored reference
    # The reloaded reference measures the same drift.
    batch = demo.next_month.drop(columns=NOT_FEATURES)
    assert drift_report(again, batch).drifted() == drift_report(reference, batch).drifted()


def test_reference_with_an_all_missing_column_is_valid_json():
    frame = pd.DataFrame({"x": [np.nan] * 30, "y": range(30)})
    ref = build_reference(frame, roles={"x": "numeric"})
    again = DriftReference.from_json(ref.to_json())
    assert math.isnan(again.feature("x").mean) and again.feature("x").counts == (0,)
    report = drift_report(again, pd.DataFrame({"x": [1.0] * 30, "y": range(30)}))
    assert report.feature("x").status == "alert" and math.isnan(report.feature("x").ks)


@pytest.mark.parametrize("rows", [1, 19])
def test_reference_with_too_few_rows(rows):
    with pytest.raises(InputError) as err:
        build_reference(pd.DataFrame({"x": range(rows)}), roles={})
    assert err.value.key == "monitoring.reference.too_few_rows" and err.value.params["rows"] == rows
    assert "20" in err.value.message("es")


@pytest.mark.parametrize(
    ("frame", "kwargs", "key"),
    [
        ("not a frame", {}, "monitoring.not_a_frame"),
        (pd.DataFrame({0: range(30)}), {}, "monitoring.column_name_not_text"),
        (pd.DataFrame([[1, 2]] * 30, columns=["a", "a"]), {}, "monitoring.duplicate_column"),
        (pd.DataFrame({"id": range(30)}), {"roles": {"id": "identifier"}}, "monitoring.reference.no_features"),
        (pd.DataFrame({"x": range(30)}), {"roles": {"x": "<script>"}}, "monitoring.reference.unknown_role"),
        (pd.DataFrame({"x": range(30)}), {"bins": 1}, "monitoring.reference.bad_option"),
        (pd.DataFrame({"x": range(30)}), {"sketch_size": "big"}, "monitoring.reference.bad_option"),
        (pd.DataFrame({"x": range(30)}), {"prediction": "score"}, "monitoring.reference.unknown_prediction"),
        (pd.DataFrame({"x": range(30)}), {"prediction": [0.5] * 29}, "monitoring.reference.prediction_length"),
    ],
)
def test_bad_references(frame, kwargs, key):
    kwargs = {"roles": {}, **kwargs}
    with pytest.raises(InputError) as err:
        build_reference(frame, **kwargs)
    assert err.value.key == key
    assert err.value.message("en") != key and err.value.message("es") != err.value.message("en")


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.update(format="ciclo.drift_reference/0"),
        lambda d: d["features"][0].update(counts=[1, 2]),
        lambda d: d["features"][0].update(edges=[3.0, 1.0]),
        lambda d: d["features"][0].update(kind="text"),
        lambda d: d["features"][1].update(categories=["a", "a"]),
        lambda d: d.update(features=[]),
        lambda d: d.pop("n_rows"),
        lambda d: d["features"][0].update(n_missing="many"),
    ],
)
def test_damaged_references_are_refused(mutate):
    ref = build_reference(pd.DataFrame({"x": np.arange(40.0), "c": ["a", "b"] * 20}), roles={})
    data = json.loads(ref.to_json())
    mutate(data)
    with pytest.raises(InputError) as err:
        DriftReference.from_dict(data)
    assert err.value.key == "monitoring.reference.bad_format"
    with pytest.raises(InputError):
        DriftReference.from_json("{not json")


def test_bad_batches():
    ref = build_reference(pd.DataFrame({"x": np.arange(40.0)}), roles={})
    with pytest.raises(InputError) as err:
        drift_report(ref, pd.DataFrame({"x": []}))
    assert err.value.key == "monitoring.drift.empty_batch"
    with pytest.raises(InputError) as err:
        drift_report(ref, [pd.DataFrame({"x": [1.0]}), "oops"])  # type: ignore[list-item]
    assert err.value.key == "monitoring.not_a_frame"
    with pytest.raises(InputError) as err:
        DriftAccumulator("reference")  # type: ignore[arg-type]
    assert err.value.key == "monitoring.drift.not_a_reference"
    report = drift_report(ref, pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InputError):
        report.drifted("panic")
    with pytest.raises(InputError):
        report.feature("nope")
