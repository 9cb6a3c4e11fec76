"""Stress tests of a fitted model: perturbations are what they claim, robustness degrades monotonically with
noise, slices and fairness match hand-computed cases, another version is scored with clear errors for
missing columns, and hardware measurements are consistent."""

from __future__ import annotations

import io
import math

import joblib
import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference
from sklearn.linear_model import LinearRegression, LogisticRegression
from threadpoolctl import threadpool_limits

from mlcore.errors import InputError
from mlcore.modeling.evaluation import Predictions, predict_for_evaluation
from mlcore.modeling.stress import (
    MISSING_GROUP,
    UNSEEN_CATEGORY,
    evaluate_on_frame,
    fairness_report,
    iter_perturbations,
    measure_performance,
    perturb,
    robustness_suite,
    slice_performance,
)
from mlcore.modeling.training import build_pipeline


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):
        yield


def _mixed(rows: int = 400, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, dict[str, str]]:
    rng = np.random.default_rng(seed)
    x0, x1 = rng.normal(size=rows), rng.normal(loc=10.0, scale=3.0, size=rows)
    plan = rng.choice(["basic", "plus", "pro"], size=rows)
    frame = pd.DataFrame(
        {
            "x0": x0,
            "x1": x1,
            "count": rng.integers(0, 20, size=rows),
            "plan": pd.Series(plan, dtype=object),
            "since": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365, size=rows), unit="D"),
        }
    )
    signal = 2.0 * x0 + (x1 - 10.0) / 3.0 + (plan == "pro") * 1.0 + rng.normal(scale=0.5, size=rows)
    roles = {"x0": "numeric", "x1": "numeric", "count": "numeric", "plan": "categorical", "since": "datetime"}
    return frame, pd.Series((signal > 0).astype(int), name="y"), roles


@pytest.fixture(scope="module")
def fitted():
    X, y, roles = _mixed()
    with threadpool_limits(1):
        pipe = build_pipeline("logistic_regression", task_type="classification", roles=roles, features=list(X.columns))
        pipe.fit(X.iloc[:250], y.iloc[:250])
    return pipe, X.iloc[250:].reset_index(drop=True), y.iloc[250:].reset_index(drop=True), roles, X.iloc[:250]


# ----------------------------------------------------------------------------- perturbations


def test_perturbations_do_not_touch_the_input_and_do_what_they_say():
    X, _, roles = _mixed(2000)
    before = X.copy()
    noisy = perturb(X, "noise", 0.5, roles=roles, random_state=1)
    pd.testing.assert_frame_equal(X, before)
    added = noisy["x1"] - X["x1"]
    assert added.std() == pytest.approx(0.5 * X["x1"].std(ddof=0), rel=0.1)  # scaled by the column's spread
    assert (noisy["plan"] == X["plan"]).all() and (noisy["since"] == X["since"]).all()
    pd.testing.assert_frame_equal(perturb(X, "noise", 0.0, roles=roles), X, check_dtype=False)

    missing = perturb(X, "missing", 0.25, roles=roles, random_state=1)
    shares = missing.isna().mean()
    assert shares.between(0.2, 0.3).all()
    assert missing["since"].dtype == X["since"].dtype  # dates stay dates (NaT)

    outside = perturb(X, "out_of_range", 0.5, roles=roles, random_state=1)
    moved = outside["x0"] != X["x0"]
    assert 0.4 < moved.mean() < 0.6
    assert ((outside.loc[moved, "x0"] > X["x0"].max()) | (outside.loc[moved, "x0"] < X["x0"].min())).all()

    unseen = perturb(X, "unseen_category", 0.1, roles=roles, random_state=1)
    assert 0.07 < (unseen["plan"] == UNSEEN_CATEGORY).mean() < 0.13
    assert (unseen["x0"] == X["x0"]).all()


def test_higher_rates_perturb_a_superset_of_cells():
    X, _, roles = _mixed(500)
    low = perturb(X, "missing", 0.1, roles=roles, random_state=3).isna()
    high = perturb(X, "missing", 0.3, roles=roles, random_state=3).isna()
    assert (high | ~low).all().all()


def test_reference_rows_define_the_spread_and_categorical_dtype_works():
    X, _, roles = _mixed(300)
    reference = X.assign(x0=X["x0"] * 100)
    wide = perturb(X, "noise", 1.0, roles=roles, reference=reference, random_state=0)
    narrow = perturb(X, "noise", 1.0, roles=roles, random_state=0)
    assert (wide["x0"] - X["x0"]).std() > 50 * (narrow["x0"] - X["x0"]).std()
    as_category = X.assign(plan=X["plan"].astype("category"))
    changed = perturb(as_category, "unseen_category", 1.0, roles=roles)
    assert (changed["plan"] == UNSEEN_CATEGORY).all()
    assert perturb(as_category, "missing", 1.0, roles=roles)["plan"].isna().all()


@pytest.mark.parametrize(
    ("kind", "level", "key"),
    [
        ("shuffle", 0.1, "evaluation.robustness.unknown_perturbation"),
        ("missing", 1.5, "evaluation.robustness.bad_level"),
        ("noise", -1.0, "evaluation.robustness.bad_level"),
        ("noise", float("nan"), "evaluation.robustness.bad_level"),
    ],
)
def test_perturb_bad_inputs(kind, level, key):
    X, _, _ = _mixed(20)
    with pytest.raises(InputError) as err:
        perturb(X, kind, level)
    assert err.value.key == key
    assert "{" not in err.value.message("es")


def test_perturb_refuses_empty_frames_and_unknown_columns():
    X, _, _ = _mixed(20)
    with pytest.raises(InputError) as err:
        perturb(X.iloc[:0], "noise", 0.1)
    assert err.value.key == "evaluation.empty"
    with pytest.raises(InputError) as err:
        perturb(X, "noise", 0.1, columns=["x0", "ghost"])
    assert err.value.key == "evaluation.missing_columns" and "ghost" in err.value.params["columns"]
    with pytest.raises(InputError) as err:
        perturb(X.to_numpy(), "noise", 0.1)  # type: ignore[arg-type]
    assert err.value.key == "evaluation.not_a_table"


# ----------------------------------------------------------------------------- robustness


def test_robustness_degrades_monotonically_with_noise():
    rng = np.random.default_rng(0)
    rows = 600
    X = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows), "c": rng.normal(size=rows)})
    y = (X["a"] + 0.5 * X["b"] + rng.normal(scale=0.3, size=rows) > 0).astype(int)
    model = LogisticRegression().fit(X.iloc[:300], y.iloc[:300])
    levels = (0.25, 0.5, 1.0, 2.0)
    result = robustness_suite(
        model,
        X.iloc[300:],
        y.iloc[300:],
        metrics=["roc_auc", "accuracy"],
        levels={"noise": levels},
        reference=X.iloc[:300],
        n_repeats=8,
        random_state=0,
    )
    for metric in ("roc_auc", "accuracy"):
        rows_ = result.frame[result.frame["metric"] == metric]
        values = [result.baseline[metric], *rows_[rows_["perturbation"] == "noise"].sort_values("level")["value"]]
        assert all(a > b for a, b in zip(values, values[1:], strict=False)), (metric, values)
    noise = result.frame[(result.frame["perturbation"] == "noise") & (result.frame["metric"] == "roc_auc")]
    assert (noise["degradation"] > 0).all() and (noise["std"] >= 0).all()
    assert result.predict_calls == 1 + len(levels) * 8


def test_robustness_calls_predict_once_per_level_and_reports_progress(fitted):
    pipe, X, y, roles, train = fitted
    calls = []
    original = pipe.predict_proba

    def counting(frame):
        calls.append(len(frame))
        return original(frame)

    pipe.predict_proba = counting
    seen = []
    try:
        result = robustness_suite(
            pipe,
            X,
            y,
            metrics=["roc_auc", "f1"],
            roles=roles,
            reference=train,
            n_repeats=2,
            progress=lambda fraction, key, **params: seen.append((fraction, key)),
        )
    finally:
        del pipe.predict_proba
    levels = 4 + 4 + 3 + 4
    assert len(calls) == result.predict_calls == 1 + 2 * levels
    assert set(calls) == {len(X)}
    assert len(result.frame) == 2 * (1 + levels)
    assert set(result.frame["perturbation"]) == {"none", "noise", "missing", "out_of_range", "unseen_category"}
    assert result.frame.loc[result.frame["perturbation"] == "none", "change"].eq(0).all()
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert {k for _, k in seen} == {"evaluation.progress.robustness"}
    frames = list(iter_perturbations(X, roles=roles, reference=train, columns=list(X.columns), n_repeats=2))
    assert len(frames) == 2 * levels


def test_robustness_skips_what_does_not_apply_and_works_for_regression():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"a": rng.normal(size=200), "b": rng.normal(size=200)})
    y = 3 * X["a"] - X["b"] + rng.normal(scale=0.1, size=200)
    model = LinearRegression().fit(X, y)
    result = robustness_suite(
        model, X, y, metrics=["mae", "r2"], levels={"noise": (0.5, 1.0), "unseen_category": (0.1,)}
    )
    assert result.skipped == ("unseen_category",)
    mae = result.frame[(result.frame["metric"] == "mae") & (result.frame["perturbation"] == "noise")]
    assert (mae["change"] > 0).all() and (mae["degradation"] > 0).all()  # errors grow: worse


def test_robustness_bad_inputs(fitted):
    pipe, X, y, roles, _ = fitted
    with pytest.raises(InputError) as err:
        robustness_suite(pipe, X, y.iloc[:5], metrics=["roc_auc"])
    assert err.value.key == "evaluation.length_mismatch"
    with pytest.raises(InputError) as err:
        robustness_suite(pipe, X.drop(columns=["plan"]), y, metrics=["roc_auc"])
    assert err.value.key == "evaluation.missing_columns" and "plan" in err.value.params["columns"]
    with pytest.raises(InputError) as err:
        robustness_suite(pipe, X, y, metrics=["mae"])
    assert err.value.key == "evaluation.metric_wrong_task"
    with pytest.raises(InputError) as err:
        robustness_suite(pipe, X, y, metrics=["roc_auc"], n_repeats=0)
    assert err.value.key == "evaluation.bad_count"


# ----------------------------------------------------------------------------- slices


def _predictions(truth, predicted) -> Predictions:
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    scores = np.column_stack([1.0 - predicted, predicted]).astype(float)
    return Predictions("classification", truth, predicted, scores, (0, 1), 1, True)


def test_slices_hand_computed():
    frame = pd.DataFrame(
        {
            "region": ["n"] * 4 + ["s"] * 4 + [None] * 2,
            "age": [10, 20, 30, 40, 50, 60, 70, 80, np.nan, 90],
        }
    )
    truth = [1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
    predicted = [1, 0, 1, 0, 0, 1, 0, 1, 1, 1]  # region n all right, s all wrong, missing half right
    report = slice_performance(
        _predictions(truth, predicted), frame, columns=["region", "age"], metric="accuracy", n_bins=3, min_size=3
    )
    assert report.overall == pytest.approx(5 / 10)
    region = report.frame[report.frame["column"] == "region"].set_index("slice")
    assert region.loc["n", "value"] == 1.0 and region.loc["s", "value"] == 0.0
    assert region.loc[MISSING_GROUP, "kind"] == "missing" and region.loc[MISSING_GROUP, "n_rows"] == 2
    assert region.loc[MISSING_GROUP, "small"] and not region.loc[MISSING_GROUP, "worst"]
    assert region.loc["s", "shortfall"] == pytest.approx(0.5) and region.loc["s", "worst"]
    age = report.frame[report.frame["column"] == "age"]
    assert list(age["kind"]) == ["range", "range", "range", "missing"]
    assert age["n_rows"].tolist() == [3, 3, 3, 1]
    assert age["lower"].tolist()[:3] == [10.0, 40.0, 70.0] and age["upper"].tolist()[:3] == [30.0, 60.0, 90.0]
    assert age["slice"].iloc[0] == "10 – 30"
    assert report.frame["share"].groupby(report.frame["column"]).sum().tolist() == pytest.approx([1.0, 1.0])
    assert list(report.worst["slice"])[0] == "s"


def test_slices_small_slices_are_never_flagged_and_rare_categories_are_grouped():
    frame = pd.DataFrame({"c": ["a"] * 40 + ["b"] * 40 + ["rare1", "rare2"]})
    truth = [1, 0] * 41
    predicted = truth[:40] + [1 - t for t in truth[40:80]] + [1 - t for t in truth[80:]]
    report = slice_performance(
        _predictions(truth, predicted), frame, columns=["c"], metric="accuracy", min_size=30, max_categories=2
    )
    table = report.frame.set_index("kind")
    assert table.loc["other", "n_rows"] == 2 and table.loc["other", "small"] and not table.loc["other", "worst"]
    assert report.worst["slice"].tolist() == ["b"]
    none_flagged = slice_performance(_predictions(truth, predicted), frame, columns=["c"], metric="accuracy", n_worst=0)
    assert not none_flagged.frame["worst"].any()


def test_slices_with_dates_and_bad_inputs(fitted):
    pipe, X, y, _, _ = fitted
    p = predict_for_evaluation(pipe, X, y)
    report = slice_performance(p, X, columns=["since", "plan"], metric="roc_auc", min_size=10)
    dates = report.frame[report.frame["column"] == "since"]
    assert len(dates) == 4 and dates["slice"].str.match(r"\d{4}-\d\d-\d\d – \d{4}-\d\d-\d\d").all()
    with pytest.raises(InputError) as err:
        slice_performance(p, X.iloc[:10], columns=["plan"], metric="roc_auc")
    assert err.value.key == "evaluation.length_mismatch"
    with pytest.raises(InputError) as err:
        slice_performance(p, X, columns=["ghost"], metric="roc_auc")
    assert err.value.key == "evaluation.missing_columns"
    with pytest.raises(InputError) as err:
        slice_performance(p, X, columns=[], metric="roc_auc")
    assert err.value.key == "evaluation.slices.no_columns"
    with pytest.raises(InputError) as err:
        slice_performance(p, X, columns=["plan"], metric="roc_auc", min_size=0)
    assert err.value.key == "evaluation.bad_count"


# ----------------------------------------------------------------------------- another version


def test_evaluate_on_another_frame(fitted):
    pipe, X, y, _, _ = fitted
    newest = X.assign(y=y.astype(float), extra_column="ignored")
    newest.loc[:9, "y"] = np.nan
    result = evaluate_on_frame(pipe, newest, target="y", metrics=["roc_auc", "accuracy"], reference={"roc_auc": 0.5})
    assert result.n_rows == len(X) - 10 and result.n_unlabelled == 10
    assert result.ignored_columns == ("extra_column",)
    assert result.change["roc_auc"] == pytest.approx(result.metrics["roc_auc"] - 0.5)
    assert "accuracy" not in result.change
    expected = predict_for_evaluation(pipe, X.iloc[10:], y.iloc[10:])
    assert result.metrics["accuracy"] == pytest.approx(float(np.mean(expected.y_pred == expected.y_true)))


def test_evaluate_on_frame_names_missing_columns(fitted):
    pipe, X, y, _, _ = fitted
    with pytest.raises(InputError) as err:
        evaluate_on_frame(pipe, X.drop(columns=["x1", "plan"]).assign(y=y), target="y", metrics=["roc_auc"])
    assert err.value.key == "evaluation.missing_columns"
    assert err.value.params["columns"] == "x1, plan" and err.value.params["count"] == 2
    assert "x1, plan" in err.value.message("es")
    with pytest.raises(InputError) as err:
        evaluate_on_frame(pipe, X, target="y", metrics=["roc_auc"])
    assert err.value.key == "evaluation.target_not_a_column"
    with pytest.raises(InputError) as err:
        evaluate_on_frame(pipe, X.assign(y=np.nan), target="y", metrics=["roc_auc"])
    assert err.value.key == "evaluation.no_labelled_rows"
    with pytest.raises(InputError) as err:
        evaluate_on_frame(pipe, X.iloc[:0].assign(y=1), target="y", metrics=["roc_auc"])
    assert err.value.key == "evaluation.empty"


# ----------------------------------------------------------------------------- fairness


def test_fairness_hand_computed_and_agrees_with_fairlearn():
    truth = [1, 1, 0, 0, 1, 0, 1, 0]
    predicted = [1, 0, 0, 1, 1, 0, 1, 1]
    groups = pd.Series(list("aaaabbbb"), name="gender")
    report = fairness_report(truth, predicted, groups, min_group_size=1)
    a, b = report.groups.set_index("group").loc["a"], report.groups.set_index("group").loc["b"]
    assert (a["selection_rate"], a["true_positive_rate"], a["false_positive_rate"]) == (0.5, 0.5, 0.5)
    assert (b["selection_rate"], b["true_positive_rate"], b["false_positive_rate"]) == (0.75, 1.0, 0.5)
    assert (a["count"], a["positives"], a["negatives"]) == (4, 2, 2)
    assert report.demographic_parity_difference == pytest.approx(0.25)
    assert report.equalized_odds_difference == pytest.approx(0.5)
    assert report.equalized_odds_difference == pytest.approx(
        equalized_odds_difference(truth, predicted, sensitive_features=groups)
    )
    assert report.demographic_parity_difference == pytest.approx(
        demographic_parity_difference(truth, predicted, sensitive_features=groups)
    )
    assert report.sensitive == "gender" and report.small_groups == ()


def test_fairness_flags_tiny_groups_missing_values_and_undefined_rates():
    truth = ["yes", "no"] * 20 + ["no", "no"]
    predicted = ["yes", "yes"] * 20 + ["no", "yes"]
    sensitive = ["x"] * 40 + [None, "z"]
    report = fairness_report(truth, predicted, sensitive, pos_label="yes", min_group_size=5, name="region")
    table = report.groups.set_index("group")
    assert set(table.index) == {"x", "z", MISSING_GROUP}
    assert set(report.small_groups) == {"z", MISSING_GROUP}
    assert math.isnan(table.loc["z", "true_positive_rate"])  # no actual positives in z
    assert table.loc["z", "false_positive_rate"] == 1.0
    assert report.pos_label == "yes"


def test_fairness_bad_inputs():
    with pytest.raises(InputError) as err:
        fairness_report([1, 0, 1], [1, 1, 0], pd.Series(["a", "a", "a"], name="gender"))
    assert err.value.key == "evaluation.fairness.one_group" and err.value.params["column"] == "gender"
    with pytest.raises(InputError) as err:
        fairness_report([1, 0, 2], [1, 1, 0], ["a", "b", "a"])
    assert err.value.key == "evaluation.not_binary"
    with pytest.raises(InputError) as err:
        fairness_report([1, 0, 1], [1, 1], ["a", "b", "a"])
    assert err.value.key == "evaluation.length_mismatch"
    with pytest.raises(InputError) as err:
        fairness_report(list(range(2)) * 60, [0, 1] * 60, [str(i) for i in range(120)])
    assert err.value.key == "evaluation.fairness.too_many_groups"
    with pytest.raises(InputError) as err:
        fairness_report([], [], [])
    assert err.value.key == "evaluation.empty"
    with pytest.raises(InputError) as err:
        fairness_report([1, 0], [1, None], ["a", "b"])
    assert err.value.key == "evaluation.predictions_missing"


# ----------------------------------------------------------------------------- hardware


def test_measure_performance_is_consistent(fitted):
    pipe, X, _, _, _ = fitted
    steps = []
    report = measure_performance(
        pipe,
        X,
        n_calls=12,
        batch_sizes=(50, 200, 100_000),
        max_rows=300,
        training_seconds=1.5,
        progress=lambda fraction, key, **params: steps.append((fraction, params.get("step"))),
    )
    assert report.method == "predict_proba" and report.latency_calls == 12
    assert 0 < report.latency_ms_p50 <= report.latency_ms_p95 <= report.latency_ms_p99
    assert [rows for rows, _ in report.throughput] == [50, 200, 300]
    assert all(rate > 0 for _, rate in report.throughput)
    assert report.peak_memory_rows == 300 and report.peak_memory_bytes > 0
    buffer = io.BytesIO()
    joblib.dump(pipe, buffer)
    assert report.model_bytes == buffer.getbuffer().nbytes
    assert report.training_seconds == 1.5
    assert {"host", "platform", "python", "cpus"} <= set(report.host)
    assert report.throughput_frame().columns.tolist() == ["rows", "rows_per_second"]
    assert steps[-1][0] == 1.0 and {s for _, s in steps} >= {"latency", "throughput", "memory", "size"}


def test_measure_performance_bad_inputs(fitted):
    pipe, X, _, _, _ = fitted
    with pytest.raises(InputError) as err:
        measure_performance(pipe, X.iloc[:0])
    assert err.value.key == "evaluation.empty"
    with pytest.raises(InputError) as err:
        measure_performance(pipe, X, n_calls=0)
    assert err.value.key == "evaluation.bad_count"
    with pytest.raises(InputError) as err:
        measure_performance(pipe, X, batch_sizes=(100, -5))
    assert err.value.key == "evaluation.bad_count"
