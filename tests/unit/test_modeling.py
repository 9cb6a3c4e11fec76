"""Modeling: every family fits mixed data, folds and metrics are sound, runs reproduce, searches keep
their budget, bad inputs say what to do, and the model package (card, schema, requirements) is complete."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from mlcore.data.synthetic import make_churn
from mlcore.errors import InputError
from mlcore.i18n import catalog, translate
from mlcore.modeling.card import ModelCardData, input_schema, model_card_markdown, requirements_txt
from mlcore.modeling.environment import check_environment, environment_fingerprint
from mlcore.modeling.training import (
    METRICS,
    MODEL_FAMILIES,
    SCHEMES,
    DateParts,
    TrainingCancelled,
    best_candidate,
    build_pipeline,
    lock_test_set,
    make_splitter,
    reproduce,
    run_config,
    train_candidates,
)
from mlcore.planning.canvas import METRICS as CANVAS_METRICS

# Small forests and boosting keep every test fast; the families' own defaults are exercised in the benchmark.
SMALL = {
    "random_forest": {"n_estimators": 10, "n_jobs": 1},
    "extra_trees": {"n_estimators": 10, "n_jobs": 1},
    "hist_gradient_boosting": {"max_iter": 20},
}


@pytest.fixture(autouse=True)
def one_thread():
    """OpenMP threads spinning on a busy two-core machine make small fits erratic; one thread each."""
    with threadpool_limits(1):
        yield


def _mixed(rows: int = 90, *, task_type: str, seed: int = 0) -> tuple[pd.DataFrame, pd.Series, dict[str, str]]:
    """Every kind of column, with missing values in each: numbers, nullable integers, categories, yes/no, dates."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:05d}" for i in range(rows)],
            "amount": np.where(rng.random(rows) < 0.1, np.nan, x * 10 + 50),
            "visits": pd.array(np.where(rng.random(rows) < 0.1, None, rng.integers(0, 9, rows)), dtype="Int64"),
            "plan": pd.Series(rng.choice(["basic", "plus", "pro", None], rows), dtype=object),
            "paid": rng.choice([True, False], rows),
            "partner": rng.choice(["yes", "no", None], rows),
            "since": pd.to_datetime("2023-01-01") + pd.to_timedelta(rng.integers(0, 700, rows), unit="D"),
        }
    )
    frame.loc[frame.index[::17], "since"] = pd.NaT
    roles = {
        "customer_id": "identifier",
        "amount": "numeric",
        "visits": "numeric",
        "plan": "categorical",
        "paid": "boolean",
        "partner": "boolean",
        "since": "datetime",
    }
    signal = x + (frame["plan"] == "pro").to_numpy() + rng.normal(scale=0.5, size=rows)
    if task_type == "classification":
        y = pd.Series(np.where(signal > 0.3, "leave", "stay"), name="target")
    else:
        y = pd.Series(signal * 100 + 500, name="target")
    return frame, y, roles


@pytest.fixture(scope="module")
def easy() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(300, n_features=5, n_informative=4, n_redundant=0, class_sep=2.0, random_state=0)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(5)]), y


def _train(X, y, **kwargs):
    options = {"roles": dict.fromkeys(X.columns, "numeric"), "task_type": "classification", "n_splits": 3}
    options.update(kwargs)
    return train_candidates(X, y, **options)


# ----------------------------------------------------------------------------- families and pipelines


@pytest.mark.parametrize("task_type", ["classification", "regression"])
def test_every_family_fits_a_tiny_mixed_frame(task_type):
    X, y, roles = _mixed(task_type=task_type)
    families = list(MODEL_FAMILIES[task_type])
    metrics = list(CANVAS_METRICS[task_type])
    results = train_candidates(
        X, y, task_type=task_type, roles=roles, families=families, metrics=metrics, n_splits=3, params=SMALL
    )
    assert [r.family for r in results] == families
    unseen = X.head(5).assign(plan="enterprise", partner=None)
    for r in results:
        assert r.features == tuple(c for c in X.columns if c != "customer_id")
        assert r.dropped == {"customer_id": "identifier"}
        assert len(r.fold_metrics) == 3 and set(metrics) <= set(r.fold_metrics[0])
        assert all(np.isfinite(r.mean[m]) and r.std[m] >= 0 for m in metrics)
        assert r.size_bytes and r.size_bytes > 0 and r.fit_seconds > 0
        predictions = r.pipeline.predict(unseen[list(r.features)])
        assert len(predictions) == 5
        json.dumps({"params": r.params, "config": r.config})  # everything recorded is JSON
        assert any(key.startswith("model__") for key in r.params)
    boosting = next(r for r in results if r.family == "hist_gradient_boosting")
    assert boosting.params["model__max_iter"] == 20 and boosting.model_params == {"max_iter": 20}
    forest = next(r for r in results if r.family == "random_forest")
    assert forest.params["model__max_depth"] == 12 and forest.params["model__n_estimators"] == 10


@pytest.mark.parametrize("task_type", ["classification", "regression"])
def test_pipelines_survive_clone_and_get_params(task_type):
    _, _, roles = _mixed(task_type=task_type)
    for family in MODEL_FAMILIES[task_type]:
        pipe = build_pipeline(family, task_type=task_type, roles=roles, features=list(roles), random_state=3)
        twin = clone(pipe)
        params, twin_params = pipe.get_params(deep=True), twin.get_params(deep=True)
        assert params.keys() == twin_params.keys()
        assert [name for name, _ in twin.steps] == ["prepare", "model"]
        if "model__random_state" in params:
            assert twin_params["model__random_state"] == 3
        twin.set_params(prepare__remainder="drop")


def test_a_recipe_can_supply_its_own_preparation():
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(60, n_features=3, n_informative=2, n_redundant=0, random_state=1)
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    scaler = StandardScaler()
    pipe = build_pipeline(
        "logistic_regression", task_type="classification", roles={}, features=["a"], preprocessor=scaler
    )
    assert pipe.named_steps["prepare"] is not scaler
    assert pipe.fit(frame, y).predict(frame).shape == (60,)


def test_date_parts_is_a_proper_estimator():
    dates = pd.DataFrame(
        {
            "when": pd.to_datetime(["2024-02-29 13:00", None, "2025-12-31 08:00"]).tz_localize("UTC"),
            "then": pd.to_datetime(["2020-01-01", "2020-06-15", None]),
        }
    )
    parts = DateParts(parts=("year", "hour"))
    assert parts.get_params() == {"parts": ("year", "hour")}
    with pytest.raises(NotFittedError):
        parts.transform(dates)
    assert parts.fit(dates) is parts
    assert parts.n_features_in_ == 2 and list(parts.feature_names_in_) == ["when", "then"]
    out = parts.transform(dates)
    assert out.shape == (3, 4)
    assert out[0].tolist() == [2024.0, 13.0, 2020.0, 0.0]
    assert np.isnan(out[1, :2]).all() and np.isnan(out[2, 2:]).all()
    assert list(parts.get_feature_names_out()) == ["when_year", "when_hour", "then_year", "then_hour"]
    twin = clone(parts)
    assert twin.get_params() == parts.get_params() and not hasattr(twin, "n_features_in_")
    with pytest.raises(ValueError, match="parts"):
        DateParts(parts=("year", "decade")).fit(dates)
    with pytest.raises(ValueError):
        parts.transform(dates[["when"]])


# ----------------------------------------------------------------------------- folds and the locked test set


def test_locked_test_set_is_disjoint_and_stratified():
    frame = make_churn(1000, random_state=3).current
    train, test = lock_test_set(frame, target="churned", test_size=0.25, task_type="classification", random_state=0)
    assert len(test) == 250 and len(train) == 750
    assert train.intersection(test).empty and train.union(test).sort_values().equals(frame.index)
    overall = frame["churned"].mean()
    assert abs(frame.loc[test, "churned"].mean() - overall) < 0.01
    assert abs(frame.loc[train, "churned"].mean() - overall) < 0.01
    again = lock_test_set(frame, target="churned", test_size=0.25, task_type="classification", random_state=0)
    assert again[1].equals(test)

    by_time = lock_test_set(frame, target="churned", task_type="classification", time_column="signup_date")
    assert frame.loc[by_time[0], "signup_date"].max() < frame.loc[by_time[1], "signup_date"].min()
    assert len(by_time[1]) >= 200


def test_group_and_time_splits_respect_their_columns():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 12, 120)
    splitter = make_splitter("group_kfold", n_splits=4, task_type="regression", groups=groups)
    X = np.zeros((120, 1))
    for train, test in splitter.split(X):
        assert not set(groups[train]) & set(groups[test])
    when = pd.Series(pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.permutation(120), unit="D"))
    for train, test in make_splitter("time_series", n_splits=3, task_type="classification", order=when).split(X):
        assert when.iloc[train].max() < when.iloc[test].min()


def test_training_with_group_and_time_schemes_uses_named_columns():
    X, y, roles = _mixed(120, task_type="classification")
    X["household"] = np.arange(120) // 4
    grouped = train_candidates(
        X,
        y,
        task_type="classification",
        roles=roles,
        families=["logistic_regression"],
        metrics=["accuracy"],
        scheme="group_kfold",
        groups="household",
        n_splits=3,
        features=list(roles),
    )
    assert grouped[0].config["group_column"] == "household"
    options = {"task_type": "classification", "roles": roles, "families": ["decision_tree"], "metrics": ["accuracy"]}
    err = _expect(
        "modeling.order_missing", lambda: train_candidates(X, y, scheme="time_series", order="since", **options)
    )
    assert err.params["count"] == int(X["since"].isna().sum())
    X["recorded"] = pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(120), unit="h")
    timed = train_candidates(
        X,
        y,
        scheme="time_series",
        order="recorded",
        n_splits=3,
        features=list(roles),
        positive_class="leave",
        **options,
    )
    assert timed[0].config["order_column"] == "recorded" and timed[0].config["positive_class"] == "leave"


# ----------------------------------------------------------------------------- metrics and training


def test_cv_metrics_are_sane_on_an_easy_problem(easy):
    X, y = easy
    results = _train(X, y, families=["dummy", "logistic_regression"], metrics=["roc_auc", "accuracy", "recall"])
    dummy, logistic = results
    assert logistic.mean["roc_auc"] > 0.9 and logistic.mean["accuracy"] > 0.8
    assert dummy.mean["roc_auc"] == pytest.approx(0.5)
    for r in results:
        for fold in r.fold_metrics:
            assert 0.0 <= fold["roc_auc"] <= 1.0 and fold["test_rows"] == 100 and fold["train_rows"] == 200
    assert best_candidate(results).family == "logistic_regression"


def test_multiclass_ranking_metrics_work_without_probabilities():
    X, y = make_classification(240, n_features=5, n_informative=4, n_redundant=0, n_classes=3, random_state=2)
    frame = pd.DataFrame(X, columns=list("abcde"))
    [svm] = _train(frame, y, families=["linear_svm"], metrics=["roc_auc", "average_precision", "f1"])
    assert 0.6 < svm.mean["roc_auc"] <= 1.0 and 0.3 < svm.mean["average_precision"] <= 1.0


def test_regression_metrics_are_in_natural_units():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": rng.normal(size=150)})
    y = 3 * X["x"] + 100 + rng.normal(scale=0.1, size=150)
    [ridge] = _train(X, y, task_type="regression", families=["ridge"], metrics=["mae", "rmse", "r2", "mape"])
    assert 0 < ridge.mean["mae"] <= ridge.mean["rmse"] < 0.5
    assert ridge.mean["r2"] > 0.99 and 0 < ridge.mean["mape"] < 0.01
    assert best_candidate([ridge], "mae") is ridge


def test_same_seed_and_data_give_identical_metrics(easy):
    X, y = easy
    families = ["logistic_regression", "random_forest", "hist_gradient_boosting"]
    options = {"families": families, "metrics": ["roc_auc", "f1"], "params": SMALL, "random_state": 7}
    first, second = _train(X, y, **options), _train(X, y, **options)
    for a, b in zip(first, second, strict=True):
        assert [{m: f[m] for m in a.metrics} for f in a.fold_metrics] == [
            {m: f[m] for m in b.metrics} for f in b.fold_metrics
        ]
        assert a.params == b.params
    other = _train(X, y, **{**options, "random_state": 8})
    assert [r.fold_metrics[0]["roc_auc"] for r in other] != [r.fold_metrics[0]["roc_auc"] for r in first]


@pytest.mark.slow  # starts worker processes
def test_folds_in_parallel_give_the_same_metrics(easy):
    X, y = easy
    one = _train(X, y, families=["logistic_regression"], metrics=["roc_auc"], n_jobs=1)
    two = _train(X, y, families=["logistic_regression"], metrics=["roc_auc"], n_jobs=2)
    assert [f["roc_auc"] for f in one[0].fold_metrics] == [f["roc_auc"] for f in two[0].fold_metrics]
    assert two[0].pipeline is not None
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1

    with pytest.raises(TrainingCancelled):  # after the first fold back; the pending ones are abandoned
        _train(X, y, families=["logistic_regression"], metrics=["roc_auc"], n_jobs=2, should_stop=stop)
    assert len(asked) == 2


def test_a_stored_run_reproduces_and_a_changed_one_does_not(easy):
    X, y = easy
    results = _train(X, y, families=["dummy", "decision_tree"], metrics=["roc_auc", "accuracy"], random_state=4)
    config = json.loads(json.dumps(run_config(results)))  # as stored in and read back from the database
    outcome = reproduce(config, X, y)
    assert outcome.matches and len(outcome.checks) == 4 and all(c.difference == 0.0 for c in outcome.checks)
    config["results"]["decision_tree"]["folds"]["accuracy"][1] += 0.01
    tampered = reproduce(config, X, y)
    assert not tampered.matches
    assert [(c.family, c.metric) for c in tampered.checks if not c.matches] == [("decision_tree", "accuracy")]
    with pytest.raises(InputError) as err:
        reproduce({"families": ["dummy"]}, X, y)
    assert err.value.key == "modeling.bad_run_config"


def test_progress_is_reported_per_model_and_fold(easy):
    X, y = easy
    calls: list[tuple[float, str, dict]] = []
    families = ["dummy", "logistic_regression", "decision_tree"]
    _train(X, y, families=families, metrics=["accuracy"], progress=lambda f, k, **p: calls.append((f, k, p)))
    folds = [(p["family"], p["fold"]) for _, k, p in calls if k == "modeling.progress.fold"]
    assert folds == [(f, k) for f in families for k in (1, 2, 3)]
    assert [p["family"] for _, k, p in calls if k == "modeling.progress.refit"] == families
    fractions = [f for f, _, _ in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    english = catalog("en")
    for _, key, params in calls:
        assert key in english and "{" not in translate(key, "es", **params)


def test_should_stop_cancels_between_folds(easy):
    X, y = easy
    asked = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 2

    with pytest.raises(TrainingCancelled) as err:
        _train(X, y, families=["logistic_regression", "decision_tree"], metrics=["accuracy"], should_stop=stop)
    assert err.value.key == "modeling.cancelled" and len(asked) == 3


@pytest.mark.parametrize("kind", ["random", "halving"])
def test_search_respects_a_small_budget(kind):
    X, y = make_classification(1500, n_features=6, n_informative=4, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcdef"))
    budget = 1.5
    start = time.perf_counter()
    results = _train(
        frame,
        y,
        families=["dummy", "decision_tree", "logistic_regression"],
        metrics=["roc_auc"],
        search={"kind": kind, "budget_s": budget, "n_iter": 200},
    )
    elapsed = time.perf_counter() - start
    dummy, tree, logistic = results
    assert dummy.search is None
    for r in (tree, logistic):
        s = r.search
        assert s is not None and s.kind == kind and s.metric == "roc_auc"
        assert 1 <= s.evaluated <= s.planned <= 200 and s.stopped_by_budget
        assert s.trials[0].params == {} and s.trials[0].row_share == 1.0
        full = [t.score for t in s.trials if t.row_share == 1.0]
        assert r.mean["roc_auc"] == pytest.approx(max(full))  # never worse than the defaults
        assert r.model_params == s.best_params
    # What one family leaves of the budget goes to the next; together they keep to it (within a fold).
    assert tree.search.seconds + logistic.search.seconds < budget + 1.0
    # The budget bounds the searches; the final fits and the defaults of a slow family may add a little.
    assert elapsed < budget + 3.0


# ----------------------------------------------------------------------------- bad input


def _expect(key: str, call) -> InputError:
    with pytest.raises(InputError) as err:
        call()
    assert err.value.key == key
    assert key in catalog("en")
    message = err.value.message("es")
    assert "{" not in message and message != err.value.message("en")
    return err.value


def test_bad_targets_are_refused_with_what_to_do():
    X, y, roles = _mixed(task_type="classification")
    options = {"task_type": "classification", "roles": roles, "families": ["dummy"], "metrics": ["accuracy"]}
    err = _expect("modeling.single_class", lambda: train_candidates(X, pd.Series(["a"] * len(X)), **options))
    assert err.params["label"] == "a"
    gappy = y.copy()
    gappy.iloc[:7] = None
    err = _expect("modeling.target_missing", lambda: train_candidates(X, gappy, **options))
    assert err.params["count"] == 7 and "Labels" in str(err)
    _expect(
        "modeling.target_not_numeric",
        lambda: train_candidates(
            X, y, **{**options, "task_type": "regression", "families": ["dummy"], "metrics": ["mae"]}
        ),
    )
    _expect("modeling.too_many_classes", lambda: train_candidates(X, pd.Series(np.arange(len(X))), **options))
    _expect("modeling.target_misaligned", lambda: train_candidates(X, y.iloc[:10], **options))


def test_bad_features_are_refused():
    X, y, roles = _mixed(task_type="classification")
    options = {"task_type": "classification", "families": ["random_forest"], "metrics": ["accuracy"]}
    constant = pd.DataFrame({"a": [1.0] * len(X), "b": ["x"] * len(X)})
    err = _expect(
        "modeling.only_constant_features",
        lambda: train_candidates(constant, y, roles={"a": "numeric", "b": "categorical"}, **options),
    )
    assert "a" in err.params["columns"]
    with_text = X.assign(note=["the line keeps dropping every evening"] * len(X))
    err = _expect(
        "modeling.text_not_supported",
        lambda: train_candidates(with_text, y, roles={**roles, "note": "text"}, **options),
    )
    assert err.params["columns"] == "note" and "random_forest" in err.params["families"]
    only_ids = X[["customer_id"]]
    _expect("modeling.no_features", lambda: train_candidates(only_ids, y, roles=roles, **options))
    _expect("modeling.role_mismatch", lambda: train_candidates(X, y, roles={**roles, "plan": "numeric"}, **options))
    _expect("modeling.unknown_role", lambda: train_candidates(X, y, roles={**roles, "plan": "colour"}, **options))
    _expect("modeling.features_not_columns", lambda: train_candidates(X, y, roles=roles, features=["nope"], **options))


def test_too_few_rows_for_the_folds_are_refused():
    X, y, roles = _mixed(task_type="classification")
    options = {"task_type": "classification", "roles": roles, "families": ["dummy"], "metrics": ["accuracy"]}
    four = pd.Series(["leave", "stay"] * 2)
    err = _expect("modeling.too_few_rows", lambda: train_candidates(X.head(4), four, n_splits=5, **options))
    assert err.params == {"rows": 4, "minimum": 5}
    rare = y.copy()
    rare[:] = "stay"
    rare.iloc[:3] = "leave"
    err = _expect("modeling.too_few_per_class", lambda: train_candidates(X, rare, n_splits=5, **options))
    assert err.params == {"label": "leave", "count": 3, "folds": 5}
    _expect("modeling.bad_n_splits", lambda: train_candidates(X, y, n_splits=1, **options))
    X["recorded"] = pd.to_datetime("2024-01-01") + pd.to_timedelta(np.arange(len(X)), unit="D")
    late = pd.Series(["stay"] * 60 + ["leave", "stay"] * 15)  # the first 60 days only ever "stay"
    err = _expect(
        "modeling.fold_one_class",
        lambda: train_candidates(X, late, scheme="time_series", order="recorded", n_splits=3, **options),
    )
    assert err.params["fold"] == 1 and err.params["label"] == "stay"
    _expect(
        "modeling.too_few_groups",
        lambda: train_candidates(X, y, scheme="group_kfold", groups=np.arange(len(X)) % 2, n_splits=3, **options),
    )


@pytest.mark.parametrize("budget", [0, -5, float("nan"), "soon"])
def test_a_budget_that_is_not_positive_is_refused(budget):
    X, y, roles = _mixed(task_type="classification")
    err = _expect(
        "modeling.bad_budget",
        lambda: train_candidates(
            X,
            y,
            task_type="classification",
            roles=roles,
            families=["decision_tree"],
            metrics=["accuracy"],
            search={"kind": "random", "budget_s": budget},
        ),
    )
    assert err.params["budget"] == str(budget)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"families": ["neural_net"]}, "modeling.unknown_family"),
        ({"families": ["ridge"]}, "modeling.unknown_family"),
        ({"families": []}, "modeling.no_families"),
        ({"metrics": ["gini"]}, "modeling.unknown_metric"),
        ({"metrics": ["mae"]}, "modeling.metric_wrong_task"),
        ({"metrics": []}, "modeling.no_metrics"),
        ({"scheme": "bootstrap"}, "modeling.unknown_scheme"),
        ({"scheme": "group_kfold"}, "modeling.groups_required"),
        ({"scheme": "time_series"}, "modeling.order_required"),
        ({"scheme": "time_series", "order": "plan"}, "modeling.order_not_dates"),
        ({"scheme": "time_series", "order": "when"}, "modeling.order_not_a_column"),
        ({"search": {"kind": "grid", "budget_s": 5}}, "modeling.unknown_search"),
        ({"search": {"kind": "random", "budget_s": 5, "n_iter": 0}}, "modeling.bad_n_iter"),
        ({"search": {"kind": "halving", "budget_s": 5, "n_iter": 10**6}}, "modeling.bad_n_iter"),
        ({"search": {"budget_s": 5, "trials": 3}}, "modeling.bad_search"),
        ({"task_type": "clustering"}, "modeling.unknown_task"),
        ({"params": {"decision_tree": {"depth": 3}}}, "modeling.unknown_param"),
        ({"positive_class": "maybe"}, "modeling.bad_positive_class"),
        ({"scheme": "holdout", "test_size": 1.5}, "modeling.bad_test_size"),
    ],
)
def test_unknown_choices_are_refused(change, key):
    X, y, roles = _mixed(task_type="classification")
    options = {
        "task_type": "classification",
        "roles": roles,
        "families": ["decision_tree"],
        "metrics": ["accuracy"],
        **change,
    }
    _expect(key, lambda: train_candidates(X, y, **options))


def test_metrics_cover_the_canvas():
    assert set(METRICS) == set(CANVAS_METRICS["classification"]) | set(CANVAS_METRICS["regression"])
    english, spanish = catalog("en"), catalog("es")
    for task, families in MODEL_FAMILIES.items():
        for name, family in families.items():
            assert f"modeling.family.{name}" in english and f"modeling.family.{name}" in spanish
            assert family.task_type == task
            if "n_estimators" in family.defaults:
                assert family.defaults["n_estimators"] <= 200 and family.defaults.get("max_depth")
    for scheme in SCHEMES:
        assert f"modeling.scheme.{scheme}" in english


# ----------------------------------------------------------------------------- environment


def test_environment_fingerprint_and_mismatch():
    fingerprint = environment_fingerprint()
    json.dumps(fingerprint)
    assert fingerprint["packages"]["scikit-learn"] and fingerprint["host"]
    check_environment(fingerprint)  # the running environment is accepted
    patched = dict(fingerprint["packages"])
    patched["scikit-learn"] = "1.2.3"
    err = _expect("modeling.env_mismatch", lambda: check_environment({**fingerprint, "packages": patched}))
    assert err.params["package"] == "scikit-learn" and err.params["recorded"] == "1.2.3"
    assert "1.2.3" in str(err)
    same_minor = dict(fingerprint["packages"])
    same_minor["numpy"] = ".".join(same_minor["numpy"].split(".")[:2] + ["999"])
    check_environment({**fingerprint, "packages": same_minor})  # patch releases are compatible
    _expect("modeling.env_mismatch", lambda: check_environment({}))


def test_fingerprint_without_git(monkeypatch):
    monkeypatch.setenv("PATH", "")
    fingerprint = environment_fingerprint()
    assert fingerprint["git_commit"] is None and fingerprint["git_dirty"] is None


# ----------------------------------------------------------------------------- model package


@pytest.fixture(scope="module")
def trained() -> tuple[pd.DataFrame, object]:
    X, y, roles = _mixed(task_type="classification")
    [result] = train_candidates(
        X,
        y,
        task_type="classification",
        roles=roles,
        families=["random_forest"],
        metrics=["roc_auc", "recall"],
        n_splits=3,
        params=SMALL,
    )
    return X, result


def test_model_card_in_both_languages(trained):
    _, result = trained
    card = ModelCardData.from_candidate(
        result,
        title="Churn <b>May</b>",
        target="churned",
        data_version_sha="ab" * 32,
        environment=environment_fingerprint(),
        intended_use="Retention team calls the top 5%.\n# not a heading",
        trained_at=pd.Timestamp("2025-06-01 10:30").to_pydatetime(),
    )
    assert card.params["n_estimators"] == 10 and "categorical_features" not in card.params
    english, spanish = model_card_markdown(card, lang="en"), model_card_markdown(card, lang="es")
    for text, headings in (
        (english, ["Model details", "Intended use", "Performance", "Parameters", "Limitations", "Environment"]),
        (spanish, ["Detalles del modelo", "Uso previsto", "Desempeño", "Parámetros", "Limitaciones", "Entorno"]),
    ):
        assert [line[3:] for line in text.splitlines() if line.startswith("## ")][:2] == headings[:2]
        for heading in headings:
            assert f"## {heading}" in text
        assert "modeling." not in text and "planning." not in text  # every key translated
        assert "<b>" not in text and "\\# not a heading" in text
        assert "ab" * 32 in text and "2025-06-01 10:30" in text
    mean = result.mean["roc_auc"]
    assert f"{mean:.4f}".rstrip("0")[:5].replace(".", ",") in spanish
    assert "Bosque aleatorio" in spanish and "Random forest" in english
    _expect("modeling.unknown_language", lambda: model_card_markdown(card, lang="fr"))


def test_input_schema(trained):
    X, result = trained
    schema = input_schema(X, list(result.features), result.config["roles"])
    json.dumps(schema)
    columns = {c["name"]: c for c in schema["columns"]}
    assert list(columns) == list(result.features)
    assert columns["plan"]["categories"] == ["basic", "plus", "pro"] and columns["plan"]["missing"]
    assert columns["paid"]["categories"] == ["False", "True"]
    assert columns["amount"]["min"] < columns["amount"]["max"] and columns["amount"]["missing"]
    assert isinstance(columns["visits"]["max"], int)
    assert re.match(r"\d{4}-\d\d-\d\dT", columns["since"]["min"])
    _expect("modeling.features_not_columns", lambda: input_schema(X, ["nope"], {}))
    _expect("modeling.role_missing", lambda: input_schema(X, ["plan"], {}))


def test_requirements_pin_exact_versions():
    fingerprint = environment_fingerprint()
    text = requirements_txt(fingerprint)
    pins = [line for line in text.splitlines() if not line.startswith("#")]
    assert f"scikit-learn=={fingerprint['packages']['scikit-learn']}" in pins
    assert all(re.fullmatch(r"[a-z-]+==[\w.+!-]+", pin) for pin in pins)
    bad = {**fingerprint, "packages": {"numpy": "2.0\n--index-url http://evil"}}
    _expect("modeling.bad_fingerprint", lambda: requirements_txt(bad))


# ----------------------------------------------------------------------------- preparation recipes (issue 7)


def _imbalanced() -> tuple[pd.DataFrame, pd.Series]:
    X, y = make_classification(
        240,
        n_features=4,
        n_informative=3,
        n_redundant=0,
        n_clusters_per_class=1,
        weights=[0.8],
        class_sep=1.5,
        random_state=4,
    )
    frame = pd.DataFrame(X * [1.0, 100.0, 0.01, 5.0], columns=["a", "b", "c", "d"])
    return frame, pd.Series(y, name="churned")


def _scale_and_smote():
    from mlcore.data.prepare.recipe import Recipe, make_step

    return Recipe(
        "prep",
        target="churned",
        columns=dict.fromkeys(["a", "b", "c", "d"], "numeric"),
        steps=(make_step("scale", method="robust"), make_step("smote", k_neighbors=3)),
    )


def test_a_recipe_with_scaling_and_smote_trains_and_reproduces():
    X, y = _imbalanced()
    recipe = _scale_and_smote()
    families = ["logistic_regression", "hist_gradient_boosting"]
    results = _train(X, y, families=families, metrics=["roc_auc", "f1"], params=SMALL, recipe=recipe)
    for result in results:
        assert [name for name, _ in result.pipeline.steps] == ["prepare", "s2_smote", "model"]
        assert type(result.pipeline).__module__ == "imblearn.pipeline"
        assert result.mean["roc_auc"] > 0.8
        assert result.config["recipe"] == recipe.to_dict()
        assert result.config["recipe_fingerprint"] == recipe.fingerprint
        assert result.pipeline.predict(X.head(7)).shape == (7,)  # no resampling when predicting
    config = json.loads(json.dumps(run_config(results)))
    assert config["recipe_fingerprint"] == recipe.fingerprint
    again = reproduce(config, X, y)
    assert again.matches and max(c.difference for c in again.checks) == 0.0
    plain = _train(X, y, families=["logistic_regression"], metrics=["roc_auc", "f1"])
    assert "recipe" not in run_config(plain) and plain[0].mean["f1"] != results[0].mean["f1"]
    changed = {**config, "recipe_fingerprint": "0" * 64}
    _expect("recipes.fingerprint_changed", lambda: reproduce(changed, X, y))


def test_samplers_never_touch_validation_folds(monkeypatch):
    from mlcore.data.prepare import processing

    X, y = _imbalanced()
    seen: list[set[int]] = []
    original = processing.ClassSampler.fit_resample

    def spy(self, data, target):
        seen.append(set(data.index))
        return original(self, data, target)

    monkeypatch.setattr(processing.ClassSampler, "fit_resample", spy)
    _train(X, y, families=["logistic_regression"], metrics=["roc_auc"], recipe=_scale_and_smote(), n_jobs=1)
    splitter = make_splitter("stratified_kfold", n_splits=3, task_type="classification", random_state=0)
    folds = [(set(X.index[tr]), set(X.index[te])) for tr, te in splitter.split(X, y)]
    # one resampling per training fold, one for the final fit on every row, none while scoring
    assert len(seen) == len(folds) + 1
    for rows, (train, validation) in zip(seen, folds, strict=False):
        assert rows == train and not rows & validation
    assert seen[-1] == set(X.index)


def test_recipe_errors_are_raised_before_training():
    from mlcore.data.prepare.recipe import Recipe, make_step

    X, y = _imbalanced()
    unknown = Recipe("r", target="churned", steps=(make_step("scale", columns=("salary",)),))
    _expect("prep.unknown_column", lambda: _train(X, y, families=["dummy"], metrics=["roc_auc"], recipe=unknown))
    weights = Recipe("w", target="churned", steps=(make_step("class_weight"),))
    _expect(
        "prep.class_weight_unsupported",
        lambda: _train(X, y, families=["knn"], metrics=["roc_auc"], recipe=weights),
    )
    _expect("prep.not_a_recipe", lambda: _train(X, y, families=["dummy"], metrics=["roc_auc"], recipe={"steps": []}))
    regression = y.astype(float) * 3.5
    _expect(
        "prep.needs_classification",
        lambda: _train(
            X, regression, task_type="regression", families=["ridge"], metrics=["mae"], recipe=_scale_and_smote()
        ),
    )
