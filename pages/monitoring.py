"""Stage 9 · Drift: compare recent data (a dataset version or a scored batch) with what the model learned from."""

import streamlit as st

from mlcore.data.versions import list_versions
from mlcore.markdown import md_escape
from mlcore.monitoring.records import (
    drift_bins_figure,
    drift_history_frame,
    drift_records,
    drift_records_frame,
    drift_table,
    drift_trend_figure,
    model_choices,
    scorable_batches,
    submit_drift,
)
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_flash, user_errors

KINDS = ("drift",)
MODEL_KEY = "monitor_model"  # the model version looked at, shared by the monitoring pages
ss = st.session_state

page_header("monitor.drift.title", "monitor.drift.intro")
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
    models = model_choices(session=s, project_id=pid)
if not models:
    st.info(t("monitor.no_models"))
    st.page_link("pages/registry.py", label=t("monitor.go_registry"), icon=":material/inventory_2:")
    st.stop()
by_id = {m.id: m for m in models}
if ss.get(MODEL_KEY) not in by_id:
    ss[MODEL_KEY] = models[0].id


def _remember_model() -> None:
    ss[MODEL_KEY] = ss["monitor_model_pick"]


# Labels are computed here, not in format_func: the widget keeps the text it was shown with.
model_labels = {i: t("monitor.model_label", ref=m.ref, stage=t(f"tracking.stage.{m.stage}")) for i, m in by_id.items()}
ids = list(by_id)
model_id = st.selectbox(
    t("monitor.model_pick"),
    ids,
    index=ids.index(ss[MODEL_KEY]),
    format_func=model_labels.__getitem__,
    key="monitor_model_pick",
    on_change=_remember_model,
    help=t("monitor.model_pick_help"),
)
model = by_id[model_id]
jobs_panel(pid, KINDS)

# --------------------------------------------------------------------------- measure drift

st.subheader(t("monitor.drift.run_title"))
if allowed("monitor.run", pid):
    with session_scope(ws.engine) as s:
        versions = list_versions(session=s, project_id=pid)
        batches = [b for b in scorable_batches(session=s, project_id=pid) if b.version_id is not None]
    source = st.radio(
        t("monitor.drift.source"),
        ["version", "batch"],
        format_func={k: t(f"monitor.drift.source_{k}") for k in ("version", "batch")}.__getitem__,
        horizontal=True,
        key="monitor_drift_source",
    )
    version_id = batch_id = None
    if source == "version":
        labels = {v.id: v.label for v in reversed(versions)}
        version_id = st.selectbox(
            t("monitor.drift.version"), list(labels), format_func=labels.__getitem__, key="monitor_drift_version"
        )
    elif batches:
        names = {b.id: t("monitor.drift.batch_label", key=b.batch_key, rows=b.n_rows) for b in batches}
        batch_id = st.selectbox(
            t("monitor.drift.batch"), list(names), format_func=names.__getitem__, key="monitor_drift_batch"
        )
    else:
        st.info(t("monitor.drift.no_batches"))
    if st.button(
        t("monitor.drift.run"),
        type="primary",
        key="monitor_drift_run",
        icon=":material/compare_arrows:",
        disabled=version_id is None and batch_id is None,
    ):
        with user_errors():
            job_id = submit_drift(
                engine=ws.engine,
                settings=ws.settings,
                project_id=pid,
                actor_id=user.id or 0,
                model_version_id=model.id,
                version_id=version_id,
                batch_id=batch_id,
            )
            flash(t("monitor.drift.started", job_id=job_id))
            st.rerun()
else:
    role_notice("monitor.run")

# --------------------------------------------------------------------------- reports

with session_scope(ws.engine) as s:
    records = drift_records(session=s, project_id=pid, model_version_id=model.id)
if not records:
    st.info(t("monitor.drift.none", ref=md_escape(model.ref)))
    st.stop()
by_record = {r.id: r for r in records}
record_id = st.selectbox(
    t("monitor.drift.report_pick"),
    list(by_record),
    format_func={
        i: t(
            "monitor.drift.report_label",
            data=r.label,
            when=f"{r.observed_at:%Y-%m-%d %H:%M}",
            status=t(f"monitoring.status.{r.status}"),
        )
        for i, r in by_record.items()
    }.__getitem__,
    key=f"monitor_drift_report_{model.id}",
)
record = by_record[record_id]
report = record.report
st.subheader(t("monitor.drift.verdict_title", data=md_escape(record.label)))
lines = [md_escape(line) for line in report.explain(lang())]
summary = "  \n".join(md_escape(m.text(lang())) for m in report.messages)
box = {"alert": st.error, "warn": st.warning, "ok": st.success}[report.status]
box(summary, icon=":material/monitor_heart:")
c1, c2, c3, c4 = st.columns(4)
c1.metric(t("monitor.drift.rows"), f"{report.n_rows:,}")
c2.metric(t("monitor.drift.drifted"), f"{len(report.drifted())} / {len(report.features)}")
c3.metric(t("monitor.drift.missing_columns"), len(report.missing_columns))
c4.metric(
    t("monitor.drift.prediction"),
    t(f"monitoring.status.{report.prediction.status}") if report.prediction is not None else "—",
)
if report.missing_columns:
    st.error(
        t("monitor.drift.missing_list", columns=md_escape(", ".join(report.missing_columns))), icon=":material/error:"
    )
st.caption(
    t(
        "monitor.drift.caption",
        model=md_escape(record.model_ref or "—"),
        who=md_escape(record.created_by or t("monitor.drift.by_scoring")),
        when=f"{record.created_at:%Y-%m-%d %H:%M}",
    )
)
st.markdown(f"**{t('monitor.drift.table_title')}**")
st.dataframe(drift_table(report, lang=lang()), hide_index=True, width="stretch")
st.caption(t("monitor.drift.table_help"))
if len(lines) > len(report.messages):
    with st.expander(t("monitor.drift.explain_title"), expanded=report.status != "ok"):
        st.markdown("\n".join(f"- {line}" for line in lines[len(report.messages) :]))

parts = {f.feature: f for f in report.features}
if report.prediction is not None:
    parts[report.prediction.feature] = report.prediction
ordered = sorted(parts, key=lambda n: (parts[n].status == "ok", n))
feature = st.selectbox(t("monitor.drift.feature_pick"), ordered, key=f"monitor_drift_feature_{record.id}")
st.plotly_chart(drift_bins_figure(parts[feature], lang=lang()), key=f"monitor_bins_{record.id}_{feature}")

# --------------------------------------------------------------------------- history

st.subheader(t("monitor.drift.history_title"))
history = drift_history_frame(records)
measure = st.radio(
    t("monitor.drift.measure"),
    ["psi", "js", "ks", "missing_share"],
    format_func={m: t(f"monitor.stat.{m}") for m in ("psi", "js", "ks", "missing_share")}.__getitem__,
    horizontal=True,
    key="monitor_drift_measure",
)
st.plotly_chart(
    drift_trend_figure(history, measure=measure, thresholds=report.thresholds, lang=lang()),
    key=f"monitor_trend_{model.id}_{measure}",
)
st.dataframe(drift_records_frame(records, lang=lang()), hide_index=True, width="stretch")
