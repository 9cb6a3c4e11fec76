"""Stage 2 · Import data: upload a file, run a SQL query or generate synthetic data, then save a version."""

from pathlib import Path

import streamlit as st

from mlcore.data import ingest
from mlcore.data.imports import (
    ImportTarget,
    read_role_choices,
    role_editor_frame,
    stage_upload,
    submit_import,
    target_candidates,
)
from mlcore.errors import MLCoreError
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import gate_banner, jobs_panel, page_header, role_notice, show_error, show_flash, user_errors

page_header("import.title", "import.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("import.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
IMPORT_KINDS = ("import_file", "import_synthetic")
role_labels = {r: t(f"role.{r}") for r in ingest.ROLES}
upload_round = st.session_state.setdefault("upload_round", 0)


def choose_and_save(preview: ingest.Preview, *, key: str, default_name: str, staged: dict) -> None:
    """Preview, role editor, target and name, then the save button (starts an import job)."""
    src = preview.source
    st.caption(
        t("import.source", format=src.format, encoding=src.encoding or "—", delimiter=repr(src.delimiter or "—"))
    )
    st.dataframe(preview.frame, hide_index=True, width="stretch", height=240)
    for problem in preview.problems:
        st.warning(t(problem.key, **problem.params), icon=":material/warning:")
    st.markdown(t("import.roles_help"))
    edited = st.data_editor(
        role_editor_frame(preview),
        key=f"roles_{key}",
        hide_index=True,
        width="stretch",
        disabled=["column", "dtype", "missing", "distinct", "examples"],
        column_config={
            "column": t("import.col.column"),
            "role": st.column_config.SelectboxColumn(
                t("import.col.role"),
                options=list(ingest.ROLES),
                format_func=role_labels.__getitem__,
                help=t("import.roles_tooltip"),
            ),
            "drop": st.column_config.CheckboxColumn(t("import.col.drop")),
            "dtype": t("import.col.dtype"),
            "missing": t("import.col.missing"),
            "distinct": t("import.col.distinct"),
            "examples": t("import.col.examples"),
        },
    )
    choices = read_role_choices(preview, edited)
    targets = target_candidates(preview, choices)
    no_target = t("import.no_target")
    target = st.selectbox(
        t("import.target"),
        [None, *targets],
        format_func=lambda c: no_target if c is None else c,
        key=f"target_{key}_{lang()}",
    )
    name = st.text_input(t("import.dataset_name"), value=default_name, max_chars=100, key=f"name_{key}")
    for problem in choices.unresolved:
        st.error(
            t("import.unresolved", column=problem.column or "?", problem=t(problem.key, **problem.params)),
            icon=":material/block:",
        )
    if st.button(t("import.save"), type="primary", key=f"save_{key}", disabled=bool(choices.unresolved)):
        with user_errors():
            job_id = submit_import(
                engine=ws.engine,
                settings=ws.settings,
                where=ImportTarget(
                    project_id=project.id, dataset_name=name, target=target, roles=choices.roles, drop=choices.drop
                ),
                actor_id=user.id or 0,
                **staged,
            )
            st.session_state.pop(f"staged_{key}", None)
            st.session_state["upload_round"] = upload_round + 1  # a fresh, empty uploader
            st.session_state["_flash"] = t("import.started", job_id=job_id)
            st.rerun()


if not allowed("dataset.import", project.id):
    role_notice("dataset.import")
    jobs_panel(project.id, IMPORT_KINDS)
    st.stop()

tab_file, tab_sql, tab_synth = st.tabs([t("import.tab.file"), t("import.tab.sql"), t("import.tab.synthetic")])

with tab_file:
    upload = st.file_uploader(
        t("import.upload"),
        type=["csv", "tsv", "txt", "parquet", "xlsx"],
        key=f"upload_file_{upload_round}",
        help=t("import.upload_help", limit_mb=ws.settings.limits.max_upload_bytes // (1024 * 1024)),
    )
    if upload is not None:
        staged_key = f"staged_{upload.file_id}"
        try:
            if staged_key not in st.session_state:
                st.session_state[staged_key] = str(
                    stage_upload(settings=ws.settings, stream=upload, filename=upload.name)
                )
            staged_path = Path(st.session_state[staged_key])
            preview = ingest.preview_file(staged_path, filename=upload.name, limits=ws.settings.limits)
        except MLCoreError as exc:
            show_error(exc)
        else:
            choose_and_save(
                preview,
                key=upload.file_id,
                default_name=upload.name.rsplit(".", 1)[0][:100],
                staged={"staged_path": staged_path, "filename": upload.name},
            )

with tab_sql:
    st.markdown(t("import.sql_help"))
    url = st.text_input(t("import.sql_url"), placeholder="sqlite:///path/to/file.db", key="sql_url", type="password")
    query = st.text_area(t("import.sql_query"), placeholder="SELECT * FROM customers", key="sql_query")
    if st.button(t("import.sql_preview"), key="sql_preview"):
        st.session_state["sql_ready"] = (url, query)
    if st.session_state.get("sql_ready") == (url, query) and url and query:
        try:
            preview = ingest.preview_sql(url, query, limits=ws.settings.limits)
        except MLCoreError as exc:
            show_error(exc)
        else:
            choose_and_save(preview, key="sql", default_name="sql_import", staged={"sql": (url, query)})

with tab_synth:
    st.markdown(t("import.synthetic_help"))
    rows = st.number_input(
        t("import.synthetic_rows"), min_value=100, max_value=2_000_000, value=20_000, step=1000, key="synth_rows"
    )
    seed = st.number_input(t("import.synthetic_seed"), min_value=0, max_value=2**31 - 1, value=0, key="synth_seed")
    synth_name = st.text_input(t("import.dataset_name"), value="churn_synthetic", max_chars=100, key="synth_name")
    if st.button(t("import.synthetic_generate"), type="primary", key="synth_go"):
        with user_errors():
            job_id = submit_import(
                engine=ws.engine,
                settings=ws.settings,
                where=ImportTarget(project_id=project.id, dataset_name=synth_name, target="churned"),
                actor_id=user.id or 0,
                synthetic={"n_rows": int(rows), "random_state": int(seed)},
            )
            st.session_state["_flash"] = t("import.started", job_id=job_id)
            st.rerun()

jobs_panel(project.id, IMPORT_KINDS)
