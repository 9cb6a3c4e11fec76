"""The audit trail: every write records who, when, where, what (before/after) and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlmodel import Session, col, select

from mlcore.store.models import AuditEvent, Project, User

_MAX_VALUE = 500


def _summary(values: dict[str, Any] | None) -> dict[str, Any]:
    # Keep the trail readable and bounded; never store secrets (callers pass no hashes).
    out: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if isinstance(value, str) and len(value) > _MAX_VALUE:
            value = value[:_MAX_VALUE] + "…"
        elif not isinstance(value, str | int | float | bool | type(None)):
            value = str(value)[:_MAX_VALUE]
        out[key] = value
    return out


def record_event(
    *,
    session: Session,
    actor: User | None,
    action: str,
    object_type: str,
    object_id: str | int = "",
    project_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it commits, or rolls back, with the write)."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "system",
        project_id=project_id,
        object_type=object_type,
        object_id=str(object_id)[:100],
        action=action,
        before=_summary(before),
        after=_summary(after),
        reason=reason[:5000],
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class AuditFilter:
    project_id: int | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    project_ids: frozenset[int] | None = None  # only these projects (a non-admin's visible ones)
    limit: int = 1000


def list_events(*, session: Session, filters: AuditFilter = AuditFilter()) -> pd.DataFrame:
    """Audit events, newest first, as a table: when, who, project, object, action, before, after, reason."""
    stmt = (
        select(AuditEvent, Project.name)
        .join(Project, col(Project.id) == col(AuditEvent.project_id), isouter=True)
        .order_by(col(AuditEvent.id).desc())
        .limit(filters.limit)
    )
    if filters.project_id is not None:
        stmt = stmt.where(AuditEvent.project_id == filters.project_id)
    if filters.project_ids is not None:
        stmt = stmt.where(col(AuditEvent.project_id).in_(filters.project_ids))
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_name == filters.actor)
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.since is not None:
        stmt = stmt.where(col(AuditEvent.at) >= filters.since)
    if filters.until is not None:
        stmt = stmt.where(col(AuditEvent.at) <= filters.until)
    rows = [
        {
            "at": e.at,
            "actor": e.actor_name,
            "project": project or "",
            "object": f"{e.object_type} {e.object_id}".strip(),
            "action": e.action,
            "before": _fmt(e.before),
            "after": _fmt(e.after),
            "reason": e.reason,
        }
        for e, project in session.exec(stmt).all()
    ]
    return pd.DataFrame(rows, columns=["at", "actor", "project", "object", "action", "before", "after", "reason"])


def _fmt(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def audit_actions(*, session: Session) -> list[str]:
    """The distinct actions recorded so far (for filters)."""
    return sorted(set(session.exec(select(AuditEvent.action).distinct()).all()))


def events_csv(frame: pd.DataFrame) -> bytes:
    """Formula-safe CSV of an events table (cells a spreadsheet would run are neutralised)."""
    from mlcore.data.versions import export_csv

    table = pa.Table.from_pandas(frame.astype({"at": "string"}), preserve_index=False)
    return export_csv(table)
