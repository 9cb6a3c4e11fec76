"""Preparation recipe records: saving makes versions, files round-trip and bad ones save nothing, the apply
job makes a new dataset version with lineage (and can reuse what an earlier run learnt), the step form
offers only columns of the right role, and bad input says what to do."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select

from mlcore.auth import create_user, set_member
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.prepare.recipe import (
    MAX_RECIPE_BYTES,
    STEP_KINDS,
    Recipe,
    apply_row_steps,
    make_step,
    preview_step,
)
from mlcore.data.recipes import (
    APPLY_OPERATION,
    apply_report_frame,
    apply_target,
    changes_frame,
    check_applicable,
    check_training_recipe,
    class_counts_frame,
    derived_versions,
    draft_recipe,
    export_filename,
    export_recipe,
    form_values,
    get_recipe,
    import_recipe,
    list_recipes,
    movable,
    move_step,
    parse_recipe_file,
    recipe_choices,
    recipes_frame,
    resolve_recipe,
    sample_frames,
    save_recipe,
    step_fields,
    step_from_form,
    step_groups,
    step_settings_text,
    steps_frame,
    submit_recipe_apply,
    training_recipe,
)
from mlcore.data.versions import get_version, list_versions, read_version
from mlcore.errors import InputError, NotFound, PermissionDenied
from mlcore.i18n import translate
from mlcore.jobs import run_job
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, User
from mlcore.store.models_preparation import RecipeRecord

PW = "correct horse 1"


@pytest.fixture
def team(ws):
    """An admin, a data engineer, a domain expert and a viewer in two projects."""
    with session_scope(ws.engine) as s:
        admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
        people = {"admin": admin}
        for name, role in [("dana", "data_engineer"), ("edu", "domain_expert"), ("vera", "viewer")]:
            people[name] = create_user(session=s, actor=admin, name=name, role=role, password=PW)
        project = create_project(session=s, data=ProjectCreate(name="Churn"), actor=admin)
        other = create_project(session=s, data=ProjectCreate(name="Other"), actor=admin)
        for name in ("dana", "edu", "vera"):
            for p in (project, other):
                set_member(session=s, actor=admin, project_id=p.id, user_id=people[name].id, role=people[name].role)
    return {**people, "project": project.id, "other": other.id}


def _frame() -> pd.DataFrame:
    """10 rows: row 9 repeats row 0, income 900 is an outlier, one income and one plan are missing."""
    frame = pd.DataFrame(
        {
            "customer": [f"C{i}" for i in range(10)],
            "income": [10.0, 12.0, None, 11.0, 13.0, 9.0, 900.0, 10.5, 12.5, 10.0],
            "plan": ["basic", "pro", "basic", None, "pro", "basic", "pro", "basic", "pro", "basic"],
            "y": [0, 1, 0, 1, 0, 1, 0, 1, 0, 0],
        }
    )
    frame.loc[9, "customer"] = "C0"
    return frame


ROLES = {"customer": "identifier", "income": "numeric", "plan": "categorical", "y": "numeric"}


def _import(ws, team, frame, *, name="churn", project=None, target="y", roles=None):
    roles = ROLES if roles is None else roles
    loaded = ingest.load_frame(frame, roles=roles, source=ingest.SourceInfo(format="synthetic"))
    return save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project or team["project"], dataset_name=name, target=target, roles=roles),
        actor_id=team["admin"].id,
        operation="synthetic",
    )


def _recipe(version, *steps) -> Recipe:
    recipe = draft_recipe(version, name="clean")
    for step in steps:
        recipe = recipe.with_step(step)
    return recipe


def _save(ws, team, recipe, *, who="dana", project=None, name=None):
    with session_scope(ws.engine) as s:
        return save_recipe(
            session=s, actor=s.get(User, team[who].id), project_id=project or team["project"], recipe=recipe, name=name
        )


def _apply(ws, team, version, *, who="dana", **options):
    job_id = submit_recipe_apply(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        version_id=version.id,
        actor_id=team[who].id,
        launch=False,
        **options,
    )
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        return view, get_version(session=s, version_id=view.result["version_id"])


def _count(ws, table) -> int:
    with session_scope(ws.engine) as s:
        return len(s.exec(select(table)).all())


CLEAN = (
    make_step("drop_duplicates"),
    make_step("outliers", columns=("income",), action="remove"),
    make_step("impute_rows", columns=("income",), strategy="median"),
    make_step("scale", method="robust"),
    make_step("smote", k_neighbors=2),
)


# --------------------------------------------------------------------------- saving and versions


def test_saving_again_records_the_next_version_per_project(ws, team):
    version = _import(ws, team, _frame())
    first = _save(ws, team, _recipe(version, *CLEAN[:2]))
    second = _save(ws, team, _recipe(version, *CLEAN[:3]))
    elsewhere = _save(ws, team, _recipe(version, *CLEAN[:1]), project=team["other"])
    assert (first.label, second.label, elsewhere.label) == ("clean@1", "clean@2", "clean@1")
    assert first.recipe.version == 1 and second.recipe.version == 2
    assert second.fingerprint == second.recipe.fingerprint != first.fingerprint
    with session_scope(ws.engine) as s:
        listed = list_recipes(session=s, project_id=team["project"])
        assert [r.label for r in listed] == ["clean@1", "clean@2"]
        assert resolve_recipe(session=s, project_id=team["project"], ref="clean").id == second.id
        assert resolve_recipe(session=s, project_id=team["project"], ref=" clean@1 ").id == first.id
        assert get_recipe(session=s, project_id=team["project"], recipe_id=second.id).recipe == second.recipe
        with pytest.raises(NotFound) as info:
            resolve_recipe(session=s, project_id=team["project"], ref="clean@7")
        assert info.value.key == "recipes.not_found" and "clean@7" in info.value.message()
        with pytest.raises(NotFound):  # a recipe of another project is not found from this one
            get_recipe(session=s, project_id=team["project"], recipe_id=elsewhere.id)
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "recipe.save")).all()
    assert len(events) == 3 and events[0].after["fingerprint"] == first.fingerprint
    assert [r.recipe for r in listed] == [first.recipe, second.recipe]  # stored -> read gives the same recipe


def test_saving_under_a_name_with_notes(ws, team):
    version = _import(ws, team, _frame())
    saved = _save(ws, team, _recipe(version, CLEAN[0]), name="  dedupe  ")
    with session_scope(ws.engine) as s:
        noted = save_recipe(
            session=s,
            actor=s.get(User, team["dana"].id),
            project_id=team["project"],
            recipe=saved.recipe,
            notes="Duplicates come from the CRM export.",
        )
    assert saved.label == "dedupe@1" and noted.label == "dedupe@2"
    assert noted.recipe.notes == "Duplicates come from the CRM export."
    assert noted.fingerprint == saved.fingerprint  # notes do not change what the recipe does


@pytest.mark.parametrize(
    ("recipe_name", "key"),
    [("", "errors.name_empty"), ("../etc", "errors.name_path_chars"), ("<script>", "errors.name_path_chars")],
)
def test_bad_names_and_empty_recipes_save_nothing(ws, team, recipe_name, key):
    version = _import(ws, team, _frame())
    with pytest.raises(InputError) as info:
        _save(ws, team, _recipe(version, CLEAN[0]), name=recipe_name)
    assert info.value.key == key
    with pytest.raises(InputError) as info:
        _save(ws, team, _recipe(version))
    assert info.value.key == "recipes.empty" and "at least one step" in info.value.message()
    assert _count(ws, RecipeRecord) == 0


@pytest.mark.parametrize("who", ["vera", "edu"])
def test_viewers_and_experts_cannot_save_import_or_apply(ws, team, who):
    version = _import(ws, team, _frame())
    saved = _save(ws, team, _recipe(version, *CLEAN[:2]))
    before = _count(ws, AuditEvent)
    with pytest.raises(PermissionDenied):
        _save(ws, team, _recipe(version, CLEAN[0]), who=who)
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        import_recipe(
            session=s,
            actor=s.get(User, team[who].id),
            project_id=team["project"],
            data=saved.recipe.to_json(),
            filename="r.json",
        )
    with pytest.raises(PermissionDenied):
        submit_recipe_apply(
            engine=ws.engine,
            settings=ws.settings,
            project_id=team["project"],
            version_id=version.id,
            actor_id=team[who].id,
            recipe_id=saved.id,
            launch=False,
        )
    assert _count(ws, RecipeRecord) == 1 and _count(ws, AuditEvent) == before


# --------------------------------------------------------------------------- files


def test_export_and_import_round_trip_in_both_formats(ws, team):
    version = _import(ws, team, _frame())
    saved = _save(ws, team, _recipe(version, *CLEAN))
    for fmt in ("json", "yaml"):
        text = export_recipe(saved, format=fmt)
        assert parse_recipe_file(text.encode("utf-8"), filename=f"x.{fmt}") == saved.recipe
        assert parse_recipe_file(text) == saved.recipe  # pasted text: the format is recognised
        with session_scope(ws.engine) as s:
            imported = import_recipe(
                session=s,
                actor=s.get(User, team["dana"].id),
                project_id=team["other"],
                data=text.encode("utf-8"),
                filename=f"clean.{fmt}",
            )
        assert imported.fingerprint == saved.fingerprint
    assert json.loads(export_recipe(saved, format="json"))["steps"][1]["params"]["action"] == "remove"
    with session_scope(ws.engine) as s:
        assert [r.label for r in list_recipes(session=s, project_id=team["other"])] == ["clean@1", "clean@2"]
    assert export_filename(saved, format="yaml") == "clean-v1.yaml"
    assert export_filename(Recipe("churn (Q3) ü", version=2), format="json") == "churn_Q3_u-v2.json"
    with pytest.raises(InputError) as info:
        export_recipe(saved, format="xml")
    assert info.value.key == "recipes.bad_format"


BILLION_LAUGHS = "a: &a ['lol','lol']\nb: &b [*a,*a,*a,*a]\nc: [*b,*b,*b,*b]\n"
PYTHON_TAG = "format: ciclo.recipe\nformat_version: 1\nname: !!python/object/apply:os.system ['echo hacked']\n"


@pytest.mark.parametrize(
    ("data", "filename", "key"),
    [
        (BILLION_LAUGHS, "evil.yaml", "prep.bad_yaml"),
        (PYTHON_TAG, "evil.yml", "prep.bad_yaml"),
        ("{not json", "bad.json", "prep.bad_json"),
        ("x" * (MAX_RECIPE_BYTES + 1), "big.json", "prep.recipe_too_large"),
        (b"\xff\xfe\x00garbage", "bin.json", "prep.bad_json"),
        ('{"format": "something else"}', "other.json", "prep.bad_format"),
        ("- just\n- a list\n", "list.yaml", "prep.bad_recipe"),
        ("{}", "r.exe", "recipes.bad_file_type"),
        (
            '{"format": "ciclo.recipe", "format_version": 1, "name": "r", "steps": [{"kind": "rm -rf"}]}',
            "k.json",
            "prep.unknown_kind",
        ),
        (
            '{"format": "ciclo.recipe", "format_version": 1, "name": "r",'
            ' "steps": [{"kind": "outliers", "params": {"iqr_factor": "1.5"}}]}',
            "t.json",
            "prep.param_type",
        ),
        (
            '{"format": "ciclo.recipe", "format_version": 1, "name": "=cmd|\' /C calc\'!A0",'
            ' "steps": [{"kind": "scale", "params": {"method": "log"}}]}',
            "c.json",
            "prep.param_choice",
        ),
    ],
)
def test_bad_recipe_files_are_refused_and_nothing_is_saved(ws, team, data, filename, key):
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        import_recipe(
            session=s, actor=s.get(User, team["dana"].id), project_id=team["project"], data=data, filename=filename
        )
    assert info.value.key == key
    message = info.value.message()
    assert message and "Traceback" not in message and "{" not in message.split(":")[0]
    assert translate(key, "es", **info.value.params) != message
    assert _count(ws, RecipeRecord) == 0


# --------------------------------------------------------------------------- applying


def test_apply_makes_a_new_version_with_lineage(ws, team):
    version = _import(ws, team, _frame())
    saved = _save(ws, team, _recipe(version, *CLEAN))
    view, made = _apply(ws, team, version, recipe_id=saved.id)
    # row 9 duplicates row 0 (identifiers ignored), income 900 is an outlier, the gap gets the median
    assert made.parent_id == version.id and made.operation == APPLY_OPERATION and made.dataset == "churn"
    assert made.number == 2 and made.n_rows == 8 and made.target == "y"
    assert made.recipe["recipe_id"] == saved.id and made.recipe["fingerprint"] == saved.fingerprint
    assert Recipe.from_dict(made.recipe["recipe"]) == saved.recipe
    steps = made.recipe["report"]["steps"]
    assert [(s["kind"], s["rows_before"], s["rows_after"]) for s in steps] == [
        ("drop_duplicates", 10, 9),
        ("outliers", 9, 8),
        ("impute_rows", 8, 8),
    ]
    kept = [10.0, 12.0, 11.0, 13.0, 9.0, 10.5, 12.5]
    assert steps[2]["state"] == {"fill": {"income": float(np.median(kept))}}
    table = read_version(store=ws.store, version=made).to_pandas()
    assert table["income"].tolist() == [10.0, 12.0, 11.0, 11.0, 13.0, 9.0, 10.5, 12.5]
    assert table.columns.tolist() == ["customer", "income", "plan", "y"]  # feature steps do not touch the data
    assert {c["name"]: c["role"] for c in made.columns} == ROLES
    expected, _ = apply_row_steps(_frame(), saved.recipe, roles=ROLES)
    pd.testing.assert_frame_equal(table, expected.reset_index(drop=True), check_dtype=False)
    assert view.result == {
        "label": "churn v2",
        "n_rows": 8,
        "version_id": made.id,
        "parent": "churn v1",
        "recipe": "clean@1",
        "rows_removed": 2,
    }
    with session_scope(ws.engine) as s:
        everything = list_versions(session=s, project_id=team["project"])
        (event,) = s.exec(select(AuditEvent).where(AuditEvent.action == "recipe.apply")).all()
    assert event.after["parent"] == "churn v1" and event.after["rows_after"] == 8
    assert [v.id for v in derived_versions(everything, recipe_id=saved.id)] == [made.id]
    assert derived_versions(everything, fingerprint="0" * 64) == []
    report = apply_report_frame(made)
    assert report["rows_removed"].tolist() == [1, 1, 0] and report["changed"].tolist()[2] == "income: 1"
    assert apply_report_frame(version).empty


def test_next_month_reuses_what_this_month_learnt(ws, team):
    version = _import(ws, team, _frame())
    saved = _save(ws, team, _recipe(version, make_step("impute_rows", columns=("income",), strategy="median")))
    _, made = _apply(ws, team, version, recipe_id=saved.id)
    learnt = made.recipe["report"]["steps"][0]["state"]["fill"]["income"]
    later = _frame().assign(income=[100.0, None, 300.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    next_month = _import(ws, team, later, name="churn next")
    _, fresh = _apply(ws, team, next_month, recipe_id=saved.id)
    _, reused = _apply(ws, team, next_month, recipe_id=saved.id, reuse_states_from=made.id)
    fresh_income = read_version(store=ws.store, version=fresh).to_pandas()["income"]
    reused_income = read_version(store=ws.store, version=reused).to_pandas()["income"]
    assert fresh_income[1] == 100.0 and reused_income[1] == learnt == 11.0
    assert reused.recipe["reused_states_from"] == made.id and reused.dataset == "churn next"
    with pytest.raises(InputError) as info:  # the raw version was not made by the recipe
        _apply(ws, team, next_month, recipe_id=saved.id, reuse_states_from=version.id)
    assert info.value.key == "recipes.states_mismatch"


def test_a_recipe_file_that_is_not_saved_can_be_applied(ws, team):
    version = _import(ws, team, _frame())
    recipe = Recipe("adhoc", steps=(make_step("drop_columns", columns=("plan",)),))
    _, made = _apply(ws, team, version, recipe=recipe)
    assert made.recipe["recipe_id"] is None and made.recipe["name"] == "adhoc" and made.n_cols == 3


def test_bad_applications_say_what_to_do(ws, team):
    version = _import(ws, team, _frame())
    no_plan = {c: r for c, r in ROLES.items() if c != "plan"}
    other_data = _import(ws, team, _frame().drop(columns=["plan"]), name="no plan", roles=no_plan)
    features_only = _save(ws, team, _recipe(version, make_step("scale")), name="scaling")
    built_here = _save(ws, team, _recipe(version, *CLEAN[:2]))
    elsewhere_version = _import(ws, team, _frame(), project=team["other"])

    def refused(**options):
        with pytest.raises((InputError, NotFound)) as info:
            submit_recipe_apply(
                engine=ws.engine,
                settings=ws.settings,
                project_id=team["project"],
                actor_id=team["dana"].id,
                launch=False,
                **{"version_id": version.id, **options},
            )
        return info.value

    assert refused(recipe_id=features_only.id).key == "recipes.no_row_steps"
    missing = refused(recipe_id=built_here.id, version_id=other_data.id)
    assert (
        missing.key == "recipes.missing_columns" and "plan" in missing.message() and "no plan v1" in missing.message()
    )
    unknown = Recipe("u", steps=(make_step("outliers", columns=("salary",)),))
    error = refused(recipe=unknown)
    assert error.key == "prep.unknown_column" and "salary" in error.message() and "income" in error.message()
    wrong_role = Recipe("w", steps=(make_step("outliers", columns=("plan",)),))
    assert refused(recipe=wrong_role).key == "prep.wrong_role"
    assert refused(recipe=Recipe("t", target="churned", steps=(make_step("drop_duplicates"),))).key == (
        "recipes.target_differs"
    )
    assert refused().key == "recipes.no_recipe"
    assert refused(recipe_id=built_here.id, recipe=unknown).key == "recipes.no_recipe"
    assert refused(recipe_id=built_here.id, version_id=elsewhere_version.id).key == "errors.version_not_found"
    assert refused(recipe_id=10_000).key == "recipes.not_found"
    with session_scope(ws.engine) as s:
        assert not [j for j in s.exec(select(RecipeRecord)).all() if j.project_id == team["other"]]
    with session_scope(ws.engine) as s:
        assert len(list_versions(session=s, project_id=team["project"])) == 2  # nothing was made


def test_a_step_that_removes_every_row_fails_the_job_and_makes_nothing(ws, team):
    version = _import(ws, team, _frame())
    recipe = Recipe("all", steps=(make_step("drop_duplicates", columns=("y",), keep="none"),))
    job_id = submit_recipe_apply(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        version_id=version.id,
        actor_id=team["dana"].id,
        recipe=recipe,
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "failed" and view.error_key == "prep.all_rows_removed"
    with session_scope(ws.engine) as s:
        assert len(list_versions(session=s, project_id=team["project"])) == 1


def _summary(target):
    """A version record (no data) of the ``ROLES`` columns."""
    from datetime import datetime

    from mlcore.data.versions import VersionSummary

    columns = [{"name": c, "role": r} for c, r in ROLES.items()]
    when = datetime(2025, 1, 1)
    return VersionSummary(3, "churn", 1, 10, 4, "a" * 64, "ana", when, None, "x", {}, target, columns, {})


def test_apply_target_and_check_applicable():
    version = _summary("y")
    recipe = draft_recipe(version).with_step(make_step("encode", columns=("plan",)))
    assert apply_target(recipe, version) == "y"
    schema = check_applicable(recipe, version)
    assert "plan" not in schema.roles and schema.target == "y"
    untargeted = _summary(None)
    assert apply_target(recipe, untargeted) == "y"  # the recipe's target, which the version has


# --------------------------------------------------------------------------- the step form


def test_column_pickers_offer_only_columns_of_the_right_role():
    roles = {"id": "identifier", "age": "numeric", "plan": "categorical", "since": "datetime", "y": "numeric"}
    recipe = Recipe("r", target="y", columns=roles)

    def offered(kind, **values):
        fields = {f.name: f for f in step_fields(kind, recipe=recipe, roles=roles, values=values)}
        return fields

    assert offered("scale")["columns"].columns == ("age",)  # the target is never scaled
    assert offered("encode")["columns"].columns == ("plan",)
    assert offered("date_parts")["columns"].columns == ("since",)
    assert offered("impute", strategy="median")["columns"].columns == ("age",)
    assert offered("impute", strategy="most_frequent")["columns"].columns == ("age", "plan")
    assert offered("outliers")["columns"].columns == ("age", "y")  # outliers may look at the target
    assert offered("drop_columns")["columns"].columns == ("id", "age", "plan", "since")  # never the target
    pairs = offered("combine")["pairs"]
    assert pairs.widget == "pairs" and pairs.columns == ("age",) and pairs.choices == ()
    # after a drop_columns step the dropped column is no longer offered; after one-hot encoding, "plan" is gone
    later = recipe.with_step(make_step("drop_columns", columns=("age",))).with_step(make_step("encode"))
    fields = {f.name: f for f in step_fields("drop_duplicates", recipe=later, roles=roles)}
    assert "age" not in fields["columns"].columns
    fields = {f.name: f for f in step_fields("impute", recipe=later, roles=roles, values={"strategy": "most_frequent"})}
    assert "plan" not in fields["columns"].columns and "age" not in fields["columns"].columns


def test_step_fields_describe_every_setting_of_every_kind():
    roles = {"a": "numeric", "b": "numeric", "c": "categorical", "y": "numeric"}
    recipe = Recipe("r", target="y", columns=roles)
    widgets = set()
    for kind in STEP_KINDS:
        fields = step_fields(kind, recipe=recipe, roles=roles)
        assert [f.name for f in fields] == list(STEP_KINDS[kind].params.model_fields)
        for field in fields:
            widgets.add(field.widget)
            if field.widget == "choice":
                assert field.default in field.choices
            if field.widget in ("int", "float") and field.minimum is not None and field.default is not None:
                assert field.minimum <= field.default <= field.maximum
            assert translate(field.label_key) != field.label_key
    assert widgets == {
        "columns",
        "pairs",
        "choice",
        "choices",
        "choice_or_number",
        "number_or_text",
        "int",
        "float",
        "bool",
        "text",
        "fixed",
    }
    pairs = next(f for f in step_fields("combine", recipe=recipe, roles=roles) if f.name == "pairs")
    assert pairs.choices == (("a", "b"), ("b", "a"))


def test_form_values_round_trip_for_every_kind():
    for kind in STEP_KINDS:
        required = {"drop_columns": {"columns": ("a",)}, "fix_types": {"columns": ("c",)}}
        required |= {"combine": {"pairs": (("a", "b"),)}, "polynomial": {"columns": ("a", "b")}}
        step = make_step(kind, required.get(kind, {}), note="why")
        assert step_from_form(kind, form_values(step), note="why") == step


def test_step_from_form_normalises_and_refuses_wrong_types():
    assert step_from_form("outliers", {"columns": [], "contamination": 0.1}).params.columns is None
    assert step_from_form("impute", {"strategy": "constant", "fill_value": "0"}).params.fill_value == 0.0
    assert step_from_form("impute", {"strategy": "constant", "fill_value": "unknown"}).params.fill_value == "unknown"
    assert step_from_form("impute", {"fill_value": "  "}).params.fill_value is None
    assert step_from_form("tidy_categories", {"max_categories": 12.0}).params.max_categories == 12
    assert step_from_form("combine", {"pairs": [("a", "b"), [None, None]]}).params.pairs == (("a", "b"),)
    assert step_from_form("smote", {"sampling_strategy": 1}).params.sampling_strategy == 1.0
    cases = [
        ("scale", {"method": 3}, "prep.param_choice"),
        ("outliers", {"iqr_factor": "wide"}, "prep.param_type"),
        ("outliers", {"iqr_factor": -1.0}, "prep.param_range"),
        ("bin_numeric", {"n_bins": 2.5}, "prep.param_type"),
        ("drop_columns", {"columns": []}, "prep.param_too_few"),
        ("scale", {"colour": "red"}, "prep.param_unknown"),
        ("nonsense", {}, "prep.unknown_kind"),
        ("scale", ["method"], "prep.params_not_mapping"),
    ]
    for kind, values, key in cases:
        with pytest.raises(InputError) as info:
            step_from_form(kind, values)
        assert info.value.key == key, (kind, values)


def test_unknown_columns_are_caught_when_checked_against_a_version():
    version = _summary("y")
    recipe = draft_recipe(version).with_step(step_from_form("scale", {"columns": ["<script>alert(1)</script>"]}))
    with pytest.raises(InputError) as info:
        check_applicable(recipe, version)
    assert info.value.key == "prep.unknown_column" and "income" in info.value.message()


def test_moving_steps_keeps_row_steps_first():
    recipe = Recipe("r", steps=(make_step("drop_duplicates"), make_step("outliers"), make_step("scale")))
    assert [s.kind for s in move_step(recipe, 0, 1).steps] == ["outliers", "drop_duplicates", "scale"]
    with pytest.raises(InputError) as info:
        move_step(recipe, 2, -1)
    assert info.value.key == "prep.feature_step_late" or info.value.key == "prep.row_step_late"
    with pytest.raises(InputError):
        move_step(recipe, 0, -1)
    assert movable(recipe) == [(False, True), (True, False), (False, False)]
    assert movable(Recipe("e")) == []


def test_groups_list_every_kind_once_in_page_order():
    kinds = [s.kind for stage in ("row", "feature") for _, specs in step_groups(stage) for s in specs]
    assert sorted(kinds) == sorted(STEP_KINDS) and len(kinds) == len(set(kinds))
    assert [g for g, _ in step_groups("feature")][-2:] == ["imbalance", "augmentation"]


# --------------------------------------------------------------------------- tables


def test_tables_for_the_page():
    frame = _frame()
    recipe = Recipe("r", target="y", columns=ROLES).with_step(CLEAN[0])
    outliers = preview_step(frame, recipe, make_step("outliers", columns=("income",), action="clip"), roles=ROLES)
    changes = changes_frame(outliers)
    income = changes[changes["column"] == "income"]
    assert income["statistic"].tolist() == [
        "values",
        "missing",
        "mean",
        "standard deviation",
        "minimum",
        "median",
        "maximum",
    ]
    assert income["changed"].tolist()[0] == 1 and income["after"].tolist()[-1] != income["before"].tolist()[-1]
    before, after = sample_frames(outliers)
    assert before.columns[:2].tolist() == ["row", "status"] and "changed" in before["status"].tolist()
    assert after.columns[0] == "row" and len(after) == len(before)
    assert class_counts_frame(outliers) is None  # nothing changed per class
    removed = preview_step(frame, recipe, make_step("outliers", columns=("income",), action="remove"), roles=ROLES)
    before, after = sample_frames(removed, lang="es")
    assert "quitada" in before["status"].tolist() and len(after) == len(before) - 1
    counts = class_counts_frame(removed)
    assert counts is not None and counts["before"].sum() - counts["after"].sum() == 1
    encoded = preview_step(frame, recipe, make_step("encode"), roles=ROLES)
    plan = changes_frame(encoded)
    assert "distinct values" in plan["statistic"].tolist() and set(encoded.columns_added) >= {"plan_basic", "plan_pro"}

    full = Recipe("r", target="y", columns=ROLES, steps=CLEAN)
    steps = steps_frame(full, lang="es")
    assert steps["stage"].tolist() == ["Paso de filas"] * 3 + ["Paso de variables"] * 2
    assert steps["position"].tolist() == [1, 2, 3, 4, 5]
    assert step_settings_text(CLEAN[1]) == "Columns (empty: all that fit): income · What to do: Remove the rows"
    assert step_settings_text(make_step("tidy_categories", trim=False), lang="es").endswith(": no")


def test_recipes_frame_and_choices(ws, team):
    version = _import(ws, team, _frame())
    rows_only = _save(ws, team, _recipe(version, CLEAN[0]), name="rows")
    first = _save(ws, team, _recipe(version, *CLEAN))
    second = _save(ws, team, _recipe(version, *CLEAN[3:]))
    with session_scope(ws.engine) as s:
        recipes = list_recipes(session=s, project_id=team["project"])
        choices = recipe_choices(session=s, project_id=team["project"])
        assert training_recipe(session=s, project_id=team["project"], recipe_id=first.id) == first.recipe
    table = recipes_frame(recipes)
    assert table["recipe"].tolist() == [second.label, first.label, rows_only.label]  # newest first
    assert table.loc[1, "row_steps"] == 3 and table.loc[1, "feature_steps"] == 2
    assert [c.label for c in choices] == ["clean@2", "clean@1"]  # only recipes with feature steps
    assert choices[0].id == second.id and choices[1].n_row_steps == 3


def test_training_recipes_are_checked_against_features_and_models():
    roles = {"income": "numeric", "plan": "categorical", "customer": "identifier"}
    smote = Recipe("s", target="y", steps=(make_step("scale"), make_step("smote")))
    check_training_recipe(smote, roles=roles, target="y", task_type="classification", families=["logistic_regression"])
    with pytest.raises(InputError) as info:
        check_training_recipe(smote, roles=roles, target="y", task_type="regression", families=["ridge"])
    assert info.value.key == "prep.needs_classification"
    weights = Recipe("w", target="y", steps=(make_step("class_weight"),))
    with pytest.raises(InputError) as info:
        check_training_recipe(weights, roles=roles, target="y", task_type="classification", families=["knn"])
    assert info.value.key == "prep.class_weight_unsupported"
    identifier = Recipe("i", target="y", steps=(make_step("scale", columns=("customer",)),))
    with pytest.raises(InputError) as info:  # identifiers are not features
        check_training_recipe(identifier, roles=roles, target="y", task_type="classification", families=["dummy"])
    assert info.value.key == "prep.unknown_column"
