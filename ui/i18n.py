"""``t()``: translate a catalog key into the language chosen in the sidebar."""

from __future__ import annotations

from typing import Any

import streamlit as st

from mlcore.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate


def lang() -> str:
    value = st.session_state.get("lang", DEFAULT_LANGUAGE)
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def t(key: str, /, **params: Any) -> str:
    return translate(key, lang(), **params)
