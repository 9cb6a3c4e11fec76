"""Preparation recipes: steps and their validation, JSON/YAML round trips and hostile input, applying to new
data, previews, composing with a model, and no leakage from validation rows into fitted statistics."""

from __future__ import annotations

import io
import json
import time
import typing

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.preprocessing import TargetEncoder

from mlcore.data.prepare.processing import FinishFeatures
from mlcore.data.prepare.recipe import (
    MAX_RECIPE_BYTES,
    MAX_STEPS,
    STEP_KINDS,
    Recipe,
    StepPreview,
    apply_row_steps,
    build_feature_pipeline,
    compose_pipeline,
    make_step,
    preview_step,
    step_kinds,
)
from mlcore.data.prepare.steps import STAGES, choice_key, field_key
from mlcore.errors import InputError
from mlcore.i18n import catalog, translate
from mlcore.modeling.training import build_pipeline, train_candidates

ROLES = {
    "customer": "identifier",
    "age": "numeric",
    "income": "numeric",
    "plan": "categorical",
    "since": "datetime",
    "churned": "categorical",
}


def _data(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    income = rng.lognormal(8, 1, n)
    frame = pd.DataFrame(
        {
            "customer": [f"c{i}" for i in range(n)],
            "age": rng.normal(40, 10, n).round(),
            "income": income,
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "since": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 1500, n), unit="D"),
            "churned": (rng.random(n) < 0.25).astype(int),
        }
    )
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    return frame


def _recipe(*steps, **options) -> Recipe:
    return Recipe("churn prep", steps=tuple(steps), columns=ROLES, target="churned", **options)


FULL = (
    make_step("drop_duplicates"),
    make_step("outliers", columns=["income"], action="clip"),
    make_step("impute", strategy="median", add_indicator=True),
    make_step("date_parts", parts=["year", "month"]),
    make_step("combine", pairs=[["income", "age"]]),
    make_step("log", columns=["income"], keep_original=True),
    make_step("encode", columns=["plan"], method="target"),
    make_step("scale", method="robust"),
    make_step("select_variance"),
    make_step("smote", k_neighbors=3),
)


# ----------------------------------------------------------------------------- steps


def test_every_kind_has_a_stage_a_model_and_texts_in_both_languages():
    en, es = catalog("en"), catalog("es")
    assert {s.stage for s in STEP_KINDS.values()} == set(STAGES)
    assert [s.kind for s in step_kinds("row")] + [s.kind for s in step_kinds("feature")] == list(STEP_KINDS)
    assert (
        STEP_KINDS["impute_rows"].prefer == "impute" and STEP_KINDS[STEP_KINDS["impute_rows"].prefer].stage == "feature"
    )
    for spec in STEP_KINDS.values():
        for key in (spec.label_key, spec.help_key, f"prep.group.{spec.group}", f"prep.stage.{spec.stage}.help"):
            assert key in en and key in es, key
        assert en[spec.help_key] != es[spec.help_key]
        spec.params.model_json_schema()  # the page can build a form from it
        for name, info in spec.params.model_fields.items():
            assert field_key(name) in en and field_key(name) in es, name
            for value in _literals(info.annotation):
                assert choice_key(value) in en and choice_key(value) in es, value


def _literals(annotation) -> set:
    found = set(typing.get_args(annotation)) if typing.get_origin(annotation) is typing.Literal else set()
    for arg in typing.get_args(annotation):
        found |= _literals(arg)
    return found


@pytest.mark.parametrize(
    ("kind", "params", "key", "param"),
    [
        ("nope", {}, "prep.unknown_kind", None),
        ("scale", {"methd": "robust"}, "prep.param_unknown", "methd"),
        ("scale", {"method": "log"}, "prep.param_choice", "method"),
        ("scale", {"columns": "age"}, "prep.param_type", "columns"),
        ("scale", {"columns": [1]}, "prep.param_type", "columns.0"),
        ("scale", {"columns": []}, "prep.param_too_few", "columns"),
        ("scale", {"columns": ["x"] * 10_001}, "prep.param_too_many", "columns"),
        ("select_k_best", {"k": 10**9}, "prep.param_range", "k"),
        ("select_k_best", {"k": True}, "prep.param_type", "k"),
        ("select_k_best", {"k": "3"}, "prep.param_type", "k"),
        ("bin_numeric", {"n_bins": 1}, "prep.param_range", "n_bins"),
        ("jitter", {"scale": float("nan")}, "prep.param_type", "scale"),
        ("jitter", {"share": float("inf")}, "prep.param_type", "share"),
        ("polynomial", {}, "prep.param_missing", "columns"),
        ("smote", {"k_neighbors": 0}, "prep.param_range", "k_neighbors"),
        ("outliers", {"contamination": 0.9}, "prep.param_range", "contamination"),
    ],
)
def test_bad_parameters_are_refused_with_the_step_and_setting_named(kind, params, key, param):
    with pytest.raises(InputError) as err:
        make_step(kind, params)
    assert err.value.key == key
    if param is not None:
        assert err.value.params["param"] == param and err.value.params["step"] == kind
    assert "{" not in translate(err.value.key, "es", **err.value.params)


def test_make_step_keywords_and_notes():
    step = make_step("scale", {"method": "minmax"}, method="robust", note="linear model")
    assert step.params.method == "robust" and step.note == "linear model" and step.stage == "feature"
    assert make_step("impute_rows").stage == "row"
    with pytest.raises(InputError, match="note"):
        make_step("scale", note="x" * 3000)
    with pytest.raises(InputError):
        make_step("scale", ["method"])  # type: ignore[arg-type]


EXAMPLE_PARAMS = {
    "drop_columns": {"columns": ["customer"]},
    "fix_types": {"columns": ["plan"], "to": "date"},
    "combine": {"pairs": [["income", "age"]]},
    "polynomial": {"columns": ["income", "age"]},
    "select_k_best": {"k": 2},
    "recursive_elimination": {"n_features": 2},
    "smote": {"k_neighbors": 3},
}


@pytest.mark.parametrize("kind", [s.kind for s in step_kinds("row")])
def test_every_row_kind_applies_and_reports(kind):
    recipe = _recipe(make_step(kind, EXAMPLE_PARAMS.get(kind, {})))
    out, report = apply_row_steps(_data(), recipe)
    [step] = report.steps
    assert step.kind == kind and step.rows_after == len(out) <= 120
    assert set(report.roles) == set(out.columns) and json.dumps(report.to_dict(), allow_nan=False)
    assert preview_step(_data(), _recipe(), recipe.steps[0]).kind == kind


@pytest.mark.parametrize("kind", [s.kind for s in step_kinds("feature")])
def test_every_feature_kind_fits_in_a_pipeline_and_clones(kind):
    step = make_step(kind, EXAMPLE_PARAMS.get(kind, {}))
    recipe = _recipe(make_step("impute"), step) if kind != "impute" else _recipe(step)
    data = _data()
    X, y = data.drop(columns=["churned"]), data["churned"]
    features = build_feature_pipeline(recipe)
    out = features.fit_transform(X, y)
    assert isinstance(out, pd.DataFrame) and out.index.equals(X.index)
    assert list(features.get_feature_names_out()) == list(out.columns)
    assert clone(features).get_params().keys() == features.get_params().keys()
    model = compose_pipeline(recipe, roles=ROLES, model_pipeline=LogisticRegression(max_iter=500)).fit(X, y)
    assert model.predict(X.head(5)).shape == (5,)


# ----------------------------------------------------------------------------- recipes


def test_order_rules_and_editing():
    recipe = _recipe(make_step("scale"))
    grown = recipe.with_step(make_step("smote")).with_step(make_step("impute_rows")).with_step(make_step("log"))
    assert [s.kind for s in grown.steps] == ["impute_rows", "scale", "log", "smote"]
    assert [s.kind for s in grown.row_steps] == ["impute_rows"] and len(grown.feature_steps) == 3
    assert [s.kind for s in grown.without_step(1).steps] == ["impute_rows", "log", "smote"]
    assert grown.replacing_step(1, make_step("scale", method="robust")).steps[1].params.method == "robust"
    assert grown.head(2).steps == grown.steps[:2] and grown.next_version().version == 2
    assert recipe.steps == (make_step("scale"),)  # editing returns new recipes
    with pytest.raises(InputError) as err:
        grown.with_step(make_step("impute_rows"), position=4)
    assert err.value.key == "prep.row_step_late"
    with pytest.raises(InputError) as err:
        _recipe(make_step("smote"), make_step("scale"))
    assert err.value.key == "prep.feature_step_late"
    for bad in (-1, 9, True):
        with pytest.raises(InputError):
            grown.without_step(bad)
    with pytest.raises(InputError) as err:
        _recipe(*([make_step("scale")] * (MAX_STEPS + 1)))
    assert err.value.key == "prep.too_many_steps"


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"name": "<script>alert(1)</script>"}, "errors.name_path_chars"),
        ({"name": "=cmd|' /C calc'!A0"}, "errors.name_path_chars"),
        ({"name": "   "}, "errors.name_empty"),
        ({"version": 0}, "prep.bad_version"),
        ({"version": True}, "prep.bad_version"),
        ({"notes": "x" * 20_000}, "prep.notes_too_long"),
        ({"columns": {"age": "money"}}, "prep.unknown_role"),
        ({"source": {"x": object()}}, "prep.bad_recipe"),
    ],
)
def test_bad_recipes_are_refused(options, key):
    fields = {"name": "ok", **options}
    with pytest.raises(InputError) as err:
        Recipe(**fields)
    assert err.value.key == key


def test_validate_follows_columns_through_the_steps():
    schema = _recipe(*FULL).validate()
    assert {"income_over_age", "income_log", "since_year", "since_month"} <= set(schema.roles)
    assert "since" not in schema.roles and "plan" not in schema.roles  # encoded: its columns are known once fitted
    cases = [
        (make_step("scale", columns=["=cmd|' /C calc'!A0"]), "prep.unknown_column", "=cmd|' /C calc'!A0"),
        (make_step("scale", columns=["plan"]), "prep.wrong_role", "plan"),
        (make_step("scale", columns=["churned"]), "prep.target_not_allowed", "churned"),
        (make_step("log", columns=["age", "age"]), "prep.duplicate_column", "age"),
        (make_step("combine", pairs=[["age", "age"]]), "prep.same_column", "age"),
        (make_step("polynomial", columns=[f"c{i}" for i in range(20)], degree=3, interaction_only=False), None, None),
    ]
    for step, key, column in cases:
        with pytest.raises(InputError) as err:
            _recipe(make_step("drop_columns", columns=["customer"]), step).validate(
                roles={**ROLES, **{f"c{i}": "numeric" for i in range(20)}}
            )
        if key is not None:
            assert err.value.key == key and err.value.params["column"] == column
            assert err.value.params["step"] == f"2 ({step.kind})"
        else:
            assert err.value.key == "prep.too_many_features"
    with pytest.raises(InputError) as err:
        Recipe("no target", steps=(make_step("encode", method="target"),), columns=ROLES).validate()
    assert err.value.key == "prep.needs_target"
    with pytest.raises(InputError) as err:
        _recipe(make_step("log", columns=["income"], keep_original=True)).validate(
            roles={**ROLES, "income_log": "numeric"}
        )
    assert err.value.key == "prep.name_taken"


# ----------------------------------------------------------------------------- text formats


def test_json_and_yaml_round_trips_give_the_same_recipe_and_output():
    recipe = _recipe(*FULL, notes="built on churn v3 — «ñ»", source={"dataset": "churn", "version": 3})
    for text, read in ((recipe.to_json(), Recipe.from_json), (recipe.to_yaml(), Recipe.from_yaml)):
        again = read(text)
        assert again == recipe and again.fingerprint == recipe.fingerprint
    assert Recipe.from_json(recipe.to_json().encode("utf-8")) == recipe
    data = _data()
    first, report = apply_row_steps(data, recipe)
    second, _ = apply_row_steps(data, Recipe.from_yaml(recipe.to_yaml()))
    pd.testing.assert_frame_equal(first, second)
    X, y = first.drop(columns=["churned"]), first["churned"]
    a = build_feature_pipeline(recipe, roles=report.roles).fit_transform(X, y)
    b = build_feature_pipeline(Recipe.from_json(recipe.to_json()), roles=report.roles).fit_transform(X, y)
    pd.testing.assert_frame_equal(a, b)
    changed = recipe.replacing_step(7, make_step("scale", method="standard"))
    assert changed.fingerprint != recipe.fingerprint
    assert recipe.next_version().fingerprint == recipe.fingerprint


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("not json", "prep.bad_json"),
        ("[1, 2]", "prep.bad_recipe"),
        ('{"format": "ciclo.recipe", "format_version": 1, "name": "x", "steps": [], "extra": 1}', "prep.bad_recipe"),
        ('{"format": "other", "format_version": 1, "name": "x"}', "prep.bad_format"),
        ('{"format": "ciclo.recipe", "format_version": 2, "name": "x"}', "prep.bad_format"),
        ('{"format": "ciclo.recipe", "format_version": 1, "name": "x", "steps": {}}', "prep.bad_recipe"),
        (
            '{"format": "ciclo.recipe", "format_version": 1, "name": "x", "steps": [{"kind": "rm -rf"}]}',
            "prep.unknown_kind",
        ),
        (
            '{"format": "ciclo.recipe", "format_version": 1, "name": "x", "steps": [{"kind": "scale", "params": [1]}]}',
            "prep.params_not_mapping",
        ),
        (
            '{"format": "ciclo.recipe", "format_version": 1, "name": "x", "version": 1e400, "steps": []}',
            "prep.bad_version",
        ),
        ('{"format": "ciclo.recipe", "format_version": 1, "name": NaN}', "prep.bad_json"),
        ('{"format": "ciclo.recipe", "format_version": 1, "name": "<script>x</script>"}', "errors.name_path_chars"),
        (_nested(100_000), "prep.bad_json"),
        ("x" * (MAX_RECIPE_BYTES + 1), "prep.recipe_too_large"),
        (b"\xff\xfe\x00bad", "prep.bad_json"),
    ],
)
def test_hostile_or_broken_json_gives_a_clear_error(text, key):
    with pytest.raises(InputError) as err:
        Recipe.from_json(text)
    assert err.value.key == key


def test_step_errors_in_a_file_name_the_step_position():
    text = json.dumps(
        {
            "format": "ciclo.recipe",
            "format_version": 1,
            "name": "x",
            "steps": [{"kind": "scale"}, {"kind": "select_k_best", "params": {"k": -3}}],
        }
    )
    with pytest.raises(InputError) as err:
        Recipe.from_json(text)
    assert err.value.key == "prep.param_range" and err.value.params["step"] == "2 (select_k_best)"


LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(8)
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("!!python/object/apply:os.system ['echo hacked']", "prep.bad_yaml"),
        ("format: ciclo.recipe\nname: [unclosed", "prep.bad_yaml"),
        (LAUGHS, "prep.bad_yaml"),
        ("- just\n- a list", "prep.bad_recipe"),
        (
            "format: ciclo.recipe\nformat_version: 1\nname: x\n"
            "steps:\n  - kind: scale\n    params: {columns: 2024-01-01}",
            "prep.param_type",
        ),
        ("format: ciclo.recipe\nformat_version: 1\n1: x", "prep.bad_recipe"),
        ("", "prep.bad_recipe"),
    ],
)
def test_hostile_or_broken_yaml_gives_a_clear_error(text, key):
    with pytest.raises(InputError) as err:
        Recipe.from_yaml(text)
    assert err.value.key == key


# ----------------------------------------------------------------------------- applying to new data


def test_new_data_missing_extra_columns_and_unseen_categories():
    recipe = _recipe(make_step("tidy_categories", columns=["plan"], min_share=0.2), make_step("encode"))
    old, report = apply_row_steps(_data(), recipe)
    new = _data(seed=1).drop(columns=["churned"]).assign(plan="enterprise", notes="kept as is")
    out, new_report = apply_row_steps(new, recipe, states=report.states)
    assert new_report.extra_columns == ("notes",) and out["notes"].eq("kept as is").all()
    assert set(out["plan"]) == {"other"}  # unseen category merged by the reused state
    assert new_report.roles["notes"] == "categorical"
    pipe = build_feature_pipeline(recipe, roles=report.roles).fit(old.drop(columns=["churned"]), old["churned"])
    encoded = pipe.transform(out.drop(columns=["notes"]))
    assert encoded.filter(like="plan_").sum(axis=1).eq(0).all()  # unseen: all zeros, no error
    with pytest.raises(InputError) as err:
        apply_row_steps(new.drop(columns=["plan"]), recipe)
    assert err.value.key == "prep.missing_column" and err.value.params == {
        "column": "plan",
        "step": "1 (tidy_categories)",
    }
    with pytest.raises(InputError) as err:
        apply_row_steps(new.drop(columns=["age"]), recipe)
    assert err.value.params == {"column": "age", "step": "—"}
    with pytest.raises(InputError) as err:
        pipe.transform(out.drop(columns=["notes", "plan"]))
    assert err.value.key == "prep.column_gone" and err.value.params["column"] == "plan"


@pytest.mark.parametrize(
    ("frame", "key"),
    [
        (pd.DataFrame(), "prep.no_columns"),
        (pd.DataFrame({"age": []}), "prep.no_rows"),
        ([[1, 2]], "prep.not_a_frame"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), "prep.duplicate_columns"),
        (pd.DataFrame([[1, 2]]), "prep.column_names_not_text"),
    ],
)
def test_unusable_frames_are_refused(frame, key):
    with pytest.raises(InputError) as err:
        apply_row_steps(frame, Recipe("x"))
    assert err.value.key == key


def test_progress_and_report():
    calls = []
    recipe = _recipe(make_step("drop_duplicates"), make_step("impute_rows"), make_step("scale"))
    out, report = apply_row_steps(_data(), recipe, progress=lambda f, key, **p: calls.append((f, key, p)))
    assert [c[0] for c in calls] == [0.5, 1.0] and calls[0][1] == "prep.progress.step"
    assert report.rows_before == 120 and report.columns == tuple(out.columns)
    assert json.dumps(report.to_dict(), allow_nan=False)
    assert out["age"].notna().all() and out["income"].equals(_data()["income"])  # scaling is a feature step


# ----------------------------------------------------------------------------- previews


def test_preview_of_a_row_step():
    data = _data().assign(income=lambda d: d["income"].where(d.index != 5, 1e9))
    preview = preview_step(
        data, _recipe(make_step("drop_duplicates")), make_step("outliers", columns=["income"], action="remove")
    )
    assert isinstance(preview, StepPreview) and preview.stage == "row" and preview.position == 2
    assert preview.rows_removed >= 1 and 5 in preview.removed_rows
    assert preview.rows_before - preview.rows_after == preview.rows_removed
    assert 5 in preview.sample_before.index and 5 not in preview.sample_after.index
    assert preview.facts["state"]["bounds"]["income"][1] < 1e9
    clip = preview_step(data, _recipe(), make_step("outliers", columns=["income"]))
    change = {c.column: c for c in clip.changes}["income"]
    assert clip.values_changed["income"] == change.changed >= 1 and change.after.max < change.before.max
    assert translate(clip.label_key, "es") != clip.label_key


def test_preview_of_feature_steps():
    data = _data()
    recipe = _recipe(make_step("impute"))
    scaled = preview_step(data, recipe, make_step("scale", columns=["age", "income"]))
    after = {c.column: c.after for c in scaled.changes}
    assert abs(after["income"].mean) < 1e-9 and abs(after["income"].std - 1) < 1e-9
    assert scaled.values_changed["age"] == len(data) and scaled.facts["mean"]["income"] > 0
    onehot = preview_step(data, recipe, make_step("encode"))
    assert set(onehot.columns_removed) == {"plan"} and {"plan_basic", "plan_plus", "plan_pro"} <= set(
        onehot.columns_added
    )
    smote = preview_step(data, recipe, make_step("smote", k_neighbors=3))
    assert smote.rows_added > 0 and smote.class_counts_after["0"] == smote.class_counts_after["1"]
    weights = preview_step(data, recipe, make_step("class_weight"))
    assert weights.rows_added == 0 and weights.facts["weights"]["1"] > weights.facts["weights"]["0"]
    nothing = preview_step(data.drop(columns=["since"]), Recipe("r", target="churned"), make_step("date_parts"))
    assert nothing.notes and nothing.notes[0].key == "prep.note.no_columns"
    with pytest.raises(InputError) as err:
        preview_step(data.drop(columns=["churned"]), recipe, make_step("select_k_best"))
    assert err.value.key == "prep.needs_target_values"
    with pytest.raises(InputError) as err:
        preview_step(data, recipe, make_step("smote", k_neighbors=50))
    assert err.value.key == "prep.smote_too_few"
    with pytest.raises(InputError) as err:
        preview_step(data, recipe, make_step("polynomial", columns=["age", "income"]), sample_rows=0)
    assert err.value.key == "prep.bad_sample_rows"


def test_preview_runs_on_a_sample_in_well_under_seconds():
    rng = np.random.default_rng(0)
    n = 100_000
    big = pd.DataFrame(
        {
            "customer": np.arange(n).astype(str),
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(8, 1, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "since": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D"),
            "churned": rng.integers(0, 2, n),
        }
    )
    recipe = _recipe(make_step("outliers", columns=["income"]), make_step("impute"), make_step("encode"))
    start = time.perf_counter()
    preview = preview_step(big, recipe, make_step("scale"), sample_rows=5_000)
    assert time.perf_counter() - start < 5.0
    assert preview.total_rows == n and preview.sample_rows == 5_000 and len(preview.sample_before) <= 8


# ----------------------------------------------------------------------------- composing with a model


def test_compose_puts_steps_samplers_and_weights_around_the_model():
    data = _data()
    recipe = _recipe(*FULL)
    rows, report = apply_row_steps(data, recipe)
    X, y = rows.drop(columns=["churned"]), rows["churned"]
    base = build_pipeline(
        "logistic_regression", task_type="classification", roles=report.roles, features=list(X.columns)
    )
    pipe = compose_pipeline(recipe.with_step(make_step("class_weight")), roles=report.roles, model_pipeline=base)
    assert [name for name, _ in pipe.steps] == ["prepare", "s10_smote", "model"]
    assert pipe.named_steps["model"].class_weight == "balanced" and base.named_steps["model"].class_weight is None
    finish = pipe.named_steps["prepare"].pipeline.steps[-1][1]
    assert isinstance(finish, FinishFeatures) and finish.scaled is False  # the recipe scales already
    pipe.fit(X, y)
    assert pipe.predict_proba(X.head(4)).shape == (4, 2)
    buffer = io.BytesIO()
    joblib.dump(pipe, buffer)
    buffer.seek(0)
    assert np.allclose(joblib.load(buffer).predict_proba(X.head(4)), pipe.predict_proba(X.head(4)))
    assert clone(pipe).get_params().keys() == pipe.get_params().keys()
    plain = compose_pipeline(_recipe(make_step("drop_duplicates")), roles=report.roles, model_pipeline=base)
    assert plain.get_params().keys() == base.get_params().keys() and plain is not base


def test_compose_with_gradient_boosting_keeps_categories_native():
    data = _data()
    recipe = _recipe(make_step("log", columns=["income"]))
    base = build_pipeline("hist_gradient_boosting", task_type="classification", roles=ROLES, features=list(ROLES)[:-1])
    pipe = compose_pipeline(recipe, roles=ROLES, model_pipeline=base)
    assert pipe.named_steps["model"].categorical_features == "from_dtype"
    prepared = clone(pipe).named_steps["prepare"].fit_transform(data.drop(columns=["churned"]), data["churned"])
    assert isinstance(prepared["categorical__plan"].dtype, pd.CategoricalDtype)
    assert not any("customer" in c for c in prepared.columns)


def test_compose_refuses_what_the_model_cannot_do():
    regression = build_pipeline("ridge", task_type="regression", roles={"age": "numeric"}, features=["age"])
    for kind in ("smote", "class_weight", "oversample"):
        with pytest.raises(InputError) as err:
            compose_pipeline(_recipe(make_step(kind)), roles=ROLES, model_pipeline=regression)
        assert err.value.key == "prep.needs_classification"
    knn = build_pipeline("knn", task_type="classification", roles={"age": "numeric"}, features=["age"])
    with pytest.raises(InputError) as err:
        compose_pipeline(_recipe(make_step("class_weight")), roles=ROLES, model_pipeline=knn)
    assert err.value.key == "prep.class_weight_unsupported"
    jitter = compose_pipeline(
        _recipe(make_step("select_k_best", k=2), make_step("jitter")), roles=ROLES, model_pipeline=regression
    )
    assert jitter.get_params()["prepare__pipeline__s1_select_k_best__transformer__task"] == "regression"


def test_train_candidates_accepts_a_composed_recipe_through_its_preprocessor_hook():
    data = _data(200)
    recipe = _recipe(make_step("impute"), make_step("encode"), make_step("scale"))
    rows, report = apply_row_steps(data, recipe)
    X, y = rows.drop(columns=["churned"]), rows["churned"]
    base = build_pipeline(
        "logistic_regression", task_type="classification", roles=report.roles, features=list(X.columns)
    )
    prepare = compose_pipeline(recipe, roles=report.roles, model_pipeline=base).named_steps["prepare"]
    pipe = build_pipeline(
        "logistic_regression",
        task_type="classification",
        roles=report.roles,
        features=list(X.columns),
        preprocessor=prepare,
    )
    assert cross_validate(pipe, X, y, cv=3, scoring="roc_auc")["test_score"].mean() > 0.3
    [result] = train_candidates(
        X,
        y,
        task_type="classification",
        roles=report.roles,
        families=["logistic_regression"],
        metrics=["accuracy"],
        n_splits=3,
    )
    assert result.mean["accuracy"] > 0.5


# ----------------------------------------------------------------------------- no leakage


def _shifted(n: int = 90) -> tuple[pd.DataFrame, pd.Series]:
    """Three blocks of rows; the last one lives on another scale and has another churn rate per plan."""
    rng = np.random.default_rng(3)
    X = pd.DataFrame(
        {
            "income": rng.normal(10, 1, n),
            "plan": rng.choice(["basic", "pro"], n),
        }
    )
    X.loc[n * 2 // 3 :, "income"] += 1000
    rate = np.where(X["plan"] == "pro", 0.8, 0.2)
    rate[n * 2 // 3 :] = 1 - rate[n * 2 // 3 :]
    y = pd.Series((rng.random(n) < rate).astype(int), name="churned")
    return X, y


def test_scaling_statistics_come_from_training_folds_only():
    X, y = _shifted()
    roles = {"income": "numeric", "plan": "categorical", "churned": "categorical"}
    recipe = Recipe(
        "leak", steps=(make_step("scale", columns=["income"]), make_step("encode")), columns=roles, target="churned"
    )
    base = build_pipeline("logistic_regression", task_type="classification", roles=roles, features=["income", "plan"])
    pipe = compose_pipeline(recipe, roles=roles, model_pipeline=base)
    result = cross_validate(pipe, X, y, cv=KFold(3), return_estimator=True, return_indices=True)
    for fitted, train, test in zip(
        result["estimator"], result["indices"]["train"], result["indices"]["test"], strict=True
    ):
        scaler = fitted.named_steps["prepare"].pipeline_.steps[0][1].transformer_
        assert np.isclose(scaler.mean_[0], X["income"].iloc[train].mean())
        assert np.isclose(scaler.scale_[0], X["income"].iloc[train].std(ddof=0))
        assert not np.isclose(scaler.mean_[0], X["income"].mean())
        assert not np.isclose(scaler.mean_[0], X["income"].iloc[test].mean())


def test_target_encodings_come_from_training_folds_only():
    X, y = _shifted()
    roles = {"income": "numeric", "plan": "categorical", "churned": "categorical"}
    recipe = Recipe("leak", steps=(make_step("encode", method="target", cv=3),), columns=roles, target="churned")
    model = LogisticRegression()
    pipe = compose_pipeline(recipe, roles=roles, model_pipeline=model)
    result = cross_validate(pipe, X, y, cv=KFold(3), return_estimator=True, return_indices=True)
    full = TargetEncoder(cv=StratifiedKFold(3, shuffle=True, random_state=0)).fit(X[["plan"]], y)
    for fitted, train, _ in zip(
        result["estimator"], result["indices"]["train"], result["indices"]["test"], strict=True
    ):
        encoder = fitted.named_steps["prepare"].pipeline_.steps[0][1].transformer_.encoder_
        alone = TargetEncoder(cv=StratifiedKFold(3, shuffle=True, random_state=0))
        alone.fit(X[["plan"]].iloc[train], y.iloc[train])
        assert np.allclose(encoder.encodings_[0], alone.encodings_[0])
        assert np.isclose(encoder.target_mean_, y.iloc[train].mean())
        assert not np.allclose(encoder.encodings_[0], full.encodings_[0])


def test_every_catalog_key_the_package_uses_exists_in_both_languages():
    import re
    from pathlib import Path

    import mlcore.data.prepare as package

    en, es = catalog("en"), catalog("es")
    used = set()
    for path in Path(package.__file__).parent.glob("*.py"):
        used |= set(re.findall(r'"(prep\.[a-z_]+(?:\.[a-z_]+)*)"', path.read_text(encoding="utf-8")))
    used = {k for k in used if not k.endswith(".")}
    assert len(used) > 50
    assert sorted(k for k in used if k not in en or k not in es) == []
