"""AppTest: the deployment page (mode advisor, batch scoring as a job) and the prediction dashboards (filters,
highest-risk rows with reasons, one row's drill-down, paging, download); a viewer sees no write controls;
bad input says what is wrong and keeps what was typed."""

from __future__ import annotations

import os
import shutil

import pytest
import streamlit as st
from threadpoolctl import threadpool_limits

from mlcore.config import load_settings
from mlcore.data.versions import list_versions
from mlcore.deploy.dashboard import list_batches
from mlcore.deploy.scoring import ScoringSource, csv_bytes, mode_choice_history, submit_batch_scoring
from mlcore.errors import PermissionDenied
from mlcore.jobs import list_jobs, run_job
from mlcore.modeling.tracking import TrainingSpec, default_spec, register_model, submit_training, transition_stage
from mlcore.store.engine import session_scope
from mlcore.store.models import User
from mlcore.workspace import open_workspace
from tests.app.conftest import signed_in_app, texts, user_id, wait_for_jobs

DEPLOY, PREDICT = "pages/deployment.py", "pages/predictions.py"
ENGINEER, DEVELOPER, VIEWER = "demo-deployment-engineer", "demo-model-developer", "demo-viewer"


@pytest.fixture(autouse=True)
def _one_thread_jobs(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def deployed_template(demo_template, tmp_path_factory):
    """The demo workspace with a gradient-boosting model in production (``churn@1``) and one batch of this
    month's churn rows scored with reasons and a segment, built once in this process."""
    home = tmp_path_factory.mktemp("deploy-template") / "home"
    shutil.copytree(demo_template, home)
    old = os.environ.get("MLCORE_HOME"), os.environ.get("MLCORE_DATABASE_URL")
    os.environ["MLCORE_HOME"] = str(home)
    os.environ.pop("MLCORE_DATABASE_URL", None)
    try:
        ws = open_workspace(load_settings())
        developer, engineer = user_id(ws, DEVELOPER), user_id(ws, ENGINEER)
        with session_scope(ws.engine) as s:
            churn = next(v for v in list_versions(session=s, project_id=1) if v.dataset == "churn")
            spec = default_spec(session=s, store=ws.store, project_id=1, version_id=churn.id)
        values = {
            **spec.to_json(),
            "families": ["hist_gradient_boosting"],
            "n_splits": 2,
            "params": {"hist_gradient_boosting": {"max_iter": 20}},
        }
        with threadpool_limits(limits=1):
            job = submit_training(
                engine=ws.engine,
                settings=ws.settings,
                project_id=1,
                version_id=churn.id,
                spec=TrainingSpec.from_json(values),
                actor_id=developer,
                launch=False,
            )
            view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
            assert view.status == "succeeded", view.error_key
            with session_scope(ws.engine) as s:
                mv = register_model(
                    session=s,
                    actor=s.get(User, developer),
                    project_id=1,
                    candidate_id=view.result["candidate_ids"][0],
                    name="churn",
                )
                for stage in ("staging", "production"):
                    mv = transition_stage(
                        session=s,
                        actor=s.get(User, engineer),
                        project_id=1,
                        model_version_id=mv.id,
                        stage=stage,
                        expected_version=mv.version,
                    )
            job = submit_batch_scoring(
                engine=ws.engine,
                settings=ws.settings,
                project_id=1,
                model_ref="churn",
                source=ScoringSource.dataset_version(churn.id),
                actor_id=engineer,
                segment_columns=["region"],
                explain=True,
                batch_key="churn this month",
                launch=False,
            )
            view = run_job(engine=ws.engine, job_id=job, settings=ws.settings)
            assert view.status == "succeeded", (view.error_key, view.error_params)
        ws.engine.dispose()
    finally:
        for key, value in zip(("MLCORE_HOME", "MLCORE_DATABASE_URL"), old, strict=True):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return home


@pytest.fixture
def ws(deployed_template, tmp_path, monkeypatch):
    home = tmp_path / "home"
    shutil.copytree(deployed_template, home)
    monkeypatch.setenv("MLCORE_HOME", str(home))
    monkeypatch.delenv("MLCORE_DATABASE_URL", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    workspace = open_workspace(load_settings())
    yield workspace
    wait_for_jobs(workspace)
    st.cache_resource.clear()
    workspace.engine.dispose()


SCORE_TAB = {"en": "Score a batch", "es": "Puntuar un lote"}


def _open(ws, who, page, *, lang="en", score=False):
    at = signed_in_app(ws, who)
    if lang != "en":
        at.sidebar.selectbox(key="lang_picker").select(lang).run()
    if score:  # only the open tab runs
        at.session_state["deploy_tab"] = SCORE_TAB[lang]
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _batches(ws):
    with session_scope(ws.engine) as s:
        return list_batches(session=s, project_id=1)


@pytest.mark.parametrize(
    ("lang", "deploy_title", "predict_title"), [("en", "Deploy", "Predictions"), ("es", "Desplegar", "Predicciones")]
)
def test_both_pages_render_in_both_languages(ws, lang, deploy_title, predict_title):
    at = _open(ws, ENGINEER, DEPLOY, lang=lang)
    assert at.title[0].value.startswith(deploy_title) and at.selectbox(key="deploy_urgency")
    at.session_state["deploy_tab"] = SCORE_TAB[lang]
    at.run()
    assert at.button(key="deploy_run") and at.selectbox(key="deploy_model_pick").value == "churn@1"
    at.switch_page(PREDICT).run()
    assert not at.exception and at.title[0].value == predict_title
    assert [m.value for m in at.metric][:1] == ["600"]
    assert any("%" in str(m.value) for m in at.metric)


def test_advisor_recommends_and_records_the_choice_with_a_reason(ws):
    at = _open(ws, ENGINEER, DEPLOY)
    at.selectbox(key="deploy_urgency").select("seconds").run()
    at.number_input(key="deploy_volume").set_value(500).run()
    at.selectbox(key="deploy_period").select("hour").run()
    at.toggle(key="deploy_events").set_value(True).run()
    assert any("Online web service" in s for s in texts(at, "subheader"))
    at.radio(key="deploy_mode_pick").set_value("batch")
    at.button(key="FormSubmitter:deploy_choice-Record this choice").click().run()
    assert any("write why" in e for e in texts(at, "error"))  # a choice against the advice needs a reason
    at.radio(key="deploy_mode_pick").set_value("batch")
    at.text_area(key="deploy_reason").input("Scores can be precomputed every night")
    at.button(key="FormSubmitter:deploy_choice-Record this choice").click().run()
    assert not at.exception
    assert any(s.startswith("Deployment mode recorded: Batch") for s in texts(at, "success"))
    assert any("Deployment mode in force" in s for s in texts(at, "success"))
    with session_scope(ws.engine) as s:
        history = mode_choice_history(session=s, project_id=1)
    assert [(c.mode, c.recommended, c.reason) for c in history] == [
        ("batch", "online", "Scores can be precomputed every night")
    ]


def test_run_a_batch_from_the_page_then_open_its_dashboard(ws):
    at = _open(ws, ENGINEER, DEPLOY, score=True)
    at.radio(key="deploy_source_pick").set_value("dataset_version").run()
    next_month = next(o for o in at.selectbox(key="deploy_version_pick").options if "next_month" in o)
    at.selectbox(key="deploy_version_pick").select(next_month).run()
    at.multiselect(key="deploy_segments_pick").select("contract").run()
    at.text_input(key="deploy_batch_name").input("next month").run()
    at.button(key="deploy_run").click().run()
    assert not at.exception and not texts(at, "error")
    assert any("Scoring started" in s for s in texts(at, "success"))
    assert at.session_state["deploy_tab"] == "Score a batch"  # the page stays on the job's tab
    wait_for_jobs(ws, timeout=120)
    with session_scope(ws.engine) as s:
        job = next(j for j in list_jobs(session=s, project_id=1) if j.kind == "predict_batch")
    assert job.status == "succeeded", (job.error_key, job.error_params)
    batch = next(b for b in _batches(ws) if b.batch_key == "next month")
    assert batch.segment_columns == ("contract",) and batch.n_rows > 0
    at.switch_page(PREDICT).run()
    at.selectbox(key="pred_batch_pick").select(batch.id).run()
    assert not at.exception and str(batch.n_rows) in [m.value for m in at.metric][0].replace(",", "")


def test_dashboard_filters_drills_down_pages_and_downloads(ws):
    batch = _batches(ws)[0]
    at = _open(ws, VIEWER, PREDICT)  # reading predictions needs no write role
    assert at.selectbox(key="pred_batch_pick").value == batch.id
    region = at.multiselect(key=f"pred_seg_{batch.id}_0")
    chosen = region.options[0]
    region.select(chosen).run()
    assert not at.exception
    shown = [c for c in texts(at, "caption") if c.startswith("Showing")]
    assert shown and f"of {batch.n_rows}" in shown[0]
    # highest-risk rows, with their reasons in words
    top = at.dataframe[1].value
    assert len(top) == 20 and top["reasons"].str.contains("likely").all()
    assert top["score"].is_monotonic_decreasing
    # drill down to one row
    key = at.selectbox(key=f"pred_drill_pick_{batch.id}").options[1]
    at.selectbox(key=f"pred_drill_pick_{batch.id}").select(key).run()
    assert not at.exception
    markdown = " ".join(texts(at, "markdown"))
    assert "Higher than" in markdown and "likely" in markdown
    # a key that does not exist says so
    at.text_input(key=f"pred_drill_key_{batch.id}").input("no-such-customer").run()
    assert any("no-such-customer" in e for e in texts(at, "error"))
    # paging through all rows (never more than one page at a time)
    before = at.dataframe[-1].value
    at.button(key="pred_next").click().run()
    after = at.dataframe[-1].value
    assert len(before) == 50 and not set(before["key"]) & set(after["key"])
    at.button(key="pred_prev").click().run()
    assert list(at.dataframe[-1].value["key"]) == list(before["key"])
    # download: the button is there; the file holds the filtered rows, formula-safe
    assert at.get("download_button")
    from mlcore.deploy.dashboard import RowFilter, batch_summary

    flagged = RowFilter(min_score=0.5)
    data = csv_bytes(engine=ws.engine, project_id=1, batch_id=batch.id, filters=flagged).decode("utf-8-sig")
    lines = data.strip().splitlines()
    with session_scope(ws.engine) as s:
        expected = batch_summary(session=s, project_id=1, batch_id=batch.id, filters=flagged).n_rows
    assert lines[0].startswith('"key","score"') and len(lines) - 1 == expected > 0


def test_a_viewer_sees_no_write_controls_and_mlcore_refuses(ws):
    at = _open(ws, VIEWER, DEPLOY)
    assert all("deploy_choice" not in str(b.key) for b in at.button)
    assert any("look at this page but not change it" in i for i in texts(at, "info"))
    at = _open(ws, VIEWER, DEPLOY, score=True)
    assert "deploy_run" not in [b.key for b in at.button]
    assert any("look at this page but not change it" in i for i in texts(at, "info"))
    with pytest.raises(PermissionDenied):
        submit_batch_scoring(
            engine=ws.engine,
            settings=ws.settings,
            project_id=1,
            model_ref="churn",
            source=ScoringSource.dataset_version(1),
            actor_id=user_id(ws, VIEWER),
            launch=False,
        )


def test_bad_input_says_what_is_wrong_and_keeps_the_form(ws):
    at = _open(ws, ENGINEER, DEPLOY, score=True)
    at.radio(key="deploy_source_pick").set_value("query").run()
    at.text_area(key="deploy_query").input("DELETE FROM customers").run()
    at.text_input(key="deploy_url").input("sqlite:///nowhere.db").run()
    at.button(key="deploy_run").click().run()
    assert not at.exception
    assert any("SELECT" in e for e in texts(at, "error"))
    assert at.text_area(key="deploy_query").value == "DELETE FROM customers"
    at.radio(key="deploy_source_pick").set_value("file").run()
    at.button(key="deploy_run").click().run()
    assert any("Choose a file" in e for e in texts(at, "error"))
    with session_scope(ws.engine) as s:
        assert [
            j for j in list_jobs(session=s, project_id=1) if j.kind == "predict_batch" and j.status == "queued"
        ] == []
    assert len(_batches(ws)) == 1  # the dashboards still list only the complete batch
