"""AppTest: the modeling pages — train several models as a job and watch it, the runs table, notes and
tags (with a conflicting save), re-executing a run, registering, promoting and exporting a model; a
viewer sees no write controls; bad input says what is wrong and keeps the form."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select
from threadpoolctl import threadpool_limits

from mlcore.auth import get_user
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.versions import list_versions
from mlcore.errors import PermissionDenied
from mlcore.jobs import JobContext, get_job, run_job
from mlcore.modeling.tracking import (
    PACKAGE_FILES,
    TrainingSpec,
    default_spec,
    get_candidate,
    list_registry,
    register_model,
    run_detail,
    set_notes_and_tags,
    submit_training,
    transition_stage,
)
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent
from tests.app.conftest import signed_in_app, texts, user_id, wait_for_jobs

TRAIN, EXPERIMENTS, REGISTRY = "pages/training.py", "pages/experiments.py", "pages/registry.py"
FAST = ("dummy", "logistic_regression", "hist_gradient_boosting")
DEVELOPER = "demo-model-developer"


@pytest.fixture(autouse=True)
def _one_thread_jobs(monkeypatch):
    """Job processes fit their models on one thread: on a busy test machine that is much faster."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _open(ws, who, page, *, lang="en"):
    at = signed_in_app(ws, who)
    if lang != "en":
        at.sidebar.selectbox(key="lang_picker").select(lang).run()
    at.switch_page(page).run()
    assert not at.exception
    return at


def _tab(at, label):
    at.session_state["exp_tab"] = label
    at.run()
    assert not at.exception


def _churn(ws):
    with session_scope(ws.engine) as s:
        return next(v for v in list_versions(session=s, project_id=1) if v.dataset == "churn")


def _trained(ws, version, **changes):
    """A run trained in this process (the page's own training is tested once, through the page)."""
    with session_scope(ws.engine) as s:
        spec = default_spec(session=s, store=ws.store, project_id=1, version_id=version.id)
    values = {**spec.to_json(), "families": list(FAST), "n_splits": 3, **changes}
    job_id = submit_training(
        engine=ws.engine,
        settings=ws.settings,
        project_id=1,
        version_id=version.id,
        spec=TrainingSpec.from_json(values),
        actor_id=user_id(ws, DEVELOPER),
        launch=False,
    )
    with threadpool_limits(limits=1):
        view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        return run_detail(session=s, project_id=1, run_id=view.result["run_id"])


def _progress_texts(at):
    return [e.proto.text for e in at.get("progress")]


def _keys(at):
    kinds = ("button", "checkbox", "multiselect", "number_input", "radio", "selectbox", "text_area", "text_input")
    return {w.key for kind in kinds for w in getattr(at.main, kind) if w.key}


def _pick_families(at, wanted):
    for box in at.main.checkbox:
        if box.key and box.key.startswith("train_family_"):
            box.set_value(box.key.removeprefix("train_family_") in wanted)


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize(
    "lang,titles",
    [
        ("en", ("Train models", "Experiments", "Model registry")),
        ("es", ("Entrenar modelos", "Experimentos", "Registro de modelos")),
    ],
)
def test_pages_render_in_both_languages_before_any_run(app_ws, lang, titles):
    for page, title in zip((TRAIN, EXPERIMENTS, REGISTRY), titles, strict=True):
        at = _open(app_ws, DEVELOPER, page, lang=lang)
        assert at.title[0].value == title
    at = _open(app_ws, DEVELOPER, TRAIN, lang=lang)
    # the identifier is left out by default and the reason is shown
    assert any(m.value.startswith("- customer\\_id: ") and "identif" in m.value for m in at.markdown)
    assert len([b for b in at.main.checkbox if b.key.startswith("train_family_")]) == 8
    if lang == "en":
        assert any("Ignores the inputs" in c.value for c in at.caption)  # each kind of model is described
        assert any("set aside before any training" in c.value and "evaluation" in c.value for c in at.caption)
        assert at.multiselect(key="train_metrics").value[0] == "roc_auc"


# --------------------------------------------------------------------------- train through the page


def test_train_several_models_watch_them_and_see_the_runs(app_ws):
    at = _open(app_ws, DEVELOPER, TRAIN)
    version_id = at.selectbox(key="train_version").value
    _pick_families(at, FAST)
    at.number_input(key="train_folds").set_value(3)
    at.button(key="train_start").click().run()
    assert not at.exception
    assert any("Training started" in s for s in texts(at, "success"))
    assert any(p.startswith("Training #") for p in _progress_texts(at))  # the job is followed at once
    wait_for_jobs(app_ws, timeout=90)
    at.run()
    assert not at.exception
    finished = [s for s in texts(at, "success") if s.startswith("Training #")]
    assert finished and "3 models trained on 480 rows; 120 rows locked away as the test set" in finished[0]
    assert any(h.value.startswith("Latest run on this version: #") for h in at.subheader)
    summary = at.dataframe[-1].value
    assert summary["family"].tolist()[0] in {"Logistic regression", "Gradient boosting (histogram)"}
    assert summary["family"].tolist()[-1] == "Baseline (ignores the inputs)"  # best first; the baseline last
    assert all(" ± " in v for v in summary["roc_auc"])
    # the choices are kept after the run
    assert at.number_input(key="train_folds").value == 3
    assert not at.checkbox(key="train_family_random_forest").value

    ex = _open(app_ws, DEVELOPER, EXPERIMENTS)
    table = ex.dataframe[0].value
    assert len(table) == 3 and set(table["dataset"]) == {next(iter(set(table["dataset"])))}
    assert int(table["run_id"].iloc[0]) >= 1 and table["validation"].iloc[0] == "Stratified k-fold · 3 folds"
    ex.multiselect(key="exp_families").select("dummy").run()
    assert ex.dataframe[0].value["family"].tolist() == ["Baseline (ignores the inputs)"]
    ex.multiselect(key="exp_families").unselect("dummy").run()
    ex.selectbox(key="exp_sort").select("roc_auc").run()
    ranked = ex.dataframe[0].value
    assert ranked["family"].iloc[-1] == "Baseline (ignores the inputs)"
    # compare: hyper-parameters side by side and the score in each fold
    assert len(ex.multiselect(key="exp_compare").value) == 2
    params = ex.dataframe[1].value
    assert params.shape[1] == 2 and params.index.name == "parameter"
    assert len(ex.get("plotly_chart")) == 1
    assert version_id is not None


def test_job_progress_names_models_and_folds_and_can_be_cancelled(app_ws):
    version = _churn(app_ws)
    with session_scope(app_ws.engine) as s:
        spec = default_spec(session=s, store=app_ws.store, project_id=1, version_id=version.id)
    job_id = submit_training(
        engine=app_ws.engine,
        settings=app_ws.settings,
        project_id=1,
        version_id=version.id,
        spec=spec,
        actor_id=user_id(app_ws, DEVELOPER),
        launch=False,
    )
    JobContext(app_ws.engine, job_id, app_ws.settings).progress(
        0.4, "modeling.progress.fold", family="random_forest", fold=2, folds=5
    )
    at = _open(app_ws, DEVELOPER, TRAIN)
    assert f"Training #{job_id} · Random forest: fold 2 of 5 done" in _progress_texts(at)
    at.button(key=f"cancel-{job_id}").click().run()
    assert not at.exception
    assert run_job(engine=app_ws.engine, job_id=job_id, settings=app_ws.settings).status == "cancelled"
    at.run()
    assert any(f"Training #{job_id} · cancelled" in w for w in texts(at, "warning"))
    es = _open(app_ws, DEVELOPER, TRAIN, lang="es")
    assert not es.exception


# --------------------------------------------------------------------------- experiments


def test_notes_and_tags_are_saved_and_a_conflict_keeps_the_users_text(app_ws):
    detail = _trained(app_ws, _churn(app_ws))
    boosting = detail.candidates[2]
    at = _open(app_ws, "demo-domain-expert", EXPERIMENTS)  # domain experts may annotate
    _tab(at, "Notes and tags")
    at.selectbox(key="exp_note_pick").select(boosting.id).run()
    notes_key, tags_key = f"exp_notes_candidate_{boosting.id}", f"exp_tags_candidate_{boosting.id}"
    at.text_area(key=notes_key).input("Plausible: tenure matters most. =cmd|' /C calc'!A0")
    at.text_input(key=tags_key).input("good, <script>")
    at.button(key=f"exp_save_candidate_{boosting.id}").click().run()
    assert not at.exception
    assert any("Notes and tags of" in s for s in texts(at, "success"))
    with session_scope(app_ws.engine) as s:
        saved = get_candidate(session=s, project_id=1, candidate_id=boosting.id)
    assert saved.tags == ("good", "<script>") and saved.notes.startswith("Plausible")
    at.multiselect(key="exp_tags").select("good").run()
    assert at.dataframe[0].value["candidate_id"].tolist() == [boosting.id]
    assert at.dataframe[0].value["tags"].tolist() == ["good, <script>"]

    # someone else saves while the expert is still writing: the expert's text is kept
    with session_scope(app_ws.engine) as s:
        developer = get_user(session=s, name=DEVELOPER)
        set_notes_and_tags(
            session=s,
            actor=developer,
            project_id=1,
            candidate_id=boosting.id,
            notes="Developer's view",
            tags=["baseline-beater"],
            expected_version=saved.version,
        )
    at.text_area(key=notes_key).input("Expert's second thought")
    at.button(key=f"exp_save_candidate_{boosting.id}").click().run()
    assert not at.exception
    assert any("Someone else saved the notes" in w for w in texts(at, "warning"))
    assert any("Developer's view" in i for i in texts(at, "info"))
    assert at.text_area(key=notes_key).value == "Expert's second thought"
    at.button(key=f"exp_mine_candidate_{boosting.id}").click().run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        final = get_candidate(session=s, project_id=1, candidate_id=boosting.id)
    assert final.notes == "Expert's second thought" and final.version == saved.version + 2

    # notes for the whole run
    at.radio(key="exp_note_scope").set_value("run").run()
    at.text_input(key=f"exp_tags_run_{detail.run.id}").input("first try")
    at.button(key=f"exp_save_run_{detail.run.id}").click().run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        assert run_detail(session=s, project_id=1, run_id=detail.run.id).run.tags == ("first try",)


def test_reproduce_a_run_and_see_that_the_metrics_match(app_ws):
    detail = _trained(app_ws, _churn(app_ws), families=["dummy", "logistic_regression"])
    at = _open(app_ws, DEVELOPER, EXPERIMENTS)
    _tab(at, "Reproduce")
    assert any("This run has not been re-executed yet" in c.value for c in at.caption)
    assert any("Recorded with this run" in m.value and detail.run.dataset_sha256[:16] in m.value for m in at.markdown)
    at.button(key="exp_reproduce").click().run()
    assert not at.exception
    wait_for_jobs(app_ws, timeout=90)
    at.run()
    assert any("every metric matches" in s for s in texts(at, "success"))
    checks = at.dataframe[-1].value
    assert len(checks) == 2 * len(detail.run.metrics) and checks["matches"].all()


# --------------------------------------------------------------------------- registry


def test_register_promote_and_export_a_model(app_ws):
    detail = _trained(app_ws, _churn(app_ws))
    best = detail.best()
    at = _open(app_ws, DEVELOPER, REGISTRY)
    assert at.selectbox(key="reg_candidate").value == best.id  # best first
    at.text_input(key="reg_name").input("churn")
    at.text_input(key="reg_description").input("Who cancels next month")
    at.button(key="reg_register").click().run()
    assert not at.exception
    assert any("Registered as churn@1" in s for s in texts(at, "success"))
    # only the stages it may go to next are offered
    version_id = at.selectbox(key="reg_move_version").value
    radio = next(r for r in at.main.radio if r.key.startswith("reg_move_stage_"))
    assert radio.options == ["Staging", "Archived"]
    at.text_input(key="reg_move_reason").input("checked on the folds")
    at.button(key="reg_move").click().run()
    assert any("churn@1 is now in Staging" in s for s in texts(at, "success"))
    radio = next(r for r in at.main.radio if r.key.startswith("reg_move_stage_"))
    assert radio.options == ["Production", "Archived"]
    radio.set_value("production").run()
    assert any("at most one production version" in i for i in texts(at, "info"))
    at.button(key="reg_move").click().run()
    assert not at.exception
    assert any("In production: churn@1" in s for s in texts(at, "success"))
    with session_scope(app_ws.engine) as s:
        (model,) = list_registry(session=s, project_id=1)
        events = s.exec(select(AuditEvent).where(AuditEvent.action == "model.stage")).all()
    assert model.production is not None and model.production.id == version_id
    assert [e.after["stage"] for e in events] == ["staging", "production"]
    assert events[0].reason == "checked on the folds"

    at.text_area(key="reg_export_use").input("Retention team, monthly call list")
    at.button(key="reg_export_prepare").click().run()
    assert not at.exception
    (download,) = at.get("download_button")
    assert download.proto.label.startswith("Download churn-1.zip")
    data = at.session_state["registry_package"]["data"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == list(PACKAGE_FILES)
        assert "Retention team" in archive.read("model_card.md").decode("utf-8")


def test_a_second_production_version_archives_the_first(app_ws):
    detail = _trained(app_ws, _churn(app_ws))
    with session_scope(app_ws.engine) as s:
        developer = get_user(session=s, name=DEVELOPER)
        for candidate in detail.candidates[1:]:
            mv = register_model(session=s, actor=developer, project_id=1, candidate_id=candidate.id, name="churn")
            mv = transition_stage(
                session=s,
                actor=developer,
                project_id=1,
                model_version_id=mv.id,
                stage="staging",
                expected_version=mv.version,
            )
        first = list_registry(session=s, project_id=1)[0].versions[-1]
        transition_stage(
            session=s,
            actor=developer,
            project_id=1,
            model_version_id=first.id,
            stage="production",
            expected_version=first.version,
        )
    at = _open(app_ws, "demo-deployment-engineer", REGISTRY)  # may promote, may not register
    assert "reg_register" not in _keys(at)
    at.selectbox(key="reg_move_version").select(first.id + 1).run()
    next(r for r in at.main.radio if r.key.startswith("reg_move_stage_")).set_value("production").run()
    assert any("promoting churn@2 archives churn@1" in w for w in texts(at, "warning"))
    at.button(key="reg_move").click().run()
    assert not at.exception
    assert any("In production: churn@2" in s for s in texts(at, "success"))
    with session_scope(app_ws.engine) as s:
        stages = {v.ref: v.stage for v in list_registry(session=s, project_id=1)[0].versions}
    assert stages == {"churn@1": "archived", "churn@2": "production"}


# --------------------------------------------------------------------------- roles


def test_a_viewer_sees_everything_but_no_write_controls(app_ws):
    detail = _trained(app_ws, _churn(app_ws))
    with session_scope(app_ws.engine) as s:
        developer = get_user(session=s, name=DEVELOPER)
        register_model(session=s, actor=developer, project_id=1, candidate_id=detail.candidates[1].id, name="churn")
    writes = ("train_", "exp_save", "exp_mine", "exp_reproduce", "exp_notes", "reg_register", "reg_move", "reg_export")
    at = _open(app_ws, "demo-viewer", TRAIN)
    assert not [k for k in _keys(at) if k.startswith(writes) and k != "train_version"]
    assert any("You can look at this page but not change it" in i for i in texts(at, "info"))
    at.selectbox(key="train_version").select(detail.run.version_id).run()
    assert any(h.value.startswith(f"Latest run on this version: #{detail.run.id}") for h in at.subheader)
    at.switch_page(EXPERIMENTS).run()
    assert not at.exception and len(at.dataframe[0].value) == 3
    for tab in ("Compare", "Parameters against metric", "Notes and tags", "Reproduce"):
        _tab(at, tab)
        assert not [k for k in _keys(at) if k.startswith(writes)], tab
    at.switch_page(REGISTRY).run()
    assert not at.exception and not [k for k in _keys(at) if k.startswith(writes)]
    assert sum("You can look at this page but not change it" in i for i in texts(at, "info")) == 3
    assert at.dataframe[0].value["ref"].tolist() == ["churn@1"]
    with pytest.raises(PermissionDenied):  # mlcore refuses as well
        submit_training(
            engine=app_ws.engine,
            settings=app_ws.settings,
            project_id=1,
            version_id=detail.run.version_id,
            spec=TrainingSpec("churned", ["tenure_months"], ["dummy"], ["roc_auc"]),
            actor_id=user_id(app_ws, "demo-viewer"),
            launch=False,
        )


# --------------------------------------------------------------------------- bad input


def test_bad_choices_say_what_is_wrong_and_keep_the_form(app_ws):
    at = _open(app_ws, DEVELOPER, TRAIN)
    version_id = at.selectbox(key="train_version").value
    features_key = f"train_features_{version_id}_churned"
    at.number_input(key="train_folds").set_value(4)
    _pick_families(at, ())
    at.button(key="train_start").click().run()
    assert any(
        "Choose at least one kind of model to train" in e and "Logistic regression" in e for e in texts(at, "error")
    )
    assert at.number_input(key="train_folds").value == 4  # nothing is lost

    _pick_families(at, ("dummy",))
    at.radio(key="train_search").set_value("random").run()
    at.number_input(key="train_budget").set_value(0.0)
    at.button(key="train_start").click().run()
    assert any("time budget must be a positive number of seconds" in e for e in texts(at, "error"))
    assert at.number_input(key="train_budget").value == 0.0 and at.checkbox(key="train_family_dummy").value

    at.radio(key="train_search").set_value("none")
    at.multiselect(key=features_key).select("last_complaint").run()  # free text in the 600-row demo
    at.button(key="train_start").click().run()
    assert any("cannot use free-text columns: last_complaint" in e for e in texts(at, "error"))
    assert "last_complaint" in at.multiselect(key=features_key).value
    with session_scope(app_ws.engine) as s:
        assert not s.exec(select(AuditEvent).where(AuditEvent.action == "model.train")).all()


def test_fewer_rows_than_folds_fails_with_a_clear_message(app_ws):
    rng = np.random.default_rng(0)
    tiny = pd.DataFrame({"size": rng.normal(size=8), "plan": ["a", "b"] * 4, "churned": [0, 1] * 4})
    loaded = ingest.load_frame(tiny, source=ingest.SourceInfo(format="derived"))
    version = save_table(
        engine=app_ws.engine,
        store=app_ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=1, dataset_name="tiny", target="churned"),
        actor_id=user_id(app_ws, "demo-data-engineer"),
        operation="synthetic",
    )
    at = _open(app_ws, DEVELOPER, TRAIN)
    at.selectbox(key="train_version").select(version.id).run()
    _pick_families(at, ("dummy",))
    at.number_input(key="train_folds").set_value(10)
    at.button(key="train_start").click().run()
    assert not at.exception
    wait_for_jobs(app_ws, timeout=60)
    at.run()
    failed = [e for e in texts(at, "error") if e.startswith("Training #")]
    assert failed and "failed" in failed[0] and "needs at least 10" in failed[0]
    assert at.number_input(key="train_folds").value == 10 and at.selectbox(key="train_version").value == version.id
    with session_scope(app_ws.engine) as s:
        job = get_job(session=s, job_id=int(failed[0].split("#")[1].split(" ")[0]))
    assert job.status == "failed"


def test_validation_schemes_ask_for_what_they_need(app_ws):
    at = _open(app_ws, DEVELOPER, TRAIN)
    version_id = at.selectbox(key="train_version").value
    at.selectbox(key="train_scheme").select("group_kfold").run()
    group = at.selectbox(key=f"train_group_{version_id}_churned")
    assert group.value is None and "customer_id" in group.options and "last_complaint" not in group.options
    at.button(key="train_start").click().run()
    assert any("Group k-fold needs a group column" in e for e in texts(at, "error"))
    at.selectbox(key="train_scheme").select("time_series").run()
    assert at.selectbox(key=f"train_order_{version_id}_churned").value == "signup_date"  # the only date column
    assert any("trained only on earlier rows" in c.value for c in at.caption)
    at.selectbox(key="train_scheme").select("holdout").run()
    assert not at.exception and at.slider(key="train_validation_size").value == 20
    assert not [w for w in at.main.number_input if w.key == "train_folds"]
