"""Administration: accounts (create, role, disable, reset password) and project members."""

import streamlit as st

from mlcore.auth import (
    ROLES,
    create_user,
    generate_password,
    list_members,
    list_users,
    members_frame,
    set_member,
    set_password,
    update_user,
    users_frame,
)
from mlcore.store.engine import session_scope
from ui.i18n import t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, page_header, role_notice, show_flash, user_errors

page_header("admin.title", "admin.intro")
show_flash()
if not allowed("users.manage"):
    role_notice("users.manage")
    st.stop()
user = current_user()
engine = workspace().engine
role_labels = {r: t(f"role_name.{r}") for r in ROLES}

with session_scope(engine) as s:
    users = list_users(session=s)
st.subheader(t("admin.users"))
st.dataframe(
    users_frame(users, role_labels=role_labels),
    hide_index=True,
    width="stretch",
    column_config={
        "name": t("admin.col.name"),
        "display": t("admin.col.display"),
        "email": "E-mail",
        "role": t("admin.col.role"),
        "disabled": st.column_config.CheckboxColumn(t("admin.col.disabled")),
    },
)

left, right = st.columns(2)
with left, st.form("create_user"):
    st.subheader(t("admin.create"))
    name = st.text_input(t("admin.col.name"), max_chars=100, key="new_user_name")
    display = st.text_input(t("admin.col.display"), max_chars=200, key="new_user_display")
    email = st.text_input("E-mail", max_chars=300, key="new_user_email")
    role = st.selectbox(t("admin.col.role"), ROLES, format_func=role_labels.__getitem__, key="new_user_role")
    password = st.text_input(
        t("auth.password"), type="password", max_chars=200, key="new_user_password", help=t("admin.password_help")
    )
    if st.form_submit_button(t("admin.create_button"), type="primary"):
        done = False
        with user_errors(), session_scope(engine) as s:
            create_user(
                session=s, actor=user, name=name, role=role, password=password, display_name=display, email=email
            )
            done = True
        if done:
            flash(t("admin.created", name=name.strip()))
            st.rerun()

with right:
    st.subheader(t("admin.manage"))
    by_id = {u.id: u for u in users}
    pick = st.selectbox(t("admin.col.name"), list(by_id), format_func=lambda i: by_id[i].name, key="manage_pick")
    target = by_id[pick]
    with st.form(f"manage_{target.id}"):
        new_role = st.selectbox(
            t("admin.col.role"), ROLES, index=ROLES.index(target.role), format_func=role_labels.__getitem__
        )
        disabled = st.toggle(t("admin.col.disabled"), value=target.disabled)
        reason = st.text_input(t("admin.reason"), max_chars=500)
        if st.form_submit_button(t("admin.save")):
            done = False
            with user_errors(), session_scope(engine) as s:
                update_user(
                    session=s,
                    actor=user,
                    user_id=target.id,
                    expected_version=target.version,
                    role=new_role,
                    disabled=disabled,
                    reason=reason,
                )
                done = True
            if done:
                flash(t("admin.saved", name=target.name))
                st.rerun()
    if st.button(t("admin.reset_password"), key=f"reset_{target.id}"):
        new_password = generate_password()
        with user_errors(), session_scope(engine) as s:
            set_password(session=s, actor=user, user_id=target.id, password=new_password)
            st.success(t("admin.new_password", name=target.name))
            st.code(new_password, language=None)

project = current_project()
if project is not None:
    st.subheader(t("admin.members", project=project.name))
    with session_scope(engine) as s:
        members = list_members(session=s, project_id=project.id)
    st.dataframe(
        members_frame(members, role_labels=role_labels),
        hide_index=True,
        column_config={"name": t("admin.col.name"), "role": t("admin.col.role")},
    )
    c1, c2, c3 = st.columns([2, 2, 1])
    member = c1.selectbox(t("admin.col.name"), list(by_id), format_func=lambda i: by_id[i].name, key="member_pick")
    member_role = c2.selectbox(
        t("admin.col.role"),
        [*ROLES, None],
        key="member_role",
        format_func=lambda r: t("admin.remove") if r is None else role_labels[r],
    )
    if c3.button(t("admin.apply"), key="member_apply"):
        done = False
        with user_errors(), session_scope(engine) as s:
            set_member(session=s, actor=user, project_id=project.id, user_id=member, role=member_role)
            done = True
        if done:
            flash(t("admin.member_saved", name=by_id[member].name))
            st.rerun()
