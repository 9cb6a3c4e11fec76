"""What a prediction dashboard shows, computed in the database over complete batches only.

Every function reads aggregates (counts, averages, histograms, ``GROUP BY`` a segment) or a bounded
page of rows: a dashboard never pulls a whole batch, and no read takes more than
:data:`~mlcore.deploy.batch.MAX_ROWS_OUT` rows out of the database.
"""

from __future__ import annotations

import io
import math
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import Float, String, and_, case, cast, func, or_, select, type_coerce
from sqlalchemy.sql import visitors
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from sqlmodel import Session, col

from mlcore.data.versions import FORMULA_PREFIXES, neutralise_formulas
from mlcore.deploy.batch import (
    HISTOGRAM_BINS,
    MAX_ROWS_OUT,
    MAX_SEGMENT_GROUPS,
    BatchSummary,
    InputReport,
    Reason,
    SegmentRow,
    positive_condition,
    reasons_from_json,
    scan_conditions,
    summarise_rows,
)
from mlcore.errors import InputError, NotFound
from mlcore.i18n import translate
from mlcore.store.models import User
from mlcore.store.models_deployment import Prediction, PredictionBatch, PredictionRank
from mlcore.store.models_deployment import PredictionDetail as DetailTable

__all__ = [
    "MAX_PAGE_SIZE",
    "MAX_TOP",
    "BatchInfo",
    "DashboardView",
    "PageCursor",
    "PredictionRow",
    "RowDetail",
    "RowFilter",
    "RowsPage",
    "SegmentRow",
    "TopRow",
    "TrendPoint",
    "batch_summary",
    "batch_trend",
    "dashboard_view",
    "export_csv",
    "get_batch",
    "histogram_frame",
    "list_batches",
    "prediction_detail",
    "prediction_page",
    "reason_text",
    "rows_frame",
    "segment_breakdown",
    "segments_frame",
    "top_predictions",
    "trend_frame",
]

MAX_PAGE_SIZE = 1_000
"""Rows one table page may show."""
MAX_TOP = 1_000
"""Most rows a top-N list may show."""
_MAX_PASS_GROUPS = 20_000  # groups one pass may produce when breakdowns share it
_MAX_FILTER_VALUES = 1_000
_EXPORT_CHUNK = 20_000

_REASON_KEYS = {
    ("classification", 1): "deploy.reason.more_likely",
    ("classification", -1): "deploy.reason.less_likely",
    ("classification", 0): "deploy.reason.no_effect",
    ("regression", 1): "deploy.reason.value_up",
    ("regression", -1): "deploy.reason.value_down",
    ("regression", 0): "deploy.reason.no_effect",
}


# ----------------------------------------------------------------------------- typed results


@dataclass(frozen=True)
class BatchInfo:
    """A complete batch as the dashboards see it."""

    id: int
    project_id: int
    model_version_id: int
    batch_key: str
    task_type: str
    score_kind: str
    n_rows: int
    threshold: float | None
    positive_class: str | None
    classes: tuple[str, ...]
    segment_columns: tuple[str, ...]
    shown_columns: tuple[str, ...]
    detail_columns: tuple[str, ...]
    source: Mapping[str, Any]
    summary: BatchSummary
    report: InputReport
    created_by: str
    created_at: datetime
    completed_at: datetime | None
    first_id: int | None = None
    last_id: int | None = None

    @property
    def has_positive(self) -> bool:
        """Whether rows are predicted positive or not (two classes, a positive class, or a threshold)."""
        return self.summary.n_positive is not None


@dataclass(frozen=True)
class TrendPoint:
    """One complete batch on the trend chart (from its stored summary; no rows are read)."""

    batch_id: int
    batch_key: str
    model_version_id: int
    completed_at: datetime | None
    n_rows: int
    share_positive: float | None
    mean_score: float | None


@dataclass(frozen=True)
class RowFilter:
    """Which rows a dashboard looks at; empty means all.

    Attributes
    ----------
    segments : mapping of str to sequence of str or None
        Segment column (its name as chosen when scoring) -> values to keep; ``None`` keeps missing values.
    min_score, max_score : float, optional
        Inclusive score range.
    label : str, optional
        Only rows predicted as this class.
    positive : bool, optional
        Only rows predicted positive (True) or not (False).
    """

    segments: Mapping[str, Sequence[str | None]] = field(default_factory=dict)
    min_score: float | None = None
    max_score: float | None = None
    label: str | None = None
    positive: bool | None = None

    @property
    def empty(self) -> bool:
        return (
            not any(self.segments.values())
            and self.min_score is None
            and self.max_score is None
            and self.label is None
            and self.positive is None
        )


@dataclass(frozen=True)
class PredictionRow:
    """One prediction as listed in a table."""

    id: int
    row_key: str
    score: float
    label: str | None
    positive: bool | None
    segments: Mapping[str, str | None]
    reasons: tuple[Reason, ...] = ()


@dataclass(frozen=True)
class PageCursor:
    """Where the next page starts (keyset pagination: score, then id, both descending)."""

    score: float
    id: int


@dataclass(frozen=True)
class RowsPage:
    """One page of rows, highest score first; ``next_cursor`` is None on the last page."""

    rows: tuple[PredictionRow, ...]
    next_cursor: PageCursor | None
    offset: int


@dataclass(frozen=True)
class TopRow:
    """A highest-score row with its reasons in plain words."""

    row: PredictionRow
    reasons_text: tuple[str, ...]


@dataclass(frozen=True)
class RowDetail:
    """Everything stored about one prediction, for the drill-down.

    ``share_below`` is the share of the batch's rows with a lower score (0.93: higher than 93%).
    """

    row: PredictionRow
    probabilities: Mapping[str, float] | None
    values: Mapping[str, Any]
    reasons_text: tuple[str, ...]
    share_below: float


# ----------------------------------------------------------------------------- batches


def _info(batch: PredictionBatch, user_name: str) -> BatchInfo:
    return BatchInfo(
        id=batch.id or 0,
        project_id=batch.project_id,
        model_version_id=batch.model_version_id,
        batch_key=batch.batch_key,
        task_type=batch.task_type,
        score_kind=batch.score_kind,
        n_rows=batch.n_rows,
        threshold=batch.threshold,
        positive_class=batch.positive_class,
        classes=tuple(batch.classes or ()),
        segment_columns=tuple(batch.segment_columns or ()),
        shown_columns=tuple(batch.shown_columns or ()),
        detail_columns=tuple(batch.detail_columns or ()),
        source=dict(batch.source or {}),
        summary=BatchSummary.from_json(batch.summary or {}),
        report=InputReport.from_json(batch.report or {}),
        created_by=user_name,
        created_at=batch.created_at,
        completed_at=batch.completed_at,
        first_id=batch.first_id,
        last_id=batch.last_id,
    )


def _complete(session: Session, *conditions: Any, limit: int | None = None) -> list[BatchInfo]:
    stmt = (
        select(PredictionBatch, col(User.display_name), col(User.name))
        .join(User, col(User.id) == col(PredictionBatch.created_by_id))
        .where(col(PredictionBatch.status) == "complete", *conditions)
        .order_by(col(PredictionBatch.completed_at).desc(), col(PredictionBatch.id).desc())
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_info(batch, display or name) for batch, display, name in session.execute(stmt).all()]


def list_batches(*, session: Session, project_id: int, limit: int = 100) -> tuple[BatchInfo, ...]:
    """The project's complete batches, newest first (batches being written or failed are not listed)."""
    return tuple(_complete(session, col(PredictionBatch.project_id) == project_id, limit=max(1, min(limit, 1000))))


def get_batch(*, session: Session, project_id: int, batch_id: int) -> BatchInfo:
    """One complete batch of the project.

    Raises
    ------
    NotFound
        ``deploy.batch_not_found`` if there is no such complete batch in the project.
    """
    found = _complete(
        session, col(PredictionBatch.id) == batch_id, col(PredictionBatch.project_id) == project_id, limit=1
    )
    if not found:
        raise NotFound("deploy.batch_not_found", batch_id=batch_id)
    return found[0]


def batch_trend(
    *, session: Session, project_id: int, model_version_id: int | None = None, limit: int = 100
) -> tuple[TrendPoint, ...]:
    """Rows, share predicted positive and mean score of the latest complete batches, oldest first."""
    conditions: list[Any] = [col(PredictionBatch.project_id) == project_id]
    if model_version_id is not None:
        conditions.append(col(PredictionBatch.model_version_id) == model_version_id)
    points = [
        TrendPoint(
            batch_id=b.id,
            batch_key=b.batch_key,
            model_version_id=b.model_version_id,
            completed_at=b.completed_at,
            n_rows=b.n_rows,
            share_positive=b.summary.share_positive,
            mean_score=b.summary.mean_score,
        )
        for b in _complete(session, *conditions, limit=max(1, min(limit, 1000)))
    ]
    return tuple(reversed(points))


# ----------------------------------------------------------------------------- filters


def _segment_column(batch: BatchInfo, name: str) -> Any:
    if name not in batch.segment_columns:
        raise InputError(
            "deploy.unknown_segment", segment=str(name)[:80], segments=", ".join(batch.segment_columns) or "—"
        )
    return getattr(Prediction, f"seg{batch.segment_columns.index(name) + 1}")


def _finite(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
        raise InputError("deploy.bad_score_filter", value=str(value)[:40], what=what)
    return float(value)


def _positive_expr(batch: BatchInfo, score: Any = None) -> ColumnElement[bool]:
    return positive_condition(
        task_type=batch.task_type, n_classes=len(batch.classes), threshold=batch.threshold, score=score
    )


def _conditions(batch: BatchInfo, filters: RowFilter | None, *, scan: bool = False) -> list[ColumnElement[bool]]:
    """The batch's rows and the filters: by id range for full passes (``scan``), else through the rank
    (ranked reads, where score conditions are answered by the rank's key)."""
    if scan:
        conditions = scan_conditions(batch.id, batch.first_id, batch.last_id)
        score: Any = col(Prediction.score)
    else:
        conditions = [col(PredictionRank.batch_id) == batch.id]
        score = col(PredictionRank.score)
    if filters is None:
        return conditions
    for name, values in filters.segments.items():
        column = _segment_column(batch, name)
        if isinstance(values, str):
            values = [values]
        wanted = list(values or ())
        if not wanted:
            continue
        if len(wanted) > _MAX_FILTER_VALUES:
            raise InputError("deploy.too_many_filter_values", maximum=_MAX_FILTER_VALUES)
        texts = [str(v) for v in wanted if v is not None]
        parts = [column.in_(texts)] if texts else []
        if any(v is None for v in wanted):
            parts.append(column.is_(None))
        conditions.append(or_(*parts))
    if filters.min_score is not None:
        conditions.append(score >= _finite(filters.min_score, "min"))
    if filters.max_score is not None:
        conditions.append(score <= _finite(filters.max_score, "max"))
    if filters.label is not None:
        conditions.append(col(Prediction.label) == str(filters.label))
    if filters.positive is not None:
        if not batch.has_positive:
            raise InputError("deploy.no_positive_notion")
        expr = _positive_expr(batch, score)
        conditions.append(expr if filters.positive else ~expr)
    return conditions


# ----------------------------------------------------------------------------- aggregations


def batch_summary(
    *, session: Session, project_id: int, batch_id: int, filters: RowFilter | None = None
) -> BatchSummary:
    """Count, share predicted positive, mean and range of scores, score histogram and label counts.

    Without filters this is the summary stored when the batch completed; with filters it is computed
    in SQL (aggregates and a ``GROUP BY`` bucket histogram over the same bins).

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``.
    InputError
        ``deploy.unknown_segment``, ``deploy.bad_score_filter``, ``deploy.no_positive_notion``.
    """
    batch = get_batch(session=session, project_id=project_id, batch_id=batch_id)
    if filters is None or filters.empty:
        return batch.summary
    return _sql_summary(session, batch, _conditions(batch, filters, scan=True))


def _sql_summary(
    session: Session, batch: BatchInfo, conditions: list[ColumnElement[bool]], segments: Sequence[str] = ()
) -> BatchSummary:
    if batch.score_kind == "probability":
        low, high = 0.0, 1.0
    else:
        low = batch.summary.min_score if batch.summary.min_score is not None else 0.0
        high = batch.summary.max_score if batch.summary.max_score is not None else 0.0
    binary = None
    if len(batch.classes) == 2 and batch.positive_class is not None:
        other = [c for c in batch.classes if c != batch.positive_class]
        binary = (batch.positive_class, other[0] if other else "")
    return summarise_rows(
        session.connection(),
        conditions=conditions,
        low=low,
        high=high,
        positive=_positive_expr(batch) if batch.has_positive else None,
        binary_labels=binary,
        count_labels=batch.task_type == "classification" and binary is None,
        segments={name: _segment_column(batch, name) for name in segments},
    )


def segment_breakdown(
    *,
    session: Session,
    project_id: int,
    batch_id: int,
    segment: str,
    filters: RowFilter | None = None,
    limit: int = 50,
) -> tuple[SegmentRow, ...]:
    """Rows, predicted positive and mean score per value of one segment column (``GROUP BY``), largest first.

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``.
    InputError
        ``deploy.unknown_segment`` and those of the filters.
    """
    batch = get_batch(session=session, project_id=project_id, batch_id=batch_id)
    return _breakdown(session, batch, segment, filters, max(1, min(int(limit), MAX_SEGMENT_GROUPS)))


def _breakdown(
    session: Session, batch: BatchInfo, segment: str, filters: RowFilter | None, size: int
) -> tuple[SegmentRow, ...]:
    column = _segment_column(batch, segment)
    stored = batch.summary.segments.get(segment)
    if (filters is None or filters.empty) and stored is not None:
        return stored[:size]
    positive = func.sum(case((_positive_expr(batch), 1), else_=0)) if batch.has_positive else cast(None, Float)
    n = func.count().label("n")
    stmt = (
        select(column, n, positive, func.avg(col(Prediction.score)))
        .where(*_conditions(batch, filters, scan=True))
        .group_by(column)
        .order_by(n.desc(), column)
        .limit(size)
    )
    out = []
    for value, count, n_positive, mean in session.execute(stmt).all():
        n_pos = None if not batch.has_positive else int(n_positive or 0)
        out.append(
            SegmentRow(
                value=value,
                n_rows=int(count),
                n_positive=n_pos,
                share_positive=None if n_pos is None else n_pos / int(count),
                mean_score=float(mean),
            )
        )
    return tuple(out)


# ----------------------------------------------------------------------------- rows


_EXTRAS = ("reasons", "probabilities", "row_values")


def _select_rows(batch: BatchInfo, extras: Sequence[str], *, json_text: bool = False, ranked: bool = True) -> Any:
    columns: list[Any] = [
        col(Prediction.id),
        col(Prediction.row_key),
        col(Prediction.score),
        col(Prediction.label),
        col(Prediction.positive),
    ]
    columns += [getattr(Prediction, f"seg{i + 1}") for i in range(len(batch.segment_columns))]
    wanted = [name for name in extras if name in batch.detail_columns]
    # json_text: the JSON as stored, for callers that parse many rows at once.
    columns += [
        type_coerce(getattr(DetailTable, name), String).label(name) if json_text else getattr(DetailTable, name)
        for name in wanted
    ]
    stmt = select(*columns)
    if ranked:
        stmt = stmt.select_from(PredictionRank).join(
            Prediction, col(Prediction.id) == col(PredictionRank.prediction_id)
        )
    if wanted:
        stmt = stmt.outerjoin(DetailTable, col(DetailTable.prediction_id) == col(Prediction.id))
    return stmt, wanted


def _row(batch: BatchInfo, values: Sequence[Any], wanted: Sequence[str]) -> tuple[PredictionRow, dict[str, Any]]:
    n_seg = len(batch.segment_columns)
    segments = dict(zip(batch.segment_columns, values[5 : 5 + n_seg], strict=True))
    extra = dict(zip(wanted, values[5 + n_seg :], strict=True))
    row = PredictionRow(
        id=int(values[0]),
        row_key=str(values[1]),
        score=float(values[2]),
        label=values[3],
        positive=None if values[4] is None else bool(values[4]),
        segments=segments,
        reasons=reasons_from_json(extra.get("reasons")),
    )
    return row, extra


def _fetch(
    session: Session,
    batch: BatchInfo,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int = 0,
    after: PageCursor | None = None,
    extras: Sequence[str] = (),
) -> list[tuple[PredictionRow, dict[str, Any]]]:
    """Ranked rows as typed values (pages, top-N)."""
    rows, wanted = _ranked(session, batch, conditions, limit=limit, offset=offset, after=after, extras=extras)
    return [_row(batch, values, wanted) for values in rows]


def _ranked(
    session: Session,
    batch: BatchInfo,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int = 0,
    after: PageCursor | None = None,
    extras: Sequence[str] = (),
    json_text: bool = False,
) -> tuple[Sequence[Any], list[str]]:
    """The only way rows leave the database: ordered by score, bounded by :data:`MAX_ROWS_OUT`."""
    assert 0 < limit <= MAX_ROWS_OUT, "a dashboard read may not take more than MAX_ROWS_OUT rows"
    score, ident = col(PredictionRank.score), col(PredictionRank.prediction_id)
    where = list(conditions)
    if after is not None:
        where.append(or_(score < after.score, and_(score == after.score, ident < after.id)))
    if offset and all(_rank_only(c) for c in where):
        # Skipping rows through the rank alone (its key covers the query) instead of joining each one.
        start = (
            session.connection()
            .execute(
                select(score, ident).where(*where).order_by(score.desc(), ident.desc()).limit(1).offset(offset - 1)
            )
            .first()
        )
        if start is None:
            return [], [name for name in extras if name in batch.detail_columns]
        where.append(or_(score < start[0], and_(score == start[0], ident < start[1])))
        offset = 0
    stmt, wanted = _select_rows(batch, extras, json_text=json_text)
    stmt = stmt.where(*where).order_by(score.desc(), ident.desc()).limit(limit).offset(offset)
    conn = session.connection()
    if json_text and conn.dialect.name == "sqlite" and conn.dialect.paramstyle == "qmark":
        # Many rows of plain values: skip SQLAlchemy's per-row result processing.
        compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
        values = compiled.construct_params()
        parameters = tuple(values[name] for name in compiled.positiontup or ())
        return conn.exec_driver_sql(str(compiled), parameters).fetchall(), wanted
    return conn.execute(stmt).all(), wanted


def _rank_only(condition: ColumnElement[bool]) -> bool:
    """Whether a condition reads only the rank's columns (so it can be answered from its key)."""
    rank = PredictionRank.__table__  # type: ignore[attr-defined]
    columns = [e for e in visitors.iterate(condition) if isinstance(e, ColumnClause)]
    return bool(columns) and all(getattr(c, "table", None) is rank for c in columns)


def _bounded(value: object, *, maximum: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InputError("deploy.bad_page_size", value=str(value)[:20], maximum=maximum, what=what)
    return value


def prediction_page(
    *,
    session: Session,
    project_id: int,
    batch_id: int,
    filters: RowFilter | None = None,
    page_size: int = 50,
    after: PageCursor | None = None,
    offset: int = 0,
    reasons: bool = False,
) -> RowsPage:
    """One page of a batch's rows, highest score first.

    Page on with ``after=page.next_cursor`` (keyset: as fast on page 1,000 as on page 1); ``offset``
    jumps to a row number instead (up to :data:`~mlcore.deploy.batch.MAX_ROWS_OUT`).

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``.
    InputError
        ``deploy.bad_page_size`` (more than :data:`MAX_PAGE_SIZE` rows or a bad offset) and those of the filters.
    """
    batch = get_batch(session=session, project_id=project_id, batch_id=batch_id)
    return _page(session, batch, filters, page_size=page_size, after=after, offset=offset, reasons=reasons)


def _page(
    session: Session,
    batch: BatchInfo,
    filters: RowFilter | None,
    *,
    page_size: int,
    after: PageCursor | None = None,
    offset: int = 0,
    reasons: bool = False,
) -> RowsPage:
    size = _bounded(page_size, maximum=MAX_PAGE_SIZE, what="page_size")
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_ROWS_OUT - size:
        raise InputError("deploy.bad_page_size", value=str(offset)[:20], maximum=MAX_ROWS_OUT - size, what="offset")
    extras = ("reasons",) if reasons else ()
    fetched = _fetch(
        session, batch, _conditions(batch, filters), limit=size + 1, offset=offset, after=after, extras=extras
    )
    rows = [row for row, _ in fetched]
    more = len(rows) > size
    rows = rows[:size]
    cursor = PageCursor(rows[-1].score, rows[-1].id) if more and rows else None
    return RowsPage(rows=tuple(rows), next_cursor=cursor, offset=offset)


def reason_text(
    reason: Reason,
    *,
    lang: str,
    task_type: str = "classification",
    outcome: str | None = None,
    feature_labels: Mapping[str, str] | None = None,
) -> str:
    """One reason in plain words, e.g. ``tenure = 2 made “churn” more likely``.

    Parameters
    ----------
    reason : Reason
    lang : str
    task_type : {"classification", "regression"}
    outcome : str, optional
        The class whose chance the score is (the positive class, or the predicted class).
    feature_labels : mapping, optional
        Friendlier names for features.

    Examples
    --------
    >>> reason_text(Reason("tenure", "2", 0.31), lang="en", outcome="churn")
    'tenure = 2 made “churn” more likely'
    >>> reason_text(Reason("precio", "9,5", -1.2), lang="es", task_type="regression")
    'precio = 9,5 bajó el valor predicho'
    """
    sign = 1 if reason.contribution > 0 else -1 if reason.contribution < 0 else 0
    key = _REASON_KEYS[("regression" if task_type == "regression" else "classification", sign)]
    name = (feature_labels or {}).get(reason.feature, reason.feature)
    return translate(key, lang, feature=name, value=reason.value, outcome=outcome or "")


def _fill(template: str, values: Mapping[str, npt.NDArray[np.object_]]) -> npt.NDArray[np.object_]:
    """``template.format(**row)`` for many rows at once (object arrays of text, concatenated piece by piece)."""
    out: npt.NDArray[np.object_] | None = None
    size = len(next(iter(values.values())))
    for literal, field_name, _, _ in string.Formatter().parse(template):
        part = np.full(size, literal, dtype=object)
        if field_name is not None:
            part = part + values.get(field_name, np.full(size, "", dtype=object))
        out = part if out is None else out + part
    return out if out is not None else np.full(size, "", dtype=object)


class _ReasonWords:
    """Reasons in words for many rows: the catalog templates are looked up once, not per reason."""

    def __init__(self, batch: BatchInfo, lang: str, labels: Mapping[str, str] | None) -> None:
        task = "regression" if batch.task_type == "regression" else "classification"
        self.templates = {sign: translate(_REASON_KEYS[(task, sign)], lang) for sign in (-1, 0, 1)}
        self.positive = batch.positive_class
        self.labels = labels or {}

    def texts(self, reasons: pd.DataFrame, labels: Sequence[str | None]) -> list[str]:
        """Each row's reasons joined with "; ", from the f1, v1, c1… columns of stored reasons.

        Built column-wise (one array operation per piece of the sentence), not row by row.
        """
        n = len(labels)
        outcome = (
            np.full(n, self.positive, dtype=object)
            if self.positive is not None
            else np.array(["" if v is None else str(v) for v in labels], dtype=object)
        )
        joined = np.full(n, "", dtype=object)
        for r in (1, 2, 3):
            feature = reasons[f"f{r}"].to_numpy(dtype=object)
            contribution = pd.to_numeric(reasons[f"c{r}"], errors="coerce").to_numpy(dtype=np.float64)
            present = np.array([f is not None for f in feature]) & ~np.isnan(contribution)
            if not present.any():
                continue
            pieces = {
                "feature": np.array([self.labels.get(str(f), str(f)) for f in feature], dtype=object),
                "value": np.array(["" if v is None else str(v) for v in reasons[f"v{r}"]], dtype=object),
                "outcome": outcome,
            }
            sentence = np.full(n, "", dtype=object)
            for sign, mask in ((1, contribution > 0), (-1, contribution < 0), (0, contribution == 0)):
                chosen = present & mask
                if chosen.any():
                    sentence[chosen] = _fill(self.templates[sign], {k: v[chosen] for k, v in pieces.items()})
            separator = np.where((joined != "") & present, "; ", "")
            joined = np.where(present, joined + separator + sentence, joined)
        return [str(v) for v in joined]

    def __call__(self, row: PredictionRow) -> tuple[str, ...]:
        outcome = self.positive or row.label or ""
        return tuple(
            self.templates[1 if r.contribution > 0 else -1 if r.contribution < 0 else 0].format(
                feature=self.labels.get(r.feature, r.feature), value=r.value, outcome=outcome
            )
            for r in row.reasons
        )


def top_predictions(
    *,
    session: Session,
    project_id: int,
    batch_id: int,
    n: int = 20,
    filters: RowFilter | None = None,
    lang: str = "en",
    feature_labels: Mapping[str, str] | None = None,
) -> tuple[TopRow, ...]:
    """The ``n`` highest-score rows (the highest risk) with their reasons in plain words.

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``.
    InputError
        ``deploy.bad_page_size`` (``n`` above :data:`MAX_TOP`) and those of the filters.
    """
    batch = get_batch(session=session, project_id=project_id, batch_id=batch_id)
    return _top(session, batch, filters, n=n, lang=lang, feature_labels=feature_labels)


def _top(
    session: Session,
    batch: BatchInfo,
    filters: RowFilter | None,
    *,
    n: int,
    lang: str,
    feature_labels: Mapping[str, str] | None,
) -> tuple[TopRow, ...]:
    size = _bounded(n, maximum=MAX_TOP, what="n")
    rows = _fetch(session, batch, _conditions(batch, filters), limit=size, extras=("reasons",))
    words = _ReasonWords(batch, lang, feature_labels)
    return tuple(TopRow(row, words(row)) for row, _ in rows)


@dataclass(frozen=True)
class DashboardView:
    """Everything one dashboard page shows for a batch and a filter.

    Attributes
    ----------
    batch : BatchInfo
    summary : BatchSummary
        Of the rows the filter keeps (the stored summary without a filter).
    segments : mapping of str to tuple of SegmentRow
        Breakdown by each of the batch's segment columns, largest first.
    top : tuple of TopRow
        The highest scores with their reasons in words.
    page : RowsPage
        The first page of the rows, highest score first.
    """

    batch: BatchInfo
    summary: BatchSummary
    segments: Mapping[str, tuple[SegmentRow, ...]]
    top: tuple[TopRow, ...]
    page: RowsPage


def dashboard_view(
    *,
    session: Session,
    project_id: int,
    batch_id: int,
    filters: RowFilter | None = None,
    top_n: int = 20,
    page_size: int = 50,
    segment_limit: int = 50,
    lang: str = "en",
    feature_labels: Mapping[str, str] | None = None,
) -> DashboardView:
    """One call for a dashboard page: summary, every segment breakdown, the top rows and the first page.

    Without a filter the summary and the breakdowns are the ones stored with the batch; with one,
    the summary and the breakdowns of segments with few values come from a single pass over the
    batch (a ``GROUP BY`` bucket and segment values), the others from one ``GROUP BY`` each. Top
    rows and the page are read through the score rank (no pass).

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``.
    InputError
        Those of the filters, ``deploy.bad_page_size``.
    """
    batch = get_batch(session=session, project_id=project_id, batch_id=batch_id)
    size = max(1, min(int(segment_limit), MAX_SEGMENT_GROUPS))
    segments: dict[str, tuple[SegmentRow, ...]] = {}
    if filters is None or filters.empty:
        summary = batch.summary
        together: list[str] = []
    else:
        conditions = _conditions(batch, filters, scan=True)
        groups = HISTOGRAM_BINS * (len(batch.classes) if len(batch.classes) > 2 else 1)
        together = []
        for name in batch.segment_columns:
            stored = batch.summary.segments.get(name)
            if stored is not None and groups * (len(stored) + 1) <= _MAX_PASS_GROUPS:
                together.append(name)
                groups *= len(stored) + 1
        summary = _sql_summary(session, batch, conditions, together)
        segments = {name: (summary.segments.get(name) or ())[:size] for name in together}
    for name in batch.segment_columns:
        if name not in segments:
            segments[name] = _breakdown(session, batch, name, filters, size)
    return DashboardView(
        batch=batch,
        summary=summary,
        segments=segments,
        top=_top(session, batch, filters, n=top_n, lang=lang, feature_labels=feature_labels),
        page=_page(session, batch, filters, page_size=page_size),
    )


def prediction_detail(
    *,
    session: Session,
    project_id: int,
    batch_id: int,
    prediction_id: int | None = None,
    row_key: str | None = None,
    lang: str = "en",
    feature_labels: Mapping[str, str] | None = None,
) -> RowDetail:
    """Everything stored about one row, found by its prediction id or its row key.

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``, ``deploy.prediction_not_found``.
    InputError
        ``deploy.detail_needs_one`` unless exactly one of ``prediction_id`` and ``row_key`` is given.
    """
    if (prediction_id is None) == (row_key is None):
        raise InputError("deploy.detail_needs_one")
    batch = get_batch(session=session, project_id=project_id, batch_id=batch_id)
    if prediction_id is not None:
        where = [col(Prediction.batch_id) == batch.id, col(Prediction.id) == int(prediction_id)]
    else:  # no index on keys: one pass over the batch's id range, the cheapest full read
        where = [*scan_conditions(batch.id, batch.first_id, batch.last_id), col(Prediction.row_key) == str(row_key)]
    stmt, wanted = _select_rows(batch, _EXTRAS, ranked=False)
    found = session.execute(stmt.where(*where).limit(1)).first()
    if found is None:
        raise NotFound("deploy.prediction_not_found", row=str(row_key if row_key is not None else prediction_id)[:80])
    row, extra = _row(batch, found, wanted)
    below = session.execute(
        select(func.count()).where(col(PredictionRank.batch_id) == batch.id, col(PredictionRank.score) < row.score)
    ).scalar_one()
    return RowDetail(
        row=row,
        probabilities=extra.get("probabilities"),
        values=dict(extra.get("row_values") or {}),
        reasons_text=_ReasonWords(batch, lang, feature_labels)(row),
        share_below=int(below) / batch.n_rows if batch.n_rows else 0.0,
    )


# ----------------------------------------------------------------------------- CSV export


def _safe_header(name: str) -> str:
    return "'" + name if name.startswith(FORMULA_PREFIXES) else name


def _unique(names: Sequence[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name} ({count + 1})")
    return out


def _column(values: list[Any]) -> pa.Array:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return pa.array(values, type=pa.float64())
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def export_csv(
    *,
    session: Session,
    project_id: int,
    batch_id: int,
    filters: RowFilter | None = None,
    lang: str = "en",
    max_rows: int = MAX_ROWS_OUT,
    chunk_rows: int = _EXPORT_CHUNK,
    feature_labels: Mapping[str, str] | None = None,
) -> Iterator[bytes]:
    """The filtered rows as a formula-safe UTF-8 CSV, highest score first, in chunks of bytes.

    Columns: key, score, label, predicted positive, the segment columns, the shown values and the
    reasons in words. Text cells a spreadsheet would run as a formula get a leading quote (the same
    rule as the dataset download). At most ``max_rows`` rows (never more than
    :data:`~mlcore.deploy.batch.MAX_ROWS_OUT`); keep ``session`` open while iterating.

    Raises
    ------
    NotFound
        ``deploy.batch_not_found``.
    InputError
        ``deploy.bad_page_size`` for ``max_rows`` out of range, and those of the filters.
    """
    limit = _bounded(max_rows, maximum=MAX_ROWS_OUT, what="max_rows")
    step = max(1, min(int(chunk_rows), limit))
    batch = get_batch(session=session, project_id=project_id, batch_id=batch_id)
    conditions = _conditions(batch, filters)
    shown = list(batch.shown_columns)
    headers = _unique(
        [
            translate("deploy.csv.key", lang),
            translate("deploy.csv.score", lang),
            translate("deploy.csv.label", lang),
            translate("deploy.csv.positive", lang),
            *[_safe_header(s) for s in batch.segment_columns],
            *[_safe_header(s) for s in shown],
            translate("deploy.csv.reasons", lang),
        ]
    )
    words = _ReasonWords(batch, lang, feature_labels)
    n_seg = len(batch.segment_columns)
    yield b"\xef\xbb\xbf"
    sent = 0
    cursor: PageCursor | None = None
    first = True
    while sent < limit:
        rows, wanted = _ranked(
            session,
            batch,
            conditions,
            limit=min(step, limit - sent),
            after=cursor,
            extras=("reasons", "row_values"),
            json_text=True,
        )
        if not rows and not first:
            break
        columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(5 + n_seg + len(wanted))]
        extra = dict(zip(wanted, columns[5 + n_seg :], strict=True))
        shown_values = _json_frame(extra.get("row_values"), shown, len(rows))
        reasons = _json_frame(extra.get("reasons"), [f"{p}{r}" for r in (1, 2, 3) for p in "fvc"], len(rows))
        arrays = [
            pa.array(columns[1], type=pa.string()),
            pa.array(columns[2], type=pa.float64()),
            pa.array(columns[3], type=pa.string()),
            pa.array([None if v is None else bool(v) for v in columns[4]], type=pa.bool_()),
            *[pa.array(columns[5 + i], type=pa.string()) for i in range(n_seg)],
            *[_column(shown_values[name].tolist()) for name in shown],
            pa.array(words.texts(reasons, columns[3]), type=pa.string()),
        ]
        table = neutralise_formulas(pa.Table.from_arrays(arrays, names=headers))
        buffer = io.BytesIO()
        pacsv.write_csv(table, buffer, write_options=pacsv.WriteOptions(include_header=first))
        yield buffer.getvalue()
        first = False
        sent += len(rows)
        if len(rows) < step:
            break
        cursor = PageCursor(float(columns[2][-1]), int(columns[0][-1]))


def _json_frame(texts: Sequence[str | None] | None, names: Sequence[str], n: int) -> pd.DataFrame:
    """Stored JSON objects of many rows parsed at once (by pandas), one column per name."""
    if not texts or not names:
        return pd.DataFrame({name: [None] * n for name in names})
    lines = "\n".join(t if t else "{}" for t in texts)
    parsed = pd.read_json(io.StringIO(lines), lines=True, dtype=False, convert_dates=False)
    parsed = parsed.reindex(columns=list(names))
    return parsed.astype(object).where(parsed.notna(), None)


# ----------------------------------------------------------------------------- frames for display


def rows_frame(rows: Sequence[PredictionRow] | Sequence[TopRow], *, batch: BatchInfo, lang: str) -> pd.DataFrame:
    """Rows as a table for display: key, score, label, segments, and reasons when given as :class:`TopRow`."""
    records = []
    for item in rows:
        row = item.row if isinstance(item, TopRow) else item
        record: dict[str, Any] = {
            "id": row.id,
            translate("deploy.csv.key", lang): row.row_key,
            translate("deploy.csv.score", lang): row.score,
        }
        if batch.task_type == "classification":
            record[translate("deploy.csv.label", lang)] = row.label
        for name in batch.segment_columns:
            record[name] = row.segments.get(name)
        if isinstance(item, TopRow):
            record[translate("deploy.csv.reasons", lang)] = "\n".join(item.reasons_text)
        records.append(record)
    return pd.DataFrame.from_records(records)


def histogram_frame(summary: BatchSummary) -> pd.DataFrame:
    """The score histogram as ``low``, ``high``, ``count`` (one row per bin)."""
    return pd.DataFrame([(b.low, b.high, b.count) for b in summary.histogram], columns=["low", "high", "count"])


def segments_frame(rows: Sequence[SegmentRow], *, lang: str) -> pd.DataFrame:
    """A segment breakdown for display; missing values are shown as "(missing)"."""
    missing = translate("deploy.segment.missing", lang)
    return pd.DataFrame(
        [
            (missing if r.value is None else r.value, r.n_rows, r.n_positive, r.share_positive, r.mean_score)
            for r in rows
        ],
        columns=["value", "rows", "positive", "share_positive", "mean_score"],
    )


def trend_frame(points: Sequence[TrendPoint]) -> pd.DataFrame:
    """The trend across batches, oldest first, for a line chart."""
    return pd.DataFrame(
        [(p.completed_at, p.batch_key, p.n_rows, p.share_positive, p.mean_score) for p in points],
        columns=["completed_at", "batch", "rows", "share_positive", "mean_score"],
    )
