"""Stage 9 · Retraining: train a challenger from the champion's configuration on newer data, compare both on
the same recent labelled rows, and promote the challenger with an approval."""

import streamlit as st

from mlcore.markdown import md_escape
from mlcore.monitoring.records import (
    MAX_REASON,
    challenger_spec,
    champions,
    comparison_frame,
    comparisons,
    newer_versions,
    promote_challenger,
    retrain_frame,
    retrain_requests,
    spec_frame,
    submit_challenger,
    submit_comparison,
    versions_with_column,
)
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_flash, user_errors

KINDS = ("train", "challenger")
CHAMPION_KEY = "monitor_champion"
ss = st.session_state

page_header("monitor.retrain.title", "monitor.retrain.intro")
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
    found = champions(session=s, project_id=pid)
if not found:
    st.info(t("monitor.retrain.no_champion"))
    st.page_link("pages/registry.py", label=t("monitor.go_registry"), icon=":material/inventory_2:")
    st.stop()
by_id = {c.id: c for c in found}
if ss.get(CHAMPION_KEY) not in by_id:
    ss[CHAMPION_KEY] = found[0].id


def _remember() -> None:
    ss[CHAMPION_KEY] = ss["monitor_champion_pick"]


ids = list(by_id)
champion_id = st.selectbox(
    t("monitor.retrain.champion"),
    ids,
    index=ids.index(ss[CHAMPION_KEY]),
    format_func={i: c.ref for i, c in by_id.items()}.__getitem__,
    key="monitor_champion_pick",
    on_change=_remember,
)
champion = by_id[champion_id]
with session_scope(ws.engine) as s:
    spec = challenger_spec(session=s, project_id=pid, model_version_id=champion.id)
    newer = newer_versions(session=s, project_id=pid, model_version_id=champion.id)
    requests = [r for r in retrain_requests(session=s, project_id=pid) if r.champion_version_id == champion.id]
    done = [c for c in comparisons(session=s, project_id=pid) if c.champion_version_id == champion.id]
    labelled = versions_with_column(session=s, project_id=pid, column=spec.target)
jobs_panel(pid, KINDS)

# --------------------------------------------------------------------------- 1. the challenger

st.subheader(t("monitor.retrain.step_train"))
with st.expander(t("monitor.retrain.config_title", ref=md_escape(champion.ref))):
    st.dataframe(spec_frame(spec, lang=lang()), hide_index=True, width="stretch")
if not allowed("model.train", pid):
    role_notice("model.train")
elif not newer:
    st.info(t("monitor.retrain.no_newer"))
else:
    labels = {v.id: v.label for v in newer}
    version_id = st.selectbox(
        t("monitor.retrain.newer"), list(labels), format_func=labels.__getitem__, key="monitor_retrain_version"
    )
    if st.button(t("monitor.retrain.train"), type="primary", key="monitor_retrain_train", icon=":material/replay:"):
        with user_errors():
            job_id = submit_challenger(
                engine=ws.engine,
                settings=ws.settings,
                project_id=pid,
                model_version_id=champion.id,
                version_id=version_id,
                actor_id=user.id or 0,
            )
            flash(t("monitor.retrain.started", job_id=job_id))
            st.rerun()
if requests:
    st.dataframe(retrain_frame(requests, lang=lang()), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- 2. the comparison

st.subheader(t("monitor.retrain.step_compare"))
ready = {r.challenger_id: r for r in requests if r.challenger_id is not None}
if not ready:
    st.info(t("monitor.retrain.no_challenger"))
elif not allowed("monitor.run", pid):
    role_notice("monitor.run")
else:
    names = {c: t("monitor.retrain.challenger_label", run=r.run_id, data=r.version_label) for c, r in ready.items()}
    left, right = st.columns(2)
    challenger_id = left.selectbox(
        t("monitor.retrain.challenger"), list(names), format_func=names.__getitem__, key="monitor_compare_challenger"
    )
    data = {v.id: v.label for v in labelled}
    data_id = right.selectbox(
        t("monitor.retrain.compare_on"),
        list(data),
        format_func=data.__getitem__,
        key="monitor_compare_version",
        help=t("monitor.retrain.compare_on_help"),
    )
    if st.button(t("monitor.retrain.compare"), type="primary", key="monitor_compare", icon=":material/balance:"):
        with user_errors():
            job_id = submit_comparison(
                engine=ws.engine,
                settings=ws.settings,
                project_id=pid,
                model_version_id=champion.id,
                challenger_id=challenger_id,
                version_id=data_id,
                actor_id=user.id or 0,
            )
            flash(t("monitor.retrain.compare_started", job_id=job_id))
            st.rerun()

# --------------------------------------------------------------------------- 3. the decision

st.subheader(t("monitor.retrain.step_promote"))
if not done:
    st.info(t("monitor.retrain.no_comparison"))
    st.stop()
by_comparison = {c.id: c for c in done}
comparison_id = st.selectbox(
    t("monitor.retrain.comparison_pick"),
    list(by_comparison),
    format_func={
        i: t(
            "monitor.retrain.comparison_label",
            id=i,
            challenger=c.challenger_label,
            data=c.version_label,
            when=f"{c.created_at:%Y-%m-%d %H:%M}",
        )
        for i, c in by_comparison.items()
    }.__getitem__,
    key="monitor_comparison_pick",
)
comparison = by_comparison[comparison_id]
box = {"better": st.success, "worse": st.error}.get(comparison.verdict, st.info)
box(md_escape(comparison.summary(lang())), icon=":material/balance:")
st.caption(t(f"monitor.retrain.rows_{comparison.rows}", n=comparison.n_rows, data=md_escape(comparison.version_label)))
st.dataframe(comparison_frame(comparison, lang=lang()), hide_index=True, width="stretch")
if comparison.promoted:
    st.success(
        t(
            "monitor.retrain.promoted",
            ref=md_escape(comparison.promoted_ref),
            who=md_escape(comparison.promoted_by),
            when=f"{comparison.promoted_at:%Y-%m-%d %H:%M}",
        ),
        icon=":material/rocket_launch:",
    )
elif not allowed("model.promote", pid):
    role_notice("model.promote")
else:
    with st.form(f"monitor_promote_{comparison.id}"):
        st.markdown(t("monitor.retrain.promote_help", ref=md_escape(champion.ref)))
        reason = st.text_area(t("monitor.retrain.reason"), max_chars=MAX_REASON, key=f"monitor_reason_{comparison.id}")
        override = False
        if comparison.verdict == "worse":
            override = st.checkbox(t("monitor.retrain.override"), key=f"monitor_override_{comparison.id}")
        if st.form_submit_button(t("monitor.retrain.promote"), type="primary", icon=":material/rocket_launch:"):
            promoted = None
            with user_errors(), session_scope(ws.engine) as s:
                promoted = promote_challenger(
                    session=s,
                    actor=user,
                    project_id=pid,
                    comparison_id=comparison.id,
                    reason=reason,
                    override=override,
                )
            if promoted is not None:
                flash(t("monitor.retrain.promote_done", ref=md_escape(promoted.ref)))
                ss.pop(CHAMPION_KEY, None)
                st.rerun()
