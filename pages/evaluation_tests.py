"""Stage 6 · Test and decide: the locked test set, stress tests, fairness, speed, the deploy decision and
the evaluation report and model card."""

import streamlit as st

from mlcore.errors import MLCoreError
from mlcore.i18n import LANGUAGES
from mlcore.markdown import md_escape
from mlcore.modeling.decision import FAIRNESS_MEASURES
from mlcore.modeling.evaluation_records import (
    HELD_OUT_COLUMNS,
    PERFORMANCE_SIZES,
    EvaluationRecord,
    StressResult,
    candidate_options,
    checks_frame,
    decision_context,
    decisions_frame,
    deploy_decisions,
    evaluation_documents,
    expert_concerns,
    fairness_figure,
    fairness_for,
    fairness_frame,
    get_settings,
    held_out_results_frame,
    held_out_uses,
    held_out_uses_frame,
    latest_evaluations,
    other_version_choices,
    other_version_frame,
    performance_frame,
    previous_uses,
    read_performance,
    read_stress,
    record_deploy_decision,
    robustness_figure,
    robustness_frame,
    save_evaluation_settings,
    slice_columns,
    slices_frame,
    submit_evaluation,
)
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_error, show_flash, user_errors

KINDS = ("evaluate",)
CANDIDATE_KEY = "evaluation_candidate"  # shared with the Compare models page
TAB_KEY = "eval_tests_tab"
REGISTRY_PAGE = "pages/registry.py"
STATUS_BOXES = {"go": st.success, "no_go": st.error, "incomplete": st.warning}
BADGES = {"pass": "green", "fail": "red", "unknown": "gray"}
BADGE_ICONS = {"pass": ":material/check_circle:", "fail": ":material/cancel:", "unknown": ":material/help:"}

page_header("evalpage.tests.title", "evalpage.tests.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("evalpage.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
pid = project.id
L = lang()
ss = st.session_state
can_run = allowed("evaluation.run", pid)
can_test = allowed("evaluation.test_set", pid)
can_decide = allowed("evaluation.decide", pid)

with session_scope(ws.engine) as s:
    options = candidate_options(session=s, project_id=pid, lang=L)
if not options:
    st.info(t("evalpage.no_runs"))
    st.stop()
by_id = {o.id: o for o in options}
LABELS = {o.id: f"{o.label} · {o.version_label} · {o.target}" for o in options}
if ss.get(CANDIDATE_KEY) not in by_id:
    ss[CANDIDATE_KEY] = next((o.id for o in options if not o.is_baseline), options[0].id)


def _remember_candidate() -> None:
    ss[CANDIDATE_KEY] = ss["eval_tests_candidate"]


ids = list(by_id)
focus_id = st.selectbox(
    t("evalpage.tests.candidate"),
    ids,
    index=ids.index(ss[CANDIDATE_KEY]),
    format_func=LABELS.__getitem__,
    key="eval_tests_candidate",
    on_change=_remember_candidate,
)
focus = by_id[focus_id]
st.caption(
    t(
        "evalpage.tests.candidate_caption",
        metric=t(f"planning.metric.{focus.metric}") if focus.metric else "—",
        mean=f"{focus.mean:.4f}",
        std=f"{focus.std:.4f}",
        registered=", ".join(focus.registered) or t("evalpage.tests.not_registered_short"),
    )
)
jobs_panel(pid, KINDS, limit=1)
binary = focus.task_type == "classification"


def registry_link() -> None:
    st.page_link(REGISTRY_PAGE, label=t("evalpage.decision.go_registry"), icon=":material/inventory_2:")


def newest(kind: str, candidate_id: int) -> EvaluationRecord | None:
    with session_scope(ws.engine) as s:
        found = latest_evaluations(session=s, project_id=pid, candidate_ids=[candidate_id], kind=kind)
    return found.get(candidate_id)


@st.cache_data(max_entries=16, show_spinner=False)
def stress_result(sha256: str, _record: EvaluationRecord) -> StressResult:
    return read_stress(store=ws.store, record=_record)


def made_by(record: EvaluationRecord) -> str:
    return t("evalpage.made_by", who=record.created_by, when=f"{record.created_at:%Y-%m-%d %H:%M}")


tabs = st.tabs(
    [
        t("evalpage.tab.test"),
        t("evalpage.tab.stress"),
        t("evalpage.tab.fairness"),
        t("evalpage.tab.speed"),
        t("evalpage.tab.decision"),
        t("evalpage.tab.reports"),
    ],
    key=TAB_KEY,
    on_change="rerun",
)
tab_test, tab_stress, tab_fair, tab_speed, tab_decision, tab_reports = tabs


def metric_label(name: str) -> str:
    return t(f"planning.metric.{name}")


# --------------------------------------------------------------------------- held-out test


def test_tab() -> None:
    st.markdown(t("evalpage.test.help"))
    same_task = [o.id for o in options if o.task_type == focus.task_type and o.target == focus.target]
    chosen = st.multiselect(
        t("evalpage.test.pick"),
        same_task,
        default=[focus_id],
        format_func=LABELS.__getitem__,
        key="eval_test_pick",
    )
    if not can_test:
        role_notice("evaluation.test_set")
    elif chosen:
        with user_errors(), session_scope(ws.engine) as s:
            earlier = previous_uses(session=s, project_id=pid, candidate_ids=chosen)
        acknowledged = False
        if earlier:
            last = earlier[0]
            st.warning(
                t(
                    "evalpage.test.warning",
                    count=len(earlier),
                    who=last.created_by,
                    when=f"{last.created_at:%Y-%m-%d %H:%M}",
                ),
                icon=":material/warning:",
            )
            acknowledged = st.checkbox(t("evalpage.test.acknowledge"), key="eval_test_ack")
        if st.button(t("evalpage.test.run"), type="primary", key="eval_test_run", icon=":material/lock_open:"):
            with user_errors():
                job_id = submit_evaluation(
                    engine=ws.engine,
                    settings=ws.settings,
                    project_id=pid,
                    candidate_ids=chosen,
                    mode="test",
                    actor_id=user.id or 0,
                    acknowledge_reuse=acknowledged,
                )
                flash(t("evalpage.test.started", job_id=job_id))
                st.rerun()
    st.subheader(t("evalpage.test.results"))
    with user_errors(), session_scope(ws.engine) as s:
        results = held_out_results_frame(session=s, store=ws.store, project_id=pid, candidate_ids=list(by_id), lang=L)
        uses = held_out_uses(session=s, project_id=pid)
    if results.empty:
        st.info(t("evalpage.test.none"))
    else:
        metric_columns = [c for c in results.columns if c not in HELD_OUT_COLUMNS]
        st.dataframe(
            results,
            hide_index=True,
            width="stretch",
            column_config={
                "candidate": st.column_config.TextColumn(t("evalpage.col.candidate"), pinned=True),
                "candidate_id": None,
                "rows": st.column_config.NumberColumn(t("evalpage.col.rows"), format="localized"),
                "use_number": st.column_config.NumberColumn(t("evalpage.col.use_number"), format="%d"),
                "threshold": st.column_config.NumberColumn(t("evalpage.col.threshold"), format="%.2f"),
                **{m: st.column_config.NumberColumn(metric_label(m), format="%.4f") for m in metric_columns},
            },
        )
        st.caption(t("evalpage.test.results_help"))
    st.subheader(t("evalpage.test.uses"))
    if not uses:
        st.caption(t("evalpage.test.no_uses"))
    else:
        st.dataframe(
            held_out_uses_frame(uses, labels={o.id: o.label for o in options}, lang=L),
            hide_index=True,
            width="stretch",
            column_config={
                "when": st.column_config.DatetimeColumn(t("evalpage.col.when"), format="YYYY-MM-DD HH:mm"),
                "who": t("evalpage.col.who"),
                "run": t("evalpage.col.run"),
                "version": t("evalpage.col.version"),
                "use_number": st.column_config.NumberColumn(t("evalpage.col.use_number"), format="%d"),
                "candidates": st.column_config.TextColumn(t("evalpage.col.candidates"), width="large"),
                "acknowledged": st.column_config.CheckboxColumn(t("evalpage.col.acknowledged")),
            },
        )


# --------------------------------------------------------------------------- stress tests


def stress_tab() -> None:
    st.markdown(t("evalpage.stress.help"))
    with session_scope(ws.engine) as s:
        columns, default = slice_columns(session=s, project_id=pid, candidate_id=focus_id)
        others = other_version_choices(session=s, project_id=pid, candidate_id=focus_id)
    if can_run:
        chosen = st.multiselect(
            t("evalpage.stress.slices_pick"),
            columns,
            default=default,
            max_selections=10,
            help=t("evalpage.stress.slices_pick_help"),
            key=f"eval_slice_cols_{focus_id}",
        )
        other_labels = {0: t("evalpage.stress.no_other")} | {v.id: v.label for v in others}
        other = st.selectbox(
            t("evalpage.stress.other_pick"),
            list(other_labels),
            index=1 if others else 0,
            format_func=other_labels.__getitem__,
            help=t("evalpage.stress.other_help"),
            key=f"eval_other_{focus_id}",
        )
        if st.button(t("evalpage.stress.run"), type="primary", key="eval_stress_run", icon=":material/bolt:"):
            with user_errors():
                job_id = submit_evaluation(
                    engine=ws.engine,
                    settings=ws.settings,
                    project_id=pid,
                    candidate_ids=[focus_id],
                    mode="stress",
                    actor_id=user.id or 0,
                    slice_columns=chosen,
                    other_version_id=other or None,
                )
                flash(t("evalpage.stress.started", job_id=job_id))
                st.rerun()
    else:
        role_notice("evaluation.run")
    record = newest("stress", focus_id)
    if record is None:
        st.info(t("evalpage.stress.none"))
        return
    result = stress_result(record.artifact_sha256, record)
    st.caption(made_by(record))
    robust = result.robustness
    st.subheader(t("evalpage.stress.robustness"))
    st.caption(t("evalpage.stress.robustness_help", folds=int(record.summary.get("folds", 0)), rows=robust.n_rows))
    metric = st.selectbox(
        t("evalpage.metric_pick"), list(robust.metrics), format_func=metric_label, key="eval_stress_metric"
    )
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(robustness_figure(robust, metric=metric, lang=L), width="stretch", key="eval_robust_chart")
    with right:
        st.dataframe(
            robustness_frame(robust, metric=metric, lang=L),
            hide_index=True,
            width="stretch",
            column_config={
                "perturbation": t("evalpage.col.perturbation"),
                "level": st.column_config.NumberColumn(t("evalpage.col.level"), format="%g"),
                "value": st.column_config.NumberColumn(metric_label(metric), format="%.4f"),
                "std": st.column_config.NumberColumn(t("evalpage.col.std"), format="%.4f"),
                "change": st.column_config.NumberColumn(t("evalpage.col.change"), format="%+.4f"),
                "degradation": None,
            },
        )
    if robust.skipped:
        st.caption(
            t("evalpage.stress.skipped", kinds=", ".join(t(f"evaluation.perturbation.{k}") for k in robust.skipped))
        )
    st.subheader(t("evalpage.stress.slices"))
    if result.slices is None:
        st.caption(t("evalpage.stress.no_slices"))
    else:
        report = result.slices
        st.caption(
            t(
                "evalpage.stress.slices_help",
                metric=metric_label(report.metric),
                overall=f"{report.overall:.4f}",
                min_size=report.min_size,
            )
        )
        worst = report.worst
        if not worst.empty:
            st.warning(
                t(
                    "evalpage.stress.worst",
                    slices="; ".join(f"{r.column} = {r.slice} ({r.value:.3f})" for r in worst.itertuples()),
                ),
                icon=":material/trending_down:",
            )
        st.dataframe(
            slices_frame(report, lang=L),
            hide_index=True,
            width="stretch",
            column_config={
                "column": t("evalpage.col.column"),
                "slice": t("evalpage.col.slice"),
                "n_rows": st.column_config.NumberColumn(t("evalpage.col.rows"), format="localized"),
                "share": st.column_config.NumberColumn(t("evalpage.col.share"), format="percent"),
                "value": st.column_config.NumberColumn(metric_label(report.metric), format="%.4f"),
                "shortfall": st.column_config.NumberColumn(t("evalpage.col.shortfall"), format="%+.4f"),
                "small": st.column_config.CheckboxColumn(t("evalpage.col.small")),
                "worst": st.column_config.CheckboxColumn(t("evalpage.col.worst")),
            },
        )
    st.subheader(t("evalpage.stress.other"))
    if not result.other:
        st.caption(t("evalpage.stress.no_other_result"))
    for label, evaluation in result.other:
        st.caption(
            t(
                "evalpage.stress.other_caption",
                label=label,
                rows=evaluation.n_rows,
                unlabelled=evaluation.n_unlabelled,
            )
        )
        if record.summary.get("same_lineage"):
            st.warning(t("evalpage.stress.same_lineage"), icon=":material/warning:")
        st.dataframe(
            other_version_frame(evaluation, lang=L),
            hide_index=True,
            width="stretch",
            column_config={
                "metric": t("evalpage.col.metric"),
                "value": st.column_config.NumberColumn(label, format="%.4f"),
                "reference": st.column_config.NumberColumn(t("evalpage.col.cv_reference"), format="%.4f"),
                "change": st.column_config.NumberColumn(t("evalpage.col.change"), format="%+.4f"),
            },
        )


# --------------------------------------------------------------------------- fairness


def fairness_tab() -> None:
    st.markdown(t("evalpage.fairness.help"))
    with session_scope(ws.engine) as s:
        settings = get_settings(session=s, project_id=pid)
        columns, _ = slice_columns(session=s, project_id=pid, candidate_id=focus_id)
    if can_run:
        with st.form(f"eval_settings_{pid}"):
            sensitive = st.multiselect(
                t("evalpage.fairness.columns"),
                sorted(set(columns) | set(settings.sensitive_columns)),
                default=list(settings.sensitive_columns),
                help=t("evalpage.fairness.columns_help"),
                key="eval_sensitive",
            )
            a, b, c = st.columns(3)
            use_limit = a.checkbox(
                t("evalpage.fairness.use_limit"), value=settings.fairness_limit is not None, key="eval_use_limit"
            )
            limit = a.number_input(
                t("evalpage.fairness.limit"),
                min_value=0.0,
                max_value=1.0,
                value=settings.fairness_limit if settings.fairness_limit is not None else 0.1,
                step=0.01,
                key="eval_limit",
            )
            measure_labels = {m: t(f"evaluation.fairness.measure.{m}") for m in FAIRNESS_MEASURES}
            measure = b.radio(
                t("evalpage.fairness.measure"),
                list(FAIRNESS_MEASURES),
                index=list(FAIRNESS_MEASURES).index(settings.fairness_measure),
                format_func=measure_labels.__getitem__,
                key="eval_measure",
            )
            margin = c.number_input(
                t("evalpage.fairness.margin"),
                min_value=0.0,
                value=float(settings.min_margin),
                step=0.01,
                help=t("evalpage.fairness.margin_help"),
                key="eval_margin",
            )
            saved = st.form_submit_button(t("evalpage.fairness.save"), icon=":material/save:")
        if saved:
            done = False
            with user_errors(), session_scope(ws.engine) as s:
                save_evaluation_settings(
                    session=s,
                    actor=user,
                    project_id=pid,
                    sensitive_columns=sensitive,
                    fairness_limit=float(limit) if use_limit else None,
                    fairness_measure=measure,
                    min_margin=float(margin),
                    expected_version=settings.version,
                )
                done = True
            if done:  # committed: rerun only now (a rerun inside the transaction would roll it back)
                flash(t("evalpage.fairness.saved"))
                st.rerun()
    else:
        role_notice("evaluation.run")
        if settings.sensitive_columns:
            st.caption(t("evalpage.fairness.marked", columns=", ".join(settings.sensitive_columns)))
    if not settings.sensitive_columns:
        st.info(t("evalpage.fairness.none_marked"))
        return
    if not binary:
        st.info(t("evalpage.fairness.not_binary"))
        return
    for column in settings.sensitive_columns:
        st.subheader(t("evalpage.fairness.column", column=column))
        try:
            with session_scope(ws.engine) as s:
                view = fairness_for(session=s, store=ws.store, project_id=pid, candidate_id=focus_id, column=column)
        except MLCoreError as exc:
            show_error(exc)
            continue
        if view is None:
            st.info(t("evalpage.fairness.no_predictions"))
            return
        report = view.report
        st.caption(
            t(
                f"evalpage.fairness.source.{view.source}",
                threshold=f"{view.threshold:.2f}" if view.threshold is not None else "0.50",
            )
        )
        m1, m2 = st.columns(2)
        m1.metric(t("evalpage.fairness.parity"), f"{report.demographic_parity_difference:.3f}")
        odds = report.equalized_odds_difference
        m2.metric(t("evalpage.fairness.odds"), "—" if odds != odds else f"{odds:.3f}")
        if settings.fairness_limit is not None:
            value = getattr(report, settings.fairness_measure)
            box = st.success if value <= settings.fairness_limit else st.error
            box(
                t(
                    "evalpage.fairness.against_limit",
                    measure=t(f"evaluation.fairness.measure.{settings.fairness_measure}"),
                    value=f"{value:.3f}",
                    limit=f"{settings.fairness_limit:.3f}",
                )
            )
        if report.small_groups:
            st.warning(
                t("evalpage.fairness.small", groups=", ".join(report.small_groups), minimum=report.min_group_size),
                icon=":material/groups:",
            )
        left, right = st.columns([1, 1])
        with left:
            st.plotly_chart(fairness_figure(report, lang=L), width="stretch", key=f"eval_fair_chart_{column}")
        with right:
            st.dataframe(
                fairness_frame(report, lang=L),
                hide_index=True,
                width="stretch",
                column_config={
                    "group": t("evalpage.col.group"),
                    "count": st.column_config.NumberColumn(t("evalpage.col.rows"), format="localized"),
                    "positives": st.column_config.NumberColumn(t("evalpage.col.positives"), format="localized"),
                    "selection_rate": st.column_config.NumberColumn(
                        t("evaluation.measure.selection_rate"), format="percent"
                    ),
                    "true_positive_rate": st.column_config.NumberColumn(
                        t("evaluation.axis.true_positive_rate"), format="percent"
                    ),
                    "false_positive_rate": st.column_config.NumberColumn(
                        t("evaluation.measure.false_positive_rate"), format="percent"
                    ),
                    "small": st.column_config.CheckboxColumn(t("evalpage.col.small")),
                },
            )


# --------------------------------------------------------------------------- speed


def speed_tab() -> None:
    st.markdown(t("evalpage.speed.help"))
    if can_run:
        sizes = {n: t("evalpage.speed.size", rows=f"{n:,}") for n in PERFORMANCE_SIZES}
        largest = st.select_slider(
            t("evalpage.speed.max_rows"),
            list(sizes),
            value=PERFORMANCE_SIZES[-1],
            format_func=sizes.__getitem__,
            help=t("evalpage.speed.max_rows_help"),
            key="eval_speed_rows",
        )
        if st.button(t("evalpage.speed.run"), type="primary", key="eval_speed_run", icon=":material/speed:"):
            with user_errors():
                job_id = submit_evaluation(
                    engine=ws.engine,
                    settings=ws.settings,
                    project_id=pid,
                    candidate_ids=[focus_id],
                    mode="performance",
                    actor_id=user.id or 0,
                    max_rows=int(largest),
                )
                flash(t("evalpage.speed.started", job_id=job_id))
                st.rerun()
    else:
        role_notice("evaluation.run")
    record = newest("performance", focus_id)
    if record is None:
        st.info(t("evalpage.speed.none"))
        return
    report = read_performance(store=ws.store, record=record)
    st.caption(made_by(record))
    c1, c2, c3 = st.columns(3)
    c1.metric(t("evalpage.perf.latency_p95"), t("evalpage.perf.ms", value=f"{report.latency_ms_p95:.2f}"))
    c2.metric(
        t("evalpage.speed.best_throughput"), t("evalpage.perf.rows_per_second", value=f"{report.best_throughput:,.0f}")
    )
    c3.metric(t("evalpage.perf.model_size"), t("evalpage.perf.megabytes", value=f"{report.model_bytes / 1e6:.2f}"))
    st.dataframe(
        performance_frame(report, lang=L),
        hide_index=True,
        width="stretch",
        column_config={"measure": t("evalpage.col.measure"), "value": t("evalpage.col.value")},
    )
    st.caption(t("evalpage.speed.memory_note"))


# --------------------------------------------------------------------------- decision


def decision_tab() -> None:
    st.markdown(t("evalpage.decision.help"))
    context = None
    with user_errors(), session_scope(ws.engine) as s:
        context = decision_context(session=s, store=ws.store, project_id=pid, candidate_id=focus_id, lang=L)
        history = deploy_decisions(session=s, project_id=pid, lang=L)
        concerns = expert_concerns(session=s, project_id=pid, candidate_id=focus_id, lang=L)
    if context is None:  # a stored result could not be read: the reason is shown above
        return
    checks = context.checks
    STATUS_BOXES[checks.recommendation](t(checks.recommendation_key), icon=":material/rule:")
    st.caption(t(f"evalpage.decision.canvas_{context.canvas_source}"))
    if context.canvas_source == "draft":
        st.page_link("pages/planning.py", label=t("evalpage.threshold.go_planning"), icon=":material/flag:")
    with st.container(border=True):
        for row in checks_frame(checks, lang=L).itertuples():
            badge = f":{BADGES[row.status]}-badge[{BADGE_ICONS[row.status]} {md_escape(row.status_text)}]"
            st.markdown(f"{badge} **{md_escape(row.criterion)}** — {md_escape(row.detail)}")
    for column, error in context.fairness_errors:
        st.warning(t("evalpage.decision.fairness_error", column=column, reason=error.message(L)))
    if concerns:
        st.warning(
            t("evalpage.decision.concerns") + "\n" + "\n".join(f"- {md_escape(c)}" for c in concerns),
            icon=":material/psychology_alt:",
        )
        st.page_link("pages/interpretation.py", label=t("evalpage.decision.go_interpret"), icon=":material/lightbulb:")
    if context.test_metrics is None:
        st.caption(t("evalpage.decision.no_test"))
    if context.versions:
        st.caption(
            t(
                "evalpage.decision.versions",
                refs=", ".join(f"{v.ref} ({t(f'tracking.stage.{v.stage}')})" for v in context.versions),
            )
        )
    else:
        st.warning(t("evalpage.decision.not_registered_hint", candidate=context.label), icon=":material/inventory_2:")
        registry_link()
    if can_decide:
        outcome_labels = {o: t(f"evaluation.decision.outcome.{o}") for o in ("go", "no_go")}
        version_labels = {v.id: f"{v.ref} ({t(f'tracking.stage.{v.stage}')})" for v in context.versions}
        if ss.pop("eval_decision_clear", False):
            ss["eval_rationale"] = ""
        with st.form(f"eval_decide_{focus_id}"):
            outcome = st.radio(
                t("evalpage.decision.outcome"),
                list(outcome_labels),
                format_func=outcome_labels.__getitem__,
                horizontal=True,
                key=f"eval_outcome_{L}",
            )
            version_id = None
            if len(version_labels) > 1:
                version_id = st.selectbox(
                    t("evalpage.decision.version"),
                    list(version_labels),
                    format_func=version_labels.__getitem__,
                    key="eval_decide_version",
                )
            rationale = st.text_area(
                t("evalpage.decision.rationale"),
                max_chars=4000,
                help=t("evalpage.decision.rationale_help"),
                key="eval_rationale",
            )
            decide = st.form_submit_button(t("evalpage.decision.record"), type="primary", icon=":material/gavel:")
        if decide:
            made = None
            with user_errors(), session_scope(ws.engine) as s:
                made = record_deploy_decision(
                    session=s,
                    store=ws.store,
                    actor=user,
                    project_id=pid,
                    candidate_id=focus_id,
                    outcome=outcome,
                    rationale=rationale,
                    model_version_id=version_id,
                )
            if made is not None:  # committed: rerun only now (a rerun inside the transaction would roll it back)
                ss["eval_decision_clear"] = True
                key = "evalpage.decision.recorded_promoted" if made.promoted else "evalpage.decision.recorded"
                flash(t(key, outcome=t(f"evalpage.decision.short.{made.outcome}"), ref=made.model_ref or "—"))
                st.rerun()
    else:
        role_notice("evaluation.decide")
    st.subheader(t("evalpage.decision.history"))
    if not history:
        st.caption(t("evalpage.decision.no_history"))
    else:
        st.dataframe(
            decisions_frame(history, lang=L),
            hide_index=True,
            width="stretch",
            column_config={
                "decided_at": st.column_config.DatetimeColumn(t("evalpage.col.when"), format="YYYY-MM-DD HH:mm"),
                "decided_by": t("evalpage.col.who"),
                "candidate": t("evalpage.col.candidate"),
                "model": t("evalpage.col.model"),
                "outcome": t("evalpage.col.outcome"),
                "recommendation": t("evalpage.col.recommendation"),
                "overrides": st.column_config.CheckboxColumn(t("evalpage.col.overrides")),
                "promoted": st.column_config.CheckboxColumn(t("evalpage.col.promoted")),
                "rationale": st.column_config.TextColumn(t("evalpage.col.rationale"), width="large"),
            },
        )


# --------------------------------------------------------------------------- reports


def reports_tab() -> None:
    st.markdown(t("evalpage.reports.help"))
    language = st.radio(
        t("evalpage.reports.language"),
        list(LANGUAGES),
        index=list(LANGUAGES).index(L),
        format_func=LANGUAGES.__getitem__,
        horizontal=True,
        key="eval_report_lang",
    )
    documents = None
    with user_errors(), session_scope(ws.engine) as s:
        documents = evaluation_documents(
            session=s, store=ws.store, project_id=pid, candidate_id=focus_id, lang=language
        )
    if documents is None:  # a stored result could not be read: the reason is shown above
        return
    stem = f"{focus.family}-run{focus.run_id}-{language}"
    for name, markdown, html in (
        ("report", documents.report_markdown, documents.report_html),
        ("card", documents.card_markdown, documents.card_html),
    ):
        st.subheader(t(f"evalpage.reports.{name}"))
        left, right = st.columns(2)
        left.download_button(
            t("evalpage.reports.markdown"),
            data=markdown.encode("utf-8"),
            file_name=f"evaluation-{name}-{stem}.md",
            mime="text/markdown",
            key=f"eval_{name}_md",
            icon=":material/description:",
        )
        right.download_button(
            t("evalpage.reports.html"),
            data=html.encode("utf-8"),
            file_name=f"evaluation-{name}-{stem}.html",
            mime="text/html",
            key=f"eval_{name}_html",
            icon=":material/print:",
        )
        with st.expander(t("evalpage.reports.preview"), icon=":material/visibility:"):
            st.markdown(markdown)


with tab_test:
    if tab_test.open:
        test_tab()
with tab_stress:
    if tab_stress.open:
        stress_tab()
with tab_fair:
    if tab_fair.open:
        fairness_tab()
with tab_speed:
    if tab_speed.open:
        speed_tab()
with tab_decision:
    if tab_decision.open:
        decision_tab()
with tab_reports:
    if tab_reports.open:
        reports_tab()
