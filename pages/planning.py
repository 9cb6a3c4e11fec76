"""Stage 1 · Planning: objectives canvas, feasibility checklist, data evidence, readiness and go/no-go, report."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import streamlit as st

from mlcore.data.versions import VersionSummary, list_versions
from mlcore.errors import MLCoreError
from mlcore.i18n import LANGUAGES
from mlcore.markdown import md_escape
from mlcore.planning.canvas import (
    LATENCIES,
    METRICS,
    OBJECTIVE_TYPES,
    TASK_TYPES,
    VOLUME_PERIODS,
    Canvas,
    apply_proposal,
    canvas_completeness,
    missing_essentials,
    propose_ml_goal,
    validate_canvas,
)
from mlcore.planning.checklist import ANSWERS, DIMENSIONS, OWNER_ROLES, ChecklistItem, overdue_items, validate_answer
from mlcore.planning.records import (
    THOROUGHNESS,
    AnswerRecord,
    CanvasRecord,
    Evidence,
    GateStatus,
    add_custom_item,
    answer_conflicts,
    answer_edited,
    answers_frame,
    availability_for,
    availability_frame,
    baseline_frame,
    baseline_message,
    blocking_frame,
    canvas_conflicts,
    canvas_edited,
    canvas_frame,
    checklist_items,
    classes_frame,
    criterion_text,
    date_columns,
    decision_history,
    decisions_frame,
    finding_message,
    format_number,
    gate_status,
    get_canvas,
    latest_evidence,
    list_answers,
    project_readiness,
    readiness_frame,
    record_decision,
    report_data,
    rows_needed_message,
    save_answer,
    save_canvas,
    stale_evidence,
    submit_sufficiency,
    suggested_version,
    verdict_message,
)
from mlcore.planning.report import OUTCOMES, render_html, render_markdown
from mlcore.planning.sufficiency import DataAvailability, figure_labels, learning_curve_figure
from mlcore.store.engine import session_scope
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, jobs_panel, page_header, role_notice, show_flash

FIELDS = tuple(Canvas.model_fields)
GATE_ICONS = {"success": ":material/check_circle:", "warning": ":material/rule:", "error": ":material/block:"}
STATUS_ICONS = {"ready": ":material/check_circle:", "at_risk": ":material/warning:", "blocked": ":material/block:"}
ANSWER_FIELDS = ("answer", "evidence", "evidence_link", "owner_role", "due_date")
# Canvas fields chosen from translated options (see lkey).
CHOICE_FIELDS = frozenset(
    {
        "objective_type",
        "task_type",
        "metric",
        "secondary_metric",
        "latency",
        "volume_period",
        "interpretability_required",
    }
)

page_header("planning.page.title", "planning.intro")
# One fixed slot for messages that come and go: anything that moves the tabs resets the open tab.
messages = st.container()
with messages:
    show_flash()
project = current_project()
if project is None:
    st.info(t("planning.page.no_project"))
    st.stop()
assert project is not None
user = current_user()
ws = workspace()
pid = project.id
L = lang()
ss = st.session_state
# Labels computed once per run: AppTest calls format functions outside the script run.
ANSWER_LABELS = {a: t(f"planning.answer.{a}") for a in ANSWERS}
OWNER_LABELS = {r: t(f"planning.owner.{r}") for r in OWNER_ROLES}
DIMENSION_LABELS = {d: t(f"planning.dimension.{d}") for d in DIMENSIONS}


@contextmanager
def shown_errors() -> Iterator[list[MLCoreError]]:
    """Show mlcore's errors here, in the reader's language (field and metric names too); yield what was caught."""
    caught: list[MLCoreError] = []
    try:
        yield caught
    except MLCoreError as exc:
        caught.append(exc)
        st.error(exc.message(lang()), icon=":material/error:")


def lkey(base: str) -> str:
    """Widget key for the reader's language, for widgets whose options are translated.

    Streamlit keeps the *label* of the chosen option as a radio's or selectbox's value, so after a
    language switch the old label matches nothing. A widget per language avoids that; its value is
    carried over from the other language's widget, so nothing chosen is lost.
    """
    key = f"{base}@{L}"
    if key not in ss:
        for other in LANGUAGES:
            if other != L and f"{base}@{other}" in ss:
                ss[key] = ss[f"{base}@{other}"]
                break
    return key


def gate_banner(status: GateStatus) -> None:
    """The planning gate's status as a coloured one-line banner."""
    show = {"success": st.success, "warning": st.warning, "error": st.error, "info": st.info}[status.level]
    show(md_escape(status.message(L)), icon=GATE_ICONS.get(status.level, ":material/flag:"))


with session_scope(ws.engine) as s:
    record = get_canvas(session=s, project_id=pid)
    items = checklist_items(session=s, project_id=pid)
    answers = list_answers(session=s, project_id=pid)
    result = project_readiness(session=s, project_id=pid)
    status = gate_status(session=s, project_id=pid)
    history = decision_history(session=s, project_id=pid)
    versions = list_versions(session=s, project_id=pid)
evidence: Evidence | None = None
evidence_error: MLCoreError | None = None
try:
    with session_scope(ws.engine) as s:
        evidence = latest_evidence(session=s, store=ws.store, project_id=pid)
except MLCoreError as exc:  # a damaged evidence file must not hide the rest of the planning
    evidence_error = exc
can_edit = allowed("planning.edit", pid)
can_answer = allowed("planning.answer", pid)
can_analyse = allowed("planning.analyse", pid)
can_signoff = allowed("planning.signoff", pid)

with messages:
    gate_banner(status)
    if not status.decided:
        st.caption(t("planning.page.gate_hint"))

tab_canvas, tab_checklist, tab_evidence, tab_decision, tab_report = st.tabs(
    [
        t("planning.page.tab.canvas"),
        t("planning.page.tab.checklist"),
        t("planning.page.tab.evidence"),
        t("planning.page.tab.decision"),
        t("planning.page.tab.report"),
    ]
)


def saved_line(who: str, when: Any, version: int) -> str:
    if version == 0 or when is None:
        return t("planning.page.never_saved")
    return t("planning.page.saved_by", who=md_escape(who), when=when.strftime("%Y-%m-%d %H:%M"), version=version)


# ----------------------------------------------------------------------------- canvas

CANVAS_BASE, CANVAS_SNAP, CANVAS_ERROR = f"cv_base_{pid}", f"cv_snap_{pid}", f"cv_error_{pid}"


def ck(name: str) -> str:
    base = f"cv_{name}_{pid}"
    return lkey(base) if name in CHOICE_FIELDS else base


def load_canvas(rec: CanvasRecord) -> None:
    """Put a saved canvas into the form, as the version the next save starts from."""
    for name, value in rec.canvas.model_dump().items():
        ss[ck(name)] = value
    ss[CANVAS_BASE] = rec.version
    ss[CANVAS_SNAP] = rec.canvas.model_dump(mode="json")


def save_my_canvas_over(rec: CanvasRecord) -> None:
    """Save the form over the version saved meanwhile: the user has seen both and chose theirs."""
    try:
        with session_scope(ws.engine) as s:
            save_canvas(session=s, project_id=pid, data=canvas_inputs(), expected_version=rec.version, actor=user)
    except MLCoreError as exc:  # a third save meanwhile, or a bad value: shown under the save button
        ss[CANVAS_ERROR] = exc.message(lang())
        return
    ss.pop(CANVAS_BASE, None)
    flash(t("planning.page.canvas.saved"))


def canvas_inputs() -> dict[str, Any]:
    return {name: ss.get(ck(name)) for name in FIELDS}


def apply_suggestion() -> None:
    values = canvas_inputs()
    try:
        new = apply_proposal(validate_canvas(values), propose_ml_goal(values["objective_type"]))
    except MLCoreError as exc:
        ss["cv_proposal_error"] = exc.message(lang())
        return
    for name, value in new.model_dump().items():
        ss[ck(name)] = value
    flash(t("planning.page.proposal.applied"))


def proposal_box(objective: str | None, *, editable: bool) -> None:
    """Ciclo's suggested ML goal for a common objective, with the reasons, and a button to use it."""
    if objective is None:
        return
    proposal = propose_ml_goal(objective)
    with st.container(border=True):
        st.markdown(
            "**" + t("planning.page.proposal.title", objective=t(f"planning.objective.{objective}")) + "**",
        )
        if proposal.task_type is not None and proposal.metric is not None:
            st.markdown(
                t(
                    "planning.page.proposal.summary",
                    task=t(f"planning.task.{proposal.task_type}"),
                    criterion=criterion_text(proposal.metric, proposal.threshold, L),
                )
            )
        if proposal.secondary_metric is not None:
            st.markdown(
                t(
                    "planning.page.proposal.secondary",
                    criterion=criterion_text(proposal.secondary_metric, proposal.secondary_threshold, L),
                )
            )
        # The reasons stay open until the canvas follows the suggestion; then they fold away.
        followed = proposal.metric is not None and ss.get(ck("metric")) == proposal.metric
        with st.expander(t("planning.page.proposal.why"), expanded=not (editable and followed)):
            for label, reason in (
                ("planning.page.proposal.why_task", proposal.task_reason_key),
                ("planning.page.proposal.why_metric", proposal.metric_reason_key),
                ("planning.page.proposal.how_threshold", proposal.threshold_reason_key),
            ):
                st.markdown(f"**{t(label)}.** {t(reason)}")
        if editable and proposal.task_type is not None:
            st.button(
                t("planning.page.proposal.apply"),
                key=f"cv_apply_{pid}",
                on_click=apply_suggestion,
                icon=":material/auto_fix_high:",
            )
            st.caption(t("planning.page.proposal.change"))
        if "cv_proposal_error" in ss:
            st.error(ss.pop("cv_proposal_error"), icon=":material/error:")


def choice(name: str, options: tuple[str, ...] | list[Any], label_prefix: str) -> None:
    st.selectbox(
        t(f"planning.field.{name}"),
        options,
        index=None,
        format_func={
            v: t(f"{label_prefix}{str(v).lower() if isinstance(v, bool) else v}") for v in options
        }.__getitem__,
        placeholder=t("planning.page.choose"),
        key=ck(name),
        help=t(f"planning.field.{name}.help"),
    )


def text(name: str, *, area: bool = False, limit: int = 2000) -> None:
    widget = st.text_area if area else st.text_input
    widget(t(f"planning.field.{name}"), key=ck(name), max_chars=limit, help=t(f"planning.field.{name}.help"))


def number(name: str, *, whole: bool = False, fmt: str = "%.3f") -> None:
    if whole:
        st.number_input(
            t(f"planning.field.{name}"),
            min_value=0,
            step=1,
            value=None,
            key=ck(name),
            help=t(f"planning.field.{name}.help"),
        )
    else:
        st.number_input(
            t(f"planning.field.{name}"),
            value=None,
            format=fmt,
            step=0.01,
            key=ck(name),
            help=t(f"planning.field.{name}.help"),
        )


def canvas_editor(record: CanvasRecord) -> CanvasRecord:
    """The canvas form; returns the canvas as saved now (re-read after a refused save)."""
    if CANVAS_BASE not in ss or ck("business_objective") not in ss:
        load_canvas(record)
    elif ss[CANVAS_BASE] != record.version and not canvas_edited(ss[CANVAS_SNAP], canvas_inputs()):
        load_canvas(record)  # someone saved meanwhile and this form holds no edit: show their version

    st.subheader(t("planning.page.canvas.section.business"))
    text("business_objective", area=True)
    choice("objective_type", OBJECTIVE_TYPES, "planning.objective.")
    proposal_box(ss.get(ck("objective_type")), editable=True)
    left, right = st.columns(2)
    with left:
        text("kpi_name", limit=200)
        text("prediction_users", limit=500)
    with right:
        number("kpi_current_value", fmt="%.2f")
        text("prediction_action", area=True)

    st.subheader(t("planning.page.canvas.section.ml"))
    task = ss.get(ck("task_type"))
    metrics = list(METRICS[task]) if task else [m for t_ in TASK_TYPES for m in METRICS[t_]]
    for name in ("metric", "secondary_metric"):
        if ss.get(ck(name)) not in (None, *metrics):
            ss[ck(name)] = None  # a metric of the other task: choose again
    left, right = st.columns(2)
    with left:
        choice("task_type", TASK_TYPES, "planning.task.")
        text("target_definition", area=True)
    with right:
        text("prediction_unit", limit=200)
        text("horizon", limit=200)
    left, right = st.columns(2)
    with left:
        choice("metric", metrics, "planning.metric.")
        if ss.get(ck("metric")):
            st.caption(t(f"planning.metric.{ss[ck('metric')]}.help"))
    with right:
        number("threshold")
    left, right = st.columns(2)
    with left:
        choice("secondary_metric", metrics, "planning.metric.")
    with right:
        number("secondary_threshold")
    if task == "classification":
        st.caption(t("planning.page.costs_hint"))
        left, right = st.columns(2)
        with left:
            number("cost_false_positive", fmt="%.2f")
        with right:
            number("cost_false_negative", fmt="%.2f")

    st.subheader(t("planning.page.canvas.section.success"))
    text("business_target", area=True)
    left, right = st.columns(2)
    with left:
        text("baseline_process", area=True)
    with right:
        number("baseline_score")

    st.subheader(t("planning.page.canvas.section.operations"))
    cols = st.columns(4)
    with cols[0]:
        choice("latency", LATENCIES, "planning.latency.")
    with cols[1]:
        number("volume_per_period", whole=True)
    with cols[2]:
        choice("volume_period", VOLUME_PERIODS, "planning.period.")
    with cols[3]:
        choice("interpretability_required", [True, False], "planning.bool.")

    refused: list[MLCoreError] = []
    if st.button(t("planning.page.canvas.save"), type="primary", key=f"cv_save_{pid}", icon=":material/save:"):
        with shown_errors() as refused, session_scope(ws.engine) as s:
            save_canvas(session=s, project_id=pid, data=canvas_inputs(), expected_version=ss[CANVAS_BASE], actor=user)
        if not refused:
            ss.pop(CANVAS_BASE, None)
            flash(t("planning.page.canvas.saved"))
            st.rerun()
        with session_scope(ws.engine) as s:
            record = get_canvas(session=s, project_id=pid)
    if CANVAS_ERROR in ss:
        st.error(ss.pop(CANVAS_ERROR), icon=":material/error:")
    if ss[CANVAS_BASE] != record.version:
        if not refused:  # the refusal above already says who saved meanwhile
            st.warning(t("planning.page.canvas.changed", version=record.version, who=md_escape(record.updated_by)))
        st.dataframe(
            canvas_conflicts(started_from=ss[CANVAS_SNAP], now_saved=record.canvas, mine=canvas_inputs(), lang=L),
            hide_index=True,
            column_config={
                "field": t("projects.conflict.field"),
                "started_from": t("projects.conflict.started_from"),
                "now_saved": t("projects.conflict.now_saved"),
                "yours": t("projects.conflict.yours"),
            },
        )
        left, right = st.columns(2)
        left.button(
            t("planning.page.conflict.take_theirs"), key=f"cv_theirs_{pid}", on_click=load_canvas, args=(record,)
        )
        right.button(
            t("planning.page.conflict.keep_mine"), key=f"cv_mine_{pid}", on_click=save_my_canvas_over, args=(record,)
        )
    return record


with tab_canvas:
    st.caption(t("planning.page.canvas.intro"))
    share = canvas_completeness(record.canvas)
    st.progress(share, text=t("planning.page.canvas.completeness", share=f"{share:.0%}"))
    missing = missing_essentials(record.canvas)
    if missing:
        st.caption(t("planning.report.missing", fields=", ".join(t(f"planning.field.{name}") for name in missing)))
    else:
        st.caption(t("planning.page.canvas.complete"))
    st.caption(saved_line(record.updated_by, record.updated_at, record.version))
    if can_edit:
        record = canvas_editor(record)
    else:
        role_notice("planning.edit")
        st.markdown(t("planning.page.canvas.readonly"))
        table = canvas_frame(record.canvas, L)
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=35 * (len(table) + 1) + 3,  # every field at once, no inner scrolling
            column_config={
                "field": t("planning.page.col.label"),
                "value": st.column_config.TextColumn(t("planning.page.col.value"), width="large"),
            },
        )
        proposal_box(record.canvas.objective_type, editable=False)


# ----------------------------------------------------------------------------- checklist


def item_form(item: ChecklistItem, rec: AnswerRecord | None) -> None:
    """One question with its help and its own small form: saved on its own, so people can work in parallel."""
    keys = {name: f"ans_{name}_{pid}_{item.id}" for name in ANSWER_FIELDS}
    keys["answer"], keys["owner_role"] = lkey(keys["answer"]), lkey(keys["owner_role"])
    base_key, snap_key, error_key = (f"ans_{part}_{pid}_{item.id}" for part in ("base", "snap", "error"))
    version = rec.version if rec else 0

    def mine() -> dict[str, Any]:
        return {"item_id": item.id, **{name: ss.get(key) for name, key in keys.items()}}

    def load(saved: AnswerRecord | None) -> None:
        start = saved.answer if saved else validate_answer({"item_id": item.id, "owner_role": item.owner_role})
        values = start.model_dump()
        for name, key in keys.items():
            ss[key] = values[name] if name != "owner_role" else (values[name] or item.owner_role)
        ss[base_key] = saved.version if saved else 0
        ss[snap_key] = start

    def save_mine_over(saved: AnswerRecord) -> None:
        """Save the form over the answer saved meanwhile: the user has seen both and chose theirs."""
        try:
            with session_scope(ws.engine) as s:
                save_answer(session=s, project_id=pid, data=mine(), expected_version=saved.version, actor=user)
        except MLCoreError as exc:  # a third save meanwhile, or a bad value: shown under the form
            ss[error_key] = exc.message(lang())
            return
        ss.pop(base_key, None)
        flash(t("planning.page.item.saved_flash", question=md_escape(item.question(lang()))))

    # A fresh form starts from the saved answer; so does one that holds no edit when someone saved meanwhile.
    stale_but_untouched = base_key in ss and ss[base_key] != version and not answer_edited(ss[snap_key], mine())
    if base_key not in ss or keys["answer"] not in ss or stale_but_untouched:
        load(rec)

    with st.container(border=True):
        badges = ""
        if item.blocking:
            badges += f" :red-badge[{t('planning.page.item.blocking')}]"
        if item.custom:
            badges += f" :gray-badge[{t('planning.page.item.custom')}]"
        st.markdown(f"**{md_escape(item.question(L))}**{badges}")
        if item.help(L):
            st.caption(md_escape(item.help(L)))
        done = (
            t("planning.page.item.saved", who=md_escape(rec.updated_by), when=rec.updated_at.strftime("%Y-%m-%d"))
            if rec and rec.updated_at
            else t("planning.page.item.not_answered")
        )
        st.caption(t("planning.page.item.owner", owner=t(f"planning.owner.{item.owner_role}")) + " · " + done)
        with st.form(f"ans_{pid}_{item.id}", border=False):
            first, second, third = st.columns([3, 2, 2])
            first.radio(
                t("planning.field.answer"),
                ANSWERS,
                format_func=ANSWER_LABELS.__getitem__,
                horizontal=True,
                key=keys["answer"],
            )
            second.selectbox(
                t("planning.field.owner_role"),
                OWNER_ROLES,
                format_func=OWNER_LABELS.__getitem__,
                key=keys["owner_role"],
            )
            third.date_input(t("planning.field.due_date"), key=keys["due_date"], format="YYYY-MM-DD")
            left, right = st.columns([3, 2])
            left.text_area(t("planning.field.evidence"), key=keys["evidence"], height=68, max_chars=2000)
            right.text_input(
                t("planning.field.evidence_link"),
                key=keys["evidence_link"],
                max_chars=500,
                placeholder=t("planning.page.item.link_placeholder"),
            )
            submitted = st.form_submit_button(t("planning.page.item.save"), icon=":material/save:")
        refused: list[MLCoreError] = []
        if submitted:
            with shown_errors() as refused, session_scope(ws.engine) as s:
                save_answer(session=s, project_id=pid, data=mine(), expected_version=ss[base_key], actor=user)
            if not refused:
                ss.pop(base_key, None)
                flash(t("planning.page.item.saved_flash", question=md_escape(item.question(L))))
                st.rerun()
            with session_scope(ws.engine) as s:
                rec = list_answers(session=s, project_id=pid).get(item.id)
            version = rec.version if rec else 0
        if error_key in ss:
            st.error(ss.pop(error_key), icon=":material/error:")
        if rec is not None and ss[base_key] != version:
            when = rec.updated_at.strftime("%Y-%m-%d %H:%M") if rec.updated_at else "?"
            if not refused:  # the refusal above already says who saved meanwhile
                st.warning(t("planning.page.item.changed", who=md_escape(rec.updated_by), when=when))
            st.dataframe(
                answer_conflicts(now_saved=rec, mine=mine(), lang=L, default_owner=item.owner_role),
                hide_index=True,
                column_config={
                    "field": t("projects.conflict.field"),
                    "now_saved": t("projects.conflict.now_saved"),
                    "yours": t("projects.conflict.yours"),
                },
            )
            left, right = st.columns(2)
            left.button(
                t("planning.page.conflict.take_theirs"), key=f"ans_theirs_{pid}_{item.id}", on_click=load, args=(rec,)
            )
            right.button(
                t("planning.page.conflict.keep_mine"),
                key=f"ans_mine_{pid}_{item.id}",
                on_click=save_mine_over,
                args=(rec,),
            )


def custom_item_form() -> None:
    if ss.pop(f"custom_clear_{pid}", False):  # the question was just added: start the next one empty
        ss[f"custom_question_{pid}"] = ss[f"custom_help_{pid}"] = ""
        ss[f"custom_blocking_{pid}"] = False
    with st.expander(t("planning.page.custom.title"), icon=":material/add:"), st.form(f"custom_{pid}"):
        st.caption(t("planning.page.custom.intro"))
        question = st.text_input(t("planning.field.question"), max_chars=300, key=f"custom_question_{pid}")
        left, right = st.columns(2)
        dimension = left.selectbox(
            t("planning.page.col.dimension"),
            DIMENSIONS,
            format_func=DIMENSION_LABELS.__getitem__,
            key=lkey(f"custom_dimension_{pid}"),
        )
        owner = right.selectbox(
            t("planning.field.owner_role"),
            OWNER_ROLES,
            format_func=OWNER_LABELS.__getitem__,
            key=lkey(f"custom_owner_{pid}"),
        )
        help_text = st.text_area(t("planning.field.help"), max_chars=2000, key=f"custom_help_{pid}")
        blocking = st.checkbox(t("planning.page.custom.blocking"), key=f"custom_blocking_{pid}")
        if st.form_submit_button(t("planning.page.custom.add"), icon=":material/add:"):
            with shown_errors() as failed, session_scope(ws.engine) as s:
                add_custom_item(
                    session=s,
                    project_id=pid,
                    question=question,
                    dimension=dimension,
                    owner_role=owner,
                    blocking=blocking,
                    help_text=help_text,
                    actor=user,
                )
            if not failed:
                ss[f"custom_clear_{pid}"] = True
                flash(t("planning.page.custom.added", dimension=t(f"planning.dimension.{dimension}")))
                st.rerun()


with tab_checklist:
    st.caption(t("planning.page.checklist.intro"))
    if not can_answer:
        role_notice("planning.answer")
    by_id = {item.id: item for item in items}
    late = overdue_items([r.answer for r in answers.values() if r.answer.item_id in by_id], today=date.today())
    if late:
        st.warning(
            t(
                "planning.page.checklist.overdue",
                count=len(late),
                items="; ".join(md_escape(by_id[a.item_id].question(L)) for a in late),
            ),
            icon=":material/schedule:",
        )
    for dim in result.dimensions:
        with st.expander(
            t(
                "planning.page.checklist.dimension_label",
                dimension=t(f"planning.dimension.{dim.dimension}"),
                answered=dim.n_answered,
                total=dim.n_items,
                status=t(f"planning.status.{dim.status}"),
            ),
            icon=STATUS_ICONS[dim.status],
            key=f"dim_{pid}_{dim.dimension}",
        ):
            st.caption(t(f"planning.dimension.{dim.dimension}.help"))
            if can_answer:
                for item in items:
                    if item.dimension == dim.dimension:
                        item_form(item, answers.get(item.id))
            else:
                st.dataframe(
                    answers_frame(items, answers, dimension=dim.dimension, lang=L),
                    hide_index=True,
                    width="stretch",
                    column_config={
                        "question": st.column_config.TextColumn(t("planning.page.col.question"), width="large"),
                        "blocking": st.column_config.CheckboxColumn(t("planning.page.col.blocking")),
                        "answer": t("planning.page.col.answer"),
                        "evidence": t("planning.page.col.evidence"),
                        "link": t("planning.page.col.link"),
                        "owner": t("planning.page.col.owner"),
                        "due": st.column_config.DateColumn(t("planning.page.col.due"), format="YYYY-MM-DD"),
                        "updated_by": t("planning.page.col.updated_by"),
                        "help": t("planning.page.col.help"),
                    },
                )
    if can_edit:
        custom_item_form()


# ----------------------------------------------------------------------------- evidence


@st.cache_data(max_entries=16, show_spinner=False)
def cached_availability(
    sha256: str, target: str, task_type: str, date_column: str | None, _version: VersionSummary
) -> DataAvailability:
    """Keyed by the version's content hash: the data never changes under it."""
    return availability_for(
        store=workspace().store, version=_version, target=target, task_type=task_type, date_column=date_column
    )


live: DataAvailability | None = None

with tab_evidence:
    st.caption(t("planning.page.evidence.intro"))
    if evidence_error is not None:
        st.error(evidence_error.message(L), icon=":material/error:")
    start = suggested_version(versions, evidence)
    if start is None:
        st.info(t("planning.page.evidence.no_data"))
        st.page_link("pages/data_import.py", label=t("planning.page.evidence.go_import"), icon=":material/upload_file:")
    else:
        by_version = {v.id: v for v in versions}
        ids = list(by_version)
        left, middle, right = st.columns(3)
        version_id = left.selectbox(
            t("planning.page.evidence.version"),
            ids,
            index=ids.index(start.id),
            format_func={i: v.label for i, v in by_version.items()}.__getitem__,
            key=f"ev_version_{pid}",
        )
        version = by_version[version_id]
        columns = [str(c["name"]) for c in version.columns]
        same = evidence is not None and evidence.version_id == version.id
        default_target = evidence.target if same and evidence else version.target
        target = middle.selectbox(
            t("planning.page.evidence.target"),
            columns,
            index=columns.index(default_target) if default_target in columns else 0,
            key=f"ev_target_{pid}_{version.id}",
        )
        dates: list[str | None] = [None, *date_columns(version)]
        date_key = lkey(f"ev_date_{pid}_{version.id}")
        if date_key not in ss:
            default_date = evidence.date_column if same and evidence else (dates[1] if len(dates) > 1 else None)
            ss[date_key] = default_date if default_date in dates else None
        date_column = right.selectbox(
            t("planning.page.evidence.date_column"),
            dates,
            format_func={c: t("planning.page.evidence.no_date") if c is None else c for c in dates}.__getitem__,
            key=date_key,
        )
        task_type = record.canvas.task_type or project.task_type

        st.subheader(t("planning.page.evidence.availability"))
        with shown_errors():
            live = cached_availability(version.sha256, target, task_type, date_column, version)
        if live is not None:
            left, right = st.columns([3, 2])
            left.dataframe(
                availability_frame(live, L),
                hide_index=True,
                width="stretch",
                column_config={"label": t("planning.page.col.label"), "value": t("planning.page.col.value")},
            )
            if live.rows_per_class:
                right.bar_chart(
                    classes_frame(live),
                    x="class",
                    y="rows",
                    x_label=t("planning.page.col.class"),
                    y_label=t("planning.page.col.rows"),
                    height=220,
                )
            for finding in live.findings:
                st.warning(md_escape(finding_message(finding, L)), icon=":material/info:")

        st.subheader(t("planning.page.evidence.sufficiency"))
        st.caption(t("planning.page.evidence.sufficiency_help"))
        if record.canvas.metric is None:
            st.info(t("planning.page.evidence.no_metric"))
        elif can_analyse:
            thorough_key = lkey(f"ev_thoroughness_{pid}")
            ss.setdefault(thorough_key, "standard")
            thoroughness = st.radio(
                t("planning.page.evidence.thoroughness"),
                list(THOROUGHNESS),
                format_func={k: t(f"planning.page.evidence.thoroughness.{k}") for k in THOROUGHNESS}.__getitem__,
                horizontal=True,
                key=thorough_key,
            )
            if st.button(
                t("planning.page.evidence.run"), type="primary", key=f"ev_run_{pid}", icon=":material/play_arrow:"
            ):
                job_id = None
                with shown_errors():
                    job_id = submit_sufficiency(
                        engine=ws.engine,
                        settings=ws.settings,
                        project_id=pid,
                        version_id=version.id,
                        target=target,
                        date_column=date_column,
                        actor_id=user.id or 0,
                        thoroughness=thoroughness,
                    )
                if job_id is not None:
                    flash(t("planning.page.evidence.started", job_id=job_id))
                    st.rerun()
        else:
            role_notice("planning.analyse")
        jobs_panel(pid, ("sufficiency",))
        if evidence is None:
            st.caption(t("planning.page.evidence.none_yet"))
        else:
            st.caption(
                t(
                    "planning.page.evidence.computed",
                    version=md_escape(evidence.version_label),
                    target=md_escape(evidence.target),
                    metric=t(f"planning.metric.{evidence.metric}"),
                    threshold=format_number(evidence.threshold, L),
                    who=md_escape(evidence.computed_by),
                    when=evidence.computed_at.strftime("%Y-%m-%d %H:%M"),
                )
            )
            changed = stale_evidence(evidence, record.canvas)
            if changed:
                st.warning(
                    t("planning.page.evidence.stale", fields=", ".join(t(f"planning.field.{f}") for f in changed)),
                    icon=":material/update:",
                )
            st.info(verdict_message(evidence.study, L), icon=":material/insights:")
            needed = rows_needed_message(evidence.study, L)
            if needed:
                st.markdown(needed)
            st.plotly_chart(
                learning_curve_figure(evidence.study, labels=figure_labels(L)), width="stretch", key=f"ev_curve_{pid}"
            )
            st.caption(t("planning.page.evidence.cite"))
            st.code(evidence.artifact_sha256, language=None)

        st.subheader(t("planning.page.evidence.applicability"))
        if evidence is not None and evidence.baseline is not None:
            left, right = st.columns(2)
            left.dataframe(
                baseline_frame(evidence.baseline, L),
                hide_index=True,
                width="stretch",
                column_config={"label": t("planning.page.col.label"), "value": t("planning.page.col.value")},
            )
            right.markdown(baseline_message(evidence.baseline, L))
        elif record.canvas.threshold is None:
            st.info(t("planning.page.evidence.no_baseline"))
        else:
            st.info(t("planning.page.evidence.baseline_pending"))


# ----------------------------------------------------------------------------- readiness and decision

with tab_decision:
    st.subheader(t("planning.page.readiness.title"))
    left, right = st.columns(2)
    left.metric(
        t("planning.page.readiness.overall"),
        t(f"planning.status.{result.status}"),
        delta=t("planning.page.readiness.score", score=f"{result.score:.0%}"),
        delta_color="off",
        delta_arrow="off",
        border=True,
    )
    right.metric(t("planning.page.readiness.canvas"), f"{canvas_completeness(record.canvas):.0%}", border=True)
    st.dataframe(
        readiness_frame(result, L),
        hide_index=True,
        width="stretch",
        column_config={
            "dimension": t("planning.page.col.dimension"),
            "score": st.column_config.ProgressColumn(
                t("planning.page.col.score"), min_value=0.0, max_value=1.0, format="percent"
            ),
            "status": t("planning.page.col.status"),
            "answered": t("planning.page.col.answered"),
        },
    )
    st.markdown(f"**{t('planning.page.readiness.blocking')}**")
    blocking = blocking_frame(result, items, answers, L)
    if blocking.empty:
        st.success(t("planning.page.readiness.no_blocking"), icon=":material/check:")
    else:
        st.dataframe(
            blocking,
            hide_index=True,
            width="stretch",
            column_config={
                "question": st.column_config.TextColumn(t("planning.page.col.question"), width="large"),
                "dimension": t("planning.page.col.dimension"),
                "answer": t("planning.page.col.answer"),
                "owner": t("planning.page.col.owner"),
                "due": st.column_config.DateColumn(t("planning.page.col.due"), format="YYYY-MM-DD"),
            },
        )

    st.divider()
    st.subheader(t("planning.page.decision.title"))
    st.caption(t("planning.page.decision.intro"))
    if history:
        with st.expander(t("planning.page.decision.history"), icon=":material/history:"):
            st.dataframe(
                decisions_frame(history, L),
                hide_index=True,
                width="stretch",
                column_config={
                    "decided_at": st.column_config.DatetimeColumn(
                        t("planning.page.col.when"), format="YYYY-MM-DD HH:mm"
                    ),
                    "decision": t("planning.page.col.decision"),
                    "decided_by": t("planning.page.col.who"),
                    "rationale": st.column_config.TextColumn(t("planning.page.col.rationale"), width="large"),
                    "conditions": t("planning.page.col.conditions"),
                },
            )
    if can_signoff:
        seen_key = f"gate_seen_{pid}"
        # What the decider saw when the form was shown: a change since then refuses the decision.
        seen = ss.get(seen_key, (record.version, status.decision_id))
        if result.status == "blocked":
            st.warning(t("planning.page.decision.blocked_hint"), icon=":material/block:")
        if ss.pop(f"gate_clear_{pid}", False):  # a decision was just recorded: start the next one empty
            ss[f"gate_rationale_{pid}"] = ss[f"gate_conditions_{pid}"] = ""
        with st.form(f"gate_{pid}"):
            outcome = st.radio(
                t("planning.page.decision.outcome"),
                OUTCOMES,
                format_func={o: t(f"planning.decision.{o}") for o in OUTCOMES}.__getitem__,
                horizontal=True,
                key=lkey(f"gate_outcome_{pid}"),
            )
            rationale = st.text_area(t("planning.field.rationale"), max_chars=4000, key=f"gate_rationale_{pid}")
            conditions = st.text_area(
                t("planning.field.conditions"),
                max_chars=4000,
                help=t("planning.field.conditions.help"),
                key=f"gate_conditions_{pid}",
            )
            decide = st.form_submit_button(t("planning.page.decision.record"), type="primary", icon=":material/gavel:")
        if decide:
            with shown_errors() as failed, session_scope(ws.engine) as s:
                record_decision(
                    session=s,
                    project_id=pid,
                    outcome=outcome,
                    rationale=rationale,
                    conditions=conditions,
                    expected_canvas_version=seen[0],
                    expected_decision_id=seen[1],
                    actor=user,
                )
            if not failed:
                ss[f"gate_clear_{pid}"] = True
                ss.pop(seen_key, None)
                flash(t("planning.page.decision.recorded", decision=t(f"planning.decision.{outcome}")))
                st.rerun()
        ss[seen_key] = (record.version, status.decision_id)
    else:
        role_notice("planning.signoff")


# ----------------------------------------------------------------------------- report

with tab_report:
    st.caption(t("planning.page.report.intro"))
    report = None
    with shown_errors(), session_scope(ws.engine) as s:
        report = report_data(session=s, store=ws.store, project_id=pid, lang=L, availability=live)
    if report is not None:
        markdown = render_markdown(report, lang=L)
        left, right = st.columns(2)
        left.download_button(
            t("planning.page.report.download_md"),
            data=markdown.encode("utf-8"),
            file_name=f"planning-report-{pid}.md",
            mime="text/markdown",
            key=f"report_md_{pid}",
            icon=":material/description:",
        )
        right.download_button(
            t("planning.page.report.download_html"),
            data=render_html(report, lang=L).encode("utf-8"),
            file_name=f"planning-report-{pid}.html",
            mime="text/html",
            key=f"report_html_{pid}",
            icon=":material/print:",
        )
        with st.expander(t("planning.page.report.preview"), icon=":material/visibility:"):
            st.markdown(markdown)
