"""Stage 0 · Projects: create, choose, rename and archive projects."""

import streamlit as st

from mlcore.projects import (
    TASK_TYPES,
    ProjectCreate,
    create_project,
    edit_conflicts,
    projects_frame,
    set_archived,
    update_project,
)
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, projects, select_project, workspace
from ui.widgets import flash, page_header, role_notice, show_flash, user_errors

page_header("projects.title", "projects.intro")
show_flash()
task_labels = {v: t(f"task.{v}") for v in TASK_TYPES}
user = current_user()
engine = workspace().engine

show_archived = st.toggle(t("projects.show_archived"), key="projects_show_archived")
rows = projects(include_archived=show_archived)
if rows:
    st.dataframe(
        projects_frame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "name": t("projects.col.name"),
            "task_type": t("projects.col.task"),
            "owner": t("projects.col.owner"),
            "archived": st.column_config.CheckboxColumn(t("projects.col.archived")),
            "created_at": st.column_config.DatetimeColumn(t("projects.col.created"), format="YYYY-MM-DD"),
            "description": t("projects.col.description"),
        },
    )
else:
    st.info(t("projects.none_yet"))

left, right = st.columns(2)
if not allowed("project.create"):
    with left:
        st.subheader(t("projects.create"))
        role_notice("project.create")
else:
    with left, st.form("create_project"):
        st.subheader(t("projects.create"))
        name = st.text_input(t("projects.field.name"), max_chars=100, key="new_project_name")
        task = st.selectbox(
            t("projects.field.task"), TASK_TYPES, format_func=task_labels.__getitem__, key=f"new_project_task_{lang()}"
        )
        description = st.text_area(t("projects.field.description"), max_chars=5000, key="new_project_description")
        if st.form_submit_button(t("projects.create_button"), type="primary"):
            created_id = None
            with user_errors(), session_scope(engine) as s:
                created = create_project(
                    session=s, data=ProjectCreate(name=name, description=description, task_type=task), actor=user
                )
                created_id = created.id
            if created_id is not None:
                select_project(created_id)
                flash(t("projects.created", name=name.strip()))
                st.rerun()

project = current_project()
with right:
    if project is not None and not allowed("project.edit", project.id):
        st.subheader(project.name)
        role_notice("project.edit")
    elif project is not None:
        # The version the user started editing from: a save against it fails if someone saved since.
        base_key = f"edit_base_{project.id}"
        snapshot_key = f"edit_snapshot_{project.id}"
        if base_key not in st.session_state or f"edit_name_{project.id}" not in st.session_state:
            # a fresh form (or one just saved) starts from the current version
            st.session_state[base_key] = project.version
            st.session_state[snapshot_key] = {
                "name": project.name, "description": project.description, "task_type": project.task_type,
            }
        base_version = st.session_state[base_key]
        with st.form(f"edit_project_{project.id}"):
            st.subheader(t("projects.edit", name=project.name))
            new_name = st.text_input(
                t("projects.field.name"), value=project.name, max_chars=100, key=f"edit_name_{project.id}"
            )
            new_task = st.selectbox(
                t("projects.field.task"),
                TASK_TYPES,
                index=TASK_TYPES.index(project.task_type),
                format_func=task_labels.__getitem__,
                key=f"edit_task_{project.id}_{lang()}",
            )
            new_description = st.text_area(
                t("projects.field.description"),
                value=project.description,
                max_chars=5000,
                key=f"edit_description_{project.id}",
            )
            save = st.form_submit_button(t("projects.save"))
            archive = st.form_submit_button(t("projects.archive"))
        done = None
        if save:
            with user_errors(), session_scope(engine) as s:
                update_project(
                    session=s,
                    project_id=project.id,
                    expected_version=base_version,
                    data=ProjectCreate(name=new_name, description=new_description, task_type=new_task),
                    actor=user,
                )
                done = t("projects.saved")
        if archive:
            with user_errors(), session_scope(engine) as s:
                set_archived(session=s, project_id=project.id, expected_version=base_version, archived=True, actor=user)
                done = t("projects.archived", name=project.name)
        if done:
            st.session_state.pop(base_key, None)
            flash(done)
            st.rerun()
        if base_version != project.version:
            st.warning(t("projects.changed_meanwhile", version=project.version))
            st.dataframe(
                edit_conflicts(
                    started_from=st.session_state[snapshot_key],
                    now_saved=project,
                    mine={"name": new_name, "description": new_description, "task_type": new_task},
                ),
                hide_index=True,
                column_config={
                    "field": t("projects.conflict.field"),
                    "started_from": t("projects.conflict.started_from"),
                    "now_saved": t("projects.conflict.now_saved"),
                    "yours": t("projects.conflict.yours"),
                },
            )
            if st.button(t("projects.reload"), key=f"reload_{project.id}"):
                st.session_state.pop(base_key, None)
                for suffix in ("name", "description"):
                    st.session_state.pop(f"edit_{suffix}_{project.id}", None)
                st.session_state.pop(f"edit_task_{project.id}_{lang()}", None)
                st.rerun()
    archived = [p for p in rows if p.archived]
    if archived:
        st.subheader(t("projects.restore"))
        pick = st.selectbox(
            t("projects.archived_list"),
            [p.id for p in archived],
            format_func=lambda i: next(p.name for p in archived if p.id == i),
            key="restore_pick",
        )
        if st.button(t("projects.restore_button"), key="restore_button"):
            target = next(p for p in archived if p.id == pick)
            restored = False
            with user_errors(), session_scope(engine) as s:
                set_archived(
                    session=s, project_id=target.id, expected_version=target.version, archived=False, actor=user
                )
                restored = True
            if restored:
                flash(t("projects.restored", name=target.name))
                st.rerun()
