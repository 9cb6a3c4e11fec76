"""Make sure every page runs inside ``app.py``'s router (sidebar, navigation, error boundary).

Because the page files live in ``pages/``, Streamlit starts in its legacy
"pages directory" mode and may run a deep-linked page on its own, without
``app.py``. A page that notices this switches the legacy mode off and runs
the router itself (which then runs the page), so nothing is lost, not even
the click that started this run.
"""

from __future__ import annotations

import runpy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

_ROUTED: set[str] = set()
_APP = Path(__file__).resolve().parent.parent / "app.py"


def _session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else ""


@contextmanager
def routing() -> Iterator[None]:
    """Mark this script run as going through the router (used by ``app.py`` around ``page.run()``)."""
    sid = _session_id()
    _ROUTED.add(sid)
    try:
        yield
    finally:
        _ROUTED.discard(sid)


def ensure_routed() -> None:
    """Called first by every page: if the router did not start this run, run it now and stop here."""
    if _session_id() in _ROUTED:
        return
    PagesManager.uses_pages_directory = False
    runpy.run_path(str(_APP), run_name="__main__")
    st.stop()
