"""Stage 7 · Interpretation: SHAP explanations of a model (global, one row, what-if) and domain experts'
judgement of whether each learned effect makes sense."""

from datetime import date
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from mlcore.errors import ConflictError, MLCoreError
from mlcore.markdown import md_escape
from mlcore.modeling.explain import DEFAULT_MAX_ROWS, Explanation
from mlcore.modeling.explain_records import (
    COMMENT_MAX,
    MAX_ROWS_LIMIT,
    REVIEW_FEATURES,
    VERDICTS,
    ExplanationRecord,
    LocalView,
    WhatIfField,
    WhatIfView,
    contributions_frame,
    data_choices,
    explained_model,
    find_explanation,
    find_rows,
    list_explanations,
    list_reviews,
    local_view,
    lookup_modes,
    model_choices,
    open_concerns,
    prediction_shortlist,
    read_explanation,
    request_explanation,
    review_features,
    review_history,
    reviews_frame,
    row_identifiers,
    row_label,
    save_review,
    what_if_changes,
    what_if_fields,
    what_if_view,
)
from mlcore.modeling.explain_views import (
    beeswarm_figure,
    dependence_figure,
    dependence_frame,
    figure_labels,
    importance_figure,
    importance_frame,
    waterfall_figure,
)
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_error, show_flash, user_errors

KINDS = ("explain",)
MODEL_KEY = "interpret_model"  # survive page changes (widget keys do not)
DATA_KEY = "interpret_data"
ROWS_KEY = "interpret_max_rows"
EARLIER_KEY = "interpret_earlier"
ROW_KEY = "interpret_row"  # (explanation id, row id)
WHATIF_KEY = "interpret_whatif"  # (explanation id, row id, changes)
TAB_KEY = "interpret_tab"
VERDICT_LABELS = {v: t(f"interpret.verdict.{v}") for v in VERDICTS}

page_header("interpret.title", "interpret.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("interpret.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
ws = workspace()
pid = project.id
L = lang()
ss = st.session_state

with session_scope(ws.engine) as s:
    models = model_choices(session=s, project_id=pid, lang=L)
if not models:
    st.info(t("interpret.no_models"))
    st.page_link("pages/training.py", label=t("interpret.go_training"), icon=":material/model_training:")
    st.stop()


# --------------------------------------------------------------------------- cached reads (by content hash)


@st.cache_resource(max_entries=4, show_spinner=False)
def stored_explanation(sha256: str, _record: ExplanationRecord) -> Explanation:
    """Shared, not copied: an explanation is never changed once read."""
    return read_explanation(store=ws.store, record=_record)


@st.cache_resource(max_entries=2, show_spinner=False)
def stored_model(model_sha256: str, _record: ExplanationRecord) -> Any:
    with session_scope(ws.engine) as s:
        return explained_model(session=s, store=ws.store, record=_record)


@st.cache_data(max_entries=4, show_spinner=False)
def identifiers_of(version_sha256: str, _record: ExplanationRecord) -> Any:
    return row_identifiers(store=ws.store, record=_record)


@st.cache_data(max_entries=8, show_spinner=False)
def importance_fig(sha256: str, language: str, _record: ExplanationRecord) -> go.Figure:
    return importance_figure(stored_explanation(sha256, _record), labels=figure_labels(language))


@st.cache_data(max_entries=8, show_spinner=False)
def beeswarm_fig(sha256: str, language: str, _record: ExplanationRecord) -> go.Figure:
    return beeswarm_figure(stored_explanation(sha256, _record), labels=figure_labels(language), lang=language)


@st.cache_data(max_entries=32, show_spinner=False)
def dependence_fig(
    sha256: str, feature: str, language: str, _record: ExplanationRecord
) -> tuple[go.Figure, str | None]:
    dependence = dependence_frame(stored_explanation(sha256, _record), feature, lang=language)
    return dependence_figure(dependence, labels=figure_labels(language)), dependence.colour_feature


@st.cache_resource(max_entries=32, show_spinner=False)
def row_view(sha256: str, row: Any, language: str, _record: ExplanationRecord) -> LocalView:
    return local_view(stored_explanation(sha256, _record), row, record=_record, lang=language)


@st.cache_data(max_entries=32, show_spinner=False)
def waterfall_fig(sha256: str, row: Any, language: str, _view: LocalView) -> go.Figure:
    return waterfall_figure(_view.local, labels=figure_labels(language), lang=language)


@st.cache_resource(max_entries=16, show_spinner=False)
def what_if_result(
    sha256: str, row: Any, changes: tuple[tuple[str, Any], ...], language: str, _record: ExplanationRecord
) -> WhatIfView:
    explanation = stored_explanation(sha256, _record)
    model = stored_model(_record.model_sha256, _record)
    return what_if_view(model, explanation, row, dict(changes), record=_record, lang=language)


# --------------------------------------------------------------------------- what to explain


def _remember(target: str, widget: str) -> None:
    ss[target] = ss[widget]


by_key = {m.key: m for m in models}
if ss.get(MODEL_KEY) not in by_key:
    ss[MODEL_KEY] = models[0].key
model_keys = list(by_key)
chosen_key = st.selectbox(
    t("interpret.model_pick"),
    model_keys,
    index=model_keys.index(ss[MODEL_KEY]),
    format_func=lambda k: by_key[k].label,
    key="interpret_model_pick",
    on_change=_remember,
    args=(MODEL_KEY, "interpret_model_pick"),
    help=t("interpret.model_pick_help"),
)
model = by_key[chosen_key]
candidate_id = model.candidate_id
with session_scope(ws.engine) as s:
    datas = data_choices(session=s, project_id=pid, candidate_id=candidate_id, lang=L)
data_by_key = {d.key: d for d in datas}
if ss.get(DATA_KEY) not in data_by_key:
    ss[DATA_KEY] = datas[0].key
data_keys = list(data_by_key)
left, right = st.columns([3, 1])
data_key = left.selectbox(
    t("interpret.data_pick"),
    data_keys,
    index=data_keys.index(ss[DATA_KEY]),
    format_func=lambda k: data_by_key[k].label,
    key="interpret_data_pick",
    on_change=_remember,
    args=(DATA_KEY, "interpret_data_pick"),
    help=t("interpret.data_pick_help"),
)
data = data_by_key[data_key]
if ROWS_KEY not in ss:
    ss[ROWS_KEY] = DEFAULT_MAX_ROWS
max_rows = right.number_input(
    t("interpret.max_rows"),
    min_value=1,
    max_value=MAX_ROWS_LIMIT,
    value=int(ss[ROWS_KEY]),
    step=500,
    key="interpret_rows_pick",
    on_change=_remember,
    args=(ROWS_KEY, "interpret_rows_pick"),
    help=t("interpret.max_rows_help", limit=MAX_ROWS_LIMIT),
)
settings = dict(
    project_id=pid, candidate_id=candidate_id, version_id=data.version_id, subset=data.subset, max_rows=int(max_rows)
)
record: ExplanationRecord | None = None
with user_errors(), session_scope(ws.engine) as s:
    record = find_explanation(session=s, **settings)

can_explain = allowed("interpret.explain", pid)
if can_explain:
    if st.button(
        t("interpret.compute"),
        type="primary" if record is None else "secondary",
        key="interpret_compute",
        icon=":material/psychology:",
        help=t("interpret.compute_help"),
    ):
        with user_errors():
            request = request_explanation(engine=ws.engine, settings=ws.settings, actor_id=user.id or 0, **settings)
            if request.record is not None:
                flash(t("interpret.cached", when=f"{request.record.created_at:%Y-%m-%d %H:%M}"))
            else:
                flash(t("interpret.started", job_id=request.job_id))
            st.rerun()
else:
    role_notice("interpret.explain")
jobs_panel(pid, KINDS)

if record is None:
    with session_scope(ws.engine) as s:
        earlier = list_explanations(session=s, project_id=pid, candidate_id=candidate_id)
    if not earlier:
        st.info(t("interpret.none_yet"))
        st.stop()
    st.info(t("interpret.none_for_settings"))
    earlier_by_id = {e.id: e for e in earlier}
    picked = st.selectbox(
        t("interpret.earlier_pick"),
        list(earlier_by_id),
        format_func=lambda i: earlier_by_id[i].summary(L),
        key="interpret_earlier_pick",
    )
    record = earlier_by_id[picked]
assert record is not None
sha = record.artifact_sha256
explanation = stored_explanation(sha, record)
st.success(record.summary(L), icon=":material/insights:")
with st.expander(t("interpret.guide_title")):
    st.markdown(t("explain.guide.what"))
    st.markdown(t("explain.guide.not_causal"))
    if record.task_type == "classification":
        st.markdown(t("explain.guide.points"))

tab_global, tab_local, tab_whatif, tab_review = st.tabs(
    [t("interpret.tab.global"), t("interpret.tab.local"), t("interpret.tab.whatif"), t("interpret.tab.review")],
    key=TAB_KEY,
    on_change="rerun",
)


# --------------------------------------------------------------------------- global view


def global_tab() -> None:
    assert record is not None
    st.caption(t("explain.guide.importance"))
    st.plotly_chart(importance_fig(sha, L, record), width="stretch", key="interpret_importance")
    st.caption(t("explain.guide.beeswarm"))
    st.plotly_chart(beeswarm_fig(sha, L, record), width="stretch", key="interpret_beeswarm")
    st.subheader(t("interpret.global.dependence"))
    features = importance_frame(explanation)["feature"].tolist()
    feature = st.selectbox(t("interpret.global.feature"), features, key=f"interpret_dep_{record.id}")
    figure, colour = dependence_fig(sha, str(feature), L, record)
    st.caption(t("explain.guide.dependence"))
    if colour is not None:
        st.caption(t("interpret.global.colour", feature=md_escape(colour)))
    else:
        st.caption(t("interpret.global.no_colour"))
    st.plotly_chart(figure, width="stretch", key="interpret_dependence")


# --------------------------------------------------------------------------- local view


def _identifiers() -> Any:
    assert record is not None
    return identifiers_of(record.version_sha256, record) if record.duplicate_id_column else None


def _current_row() -> Any:
    """The row picked on this explanation, or the one with the highest prediction."""
    assert record is not None
    saved = ss.get(ROW_KEY)
    if saved is not None and saved[0] == record.id and saved[1] in explanation.values.index:
        return saved[1]
    shortlist = prediction_shortlist(explanation, record=record, n=1, lang=L)
    return shortlist.highest[0].row_id


def _show_row(view: LocalView, row: Any) -> None:
    assert record is not None
    c1, c2 = st.columns(2)
    c1.metric(t("interpret.local.prediction"), view.prediction_text)
    c2.metric(t("interpret.local.average"), view.base_text)
    st.markdown(view.sentence)
    st.plotly_chart(
        waterfall_fig(sha, row, L, view)
        if row is not None
        else waterfall_figure(view.local, labels=figure_labels(L), lang=L),
        width="stretch",
        key=f"interpret_waterfall_{'row' if row is not None else 'whatif'}",
    )
    with st.expander(t("interpret.local.table")):
        st.dataframe(
            contributions_frame(view.local, lang=L),
            hide_index=True,
            width="stretch",
            column_config={
                "feature": t("interpret.col.feature"),
                "value": t("interpret.col.value"),
                "effect": t("interpret.col.effect"),
            },
        )


def local_tab() -> None:
    assert record is not None
    st.caption(t("explain.guide.waterfall"))
    identifiers = _identifiers()
    column = record.id_column or record.duplicate_id_column or ""
    modes = {m: t(f"interpret.lookup.{m}", column=column) for m in ("list", *lookup_modes(record))}
    mode = st.radio(
        t("interpret.local.find"),
        list(modes),
        format_func=modes.__getitem__,
        horizontal=True,
        key="interpret_lookup",
    )
    if record.duplicate_id_column:
        st.caption(t("interpret.local.duplicates", column=md_escape(record.duplicate_id_column)))
    row = _current_row()
    if mode == "list":
        shortlist = prediction_shortlist(explanation, record=record, identifiers=identifiers, n=10, lang=L)
        sides = {x: t(f"interpret.local.{x}") for x in ("highest", "lowest")}
        side = st.radio(
            t("interpret.local.side"),
            list(sides),
            format_func=sides.__getitem__,
            horizontal=True,
            key="interpret_side",
        )
        options = shortlist.highest if side == "highest" else shortlist.lowest
        labels = {i: o.label for i, o in enumerate(options)}
        picked = st.selectbox(
            t("interpret.local.pick"), list(labels), format_func=labels.__getitem__, key=f"interpret_pick_{side}"
        )
        if st.button(t("interpret.local.show"), key="interpret_show_listed"):
            ss[ROW_KEY] = (record.id, options[int(picked)].row_id)
            st.rerun()
    else:
        with st.form("interpret_find_form", border=False):
            query = st.text_input(
                modes[mode],
                key=f"interpret_query_{mode}",
                max_chars=200,
            )
            go_find = st.form_submit_button(t("interpret.local.find_button"), key="interpret_find")
        if go_find:
            try:
                found = find_rows(explanation, query, by=mode, record=record, identifiers=identifiers)
            except MLCoreError as exc:
                show_error(exc)
            else:
                ss[ROW_KEY] = (record.id, found[0])
                if len(found) > 1:
                    ss["interpret_found"] = found
                st.rerun()
        found_many = ss.get("interpret_found")
        if found_many and row in found_many:
            names = {i: row_label(r, record=record, identifiers=identifiers, lang=L) for i, r in enumerate(found_many)}
            st.warning(t("interpret.local.several", count=len(found_many)), icon=":material/content_copy:")
            which = st.radio(
                t("interpret.local.which"), list(names), format_func=names.__getitem__, key="interpret_which"
            )
            if found_many[int(which)] != row:
                ss[ROW_KEY] = (record.id, found_many[int(which)])
                st.rerun()
    st.subheader(row_label(row, record=record, identifiers=identifiers, lang=L))
    _show_row(row_view(sha, row, L, record), row)


# --------------------------------------------------------------------------- what-if


def _field_input(field: WhatIfField, key: str) -> Any:
    help_text = field.seen or None
    if field.kind == "number" and field.integral:
        whole = None if field.value is None else int(round(float(str(field.value))))
        return st.number_input(field.feature, value=whole, step=1, format="%d", key=key, help=help_text)
    if field.kind == "number":
        return st.number_input(field.feature, value=field.value, step=field.step, key=key, help=help_text)
    if field.kind == "date":
        return st.date_input(
            field.feature,
            value=field.value,
            min_value=date(1900, 1, 1),
            max_value=date(2100, 12, 31),
            key=key,
            help=help_text,
        )
    options = list(field.options)
    index = options.index(field.value) if field.value in options else None
    return st.selectbox(field.feature, options, index=index, key=key, help=help_text)


def whatif_tab() -> None:
    assert record is not None
    st.caption(t("explain.guide.what_if"))
    identifiers = _identifiers()
    row = _current_row()
    st.markdown(
        t("interpret.whatif.row", row=md_escape(row_label(row, record=record, identifiers=identifiers, lang=L)))
    )
    fields = what_if_fields(explanation, row, lang=L)
    prefix = f"interpret_wi_{record.id}_{row}"
    with st.form(f"{prefix}_form"):
        columns = st.columns(3)
        values: dict[str, Any] = {}
        for i, field in enumerate(fields):
            with columns[i % 3]:
                values[field.feature] = _field_input(field, f"{prefix}_{i}")
        choices = [f.feature for f in fields if f.kind == "choice"]
        if choices:
            st.caption(t("interpret.whatif.other_help"))
            c1, c2 = st.columns(2)
            names = {None: "—", **{c: c for c in choices}}
            other_feature = c1.selectbox(
                t("interpret.whatif.other_feature"), list(names), format_func=names.__getitem__, key=f"{prefix}_of"
            )
            other_value = c2.text_input(t("interpret.whatif.other_value"), key=f"{prefix}_ov", max_chars=200)
            if other_feature is not None and other_value.strip():
                values[str(other_feature)] = other_value
        submitted = st.form_submit_button(t("interpret.whatif.run"), type="primary", key="interpret_whatif_run")
    if submitted:
        changes = what_if_changes(fields, values)
        if not changes:
            ss.pop(WHATIF_KEY, None)
            st.info(t("interpret.whatif.no_change"))
        else:
            ss[WHATIF_KEY] = (record.id, row, tuple(sorted(changes.items())))
    saved = ss.get(WHATIF_KEY)
    if saved is None or saved[0] != record.id or saved[1] != row:
        return
    try:
        view = what_if_result(sha, row, saved[2], L, record)
    except MLCoreError as exc:
        show_error(exc)
        return
    changed = ", ".join(f"{md_escape(str(k))} = {md_escape(str(v))}" for k, v in saved[2])
    st.markdown(t("interpret.whatif.changed", changes=changed))
    c1, c2 = st.columns(2)
    c1.metric(t("interpret.whatif.before"), view.before_text)
    c2.metric(t("interpret.whatif.after"), view.after_text, delta=view.change_text, delta_color="off")
    for warning in view.warnings:
        st.warning(warning, icon=":material/warning:")
    _show_row(view.view, None)


# --------------------------------------------------------------------------- expert review


def _review_form(feature: str, mine: Any) -> None:
    verdict_key = f"interpret_verdict_{candidate_id}_{feature}"
    comment_key = f"interpret_comment_{candidate_id}_{feature}"
    version_key = f"interpret_version_{candidate_id}_{feature}"  # the saved version the expert started from
    # Filled from the saved review when the form appears; afterwards the widgets keep what the expert typed
    # (also after a refused save, so nothing typed is lost).
    if verdict_key not in ss or comment_key not in ss:
        ss[verdict_key] = mine.verdict if mine is not None else None
        ss[comment_key] = mine.comment if mine is not None else ""
        ss[version_key] = mine.version if mine is not None else 0
    left, right = st.columns([2, 3])
    right.text_area(t("interpret.review.comment"), key=comment_key, max_chars=COMMENT_MAX, height=90)
    left.radio(
        t("interpret.review.verdict"),
        list(VERDICTS),
        format_func=VERDICT_LABELS.__getitem__,
        horizontal=True,
        key=verdict_key,
    )
    if left.button(t("interpret.review.save"), key=f"interpret_save_{candidate_id}_{feature}", icon=":material/save:"):
        verdict = ss.get(verdict_key)
        if verdict is None:
            st.error(t("interpret.review.pick_verdict"))
            return
        try:
            with session_scope(ws.engine) as s:
                saved = save_review(
                    session=s,
                    actor=user,
                    project_id=pid,
                    candidate_id=candidate_id,
                    feature=feature,
                    verdict=str(verdict),
                    comment=str(ss.get(comment_key) or ""),
                    expected_version=int(ss.get(version_key, 0)),
                )
        except ConflictError as exc:
            st.warning(t(exc.key, **exc.params), icon=":material/sync_problem:")
            ss[version_key] = mine.version if mine is not None else 0  # a second save replaces the other one
        except MLCoreError as exc:
            show_error(exc)
        else:
            ss[version_key] = saved.version
            flash(t("interpret.review.saved", feature=feature))
            st.rerun()


def review_tab() -> None:
    assert record is not None
    st.markdown(t("interpret.review.help"))
    with session_scope(ws.engine) as s:
        reviews = list_reviews(session=s, project_id=pid, candidate_id=candidate_id)
        concerns = open_concerns(session=s, project_id=pid, candidate_id=candidate_id)
    if concerns:
        lines = "\n".join(f"- {md_escape(c.text(L))}" for c in concerns)
        st.warning(t("interpret.review.open", count=len(concerns)) + "\n\n" + lines, icon=":material/report:")
    can_review = allowed("interpret.review", pid)
    if not can_review:
        role_notice("interpret.review")
    for item in review_features(explanation, top=REVIEW_FEATURES):
        feature = item.feature
        with st.container(border=True):
            st.markdown(
                t("interpret.review.feature", rank=item.rank + 1, feature=md_escape(feature), share=f"{item.share:.0%}")
            )
            for r in reviews:
                if r.feature == feature and r.reviewer_id != user.id:
                    comment = f": {md_escape(r.comment)}" if r.comment else ""
                    st.markdown(f"- **{md_escape(r.reviewer)}** · {r.verdict_text(L)}{comment}")
            mine = next((r for r in reviews if r.feature == feature and r.reviewer_id == user.id), None)
            if can_review:
                _review_form(feature, mine)
            elif mine is not None:
                st.markdown(f"- **{md_escape(mine.reviewer)}** · {mine.verdict_text(L)}: {md_escape(mine.comment)}")
            elif not any(r.feature == feature for r in reviews):
                st.caption(t("interpret.review.none"))
    if reviews:
        st.subheader(t("interpret.review.all"))
        st.dataframe(
            reviews_frame(reviews, lang=L),
            hide_index=True,
            width="stretch",
            column_config={
                "feature": t("interpret.col.feature"),
                "verdict": t("interpret.col.verdict"),
                "comment": t("interpret.col.comment"),
                "reviewer": t("interpret.col.reviewer"),
                "updated": t("interpret.col.updated"),
            },
        )
        with st.expander(t("interpret.review.history")):
            with session_scope(ws.engine) as s:
                history = review_history(session=s, project_id=pid, candidate_id=candidate_id)
            for change in history:
                comment = f": {md_escape(change.comment)}" if change.comment else ""
                st.markdown(
                    f"- {change.changed_at:%Y-%m-%d %H:%M} · **{md_escape(change.changed_by)}** · "
                    f"{md_escape(change.feature)} → {t(f'interpret.verdict.{change.verdict}')}{comment}"
                )


with tab_global:
    if tab_global.open:
        global_tab()
with tab_local:
    if tab_local.open:
        local_tab()
with tab_whatif:
    if tab_whatif.open:
        whatif_tab()
with tab_review:
    if tab_review.open:
        review_tab()
