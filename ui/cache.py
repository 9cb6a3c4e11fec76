"""Cached accessors keyed by content hash (artifacts are immutable, so the cache is exact)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pyarrow as pa
import streamlit as st

from mlcore.data.understanding import (
    VersionOverview,
    describe_version,
    read_profile_html,
    relation_chart,
    sandboxed_html,
)
from mlcore.data.versions import export_csv
from ui.state import workspace


@st.cache_data(max_entries=8, show_spinner=False)
def version_csv(sha256: str) -> bytes:
    return export_csv(workspace().store.read_table(sha256))


@st.cache_data(max_entries=8, show_spinner=False)
def version_parquet(sha256: str) -> bytes:
    return workspace().store.read_bytes(sha256)


@st.cache_data(max_entries=16, show_spinner=False)
def version_head(sha256: str, n: int = 100) -> pd.DataFrame:
    table = workspace().store.read_table(sha256)
    return table.slice(0, n).to_pandas()


# --- data understanding (stage 2) -------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner=False)
def version_table(sha256: str) -> pa.Table:
    """The version's data as Arrow; shared, not copied, because an Arrow table cannot be changed."""
    return workspace().store.read_table(sha256)


@st.cache_data(max_entries=4, show_spinner=False)
def version_frame(sha256: str) -> pd.DataFrame:
    return version_table(sha256).to_pandas()


@st.cache_data(max_entries=8, show_spinner=False)
def version_overview(
    sha256: str, roles: tuple[tuple[str, str], ...], target: str | None, task_type: str
) -> VersionOverview:
    """Overview, distributions and relation to the target of a version (roles and target are part of the key)."""
    return describe_version(version_frame(sha256), roles=dict(roles), target=target, task_type=task_type)


@st.cache_data(max_entries=64, show_spinner=False)
def relation_figure(sha256: str, feature: str, target: str, task_type: str, role: str | None, lang: str) -> go.Figure:
    return relation_chart(version_frame(sha256), feature, target=target, task_type=task_type, role=role, lang=lang)


@st.cache_data(max_entries=4, show_spinner=False)
def profile_html(html_sha256: str) -> str:
    return read_profile_html(store=workspace().store, html_sha256=html_sha256)


@st.cache_data(max_entries=4, show_spinner=False)
def profile_frame(html_sha256: str, title: str) -> str:
    """The report wrapped for display: its scripts run sandboxed, away from the app."""
    return sandboxed_html(profile_html(html_sha256), title=title)
