"""Evaluation core: metrics agree with training's scorers, the leaderboard ranks by direction, the corrected
t-test gives known answers, curves and threshold/cost computations match hand-computed cases, and bad
inputs get a clear InputError."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.datasets import make_classification
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from mlcore.errors import InputError
from mlcore.i18n import translate
from mlcore.modeling.evaluation import (
    CandidateFolds,
    Leaderboard,
    Predictions,
    RunDescriptor,
    calibration_curve_frame,
    canvas_costs,
    check_comparable,
    compare_candidates,
    compare_top,
    confusion_frame,
    corrected_resampled_ttest,
    cumulative_gains_frame,
    error_by_range,
    folds_signature,
    leaderboard,
    metrics_at_threshold,
    minimum_cost_threshold,
    precision_recall_frame,
    predict_for_evaluation,
    regression_points,
    roc_curve_frame,
    score_predictions,
    threshold_for_constraint,
    threshold_table,
)
from mlcore.modeling.training import METRICS, build_pipeline, make_scorers, train_candidates
from mlcore.planning.canvas import Canvas


@pytest.fixture(autouse=True)
def one_thread():
    with threadpool_limits(1):
        yield


def _binary_frame(rows: int = 200, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    X, y = make_classification(rows, n_features=5, n_informative=3, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    return frame, pd.Series(np.where(y == 1, "leave", "stay"), name="churn")


# ----------------------------------------------------------------------------- metrics


@pytest.mark.parametrize("family", ["logistic_regression", "hist_gradient_boosting", "linear_svm"])
def test_score_predictions_match_training_scorers(family):
    X, y = _binary_frame()
    roles = {c: "numeric" for c in X.columns}
    params = {"max_iter": 20} if family == "hist_gradient_boosting" else None
    pipe = build_pipeline(family, task_type="classification", roles=roles, features=list(X.columns), params=params)
    pipe.fit(X.iloc[:120], y.iloc[:120])
    test_X, test_y = X.iloc[120:], y.iloc[120:]
    names = list(METRICS)[:7]
    scorers = make_scorers(names, task_type="classification", n_classes=2, pos_label="leave")
    expected = {m: float(s(pipe, test_X, test_y)) for m, s in scorers.items()}
    p = predict_for_evaluation(pipe, test_X, test_y, pos_label="leave")
    assert p.pos_label == "leave"
    assert list(p.y_pred) == list(pipe.predict(test_X))  # labels from one scoring call equal predict()
    got = score_predictions(p, names)
    assert got == pytest.approx(expected, abs=1e-12)
    assert p.probabilities is (family != "linear_svm")


def test_score_predictions_multiclass_and_regression_match_training():
    X, y = make_classification(240, n_features=6, n_informative=4, n_classes=3, random_state=1)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    pipe = build_pipeline(
        "logistic_regression", task_type="classification", roles=dict.fromkeys(frame, "numeric"), features=list(frame)
    ).fit(frame.iloc[:150], y[:150])
    names = ["recall", "precision", "f1", "roc_auc", "average_precision", "accuracy", "balanced_accuracy"]
    scorers = make_scorers(names, task_type="classification", n_classes=3)
    expected = {m: float(s(pipe, frame.iloc[150:], y[150:])) for m, s in scorers.items()}
    p = predict_for_evaluation(pipe, frame.iloc[150:], y[150:])
    assert p.pos_label is None
    assert score_predictions(p, names) == pytest.approx(expected, abs=1e-12)

    truth = np.array([1.0, 2.0, 4.0, 0.0])
    pred = np.array([1.5, 2.0, 3.0, 0.5])
    regression = Predictions("regression", truth, pred, None, (), None, False)
    got = score_predictions(regression, ["mae", "rmse", "r2", "mape"])
    assert got["mae"] == pytest.approx(0.5)
    assert got["rmse"] == pytest.approx(math.sqrt((0.25 + 0 + 1 + 0.25) / 4))
    assert got["r2"] == pytest.approx(1 - 1.5 / 8.75)
    eps = np.finfo(np.float64).eps
    assert got["mape"] == pytest.approx((0.5 / 1 + 0 + 0.25 + 0.5 / eps) / 4)


def test_binary_ranking_metrics_agree_with_sklearn_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(4, 40))
        truth = rng.random(n) < 0.4
        if truth.all() or not truth.any():
            continue
        scores = np.round(rng.random(n), 1)  # many ties
        p = Predictions(
            "classification", truth, scores >= 0.5, np.column_stack([1 - scores, scores]), (False, True), True, True
        )
        got = score_predictions(p, ["roc_auc", "average_precision"])
        assert got["roc_auc"] == pytest.approx(roc_auc_score(truth, scores), abs=1e-12)
        assert got["average_precision"] == pytest.approx(average_precision_score(truth, scores), abs=1e-12)


def test_undefined_metric_is_nan_and_bad_metrics_are_refused():
    p = Predictions(
        "classification", np.array([1, 1]), np.array([1, 0]), np.array([[0.2, 0.8], [0.6, 0.4]]), (0, 1), 1, True
    )
    assert math.isnan(score_predictions(p, ["roc_auc"])["roc_auc"])
    assert score_predictions(p, "recall") == {"recall": 0.5}
    with pytest.raises(InputError) as err:
        score_predictions(p, ["mae"])
    assert err.value.key == "evaluation.metric_wrong_task"
    with pytest.raises(InputError) as err:
        score_predictions(p, ["<script>"])
    assert err.value.key == "evaluation.unknown_metric"
    with pytest.raises(InputError) as err:
        score_predictions(p, [])
    assert err.value.key == "evaluation.no_metrics"
    labels_only = Predictions("classification", np.array([1, 0]), np.array([1, 0]), None, (0, 1), 1, False)
    with pytest.raises(InputError) as err:
        score_predictions(labels_only, ["roc_auc"])
    assert err.value.key == "evaluation.no_scores"


def test_predict_for_evaluation_bad_inputs():
    X, y = _binary_frame(60)
    model = LogisticRegression().fit(X, y)
    with pytest.raises(InputError) as err:
        predict_for_evaluation(model, X.iloc[:0], y.iloc[:0])
    assert err.value.key == "evaluation.empty"
    with pytest.raises(InputError) as err:
        predict_for_evaluation(model, X, y.iloc[:10])
    assert err.value.key == "evaluation.length_mismatch"
    with pytest.raises(InputError) as err:
        predict_for_evaluation(model, X, y.where(y.index > 3))
    assert err.value.key == "evaluation.truth_missing"
    with pytest.raises(InputError) as err:
        predict_for_evaluation(model, X, y, pos_label="maybe")
    assert err.value.key == "evaluation.bad_pos_label"
    # one class present and no 1/True class: the positive class must be named
    with pytest.raises(InputError) as err:
        predict_for_evaluation(model, X.iloc[:5], ["stay"] * 5)
    assert err.value.key == "evaluation.pos_label_needed"
    assert predict_for_evaluation(model, X.iloc[:5], ["stay"] * 5, pos_label="leave").pos_label == "leave"


def test_predictions_regression_and_subset():
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]})
    model = LinearRegression().fit(X, [1.0, 3.0, 5.0, 7.0])
    p = predict_for_evaluation(model, X, [1.0, 3.0, 5.0, 8.0])
    assert p.task_type == "regression" and p.scores is None
    assert score_predictions(p.subset([0, 1, 2]), ["mae"])["mae"] == pytest.approx(0.0, abs=1e-12)
    assert len(p.subset(np.array([True, False, True, False]))) == 2


# ----------------------------------------------------------------------------- which runs may be compared


def _run(run_id: str, **changes: str) -> RunDescriptor:
    values = {
        "run_id": run_id,
        "target": "churned",
        "task_type": "classification",
        "dataset_version_id": "v3",
        "lineage_root": "v1",
        "folds_signature": "abc",
    }
    values.update(changes)
    return RunDescriptor(**values)


def test_runs_on_different_targets_tasks_or_lineages_are_refused_with_a_reason():
    base = _run("May run")
    cases = {
        "evaluation.compare.different_target": _run("June run", target="revenue"),
        "evaluation.compare.different_task": _run("June run", task_type="regression"),
        "evaluation.compare.different_lineage": _run("June run", lineage_root="other"),
    }
    for key, other in cases.items():
        with pytest.raises(InputError) as err:
            check_comparable([base, other])
        assert err.value.key == key
        for lang in ("en", "es"):
            text = err.value.message(lang)
            assert "May run" in text and "June run" in text and "{" not in text
    with pytest.raises(InputError) as err:
        check_comparable([])
    assert err.value.key == "evaluation.compare.no_runs"


def test_runs_on_other_versions_or_folds_are_ranked_but_not_paired():
    assert check_comparable([_run("a"), _run("b")]).paired
    version = check_comparable([_run("a"), _run("b", dataset_version_id="v4")])
    assert not version.paired and version.reason_key == "evaluation.compare.not_paired_version"
    folds = check_comparable([_run("a"), _run("b", folds_signature="xyz")])
    assert not folds.paired and "b" in folds.message("es")


def test_folds_signature_depends_only_on_fold_settings():
    config = {"scheme": "stratified_kfold", "n_splits": 5, "random_state": 0, "task_type": "classification"}
    same = folds_signature({**config, "families": ["dummy"], "metrics": ["f1"]})
    assert folds_signature(config) == same
    assert folds_signature({**config, "n_splits": 3}) != same
    with pytest.raises(InputError):
        folds_signature(["not", "a", "mapping"])  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- leaderboard


def test_leaderboard_hand_computed_ranks_by_direction():
    a = CandidateFolds("forest", "random_forest", {"mae": (1.0, 3.0), "r2": (0.5, 0.7)})
    b = CandidateFolds("ridge", "ridge", {"mae": (2.0, 2.0), "r2": (0.6, 0.6)})
    c = CandidateFolds("baseline", "dummy", {"mae": (5.0, 3.0), "r2": (0.0, 0.0)})
    board = leaderboard([c, b, a], metric="mae")
    table = board.table
    assert list(table["name"]) == ["ridge", "forest", "baseline"]  # a tie keeps the input order
    assert list(table["rank"]) == [1, 1, 3]  # forest and ridge tie on MAE 2.0
    assert table.loc[table["name"] == "forest", "mae_std"].item() == pytest.approx(1.0)  # population std
    assert table.loc[table["name"] == "baseline", "baseline"].item()
    assert list(table["margin"]) == pytest.approx([2.0, 2.0, 0.0])  # MAE 4 -> 2: 2 better
    assert board.metrics == ("mae", "r2") and board.direction == "lower"
    assert board.baseline == "baseline"
    assert len(board.folds) == 3 * 2 * 2
    assert set(board.folds.columns) == {"name", "family", "baseline", "fold", "metric", "value"}
    by_r2 = leaderboard([c, b, a], metric="r2").table
    assert list(by_r2["name"]) == ["ridge", "forest", "baseline"]
    assert list(by_r2["rank"]) == [1, 1, 3]


def test_leaderboard_missing_score_ranks_last_and_names_are_unique():
    a = CandidateFolds("m", "knn", {"roc_auc": (float("nan"), 0.9)})
    b = CandidateFolds("m", "logistic_regression", {"roc_auc": (0.6, 0.7)})
    board = leaderboard([a, b])
    assert list(board.table["name"]) == ["m (2)", "m"]
    assert list(board.table["rank"]) == [1, 2]
    assert math.isnan(board.table["margin"].iloc[0])  # no baseline


def test_leaderboard_bad_inputs():
    with pytest.raises(InputError) as err:
        leaderboard([])
    assert err.value.key == "evaluation.leaderboard.empty"
    a = CandidateFolds("a", "knn", {"roc_auc": (0.8,)})
    with pytest.raises(InputError) as err:
        leaderboard([a], metric="f1")
    assert err.value.key == "evaluation.leaderboard.metric_missing"
    with pytest.raises(InputError) as err:
        leaderboard([a], metric="speed")
    assert err.value.key == "evaluation.unknown_metric"
    with pytest.raises(InputError) as err:
        leaderboard([{"roc_auc": 0.8}])  # type: ignore[list-item]
    assert err.value.key == "evaluation.leaderboard.bad_candidate"


@pytest.fixture(scope="module")
def trained():
    X, y = _binary_frame(150, seed=4)
    with threadpool_limits(1):
        return train_candidates(
            X,
            y,
            task_type="classification",
            roles=dict.fromkeys(X.columns, "numeric"),
            families=["dummy", "logistic_regression", "decision_tree"],
            metrics=["roc_auc", "f1"],
            n_splits=4,
            refit=False,
        )


def test_leaderboard_and_comparisons_from_training_results(trained):
    board = leaderboard(trained)
    assert board.metric == "roc_auc"
    assert board.table["name"].iloc[-1] == "dummy" and board.table["baseline"].iloc[-1]
    first = board.candidate(board.best)
    assert first.train_rows and len(first.train_rows) == 4
    assert board.table["roc_auc_mean"].iloc[0] == pytest.approx(np.mean(first.folds["roc_auc"]))
    comparisons = compare_top(board, top=2)
    assert [c.worse for c in comparisons][-1] == "dummy"
    versus_dummy = comparisons[-1]
    assert versus_dummy.better == board.best and versus_dummy.significant
    assert versus_dummy.verdict_key == "evaluation.compare.verdict.real"
    assert compare_top(trained, top=3, versus_baseline=False)[0].better == board.best
    with pytest.raises(InputError):
        compare_top(board, top=1)


# ----------------------------------------------------------------------------- corrected resampled t-test


def test_ttest_hand_computed_statistic():
    d = np.array([0.01, 0.02, 0.03, 0.02, 0.02])
    result = corrected_resampled_ttest(d, n_train=[80] * 5, n_test=[20] * 5)
    # mean 0.02, sample variance 5e-5, corrected by (1/5 + 20/80) = 0.45 -> sd sqrt(2.25e-5)
    assert result.t_statistic == pytest.approx(0.02 / math.sqrt(0.45 * 5e-5))
    assert result.df == 4 and result.test_train_ratio == pytest.approx(0.25)
    assert result.p_value == pytest.approx(2 * stats.t.sf(result.t_statistic, 4))
    # without the correction (plain paired t-test) p is smaller: the correction is conservative
    plain = stats.ttest_1samp(d, 0.0).pvalue
    assert plain < result.p_value


def test_ttest_known_answers():
    same = corrected_resampled_ttest(np.zeros(5), n_train=80, n_test=20)
    assert same.t_statistic == 0.0 and same.p_value == 1.0
    gap = corrected_resampled_ttest([0.20, 0.21, 0.19, 0.22, 0.20], n_train=80, n_test=20)
    assert gap.p_value < 0.001
    constant = corrected_resampled_ttest([0.1] * 4, n_train=75, n_test=25)
    assert constant.p_value == 0.0 and math.isinf(constant.t_statistic)
    noisy = corrected_resampled_ttest([0.05, -0.04, 0.03, -0.05, 0.02], n_train=80, n_test=20)
    assert noisy.p_value > 0.5
    mirrored = corrected_resampled_ttest([-0.01, -0.02, -0.03, -0.02, -0.02], n_train=80, n_test=20)
    assert mirrored.p_value == pytest.approx(
        corrected_resampled_ttest([0.01, 0.02, 0.03, 0.02, 0.02], n_train=80, n_test=20).p_value
    )


@pytest.mark.parametrize(
    ("differences", "n_train", "key"),
    [
        ([0.1], 80, "evaluation.compare.too_few_folds"),
        ([0.1, float("nan")], 80, "evaluation.not_finite"),
        ([0.1, 0.2], 0, "evaluation.compare.bad_rows"),
        ([], 80, "evaluation.empty"),
    ],
)
def test_ttest_bad_inputs(differences, n_train, key):
    with pytest.raises(InputError) as err:
        corrected_resampled_ttest(differences, n_train=n_train, n_test=20)
    assert err.value.key == key


def test_compare_candidates_verdicts_in_both_languages():
    rows = {"train_rows": (80,) * 5, "test_rows": (20,) * 5}
    good = CandidateFolds("Forest", "random_forest", {"roc_auc": (0.90, 0.91, 0.89, 0.92, 0.90)}, **rows)
    bad = CandidateFolds("Tree", "decision_tree", {"roc_auc": (0.70, 0.70, 0.69, 0.71, 0.70)}, **rows)
    real = compare_candidates(bad, good, metric="roc_auc")
    assert (real.better, real.worse, real.significant) == ("Forest", "Tree", True)
    assert real.verdict("en") == "Forest is better than Tree on ROC AUC; the difference is probably real (p < 0.001)."
    assert real.verdict("es") == "Forest es mejor que Tree en ROC AUC; la diferencia probablemente es real (p < 0,001)."
    close = CandidateFolds("Boost", "hist_gradient_boosting", {"roc_auc": (0.91, 0.88, 0.90, 0.89, 0.91)}, **rows)
    chance = compare_candidates(good, close, metric="roc_auc")
    assert chance.verdict_key == "evaluation.compare.verdict.chance"
    assert "could be chance" in chance.verdict("en") and "azar" in chance.verdict("es")
    tie = compare_candidates(good, CandidateFolds("Copy", "random_forest", good.folds, **rows), metric="roc_auc")
    assert tie.verdict_key == "evaluation.compare.verdict.tie" and tie.test.p_value == 1.0


def test_compare_candidates_lower_is_better_and_fold_checks():
    rows = {"train_rows": (8, 8, 8), "test_rows": (4, 4, 4)}
    a = CandidateFolds("A", "ridge", {"mae": (1.0, 1.1, 0.9)}, **rows)
    b = CandidateFolds("B", "lasso", {"mae": (2.0, 2.2, 1.9)}, **rows)
    assert compare_candidates(b, a, metric="mae").better == "A"
    with pytest.raises(InputError) as err:
        compare_candidates(a, CandidateFolds("C", "lasso", {"mae": (1.0, 2.0)}, (8, 8), (4, 4)), metric="mae")
    assert err.value.key == "evaluation.compare.fold_mismatch"
    with pytest.raises(InputError) as err:
        compare_candidates(
            a, CandidateFolds("C", "lasso", {"mae": (1.0, 2.0, 3.0)}, (9, 8, 8), (3, 4, 4)), metric="mae"
        )
    assert err.value.key == "evaluation.compare.fold_mismatch"
    with pytest.raises(InputError) as err:
        compare_candidates(a, CandidateFolds("C", "lasso", {"mae": (1.0, 2.0, 3.0)}), metric="mae")
    assert err.value.key == "evaluation.compare.rows_unknown"
    with pytest.raises(InputError) as err:
        compare_candidates(a, b, metric="mae", alpha=1.5)
    assert err.value.key == "evaluation.compare.bad_alpha"
    one = CandidateFolds("H", "ridge", {"mae": (1.0,)}, (8,), (2,))
    with pytest.raises(InputError) as err:
        compare_candidates(one, CandidateFolds("I", "ridge", {"mae": (2.0,)}, (8,), (2,)), metric="mae")
    assert err.value.key == "evaluation.compare.too_few_folds"


def test_leaderboard_for_twenty_runs_is_fast():
    import time

    rng = np.random.default_rng(0)
    runs = [
        CandidateFolds(f"run {i}", "random_forest", {m: tuple(rng.random(5)) for m in ("roc_auc", "f1", "recall")})
        for i in range(20)
    ]
    start = time.perf_counter()
    board = leaderboard(runs)
    assert isinstance(board, Leaderboard) and len(board.table) == 20
    assert time.perf_counter() - start < 1.0


# ----------------------------------------------------------------------------- curves

Y = [0, 0, 1, 1, 0, 1, 1, 0]
S = [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.6, 0.2]


def test_roc_curve_matches_sklearn_and_hand_case():
    curve = roc_curve_frame(Y, S, max_points=None)
    fpr, tpr, thresholds = roc_curve(Y, S, drop_intermediate=False)
    assert curve.frame["false_positive_rate"].tolist() == pytest.approx(fpr.tolist())
    assert curve.frame["true_positive_rate"].tolist() == pytest.approx(tpr.tolist())
    assert curve.frame["threshold"].iloc[1:].tolist() == pytest.approx(thresholds[1:].tolist())
    assert curve.summary == pytest.approx(roc_auc_score(Y, S))
    small = roc_curve_frame([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert small.summary == 0.75  # 3 of the 4 (positive, negative) pairs ordered correctly
    assert (curve.x, curve.y, curve.kind) == ("false_positive_rate", "true_positive_rate", "roc")
    assert curve.reference.values.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    # decision values (not probabilities) are fine for ROC
    assert roc_curve_frame(Y, np.asarray(S) * 10 - 5).summary == pytest.approx(curve.summary)


def test_precision_recall_and_gains_hand_cases():
    pr = precision_recall_frame(Y, S)
    assert pr.summary == pytest.approx(average_precision_score(Y, S))
    assert pr.reference["precision"].tolist() == [0.5, 0.5]
    assert pr.frame["recall"].is_monotonic_increasing
    gains = cumulative_gains_frame([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1])
    assert gains.frame[["share_of_rows", "share_of_positives"]].values.tolist() == [
        [0.0, 0.0],
        [0.25, 0.5],
        [0.5, 0.5],
        [0.75, 1.0],
        [1.0, 1.0],
    ]
    assert gains.frame["lift"].iloc[1] == pytest.approx(2.0)  # half the positives in a quarter of the rows
    tied = cumulative_gains_frame([1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5])
    assert tied.frame["share_of_rows"].tolist() == [0.0, 1.0]  # ties are taken together


def test_calibration_matches_sklearn():
    rng = np.random.default_rng(0)
    probabilities = rng.random(500)
    truth = rng.random(500) < probabilities
    curve = calibration_curve_frame(truth, probabilities, n_bins=5)
    prob_true, prob_pred = calibration_curve(truth, probabilities, n_bins=5)
    assert curve.frame["fraction_positive"].tolist() == pytest.approx(prob_true.tolist())
    assert curve.frame["mean_predicted"].tolist() == pytest.approx(prob_pred.tolist())
    assert curve.frame["count"].sum() == 500
    assert curve.summary == pytest.approx(np.mean((probabilities - truth) ** 2))
    quantile = calibration_curve_frame(truth, probabilities, n_bins=4, strategy="quantile")
    assert quantile.frame["count"].tolist() == [125.0] * 4
    # one class is fine for calibration (it is about the probabilities)
    assert calibration_curve_frame([0, 0], [0.1, 0.3], pos_label=1).frame["fraction_positive"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("function", [roc_curve_frame, precision_recall_frame, cumulative_gains_frame])
def test_curves_refuse_bad_inputs(function):
    cases = [
        (([1, 1, 1], [0.2, 0.5, 0.9]), "evaluation.single_class"),
        (([0, 1, 1], [0.2, float("nan"), 0.9]), "evaluation.not_finite"),
        (([0, 1, 1], [0.2, 0.9]), "evaluation.length_mismatch"),
        (([0, 1, 2], [0.2, 0.5, 0.9]), "evaluation.not_binary"),
        (([], []), "evaluation.empty"),
        (([0, 1], ["a", "b"]), "evaluation.not_numbers"),
        (([0, None, 1], [0.1, 0.2, 0.3]), "evaluation.truth_missing"),
    ]
    for args, key in cases:
        with pytest.raises(InputError) as err:
            function(*args)
        assert err.value.key == key, (args, err.value.key)
        assert "{" not in err.value.message("es")


def test_calibration_and_thresholds_need_probabilities():
    with pytest.raises(InputError) as err:
        calibration_curve_frame([0, 1], [-2.0, 3.0])
    assert err.value.key == "evaluation.scores_not_probabilities"
    with pytest.raises(InputError) as err:
        metrics_at_threshold([0, 1], [-2.0, 3.0], 0.5)
    assert err.value.key == "evaluation.scores_not_probabilities"
    with pytest.raises(InputError) as err:
        calibration_curve_frame([0, 1], [0.2, 0.3], n_bins=0)
    assert err.value.key == "evaluation.bad_bins"
    with pytest.raises(InputError) as err:
        calibration_curve_frame([0, 1], [0.2, 0.3], strategy="log")  # type: ignore[arg-type]
    assert err.value.key == "evaluation.bad_strategy"


def test_confusion_frame_hand_case_and_thinning():
    frame = confusion_frame(["a", "b", "b", "c"], ["a", "a", "b", "b"])
    cell = frame.set_index(["actual", "predicted"])["count"]
    assert cell[("b", "a")] == 1 and cell[("c", "c")] == 0 and cell[("c", "b")] == 1
    assert len(frame) == 9 and frame["count"].sum() == 4
    rng = np.random.default_rng(1)
    big = roc_curve_frame(rng.random(5000) < 0.5, rng.random(5000), max_points=100)
    assert len(big.frame) <= 100 and big.frame["true_positive_rate"].iloc[-1] == 1.0


def test_regression_frames_hand_cases():
    points = regression_points([3.0, 5.0, 1.0], [2.5, 6.0, 1.0])
    assert points["residual"].tolist() == [0.5, -1.0, 0.0]
    sample = regression_points(np.arange(100.0), np.arange(100.0) + 1, max_points=10)
    assert len(sample) == 10 and (sample["residual"] == -1.0).all()
    table = error_by_range([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 2.0, 6.0], n_bins=2)
    assert table[["count", "mae", "rmse", "mean_residual"]].values.tolist() == [
        [2.0, 0.0, 0.0, 0.0],
        [2.0, 1.5, math.sqrt(2.5), -0.5],
    ]
    assert error_by_range([5.0, 5.0, 5.0], [4.0, 5.0, 6.0])["count"].tolist() == [3.0]
    with pytest.raises(InputError) as err:
        regression_points([1.0, float("nan")], [1.0, 2.0])
    assert err.value.key == "evaluation.not_finite"
    with pytest.raises(InputError) as err:
        error_by_range([1.0, 2.0], [1.0])
    assert err.value.key == "evaluation.length_mismatch"


# ----------------------------------------------------------------------------- threshold and cost

TRUTH = [1, 1, 0, 0, 1, 0, 0, 0, 1, 0]
PROBS = [0.95, 0.85, 0.8, 0.6, 0.55, 0.4, 0.3, 0.2, 0.15, 0.05]


def test_metrics_at_threshold_hand_computed():
    m = metrics_at_threshold(TRUTH, PROBS, 0.5, cost_false_positive=2, cost_false_negative=10)
    # flagged: 0.95 (1), 0.85 (1), 0.8 (0), 0.6 (0), 0.55 (1) -> TP 3, FP 2; missed: 0.15 (1) -> FN 1; TN 4
    assert (m.true_positives, m.false_positives, m.true_negatives, m.false_negatives) == (3, 2, 4, 1)
    assert m.precision == pytest.approx(3 / 5)
    assert m.recall == pytest.approx(3 / 4)
    assert m.f1 == pytest.approx(2 * 3 / (2 * 3 + 2 + 1))
    assert m.accuracy == pytest.approx(7 / 10)
    assert m.selection_rate == pytest.approx(0.5)
    assert m.specificity == pytest.approx(4 / 6)
    assert m.false_positive_rate == pytest.approx(2 / 6)
    assert m.cost == 2 * 2 + 1 * 10 and m.cost_per_row == pytest.approx(1.4)
    assert m.confusion_frame()["count"].tolist() == [3, 1, 2, 4]
    # a score equal to the threshold is flagged
    assert metrics_at_threshold(TRUTH, PROBS, 0.55).true_positives == 3
    nothing = metrics_at_threshold(TRUTH, PROBS, 1.0)
    assert nothing.precision == 0.0 and nothing.selection_rate == 0.0 and nothing.cost is None


@pytest.mark.parametrize("threshold", [-0.1, 1.5, float("nan"), "0.5", True, None])
def test_threshold_outside_0_1_is_refused(threshold):
    with pytest.raises(InputError) as err:
        metrics_at_threshold(TRUTH, PROBS, threshold)
    assert err.value.key == "evaluation.threshold_out_of_range"


def test_cost_inputs_are_checked():
    with pytest.raises(InputError) as err:
        metrics_at_threshold(TRUTH, PROBS, 0.5, cost_false_positive=1)
    assert err.value.key == "evaluation.cost.incomplete"
    with pytest.raises(InputError) as err:
        metrics_at_threshold(TRUTH, PROBS, 0.5, cost_false_positive=-1, cost_false_negative=1)
    assert err.value.key == "evaluation.cost.bad_value"
    assert canvas_costs(Canvas(task_type="classification", cost_false_positive=5, cost_false_negative=50)) == (
        5.0,
        50.0,
    )
    with pytest.raises(InputError) as err:
        canvas_costs(Canvas(task_type="classification", cost_false_positive=5))
    assert err.value.key == "evaluation.cost.missing_in_canvas"


def test_threshold_table_agrees_with_metrics_at_threshold():
    table = threshold_table(TRUTH, PROBS, cost_false_positive=2, cost_false_negative=10)
    assert table["threshold"].is_monotonic_increasing
    assert table["threshold"].tolist()[-1] == 1.0 and len(table) == len(PROBS) + 1
    assert table["recall"].is_monotonic_decreasing and table["selection_rate"].is_monotonic_decreasing
    for row in table.itertuples():
        single = metrics_at_threshold(TRUTH, PROBS, row.threshold, cost_false_positive=2, cost_false_negative=10)
        assert (single.true_positives, single.false_positives, single.cost) == (
            row.true_positives,
            row.false_positives,
            row.cost,
        )
    assert len(threshold_table(TRUTH, PROBS, max_rows=4)) == 4


def test_minimum_cost_threshold_hand_computed():
    # FN cost 10, FP cost 2: flag down to 0.15 (all 4 positives, FP = 6 - 1 = 5 above 0.05) -> cost 10;
    # stopping at 0.55 misses one positive (cost 10) plus 2 FP (4) -> 14; at 0.05 flags all: 6 FP -> 12.
    choice = minimum_cost_threshold(TRUTH, PROBS, cost_false_positive=2, cost_false_negative=10)
    assert choice.met and choice.threshold == 0.15 and choice.metrics.cost == 10.0
    assert "0.15" in choice.message("en") and "0,15" in choice.message("es")
    # expensive false alarms: flag only the two surest
    cautious = minimum_cost_threshold(TRUTH, PROBS, cost_false_positive=10, cost_false_negative=1)
    assert cautious.threshold == 0.85 and cautious.metrics.cost == 2.0
    # ties go to the highest threshold: with no costs every threshold costs 0
    free = minimum_cost_threshold(TRUTH, PROBS, cost_false_positive=0, cost_false_negative=0)
    assert free.threshold == 1.0


def test_threshold_for_constraint_hand_computed():
    met = threshold_for_constraint(TRUTH, PROBS, constraint="precision", bound=0.6, maximize="recall")
    # precision >= 0.6 at 0.55 (3/5, recall 3/4) and at 0.85 (2/2, recall 1/2); recall is highest at 0.55
    assert met.met and met.threshold == 0.55 and met.metrics.recall == 0.75
    assert met.reason_key == "evaluation.threshold.constraint_met"
    strict = threshold_for_constraint(TRUTH, PROBS, constraint="precision", bound=1.0)
    assert strict.threshold == 0.85 and strict.metrics.recall == 0.5
    at_most = threshold_for_constraint(TRUTH, PROBS, constraint="selection_rate", bound=0.3, maximize="recall")
    # at 0.8 (3 flagged) and 0.85 (2 flagged) recall is 2/4: the tie goes to the higher threshold
    assert at_most.threshold == 0.85 and at_most.metrics.selection_rate == pytest.approx(0.2)
    recall = threshold_for_constraint(TRUTH, PROBS, constraint="recall", bound=1.0, maximize="precision")
    assert recall.threshold == 0.15 and recall.metrics.precision == pytest.approx(4 / 9)


def test_threshold_constraint_that_cannot_be_met_says_so():
    truth = [0, 1, 0, 1]
    probs = [0.9, 0.8, 0.7, 0.1]
    choice = threshold_for_constraint(truth, probs, constraint="precision", bound=0.9)
    assert not choice.met and choice.reason_key == "evaluation.threshold.cannot_be_met"
    assert choice.params["best"] == pytest.approx(0.5)  # at 0.8: 1 of 2 flagged is positive
    assert choice.threshold == 0.1 or choice.threshold == 0.8
    for lang in ("en", "es"):
        text = choice.message(lang)
        assert "{" not in text and ("0.9" in text or "0,9" in text)
    with pytest.raises(InputError) as err:
        threshold_for_constraint(truth, probs, constraint="speed", bound=0.5)
    assert err.value.key == "evaluation.threshold.unknown_measure"
    with pytest.raises(InputError) as err:
        threshold_for_constraint(truth, probs, constraint="precision", bound=1.2)
    assert err.value.key == "evaluation.threshold.bad_bound"


def test_threshold_functions_with_string_labels_and_one_class():
    labels = ["yes" if t else "no" for t in TRUTH]
    assert metrics_at_threshold(labels, PROBS, 0.5, pos_label="yes").true_positives == 3
    only_negatives = metrics_at_threshold(["no"] * 3, [0.2, 0.6, 0.7], 0.5, pos_label="yes")
    assert only_negatives.false_positives == 2 and only_negatives.recall == 0.0
    with pytest.raises(InputError) as err:
        metrics_at_threshold(["no"] * 3, [0.2, 0.6, 0.7], 0.5)
    assert err.value.key == "evaluation.single_class"
    with pytest.raises(InputError) as err:
        metrics_at_threshold(["a", "b", "c"], [0.2, 0.6, 0.7], 0.5, pos_label="a")
    assert err.value.key == "evaluation.not_binary"


def test_every_message_key_exists_in_both_languages():
    import re
    from pathlib import Path

    from mlcore.i18n import catalog

    root = Path(__file__).resolve().parents[2] / "mlcore" / "modeling"
    source = "".join(
        (root / name).read_text(encoding="utf-8") for name in ("evaluation.py", "stress.py", "decision.py")
    )
    keys = set(re.findall(r'"(evaluation\.[a-z0-9_.]+[a-z0-9_])"', source))
    assert keys
    for lang in ("en", "es"):
        missing = sorted(k for k in keys if k not in catalog(lang))
        assert missing == [], lang
    assert translate("evaluation.compare.verdict.real", "es") != translate("evaluation.compare.verdict.real", "en")


def test_linear_svm_predictions_have_no_probabilities():
    X, y = _binary_frame(80)
    model = LinearSVC().fit(X, y)
    p = predict_for_evaluation(model, X, y)
    assert not p.probabilities and p.scores is not None
    assert list(p.y_pred) == list(model.predict(X))
    assert roc_curve_frame(p.y_true, p.positive_scores, pos_label=p.pos_label).summary > 0.5


def test_predictions_at_threshold_feed_fairness_and_slices():
    X, y = _binary_frame(120)
    model = LogisticRegression().fit(X, y)
    p = predict_for_evaluation(model, X, y, pos_label="leave")
    default = p.at_threshold(0.5)
    assert list(default.y_pred) == list(model.predict(X))
    strict = p.at_threshold(0.9)
    flagged = strict.y_pred == "leave"
    assert flagged.sum() == (p.positive_scores >= 0.9).sum() and set(strict.y_pred) <= {"leave", "stay"}
    assert score_predictions(strict, ["precision"])["precision"] == pytest.approx(
        metrics_at_threshold(p.y_true, p.positive_scores, 0.9, pos_label="leave").precision
    )
    with pytest.raises(InputError) as err:
        p.at_threshold(2.0)
    assert err.value.key == "evaluation.threshold_out_of_range"
    svm = predict_for_evaluation(LinearSVC().fit(X, y), X, y)
    with pytest.raises(InputError) as err:
        svm.at_threshold(0.5)
    assert err.value.key == "evaluation.needs_probabilities"
    ints = Predictions(
        "classification", np.array([0, 1]), np.array([0, 0]), np.array([[0.4, 0.6], [0.8, 0.2]]), (0, 1), 1, True
    )
    assert ints.at_threshold(0.5).y_pred.tolist() == [1, 0] and ints.at_threshold(0.5).y_pred.dtype == ints.y_pred.dtype
