"""AppTest: the preparation page — build a recipe step by step with previews, save and version it, apply it
as a job and see the new dataset version; roles; bad input keeps the draft and saves nothing."""

from __future__ import annotations

import pytest

from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.recipes import list_recipes, save_recipe
from mlcore.data.versions import list_versions, read_version
from mlcore.errors import PermissionDenied
from mlcore.projects import list_projects
from mlcore.store.engine import session_scope
from mlcore.store.models import User
from tests.app.conftest import signed_in_app, texts, user_id, wait_for_jobs

PAGE = "pages/preparation.py"


def _open(ws, who):
    at = signed_in_app(ws, who)
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def _go(at):
    at.run()
    assert not at.exception, at.exception


def _churn(ws):
    with session_scope(ws.engine) as s:
        project = list_projects(session=s)[0]
        versions = list_versions(session=s, project_id=project.id)
    return project, next(v for v in versions if v.label == "churn v1")


def _pick_version(at, version):
    at.selectbox(key="prep_version_pick").select(version.id)
    _go(at)


def _tab(at, label):
    at.session_state["prep_tab"] = label
    _go(at)


def _add(at, stage, kind, **fields):
    at.radio(key="prep_stage").set_value(stage)
    _go(at)
    at.selectbox(key=f"prep_kind_{stage}").set_value(kind)
    _go(at)
    for name, value in fields.items():
        at.get_by_key(f"prep_f_{kind}_{name}").set_value(value)
        _go(at)
    at.button(key="prep_add").click()
    _go(at)


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def _steps(at):
    return [m.value for m in at.markdown if m.value[:1] == "*" and ". " in m.value[:6] and " — " in m.value]


def test_page_renders_in_both_languages(app_ws):
    at = _open(app_ws, "demo-admin")
    assert at.title[0].value == "Prepare the data"
    assert [t.label for t in at.tabs] == ["Build", "Saved recipes", "Apply"]
    assert any("What a data pipeline is" in m.value for m in at.markdown)
    assert any("only inside training folds" in m.value for m in at.markdown)
    spanish = signed_in_app(app_ws, "demo-admin")  # the language is picked on another page, as people do
    spanish.sidebar.selectbox(key="lang_picker").select_index(1).run()
    at = spanish.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == "Preparar los datos"
    assert any("canalización (pipeline) de datos" in m.value for m in at.markdown)
    for label in ("Recetas guardadas", "Aplicar"):
        _tab(at, label)


def test_build_preview_save_apply_and_see_the_new_version(app_ws):
    project, version = _churn(app_ws)
    at = _open(app_ws, "demo-data-engineer")
    _pick_version(at, version)
    assert any("No steps yet" in s for s in texts(at, "info"))

    # a row step: its badge, explanation and a live preview before it is added
    at.selectbox(key="prep_kind_row").set_value("drop_duplicates")
    _go(at)
    assert any("creates a new dataset version" in s for s in texts(at, "caption"))
    preview = _metrics(at)
    removed = int(preview["Rows removed"].replace(",", ""))
    assert removed > 0 and preview["Rows added"] == "0"
    at.button(key="prep_add").click()
    _go(at)
    assert any("Added “Drop duplicate rows”" in s for s in texts(at, "success"))

    _add(at, "row", "outliers", columns=["income"], action="remove")
    assert int(_metrics(at)["Rows removed"].replace(",", "")) >= 0
    # feature steps say where they run; the sampler says "only inside training folds"
    at.radio(key="prep_stage").set_value("feature")
    _go(at)
    at.selectbox(key="prep_kind_feature").set_value("smote")
    _go(at)
    assert any("only inside training folds" in s for s in texts(at, "caption"))
    assert any("Rows per class of the target" in m.value for m in at.markdown)
    at.button(key="prep_add").click()
    _go(at)
    _add(at, "feature", "scale", method="robust")
    assert len(_steps(at)) == 4
    assert [s.split(" — ")[0] for s in _steps(at)] == [
        "**1. Drop duplicate rows**",
        "**2. Handle outliers**",
        "**3. Scale numbers**",  # transformations come before samplers
        "**4. SMOTE**",
    ]
    assert any("Every step fits churn v1" in s for s in texts(at, "success"))

    # the draft survives leaving the page
    at.switch_page("pages/data_versions.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception and len(_steps(at)) == 4

    at.text_input(key="prep_name").input("churn clean")
    _go(at)
    at.button(key="prep_save").click()
    _go(at)
    assert any("Saved churn clean@1" in s for s in texts(at, "success"))
    at.button(key="prep_save").click()  # saving again records the next version
    _go(at)
    assert any("Saved churn clean@2" in s for s in texts(at, "success"))

    _tab(at, "Saved recipes")
    assert any(h.value == "churn clean@2" for h in at.subheader)
    assert {b.label for b in at.download_button} == {"Download JSON", "Download YAML"}
    assert "Drop duplicate rows" in at.dataframe[1].value["step"].tolist()

    _tab(at, "Apply")
    at.button(key="prep_apply").click()
    _go(at)
    assert any("Applying churn clean@" in s for s in texts(at, "success"))
    wait_for_jobs(app_ws, timeout=120)
    _go(at)
    with session_scope(app_ws.engine) as s:
        made = [v for v in list_versions(session=s, project_id=project.id) if v.operation == "recipe_apply"]
    assert len(made) == 1 and made[0].parent_id == version.id and made[0].label == "churn v2"
    steps = made[0].recipe["report"]["steps"]  # the demo is smaller than the preview sample: same rows removed
    assert [s["kind"] for s in steps] == ["drop_duplicates", "outliers"]
    assert steps[0]["rows_before"] - steps[0]["rows_after"] == removed
    assert made[0].n_rows == steps[1]["rows_after"] < version.n_rows
    assert any(h.value == "Latest prepared version: churn v2" for h in at.subheader)
    assert any("made from **churn v1** by recipe **churn clean@2**" in m.value for m in at.markdown)
    assert any(link.label == "See it on the dataset versions page" for link in at.main.get("page_link"))
    table = read_version(store=app_ws.store, version=made[0]).to_pandas()
    assert table["income"].max() <= read_version(store=app_ws.store, version=version).to_pandas()["income"].max()


def test_edit_reorder_and_remove_steps(app_ws):
    _, version = _churn(app_ws)
    at = _open(app_ws, "demo-model-developer")
    _pick_version(at, version)
    _add(at, "row", "drop_duplicates")
    _add(at, "row", "tidy_categories", case="lower")
    at.button(key="prep_up_1").click()
    _go(at)
    assert [s.split(" — ")[0] for s in _steps(at)] == ["**1. Tidy categories**", "**2. Drop duplicate rows**"]
    at.button(key="prep_edit_0").click()
    _go(at)
    assert any(h.value == "Change step 1" for h in at.subheader)
    assert at.selectbox(key="prep_f_tidy_categories_case").value == "lower"
    at.selectbox(key="prep_f_tidy_categories_case").set_value("title")
    _go(at)
    at.button(key="prep_add").click()
    _go(at)
    assert "Letter case: Title Case" in _steps(at)[0]
    at.button(key="prep_remove_1").click()
    _go(at)
    assert len(_steps(at)) == 1


def test_bad_input_keeps_the_draft_and_saves_nothing(app_ws):
    project, version = _churn(app_ws)
    # a version of another dataset without the "income" column
    frame = read_version(store=app_ws.store, version=version).to_pandas().drop(columns=["income"])
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic"))
    save_table(
        engine=app_ws.engine,
        store=app_ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project.id, dataset_name="no income", target="churned"),
        actor_id=user_id(app_ws, "demo-admin"),
        operation="synthetic",
    )
    at = _open(app_ws, "demo-data-engineer")
    _pick_version(at, version)
    at.button(key="prep_save").click()  # an empty recipe
    _go(at)
    assert any("has no steps" in s for s in texts(at, "error"))

    # a wrong-type value cannot be added: the form says why and nothing changes
    at.selectbox(key="prep_kind_row").set_value("fix_types")
    _go(at)
    assert any("needs at least 1 entries" in s or "required" in s for s in texts(at, "info"))
    assert not [b for b in at.button if b.key == "prep_add"]

    _add(at, "row", "outliers", columns=["income"], action="clip")
    with session_scope(app_ws.engine) as s:
        others = [v for v in list_versions(session=s, project_id=project.id) if v.dataset == "no income"]
    _pick_version(at, others[0])
    assert any("has no column income" in s for s in texts(at, "error"))
    assert len(_steps(at)) == 1  # the draft is kept
    at.text_input(key="prep_name").input("../etc/passwd")
    _go(at)
    at.button(key="prep_save").click()
    _go(at)
    assert any("not allowed" in s for s in texts(at, "error")) and len(_steps(at)) == 1

    _tab(at, "Saved recipes")
    at.file_uploader(key="prep_upload").upload("evil.yaml", b"a: &a [1, 2]\nb: [*a, *a]\n")
    _go(at)
    at.button(key="prep_import").click()
    _go(at)
    assert any("anchors and aliases are not allowed" in s for s in texts(at, "error"))
    at.file_uploader(key="prep_upload").clear()
    _go(at)
    at.text_area(key="prep_paste").input('{"format": "ciclo.recipe", "format_version": 1, "name": "x",')
    _go(at)
    at.button(key="prep_import").click()
    _go(at)
    assert any("not valid JSON" in s for s in texts(at, "error"))
    big = '{"format": "ciclo.recipe", "format_version": 1, "name": "' + "x" * 1_000_000 + '"}'
    at.text_area(key="prep_paste").input(big)
    _go(at)
    at.button(key="prep_import").click()
    _go(at)
    assert any("too large" in s for s in texts(at, "error"))
    with session_scope(app_ws.engine) as s:
        assert list_recipes(session=s, project_id=project.id) == []


def test_import_a_recipe_and_apply_it_to_another_dataset_with_a_missing_column(app_ws):
    project, version = _churn(app_ws)
    frame = read_version(store=app_ws.store, version=version).to_pandas().drop(columns=["income"])
    loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic"))
    save_table(
        engine=app_ws.engine,
        store=app_ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project.id, dataset_name="no income", target="churned"),
        actor_id=user_id(app_ws, "demo-admin"),
        operation="synthetic",
    )
    at = _open(app_ws, "demo-data-engineer")
    _tab(at, "Saved recipes")
    text = (
        "format: ciclo.recipe\nformat_version: 1\nname: imported\ntarget: churned\n"
        "columns: {income: numeric, churned: numeric}\n"
        "steps:\n  - kind: outliers\n    params: {columns: [income], action: remove}\n"
    )
    at.file_uploader(key="prep_upload").upload("imported.yaml", text.encode("utf-8"))
    _go(at)
    at.button(key="prep_import").click()
    _go(at)
    assert any("Imported imported@1" in s for s in texts(at, "success"))
    _tab(at, "Apply")
    with session_scope(app_ws.engine) as s:
        target = next(v for v in list_versions(session=s, project_id=project.id) if v.dataset == "no income")
    at.selectbox(key="prep_apply_version").select(target.id)
    _go(at)
    at.button(key="prep_apply").click()
    _go(at)
    assert any("no income v1 has no column income" in s for s in texts(at, "error"))

    # a step naming a column no version has, and a setting of the wrong type
    _tab(at, "Saved recipes")
    at.file_uploader(key="prep_upload").clear()
    unknown = text.replace("columns: {income: numeric, churned: numeric}\n", "").replace("[income]", "[salary]")
    at.text_area(key="prep_paste").input(unknown)
    at.text_input(key="prep_import_name").input("salary")
    _go(at)
    at.button(key="prep_import").click()
    _go(at)
    assert any("Imported salary@1" in s for s in texts(at, "success"))
    _tab(at, "Apply")
    at.selectbox(key="prep_apply_pick").set_value(next(r.id for r in _recipes(app_ws, project) if r.name == "salary"))
    _go(at)
    at.button(key="prep_apply").click()
    _go(at)
    assert any("no column 'salary'" in s and "tenure_months" in s for s in texts(at, "error"))
    _tab(at, "Saved recipes")
    at.text_area(key="prep_paste").input(text.replace("action: remove", "action: remove, iqr_factor: wide"))
    at.text_input(key="prep_import_name").input("")
    _go(at)
    at.button(key="prep_import").click()
    _go(at)
    assert any("wrong type" in s and "iqr_factor" in s for s in texts(at, "error"))
    assert [r.label for r in _recipes(app_ws, project)] == ["imported@1", "salary@1"]


def _recipes(ws, project):
    with session_scope(ws.engine) as s:
        return list_recipes(session=s, project_id=project.id)


def test_a_viewer_sees_recipes_but_no_write_controls(app_ws):
    project, version = _churn(app_ws)
    from mlcore.data.prepare.recipe import make_step
    from mlcore.data.recipes import draft_recipe

    with session_scope(app_ws.engine) as s:
        admin = s.get(User, user_id(app_ws, "demo-admin"))
        save_recipe(
            session=s,
            actor=admin,
            project_id=project.id,
            recipe=draft_recipe(version).with_step(make_step("drop_duplicates")),
        )
    at = _open(app_ws, "demo-viewer")
    keys = {b.key for b in at.button}
    assert "prep_save" not in keys and any("not change it" in s for s in texts(at, "info"))
    _tab(at, "Saved recipes")
    assert "prep_import" not in {b.key for b in at.button} and not at.file_uploader
    assert {b.label for b in at.download_button} == {"Download JSON", "Download YAML"}  # reading is fine
    _tab(at, "Apply")
    assert "prep_apply" not in {b.key for b in at.button}
    with session_scope(app_ws.engine) as s, pytest.raises(PermissionDenied):
        save_recipe(
            session=s,
            actor=s.get(User, user_id(app_ws, "demo-viewer")),
            project_id=project.id,
            recipe=draft_recipe(version).with_step(make_step("drop_duplicates")),
        )
