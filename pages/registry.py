"""Stage 5 · Model registry: register a trained model under a name, move it through its stages, export it."""

import streamlit as st

from mlcore.markdown import md_escape
from mlcore.modeling.tracking import (
    NOTES_MAX,
    PACKAGE_FILES,
    ModelVersionRecord,
    candidate_labels,
    export_package,
    list_registry,
    list_runs,
    package_filename,
    register_model,
    registry_frame,
    run_filter_choices,
    transition_stage,
)
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, page_header, role_notice, show_flash, user_errors

EXPORT_KEY = "registry_package"  # the prepared package survives reruns until another is prepared
ss = st.session_state

page_header("registry.title", "registry.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("registry.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
pid = project.id
with session_scope(ws.engine) as s:
    candidates = list_runs(session=s, project_id=pid)
    models = list_registry(session=s, project_id=pid)
can_register = allowed("model.register", pid)
can_promote = allowed("model.promote", pid)
can_export = allowed("model.export", pid)


def _stage(code: str) -> str:
    return t(f"tracking.stage.{code}")


# --------------------------------------------------------------------------- register

st.subheader(t("registry.register.title"))
if candidates.empty:
    st.info(t("registry.no_runs"))
    st.page_link("pages/training.py", label=t("registry.go_train"), icon=":material/model_training:")
elif not can_register:
    role_notice("model.register")
else:
    metrics = run_filter_choices(candidates).metrics
    with session_scope(ws.engine) as s:
        ranked = list_runs(session=s, project_id=pid, sort_by=metrics[0] if metrics else None)
    labels = candidate_labels(ranked, metric=metrics[0] if metrics else None, lang=lang())
    candidate_id = st.selectbox(
        t("registry.register.candidate"),
        list(labels),
        format_func=labels.__getitem__,
        key="reg_candidate",
        help=t("registry.register.candidate_help"),
    )
    left, right = st.columns([1, 2])
    name = left.text_input(
        t("registry.register.name"),
        max_chars=100,
        placeholder=t("registry.register.name_placeholder"),
        key="reg_name",
        help=t("registry.register.name_help"),
    )
    description = right.text_input(t("registry.register.description"), max_chars=NOTES_MAX, key="reg_description")
    if models:
        st.caption(t("registry.register.existing", names=md_escape(", ".join(m.name for m in models))))
    if st.button(t("registry.register.button"), type="primary", key="reg_register", icon=":material/bookmark_add:"):
        made = None
        with user_errors(), session_scope(ws.engine) as s:
            made = register_model(
                session=s,
                actor=user,
                project_id=pid,
                candidate_id=candidate_id,
                name=name,
                description=description,
            )
        if made is not None:  # committed: show it after the rerun
            flash(t("registry.register.done", ref=md_escape(made.ref)))
            st.rerun()

# --------------------------------------------------------------------------- registered models

st.subheader(t("registry.models.title"))
st.caption(t("registry.models.stages_help"))
if not models:
    st.info(t("registry.models.none"))
    st.stop()
for model in models:
    with st.container(border=True):
        st.markdown(f"#### {md_escape(model.name)}")
        if model.description:
            st.caption(md_escape(model.description))
        production = model.production
        if production is not None:
            st.success(
                t("registry.models.in_production", ref=md_escape(production.ref)), icon=":material/rocket_launch:"
            )
        else:
            st.caption(t("registry.models.no_production"))
        st.dataframe(
            registry_frame([model], lang=lang()),
            hide_index=True,
            width="stretch",
            column_order=[
                "ref",
                "stage",
                "family",
                "run_id",
                "metric",
                "value",
                "created_by",
                "created_at",
                "stage_changed_by",
                "stage_changed_at",
            ],
            column_config={
                "ref": t("registry.col.ref"),
                "stage": t("registry.col.stage"),
                "family": t("registry.col.family"),
                "run_id": st.column_config.NumberColumn(t("registry.col.run"), format="%d"),
                "metric": t("registry.col.metric"),
                "value": t("registry.col.value"),
                "created_by": t("registry.col.created_by"),
                "created_at": st.column_config.DatetimeColumn(t("registry.col.created_at"), format="YYYY-MM-DD HH:mm"),
                "stage_changed_by": t("registry.col.stage_changed_by"),
                "stage_changed_at": st.column_config.DatetimeColumn(
                    t("registry.col.stage_changed_at"), format="YYYY-MM-DD HH:mm"
                ),
            },
        )

versions: dict[int, ModelVersionRecord] = {v.id: v for m in models for v in m.versions}


def _version_label(version_id: int) -> str:
    """Without the stage: a label that changes under a picked option confuses the pick list."""
    v = versions[version_id]
    return t("registry.version_label", ref=v.ref, family=t(f"modeling.family.{v.family}"))


# --------------------------------------------------------------------------- change stage

st.subheader(t("registry.move.title"))
if not can_promote:
    role_notice("model.promote")
else:
    picked = st.selectbox(
        t("registry.move.version"), list(versions), format_func=_version_label, key="reg_move_version"
    )
    version = versions[picked]
    st.caption(t("registry.move.now", stage=_stage(version.stage)))
    if not version.next_stages:
        st.caption(t("registry.move.nowhere"))
    else:
        stage = st.radio(
            t("registry.move.to"),
            version.next_stages,
            format_func=_stage,
            horizontal=True,
            key=f"reg_move_stage_{version.id}_{version.stage}",
            help=t("registry.move.to_help"),
        )
        current = next((m.production for m in models if m.id == version.model_id), None)
        if stage == "production" and current is not None and current.id != version.id:
            st.warning(
                t("registry.move.replaces", ref=md_escape(version.ref), current=md_escape(current.ref)),
                icon=":material/swap_horiz:",
            )
        elif stage == "production":
            st.info(t("registry.move.one_production", name=md_escape(version.name)), icon=":material/info:")
        reason = st.text_input(
            t("registry.move.reason"),
            max_chars=NOTES_MAX,
            placeholder=t("registry.move.reason_placeholder"),
            key="reg_move_reason",
        )
        if st.button(
            t("registry.move.button", ref=version.ref, stage=_stage(stage)),
            type="primary",
            key="reg_move",
            icon=":material/move_up:",
        ):
            moved = None
            with user_errors(), session_scope(ws.engine) as s:
                moved = transition_stage(
                    session=s,
                    actor=user,
                    project_id=pid,
                    model_version_id=version.id,
                    stage=stage,
                    expected_version=version.version,
                    reason=reason,
                )
            if moved is not None:
                ss.pop("reg_move_reason", None)  # the reason belonged to this move
                flash(t("registry.move.done", ref=md_escape(moved.ref), stage=_stage(moved.stage)))
                st.rerun()

# --------------------------------------------------------------------------- export

st.subheader(t("registry.export.title"))
st.caption(t("registry.export.help", files=", ".join(PACKAGE_FILES)))
if not can_export:
    role_notice("model.export")
else:
    picked = st.selectbox(
        t("registry.export.version"), list(versions), format_func=_version_label, key="reg_export_version"
    )
    version = versions[picked]
    left, right = st.columns(2)
    intended_use = left.text_area(
        t("registry.export.intended_use"),
        max_chars=NOTES_MAX,
        placeholder=t("registry.export.intended_use_placeholder"),
        key="reg_export_use",
    )
    limitations = right.text_area(
        t("registry.export.limitations"),
        max_chars=NOTES_MAX,
        placeholder=t("registry.export.limitations_placeholder"),
        key="reg_export_limits",
    )
    if st.button(t("registry.export.prepare"), key="reg_export_prepare", icon=":material/package_2:"):
        with user_errors(), session_scope(ws.engine) as s:
            ss[EXPORT_KEY] = {
                "id": version.id,
                "file": package_filename(version.ref),
                "data": export_package(
                    session=s,
                    store=ws.store,
                    actor=user,
                    project_id=pid,
                    candidate_id=version.candidate_id,
                    lang=lang(),
                    title=version.ref,
                    intended_use=intended_use,
                    limitations=limitations,
                ),
            }
    package = ss.get(EXPORT_KEY)
    if package is not None and package["id"] == version.id:
        st.download_button(
            t("registry.export.download", file=package["file"], size=f"{len(package['data']) / 1024:,.0f}"),
            data=package["data"],
            file_name=package["file"],
            mime="application/zip",
            type="primary",
            key="reg_export_download",
            icon=":material/download:",
        )
