"""Stage 8 · Predictions: dashboards of the stored prediction batches for readers without a technical
background — how many rows, how many flagged, the score distribution, filters, the highest-risk rows with
their reasons, one row's explanation, trends across batches and a spreadsheet-safe download."""

import streamlit as st

from mlcore.deploy.batch import BatchSummary
from mlcore.deploy.dashboard import (
    MAX_TOP,
    BatchInfo,
    PageCursor,
    RowDetail,
    RowFilter,
    RowsPage,
    TopRow,
    TrendPoint,
    batch_summary,
    batch_trend,
    get_batch,
    prediction_detail,
    prediction_page,
    rows_frame,
    segment_breakdown,
    top_predictions,
)
from mlcore.deploy.scoring import (
    batch_options,
    csv_bytes,
    detail_frame,
    histogram_figure,
    percent_text,
    report_messages,
    row_filter,
    score_bounds,
    segment_table,
    segment_values,
    source_text,
    top_frame,
    trend_figure,
)
from mlcore.markdown import md_escape
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import current_project, workspace
from ui.widgets import gate_banner, page_header, show_flash, user_errors

BATCH_KEY = "pred_batch"  # survive page changes (widget keys do not)
PAGES_KEY = "pred_pages"  # (batch id, filters) -> cursors of the pages seen so far
PAGE_SIZE = 50

page_header("predpage.title", "predpage.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("predpage.no_project"))
    st.stop()
gate_banner(project.id)
ws = workspace()
pid = project.id
L = lang()
ss = st.session_state

with session_scope(ws.engine) as s:
    options = batch_options(session=s, project_id=pid, lang=L)
if not options:
    st.info(t("predpage.no_batches"))
    st.page_link("pages/deployment.py", label=t("predpage.go_deployment"), icon=":material/rocket_launch:")
    st.stop()


# --------------------------------------------------------------------------- cached reads
# A complete batch never changes (a re-run becomes a new batch with a new id), so its id and completion
# time identify its content exactly.


@st.cache_data(max_entries=16, show_spinner=False)
def load_batch(batch_id: int, project_id: int) -> BatchInfo:
    with session_scope(ws.engine) as s:
        return get_batch(session=s, project_id=project_id, batch_id=batch_id)


@st.cache_data(max_entries=64, show_spinner=False)
def filtered_summary(batch_id: int, completed: str, key: str, _filters: RowFilter) -> BatchSummary:
    with session_scope(ws.engine) as s:
        return batch_summary(session=s, project_id=pid, batch_id=batch_id, filters=_filters)


@st.cache_data(max_entries=64, show_spinner=False)
def breakdown(batch_id: int, completed: str, segment: str, key: str, _filters: RowFilter) -> list:
    with session_scope(ws.engine) as s:
        return list(segment_breakdown(session=s, project_id=pid, batch_id=batch_id, segment=segment, filters=_filters))


@st.cache_data(max_entries=64, show_spinner=False)
def top_rows(batch_id: int, completed: str, n: int, key: str, language: str, _filters: RowFilter) -> list[TopRow]:
    with session_scope(ws.engine) as s:
        return list(top_predictions(session=s, project_id=pid, batch_id=batch_id, n=n, filters=_filters, lang=language))


@st.cache_data(max_entries=64, show_spinner=False)
def page_of(batch_id: int, completed: str, key: str, cursor: tuple[float, int] | None, _filters: RowFilter) -> RowsPage:
    after = PageCursor(*cursor) if cursor is not None else None
    with session_scope(ws.engine) as s:
        return prediction_page(
            session=s, project_id=pid, batch_id=batch_id, filters=_filters, page_size=PAGE_SIZE, after=after
        )


@st.cache_data(max_entries=32, show_spinner=False)
def detail_of(batch_id: int, completed: str, row_key: str, language: str) -> RowDetail:
    with session_scope(ws.engine) as s:
        return prediction_detail(session=s, project_id=pid, batch_id=batch_id, row_key=row_key, lang=language)


@st.cache_data(max_entries=8, show_spinner=False)
def trend(project_id: int, newest: int) -> list[TrendPoint]:
    with session_scope(ws.engine) as s:
        return list(batch_trend(session=s, project_id=project_id))


# --------------------------------------------------------------------------- which batch


def _remember(target: str, widget: str) -> None:
    ss[target] = ss[widget]


by_id = {o.id: o for o in options}
ids = list(by_id)
if ss.get(BATCH_KEY) not in by_id:
    ss[BATCH_KEY] = ids[0]
batch_id = st.selectbox(
    t("predpage.batch"),
    ids,
    index=ids.index(ss[BATCH_KEY]),
    format_func=lambda i: by_id[i].label,
    key="pred_batch_pick",
    on_change=_remember,
    args=(BATCH_KEY, "pred_batch_pick"),
    help=t("predpage.batch_help"),
)
batch = load_batch(batch_id, pid)
completed = batch.completed_at.isoformat() if batch.completed_at else ""
st.caption(
    t(
        "predpage.batch_caption",
        source=md_escape(source_text(batch, lang=L)),
        model=md_escape(by_id[batch_id].model_ref),
        who=md_escape(batch.created_by),
        when=batch.completed_at.strftime("%Y-%m-%d %H:%M") if batch.completed_at else "",
    )
)
outcome = batch.positive_class or ""
cols = st.columns(4)
cols[0].metric(t("predpage.rows"), f"{batch.n_rows:,}")
if batch.has_positive:
    cols[1].metric(
        t("predpage.share_positive", outcome=outcome),
        percent_text(batch.summary.share_positive, lang=L),
        help=t("predpage.share_positive_help", count=batch.summary.n_positive or 0),
    )
if batch.summary.mean_score is not None:
    cols[2].metric(t("predpage.mean_score"), f"{batch.summary.mean_score:.3f}")
if batch.threshold is not None:
    cols[3].metric(t("predpage.threshold"), f"{batch.threshold:.2f}", help=t("predpage.threshold_help"))
for message in report_messages(batch, lang=L):
    st.info(md_escape(message), icon=":material/info:")

# --------------------------------------------------------------------------- filters and the distribution

st.subheader(t("predpage.filters"))
filter_cols = st.columns(len(batch.segment_columns) + 2)
chosen: dict[str, list[str | None]] = {}
missing = t("deploy.segment.missing")
for i, name in enumerate(batch.segment_columns):
    chosen[name] = filter_cols[i].multiselect(
        name,
        list(segment_values(batch, name)),
        format_func=lambda v: missing if v is None else str(v),
        key=f"pred_seg_{batch.id}_{i}",
        placeholder=t("predpage.all_values"),
    )
low, high = score_bounds(batch)
score_range = (low, high)
if high > low:
    score_range = filter_cols[-2].slider(
        t("predpage.score_range"), low, high, (low, high), key=f"pred_range_{batch.id}", help=t("predpage.range_help")
    )
positive = None
if batch.has_positive:
    which = filter_cols[-1].selectbox(
        t("predpage.which"),
        ["all", "positive", "negative"],
        format_func={w: t(f"predpage.which.{w}", outcome=outcome) for w in ("all", "positive", "negative")}.__getitem__,
        key=f"pred_which_{batch.id}",
    )
    positive = None if which == "all" else which == "positive"
filters = row_filter(batch, segments=chosen, score_range=score_range, positive=positive)
fkey = repr(filters)
summary = batch.summary
with user_errors():
    summary = filtered_summary(batch.id, completed, fkey, filters)
if not filters.empty:
    st.caption(
        t(
            "predpage.filtered",
            shown=f"{summary.n_rows:,}",
            total=f"{batch.n_rows:,}",
            share=percent_text(summary.share_positive, lang=L),
        )
    )
st.markdown(t("predpage.distribution"))
st.plotly_chart(histogram_figure(summary, batch=batch, lang=L), key="pred_histogram")

if batch.segment_columns:
    st.subheader(t("predpage.segments"))
    segment = st.selectbox(t("predpage.segment_pick"), list(batch.segment_columns), key=f"pred_segment_{batch.id}")
    with user_errors():
        rows = breakdown(batch.id, completed, segment, fkey, filters)
        st.dataframe(segment_table(rows, batch=batch, lang=L), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- highest risk and one row

st.subheader(t("predpage.top_title"))
n_top = st.number_input(t("predpage.top_n"), min_value=1, max_value=MAX_TOP, value=20, step=10, key="pred_top_n")
top: list[TopRow] = []
with user_errors():
    top = top_rows(batch.id, completed, int(n_top), fkey, L, filters)
if top:
    st.dataframe(
        top_frame(top, batch=batch, lang=L),
        hide_index=True,
        width="stretch",
        column_config={
            "id": None,
            t("deploy.csv.score"): st.column_config.NumberColumn(format="%.3f"),
            t("deploy.csv.reasons"): st.column_config.TextColumn(width="large"),
        },
    )
    if not any(item.reasons_text for item in top):
        st.caption(t("predpage.no_reasons"))
else:
    st.info(t("predpage.no_rows"))

st.subheader(t("predpage.drill"))
left, right = st.columns(2)
keys = [item.row.row_key for item in top]
picked = left.selectbox(
    t("predpage.drill_pick"),
    ["", *keys],
    format_func={"": t("predpage.drill_none"), **{k: k for k in keys}}.__getitem__,
    key=f"pred_drill_pick_{batch.id}",
)
typed = right.text_input(t("predpage.drill_key"), key=f"pred_drill_key_{batch.id}", max_chars=300)
row_key = typed.strip() or picked
if row_key:
    with user_errors():
        detail = detail_of(batch.id, completed, row_key, L)
        row = detail.row
        lines = [t("predpage.detail_score", key=md_escape(row.row_key), score=f"{row.score:.3f}")]
        if row.label is not None:
            lines.append(t("predpage.detail_label", label=md_escape(row.label)))
        lines.append(t("predpage.detail_rank", share=percent_text(detail.share_below, lang=L)))
        st.markdown("  \n".join(lines))
        if detail.reasons_text:
            st.markdown(t("predpage.detail_reasons"))
            for reason in detail.reasons_text:
                st.markdown("- " + md_escape(reason))
        else:
            st.caption(t("predpage.no_reasons"))
        if detail.values or detail.probabilities:
            st.dataframe(detail_frame(detail, lang=L), hide_index=True, width="stretch")

# --------------------------------------------------------------------------- trend, all rows, download

st.subheader(t("predpage.trend_title"))
points = trend(pid, ids[0])
if len(points) >= 2:
    st.plotly_chart(trend_figure(points, lang=L), key="pred_trend")
else:
    st.caption(t("predpage.trend_one"))

st.subheader(t("predpage.table_title"))
page_key = f"{batch.id}|{fkey}"
cursors = ss.setdefault(PAGES_KEY, {}).setdefault(page_key, [None])
with user_errors():
    page = page_of(batch.id, completed, fkey, cursors[-1], filters)
    st.dataframe(
        rows_frame(page.rows, batch=batch, lang=L),
        hide_index=True,
        width="stretch",
        column_config={"id": None, t("deploy.csv.score"): st.column_config.NumberColumn(format="%.3f")},
    )
    first_row = (len(cursors) - 1) * PAGE_SIZE + 1
    st.caption(t("predpage.page_of", first=first_row, last=first_row + len(page.rows) - 1, total=f"{summary.n_rows:,}"))
    back, forward, _ = st.columns([1, 1, 4])
    if back.button(t("predpage.previous"), key="pred_prev", disabled=len(cursors) == 1):
        cursors.pop()
        st.rerun()
    if forward.button(t("predpage.next"), key="pred_next", disabled=page.next_cursor is None):
        assert page.next_cursor is not None
        cursors.append((page.next_cursor.score, page.next_cursor.id))
        st.rerun()

st.download_button(
    t("predpage.download"),
    data=lambda: csv_bytes(engine=ws.engine, project_id=pid, batch_id=batch.id, filters=filters, lang=L),
    file_name=f"predictions-{batch.id}.csv",
    mime="text/csv",
    on_click="ignore",
    key="pred_download",
    icon=":material/download:",
    help=t("predpage.download_help"),
)
