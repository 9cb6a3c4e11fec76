"""Stage 9 · Delayed labels: import the real outcomes of past predictions and follow performance over time."""

import streamlit as st

from mlcore.data.imports import stage_upload
from mlcore.data.versions import list_versions
from mlcore.errors import MLCoreError
from mlcore.markdown import md_escape
from mlcore.monitoring.performance import PERIODS
from mlcore.monitoring.records import (
    criterion,
    import_outcomes,
    outcome_imports,
    outcome_imports_frame,
    performance_figure,
    performance_for,
    performance_frame,
    read_outcome_file,
    scorable_batches,
    version_outcome_frame,
)
from mlcore.planning.canvas import METRICS as CANVAS_METRICS
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import gate_banner, page_header, role_notice, show_error, show_flash, user_errors

RESULT_KEY = "monitor_import_result"  # the last import's report, shown after the rerun
UPLOAD_KEY = "monitor_outcome_round"
ss = st.session_state

page_header("monitor.labels.title", "monitor.labels.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("monitor.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
pid = project.id
with session_scope(ws.engine) as s:
    metric, threshold = criterion(session=s, project_id=pid)
    batches = scorable_batches(session=s, project_id=pid)
if metric is not None and threshold is not None:
    st.info(t("monitor.labels.criterion", metric=metric, threshold=threshold), icon=":material/flag:")
else:
    st.warning(t("monitor.labels.no_criterion"), icon=":material/flag:")
if not batches:
    st.info(t("monitor.labels.no_batches"))
    st.stop()

# --------------------------------------------------------------------------- import outcomes

st.subheader(t("monitor.labels.import_title"))
if not allowed("monitor.labels", pid):
    role_notice("monitor.labels")
else:
    st.markdown(t("monitor.labels.import_help"))
    source = st.radio(
        t("monitor.labels.source"),
        ["file", "version"],
        format_func={k: t(f"monitor.labels.source_{k}") for k in ("file", "version")}.__getitem__,
        horizontal=True,
        key="monitor_labels_source",
    )
    frame = None
    origin: dict[str, object] = {}
    round_ = ss.setdefault(UPLOAD_KEY, 0)
    if source == "file":
        upload = st.file_uploader(
            t("monitor.labels.upload"),
            type=["csv", "parquet", "xlsx", "txt", "tsv"],
            key=f"monitor_outcome_file_{round_}",
            help=t("monitor.labels.upload_help"),
        )
        if upload is not None:
            staged = f"monitor_staged_{upload.file_id}"
            try:
                if staged not in ss:
                    path = stage_upload(settings=ws.settings, stream=upload, filename=upload.name)
                    ss[staged] = read_outcome_file(path, filename=upload.name, limits=ws.settings.limits)
                frame = ss[staged]
                origin = {"kind": "file", "name": upload.name}
            except MLCoreError as exc:
                show_error(exc)
    else:
        with session_scope(ws.engine) as s:
            versions = [v for v in reversed(list_versions(session=s, project_id=pid))]
        labels = {v.id: v.label for v in versions}
        version_id = st.selectbox(
            t("monitor.labels.version"), list(labels), format_func=labels.__getitem__, key="monitor_labels_version"
        )
        if version_id is not None:
            with user_errors(), session_scope(ws.engine) as s:
                frame = version_outcome_frame(session=s, store=ws.store, project_id=pid, version_id=version_id)
                origin = {"kind": "version", "version_id": version_id, "label": labels[version_id]}
    if frame is not None:
        columns = [str(c) for c in frame.columns]
        st.caption(t("monitor.labels.rows", rows=len(frame), columns=len(columns)))
        left, mid, right = st.columns(3)
        key_column = left.selectbox(t("monitor.labels.key_column"), columns, key="monitor_labels_key")
        default_outcome = next((c for c in reversed(columns) if c != key_column), key_column)
        outcome_column = mid.selectbox(
            t("monitor.labels.outcome_column"),
            columns,
            index=columns.index(default_outcome),
            key="monitor_labels_outcome",
        )
        batch_column = right.selectbox(
            t("monitor.labels.batch_column"),
            [None, *columns],
            format_func={None: t("monitor.labels.no_batch_column"), **{c: c for c in columns}}.__getitem__,
            key="monitor_labels_batch",
            help=t("monitor.labels.batch_column_help"),
        )
        if st.button(t("monitor.labels.import"), type="primary", key="monitor_labels_import", icon=":material/input:"):
            with user_errors():
                result = import_outcomes(
                    engine=ws.engine,
                    project_id=pid,
                    actor_id=user.id or 0,
                    data=frame,
                    key_column=key_column,
                    outcome_column=outcome_column,
                    batch_column=batch_column,
                    source=origin,
                )
                ss[RESULT_KEY] = result.messages(lang())
                ss[UPLOAD_KEY] = round_ + 1  # a fresh, empty uploader
                st.rerun()
    if RESULT_KEY in ss:
        first, *rest = ss.pop(RESULT_KEY)
        st.success(md_escape(first), icon=":material/check:")
        for line in rest:
            st.warning(md_escape(line), icon=":material/info:")

with session_scope(ws.engine) as s:
    imports = outcome_imports(session=s, project_id=pid)
if imports:
    with st.expander(t("monitor.labels.imports_title", n=len(imports))):
        st.dataframe(outcome_imports_frame(imports, lang=lang()), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- performance over time

st.subheader(t("monitor.perf.title"))
choices = list(CANVAS_METRICS.get(project.task_type, ()))
default = choices.index(metric) if metric in choices else 0
left, right = st.columns(2)
chosen = left.selectbox(t("monitor.perf.metric"), choices, index=default, key="monitor_perf_metric")
period = right.radio(
    t("monitor.perf.period_pick"),
    list(PERIODS),
    format_func={p: t(f"monitor.perf.period_{p.lower()}") for p in PERIODS}.__getitem__,
    horizontal=True,
    key="monitor_perf_period",
)
perf = None
with user_errors(), session_scope(ws.engine) as s:
    perf = performance_for(session=s, project_id=pid, metric=chosen, period=period)
if perf is None:
    st.info(t("monitor.perf.none"))
    st.stop()
for message in perf.messages:
    text = md_escape(message.text(lang()))
    if message.key.endswith(("latest_fail", "failing_streak")):
        st.error(text, icon=":material/trending_down:")
    else:
        st.info(text, icon=":material/insights:")
st.plotly_chart(performance_figure(perf, lang=lang()), key=f"monitor_perf_{chosen}_{period}")
st.dataframe(performance_frame(perf, lang=lang()), hide_index=True, width="stretch")
st.caption(t("monitor.perf.caption", n=perf.n))
