"""Sign-in (local accounts, optionally OpenID Connect via ``st.login``), idle expiry and sign-out."""

from __future__ import annotations

import time

import streamlit as st

from mlcore.auth import authenticate, user_for_identity
from mlcore.errors import MLCoreError
from mlcore.i18n import LANGUAGES
from mlcore.store.engine import session_scope
from mlcore.store.models import User
from ui.i18n import t
from ui.widgets import show_error

USER_KEY = "user_id"
SEEN_KEY = "last_seen"


def _workspace():  # late import: ui.state imports this module
    from ui.state import workspace

    return workspace()


def sso_configured() -> bool:
    """Whether an ``[auth]`` section exists in ``.streamlit/secrets.toml``."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, AttributeError, Exception):  # no secrets file at all
        return False


def _start(user: User) -> None:
    st.session_state.clear()
    st.session_state[USER_KEY] = user.id
    st.session_state[SEEN_KEY] = time.time()
    if user.language in LANGUAGES:
        st.session_state["lang"] = user.language


def sign_out(message_key: str | None = None) -> None:
    st.session_state.clear()
    if message_key:
        st.session_state["_signin_notice"] = message_key


def signed_in_user() -> User | None:
    """The signed-in, still enabled user, or ``None``; signs out after the configured idle time."""
    user_id = st.session_state.get(USER_KEY)
    if user_id is None:
        return _sso_user()
    idle = _workspace().settings.session_idle_minutes * 60
    if time.time() - st.session_state.get(SEEN_KEY, 0) > idle:
        sign_out("auth.expired")
        return None
    with session_scope(_workspace().engine) as s:
        user = s.get(User, user_id)
    if user is None or user.disabled:
        sign_out("auth.disabled")
        return None
    st.session_state[SEEN_KEY] = time.time()
    return user


def _sso_user() -> User | None:
    if not sso_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    try:
        with session_scope(_workspace().engine) as s:
            user = user_for_identity(session=s, email=str(st.user.get("email", "")))
    except MLCoreError as exc:
        show_error(exc)
        return None
    _start(user)
    return user


def sign_in_page() -> None:
    """The sign-in form (and the single sign-on button when configured)."""
    st.title(t("auth.title"))
    notice = st.session_state.pop("_signin_notice", None)
    if notice:
        st.info(t(notice))
    with st.form("sign_in"):
        name = st.text_input(t("auth.name"), key="signin_name", max_chars=100)
        password = st.text_input(t("auth.password"), type="password", key="signin_password", max_chars=200)
        submitted = st.form_submit_button(t("auth.submit"), type="primary")
    if submitted:
        user = None
        try:
            user = authenticate(engine=_workspace().engine, name=name, password=password)
        except MLCoreError as exc:
            show_error(exc)
        if user is not None:
            _start(user)
            st.rerun()
    if sso_configured():
        st.divider()
        if st.button(t("auth.sso"), key="sso_login"):
            st.login()
    st.caption(t("auth.help"))
