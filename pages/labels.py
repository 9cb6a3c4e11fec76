"""Stage 3 · Labels: find suspect labels, review them, apply the decisions, annotate unlabelled rows."""

from typing import cast

import pandas as pd
import streamlit as st

from mlcore.data.label_review import (
    FOLD_CHOICES,
    RULES,
    SCOPES,
    DecisionRecord,
    IssueRun,
    agreement_table,
    annotation_editor_frame,
    annotation_item,
    annotation_queue,
    apply_annotations,
    apply_review,
    class_summary,
    decision_editor_frame,
    decisions_from_editor,
    derived_versions,
    feature_columns,
    issue_runs,
    label_effect,
    list_decisions,
    plan_apply,
    planted_flip_check,
    read_annotation_order,
    read_ranked,
    review_item,
    review_progress,
    review_queue,
    reviewable_versions,
    save_decision,
    submit_label_effect,
    submit_label_issues,
    suggested_exclusions,
    suspects_frame,
)
from mlcore.data.labeling import ACTIONS, COMMENT_MAX_CHARS, Action, LabelDecision
from mlcore.data.versions import VersionSummary, list_versions
from mlcore.errors import ConflictError, MLCoreError
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_error, show_flash, user_errors

KINDS = ("label_issues",)
VERSION_KEY = "labels_version"  # survives page changes (widget keys do not)
SKIPPED_KEY = "labels_skipped"  # rows a reviewer passed over in this session, per run
TAB_KEY = "labels_tab"

page_header("labels.title", "labels.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("labels.no_project"))
    st.stop()
gate_banner(project.id)
if project.task_type == "regression":
    st.info(t("labels.regression_project"))
    st.stop()
user = current_user()
project_id = project.id
ws = workspace()
with session_scope(ws.engine) as s:
    all_versions = list_versions(session=s, project_id=project_id)
versions = reviewable_versions(all_versions)
if not versions:
    st.info(t("labels.no_versions"))
    st.page_link("pages/data_import.py", label=t("labels.go_import"), icon=":material/upload_file:")
    st.stop()


@st.cache_data(max_entries=4, show_spinner=False)
def version_frame(sha256: str) -> pd.DataFrame:
    return ws.store.read_table(sha256).to_pandas()


@st.cache_data(max_entries=8, show_spinner=False)
def ranked_rows(sha256: str, _run: IssueRun) -> pd.DataFrame:
    return read_ranked(store=ws.store, run=_run)


@st.cache_data(max_entries=8, show_spinner=False)
def annotation_rows(sha256: str | None, _run: IssueRun) -> pd.DataFrame:
    return read_annotation_order(store=ws.store, run=_run)


by_id = {v.id: v for v in versions}
if st.session_state.get(VERSION_KEY) not in by_id:
    st.session_state[VERSION_KEY] = versions[0].id


def _remember_version() -> None:
    st.session_state[VERSION_KEY] = st.session_state["labels_version_pick"]


version_ids = list(by_id)
chosen = st.selectbox(
    t("labels.version_pick"),
    version_ids,
    index=version_ids.index(st.session_state[VERSION_KEY]),
    format_func=lambda i: by_id[i].label,
    key="labels_version_pick",
    on_change=_remember_version,
)
version: VersionSummary = by_id[chosen]
st.caption(t("labels.version_caption", rows=version.n_rows, target=version.target or "", sha=version.sha256[:12]))
can_detect = allowed("labels.detect", project_id)
can_review = allowed("labels.review", project_id)
can_apply = allowed("labels.apply", project_id)
jobs_panel(project_id, KINDS)

with session_scope(ws.engine) as s:
    runs = issue_runs(session=s, version_id=version.id)
run: IssueRun | None = None
if runs:
    run_ids = [r.id for r in runs]
    runs_by_id = {r.id: r for r in runs}
    if len(runs) > 1:
        picked = st.selectbox(
            t("labels.run_pick"),
            run_ids,
            format_func=lambda i: t(
                "labels.run_label",
                id=i,
                flagged=runs_by_id[i].n_issues,
                rows=runs_by_id[i].n_rows,
                who=runs_by_id[i].created_by,
                when=f"{runs_by_id[i].created_at:%Y-%m-%d %H:%M}",
            ),
            key=f"labels_run_pick_{version.id}",
        )
        run = runs_by_id[picked]
    else:
        run = runs[0]
class_names = [str(c) for c in run.classes] if run else []
action_labels = {a: t(f"labeling.action.{a}") for a in ACTIONS}


def _decisions(reviewer_id: int | None = None) -> list[DecisionRecord]:
    assert run is not None
    with session_scope(ws.engine) as s:
        return list_decisions(session=s, run_id=run.id, reviewer_id=reviewer_id)


def _save(row: int, decision: LabelDecision, expected_version: int) -> bool:
    """Save one decision at once; say so when the reviewer already changed it elsewhere."""
    assert run is not None
    try:
        with session_scope(ws.engine) as s:
            save_decision(
                session=s,
                actor=user,
                project_id=project_id,
                run_id=run.id,
                row=row,
                decision=decision,
                expected_version=expected_version,
            )
        return True
    except ConflictError as exc:
        st.warning(t(exc.key, **exc.params), icon=":material/sync_problem:")
    except MLCoreError as exc:
        show_error(exc)
    return False


# Only the open tab runs (the others would read and render for nothing); the open tab is kept
# across reruns, so a reviewer stays on the review after each saved decision.
tab_find, tab_review, tab_apply, tab_annotate = st.tabs(
    [t("labels.tab.find"), t("labels.tab.review"), t("labels.tab.apply"), t("labels.tab.annotate")],
    key=TAB_KEY,
    on_change="rerun",
)

# --------------------------------------------------------------------------- find issues


def find_tab() -> None:
    if can_detect:
        with session_scope(ws.engine) as s:
            flagged_leaks = suggested_exclusions(session=s, store=ws.store, version_id=version.id)
        options = feature_columns(version)
        st.markdown(t("labels.find.help"))
        exclude = st.multiselect(
            t("labels.find.exclude"),
            options,
            default=[c for c in flagged_leaks if c in options],
            help=t("labels.find.exclude_help"),
            key=f"labels_exclude_{version.id}",
        )
        if flagged_leaks:
            st.caption(t("labels.find.leaks_flagged", columns=", ".join(flagged_leaks)))
        folds = st.select_slider(
            t("labels.find.folds"), FOLD_CHOICES, value=5, help=t("labels.find.folds_help"), key="labels_folds"
        )
        if st.button(t("labels.find.run"), type="primary", key="labels_find", icon=":material/search:"):
            with user_errors():
                job_id = submit_label_issues(
                    engine=ws.engine,
                    settings=ws.settings,
                    project_id=project_id,
                    version_id=version.id,
                    actor_id=user.id or 0,
                    exclude=exclude,
                    cv=int(folds),
                )
                flash(t("labels.find.started", job_id=job_id))
                st.rerun()
    else:
        role_notice("labels.detect")

    if run is None:
        st.info(t("labels.no_run"))
    else:
        ranked = ranked_rows(run.ranked_sha256, run)
        st.subheader(t("labels.find.results", id=run.id))
        st.caption(
            t(
                "labels.find.run_caption",
                who=run.created_by,
                when=f"{run.created_at:%Y-%m-%d %H:%M}",
                cv=run.cv,
                features=len(run.features),
                excluded=", ".join(run.excluded) or "—",
            )
        )
        c1, c2, c3, c4 = st.columns(4)
        c1.metric(t("labels.find.rows"), f"{run.n_rows:,}")
        c2.metric(t("labels.find.flagged"), f"{run.n_issues:,}")
        c3.metric(t("labels.find.flagged_share"), f"{run.n_issues / max(run.n_rows, 1):.1%}")
        c4.metric(t("labels.find.unlabeled"), f"{run.n_unlabeled:,}")
        planted = planted_flip_check(store=ws.store, version=version, ranked=ranked)
        if planted is not None:
            st.info(
                t(
                    "labels.find.planted",
                    found=planted.found,
                    planted=planted.planted,
                    flagged=planted.flagged,
                    precision=f"{planted.precision:.0%}",
                    recall=f"{planted.recall:.0%}",
                ),
                icon=":material/science:",
            )
        st.markdown(f"**{t('labels.find.per_class')}**")
        summary = class_summary(run, ranked)
        moves = {f"to_{c}": t("labels.col.to_class", cls=c) for c in class_names}
        st.dataframe(
            summary,
            width="stretch",
            column_config={
                "_index": t("labels.col.class"),
                "rows": st.column_config.NumberColumn(t("labels.col.rows"), format="localized"),
                "flagged": st.column_config.NumberColumn(t("labels.col.flagged"), format="localized"),
                "flagged_share": st.column_config.NumberColumn(t("labels.col.flagged_share"), format="percent"),
                "estimated_noise_rate": st.column_config.ProgressColumn(
                    t("labels.col.noise_rate"), min_value=0.0, max_value=1.0, format="percent"
                ),
                "threshold": st.column_config.NumberColumn(t("labels.col.threshold"), format="%.2f"),
                **moves,
            },
        )
        st.caption(t("labels.find.noise_caveat"))
        st.markdown(f"**{t('labels.find.suspects')}**")
        scope_all = st.toggle(t("labels.find.show_all"), key="labels_find_all")
        st.dataframe(
            suspects_frame(ranked, lang=lang(), scope="all" if scope_all else "flagged", limit=1000),
            hide_index=True,
            width="stretch",
            column_config={
                "row": st.column_config.NumberColumn(t("labels.col.row"), format="%d"),
                "score": st.column_config.ProgressColumn(
                    t("labels.col.score"), min_value=0.0, max_value=1.0, format="%.2f"
                ),
                "given": t("labels.col.given"),
                "suggested": t("labels.col.suggested"),
                "confidence": st.column_config.NumberColumn(t("labels.col.confidence"), format="percent"),
                "reason": st.column_config.TextColumn(t("labels.col.reason"), width="large"),
            },
        )


# --------------------------------------------------------------------------- review


def review_tab() -> None:
    if run is None:
        st.info(t("labels.no_run"))
    else:
        ranked = ranked_rows(run.ranked_sha256, run)
        everyone = _decisions()
        st.caption(t("labels.review.summary", decisions=len(everyone), reviewers=len({d.reviewer for d in everyone})))
        if not can_review:
            role_notice("labels.review")
        else:
            mine = [d for d in everyone if d.reviewer_id == user.id and d.row in ranked.index]
            left, right = st.columns(2)
            scope = left.radio(
                t("labels.review.scope"),
                SCOPES,
                format_func=lambda x: t(f"labels.review.scope.{x}"),
                horizontal=True,
                key="labels_scope",
            )
            mode = right.radio(
                t("labels.review.mode"),
                ("one", "table"),
                format_func=lambda x: t(f"labels.review.mode.{x}"),
                horizontal=True,
                key="labels_mode",
            )
            done, total = review_progress(ranked, [d.row for d in mine], scope=scope)
            st.progress(done / total if total else 1.0, text=t("labels.review.progress", done=done, total=total))
            if mode == "one":
                skipped = st.session_state.setdefault(SKIPPED_KEY, {}).setdefault(run.id, [])
                queue = review_queue(ranked, [d.row for d in mine], scope=scope)
                waiting = [r for r in queue if r not in skipped] or queue
                if not queue:
                    st.success(t("labels.review.all_done"), icon=":material/task_alt:")
                else:
                    frame = version_frame(version.sha256)
                    item = review_item(ranked=ranked, frame=frame, row=waiting[0], target=run.target)
                    st.subheader(t("labels.review.row_title", row=item.row, rank=item.rank))
                    info, values = st.columns([1, 1])
                    with info:
                        g, sug = st.columns(2)
                        g.metric(t("labels.review.given"), str(item.given_label))
                        sug.metric(t("labels.review.suggested"), str(item.suggested_label))
                        why = t(item.reason_key, **item.reason_params)
                        if item.is_issue:
                            st.warning(why, icon=":material/help:")
                        else:
                            st.info(why)
                        st.dataframe(
                            item.probabilities,
                            hide_index=True,
                            width="stretch",
                            column_config={
                                "class": t("labels.col.class"),
                                "probability": st.column_config.ProgressColumn(
                                    t("labels.col.probability"), min_value=0.0, max_value=1.0, format="percent"
                                ),
                            },
                        )
                    with values:
                        st.dataframe(
                            item.values,
                            hide_index=True,
                            width="stretch",
                            height=min(36 * (len(item.values) + 1) + 2, 560),
                            column_config={"column": t("labels.col.column"), "value": t("labels.col.value")},
                        )
                    with st.form(f"labels_decide_{run.id}_{item.row}", clear_on_submit=True):
                        action = st.radio(
                            t("labels.review.decision"),
                            ACTIONS,
                            format_func=action_labels.__getitem__,
                            horizontal=True,
                            key=f"labels_action_{run.id}_{item.row}",
                        )
                        new_label = st.selectbox(
                            t("labels.review.new_label"),
                            class_names,
                            index=class_names.index(str(item.suggested_label)),
                            help=t("labels.review.new_label_help"),
                            key=f"labels_new_{run.id}_{item.row}",
                        )
                        comment = st.text_area(
                            t("labels.review.comment"),
                            max_chars=COMMENT_MAX_CHARS,
                            key=f"labels_comment_{run.id}_{item.row}",
                        )
                        submitted = st.form_submit_button(t("labels.review.save"), type="primary")
                    if submitted:
                        saved = False
                        with user_errors():
                            decision = LabelDecision(
                                cast(Action, action),
                                new_label=new_label if action == "relabel" else None,
                                comment=comment,
                            )
                            saved = _save(item.row, decision, 0)
                        if saved:
                            flash(t("labels.review.saved", row=item.row, decision=action_labels[action]))
                            st.rerun()
                    if st.button(t("labels.review.skip"), key=f"labels_skip_{run.id}_{item.row}"):
                        skipped.append(item.row)
                        st.rerun()
            else:
                before = decision_editor_frame(ranked, mine, lang=lang(), scope=scope, limit=200)
                st.caption(t("labels.review.table_help"))
                edited = st.data_editor(
                    before,
                    key=f"labels_editor_{run.id}_{scope}",
                    hide_index=True,
                    width="stretch",
                    disabled=["row", "given", "suggested", "score", "reason"],
                    column_config={
                        "row": st.column_config.NumberColumn(t("labels.col.row"), format="%d"),
                        "given": t("labels.col.given"),
                        "suggested": t("labels.col.suggested"),
                        "score": st.column_config.ProgressColumn(
                            t("labels.col.score"), min_value=0.0, max_value=1.0, format="%.2f"
                        ),
                        "reason": st.column_config.TextColumn(t("labels.col.reason"), width="medium"),
                        "action": st.column_config.SelectboxColumn(
                            t("labels.col.action"),
                            options=list(ACTIONS),
                            format_func=lambda a: action_labels[str(a)],
                            help=t("labels.col.action_help"),
                        ),
                        "new_label": st.column_config.SelectboxColumn(t("labels.col.new_label"), options=class_names),
                        "comment": st.column_config.TextColumn(t("labels.col.comment"), max_chars=COMMENT_MAX_CHARS),
                    },
                )
                if st.button(t("labels.review.save_table"), type="primary", key=f"labels_save_table_{run.id}"):
                    changed, problems = decisions_from_editor(before, edited, mine=mine)
                    for row, problem in problems:
                        st.error(t("labels.review.row_problem", row=row, problem=t(problem.key, **problem.params)))
                    n_saved = sum(_save(c.row, c.decision, c.expected_version) for c in changed)
                    if n_saved and not problems and n_saved == len(changed):
                        flash(t("labels.review.saved_many", count=n_saved))
                        st.rerun()
                    elif n_saved:
                        st.success(t("labels.review.saved_many", count=n_saved))
        st.subheader(t("labels.review.agreement"))
        agreement = agreement_table(everyone, rows=ranked.index)
        if agreement.empty:
            st.caption(t("labels.review.no_overlap"))
        else:
            agreed = int(agreement["agree"].sum())
            st.caption(t("labels.review.agreement_caption", agree=agreed, rows=len(agreement)))
            st.dataframe(
                agreement,
                width="stretch",
                column_config={
                    "_index": st.column_config.NumberColumn(t("labels.col.row"), format="%d"),
                    "n_reviewers": t("labels.col.n_reviewers"),
                    "agree": st.column_config.CheckboxColumn(t("labels.col.agree")),
                    "consensus": t("labels.col.consensus"),
                },
            )


# --------------------------------------------------------------------------- apply


def _apply_section(part: str) -> None:
    """Rule, what would change, and the button that writes the new version."""
    assert run is not None
    rule = st.radio(
        t("labels.apply.rule"),
        RULES,
        format_func=lambda r: t(f"labels.apply.rule.{r}"),
        key=f"labels_rule_{part}_{run.id}",
    )
    with session_scope(ws.engine) as s:
        plan = plan_apply(session=s, store=ws.store, project_id=project_id, run_id=run.id, rule=rule, part=part)
    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric(t("labels.apply.relabel"), plan.counts["relabel"])
    c2.metric(t("labels.apply.exclude"), plan.counts["exclude"])
    c3.metric(t("labels.apply.keep"), plan.counts["keep"])
    c4.metric(t("labels.apply.skipped"), plan.counts["skipped"])
    c5.metric(t("labels.apply.rows_after"), f"{plan.n_rows_after:,}", delta=plan.n_rows_after - plan.n_rows_before)
    if not plan.disagreements.empty:
        key = "labels.apply.disagree_skipped" if rule == "consensus" else "labels.apply.disagree_latest"
        st.warning(t(key, count=len(plan.disagreements)), icon=":material/rule:")
        st.dataframe(
            plan.disagreements,
            width="stretch",
            column_config={
                "_index": st.column_config.NumberColumn(t("labels.col.row"), format="%d"),
                "n_reviewers": t("labels.col.n_reviewers"),
                "agree": None,
                "consensus": None,
                "applied": t("labels.col.applied"),
            },
        )
    if not can_apply:
        role_notice("labels.apply")
        return
    button = "labels.apply.create" if part == "review" else "labels.annotate.create"
    blocked = plan.n_changes == 0 or plan.applied_as is not None
    if st.button(t(button), type="primary", key=f"labels_apply_{part}_{run.id}", disabled=blocked):
        apply = apply_review if part == "review" else apply_annotations
        with user_errors():
            created = apply(
                engine=ws.engine, store=ws.store, project_id=project_id, run_id=run.id, actor_id=user.id or 0, rule=rule
            )
            flash(t("labels.apply.created", label=created.label, rows=created.n_rows))
            st.rerun()
    if plan.n_changes == 0:
        st.caption(t("labels.apply.nothing"))
    elif plan.applied_as is not None:
        st.caption(t("labels.apply.already", label=plan.applied_as))


def apply_tab() -> None:
    if run is None:
        st.info(t("labels.no_run"))
    else:
        st.markdown(t("labels.apply.help"))
        _apply_section("review")
        made = [v for v in derived_versions(all_versions, run_id=run.id) if v.operation == "label_decisions"]
        if made:
            newest = made[0]
            st.subheader(t("labels.apply.made", label=newest.label))
            st.caption(
                t(
                    "labels.apply.lineage",
                    label=newest.label,
                    parent=version.label,
                    rows=newest.n_rows,
                    sha=newest.sha256[:12],
                )
            )
            with session_scope(ws.engine) as s:
                effect = label_effect(session=s, project_id=project_id, version_id=newest.id)
            if effect is not None:
                b, a = st.columns(2)
                b.metric(t("labels.effect.before"), f"{effect.before:.3f}")
                a.metric(t("labels.effect.after"), f"{effect.after:.3f}", delta=f"{effect.after - effect.before:+.3f}")
                st.caption(t("labels.effect.optimistic"))
            elif can_detect:
                st.markdown(t("labels.effect.offer"))
                if st.button(t("labels.effect.run"), key=f"labels_effect_{newest.id}", icon=":material/speed:"):
                    with user_errors():
                        job_id = submit_label_effect(
                            engine=ws.engine,
                            settings=ws.settings,
                            project_id=project_id,
                            version_id=newest.id,
                            actor_id=user.id or 0,
                        )
                        flash(t("labels.effect.started", job_id=job_id))
                        st.rerun()
            else:
                st.caption(t("labels.effect.who"))
            st.page_link("pages/data_versions.py", label=t("labels.apply.see_versions"), icon=":material/history:")


# --------------------------------------------------------------------------- annotate


def annotate_tab() -> None:
    st.markdown(t("labels.annotate.help"))
    if run is None:
        st.info(t("labels.no_run"))
    elif run.n_unlabeled == 0:
        st.info(t("labels.annotate.none"))
    else:
        order = annotation_rows(run.annotation_sha256, run)
        if not can_review:
            role_notice("labels.review")
        else:
            mine = [d for d in _decisions(user.id) if d.row in order.index]
            done = len(mine)
            st.progress(done / len(order), text=t("labels.annotate.progress", done=done, total=len(order)))
            mode = st.radio(
                t("labels.review.mode"),
                ("one", "table"),
                format_func=lambda x: t(f"labels.review.mode.{x}"),
                horizontal=True,
                key="labels_annotate_mode",
            )
            if mode == "one":
                queue = annotation_queue(order, [d.row for d in mine])
                if not queue:
                    st.success(t("labels.annotate.all_done"), icon=":material/task_alt:")
                else:
                    row = queue[0]
                    item = annotation_item(order=order, frame=version_frame(version.sha256), row=row, target=run.target)
                    st.subheader(t("labels.annotate.row_title", row=row, uncertainty=f"{item.uncertainty:.0%}"))
                    st.caption(
                        t(
                            "labels.annotate.model_guess",
                            label=str(item.predicted_label),
                            confidence=f"{item.confidence:.0%}",
                        )
                    )
                    st.dataframe(
                        item.values,
                        hide_index=True,
                        width="stretch",
                        column_config={"column": t("labels.col.column"), "value": t("labels.col.value")},
                    )
                    with st.form(f"labels_annotate_{run.id}_{row}", clear_on_submit=True):
                        choice = st.radio(
                            t("labels.annotate.decision"),
                            ("relabel", "unsure", "exclude"),
                            format_func=lambda a: t(f"labels.annotate.action.{a}"),
                            horizontal=True,
                            key=f"labels_annot_action_{run.id}_{row}",
                        )
                        label = st.selectbox(
                            t("labels.annotate.label"),
                            class_names,
                            index=class_names.index(str(item.predicted_label)),
                            key=f"labels_annot_label_{run.id}_{row}",
                        )
                        note = st.text_area(
                            t("labels.review.comment"),
                            max_chars=COMMENT_MAX_CHARS,
                            key=f"labels_annot_comment_{run.id}_{row}",
                        )
                        submitted = st.form_submit_button(t("labels.annotate.save"), type="primary")
                    if submitted:
                        saved = False
                        with user_errors():
                            decision = LabelDecision(
                                cast(Action, choice), new_label=label if choice == "relabel" else None, comment=note
                            )
                            saved = _save(row, decision, 0)
                        if saved:
                            flash(t("labels.annotate.saved", row=row))
                            st.rerun()
            else:
                before = annotation_editor_frame(order, mine, limit=200)
                edited = st.data_editor(
                    before,
                    key=f"labels_annot_editor_{run.id}",
                    hide_index=True,
                    width="stretch",
                    disabled=["row", "predicted", "confidence", "uncertainty"],
                    column_config={
                        "row": st.column_config.NumberColumn(t("labels.col.row"), format="%d"),
                        "predicted": t("labels.col.predicted"),
                        "confidence": st.column_config.NumberColumn(t("labels.col.confidence"), format="percent"),
                        "uncertainty": st.column_config.ProgressColumn(
                            t("labels.col.uncertainty"), min_value=0.0, max_value=1.0, format="%.2f"
                        ),
                        "action": st.column_config.SelectboxColumn(
                            t("labels.col.action"),
                            options=list(ACTIONS),
                            format_func=lambda a: action_labels[str(a)],
                            help=t("labels.col.action_help"),
                        ),
                        "new_label": st.column_config.SelectboxColumn(t("labels.col.new_label"), options=class_names),
                        "comment": st.column_config.TextColumn(t("labels.col.comment"), max_chars=COMMENT_MAX_CHARS),
                    },
                )
                if st.button(t("labels.review.save_table"), type="primary", key=f"labels_annot_save_{run.id}"):
                    changed, problems = decisions_from_editor(
                        before, edited, mine=mine, default_label_column="predicted"
                    )
                    for row, problem in problems:
                        st.error(t("labels.review.row_problem", row=row, problem=t(problem.key, **problem.params)))
                    n_saved = sum(_save(c.row, c.decision, c.expected_version) for c in changed)
                    if n_saved and not problems and n_saved == len(changed):
                        flash(t("labels.review.saved_many", count=n_saved))
                        st.rerun()
                    elif n_saved:
                        st.success(t("labels.review.saved_many", count=n_saved))
        st.subheader(t("labels.annotate.apply_title"))
        _apply_section("annotation")


with tab_find:
    if tab_find.open:
        find_tab()
with tab_review:
    if tab_review.open:
        review_tab()
with tab_apply:
    if tab_apply.open:
        apply_tab()
with tab_annotate:
    if tab_annotate.open:
        annotate_tab()
