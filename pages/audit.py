"""Audit trail: every write — who, when, project, object, action, before/after, reason."""

from datetime import datetime, time, timedelta

import streamlit as st

from mlcore.audit import AuditFilter, audit_actions, events_csv, list_events
from mlcore.auth import visible_project_ids
from mlcore.store.engine import session_scope
from ui.i18n import t
from ui.state import current_user, projects, workspace
from ui.widgets import page_header

page_header("audit.title", "audit.intro")
user = current_user()
engine = workspace().engine
visible = projects(include_archived=True)
names = {p.id: p.name for p in visible}
with session_scope(engine) as s:
    actions = audit_actions(session=s)
    allowed_ids = visible_project_ids(session=s, user=user)

c1, c2, c3, c4 = st.columns(4)
project_id = c1.selectbox(
    t("audit.filter.project"),
    [None, *names],
    format_func=lambda i: t("audit.all") if i is None else names[i],
    key="audit_project",
)
actor = c2.text_input(t("audit.filter.user"), key="audit_user", max_chars=100)
action = c3.selectbox(
    t("audit.filter.action"),
    [None, *actions],
    format_func=lambda a: t("audit.all") if a is None else a,
    key="audit_action",
)
today = datetime.now().date()
period = c4.date_input(t("audit.filter.period"), value=(today - timedelta(days=30), today), key="audit_period")
start, end = period if isinstance(period, tuple) and len(period) == 2 else (today - timedelta(days=30), today)
filters = AuditFilter(
    project_id=project_id,
    actor=actor.strip() or None,
    action=action,
    since=datetime.combine(start, time.min).astimezone(),
    until=datetime.combine(end, time.max).astimezone(),
    project_ids=None if allowed_ids is None else frozenset(allowed_ids),
)
with session_scope(engine) as s:
    events = list_events(session=s, filters=filters)
st.caption(t("audit.count", n=len(events)))
st.dataframe(
    events,
    hide_index=True,
    width="stretch",
    column_config={
        "at": st.column_config.DatetimeColumn(t("audit.col.at"), format="YYYY-MM-DD HH:mm:ss"),
        "actor": t("audit.col.actor"),
        "project": t("audit.col.project"),
        "object": t("audit.col.object"),
        "action": t("audit.col.action"),
        "before": t("audit.col.before"),
        "after": t("audit.col.after"),
        "reason": t("audit.col.reason"),
    },
)
st.download_button(
    t("audit.export"),
    data=events_csv(events),
    file_name="ciclo-audit.csv",
    mime="text/csv",
    key="audit_csv",
    help=t("versions.csv_safe"),
)
