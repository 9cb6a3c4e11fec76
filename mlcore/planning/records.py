"""Planning records of a project: canvas, checklist answers, custom items, evidence and the go/no-go gate.

Every write takes the acting user, re-checks the role with :func:`mlcore.auth.require`, is
guarded against lost updates where two people can edit the same thing (a stale save raises
:class:`~mlcore.errors.ConflictError`) and records an audit event. The data-sufficiency study
runs as the job kind ``"sufficiency"``; its evidence is a JSON artifact the job result points to.
Later stages read the gate with :func:`gate_status` and the signed-off success criteria with
:func:`success_criteria`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import numpy as np
import pandas as pd
from sqlalchemy import Engine, insert
from sqlmodel import Session, col, select, update

from mlcore.artifacts import ArtifactStore, register_artifact
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data.versions import VersionSummary, get_version, list_versions, read_version
from mlcore.errors import ConflictError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import JobContext, job_kind
from mlcore.planning.canvas import (
    CLASSIFICATION_METRICS,
    Canvas,
    PlanningInputError,
    check_text,
    meets_threshold,
    metric_direction,
    validate_canvas,
)
from mlcore.planning.checklist import (
    DIMENSIONS,
    Answer,
    ChecklistItem,
    Readiness,
    load_items,
    make_custom_item,
    readiness,
    validate_answer,
)
from mlcore.planning.report import (
    _CANVAS_ROWS,
    _CODED,
    RATIONALE_LIMIT,
    Decision,
    ReportData,
    _number,
    _percent,
    make_decision,
)
from mlcore.planning.sufficiency import (
    DEFAULT_FRACTIONS,
    MIN_ROWS,
    BaselineComparison,
    DataAvailability,
    Finding,
    SufficiencyStudy,
    baseline_comparison,
    data_availability,
    learning_curve_study,
)
from mlcore.store.engine import session_scope
from mlcore.store.models import (
    Artifact,
    ChecklistAnswer,
    CustomChecklistItem,
    GateDecision,
    Job,
    PlanningCanvas,
    Project,
    User,
    utcnow,
)

__all__ = [
    "EVIDENCE_FORMAT",
    "LINK_COLUMN_LIMIT",
    "THOROUGHNESS",
    "AnswerRecord",
    "CanvasRecord",
    "Evidence",
    "GateStatus",
    "SuccessCriteria",
    "add_custom_item",
    "answer_conflicts",
    "answer_edited",
    "answers_frame",
    "availability_for",
    "availability_frame",
    "baseline_frame",
    "baseline_message",
    "blocking_frame",
    "canvas_conflicts",
    "canvas_edited",
    "canvas_frame",
    "checklist_items",
    "classes_frame",
    "criterion_text",
    "date_columns",
    "decision_history",
    "decisions_frame",
    "evidence_from_json",
    "evidence_to_json",
    "feature_frame",
    "finding_message",
    "format_number",
    "gate_status",
    "get_canvas",
    "latest_evidence",
    "list_answers",
    "list_custom_items",
    "project_readiness",
    "readiness_frame",
    "record_decision",
    "report_data",
    "rows_needed_message",
    "save_answer",
    "save_canvas",
    "stale_evidence",
    "submit_sufficiency",
    "success_criteria",
    "suggested_version",
    "sufficiency_job",
    "verdict_message",
]

LINK_COLUMN_LIMIT = 500
"""Longest evidence link the database column holds (shorter than the checklist's own limit)."""

THOROUGHNESS: dict[str, tuple[int, tuple[float, ...]]] = {
    "quick": (3, (0.2, 0.4, 0.7, 1.0)),
    "standard": (5, DEFAULT_FRACTIONS),
    "thorough": (10, (0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0)),
}
"""How thorough the sufficiency study is: (cross-validation folds, shares of the data trained on)."""

EVIDENCE_FORMAT = "ciclo.planning.evidence/1"

# Columns a learning curve leaves out whatever their type: they identify rows or hold free text.
_NOT_FEATURES = frozenset({"identifier", "text"})
# Canvas fields the stored evidence depends on: if one changes, the study should be run again.
_EVIDENCE_FIELDS = ("task_type", "metric", "threshold", "baseline_score")


# ----------------------------------------------------------------------------- helpers


def _project(session: Session, project_id: int, *, active: bool = False) -> Project:
    project = session.get(Project, project_id)
    if project is None or (active and project.archived):
        raise NotFound("errors.project_not_found", name=str(project_id))
    return project


def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return (user.display_name or user.name) if user is not None else ""


def _insert_if_absent(session: Session, model: type[Any], values: Mapping[str, Any]) -> bool:
    """Insert a row unless one with the same key exists; ``False`` when it does (someone was first)."""
    dialect = session.get_bind().dialect.name
    stmt: Any = None
    if dialect == "sqlite":
        from sqlalchemy.dialects import sqlite

        stmt = sqlite.insert(model).values(**values).on_conflict_do_nothing()
    elif dialect == "postgresql":
        from sqlalchemy.dialects import postgresql

        stmt = postgresql.insert(model).values(**values).on_conflict_do_nothing()
    if stmt is not None:
        return bool(session.execute(stmt).rowcount == 1)  # type: ignore[attr-defined]
    session.execute(insert(model).values(**values))  # other databases: a unique violation aborts the write
    return True


def format_number(value: float | int | None, lang: str) -> str:
    """A number for people: thousands separated, trailing zeros dropped, decimal comma in Spanish, and
    small values with at least two significant digits (a gain of 0.00042 is not "0").

    Examples
    --------
    >>> format_number(1234.5, "es"), format_number(0.7, "en"), format_number(0.00042, "en"), format_number(None, "en")
    ('1.234,5', '0.7', '0.00042', '—')
    """
    if isinstance(value, float) and math.isfinite(value) and 0 < abs(value) < 1:
        return _number(value, lang, max(3, 1 - math.floor(math.log10(abs(value)))))
    return _number(value, lang)


def _display(field: str, value: Any, lang: str) -> str:
    """A canvas or answer value as people read it: codes translated, numbers formatted."""
    if value is None or value == "":
        return "—"
    if field in _CODED:
        return translate(_CODED[field] + str(value), lang)
    if field in ("answer",):
        return translate(f"planning.answer.{value}", lang)
    if field == "owner_role":
        return translate(f"planning.owner.{value}", lang)
    if isinstance(value, bool):
        return translate("planning.bool.true" if value else "planning.bool.false", lang)
    if isinstance(value, int | float):
        return _number(value, lang)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _same(a: Any, b: Any) -> bool:
    """Whether two form values mean the same (empty text is "not filled in"; 1 and 1.0 are equal)."""
    a = None if isinstance(a, str) and not a.strip() else a
    b = None if isinstance(b, str) and not b.strip() else b
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    if isinstance(a, int | float) and isinstance(b, int | float) and not isinstance(a, bool | np.bool_):
        return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, date) or isinstance(b, date):
        return str(a) == str(b)
    return bool(a == b)


# ----------------------------------------------------------------------------- canvas


@dataclass(frozen=True)
class CanvasRecord:
    """A project's saved canvas.

    Attributes
    ----------
    canvas : Canvas
    version : int
        Increases with every save; ``0`` means it was never saved (pass it back as
        ``expected_version`` to :func:`save_canvas`).
    updated_by : str
    updated_at : datetime or None
    """

    canvas: Canvas
    version: int
    updated_by: str
    updated_at: datetime | None


def get_canvas(*, session: Session, project_id: int) -> CanvasRecord:
    """The project's canvas (an empty one, version 0, before the first save).

    Raises
    ------
    NotFound
        If there is no such project.
    """
    _project(session, project_id)
    row = session.exec(select(PlanningCanvas).where(PlanningCanvas.project_id == project_id)).first()
    if row is None:
        return CanvasRecord(Canvas(), 0, "", None)
    session.refresh(row)
    return CanvasRecord(validate_canvas(row.data), row.version, _user_name(session, row.updated_by_id), row.updated_at)


def _canvas_conflict(session: Session, project_id: int) -> ConflictError:
    current = get_canvas(session=session, project_id=project_id)
    return ConflictError("planning.records.canvas_conflict", who=current.updated_by or "?", version=current.version)


def save_canvas(
    *, session: Session, project_id: int, data: Mapping[str, Any] | Canvas, expected_version: int, actor: User
) -> CanvasRecord:
    """Validate and save the canvas, unless someone else saved it since ``expected_version``.

    Parameters
    ----------
    data : mapping or Canvas
        Field names to values as a form gives them (see :func:`~mlcore.planning.canvas.validate_canvas`).
    expected_version : int
        The version the user started editing from (``0`` before the first save).

    Raises
    ------
    PermissionDenied
        Without ``planning.edit`` in the project.
    PlanningInputError
        For a bad value (a recall threshold of 1.2, a negative cost…); nothing is saved.
    ConflictError
        ``planning.records.canvas_conflict`` if someone saved since ``expected_version``.
    NotFound
        If the project does not exist or is archived.
    """
    require(session=session, user=actor, action="planning.edit", project_id=project_id)
    _project(session, project_id, active=True)
    canvas = data if isinstance(data, Canvas) else validate_canvas(data)
    before = get_canvas(session=session, project_id=project_id)
    values = canvas.model_dump(mode="json")
    stamp = {"updated_by_id": actor.id or 0, "updated_at": utcnow()}
    if expected_version == 0:
        saved = _insert_if_absent(
            session, PlanningCanvas, {"project_id": project_id, "data": values, "version": 1, **stamp}
        )
    else:
        result = session.execute(
            update(PlanningCanvas)
            .where(col(PlanningCanvas.project_id) == project_id, col(PlanningCanvas.version) == expected_version)
            .values(data=values, version=expected_version + 1, **stamp)
        )
        saved = result.rowcount == 1  # type: ignore[attr-defined]
    if not saved:
        raise _canvas_conflict(session, project_id)
    session.expire_all()
    old = before.canvas.model_dump(mode="json")
    changed = [name for name in values if values[name] != old[name]]
    record_event(
        session=session,
        actor=actor,
        action="planning.canvas_save",
        object_type="planning_canvas",
        object_id=project_id,
        project_id=project_id,
        before={name: old[name] for name in changed},
        after={name: values[name] for name in changed},
    )
    return get_canvas(session=session, project_id=project_id)


def canvas_edited(started_from: Mapping[str, Any], mine: Mapping[str, Any]) -> bool:
    """Whether the values in a form (``mine``) differ from the canvas the user started from.

    Examples
    --------
    >>> canvas_edited({"threshold": 0.7, "kpi_name": None}, {"threshold": 0.70, "kpi_name": ""})
    False
    """
    names = set(started_from) | set(mine)
    return any(not _same(started_from.get(name), mine.get(name)) for name in names)


def canvas_conflicts(
    *, started_from: Mapping[str, Any], now_saved: Canvas, mine: Mapping[str, Any], lang: str
) -> pd.DataFrame:
    """What someone else changed in the canvas since an edit started, beside the user's own value.

    Returns
    -------
    pandas.DataFrame
        Columns ``field`` (translated name), ``started_from``, ``now_saved``, ``yours``; one row per
        field the other save changed.

    Examples
    --------
    >>> frame = canvas_conflicts(started_from={"threshold": 0.7}, now_saved=Canvas(threshold=0.8),
    ...                          mine={"threshold": 0.75}, lang="en")
    >>> frame.to_dict("records")
    [{'field': 'Threshold', 'started_from': '0.7', 'now_saved': '0.8', 'yours': '0.75'}]
    """
    saved = now_saved.model_dump()
    rows = [
        {
            "field": translate(f"planning.field.{name}", lang),
            "started_from": _display(name, started_from.get(name), lang),
            "now_saved": _display(name, saved[name], lang),
            "yours": _display(name, mine.get(name), lang),
        }
        for name in _CANVAS_ROWS
        if not _same(started_from.get(name), saved[name])
    ]
    return pd.DataFrame(rows, columns=["field", "started_from", "now_saved", "yours"])


def canvas_frame(canvas: Canvas, lang: str) -> pd.DataFrame:
    """The canvas as a two-column table (field, value) for reading.

    Examples
    --------
    >>> canvas_frame(Canvas(metric="recall"), "es").set_index("field").loc["Métrica de ML", "value"]
    'Exhaustividad (recall)'
    """
    values = canvas.model_dump()
    return pd.DataFrame(
        [
            {"field": translate(f"planning.field.{name}", lang), "value": _display(name, values[name], lang)}
            for name in _CANVAS_ROWS
        ],
        columns=["field", "value"],
    )


# ----------------------------------------------------------------------------- checklist


def list_custom_items(*, session: Session, project_id: int) -> tuple[ChecklistItem, ...]:
    """The project's own checklist items, oldest first."""
    rows = session.exec(
        select(CustomChecklistItem)
        .where(CustomChecklistItem.project_id == project_id)
        .order_by(col(CustomChecklistItem.id))
    ).all()
    return tuple(
        ChecklistItem(
            id=row.item_id,
            dimension=row.dimension,
            owner_role=row.owner_role,
            blocking=row.blocking,
            custom=True,
            question_text=row.question,
            help_text=row.help or None,
        )
        for row in rows
    )


def checklist_items(*, session: Session, project_id: int) -> tuple[ChecklistItem, ...]:
    """The built-in items and the project's own, by dimension (a project's items after the built-in ones)."""
    items = (*load_items(), *list_custom_items(session=session, project_id=project_id))
    order = {name: i for i, name in enumerate(DIMENSIONS)}
    return tuple(sorted(items, key=lambda item: order.get(item.dimension, len(order))))


def add_custom_item(
    *,
    session: Session,
    project_id: int,
    question: str,
    dimension: str,
    owner_role: str,
    blocking: bool = False,
    help_text: str | None = None,
    actor: User,
) -> ChecklistItem:
    """Add a question of the project's own to the feasibility checklist.

    Raises
    ------
    PermissionDenied
        Without ``planning.edit`` in the project.
    PlanningInputError
        As :func:`~mlcore.planning.checklist.make_custom_item`, or
        ``planning.records.item_exists`` if the project already has this question.
    """
    require(session=session, user=actor, action="planning.edit", project_id=project_id)
    _project(session, project_id, active=True)
    item = make_custom_item(
        question, dimension=dimension, owner_role=owner_role, blocking=blocking, help_text=help_text
    )
    added = _insert_if_absent(
        session,
        CustomChecklistItem,
        {
            "project_id": project_id,
            "item_id": item.id,
            "dimension": item.dimension,
            "question": item.question_text or "",
            "help": item.help_text or "",
            "owner_role": item.owner_role,
            "blocking": item.blocking,
            "created_by_id": actor.id or 0,
            "created_at": utcnow(),
        },
    )
    if not added:
        raise PlanningInputError("planning.records.item_exists", value=(item.question_text or "")[:80])
    record_event(
        session=session,
        actor=actor,
        action="planning.item_add",
        object_type="checklist_item",
        object_id=item.id,
        project_id=project_id,
        after={"question": item.question_text, "dimension": item.dimension, "blocking": item.blocking},
    )
    return item


@dataclass(frozen=True)
class AnswerRecord:
    """A saved checklist answer with its version (pass it back as ``expected_version``)."""

    answer: Answer
    version: int
    updated_by: str
    updated_at: datetime | None


def _answer(row: ChecklistAnswer) -> Answer:
    return Answer(
        item_id=row.item_id,
        answer=row.answer,  # type: ignore[arg-type]
        evidence=row.evidence or None,
        evidence_link=row.evidence_link or None,
        owner_role=row.owner_role or None,
        due_date=row.due_date,
    )


def list_answers(*, session: Session, project_id: int) -> dict[str, AnswerRecord]:
    """The project's checklist answers by item id."""
    rows = session.exec(select(ChecklistAnswer).where(ChecklistAnswer.project_id == project_id)).all()
    names = {uid: _user_name(session, uid) for uid in {row.updated_by_id for row in rows}}
    return {
        row.item_id: AnswerRecord(_answer(row), row.version, names[row.updated_by_id], row.updated_at) for row in rows
    }


def save_answer(
    *, session: Session, project_id: int, data: Mapping[str, Any], expected_version: int, actor: User
) -> AnswerRecord:
    """Save the answer to one checklist item, unless someone saved that item since ``expected_version``.

    Each item is saved on its own, so several people can fill in the checklist at the same
    time; only two saves of the same item can conflict.

    Parameters
    ----------
    data : mapping
        ``item_id``, ``answer`` and optionally ``evidence``, ``evidence_link``, ``owner_role``,
        ``due_date`` (see :func:`~mlcore.planning.checklist.validate_answer`).
    expected_version : int
        The version of this item's answer the user started from (``0``: it had none).

    Raises
    ------
    PermissionDenied
        Without ``planning.answer`` in the project.
    PlanningInputError
        A bad value, a link longer than :data:`LINK_COLUMN_LIMIT`, a SHA-256 that names no file
        in the workspace (``planning.records.link_not_stored``), or an item that is not in this
        project's checklist; nothing is saved.
    ConflictError
        ``planning.records.answer_conflict`` when someone saved this item meanwhile.
    """
    require(session=session, user=actor, action="planning.answer", project_id=project_id)
    _project(session, project_id, active=True)
    answer = validate_answer(data)
    if answer.item_id not in {item.id for item in checklist_items(session=session, project_id=project_id)}:
        raise PlanningInputError("planning.checklist.unknown_item", value=answer.item_id)
    link = answer.evidence_link or ""
    if len(link) > LINK_COLUMN_LIMIT:
        raise PlanningInputError(
            "planning.text.too_long", field="evidence_link", maximum=LINK_COLUMN_LIMIT, length=len(link)
        )
    if "://" not in link and link and session.get(Artifact, link) is None:
        raise PlanningInputError("planning.records.link_not_stored", value=link[:16])
    before = list_answers(session=session, project_id=project_id).get(answer.item_id)
    values = {
        "answer": answer.answer,
        "evidence": answer.evidence or "",
        "evidence_link": link,
        "owner_role": answer.owner_role or "",
        "due_date": answer.due_date,
        "updated_by_id": actor.id or 0,
        "updated_at": utcnow(),
    }
    if expected_version == 0:
        saved = _insert_if_absent(
            session, ChecklistAnswer, {"project_id": project_id, "item_id": answer.item_id, "version": 1, **values}
        )
    else:
        result = session.execute(
            update(ChecklistAnswer)
            .where(
                col(ChecklistAnswer.project_id) == project_id,
                col(ChecklistAnswer.item_id) == answer.item_id,
                col(ChecklistAnswer.version) == expected_version,
            )
            .values(version=expected_version + 1, **values)
        )
        saved = result.rowcount == 1  # type: ignore[attr-defined]
    if not saved:
        current = list_answers(session=session, project_id=project_id).get(answer.item_id)
        raise ConflictError(
            "planning.records.answer_conflict",
            who=current.updated_by if current else "?",
            when=current.updated_at.strftime("%Y-%m-%d %H:%M") if current and current.updated_at else "?",
        )
    session.expire_all()
    old = before.answer.model_dump(mode="json") if before else {}
    new = answer.model_dump(mode="json")
    record_event(
        session=session,
        actor=actor,
        action="planning.answer",
        object_type="checklist_item",
        object_id=answer.item_id,
        project_id=project_id,
        before={k: v for k, v in old.items() if k != "item_id" and new.get(k) != v},
        after={k: v for k, v in new.items() if k != "item_id" and old.get(k) != v},
    )
    return list_answers(session=session, project_id=project_id)[answer.item_id]


_ANSWER_FIELDS = ("answer", "evidence", "evidence_link", "owner_role", "due_date")


def answer_edited(started_from: Answer | None, mine: Mapping[str, Any]) -> bool:
    """Whether a form's values differ from the answer the user started from (``None``: no answer yet).

    Examples
    --------
    >>> answer_edited(None, {"answer": "unknown", "evidence": ""})
    False
    >>> answer_edited(Answer(item_id="lawful_basis", answer="yes"), {"answer": "no"})
    True
    """
    base = started_from.model_dump() if started_from is not None else {"answer": "unknown"}
    return any(not _same(base.get(name), mine.get(name)) for name in _ANSWER_FIELDS if name in mine)


def answer_conflicts(
    *, now_saved: AnswerRecord, mine: Mapping[str, Any], lang: str, default_owner: str | None = None
) -> pd.DataFrame:
    """Both versions of an answer, field by field, where they differ: what was saved meanwhile and the user's.

    Parameters
    ----------
    default_owner : str, optional
        The item's own responsible role, which an answer without one stands for.

    Returns
    -------
    pandas.DataFrame
        Columns ``field`` (translated), ``now_saved``, ``yours``.
    """
    saved = now_saved.answer.model_dump()
    if default_owner is not None:
        saved["owner_role"] = saved["owner_role"] or default_owner
        mine = {**mine, "owner_role": mine.get("owner_role") or default_owner}
    rows = [
        {
            "field": translate(f"planning.field.{name}", lang),
            "now_saved": _display(name, saved.get(name), lang),
            "yours": _display(name, mine.get(name), lang),
        }
        for name in _ANSWER_FIELDS
        if not _same(saved.get(name), mine.get(name))
    ]
    return pd.DataFrame(rows, columns=["field", "now_saved", "yours"])


def answers_frame(
    items: Sequence[ChecklistItem], answers: Mapping[str, AnswerRecord], *, dimension: str, lang: str
) -> pd.DataFrame:
    """One dimension's items and answers as a table for reading.

    Columns: ``question``, ``blocking``, ``answer``, ``evidence``, ``link``, ``owner``, ``due``,
    ``updated_by``, ``help``.
    """
    rows = []
    for item in items:
        if item.dimension != dimension:
            continue
        record = answers.get(item.id)
        answer = record.answer if record else None
        rows.append(
            {
                "question": item.question(lang),
                "blocking": item.blocking,
                "answer": translate(f"planning.answer.{answer.answer if answer else 'unknown'}", lang),
                "evidence": (answer.evidence if answer else None) or "",
                "link": (answer.evidence_link if answer else None) or "",
                "owner": translate(
                    f"planning.owner.{(answer.owner_role if answer else None) or item.owner_role}", lang
                ),
                "due": answer.due_date if answer else None,
                "updated_by": record.updated_by if record else "",
                "help": item.help(lang),
            }
        )
    columns = ["question", "blocking", "answer", "evidence", "link", "owner", "due", "updated_by", "help"]
    return pd.DataFrame(rows, columns=columns)


def project_readiness(*, session: Session, project_id: int) -> Readiness:
    """The checklist's readiness for the project (built-in and custom items, saved answers)."""
    items = checklist_items(session=session, project_id=project_id)
    answers = [record.answer for record in list_answers(session=session, project_id=project_id).values()]
    known = {item.id for item in items}
    return readiness(items, [a for a in answers if a.item_id in known])


def readiness_frame(result: Readiness, lang: str) -> pd.DataFrame:
    """Readiness per dimension: ``dimension``, ``score`` (0–1), ``status`` (translated), ``answered`` ("3 / 5")."""
    return pd.DataFrame(
        [
            {
                "dimension": translate(f"planning.dimension.{d.dimension}", lang),
                "score": d.score,
                "status": translate(f"planning.status.{d.status}", lang),
                "answered": f"{d.n_answered} / {d.n_items}",
            }
            for d in result.dimensions
        ],
        columns=["dimension", "score", "status", "answered"],
    )


def blocking_frame(
    result: Readiness, items: Sequence[ChecklistItem], answers: Mapping[str, AnswerRecord], lang: str
) -> pd.DataFrame:
    """The blocking items that keep the project from being ready: answered "no" first, then the open ones.

    Columns: ``question``, ``dimension``, ``answer`` (translated), ``owner``, ``due``.
    """
    by_id = {item.id: item for item in items}
    rows = []
    for item_id in (*result.blockers, *result.open_blocking):
        item = by_id[item_id]
        record = answers.get(item_id)
        answer = record.answer if record else None
        rows.append(
            {
                "question": item.question(lang),
                "dimension": translate(f"planning.dimension.{item.dimension}", lang),
                "answer": translate(f"planning.answer.{answer.answer if answer else 'unknown'}", lang),
                "owner": translate(
                    f"planning.owner.{(answer.owner_role if answer else None) or item.owner_role}", lang
                ),
                "due": answer.due_date if answer else None,
            }
        )
    return pd.DataFrame(rows, columns=["question", "dimension", "answer", "owner", "due"])


# ----------------------------------------------------------------------------- go / no-go gate

GateLevel = Literal["success", "warning", "error", "info"]
_LEVELS: dict[str | None, GateLevel] = {
    "go": "success",
    "go_with_conditions": "warning",
    "no_go": "error",
    None: "info",
}


@dataclass(frozen=True)
class GateStatus:
    """Where the planning gate stands: the newest go/no-go decision, or none yet.

    Attributes
    ----------
    outcome : {"go", "no_go", "go_with_conditions"} or None
        ``None`` while no decision has been recorded.
    rationale, conditions, decided_by : str
    decided_at : datetime or None
    decision_id : int or None
    """

    outcome: str | None
    rationale: str = ""
    conditions: str = ""
    decided_by: str = ""
    decided_at: datetime | None = None
    decision_id: int | None = None

    @property
    def decided(self) -> bool:
        return self.outcome is not None

    @property
    def key(self) -> str:
        """Catalog key of a one-line summary for any page (``planning.gate.<outcome>`` or ``.pending``)."""
        return f"planning.gate.{self.outcome or 'pending'}"

    @property
    def params(self) -> dict[str, str]:
        """Parameters of :attr:`key`'s message: ``who``, ``when``, ``conditions``."""
        return {
            "who": self.decided_by,
            "when": self.decided_at.strftime("%Y-%m-%d") if self.decided_at else "",
            "conditions": self.conditions,
        }

    @property
    def level(self) -> GateLevel:
        """How to show it: ``success`` (go), ``warning`` (with conditions), ``error`` (no go), ``info`` (pending)."""
        return _LEVELS.get(self.outcome, "info")

    def message(self, lang: str = "en") -> str:
        """The one-line summary in ``lang``.

        Examples
        --------
        >>> GateStatus(None).message("en")
        'Planning gate: no go/no-go decision yet.'
        """
        return translate(self.key, lang, **self.params)


def _status(session: Session, row: GateDecision) -> GateStatus:
    return GateStatus(
        outcome=row.decision,
        rationale=row.rationale,
        conditions=row.conditions,
        decided_by=_user_name(session, row.decided_by_id),
        decided_at=row.decided_at,
        decision_id=row.id,
    )


def _newest_decision(session: Session, project_id: int) -> GateDecision | None:
    return session.exec(
        select(GateDecision)
        .where(GateDecision.project_id == project_id)
        .order_by(col(GateDecision.decided_at).desc(), col(GateDecision.id).desc())
    ).first()


def gate_status(*, session: Session, project_id: int) -> GateStatus:
    """The planning gate of a project: its newest go/no-go decision (``outcome=None`` before the first).

    Every later stage shows it, for example with ``status.level`` and ``status.message(lang)``.
    """
    row = _newest_decision(session, project_id)
    return GateStatus(None) if row is None else _status(session, row)


def decision_history(*, session: Session, project_id: int) -> list[GateStatus]:
    """Every go/no-go decision of the project, newest first."""
    rows = session.exec(
        select(GateDecision)
        .where(GateDecision.project_id == project_id)
        .order_by(col(GateDecision.decided_at).desc(), col(GateDecision.id).desc())
    ).all()
    return [_status(session, row) for row in rows]


def decisions_frame(history: Sequence[GateStatus], lang: str) -> pd.DataFrame:
    """Decisions as a table: ``decided_at``, ``decision`` (translated), ``decided_by``, ``rationale``,
    ``conditions``."""
    return pd.DataFrame(
        [
            {
                "decided_at": h.decided_at,
                "decision": translate(f"planning.decision.{h.outcome}", lang),
                "decided_by": h.decided_by,
                "rationale": h.rationale,
                "conditions": h.conditions,
            }
            for h in history
        ],
        columns=["decided_at", "decision", "decided_by", "rationale", "conditions"],
    )


def record_decision(
    *,
    session: Session,
    project_id: int,
    outcome: str,
    rationale: str,
    conditions: str = "",
    expected_canvas_version: int,
    expected_decision_id: int | None,
    actor: User,
) -> GateStatus:
    """Record the go / no-go / go-with-conditions decision; it becomes the gate's status.

    The canvas at that moment is stored with the decision: its success criteria are what
    the deployment decision and monitoring are checked against (:func:`success_criteria`).

    Parameters
    ----------
    outcome : {"go", "no_go", "go_with_conditions"}
    rationale : str
        Why; also the audit event's reason.
    conditions : str
        Required for ``go_with_conditions``.
    expected_canvas_version : int
        The canvas version the decider looked at: if it changed since, nothing is recorded.
    expected_decision_id : int or None
        The decision that was the gate's status when the decider looked (``None``: none yet).

    Raises
    ------
    PermissionDenied
        Without ``planning.signoff`` in the project.
    PlanningInputError
        ``planning.decision.*`` (unknown outcome, empty rationale), ``planning.records.conditions_empty``,
        ``planning.records.go_needs_criteria`` (a go needs the canvas's metric and threshold).
    ConflictError
        ``planning.records.canvas_changed`` or ``planning.records.decision_changed`` when the
        canvas or the gate changed since the decider looked.
    """
    require(session=session, user=actor, action="planning.signoff", project_id=project_id)
    _project(session, project_id, active=True)
    decision = make_decision(outcome, rationale=rationale, decided_by=actor.name, decided_at=utcnow())
    conds = check_text(conditions, field="conditions", limit=RATIONALE_LIMIT) or ""
    if decision.outcome == "go_with_conditions" and not conds:
        raise PlanningInputError("planning.records.conditions_empty")
    record = get_canvas(session=session, project_id=project_id)
    if decision.outcome != "no_go" and (record.canvas.metric is None or record.canvas.threshold is None):
        raise PlanningInputError("planning.records.go_needs_criteria")
    if record.version != expected_canvas_version:
        raise ConflictError("planning.records.canvas_changed", who=record.updated_by or "?", version=record.version)
    current = gate_status(session=session, project_id=project_id)
    if current.decision_id != expected_decision_id:
        raise ConflictError(
            "planning.records.decision_changed", who=current.decided_by or "?", when=current.params["when"]
        )
    row = GateDecision(
        project_id=project_id,
        decision=decision.outcome,
        rationale=decision.rationale,
        conditions=conds,
        canvas=record.canvas.model_dump(mode="json"),
        decided_by_id=actor.id or 0,
        decided_at=decision.decided_at,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="planning.gate_decision",
        object_type="gate_decision",
        object_id=row.id or 0,
        project_id=project_id,
        before={"decision": current.outcome},
        after={
            "decision": decision.outcome,
            "conditions": conds,
            "canvas_version": record.version,
            "readiness": project_readiness(session=session, project_id=project_id).status,
        },
        reason=decision.rationale,
    )
    return _status(session, row)


@dataclass(frozen=True)
class SuccessCriteria:
    """The success criteria signed off at the gate (the canvas as it was at the newest decision).

    Attributes
    ----------
    outcome : str
        The decision they were signed off with (``go``, ``go_with_conditions`` or ``no_go``).
    decided_at : datetime
    decision_id : int
    canvas : Canvas
        The whole canvas at that moment; the properties below are its success criteria.
    """

    outcome: str
    decided_at: datetime
    decision_id: int
    canvas: Canvas

    @property
    def task_type(self) -> str | None:
        return self.canvas.task_type

    @property
    def metric(self) -> str | None:
        return self.canvas.metric

    @property
    def threshold(self) -> float | None:
        return self.canvas.threshold

    @property
    def secondary_metric(self) -> str | None:
        return self.canvas.secondary_metric

    @property
    def secondary_threshold(self) -> float | None:
        return self.canvas.secondary_threshold

    @property
    def cost_false_positive(self) -> float | None:
        return self.canvas.cost_false_positive

    @property
    def cost_false_negative(self) -> float | None:
        return self.canvas.cost_false_negative

    @property
    def baseline_score(self) -> float | None:
        return self.canvas.baseline_score

    @property
    def business_target(self) -> str | None:
        return self.canvas.business_target

    def met_by(self, scores: Mapping[str, float]) -> bool:
        """Whether measured ``scores`` (metric name → value) meet the threshold and the second condition.

        Raises
        ------
        PlanningInputError
            ``planning.records.score_missing`` if a criterion's metric is not in ``scores``,
            ``planning.records.no_criteria`` if no metric and threshold were signed off.

        Examples
        --------
        >>> criteria = SuccessCriteria("go", datetime(2026, 1, 1), 1, Canvas(
        ...     task_type="classification", metric="recall", threshold=0.7,
        ...     secondary_metric="precision", secondary_threshold=0.4))
        >>> criteria.met_by({"recall": 0.75, "precision": 0.45}), criteria.met_by({"recall": 0.75, "precision": 0.3})
        (True, False)
        """
        if self.metric is None or self.threshold is None:
            raise PlanningInputError("planning.records.no_criteria")
        checks = [(self.metric, self.threshold)]
        if self.secondary_metric is not None and self.secondary_threshold is not None:
            checks.append((self.secondary_metric, self.secondary_threshold))
        for metric, _ in checks:
            if metric not in scores:
                raise PlanningInputError("planning.records.score_missing", metric=metric)
        return all(meets_threshold(metric, float(scores[metric]), threshold) for metric, threshold in checks)


def success_criteria(*, session: Session, project_id: int) -> SuccessCriteria | None:
    """The success criteria stored with the newest gate decision (``None`` before the first decision)."""
    row = _newest_decision(session, project_id)
    if row is None:
        return None
    return SuccessCriteria(
        outcome=row.decision, decided_at=row.decided_at, decision_id=row.id or 0, canvas=validate_canvas(row.canvas)
    )


# ----------------------------------------------------------------------------- evidence: data and sufficiency


def date_columns(version: VersionSummary) -> list[str]:
    """Columns of a version that hold dates (for the coverage of the data availability)."""
    return [
        str(c["name"])
        for c in version.columns
        if c.get("role") == "datetime" or str(c.get("dtype", "")).startswith(("timestamp", "date"))
    ]


def suggested_version(versions: Sequence[VersionSummary], evidence: Evidence | None) -> VersionSummary | None:
    """The version to start the evidence from: the one the newest evidence used, else the first with a
    target (the newest of its dataset), else the first; ``None`` without versions."""
    if evidence is not None:
        for version in versions:
            if version.id == evidence.version_id:
                return version
    with_target = [v for v in versions if v.target]
    if with_target:
        first = with_target[0].dataset
        return max((v for v in with_target if v.dataset == first), key=lambda v: v.number)
    return versions[0] if versions else None


def _check_columns(version: VersionSummary, *, target: str, date_column: str | None) -> None:
    names = [str(c["name"]) for c in version.columns]
    if target not in names:
        raise PlanningInputError("planning.availability.target_not_a_column", column=str(target)[:80])
    if date_column is not None:
        if date_column not in names:
            raise PlanningInputError("planning.availability.date_not_a_column", column=str(date_column)[:80])
        if date_column not in date_columns(version):
            raise PlanningInputError("planning.availability.not_dates", column=str(date_column)[:80])


def feature_frame(df: pd.DataFrame, *, target: str, version: VersionSummary) -> tuple[pd.DataFrame, pd.Series]:
    """The inputs and target a learning curve trains on: labelled rows only, identifiers and free text left out.

    Raises
    ------
    PlanningInputError
        ``planning.availability.target_not_a_column``.
    """
    if target not in df.columns:
        raise PlanningInputError("planning.availability.target_not_a_column", column=str(target)[:80])
    roles = {str(c["name"]): c.get("role", "") for c in version.columns}
    labelled = df[df[target].notna()].reset_index(drop=True)
    inputs = [c for c in labelled.columns if c != target and roles.get(str(c), "") not in _NOT_FEATURES]
    return labelled[inputs], labelled[target]


def availability_for(
    *, store: ArtifactStore, version: VersionSummary, target: str, task_type: str, date_column: str | None = None
) -> DataAvailability:
    """Data availability of a dataset version for ``target`` (see
    :func:`~mlcore.planning.sufficiency.data_availability`).

    Raises
    ------
    PlanningInputError
        The target or date column is not a column of the version, or the date column holds no dates.
    """
    _check_columns(version, target=target, date_column=date_column)
    df = read_version(store=store, version=version).to_pandas()
    return data_availability(df, target=target, task_type=task_type, date_column=date_column)


@dataclass(frozen=True)
class Evidence:
    """What the sufficiency job computed on a linked dataset version, stored as a JSON artifact.

    ``task_type``, ``metric``, ``threshold`` and ``baseline_score`` are the canvas's when the job
    was started (:func:`stale_evidence` says which changed since).
    """

    version_id: int
    version_label: str
    version_sha256: str
    target: str
    date_column: str | None
    task_type: str
    metric: str
    threshold: float | None
    baseline_score: float | None
    thoroughness: str
    computed_at: datetime
    computed_by: str
    availability: DataAvailability
    study: SufficiencyStudy
    baseline: BaselineComparison | None
    artifact_sha256: str = ""
    job_id: int | None = None


def _encode(value: Any) -> Any:
    """Plain JSON for dataclasses: tuples as lists, dates as ISO text, ±inf and NaN as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "-inf", "nan": float() reads them back
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _decode(kind: Any, value: Any) -> Any:
    """Rebuild a value of type ``kind`` from :func:`_encode`'s output."""
    if value is None or kind is Any:
        return value
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        return _decode(options[0], value)
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{value!r} is not one of {args}")
        return value
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v) for v in value)
        return tuple(_decode(a, v) for a, v in zip(args, value, strict=True))
    if origin in (dict, Mapping, typing.Mapping) or kind is dict:
        inner = args[1] if args else Any
        return {str(k): _decode(inner, v) for k, v in value.items()}
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(
            **{f.name: _decode(hints[f.name], value[f.name]) for f in dataclasses.fields(kind) if f.name in value}
        )
    if kind is float:
        return float(value)
    if kind is int:
        return int(value)
    if kind is bool:
        return bool(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    return value


def evidence_to_json(evidence: Evidence) -> bytes:
    """Serialise evidence as strict JSON (no NaN or Infinity literals), without its artifact and job ids.

    Examples
    --------
    >>> from sklearn.datasets import make_classification
    >>> X, y = make_classification(120, random_state=0)
    >>> df = pd.DataFrame(X).rename(columns=str).assign(y=y)
    >>> ev = Evidence(1, "d v1", "0" * 64, "y", None, "classification", "roc_auc", 0.8, None, "quick",
    ...               datetime(2026, 1, 1), "ana", data_availability(df, target="y", task_type="classification"),
    ...               learning_curve_study(X, y, task_type="classification", metric="roc_auc", cv=3,
    ...                                    threshold=0.8, fractions=(0.3, 0.5, 0.8, 1.0)), None)
    >>> evidence_from_json(evidence_to_json(ev)) == ev
    True
    """
    payload = _encode(dataclasses.replace(evidence, artifact_sha256="", job_id=None))
    payload.pop("artifact_sha256")
    payload.pop("job_id")
    return json.dumps({"format": EVIDENCE_FORMAT, **payload}, allow_nan=False, ensure_ascii=False).encode("utf-8")


def evidence_from_json(data: bytes, *, artifact_sha256: str = "", job_id: int | None = None) -> Evidence:
    """Read evidence written by :func:`evidence_to_json`.

    Raises
    ------
    PlanningInputError
        ``planning.records.evidence_unreadable`` if it is not evidence in a format this version reads.
    """
    try:
        payload = json.loads(data.decode("utf-8"))
        if not isinstance(payload, dict) or payload.pop("format", None) != EVIDENCE_FORMAT:
            raise ValueError("not planning evidence")
        evidence = _decode(Evidence, payload)
    except (ValueError, KeyError, TypeError) as exc:
        raise PlanningInputError("planning.records.evidence_unreadable", detail=type(exc).__name__) from None
    assert isinstance(evidence, Evidence)
    return dataclasses.replace(evidence, artifact_sha256=artifact_sha256, job_id=job_id)


def stale_evidence(evidence: Evidence, canvas: Canvas) -> tuple[str, ...]:
    """Canvas fields the evidence depends on that changed since it was computed (empty: still current)."""
    return tuple(name for name in _EVIDENCE_FIELDS if not _same(getattr(evidence, name), getattr(canvas, name)))


def _task_for(canvas: Canvas) -> str:
    if canvas.task_type is not None:
        return canvas.task_type
    return "classification" if canvas.metric in CLASSIFICATION_METRICS else "regression"


def _project_version(session: Session, project_id: int, version_id: int) -> VersionSummary:
    version = get_version(session=session, version_id=version_id)
    if version.id not in {v.id for v in list_versions(session=session, project_id=project_id)}:
        raise NotFound("errors.version_not_found", version_id=version_id)
    return version


def submit_sufficiency(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    version_id: int,
    target: str,
    actor_id: int,
    date_column: str | None = None,
    thoroughness: str = "standard",
    launch: bool = True,
) -> int:
    """Check what can be checked at once, queue the sufficiency job and (unless ``launch=False``) start it.

    The job uses the canvas's task, metric, threshold and stated baseline as they are now.
    Returns the job id.

    Raises
    ------
    PermissionDenied
        Without ``planning.analyse`` in the project.
    PlanningInputError
        ``planning.records.study_needs_metric`` (no metric in the canvas yet),
        ``planning.availability.target_not_a_column``, ``planning.availability.not_dates``,
        ``planning.study.too_few_rows`` (fewer than :data:`~mlcore.planning.sufficiency.MIN_ROWS`
        labelled rows), ``planning.records.unknown_thoroughness``.
    NotFound
        If the version is not one of the project's.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        actor = session.get(User, actor_id)
        require(session=session, user=actor, action="planning.analyse", project_id=project_id)
        _project(session, project_id, active=True)
        canvas = get_canvas(session=session, project_id=project_id)
        version = _project_version(session, project_id, version_id)
    if canvas.canvas.metric is None:
        raise PlanningInputError("planning.records.study_needs_metric")
    if thoroughness not in THOROUGHNESS:
        raise PlanningInputError(
            "planning.records.unknown_thoroughness", value=str(thoroughness)[:40], choices=", ".join(THOROUGHNESS)
        )
    _check_columns(version, target=target, date_column=date_column)
    store = ArtifactStore(settings.artifacts_dir)
    labels = store.read_table(version.sha256, columns=[target]).column(0)
    labelled = len(labels) - labels.null_count
    if labelled < MIN_ROWS:
        raise PlanningInputError("planning.study.too_few_rows", rows=labelled, minimum=MIN_ROWS)
    c = canvas.canvas
    params = {
        "project_id": project_id,
        "version_id": version_id,
        "target": target,
        "date_column": date_column,
        "task_type": _task_for(c),
        "metric": c.metric,
        "threshold": c.threshold,
        "baseline_score": c.baseline_score,
        "thoroughness": thoroughness,
        "canvas_version": canvas.version,
        "actor_id": actor_id,
    }
    with session_scope(engine) as session:
        job = submit_job(session=session, kind="sufficiency", params=params, actor_id=actor_id, project_id=project_id)
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


@job_kind("sufficiency")
def sufficiency_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: data availability, learning curve and baseline on a dataset version, stored as a JSON artifact.

    Returns ``{"sha256", "label", "n_rows", "verdict"}`` (the evidence artifact, the version's
    label, the labelled rows studied and the verdict).
    """
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    target, date_column = str(params["target"]), params.get("date_column")
    task_type, metric = str(params["task_type"]), str(params["metric"])
    threshold = None if params.get("threshold") is None else float(params["threshold"])
    stated = None if params.get("baseline_score") is None else float(params["baseline_score"])
    thoroughness = str(params.get("thoroughness", "standard"))
    if thoroughness not in THOROUGHNESS:
        raise PlanningInputError(
            "planning.records.unknown_thoroughness", value=thoroughness[:40], choices=", ".join(THOROUGHNESS)
        )
    folds, fractions = THOROUGHNESS[thoroughness]
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as s:
        actor = s.get(User, actor_id)
        require(session=s, user=actor, action="planning.analyse", project_id=project_id)
        version = _project_version(s, project_id, int(params["version_id"]))
        author = _user_name(s, actor_id)
    _check_columns(version, target=target, date_column=date_column)
    ctx.progress(0.02, "planning.progress.reading")
    df = read_version(store=store, version=version).to_pandas()
    availability = data_availability(df, target=target, task_type=task_type, date_column=date_column)
    X, y = feature_frame(df, target=target, version=version)
    study = learning_curve_study(
        X,
        y,
        task_type=task_type,
        metric=metric,
        cv=folds,
        fractions=fractions,
        threshold=threshold,
        progress=lambda share, key: ctx.progress(0.05 + 0.85 * share, key),
    )
    baseline = None
    if threshold is not None:
        ctx.progress(0.92, "planning.progress.baseline")
        baseline = baseline_comparison(
            X, y, task_type=task_type, metric=metric, threshold=threshold, stated_baseline_score=stated, cv=folds
        )
    ctx.progress(0.97, "planning.progress.saving")
    evidence = Evidence(
        version_id=version.id,
        version_label=version.label,
        version_sha256=version.sha256,
        target=target,
        date_column=date_column,
        task_type=task_type,
        metric=metric,
        threshold=threshold,
        baseline_score=stated,
        thoroughness=thoroughness,
        computed_at=utcnow(),
        computed_by=author,
        availability=availability,
        study=study,
        baseline=baseline,
    )
    ref = store.put_bytes(evidence_to_json(evidence))
    with session_scope(ctx.engine) as s:
        actor = require(session=s, user=s.get(User, actor_id), action="planning.analyse", project_id=project_id)
        register_artifact(session=s, ref=ref, kind="json", actor_id=actor_id)
        needed = study.rows_needed
        record_event(
            session=s,
            actor=actor,
            action="planning.sufficiency",
            object_type="dataset_version",
            object_id=version.id,
            project_id=project_id,
            after={
                "version": version.label,
                "target": target,
                "metric": metric,
                "threshold": threshold,
                "verdict": study.verdict,
                "rows_needed": needed.status if needed else None,
                "evidence_sha256": ref.sha256,
            },
        )
    return {"sha256": ref.sha256, "label": version.label, "n_rows": study.n_rows, "verdict": study.verdict}


def latest_evidence(*, session: Session, store: ArtifactStore, project_id: int) -> Evidence | None:
    """The evidence of the project's newest successful sufficiency job (``None`` if it has none).

    Raises
    ------
    NotFound, ArtifactCorrupted
        If the evidence file is missing or changed since it was written.
    """
    job = session.exec(
        select(Job)
        .where(Job.project_id == project_id, Job.kind == "sufficiency", Job.status == "succeeded")
        .order_by(col(Job.id).desc())
    ).first()
    if job is None:
        return None
    sha = str((job.result or {}).get("sha256", ""))
    if session.get(Artifact, sha) is None:
        raise NotFound("errors.artifact_missing", sha256=sha[:80])
    return evidence_from_json(store.read_bytes(sha), artifact_sha256=sha, job_id=job.id)


def verdict_message(study: SufficiencyStudy, lang: str) -> str:
    """The learning curve's verdict in plain words (numbers formatted for ``lang``)."""
    return translate(study.verdict_key, lang, **{k: format_number(v, lang) for k, v in study.verdict_params.items()})


def rows_needed_message(study: SufficiencyStudy, lang: str) -> str | None:
    """The rows-needed estimate and its interval in plain words (``None`` when no threshold was given)."""
    needed = study.rows_needed
    if needed is None:
        return None
    return translate(needed.key, lang, **{k: format_number(v, lang) for k, v in needed.params.items()})


def baseline_message(result: BaselineComparison, lang: str) -> str:
    """The comparison with a trivial model and today's process, in plain words."""
    params = {k: format_number(v, lang) for k, v in result.conclusion_params.items()}
    return translate(result.conclusion_key, lang, **params)


def availability_frame(summary: DataAvailability, lang: str) -> pd.DataFrame:
    """The data-availability summary as a two-column table (``label``, ``value``) for reading."""
    rows = [
        (translate("planning.report.rows", lang), _number(summary.rows, lang)),
        (translate("planning.report.labelled_rows", lang), _number(summary.labelled_rows, lang)),
        (translate("planning.report.missing_share", lang), _percent(summary.missing_share, lang)),
    ]
    if summary.minority_share is not None:
        rows.append((translate("planning.records.minority_share", lang), _percent(summary.minority_share, lang)))
    if summary.date_min is not None:
        rows.append(
            (
                translate("planning.report.dates", lang),
                translate(
                    "planning.report.date_range",
                    lang,
                    first=summary.date_min.date().isoformat(),
                    last=summary.date_max.date().isoformat() if summary.date_max else "—",
                    days=_number(round(summary.date_span_days or 0.0), lang),
                ),
            )
        )
    return pd.DataFrame(rows, columns=["label", "value"])


def baseline_frame(result: BaselineComparison, lang: str) -> pd.DataFrame:
    """The threshold beside a trivial model's score, today's stated score and the bar to beat (``label``, ``value``)."""
    rows = [
        (translate("planning.field.threshold", lang), _number(result.threshold, lang)),
        (translate("planning.report.dummy_score", lang), _number(result.dummy_score, lang)),
    ]
    if result.stated_baseline_score is not None:
        rows.append((translate("planning.field.baseline_score", lang), _number(result.stated_baseline_score, lang)))
    rows.append((translate("planning.report.bar", lang), _number(result.bar, lang)))
    return pd.DataFrame(rows, columns=["label", "value"])


def criterion_text(metric: str, threshold: float | None, lang: str) -> str:
    """A success criterion as people read it: the metric, "≥" or "≤", the threshold.

    Examples
    --------
    >>> criterion_text("recall", 0.7, "en"), criterion_text("mape", 0.2, "es")
    ('Recall ≥ 0.7', 'MAPE (error porcentual absoluto medio) ≤ 0,2')
    """
    name = translate(f"planning.metric.{metric}", lang)
    if threshold is None:
        return f"{name} {translate('planning.records.no_threshold', lang)}"
    sign = "≥" if metric_direction(metric) == "higher" else "≤"
    return f"{name} {sign} {_number(threshold, lang)}"


def finding_message(finding: Finding, lang: str) -> str:
    """A data-availability finding in plain words, its numbers formatted for ``lang`` (shares as percentages).

    Examples
    --------
    >>> finding_message(Finding("planning.availability.mostly_missing_columns",
    ...                         {"columns": "income", "count": 1, "share": 0.3}), "en")
    '1 columns are missing in more than 30 % of the rows: income.'
    """
    params = {
        name: _percent(value, lang)
        if name == "share"
        else _number(value, lang)
        if isinstance(value, int | float) and not isinstance(value, bool)
        else value
        for name, value in finding.params.items()
    }
    return translate(finding.key, lang, **params)


def classes_frame(summary: DataAvailability) -> pd.DataFrame:
    """Labelled rows per class (``class``, ``rows``), most frequent first; empty for regression."""
    return pd.DataFrame(list(summary.rows_per_class), columns=["class", "rows"])


# ----------------------------------------------------------------------------- report


def report_data(
    *,
    session: Session,
    store: ArtifactStore,
    project_id: int,
    lang: str,
    availability: DataAvailability | None = None,
) -> ReportData:
    """Everything the planning report shows, read from the records.

    The data sections come from the newest sufficiency evidence; without one, ``availability``
    (for example the one on screen) is shown if given. A decision's conditions are added to its
    rationale.
    """
    project = _project(session, project_id)
    items = checklist_items(session=session, project_id=project_id)
    answers = tuple(record.answer for record in list_answers(session=session, project_id=project_id).values())
    evidence = latest_evidence(session=session, store=store, project_id=project_id)
    status = gate_status(session=session, project_id=project_id)
    decision = None
    if status.outcome is not None and status.decided_at is not None:
        rationale = status.rationale
        if status.conditions:
            rationale += "\n\n" + translate("planning.records.conditions_line", lang, conditions=status.conditions)
        decision = Decision(
            outcome=status.outcome,  # type: ignore[arg-type]
            rationale=rationale,
            decided_by=status.decided_by,
            decided_at=status.decided_at,
        )
    return ReportData(
        project_name=project.name,
        canvas=get_canvas(session=session, project_id=project_id).canvas,
        items=items,
        answers=answers,
        readiness=project_readiness(session=session, project_id=project_id),
        availability=evidence.availability if evidence is not None else availability,
        study=evidence.study if evidence is not None else None,
        baseline=evidence.baseline if evidence is not None else None,
        decision=decision,
        generated_at=utcnow(),
    )
