"""Stage 5 · Train: choose the data, features, model families, validation and metrics; train as a job."""

import streamlit as st

from mlcore.data.recipes import recipe_choices
from mlcore.data.versions import VersionSummary, list_versions
from mlcore.errors import InputError
from mlcore.markdown import md_escape
from mlcore.modeling.tracking import (
    DEFAULT_FAMILIES,
    FeatureChoice,
    TrainingSpec,
    default_features,
    default_metrics,
    list_runs,
    run_detail,
    runs_table,
    scheme_choices,
    split_column_choices,
    submit_training,
    training_runs,
)
from mlcore.modeling.training import MAX_N_ITER, MODEL_FAMILIES, SEARCH_KINDS
from mlcore.planning.canvas import METRICS as CANVAS_METRICS
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_flash, user_errors

KINDS = ("train",)
VERSION_KEY = "training_version"  # survives page changes (widget keys do not)
MAX_FOLDS = 20

page_header("training.title", "training.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("training.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
task = project.task_type
with session_scope(ws.engine) as s:
    versions = list_versions(session=s, project_id=project.id)
if not versions:
    st.info(t("training.no_versions"))
    st.page_link("pages/data_import.py", label=t("training.go_import"), icon=":material/upload_file:")
    st.stop()

by_id = {v.id: v for v in versions}
if st.session_state.get(VERSION_KEY) not in by_id:
    st.session_state[VERSION_KEY] = max(versions, key=lambda v: v.created_at).id


def _remember_version() -> None:
    st.session_state[VERSION_KEY] = st.session_state["train_version"]


version_ids = list(by_id)
chosen = st.selectbox(
    t("training.version"),
    version_ids,
    index=version_ids.index(st.session_state[VERSION_KEY]),
    format_func=lambda i: by_id[i].label,
    key="train_version",
    on_change=_remember_version,
    help=t("training.version_help"),
)
version: VersionSummary = by_id[chosen]
st.caption(t("training.version_caption", rows=version.n_rows, cols=version.n_cols, sha=version.sha256[:12]))
can_train = allowed("model.train", project.id)


def _features(target: str) -> FeatureChoice | None:
    with user_errors(), session_scope(ws.engine) as s:
        return default_features(session=s, store=ws.store, project_id=project.id, version_id=version.id, target=target)
    return None


def train_form() -> None:
    names = [str(c["name"]) for c in version.columns]
    target = st.selectbox(
        t("training.target"),
        names,
        index=names.index(version.target) if version.target in names else None,
        placeholder=t("training.target_placeholder"),
        key=f"train_target_{version.id}",
        help=t("training.target_help"),
    )
    if target is None:
        st.info(t("training.choose_target"))
        return
    choice = _features(target)
    if choice is None:
        return

    st.subheader(t("training.section.features"))
    features = st.multiselect(
        t("training.features"),
        choice.columns,
        default=choice.features,
        key=f"train_features_{version.id}_{target}",
        help=t("training.features_help"),
    )
    if choice.excluded:
        st.caption(t("training.excluded_intro"))
        st.markdown("\n".join(f"- {md_escape(e.message(lang()))}" for e in choice.excluded))
    else:
        st.caption(t("training.none_excluded"))
    st.caption(t("training.leak_hint"))

    st.subheader(t("training.section.recipe"))
    with session_scope(ws.engine) as s:
        recipes = {r.id: r for r in recipe_choices(session=s, project_id=project.id)}
    recipe_id = st.selectbox(
        t("training.recipe"),
        [None, *recipes],
        format_func=lambda r: t("training.recipe_none") if r is None else recipes[r].label,
        key=f"train_recipe_{version.id}",
    )
    st.caption(t("training.recipe_help"))

    st.subheader(t("training.section.models"))
    st.caption(t("training.models_help"))
    families = list(MODEL_FAMILIES[task])
    picked: list[str] = []
    columns = st.columns(2)
    for i, code in enumerate(families):
        with columns[i % 2]:
            if st.checkbox(
                t(f"modeling.family.{code}"), value=code in DEFAULT_FAMILIES[task], key=f"train_family_{code}"
            ):
                picked.append(code)
            st.caption(t(f"training.family_help.{code}"))

    st.subheader(t("training.section.validation"))
    left, right = st.columns(2)
    with left:
        scheme = st.selectbox(
            t("training.scheme"),
            scheme_choices(task),
            format_func=lambda x: t(f"modeling.scheme.{x}"),
            key="train_scheme",
        )
        st.caption(t(f"training.scheme_help.{scheme}"))
    split = split_column_choices(choice)
    n_splits, validation_pct = 5, 20
    group_column = order_column = None
    with right:
        if scheme == "holdout":
            validation_pct = st.slider(
                t("training.validation_size"), 10, 50, 20, 5, format="%d%%", key="train_validation_size"
            )
        else:
            n_splits = st.number_input(
                t("training.folds"), min_value=2, max_value=MAX_FOLDS, value=5, step=1, key="train_folds"
            )
        if scheme == "group_kfold":
            group_column = st.selectbox(
                t("training.group_column"),
                split.groups,
                index=None,
                placeholder=t("training.pick_column"),
                key=f"train_group_{version.id}_{target}",
                help=t("training.group_help"),
            )
        if scheme == "time_series":
            if not split.dates:
                st.warning(t("training.no_dates"), icon=":material/event_busy:")
            order_column = st.selectbox(
                t("training.order_column"),
                split.dates,
                index=0 if split.dates else None,
                placeholder=t("training.pick_column"),
                key=f"train_order_{version.id}_{target}",
                help=t("training.order_help"),
            )

    st.subheader(t("training.section.metrics"))
    metric_options = list(CANVAS_METRICS[task])
    with session_scope(ws.engine) as s:
        preselected = [m for m in default_metrics(session=s, project_id=project.id) if m in metric_options]
    metrics = st.multiselect(
        t("training.metrics"),
        metric_options,
        default=preselected,
        format_func=lambda m: t(f"planning.metric.{m}"),
        key="train_metrics",
    )
    st.caption(t("training.metrics_help"))

    st.subheader(t("training.section.search"))
    search = st.radio(
        t("training.search"),
        ("none", *SEARCH_KINDS),
        format_func=lambda k: t(f"tracking.search.{k}"),
        horizontal=True,
        key="train_search",
    )
    st.caption(t(f"training.search_help.{search}"))
    budget, n_iter = None, 20
    if search != "none":
        left, right = st.columns(2)
        budget = left.number_input(
            t("training.budget"),
            min_value=0.0,
            value=60.0,
            step=10.0,
            key="train_budget",
            help=t("training.budget_help"),
        )
        n_iter = right.number_input(
            t("training.n_iter"), min_value=1, max_value=MAX_N_ITER, value=20, step=1, key="train_n_iter"
        )

    st.subheader(t("training.section.test"))
    left, right = st.columns(2)
    with left:
        test_pct = st.slider(t("training.test_size"), 10, 40, 20, 5, format="%d%%", key="train_test_size")
        st.caption(t("training.test_help"))
    with right:
        seed = st.number_input(t("training.seed"), min_value=0, max_value=2**32 - 1, value=0, step=1, key="train_seed")
        st.caption(t("training.seed_help"))

    if st.button(t("training.start"), type="primary", key="train_start", icon=":material/model_training:"):
        with user_errors():
            if not picked:
                names_shown = ", ".join(t(f"modeling.family.{f}") for f in families)
                raise InputError("modeling.no_families", choices=names_shown)
            if not metrics:
                raise InputError(
                    "modeling.no_metrics", choices=", ".join(t(f"planning.metric.{m}") for m in metric_options)
                )
            spec = TrainingSpec(
                target=target,
                features=tuple(features),
                families=tuple(picked),
                metrics=tuple(metrics),
                scheme=scheme,
                n_splits=int(n_splits),
                group_column=group_column,
                order_column=order_column,
                test_size=test_pct / 100,
                validation_size=validation_pct / 100,
                seed=int(seed),
                search=None if search == "none" else search,
                budget_s=None if budget is None else float(budget),
                n_iter=int(n_iter),
                recipe_id=recipe_id,
            )
            job_id = submit_training(
                engine=ws.engine,
                settings=ws.settings,
                project_id=project.id,
                version_id=version.id,
                spec=spec,
                actor_id=user.id or 0,
            )
            flash(t("training.started", job_id=job_id, models=len(picked)))
            st.rerun()


def latest_run() -> None:
    with session_scope(ws.engine) as s:
        runs = training_runs(session=s, project_id=project.id, version_id=version.id)
        if not runs:
            st.caption(t("training.no_runs_yet"))
            return
        run = runs[0]
        detail = run_detail(session=s, project_id=project.id, run_id=run.id)
        frame = list_runs(session=s, project_id=project.id, run_ids=[run.id], sort_by=run.metrics[0])
    st.subheader(t("training.latest", id=run.id, label=run.version_label))
    st.caption(
        t(
            "training.latest_caption",
            who=run.created_by,
            when=f"{run.created_at:%Y-%m-%d %H:%M}",
            train=run.n_train_rows,
            test=run.n_test_rows,
            unlabeled=run.n_unlabeled,
            seed=run.seed,
        )
    )
    best = detail.best()
    metric = run.metrics[0]
    st.success(
        t(
            "training.best",
            family=t(f"modeling.family.{best.family}"),
            metric=t(f"planning.metric.{metric}"),
            value=f"{best.mean.get(metric, float('nan')):.3f}",
        ),
        icon=":material/emoji_events:",
    )
    table = runs_table(frame, lang=lang())
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_order=["family", *run.metrics, "cv_seconds", "size_kb"],
        column_config={
            "family": t("experiments.col.family"),
            **{m: t(f"planning.metric.{m}") for m in run.metrics},
            "cv_seconds": st.column_config.NumberColumn(t("experiments.col.cv_seconds"), format="%.1f s"),
            "size_kb": st.column_config.NumberColumn(t("experiments.col.size_kb"), format="%.0f KB"),
        },
    )
    st.caption(t("training.mean_std_help"))
    left, right = st.columns(2)
    left.page_link("pages/experiments.py", label=t("training.go_experiments"), icon=":material/science:")
    right.page_link("pages/registry.py", label=t("training.go_registry"), icon=":material/inventory_2:")


if can_train:
    train_form()
else:
    role_notice("model.train")
jobs_panel(project.id, KINDS)  # right under the Train button: progress per model and fold, and Cancel
latest_run()
