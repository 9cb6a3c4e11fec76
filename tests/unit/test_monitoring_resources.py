"""Compute resources: trend frames and regressions against the median of the previous runs,
computed by hand, per kind of job, with rows per second counted the other way round."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd
import pytest

from mlcore.errors import InputError
from mlcore.i18n import catalog
from mlcore.monitoring.resources import MEASURES, ResourceRecord, records_from_dicts, resource_trends

START = datetime(2025, 6, 1)


def _runs(kind: str, walls, **other):
    return [
        ResourceRecord(f"{kind}-{i}", kind, START + timedelta(hours=i), wall_s=w, **{k: v[i] for k, v in other.items()})
        for i, w in enumerate(walls)
    ]


def test_baseline_is_the_median_of_the_previous_runs():
    trends = resource_trends(_runs("train", [10, 30, 11, 12, 13, 20, 13]), window=5, min_history=3)
    table = trends.table
    assert table["measure"].unique().tolist() == ["wall_s"]
    # Runs 0-2 have fewer than 3 earlier runs; run 3: median(10, 30, 11) = 11; run 4: median(10, 30, 11, 12)
    # = 11.5; run 5: median(10, 30, 11, 12, 13) = 12; run 6: median(30, 11, 12, 13, 20) = 13.
    assert table["baseline"].tolist()[:3] == [pytest.approx(math.nan, nan_ok=True)] * 3
    assert table["baseline"].tolist()[3:] == [11, 11.5, 12, 13]
    assert table["ratio"].iloc[5] == pytest.approx(20 / 12)
    # 20 s is 1.67x the median: a regression (the odd 30 s run earlier was not: too little history).
    assert table["regression"].tolist() == [False, False, False, False, False, True, False]
    assert trends.regressions == ()  # the latest run (13 s) is back to normal


def test_latest_regressions_per_kind_and_measure():
    records = _runs("predict_batch", [10, 10, 10, 10, 16], rows_per_s=[1000, 1000, 1000, 1000, 600]) + _runs(
        "train", [60, 62, 61, 60, 62]
    )
    trends = resource_trends(list(reversed(records)))  # any order
    found = {(r.kind, r.measure): r for r in trends.regressions}
    assert set(found) == {("predict_batch", "wall_s"), ("predict_batch", "rows_per_s")}
    slower = found[("predict_batch", "rows_per_s")]
    assert slower.baseline == 1000 and slower.value == 600 and slower.ratio == pytest.approx(1000 / 600)
    assert slower.job_id == "predict_batch-4" and slower.finished_at == pd.Timestamp(START + timedelta(hours=4))
    en, es = catalog("en"), catalog("es")
    for r in trends.regressions:
        assert r.message.key in en and r.message.key in es
        assert "predict_batch" in r.message.text("es")
    assert set(trends.table["kind"]) == {"predict_batch", "train"}
    assert trends.table.groupby(["kind", "measure"])["finished_at"].apply(lambda s: s.is_monotonic_increasing).all()


def test_factor_and_history_are_respected():
    runs = _runs("drift", [10, 10, 10, 14])
    assert resource_trends(runs).regressions == ()  # 1.4x is under 1.5x
    assert len(resource_trends(runs, factor=1.3).regressions) == 1
    assert resource_trends(runs, min_history=4).regressions == ()  # only 3 earlier runs
    assert resource_trends(runs[:1]).regressions == ()


def test_frames_and_dicts_are_accepted_and_gaps_skipped():
    frame = pd.DataFrame(
        {
            "job_id": [1, 2, 3, 4],
            "kind": "profile",
            "finished_at": ["2025-06-01T10:00:00Z", "2025-06-02T10:00:00Z", "2025-06-03T10:00:00Z", "2025-06-04"],
            "wall_s": [5.0, 5.0, 5.0, 9.0],
            "peak_memory_mb": [100, None, 100, 100],
        }
    )
    trends = resource_trends(frame, min_history=2)
    assert [(r.measure, r.job_id) for r in trends.regressions] == [("wall_s", 4)]
    assert len(trends.table[trends.table["measure"] == "peak_memory_mb"]) == 3
    records = records_from_dicts(frame.to_dict("records"))
    assert resource_trends(records, min_history=2).regressions == trends.regressions
    assert set(MEASURES) >= set(trends.table["measure"])
    empty = resource_trends([])
    assert empty.table.empty and empty.regressions == ()


@pytest.mark.parametrize(
    ("records", "kwargs", "key"),
    [
        ("jobs", {}, "monitoring.resources.bad_records"),
        ([{"job_id": 1}], {}, "monitoring.resources.bad_records"),
        (pd.DataFrame({"job_id": [1], "kind": ["x"]}), {}, "monitoring.resources.missing_column"),
        (_runs("x", [-1.0]), {}, "monitoring.resources.bad_value"),
        (
            pd.DataFrame({"job_id": [1], "kind": "x", "finished_at": "2025-06-01", "wall_s": ["fast"]}),
            {},
            "monitoring.resources.bad_value",
        ),
        (
            pd.DataFrame({"job_id": [1], "kind": "x", "finished_at": "yesterday", "wall_s": [1.0]}),
            {},
            "monitoring.resources.bad_time",
        ),
        (_runs("x", [1.0]), {"factor": 1.0}, "monitoring.resources.bad_option"),
        (_runs("x", [1.0]), {"window": 0}, "monitoring.resources.bad_option"),
        (_runs("x", [1.0]), {"window": 3, "min_history": 4}, "monitoring.resources.bad_option"),
    ],
)
def test_bad_inputs(records, kwargs, key):
    with pytest.raises(InputError) as err:
        resource_trends(records, **kwargs)
    assert err.value.key == key
    assert err.value.message("es") != err.value.message("en")
