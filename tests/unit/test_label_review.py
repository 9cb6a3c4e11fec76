"""Label review records: the detection job, reviewers' decisions, applying them as versions, annotation."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select
from threadpoolctl import threadpool_limits

from mlcore.auth import create_user, set_member
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, save_table
from mlcore.data.label_review import (
    agreement_table,
    annotation_item,
    annotation_queue,
    apply_annotations,
    apply_review,
    class_summary,
    decision_editor_frame,
    decisions_from_editor,
    derived_versions,
    feature_columns,
    get_issue_run,
    issue_runs,
    label_effect,
    list_decisions,
    plan_apply,
    planted_flip_check,
    read_annotation_order,
    read_ranked,
    reason_text,
    review_item,
    review_progress,
    review_queue,
    save_decision,
    submit_label_effect,
    submit_label_issues,
    suggested_exclusions,
    suspects_frame,
)
from mlcore.data.labeling import LabelDecision
from mlcore.data.versions import get_version, list_versions, read_version
from mlcore.errors import ConflictError, InputError, NotFound, PermissionDenied
from mlcore.i18n import catalog
from mlcore.jobs import get_job, run_job
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import Artifact, AuditEvent, LabelDecisionRow, QualityRun, User

PW = "correct horse 1"
N_ROWS = 240
FLIPPED = [3, 17, 42, 77, 101, 150, 188, 230]


@pytest.fixture(autouse=True)
def _one_thread():
    """Models fit on one thread: on a busy machine OpenMP threads wait for each other far longer."""
    with threadpool_limits(limits=1):
        yield


@pytest.fixture
def team(ws):
    """An admin, a data engineer, two domain experts and a viewer, all members of a churn project."""
    with session_scope(ws.engine) as s:
        admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
        people = {"admin": admin}
        for name, role in [
            ("dana", "data_engineer"),
            ("edu", "domain_expert"),
            ("eva", "domain_expert"),
            ("vera", "viewer"),
            ("mo", "model_developer"),
        ]:
            people[name] = create_user(session=s, actor=admin, name=name, role=role, password=PW)
        project = create_project(session=s, data=ProjectCreate(name="Churn"), actor=admin)
        regression = create_project(session=s, data=ProjectCreate(name="Prices", task_type="regression"), actor=admin)
        for name in ("dana", "edu", "eva", "vera", "mo"):
            for p in (project, regression):
                set_member(session=s, actor=admin, project_id=p.id, user_id=people[name].id, role=people[name].role)
    return {**people, "project": project.id, "regression": regression.id}


def _frame(n: int = N_ROWS, seed: int = 0) -> tuple[pd.DataFrame, list[int]]:
    """Two informative numbers, an identifier, a leaky copy of the label; a few labels flipped."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    clean = (x1 + x2 > 0).astype(np.int64)
    y = clean.copy()
    flipped = [i for i in FLIPPED if i < n]
    y[flipped] = 1 - y[flipped]
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i:06d}" for i in range(n)],
            "x1": np.round(x1, 4),
            "x2": np.round(x2, 4),
            "plan": np.where(rng.random(n) < 0.5, "basic", "plus"),
            "fee_charged": np.where(y == 1, "yes", "no"),
            "churned": y,
        }
    )
    return frame, flipped


def _import(ws, team, frame: pd.DataFrame, *, target: str | None = "churned", name: str = "churn", project=None):
    roles = {"customer_id": "identifier"} if "customer_id" in frame else {}
    loaded = ingest.load_frame(frame, roles=roles, source=ingest.SourceInfo(format="synthetic"))
    return save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=project or team["project"], dataset_name=name, target=target, roles=roles),
        actor_id=team["admin"].id,
        operation="synthetic",
    )


def _detect(ws, team, version, *, actor="dana", project=None, **kwargs):
    job_id = submit_label_issues(
        engine=ws.engine,
        settings=ws.settings,
        project_id=project or team["project"],
        version_id=version.id,
        actor_id=team[actor].id,
        launch=False,
        **kwargs,
    )
    return run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)


def _run(ws, team, version):
    view = _detect(ws, team, version, exclude=["fee_charged"], cv=3)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        return get_issue_run(session=s, run_id=view.result["run_id"], project_id=team["project"])


def _decide(ws, team, run, who, row, action, new_label=None, expected=0, comment=""):
    with session_scope(ws.engine) as s:
        actor = s.get(User, team[who].id)
        return save_decision(
            session=s,
            actor=actor,
            project_id=team["project"],
            run_id=run.id,
            row=row,
            decision=LabelDecision(action, new_label=new_label, comment=comment),
            expected_version=expected,
        )


def _events(ws, action):
    with session_scope(ws.engine) as s:
        return s.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


# --------------------------------------------------------------------------- detection


def test_detection_job_end_to_end(ws, team):
    frame, flipped = _frame()
    version = _import(ws, team, frame)
    view = _detect(ws, team, version, exclude=["fee_charged"], cv=3)
    assert view.status == "succeeded" and view.progress == 1.0
    assert view.result["label"] == version.label and view.result["n_rows"] == N_ROWS
    with session_scope(ws.engine) as s:
        runs = issue_runs(session=s, version_id=version.id)
        assert [r.id for r in runs] == [view.result["run_id"]]
        run = runs[0]
        assert s.get(Artifact, run.ranked_sha256).kind == "parquet"
    # identifiers, the target and the excluded leak are not features
    assert run.features == ("x1", "x2", "plan") and run.excluded == ("fee_charged",)
    assert run.classes == (0, 1) and run.cv == 3 and run.n_unlabeled == 0 and run.annotation_sha256 is None
    assert len(run.noise_rate) == 2 and all(0 <= r <= 1 for r in run.noise_rate)
    ranked = read_ranked(store=ws.store, run=run)
    assert sorted(ranked.index) == list(range(N_ROWS))
    assert ranked["is_issue"].sum() == run.n_issues == view.result["n_issues"]
    probabilities = ranked[["probability_0", "probability_1"]].to_numpy()
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    assert (ranked["given_label"] == frame.loc[ranked.index, "churned"]).all()
    # the planted flips lead the ranking
    top = set(ranked.index[: len(flipped)])
    assert len(top & set(flipped)) >= len(flipped) - 2
    summary = class_summary(run, ranked)
    assert list(summary.index) == ["0", "1", "all"] and int(summary.loc["all", "rows"]) == N_ROWS
    assert {"to_0", "to_1", "estimated_noise_rate"} <= set(summary.columns)
    shown = suspects_frame(ranked, lang="es", limit=5)
    assert list(shown.columns) == ["row", "score", "given", "suggested", "confidence", "reason"]
    assert shown["reason"].str.len().gt(10).all() and not shown["reason"].str.contains("{", regex=False).any()
    event = _events(ws, "labels.detect")[0]
    assert event.after["run_id"] == run.id and event.actor_name == "dana"


def test_the_leak_flagged_by_quality_checks_is_suggested_for_exclusion(ws, team):
    from mlcore.data.quality import run_checks

    frame, _ = _frame()
    version = _import(ws, team, frame)
    report = run_checks(frame, roles={"customer_id": "identifier"}, target="churned", task_type="classification")
    ref = ws.store.put_bytes(report.to_json().encode("utf-8"))
    with session_scope(ws.engine) as s:
        assert suggested_exclusions(session=s, store=ws.store, version_id=version.id) == []
        s.add(Artifact(sha256=ref.sha256, kind="json", size=ref.size))
        s.add(QualityRun(dataset_version_id=version.id, report_sha256=ref.sha256, created_by_id=team["admin"].id))
    with session_scope(ws.engine) as s:
        assert suggested_exclusions(session=s, store=ws.store, version_id=version.id) == ["fee_charged"]


def test_feature_columns_leave_out_target_identifiers_and_exclusions(ws, team):
    version = _import(ws, team, _frame()[0])
    assert feature_columns(version) == ["x1", "x2", "plan", "fee_charged"]
    assert feature_columns(version, exclude=["plan"]) == ["x1", "x2", "fee_charged"]


# --------------------------------------------------------------------------- decisions


def test_decisions_are_kept_per_reviewer_with_resume_and_agreement(ws, team):
    frame, _ = _frame()
    version = _import(ws, team, frame)
    run = _run(ws, team, version)
    ranked = read_ranked(store=ws.store, run=run)
    queue = review_queue(ranked, decided=[])
    assert queue and set(queue) == set(ranked.index[ranked["is_issue"]])
    first, second = queue[0], queue[1]
    saved = _decide(
        ws,
        team,
        run,
        "edu",
        first,
        "relabel",
        new_label="1" if ranked.loc[first, "given_label"] == 0 else "0",
        comment="Called to cancel",
    )
    assert saved.version == 1 and saved.reviewer == "edu" and saved.new_label in (0, 1)
    _decide(ws, team, run, "edu", second, "keep")
    _decide(ws, team, run, "eva", first, "exclude")
    with session_scope(ws.engine) as s:
        mine = list_decisions(session=s, run_id=run.id, reviewer_id=team["edu"].id)
        everyone = list_decisions(session=s, run_id=run.id)
    assert [d.row for d in mine] == [first, second] and len(everyone) == 3
    # resuming skips what this reviewer decided, not what others decided
    assert review_queue(ranked, decided=[d.row for d in mine])[0] == queue[2]
    assert first in review_queue(ranked, decided=[second])
    assert review_progress(ranked, [d.row for d in mine]) == (2, len(queue))
    agreement = agreement_table(everyone)
    assert list(agreement.index) == [first] and not agreement.loc[first, "agree"]
    assert agreement.loc[first, "eva"] == "exclude" and agreement.loc[first, "edu"].startswith("relabel:")
    events = _events(ws, "labels.decide")
    assert len(events) == 3 and events[0].reason == "Called to cancel" and events[0].object_id == f"{run.id}:{first}"
    item = review_item(ranked=ranked, frame=frame, row=first, target="churned")
    assert item.rank == 1 and "churned" not in set(item.values["column"])
    assert item.reason_key in catalog("en") and len(item.probabilities) == 2
    assert reason_text(ranked.loc[first], lang="es") != reason_text(ranked.loc[first], lang="en")


def test_two_reviewers_saving_the_same_row_at_once_both_keep_their_decision(ws, team):
    run = _run(ws, team, _import(ws, team, _frame()[0]))
    barrier, errors = threading.Barrier(2), []

    def decide(who, action):
        try:
            barrier.wait()
            _decide(ws, team, run, who, 5, action)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=decide, args=a) for a in (("edu", "keep"), ("eva", "exclude"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(ws.engine) as s:
        rows = s.exec(select(LabelDecisionRow).where(LabelDecisionRow.run_id == run.id)).all()
    assert sorted((r.reviewer_id, r.action) for r in rows) == sorted(
        [(team["edu"].id, "keep"), (team["eva"].id, "exclude")]
    )


def test_a_stale_save_by_the_same_reviewer_is_refused(ws, team):
    run = _run(ws, team, _import(ws, team, _frame()[0]))
    _decide(ws, team, run, "edu", 7, "keep")
    with pytest.raises(ConflictError) as info:  # a second window that still thinks there is no decision
        _decide(ws, team, run, "edu", 7, "exclude", expected=0)
    assert info.value.key == "label_review.error.decision_changed"
    updated = _decide(ws, team, run, "edu", 7, "exclude", expected=1)
    assert updated.version == 2 and updated.action == "exclude"
    with pytest.raises(ConflictError):  # the window that read version 1 is now stale
        _decide(ws, team, run, "edu", 7, "unsure", expected=1)
    with session_scope(ws.engine) as s:
        (row,) = list_decisions(session=s, run_id=run.id)
    assert (row.action, row.version) == ("exclude", 2)


def test_bad_decisions_are_refused(ws, team):
    run = _run(ws, team, _import(ws, team, _frame()[0]))
    with pytest.raises(InputError) as info:
        _decide(ws, team, run, "edu", N_ROWS, "keep")
    assert info.value.key == "label_review.error.bad_row"
    with pytest.raises(InputError) as info:
        _decide(ws, team, run, "edu", 1, "relabel", new_label="maybe")
    assert info.value.key == "labeling.unknown_class"
    other = _import(ws, team, _frame()[0], name="other")
    with session_scope(ws.engine) as s, pytest.raises(NotFound):
        save_decision(
            session=s,
            actor=s.get(User, team["edu"].id),
            project_id=team["regression"],
            run_id=run.id,
            row=1,
            decision=LabelDecision("keep"),
        )
    assert other.id != run.version_id


def test_table_edits_become_decisions(ws, team):
    run = _run(ws, team, _import(ws, team, _frame()[0]))
    ranked = read_ranked(store=ws.store, run=run)
    _decide(ws, team, run, "edu", int(ranked.index[0]), "keep")
    with session_scope(ws.engine) as s:
        mine = list_decisions(session=s, run_id=run.id, reviewer_id=team["edu"].id)
    before = decision_editor_frame(ranked, mine, lang="en", scope="all", limit=4)
    assert before.loc[0, "action"] == "keep" and before["action"].iloc[1:].isna().all()
    edited = before.copy()
    edited.loc[0, "action"] = "exclude"  # changes an existing decision: expects its version
    edited.loc[1, "action"] = "relabel"  # takes the suggestion
    edited.loc[2, "comment"] = "no action: ignored"
    edited.loc[3, ["action", "comment"]] = ["keep", "x\x00"]  # refused: control character
    changed, problems = decisions_from_editor(before, edited, mine=mine)
    assert [(c.row, c.decision.action, c.expected_version) for c in changed] == [
        (int(ranked.index[0]), "exclude", 1),
        (int(ranked.index[1]), "relabel", 0),
    ]
    assert changed[1].decision.new_label == str(ranked.iloc[1]["suggested_label"])
    assert [(row, e.key) for row, e in problems] == [(int(ranked.index[3]), "labeling.comment_control_characters")]


# --------------------------------------------------------------------------- applying


def test_apply_creates_a_version_with_lineage_and_the_decisions(ws, team):
    frame, _ = _frame()
    version = _import(ws, team, frame)
    run = _run(ws, team, version)
    _decide(ws, team, run, "edu", 3, "relabel", new_label=str(1 - frame.loc[3, "churned"]))
    _decide(ws, team, run, "eva", 3, "relabel", new_label=str(1 - frame.loc[3, "churned"]))
    _decide(ws, team, run, "edu", 17, "exclude")
    _decide(ws, team, run, "edu", 20, "keep")
    _decide(ws, team, run, "edu", 21, "unsure")
    _decide(ws, team, run, "edu", 42, "relabel", new_label=str(1 - frame.loc[42, "churned"]))
    _decide(ws, team, run, "eva", 42, "keep")  # disagreement: skipped under consensus
    with session_scope(ws.engine) as s:
        plan = plan_apply(session=s, store=ws.store, project_id=team["project"], run_id=run.id)
    assert plan.counts == {"keep": 1, "relabel": 1, "exclude": 1, "skipped": 1, "unsure": 1}
    assert plan.skipped == (42,) and list(plan.disagreements.index) == [42]
    assert plan.disagreements.loc[42, "applied"] is None and plan.n_rows_after == N_ROWS - 1

    new = apply_review(
        engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["edu"].id
    )
    assert new.parent_id == version.id and new.operation == "label_decisions" and new.dataset == version.dataset
    assert new.number == version.number + 1 and new.target == "churned" and new.n_rows == N_ROWS - 1
    recipe = new.recipe
    assert recipe["run_id"] == run.id and recipe["rule"] == "consensus" and recipe["skipped_rows"] == [42]
    assert recipe["counts"]["relabel"] == 1 and recipe["counts"]["exclude"] == 1
    applied = json.loads(ws.store.read_bytes(recipe["decisions_sha256"]))
    assert {(d["row"], d["action"]) for d in applied} == {(3, "relabel"), (17, "exclude"), (20, "keep")}
    assert next(d for d in applied if d["row"] == 3)["reviewers"] == ["edu", "eva"]
    after = read_version(store=ws.store, version=new).to_pandas()
    parent = read_version(store=ws.store, version=version).to_pandas()
    expected = parent.drop(index=17).reset_index(drop=True)
    expected.loc[3, "churned"] = 1 - parent.loc[3, "churned"]
    pd.testing.assert_frame_equal(after, expected, check_dtype=True)
    assert [c["role"] for c in new.columns if c["name"] == "customer_id"] == ["identifier"]
    with session_scope(ws.engine) as s:
        versions = list_versions(session=s, project_id=team["project"])
    assert derived_versions(versions, run_id=run.id) == [new]
    event = _events(ws, "labels.label_decisions")[0]
    assert event.actor_name == "edu" and event.after["relabel"] == 1 and event.object_id == str(new.id)

    # the latest decision of someone allowed to apply labels resolves the disagreement
    with session_scope(ws.engine) as s:
        latest = plan_apply(session=s, store=ws.store, project_id=team["project"], run_id=run.id, rule="latest")
    assert latest.skipped == () and latest.decisions[42].action == "keep"
    assert latest.disagreements.loc[42, "applied"] == "keep"


def test_the_same_decisions_are_applied_once(ws, team):
    frame, _ = _frame()
    run = _run(ws, team, _import(ws, team, frame))
    _decide(ws, team, run, "edu", 3, "exclude")
    first = apply_review(
        engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["edu"].id
    )
    with session_scope(ws.engine) as s:
        assert plan_apply(session=s, store=ws.store, project_id=team["project"], run_id=run.id).applied_as == (
            first.label
        )
    with pytest.raises(InputError) as info:
        apply_review(
            engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["edu"].id
        )
    assert info.value.key == "label_review.error.already_applied" and first.label in info.value.message("es")
    _decide(ws, team, run, "edu", 17, "exclude")  # one more decision: a new version is welcome
    second = apply_review(
        engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["edu"].id
    )
    assert second.n_rows == N_ROWS - 2 and second.parent_id == first.parent_id


def test_the_demo_run_is_compared_with_the_planted_flips(ws, team):
    from mlcore.data.synthetic import make_churn

    demo = make_churn(400, random_state=42)
    sidecar = ws.store.put_bytes(demo.problems.to_json().encode("utf-8"))
    with session_scope(ws.engine) as s:
        s.add(Artifact(sha256=sidecar.sha256, kind="json", size=sidecar.size))
    loaded = ingest.load_frame(demo.current, source=ingest.SourceInfo(format="synthetic"))
    version = save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=loaded,
        where=ImportTarget(project_id=team["project"], dataset_name="churn", target="churned"),
        actor_id=team["admin"].id,
        operation="synthetic",
        recipe={"generator": "churn", "batch": "churn", "planted_problems_sha256": sidecar.sha256},
    )
    view = _detect(ws, team, version, exclude=["cancellation_fee_charged"], cv=3)
    assert view.status == "succeeded", view.error_key
    with session_scope(ws.engine) as s:
        run = get_issue_run(session=s, run_id=view.result["run_id"])
    ranked = read_ranked(store=ws.store, run=run)
    check = planted_flip_check(store=ws.store, version=version, ranked=ranked)
    assert check is not None and check.planted == len(demo.problems.flipped_labels)
    assert check.flagged == run.n_issues and 0 < check.found <= min(check.planted, check.flagged)
    assert check.precision == check.found / check.flagged and check.recall == check.found / check.planted
    other = _import(ws, team, _frame()[0], name="plain")
    assert planted_flip_check(store=ws.store, version=other, ranked=ranked) is None


def test_nothing_to_apply_is_an_input_error(ws, team):
    run = _run(ws, team, _import(ws, team, _frame()[0]))
    _decide(ws, team, run, "edu", 1, "keep")
    with pytest.raises(InputError) as info:
        apply_review(
            engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["dana"].id
        )
    assert info.value.key == "label_review.error.nothing_to_apply"
    with session_scope(ws.engine) as s, pytest.raises(InputError):
        plan_apply(session=s, store=ws.store, project_id=team["project"], run_id=run.id, rule="loudest")


def test_effect_of_the_decisions_is_measured_before_and_after(ws, team):
    frame, flipped = _frame()
    version = _import(ws, team, frame)
    run = _run(ws, team, version)
    for row in flipped:
        _decide(ws, team, run, "edu", row, "relabel", new_label=str(1 - frame.loc[row, "churned"]))
    new = apply_review(
        engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["edu"].id
    )
    with pytest.raises(InputError) as info:
        submit_label_effect(
            engine=ws.engine,
            settings=ws.settings,
            project_id=team["project"],
            version_id=version.id,
            actor_id=team["dana"].id,
            launch=False,
        )
    assert info.value.key == "label_review.error.not_a_review_version"
    with session_scope(ws.engine) as s:
        assert label_effect(session=s, project_id=team["project"], version_id=new.id) is None
    job_id = submit_label_effect(
        engine=ws.engine,
        settings=ws.settings,
        project_id=team["project"],
        version_id=new.id,
        actor_id=team["dana"].id,
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "succeeded", view.error_key
    with session_scope(ws.engine) as s:
        effect = label_effect(session=s, project_id=team["project"], version_id=new.id)
    assert effect is not None and effect.metric == "balanced_accuracy" and effect.job_id == job_id
    assert 0.5 < effect.before < effect.after <= 1.0
    assert effect.n_rows_before == effect.n_rows_after == N_ROWS


# --------------------------------------------------------------------------- annotation


def test_unlabelled_rows_are_ordered_annotated_and_saved_as_a_version(ws, team):
    frame, _ = _frame()
    unlabeled = [10, 11, 12, 60, 61]
    frame["churned"] = frame["churned"].astype("Int64")
    frame.loc[unlabeled, "churned"] = pd.NA
    version = _import(ws, team, frame)
    run = _run(ws, team, version)
    assert run.n_rows == N_ROWS - len(unlabeled) and run.n_unlabeled == len(unlabeled)
    ranked = read_ranked(store=ws.store, run=run)
    assert not set(ranked.index) & set(unlabeled)
    order = read_annotation_order(store=ws.store, run=run)
    assert sorted(order.index) == unlabeled
    item = annotation_item(order=order, frame=frame, row=unlabeled[0], target="churned")
    assert type(item.predicted_label) is int and str(item.predicted_label) in {"0", "1"}  # not "1.0"
    assert len(item.probabilities) == 2 and "churned" not in set(item.values["column"])
    assert order["uncertainty"].is_monotonic_decreasing and set(order["predicted_label"]) <= {0, 1}
    first, second, third = annotation_queue(order, decided=[])[:3]
    _decide(ws, team, run, "edu", first, "relabel", new_label="1")
    _decide(ws, team, run, "edu", second, "relabel", new_label="0")
    _decide(ws, team, run, "edu", third, "unsure")
    assert annotation_queue(order, decided=[first, second, third]) == [r for r in order.index][3:]
    new = apply_annotations(
        engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["edu"].id
    )
    assert new.operation == "annotation" and new.parent_id == version.id and new.n_rows == N_ROWS
    assert new.recipe["counts"]["relabel"] == 2 and new.recipe["run_id"] == run.id
    after = read_version(store=ws.store, version=new).to_pandas()
    assert after.loc[first, "churned"] == 1 and after.loc[second, "churned"] == 0
    assert after["churned"].isna().sum() == len(unlabeled) - 2
    assert (after["churned"].dropna() == frame["churned"].dropna().reindex(after["churned"].dropna().index)).all()
    with session_scope(ws.engine) as s:
        assert get_version(session=s, version_id=new.id).columns == version.columns
    # annotations are not review decisions: applying the review finds nothing to change
    with pytest.raises(InputError):
        apply_review(
            engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["edu"].id
        )


# --------------------------------------------------------------------------- permissions


def test_viewers_and_experts_get_only_what_their_role_allows(ws, team):
    version = _import(ws, team, _frame()[0])
    run = _run(ws, team, version)
    with pytest.raises(PermissionDenied):  # a domain expert reviews but does not run models
        submit_label_issues(
            engine=ws.engine,
            settings=ws.settings,
            project_id=team["project"],
            version_id=version.id,
            actor_id=team["edu"].id,
            launch=False,
        )
    with pytest.raises(PermissionDenied):
        _decide(ws, team, run, "vera", 1, "keep")
    with pytest.raises(PermissionDenied):
        _decide(ws, team, run, "mo", 1, "keep")  # model developers may apply, not review
    with pytest.raises(PermissionDenied):
        apply_review(
            engine=ws.engine, store=ws.store, project_id=team["project"], run_id=run.id, actor_id=team["vera"].id
        )
    with pytest.raises(PermissionDenied):
        submit_label_effect(
            engine=ws.engine,
            settings=ws.settings,
            project_id=team["project"],
            version_id=version.id,
            actor_id=team["vera"].id,
            launch=False,
        )
    with session_scope(ws.engine) as s:
        assert list_decisions(session=s, run_id=run.id) == []
    assert _events(ws, "labels.decide") == []


# --------------------------------------------------------------------------- bad input


def _fails_with(ws, team, frame, key, *, target="churned", **kwargs):
    version = _import(ws, team, frame, target=target)
    view = _detect(ws, team, version, **kwargs)
    assert view.status == "failed" and view.error_key == key, (view.error_key, view.error_params)
    assert view.error_key in catalog("en") and view.error_key in catalog("es")
    with session_scope(ws.engine) as s:
        assert issue_runs(session=s, version_id=version.id) == []
        assert get_job(session=s, job_id=view.id).result == {}


def test_a_regression_project_or_a_version_without_target_is_refused_at_once(ws, team):
    frame, _ = _frame()
    priced = _import(
        ws, team, frame.assign(price=np.linspace(1, 100, N_ROWS)), target="price", project=team["regression"]
    )
    with pytest.raises(InputError) as info:
        submit_label_issues(
            engine=ws.engine,
            settings=ws.settings,
            project_id=team["regression"],
            version_id=priced.id,
            actor_id=team["dana"].id,
            launch=False,
        )
    assert info.value.key == "label_review.error.regression_project" and "Prices" in info.value.message("en")
    untargeted = _import(ws, team, frame, target=None, name="raw")
    for exclude, cv, key in ([[], 5, "label_review.error.no_target"],):
        with pytest.raises(InputError) as info:
            submit_label_issues(
                engine=ws.engine,
                settings=ws.settings,
                project_id=team["project"],
                version_id=untargeted.id,
                actor_id=team["dana"].id,
                exclude=exclude,
                cv=cv,
                launch=False,
            )
        assert info.value.key == key
    labelled = _import(ws, team, frame, name="ok")
    for kwargs, key in [
        ({"exclude": ["nope"]}, "label_review.error.unknown_columns"),
        ({"cv": 1}, "labeling.bad_folds"),
    ]:
        with pytest.raises(InputError) as info:
            submit_label_issues(
                engine=ws.engine,
                settings=ws.settings,
                project_id=team["project"],
                version_id=labelled.id,
                actor_id=team["dana"].id,
                launch=False,
                **kwargs,
            )
        assert info.value.key == key


def test_a_continuous_target_in_a_classification_project_is_refused(ws, team):
    frame, _ = _frame()
    _fails_with(ws, team, frame.assign(churned=np.linspace(0, 1, N_ROWS)), "labeling.continuous_target")


def test_one_class_is_refused(ws, team):
    _fails_with(ws, team, _frame()[0].assign(churned=1), "labeling.one_class")


def test_a_class_smaller_than_the_folds_is_refused(ws, team):
    frame, _ = _frame()
    frame["churned"] = np.where(np.arange(N_ROWS) < 2, "rare", np.where(frame["churned"] == 1, "yes", "no"))
    _fails_with(ws, team, frame, "labeling.class_too_small", cv=3)


def test_more_than_fifty_classes_are_refused(ws, team):
    frame, _ = _frame()
    frame["churned"] = [f"k{i % 60}" for i in range(N_ROWS)]
    _fails_with(ws, team, frame, "labeling.too_many_classes", cv=2)


def test_features_that_are_all_text_are_refused(ws, team):
    rng = np.random.default_rng(3)
    words = ["network", "billing", "slow", "support", "price", "cancel", "signal", "app"]
    notes = [" ".join(rng.choice(words, 6)) + f" ticket {i}" for i in range(N_ROWS)]
    frame = pd.DataFrame({"note": notes, "churned": rng.integers(0, 2, N_ROWS)})
    _fails_with(ws, team, frame, "labeling.no_usable_features", cv=3)


def test_missing_targets_mixed_with_present_ones_review_the_labelled_rows(ws, team):
    frame, _ = _frame()
    frame["churned"] = frame["churned"].astype("Int64")
    frame.loc[::40, "churned"] = pd.NA
    run = _run(ws, team, _import(ws, team, frame))
    assert run.n_unlabeled == len(frame.index[::40]) and run.n_rows == N_ROWS - run.n_unlabeled
    assert run.classes == (0, 1)


def test_review_queue_refuses_an_unknown_scope(ws, team):
    ranked = pd.DataFrame({"is_issue": [True]}, index=[0])
    with pytest.raises(InputError):
        review_queue(ranked, decided=[], scope="mine")
