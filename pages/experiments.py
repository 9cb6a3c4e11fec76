"""Stage 5 · Experiments: every run and model side by side, notes and tags, and re-executing a run."""

from typing import Any

import streamlit as st

from mlcore.errors import ConflictError, MLCoreError
from mlcore.markdown import md_escape
from mlcore.modeling.tracking import (
    NOTES_MAX,
    candidate_labels,
    fold_metrics_chart,
    get_candidate,
    list_runs,
    parallel_coordinates_chart,
    parameter_metric_frame,
    parameters_frame,
    reproduction_frame,
    run_detail,
    run_filter_choices,
    runs_table,
    set_notes_and_tags,
    set_run_notes_and_tags,
    submit_reproduce,
    training_runs,
)
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_error, show_flash, user_errors

KINDS = ("reproduce",)
TAB_KEY = "exp_tab"
ss = st.session_state

page_header("experiments.title", "experiments.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("experiments.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
pid = project.id
with st.expander(t("tracking.explain.title"), icon=":material/verified:"):
    st.markdown(t("tracking.explain.body"))
with session_scope(ws.engine) as s:
    everything = list_runs(session=s, project_id=pid)
if everything.empty:
    st.info(t("experiments.no_runs"))
    st.page_link("pages/training.py", label=t("experiments.go_train"), icon=":material/model_training:")
    st.stop()
choices = run_filter_choices(everything)
can_annotate = allowed("model.annotate", pid)
can_train = allowed("model.train", pid)


def _family(code: str) -> str:
    return t(f"modeling.family.{code}")


def _metric(code: str) -> str:
    return t(f"planning.metric.{code}")


# --------------------------------------------------------------------------- the runs table

st.subheader(t("experiments.table"))
c1, c2, c3, c4 = st.columns(4)
families = c1.multiselect(t("experiments.filter.family"), choices.families, format_func=_family, key="exp_families")
tags = c2.multiselect(t("experiments.filter.tags"), choices.tags, key="exp_tags")
ALL, NEWEST = 0, ""  # no filter on the version, no ordering by a metric
version_id = c3.selectbox(
    t("experiments.filter.version"),
    [ALL, *choices.versions],
    format_func=lambda v: t("experiments.filter.all_versions") if v == ALL else choices.versions[v],
    key="exp_version",
)
sort_by = c4.selectbox(
    t("experiments.sort"),
    [NEWEST, *choices.metrics],
    format_func=lambda m: (
        t("experiments.sort.newest") if m == NEWEST else t("experiments.sort.best", metric=_metric(m))
    ),
    key="exp_sort",
)
metrics = list(choices.metrics)
with session_scope(ws.engine) as s:
    frame = list_runs(
        session=s,
        project_id=pid,
        families=families or None,
        tags=tags or None,
        version_id=version_id or None,
        sort_by=sort_by or None,
    )
    ranked = list_runs(session=s, project_id=pid, sort_by=metrics[0]) if metrics else everything
if frame.empty:
    st.info(t("experiments.nothing_matches"))
else:
    st.dataframe(
        runs_table(frame, lang=lang()),
        hide_index=True,
        width="stretch",
        column_config={
            "run_id": st.column_config.NumberColumn(t("experiments.col.run"), format="%d", pinned=True),
            "candidate_id": None,
            "family": st.column_config.TextColumn(t("experiments.col.family"), pinned=True),
            "dataset": t("experiments.col.dataset"),
            **{m: st.column_config.TextColumn(_metric(m), help=t("experiments.col.metric_help")) for m in metrics},
            "validation": t("experiments.col.validation"),
            "search": t("experiments.col.search"),
            "seed": st.column_config.NumberColumn(t("experiments.col.seed"), format="%d"),
            "cv_seconds": st.column_config.NumberColumn(t("experiments.col.cv_seconds"), format="%.1f s"),
            "size_kb": st.column_config.NumberColumn(t("experiments.col.size_kb"), format="%.0f KB"),
            "tags": t("experiments.col.tags"),
            "registered": t("experiments.col.registered"),
            "notes": st.column_config.TextColumn(t("experiments.col.notes"), width="medium"),
            "created_by": t("experiments.col.created_by"),
            "created_at": st.column_config.DatetimeColumn(t("experiments.col.created_at"), format="YYYY-MM-DD HH:mm"),
        },
    )
    st.caption(t("experiments.table_help"))

tab_compare, tab_params, tab_notes, tab_reproduce = st.tabs(
    [
        t("experiments.tab.compare"),
        t("experiments.tab.parameters"),
        t("experiments.tab.notes"),
        t("experiments.tab.reproduce"),
    ],
    key=TAB_KEY,
    on_change="rerun",
)


# --------------------------------------------------------------------------- compare


def compare_tab() -> None:
    labels = candidate_labels(ranked, metric=metrics[0] if metrics else None, lang=lang())
    picked = st.multiselect(
        t("experiments.compare.pick"),
        list(labels),
        default=list(labels)[:2],  # the two best by the first metric
        format_func=labels.__getitem__,
        max_selections=8,
        key="exp_compare",
    )
    if not picked:
        st.info(t("experiments.compare.none"))
        return
    st.markdown(f"**{t('experiments.compare.parameters')}**")
    differing = st.toggle(t("experiments.compare.differing"), key="exp_differing")
    with session_scope(ws.engine) as s:
        params = parameters_frame(
            session=s, project_id=pid, candidate_ids=picked, differing_only=differing, lang=lang()
        )
        records = [get_candidate(session=s, project_id=pid, candidate_id=i) for i in picked]
    if params.empty:
        st.caption(t("experiments.compare.no_parameters"))
    else:
        st.dataframe(params, width="stretch", column_config={"_index": t("experiments.col.parameter")})
    st.caption(t("experiments.compare.parameters_help"))
    st.markdown(f"**{t('experiments.compare.folds')}**")
    metric = st.selectbox(t("experiments.compare.metric"), metrics, format_func=_metric, key="exp_fold_metric")
    st.plotly_chart(fold_metrics_chart(records, metric=metric, lang=lang()), width="stretch", key="exp_folds")
    st.caption(t("experiments.compare.folds_help"))


# --------------------------------------------------------------------------- parameters against a metric


def parameters_tab() -> None:
    st.caption(t("experiments.parallel.help"))
    left, right = st.columns(2)
    tunable = [f for f in choices.families if f != "dummy"]  # the baseline has nothing to tune
    family = left.selectbox(
        t("experiments.parallel.family"),
        choices.families,
        index=choices.families.index(tunable[0]) if tunable else 0,
        format_func=_family,
        key="exp_pc_family",
    )
    metric = right.selectbox(t("experiments.parallel.metric"), metrics, format_func=_metric, key="exp_pc_metric")
    with session_scope(ws.engine) as s:
        points = parameter_metric_frame(
            session=s, project_id=pid, metric=metric, family=family, run_ids=sorted(set(frame["run_id"]))
        )
    if len(points) < 2 or len(points.columns) <= 5:
        st.info(t("experiments.parallel.too_few", family=_family(family)))
        return
    st.plotly_chart(parallel_coordinates_chart(points, metric=metric, lang=lang()), width="stretch", key="exp_pc")
    st.caption(t("experiments.parallel.read", count=len(points)))


# --------------------------------------------------------------------------- notes and tags


def _load(kind: str, obj_id: int) -> Any:
    with session_scope(ws.engine) as s:
        if kind == "candidate":
            return get_candidate(session=s, project_id=pid, candidate_id=obj_id)
        return run_detail(session=s, project_id=pid, run_id=obj_id).run


def _save(kind: str, obj_id: int, notes: str, tags: str, expected: int) -> Any:
    """Save; None (with the reason shown) when refused."""
    save = set_notes_and_tags if kind == "candidate" else set_run_notes_and_tags
    id_arg = {"candidate_id": obj_id} if kind == "candidate" else {"run_id": obj_id}
    try:
        with session_scope(ws.engine) as s:
            return save(
                session=s,
                actor=user,
                project_id=pid,
                notes=notes,
                tags=tags.split(","),
                expected_version=expected,
                **id_arg,
            )
    except ConflictError:
        pass  # the form shows what changed meanwhile, next to what the user wrote
    except MLCoreError as exc:
        show_error(exc)
    return None


def _take_theirs(keys: tuple[str, str, str], record: Any) -> None:
    notes_key, tags_key, base_key = keys
    ss[notes_key] = record.notes
    ss[tags_key] = ", ".join(record.tags)
    ss[base_key] = record.version


def _saved(keys: tuple[str, str, str], what: str) -> None:
    for key in keys:
        ss.pop(key, None)  # the form starts again from what is now saved
    flash(t("experiments.notes.saved", what=what))
    st.rerun()


def notes_tab() -> None:
    if frame.empty:
        st.info(t("experiments.nothing_matches"))
        return
    labels = candidate_labels(frame, lang=lang())
    left, right = st.columns([2, 1])
    candidate_id = left.selectbox(
        t("experiments.notes.pick"), list(labels), format_func=labels.__getitem__, key="exp_note_pick"
    )
    scope = right.radio(
        t("experiments.notes.scope"),
        ("candidate", "run"),
        format_func=lambda x: t(f"experiments.notes.scope.{x}"),
        key="exp_note_scope",
    )
    record = _load("candidate", candidate_id)
    kind, obj_id = ("candidate", candidate_id) if scope == "candidate" else ("run", record.run_id)
    if kind == "run":
        record = _load("run", obj_id)
    what = md_escape(labels[candidate_id]) if kind == "candidate" else t("experiments.notes.the_run", run=obj_id)
    if not can_annotate:
        st.markdown(f"**{t('experiments.notes.notes')}**")
        st.markdown(md_escape(record.notes) if record.notes else t("experiments.notes.empty"))
        st.markdown(f"**{t('experiments.notes.tags')}:** {md_escape(', '.join(record.tags)) or '—'}")
        role_notice("model.annotate")
        return
    notes_key, tags_key, base_key = (f"exp_{part}_{kind}_{obj_id}" for part in ("notes", "tags", "base"))
    keys = (notes_key, tags_key, base_key)
    if notes_key not in ss:  # a fresh form starts from what is saved now
        ss[notes_key] = record.notes
        ss[tags_key] = ", ".join(record.tags)
        ss[base_key] = record.version
    st.text_area(t("experiments.notes.notes"), max_chars=NOTES_MAX, key=notes_key, help=t("experiments.notes.help"))
    st.text_input(t("experiments.notes.tags"), key=tags_key, help=t("experiments.notes.tags_help"))
    unchanged = ss[base_key] == record.version
    if unchanged and st.button(t("experiments.notes.save"), type="primary", key=f"exp_save_{kind}_{obj_id}"):
        if _save(kind, obj_id, ss[notes_key], ss[tags_key], ss[base_key]) is not None:
            _saved(keys, what)
        record = _load(kind, obj_id)  # refused: someone saved meanwhile
    if ss[base_key] != record.version:
        st.warning(t("experiments.notes.changed", what=what), icon=":material/sync_problem:")
        st.markdown(f"**{t('experiments.notes.now_saved')}**")
        st.info(
            t(
                "experiments.notes.theirs",
                notes=md_escape(record.notes) or "—",
                tags=md_escape(", ".join(record.tags)) or "—",
            )
        )
        st.caption(t("experiments.notes.yours_kept"))
        left, right = st.columns(2)
        left.button(
            t("experiments.notes.take_theirs"),
            key=f"exp_theirs_{kind}_{obj_id}",
            on_click=_take_theirs,
            args=(keys, record),
        )
        keep_mine = right.button(t("experiments.notes.keep_mine"), type="primary", key=f"exp_mine_{kind}_{obj_id}")
        if keep_mine and _save(kind, obj_id, ss[notes_key], ss[tags_key], record.version) is not None:
            _saved(keys, what)


# --------------------------------------------------------------------------- reproduce


def reproduce_tab() -> None:
    st.caption(t("experiments.reproduce.help"))
    with session_scope(ws.engine) as s:
        runs = training_runs(session=s, project_id=pid)
    by_id = {r.id: r for r in runs}
    run_id = st.selectbox(
        t("experiments.reproduce.pick"),
        list(by_id),
        format_func=lambda i: t(
            "experiments.reproduce.run_label",
            run=i,
            label=by_id[i].version_label,
            when=f"{by_id[i].created_at:%Y-%m-%d %H:%M}",
            who=by_id[i].created_by,
        ),
        key="exp_repro_run",
    )
    run = by_id[run_id]
    env = run.environment
    packages = ", ".join(f"{k} {v}" for k, v in dict(env.get("packages", {})).items())
    st.markdown(
        t(
            "experiments.reproduce.recorded",
            sha=run.dataset_sha256[:16],
            seed=run.seed,
            scheme=t(f"modeling.scheme.{run.scheme}"),
            folds=run.n_splits,
            features=len(run.features),
            test=run.n_test_rows,
            python=env.get("python", "?"),
            packages=md_escape(packages) or "—",
            host=md_escape(str(env.get("host", "?"))),
            commit=str(env.get("git_commit") or "—")[:12],
        )
    )
    if can_train:
        if st.button(t("experiments.reproduce.start"), key="exp_reproduce", icon=":material/replay:"):
            with user_errors():
                job_id = submit_reproduce(
                    engine=ws.engine, settings=ws.settings, project_id=pid, run_id=run.id, actor_id=user.id or 0
                )
                flash(t("experiments.reproduce.started", job_id=job_id, run=run.id))
                st.rerun()
    else:
        role_notice("model.train")
    jobs_panel(pid, KINDS)
    with session_scope(ws.engine) as s:
        detail = run_detail(session=s, project_id=pid, run_id=run.id)
    if not detail.reproductions:
        st.caption(t("experiments.reproduce.never"))
        return
    latest = detail.reproductions[0]
    when = f"{latest.created_at:%Y-%m-%d %H:%M}"
    if latest.matches:
        st.success(t("experiments.reproduce.match", when=when, who=latest.created_by), icon=":material/verified:")
    else:
        differing = sum(not c.matches for c in latest.checks)
        st.error(
            t("experiments.reproduce.differ", when=when, who=latest.created_by, count=differing),
            icon=":material/error:",
        )
    st.dataframe(
        reproduction_frame(latest, lang=lang()),
        hide_index=True,
        width="stretch",
        column_config={
            "family": t("experiments.col.family"),
            "metric": t("experiments.col.metric"),
            "recorded": st.column_config.NumberColumn(t("experiments.col.recorded"), format="%.6f"),
            "reproduced": st.column_config.NumberColumn(t("experiments.col.reproduced"), format="%.6f"),
            "difference": st.column_config.NumberColumn(t("experiments.col.difference"), format="%.2e"),
            "matches": st.column_config.CheckboxColumn(t("experiments.col.matches")),
        },
    )
    if len(detail.reproductions) > 1:
        st.caption(t("experiments.reproduce.earlier", count=len(detail.reproductions) - 1))


with tab_compare:
    if tab_compare.open:
        compare_tab()
with tab_params:
    if tab_params.open:
        parameters_tab()
with tab_notes:
    if tab_notes.open:
        notes_tab()
with tab_reproduce:
    if tab_reproduce.open:
        reproduce_tab()
