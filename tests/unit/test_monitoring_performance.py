"""Delayed labels: outcomes matched by row key (unknown keys, duplicates, conflicts, repeated keys
across batches), and performance per week, month and batch equal to hand-computed metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlcore.errors import InputError
from mlcore.i18n import catalog
from mlcore.monitoring.performance import (
    MAX_LISTED_KEYS,
    OutcomeMatch,
    match_outcomes,
    performance_over_time,
)

# Week of Monday 2025-06-02 (a-d) and of Monday 2025-06-09 (e-h); batches b1 and b2 follow the weeks.
PREDICTIONS = pd.DataFrame(
    {
        "row_key": list("abcdefgh"),
        "score": [0.9, 0.4, 0.2, 0.7, 0.8, 0.6, 0.3, 0.1],
        "label": [1, 0, 0, 1, 1, 1, 0, 0],
        "batch": ["b1"] * 4 + ["b2"] * 4,
        "time": [
            "2025-06-02",
            "2025-06-04",
            "2025-06-06",
            "2025-06-08",
            "2025-06-09",
            "2025-06-10",
            "2025-06-12",
            "2025-06-15",
        ],
    }
)
OUTCOMES = pd.DataFrame({"row_key": list("hgfedcba"), "outcome": [0, 1, 0, 1, 1, 0, 1, 1]})


def _match() -> OutcomeMatch:
    return match_outcomes(PREDICTIONS, OUTCOMES)


def _messages_exist(messages) -> None:
    en, es = catalog("en"), catalog("es")
    for m in messages:
        assert m.key in en and m.key in es, m.key
        assert "{" not in m.text("en") and m.text("en") != m.text("es")


# --------------------------------------------------------------------------- matching


def test_match_keeps_prediction_order_and_adds_the_outcome():
    m = _match()
    assert m.n_matched == 8 and m.n_unknown == 0 and m.n_awaiting == 0 and m.coverage == 1.0
    assert m.matched["row_key"].tolist() == list("abcdefgh")
    assert m.matched["outcome"].tolist() == [1, 1, 0, 1, 1, 0, 1, 0]
    assert pd.api.types.is_datetime64_any_dtype(m.matched["time"])
    assert m.keys == ("row_key",)
    _messages_exist(m.messages)


def test_unknown_keys_are_counted_and_a_few_listed():
    outcomes = pd.concat(
        [OUTCOMES.iloc[:3], pd.DataFrame({"row_key": [f"x{i}" for i in range(15)], "outcome": 1})], ignore_index=True
    )
    m = match_outcomes(PREDICTIONS, outcomes)
    assert m.n_matched == 3 and m.n_awaiting == 5
    assert m.n_unknown == 15 and m.unknown_keys == tuple(f"x{i}" for i in range(MAX_LISTED_KEYS))
    assert [msg.key for msg in m.messages] == ["monitoring.outcomes.summary", "monitoring.outcomes.unknown_keys"]
    _messages_exist(m.messages)


def test_identical_duplicates_are_dropped_conflicting_ones_refused():
    repeated = pd.concat([OUTCOMES, OUTCOMES.iloc[:2]], ignore_index=True)
    m = match_outcomes(PREDICTIONS, repeated)
    assert m.n_duplicates == 2 and m.n_matched == 8
    assert "monitoring.outcomes.duplicates_dropped" in [msg.key for msg in m.messages]
    # 1 and 1.0 are the same outcome.
    assert (
        match_outcomes(
            PREDICTIONS, pd.DataFrame({"row_key": ["a", "a"], "outcome": [1, 1.0]}, dtype=object)
        ).n_duplicates
        == 1
    )
    conflicting = pd.concat([OUTCOMES, pd.DataFrame({"row_key": ["b", "c"], "outcome": [0, 1]})], ignore_index=True)
    with pytest.raises(InputError) as err:
        match_outcomes(PREDICTIONS, conflicting)
    assert err.value.key == "monitoring.outcomes.conflicting"
    assert err.value.params["n"] == 2 and err.value.params["keys"] == "c, b"  # in file order
    assert "c, b" in err.value.message("es")


def test_keys_match_whatever_their_type():
    preds = pd.DataFrame({"row_key": [17, 18, 19], "label": [1, 0, 1], "time": "2025-06-02"})
    outcomes = pd.DataFrame({"row_key": ["17", 18.0, " 19 "], "outcome": [1, 0, 0]})
    assert match_outcomes(preds, outcomes).n_matched == 3


def test_a_key_scored_in_two_batches_needs_the_batch_column():
    preds = pd.DataFrame(
        {"row_key": ["c1", "c2", "c1"], "label": [1, 0, 0], "batch": ["may", "may", "june"], "time": "2025-06-02"}
    )
    with pytest.raises(InputError) as err:
        match_outcomes(preds, pd.DataFrame({"row_key": ["c1"], "outcome": [1]}))
    assert err.value.key == "monitoring.predictions.duplicate_keys" and err.value.params["keys"] == "c1"
    m = match_outcomes(preds, pd.DataFrame({"row_key": ["c1", "c1"], "batch": ["june", "may"], "outcome": [0, 1]}))
    assert m.keys == ("batch", "row_key")
    assert m.matched[["batch", "outcome"]].values.tolist() == [["may", 1], ["june", 0]]


def test_incomplete_outcome_rows_are_left_out():
    outcomes = pd.concat([OUTCOMES, pd.DataFrame({"row_key": [None, "a", "  "], "outcome": [1, None, 0]})])
    m = match_outcomes(PREDICTIONS, outcomes)
    assert m.n_incomplete == 3 and m.n_matched == 8


def test_malicious_keys_are_listed_as_text():
    nasty = "=cmd|' /C calc'!A0"
    outcomes = pd.DataFrame({"row_key": ["a", nasty, "<script>alert(1)</script>" * 3], "outcome": [1, 0, 1]})
    m = match_outcomes(PREDICTIONS, outcomes)
    assert m.unknown_keys[0] == nasty
    assert len(m.unknown_keys[1]) == 40 and m.unknown_keys[1].endswith("…")


@pytest.mark.parametrize(
    ("predictions", "outcomes", "key"),
    [
        (PREDICTIONS.drop(columns="row_key"), OUTCOMES, "monitoring.predictions.missing_column"),
        (PREDICTIONS, OUTCOMES.drop(columns="outcome"), "monitoring.outcomes.missing_column"),
        (PREDICTIONS.iloc[:0], OUTCOMES, "monitoring.predictions.empty"),
        (PREDICTIONS, OUTCOMES.iloc[:0], "monitoring.outcomes.empty"),
        (PREDICTIONS.drop(columns=["label", "score"]), OUTCOMES, "monitoring.predictions.no_prediction"),
        (PREDICTIONS.assign(time=["soon"] + ["2025-06-02"] * 7), OUTCOMES, "monitoring.predictions.bad_time"),
        (PREDICTIONS.assign(row_key=[None] + list("bcdefgh")), OUTCOMES, "monitoring.predictions.missing_key"),
        (PREDICTIONS, OUTCOMES.assign(row_key=OUTCOMES["row_key"] + "_x"), "monitoring.outcomes.no_match"),
        (PREDICTIONS.drop(columns="batch"), OUTCOMES.assign(batch="b1"), "monitoring.predictions.missing_column"),
        ("predictions.csv", OUTCOMES, "monitoring.not_a_frame"),
    ],
)
def test_bad_inputs_for_matching(predictions, outcomes, key):
    with pytest.raises(InputError) as err:
        match_outcomes(predictions, outcomes)
    assert err.value.key == key
    assert err.value.key in catalog("es") and err.value.message("es") != err.value.message("en")


# --------------------------------------------------------------------------- performance by hand


def test_weekly_recall_and_precision_by_hand():
    m = _match()
    recall = performance_over_time(m, metric="recall", period="W", threshold=0.6)
    # Week 1: outcomes 1,1,0,1 and labels 1,0,0,1 -> 2 of 3 positives found. Week 2: outcomes
    # 1,0,1,0 and labels 1,1,0,0 -> 1 of 2.
    assert recall.table["period"].tolist() == ["2025-06-02", "2025-06-09"]
    assert recall.table["n"].tolist() == [4, 4]
    np.testing.assert_allclose(recall.table["value"], [2 / 3, 1 / 2])
    assert recall.table["status"].tolist() == ["pass", "fail"]
    assert recall.table["start"].tolist() == [pd.Timestamp("2025-06-02"), pd.Timestamp("2025-06-09")]
    assert recall.table["end"].iloc[0] < pd.Timestamp("2025-06-09")
    assert recall.overall == pytest.approx(3 / 5) and recall.overall_status == "pass"  # 0.6 >= 0.6
    precision = performance_over_time(m, metric="precision", period="W")
    np.testing.assert_allclose(precision.table["value"], [1.0, 0.5])
    assert (precision.table["status"] == "n/a").all() and precision.threshold is None


def test_monthly_and_per_batch_by_hand():
    m = _match()
    monthly = performance_over_time(m, metric="f1", period="M")
    # June: TP 3 (a, d, e), FP 1 (f), FN 2 (b, g) -> f1 = 2·3 / (2·3 + 1 + 2) = 6/9.
    assert monthly.table[["period", "n"]].values.tolist() == [["2025-06", 8]]
    assert monthly.table["value"].iloc[0] == pytest.approx(6 / 9)
    per_batch = performance_over_time(m, metric="accuracy", period="batch", threshold=0.7)
    assert per_batch.table["period"].tolist() == ["b1", "b2"]
    np.testing.assert_allclose(per_batch.table["value"], [3 / 4, 2 / 4])
    assert per_batch.table["status"].tolist() == ["pass", "fail"]
    assert per_batch.table["start"].iloc[1] == pd.Timestamp("2025-06-09")
    assert per_batch.table["end"].iloc[1] == pd.Timestamp("2025-06-15")


def test_ranking_metrics_use_the_score():
    m = _match()
    auc = performance_over_time(m, metric="roc_auc", period="batch", threshold=0.8)
    # b1: positives a (0.9), b (0.4), d (0.7); negative c (0.2) -> every pair ordered: 1.0.
    # b2: positives e (0.8), g (0.3); negatives f (0.6), h (0.1) -> pairs e>f, e>h, g<f, g>h: 3/4.
    np.testing.assert_allclose(auc.table["value"], [1.0, 0.75])
    assert auc.table["status"].tolist() == ["pass", "fail"]
    ap = performance_over_time(m, metric="average_precision", period="batch")
    # b2 ranked e(1) f(0) g(1) h(0): precision at the positives 1/1 and 2/3 -> AP = (1 + 2/3) / 2.
    assert ap.table["value"].iloc[1] == pytest.approx((1 + 2 / 3) / 2)


def test_regression_metrics_lower_is_better():
    preds = pd.DataFrame(
        {"row_key": [1, 2, 3], "score": [12.0, 17.0, 9.0], "time": ["2025-05-10", "2025-05-20", "2025-06-01"]}
    )
    m = match_outcomes(preds, pd.DataFrame({"row_key": [1, 2, 3], "outcome": [10, 20, 5]}))
    mae = performance_over_time(m, metric="mae", period="M", threshold=3.0)
    assert mae.direction == "lower"
    assert mae.table[["period", "value", "status"]].values.tolist() == [
        ["2025-05", 2.5, "pass"],
        ["2025-06", 4.0, "fail"],
    ]
    rmse = performance_over_time(m, metric="rmse", period="M")
    assert rmse.table["value"].iloc[0] == pytest.approx(math.sqrt((4 + 9) / 2))


def test_multiclass_recall_is_the_macro_average():
    preds = pd.DataFrame({"row_key": range(6), "label": list("abbbca"), "time": "2025-06-02"})
    m = match_outcomes(preds, pd.DataFrame({"row_key": range(6), "outcome": list("aabbcc")}))
    value = performance_over_time(m, metric="recall", period="M").table["value"].iloc[0]
    assert value == pytest.approx((1 / 2 + 2 / 2 + 1 / 2) / 3)
    with pytest.raises(InputError) as err:
        performance_over_time(m.matched.assign(score=0.5), metric="roc_auc")
    assert err.value.key == "monitoring.performance.ranking_needs_two_classes"


def test_undefined_metrics_are_not_silently_zero():
    m = _match()
    only_negatives = m.matched[m.matched["outcome"] == 0]
    recall = performance_over_time(only_negatives, metric="recall", threshold=0.5, pos_label=1)
    assert recall.table["value"].isna().all() and (recall.table["status"] == "n/a").all()
    assert recall.latest() is None
    assert [msg.key for msg in recall.messages] == ["monitoring.performance.no_value"]
    auc = performance_over_time(only_negatives.assign(outcome=[0, 0, 0]), metric="roc_auc", pos_label=0)
    assert auc.table["value"].isna().all()
    few = performance_over_time(m, metric="recall", period="batch", min_rows=5)
    assert few.table["value"].isna().all() and few.table["n"].tolist() == [4, 4]


def test_positive_class_default_and_choice():
    preds = pd.DataFrame({"row_key": range(5), "label": ["yes", "no", "no", "yes", "no"], "time": "2025-06-02"})
    m = match_outcomes(preds, pd.DataFrame({"row_key": range(5), "outcome": ["yes", "yes", "no", "no", "no"]}))
    default = performance_over_time(m, metric="recall")
    assert default.pos_label == "yes"  # the rarer class
    assert default.overall == pytest.approx(1 / 2)
    chosen = performance_over_time(m, metric="recall", pos_label="no")
    assert chosen.overall == pytest.approx(2 / 3)
    with pytest.raises(InputError) as err:
        performance_over_time(m, metric="recall", pos_label="maybe")
    assert err.value.key == "monitoring.performance.unknown_pos_label"


def test_messages_describe_the_latest_period_and_a_streak():
    preds = pd.DataFrame(
        {"row_key": range(6), "label": [1, 0, 0, 0, 0, 1], "time": pd.date_range("2025-06-02", periods=6, freq="7D")}
    )
    m = match_outcomes(preds, pd.DataFrame({"row_key": range(6), "outcome": [1, 1, 1, 1, 1, 1]}))
    perf = performance_over_time(m, metric="recall", threshold=0.7)
    assert perf.table["status"].tolist() == ["pass", "fail", "fail", "fail", "fail", "pass"]
    assert [msg.key for msg in perf.messages] == ["monitoring.performance.latest_pass"]
    failing = performance_over_time(m.matched.iloc[:5], metric="recall", threshold=0.7)
    keys = [msg.key for msg in failing.messages]
    assert keys == ["monitoring.performance.latest_fail", "monitoring.performance.failing_streak"]
    assert failing.messages[1].params["n"] == 4
    _messages_exist(failing.messages)


def test_time_zones_are_converted_to_utc():
    preds = PREDICTIONS.assign(time=pd.to_datetime(PREDICTIONS["time"]).dt.tz_localize("America/Santiago"))
    m = match_outcomes(preds, OUTCOMES)
    assert m.matched["time"].dt.tz is None
    assert m.matched["time"].iloc[0] == pd.Timestamp("2025-06-02 04:00")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"metric": "happiness"}, "monitoring.performance.unknown_metric"),
        ({"metric": "recall", "period": "D"}, "monitoring.performance.bad_period"),
        ({"metric": "recall", "threshold": "high"}, "monitoring.performance.bad_threshold"),
        ({"metric": "recall", "threshold": float("nan")}, "monitoring.performance.bad_threshold"),
        ({"metric": "recall", "min_rows": 0}, "monitoring.performance.bad_min_rows"),
    ],
)
def test_bad_performance_options(kwargs, key):
    with pytest.raises(InputError) as err:
        performance_over_time(_match(), **kwargs)
    assert err.value.key == key


def test_bad_performance_inputs():
    m = _match()
    with pytest.raises(InputError) as err:
        performance_over_time(m.matched.assign(outcome=["yes", "no"] * 4), metric="recall")
    assert err.value.key == "monitoring.performance.labels_do_not_match"
    with pytest.raises(InputError) as err:
        performance_over_time(m.matched.drop(columns="label"), metric="recall")
    assert err.value.key == "monitoring.performance.needs_label"
    with pytest.raises(InputError) as err:
        performance_over_time(m.matched.drop(columns="score"), metric="roc_auc")
    assert err.value.key == "monitoring.performance.needs_score"
    with pytest.raises(InputError) as err:
        performance_over_time(m.matched.assign(outcome="lots"), metric="mae")
    assert err.value.key == "monitoring.performance.outcome_not_numeric"
    with pytest.raises(InputError) as err:
        performance_over_time(m.matched.drop(columns="batch"), metric="recall", period="batch")
    assert err.value.key == "monitoring.performance.needs_batch"
    with pytest.raises(InputError) as err:
        performance_over_time(m.matched.iloc[:0], metric="recall")
    assert err.value.key == "monitoring.performance.nothing_matched"
    with pytest.raises(InputError) as err:
        performance_over_time([1, 2, 3], metric="recall")  # type: ignore[arg-type]
    assert err.value.key == "monitoring.not_a_frame"
