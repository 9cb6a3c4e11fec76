"""Job runner: run in-process and as a separate process, progress, cancellation, stale jobs."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlmodel import select

from mlcore.errors import InputError, NotFound
from mlcore.jobs import (
    JobContext,
    get_job,
    job_kind,
    launch_job,
    list_jobs,
    reap_stale_jobs,
    request_cancel,
    run_job,
    submit_job,
)
from mlcore.store.engine import session_scope
from mlcore.store.models import Job, utcnow


@job_kind("test_fails_with_input_error")
def _bad(ctx: JobContext, params):
    ctx.progress(0.5, "jobs.sleeping", step=1, steps=2)
    raise InputError("errors.upload_too_large", limit_mb=1)


@job_kind("test_crashes")
def _crash(ctx: JobContext, params):
    raise RuntimeError("boom")


@job_kind("test_cancels_itself")
def _cancel_self(ctx: JobContext, params):
    with session_scope(ctx.engine) as s:
        request_cancel(session=s, job_id=ctx.job_id)
    ctx.progress(0.3, "jobs.sleeping", step=1, steps=3)
    raise AssertionError("progress() should have raised JobCancelled")


def _submit(ws, actor_id, kind, **params):
    with session_scope(ws.engine) as s:
        return submit_job(session=s, kind=kind, params=params, actor_id=actor_id).id


def test_run_in_process_records_success(ws, actor_and_project):
    actor, _ = actor_and_project
    job_id = _submit(ws, actor, "sleep", steps=3, seconds=0.01)
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert view.status == "succeeded" and view.progress == 1.0 and view.result == {"steps": 3}
    assert view.finished_at is not None
    # running it again does nothing: a job runs once
    assert run_job(engine=ws.engine, job_id=job_id, settings=ws.settings).status == "succeeded"


def test_input_error_is_recorded_with_its_key(ws, actor_and_project):
    actor, _ = actor_and_project
    job_id = _submit(ws, actor, "test_fails_with_input_error")
    view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    assert (view.status, view.error_key, view.error_params) == ("failed", "errors.upload_too_large", {"limit_mb": 1})


def test_unexpected_error_gets_a_reference(ws, actor_and_project):
    actor, _ = actor_and_project
    view = run_job(engine=ws.engine, job_id=_submit(ws, actor, "test_crashes"), settings=ws.settings)
    assert view.status == "failed" and view.error_key == "errors.unexpected" and len(view.error_ref) == 8


def test_cancellation(ws, actor_and_project):
    actor, _ = actor_and_project
    view = run_job(engine=ws.engine, job_id=_submit(ws, actor, "test_cancels_itself"), settings=ws.settings)
    assert view.status == "cancelled"


def test_unknown_kind_and_missing_job(ws, actor_and_project):
    actor, _ = actor_and_project
    with session_scope(ws.engine) as s, pytest.raises(NotFound):
        submit_job(session=s, kind="no_such_kind", params={}, actor_id=actor)
    with pytest.raises(NotFound):
        run_job(engine=ws.engine, job_id=12345, settings=ws.settings)


def test_stale_jobs_are_marked_failed(ws, actor_and_project):
    actor, _ = actor_and_project
    job_id = _submit(ws, actor, "sleep")
    with session_scope(ws.engine) as s:
        job = s.get(Job, job_id)
        job.status, job.heartbeat_at = "running", utcnow() - timedelta(minutes=5)
        fresh = Job(kind="sleep", status="running", heartbeat_at=utcnow(), created_by_id=actor)
        s.add(fresh)
    with session_scope(ws.engine) as s:
        assert reap_stale_jobs(session=s) == 1
    with session_scope(ws.engine) as s:
        assert get_job(session=s, job_id=job_id).error_key == "errors.job_stale"
        statuses = sorted(j.status for j in s.exec(select(Job)).all())
        assert statuses == ["failed", "running"]


def test_job_runs_in_its_own_process_and_reports_progress(ws, actor_and_project):
    actor, project = actor_and_project
    with session_scope(ws.engine) as s:
        job_id = submit_job(
            session=s, kind="sleep", params={"steps": 10, "seconds": 0.2}, actor_id=actor, project_id=project
        ).id
    proc = launch_job(job_id, ws.settings)
    seen_running = False
    deadline = time.time() + 60
    while time.time() < deadline:
        with session_scope(ws.engine) as s:
            view = get_job(session=s, job_id=job_id)
        if view.status == "running" and 0 < view.progress < 1:
            seen_running = True
        if not view.active:
            break
        time.sleep(0.1)
    assert proc.wait(timeout=30) == 0
    assert seen_running and view.status == "succeeded"
    with session_scope(ws.engine) as s:
        assert [j.id for j in list_jobs(session=s, project_id=project)] == [job_id]


def test_cli_jobs_run_exit_code_for_missing_job(ws):
    env = {"MLCORE_HOME": str(ws.settings.home), "MLCORE_DATABASE_URL": ws.settings.database_url, "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-m", "mlcore", "jobs", "run", "999"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "Job 999 not found" in done.stderr and "Traceback" not in done.stderr
