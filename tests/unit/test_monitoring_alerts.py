"""Alert rules: each kind fires exactly when it should, messages exist in both languages, rules
round-trip through dicts, and the exit code of the future ``mlcore monitor check`` follows severity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from mlcore.errors import InputError
from mlcore.i18n import catalog
from mlcore.monitoring.alerts import (
    RULE_KINDS,
    Alert,
    DriftRule,
    FailedJobRule,
    JobRecord,
    MetricRule,
    MonitoringState,
    ResourceRule,
    StaleBatchRule,
    default_rules,
    evaluate_alerts,
    exit_code,
    rule_from_dict,
    rule_to_dict,
)
from mlcore.monitoring.drift import build_reference, drift_report
from mlcore.monitoring.performance import match_outcomes, performance_over_time
from mlcore.monitoring.resources import ResourceRecord, resource_trends

NOW = datetime(2025, 6, 30, 12, 0)


@pytest.fixture(scope="module")
def reports():
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    ref = build_reference(train, roles={})
    same = pd.DataFrame({"x": rng.normal(size=2000), "y": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    moved = same.assign(x=same["x"] + 1.0, c="a")
    return {
        "same": drift_report(ref, same, batch="may", time=datetime(2025, 5, 31)),
        "moved": drift_report(ref, moved, batch="june", time=datetime(2025, 6, 29)),
        "no_y": drift_report(ref, same.drop(columns="y"), batch="june", time=datetime(2025, 6, 29)),
    }


@pytest.fixture(scope="module")
def weekly_recall():
    # Recall per week: 1.0, 0.5, 0.0 (four predictions a week, two positives each).
    times = pd.to_datetime(["2025-06-02"] * 4 + ["2025-06-09"] * 4 + ["2025-06-16"] * 4)
    preds = pd.DataFrame({"row_key": range(12), "label": [1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0], "time": times})
    outcomes = pd.DataFrame({"row_key": range(12), "outcome": [1, 1, 0, 0] * 3})
    return performance_over_time(match_outcomes(preds, outcomes), metric="recall", threshold=0.7)


def _check(alerts) -> None:
    en, es = catalog("en"), catalog("es")
    for a in alerts:
        assert a.rule in RULE_KINDS and a.severity in ("warning", "critical")
        assert a.key in en and a.key in es, a.key
        assert "{" not in a.message("en") and "{" not in a.message("es") and a.message("en") != a.message("es")


def test_drift_rule(reports):
    rule = DriftRule(psi_above=0.25)
    assert evaluate_alerts([rule], MonitoringState(now=NOW, drift=(reports["same"],))) == ()
    alerts = evaluate_alerts([rule], MonitoringState(now=NOW, drift=(reports["same"], reports["moved"])))
    _check(alerts)
    assert len(alerts) == 1 and alerts[0].subject == "x, c" and alerts[0].severity == "critical"
    assert alerts[0].params["n"] == 2 and "x, c" in alerts[0].message("es")
    # Only the latest report counts.
    assert evaluate_alerts([rule], MonitoringState(now=NOW, drift=(reports["moved"], reports["same"]))) == ()
    # A feature filter, and a threshold no feature reaches.
    only_y = DriftRule(features=("y",))
    assert evaluate_alerts([only_y], MonitoringState(now=NOW, drift=(reports["moved"],))) == ()
    assert evaluate_alerts([DriftRule(psi_above=50)], MonitoringState(now=NOW, drift=(reports["moved"],))) == ()
    # A column missing from the batch fires whatever the threshold.
    missing = evaluate_alerts([only_y], MonitoringState(now=NOW, drift=(reports["no_y"],)))
    assert [a.subject for a in missing] == ["y"]
    assert evaluate_alerts([rule], MonitoringState(now=NOW)) == ()


def test_metric_rule(weekly_recall):
    state = MonitoringState(now=NOW, performance=(weekly_recall,))
    alerts = evaluate_alerts([MetricRule("recall", 0.7)], state)
    _check(alerts)
    assert [(a.key, a.params["value"], a.params["period"]) for a in alerts] == [
        ("monitoring.alert.metric", 0.0, "2025-06-16")
    ]
    streak = evaluate_alerts([MetricRule("recall", 0.7, periods=2)], state)
    assert [a.key for a in streak] == ["monitoring.alert.metric_streak"]
    assert evaluate_alerts([MetricRule("recall", 0.7, periods=3)], state) == ()  # week 1 passed
    assert evaluate_alerts([MetricRule("recall", 0.0)], state) == ()  # 0.0 meets a threshold of 0
    assert evaluate_alerts([MetricRule("precision", 0.7)], state) == ()  # not followed: nothing to say
    # An error metric fails when it is *above* its threshold.
    preds = pd.DataFrame({"row_key": [1, 2], "score": [10.0, 30.0], "time": ["2025-06-02", "2025-06-09"]})
    mae = performance_over_time(
        match_outcomes(preds, pd.DataFrame({"row_key": [1, 2], "outcome": [11, 20]})), metric="mae"
    )
    fired = evaluate_alerts([MetricRule("mae", 5.0)], MonitoringState(now=NOW, performance=(mae,)))
    assert [a.params["value"] for a in fired] == [10.0]


def test_failed_job_rule():
    jobs = (
        JobRecord(1, "predict_batch", "succeeded", NOW - timedelta(hours=1)),
        JobRecord(2, "drift", "failed", NOW - timedelta(days=3)),
        JobRecord(3, "predict_batch", "failed", (NOW - timedelta(hours=5)).replace(tzinfo=UTC)),
        JobRecord(4, "train", "failed", None),
    )
    state = MonitoringState(now=NOW, jobs=jobs)
    alerts = evaluate_alerts([FailedJobRule()], state)
    _check(alerts)
    assert [(a.subject, a.params["n"]) for a in alerts] == [("3", 1)]
    week = evaluate_alerts([FailedJobRule(within_days=7)], state)
    assert week[0].params["n"] == 2 and week[0].params["kinds"] == "drift, predict_batch"
    assert evaluate_alerts([FailedJobRule(kinds=("train",), within_days=30)], state) == ()


def test_stale_batch_rule(reports):
    fresh = MonitoringState(now=NOW, last_batch_at=NOW - timedelta(days=2))
    assert evaluate_alerts([StaleBatchRule(max_days=7)], fresh) == ()
    stale = evaluate_alerts([StaleBatchRule(max_days=1)], fresh)
    _check(stale)
    assert stale[0].params["age"] == 2.0
    never = evaluate_alerts([StaleBatchRule()], MonitoringState(now=NOW))
    assert [a.key for a in never] == ["monitoring.alert.no_batch_ever"]
    # Without last_batch_at, the latest timed drift report says when the last batch was scored.
    from_reports = MonitoringState(now=NOW, drift=(reports["moved"], reports["same"]))
    assert evaluate_alerts([StaleBatchRule(max_days=3)], from_reports) == ()
    assert evaluate_alerts([StaleBatchRule(max_days=0.5)], from_reports)[0].params["age"] == 1.5
    aware_now = MonitoringState(now=NOW.replace(tzinfo=UTC), last_batch_at=NOW - timedelta(days=10))
    assert len(evaluate_alerts([StaleBatchRule()], aware_now)) == 1


def test_resource_rule():
    start = datetime(2025, 6, 1)
    runs = [
        ResourceRecord(i, "predict_batch", start + timedelta(days=i), wall_s=w) for i, w in enumerate([10] * 5 + [20])
    ]
    trends = resource_trends(runs)
    alerts = evaluate_alerts([ResourceRule()], MonitoringState(now=NOW, resources=trends))
    _check(alerts)
    assert [a.subject for a in alerts] == ["predict_batch.wall_s"]
    assert evaluate_alerts([ResourceRule()], MonitoringState(now=NOW, resources=resource_trends(runs[:5]))) == ()


def test_critical_first_and_exit_codes(reports, weekly_recall):
    state = MonitoringState(
        now=NOW,
        drift=(reports["moved"],),
        performance=(weekly_recall,),
        last_batch_at=NOW - timedelta(days=30),
    )
    alerts = evaluate_alerts(default_rules(metric="recall", threshold=0.7), state)
    _check(alerts)
    assert [a.rule for a in alerts] == ["drift", "metric", "stale_batch"]
    assert exit_code(alerts) == 2
    assert exit_code([a for a in alerts if a.severity == "warning"]) == 1
    assert exit_code([a for a in alerts if a.severity == "warning"], fail_on="critical") == 0
    assert exit_code(()) == 0
    quiet = MonitoringState(now=NOW, drift=(reports["same"],), last_batch_at=NOW)
    assert exit_code(evaluate_alerts(default_rules(), quiet)) == 0
    with pytest.raises(InputError):
        exit_code(alerts, fail_on="panic")


def test_rules_round_trip_through_dicts():
    rules = [
        DriftRule(psi_above=0.3, features=("income", "<script>")),
        MetricRule("recall", 0.7, periods=2, severity="warning"),
        FailedJobRule(kinds=("predict_batch",), within_days=2),
        StaleBatchRule(max_days=14, severity="critical"),
        ResourceRule(),
    ]
    for rule in rules:
        assert rule_from_dict(rule_to_dict(rule)) == rule
    assert {rule_to_dict(r)["kind"] for r in rules} == set(RULE_KINDS)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"kind": "panic"}, "monitoring.alert.unknown_rule"),
        ("drift", "monitoring.alert.unknown_rule"),
        ({"kind": "drift", "psi": 0.2}, "monitoring.alert.unknown_rule"),
        ({"kind": "drift", "psi_above": -1}, "monitoring.alert.bad_rule_value"),
        ({"kind": "drift", "features": "income"}, "monitoring.alert.bad_rule_value"),
        ({"kind": "metric", "metric": "recall"}, "monitoring.alert.bad_rule_value"),
        ({"kind": "metric", "metric": "recall", "threshold": "=cmd|' /C calc'!A0"}, "monitoring.alert.bad_rule_value"),
        ({"kind": "metric", "metric": "recall", "threshold": 0.7, "periods": 0}, "monitoring.alert.bad_rule_value"),
        ({"kind": "metric", "metric": "joy", "threshold": 0.7}, "planning.metric_unknown"),
        ({"kind": "stale_batch", "max_days": float("inf")}, "monitoring.alert.bad_rule_value"),
        ({"kind": "failed_job", "severity": "meh"}, "monitoring.alert.bad_severity"),
    ],
)
def test_bad_rules(data, key):
    with pytest.raises(InputError) as err:
        rule_from_dict(data)
    assert err.value.key == key


def test_bad_state_and_rules():
    with pytest.raises(InputError) as err:
        evaluate_alerts([StaleBatchRule()], {"now": NOW})  # type: ignore[arg-type]
    assert err.value.key == "monitoring.alert.bad_state"
    with pytest.raises(InputError) as err:
        evaluate_alerts(["stale"], MonitoringState(now=NOW))  # type: ignore[list-item]
    assert err.value.key == "monitoring.alert.not_a_rule"
    assert Alert("drift", "critical", "monitoring.alert.drift").message("es").startswith("Deriva")
