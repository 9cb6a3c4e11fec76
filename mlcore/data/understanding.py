"""Data understanding records: a dataset version's overview, its cached ydata-profiling reports, its
quality-check runs and acknowledged findings, the project's quality thresholds, and the ``profile``
and ``quality`` jobs that produce the reports.

The computations themselves live in :mod:`mlcore.data.profiling` and :mod:`mlcore.data.quality`;
this module reads versions, runs those as jobs, stores what they produce and records who did what.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select, update

from mlcore.artifacts import ArtifactStore, register_artifact
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data.ingest import ROLES
from mlcore.data.profiling import (
    Overview,
    compare_reports_html,
    distribution_figure,
    missing_figure,
    overview,
    profile_report_html,
    target_relation_figure,
    target_relation_strength,
)
from mlcore.data.quality import CHECKS, MAX_ROWS_LISTED, STATUSES, Finding, QualityReport, QualityThresholds, run_checks
from mlcore.data.versions import VersionSummary, read_version, version_in_project
from mlcore.errors import ConflictError, InputError, MLCoreError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import JobContext, active_job, job_kind
from mlcore.store.engine import session_scope
from mlcore.store.models import (
    FindingAck,
    ProfileReport,
    Project,
    ProjectSettings,
    QualityRun,
    User,
    utcnow,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "PROFILE_SAMPLE_ROWS",
    "THRESHOLD_KINDS",
    "Acknowledgement",
    "CachedProfile",
    "LatestQuality",
    "ProfileRequest",
    "QualityRunSummary",
    "QualitySettings",
    "QualitySummary",
    "VersionOverview",
    "acknowledge_finding",
    "acknowledgements",
    "cached_profile",
    "column_table",
    "default_column",
    "describe_version",
    "distribution_chart",
    "finding_rows",
    "findings_frame",
    "get_quality_settings",
    "latest_quality",
    "latest_quality_summary",
    "missing_chart",
    "profile_job",
    "profile_mode",
    "quality_job",
    "quality_runs",
    "quality_runs_frame",
    "read_profile_html",
    "read_quality_report",
    "relation_chart",
    "sandboxed_html",
    "save_quality_settings",
    "submit_profile",
    "submit_quality",
    "threshold_changes",
    "thresholds_from_form",
    "thresholds_to_form",
    "version_roles",
]

PROFILE_SAMPLE_ROWS = 50_000
"""Above this many rows the full profile describes a random sample of this size (and says so)."""

_COMPARE = "compare:"
# ``ProfileReport.mode`` holds 60 characters: "compare:" plus 52 hex digits (208 bits) of the other SHA-256.
_COMPARE_SHA_CHARS = 52
_NOTE_MAX = 5000
_HEAD_ROWS = 100


# --------------------------------------------------------------------------- versions


def version_roles(version: VersionSummary) -> dict[str, str]:
    """Column -> role as recorded with the version (columns without a valid role are left out).

    Examples
    --------
    >>> from datetime import datetime
    >>> v = VersionSummary(1, "d", 1, 3, 2, "0" * 64, "ana", datetime(2025, 1, 1), None, "import_csv", {}, "y",
    ...                    [{"name": "x", "dtype": "double", "role": "numeric"}, {"name": "y", "role": ""}], {})
    >>> version_roles(v)
    {'x': 'numeric'}
    """
    return {str(c["name"]): str(c["role"]) for c in version.columns if c.get("role") in ROLES}


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("errors.project_not_found", name=str(project_id))
    return project


_version_in_project = version_in_project


def _actor(session: Session, actor_id: int) -> User | None:
    return session.get(User, actor_id)


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class VersionOverview:
    """What the overview tab shows of one version: statistics, distributions and relation to the target.

    Attributes
    ----------
    overview : Overview
    relation : pandas.DataFrame or None
        :func:`mlcore.data.profiling.target_relation_strength` (strongest first), ``None``
        without a target or when it cannot be computed.
    relation_error : MLCoreError or None
        Why ``relation`` is missing although a target is set.
    task_type : str
    """

    overview: Overview
    relation: pd.DataFrame | None
    relation_error: MLCoreError | None
    task_type: str


def describe_version(
    frame: pd.DataFrame,
    *,
    roles: Mapping[str, str],
    target: str | None,
    task_type: str,
    sample_rows: int = 20,
) -> VersionOverview:
    """The native overview of a version's data, with the relation of each feature to the target.

    Parameters
    ----------
    frame : pandas.DataFrame
    roles : mapping of str to str
        Column roles (:func:`version_roles`).
    target : str or None
    task_type : {"classification", "regression"}
    sample_rows : int, default 20

    Returns
    -------
    VersionOverview

    Raises
    ------
    InputError
        The frame errors of :func:`mlcore.data.profiling.overview`.

    Examples
    --------
    >>> df = pd.DataFrame({"x": range(40), "y": [0, 1] * 20})
    >>> vo = describe_version(df, roles={}, target="y", task_type="classification")
    >>> vo.overview.n_rows, list(vo.relation["feature"])
    (40, ['x'])
    """
    ov = overview(frame, roles=roles, target=target, sample_rows=sample_rows)
    relation: pd.DataFrame | None = None
    error: MLCoreError | None = None
    if target is not None and frame.shape[1] > 1:
        try:
            relation = target_relation_strength(frame, target=target, roles=roles, task_type=task_type)
        except InputError as exc:  # e.g. a regression target with no numbers: the rest still shows
            error = exc
    return VersionOverview(overview=ov, relation=relation, relation_error=error, task_type=task_type)


def _number(x: float) -> str:
    if abs(x) >= 10_000 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _column_summary(row: Mapping[str, Any], ov: Overview, lang: str) -> str:
    """One line saying what a column holds: statistics of numbers, the date range, or the most frequent value."""
    role = row["role"]
    if role == "numeric" and not math.isnan(row["mean"]):
        return translate(
            "understanding.summary.numeric",
            lang,
            mean=_number(row["mean"]),
            median=_number(row["median"]),
            min=_number(row["min"]),
            max=_number(row["max"]),
        )
    dist = ov.distributions.get(row["column"])
    if role == "datetime" and dist is not None and dist.is_datetime and dist.edges:
        first, last = (pd.Timestamp(int(e)).date().isoformat() for e in (dist.edges[0], dist.edges[-1]))
        return translate("understanding.summary.dates", lang, first=first, last=last)
    if role == "identifier" and row["top_value"] is not None:
        return translate(
            "understanding.summary.identifier", lang, value=_clip(str(row["top_value"])), count=int(row["top_count"])
        )
    if row["top_value"] is not None:
        return translate(
            "understanding.summary.top", lang, value=_clip(str(row["top_value"])), share=float(row["top_share"])
        )
    return ""


def column_table(ov: Overview, *, role_labels: Mapping[str, str] | None = None, lang: str = "en") -> pd.DataFrame:
    """One row per column for display: role (through ``role_labels``), type, missing, distinct values, and
    a one-line summary in ``lang`` (statistics of numbers, range of dates, most frequent value otherwise).

    Examples
    --------
    >>> ov = overview(pd.DataFrame({"a": [1.0, None, 3.0], "b": ["x", "x", "y"]}), roles={}, target=None)
    >>> table = column_table(ov, role_labels={"numeric": "número"})
    >>> table[["column", "role", "n_missing"]].to_dict("records")[0]
    {'column': 'a', 'role': 'número', 'n_missing': 1}
    >>> table["summary"].tolist()
    ['mean 2 · median 2 · from 1 to 3', 'most frequent: x (67%)']
    """
    labels = dict(role_labels or {})
    records = ov.columns.to_dict("records")
    return pd.DataFrame(
        {
            "column": [r["column"] for r in records],
            "role": [labels.get(r["role"], r["role"]) for r in records],
            "dtype": [r["dtype"] for r in records],
            "n_missing": [int(r["n_missing"]) for r in records],
            "missing_share": [float(r["missing_share"]) for r in records],
            "n_distinct": [int(r["n_distinct"]) for r in records],
            "summary": [_column_summary(r, ov, lang) for r in records],
        },
        columns=["column", "role", "dtype", "n_missing", "missing_share", "n_distinct", "summary"],
    )


def default_column(ov: Overview) -> str:
    """The column whose distribution to show first: the target, else the first column that is not an identifier.

    Examples
    --------
    >>> ov = overview(pd.DataFrame({"id": ["a", "b"], "x": [1, 2]}), roles={"id": "identifier"}, target=None)
    >>> default_column(ov)
    'x'
    """
    if ov.target is not None and ov.target in ov.distributions:
        return ov.target
    roles = ov.roles
    return next((c for c in ov.distributions if roles.get(c) != "identifier"), next(iter(ov.distributions)))


def distribution_chart(ov: Overview, column: str, *, lang: str) -> go.Figure:
    """One column's distribution, with axis texts in ``lang``."""
    dist = ov.distributions.get(column)
    labels = {
        "y": translate("profiling.axis.count", lang),
        "other": translate("profiling.label.other", lang, n=dist.n_other_values if dist else 0),
    }
    if dist is not None and dist.kind == "lengths":
        labels["x"] = translate("profiling.axis.length", lang, column=column)
    return distribution_figure(ov, column, labels=labels)


def missing_chart(ov: Overview, *, lang: str) -> go.Figure:
    """Share of missing values per column, with texts in ``lang``."""
    return missing_figure(
        ov,
        labels={
            "title": "",  # the page titles the chart
            "x": translate("profiling.axis.column", lang),
            "y": translate("profiling.axis.missing_share", lang),
        },
    )


def relation_chart(
    frame: pd.DataFrame, feature: str, *, target: str, task_type: str, role: str | None, lang: str
) -> go.Figure:
    """How one feature relates to the target, with texts in ``lang``."""
    labels = {
        "title": translate("profiling.figure.relation", lang, feature=feature, target=target),
        "other": translate("profiling.label.other_short", lang),
        "missing": translate("profiling.label.missing", lang),
    }
    if task_type == "classification" and role not in ("numeric", "datetime", "text"):
        labels["y"] = translate("profiling.axis.class_share", lang, target=target)
    elif role == "text":
        key = "y" if task_type == "classification" else "x"
        labels[key] = translate("profiling.axis.length", lang, column=feature)
    return target_relation_figure(frame, feature, target=target, task_type=task_type, labels=labels, role=role)


# --------------------------------------------------------------------------- full profile


@dataclass(frozen=True)
class CachedProfile:
    """A stored ydata-profiling report of one dataset (by SHA-256) and mode."""

    id: int
    dataset_sha256: str
    mode: str
    html_sha256: str
    sampled: bool
    n_rows_profiled: int
    created_at: datetime

    @property
    def is_comparison(self) -> bool:
        return self.mode.startswith(_COMPARE)


@dataclass(frozen=True)
class ProfileRequest:
    """What :func:`submit_profile` did: reused a stored report, or queued (or found running) a job."""

    mode: str
    cached: CachedProfile | None = None
    job_id: int | None = None


def profile_mode(*, explorative: bool = False, compare_sha256: str | None = None) -> str:
    """The cache key of a report's settings: ``minimal``, ``explorative`` or ``compare:<other SHA-256>``.

    A comparison uses the minimal settings; its key keeps the first 52 hex digits of the other
    dataset's SHA-256 (the column holds 60 characters).

    Examples
    --------
    >>> profile_mode(), profile_mode(explorative=True), profile_mode(compare_sha256="ab" * 32)[:12]
    ('minimal', 'explorative', 'compare:abab')
    """
    if compare_sha256:
        return _COMPARE + compare_sha256[:_COMPARE_SHA_CHARS]
    return "explorative" if explorative else "minimal"


def cached_profile(*, session: Session, store: ArtifactStore, dataset_sha256: str, mode: str) -> CachedProfile | None:
    """The stored report of this dataset and mode, or ``None`` (also when its file has gone missing)."""
    row = session.exec(
        select(ProfileReport).where(ProfileReport.dataset_sha256 == dataset_sha256, ProfileReport.mode == mode)
    ).first()
    if row is None or not store.exists(row.html_sha256):
        return None
    return CachedProfile(
        id=row.id or 0,
        dataset_sha256=row.dataset_sha256,
        mode=row.mode,
        html_sha256=row.html_sha256,
        sampled=row.sampled,
        n_rows_profiled=row.n_rows_profiled,
        created_at=row.created_at,
    )


def read_profile_html(*, store: ArtifactStore, html_sha256: str) -> str:
    """The report's HTML, after re-checking its hash.

    Raises
    ------
    NotFound, ArtifactCorrupted
        If the file is missing or changed.
    """
    return store.read_bytes(html_sha256).decode("utf-8")


def sandboxed_html(document: str, *, title: str = "") -> str:
    """Wrap an HTML page so that its scripts run in an inner frame with no access to the app.

    A report made from uploaded data must not be trusted like the app's own code: the inner
    ``<iframe sandbox="allow-scripts">`` lets the report's scripts draw it (tabs, toggles) but gives
    them an opaque origin, so they cannot read or drive the page around them, its cookies or storage.

    Examples
    --------
    >>> page = sandboxed_html('<p onclick="x()">"hi" & bye</p>', title="report")
    >>> 'sandbox="allow-scripts"' in page, 'onclick="x()"' in page
    (True, False)
    """
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><style>'
        "html,body{margin:0;height:100%;overflow:hidden}iframe{border:0;width:100%;height:100%;display:block}"
        "</style></head><body>"
        f'<iframe sandbox="allow-scripts" title="{html.escape(title, quote=True)}" '
        f'srcdoc="{html.escape(document, quote=True)}"></iframe>'
        "</body></html>"
    )



def submit_profile(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    version_id: int,
    actor_id: int,
    explorative: bool = False,
    compare_version_id: int | None = None,
    launch: bool = True,
) -> ProfileRequest:
    """Return the stored full profile of a version, or start the job that builds it.

    A report is stored per dataset SHA-256 and mode, so asking again (from any version with the
    same data) reuses it and starts no job; a job already building it is returned instead of a
    second one.

    Parameters
    ----------
    engine, settings
    project_id, version_id : int
    actor_id : int
        Needs ``data.profile`` in the project.
    explorative : bool, default False
        ydata-profiling's fuller report (correlations, missing-value diagrams) instead of the minimal one.
    compare_version_id : int, optional
        Build the before/after comparison of ``version_id`` with this version instead.
    launch : bool, default True
        Start the job's process (tests run it in-process with :func:`mlcore.jobs.run_job`).

    Returns
    -------
    ProfileRequest

    Raises
    ------
    PermissionDenied
        Without ``data.profile`` in the project.
    NotFound
        If a version is not in the project.
    InputError
        ``understanding.error.same_version`` when comparing a version with itself.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        require(session=session, user=_actor(session, actor_id), action="data.profile", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=version_id)
        other_sha = None
        if compare_version_id is not None:
            if compare_version_id == version_id:
                raise InputError("understanding.error.same_version")
            other_sha = _version_in_project(session, project_id=project_id, version_id=compare_version_id).sha256
        mode = profile_mode(explorative=explorative, compare_sha256=other_sha)
        store = ArtifactStore(settings.artifacts_dir)
        found = cached_profile(session=session, store=store, dataset_sha256=version.sha256, mode=mode)
        if found is not None:
            return ProfileRequest(mode=mode, cached=found)
        running = active_job(
            session, kind="profile", project_id=project_id, match={"dataset_sha256": version.sha256, "mode": mode}
        )
        if running is not None:
            return ProfileRequest(mode=mode, job_id=running)
        job = submit_job(
            session=session,
            kind="profile",
            params={
                "project_id": project_id,
                "version_id": version_id,
                "compare_version_id": compare_version_id,
                "dataset_sha256": version.sha256,
                "mode": mode,
                "actor_id": actor_id,
            },
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return ProfileRequest(mode=mode, job_id=job_id)


def _save_profile(
    *,
    engine: Engine,
    store: ArtifactStore,
    actor_id: int,
    project_id: int,
    version: VersionSummary,
    mode: str,
    html: str,
    sampled: bool,
    n_rows_profiled: int,
) -> int:
    """Store the HTML and its ``ProfileReport`` row (replacing a row whose file went missing)."""
    ref = store.put_bytes(html.encode("utf-8"))
    for _attempt in range(2):  # a concurrent job may insert the same (sha, mode) first
        try:
            with session_scope(engine) as session:
                actor = require(
                    session=session, user=_actor(session, actor_id), action="data.profile", project_id=project_id
                )
                register_artifact(session=session, ref=ref, kind="html", actor_id=actor_id)
                row = session.exec(
                    select(ProfileReport).where(
                        ProfileReport.dataset_sha256 == version.sha256, ProfileReport.mode == mode
                    )
                ).first()
                if row is None:
                    row = ProfileReport(dataset_sha256=version.sha256, mode=mode, html_sha256=ref.sha256)
                row.html_sha256, row.sampled, row.n_rows_profiled = ref.sha256, sampled, n_rows_profiled
                row.created_at = utcnow()
                session.add(row)
                session.flush()
                record_event(
                    session=session,
                    actor=actor,
                    action="data.profile",
                    object_type="dataset_version",
                    object_id=version.id,
                    project_id=project_id,
                    after={"mode": mode, "sampled": sampled, "rows_profiled": n_rows_profiled, "html": ref.sha256},
                )
                return row.id or 0
        except IntegrityError:
            continue
    raise ConflictError("understanding.error.profile_conflict")


@job_kind("profile")
def profile_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: build a version's ydata-profiling report (or a comparison with another version) and store it."""
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    mode = str(params["mode"])
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=_actor(session, actor_id), action="data.profile", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=int(params["version_id"]))
        other = None
        if params.get("compare_version_id") is not None:
            other = _version_in_project(session, project_id=project_id, version_id=int(params["compare_version_id"]))
    ctx.progress(0.02, "understanding.progress.reading", label=version.label)
    frame = read_version(store=store, version=version).to_pandas()

    def report(fraction: float, key: str) -> None:
        ctx.progress(0.05 + 0.85 * fraction, key)

    if other is not None:
        other_frame = read_version(store=store, version=other).to_pandas()
        html = compare_reports_html(
            frame,
            other_frame,
            title_a=version.label,
            title_b=other.label,
            sample_threshold=PROFILE_SAMPLE_ROWS,
            progress=report,
        )
        sampled = max(len(frame), len(other_frame)) > PROFILE_SAMPLE_ROWS
        n_profiled = min(len(frame), PROFILE_SAMPLE_ROWS)
    else:
        result = profile_report_html(
            frame,
            title=version.label,
            minimal=mode != "explorative",
            sample_threshold=PROFILE_SAMPLE_ROWS,
            progress=report,
        )
        html, sampled, n_profiled = result.html, result.sampled, result.n_rows_profiled
    ctx.progress(0.95, "understanding.progress.saving")
    report_id = _save_profile(
        engine=ctx.engine,
        store=store,
        actor_id=actor_id,
        project_id=project_id,
        version=version,
        mode=mode,
        html=html,
        sampled=sampled,
        n_rows_profiled=n_profiled,
    )
    return {"label": version.label, "n_rows": n_profiled, "report_id": report_id, "mode": mode, "sampled": sampled}


# --------------------------------------------------------------------------- quality settings


THRESHOLD_KINDS: dict[str, str] = {
    f.name: (
        "count"
        if f.name.endswith("_count")
        else "share"
        if f.name.endswith("_share")
        else "score"
        if f.name.endswith("_score")
        else "factor"
    )
    for f in fields(QualityThresholds)
}
"""How each threshold is entered: ``share`` (a percentage in forms), ``score`` (0 to 1), ``count``, ``factor`` (> 0)."""


@dataclass(frozen=True)
class QualitySettings:
    """A project's quality thresholds; ``version`` 0 means the defaults were never saved."""

    project_id: int
    thresholds: QualityThresholds
    version: int


def get_quality_settings(*, session: Session, project_id: int) -> QualitySettings:
    """The project's quality thresholds (the defaults until someone saves them).

    Raises
    ------
    NotFound
        If the project does not exist.
    """
    _project(session, project_id)
    row = session.get(ProjectSettings, project_id)
    if row is None:
        return QualitySettings(project_id=project_id, thresholds=QualityThresholds(), version=0)
    session.refresh(row)
    return QualitySettings(
        project_id=project_id, thresholds=QualityThresholds.from_dict(row.quality or {}), version=row.version
    )


def threshold_changes(before: QualityThresholds, after: QualityThresholds) -> dict[str, tuple[float, float]]:
    """The thresholds that differ, as ``name -> (before, after)``.

    Examples
    --------
    >>> threshold_changes(QualityThresholds(), QualityThresholds(leakage_score=0.9))
    {'leakage_score': (0.95, 0.9)}
    """
    a, b = before.to_dict(), after.to_dict()
    return {name: (a[name], b[name]) for name in a if a[name] != b[name]}


def thresholds_to_form(thresholds: QualityThresholds) -> dict[str, float | int]:
    """Values as a form shows them: shares in percent, the rest unchanged.

    Examples
    --------
    >>> thresholds_to_form(QualityThresholds())["duplicate_fail_share"]
    5.0
    """
    return {
        name: round(float(value) * 100, 6) if THRESHOLD_KINDS[name] == "share" else value
        for name, value in thresholds.to_dict().items()
    }


def thresholds_from_form(values: Mapping[str, Any]) -> QualityThresholds:
    """Thresholds from form values (shares in percent).

    Raises
    ------
    InputError
        The validation errors of :class:`~mlcore.data.quality.QualityThresholds`.

    Examples
    --------
    >>> thresholds_from_form({"duplicate_fail_share": 5.0}).duplicate_fail_share
    0.05
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        if THRESHOLD_KINDS.get(name) == "share" and isinstance(value, int | float) and math.isfinite(value):
            value = round(float(value) / 100, 10)
        out[name] = value
    return QualityThresholds.from_dict(out)


def save_quality_settings(
    *,
    session: Session,
    actor: User,
    project_id: int,
    thresholds: QualityThresholds | Mapping[str, Any],
    expected_version: int,
) -> QualitySettings:
    """Save the project's quality thresholds; a save based on an older version is refused.

    Parameters
    ----------
    session
    actor : User
        Needs ``data.settings`` in the project.
    project_id : int
    thresholds : QualityThresholds or mapping
        A mapping may be partial (missing entries take their defaults).
    expected_version : int
        The :attr:`QualitySettings.version` the user started from (0 for never saved).

    Returns
    -------
    QualitySettings

    Raises
    ------
    PermissionDenied
        Without ``data.settings`` in the project.
    InputError
        For invalid thresholds.
    ConflictError
        ``understanding.error.settings_conflict`` if someone saved since ``expected_version``.
    """
    require(session=session, user=actor, action="data.settings", project_id=project_id)
    new = thresholds if isinstance(thresholds, QualityThresholds) else QualityThresholds.from_dict(thresholds)
    current = get_quality_settings(session=session, project_id=project_id)
    if current.version != expected_version:
        raise ConflictError("understanding.error.settings_conflict", version=current.version)
    values = new.to_dict()
    if current.version == 0:
        session.add(ProjectSettings(project_id=project_id, quality=values, version=1))
        try:
            session.flush()
        except IntegrityError as exc:  # someone saved the first settings at the same moment
            raise ConflictError("understanding.error.settings_conflict", version=1) from exc
    else:
        done = session.execute(
            update(ProjectSettings)
            .where(col(ProjectSettings.project_id) == project_id, col(ProjectSettings.version) == expected_version)
            .values(quality=values, version=expected_version + 1)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError("understanding.error.settings_conflict", version=expected_version + 1)
        session.expire_all()
    changes = threshold_changes(current.thresholds, new)
    record_event(
        session=session,
        actor=actor,
        action="quality.settings",
        object_type="project",
        object_id=project_id,
        project_id=project_id,
        before={k: v[0] for k, v in changes.items()},
        after={k: v[1] for k, v in changes.items()},
    )
    return QualitySettings(project_id=project_id, thresholds=new, version=expected_version + 1)


# --------------------------------------------------------------------------- quality runs


@dataclass(frozen=True)
class QualityRunSummary:
    """One stored run of the quality checks on a dataset version."""

    id: int
    dataset_version_id: int
    report_sha256: str
    thresholds: dict[str, Any]
    n_pass: int
    n_warn: int
    n_fail: int
    created_by: str
    created_at: datetime

    @property
    def status(self) -> str:
        """The worst status of the run."""
        return "fail" if self.n_fail else "warn" if self.n_warn else "pass"


def submit_quality(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    version_id: int,
    actor_id: int,
    other_version_id: int | None = None,
    launch: bool = True,
) -> int:
    """Queue (and start) the quality checks of a version with the project's current thresholds.

    Parameters
    ----------
    engine, settings
    project_id, version_id : int
    actor_id : int
        Needs ``data.profile`` in the project.
    other_version_id : int, optional
        A second version meant as the other side of a train/test split: rows of ``version_id``
        also found there are reported by the overlap check.
    launch : bool, default True
        Start the job's process.

    Returns
    -------
    int
        The job id (of the job already checking the same thing, if one is running).

    Raises
    ------
    PermissionDenied
        Without ``data.profile`` in the project.
    NotFound
        If a version is not in the project.
    InputError
        ``understanding.error.same_version`` if ``other_version_id`` is ``version_id``.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        require(session=session, user=_actor(session, actor_id), action="data.profile", project_id=project_id)
        _version_in_project(session, project_id=project_id, version_id=version_id)
        if other_version_id is not None:
            if other_version_id == version_id:
                raise InputError("understanding.error.same_version")
            _version_in_project(session, project_id=project_id, version_id=other_version_id)
        thresholds = get_quality_settings(session=session, project_id=project_id).thresholds.to_dict()
        match = {"version_id": version_id, "other_version_id": other_version_id, "thresholds": thresholds}
        running = active_job(session, kind="quality", project_id=project_id, match=match)
        if running is not None:
            return running
        job = submit_job(
            session=session,
            kind="quality",
            params={"project_id": project_id, "actor_id": actor_id, **match},
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


def _with_other(report: QualityReport, other: VersionSummary) -> QualityReport:
    """Name the version the overlap check compared with inside its findings (kept in the stored report)."""
    findings = tuple(
        replace(f, params={**f.params, "other_version_id": other.id, "other_label": other.label})
        if f.check == "train_test_overlap"
        else f
        for f in report.findings
    )
    return replace(report, findings=findings)


@job_kind("quality")
def quality_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: run every quality check on a version and store the report with a ``QualityRun`` row."""
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    thresholds = QualityThresholds.from_dict(params.get("thresholds") or {})
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=_actor(session, actor_id), action="data.profile", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=int(params["version_id"]))
        other = None
        if params.get("other_version_id") is not None:
            other = _version_in_project(session, project_id=project_id, version_id=int(params["other_version_id"]))
        task_type = _project(session, project_id).task_type
    ctx.progress(0.02, "understanding.progress.reading", label=version.label)
    frame = read_version(store=store, version=version).to_pandas()
    other_frame = read_version(store=store, version=other).to_pandas() if other is not None else None
    report = run_checks(
        frame,
        roles=version_roles(version),
        target=version.target,
        task_type=task_type,
        thresholds=thresholds,
        other=other_frame,
        progress=lambda fraction, key: ctx.progress(0.05 + 0.85 * fraction, key),
    )
    if other is not None:
        report = _with_other(report, other)
    ctx.progress(0.95, "understanding.progress.saving")
    ref = store.put_bytes(report.to_json().encode("utf-8"))
    counts = report.summary()
    with session_scope(ctx.engine) as session:
        actor = require(session=session, user=_actor(session, actor_id), action="data.profile", project_id=project_id)
        register_artifact(session=session, ref=ref, kind="json", actor_id=actor_id)
        run = QualityRun(
            dataset_version_id=version.id,
            report_sha256=ref.sha256,
            thresholds=thresholds.to_dict(),
            n_pass=counts["pass"],
            n_warn=counts["warn"],
            n_fail=counts["fail"],
            created_by_id=actor_id,
        )
        session.add(run)
        session.flush()
        record_event(
            session=session,
            actor=actor,
            action="quality.run",
            object_type="dataset_version",
            object_id=version.id,
            project_id=project_id,
            after={
                "run_id": run.id,
                "pass": counts["pass"],
                "warn": counts["warn"],
                "fail": counts["fail"],
                "other_version_id": other.id if other else None,
                "report": ref.sha256,
            },
        )
        run_id = run.id or 0
    return {
        "label": version.label,
        "n_rows": version.n_rows,
        "run_id": run_id,
        "n_pass": counts["pass"],
        "n_warn": counts["warn"],
        "n_fail": counts["fail"],
    }


def quality_runs(*, session: Session, version_id: int) -> list[QualityRunSummary]:
    """The stored quality runs of a version, newest first."""
    stmt = (
        select(QualityRun, User)
        .join(User, col(User.id) == col(QualityRun.created_by_id))
        .where(QualityRun.dataset_version_id == version_id)
        .order_by(col(QualityRun.id).desc())
    )
    return [
        QualityRunSummary(
            id=r.id or 0,
            dataset_version_id=r.dataset_version_id,
            report_sha256=r.report_sha256,
            thresholds=dict(r.thresholds),
            n_pass=r.n_pass,
            n_warn=r.n_warn,
            n_fail=r.n_fail,
            created_by=u.display_name or u.name,
            created_at=r.created_at,
        )
        for r, u in session.exec(stmt).all()
    ]


def read_quality_report(*, store: ArtifactStore, report_sha256: str) -> QualityReport:
    """A stored quality report, after re-checking its hash.

    Raises
    ------
    NotFound, ArtifactCorrupted
        If the file is missing or changed.
    InputError
        ``quality.bad_report`` if it is not a quality report.
    """
    return QualityReport.from_json(store.read_bytes(report_sha256).decode("utf-8"))


@dataclass(frozen=True)
class Acknowledgement:
    """A finding someone looked at and explained."""

    finding_key: str
    note: str
    by: str
    at: datetime


def acknowledgements(*, session: Session, version_id: int) -> dict[str, Acknowledgement]:
    """The acknowledged findings of a version, by finding key."""
    stmt = (
        select(FindingAck, User)
        .join(User, col(User.id) == col(FindingAck.acknowledged_by_id))
        .where(FindingAck.dataset_version_id == version_id)
    )
    return {
        a.finding_key: Acknowledgement(a.finding_key, a.note, u.display_name or u.name, a.acknowledged_at)
        for a, u in session.exec(stmt).all()
    }


@dataclass(frozen=True)
class LatestQuality:
    """The newest quality run of a version, its report and the acknowledgements of its findings."""

    run: QualityRunSummary
    report: QualityReport
    acks: Mapping[str, Acknowledgement]

    def open_findings(self) -> tuple[Finding, ...]:
        """Warnings and failures nobody has acknowledged yet."""
        return tuple(f for f in self.report.findings if f.status != "pass" and f.finding_id not in self.acks)


def latest_quality(*, session: Session, store: ArtifactStore, version_id: int) -> LatestQuality | None:
    """The newest quality run of a version with its report, or ``None`` if the checks never ran."""
    runs = quality_runs(session=session, version_id=version_id)
    if not runs:
        return None
    report = read_quality_report(store=store, report_sha256=runs[0].report_sha256)
    return LatestQuality(run=runs[0], report=report, acks=acknowledgements(session=session, version_id=version_id))


def acknowledge_finding(
    *,
    session: Session,
    actor: User,
    project_id: int,
    version_id: int,
    finding_key: str,
    note: str,
) -> Acknowledgement:
    """Acknowledge a finding of a version with a note saying why it is acceptable or what will be done.

    Acknowledging again replaces the note (the audit trail keeps the old one).

    Parameters
    ----------
    session
    actor : User
        Needs ``data.profile`` in the project.
    project_id, version_id : int
    finding_key : str
        :attr:`mlcore.data.quality.Finding.finding_id`.
    note : str
        Required, at most 5,000 characters.

    Returns
    -------
    Acknowledgement

    Raises
    ------
    PermissionDenied
        Without ``data.profile`` in the project.
    NotFound
        If the version is not in the project.
    InputError
        ``understanding.error.note_required``, ``understanding.error.note_too_long`` or
        ``understanding.error.bad_finding``.
    """
    require(session=session, user=actor, action="data.profile", project_id=project_id)
    _version_in_project(session, project_id=project_id, version_id=version_id)
    clean = (note or "").strip()
    if not clean:
        raise InputError("understanding.error.note_required")
    if len(clean) > _NOTE_MAX:
        raise InputError("understanding.error.note_too_long", limit=_NOTE_MAX)
    key = finding_key or ""
    if not 0 < len(key) <= 300 or key.split(".", 1)[0] not in CHECKS:
        raise InputError("understanding.error.bad_finding", finding=key[:100])
    row = session.exec(
        select(FindingAck).where(FindingAck.dataset_version_id == version_id, FindingAck.finding_key == key)
    ).first()
    before = {"note": row.note} if row is not None else {}
    if row is None:
        row = FindingAck(dataset_version_id=version_id, finding_key=key, acknowledged_by_id=actor.id or 0)
    row.note, row.acknowledged_by_id, row.acknowledged_at = clean, actor.id or 0, utcnow()
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="quality.acknowledge",
        object_type="dataset_version",
        object_id=version_id,
        project_id=project_id,
        before=before,
        after={"finding": key, "note": clean},
        reason=clean,
    )
    return Acknowledgement(key, clean, actor.display_name or actor.name, row.acknowledged_at)


def finding_rows(
    table: pa.Table | pd.DataFrame,
    finding: Finding,
    *,
    target: str | None = None,
    head: int = _HEAD_ROWS,
) -> pd.DataFrame:
    """The rows of a version a finding concerns, its columns first; indexed by row position.

    A finding about whole columns (no rows listed) gives the first ``head`` rows of those
    columns and the target, so their values can be seen side by side. A finding listing neither
    gives an empty frame.

    Parameters
    ----------
    table : pyarrow.Table or pandas.DataFrame
        The version's data, in stored order (positions are ``iloc`` positions).
    finding : Finding
    target : str, optional
    head : int, default 100

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, None, 3, None], "b": list("wxyz")})
    >>> f = Finding("missing_values", "warn", "quality.missing_values.warn", columns=("a",), rows=(1, 3), n_rows=2)
    >>> finding_rows(df, f).to_dict("index")
    {1: {'a': nan, 'b': 'x'}, 3: {'a': nan, 'b': 'z'}}
    """
    names = list(table.column_names if isinstance(table, pa.Table) else table.columns)
    first = [c for c in finding.columns if c in names]
    if finding.rows:
        positions = [r for r in finding.rows[:MAX_ROWS_LISTED] if 0 <= r < len(table)]
        order = first + [c for c in names if c not in first]
        if isinstance(table, pa.Table):
            out = table.select(order).take(pa.array(positions, type=pa.int64())).to_pandas()
        else:
            out = table.iloc[positions][order].reset_index(drop=True)
        out.index = pd.Index(positions, name="row")
        return out
    if not first:
        return pd.DataFrame(index=pd.Index([], name="row", dtype="int64"))
    shown = first + ([target] if target and target in names and target not in first else [])
    n = min(max(int(head), 0), len(table))
    if isinstance(table, pa.Table):
        out = table.select(shown).slice(0, n).to_pandas()
    else:
        out = table.iloc[:n][shown].reset_index(drop=True)
    out.index = pd.Index(range(n), name="row")
    return out


_STATUS_ORDER = {s: i for i, s in enumerate(reversed(STATUSES))}


def findings_frame(
    report: QualityReport, *, acks: Mapping[str, Acknowledgement] | None = None, lang: str = "en"
) -> pd.DataFrame:
    """Every finding as a table row, failures first: id, status, check title, message, columns, rows, acknowledged.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, None, 3.0, 4.0], "y": [0, 1, 0, 1]})
    >>> table = findings_frame(run_checks(df, roles={}, target="y", task_type="classification"))
    >>> table.loc[0, "status"], table.loc[0, "check"], int(table.loc[0, "n_rows"])
    ('warn', 'Missing values', 1)
    """
    acks = acks or {}
    rows = [
        {
            "finding_id": f.finding_id,
            "status": f.status,
            "check": translate(f"quality.check.{f.check}.title", lang),
            "message": translate(f.key, lang, **f.params),
            "columns": ", ".join(f.columns),
            "n_rows": f.n_rows,
            "acknowledged": f.finding_id in acks,
            "_order": (_STATUS_ORDER[f.status], CHECKS.index(f.check)),
        }
        for f in report.findings
    ]
    cols = ["finding_id", "status", "check", "message", "columns", "n_rows", "acknowledged"]
    if not rows:
        return pd.DataFrame(columns=cols)
    table = pd.DataFrame(rows).sort_values("_order", kind="stable")
    return table[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- evidence for planning


@dataclass(frozen=True)
class QualitySummary:
    """The latest quality evidence of a dataset version, as the planning stage reads it.

    Attributes
    ----------
    dataset_version_id, run_id : int
    status : {"pass", "warn", "fail"}
        The worst status of the run.
    n_pass, n_warn, n_fail : int
        Findings per status.
    n_acknowledged : int
        Findings of the version acknowledged with a note.
    checked_at : datetime
    checked_by : str
    report_sha256 : str
        The stored report (:func:`read_quality_report`).
    thresholds : dict
    checks : dict of str to str
        Worst status per check; empty unless a store was given.
    open_findings : tuple of str
        Keys of warnings and failures not acknowledged; empty unless a store was given.
    """

    dataset_version_id: int
    run_id: int
    status: str
    n_pass: int
    n_warn: int
    n_fail: int
    n_acknowledged: int
    checked_at: datetime
    checked_by: str
    report_sha256: str
    thresholds: dict[str, Any]
    checks: dict[str, str]
    open_findings: tuple[str, ...]


def latest_quality_summary(
    session: Session, dataset_version_id: int, *, store: ArtifactStore | None = None
) -> QualitySummary | None:
    """The newest quality run of a dataset version as evidence, or ``None`` if the checks never ran.

    Parameters
    ----------
    session
    dataset_version_id : int
    store : ArtifactStore, optional
        Also read the report, to fill ``checks`` and ``open_findings``.

    Returns
    -------
    QualitySummary or None
    """
    runs = quality_runs(session=session, version_id=dataset_version_id)
    if not runs:
        return None
    run = runs[0]
    n_acks = session.exec(
        select(func.count()).select_from(FindingAck).where(FindingAck.dataset_version_id == dataset_version_id)
    ).one()
    checks: dict[str, str] = {}
    open_keys: tuple[str, ...] = ()
    if store is not None:
        report = read_quality_report(store=store, report_sha256=run.report_sha256)
        acks = acknowledgements(session=session, version_id=dataset_version_id)
        checks = report.status_by_check()
        open_keys = tuple(f.finding_id for f in report.findings if f.status != "pass" and f.finding_id not in acks)
    return QualitySummary(
        dataset_version_id=dataset_version_id,
        run_id=run.id,
        status=run.status,
        n_pass=run.n_pass,
        n_warn=run.n_warn,
        n_fail=run.n_fail,
        n_acknowledged=int(n_acks),
        checked_at=run.created_at,
        checked_by=run.created_by,
        report_sha256=run.report_sha256,
        thresholds=dict(run.thresholds),
        checks=checks,
        open_findings=open_keys,
    )


def quality_runs_frame(
    runs: list[QualityRunSummary], *, status_labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Quality runs as a table for display, newest first; statuses shown through ``status_labels``.

    Examples
    --------
    >>> quality_runs_frame([]).columns.tolist()
    ['run', 'created_at', 'created_by', 'status', 'n_pass', 'n_warn', 'n_fail']
    """
    cols = ["run", "created_at", "created_by", "status", "n_pass", "n_warn", "n_fail"]
    return pd.DataFrame(
        [
            {
                "run": r.id,
                "created_at": r.created_at,
                "created_by": r.created_by,
                "status": (status_labels or {}).get(r.status, r.status),
                "n_pass": r.n_pass,
                "n_warn": r.n_warn,
                "n_fail": r.n_fail,
            }
            for r in sorted(runs, key=lambda r: r.id, reverse=True)
        ],
        columns=cols,
    )
