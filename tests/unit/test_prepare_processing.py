"""Feature steps as scikit-learn estimators: compatibility (clone, get_params, fitted attributes, the
estimator checks where cheap), each transformer on hand-computed cases, the samplers and their bad inputs."""

from __future__ import annotations

import io
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from imblearn.pipeline import Pipeline as SamplingPipeline
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.model_selection import KFold, cross_validate
from sklearn.preprocessing import StandardScaler, TargetEncoder
from sklearn.utils.estimator_checks import check_estimator

from mlcore.data.prepare.processing import (
    CategoryEncoder,
    ClassSampler,
    ColumnArithmetic,
    ColumnStep,
    CorrelationFilter,
    FinishFeatures,
    FrameImputer,
    ModelSelector,
    MutualInfoSelector,
    NumericJitter,
    RecipeFeatures,
    RecursiveElimination,
    SignedLog,
    SyntheticRows,
    VarianceFilter,
    fill_value,
    polynomial_size,
)
from mlcore.errors import InputError

ESTIMATORS = [
    ColumnStep(StandardScaler(), columns=("a",), step="1 (scale)"),
    RecipeFeatures(ColumnStep(SignedLog())),
    FrameImputer(strategy="most_frequent", add_indicator=True),
    CategoryEncoder(method="target"),
    SignedLog(),
    ColumnArithmetic(pairs=(("a", "b"),), operation="difference"),
    VarianceFilter(threshold=0.5),
    CorrelationFilter(threshold=0.9),
    MutualInfoSelector(k=2),
    ModelSelector(max_features=3),
    RecursiveElimination(n_features=2),
    ClassSampler(method="under"),
    SyntheticRows(share=0.3),
    NumericJitter(scale=0.1),
    FinishFeatures(roles=(("a", "numeric"),), scaled=True),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_estimators_clone_and_keep_their_parameters(estimator):
    params = estimator.get_params(deep=False)
    copy = clone(estimator)
    assert copy is not estimator
    assert set(copy.get_params(deep=False)) == set(params)
    for name, value in params.items():
        other = copy.get_params(deep=False)[name]
        assert other == value or type(other) is type(value), name
    assert not any(k.endswith("_") for k in vars(copy))  # nothing learnt before fit


CHEAP_CHECKS = [
    SignedLog(),
    VarianceFilter(),
    CorrelationFilter(),
    MutualInfoSelector(k=2),
    FrameImputer(),
    FrameImputer(strategy="most_frequent", add_indicator=True),
    CategoryEncoder(),
    ColumnStep(SignedLog()),
    ColumnArithmetic(pairs=((0, 1),)),
    RecursiveElimination(n_features=2),
]


@pytest.mark.parametrize("estimator", CHEAP_CHECKS, ids=lambda e: f"{type(e).__name__}-{id(e) % 97}")
def test_scikit_learn_estimator_checks(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(estimator, on_fail=None)
    failed = [r["check_name"] for r in results if r["status"] == "failed"]
    assert failed == []


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "a": [1.0, 2.0, np.nan, 4.0, 5.0, 6.0],
            "b": [2.0, 0.0, 1.0, 1.0, 2.0, 4.0],
            "plan": ["basic", "pro", None, "basic", "pro", "basic"],
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", None, "2024-03-05", "2024-04-01", "2024-05-01"]),
        },
        index=[10, 11, 12, 13, 14, 15],
    )


# ----------------------------------------------------------------------------- ColumnStep


def test_column_step_keeps_other_columns_order_and_index():
    X = _frame()
    step = ColumnStep(StandardScaler(), columns=("b", "a"))
    out = step.fit_transform(X)
    assert list(out.columns) == list(X.columns)
    assert out.index.equals(X.index)
    assert out["plan"].equals(X["plan"]) and out["when"].equals(X["when"])
    assert np.isclose(np.nanmean(out["a"]), 0.0) and np.isclose(out["b"].std(ddof=0), 1.0)
    assert list(step.get_feature_names_out()) == list(out.columns)
    assert step.transform(X).equals(out)
    assert X["a"].isna().sum() == 1  # the input is not modified
    assert X.loc[10, "a"] == 1.0


def test_column_step_outputs_take_the_place_of_their_inputs():
    X = _frame()
    out = ColumnStep(CategoryEncoder(), columns=("plan",), kinds=("categorical",)).fit_transform(X)
    assert list(out.columns) == ["a", "b", "plan_basic", "plan_pro", "plan_nan", "when"]
    kept = ColumnStep(SignedLog(), columns=("a",), keep_input=True, suffix="_log").fit_transform(X)
    assert list(kept.columns) == ["a", "a_log", "b", "plan", "when"]
    assert np.isclose(kept.loc[13, "a_log"], np.log1p(4.0))


def test_column_step_picks_columns_by_role_then_type_and_skips_exclusions():
    X = _frame().assign(customer=[1.0, 2, 3, 4, 5, 6], code=[1, 2, 1, 2, 1, 2])
    step = ColumnStep(
        StandardScaler(),
        known=(("code", "categorical"),),
        exclude=("customer",),
    ).fit(X)
    assert step.columns_ == ["a", "b"]  # 'code' is a category by role, 'customer' excluded
    nothing = ColumnStep(StandardScaler(), kinds=("text",)).fit(X)
    assert nothing.columns_ == [] and nothing.transform(X) is X


def test_column_step_errors_name_the_step_and_the_column():
    X = _frame()
    with pytest.raises(InputError) as err:
        ColumnStep(StandardScaler(), columns=("plan",), numeric_only=True, step="4 (scale)").fit(X)
    assert err.value.key == "prep.column_not_numeric" and err.value.params["column"] == "plan"
    assert err.value.params["step"] == "4 (scale)"
    fitted = ColumnStep(StandardScaler(), columns=("a",), step="2 (scale)").fit(X)
    with pytest.raises(InputError) as err:
        fitted.transform(X.drop(columns=["a"]))
    assert err.value.key == "prep.column_gone" and err.value.params["column"] == "a"
    with pytest.raises(InputError) as err:
        ColumnStep(SignedLog(), columns=("a",), keep_input=True, suffix="").fit(X.assign(a_=1))
    assert err.value.key == "prep.name_taken"
    with pytest.raises(InputError) as err:
        ColumnStep(SignedLog(), columns=("a",), no_missing=True, step="3 (polynomial)").fit(X)
    assert err.value.key == "prep.has_missing" and err.value.params["count"] == 1


# ----------------------------------------------------------------------------- imputation


def test_frame_imputer_simple_strategies_hand_computed():
    X = pd.DataFrame({"x": [1.0, np.nan, 4.0, 10.0], "c": ["b", "a", "b", None]})
    median = FrameImputer(strategy="median").fit(X[["x"]])
    assert median.statistics_.tolist() == [4.0]
    assert FrameImputer(strategy="mean").fit_transform(X[["x"]])["x"].tolist() == [1.0, 5.0, 4.0, 10.0]
    frequent = FrameImputer(strategy="most_frequent", add_indicator=True).fit_transform(X)
    assert frequent["c"].tolist() == ["b", "a", "b", "b"]
    assert frequent["x_missing"].tolist() == [0.0, 1.0, 0.0, 0.0]
    constant = FrameImputer(strategy="constant", fill_value="unknown").fit_transform(X[["c"]])
    assert constant["c"].tolist() == ["b", "a", "b", "unknown"]
    assert fill_value(pd.Series([np.nan, np.nan]), "median", None) == 0.0
    assert fill_value(pd.Series([None, None], dtype=object), "most_frequent", None) == "missing"


def test_frame_imputer_indicator_only_for_columns_with_gaps_when_fitted():
    X = pd.DataFrame({"x": [1.0, np.nan, 3.0], "y": [1.0, 2.0, 3.0]})
    imputer = FrameImputer(add_indicator=True).fit(X)
    assert imputer.indicator_columns_ == ["x"]
    assert list(imputer.get_feature_names_out()) == ["x", "y", "x_missing"]
    every = FrameImputer(add_indicator=True, indicator_features="all").fit(X)
    assert every.indicator_columns_ == ["x", "y"]


@pytest.mark.parametrize("strategy", ["knn", "iterative"])
def test_frame_imputer_model_based_fills_every_gap_and_keeps_known_values(strategy):
    rng = np.random.default_rng(0)
    a = rng.normal(size=60)
    X = pd.DataFrame({"a": a, "b": 2 * a + rng.normal(scale=0.01, size=60)})
    X.loc[[3, 7, 20], "b"] = np.nan
    imputer = FrameImputer(strategy=strategy, n_neighbors=3, max_fit_rows=40).fit(X)
    out = imputer.transform(X)
    assert not out.isna().any().any()
    known = X["b"].notna()
    assert np.allclose(out.loc[known, "b"], X.loc[known, "b"])
    assert np.allclose(out.loc[[3, 7, 20], "b"], 2 * X.loc[[3, 7, 20], "a"], atol=0.5)
    assert imputer.n_iter_ >= 1


# ----------------------------------------------------------------------------- encoding


def test_one_hot_and_ordinal_handle_missing_and_unseen_categories():
    X = pd.DataFrame({"plan": ["basic", "pro", None, "basic"]})
    new = pd.DataFrame({"plan": ["enterprise", np.nan]})
    onehot = CategoryEncoder().fit(X)
    assert onehot.transform(new).to_numpy().tolist() == [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    ordinal = CategoryEncoder(method="ordinal").fit(X)
    assert ordinal.transform(new)["plan"].tolist() == [-1.0, -1.0]
    assert ordinal.transform(X)["plan"].tolist() == [0.0, 1.0, -1.0, 0.0]
    rare = CategoryEncoder(max_categories=2).fit(pd.DataFrame({"p": ["a"] * 5 + ["b"] * 3 + ["c"]}))
    assert list(rare.get_feature_names_out()) == ["p_a", "p_infrequent_sklearn"]


def test_target_encoder_cross_fits_in_fit_transform_and_matches_scikit_learn():
    rng = np.random.default_rng(1)
    X = pd.DataFrame({"city": rng.choice(["a", "b", "c"], size=90)})
    y = (rng.random(90) < np.where(X["city"] == "a", 0.8, 0.2)).astype(int)
    encoder = CategoryEncoder(method="target", cv=3, random_state=0)
    crossed = encoder.fit_transform(X, y)
    full = encoder.transform(X)
    assert not np.allclose(crossed["city"], full["city"])  # fit_transform never encodes a row with itself
    reference = TargetEncoder(cv=KFold(3), smooth="auto").fit(X.to_numpy(dtype=object), y)
    assert np.allclose(sorted(np.unique(full["city"])), sorted(reference.encodings_[0]))


# ----------------------------------------------------------------------------- engineering


def test_signed_log_and_arithmetic_hand_computed():
    assert SignedLog().fit_transform(np.array([[-np.e + 1], [0.0], [np.nan]])).ravel()[:2].round(6).tolist() == [
        -1.0,
        0.0,
    ]
    X = pd.DataFrame({"debt": [10.0, 3.0, 1.0], "income": [20.0, 0.0, np.nan]})
    ratio = ColumnArithmetic(pairs=(("debt", "income"),)).fit_transform(X)
    assert ratio["debt_over_income"].tolist()[0] == 0.5 and ratio["debt_over_income"].isna().tolist()[1:] == [
        True,
        True,
    ]
    diff = ColumnArithmetic(pairs=(("debt", "income"),), operation="difference").fit(X)
    assert diff.transform(X)["debt_minus_income"].tolist()[:2] == [-10.0, 3.0]
    assert list(diff.get_feature_names_out()) == ["debt_minus_income"]
    assert polynomial_size(20, 3, False) == 1770 and polynomial_size(4, 2, True) == 10


# ----------------------------------------------------------------------------- selection


def test_selectors_keep_what_they_should():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=400)
    X = pd.DataFrame(
        {
            "signal": signal,
            "copy": signal * 2 + 1e-6 * rng.normal(size=400),
            "noise": rng.normal(size=400),
            "constant": np.ones(400),
        }
    )
    y = (signal > 0).astype(int)
    assert VarianceFilter().fit(X).get_feature_names_out().tolist() == ["signal", "copy", "noise"]
    with pytest.warns(UserWarning, match="No features were selected"):
        assert VarianceFilter(threshold=1e9).fit(X).transform(X).shape == (400, 0)  # no error when all go
    assert CorrelationFilter().fit(X).get_feature_names_out().tolist() == ["signal", "noise", "constant"]
    spearman = CorrelationFilter(method="spearman").fit(X.assign(noise=np.nan))
    assert "copy" not in spearman.get_feature_names_out()
    mutual = MutualInfoSelector(k=1).fit(X, y)
    assert mutual.get_feature_names_out().tolist() in (["signal"], ["copy"])
    model = ModelSelector(max_features=2).fit(X, y)
    assert "noise" not in model.get_feature_names_out() and model.support_.sum() <= 2
    recursive = RecursiveElimination(n_features=1).fit(X[["signal", "noise"]], y)
    assert recursive.get_feature_names_out().tolist() == ["signal"] and recursive.ranking_.tolist() == [1, 2]
    small = MutualInfoSelector(k=2, max_fit_rows=50).fit(X.assign(signal=X["signal"].mask(X.index < 5)), y)
    assert small.support_.sum() == 2


# ----------------------------------------------------------------------------- samplers


def _imbalanced(n_major: int = 40, n_minor: int = 8) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(n_major + n_minor, 3)), columns=["a", "b", "c"])
    X.loc[n_major:, "a"] += 5
    y = pd.Series([0] * n_major + [1] * n_minor, name="y")
    return X, y


@pytest.mark.parametrize(("method", "expected"), [("over", [40, 40]), ("under", [8, 8]), ("smote", [40, 40])])
def test_class_sampler_balances(method, expected):
    X, y = _imbalanced()
    X2, y2 = ClassSampler(method=method, k_neighbors=3).fit_resample(X, y)
    assert np.bincount(y2).tolist() == expected and len(X2) == len(y2)
    assert list(X2.columns) == ["a", "b", "c"]


def test_smote_rows_lie_between_minority_rows():
    X, y = _imbalanced()
    X2, y2 = ClassSampler(method="smote", k_neighbors=3).fit_resample(X, y)
    new = X2.iloc[len(X) :]
    minority = X[y == 1]
    assert (new["a"] >= minority["a"].min() - 1e-9).all() and (new["a"] <= minority["a"].max() + 1e-9).all()


def test_class_sampler_refuses_what_it_cannot_do():
    X, y = _imbalanced(n_minor=3)
    cases = [
        (ClassSampler(method="smote", k_neighbors=5), X, y, "prep.smote_too_few"),
        (ClassSampler(method="smote"), X, pd.Series(np.zeros(len(X), dtype=int)), "prep.single_class"),
        (ClassSampler(method="over"), X, pd.Series(np.linspace(0, 1, len(X))), "prep.needs_classes"),
        (ClassSampler(method="smote", k_neighbors=1), X.assign(a=np.nan), y, "prep.sampler_needs_numbers"),
        (ClassSampler(method="over", sampling_strategy=0.01), X, y, "prep.ratio_too_low"),
        (
            ClassSampler(method="over", sampling_strategy=0.9),
            X,
            y.where(y.index != 0, 2),
            "prep.ratio_needs_two_classes",
        ),
        (ClassSampler(method="under", sampling_strategy=0.01), X, y, "prep.ratio_too_low"),
    ]
    for sampler, data, target, key in cases:
        with pytest.raises(InputError) as err:
            sampler.fit_resample(data, target)
        assert err.value.key == key
    with pytest.raises(InputError) as err:
        ClassSampler(method="smote", k_neighbors=5).fit_resample(X, y)
    assert err.value.params == {"label": "1", "count": 3, "k": 5}


def test_synthetic_rows_keep_class_shares_and_interpolate_a_numeric_target():
    X, y = _imbalanced()
    X2, y2 = SyntheticRows(share=0.5, k_neighbors=3).fit_resample(X, y)
    assert len(X2) == len(X) + 24 and np.bincount(y2).tolist() == [60, 12]
    counts = pd.Series(np.arange(len(X)))  # whole numbers: classes unless the caller says regression
    assert len(SyntheticRows(share=1.0).fit_resample(X, counts)[1]) == len(X)  # one row per "class": none added
    _, t2 = SyntheticRows(share=1.0, task="regression").fit_resample(X, counts.astype(float))
    assert len(t2) == 2 * len(X) and t2.min() >= 0 and t2.max() <= len(X) - 1
    assert (t2.iloc[len(X) :] % 1 != 0).any()  # interpolated, not copied


def test_jitter_adds_noisy_copies_and_leaves_binary_columns_exact():
    X, y = _imbalanced()
    X = X.assign(flag=(X["b"] > 0).astype(float))
    X2, y2 = NumericJitter(share=0.5, scale=0.01).fit_resample(X, y)
    new = X2.iloc[len(X) :]
    assert len(new) == 24 and set(new["flag"]) <= {0.0, 1.0}
    assert new["a"].std() > 0 and np.isin(new["a"], X["a"]).sum() == 0


class _Recorder(ClassifierMixin, BaseEstimator):
    """Remembers how many rows it was fitted on and asked about."""

    def fit(self, X, y):
        self.fit_rows_ = len(X)
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        self.predict_rows_ = len(X)
        return np.full(len(X), self.classes_[0])


def test_samplers_run_while_fitting_only():
    X, y = _imbalanced()
    pipe = SamplingPipeline([("rows", SyntheticRows(share=1.0)), ("model", _Recorder())])
    result = cross_validate(pipe, X, y, cv=KFold(4), return_estimator=True, return_indices=True)
    for fitted, train, test in zip(
        result["estimator"], result["indices"]["train"], result["indices"]["test"], strict=True
    ):
        assert fitted.named_steps["model"].fit_rows_ == 2 * len(train)
        fitted.predict(X.iloc[test])
        assert fitted.named_steps["model"].predict_rows_ == len(test)


# ----------------------------------------------------------------------------- finishing for a model


def test_finish_features_encodes_what_is_left_and_drops_identifiers():
    X = _frame().assign(customer=["c1", "c2", "c3", "c4", "c5", "c6"])
    roles = (("a", "numeric"), ("plan", "categorical"), ("when", "datetime"), ("customer", "identifier"))
    finish = FinishFeatures(roles=roles, scaled=True)
    out = finish.fit_transform(X)
    assert not any("customer" in c for c in out.columns)
    assert {"numeric__a", "numeric__b", "numeric__missingindicator_a"} <= set(out.columns)
    assert not out.isna().any().any()
    native = FinishFeatures(roles=roles, native_categories=True).fit(X)
    coded = native.transform(X)
    assert isinstance(coded["categorical__plan"].dtype, pd.CategoricalDtype)
    assert coded["numeric__a"].isna().sum() == 1  # gradient boosting takes missing numbers as they are
    buffer = io.BytesIO()
    joblib.dump(native, buffer)
    buffer.seek(0)
    assert joblib.load(buffer).transform(X).equals(coded)
