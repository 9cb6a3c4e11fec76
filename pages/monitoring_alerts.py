"""Stage 9 · Alerts and compute resources: what fires now, the project's rules, the history, job resources."""

from dataclasses import replace

import streamlit as st

from mlcore.markdown import md_escape
from mlcore.monitoring.alerts import SEVERITIES
from mlcore.monitoring.records import (
    alert_events,
    alert_history_frame,
    alert_rules,
    check_alerts,
    criterion,
    job_resources,
    resource_figure,
    resources_frame,
    rules_form,
    rules_frame,
    rules_from_form,
    save_alert_rules,
)
from mlcore.monitoring.resources import MEASURES
from mlcore.planning.canvas import METRICS as CANVAS_METRICS
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, page_header, role_notice, show_flash, user_errors

page_header("monitor.alerts.title", "monitor.alerts.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("monitor.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
pid = project.id

# --------------------------------------------------------------------------- alerts firing now

st.subheader(t("monitor.alerts.now_title"))
with session_scope(ws.engine) as s:
    check = check_alerts(session=s, project_id=pid, source="app")
    rules = alert_rules(session=s, project_id=pid)
    metric, threshold = criterion(session=s, project_id=pid)
if not check.alerts:
    st.success(t("monitor.alerts.none_firing"), icon=":material/check_circle:")
for alert in check.alerts:
    box = st.error if alert.severity == "critical" else st.warning
    box(
        f"**{t(f'monitoring.severity.{alert.severity}')}** · {t(f'monitor.rule.{alert.rule}')} — "
        + md_escape(alert.message(lang())),
        icon=":material/notifications_active:",
    )
st.caption(t("monitor.alerts.cli", project=md_escape(project.name)))

# --------------------------------------------------------------------------- rules

st.subheader(t("monitor.alerts.rules_title"))
if rules.saved:
    st.caption(
        t("monitor.alerts.rules_saved", who=md_escape(rules.updated_by), when=f"{rules.updated_at:%Y-%m-%d %H:%M}")
    )
else:
    st.caption(t("monitor.alerts.rules_default"))
if not allowed("monitor.alerts", pid):
    st.dataframe(rules_frame(rules.rules, lang=lang()), hide_index=True, width="stretch")
    role_notice("monitor.alerts")
else:
    form = rules_form(rules.rules, metric=metric, threshold=threshold)
    metrics = list(CANVAS_METRICS.get(project.task_type, ()))
    severities = list(SEVERITIES)
    severity_names = {v: t(f"monitoring.severity.{v}") for v in severities}

    def _severity(label: str, value: str, key: str) -> str:
        return st.selectbox(
            label,
            severities,
            index=severities.index(value),
            format_func=severity_names.__getitem__,
            key=key,
        )

    with st.form(f"monitor_rules_{rules.version}"):
        st.markdown(f"**{t('monitor.rule.drift')}**")
        c1, c2, c3 = st.columns([1, 2, 2], vertical_alignment="bottom")
        drift_on = c1.checkbox(t("monitor.rules.on"), value=form.drift, key="rule_drift_on")
        drift_psi = c2.number_input(
            t("monitor.rules.psi_above"),
            min_value=0.01,
            max_value=10.0,
            value=float(form.drift_psi),
            step=0.05,
            key="rule_drift_psi",
            help=t("monitor.rules.psi_help"),
        )
        with c3:
            drift_sev = _severity(t("monitor.rules.severity"), form.drift_severity, "rule_drift_sev")

        st.markdown(f"**{t('monitor.rule.metric')}**")
        c1, c2, c3, c4, c5 = st.columns([1, 2, 2, 1, 2], vertical_alignment="bottom")
        metric_on = c1.checkbox(t("monitor.rules.on"), value=form.metric, key="rule_metric_on")
        metric_name = c2.selectbox(
            t("monitor.rules.metric"),
            metrics,
            index=metrics.index(form.metric_name) if form.metric_name in metrics else 0,
            key="rule_metric_name",
        )
        metric_threshold = c3.number_input(
            t("monitor.rules.threshold"),
            value=float(form.metric_threshold) if form.metric_threshold is not None else 0.7,
            step=0.01,
            format="%.3f",
            key="rule_metric_threshold",
        )
        metric_periods = c4.number_input(
            t("monitor.rules.periods"),
            min_value=1,
            max_value=52,
            value=int(form.metric_periods),
            key="rule_metric_periods",
            help=t("monitor.rules.periods_help"),
        )
        with c5:
            metric_sev = _severity(t("monitor.rules.severity"), form.metric_severity, "rule_metric_sev")

        st.markdown(f"**{t('monitor.rule.failed_job')}**")
        c1, c2, c3 = st.columns([1, 2, 2], vertical_alignment="bottom")
        failed_on = c1.checkbox(t("monitor.rules.on"), value=form.failed_job, key="rule_failed_on")
        failed_days = c2.number_input(
            t("monitor.rules.within_days"),
            min_value=0.1,
            max_value=365.0,
            value=float(form.failed_days),
            key="rule_failed_days",
        )
        with c3:
            failed_sev = _severity(t("monitor.rules.severity"), form.failed_severity, "rule_failed_sev")

        st.markdown(f"**{t('monitor.rule.stale_batch')}**")
        c1, c2, c3 = st.columns([1, 2, 2], vertical_alignment="bottom")
        stale_on = c1.checkbox(t("monitor.rules.on"), value=form.stale, key="rule_stale_on")
        stale_days = c2.number_input(
            t("monitor.rules.max_days"),
            min_value=0.1,
            max_value=365.0,
            value=float(form.stale_days),
            key="rule_stale_days",
        )
        with c3:
            stale_sev = _severity(t("monitor.rules.severity"), form.stale_severity, "rule_stale_sev")

        st.markdown(f"**{t('monitor.rule.resources')}**")
        c1, c2, c3 = st.columns([1, 2, 2], vertical_alignment="bottom")
        res_on = c1.checkbox(t("monitor.rules.on"), value=form.resources, key="rule_res_on")
        c2.caption(t("monitor.rules.resources_help"))
        with c3:
            res_sev = _severity(t("monitor.rules.severity"), form.resources_severity, "rule_res_sev")

        if st.form_submit_button(t("monitor.rules.save"), type="primary", icon=":material/save:"):
            saved = None
            edited = replace(
                form,
                drift=drift_on,
                drift_psi=float(drift_psi),
                drift_severity=drift_sev,
                metric=metric_on,
                metric_name=metric_name,
                metric_threshold=float(metric_threshold),
                metric_periods=int(metric_periods),
                metric_severity=metric_sev,
                failed_job=failed_on,
                failed_days=float(failed_days),
                failed_severity=failed_sev,
                stale=stale_on,
                stale_days=float(stale_days),
                stale_severity=stale_sev,
                resources=res_on,
                resources_severity=res_sev,
            )
            with user_errors(), session_scope(ws.engine) as s:
                saved = save_alert_rules(
                    session=s,
                    actor=user,
                    project_id=pid,
                    rules=rules_from_form(edited),
                    expected_version=rules.version,
                )
            if saved is not None:
                flash(t("monitor.rules.saved", n=len(saved.rules)))
                st.rerun()

# --------------------------------------------------------------------------- history

with session_scope(ws.engine) as s:
    events = alert_events(session=s, project_id=pid)
st.subheader(t("monitor.alerts.history_title"))
if events:
    st.dataframe(alert_history_frame(events, lang=lang()), hide_index=True, width="stretch")
else:
    st.caption(t("monitor.alerts.history_none"))

# --------------------------------------------------------------------------- compute resources

st.subheader(t("monitor.res.title"))
st.caption(t("monitor.res.help"))
with session_scope(ws.engine) as s:
    trends = job_resources(session=s, project_id=pid)
if trends.table.empty:
    st.info(t("monitor.res.none"))
    st.stop()
for regression in trends.regressions:
    st.warning(md_escape(regression.message.text(lang())), icon=":material/speed:")
st.dataframe(resources_frame(trends, lang=lang()), hide_index=True, width="stretch")
measure = st.radio(
    t("monitor.res.measure"),
    list(MEASURES),
    format_func={m: t(f"monitor.res.{m}") for m in MEASURES}.__getitem__,
    horizontal=True,
    key="monitor_res_measure",
)
st.plotly_chart(resource_figure(trends, measure=measure, lang=lang()), key=f"monitor_res_{measure}")
