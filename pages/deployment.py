"""Stage 8 · Deployment: choose how predictions reach people (the advisor) and score batches with a
registered model as a job."""

import streamlit as st

from mlcore.data.imports import stage_upload
from mlcore.data.versions import list_versions
from mlcore.deploy.advisor import MODES, PERIODS, URGENCIES, check_answers, recommend_mode, record_mode_choice
from mlcore.deploy.scoring import (
    SOURCE_KINDS,
    ScoringSource,
    default_answers,
    default_threshold,
    history_frame,
    mode_choice_history,
    model_options,
    submit_batch_scoring,
    tradeoff_cards,
    version_columns,
)
from mlcore.errors import InputError
from mlcore.markdown import md_escape
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_flash, user_errors

KINDS = ("predict_batch",)
MODEL_KEY = "deploy_model"  # survive page changes (widget keys do not)
SOURCE_KEY = "deploy_source"
VERSION_KEY = "deploy_version"
TAB_KEY = "deploy_tab"

page_header("deploypage.title", "deploypage.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("deploypage.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
pid = project.id
L = lang()
ss = st.session_state


def _remember(target: str, widget: str) -> None:
    ss[target] = ss[widget]


# Only the open tab runs, and the open tab is kept across reruns (starting a job stays on its tab).
advisor_tab, score_tab = st.tabs(
    [t("deploypage.tab.advisor"), t("deploypage.tab.score")], key=TAB_KEY, on_change="rerun"
)

# --------------------------------------------------------------------------- the deployment-mode advisor


def advisor() -> None:
    with session_scope(ws.engine) as s:
        history = mode_choice_history(session=s, project_id=pid)
        start = default_answers(session=s, project_id=pid)
    if history:
        now = history[0]
        st.success(
            t(
                "deploypage.current",
                mode=t(f"deploy.mode.{now.mode}"),
                who=md_escape(now.decided_by),
                when=now.decided_at.strftime("%Y-%m-%d"),
            ),
            icon=":material/rocket_launch:",
        )
    else:
        st.info(t("deploypage.no_choice"))
    st.markdown(t("deploypage.questions"))
    left, middle, right = st.columns([2, 1, 1])
    urgency = left.selectbox(
        t("deploypage.q.urgency"),
        URGENCIES,
        index=URGENCIES.index(start.urgency),
        format_func={u: t(f"deploy.advisor.urgency.{u}") for u in URGENCIES}.__getitem__,
        key="deploy_urgency",
        help=t("deploypage.q.urgency_help"),
    )
    volume = middle.number_input(
        t("deploypage.q.volume"), min_value=0, value=int(start.volume), step=100, key="deploy_volume"
    )
    period = right.selectbox(
        t("deploypage.q.period"),
        PERIODS,
        index=PERIODS.index(start.period),
        format_func={p: t(f"deploy.advisor.period.{p}") for p in PERIODS}.__getitem__,
        key="deploy_period",
    )
    events = st.toggle(
        t("deploypage.q.events"), value=start.event_triggered, key="deploy_events", help=t("deploypage.q.events_help")
    )
    recommendation = None
    with user_errors():
        answers = check_answers(urgency=urgency, volume=int(volume), period=period, event_triggered=bool(events))
        recommendation = recommend_mode(answers)
    if recommendation is not None:
        st.subheader(t("deploypage.recommended", mode=t(f"deploy.mode.{recommendation.mode}")))
        for line in recommendation.reasons_text(L):
            st.markdown("- " + md_escape(line))
        if recommendation.alternative is not None and recommendation.alternative_reason is not None:
            st.caption(
                t(
                    "deploypage.alternative",
                    mode=t(f"deploy.mode.{recommendation.alternative}"),
                    why=md_escape(recommendation.alternative_reason.message(L)),
                )
            )
        st.markdown(t("deploypage.tradeoffs"))
        for card, column in zip(tradeoff_cards(recommendation, lang=L), st.columns(3), strict=True):
            with column.container(border=True):
                st.markdown(f"**{card.title}**" + (f" · :green[{t('deploypage.advised')}]" if card.recommended else ""))
                st.caption(t("deploypage.good_at"))
                st.markdown("\n".join("- " + md_escape(p) for p in card.pros))
                st.caption(t("deploypage.watch_out"))
                st.markdown("\n".join("- " + md_escape(c) for c in card.cons))
        if allowed("deploy.choose", pid):
            with st.form("deploy_choice"):
                mode = st.radio(
                    t("deploypage.choose_mode"),
                    MODES,
                    index=MODES.index(recommendation.mode),
                    format_func={m: t(f"deploy.mode.{m}") for m in MODES}.__getitem__,
                    horizontal=True,
                    key="deploy_mode_pick",
                )
                reason = st.text_area(t("deploypage.reason"), key="deploy_reason", help=t("deploypage.reason_help"))
                if st.form_submit_button(t("deploypage.record"), type="primary"):
                    chosen = None
                    with user_errors(), session_scope(ws.engine) as s:
                        chosen = record_mode_choice(
                            session=s,
                            project_id=pid,
                            answers=answers,
                            mode=mode,
                            actor=current_user(),
                            reason=reason,
                        )
                    if chosen is not None:  # rerun only once the choice is committed
                        flash(t("deploypage.recorded", mode=t(f"deploy.mode.{chosen.mode}")))
                        st.rerun()
        else:
            role_notice("deploy.choose")
    if history:
        with st.expander(t("deploypage.history", count=len(history))):
            st.dataframe(history_frame(history, lang=L), hide_index=True, width="stretch")


# --------------------------------------------------------------------------- batch scoring


def scoring() -> None:
    with session_scope(ws.engine) as s:
        models = model_options(session=s, project_id=pid, lang=L)
        versions = list_versions(session=s, project_id=pid)
    if not models:
        st.info(t("deploypage.no_models"))
        st.page_link("pages/registry.py", label=t("deploypage.go_registry"), icon=":material/inventory_2:")
    elif not allowed("predict.batch", pid):
        role_notice("predict.batch")
    else:
        st.markdown(t("deploypage.score_help"))
        by_ref = {m.ref: m for m in models}
        refs = list(by_ref)
        if ss.get(MODEL_KEY) not in by_ref:
            ss[MODEL_KEY] = refs[0]
        ref = st.selectbox(
            t("deploypage.model"),
            refs,
            index=refs.index(ss[MODEL_KEY]),
            format_func=lambda r: by_ref[r].label,
            key="deploy_model_pick",
            on_change=_remember,
            args=(MODEL_KEY, "deploy_model_pick"),
            help=t("deploypage.model_help"),
        )
        chosen_model = by_ref[ref]
        if ss.get(SOURCE_KEY) not in SOURCE_KINDS:
            ss[SOURCE_KEY] = SOURCE_KINDS[0]
        kind = st.radio(
            t("deploypage.source"),
            SOURCE_KINDS,
            index=SOURCE_KINDS.index(ss[SOURCE_KEY]),
            format_func={k: t(f"deploypage.source.{k}") for k in SOURCE_KINDS}.__getitem__,
            horizontal=True,
            key="deploy_source_pick",
            on_change=_remember,
            args=(SOURCE_KEY, "deploy_source_pick"),
        )
        columns: tuple[str, ...] | None = None
        version_id = None
        upload = None
        query = url = ""
        if kind == "dataset_version":
            if not versions:
                st.info(t("deploypage.no_versions"))
            else:
                by_id = {v.id: v for v in versions}
                ids = list(by_id)
                if ss.get(VERSION_KEY) not in by_id:
                    ss[VERSION_KEY] = ids[-1]
                version_id = st.selectbox(
                    t("deploypage.version"),
                    ids,
                    index=ids.index(ss[VERSION_KEY]),
                    format_func={
                        i: t("deploypage.version_option", label=v.label, rows=v.n_rows) for i, v in by_id.items()
                    }.__getitem__,
                    key="deploy_version_pick",
                    on_change=_remember,
                    args=(VERSION_KEY, "deploy_version_pick"),
                )
                columns = version_columns(by_id[version_id])
        elif kind == "file":
            upload = st.file_uploader(
                t("deploypage.upload"),
                type=["csv", "txt", "tsv", "xlsx", "parquet"],
                key="deploy_upload",
                help=t("deploypage.upload_help"),
            )
        else:
            query = st.text_area(t("deploypage.query"), key="deploy_query", help=t("deploypage.query_help"))
            url = st.text_input(t("deploypage.url"), key="deploy_url", type="password", help=t("deploypage.url_help"))
        left, right = st.columns(2)
        if columns is not None:
            key_column = left.selectbox(
                t("deploypage.key"),
                ["", *columns],
                format_func={"": t("deploypage.key_auto"), **{c: c for c in columns}}.__getitem__,
                key="deploy_key_pick",
                help=t("deploypage.key_help"),
            )
            segments: list[str] | str = right.multiselect(
                t("deploypage.segments"),
                list(columns),
                max_selections=3,
                key="deploy_segments_pick",
                help=t("deploypage.segments_help"),
            )
        else:
            key_column = left.text_input(t("deploypage.key"), key="deploy_key_text", help=t("deploypage.key_help"))
            segments = right.text_input(
                t("deploypage.segments_text"), key="deploy_segments_text", help=t("deploypage.segments_help")
            )
        with session_scope(ws.engine) as s:
            start_threshold = default_threshold(
                session=s, project_id=pid, model_version_id=chosen_model.model_version_id
            )
        left, right = st.columns(2)
        threshold = None
        if start_threshold is not None:
            picked = left.number_input(
                t("deploypage.threshold"),
                min_value=0.0,
                max_value=1.0,
                value=float(start_threshold),
                step=0.05,
                format="%.2f",
                key=f"deploy_threshold_{chosen_model.model_version_id}",
                help=t("deploypage.threshold_help"),
            )
            threshold = None if abs(picked - start_threshold) < 1e-12 else float(picked)
        batch_name = right.text_input(
            t("deploypage.batch_name"), key="deploy_batch_name", max_chars=200, help=t("deploypage.batch_name_help")
        )
        explain = st.toggle(t("deploypage.explain"), key="deploy_explain", help=t("deploypage.explain_help"))
        if st.button(t("deploypage.run"), type="primary", key="deploy_run", icon=":material/play_arrow:"):
            with user_errors():
                if kind == "dataset_version":
                    if version_id is None:
                        raise InputError("deploypage.no_versions")
                    source = ScoringSource.dataset_version(version_id)
                elif kind == "file":
                    if upload is None:
                        raise InputError("deploypage.no_file")
                    staged = stage_upload(settings=ws.settings, stream=upload, filename=upload.name)
                    source = ScoringSource.file(staged, filename=upload.name)
                else:
                    source = ScoringSource.sql(query, url=url)
                job_id = submit_batch_scoring(
                    engine=ws.engine,
                    settings=ws.settings,
                    project_id=pid,
                    model_ref=ref,
                    source=source,
                    actor_id=user.id or 0,
                    key_column=key_column or None,
                    segment_columns=segments,
                    threshold=threshold,
                    explain=bool(explain),
                    batch_key=batch_name or None,
                )
                flash(t("deploypage.started", job=job_id))
                st.rerun()
    jobs = jobs_panel(pid, KINDS)
    if any(j.status == "succeeded" for j in jobs):
        st.page_link("pages/predictions.py", label=t("deploypage.go_predictions"), icon=":material/monitoring:")


with advisor_tab:
    if advisor_tab.open:
        advisor()
with score_tab:
    if score_tab.open:
        scoring()
