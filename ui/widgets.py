"""Reusable widgets: page header with its explanation, error display, job progress."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from mlcore.errors import MLCoreError
from mlcore.jobs import JobView, get_job, list_jobs, request_cancel
from mlcore.markdown import md_escape
from mlcore.planning.records import gate_status
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.router import ensure_routed
from ui.state import workspace

log = logging.getLogger("ciclo.ui")


def page_header(title_key: str, intro_key: str | None = None) -> None:
    """The page title and, folded, what the step is, why it matters and how to do it well."""
    ensure_routed()
    st.title(t(title_key))
    if intro_key:
        with st.expander(t("ui.about_this_step"), expanded=False):
            st.markdown(t(intro_key))


def show_error(exc: MLCoreError) -> None:
    # exc.message() rather than t(): some errors translate their parameters too (field names).
    st.error(exc.message(lang()), icon=":material/error:")


_GATE_BOXES = {"success": st.success, "warning": st.warning, "error": st.error, "info": st.info}


def gate_banner(project_id: int) -> None:
    """One line on every stage after planning: where the go/no-go gate stands.

    A project without a "go" may still explore, but everyone sees that the gate is not passed.
    """
    with session_scope(workspace().engine) as s:
        status = gate_status(session=s, project_id=project_id)
    _GATE_BOXES[status.level](md_escape(status.message(lang())), icon=":material/flag:")


@contextmanager
def user_errors() -> Iterator[None]:
    """Show mlcore's typed errors as translated messages; let anything else reach the router."""
    try:
        yield
    except MLCoreError as exc:
        show_error(exc)


def show_unexpected(exc: BaseException) -> None:
    """A short reference id for the user; the full traceback goes to the log."""
    ref = uuid.uuid4().hex[:8]
    log.error("unexpected error (ref %s)", ref, exc_info=exc)
    st.error(t("errors.unexpected_ref", ref=ref), icon=":material/bug_report:")


_MODELING_KINDS = ("train", "reproduce")  # their messages name model families; their results are runs


def _job_message(job: JobView) -> str:
    if job.kind in _MODELING_KINDS:
        from mlcore.modeling.tracking import progress_text

        return progress_text(job.message_key, job.message_params, lang=lang())
    return t(job.message_key, **job.message_params)


def _job_result(job: JobView) -> str:
    if job.kind in _MODELING_KINDS:
        from mlcore.modeling.tracking import job_result_text

        return job_result_text(job.kind, job.result, lang=lang())
    if {"label", "n_rows"} <= set(job.result):
        return t("jobs.result", **job.result)
    return ""  # the page that started the job shows its result in full


def _job_line(job: JobView) -> None:
    label = t(f"jobs.kind.{job.kind}")
    if job.status in ("queued", "running"):
        message = _job_message(job) if job.message_key else t("jobs.status.queued")
        st.progress(job.progress, text=f"{label} #{job.id} · {message}")
    elif job.status == "succeeded":
        st.success(
            f"{label} #{job.id} · {t('jobs.status.succeeded')} {_job_result(job)}",
            icon=":material/check_circle:",
        )
    elif job.status == "failed":
        detail = t(job.error_key, **job.error_params) if job.error_key else ""
        if job.error_ref:
            detail = t("errors.unexpected_ref", ref=job.error_ref)
        st.error(f"{label} #{job.id} · {t('jobs.status.failed')}: {detail}", icon=":material/error:")
    else:
        st.warning(f"{label} #{job.id} · {t('jobs.status.' + job.status)}")


@st.fragment(run_every=1.0)
def _poll(project_id: int | None, kinds: tuple[str, ...], watched: tuple[int, ...]) -> None:
    jobs = _jobs(project_id, kinds)
    for job in jobs:
        if job.id in watched:
            _job_line(job)
            if job.active and st.button(t("jobs.cancel"), key=f"cancel-{job.id}"):
                with session_scope(workspace().engine) as s:
                    request_cancel(session=s, job_id=job.id)
    if not any(j.active for j in jobs if j.id in watched):
        st.rerun(scope="app")  # the job ended: redraw the page with its result


def _jobs(project_id: int | None, kinds: tuple[str, ...]) -> list[JobView]:
    with session_scope(workspace().engine) as s:
        return [j for j in list_jobs(session=s, project_id=project_id, limit=10) if j.kind in kinds]


def jobs_panel(project_id: int | None, kinds: tuple[str, ...], *, limit: int = 3) -> list[JobView]:
    """Show the project's recent jobs of these kinds; active ones refresh every second.

    The jobs live in the database, so the panel picks them up again when the
    user leaves the page or closes the browser and comes back.
    """
    jobs = _jobs(project_id, kinds)[:limit]
    if not jobs:
        return jobs
    st.subheader(t("jobs.recent"))
    active = tuple(j.id for j in jobs if j.active)
    for job in jobs:
        if not job.active:
            _job_line(job)
    if active:
        _poll(project_id, kinds, active)
    return jobs


def job_status(job_id: int) -> JobView:
    with session_scope(workspace().engine) as s:
        return get_job(session=s, job_id=job_id)


def flash(message: str) -> None:
    """Keep a confirmation to show after the next rerun."""
    st.session_state["_flash"] = message


def show_flash() -> None:
    if "_flash" in st.session_state:
        st.success(st.session_state.pop("_flash"), icon=":material/check:")


def role_notice(action: str) -> None:
    """Explain why the controls of a page are hidden and whom to ask."""
    from mlcore.auth import allowed_roles

    roles = ", ".join(t(f"role_name.{r}") for r in allowed_roles(action))
    st.info(t("auth.read_only", roles=roles), icon=":material/lock:")
