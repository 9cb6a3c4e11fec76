"""AppTest: the label review page — detection as a job, review by a domain expert, apply, roles."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_limits

from mlcore.data.label_review import issue_runs, list_decisions, read_ranked, review_queue, submit_label_issues
from mlcore.data.versions import list_versions
from mlcore.jobs import run_job
from mlcore.projects import list_projects
from mlcore.store.engine import session_scope
from tests.app.conftest import signed_in_app, texts, user_id, wait_for_jobs

PAGE = "pages/labels.py"


@pytest.fixture(autouse=True)
def _one_thread_jobs(monkeypatch):
    """Job processes fit their models on one thread: on a busy test machine that is much faster."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


def _open(ws, who):
    at = signed_in_app(ws, who)
    at.switch_page(PAGE).run()
    assert not at.exception
    return at


def _churn_version(ws):
    with session_scope(ws.engine) as s:
        project = list_projects(session=s)[0]
        versions = list_versions(session=s, project_id=project.id)
    return project, next(v for v in versions if v.dataset == "churn")


def _pick_churn(at, version):
    at.selectbox(key="labels_version_pick").select(version.id).run()
    assert not at.exception


def _tab(at, label):
    """Open a tab (only the open tab's content runs)."""
    at.session_state["labels_tab"] = label
    at.run()
    assert not at.exception


def test_page_renders_in_both_languages(app_ws):
    at = _open(app_ws, "demo-admin")
    assert at.title[0].value == "Review labels"
    assert [t.label for t in at.tabs] == ["Find issues", "Review", "Apply", "Annotate"]
    at.sidebar.selectbox(key="lang_picker").select_index(1).run()
    at.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == "Revisar etiquetas"


def test_detect_review_apply_and_see_the_new_version(app_ws):
    project, version = _churn_version(app_ws)
    engineer = _open(app_ws, "demo-data-engineer")
    _pick_churn(engineer, version)
    engineer.multiselect(key=f"labels_exclude_{version.id}").select("cancellation_fee_charged").run()
    engineer.button(key="labels_find").click().run()
    assert not engineer.exception
    assert any("Looking for label issues" in s for s in texts(engineer, "success"))
    wait_for_jobs(app_ws, timeout=180)
    engineer.run()
    assert not engineer.exception
    with session_scope(app_ws.engine) as s:
        (run,) = issue_runs(session=s, version_id=version.id)
    assert run.excluded == ("cancellation_fee_charged",) and run.n_rows == version.n_rows
    assert any(h.value == f"Results of run #{run.id}" for h in engineer.subheader)
    assert any(m.label == "Suspect labels" and m.value == f"{run.n_issues:,}" for m in engineer.metric)

    expert = _open(app_ws, "demo-domain-expert")
    _pick_churn(expert, version)
    _tab(expert, "Review")
    ranked = read_ranked(store=app_ws.store, run=run)
    first, second = review_queue(ranked, decided=[])[:2]
    suggested = str(ranked.loc[first, "suggested_label"])
    assert any(h.value.startswith(f"Row {first} ") for h in expert.subheader)
    expert.radio(key=f"labels_action_{run.id}_{first}").set_value("relabel")
    expert.selectbox(key=f"labels_new_{run.id}_{first}").set_value(suggested)
    expert.text_area(key=f"labels_comment_{run.id}_{first}").input("Cancelled by phone")
    expert.button(key=f"FormSubmitter:labels_decide_{run.id}_{first}-Save and next").click().run()
    assert not expert.exception
    assert any(f"Row {first}" in s for s in texts(expert, "success"))
    # the queue moved on to the next suspect (resumed from what this reviewer decided)
    assert any(h.value.startswith(f"Row {second} ") for h in expert.subheader)
    expert.radio(key=f"labels_action_{run.id}_{second}").set_value("exclude")
    expert.button(key=f"FormSubmitter:labels_decide_{run.id}_{second}-Save and next").click().run()
    with session_scope(app_ws.engine) as s:
        decided = list_decisions(session=s, run_id=run.id)
    assert [(d.row, d.action, d.reviewer) for d in decided] == [
        (first, "relabel", "demo-domain-expert"),
        (second, "exclude", "demo-domain-expert"),
    ]
    assert decided[0].comment == "Cancelled by phone" and str(decided[0].new_label) == suggested

    _tab(expert, "Apply")
    expert.button(key=f"labels_apply_review_{run.id}").click().run()
    assert not expert.exception
    with session_scope(app_ws.engine) as s:
        made = [v for v in list_versions(session=s, project_id=project.id) if v.operation == "label_decisions"]
    assert len(made) == 1 and made[0].parent_id == version.id and made[0].n_rows == version.n_rows - 1
    assert any(f"Created {made[0].label}" in s for s in texts(expert, "success"))
    assert any(h.value == f"Latest corrected version: {made[0].label}" for h in expert.subheader)
    # a domain expert may not train models: the before/after metric is offered to engineers
    assert not [b for b in expert.main.button if b.key == f"labels_effect_{made[0].id}"]
    _tab(engineer, "Apply")
    assert [b for b in engineer.main.button if b.key == f"labels_effect_{made[0].id}"]


def test_a_viewer_sees_results_but_cannot_decide(app_ws):
    project, version = _churn_version(app_ws)
    job_id = submit_label_issues(
        engine=app_ws.engine,
        settings=app_ws.settings,
        project_id=project.id,
        version_id=version.id,
        actor_id=user_id(app_ws, "demo-data-engineer"),
        exclude=["cancellation_fee_charged"],
        launch=False,
    )
    with threadpool_limits(limits=1):
        assert run_job(engine=app_ws.engine, job_id=job_id, settings=app_ws.settings).status == "succeeded"
    at = _open(app_ws, "demo-viewer")
    _pick_churn(at, version)
    assert any(h.value.startswith("Results of run #") for h in at.subheader)  # reading is allowed
    notices = []
    for tab in ("Find issues", "Review", "Apply", "Annotate"):
        _tab(at, tab)
        keys = {w.key for kind in ("button", "radio", "text_area", "multiselect") for w in getattr(at.main, kind)}
        controls = ("labels_find", "labels_action", "labels_apply", "FormSubmitter:labels", "labels_effect")
        assert not [k for k in keys if k and k.startswith(controls)], tab
        notices += [i for i in texts(at, "info") if i.startswith("You can look at this page but not change it")]
    # find, review and apply each say whom to ask (there is nothing to annotate in the demo)
    assert len(notices) == 3
    assert "data engineer, model developer" in notices[0] and "domain expert" in notices[1]


def test_annotate_unlabelled_rows_and_save_them_as_a_version(app_ws):
    from mlcore.data import ingest
    from mlcore.data.imports import ImportTarget, save_table
    from mlcore.data.versions import read_version

    project, version = _churn_version(app_ws)
    frame = read_version(store=app_ws.store, version=version).to_pandas().head(300)
    frame["churned"] = frame["churned"].astype("Int64")
    frame.loc[[5, 50, 150], "churned"] = None
    loaded = ingest.load_frame(frame, roles={"customer_id": "identifier"}, source=ingest.SourceInfo(format="derived"))
    partial = save_table(
        engine=app_ws.engine,
        store=app_ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project.id, dataset_name="partly_labelled", target="churned"),
        actor_id=user_id(app_ws, "demo-data-engineer"),
        operation="synthetic",
    )
    job_id = submit_label_issues(
        engine=app_ws.engine,
        settings=app_ws.settings,
        project_id=project.id,
        version_id=partial.id,
        actor_id=user_id(app_ws, "demo-data-engineer"),
        exclude=["cancellation_fee_charged"],
        cv=3,
        launch=False,
    )
    with threadpool_limits(limits=1):
        assert run_job(engine=app_ws.engine, job_id=job_id, settings=app_ws.settings).status == "succeeded"
    with session_scope(app_ws.engine) as s:
        (run,) = issue_runs(session=s, version_id=partial.id)
    assert run.n_unlabeled == 3

    at = _open(app_ws, "demo-domain-expert")
    at.selectbox(key="labels_version_pick").select(partial.id).run()
    _tab(at, "Annotate")
    for _ in range(2):
        prefix = f"labels_annot_label_{run.id}_"
        row = int(next(b.key for b in at.selectbox if (b.key or "").startswith(prefix)).removeprefix(prefix))
        at.selectbox(key=f"labels_annot_label_{run.id}_{row}").set_value("1")
        at.button(key=f"FormSubmitter:labels_annotate_{run.id}_{row}-Save and next").click().run()
        assert not at.exception
    at.button(key=f"labels_apply_annotation_{run.id}").click().run()
    assert not at.exception
    with session_scope(app_ws.engine) as s:
        made = [v for v in list_versions(session=s, project_id=project.id) if v.operation == "annotation"]
    assert len(made) == 1 and made[0].parent_id == partial.id and made[0].n_rows == 300
    after = read_version(store=app_ws.store, version=made[0]).to_pandas()
    assert after["churned"].isna().sum() == 1 and (after.loc[[5, 50, 150], "churned"].dropna() == 1).all()
