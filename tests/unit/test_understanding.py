"""Data understanding records: project thresholds, quality runs as jobs, acknowledgements, cached profiles,
finding rows, the overview helpers, and the evidence the planning stage reads."""

from __future__ import annotations

import json
import string
from dataclasses import fields
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sqlmodel import select

from mlcore import i18n
from mlcore.audit import AuditFilter, list_events
from mlcore.auth import get_user, set_member
from mlcore.data.profiling import overview, profile_report_html
from mlcore.data.quality import CHECKS, Finding, QualityReport, QualityThresholds, run_checks
from mlcore.data.understanding import (
    PROFILE_SAMPLE_ROWS,
    THRESHOLD_KINDS,
    acknowledge_finding,
    acknowledgements,
    cached_profile,
    column_table,
    default_column,
    describe_version,
    distribution_chart,
    finding_rows,
    findings_frame,
    get_quality_settings,
    latest_quality,
    latest_quality_summary,
    missing_chart,
    profile_mode,
    quality_runs,
    quality_runs_frame,
    read_profile_html,
    read_quality_report,
    relation_chart,
    sandboxed_html,
    save_quality_settings,
    submit_profile,
    submit_quality,
    threshold_changes,
    thresholds_from_form,
    thresholds_to_form,
    version_roles,
)
from mlcore.data.versions import list_versions
from mlcore.demo import seed_demo
from mlcore.errors import ConflictError, InputError, NotFound, PermissionDenied
from mlcore.i18n import catalog, translate
from mlcore.jobs import run_job
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, FindingAck, Job, ProfileReport, QualityRun

DEMO_ROWS = 600


@pytest.fixture
def demo(ws):
    """The demo project (two versions of churn data with planted problems) and its people."""
    seed = seed_demo(engine=ws.engine, settings=ws.settings, n_rows=DEMO_ROWS)
    with session_scope(ws.engine) as s:
        people = {
            name: get_user(session=s, name=f"demo-{name}")
            for name in ("admin", "data-engineer", "viewer", "domain-expert", "model-developer")
        }
        versions = {v.dataset: v for v in list_versions(session=s, project_id=seed.project_id)}
    return {
        "project": seed.project_id,
        "people": people,
        "churn": versions["churn"],
        "next": versions["churn_next_month"],
    }


def _engineer(demo):
    return demo["people"]["data-engineer"]


def _events(ws, action):
    with session_scope(ws.engine) as s:
        return list_events(session=s, filters=AuditFilter(action=action))


def _run_quality(ws, demo, *, other=None, who="data-engineer"):
    job_id = submit_quality(
        engine=ws.engine,
        settings=ws.settings,
        project_id=demo["project"],
        version_id=demo["churn"].id,
        actor_id=demo["people"][who].id,
        other_version_id=other,
        launch=False,
    )
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    return view


# --------------------------------------------------------------------------- settings


def test_settings_start_as_defaults_and_save_with_audit(ws, demo):
    p = demo["project"]
    with session_scope(ws.engine) as s:
        start = get_quality_settings(session=s, project_id=p)
    assert start.version == 0 and start.thresholds == QualityThresholds()
    with session_scope(ws.engine) as s:
        saved = save_quality_settings(
            session=s, actor=_engineer(demo), project_id=p, thresholds={"leakage_score": 0.9}, expected_version=0
        )
    assert saved.version == 1 and saved.thresholds.leakage_score == 0.9
    with session_scope(ws.engine) as s:
        again = save_quality_settings(
            session=s,
            actor=_engineer(demo),
            project_id=p,
            thresholds=QualityThresholds(leakage_score=0.9, rare_class_count=5),
            expected_version=1,
        )
        assert again.version == 2
        assert get_quality_settings(session=s, project_id=p).thresholds.rare_class_count == 5
    events = _events(ws, "quality.settings")
    assert len(events) == 2
    assert events.iloc[0]["before"] == "rare_class_count=10" and events.iloc[0]["after"] == "rare_class_count=5"
    assert events.iloc[0]["actor"] == "demo-data-engineer"


def test_stale_settings_save_is_refused_and_nothing_changes(ws, demo):
    p = demo["project"]
    with session_scope(ws.engine) as s:
        save_quality_settings(
            session=s,
            actor=demo["people"]["admin"],
            project_id=p,
            thresholds={"rare_class_count": 3},
            expected_version=0,
        )
    for stale in (0, 5):
        with session_scope(ws.engine) as s, pytest.raises(ConflictError) as info:
            save_quality_settings(
                session=s,
                actor=_engineer(demo),
                project_id=p,
                thresholds={"rare_class_count": 7},
                expected_version=stale,
            )
        assert info.value.key == "understanding.error.settings_conflict" and info.value.params["version"] == 1
    with session_scope(ws.engine) as s:
        kept = get_quality_settings(session=s, project_id=p)
    assert kept.version == 1 and kept.thresholds.rare_class_count == 3
    assert len(_events(ws, "quality.settings")) == 1


@pytest.mark.parametrize("who", ["viewer", "domain-expert"])
def test_settings_need_the_settings_role(ws, demo, who):
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        save_quality_settings(
            session=s, actor=demo["people"][who], project_id=demo["project"], thresholds={}, expected_version=0
        )
    with session_scope(ws.engine) as s:
        assert get_quality_settings(session=s, project_id=demo["project"]).version == 0


@pytest.mark.parametrize(
    "bad,key",
    [
        ({"leakage_score": 1.5}, "quality.bad_threshold"),
        ({"missing_warn_share": 0.6, "missing_fail_share": 0.5}, "quality.threshold_order"),
        ({"nonsense": 1}, "quality.unknown_threshold"),
    ],
)
def test_invalid_thresholds_are_refused(ws, demo, bad, key):
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        save_quality_settings(
            session=s, actor=_engineer(demo), project_id=demo["project"], thresholds=bad, expected_version=0
        )
    assert info.value.key == key


def test_form_values_round_trip_with_shares_in_percent():
    custom = QualityThresholds(duplicate_fail_share=0.07, missing_warn_share=0.001, leakage_score=0.93, robust_z=4.0)
    form = thresholds_to_form(custom)
    assert form["duplicate_fail_share"] == pytest.approx(7.0) and form["missing_warn_share"] == pytest.approx(0.1)
    assert form["leakage_score"] == 0.93 and form["robust_z"] == 4.0 and form["rare_class_count"] == 10
    assert thresholds_from_form(form) == custom
    assert set(THRESHOLD_KINDS) == {f.name for f in fields(QualityThresholds)}
    assert threshold_changes(custom, custom) == {}
    with pytest.raises(InputError):
        thresholds_from_form({"duplicate_fail_share": 150.0})


def test_every_threshold_has_a_label_and_help_in_both_languages():
    en, es = catalog("en"), catalog("es")
    for name in THRESHOLD_KINDS:
        for key in (f"understanding.threshold.{name}", f"understanding.threshold.{name}.help"):
            assert en[key] and es[key] and en[key] != es[key], key
    for status in ("pass", "warn", "fail"):
        assert f"understanding.status.{status}" in en


# --------------------------------------------------------------------------- quality runs


def test_quality_job_end_to_end_stores_run_report_and_audit(ws, demo):
    with session_scope(ws.engine) as s:
        save_quality_settings(
            session=s,
            actor=_engineer(demo),
            project_id=demo["project"],
            thresholds={"rare_class_count": 4, "leakage_score": 0.9},
            expected_version=0,
        )
    view = _run_quality(ws, demo)
    result = view.result
    assert result["label"] == "churn v1" and result["n_rows"] == DEMO_ROWS
    assert "churn v1" in translate("jobs.result", "en", **result)  # the jobs panel can show it
    with session_scope(ws.engine) as s:
        runs = quality_runs(session=s, version_id=demo["churn"].id)
        latest = latest_quality(session=s, store=ws.store, version_id=demo["churn"].id)
        row = s.get(QualityRun, result["run_id"])
    assert len(runs) == 1 and latest is not None and latest.run == runs[0]
    report = latest.report
    assert {f.check for f in report.findings} == set(CHECKS)
    assert (row.n_pass, row.n_warn, row.n_fail) == (
        report.summary()["pass"],
        report.summary()["warn"],
        report.summary()["fail"],
    )
    assert row.thresholds["rare_class_count"] == 4 and report.thresholds.rare_class_count == 4
    assert runs[0].status == "fail"  # the demo data leaks the target on purpose
    assert any(f.check == "target_leakage" and f.status == "fail" for f in report.findings)
    # the stored report is the artifact recorded for the run and reads back identical
    stored = read_quality_report(store=ws.store, report_sha256=row.report_sha256)
    assert stored == report and QualityReport.from_json(report.to_json()) == report
    events = _events(ws, "quality.run")
    assert len(events) == 1 and f"run_id={row.id}" in events.iloc[0]["after"]
    frame = quality_runs_frame(runs, status_labels={"fail": "Falla"})
    assert frame.loc[0, "status"] == "Falla" and frame.loc[0, "n_fail"] == row.n_fail


def test_quality_uses_the_thresholds_of_the_time_it_was_asked(ws, demo):
    job_id = submit_quality(
        engine=ws.engine,
        settings=ws.settings,
        project_id=demo["project"],
        version_id=demo["churn"].id,
        actor_id=_engineer(demo).id,
        launch=False,
    )
    with session_scope(ws.engine) as s:
        save_quality_settings(
            session=s,
            actor=_engineer(demo),
            project_id=demo["project"],
            thresholds={"leakage_score": 0.99},
            expected_version=0,
        )
    run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    with session_scope(ws.engine) as s:
        run = quality_runs(session=s, version_id=demo["churn"].id)[0]
    assert run.thresholds["leakage_score"] == 0.95


def test_overlap_with_another_version_names_it_in_the_report(ws, demo):
    _run_quality(ws, demo, other=demo["next"].id)
    with session_scope(ws.engine) as s:
        latest = latest_quality(session=s, store=ws.store, version_id=demo["churn"].id)
    overlap = latest.report.for_check("train_test_overlap")
    assert overlap and all(f.applicable for f in overlap)
    assert all(f.params["other_label"] == "churn_next_month v1" for f in overlap)


def test_quality_submission_checks_role_project_and_duplicates(ws, demo):
    p, v = demo["project"], demo["churn"].id
    for who in ("viewer", "domain-expert"):
        with pytest.raises(PermissionDenied):
            submit_quality(
                engine=ws.engine,
                settings=ws.settings,
                project_id=p,
                version_id=v,
                actor_id=demo["people"][who].id,
                launch=False,
            )
    with session_scope(ws.engine) as s:
        other = create_project(session=s, data=ProjectCreate(name="Other"), actor=demo["people"]["admin"])
        set_member(
            session=s,
            actor=demo["people"]["admin"],
            project_id=other.id,
            user_id=_engineer(demo).id,
            role="data_engineer",
        )
        other_id = other.id
    with pytest.raises(NotFound):  # a version of another project, even for someone allowed there
        submit_quality(
            engine=ws.engine,
            settings=ws.settings,
            project_id=other_id,
            version_id=v,
            actor_id=_engineer(demo).id,
            launch=False,
        )
    with pytest.raises(InputError) as info:
        submit_quality(
            engine=ws.engine,
            settings=ws.settings,
            project_id=p,
            version_id=v,
            actor_id=_engineer(demo).id,
            other_version_id=v,
            launch=False,
        )
    assert info.value.key == "understanding.error.same_version"
    first = submit_quality(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=v, actor_id=_engineer(demo).id, launch=False
    )
    second = submit_quality(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=v, actor_id=_engineer(demo).id, launch=False
    )
    assert first == second  # the same checks are already queued
    with session_scope(ws.engine) as s:
        assert len(s.exec(select(Job).where(Job.kind == "quality")).all()) == 1


def test_quality_job_rechecks_the_role_when_it_runs(ws, demo):
    job_id = submit_quality(
        engine=ws.engine,
        settings=ws.settings,
        project_id=demo["project"],
        version_id=demo["churn"].id,
        actor_id=_engineer(demo).id,
        launch=False,
    )
    with session_scope(ws.engine) as s:  # the engineer becomes a viewer before the job starts
        set_member(
            session=s,
            actor=demo["people"]["admin"],
            project_id=demo["project"],
            user_id=_engineer(demo).id,
            role="viewer",
        )
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "failed" and view.error_key == "errors.permission_denied"
    with session_scope(ws.engine) as s:
        assert quality_runs(session=s, version_id=demo["churn"].id) == []


# --------------------------------------------------------------------------- acknowledgements and evidence


def test_acknowledge_a_finding_with_a_note_and_audit(ws, demo):
    _run_quality(ws, demo)
    with session_scope(ws.engine) as s:
        latest = latest_quality(session=s, store=ws.store, version_id=demo["churn"].id)
    leak = next(f for f in latest.report.findings if f.status != "pass")
    n_open = len(latest.open_findings())
    with session_scope(ws.engine) as s:
        ack = acknowledge_finding(
            session=s,
            actor=_engineer(demo),
            project_id=demo["project"],
            version_id=demo["churn"].id,
            finding_key=leak.finding_id,
            note="  Dropped in Preparation: recorded after the customer left. ",
        )
    assert ack.note == "Dropped in Preparation: recorded after the customer left." and ack.by == "Demo data engineer"
    with session_scope(ws.engine) as s:
        latest = latest_quality(session=s, store=ws.store, version_id=demo["churn"].id)
        summary = latest_quality_summary(s, demo["churn"].id, store=ws.store)
        bare = latest_quality_summary(s, demo["churn"].id)
    assert leak.finding_id in latest.acks and len(latest.open_findings()) == n_open - 1
    assert summary.status == latest.run.status and summary.n_acknowledged == 1 and summary.n_fail == latest.run.n_fail
    assert summary.checks[leak.check] in ("warn", "fail") and leak.finding_id not in summary.open_findings
    assert len(summary.open_findings) == n_open - 1
    assert bare.checks == {} and bare.open_findings == () and bare.run_id == summary.run_id
    events = _events(ws, "quality.acknowledge")
    assert len(events) == 1 and events.iloc[0]["reason"] == ack.note and leak.finding_id in events.iloc[0]["after"]
    # acknowledging again replaces the note and keeps the old one in the trail
    with session_scope(ws.engine) as s:
        acknowledge_finding(
            session=s,
            actor=demo["people"]["model-developer"],
            project_id=demo["project"],
            version_id=demo["churn"].id,
            finding_key=leak.finding_id,
            note="Confirmed with the billing team.",
        )
        rows = s.exec(select(FindingAck)).all()
        acks = acknowledgements(session=s, version_id=demo["churn"].id)
    assert len(rows) == 1 and acks[leak.finding_id].note == "Confirmed with the billing team."
    events = _events(ws, "quality.acknowledge")
    assert len(events) == 2 and "Dropped in Preparation" in events.iloc[0]["before"]


@pytest.mark.parametrize(
    "key,note,error",
    [
        ("duplicate_rows.warn:", "   ", "understanding.error.note_required"),
        ("duplicate_rows.warn:", "x" * 5001, "understanding.error.note_too_long"),
        ("not_a_check.warn:", "fine", "understanding.error.bad_finding"),
        ("", "fine", "understanding.error.bad_finding"),
    ],
)
def test_acknowledgement_input_is_checked(ws, demo, key, note, error):
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        acknowledge_finding(
            session=s,
            actor=_engineer(demo),
            project_id=demo["project"],
            version_id=demo["churn"].id,
            finding_key=key,
            note=note,
        )
    assert info.value.key == error
    with session_scope(ws.engine) as s:
        assert s.exec(select(FindingAck)).all() == []


def test_acknowledgement_needs_the_role_and_the_right_project(ws, demo):
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        acknowledge_finding(
            session=s,
            actor=demo["people"]["viewer"],
            project_id=demo["project"],
            version_id=demo["churn"].id,
            finding_key="duplicate_rows.warn:",
            note="ok",
        )
    with session_scope(ws.engine) as s, pytest.raises(NotFound):
        acknowledge_finding(
            session=s,
            actor=_engineer(demo),
            project_id=demo["project"],
            version_id=99_999,
            finding_key="duplicate_rows.warn:",
            note="ok",
        )
    with session_scope(ws.engine) as s:
        assert s.exec(select(AuditEvent).where(AuditEvent.action == "quality.acknowledge")).all() == []


def test_no_quality_evidence_before_a_run(ws, demo):
    with session_scope(ws.engine) as s:
        assert latest_quality_summary(s, demo["churn"].id) is None
        assert latest_quality(session=s, store=ws.store, version_id=demo["churn"].id) is None


# --------------------------------------------------------------------------- full profile


@pytest.mark.slow
def test_profile_job_is_cached_by_dataset_sha(ws, demo):
    p, v, actor = demo["project"], demo["churn"], _engineer(demo).id
    first = submit_profile(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=v.id, actor_id=actor, launch=False
    )
    assert first.mode == "minimal" and first.cached is None and first.job_id is not None
    again = submit_profile(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=v.id, actor_id=actor, launch=False
    )
    assert again.job_id == first.job_id  # already queued: no second job
    view = run_job(engine=ws.engine, job_id=first.job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    assert view.result["n_rows"] == DEMO_ROWS and view.result["sampled"] is False
    with session_scope(ws.engine) as s:
        found = cached_profile(session=s, store=ws.store, dataset_sha256=v.sha256, mode="minimal")
    assert found is not None and not found.sampled and found.n_rows_profiled == DEMO_ROWS
    html = read_profile_html(store=ws.store, html_sha256=found.html_sha256)
    assert "<html" in html.lower() and "churn v1" in html
    reused = submit_profile(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=v.id, actor_id=actor, launch=False
    )
    assert reused.cached == found and reused.job_id is None
    with session_scope(ws.engine) as s:
        assert len(s.exec(select(Job).where(Job.kind == "profile")).all()) == 1
        assert len(s.exec(select(ProfileReport)).all()) == 1
    assert len(_events(ws, "data.profile")) == 1
    # another mode is another report; a report whose file disappeared is rebuilt
    other = submit_profile(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        version_id=v.id,
        actor_id=actor,
        explorative=True,
        launch=False,
    )
    assert other.mode == "explorative" and other.job_id != first.job_id
    ws.store.path(found.html_sha256).unlink()
    with session_scope(ws.engine) as s:
        assert cached_profile(session=s, store=ws.store, dataset_sha256=v.sha256, mode="minimal") is None


@pytest.mark.slow
def test_comparison_report_between_two_versions(ws, demo):
    p, a, b = demo["project"], demo["churn"], demo["next"]
    request = submit_profile(
        engine=ws.engine,
        settings=ws.settings,
        project_id=p,
        version_id=a.id,
        actor_id=_engineer(demo).id,
        compare_version_id=b.id,
        launch=False,
    )
    assert request.mode == profile_mode(compare_sha256=b.sha256) and len(request.mode) <= 60
    view = run_job(engine=ws.engine, job_id=request.job_id, settings=ws.settings)
    assert view.status == "succeeded", (view.error_key, view.error_params)
    with session_scope(ws.engine) as s:
        found = cached_profile(session=s, store=ws.store, dataset_sha256=a.sha256, mode=request.mode)
    assert found is not None and found.is_comparison
    html = read_profile_html(store=ws.store, html_sha256=found.html_sha256)
    assert "churn v1" in html and "churn_next_month v1" in html


def test_profile_submission_checks_role_and_versions(ws, demo):
    p, v = demo["project"], demo["churn"].id
    with pytest.raises(PermissionDenied):
        submit_profile(
            engine=ws.engine,
            settings=ws.settings,
            project_id=p,
            version_id=v,
            actor_id=demo["people"]["viewer"].id,
            launch=False,
        )
    with pytest.raises(InputError):
        submit_profile(
            engine=ws.engine,
            settings=ws.settings,
            project_id=p,
            version_id=v,
            actor_id=_engineer(demo).id,
            compare_version_id=v,
            launch=False,
        )
    with pytest.raises(NotFound):
        submit_profile(
            engine=ws.engine,
            settings=ws.settings,
            project_id=p,
            version_id=99_999,
            actor_id=_engineer(demo).id,
            launch=False,
        )
    with session_scope(ws.engine) as s:
        assert s.exec(select(Job)).all() == []


def test_profile_modes_fit_the_cache_key():
    sha = "f" * 64
    assert profile_mode() == "minimal" and profile_mode(explorative=True) == "explorative"
    assert profile_mode(compare_sha256=sha) == "compare:" + sha[:52] and len(profile_mode(compare_sha256=sha)) == 60
    assert PROFILE_SAMPLE_ROWS == 50_000


class _Tags(HTMLParser):
    """Start tags outside <title> (whose content is text), to find markup that came from the data."""

    def __init__(self) -> None:
        super().__init__()
        self.in_title = False
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        elif not self.in_title:
            self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False


@pytest.mark.slow
def test_profile_html_carries_no_markup_from_column_names_or_values():
    df = pd.DataFrame(
        {
            "<img src=x onerror=alert(1)>": ["<script>alert(2)</script>", "a", "b", "a"],
            '" onclick="alert(3)': [1, 2, 3, 4],
        }
    )
    for minimal in (True, False):
        page = _Tags()
        page.feed(profile_report_html(df, title="<img src=x onerror=alert(4)>", minimal=minimal).html)
        assert not [t for t in page.tags if t[0] == "img" and "onerror" in t[1]]
        assert not [t for t in page.tags if "onclick" in t[1] and "alert" in (t[1]["onclick"] or "")]


def test_reports_are_shown_in_a_sandbox_without_the_app_origin():
    page = _Tags()
    page.feed(sandboxed_html('<script>parent.document.body.remove()</script><p title="a&b">x</p>', title="v1"))
    frames = [attrs for tag, attrs in page.tags if tag == "iframe"]
    assert len(frames) == 1 and frames[0]["sandbox"] == "allow-scripts"
    assert "<script>parent" in frames[0]["srcdoc"] and not [t for t in page.tags if t[0] == "script"]


# --------------------------------------------------------------------------- finding rows


def _table():
    return pd.DataFrame({"a": [1.0, None, 3.0, None, 5.0], "b": list("vwxyz"), "y": [0, 1, 0, 1, 1]})


@pytest.mark.parametrize("as_arrow", [False, True])
def test_finding_rows_are_the_concerned_rows_columns_first(as_arrow):
    df = _table()
    table = pa.Table.from_pandas(df, preserve_index=False) if as_arrow else df
    finding = Finding("missing_values", "warn", "quality.missing_values.warn", columns=("b",), rows=(3, 1), n_rows=2)
    rows = finding_rows(table, finding)
    assert list(rows.index) == [3, 1] and rows.index.name == "row"
    assert list(rows.columns) == ["b", "a", "y"] and rows["b"].tolist() == ["y", "w"]
    whole = Finding("constant_columns", "warn", "quality.constant_columns.constant", columns=("a",))
    head = finding_rows(table, whole, target="y", head=3)
    assert list(head.columns) == ["a", "y"] and list(head.index) == [0, 1, 2]
    nothing = Finding("duplicate_rows", "pass", "quality.duplicate_rows.pass")
    assert finding_rows(table, nothing).empty
    outside = Finding("outliers", "warn", "quality.outliers.warn", columns=("gone",), rows=(4, 99), n_rows=2)
    assert list(finding_rows(table, outside).index) == [4]


def test_finding_rows_of_a_real_report_match_the_finding():
    df = _table()
    report = run_checks(df, roles={"y": "categorical"}, target="y", task_type="classification")
    missing = report.for_check("missing_values")[0]
    rows = finding_rows(df, missing)
    assert len(rows) == missing.n_rows == 2 and rows["a"].isna().all()


def test_findings_frame_puts_failures_first_and_translates():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=60), "leak": [0, 1] * 30})
    df["y"] = df["leak"]
    report = run_checks(df, roles={"y": "categorical", "leak": "categorical"}, target="y", task_type="classification")
    fid = report.findings[0].finding_id
    table = findings_frame(report, lang="es", acks={fid: object()})
    statuses = table["status"].tolist()
    assert statuses == sorted(statuses, key=["fail", "warn", "pass"].index)
    assert table.loc[0, "check"] == translate("quality.check.target_leakage.title", "es")
    assert table.set_index("finding_id").loc[fid, "acknowledged"]
    assert len(table) == len(report.findings)


# --------------------------------------------------------------------------- overview


def test_describe_version_with_relation_and_without_target(ws, demo):
    v = demo["churn"]
    frame = ws.store.read_table(v.sha256).to_pandas()
    roles = version_roles(v)
    assert roles["customer_id"] == "identifier" and set(roles) == set(frame.columns)
    vo = describe_version(frame, roles=roles, target=v.target, task_type="classification")
    assert vo.overview.n_rows == DEMO_ROWS and vo.relation_error is None
    assert vo.relation["feature"].iloc[0] == "cancellation_fee_charged"  # the planted leak is the strongest
    assert "customer_id" not in set(vo.relation["feature"])
    none = describe_version(frame, roles=roles, target=None, task_type="classification")
    assert none.relation is None and none.relation_error is None
    text = describe_version(frame, roles=roles, target="contract", task_type="regression")
    assert text.relation is None and text.relation_error.key == "profiling.target_not_numeric"


def test_column_table_and_charts_speak_the_chosen_language():
    df = pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(30)],
            "age": np.arange(30, dtype=float),
            "city": ["a", "b", "a"] * 10,
            "note": ["some words here"] * 30,
            "when": pd.date_range("2024-01-01", periods=30, freq="D"),
            "y": [0, 1] * 15,
        }
    )
    roles = {"id": "identifier", "note": "text", "y": "categorical"}
    ov = overview(df, roles=roles, target="y")
    table = column_table(ov, role_labels={"numeric": "numérico"}, lang="es")
    summary = dict(zip(table["column"], table["summary"], strict=True))
    assert summary["age"].startswith("media 14.5") and summary["city"] == "más frecuente: a (67%)"
    assert summary["when"] == "del 2024-01-01 al 2024-01-30" and summary["id"].startswith("más repetido")
    assert table.set_index("column").loc["age", "role"] == "numérico"
    assert default_column(ov) == "y"
    assert distribution_chart(ov, "age", lang="es").layout.yaxis.title.text == translate("profiling.axis.count", "es")
    assert "caracteres" in distribution_chart(ov, "note", lang="es").layout.xaxis.title.text
    assert missing_chart(ov, lang="es").layout.yaxis.title.text == translate("profiling.axis.missing_share", "es")
    fig = relation_chart(df, "city", target="y", task_type="classification", role="categorical", lang="es")
    assert fig.layout.yaxis.title.text == translate("profiling.axis.class_share", "es", target="y")


# --------------------------------------------------------------------------- catalogs


def test_understanding_catalogs_match():
    root = Path(i18n.__file__).parent / "locales"
    en = json.loads((root / "en" / "understanding.json").read_text(encoding="utf-8"))
    es = json.loads((root / "es" / "understanding.json").read_text(encoding="utf-8"))
    assert set(en) == set(es) and all(k.startswith("understanding.") for k in en)
    for key in en:
        fields_en = {f for _, f, _, _ in string.Formatter().parse(en[key]) if f}
        fields_es = {f for _, f, _, _ in string.Formatter().parse(es[key]) if f}
        assert fields_en == fields_es and en[key] != es[key], key
