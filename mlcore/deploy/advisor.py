"""The deployment-mode advisor: from how soon, how many and what triggers predictions to batch,
online or streaming deployment, with the reasons and the trade-offs; and the project's recorded choice.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.errors import InputError, NotFound
from mlcore.i18n import translate
from mlcore.planning.canvas import VOLUME_PERIODS, Canvas
from mlcore.store.models import Project, User
from mlcore.store.models_deployment import DeploymentChoice

__all__ = [
    "MODES",
    "PERIODS",
    "STREAM_RATE",
    "URGENCIES",
    "Advice",
    "AdvisorAnswers",
    "ModeChoice",
    "Recommendation",
    "TradeOffs",
    "answers_from_canvas",
    "check_answers",
    "current_mode_choice",
    "recommend_mode",
    "record_mode_choice",
]

MODES: tuple[str, ...] = ("batch", "online", "streaming")
URGENCIES: tuple[str, ...] = ("seconds", "minutes", "hour", "day")
"""How soon after the data arrives a prediction is needed."""
PERIODS: tuple[str, ...] = VOLUME_PERIODS
STREAM_RATE = 50.0
"""Predictions per second (on average) from which events needed within seconds are better scored as a stream."""
FREQUENT_BATCH_RATE = 1.0
"""Predictions per second up to which events needed within minutes are simpler to score in frequent small batches."""
BUSY_SERVICE_RATE = 200.0
"""Requests per second from which an online service needs several copies behind a load balancer."""
MAX_VOLUME = 10**12
REASON_LIMIT = 2000

_SECONDS = {"hour": 3600, "day": 86_400, "week": 7 * 86_400, "month": 30 * 86_400, "year": 365 * 86_400}
_CANVAS_URGENCY = {"seconds": "seconds", "minutes": "minutes", "hours": "hour", "days": "day"}
_TRADEOFFS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "batch": (
        ("deploy.tradeoff.batch.simple", "deploy.tradeoff.batch.cheap", "deploy.tradeoff.batch.checkable"),
        ("deploy.tradeoff.batch.stale", "deploy.tradeoff.batch.new_rows"),
    ),
    "online": (
        ("deploy.tradeoff.online.fresh", "deploy.tradeoff.online.new_rows"),
        ("deploy.tradeoff.online.always_on", "deploy.tradeoff.online.latency", "deploy.tradeoff.online.features"),
    ),
    "streaming": (
        ("deploy.tradeoff.streaming.fresh", "deploy.tradeoff.streaming.bursts"),
        ("deploy.tradeoff.streaming.complex", "deploy.tradeoff.streaming.replay"),
    ),
}


def _rate_text(rate: float, lang: str) -> str:
    if rate >= 10:
        text = f"{rate:,.0f}"
    elif rate >= 0.01:
        text = f"{rate:.2g}"
    else:
        text = f"{rate:.1g}"
    if "e" in text:
        text = f"{rate:.6f}".rstrip("0").rstrip(".")
    if lang == "es":
        text = text.replace(",", " ").replace(".", ",").replace(" ", ".")
    return text


@dataclass(frozen=True)
class Advice:
    """A sentence of the recommendation: a catalog key and its parameters.

    ``urgency`` and ``mode`` parameters hold codes, shown translated; ``rate`` is a number of
    predictions per second, shown with the reader's decimal mark.
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "en") -> str:
        params = dict(self.params)
        if "urgency" in params:
            params["urgency"] = translate(f"deploy.advisor.urgency.{params['urgency']}", lang)
        if "mode" in params:
            params["mode"] = translate(f"deploy.mode.{params['mode']}", lang)
        if "rate" in params:
            params["rate"] = _rate_text(float(params["rate"]), lang)
        return translate(self.key, lang, **params)


@dataclass(frozen=True)
class AdvisorAnswers:
    """The advisor's three questions, answered.

    Attributes
    ----------
    urgency : {"seconds", "minutes", "hour", "day"}
        How soon after the data arrives a prediction is needed.
    volume : int
        Predictions per ``period``.
    period : {"hour", "day", "week", "month", "year"}
    event_triggered : bool
        Each prediction is triggered by an event (a purchase, a login, a sensor reading) rather
        than by a known list of rows scored on a schedule.
    """

    urgency: str
    volume: int
    period: str
    event_triggered: bool

    @property
    def per_second(self) -> float:
        """Average predictions per second."""
        return self.volume / _SECONDS[self.period]

    def to_json(self) -> dict[str, Any]:
        return {
            "urgency": self.urgency,
            "volume": self.volume,
            "period": self.period,
            "event_triggered": self.event_triggered,
        }


@dataclass(frozen=True)
class TradeOffs:
    """What a mode is good and bad at, as catalog keys."""

    mode: str
    pros: tuple[str, ...]
    cons: tuple[str, ...]

    def pros_text(self, lang: str) -> tuple[str, ...]:
        return tuple(translate(k, lang) for k in self.pros)

    def cons_text(self, lang: str) -> tuple[str, ...]:
        return tuple(translate(k, lang) for k in self.cons)


@dataclass(frozen=True)
class Recommendation:
    """The advised deployment mode, why, what else could work and every mode's trade-offs.

    Attributes
    ----------
    mode : {"batch", "online", "streaming"}
    reasons : tuple of Advice
        The reasoning, in order.
    alternative : str or None
        A mode that also fits under a condition stated in ``alternative_reason``.
    alternative_reason : Advice or None
    tradeoffs : tuple of TradeOffs
        All three modes, the recommended one first.
    answers : AdvisorAnswers
    """

    mode: str
    reasons: tuple[Advice, ...]
    alternative: str | None
    alternative_reason: Advice | None
    tradeoffs: tuple[TradeOffs, ...]
    answers: AdvisorAnswers

    def reasons_text(self, lang: str) -> tuple[str, ...]:
        return tuple(r.message(lang) for r in self.reasons)


def check_answers(*, urgency: object, volume: object, period: object, event_triggered: object) -> AdvisorAnswers:
    """Validate the advisor's answers.

    Raises
    ------
    InputError
        ``deploy.advisor.bad_urgency``, ``deploy.advisor.bad_volume``, ``deploy.advisor.bad_period``,
        ``deploy.advisor.bad_trigger``.

    Examples
    --------
    >>> check_answers(urgency="day", volume=5000, period="day", event_triggered=False).per_second < 0.1
    True
    """
    if urgency not in URGENCIES:
        raise InputError("deploy.advisor.bad_urgency", value=str(urgency)[:40], choices=", ".join(URGENCIES))
    if (
        isinstance(volume, bool)
        or not isinstance(volume, int | float)
        or not math.isfinite(volume)
        or volume != int(volume)
        or not 0 <= volume <= MAX_VOLUME
    ):
        raise InputError("deploy.advisor.bad_volume", value=str(volume)[:40])
    if period not in PERIODS:
        raise InputError("deploy.advisor.bad_period", value=str(period)[:40], choices=", ".join(PERIODS))
    if not isinstance(event_triggered, bool):
        raise InputError("deploy.advisor.bad_trigger")
    return AdvisorAnswers(str(urgency), int(volume), str(period), event_triggered)


def answers_from_canvas(canvas: Canvas, *, event_triggered: bool = False) -> AdvisorAnswers | None:
    """Answers taken from the planning canvas (latency and volume), or None if it lacks them.

    Examples
    --------
    >>> c = Canvas(latency="hours", volume_per_period=2000, volume_period="day")
    >>> answers_from_canvas(c)
    AdvisorAnswers(urgency='hour', volume=2000, period='day', event_triggered=False)
    """
    if canvas.latency is None or canvas.volume_per_period is None or canvas.volume_period is None:
        return None
    return AdvisorAnswers(
        _CANVAS_URGENCY[canvas.latency], int(canvas.volume_per_period), canvas.volume_period, event_triggered
    )


def _tradeoffs(first: str) -> tuple[TradeOffs, ...]:
    order = [first, *[m for m in MODES if m != first]]
    return tuple(TradeOffs(m, *_TRADEOFFS[m]) for m in order)


def recommend_mode(answers: AdvisorAnswers) -> Recommendation:
    """Advise batch, online or streaming deployment for the answers.

    * Predictions needed within an hour or a day: **batch** — a scheduled job scores everything at
      once (events can be collected and scored at each run).
    * Within minutes: **batch** on a frequent schedule while events arrive at up to
      :data:`FREQUENT_BATCH_RATE` per second (or are not events at all), else **streaming**.
    * Within seconds: **streaming** for events arriving at :data:`STREAM_RATE` per second or more,
      else an **online** service answering each request; when the rows are known in advance a batch
      that precomputes scores is the alternative.

    Examples
    --------
    >>> recommend_mode(check_answers(urgency="day", volume=100_000, period="day", event_triggered=False)).mode
    'batch'
    >>> recommend_mode(check_answers(urgency="seconds", volume=500, period="hour", event_triggered=True)).mode
    'online'
    >>> recommend_mode(check_answers(urgency="seconds", volume=10_000_000, period="day", event_triggered=True)).mode
    'streaming'
    """
    rate = answers.per_second
    reasons: list[Advice] = []
    alternative: str | None = None
    alternative_reason: Advice | None = None
    if answers.urgency in ("hour", "day"):
        mode = "batch"
        reasons.append(Advice("deploy.advisor.why.time_allows", {"urgency": answers.urgency}))
        if answers.event_triggered:
            reasons.append(Advice("deploy.advisor.why.collect_events"))
            if answers.urgency == "hour":
                alternative = "online"
                alternative_reason = Advice("deploy.advisor.alt.online_if_sooner")
    elif answers.urgency == "minutes":
        if answers.event_triggered and rate > FREQUENT_BATCH_RATE:
            mode = "streaming"
            reasons.append(Advice("deploy.advisor.why.event_stream", {"rate": rate, "urgency": answers.urgency}))
            alternative = "batch"
            alternative_reason = Advice("deploy.advisor.alt.batch_if_slower")
        else:
            mode = "batch"
            reasons.append(Advice("deploy.advisor.why.frequent_batch", {"rate": rate}))
            alternative = "streaming" if answers.event_triggered else "online"
            alternative_reason = Advice("deploy.advisor.alt.if_volume_grows", {"mode": alternative})
    else:
        if answers.event_triggered and rate >= STREAM_RATE:
            mode = "streaming"
            reasons.append(Advice("deploy.advisor.why.event_stream", {"rate": rate, "urgency": answers.urgency}))
            alternative = "online"
            alternative_reason = Advice("deploy.advisor.alt.online_if_few")
        else:
            mode = "online"
            reasons.append(Advice("deploy.advisor.why.answer_now"))
            if rate >= BUSY_SERVICE_RATE:
                reasons.append(Advice("deploy.advisor.why.busy_service", {"rate": rate}))
            if not answers.event_triggered:
                alternative = "batch"
                alternative_reason = Advice("deploy.advisor.alt.batch_if_known")
    return Recommendation(
        mode=mode,
        reasons=tuple(reasons),
        alternative=alternative,
        alternative_reason=alternative_reason,
        tradeoffs=_tradeoffs(mode),
        answers=answers,
    )


# ----------------------------------------------------------------------------- the project's choice


@dataclass(frozen=True)
class ModeChoice:
    """The deployment mode recorded for a project."""

    id: int
    project_id: int
    mode: str
    recommended: str
    answers: AdvisorAnswers
    reason: str
    decided_by: str
    decided_at: datetime


def _choice(row: DeploymentChoice, who: str) -> ModeChoice:
    a = row.answers or {}
    answers = AdvisorAnswers(
        str(a.get("urgency", "day")),
        int(a.get("volume", 0)),
        str(a.get("period", "day")),
        bool(a.get("event_triggered", False)),
    )
    return ModeChoice(
        id=row.id or 0,
        project_id=row.project_id,
        mode=row.mode,
        recommended=row.recommended,
        answers=answers,
        reason=row.reason,
        decided_by=who,
        decided_at=row.decided_at,
    )


def record_mode_choice(
    *, session: Session, project_id: int, answers: AdvisorAnswers, mode: str, actor: User, reason: str = ""
) -> ModeChoice:
    """Record the project's deployment mode (an audit event too). Choosing another mode than the
    advisor's needs a reason.

    Raises
    ------
    InputError
        ``deploy.advisor.bad_mode``, ``deploy.advisor.reason_required``, ``deploy.advisor.reason_too_long``.
    NotFound
        ``errors.project_not_found``.
    PermissionDenied
        The actor may not choose the deployment mode (``deploy.choose``).
    """
    require(session=session, user=actor, action="deploy.choose", project_id=project_id)
    project = session.get(Project, project_id)
    if project is None or project.archived:
        raise NotFound("errors.project_not_found", name=str(project_id))
    if mode not in MODES:
        raise InputError("deploy.advisor.bad_mode", value=str(mode)[:40], choices=", ".join(MODES))
    answers = check_answers(
        urgency=answers.urgency, volume=answers.volume, period=answers.period, event_triggered=answers.event_triggered
    )
    recommended = recommend_mode(answers).mode
    text = (reason or "").strip()
    if len(text) > REASON_LIMIT:
        raise InputError("deploy.advisor.reason_too_long", maximum=REASON_LIMIT)
    if mode != recommended and not text:
        raise InputError("deploy.advisor.reason_required", mode=mode, recommended=recommended)
    row = DeploymentChoice(
        project_id=project_id,
        mode=mode,
        recommended=recommended,
        answers=answers.to_json(),
        reason=text,
        decided_by_id=actor.id or 0,
    )
    session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="deploy.choose",
        object_type="deployment_choice",
        object_id=row.id or 0,
        project_id=project_id,
        after={"mode": mode, "recommended": recommended, **answers.to_json()},
        reason=text,
    )
    return _choice(row, actor.display_name or actor.name)


def current_mode_choice(*, session: Session, project_id: int) -> ModeChoice | None:
    """The project's newest recorded deployment mode, or None."""
    found = session.execute(
        select(DeploymentChoice, col(User.display_name), col(User.name))
        .join(User, col(User.id) == col(DeploymentChoice.decided_by_id))
        .where(col(DeploymentChoice.project_id) == project_id)
        .order_by(col(DeploymentChoice.decided_at).desc(), col(DeploymentChoice.id).desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    row, display, name = found
    return _choice(row, display or name)
