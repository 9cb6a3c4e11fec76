"""Batch scoring: a fitted pipeline's predictions for many rows, written to the database in bulk.

:func:`score_batch` checks the rows against what the model expects, predicts chunk by chunk and
inserts the predictions with executemany under a batch whose status is ``writing``. At the end the
rows are ranked by score (one sorted insert into ``PredictionRank``) and, in one transaction, the
batch becomes ``complete`` while a previous complete batch with the same key becomes ``replaced``
(then deleted): a run killed half-way leaves nothing visible, re-running replaces and never
duplicates, and the next run with the same key removes whatever a killed run left behind.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import math
import time
import typing
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sqlalchemy import Connection, Engine, Integer, case, cast, delete, func, insert, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.data.imports import mask_url
from mlcore.errors import ConflictError, InputError, MLCoreError, NotFound
from mlcore.planning.sufficiency import Finding
from mlcore.store.engine import session_scope
from mlcore.store.models import Project, User, utcnow
from mlcore.store.models_deployment import Prediction, PredictionBatch, PredictionDetail, PredictionRank

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "HISTOGRAM_BINS",
    "MAX_KEY_LENGTH",
    "MAX_ROWS_OUT",
    "MAX_SEGMENTS",
    "MAX_SEGMENT_GROUPS",
    "MAX_SHOWN_COLUMNS",
    "STATUSES",
    "BatchResult",
    "BatchSummary",
    "FeatureSpec",
    "HistogramBin",
    "InputReport",
    "Reason",
    "ScoringCancelled",
    "SegmentRow",
    "auto_chunk_rows",
    "batch_key_for",
    "masked_source",
    "model_features",
    "parquet_chunks",
    "reasons_from_json",
    "positive_condition",
    "scan_conditions",
    "score_batch",
    "summarise_rows",
    "table_chunks",
]

log = logging.getLogger(__name__)

STATUSES: tuple[str, ...] = ("writing", "complete", "replaced", "failed")
MAX_SEGMENTS = 3
"""Segment columns a batch can keep for filtering and grouping (``seg1`` .. ``seg3``)."""
MAX_SHOWN_COLUMNS = 20
"""Input columns whose values can be kept with each prediction for the drill-down."""
MAX_KEY_LENGTH = 300
MAX_SEGMENT_LENGTH = 200
MAX_VALUE_LENGTH = 200
MAX_BATCH_KEY_LENGTH = 200
MAX_SEGMENT_GROUPS = 500
"""Most values of one segment column a stored breakdown keeps (a column with more is grouped in SQL)."""
MAX_ROWS_OUT = 150_000
"""Most prediction rows any single read may take out of the database (pages, top-N, CSV export)."""
DEFAULT_CHUNK_ROWS = 100_000
RANK_SLICE_ROWS = 2_000_000
"""Rows ranked per transaction when a batch completes."""
HISTOGRAM_BINS = 20
MAX_REASONS = 3
_MAX_LABELS = 50
_DELETE_STEP = 100_000
_EXAMPLES = 3
_ROLE_KINDS = {
    "numeric": "numeric",
    "datetime": "datetime",
    "categorical": "categorical",
    "boolean": "categorical",
    "text": "other",
    "identifier": "other",
}
_SECRET_WORDS = ("password", "secret", "token", "credential")

Floats = npt.NDArray[np.float64]
Frameish: TypeAlias = pd.DataFrame | pa.Table


class Progress(Protocol):
    """``progress(fraction, key, **params)``: share done in [0, 1] and a catalog key describing the step."""

    def __call__(self, fraction: float, key: str, /, **params: Any) -> None: ...


class ScoringCancelled(MLCoreError):
    """Raised between chunks when ``should_stop()`` says the user cancelled the scoring."""


# ----------------------------------------------------------------------------- typed results


@dataclass(frozen=True)
class Reason:
    """One reason behind a prediction: a feature, its value in the row and its contribution (SHAP value)."""

    feature: str
    value: str
    contribution: float


def reasons_from_json(data: Mapping[str, Any] | None) -> tuple[Reason, ...]:
    """The reasons stored with a prediction (``{"f1": feature, "v1": value, "c1": contribution, ...}``).

    Examples
    --------
    >>> reasons_from_json({"f1": "age", "v1": "71", "c1": 0.4, "f2": None, "v2": None, "c2": None})
    (Reason(feature='age', value='71', contribution=0.4),)
    """
    out = []
    for rank in range(1, MAX_REASONS + 1):
        feature = (data or {}).get(f"f{rank}")
        contribution = (data or {}).get(f"c{rank}")
        if feature is None or contribution is None:
            continue
        value = (data or {}).get(f"v{rank}")
        out.append(Reason(str(feature), "" if value is None else str(value), float(contribution)))
    return tuple(out)


@dataclass(frozen=True)
class FeatureSpec:
    """What the model expects of one input column.

    ``kind`` is ``numeric``, ``datetime``, ``categorical`` or ``other`` (passed to the model as it is);
    ``categories`` holds the values (as text) a categorical column had in training, when known.
    """

    name: str
    kind: str
    categories: frozenset[str] | None = None


@dataclass(frozen=True)
class InputReport:
    """What the input checks found without refusing the rows.

    Attributes
    ----------
    features : tuple of str
        Columns the model used.
    ignored_columns : tuple of str
        Input columns neither the model, the key, the segments nor the shown values use.
    coerced_columns : tuple of str
        Text columns that held numbers or dates and were converted.
    unseen : mapping of str to (int, tuple of str)
        Categorical column -> rows whose value the model never saw in training and a few examples;
        the model treats them as it was built to (grouped as rare values or as missing).
    """

    features: tuple[str, ...]
    ignored_columns: tuple[str, ...] = ()
    coerced_columns: tuple[str, ...] = ()
    unseen: Mapping[str, tuple[int, tuple[str, ...]]] = field(default_factory=dict)

    def findings(self) -> tuple[Finding, ...]:
        """The report as messages (keys under ``deploy.report.``)."""
        out: list[Finding] = []
        if self.ignored_columns:
            out.append(
                Finding(
                    "deploy.report.ignored",
                    {"columns": _names(self.ignored_columns), "count": len(self.ignored_columns)},
                )
            )
        if self.coerced_columns:
            out.append(Finding("deploy.report.coerced", {"columns": _names(self.coerced_columns)}))
        for column, (count, examples) in self.unseen.items():
            params = {"column": column, "count": count, "examples": _names(examples)}
            out.append(Finding("deploy.report.unseen", params))
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "ignored_columns": list(self.ignored_columns),
            "coerced_columns": list(self.coerced_columns),
            "unseen": {k: {"count": c, "examples": list(e)} for k, (c, e) in self.unseen.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> InputReport:
        unseen = {
            str(k): (int(v.get("count", 0)), tuple(str(x) for x in v.get("examples", ())))
            for k, v in dict(data.get("unseen") or {}).items()
        }
        return cls(
            features=tuple(data.get("features") or ()),
            ignored_columns=tuple(data.get("ignored_columns") or ()),
            coerced_columns=tuple(data.get("coerced_columns") or ()),
            unseen=unseen,
        )


@dataclass(frozen=True)
class HistogramBin:
    """Rows whose score is in ``[low, high)`` (the last bin also holds ``high``)."""

    low: float
    high: float
    count: int


@dataclass(frozen=True)
class SegmentRow:
    """Rows of one segment value: how many, how many predicted positive, the mean score."""

    value: str | None
    n_rows: int
    n_positive: int | None
    share_positive: float | None
    mean_score: float


@dataclass(frozen=True)
class BatchSummary:
    """Counts and score distribution of a batch (or of the rows a filter keeps).

    ``n_positive`` and ``share_positive`` are ``None`` when the batch has no positive notion
    (regression without threshold, several classes without a positive class). ``segments`` holds,
    per segment column, the breakdown of the whole batch (largest first, at most
    :data:`MAX_SEGMENT_GROUPS` values; ``None`` when the column had more), computed while writing.
    """

    n_rows: int
    n_positive: int | None
    share_positive: float | None
    mean_score: float | None
    min_score: float | None
    max_score: float | None
    histogram: tuple[HistogramBin, ...]
    label_counts: tuple[tuple[str, int], ...] = ()
    segments: Mapping[str, tuple[SegmentRow, ...] | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_positive": self.n_positive,
            "share_positive": self.share_positive,
            "mean_score": self.mean_score,
            "min_score": self.min_score,
            "max_score": self.max_score,
            "histogram": [[b.low, b.high, b.count] for b in self.histogram],
            "label_counts": [[label, count] for label, count in self.label_counts],
            "segments": {
                name: None if rows is None else [[r.value, r.n_rows, r.n_positive, r.mean_score] for r in rows]
                for name, rows in self.segments.items()
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BatchSummary:
        def number(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)

        def segment(value: Any, n: Any, n_pos: Any, mean: Any) -> SegmentRow:
            n_positive = None if n_pos is None else int(n_pos)
            return SegmentRow(
                value=value,
                n_rows=int(n),
                n_positive=n_positive,
                share_positive=None if n_positive is None or not n else n_positive / int(n),
                mean_score=float(mean),
            )

        n_positive = data.get("n_positive")
        return cls(
            n_rows=int(data.get("n_rows", 0)),
            n_positive=None if n_positive is None else int(n_positive),
            share_positive=number("share_positive"),
            mean_score=number("mean_score"),
            min_score=number("min_score"),
            max_score=number("max_score"),
            histogram=tuple(HistogramBin(float(a), float(b), int(c)) for a, b, c in data.get("histogram") or ()),
            label_counts=tuple((str(k), int(v)) for k, v in data.get("label_counts") or ()),
            segments={
                str(name): None if rows is None else tuple(segment(*row) for row in rows)
                for name, rows in dict(data.get("segments") or {}).items()
            },
        )


@dataclass(frozen=True)
class BatchResult:
    """What one scoring run did.

    Attributes
    ----------
    batch_id : int
        The new, complete batch.
    batch_key : str
    n_rows : int
    summary : BatchSummary
    report : InputReport
    replaced_batch_ids : tuple of int
        The previous complete batch with this key (now deleted), if any.
    cleaned_batch_ids : tuple of int
        Left-overs of killed or failed runs with this key that were removed first.
    seconds : float
    """

    batch_id: int
    batch_key: str
    n_rows: int
    summary: BatchSummary
    report: InputReport
    replaced_batch_ids: tuple[int, ...]
    cleaned_batch_ids: tuple[int, ...]
    seconds: float


# ----------------------------------------------------------------------------- small helpers


def _names(values: Iterable[Any], limit: int = 10) -> str:
    items = [str(v)[:80] for v in values]
    text = ", ".join(items[:limit])
    return text + (f", … (+{len(items) - limit})" if len(items) > limit else "")


def _examples(values: pd.Series) -> str:
    return _names(pd.unique(values.dropna().astype(str))[:_EXAMPLES])


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def masked_source(source: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON-safe description of where the rows came from, with passwords removed from URLs.

    Examples
    --------
    >>> masked_source({"kind": "query", "url": "postgresql://u:pw@db/x", "query": "select 1"})
    {'kind': 'query', 'url': 'postgresql://u:***@db/x', 'query': 'select 1'}
    """
    out: dict[str, Any] = {}
    for raw_key, value in list(source.items())[:30]:
        key = str(raw_key)[:60]
        if any(word in key.lower() for word in _SECRET_WORDS):
            out[key] = "***"
        elif isinstance(value, str) and key.lower().endswith("url"):
            out[key] = mask_url(value)
        elif isinstance(value, bool | int | float) or value is None:
            out[key] = value
        else:
            out[key] = str(value)[:10_000]
    return out


def batch_key_for(*, source: Mapping[str, Any], model_version_id: int) -> str:
    """A key that is the same whenever the same source is scored with the same model version.

    Examples
    --------
    >>> a = batch_key_for(source={"kind": "dataset", "version_id": 3}, model_version_id=7)
    >>> a == batch_key_for(source={"version_id": 3, "kind": "dataset"}, model_version_id=7), a[:5]
    (True, 'auto-')
    """
    canonical = json.dumps({"source": masked_source(source), "model": int(model_version_id)}, sort_keys=True)
    return "auto-" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def _check_batch_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip():
        raise InputError("deploy.bad_batch_key", maximum=MAX_BATCH_KEY_LENGTH)
    text = key.strip()
    if len(text) > MAX_BATCH_KEY_LENGTH or _has_control_chars(text):
        raise InputError("deploy.bad_batch_key", maximum=MAX_BATCH_KEY_LENGTH)
    return text


# ----------------------------------------------------------------------------- input chunks


def table_chunks(data: Frameish, *, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Cut a frame or an Arrow table (a dataset version, a SQL result) into frames of ``chunk_rows`` rows.

    Examples
    --------
    >>> [len(c) for c in table_chunks(pd.DataFrame({"a": range(5)}), chunk_rows=2)]
    [2, 2, 1]
    """
    size = max(1, int(chunk_rows))
    n = data.num_rows if isinstance(data, pa.Table) else len(data)
    for start in range(0, n, size):
        if isinstance(data, pa.Table):
            yield data.slice(start, size).to_pandas()
        else:
            yield data.iloc[start : start + size]


def parquet_chunks(
    path: Path | str, *, chunk_rows: int = DEFAULT_CHUNK_ROWS, columns: Sequence[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Read a Parquet file a chunk at a time (never whole), optionally only some columns.

    Raises
    ------
    InputError
        ``deploy.bad_parquet`` if the file cannot be read as Parquet.
    """
    try:
        reader = pq.ParquetFile(str(path))
    except (OSError, pa.ArrowException) as exc:
        raise InputError("deploy.bad_parquet", reason=str(exc)[:200]) from None
    for record_batch in reader.iter_batches(batch_size=max(1, int(chunk_rows)), columns=columns):
        yield record_batch.to_pandas()


def _frames(data: Frameish | Iterable[Frameish], chunk_rows: int) -> Iterator[pd.DataFrame]:
    if isinstance(data, pd.DataFrame | pa.Table):
        yield from table_chunks(data, chunk_rows=chunk_rows)
        return
    if isinstance(data, str | bytes | Mapping):
        raise InputError("deploy.bad_input_type", kind=type(data).__name__)
    # Small incoming pieces (Parquet row groups, SQL pages) are gathered up to ``chunk_rows``: models
    # such as gradient boosting pay a fixed price per call, several times the work on 10,000 rows.
    pending: list[pd.DataFrame] = []
    gathered = 0
    for item in data:
        if not isinstance(item, pd.DataFrame | pa.Table):
            raise InputError("deploy.bad_input_type", kind=type(item).__name__)
        for piece in table_chunks(item, chunk_rows=chunk_rows):
            pending.append(piece)
            gathered += len(piece)
            if gathered >= chunk_rows:
                yield pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)
                pending, gathered = [], 0
    if pending:
        yield pending[0] if len(pending) == 1 else pd.concat(pending, ignore_index=True)


def auto_chunk_rows(n_columns: int) -> int:
    """Rows scored at a time by default: about ten million cells, between 20,000 and 500,000 rows.

    Examples
    --------
    >>> auto_chunk_rows(20), auto_chunk_rows(200), auto_chunk_rows(5000)
    (500000, 50000, 20000)
    """
    return max(20_000, min(500_000, 10_000_000 // max(1, int(n_columns))))


# ----------------------------------------------------------------------------- what the model expects


def _categories_of(transformer: Any) -> list[frozenset[str] | None] | None:
    steps = transformer.steps if isinstance(transformer, Pipeline) else [("only", transformer)]
    for _, step in reversed(steps):
        categories = getattr(step, "categories_", None)
        if categories is not None:
            return [
                frozenset(str(v) for v in values if not (isinstance(v, float) and math.isnan(v)) and v is not None)
                for values in categories
            ]
    return None


def model_features(pipeline: Any, *, roles: Mapping[str, str] | None = None) -> tuple[FeatureSpec, ...]:
    """The input columns a fitted pipeline expects, with the kind of values each needs.

    Kinds come from the pipeline's first step when it is the column preparation Ciclo builds
    (steps named ``numeric``, ``datetime``, ``categorical``); ``roles`` (column -> role, as recorded
    with the training run) fill in or override them. Columns of unknown kind are passed as they are.

    Raises
    ------
    InputError
        ``deploy.model_without_features`` if the pipeline was not fitted on named columns.

    Examples
    --------
    >>> from mlcore.modeling.training import build_pipeline
    >>> X = pd.DataFrame({"age": [20, 30, 40, 50], "plan": ["a", "b", "a", "b"]})
    >>> pipe = build_pipeline("logistic_regression", task_type="classification",
    ...                       roles={"age": "numeric", "plan": "categorical"}, features=["age", "plan"])
    >>> [(f.name, f.kind, sorted(f.categories or ())) for f in model_features(pipe.fit(X, [0, 1, 0, 1]))]
    [('age', 'numeric', []), ('plan', 'categorical', ['a', 'b'])]
    """
    names = getattr(pipeline, "feature_names_in_", None)
    if names is None:
        raise InputError("deploy.model_without_features")
    kinds: dict[str, str] = {}
    categories: dict[str, frozenset[str] | None] = {}
    first = pipeline.steps[0][1] if isinstance(pipeline, Pipeline) else None
    if isinstance(first, ColumnTransformer) and hasattr(first, "transformers_"):
        for step_name, transformer, columns in first.transformers_:
            kind = step_name if step_name in ("numeric", "datetime", "categorical") else None
            if kind is None or not isinstance(columns, list | tuple):
                continue
            known = _categories_of(transformer) if kind == "categorical" else None
            for j, column in enumerate(columns):
                kinds[str(column)] = kind
                if known is not None and j < len(known):
                    categories[str(column)] = known[j]
    for column, role in (roles or {}).items():
        if role in _ROLE_KINDS and kinds.get(column) is None:
            kinds[column] = _ROLE_KINDS[role]
    return tuple(FeatureSpec(str(n), kinds.get(str(n), "other"), categories.get(str(n))) for n in list(names))


# ----------------------------------------------------------------------------- input checks


@dataclass
class _Checks:
    """Running state of the input checks over the chunks."""

    features: tuple[FeatureSpec, ...]
    key_column: str
    segments: tuple[str, ...]
    shown: tuple[str, ...]
    ignored: tuple[str, ...] = ()
    coerced: set[str] = field(default_factory=set)
    unseen: dict[str, list[Any]] = field(default_factory=dict)  # column -> [count, examples]
    first: bool = True

    def report(self) -> InputReport:
        return InputReport(
            features=tuple(f.name for f in self.features),
            ignored_columns=self.ignored,
            coerced_columns=tuple(sorted(self.coerced)),
            unseen={k: (int(v[0]), tuple(v[1])) for k, v in self.unseen.items()},
        )


def _blank(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    text = series.astype("string").str.strip()
    return text, text.isna() | (text == "")


def _check_columns(frame: pd.DataFrame, checks: _Checks) -> None:
    if not frame.columns.is_unique:
        repeated = frame.columns[frame.columns.duplicated()].unique()
        raise InputError("deploy.duplicate_columns", columns=_names(repeated))
    present = set(frame.columns)
    missing = [f.name for f in checks.features if f.name not in present]
    if missing:
        raise InputError("deploy.missing_features", columns=_names(missing), count=len(missing))
    if checks.key_column not in present:
        raise InputError("deploy.key_column_missing", column=checks.key_column[:80])
    absent = [c for c in (*checks.segments, *checks.shown) if c not in present]
    if absent:
        raise InputError("deploy.columns_missing", columns=_names(absent))
    if checks.first:
        used = {f.name for f in checks.features} | {checks.key_column, *checks.segments, *checks.shown}
        checks.ignored = tuple(str(c) for c in frame.columns if c not in used)
        checks.first = False


def _model_input(frame: pd.DataFrame, checks: _Checks) -> pd.DataFrame:
    """The feature columns, with text numbers and dates converted; refuses values that cannot be."""
    X = frame[[f.name for f in checks.features]]
    converted: dict[str, Any] = {}
    for spec in checks.features:
        s = X[spec.name]
        if spec.kind == "numeric":
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                continue
            if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.is_timedelta64_dtype(s):
                raise InputError("deploy.wrong_type_dates", column=spec.name, expected="numeric")
            text, blank = _blank(s)
            numbers = pd.to_numeric(text.where(~blank), errors="coerce")
            bad = ~blank & numbers.isna()
            if bool(bad.any()):
                raise InputError(
                    "deploy.not_numeric", column=spec.name, count=int(bad.sum()), examples=_examples(s[bad])
                )
            converted[spec.name] = numbers.to_numpy(dtype="float64", na_value=np.nan)
            checks.coerced.add(spec.name)
        elif spec.kind == "datetime":
            if pd.api.types.is_datetime64_any_dtype(s):
                continue
            if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
                count = int(s.notna().sum())
                raise InputError("deploy.not_dates", column=spec.name, count=count, examples=_examples(s))
            text, blank = _blank(s)
            parsed = pd.to_datetime(text.where(~blank).astype(object), errors="coerce", format="mixed")
            bad = ~blank & parsed.isna()
            if bool(bad.any()):
                raise InputError("deploy.not_dates", column=spec.name, count=int(bad.sum()), examples=_examples(s[bad]))
            converted[spec.name] = parsed
            checks.coerced.add(spec.name)
        elif spec.kind == "categorical" and spec.categories is not None:
            present = s.notna()
            as_text = s[present].astype(object).astype(str)
            new = ~as_text.isin(list(spec.categories))
            if bool(new.any()):
                entry = checks.unseen.setdefault(spec.name, [0, []])
                entry[0] += int(new.sum())
                for value in pd.unique(as_text[new])[:_EXAMPLES]:
                    if len(entry[1]) < _EXAMPLES and str(value)[:80] not in entry[1]:
                        entry[1].append(str(value)[:80])
    return X.assign(**converted) if converted else X


def _row_keys(frame: pd.DataFrame, key_column: str) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.int64]]:
    """The chunk's keys as text, and a 64-bit hash of each (to find keys repeated across chunks)."""
    keys = frame[key_column]
    if bool(keys.isna().any()):
        raise InputError("deploy.key_missing", column=key_column[:80], count=int(keys.isna().sum()))
    if pd.api.types.is_float_dtype(keys) and bool((keys == np.floor(keys)).all()):
        keys = keys.astype("int64")  # ids read as floats (a missing value elsewhere in the file)
    integers = pd.api.types.is_integer_dtype(keys)
    text = keys.astype(str) if keys.dtype != object else keys.map(str)
    values = np.asarray(text.to_numpy(dtype=object), dtype=object)
    if not integers and max(map(len, values), default=0) > MAX_KEY_LENGTH:
        raise InputError("deploy.key_too_long", column=key_column[:80], maximum=MAX_KEY_LENGTH)
    # Python's string hash: ~20x faster than hashing with pandas, stable within the process.
    hashes = np.fromiter(map(hash, values), dtype=np.int64, count=len(values))
    ordered = np.sort(hashes)
    if bool((ordered[1:] == ordered[:-1]).any()):
        duplicated = text.duplicated(keep=False)
        if bool(duplicated.any()):
            raise InputError("deploy.duplicate_keys", column=key_column[:80], examples=_examples(text[duplicated]))
    return values, hashes


def _text_values(series: pd.Series, limit: int) -> list[str | None]:
    present = series.notna()
    out = series.astype(object).where(present, None)
    return [None if v is None else str(v)[:limit] for v in out.tolist()]


def _json_lines(frame: pd.DataFrame) -> list[str]:
    """One JSON object per row, built by pandas in one go (json.dumps per row costs ~10x more)."""
    if frame.empty:
        return []
    text = str(frame.to_json(orient="records", lines=True, date_format="iso", double_precision=15))
    lines = text.split("\n")
    return lines[: len(frame)]


def _shown_json(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    shown = pd.DataFrame(index=frame.index)
    for name in columns:
        s = frame[name]
        if pd.api.types.is_bool_dtype(s):
            shown[name] = s.astype(object).where(s.notna(), None)
        elif pd.api.types.is_numeric_dtype(s):
            numbers = pd.to_numeric(s, errors="coerce").astype("float64")
            shown[name] = numbers.where(np.isfinite(numbers))
        elif pd.api.types.is_datetime64_any_dtype(s):
            shown[name] = s
        else:
            shown[name] = _text_values(s, MAX_VALUE_LENGTH)
    return _json_lines(shown.reset_index(drop=True))


ReasonsInput: TypeAlias = pd.DataFrame | Callable[[pd.DataFrame], pd.DataFrame]
_REASON_COLUMNS = ("row_key", "feature", "value", "contribution")


def _wide_reasons(long: object) -> pd.DataFrame:
    """Top :data:`MAX_REASONS` reasons per row key by ``|contribution|``, one row per key (f1, v1, c1, f2…)."""
    if not isinstance(long, pd.DataFrame):
        raise InputError("deploy.bad_reasons")
    missing = [c for c in _REASON_COLUMNS if c not in long.columns]
    if missing:
        raise InputError("deploy.reasons_columns", columns=_names(missing))
    contribution = pd.to_numeric(long["contribution"], errors="coerce").to_numpy(dtype=np.float64)
    usable = np.isfinite(contribution)
    keys = long["row_key"].to_numpy(dtype=object)[usable]
    features = long["feature"].to_numpy(dtype=object)[usable]
    values = long["value"].to_numpy(dtype=object)[usable]
    contribution = contribution[usable]
    codes, uniques = pd.factorize(pd.Series(keys, dtype=object).map(str))
    order = np.lexsort((-np.abs(contribution), codes))
    ranked = codes[order]
    n = len(ranked)
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]]) if n else np.array([], dtype=np.int64)
    first_of_group = np.repeat(starts, np.diff(np.r_[starts, n])) if n else np.array([], dtype=np.int64)
    rank = np.arange(n) - first_of_group
    wide = pd.DataFrame(index=pd.Index(uniques, dtype=object))
    for r in range(MAX_REASONS):
        rows = order[rank == r]
        slot = codes[rows]
        feature = np.full(len(uniques), None, dtype=object)
        value = np.full(len(uniques), None, dtype=object)
        score = np.full(len(uniques), np.nan)
        feature[slot] = [str(v)[:200] for v in features[rows]]
        value[slot] = [None if v is None or v is pd.NA else str(v)[:MAX_VALUE_LENGTH] for v in values[rows]]
        score[slot] = contribution[rows]
        wide[f"f{r + 1}"], wide[f"v{r + 1}"], wide[f"c{r + 1}"] = feature, value, score
    return wide


def _reasons_json(wide: pd.DataFrame, keys: npt.NDArray[np.object_]) -> list[str | None]:
    chunk = wide.reindex(pd.Index(keys, dtype=object))
    lines: list[str | None] = list(_json_lines(chunk.reset_index(drop=True)))
    empty = chunk["f1"].isna().to_numpy()
    for i in np.flatnonzero(empty):
        lines[i] = None
    return lines


# ----------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class _Scored:
    score: Floats
    label: npt.NDArray[np.intp] | None  # index into the scorer's classes
    positive: npt.NDArray[np.bool_] | None
    probabilities: list[str] | None  # JSON text per row


@dataclass(frozen=True)
class _Scorer:
    task_type: str
    score_kind: str  # probability, margin, value
    classes: tuple[str, ...]
    positive_index: int | None
    threshold: float | None

    @property
    def positive_class(self) -> str | None:
        return None if self.positive_index is None else self.classes[self.positive_index]

    @property
    def has_positive(self) -> bool:
        return self.positive_index is not None or (self.task_type == "regression" and self.threshold is not None)

    def __call__(self, pipeline: Any, X: pd.DataFrame) -> _Scored:
        try:
            if self.task_type == "regression":
                raw = np.asarray(pipeline.predict(X), dtype=np.float64).reshape(-1)
            elif self.score_kind == "probability":
                raw = np.asarray(pipeline.predict_proba(X), dtype=np.float64)
            else:
                raw = np.asarray(pipeline.decision_function(X), dtype=np.float64)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
            raise InputError("deploy.predict_failed", reason=reason) from None
        if not np.isfinite(raw).all():
            raise InputError("deploy.score_not_finite", count=int((~np.isfinite(raw)).sum()))
        if self.task_type == "regression":
            positive = raw >= self.threshold if self.threshold is not None else None
            return _Scored(raw, None, positive, None)
        if len(self.classes) == 2:
            pos = self.positive_index if self.positive_index is not None else 1
            # Decision values are positive on the side of classes_[1].
            margin = raw if pos == 1 else -raw
            score = np.ascontiguousarray(raw[:, pos]) if self.score_kind == "probability" else margin
            assert self.threshold is not None
            positive = score >= self.threshold
            labels = np.where(positive, pos, 1 - pos).astype(np.intp)
            return _Scored(score, labels, positive, None)
        winner = raw.argmax(axis=1).astype(np.intp)
        labels = winner
        score = raw[:, self.positive_index] if self.positive_index is not None else raw.max(axis=1)
        flags = winner == self.positive_index if self.positive_index is not None else None
        probabilities = None
        if self.score_kind == "probability":
            probabilities = _json_lines(pd.DataFrame(raw, columns=list(self.classes)))
        return _Scored(np.ascontiguousarray(score), labels, flags, probabilities)


def _threshold(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not math.isfinite(float(value)):
        raise InputError("deploy.bad_threshold", value=str(value)[:40])
    return float(value)


def _make_scorer(pipeline: Any, positive_class: Any, threshold: float | None) -> _Scorer:
    if not is_classifier(pipeline):
        if not hasattr(pipeline, "predict"):
            raise InputError("deploy.not_a_model")
        if positive_class is not None:
            raise InputError("deploy.positive_class_regression")
        return _Scorer("regression", "value", (), None, None if threshold is None else _threshold(threshold))
    classes_raw = list(getattr(pipeline, "classes_", []))
    if len(classes_raw) < 2:
        raise InputError("deploy.single_class_model", classes=_names(classes_raw) or "—")
    classes = tuple(str(c) for c in classes_raw)
    kind = "probability" if hasattr(pipeline, "predict_proba") else "margin"
    index: int | None = None
    if positive_class is not None:
        if str(positive_class) not in classes:
            raise InputError("deploy.unknown_positive_class", value=str(positive_class)[:80], classes=_names(classes))
        index = classes.index(str(positive_class))
    elif len(classes) == 2:
        ones = [i for i, c in enumerate(classes_raw) if isinstance(c, bool | int | float | np.number) and c == 1]
        if not ones:
            raise InputError("deploy.positive_class_required", classes=_names(classes))
        index = ones[0]
    if len(classes) > 2:
        if threshold is not None:
            raise InputError("deploy.threshold_two_classes")
        return _Scorer("classification", kind, classes, index, None)
    if threshold is None:
        cut = 0.5 if kind == "probability" else 0.0
    else:
        cut = _threshold(threshold)
        if kind == "probability" and not 0.0 <= cut <= 1.0:
            raise InputError("deploy.bad_threshold", value=str(threshold)[:40])
    return _Scorer("classification", kind, classes, index, cut)


def _bucket(score: Floats, low: float, high: float, bins: int) -> npt.NDArray[np.int64]:
    """Histogram bin of each score: the same arithmetic as the SQL bucketing of :func:`summarise_rows`."""
    if high <= low:
        return np.zeros(len(score), dtype=np.int64)
    index = np.floor((score - low) * bins / (high - low)).astype(np.int64)
    return np.clip(index, 0, bins - 1)


def _histogram(low: float, high: float, bins: int, counts: Sequence[int]) -> tuple[HistogramBin, ...]:
    if high <= low:
        return (HistogramBin(low, high, int(sum(counts))),)
    edges = np.linspace(low, high, bins + 1)
    return tuple(HistogramBin(float(edges[i]), float(edges[i + 1]), int(counts[i])) for i in range(bins))


def _segment_rows(groups: Mapping[str | None, Sequence[float]], has_positive: bool) -> tuple[SegmentRow, ...]:
    rows = [
        SegmentRow(
            value=value,
            n_rows=int(n),
            n_positive=int(n_pos) if has_positive else None,
            share_positive=n_pos / n if has_positive and n else None,
            mean_score=total / n if n else 0.0,
        )
        for value, (n, n_pos, total) in groups.items()
    ]
    rows.sort(key=lambda r: (-r.n_rows, r.value is not None, r.value or ""))
    return tuple(rows)


@dataclass
class _Totals:
    """The batch summary, accumulated chunk by chunk while writing (nothing re-read from the DB)."""

    scorer: _Scorer
    segment_names: tuple[str, ...]
    n: int = 0
    n_positive: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf
    labels: npt.NDArray[np.int64] | None = None
    counts: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(HISTOGRAM_BINS, dtype=np.int64))
    # segment -> value -> [rows, positive, sum of scores]; None once it has too many values to keep
    segments: dict[str, dict[str | None, list[float]] | None] = field(default_factory=dict)

    def add(self, scored: _Scored, segment_values: Sequence[Sequence[str | None]]) -> None:
        score = scored.score
        self.n += len(score)
        self.total += float(score.sum())
        self.low = min(self.low, float(score.min()))
        self.high = max(self.high, float(score.max()))
        if scored.positive is not None:
            self.n_positive += int(scored.positive.sum())
        if scored.label is not None:
            counts = np.bincount(scored.label, minlength=len(self.scorer.classes))
            self.labels = counts if self.labels is None else self.labels + counts
        if self.scorer.score_kind == "probability":
            self.counts += np.bincount(_bucket(score, 0.0, 1.0, HISTOGRAM_BINS), minlength=HISTOGRAM_BINS)
        flags = scored.positive.astype(np.float64) if scored.positive is not None else np.zeros(len(score))
        for name, values in zip(self.segment_names, segment_values, strict=True):
            groups = self.segments.setdefault(name, {})
            if groups is None:
                continue
            codes, uniques = pd.factorize(pd.Series(values, dtype=object), use_na_sentinel=True)
            slots = codes + 1  # slot 0: missing
            size = len(uniques) + 1
            n = np.bincount(slots, minlength=size)
            positive = np.bincount(slots, weights=flags, minlength=size)
            sums = np.bincount(slots, weights=score, minlength=size)
            for slot in np.flatnonzero(n):
                value = None if slot == 0 else str(uniques[slot - 1])
                entry = groups.setdefault(value, [0.0, 0.0, 0.0])
                entry[0] += float(n[slot])
                entry[1] += float(positive[slot])
                entry[2] += float(sums[slot])
            if len(groups) > MAX_SEGMENT_GROUPS:
                self.segments[name] = None

    def summary(self, histogram: tuple[HistogramBin, ...]) -> BatchSummary:
        n_positive = self.n_positive if self.scorer.has_positive else None
        segments = {
            name: None
            if self.segments.get(name) is None
            else _segment_rows(self.segments[name] or {}, self.scorer.has_positive)
            for name in self.segment_names
        }
        return BatchSummary(
            n_rows=self.n,
            n_positive=n_positive,
            share_positive=None if n_positive is None or not self.n else n_positive / self.n,
            mean_score=self.total / self.n if self.n else None,
            min_score=self.low if self.n else None,
            max_score=self.high if self.n else None,
            histogram=histogram,
            label_counts=tuple(
                sorted(
                    ((label, int(n)) for label, n in zip(self.scorer.classes, self.labels, strict=True) if n),
                    key=lambda kv: (-kv[1], kv[0]),
                )[:_MAX_LABELS]
            )
            if self.labels is not None
            else (),
            segments=segments,
        )

    def probability_histogram(self) -> tuple[HistogramBin, ...]:
        return _histogram(0.0, 1.0, HISTOGRAM_BINS, self.counts.tolist())


# ----------------------------------------------------------------------------- SQL shared with the dashboards


def scan_conditions(batch_id: int, first_id: int | None, last_id: int | None) -> list[ColumnElement[bool]]:
    """Conditions that select a batch's rows for a full pass (aggregations).

    A batch's rows are written in one stretch, so they are read by primary-key range; ``batch_id + 0``
    keeps the database from reading them through the score index instead, which would visit the
    rows in score order, i.e. jumping all over the table. The ``batch_id`` check still excludes rows
    of another batch written at the same time.
    """
    same_batch = (col(Prediction.batch_id) + 0) == batch_id
    if first_id is None or last_id is None:
        return [col(Prediction.batch_id) == batch_id]
    return [col(Prediction.id) >= first_id, col(Prediction.id) <= last_id, same_batch]


def positive_condition(
    *, task_type: str, n_classes: int, threshold: float | None, score: Any = None
) -> ColumnElement[bool]:
    """When a stored row counts as predicted positive.

    With a threshold (two classes, or regression) it is exactly ``score >= threshold`` (``score``:
    the column to compare, ``Prediction.score`` by default, ``PredictionRank.score`` for ranked
    reads, where the condition is answered from the rank's key); otherwise the stored flag.
    """
    if threshold is not None and (task_type == "regression" or n_classes == 2):
        return (col(Prediction.score) if score is None else score) >= threshold
    return col(Prediction.positive).is_(True)


def _bucket_sql(low: float, high: float, bins: int, dialect: str) -> ColumnElement[Any]:
    if high <= low:
        return func.abs(0)
    raw = (col(Prediction.score) - low) * bins / (high - low)
    if dialect == "sqlite":
        # SQLite's CAST truncates, which is floor for the non-negative values here.
        return func.min(func.max(cast(raw, Integer), 0), bins - 1)
    return func.least(func.greatest(cast(func.floor(raw), Integer), 0), bins - 1)


def summarise_rows(
    conn: Connection,
    *,
    conditions: Sequence[ColumnElement[bool]],
    low: float,
    high: float,
    bins: int = HISTOGRAM_BINS,
    positive: ColumnElement[bool] | None = None,
    binary_labels: tuple[str, str] | None = None,
    count_labels: bool = False,
    segments: Mapping[str, Any] | None = None,
) -> BatchSummary:
    """Count, positives, mean, range, histogram (and label counts, segment breakdowns) of the rows
    matching ``conditions``, in one pass: ``GROUP BY`` the histogram bucket (the label, the segment
    columns), reduced here.

    Parameters
    ----------
    conn : Connection
    conditions : sequence
        Which rows (see :func:`scan_conditions`), plus any filters; callers check the batch may be read.
    low, high : float
        Histogram range, split evenly into ``bins``; scores outside fall in the first or last bin.
    positive : condition, optional
        When a row counts as positive (:func:`positive_condition`); None: no positive notion.
    binary_labels : (str, str), optional
        Two-class batches: the positive and the negative label, counted from the positives.
    count_labels : bool
        Count predicted labels in the same pass (several classes).
    segments : mapping of str to column, optional
        Segment name -> its ``seg`` column: the result's ``segments`` holds each one's breakdown
        (keep the product of their numbers of values small: every combination is a group).
    """
    score = col(Prediction.score)
    bucket = _bucket_sql(low, high, bins, conn.dialect.name).label("bucket")
    flag = func.sum(case((positive, 1), else_=0)) if positive is not None else func.sum(0)
    columns: list[Any] = [bucket, func.count(), flag, func.sum(score), func.min(score), func.max(score)]
    groups: list[Any] = [bucket]
    if count_labels:
        columns.append(col(Prediction.label))
        groups.append(col(Prediction.label))
    names = list(segments or {})
    columns += [(segments or {})[name] for name in names]
    groups += [(segments or {})[name] for name in names]
    stmt = select(*columns).where(*conditions).group_by(*groups)
    first_segment = 7 if count_labels else 6
    breakdowns: dict[str, dict[str | None, list[float]]] = {name: {} for name in names}
    counts = [0] * (bins if high > low else 1)
    n = n_positive = 0
    total = 0.0
    lowest, highest = math.inf, -math.inf
    labels: Counter[str] = Counter()
    for row in conn.execute(stmt).all():
        index, count, pos, sum_score, row_low, row_high = row[:6]
        counts[int(index)] += int(count)
        n += int(count)
        n_positive += int(pos or 0)
        total += float(sum_score)
        lowest, highest = min(lowest, float(row_low)), max(highest, float(row_high))
        if count_labels:
            labels[str(row[6])] += int(count)
        for i, name in enumerate(names):
            entry = breakdowns[name].setdefault(row[first_segment + i], [0.0, 0.0, 0.0])
            entry[0] += int(count)
            entry[1] += int(pos or 0)
            entry[2] += float(sum_score)
    if binary_labels is not None and n:
        labels = Counter({binary_labels[0]: n_positive, binary_labels[1]: n - n_positive})
    has_positive = positive is not None
    return BatchSummary(
        n_rows=n,
        n_positive=n_positive if has_positive else None,
        share_positive=n_positive / n if has_positive and n else None,
        mean_score=total / n if n else None,
        min_score=lowest if n else None,
        max_score=highest if n else None,
        histogram=_histogram(low, high, bins, counts) if n else (),
        label_counts=tuple(sorted(((k, v) for k, v in labels.items() if v), key=lambda kv: (-kv[1], kv[0]))),
        segments={name: _segment_rows(breakdowns[name], has_positive) for name in names},
    )


# ----------------------------------------------------------------------------- writing


_DETAIL_COLUMNS = ("probabilities", "reasons", "row_values")


class _Writer:
    """Bulk inserts of prediction rows (and their details), one transaction per chunk.

    SQLite gets the DBAPI's ``executemany`` with positional tuples, its fastest path; JSON columns
    arrive as JSON text built by pandas. Other databases get SQLAlchemy Core inserts with lists of
    parameter sets and ``RETURNING`` ids. Each chunk's transaction also extends the batch's id range,
    so that whatever was written can always be found (and removed) by that range.
    """

    def __init__(self, engine: Engine, batch_id: int, columns: Sequence[str], details: Sequence[str]) -> None:
        self.engine = engine
        self.batch_id = batch_id
        self.columns = ["batch_id", *columns]
        self.details = list(details)
        self.table = Prediction.__table__  # type: ignore[attr-defined]
        self.detail_table = PredictionDetail.__table__  # type: ignore[attr-defined]
        self.raw = engine.dialect.name == "sqlite"
        self.first_id: int | None = None
        self.last_id: int | None = None
        if self.raw:
            self.sql = self._compile(self.table, self.columns)
            self.detail_sql = self._compile(self.detail_table, ["prediction_id", "batch_id", *self.details])

    def _compile(self, table: Any, columns: list[str]) -> str:
        compiled = insert(table).compile(dialect=self.engine.dialect, column_keys=columns)
        assert list(compiled.positiontup or []) == columns
        return str(compiled)

    def write(self, values: Sequence[Sequence[Any]], details: Sequence[Sequence[str | None]]) -> None:
        n = len(values[0])
        batch = [self.batch_id] * n
        with self.engine.begin() as conn:
            if self.raw:
                conn.exec_driver_sql(self.sql, list(zip(batch, *values, strict=True)))
                # The write lock is held since the insert, and SQLite gives a new row the largest id
                # plus one: the chunk's rows took the n ids below the largest, in order. Both ends are
                # checked, since the batch's id range relies on it.
                last = int(conn.execute(select(func.max(col(Prediction.id)))).scalar_one() or 0)
                first = last - n + 1
                ends = select(func.count()).where(
                    col(Prediction.id).in_({first, last}), col(Prediction.batch_id) == self.batch_id
                )
                if int(conn.execute(ends).scalar_one()) != len({first, last}):
                    raise RuntimeError("prediction ids of a chunk are not consecutive")
                ids: Sequence[int] = range(first, last + 1)
                if self.details:
                    detail_rows = list(zip(ids, batch, *details, strict=True))
                    conn.exec_driver_sql(self.detail_sql, detail_rows)
            else:
                rows = [dict(zip(self.columns, row, strict=True)) for row in zip(batch, *values, strict=True)]
                returning = insert(self.table).returning(self.table.c.id, sort_by_parameter_order=True)
                ids = [int(i) for i in conn.execute(returning, rows).scalars().all()]
                first, last = min(ids), max(ids)
                if self.details:
                    decoded = [[None if v is None else json.loads(v) for v in column] for column in details]
                    conn.execute(
                        insert(self.detail_table),
                        [
                            {"prediction_id": i, "batch_id": self.batch_id, **dict(zip(self.details, row, strict=True))}
                            for i, *row in zip(ids, *decoded, strict=True)
                        ],
                    )
            self.first_id = first if self.first_id is None else min(self.first_id, first)
            self.last_id = last if self.last_id is None else max(self.last_id, last)
            conn.execute(
                update(PredictionBatch)
                .where(col(PredictionBatch.id) == self.batch_id)
                .values(first_id=self.first_id, last_id=self.last_id)
            )


def _id_range(engine: Engine, batch_id: int) -> tuple[int | None, int | None]:
    with engine.connect() as conn:
        found = conn.execute(
            select(col(PredictionBatch.first_id), col(PredictionBatch.last_id)).where(
                col(PredictionBatch.id) == batch_id
            )
        ).first()
    return (None, None) if found is None else (found[0], found[1])


def _delete_rows(engine: Engine, batch_id: int) -> None:
    """Remove a batch's rank, details and predictions, by id range, so no transaction holds the lock for long."""
    with engine.begin() as conn:
        conn.execute(delete(PredictionRank).where(col(PredictionRank.batch_id) == batch_id))
    low, high = _id_range(engine, batch_id)
    if low is None or high is None:
        return
    for start in range(int(low), int(high) + 1, _DELETE_STEP):
        end = min(start + _DELETE_STEP - 1, int(high))
        with engine.begin() as conn:
            conn.execute(
                delete(PredictionDetail).where(
                    col(PredictionDetail.prediction_id) >= start,
                    col(PredictionDetail.prediction_id) <= end,
                    col(PredictionDetail.batch_id) == batch_id,
                )
            )
            conn.execute(delete(Prediction).where(*scan_conditions(batch_id, start, end)))


def _delete_batches(engine: Engine, batch_ids: Iterable[int]) -> None:
    """Remove batches: their rows first, then the batch row."""
    for batch_id in batch_ids:
        _delete_rows(engine, batch_id)
        with engine.begin() as conn:
            conn.execute(delete(PredictionBatch).where(col(PredictionBatch.id) == batch_id))


def _rank(engine: Engine, batch_id: int, first_id: int, last_id: int, totals: _Totals) -> None:
    """Write the batch's rows into :class:`PredictionRank` in score order.

    One sorted ``INSERT ... SELECT`` per slice of scores (about :data:`RANK_SLICE_ROWS` rows each, cut
    at histogram bins), in ascending order, so every row is appended at the end of the rank's key and
    no transaction holds the write lock for long.
    """
    conditions = scan_conditions(batch_id, first_id, last_id)
    score = col(Prediction.score)
    edges = np.linspace(totals.low, totals.high, HISTOGRAM_BINS + 1)
    counts = totals.counts.tolist() if totals.scorer.score_kind == "probability" else None
    if counts is not None:
        edges = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)
    cuts: list[float] = []
    if totals.n > RANK_SLICE_ROWS and counts is not None:
        running = 0
        for i, count in enumerate(counts[:-1]):
            running += count
            if running >= RANK_SLICE_ROWS:
                cuts.append(float(edges[i + 1]))
                running = 0
    elif totals.n > RANK_SLICE_ROWS and totals.high > totals.low:
        step = max(1, HISTOGRAM_BINS * RANK_SLICE_ROWS // totals.n)
        cuts = [float(edges[i]) for i in range(step, HISTOGRAM_BINS, step)]
    bounds = [None, *cuts, None]
    for low, high in itertools.pairwise(bounds):
        where = list(conditions)
        if low is not None:
            where.append(score >= low)
        if high is not None:
            where.append(score < high)
        rows = (
            select(col(Prediction.batch_id), score, col(Prediction.id))
            .where(*where)
            .order_by(score, col(Prediction.id))
        )
        with engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # sort in memory (a slice holds about RANK_SLICE_ROWS keys), not in temporary files
                conn.exec_driver_sql("PRAGMA temp_store = MEMORY")
            try:
                conn.execute(insert(PredictionRank).from_select(["batch_id", "score", "prediction_id"], rows))
            finally:
                if sqlite:
                    conn.exec_driver_sql("PRAGMA temp_store = DEFAULT")


def _leftovers(engine: Engine, project_id: int, batch_key: str) -> list[int]:
    with engine.connect() as conn:
        return [
            int(i)
            for i in conn.execute(
                select(PredictionBatch.id).where(  # type: ignore[call-overload]
                    col(PredictionBatch.project_id) == project_id,
                    col(PredictionBatch.batch_key) == batch_key,
                    col(PredictionBatch.status).in_(("writing", "replaced", "failed")),
                )
            ).scalars()
        ]


def _fail(engine: Engine, batch_id: int, error_key: str) -> None:
    """Best effort after an error: drop the rows written so far, keep the batch as ``failed``."""
    try:
        _delete_rows(engine, batch_id)
        with engine.begin() as conn:
            conn.execute(
                update(PredictionBatch)
                .where(col(PredictionBatch.id) == batch_id, col(PredictionBatch.status) == "writing")
                .values(status="failed", error_key=error_key[:200], n_rows=0, completed_at=utcnow())
            )
    except Exception:  # the next run with this key removes what is left; the original error matters more
        log.warning("could not clean up prediction batch %s", batch_id, exc_info=True)


def _check_duplicates_across_chunks(engine: Engine, writer: _Writer, hashes: list[npt.NDArray[np.int64]]) -> None:
    if len(hashes) < 2:
        return
    everything = np.sort(np.concatenate(hashes))
    if not bool((everything[1:] == everything[:-1]).any()):
        return
    # Equal hashes: confirm on the stored keys themselves (a 64-bit collision is possible, if unlikely).
    with engine.connect() as conn:
        repeated = list(
            conn.execute(
                select(Prediction.row_key)  # type: ignore[call-overload]
                .where(*scan_conditions(writer.batch_id, writer.first_id, writer.last_id))
                .group_by(col(Prediction.row_key))
                .having(func.count() > 1)
                .limit(_EXAMPLES)
            ).scalars()
        )
    if repeated:
        raise InputError("deploy.duplicate_keys", column="", examples=_names(repeated))


def _validate_options(
    key_column: object, segment_columns: Sequence[str], shown_columns: Sequence[str], chunk_rows: int | None
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    if not isinstance(key_column, str) or not key_column:
        raise InputError("deploy.key_column_missing", column=str(key_column)[:80])
    if isinstance(segment_columns, str) or isinstance(shown_columns, str):
        raise InputError("deploy.bad_columns_option")
    segments = tuple(str(c) for c in segment_columns)
    if len(segments) > MAX_SEGMENTS:
        raise InputError("deploy.too_many_segments", maximum=MAX_SEGMENTS, count=len(segments))
    if len(set(segments)) != len(segments):
        raise InputError("deploy.duplicate_segments", columns=_names(segments))
    shown = tuple(dict.fromkeys(str(c) for c in shown_columns))
    if len(shown) > MAX_SHOWN_COLUMNS:
        raise InputError("deploy.too_many_shown", maximum=MAX_SHOWN_COLUMNS, count=len(shown))
    if chunk_rows is not None and (isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1):
        raise InputError("deploy.bad_chunk_rows", value=str(chunk_rows)[:20])
    return key_column, segments, shown


def score_batch(
    data: Frameish | Iterable[Frameish],
    *,
    engine: Engine,
    pipeline: Any,
    project_id: int,
    actor_id: int,
    model_version_id: int,
    batch_key: str,
    key_column: str,
    threshold: float | None = None,
    positive_class: Any = None,
    segment_columns: Sequence[str] = (),
    shown_columns: Sequence[str] = (),
    reasons: ReasonsInput | None = None,
    roles: Mapping[str, str] | None = None,
    source: Mapping[str, Any] | None = None,
    total_rows: int | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    chunk_rows: int | None = None,
) -> BatchResult:
    """Score rows with a fitted pipeline and write the predictions to the database as one batch.

    Parameters
    ----------
    data : DataFrame, Arrow table, or iterable of them
        The rows; an iterable (for example :func:`parquet_chunks`) is consumed chunk by chunk, so the
        input never has to fit in memory at once.
    engine : Engine
    pipeline : fitted scikit-learn pipeline
        Classifier (``predict_proba``, or ``decision_function`` for models without probabilities) or regressor.
    project_id, actor_id : int
        The project the batch belongs to, and who runs it (needs the ``predict.batch`` permission).
    model_version_id : int
        The registry's model version (stored as a plain integer).
    batch_key : str
        Identifies "the same batch": a completed batch with this key in the project is replaced.
        A name such as ``"scores-2026-11-27"`` or :func:`batch_key_for` the source and model.
    key_column : str
        The column identifying each row (a customer id); stored as text, unique within the batch.
    threshold : float, optional
        Two classes: the positive-class probability (default 0.5; decision value 0 for models without
        probabilities) from which a row is predicted positive. Regression: optional; scores at or above
        it count as positive. Not used with more than two classes.
    positive_class : optional
        Two classes: the class whose probability is the score (default: 1 or True when a class is).
        More classes: optional; its probability becomes the score.
    segment_columns : sequence of str, at most :data:`MAX_SEGMENTS`
        Columns kept as text (``seg1`` ..) so dashboards can filter and group by them.
    shown_columns : sequence of str, at most :data:`MAX_SHOWN_COLUMNS`
        Columns whose values are kept with each prediction for the one-row drill-down.
    reasons : DataFrame or callable, optional
        Top reasons per row (for example from SHAP): a long frame with ``row_key``, ``feature``,
        ``value``, ``contribution`` (the three largest ``|contribution|`` per key are kept), or a
        function called with each input chunk that returns such a frame for the chunk's rows (the
        explanation step computing SHAP values chunk by chunk). Rows without reasons keep none.
    roles : mapping, optional
        Column -> role of the training run; helps check types when the pipeline cannot tell.
    source : mapping, optional
        Where the rows came from (kind, file name, dataset version, URL and query…); stored with
        passwords masked (:func:`masked_source`).
    total_rows : int, optional
        Rows expected from an iterable input, for progress fractions.
    progress : callable, optional
        ``progress(fraction, key, **params)`` after each chunk (a job's ``ctx.progress``).
    should_stop : callable, optional
        Checked before each chunk; True cancels the run (:class:`ScoringCancelled`).
    chunk_rows : int, optional
        Rows predicted and inserted at a time (smaller incoming pieces are gathered); default
        :func:`auto_chunk_rows` of the number of features (500,000 rows for 20 features).

    Returns
    -------
    BatchResult

    Raises
    ------
    InputError
        A feature column is missing (``deploy.missing_features`` names them), a value cannot be
        read as the number or date the model needs (``deploy.not_numeric``, ``deploy.not_dates``,
        ``deploy.wrong_type_dates``), no rows (``deploy.empty_input``), missing, too long or repeated
        row keys (``deploy.key_missing``, ``deploy.key_too_long``, ``deploy.duplicate_keys``), bad options
        (threshold, positive class, segments) or the model failing on the rows (``deploy.predict_failed``).
        Nothing becomes visible and the rows written so far are removed.
    ScoringCancelled
        ``should_stop()`` returned True.
    NotFound, PermissionDenied
        Unknown project or user; the user may not run batch predictions in the project.
    ConflictError
        Another run with the same key removed this one while it was writing.
    """
    started = time.perf_counter()
    key_column, segments, shown = _validate_options(key_column, segment_columns, shown_columns, chunk_rows)
    batch_key = _check_batch_key(batch_key)
    if isinstance(model_version_id, bool) or not isinstance(model_version_id, int | np.integer):
        raise InputError("deploy.bad_model_version", value=str(model_version_id)[:40])
    features = model_features(pipeline, roles=roles)
    if chunk_rows is None:
        chunk_rows = auto_chunk_rows(len(features))
    scorer = _make_scorer(pipeline, positive_class, threshold)
    wide = _wide_reasons(reasons) if isinstance(reasons, pd.DataFrame) else None
    if reasons is not None and wide is None and not callable(reasons):
        raise InputError("deploy.bad_reasons")
    checks = _Checks(features=features, key_column=key_column, segments=segments, shown=shown)

    details: list[str] = []
    if scorer.task_type == "classification" and len(scorer.classes) > 2 and scorer.score_kind == "probability":
        details.append("probabilities")
    if reasons is not None:
        details.append("reasons")
    if shown:
        details.append("row_values")
    with session_scope(engine) as session:
        user = session.get(User, actor_id)
        actor = require(session=session, user=user, action="predict.batch", project_id=project_id)
        project = session.get(Project, project_id)
        if project is None or project.archived:
            raise NotFound("errors.project_not_found", name=str(project_id))
    cleaned = _leftovers(engine, project_id, batch_key)
    _delete_batches(engine, cleaned)
    with session_scope(engine) as session:
        batch = PredictionBatch(
            project_id=project_id,
            model_version_id=int(model_version_id),
            batch_key=batch_key,
            task_type=scorer.task_type,
            score_kind=scorer.score_kind,
            source=masked_source(source or {}),
            status="writing",
            threshold=scorer.threshold,
            positive_class=scorer.positive_class,
            classes=list(scorer.classes),
            segment_columns=list(segments),
            shown_columns=list(shown),
            detail_columns=details,
            created_by_id=actor.id or 0,
        )
        session.add(batch)
        session.flush()
        batch_id = batch.id or 0

    columns = ["row_key", "score"]
    if scorer.task_type == "classification":
        columns.append("label")
    if scorer.has_positive:
        columns.append("positive")
    columns += [f"seg{i + 1}" for i in range(len(segments))]
    writer = _Writer(engine, batch_id, columns, details)
    class_names = np.asarray(scorer.classes, dtype=object)
    totals = _Totals(scorer, segments)
    hashes: list[npt.NDArray[np.int64]] = []
    report = progress or (lambda fraction, key, **params: None)
    expected = (
        total_rows
        if total_rows is not None
        else (data.num_rows if isinstance(data, pa.Table) else len(data) if isinstance(data, pd.DataFrame) else None)
    )
    try:
        for frame in _frames(data, chunk_rows):
            if should_stop is not None and should_stop():
                raise ScoringCancelled("deploy.cancelled")
            if len(frame) == 0:
                continue
            if not all(isinstance(c, str) for c in frame.columns):
                frame = frame.rename(columns=str)
            _check_columns(frame, checks)
            keys, key_hashes = _row_keys(frame, key_column)
            X = _model_input(frame, checks)
            scored = scorer(pipeline, X)
            values: list[Sequence[Any]] = [keys.tolist(), scored.score.tolist()]
            if "label" in columns:
                assert scored.label is not None
                values.append(class_names[scored.label].tolist())
            if "positive" in columns:
                assert scored.positive is not None
                values.append(scored.positive.tolist())
            segment_values = [_text_values(frame[name], MAX_SEGMENT_LENGTH) for name in segments]
            values += segment_values
            extra: list[Sequence[str | None]] = []
            if "probabilities" in details:
                assert scored.probabilities is not None
                extra.append(scored.probabilities)
            if "reasons" in details:
                chunk_wide = wide if wide is not None else _wide_reasons(typing.cast(Any, reasons)(frame))
                extra.append(_reasons_json(chunk_wide, keys))
            if "row_values" in details:
                extra.append(_shown_json(frame, shown))
            writer.write(values, extra)
            totals.add(scored, segment_values)
            hashes.append(key_hashes)
            fraction = min(0.95, totals.n / expected) if expected else 0.0
            report(fraction, "deploy.progress.scored", rows=totals.n)
        if totals.n == 0:
            raise InputError("deploy.empty_input")
        _check_duplicates_across_chunks(engine, writer, hashes)
        report(0.97, "deploy.progress.finishing", rows=totals.n)
        assert writer.first_id is not None and writer.last_id is not None
        _rank(engine, batch_id, writer.first_id, writer.last_id, totals)
        summary = _finish(engine, writer, scorer, totals, checks.report(), actor, project_id, batch_key)
    except BaseException as exc:
        _fail(engine, batch_id, exc.key if isinstance(exc, MLCoreError) else type(exc).__name__)
        raise
    replaced = summary[1]
    _delete_batches(engine, replaced)
    return BatchResult(
        batch_id=batch_id,
        batch_key=batch_key,
        n_rows=totals.n,
        summary=summary[0],
        report=checks.report(),
        replaced_batch_ids=tuple(replaced),
        cleaned_batch_ids=tuple(cleaned),
        seconds=time.perf_counter() - started,
    )


def _finish(
    engine: Engine,
    writer: _Writer,
    scorer: _Scorer,
    totals: _Totals,
    report: InputReport,
    actor: User,
    project_id: int,
    batch_key: str,
) -> tuple[BatchSummary, list[int]]:
    """Make the batch visible: in one transaction the old complete batch is retired and this one completed."""
    batch_id, first_id, last_id = writer.batch_id, writer.first_id, writer.last_id
    with engine.connect() as conn:
        if scorer.score_kind == "probability":
            histogram = totals.probability_histogram()
        else:
            histogram = summarise_rows(
                conn, conditions=scan_conditions(batch_id, first_id, last_id), low=totals.low, high=totals.high
            ).histogram
    summary = totals.summary(histogram)
    with session_scope(engine) as session:
        replaced = [
            int(i)
            for i in session.execute(
                select(PredictionBatch.id).where(  # type: ignore[call-overload]
                    col(PredictionBatch.project_id) == project_id,
                    col(PredictionBatch.batch_key) == batch_key,
                    col(PredictionBatch.status) == "complete",
                )
            ).scalars()
        ]
        if replaced:
            session.execute(
                update(PredictionBatch).where(col(PredictionBatch.id).in_(replaced)).values(status="replaced")
            )
        done = session.execute(
            update(PredictionBatch)
            .where(col(PredictionBatch.id) == batch_id, col(PredictionBatch.status) == "writing")
            .values(
                status="complete",
                n_rows=totals.n,
                summary=summary.to_json(),
                report=report.to_json(),
                completed_at=utcnow(),
            )
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            raise ConflictError("deploy.batch_conflict", batch_key=batch_key[:80])
        record_event(
            session=session,
            actor=actor,
            action="predict.batch",
            object_type="prediction_batch",
            object_id=batch_id,
            project_id=project_id,
            after={
                "batch_key": batch_key,
                "rows": totals.n,
                "share_positive": summary.share_positive,
                "replaced": ",".join(map(str, replaced)),
            },
        )
    return summary, replaced
