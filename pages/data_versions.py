"""Stage 2 · Dataset versions: every version of the project's data, its lineage, and downloads."""

import streamlit as st

from mlcore.data.lineage import build_lineage, lineage_figure
from mlcore.data.versions import columns_frame, list_versions, versions_frame
from mlcore.store.engine import session_scope
from ui.cache import version_csv, version_head, version_parquet
from ui.i18n import t
from ui.state import current_project, workspace
from ui.widgets import gate_banner, page_header

page_header("versions.title", "versions.intro")
project = current_project()
if project is None:
    st.info(t("import.no_project"))
    st.stop()
gate_banner(project.id)

with session_scope(workspace().engine) as s:
    versions = list_versions(session=s, project_id=project.id)
if not versions:
    st.info(t("versions.none"))
    st.page_link("pages/data_import.py", label=t("versions.go_import"), icon=":material/upload_file:")
    st.stop()

operations = {v.operation: t(f"operation.{v.operation}") for v in versions}
st.dataframe(
    versions_frame(versions, operation_labels=operations),
    hide_index=True,
    width="stretch",
    column_config={
        "id": None,
        "version": t("versions.col.version"),
        "rows": st.column_config.NumberColumn(t("versions.col.rows"), format="localized"),
        "columns": t("versions.col.columns"),
        "target": t("versions.col.target"),
        "parent": t("versions.col.parent"),
        "operation": t("versions.col.operation"),
        "sha256": st.column_config.TextColumn("SHA-256", width="small"),
        "created_by": t("versions.col.created_by"),
        "created_at": st.column_config.DatetimeColumn(t("versions.col.created_at"), format="YYYY-MM-DD HH:mm"),
    },
)

st.subheader(t("versions.lineage"))
st.caption(t("versions.lineage_help"))
st.plotly_chart(lineage_figure(build_lineage(versions), operation_labels=operations), width="stretch")

st.subheader(t("versions.details"))
by_id = {v.id: v for v in versions}
chosen = st.selectbox(t("versions.pick"), list(by_id), format_func=lambda i: by_id[i].label, key="version_pick")
version = by_id[chosen]
left, right = st.columns([2, 1])
with left:
    st.dataframe(version_head(version.sha256), width="stretch", height=260)
with right:
    st.markdown(
        t(
            "versions.summary",
            label=version.label,
            rows=version.n_rows,
            cols=version.n_cols,
            by=version.created_by,
            when=version.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            operation=operations[version.operation],
        )
    )
    st.code(version.sha256, language=None)
    st.dataframe(
        columns_frame(version),
        hide_index=True,
        column_config={"name": t("import.col.column"), "dtype": t("import.col.dtype"), "role": t("import.col.role")},
    )
    if version.recipe:
        with st.expander(t("versions.recipe")):
            st.json(version.recipe)
    base = f"{version.dataset}-v{version.number}"
    st.download_button(
        t("versions.download_csv"),
        data=lambda sha=version.sha256: version_csv(sha),
        file_name=f"{base}.csv",
        mime="text/csv",
        key="dl_csv",
        help=t("versions.csv_safe"),
    )
    st.download_button(
        t("versions.download_parquet"),
        data=lambda sha=version.sha256: version_parquet(sha),
        file_name=f"{base}.parquet",
        mime="application/octet-stream",
        key="dl_parquet",
    )
