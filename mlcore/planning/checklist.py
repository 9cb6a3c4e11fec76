"""The feasibility checklist: questions per dimension, the team's answers, and the readiness they add up to.

The built-in items are data (``checklist_items.json``: id, dimension, owner role, blocking);
their question and help texts are catalog entries ``planning.item.<id>.question`` and
``planning.item.<id>.help``. Projects may add their own items with :func:`make_custom_item`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from hashlib import sha256
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, field_validator

from mlcore.auth import ROLES
from mlcore.i18n import translate
from mlcore.planning.canvas import PlanningInputError, check_text, parse_model

__all__ = [
    "ANSWERS",
    "ANSWER_SCORES",
    "DIMENSIONS",
    "OWNER_ROLES",
    "READY_SCORE",
    "STATUSES",
    "Answer",
    "ChecklistItem",
    "DimensionReadiness",
    "Readiness",
    "load_items",
    "make_custom_item",
    "overdue_items",
    "readiness",
    "validate_answer",
]

Dimension = Literal[
    "data_availability",
    "applicability",
    "legal",
    "robustness_scalability",
    "resources",
    "explainability",
    "security",
    "ai_ethics",
]
AnswerValue = Literal["yes", "partly", "no", "unknown"]
Status = Literal["ready", "at_risk", "blocked"]

DIMENSIONS: tuple[str, ...] = get_args(Dimension)
ANSWERS: tuple[str, ...] = get_args(AnswerValue)
STATUSES: tuple[str, ...] = get_args(Status)

OWNER_ROLES: tuple[str, ...] = ROLES
"""Who can own a checklist item: the roles of :data:`mlcore.auth.ROLES`."""

ANSWER_SCORES: dict[str, float] = {"yes": 1.0, "partly": 0.5, "no": 0.0, "unknown": 0.0}
"""What each answer contributes to a dimension's score; an unanswered item counts as ``"unknown"``."""

READY_SCORE = 0.75
"""A dimension is ready only if its score reaches this (and all its blocking items are "yes")."""

QUESTION_LIMIT = 300
HELP_LIMIT = 2000
EVIDENCE_LIMIT = 2000
LINK_LIMIT = 2000

_ITEMS_FILE = Path(__file__).with_name("checklist_items.json")
_ID = re.compile(r"[a-z0-9_]{1,60}")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ChecklistItem:
    """One feasibility question.

    Attributes
    ----------
    id : str
        Stable identifier (answers refer to it).
    dimension : str
        One of :data:`DIMENSIONS`.
    owner_role : str
        The role expected to answer it (one of :data:`OWNER_ROLES`).
    blocking : bool
        A "no" blocks the project; anything but "yes" keeps its dimension from being ready.
    custom : bool
        ``True`` for a project's own item, whose texts are ``question_text``/``help_text``;
        built-in items take theirs from the catalogs.
    question_text, help_text : str or None
        Only for custom items.
    """

    id: str
    dimension: str
    owner_role: str
    blocking: bool
    custom: bool = False
    question_text: str | None = None
    help_text: str | None = None

    @property
    def question_key(self) -> str | None:
        """Catalog key of the question (``None`` for a custom item)."""
        return None if self.custom else f"planning.item.{self.id}.question"

    @property
    def help_key(self) -> str | None:
        """Catalog key of the help text (``None`` for a custom item)."""
        return None if self.custom else f"planning.item.{self.id}.help"

    def question(self, lang: str = "en") -> str:
        """The question in ``lang`` (a custom item's text is shown as typed)."""
        if self.question_key is None:
            return self.question_text or ""
        return translate(self.question_key, lang)

    def help(self, lang: str = "en") -> str:
        """The help text in ``lang``: why the question matters and how to check it."""
        if self.help_key is None:
            return self.help_text or ""
        return translate(self.help_key, lang)


@cache
def load_items() -> tuple[ChecklistItem, ...]:
    """Return the built-in checklist items, ordered by dimension (:data:`DIMENSIONS`) then as in the file.

    Examples
    --------
    >>> items = load_items()
    >>> {item.dimension for item in items} == set(DIMENSIONS)
    True
    >>> items[0].question("en")
    'Do we know which systems hold the data we need, and can we get access to it?'
    """
    raw = json.loads(_ITEMS_FILE.read_text(encoding="utf-8"))
    items = [
        ChecklistItem(
            id=entry["id"], dimension=entry["dimension"], owner_role=entry["owner_role"], blocking=entry["blocking"]
        )
        for entry in raw["items"]
    ]
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate item id in {_ITEMS_FILE}")
    for item in items:
        if item.dimension not in DIMENSIONS or item.owner_role not in OWNER_ROLES or not _ID.fullmatch(item.id):
            raise ValueError(f"bad checklist item {item!r} in {_ITEMS_FILE}")
    return tuple(sorted(items, key=lambda item: DIMENSIONS.index(item.dimension)))


def make_custom_item(
    question: str,
    *,
    dimension: str,
    owner_role: str,
    blocking: bool = False,
    help_text: str | None = None,
    item_id: str | None = None,
) -> ChecklistItem:
    """Build a project's own checklist item from text typed by a user.

    Parameters
    ----------
    question : str
        The question (one line, at most :data:`QUESTION_LIMIT` characters).
    dimension : str
        One of :data:`DIMENSIONS`.
    owner_role : str
        One of :data:`OWNER_ROLES`.
    blocking : bool
        Whether a "no" blocks the project.
    help_text : str, optional
        Why it matters and how to check it (may span lines, at most :data:`HELP_LIMIT` characters).
    item_id : str, optional
        Identifier (lowercase letters, digits, ``_``); by default ``custom_`` plus a hash of the
        question, so the same question always gets the same id.

    Raises
    ------
    PlanningInputError
        Empty, too long or control characters in the texts (``planning.text.*``), unknown
        dimension or role, a malformed id or one that a built-in item already uses.

    Examples
    --------
    >>> item = make_custom_item("Has the works council been consulted?", dimension="legal",
    ...                         owner_role="product_designer", blocking=True)
    >>> item.custom, item.id.startswith("custom_"), item.question("es")
    (True, True, 'Has the works council been consulted?')
    """
    text = check_text(question, field="question", limit=QUESTION_LIMIT, multiline=False)
    if text is None:
        raise PlanningInputError("planning.checklist.question_empty")
    help_clean = check_text(help_text, field="help", limit=HELP_LIMIT)
    if dimension not in DIMENSIONS:
        raise PlanningInputError(
            "planning.checklist.unknown_dimension", value=str(dimension)[:40], choices=", ".join(DIMENSIONS)
        )
    if owner_role not in OWNER_ROLES:
        raise PlanningInputError(
            "planning.checklist.unknown_role", value=str(owner_role)[:40], choices=", ".join(OWNER_ROLES)
        )
    if item_id is None:
        item_id = "custom_" + sha256(text.encode("utf-8")).hexdigest()[:12]
    elif not isinstance(item_id, str) or not _ID.fullmatch(item_id):
        raise PlanningInputError("planning.checklist.bad_item_id", value=str(item_id)[:60])
    if item_id in {item.id for item in load_items()}:
        raise PlanningInputError("planning.checklist.item_id_taken", value=item_id)
    return ChecklistItem(
        id=item_id,
        dimension=dimension,
        owner_role=owner_role,
        blocking=bool(blocking),
        custom=True,
        question_text=text,
        help_text=help_clean,
    )


def _check_link(value: str) -> str:
    link = value.strip()
    if _SHA256.fullmatch(link.lower()):
        return link.lower()
    parts = urlsplit(link)
    if (
        len(link) > LINK_LIMIT
        or parts.scheme.lower() not in ("http", "https")
        or not parts.hostname
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in link)
    ):
        raise PlanningInputError("planning.answer.bad_link", value=link[:80])
    return link


class Answer(BaseModel):
    """The team's answer to one checklist item, with its evidence.

    Build it with :func:`validate_answer`.

    Attributes
    ----------
    item_id : str
        The :class:`ChecklistItem` answered.
    answer : {"yes", "partly", "no", "unknown"}
    evidence : str, optional
        What shows the answer is right (a summary, a reference to a document).
    evidence_link : str, optional
        An ``http(s)`` URL or the SHA-256 (64 hex digits) of an artifact in the workspace.
    owner_role : str, optional
        Who is responsible for the answer, if not the item's default owner.
    due_date : datetime.date, optional
        When a definitive answer is expected.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    answer: AnswerValue = "unknown"
    evidence: str | None = None
    evidence_link: str | None = None
    owner_role: str | None = None
    due_date: date | None = None

    @field_validator("item_id", mode="before")
    @classmethod
    def _item_id(cls, value: object) -> object:
        if not isinstance(value, str) or not _ID.fullmatch(value):
            raise PlanningInputError("planning.checklist.bad_item_id", value=str(value)[:60])
        return value

    @field_validator("evidence", mode="before")
    @classmethod
    def _evidence(cls, value: object) -> str | None:
        return check_text(value, field="evidence", limit=EVIDENCE_LIMIT)

    @field_validator("evidence_link", mode="before")
    @classmethod
    def _link(cls, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise PlanningInputError("planning.answer.bad_link", value=str(value)[:80])
        return _check_link(value)

    @field_validator("owner_role", mode="before")
    @classmethod
    def _role(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if value not in OWNER_ROLES:
            raise PlanningInputError(
                "planning.checklist.unknown_role", value=str(value)[:40], choices=", ".join(OWNER_ROLES)
            )
        return value

    @field_validator("due_date", mode="before")
    @classmethod
    def _due(cls, value: object) -> object:
        return None if value == "" else value


def validate_answer(data: Mapping[str, Any]) -> Answer:
    """Validate an answer given as a mapping (as a form or the database returns it).

    Raises
    ------
    PlanningInputError
        For example ``planning.answer.bad_link`` for a link that is neither an ``http(s)``
        URL nor a SHA-256, ``planning.value.not_a_choice`` for an answer outside
        yes/partly/no/unknown, ``planning.value.not_a_date`` for a bad due date.

    Examples
    --------
    >>> validate_answer({"item_id": "lawful_basis", "answer": "yes", "evidence_link": "https://intra/dpia.pdf"}).answer
    'yes'
    >>> validate_answer({"item_id": "lawful_basis", "answer": "yes", "evidence_link": "javascript:alert(1)"})
    Traceback (most recent call last):
    ...
    mlcore.planning.canvas.PlanningInputError: The evidence link ...
    """
    return parse_model(Answer, data)


@dataclass(frozen=True)
class DimensionReadiness:
    """Where one dimension stands.

    Attributes
    ----------
    dimension : str
    score : float
        Mean of its items' :data:`ANSWER_SCORES`, in [0, 1].
    status : {"ready", "at_risk", "blocked"}
    n_items, n_answered : int
        Items in the dimension, and how many have an answer other than "unknown".
    blockers : tuple of str
        Blocking items answered "no".
    open_blocking : tuple of str
        Blocking items not yet answered "yes" (nor "no"): unknown, partly or unanswered.
    """

    dimension: str
    score: float
    status: Status
    n_items: int
    n_answered: int
    blockers: tuple[str, ...]
    open_blocking: tuple[str, ...]


@dataclass(frozen=True)
class Readiness:
    """The checklist's overall verdict (see :func:`readiness` for the rules).

    Attributes
    ----------
    status : {"ready", "at_risk", "blocked"}
    score : float
        Mean of the dimension scores (each dimension weighs the same).
    dimensions : tuple of DimensionReadiness
        In :data:`DIMENSIONS` order; dimensions without items are left out.
    blockers, open_blocking : tuple of str
        Over all dimensions.
    unanswered : tuple of str
        Items with no answer, or answered "unknown".
    """

    status: Status
    score: float
    dimensions: tuple[DimensionReadiness, ...]
    blockers: tuple[str, ...]
    open_blocking: tuple[str, ...]
    unanswered: tuple[str, ...]

    def dimension(self, name: str) -> DimensionReadiness:
        """The readiness of dimension ``name``."""
        for entry in self.dimensions:
            if entry.dimension == name:
                return entry
        raise KeyError(name)


def _answers_by_item(items: Sequence[ChecklistItem], answers: Iterable[Answer]) -> dict[str, str]:
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise PlanningInputError("planning.checklist.duplicate_item", value=duplicate)
    known = set(ids)
    given: dict[str, str] = {}
    for answer in answers:
        if answer.item_id not in known:
            raise PlanningInputError("planning.checklist.unknown_item", value=answer.item_id)
        if answer.item_id in given:
            raise PlanningInputError("planning.checklist.duplicate_answer", value=answer.item_id)
        given[answer.item_id] = answer.answer
    return given


def readiness(items: Sequence[ChecklistItem], answers: Iterable[Answer]) -> Readiness:
    """Add the answers up into a status per dimension and overall.

    Rules
    -----
    * Each item scores :data:`ANSWER_SCORES` (yes 1, partly 0.5, no 0, unknown 0); an item
      without an answer counts as "unknown". A dimension's score is the mean of its items.
    * A dimension is **blocked** if one of its blocking items is answered "no".
    * Otherwise it is **ready** if every blocking item is answered "yes" and its score is at
      least :data:`READY_SCORE`; else it is **at risk** (so "unknown" or "partly" on a blocking
      item always means not ready).
    * Overall: **blocked** if any dimension is blocked, **ready** if all are ready, else
      **at risk** (also with no items at all). The overall score is the mean of the dimension scores.

    Parameters
    ----------
    items : sequence of ChecklistItem
        Usually ``load_items()`` plus the project's custom items; ids must be unique.
    answers : iterable of Answer
        At most one per item.

    Raises
    ------
    PlanningInputError
        ``planning.checklist.unknown_item`` (an answer to an item not in ``items``),
        ``planning.checklist.duplicate_answer``, ``planning.checklist.duplicate_item``.

    Examples
    --------
    >>> items = load_items()
    >>> r = readiness(items, [Answer(item_id=i.id, answer="yes") for i in items])
    >>> r.status, r.score
    ('ready', 1.0)
    >>> r = readiness(items, [Answer(item_id="lawful_basis", answer="no")])
    >>> r.status, r.blockers, r.dimension("legal").status
    ('blocked', ('lawful_basis',), 'blocked')
    """
    given = _answers_by_item(items, answers)
    dimensions: list[DimensionReadiness] = []
    for dimension in DIMENSIONS + tuple(sorted({i.dimension for i in items} - set(DIMENSIONS))):
        members = [item for item in items if item.dimension == dimension]
        if not members:
            continue
        values = [given.get(item.id, "unknown") for item in members]
        score = sum(ANSWER_SCORES[v] for v in values) / len(values)
        blocking = [(item.id, value) for item, value in zip(members, values, strict=True) if item.blocking]
        blockers = tuple(i for i, v in blocking if v == "no")
        open_blocking = tuple(i for i, v in blocking if v not in ("yes", "no"))
        status: Status
        if blockers:
            status = "blocked"
        elif not open_blocking and score >= READY_SCORE:
            status = "ready"
        else:
            status = "at_risk"
        dimensions.append(
            DimensionReadiness(
                dimension=dimension,
                score=score,
                status=status,
                n_items=len(members),
                n_answered=sum(v != "unknown" for v in values),
                blockers=blockers,
                open_blocking=open_blocking,
            )
        )
    statuses = {d.status for d in dimensions}
    overall: Status = "blocked" if "blocked" in statuses else "ready" if statuses == {"ready"} else "at_risk"
    return Readiness(
        status=overall,
        score=sum(d.score for d in dimensions) / len(dimensions) if dimensions else 0.0,
        dimensions=tuple(dimensions),
        blockers=tuple(i for d in dimensions for i in d.blockers),
        open_blocking=tuple(i for d in dimensions for i in d.open_blocking),
        unanswered=tuple(item.id for item in items if given.get(item.id, "unknown") == "unknown"),
    )


def overdue_items(answers: Iterable[Answer], *, today: date) -> tuple[Answer, ...]:
    """Answers whose due date has passed while they are still not "yes".

    Examples
    --------
    >>> late = Answer(item_id="lawful_basis", answer="unknown", due_date=date(2024, 1, 31))
    >>> [a.item_id for a in overdue_items([late], today=date(2024, 2, 1))]
    ['lawful_basis']
    """
    return tuple(a for a in answers if a.due_date is not None and a.due_date < today and a.answer != "yes")
