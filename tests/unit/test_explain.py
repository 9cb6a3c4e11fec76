"""SHAP explanations: explainer choice, local accuracy per path, grouping back to columns, storage,
what-if, views and sentences, bad input."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from mlcore.errors import InputError
from mlcore.modeling import explain as explain_module
from mlcore.modeling.explain import (
    ExplainCancelled,
    Explanation,
    choose_explainer,
    explain,
    feature_sources,
    what_if,
)
from mlcore.modeling.explain_text import explanation_sentence, format_effect, format_percent
from mlcore.modeling.explain_views import (
    beeswarm_figure,
    beeswarm_frame,
    dependence_figure,
    dependence_frame,
    figure_labels,
    importance_figure,
    importance_frame,
    interaction_scores,
    local_explanation,
    strongest_interaction,
    waterfall_figure,
    waterfall_frame,
)
from mlcore.modeling.training import MODEL_FAMILIES, build_pipeline

ROLES = {
    "tenure": "numeric",
    "charges": "numeric",
    "plan": "categorical",
    "region": "categorical",
    "senior": "boolean",
    "signup": "datetime",
    "customer": "identifier",
}
FEATURES = list(ROLES)
TREES = ("decision_tree", "random_forest", "extra_trees", "hist_gradient_boosting")
SMALL = {"random_forest": {"n_estimators": 10}, "extra_trees": {"n_estimators": 10}}


def _data(n: int = 160, seed: int = 0) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    rng = np.random.default_rng(seed)
    ids = [f"C{i:04d}" for i in range(n)]
    X = pd.DataFrame(
        {
            "tenure": rng.integers(1, 60, n),
            "charges": np.round(rng.normal(50.0, 10.0, n), 1),
            "plan": rng.choice(["basic", "plus", "pro", "max"], n),
            "region": rng.choice(["north", "south", "east", "west", "centre", "coast", "hills", "isle"], n),
            "senior": rng.random(n) < 0.3,
            "signup": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
            "customer": ids,
        },
        index=pd.Index(ids, name="customer_id"),
    )
    X.loc[X.index[::9], "charges"] = np.nan
    score = (
        -0.05 * X["tenure"]
        + 0.04 * X["charges"].fillna(50)
        + X["plan"].map({"basic": 1.2, "plus": 0.3, "pro": -0.4, "max": -1.0})
        + 0.8 * X["senior"]
        + X["region"].isin(["north", "isle"]) * 0.7
        + rng.normal(0, 0.4, n)
    )
    targets = {
        "binary": (score > score.median()).astype(int).rename("churned"),
        "multiclass": pd.cut(score, 3, labels=["low", "mid", "high"]).astype(str).rename("risk"),
        "regression": (10 * score + 100).rename("spend"),
    }
    return X, targets


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    return _data()


_FITTED: dict[tuple[str, str], Pipeline] = {}


def _fitted(family: str, target: str, data: tuple[pd.DataFrame, dict[str, pd.Series]]) -> Pipeline:
    key = (family, target)
    if key not in _FITTED:
        X, targets = data
        task = "regression" if target == "regression" else "classification"
        pipe = build_pipeline(family, task_type=task, roles=ROLES, features=FEATURES, params=SMALL.get(family))
        _FITTED[key] = pipe.fit(X, targets[target])
    return _FITTED[key]


def _model_output(pipe: Pipeline, result: Explanation, X: pd.DataFrame) -> np.ndarray:
    """The model's own output in the explanation's space, computed without SHAP."""
    if result.output_space == "raw":
        return np.asarray(pipe.predict(X), dtype=float)
    k = list(pipe.classes_).index(result.class_label)
    if result.output_space == "probability":
        return pipe.predict_proba(X)[:, k]
    scores = np.asarray(pipe.decision_function(X), dtype=float)
    if scores.ndim == 1:
        return scores if k == 1 else -scores
    return scores[:, k]


# ----------------------------------------------------------------------------- explainer choice


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("family", TREES)
def test_tree_families_choose_the_tree_explainer(task, family):
    pipe = build_pipeline(family, task_type=task, roles=ROLES, features=FEATURES)
    assert choose_explainer(pipe).kind == "tree"


def test_every_family_has_the_expected_explainer():
    expected = {
        "dummy": "permutation",
        "knn": "permutation",
        "logistic_regression": "linear",
        "ridge": "linear",
        "lasso": "linear",
        "linear_svm": "linear",
        **dict.fromkeys(TREES, "tree"),
    }
    for task, families in MODEL_FAMILIES.items():
        for name in families:
            pipe = build_pipeline(name, task_type=task, roles=ROLES, features=FEATURES)
            assert choose_explainer(pipe).kind == expected[name], (task, name)


@pytest.mark.parametrize("family", TREES)
def test_tree_models_never_reach_the_model_agnostic_path(family, data, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a tree model was sent to the permutation explainer")

    monkeypatch.setattr(explain_module._Engine, "_permutation_run", refuse)
    monkeypatch.setattr(explain_module, "_permutation_values", refuse)
    result = explain(_fitted(family, "binary", data), data[0], max_rows=20)
    assert result.explainer == "tree" and result.background.empty


# ----------------------------------------------------------------------------- local accuracy


FAMILIES_BY_TARGET = {
    "binary": [*TREES, "logistic_regression", "linear_svm", "knn", "dummy"],
    "multiclass": [*TREES, "logistic_regression", "linear_svm", "knn"],
    "regression": [*TREES, "ridge", "lasso", "linear_svm", "knn"],
}
CASES = [(target, family) for target, families in FAMILIES_BY_TARGET.items() for family in families]


@pytest.mark.parametrize(("target", "family"), CASES)
def test_contributions_add_up_to_the_model_output(target, family, data):
    X, _ = data
    pipe = _fitted(family, target, data)
    result = explain(pipe, X, max_rows=25, random_state=3)
    rows = X.loc[result.values.index]
    expected = _model_output(pipe, result, rows)
    total = result.base_value + result.values.sum(axis=1).to_numpy()
    scale = max(1.0, float(np.abs(expected).max()))
    assert np.allclose(total, expected, atol=1e-8 * scale, rtol=0)
    assert np.allclose(result.predictions.to_numpy(), expected, atol=1e-8 * scale, rtol=0)
    if result.probabilities is not None:
        k = list(pipe.classes_).index(result.class_label)
        assert np.allclose(result.probabilities.to_numpy(), pipe.predict_proba(rows)[:, k], atol=1e-9)
    assert set(result.features) == set(FEATURES) - {"customer"}
    assert list(result.data.columns) == [c for c in FEATURES if c != "customer"]


def test_output_spaces_and_classes(data):
    X, _ = data
    assert explain(_fitted("random_forest", "binary", data), X, max_rows=5).output_space == "probability"
    hgb = explain(_fitted("hist_gradient_boosting", "binary", data), X, max_rows=5)
    assert (hgb.output_space, hgb.class_label) == ("log_odds", 1)
    assert explain(_fitted("linear_svm", "binary", data), X, max_rows=5).probabilities is None
    multi = explain(_fitted("logistic_regression", "multiclass", data), X, max_rows=5, class_label="low")
    assert multi.class_label == "low" and multi.classes == ("high", "low", "mid")
    negative = explain(_fitted("hist_gradient_boosting", "binary", data), X, max_rows=5, class_label=0)
    assert np.allclose(negative.values.to_numpy(), -hgb.values.loc[negative.values.index].to_numpy())


def test_gradient_boosting_category_masks_and_copied_subtrees_agree(data, monkeypatch):
    X, _ = data
    pipe = _fitted("hist_gradient_boosting", "multiclass", data)
    masks = explain(pipe, X, max_rows=40)
    monkeypatch.setattr(explain_module, "_MASK_MAX_CODE", -1)  # every categorical split as a chain of copies
    chains = explain(pipe, X, max_rows=40)
    assert np.allclose(masks.values.to_numpy(), chains.values.to_numpy(), atol=1e-10)
    assert math.isclose(masks.base_value, chains.base_value, abs_tol=1e-12)


@pytest.mark.parametrize("target", ["binary", "multiclass"])
@pytest.mark.parametrize("family", TREES)
def test_a_column_no_tree_can_split_on_gets_nothing(family, target, data):
    # SHAP's dummy property: contributions land on the columns the trees use (gradient boosting reorders
    # its inputs internally; a wrong mapping back would move some onto this constant column).
    X, targets = data
    flat = X.assign(flat=7.0)[["tenure", "plan", "flat", "charges", "region", "senior", "signup", "customer"]]
    roles = {**ROLES, "flat": "numeric"}
    task = "classification"
    pipe = build_pipeline(family, task_type=task, roles=roles, features=list(flat.columns), params=SMALL.get(family))
    result = explain(pipe.fit(flat, targets[target]), flat, max_rows=30)
    assert np.all(result.values["flat"].to_numpy() == 0.0)
    assert result.values["plan"].abs().sum() > 0


# ----------------------------------------------------------------------------- grouping back to columns


def test_one_hot_contributions_are_the_sum_of_their_parts(data):
    import shap

    X, _ = data
    pipe = _fitted("random_forest", "binary", data)
    result = explain(pipe, X, max_rows=30)
    rows = X.loc[result.values.index]
    prepare, model = pipe[:-1], pipe[-1]
    raw = shap.TreeExplainer(model).shap_values(prepare.transform(rows))[:, :, 1]
    names = list(prepare.get_feature_names_out())
    for column in ("plan", "region", "senior"):
        parts = [i for i, n in enumerate(names) if n.startswith(f"categorical__{column}_")]
        assert len(parts) >= 2
        assert np.allclose(result.values[column].to_numpy(), raw[:, parts].sum(axis=1))
    date_parts = [i for i, n in enumerate(names) if n.startswith("datetime__signup_")]
    charges = [i for i, n in enumerate(names) if n in ("numeric__charges", "numeric__missingindicator_charges")]
    assert len(date_parts) == 3 and len(charges) == 2
    assert np.allclose(result.values["signup"].to_numpy(), raw[:, date_parts].sum(axis=1))
    assert np.allclose(result.values["charges"].to_numpy(), raw[:, charges].sum(axis=1))
    assert result.derived["charges"] == ("numeric__charges", "numeric__missingindicator_charges")


def test_linear_contributions_by_hand(data):
    X, _ = data
    pipe = _fitted("ridge", "regression", data)
    result = explain(pipe, X, max_rows=10, background_size=40, random_state=1)
    prepare, model = pipe[:-1], pipe[-1]
    background = prepare.transform(result.background.assign(customer="x"))
    rows = prepare.transform(X.loc[result.values.index])
    per_column = (rows - background.mean(axis=0)) * model.coef_
    names = list(prepare.get_feature_names_out())
    plan = [i for i, n in enumerate(names) if n.startswith("categorical__plan_")]
    assert np.allclose(result.values["plan"].to_numpy(), per_column[:, plan].sum(axis=1))
    assert math.isclose(result.base_value, float(model.predict(background).mean()), rel_tol=1e-9)


def test_feature_sources_tells_overlapping_names_apart():
    X = pd.DataFrame({"a": ["x", "y", "x"], "a_b": ["x_1", "y", "z"], "n": [1.0, None, 3.0]})
    from sklearn.impute import SimpleImputer

    prep = ColumnTransformer(
        [("cat", OneHotEncoder(), ["a", "a_b"]), ("num", SimpleImputer(add_indicator=True), ["n"])]
    ).fit(X)
    assert feature_sources(prep, list(X.columns)) == ("a", "a", "a_b", "a_b", "a_b", "n", "n")


# ----------------------------------------------------------------------------- the permutation path by hand


class _Formula(RegressorMixin, BaseEstimator):
    """A model without coefficients (so explained by permutations): ``a * b`` or ``2a + 3b``."""

    def __init__(self, kind: str = "product") -> None:
        self.kind = kind

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.is_fitted_ = True
        return self

    def predict(self, X):
        a, b = np.asarray(X["a"], dtype=float), np.asarray(X["b"], dtype=float)
        return a * b if self.kind == "product" else 2 * a + 3 * b


def _formula(kind: str, X: pd.DataFrame) -> Pipeline:
    return Pipeline([("prepare", "passthrough"), ("model", _Formula(kind))]).fit(X)


def test_permutation_values_by_hand():
    X = pd.DataFrame({"a": [0.0, 1.0], "b": [0.0, 1.0]}, index=["r0", "r1"])
    result = explain(_formula("product", X), X, background_size=2)
    # Background rows (0, 0) and (1, 1): for (1, 1) each feature gets 0.5 against the first and 0 against
    # the second; the base is the mean prediction on the background, 0.5.
    assert result.explainer == "permutation"
    assert result.base_value == pytest.approx(0.5)
    assert result.values.loc["r1"].tolist() == pytest.approx([0.25, 0.25])
    additive = pd.DataFrame({"a": [0.0, 1.0, 5.0], "b": [2.0, 0.0, 1.0]})
    linear = explain(_formula("sum", additive), additive, background_size=3)
    assert linear.values.loc[2].tolist() == pytest.approx([2 * (5 - 2), 3 * (1 - 1)])


def test_interaction_heuristic_finds_the_partner():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300), "c": rng.normal(size=300)})
    X["c"] = X["c"] + 0.0 * X["a"]
    pipe = Pipeline([("prepare", "passthrough"), ("model", _Formula("product"))]).fit(X)
    result = explain(pipe, X, background_size=10, random_state=0)
    scores = interaction_scores(result, "a")
    assert strongest_interaction(result, "a") == "b"
    assert scores["b"] > 2 * scores["c"]
    dependence = dependence_frame(result, "a")
    assert dependence.colour_feature == "b" and len(dependence.frame) == result.n_rows


# ----------------------------------------------------------------------------- sample, progress, cancel


def test_sample_is_capped_stated_and_reproducible(data):
    X, _ = data
    pipe = _fitted("decision_tree", "binary", data)
    first = explain(pipe, X, max_rows=30, random_state=7)
    again = explain(pipe, X, max_rows=30, random_state=7)
    assert (first.n_rows, first.n_available, first.capped, first.max_rows) == (30, len(X), True, 30)
    assert first.values.index.equals(again.values.index)
    assert first.values.index.isin(X.index).all() and first.values.index.is_monotonic_increasing
    whole = explain(pipe, X, max_rows=10_000)
    assert (whole.n_rows, whole.capped) == (len(X), False)


def test_progress_reaches_the_end_and_cancel_stops(data):
    X, _ = data
    pipe = _fitted("knn", "binary", data)
    seen: list[tuple[float, str, dict]] = []
    explain(pipe, X, max_rows=25, progress=lambda f, key, **p: seen.append((f, key, p)))
    fractions = [f for f, _, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert seen[-1][1] == "explain.progress.rows" and seen[-1][2] == {"done": 25, "total": 25}
    with pytest.raises(ExplainCancelled):
        explain(pipe, X, max_rows=25, should_stop=lambda: True)


# ----------------------------------------------------------------------------- bad input


def test_bad_inputs_are_input_errors(data):
    X, _ = data
    pipe = _fitted("decision_tree", "binary", data)
    cases = [
        (lambda: explain(pipe, X.iloc[:0]), "explain.empty"),
        (lambda: explain(pipe, X.to_numpy()), "explain.not_a_frame"),
        (lambda: explain(pipe, X.drop(columns=["plan"])), "explain.missing_columns"),
        (lambda: explain(pipe, pd.concat([X, X.iloc[:2]])), "explain.duplicate_index"),
        (lambda: explain(pipe, X, max_rows=0), "explain.bad_max_rows"),
        (lambda: explain(pipe, X, max_rows=-5), "explain.bad_max_rows"),
        (lambda: explain(pipe, X, max_rows=True), "explain.bad_max_rows"),
        (lambda: explain(pipe, X, max_rows="10"), "explain.bad_max_rows"),
        (lambda: explain(pipe, X, background_size=0), "explain.bad_background_size"),
        (lambda: explain(pipe, X, class_label="<script>"), "explain.unknown_class"),
        (lambda: explain(_fitted("ridge", "regression", data), X, class_label=1), "explain.class_for_regression"),
        (lambda: explain(pipe[-1], X), "explain.not_a_pipeline"),
        (lambda: explain(clone(pipe), X), "explain.not_fitted"),
    ]
    for call, key in cases:
        with pytest.raises(InputError) as err:
            call()
        assert err.value.key == key
        assert err.value.message("es") != key


# ----------------------------------------------------------------------------- storage


def _same(a: Explanation, b: Explanation) -> None:
    pd.testing.assert_frame_equal(a.values, b.values)
    pd.testing.assert_frame_equal(a.data, b.data)
    pd.testing.assert_series_equal(a.predictions, b.predictions)
    assert (a.probabilities is None) == (b.probabilities is None)
    pd.testing.assert_frame_equal(a.background, b.background, check_dtype=False)
    for name in ("explainer", "model", "task_type", "output_space", "class_label", "classes", "features"):
        assert getattr(a, name) == getattr(b, name), name
    assert a.base_value == b.base_value and a.base_probability == b.base_probability
    assert dict(a.ranges) == dict(b.ranges) and dict(a.derived) == dict(b.derived)
    assert (a.n_rows, a.n_available, a.capped) == (b.n_rows, b.n_available, b.capped)


@pytest.mark.parametrize(("target", "family"), [("binary", "logistic_regression"), ("multiclass", "random_forest")])
def test_storage_round_trips_through_parquet(target, family, data):
    X, _ = data
    result = explain(_fitted(family, target, data), X, max_rows=20)
    frames = result.to_frames()
    written = {}
    for name, frame in frames.items():
        buffer = io.BytesIO()
        frame.to_parquet(buffer)
        written[name] = pd.read_parquet(io.BytesIO(buffer.getvalue()))
    _same(result, Explanation.from_frames(written))
    buffer = io.BytesIO()
    pq.write_table(result.to_table(), buffer)
    _same(result, Explanation.from_table(pq.read_table(io.BytesIO(buffer.getvalue()))))


def test_damaged_storage_is_refused(data):
    X, _ = data
    frames = explain(_fitted("decision_tree", "binary", data), X, max_rows=5).to_frames()
    with pytest.raises(InputError, match="meta") as err:
        Explanation.from_frames({k: v for k, v in frames.items() if k != "meta"})
    assert err.value.key == "explain.bad_stored"
    with pytest.raises(InputError):
        Explanation.from_frames({**frames, "values": frames["values"].iloc[:2]})


# ----------------------------------------------------------------------------- what-if


def test_what_if_changes_the_prediction_and_warns(data):
    X, _ = data
    pipe = _fitted("logistic_regression", "binary", data)
    result = explain(pipe, X, max_rows=40)
    row = result.values.index[0]
    change = what_if(pipe, result, row, {"tenure": 500, "plan": "=cmd|' /C calc'!A0", "senior": "true"})
    kinds = {(w.feature, w.kind) for w in change.warnings}
    assert kinds == {("tenure", "above_range"), ("plan", "unseen_category")}
    assert change.before_probability == pytest.approx(result.probabilities.loc[row])
    changed_rows = X.loc[[row]].copy()
    changed_rows[["tenure", "plan", "senior"]] = [500, "=cmd|' /C calc'!A0", True]
    k = list(pipe.classes_).index(1)
    assert change.after_probability == pytest.approx(pipe.predict_proba(changed_rows)[0, k])
    assert change.after_probability < change.before_probability
    single = change.explanation
    assert single.base_value == pytest.approx(result.base_value)
    assert single.base_value + single.values.iloc[0].sum() == pytest.approx(change.after_prediction)
    assert all(w.message("es") and "{" not in w.message("en") for w in change.warnings)
    below = what_if(pipe, result, row, {"charges": -1e6})
    assert [(w.feature, w.kind) for w in below.warnings] == [("charges", "below_range")]


def test_what_if_on_values_and_on_the_tree_path(data):
    X, _ = data
    pipe = _fitted("hist_gradient_boosting", "binary", data)
    result = explain(pipe, X, max_rows=10, reference=X)
    values = X.iloc[3].to_dict()
    same = what_if(pipe, result, values, {})
    assert same.row_id is None and same.warnings == ()
    assert same.after_prediction == pytest.approx(same.before_prediction)
    moved = what_if(pipe, result, values, {"signup": "2035-01-01", "plan": "max"})
    assert [(w.feature, w.kind) for w in moved.warnings] == [("signup", "above_range")]
    single = moved.explanation
    assert single.base_value + single.values.iloc[0].sum() == pytest.approx(moved.after_prediction)


def test_what_if_on_the_permutation_path(data):
    X, _ = data
    pipe = _fitted("knn", "multiclass", data)
    result = explain(pipe, X, max_rows=8, class_label="high")
    row = result.values.index[2]
    change = what_if(pipe, result, row, {"plan": "basic", "tenure": 2})
    assert change.before_prediction == pytest.approx(result.predictions.loc[row])
    changed = X.loc[[row]].assign(plan="basic", tenure=2)
    assert change.after_prediction == pytest.approx(pipe.predict_proba(changed)[0, list(pipe.classes_).index("high")])
    single = change.explanation
    assert single.base_value == pytest.approx(result.base_value)
    assert single.base_value + single.values.iloc[0].sum() == pytest.approx(change.after_prediction)


def test_what_if_bad_input(data):
    X, _ = data
    pipe = _fitted("decision_tree", "binary", data)
    result = explain(pipe, X, max_rows=10)
    row = result.values.index[0]
    cases = [
        (lambda: what_if(pipe, result, "no-such-row", {}), "explain.unknown_row"),
        (lambda: what_if(pipe, result, ["a list"], {}), "explain.unknown_row"),
        (lambda: what_if(pipe, result, row, {"<script>": 1}), "explain.unknown_feature"),
        (lambda: what_if(pipe, result, row, {"tenure": "lots"}), "explain.bad_number"),
        (lambda: what_if(pipe, result, row, {"tenure": float("inf")}), "explain.bad_number"),
        (lambda: what_if(pipe, result, row, {"signup": "not a date"}), "explain.bad_date"),
        (lambda: what_if(pipe, result, row, {"plan": "x" * 500}), "explain.value_too_long"),
        (lambda: what_if(pipe, result, row, [("tenure", 3)]), "explain.bad_changes"),
        (lambda: what_if(pipe, result, {"tenure": 3}, {}), "explain.missing_columns"),
        (lambda: what_if(_fitted("random_forest", "binary", data), result, row, {}), "explain.model_mismatch"),
    ]
    for call, key in cases:
        with pytest.raises(InputError) as err:
            call()
        assert err.value.key == key


# ----------------------------------------------------------------------------- views


@pytest.fixture(scope="module")
def boosted(data) -> Explanation:
    return explain(_fitted("hist_gradient_boosting", "binary", data), data[0], max_rows=80)


def test_importance_and_beeswarm(boosted):
    table = importance_frame(boosted)
    assert table["mean_abs"].is_monotonic_decreasing
    assert table["share"].sum() == pytest.approx(1.0)
    assert table["mean_abs"].iloc[0] == pytest.approx(boosted.values[table["feature"].iloc[0]].abs().mean())
    swarm = beeswarm_frame(boosted, max_features=3)
    assert len(swarm) == 3 * boosted.n_rows
    assert swarm["feature"].drop_duplicates().tolist() == table["feature"].head(3).tolist()
    assert swarm["offset"].between(-0.4, 0.4).all()
    colours = swarm["colour"].dropna()
    assert colours.between(0, 1).all()
    seniors = beeswarm_frame(boosted, max_features=10).query("feature == 'senior'")
    assert set(seniors["colour"]) == {0.0, 1.0}  # two categories: False (0) and True (1)
    regions = beeswarm_frame(boosted, max_features=10).query("feature == 'region'")
    assert regions["colour"].isna().all()  # many categories carry no order: grey


def test_local_view_points_and_waterfall(boosted):
    row = boosted.probabilities.idxmax()
    local = local_explanation(boosted, row)
    assert local.points_exact
    assert local.contributions["points"].sum() == pytest.approx(100 * (local.probability - local.base_probability))
    assert (np.sign(local.contributions["points"]) == np.sign(local.contributions["contribution"])).all()
    bars = waterfall_frame(local, max_features=3, other=figure_labels("en")["other"])
    assert len(bars) == 4 and bars["label"].iloc[0].endswith("other features")
    assert bars["start"].iloc[0] == pytest.approx(local.base_value)
    assert bars["end"].iloc[-1] == pytest.approx(local.prediction)
    with pytest.raises(InputError) as err:
        local_explanation(boosted, "nobody")
    assert err.value.key == "explain.unknown_row"


def test_probability_points_for_forests(data):
    result = explain(_fitted("random_forest", "binary", data), data[0], max_rows=10)
    local = local_explanation(result, result.values.index[0])
    assert np.allclose(local.contributions["points"], 100 * local.contributions["contribution"])


def test_figures_build_with_translated_labels(boosted):
    labels = figure_labels("es")
    local = local_explanation(boosted, boosted.values.index[0], lang="es")
    dependence = dependence_frame(boosted, "tenure", lang="es")
    figures = [
        importance_figure(boosted, labels=labels),
        beeswarm_figure(boosted, labels=labels, lang="es"),
        dependence_figure(dependence, labels=labels),
        dependence_figure(dependence_frame(boosted, "plan", colour_feature="region"), labels=labels),
        waterfall_figure(local, labels=labels, lang="es"),
    ]
    assert [f.layout.title.text for f in figures][0] == labels["importance_title"]
    assert figures[-1].layout.title.text == labels["waterfall_title"]
    assert all(len(f.data) >= 1 for f in figures)
    assert sum(len(t.x) for t in figures[1].data) == min(15, len(boosted.features)) * boosted.n_rows


# ----------------------------------------------------------------------------- sentences


def test_sentences_in_both_languages(boosted):
    high = local_explanation(boosted, boosted.probabilities.idxmax())
    low = local_explanation(boosted, boosted.probabilities.idxmin())
    en = explanation_sentence(high, outcome="churn")
    es = explanation_sentence(high, lang="es", outcome="abandono")
    assert en.startswith("The model raised the probability of churn from ")
    assert format_percent(high.base_probability) in en and format_percent(high.probability) in en
    assert "(model baseline)" in en and "mainly because" in en and " points)" in en
    assert es.startswith("El modelo subió la probabilidad de abandono de ") and "puntos)" in es
    assert "lowered" in explanation_sentence(low, outcome="churn")
    assert "bajó" in explanation_sentence(low, lang="es", outcome="abandono")


def test_sentence_escapes_values_and_names(data):
    X, targets = data
    frame = X.assign(plan=np.where(np.arange(len(X)) % 2, "<script>alert(1)</script>", "*bold*"))
    frame = frame.rename(columns={"plan": "plan_[tier]"})
    roles = {("plan_[tier]" if k == "plan" else k): v for k, v in ROLES.items()}
    y = targets["regression"] + 50 * (frame["plan_[tier]"] == "*bold*")
    pipe = build_pipeline("ridge", task_type="regression", roles=roles, features=list(roles)).fit(frame, y)
    result = explain(pipe, frame, max_rows=20)
    for row in result.values.index[:6]:
        sentence = explanation_sentence(local_explanation(result, row), outcome="<b>spend</b>", unit="CLP", top=5)
        assert "<script>" not in sentence and "<b>" not in sentence and "*bold*" not in sentence
        assert "of \\<b\\>spend\\</b\\> from" in sentence and "CLP" in sentence
        assert "plan\\_\\[tier\\] = \\<script\\>" in sentence or "plan\\_\\[tier\\] = \\*bold\\*" in sentence


def test_sentence_for_a_model_that_changes_nothing(data):
    result = explain(_fitted("dummy", "binary", data), data[0], max_rows=5)
    local = local_explanation(result, result.values.index[0])
    assert np.allclose(local.contributions["contribution"], 0.0)
    assert explanation_sentence(local, outcome="churn").startswith("The model left the probability of churn")


def test_effect_formatting():
    assert format_effect(18.2, output_space="probability") == "+18 points"
    assert format_effect(-0.42, output_space="log_odds", lang="es") == "-0,4 puntos"
    assert format_effect(-1250.0, output_space="raw", lang="es", unit="CLP") == "-1.250 CLP"
