"""Stage 6 · Compare models: leaderboard and statistical comparison of stored runs, plots from out-of-fold
predictions, and the decision threshold with its expected cost."""

import streamlit as st

from mlcore.errors import MLCoreError
from mlcore.modeling.evaluation import CONSTRAINT_MEASURES
from mlcore.modeling.evaluation_records import (
    CURVE_KINDS,
    EvaluationRecord,
    RunComparison,
    StoredPredictions,
    compare_runs,
    comparison_metrics,
    comparisons_frame,
    confusion_figure,
    curve_figure,
    error_range_figure,
    find_threshold,
    fold_figure,
    get_threshold,
    latest_evaluations,
    leaderboard_frame,
    predicted_actual_figure,
    project_costs,
    read_predictions,
    residuals_figure,
    save_threshold,
    submit_evaluation,
    threshold_curve_figure,
    threshold_metrics,
    threshold_metrics_frame,
)
from mlcore.modeling.tracking import training_runs
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_flash, user_errors

KINDS = ("evaluate",)
RUNS_KEY = "evaluation_runs"  # survive page changes (widget keys do not)
CANDIDATE_KEY = "evaluation_candidate"
PLOTTED_KEY = "evaluation_plotted"
METRIC_KEY = "evaluation_metric"
TAB_KEY = "eval_tab"
TRAINING_PAGE = "pages/training.py"
MAXIMISABLE = ("recall", "precision", "f1", "accuracy", "specificity")

page_header("evalpage.compare.title", "evalpage.compare.intro")
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


with session_scope(ws.engine) as s:
    runs = training_runs(session=s, project_id=pid)
if not runs:
    st.info(t("evalpage.no_runs"))
    st.page_link(TRAINING_PAGE, label=t("evalpage.go_modeling"), icon=":material/model_training:")
    st.stop()

runs_by_id = {r.id: r for r in runs}
RUN_LABELS = {
    r.id: t(
        "evalpage.run_option",
        id=r.id,
        version=r.version_label,
        target=r.target,
        when=f"{r.created_at:%Y-%m-%d %H:%M}",
    )
    for r in runs
}
METRIC_LABELS = {m: t(f"planning.metric.{m}") for r in runs for m in r.metrics}
chosen_runs = [r for r in ss.get(RUNS_KEY, []) if r in runs_by_id] or [runs[0].id]


def _remember_runs() -> None:
    ss[RUNS_KEY] = list(ss["eval_runs_pick"])


picked = st.multiselect(
    t("evalpage.runs_pick"),
    list(runs_by_id),
    default=chosen_runs,
    format_func=RUN_LABELS.__getitem__,
    help=t("evalpage.runs_pick_help"),
    key="eval_runs_pick",
    on_change=_remember_runs,
)
if not picked:
    st.info(t("evalpage.pick_a_run"))
    st.stop()
metrics = comparison_metrics([runs_by_id[r] for r in picked])
wanted_metric = ss.get(METRIC_KEY)
comparison: RunComparison | None = None
with user_errors(), session_scope(ws.engine) as s:
    comparison = compare_runs(
        session=s,
        project_id=pid,
        run_ids=picked,
        metric=wanted_metric if wanted_metric in metrics else None,
        lang=L,
    )
if comparison is None:  # refused (another target or lineage): the reason is shown above
    st.stop()
assert comparison is not None
board = comparison.board
names = list(board.table["name"])
ids_by_name = dict(comparison.candidate_ids)
name_by_id = {v: k for k, v in ids_by_name.items()}
best_id = ids_by_name[next((n for n in names if not board.candidate(n).is_baseline), names[0])]
if ss.get(CANDIDATE_KEY) not in name_by_id:
    ss[CANDIDATE_KEY] = best_id
task_type = comparison.runs[0].task_type
binary = task_type == "classification" and all(r.run_config.get("positive_class") is not None for r in comparison.runs)

tab_board, tab_plots, tab_threshold = st.tabs(
    [t("evalpage.tab.leaderboard"), t("evalpage.tab.plots"), t("evalpage.tab.threshold")],
    key=TAB_KEY,
    on_change="rerun",
)


@st.cache_data(max_entries=32, show_spinner=False)
def stored(sha256: str, _record: EvaluationRecord) -> StoredPredictions:
    return read_predictions(store=ws.store, record=_record)


def oof_records(candidate_ids: list[int]) -> dict[int, EvaluationRecord]:
    with session_scope(ws.engine) as s:
        return latest_evaluations(session=s, project_id=pid, candidate_ids=candidate_ids, kind="oof")


def pick_candidate(label: str, options: list[int], key: str) -> int:
    """A candidate of the comparison; the choice is shared with the Test and decide page."""
    current = ss.get(CANDIDATE_KEY)
    index = options.index(current) if current in options else 0

    def remember() -> None:
        ss[CANDIDATE_KEY] = ss[key]

    chosen = st.selectbox(label, options, index=index, format_func=name_by_id.__getitem__, key=key, on_change=remember)
    return int(chosen)


def compute_button(candidate_ids: list[int], key: str) -> None:
    if not can_run:
        role_notice("evaluation.run")
        return
    if st.button(t("evalpage.plots.compute"), key=key, icon=":material/calculate:", type="primary"):
        with user_errors():
            job_id = submit_evaluation(
                engine=ws.engine,
                settings=ws.settings,
                project_id=pid,
                candidate_ids=candidate_ids,
                mode="oof",
                actor_id=user.id or 0,
            )
            flash(t("evalpage.plots.started", job_id=job_id))
            st.rerun()


# --------------------------------------------------------------------------- leaderboard


def board_tab() -> None:
    left, right = st.columns([1, 2])

    def remember() -> None:
        ss[METRIC_KEY] = ss["eval_metric_pick"]

    left.selectbox(
        t("evalpage.metric_pick"),
        list(comparison.metrics),
        index=list(comparison.metrics).index(board.metric),
        format_func=METRIC_LABELS.__getitem__,
        key="eval_metric_pick",
        on_change=remember,
    )
    right.caption(t(f"evalpage.board.direction_{board.direction}", metric=METRIC_LABELS[board.metric]))
    st.dataframe(
        leaderboard_frame(comparison, lang=L),
        hide_index=True,
        width="stretch",
        column_config={
            "rank": st.column_config.NumberColumn(t("evalpage.col.rank"), format="%d", width="small"),
            "candidate": st.column_config.TextColumn(t("evalpage.col.candidate"), pinned=True),
            "candidate_id": None,
            "run_id": st.column_config.NumberColumn(t("evalpage.col.run"), format="%d", width="small"),
            "baseline": st.column_config.CheckboxColumn(t("evalpage.col.baseline"), width="small"),
            **{m: METRIC_LABELS[m] for m in comparison.metrics},
            "mean": None,
            "std": None,
            "margin": st.column_config.NumberColumn(
                t("evalpage.col.margin"), format="%.4f", help=t("evalpage.col.margin_help")
            ),
        },
    )
    if board.baseline is None:
        st.caption(t("evalpage.board.no_baseline"))
    else:
        st.caption(t("evalpage.board.baseline", name=board.baseline))
    st.subheader(t("evalpage.board.tests_title"))
    if comparison.comparisons:
        st.caption(t("evalpage.board.tests_help"))
        for c in comparison.comparisons:
            icon = ":material/verified:" if c.significant else ":material/help:"
            st.markdown(f"{icon} {c.verdict(L)}")
        with st.expander(t("evalpage.board.tests_table"), icon=":material/table:"):
            st.dataframe(
                comparisons_frame(comparison, lang=L),
                hide_index=True,
                width="stretch",
                column_config={
                    "better": t("evalpage.col.better"),
                    "worse": t("evalpage.col.worse"),
                    "difference": st.column_config.NumberColumn(t("evalpage.col.difference"), format="%.4f"),
                    "p_value": st.column_config.NumberColumn(t("evalpage.col.p_value"), format="%.4f"),
                    "verdict": st.column_config.TextColumn(t("evalpage.col.verdict"), width="large"),
                },
            )
    else:
        st.info(comparison.note(L) or t("evalpage.board.no_tests"), icon=":material/info:")
    st.subheader(t("evalpage.board.folds_title"))
    st.caption(t("evalpage.board.folds_help"))
    st.plotly_chart(fold_figure(comparison, lang=L), width="stretch", key="eval_fold_chart")


# --------------------------------------------------------------------------- plots


def plots_tab() -> None:
    st.markdown(t("evalpage.plots.help"))
    options = [ids_by_name[n] for n in names]
    default = [c for c in ss.get(PLOTTED_KEY, []) if c in options] or [
        ids_by_name[n] for n in names if not board.candidate(n).is_baseline
    ][:3]

    def remember() -> None:
        ss[PLOTTED_KEY] = list(ss["eval_plot_pick"])

    chosen = st.multiselect(
        t("evalpage.plots.pick"),
        options,
        default=default,
        format_func=name_by_id.__getitem__,
        key="eval_plot_pick",
        on_change=remember,
    )
    if not chosen:
        st.info(t("evalpage.plots.pick_some"))
        return
    records = oof_records(chosen)
    missing = [c for c in chosen if c not in records]
    if missing:
        st.info(t("evalpage.plots.missing", names=", ".join(name_by_id[c] for c in missing)), icon=":material/pending:")
        compute_button(missing, "eval_oof_compute")
        jobs_panel(pid, KINDS)  # progress of the computation, refreshed until it ends
    if not records:
        return
    ready = {name_by_id[c]: stored(records[c].artifact_sha256, records[c]) for c in chosen if c in records}
    for c in chosen:
        if c in records:
            record = records[c]
            st.caption(
                t(
                    "evalpage.plots.source",
                    name=name_by_id[c],
                    rows=int(record.summary.get("n_rows", 0)),
                    folds=int(record.summary.get("n_folds", 0)),
                    who=record.created_by,
                    when=f"{record.created_at:%Y-%m-%d %H:%M}",
                )
            )
    first = next(iter(ready.values()))
    focus_options = [c for c in chosen if c in records]
    if first.predictions.task_type == "regression":
        focus = pick_candidate(t("evalpage.plots.focus"), focus_options, "eval_plot_focus")
        p = ready[name_by_id[focus]].predictions
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{t('evalpage.plots.predicted_actual')}**")
            st.plotly_chart(predicted_actual_figure(p, lang=L), width="stretch", key="eval_pa_chart")
        with right:
            st.markdown(f"**{t('evalpage.plots.residuals')}**")
            st.plotly_chart(residuals_figure(p, lang=L), width="stretch", key="eval_res_chart")
        st.markdown(f"**{t('evalpage.plots.error_range')}**")
        st.caption(t("evalpage.plots.error_range_help"))
        st.plotly_chart(error_range_figure(p, lang=L), width="stretch", key="eval_err_chart")
        return
    if not first.binary:
        st.info(t("evalpage.plots.multiclass"))
        focus = pick_candidate(t("evalpage.plots.focus"), focus_options, "eval_plot_focus")
        st.plotly_chart(
            confusion_figure(ready[name_by_id[focus]].predictions, lang=L), width="stretch", key="eval_cm_chart"
        )
        return
    curves = {name: s.predictions for name, s in ready.items()}
    titles = {kind: t(f"evalpage.plots.{kind}") for kind in CURVE_KINDS}
    for row in (CURVE_KINDS[:2], CURVE_KINDS[2:]):
        columns = st.columns(2)
        for column, kind in zip(columns, row, strict=True):
            with column:
                st.markdown(f"**{titles[kind]}**")
                st.caption(t(f"evalpage.plots.{kind}_help"))
                with user_errors():
                    st.plotly_chart(curve_figure(kind, curves, lang=L), width="stretch", key=f"eval_{kind}_chart")
    st.markdown(f"**{t('evalpage.plots.confusion')}**")
    focus = pick_candidate(t("evalpage.plots.focus"), focus_options, "eval_plot_focus")
    with session_scope(ws.engine) as s:
        saved = get_threshold(session=s, project_id=pid, candidate_id=focus)
    cut = saved.threshold if saved is not None else 0.5
    st.caption(t("evalpage.plots.confusion_help", threshold=f"{cut:.2f}"))
    st.plotly_chart(
        confusion_figure(ready[name_by_id[focus]].predictions, threshold=cut, lang=L),
        width="stretch",
        key="eval_cm_chart",
    )


# --------------------------------------------------------------------------- threshold and cost


def threshold_tab() -> None:
    st.markdown(t("evalpage.threshold.help"))
    if not binary:
        st.info(t("evalpage.threshold.not_binary"))
        return
    options = [ids_by_name[n] for n in names if not board.candidate(n).is_baseline] or [ids_by_name[n] for n in names]
    focus = pick_candidate(t("evalpage.threshold.pick"), options, "eval_thr_focus")
    records = oof_records([focus])
    if focus not in records:
        st.info(t("evalpage.threshold.needs_oof", name=name_by_id[focus]), icon=":material/pending:")
        compute_button([focus], "eval_thr_compute")
        jobs_panel(pid, KINDS)
        return
    p = stored(records[focus].artifact_sha256, records[focus]).predictions
    with session_scope(ws.engine) as s:
        saved = get_threshold(session=s, project_id=pid, candidate_id=focus)
        costs = project_costs(session=s, project_id=pid)
    slider_key = f"eval_thr_{focus}"
    source_key = f"eval_thr_source_{focus}"
    pending = ss.pop(f"eval_thr_pending_{focus}", None)
    if pending is not None:
        ss[slider_key] = pending
    elif slider_key not in ss:
        ss[slider_key] = saved.threshold if saved is not None else 0.5
    if saved is not None:
        st.caption(
            t(
                "evalpage.threshold.saved",
                threshold=f"{saved.threshold:.3f}",
                source=t(f"evalpage.threshold.source.{saved.source}"),
                who=saved.updated_by,
                when=f"{saved.updated_at:%Y-%m-%d %H:%M}",
            )
        )
    value = st.slider(
        t("evalpage.threshold.slider"),
        min_value=0.0,
        max_value=1.0,
        step=0.01,
        key=slider_key,
        help=t("evalpage.threshold.slider_help"),
    )
    found = ss.get(source_key)
    source = found[0] if found and abs(found[1] - value) < 1e-9 else "manual"
    metrics = threshold_metrics(p, value, costs=costs)
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(t("evaluation.measure.precision"), f"{metrics.precision:.3f}")
    c2.metric(t("evaluation.measure.recall"), f"{metrics.recall:.3f}")
    c3.metric(t("evaluation.measure.selection_rate"), f"{metrics.selection_rate:.1%}")
    if metrics.cost is not None:
        c4.metric(t("evaluation.measure.cost_per_row"), f"{metrics.cost_per_row:,.3f}")
    else:
        c4.metric(t("evaluation.measure.f1"), f"{metrics.f1:.3f}")
    if costs is None:
        st.info(t("evalpage.threshold.no_costs"), icon=":material/payments:")
        st.page_link("pages/planning.py", label=t("evalpage.threshold.go_planning"), icon=":material/flag:")
    else:
        st.caption(
            t(
                "evalpage.threshold.costs",
                fp=f"{costs[0]:,.2f}",
                fn=f"{costs[1]:,.2f}",
                cost=f"{metrics.cost:,.2f}",
                rows=f"{metrics.n_rows:,}",
            )
        )
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(
            threshold_curve_figure(p, threshold=value, costs=costs, lang=L), width="stretch", key="eval_thr_chart"
        )
    with right:
        st.dataframe(
            threshold_metrics_frame(metrics, lang=L),
            hide_index=True,
            width="stretch",
            height=36 * 14 + 3,
            column_config={
                "measure": t("evalpage.col.measure"),
                "value": st.column_config.NumberColumn(t("evalpage.col.value"), format="%.4g"),
            },
        )
    st.subheader(t("evalpage.threshold.find_title"))
    goal_labels = {g: t(f"evalpage.threshold.goal.{g}") for g in ("min_cost", "constraint")}
    goal = st.radio(
        t("evalpage.threshold.goal"),
        list(goal_labels),
        format_func=goal_labels.__getitem__,
        horizontal=True,
        key="eval_thr_goal",
    )
    measure_labels = {m: t(f"evaluation.measure.{m}") for m in CONSTRAINT_MEASURES}
    constraint, bound, maximize = "precision", 0.5, "recall"
    if goal == "constraint":
        a, b, c = st.columns(3)
        constraint = a.selectbox(
            t("evalpage.threshold.constraint"),
            list(CONSTRAINT_MEASURES),
            format_func=measure_labels.__getitem__,
            key="eval_thr_constraint",
        )
        bound = b.number_input(
            t(f"evalpage.threshold.bound.{CONSTRAINT_MEASURES[constraint]}"),
            min_value=0.0,
            max_value=1.0,
            value=0.5,
            step=0.05,
            key="eval_thr_bound",
        )
        maximize = c.selectbox(
            t("evalpage.threshold.maximize"),
            list(MAXIMISABLE),
            format_func=measure_labels.__getitem__,
            key="eval_thr_maximize",
        )
    if st.button(t("evalpage.threshold.find"), key="eval_thr_find", icon=":material/search:"):
        try:
            choice = find_threshold(
                p, goal=goal, costs=costs, constraint=constraint, bound=float(bound), maximize=maximize
            )
        except MLCoreError as exc:
            st.error(exc.message(L), icon=":material/error:")
        else:
            if choice.met:
                ss[f"eval_thr_pending_{focus}"] = round(choice.threshold, 2)
                ss[source_key] = (goal, round(choice.threshold, 2), choice.message(L))
                st.rerun()
            st.warning(choice.message(L), icon=":material/warning:")
    if found and source != "manual":
        st.caption(found[2])
    if can_run:
        if st.button(
            t("evalpage.threshold.save", threshold=f"{value:.2f}"),
            key="eval_thr_save",
            type="primary",
            icon=":material/save:",
        ):
            done = False
            details = {"costs": list(costs) if costs else None}
            if source == "constraint":
                details |= {"constraint": constraint, "bound": float(bound), "maximize": maximize}
            with user_errors(), session_scope(ws.engine) as s:
                save_threshold(
                    session=s,
                    actor=user,
                    project_id=pid,
                    candidate_id=focus,
                    threshold=float(value),
                    source=source,
                    details=details,
                    expected_version=saved.version if saved is not None else 0,
                )
                done = True
            if done:  # committed: rerun only now (a rerun inside the transaction would roll it back)
                flash(t("evalpage.threshold.saved_now", threshold=f"{value:.2f}", name=name_by_id[focus]))
                st.rerun()
        st.caption(t("evalpage.threshold.save_help"))
    else:
        role_notice("evaluation.run")


with tab_board:
    if tab_board.open:
        board_tab()
with tab_plots:
    if tab_plots.open:
        plots_tab()
with tab_threshold:
    if tab_threshold.open:
        threshold_tab()
