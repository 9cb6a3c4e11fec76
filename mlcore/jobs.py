"""Jobs: long work recorded in the ``Job`` table and executed in its own process.

A page or the CLI calls :func:`submit_job` then :func:`launch_job`; the child
process runs ``python -m mlcore jobs run ID`` which calls :func:`run_job`.
Progress, message and heartbeat are written as it goes; the result is written
in one transaction at the end, so nothing half-done is ever visible.
"""

from __future__ import annotations

import importlib
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select, update

from mlcore.config import Settings
from mlcore.errors import MLCoreError, NotFound
from mlcore.store.engine import session_scope
from mlcore.store.models import Job, utcnow

log = logging.getLogger(__name__)

ACTIVE = ("queued", "running")
HEARTBEAT_SECONDS = 2.0
STALE_AFTER = timedelta(seconds=30)
# kind -> module that defines it; imported lazily so the runner loads only what it needs.
_KIND_MODULES: dict[str, str] = {
    "import_file": "mlcore.data.imports",
    "import_synthetic": "mlcore.data.imports",
    "sleep": "mlcore.jobs",
    "sufficiency": "mlcore.planning.records",
    "profile": "mlcore.data.understanding",
    "quality": "mlcore.data.understanding",
    "label_issues": "mlcore.data.label_review",
    "recipe_apply": "mlcore.data.recipes",
    "train": "mlcore.modeling.tracking",
    "reproduce": "mlcore.modeling.tracking",
    "evaluate": "mlcore.modeling.evaluation_records",
    "explain": "mlcore.modeling.explain_records",
    "predict_batch": "mlcore.deploy.scoring",
    "drift": "mlcore.monitoring.records",
    "challenger": "mlcore.monitoring.records",
}
# The permission a kind needs in its project (None: internal or diagnostic kinds).
_KIND_ACTIONS: dict[str, str | None] = {
    "import_file": "dataset.import",
    "import_synthetic": "dataset.import",
    "sufficiency": "planning.analyse",
    "profile": "data.profile",
    "quality": "data.profile",
    "label_issues": "labels.detect",
    "recipe_apply": "recipe.apply",
    "train": "model.train",
    "reproduce": "model.train",
    "evaluate": "evaluation.run",
    "explain": "interpret.explain",
    "predict_batch": "predict.batch",
    "drift": "monitor.run",
    "challenger": "monitor.run",
}
_REGISTRY: dict[str, Callable[[JobContext, dict[str, Any]], dict[str, Any]]] = {}


class JobCancelled(Exception):
    """Raised inside a job when the user asked to cancel it."""


def job_kind(name: str) -> Callable[[Callable[..., dict[str, Any]]], Callable[..., dict[str, Any]]]:
    """Register a function ``fn(ctx, params) -> result`` as the job kind ``name``."""

    def deco(fn: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        _REGISTRY[name] = fn
        return fn

    return deco


def _resolve(kind: str) -> Callable[[JobContext, dict[str, Any]], dict[str, Any]]:
    if kind not in _REGISTRY and kind in _KIND_MODULES:
        importlib.import_module(_KIND_MODULES[kind])
    if kind not in _REGISTRY:
        raise NotFound("errors.job_kind_unknown", kind=kind)
    return _REGISTRY[kind]


@dataclass(frozen=True)
class JobView:
    """A read-only snapshot of a job for display."""

    id: int
    kind: str
    status: str
    progress: float
    message_key: str
    message_params: dict[str, Any]
    result: dict[str, Any]
    error_key: str
    error_params: dict[str, Any]
    error_ref: str
    created_at: datetime
    finished_at: datetime | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def _view(job: Job) -> JobView:
    return JobView(
        id=job.id or 0,
        kind=job.kind,
        status=job.status,
        progress=job.progress,
        message_key=job.message_key,
        message_params=dict(job.message_params or {}),
        result=dict(job.result or {}),
        error_key=job.error_key,
        error_params=dict(job.error_params or {}),
        error_ref=job.error_ref,
        created_at=job.created_at,
        finished_at=job.finished_at,
        params=dict(job.params or {}),
    )


def submit_job(
    *, session: Session, kind: str, params: dict[str, Any], actor_id: int, project_id: int | None = None
) -> Job:
    """Record a queued job (not started yet: see :func:`launch_job`).

    Raises
    ------
    PermissionDenied
        If the kind needs a permission the actor lacks in the project.
    """
    _resolve(kind)
    action = _KIND_ACTIONS.get(kind)
    if action is not None:
        from mlcore.auth import require
        from mlcore.store.models import User

        require(session=session, user=session.get(User, actor_id), action=action, project_id=project_id)
    job = Job(kind=kind, params=params, created_by_id=actor_id, project_id=project_id)
    session.add(job)
    session.flush()
    return job


def launch_job(job_id: int, settings: Settings) -> subprocess.Popen[bytes]:
    """Start ``python -m mlcore jobs run ID`` detached, so it outlives the page that started it."""
    logs = settings.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, MLCORE_HOME=str(settings.home), MLCORE_DATABASE_URL=settings.database_url)
    with open(logs / f"job-{job_id}.log", "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mlcore", "jobs", "run", str(job_id)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
            cwd=str(Path(__file__).resolve().parent.parent),
        )


def get_job(*, session: Session, job_id: int) -> JobView:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("errors.job_not_found", job_id=job_id)
    session.refresh(job)
    return _view(job)


def list_jobs(*, session: Session, project_id: int | None = None, limit: int = 20) -> list[JobView]:
    """Most recent jobs first."""
    stmt = select(Job).order_by(col(Job.id).desc()).limit(limit)
    if project_id is not None:
        stmt = stmt.where(Job.project_id == project_id)
    return [_view(j) for j in session.exec(stmt).all()]


def request_cancel(*, session: Session, job_id: int) -> None:
    """Ask a job to stop at its next progress report."""
    session.execute(update(Job).where(col(Job.id) == job_id).values(cancel_requested=True))


def reap_stale_jobs(*, session: Session, now: datetime | None = None, stale_after: timedelta = STALE_AFTER) -> int:
    """Mark failed every active job whose heartbeat stopped; return how many.

    A queued job that never started counts from its creation time.
    """
    now = now or utcnow()
    limit = now - stale_after
    n = 0
    for job in session.exec(select(Job).where(col(Job.status).in_(ACTIVE))).all():
        last = job.heartbeat_at or job.created_at
        if last < limit:
            job.status = "failed"
            job.error_key = "errors.job_stale"
            job.finished_at = now
            n += 1
    session.flush()
    return n


class JobContext:
    """Handed to a job function: report progress, check for cancellation."""

    def __init__(self, engine: Engine, job_id: int, settings: Settings) -> None:
        self.engine = engine
        self.job_id = job_id
        self.settings = settings
        self.rows: int | None = None

    def report_rows(self, n: int) -> None:
        """Record how many rows the job processed (for rows per second); else its result's ``n_rows`` counts."""
        self.rows = int(n)

    def progress(self, fraction: float, message_key: str = "", **params: Any) -> None:
        """Record progress in [0, 1] and a message; raise :class:`JobCancelled` if asked to stop."""
        with session_scope(self.engine) as s:
            s.execute(
                update(Job)
                .where(col(Job.id) == self.job_id)
                .values(
                    progress=max(0.0, min(1.0, float(fraction))),
                    message_key=message_key,
                    message_params=params,
                    heartbeat_at=utcnow(),
                )
            )
            cancelled = s.exec(select(Job.cancel_requested).where(Job.id == self.job_id)).one()
        if cancelled:
            raise JobCancelled()


def _heartbeat(engine: Engine, job_id: int, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            with session_scope(engine) as s:
                s.execute(update(Job).where(col(Job.id) == job_id).values(heartbeat_at=utcnow()))
        except Exception:  # a busy database must not kill the job; the next beat retries
            log.warning("heartbeat failed for job %s", job_id, exc_info=True)


def _finish(engine: Engine, job_id: int, **values: Any) -> None:
    with session_scope(engine) as s:
        s.execute(update(Job).where(col(Job.id) == job_id).values(finished_at=utcnow(), **values))


def run_job(*, engine: Engine, job_id: int, settings: Settings) -> JobView:
    """Execute a queued job in this process and return its final state.

    Raises
    ------
    NotFound
        If there is no such job.
    """
    with session_scope(engine) as s:
        job = s.get(Job, job_id)
        if job is None:
            raise NotFound("errors.job_not_found", job_id=job_id)
        if job.status != "queued":
            return _view(job)
        job.status, job.started_at, job.heartbeat_at, job.pid = "running", utcnow(), utcnow(), os.getpid()
        kind, params = job.kind, dict(job.params)
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(engine, job_id, stop), daemon=True)
    beat.start()
    ctx, started, cpu_started = JobContext(engine, job_id, settings), time.perf_counter(), _cpu_seconds()
    result: dict[str, Any] = {}
    try:
        fn = _resolve(kind)
        result = fn(ctx, params)
        _finish(engine, job_id, status="succeeded", progress=1.0, result=result, message_key="jobs.done")
    except JobCancelled:
        _finish(engine, job_id, status="cancelled", message_key="jobs.cancelled")
    except MLCoreError as exc:
        _finish(engine, job_id, status="failed", error_key=exc.key, error_params=_jsonable(exc.params))
    except Exception:
        ref = uuid.uuid4().hex[:8]
        log.exception("job %s failed (ref %s)", job_id, ref)
        _finish(engine, job_id, status="failed", error_key="errors.unexpected", error_ref=ref)
    finally:
        stop.set()
        beat.join(timeout=5)
    _record_resources(engine, job_id, ctx, started, cpu_started, result)
    with session_scope(engine) as s:
        return get_job(session=s, job_id=job_id)


def _cpu_seconds() -> float | None:
    try:
        import resource
    except ImportError:  # not on this platform (Windows)
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return float(usage.ru_utime + usage.ru_stime)


def _peak_memory_mb() -> float | None:
    try:
        import resource
    except ImportError:
        return None
    peak = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    # Linux reports KiB, macOS bytes. A job launched from the app runs in its own process, so this
    # is the job's peak; a job run in-process (tests, the CLI) reports the whole process's.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _record_resources(
    engine: Engine, job_id: int, ctx: JobContext, started: float, cpu_started: float | None, result: dict[str, Any]
) -> None:
    """Wall and CPU time, peak memory and rows per second of a job that ended (whatever its status)."""
    wall = time.perf_counter() - started
    cpu_now = _cpu_seconds()
    rows = ctx.rows
    if rows is None and isinstance(result.get("n_rows"), int) and not isinstance(result.get("n_rows"), bool):
        rows = int(result["n_rows"])
    values: dict[str, Any] = {
        "wall_s": wall,
        "cpu_s": None if cpu_now is None or cpu_started is None else max(cpu_now - cpu_started, 0.0),
        "peak_memory_mb": _peak_memory_mb(),
        "rows_processed": rows,
        "rows_per_s": rows / wall if rows is not None and wall > 0 else None,
    }
    try:
        with session_scope(engine) as s:
            s.execute(update(Job).where(col(Job.id) == job_id).values(**values))
    except Exception:  # measuring must never turn a finished job into a failed one
        log.warning("could not record the resources of job %s", job_id, exc_info=True)


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, int | float | bool | type(None)) else str(v) for k, v in params.items()}


@job_kind("sleep")
def _sleep_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """A job that only waits and reports progress; used to test the runner end to end."""
    import time

    steps = int(params.get("steps", 5))
    for i in range(steps):
        ctx.progress(i / steps, "jobs.sleeping", step=i + 1, steps=steps)
        time.sleep(float(params.get("seconds", 0.1)))
    return {"steps": steps}


def active_job(session: Session, *, kind: str, project_id: int, match: Mapping[str, Any]) -> int | None:
    """A queued or running job of this kind in the project whose parameters include ``match``.

    Submitting functions return it instead of queueing the same work twice (a double click, two tabs).
    """
    jobs = session.exec(
        select(Job).where(Job.kind == kind, Job.project_id == project_id, col(Job.status).in_(ACTIVE))
    ).all()
    for job in jobs:
        if all(job.params.get(k) == v for k, v in match.items()):
            return job.id
    return None
