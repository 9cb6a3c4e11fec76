"""Label review: confident learning finds planted label errors, bad inputs say what to do,
decisions apply without touching the original, reviewers are compared, annotation is ordered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from mlcore.data.labeling import (
    COMMENT_MAX_CHARS,
    MAX_CLASSES,
    LabelDecision,
    apply_label_decisions,
    cv_metric_before_after,
    decision_agreement,
    default_model,
    feature_roles,
    find_label_issues,
    label_quality_summary,
    suggest_annotation_order,
)
from mlcore.data.synthetic import make_churn
from mlcore.errors import InputError
from mlcore.i18n import translate

ROWS, FLIP_SHARE = 3000, 0.08


def _precision_recall(flagged: pd.Series, truth: pd.Series) -> tuple[float, float]:
    hits = int((flagged & truth).sum())
    return hits / max(int(flagged.sum()), 1), hits / int(truth.sum())


@pytest.fixture(scope="module")
def three_classes() -> tuple[pd.DataFrame, pd.Series, pd.Series, pd.Series]:
    """Features, clean labels, labels with 8% flipped to another class, and which were flipped."""
    X, y = make_classification(
        ROWS, n_features=10, n_informative=6, n_classes=3, class_sep=1.5, flip_y=0.0, random_state=0
    )
    rng = np.random.default_rng(0)
    flipped_rows = rng.choice(ROWS, int(FLIP_SHARE * ROWS), replace=False)
    noisy = y.copy()
    noisy[flipped_rows] = (noisy[flipped_rows] + rng.integers(1, 3, len(flipped_rows))) % 3
    names = np.array(["bird", "cat", "dog"], dtype=object)
    # A non-default index, so that alignment by label (not position) is exercised.
    index = pd.Index(np.arange(ROWS) * 10 + 7, name="row")
    flipped = pd.Series(False, index=index)
    flipped.iloc[flipped_rows] = True
    return (
        pd.DataFrame(X, index=index).add_prefix("x"),
        pd.Series(names[y], index=index, name="animal"),
        pd.Series(names[noisy], index=index, name="animal"),
        flipped,
    )


@pytest.fixture(scope="module")
def noisy_issues(three_classes):
    X, _, noisy, _ = three_classes
    return find_label_issues(X, noisy)


# ----------------------------------------------------------------------------- detection


def test_finds_flipped_labels_with_good_precision_and_recall(three_classes, noisy_issues):
    _, _, _, flipped = three_classes
    precision, recall = _precision_recall(noisy_issues.is_issue, flipped)
    # Measured 0.79 / 0.90 with the default model.
    assert precision >= 0.65 and recall >= 0.8, (precision, recall)
    # Most of the top of the ranking are real errors.
    top = noisy_issues.ranked.index[: int(flipped.sum()) // 2]
    assert flipped[top].mean() >= 0.9


def test_flags_few_rows_on_clean_labels(three_classes):
    X, clean, _, _ = three_classes
    issues = find_label_issues(X, clean)
    assert issues.is_issue.mean() < 0.03
    assert (issues.noise_rate < 0.15).all()


def test_result_invariants(three_classes, noisy_issues):
    X, _, noisy, _ = three_classes
    issues = noisy_issues
    ranked = issues.ranked
    assert issues.classes == ("bird", "cat", "dog")
    assert sorted(ranked.index) == sorted(X.index) and issues.is_issue.index.equals(X.index)
    assert {"score", "given_label", "suggested_label", "self_confidence", "margin", "reason"} <= set(ranked.columns)
    assert ranked["given_label"].reindex(X.index).equals(noisy.rename("given_label").astype(object))
    assert issues.n_issues == int(ranked["is_issue"].sum()) == int(issues.is_issue.sum())
    assert ranked["is_issue"].reindex(X.index).equals(issues.is_issue.rename("is_issue"))
    # Flagged rows first, each group most suspicious first.
    flags = ranked["is_issue"].to_numpy()
    assert flags[: issues.n_issues].all() and not flags[issues.n_issues :].any()
    for _, group in ranked.groupby("is_issue"):
        assert group["score"].is_monotonic_decreasing
    assert ranked["score"].between(0, 1).all() and ranked["margin"].between(-1, 1).all()
    assert np.allclose(ranked["score"], (1 - ranked["margin"]) / 2)
    flagged = ranked[ranked["is_issue"]]
    assert (flagged["suggested_label"] != flagged["given_label"]).all() and (flagged["margin"] < 0).all()
    assert flagged["reason"].isin(["labeling.reason.confident_other", "labeling.reason.prefers_other"]).all()
    assert (
        ranked["reason"].map(lambda key: translate(key, "es", given="a", suggested="b", probability="3%") != key).all()
    )
    # Probabilities: out-of-fold, one column per class, rows sum to one.
    probabilities = issues.probabilities
    assert list(probabilities.columns) == list(issues.classes) and probabilities.index.equals(X.index)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    own = probabilities.to_numpy()[np.arange(len(X)), pd.Index(issues.classes).get_indexer(noisy)]
    assert np.allclose(own, ranked["self_confidence"].reindex(X.index))
    # Thresholds are mean self-confidences; the calibrated joint's rows add up to the class counts.
    for cls in issues.classes:
        assert issues.thresholds[cls] == pytest.approx(probabilities.loc[noisy == cls, cls].mean())
    counts = noisy.value_counts().reindex(issues.classes)
    assert np.allclose(issues.confident_joint.sum(axis=1), counts)
    diagonal = np.diag(issues.confident_joint.to_numpy())
    assert np.allclose(issues.noise_rate, 1 - diagonal / counts.to_numpy())
    assert issues.noise_rate.between(0, 1).all()


def test_label_quality_summary_adds_up(noisy_issues):
    summary = label_quality_summary(noisy_issues)
    assert list(summary.index) == [*noisy_issues.classes, "all"]
    per_class = summary.drop(index="all")
    assert per_class["rows"].sum() == summary.loc["all", "rows"] == len(noisy_issues.ranked)
    assert per_class["flagged"].sum() == summary.loc["all", "flagged"] == noisy_issues.n_issues
    moved = per_class[[f"suggested_{c}" for c in noisy_issues.classes]]
    assert (moved.sum(axis=1) == per_class["flagged"]).all()
    assert all(moved.loc[c, f"suggested_{c}"] == 0 for c in noisy_issues.classes)
    assert per_class["estimated_noise_rate"].equals(noisy_issues.noise_rate.rename("estimated_noise_rate"))


def test_progress_is_reported_per_fold_and_ends_at_one(three_classes):
    X, _, noisy, _ = three_classes
    calls: list[tuple[float, str]] = []
    find_label_issues(X.iloc[:600], noisy.iloc[:600], cv=3, progress=lambda share, key: calls.append((share, key)))
    shares = [share for share, _ in calls]
    assert len(calls) == 3 + 2 and shares == sorted(shares) and shares[0] == 0.0 and shares[-1] == 1.0
    assert all(translate(key) != key for _, key in calls)


def test_labels_in_another_order_are_aligned_and_a_custom_model_is_used(three_classes):
    X, _, noisy, _ = three_classes
    X, noisy = X.iloc[:900], noisy.iloc[:900]
    shuffled = noisy.sample(frac=1.0, random_state=1)
    issues = find_label_issues(X, shuffled, model=LogisticRegression(max_iter=500), cv=3)
    assert issues.ranked["given_label"].reindex(X.index).equals(noisy.rename("given_label").astype(object))


def test_the_same_inputs_give_the_same_result_sequential_or_in_parallel(three_classes):
    X, _, noisy, _ = three_classes
    first = find_label_issues(X.iloc[:600], noisy.iloc[:600], cv=3, random_state=3)
    second = find_label_issues(X.iloc[:600], noisy.iloc[:600], cv=3, random_state=3, n_jobs=2)
    pd.testing.assert_frame_equal(first.ranked, second.ranked)


def test_mixed_column_types_are_handled_and_text_is_dropped():
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame(
        {
            "amount": rng.normal(size=n),
            "rare": np.where(np.arange(n) == 5, 1.0, 0.0),
            "mostly_missing": np.where(np.arange(n) < 3, 1.0, np.nan),
            "when": pd.date_range("2020-01-01", periods=n, tz="UTC"),
            "colour": rng.choice(["red", "blue", None], n),
            "mixed": rng.choice(np.array([1, "b", 2.5], dtype=object), n),
            "flag": rng.random(n) < 0.5,
            "customer": [f"C{i:05d}" for i in range(n)],
            "note": [f"customer {i} wrote a long message about the service" for i in range(n)],
            "constant": 1,
        }
    )
    roles = feature_roles(X)
    assert roles == {
        "amount": "numeric",
        "rare": "numeric",
        "mostly_missing": "empty",
        "when": "datetime",
        "colour": "categorical",
        "mixed": "categorical",
        "flag": "categorical",
        "customer": "identifier",
        "note": "text",
        "constant": "empty",
    }
    y = pd.Series(np.where(X["amount"] > 0, "high", "low"))
    issues = find_label_issues(X, y)
    assert issues.probabilities.notna().all().all() and issues.is_issue.mean() < 0.05
    # Integer column names (read as positions by scikit-learn) select the same columns.
    numbered = X.set_axis(range(X.shape[1]), axis=1)
    assert list(feature_roles(numbered).values()) == list(roles.values())
    assert find_label_issues(numbered, y).is_issue.mean() < 0.05


def test_categorical_labels_keep_their_classes_and_ignore_unused_categories(three_classes):
    X, _, noisy, _ = three_classes
    labels = noisy.iloc[:600].astype(pd.CategoricalDtype(["bird", "cat", "dog", "fish"]))
    issues = find_label_issues(X.iloc[:600], labels, cv=3)
    assert issues.classes == ("bird", "cat", "dog")


@pytest.mark.slow
def test_demo_churn_flips_are_found_as_well_as_the_data_allow():
    demo = make_churn(20_000, random_state=42)
    problems = demo.problems
    frame = demo.current
    X = frame.drop(columns=[problems.target, problems.identifier_column, problems.leaky_column])
    flipped = pd.Series(False, index=frame.index)
    flipped.iloc[problems.flipped_labels] = True
    issues = find_label_issues(X, frame[problems.target])
    precision, recall = _precision_recall(issues.is_issue, flipped)
    top = flipped[issues.ranked.index[:500]].mean()
    print(f"demo churn: {issues.n_issues} flagged, precision {precision:.3f}, recall {recall:.3f}, top-500 {top:.3f}")
    # The issue asks for 0.8 / 0.8 on the demo data (whose clean labels follow the features
    # closely, so a flipped label really is a contradiction). Measured: 0.858 / 0.908, top-500 1.0.
    assert precision >= 0.8 and recall >= 0.8
    assert top >= 0.9


# ----------------------------------------------------------------------------- bad input


def _frame(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


def _raises(key: str, call, *args, **kwargs) -> InputError:
    with pytest.raises(InputError) as caught:
        call(*args, **kwargs)
    assert caught.value.key == key
    for lang in ("en", "es"):
        message = caught.value.message(lang)
        assert message != key and "{" not in message, message
    return caught.value


def test_regression_target_is_refused():
    X = _frame(200)
    _raises("labeling.continuous_target", find_label_issues, X, pd.Series(np.linspace(0, 1, 200) ** 2))
    _raises("labeling.continuous_target", find_label_issues, X, pd.Series(np.arange(200) * 3))


def test_a_single_class_is_refused():
    error = _raises("labeling.one_class", find_label_issues, _frame(), pd.Series(["yes"] * 60))
    assert error.params["label"] == "yes"


def test_a_class_smaller_than_the_folds_names_the_class_and_its_size():
    labels = pd.Series(["a"] * 30 + ["b"] * 27 + ["rare"] * 3)
    error = _raises("labeling.class_too_small", find_label_issues, _frame(), labels, cv=5)
    assert error.params == {"label": "rare", "count": 3, "folds": 5}
    assert "rare" in error.message("es") and "3" in error.message("en")
    assert find_label_issues(_frame(), labels, cv=3).n_issues >= 0


def test_too_many_classes_are_refused():
    labels = pd.Series([f"k{i % (MAX_CLASSES + 5)}" for i in range(600)])
    error = _raises("labeling.too_many_classes", find_label_issues, _frame(600), labels)
    assert error.params["count"] == MAX_CLASSES + 5


def test_missing_labels_are_counted_and_refused():
    labels = pd.Series(["a", "b"] * 30, dtype=object)
    labels.iloc[[1, 4, 9]] = None
    error = _raises("labeling.missing_labels", find_label_issues, _frame(), labels)
    assert error.params == {"missing": 3, "total": 60}


def test_features_that_are_all_text_are_refused():
    X = pd.DataFrame(
        {
            "note": [f"message number {i} about a delayed parcel" for i in range(60)],
            "id": [f"X{i}" for i in range(60)],
        }
    )
    error = _raises("labeling.no_usable_features", find_label_issues, X, pd.Series(["a", "b"] * 30))
    assert "note" in error.params["columns"]


@pytest.mark.parametrize("X", [pd.DataFrame({"a": []}), pd.DataFrame(index=range(10))], ids=["no rows", "no columns"])
def test_an_empty_frame_is_refused(X):
    _raises("labeling.empty", find_label_issues, X, pd.Series(["a", "b"] * (len(X) // 2), index=X.index))


def test_labels_for_other_rows_are_refused():
    X = _frame()
    labels = pd.Series(["a", "b"] * 30, index=range(100, 160))
    error = _raises("labeling.index_mismatch", find_label_issues, X, labels)
    assert error.params["missing"] == 60 and error.params["extra"] == 60
    _raises("labeling.index_mismatch", find_label_issues, X, pd.Series(["a", "b"] * 25))


def test_duplicate_row_labels_bad_folds_and_models_without_probabilities_are_refused():
    labels = pd.Series(["a", "b"] * 30)
    _raises("labeling.duplicate_index", find_label_issues, _frame().set_axis([0] * 60), labels.set_axis([0] * 60))
    _raises("labeling.bad_folds", find_label_issues, _frame(), labels, cv=1)
    _raises("labeling.model_without_proba", find_label_issues, _frame(), labels, model=LinearSVC())


# ----------------------------------------------------------------------------- decisions


def test_label_decision_validation():
    assert LabelDecision("keep").describe() == "keep"
    assert LabelDecision("relabel", new_label=1).describe() == "relabel:1"
    assert LabelDecision("exclude", comment="duplicate of row 12\n\tsee ticket").comment.startswith("duplicate")
    _raises("labeling.bad_action", LabelDecision, "delete")
    _raises("labeling.relabel_needs_label", LabelDecision, "relabel")
    _raises("labeling.relabel_needs_label", LabelDecision, "relabel", new_label=float("nan"))
    _raises("labeling.label_without_relabel", LabelDecision, "keep", new_label="yes")
    _raises("labeling.comment_too_long", LabelDecision, "keep", comment="x" * (COMMENT_MAX_CHARS + 1))
    _raises("labeling.comment_control_characters", LabelDecision, "unsure", comment="bad\x00byte")
    _raises("labeling.comment_control_characters", LabelDecision, "unsure", comment="escape \x1b[31m")
    with pytest.raises(AttributeError):
        LabelDecision("keep").action = "exclude"  # type: ignore[misc]


@pytest.fixture
def churn_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"tenure": [1, 5, 9, 12, 30], "churned": [1, 0, 1, 0, 0]},
        index=pd.Index(["c1", "c2", "c3", "c4", "c5"], name="customer"),
    )


def test_apply_decisions_changes_a_copy_only(churn_frame):
    before = churn_frame.copy(deep=True)
    decisions = {
        "c1": LabelDecision("relabel", new_label=0, comment="still a customer"),
        "c2": LabelDecision("keep"),
        "c3": LabelDecision("exclude"),
        "c4": LabelDecision("unsure"),
    }
    after = apply_label_decisions(churn_frame, target="churned", decisions=decisions)
    pd.testing.assert_frame_equal(churn_frame, before)  # never mutated
    assert list(after.index) == ["c1", "c2", "c4", "c5"]  # exclude drops, order kept
    assert after.loc["c1", "churned"] == 0  # relabel sets
    pd.testing.assert_frame_equal(after.loc[["c2", "c4", "c5"]], before.loc[["c2", "c4", "c5"]])  # keep/unsure: as is
    assert after["churned"].dtype == before["churned"].dtype
    assert after.columns.equals(before.columns)


def test_apply_decisions_with_nothing_to_do_returns_an_equal_copy(churn_frame):
    after = apply_label_decisions(churn_frame, target="churned", decisions={"c1": LabelDecision("keep")})
    pd.testing.assert_frame_equal(after, churn_frame)
    assert after is not churn_frame


def test_relabel_accepts_known_classes_only(churn_frame):
    _raises(
        "labeling.unknown_class",
        apply_label_decisions,
        churn_frame,
        target="churned",
        decisions={"c1": LabelDecision("relabel", new_label=2)},
    )
    after = apply_label_decisions(
        churn_frame, target="churned", decisions={"c1": LabelDecision("relabel", new_label=2)}, allowed_labels=(2,)
    )
    assert after.loc["c1", "churned"] == 2
    # A form widget gives text: "0" means the class 0, and the column stays integer.
    after = apply_label_decisions(
        churn_frame, target="churned", decisions={"c3": LabelDecision("relabel", new_label="0")}
    )
    assert after.loc["c3", "churned"] == 0 and after["churned"].dtype == np.int64
    # A new class of another type turns the column into a general one rather than failing.
    after = apply_label_decisions(
        churn_frame,
        target="churned",
        decisions={"c1": LabelDecision("relabel", new_label="maybe")},
        allowed_labels=("maybe",),
    )
    assert after.loc["c1", "churned"] == "maybe" and after.loc["c2", "churned"] == 0


def test_relabel_fills_missing_targets_and_extends_categories():
    frame = pd.DataFrame({"x": [1, 2, 3], "y": pd.Categorical(["a", None, "b"])})
    after = apply_label_decisions(
        frame,
        target="y",
        decisions={1: LabelDecision("relabel", new_label="a"), 2: LabelDecision("relabel", new_label="c")},
        allowed_labels=("c",),
    )
    assert after["y"].tolist() == ["a", "a", "c"] and frame["y"].isna().sum() == 1
    assert isinstance(after["y"].dtype, pd.CategoricalDtype)


def test_apply_decisions_refuses_bad_requests(churn_frame):
    _raises(
        "labeling.no_target_column",
        apply_label_decisions,
        churn_frame,
        target="label",
        decisions={},
    )
    error = _raises(
        "labeling.unknown_rows",
        apply_label_decisions,
        churn_frame,
        target="churned",
        decisions={"zz": LabelDecision("exclude")},
    )
    assert error.params["count"] == 1
    _raises(
        "labeling.not_a_decision",
        apply_label_decisions,
        churn_frame,
        target="churned",
        decisions={"c1": "exclude"},
    )


# ----------------------------------------------------------------------------- agreement


def test_decision_agreement_compares_rows_reviewed_twice():
    table = decision_agreement(
        {
            "ana": {
                "r1": LabelDecision("keep"),
                "r2": LabelDecision("relabel", new_label="yes", comment="called us"),
                "r3": LabelDecision("exclude"),
                "r4": LabelDecision("unsure"),
            },
            "ben": {
                "r1": LabelDecision("keep", comment="fine"),
                "r2": LabelDecision("relabel", new_label="yes"),
                "r3": LabelDecision("relabel", new_label="no"),
            },
            "eva": {"r2": LabelDecision("relabel", new_label="maybe"), "r5": LabelDecision("keep")},
        }
    )
    assert set(table.index) == {"r1", "r2", "r3"}  # r4 and r5 were reviewed once
    assert table.loc["r1", "agree"] and table.loc["r1", "consensus"] == "keep"  # comments do not matter
    assert not table.loc["r2", "agree"] and table.loc["r2", "n_reviewers"] == 3
    assert not table.loc["r3", "agree"] and table.loc["r3", "consensus"] is None
    assert table.loc["r3", "ana"] == "exclude" and table.loc["r3", "ben"] == "relabel:no"
    assert table.loc["r1", "eva"] is None
    assert not table["agree"].iloc[0]  # disagreements first
    assert list(table.columns) == ["n_reviewers", "agree", "consensus", "ana", "ben", "eva"]


def test_decision_agreement_edge_cases():
    assert decision_agreement({"ana": {1: LabelDecision("keep")}}).empty
    assert decision_agreement({}).empty
    _raises("labeling.reviewer_name_reserved", decision_agreement, {"agree": {1: LabelDecision("keep")}, "b": {}})


# ----------------------------------------------------------------------------- annotation order


def test_annotation_order_puts_the_most_uncertain_rows_first():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 400)
    labelled = pd.DataFrame({"x": x, "noise": rng.normal(size=400)})
    labels = pd.Series(np.where(x > 0, "yes", "no"))
    candidates = pd.DataFrame({"x": [-2.8, 0.05, 2.2, -0.6, 1.2], "noise": 0.0}, index=[50, 51, 52, 53, 54])
    for strategy in ("margin", "entropy", "least_confident"):
        order = suggest_annotation_order(labelled, labels, candidates, strategy=strategy)
        assert order.index[0] == 51 and {50, 52} <= set(order.index[-3:])
        # A model whose confidence grows with the distance from the boundary orders them all.
        smooth = suggest_annotation_order(labelled, labels, candidates, model=LogisticRegression(), strategy=strategy)
        assert list(smooth.index) == [51, 53, 54, 52, 50]
        assert order["uncertainty"].is_monotonic_decreasing and order["uncertainty"].between(0, 1).all()
        probabilities = order[["probability_no", "probability_yes"]]
        assert np.allclose(probabilities.sum(axis=1), 1.0)
        assert (order["predicted_label"] == probabilities.idxmax(axis=1).str.removeprefix("probability_")).all()
        assert np.allclose(order["confidence"], probabilities.max(axis=1))


def test_annotation_order_checks_its_inputs():
    X, labels = _frame(), pd.Series(["a", "b"] * 30)
    _raises("labeling.columns_differ", suggest_annotation_order, X, labels, X.rename(columns={"a": "z"}))
    _raises("labeling.bad_strategy", suggest_annotation_order, X, labels, X, strategy="random")
    _raises("labeling.one_class", suggest_annotation_order, X, pd.Series(["a"] * 60), X)
    empty = suggest_annotation_order(X, labels, X.iloc[:0])
    assert empty.empty and "uncertainty" in empty.columns
    reordered = suggest_annotation_order(X, labels, X[["b", "a"]].iloc[:5])
    assert len(reordered) == 5


# ----------------------------------------------------------------------------- effect of decisions


def test_cv_metric_before_after_sees_the_labels_improve(three_classes):
    X, clean, noisy, flipped = three_classes
    X, clean, noisy, flipped = X.iloc[:900], clean.iloc[:900], noisy.iloc[:900], flipped.iloc[:900]
    before, after = cv_metric_before_after(X, noisy, clean, model=default_model(X), cv=3)
    assert 0 <= before < after <= 1
    # Excluding rows is allowed: the matching feature rows are used.
    kept = noisy[~flipped]
    model = LogisticRegression(max_iter=500)
    before, after_excluding = cv_metric_before_after(X, noisy, kept, model=model, cv=3, metric="accuracy")
    assert before < after_excluding
    _raises("labeling.unknown_metric", cv_metric_before_after, X, noisy, clean, metric="happiness")
