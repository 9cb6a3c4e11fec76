"""Cached accessors keyed by content hash (artifacts are immutable, so the cache is exact)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

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
