"""Data-quality checks for one dataset version: each finding says what was found, where (row
positions), why it matters and what to do, through catalog keys the page translates.

Statuses: ``fail`` marks what will break or mislead a model if left alone (target leakage, a
column mostly missing, severe imbalance, test rows seen in training), ``warn`` what deserves a
look and usually a step in Preparation, ``pass`` a check that found nothing. A check that cannot
apply (no target chosen, no date column, no second version) returns one ``pass`` finding with
``applicable=False`` and a key saying why, so the page can list every check either way.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mlcore.data.profiling import (
    RELATION_MAX_ROWS,
    _as_float,
    _check_column,
    _check_frame,
    _check_task,
    _hashable,
    _resolve_roles,
    _short,
    _value_counts,
    as_datetime,
    target_relation_strength,
)
from mlcore.errors import InputError

__all__ = [
    "CHECKS",
    "MAX_ROWS_LISTED",
    "STATUSES",
    "Finding",
    "QualityReport",
    "QualityThresholds",
    "run_checks",
]

CHECKS = (
    "missing_values",
    "constant_columns",
    "duplicate_rows",
    "duplicate_identifiers",
    "mixed_types",
    "outliers",
    "identifier_like",
    "high_cardinality",
    "target_leakage",
    "class_imbalance",
    "rare_classes",
    "conflicting_labels",
    "train_test_overlap",
    "date_gaps",
    "future_dates",
)
"""Check ids in the order they run; each has ``quality.check.<id>.title`` and ``.why`` in the catalogs."""

STATUSES = ("pass", "warn", "fail")
MAX_ROWS_LISTED = 1_000
"""Row positions kept per finding; ``Finding.n_rows`` has the full count."""

_FORMAT = "ciclo.quality/1"
_MIN_DISTINCT_FOR_OUTLIERS = 10  # fewer distinct values: codes or counts, not measurements
_MIN_DISTINCT_HIGH_CARDINALITY = 20
_MIN_ROWS_IDENTIFIER = 20
_MAX_PERIODS = 1_000_000
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")
_ID_NAME = re.compile(r"(^|[_\s.\-])(id|uuid|guid|key|code|codigo|código|rut|dni|sku)$|^(id|uuid)([_\s.\-]|$)", re.I)
_ID_CAMEL = re.compile(r"[a-z](Id|ID)$")
_METRIC_NAMES = {"auc": "AUC", "auc_ovr": "AUC", "r2": "R²"}

_Ints = npt.NDArray[np.int64]


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class QualityThresholds:
    """The limits the checks apply; a project keeps its own copy in its settings.

    Shares are fractions in [0, 1]. "Above" means strictly greater.

    Attributes
    ----------
    missing_warn_share : float, default 0.0
        Warn when a column's share of missing values is above this (0: any missing value).
    missing_fail_share : float, default 0.5
        Fail at or above this share (and for a column with no value at all).
    quasi_constant_share : float, default 0.99
        Warn when one value fills at least this share of a column's non-missing rows.
    duplicate_fail_share : float, default 0.05
        Duplicate rows warn; above this share of rows they fail.
    outlier_warn_share : float, default 0.0
        Warn when the share of a numeric column's values flagged as outliers is above this.
        A value is flagged when both methods below agree, which keeps well-behaved columns
        (a normal distribution, say) quiet while typos, unit mix-ups and placeholders stand out.
    iqr_multiplier : float, default 3.0
        Tukey's fences ``[Q1 - k·IQR, Q3 + k·IQR]``; 3 is his "far out" (1.5 flags about 0.7%
        of any normal sample).
    robust_z : float, default 3.5
        Robust z-score limit (``0.6745·(x - median) / MAD``, Iglewicz and Hoaglin).
    high_cardinality_share : float, default 0.5
        Warn when a categorical column has distinct values for at least this share of rows...
    high_cardinality_count : int, default 1000
        ...or at least this many distinct values.
    identifier_share : float, default 0.95
        A text or whole-number column not marked as an identifier, with distinct values in at
        least this share of rows, is reported as looking like one.
    leakage_score : float, default 0.95
        Fail when one feature alone reaches this cross-validated AUC (classification) or R²
        (regression); see :func:`mlcore.data.profiling.target_relation_strength`.
    imbalance_warn_share : float, default 0.25
        Warn when the smallest class is below this share of (smallest + largest class); for
        two classes that is its share of the labelled rows.
    imbalance_fail_share : float, default 0.02
        Fail below this share.
    rare_class_count : int, default 10
        Warn for each class with fewer rows than this.
    conflict_fail_share : float, default 0.01
        Rows with identical features and different labels warn; above this share they fail.
    overlap_fail_share : float, default 0.01
        Rows also present in the other version warn; above this share of rows they fail.
    date_gap_share : float, default 0.0
        Warn when the share of empty periods in a date column's range is above this.

    Raises
    ------
    InputError
        ``quality.bad_threshold`` for a value of the wrong type or out of range,
        ``quality.threshold_order`` when a warning limit is stricter than its failure limit.

    Examples
    --------
    >>> QualityThresholds(missing_fail_share=0.3).missing_fail_share
    0.3
    >>> QualityThresholds(missing_fail_share=1.5)
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: ...
    """

    missing_warn_share: float = 0.0
    missing_fail_share: float = 0.5
    quasi_constant_share: float = 0.99
    duplicate_fail_share: float = 0.05
    outlier_warn_share: float = 0.0
    iqr_multiplier: float = 3.0
    robust_z: float = 3.5
    high_cardinality_share: float = 0.5
    high_cardinality_count: int = 1000
    identifier_share: float = 0.95
    leakage_score: float = 0.95
    imbalance_warn_share: float = 0.25
    imbalance_fail_share: float = 0.02
    rare_class_count: int = 10
    conflict_fail_share: float = 0.01
    overlap_fail_share: float = 0.01
    date_gap_share: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if ok and f.name.endswith("_count"):
                ok = isinstance(value, int) or float(value).is_integer()
                if ok:
                    object.__setattr__(self, f.name, int(value))
                    ok = value >= (1 if f.name == "high_cardinality_count" else 0)
            elif ok and f.name.endswith(("_share", "_score")):
                ok = 0.0 <= value <= 1.0
            elif ok:
                ok = value > 0
            if not ok:
                raise InputError("quality.bad_threshold", name=f.name, value=_short(value))
        for low, high in (
            ("missing_warn_share", "missing_fail_share"),
            ("imbalance_fail_share", "imbalance_warn_share"),
        ):
            if getattr(self, low) > getattr(self, high):
                raise InputError("quality.threshold_order", low=low, high=high)

    def to_dict(self) -> dict[str, float | int]:
        """The thresholds as a plain dictionary (for project settings and JSON)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> QualityThresholds:
        """Build from a (possibly partial) dictionary; missing entries keep their defaults.

        Raises
        ------
        InputError
            ``quality.unknown_threshold`` for a name that is not a threshold, and the
            validation errors of the class.

        Examples
        --------
        >>> QualityThresholds.from_dict({"leakage_score": 0.9}).leakage_score
        0.9
        """
        names = {f.name for f in fields(cls)}
        for name in values:
            if name not in names:
                raise InputError("quality.unknown_threshold", name=_short(name))
        return cls(**dict(values))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Finding:
    """One result of one check.

    Attributes
    ----------
    check : str
        One of ``CHECKS``.
    status : {"pass", "warn", "fail"}
    key : str
        Catalog key of the explanation (what was found, why it matters, what to do);
        ``params`` fill in its placeholders.
    params : dict
        JSON-safe values (numbers, text, booleans).
    columns : tuple of str
        Columns concerned (empty for a whole-frame finding).
    rows : tuple of int
        Positions (``df.iloc``) of the rows concerned, at most ``MAX_ROWS_LISTED``.
    n_rows : int
        How many rows are concerned in all.
    applicable : bool
        ``False`` when the check could not apply (the finding is then a ``pass``).
    """

    check: str
    status: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    columns: tuple[str, ...] = ()
    rows: tuple[int, ...] = ()
    n_rows: int = 0
    applicable: bool = True

    @property
    def finding_id(self) -> str:
        """A stable identity (check, variant and columns), at most 100 characters, for acknowledgements."""
        variant = self.key.rsplit(".", 1)[-1]
        extra = str(self.params.get("value", "")) if self.check == "rare_classes" else ""
        text = f"{self.check}.{variant}:" + "\x1f".join([*self.columns, extra])
        if len(text) <= 100:
            return text
        return f"{self.check}.{variant}:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class QualityReport:
    """All findings of one run of :func:`run_checks`, in ``CHECKS`` order.

    Attributes
    ----------
    findings : tuple of Finding
    n_rows, n_cols : int
        Shape of the checked frame.
    target : str or None
    task_type : str
    thresholds : QualityThresholds
    today : str
        The ISO date future dates were judged against.
    """

    findings: tuple[Finding, ...]
    n_rows: int
    n_cols: int
    target: str | None
    task_type: str
    thresholds: QualityThresholds
    today: str

    def summary(self) -> dict[str, int]:
        """Number of findings per status (keys ``pass``, ``warn``, ``fail``)."""
        counts = dict.fromkeys(STATUSES, 0)
        for finding in self.findings:
            counts[finding.status] += 1
        return counts

    def status_by_check(self) -> dict[str, str]:
        """The worst status of each check that ran."""
        worst: dict[str, str] = {}
        for finding in self.findings:
            current = worst.get(finding.check, "pass")
            worst[finding.check] = max(current, finding.status, key=STATUSES.index)
        return worst

    @property
    def status(self) -> str:
        """The worst status over all findings."""
        return max((f.status for f in self.findings), key=STATUSES.index, default="pass")

    def for_check(self, check: str) -> tuple[Finding, ...]:
        """The findings of one check."""
        return tuple(f for f in self.findings if f.check == check)

    def to_json(self) -> str:
        """Serialise to JSON (UTF-8 text), to store next to the dataset version."""
        payload = {
            "format": _FORMAT,
            "n_rows": self.n_rows,
            "n_cols": self.n_cols,
            "target": self.target,
            "task_type": self.task_type,
            "today": self.today,
            "thresholds": self.thresholds.to_dict(),
            "findings": [
                {
                    "check": f.check,
                    "status": f.status,
                    "key": f.key,
                    "params": dict(f.params),
                    "columns": list(f.columns),
                    "rows": list(f.rows),
                    "n_rows": f.n_rows,
                    "applicable": f.applicable,
                }
                for f in self.findings
            ],
        }
        return json.dumps(payload, ensure_ascii=False, allow_nan=False)

    @classmethod
    def from_json(cls, text: str) -> QualityReport:
        """Rebuild a report from :meth:`to_json` output.

        Raises
        ------
        InputError
            ``quality.bad_report`` if ``text`` is not such a report.
        """
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
                raise ValueError("not a Ciclo quality report")
            findings = []
            for item in raw["findings"]:
                if item["check"] not in CHECKS or item["status"] not in STATUSES:
                    raise ValueError(f"unknown check or status: {item['check']!r} {item['status']!r}")
                findings.append(
                    Finding(
                        check=str(item["check"]),
                        status=str(item["status"]),
                        key=str(item["key"]),
                        params=dict(item["params"]),
                        columns=tuple(str(c) for c in item["columns"]),
                        rows=tuple(int(r) for r in item["rows"]),
                        n_rows=int(item["n_rows"]),
                        applicable=bool(item["applicable"]),
                    )
                )
            return cls(
                findings=tuple(findings),
                n_rows=int(raw["n_rows"]),
                n_cols=int(raw["n_cols"]),
                target=None if raw["target"] is None else str(raw["target"]),
                task_type=str(raw["task_type"]),
                thresholds=QualityThresholds.from_dict(raw["thresholds"]),
                today=str(raw["today"]),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError("quality.bad_report", detail=_short(exc, 200)) from exc


def _plain(value: Any) -> Any:
    """A JSON-safe copy of a parameter value (NaN and infinities become ``None``)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return _short(value, 200)


def _finding(
    check: str,
    status: str,
    key: str,
    *,
    columns: Sequence[str] = (),
    rows: npt.ArrayLike | None = None,
    applicable: bool = True,
    **params: Any,
) -> Finding:
    positions = np.asarray(rows if rows is not None else [], dtype=np.int64)
    return Finding(
        check=check,
        status=status,
        key=key,
        params={name: _plain(value) for name, value in params.items()},
        columns=tuple(columns),
        rows=tuple(int(r) for r in positions[:MAX_ROWS_LISTED]),
        n_rows=len(positions),
        applicable=applicable,
    )


def _not_applicable(check: str, reason: str, **params: Any) -> list[Finding]:
    return [_finding(check, "pass", f"quality.{check}.{reason}", applicable=False, **params)]


def _passed(check: str, **params: Any) -> list[Finding]:
    return [_finding(check, "pass", f"quality.{check}.pass", **params)]


# --------------------------------------------------------------------------- the run


@dataclass
class _Column:
    name: str
    role: str
    values: pd.Series  # hashable
    missing: npt.NDArray[np.bool_]
    counts: pd.Series  # value counts, most frequent first, without missing

    @property
    def n_present(self) -> int:
        return int(len(self.missing) - self.missing.sum())


@dataclass
class _Context:
    df: pd.DataFrame
    columns: dict[str, _Column]
    target: str | None
    task_type: str
    thresholds: QualityThresholds
    other: pd.DataFrame | None
    today: date
    random_state: int
    identifier_like: set[str] = field(default_factory=set)

    @property
    def n(self) -> int:
        return len(self.df)

    def features(self) -> list[str]:
        return [c for c, col in self.columns.items() if c != self.target and col.role != "identifier"]

    def with_role(self, *roles: str) -> list[_Column]:
        return [col for col in self.columns.values() if col.role in roles and col.name != self.target]


def run_checks(
    df: pd.DataFrame,
    *,
    roles: Mapping[str, str],
    target: str | None,
    task_type: str,
    thresholds: QualityThresholds = QualityThresholds(),  # noqa: B008 - frozen, so safe to share
    other: pd.DataFrame | None = None,
    today: date | None = None,
    random_state: int = 0,
    progress: Callable[[float, str], None] | None = None,
) -> QualityReport:
    """Run every data-quality check on a frame.

    Parameters
    ----------
    df : pandas.DataFrame
        Column names must be unique strings. Row positions in findings refer to ``df.iloc``.
    roles : mapping of str to str
        Column -> role (``mlcore.data.ingest.ROLES``); columns left out get a role from their
        dtype. Identifier columns are checked for duplicates and left out of the feature checks.
    target : str or None
        Without a target, the leakage, class and label checks do not apply.
    task_type : {"classification", "regression"}
    thresholds : QualityThresholds, optional
    other : pandas.DataFrame, optional
        Another version of the data (the test set when ``df`` is the training set, or the
        reverse): rows of ``df`` also found in it are reported.
    today : datetime.date, optional
        Dates after this day are "in the future"; defaults to today.
    random_state : int, default 0
        Seed of the row sample the leakage check scores (at most 20,000 rows).
    progress : callable, optional
        Called as ``progress(fraction, key)`` after each check, ``key`` being the check's
        title key.

    Returns
    -------
    QualityReport

    Raises
    ------
    InputError
        ``profiling.no_rows``, ``profiling.no_columns``, ``profiling.duplicate_column``,
        ``profiling.column_name_not_text``, ``profiling.unknown_column``,
        ``profiling.unknown_role``, ``profiling.unknown_target``, ``profiling.unknown_task``,
        ``quality.other_not_a_frame``.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, None], "y": [0, 1, 1, 0]})
    >>> report = run_checks(df, roles={"y": "categorical"}, target="y", task_type="classification")
    >>> report.status_by_check()["missing_values"], report.for_check("duplicate_rows")[0].status
    ('warn', 'pass')
    """
    _check_frame(df)
    _check_task(task_type)
    if target is not None:
        _check_column(df, target, key="profiling.unknown_target")
    if not isinstance(thresholds, QualityThresholds):
        raise InputError("quality.bad_thresholds")
    if other is not None and not isinstance(other, pd.DataFrame):
        raise InputError("quality.other_not_a_frame", type=type(other).__name__)
    if today is None:
        today = date.today()
    elif isinstance(today, datetime):
        today = today.date()
    all_roles = _resolve_roles(df, roles)
    columns: dict[str, _Column] = {}
    for name in df.columns:
        values = _hashable(df[name])
        columns[name] = _Column(
            name=name,
            role=all_roles[name],
            values=values,
            missing=values.isna().to_numpy(),
            counts=_value_counts(values),
        )
    ctx = _Context(
        df=df,
        columns=columns,
        target=target,
        task_type=task_type,
        thresholds=thresholds,
        other=other,
        today=today,
        random_state=random_state,
    )
    findings: list[Finding] = []
    for i, check in enumerate(CHECKS):
        findings.extend(_CHECK_FUNCTIONS[check](ctx))
        if progress is not None:
            progress((i + 1) / len(CHECKS), f"quality.check.{check}.title")
    return QualityReport(
        findings=tuple(findings),
        n_rows=len(df),
        n_cols=df.shape[1],
        target=target,
        task_type=task_type,
        thresholds=thresholds,
        today=today.isoformat(),
    )


# --------------------------------------------------------------------------- column checks


def _check_missing(ctx: _Context) -> list[Finding]:
    t = ctx.thresholds
    out: list[Finding] = []
    for col in ctx.columns.values():
        n_missing = int(col.missing.sum())
        share = n_missing / ctx.n
        if n_missing == 0 or share <= t.missing_warn_share:
            continue
        rows = np.flatnonzero(col.missing)
        if n_missing == ctx.n:
            key, status = "quality.missing_values.empty", "fail"
        elif share >= t.missing_fail_share:
            key, status = "quality.missing_values.fail", "fail"
        else:
            key, status = "quality.missing_values.warn", "warn"
        out.append(
            _finding(
                "missing_values",
                status,
                key,
                columns=[col.name],
                rows=rows,
                column=col.name,
                n_missing=n_missing,
                n_total=ctx.n,
                share=share,
                threshold=t.missing_fail_share,
            )
        )
    return out or _passed("missing_values", threshold=t.missing_warn_share)


def _check_constant(ctx: _Context) -> list[Finding]:
    t = ctx.thresholds
    out: list[Finding] = []
    for col in ctx.columns.values():
        if col.name == ctx.target or col.n_present < 2 or len(col.counts) == 0:
            continue
        top_value, top_count = col.counts.index[0], int(col.counts.iloc[0])
        if len(col.counts) == 1:
            out.append(
                _finding(
                    "constant_columns",
                    "warn",
                    "quality.constant_columns.constant",
                    columns=[col.name],
                    column=col.name,
                    value=_short(top_value, 60),
                )
            )
            continue
        share = top_count / col.n_present
        if share >= t.quasi_constant_share:
            rows = np.flatnonzero(~col.missing & (col.values != top_value).to_numpy())
            out.append(
                _finding(
                    "constant_columns",
                    "warn",
                    "quality.constant_columns.quasi_constant",
                    columns=[col.name],
                    rows=rows,
                    column=col.name,
                    value=_short(top_value, 60),
                    share=share,
                    n_other=col.n_present - top_count,
                )
            )
    return out or _passed("constant_columns", threshold=t.quasi_constant_share)


def _hashable_frame(ctx: _Context, names: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame({name: ctx.columns[name].values for name in names}, index=ctx.df.index)


def _check_duplicate_rows(ctx: _Context) -> list[Finding]:
    frame = _hashable_frame(ctx, list(ctx.columns))
    hashes = pd.util.hash_pandas_object(frame, index=False)
    copies = hashes.duplicated(keep="first").to_numpy()
    n_copies = int(copies.sum())
    if n_copies == 0:
        return _passed("duplicate_rows")
    n_originals = int((hashes.duplicated(keep=False).to_numpy() & ~copies).sum())
    share = n_copies / ctx.n
    status = "fail" if share > ctx.thresholds.duplicate_fail_share else "warn"
    return [
        _finding(
            "duplicate_rows",
            status,
            f"quality.duplicate_rows.{status}",
            rows=np.flatnonzero(copies),
            n_duplicates=n_copies,
            n_groups=n_originals,
            share=share,
            threshold=ctx.thresholds.duplicate_fail_share,
        )
    ]


def _check_duplicate_identifiers(ctx: _Context) -> list[Finding]:
    id_columns = ctx.with_role("identifier")
    if not id_columns:
        return _not_applicable("duplicate_identifiers", "no_identifier")
    out: list[Finding] = []
    for col in id_columns:
        repeats = col.values.duplicated(keep="first").to_numpy() & ~col.missing
        n_repeats = int(repeats.sum())
        if n_repeats:
            out.append(
                _finding(
                    "duplicate_identifiers",
                    "warn",
                    "quality.duplicate_identifiers.warn",
                    columns=[col.name],
                    rows=np.flatnonzero(repeats),
                    column=col.name,
                    n_duplicates=n_repeats,
                    n_values=int((col.counts > 1).sum()),
                )
            )
    return out or _passed("duplicate_identifiers", identifiers=", ".join(_short(c.name) for c in id_columns))


def _value_kind(value: Any) -> int:
    """0: other (blank, boolean, date…), 1: a number, 2: text that is not a number."""
    if isinstance(value, bool | np.bool_):
        return 0
    if isinstance(value, int | float | np.integer | np.floating):
        return 1
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return 0
        return 1 if _NUMBER.fullmatch(stripped) else 2
    return 0


def _check_mixed_types(ctx: _Context) -> list[Finding]:
    out: list[Finding] = []
    for col in ctx.columns.values():
        s = ctx.df[col.name]
        if col.role == "datetime" and not pd.api.types.is_datetime64_any_dtype(s.dtype):
            if pd.api.types.is_numeric_dtype(s.dtype) or col.n_present == 0:
                continue
            bad = ~col.missing & as_datetime(s).isna().to_numpy()
            if bad.any():
                rows = np.flatnonzero(bad)
                out.append(
                    _finding(
                        "mixed_types",
                        "warn",
                        "quality.mixed_types.bad_dates",
                        columns=[col.name],
                        rows=rows,
                        column=col.name,
                        n_bad=len(rows),
                        share=len(rows) / col.n_present,
                        example=_short(s.iloc[rows[0]], 60),
                    )
                )
            continue
        if col.role in ("text", "datetime") or s.dtype != object or len(col.counts) == 0:
            continue
        kinds = np.fromiter((_value_kind(v) for v in col.counts.index), dtype=np.int64, count=len(col.counts))
        freq = col.counts.to_numpy()
        n_numbers, n_text = int(freq[kinds == 1].sum()), int(freq[kinds == 2].sum())
        if not (n_numbers and n_text):
            continue
        minority = 1 if n_numbers < n_text else 2
        minority_values = col.counts.index[kinds == minority]
        rows = np.flatnonzero(col.values.isin(minority_values).to_numpy() & ~col.missing)
        key = "quality.mixed_types.numbers_in_text" if minority == 1 else "quality.mixed_types.text_in_numbers"
        out.append(
            _finding(
                "mixed_types",
                "warn",
                key,
                columns=[col.name],
                rows=rows,
                column=col.name,
                n_minority=len(rows),
                share=len(rows) / col.n_present,
                example=_short(minority_values[0], 60),
            )
        )
    return out or _passed("mixed_types")


def _check_outliers(ctx: _Context) -> list[Finding]:
    t = ctx.thresholds
    candidates = [
        col
        for col in ctx.columns.values()
        if col.role == "numeric" and (col.name != ctx.target or ctx.task_type == "regression")
    ]
    if not candidates:
        return _not_applicable("outliers", "no_numeric")
    out: list[Finding] = []
    for col in candidates:
        x = _as_float(ctx.df[col.name])
        finite = np.isfinite(x)
        values = x[finite]
        if len(values) == 0 or len(col.counts) < _MIN_DISTINCT_FOR_OUTLIERS:
            continue
        q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
        iqr = q3 - q1
        if iqr <= 0:
            continue  # more than half the values are equal: neither method has a scale
        lower, upper = q1 - t.iqr_multiplier * iqr, q3 + t.iqr_multiplier * iqr
        mad = float(np.median(np.abs(values - median)))
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(finite, 0.6745 * (x - median) / mad, 0.0)
            by_fences = finite & ((x < lower) | (x > upper))
        by_z = np.abs(z) > t.robust_z
        flagged = np.flatnonzero(by_fences & by_z)
        share = len(flagged) / len(values)
        if len(flagged) == 0 or share <= t.outlier_warn_share:
            continue
        worst_first = flagged[np.argsort(-np.abs(z[flagged]), kind="stable")]
        out.append(
            _finding(
                "outliers",
                "warn",
                "quality.outliers.warn",
                columns=[col.name],
                rows=worst_first,
                column=col.name,
                n_outliers=len(flagged),
                n_iqr=int(by_fences.sum()),
                n_robust=int(by_z.sum()),
                share=share,
                lower=float(lower),
                upper=float(upper),
                z=t.robust_z,
            )
        )
    return out or _passed("outliers", k=t.iqr_multiplier, z=t.robust_z)


def _looks_like_identifier(ctx: _Context, col: _Column) -> bool:
    n_present = col.n_present
    if n_present < _MIN_ROWS_IDENTIFIER or len(col.counts) < ctx.thresholds.identifier_share * n_present:
        return False
    s = ctx.df[col.name]
    named_like_id = bool(_ID_NAME.search(col.name) or _ID_CAMEL.search(col.name))
    if pd.api.types.is_bool_dtype(s.dtype):
        return False
    if pd.api.types.is_numeric_dtype(s.dtype):
        x = _as_float(s)
        x = x[np.isfinite(x)]
        if len(x) == 0 or not np.all(x == np.floor(x)):
            return False
        # Whole numbers unique per row are ids when they are named so or nearly fill a range
        # (1, 2, 3… or a sequence with small gaps); amounts spread far wider.
        return named_like_id or float(x.max() - x.min() + 1) <= 10 * len(col.counts)
    if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
        sample = col.counts.index[:1000].astype(str)
        if len(sample) == 0:
            return False
        lengths = np.asarray(sample.str.len(), dtype=np.float64)
        spaced = float(np.asarray(sample.str.contains(r"\s", regex=True), dtype=np.float64).mean())
        return named_like_id or (float(lengths.mean()) <= 64 and spaced < 0.1)
    return False


def _check_identifier_like(ctx: _Context) -> list[Finding]:
    out: list[Finding] = []
    for col in ctx.with_role("numeric", "categorical", "boolean"):
        if _looks_like_identifier(ctx, col):
            ctx.identifier_like.add(col.name)
            out.append(
                _finding(
                    "identifier_like",
                    "warn",
                    "quality.identifier_like.warn",
                    columns=[col.name],
                    column=col.name,
                    n_distinct=len(col.counts),
                    share=len(col.counts) / col.n_present,
                )
            )
    return out or _passed("identifier_like")


def _check_high_cardinality(ctx: _Context) -> list[Finding]:
    t = ctx.thresholds
    # Identifier-like columns (found by the check that runs just before) get their own
    # finding; warning twice would only add noise.
    out: list[Finding] = []
    for col in ctx.with_role("categorical"):
        n_distinct = len(col.counts)
        if col.name in ctx.identifier_like or n_distinct < _MIN_DISTINCT_HIGH_CARDINALITY:
            continue
        share = n_distinct / col.n_present
        if share >= t.high_cardinality_share or n_distinct >= t.high_cardinality_count:
            out.append(
                _finding(
                    "high_cardinality",
                    "warn",
                    "quality.high_cardinality.warn",
                    columns=[col.name],
                    column=col.name,
                    n_distinct=n_distinct,
                    n_total=col.n_present,
                    share=share,
                )
            )
    return out or _passed("high_cardinality")


# --------------------------------------------------------------------------- target checks


def _check_leakage(ctx: _Context) -> list[Finding]:
    if ctx.target is None:
        return _not_applicable("target_leakage", "no_target")
    if not ctx.features():
        return _not_applicable("target_leakage", "no_features")
    roles = {name: col.role for name, col in ctx.columns.items()}
    try:
        scores = target_relation_strength(
            ctx.df,
            target=ctx.target,
            roles=roles,
            task_type=ctx.task_type,
            max_rows=RELATION_MAX_ROWS,
            random_state=ctx.random_state,
        )
    except InputError as exc:
        if exc.key == "profiling.target_not_numeric":
            return _not_applicable("target_leakage", "target_not_numeric", target=ctx.target)
        raise
    scores = scores[scores["score"].notna()]
    if scores.empty:
        return _not_applicable("target_leakage", "too_few_rows")
    metric = _METRIC_NAMES[str(scores["metric"].iloc[0])]
    n_scored = int(scores["n_rows"].iloc[0])
    leaks = scores[scores["score"] >= ctx.thresholds.leakage_score]
    if leaks.empty:
        best = scores.iloc[0]
        return _passed("target_leakage", column=best["feature"], score=best["score"], metric=metric)
    return [
        _finding(
            "target_leakage",
            "fail",
            "quality.target_leakage.fail",
            columns=[row.feature],
            column=row.feature,
            score=row.score,
            metric=metric,
            n_scored=n_scored,
            threshold=ctx.thresholds.leakage_score,
        )
        for row in leaks.itertuples(index=False)
    ]


def _classes(ctx: _Context) -> pd.Series | None:
    """Class counts of the target, largest first, or ``None`` when class checks do not apply."""
    if ctx.target is None or ctx.task_type != "classification":
        return None
    return ctx.columns[ctx.target].counts


def _check_imbalance(ctx: _Context) -> list[Finding]:
    counts = _classes(ctx)
    if counts is None:
        reason = "no_target" if ctx.target is None else "regression"
        return _not_applicable("class_imbalance", reason)
    if len(counts) == 0:
        return _not_applicable("class_imbalance", "no_labels", target=ctx.target)
    if len(counts) == 1:
        return [
            _finding(
                "class_imbalance",
                "fail",
                "quality.class_imbalance.single_class",
                columns=[ctx.target] if ctx.target else [],
                value=_short(counts.index[0], 60),
            )
        ]
    t = ctx.thresholds
    n_min, n_max = int(counts.iloc[-1]), int(counts.iloc[0])
    share = n_min / (n_min + n_max)
    params: dict[str, Any] = {
        "minority": _short(counts.index[-1], 60),
        "majority": _short(counts.index[0], 60),
        "n_minority": n_min,
        "n_majority": n_max,
        "share": share,
        "n_classes": len(counts),
    }
    status = "fail" if share < t.imbalance_fail_share else "warn" if share < t.imbalance_warn_share else "pass"
    target = [ctx.target] if ctx.target else []
    return [_finding("class_imbalance", status, f"quality.class_imbalance.{status}", columns=target, **params)]


def _check_rare_classes(ctx: _Context) -> list[Finding]:
    counts = _classes(ctx)
    if counts is None or ctx.target is None:
        reason = "no_target" if ctx.target is None else "regression"
        return _not_applicable("rare_classes", reason)
    limit = ctx.thresholds.rare_class_count
    out: list[Finding] = []
    target = ctx.columns[ctx.target]
    for value, count in counts[counts < limit].items():
        rows = np.flatnonzero((target.values == value).to_numpy() & ~target.missing)
        out.append(
            _finding(
                "rare_classes",
                "warn",
                "quality.rare_classes.warn",
                columns=[ctx.target],
                rows=rows,
                value=_short(value, 60),
                count=int(count),
                threshold=limit,
            )
        )
    return out or _passed("rare_classes", threshold=limit)


def _check_conflicting_labels(ctx: _Context) -> list[Finding]:
    if ctx.target is None:
        return _not_applicable("conflicting_labels", "no_target")
    if ctx.task_type != "classification":
        return _not_applicable("conflicting_labels", "regression")
    features = ctx.features()
    if not features:
        return _not_applicable("conflicting_labels", "no_features")
    target = ctx.columns[ctx.target]
    hashes = pd.util.hash_pandas_object(_hashable_frame(ctx, features), index=False).to_numpy()
    labelled = ~target.missing
    # Only rows whose features repeat can conflict; grouping just those keeps this cheap.
    repeated = pd.Series(hashes).duplicated(keep=False).to_numpy() & labelled
    if not repeated.any():
        return _passed("conflicting_labels")
    groups = pd.DataFrame({"h": hashes[repeated], "y": target.values.to_numpy()[repeated]})
    n_labels = groups.groupby("h", sort=False)["y"].nunique()
    conflicted = n_labels.index[n_labels > 1]
    if len(conflicted) == 0:
        return _passed("conflicting_labels")
    in_conflict = np.isin(hashes, conflicted.to_numpy()) & labelled
    rows = np.flatnonzero(in_conflict)
    rows = rows[np.argsort(hashes[rows], kind="stable")]  # members of a group side by side
    share = len(rows) / ctx.n
    status = "fail" if share > ctx.thresholds.conflict_fail_share else "warn"
    return [
        _finding(
            "conflicting_labels",
            status,
            f"quality.conflicting_labels.{status}",
            columns=[ctx.target],
            rows=rows,
            n_conflicting=len(rows),
            n_groups=len(conflicted),
            share=share,
        )
    ]


# --------------------------------------------------------------------------- versions and dates


def _aligned(a: pd.Series, b: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Two columns in a form where equal values hash equally (1 and 1.0 are the same value)."""
    a, b = _hashable(a), _hashable(b)
    if a.dtype == b.dtype:
        return a, b
    numeric = pd.api.types.is_numeric_dtype
    if numeric(a.dtype) and numeric(b.dtype) and not pd.api.types.is_bool_dtype(a.dtype):
        return pd.Series(_as_float(a), index=a.index), pd.Series(_as_float(b), index=b.index)
    if pd.api.types.is_datetime64_any_dtype(a.dtype) or pd.api.types.is_datetime64_any_dtype(b.dtype):
        return as_datetime(a), as_datetime(b)
    return a.astype(str).where(a.notna()), b.astype(str).where(b.notna())


def _check_overlap(ctx: _Context) -> list[Finding]:
    other = ctx.other
    if other is None:
        return _not_applicable("train_test_overlap", "no_other")
    if len(other) == 0 or other.columns.has_duplicates:
        return _not_applicable("train_test_overlap", "no_shared_columns")
    other_names = set(other.columns)
    shared = [c for c in ctx.features() if c in other_names]
    out: list[Finding] = []
    t = ctx.thresholds
    if shared:
        left, right = {}, {}
        for name in shared:
            left[name], right[name] = _aligned(ctx.df[name], other[name])
        h_left = pd.util.hash_pandas_object(pd.DataFrame(left), index=False)
        h_right = pd.util.hash_pandas_object(pd.DataFrame(right), index=False)
        found = h_left.isin(h_right.to_numpy()).to_numpy()
        if found.any():
            share = float(found.mean())
            status = "fail" if share > t.overlap_fail_share else "warn"
            out.append(
                _finding(
                    "train_test_overlap",
                    status,
                    f"quality.train_test_overlap.{status}",
                    rows=np.flatnonzero(found),
                    n_overlap=int(found.sum()),
                    share=share,
                    n_columns=len(shared),
                    threshold=t.overlap_fail_share,
                )
            )
    for col in ctx.with_role("identifier"):
        if col.name not in other_names:
            continue
        mine, theirs = _aligned(ctx.df[col.name], other[col.name])
        both = mine.isin(theirs.dropna().to_numpy()).to_numpy() & ~col.missing
        if both.any():
            out.append(
                _finding(
                    "train_test_overlap",
                    "warn",
                    "quality.train_test_overlap.shared_ids",
                    columns=[col.name],
                    rows=np.flatnonzero(both),
                    column=col.name,
                    n_ids=int(mine[both].nunique()),
                    n_overlap=int(both.sum()),
                )
            )
    if not shared and not out:
        return _not_applicable("train_test_overlap", "no_shared_columns")
    return out or _passed("train_test_overlap", n_columns=len(shared))


_HOUR_NS = 3_600 * 10**9
_DAY_NS = 24 * _HOUR_NS


def _period_frequency(spacing_ns: float) -> str:
    """The calendar unit closest to the typical spacing of distinct dates."""
    days = spacing_ns / _DAY_NS
    if spacing_ns < 1.5 * _HOUR_NS:
        return "h"
    if days < 1.5:
        return "D"
    if days < 10:
        return "W"
    if days < 45:
        return "M"
    if days < 135:
        return "Q"
    return "Y"


def _dates(ctx: _Context) -> list[tuple[_Column, pd.Series]]:
    return [(col, as_datetime(ctx.df[col.name])) for col in ctx.with_role("datetime")]


def _check_date_gaps(ctx: _Context) -> list[Finding]:
    columns = _dates(ctx)
    if not columns:
        return _not_applicable("date_gaps", "no_dates")
    out: list[Finding] = []
    for col, dates in columns:
        present = dates.dropna()
        distinct = np.unique(present.to_numpy(dtype="datetime64[ns]").astype(np.int64))
        if len(distinct) < 3:
            out.extend(_not_applicable("date_gaps", "too_few", column=col.name))
            continue
        freq = _period_frequency(float(np.median(np.diff(distinct))))
        periods = pd.PeriodIndex(pd.to_datetime(distinct), freq=freq)
        ordinals = np.unique(periods.asi8)
        first, last = int(ordinals[0]), int(ordinals[-1])
        n_expected = last - first + 1
        if n_expected > _MAX_PERIODS:
            out.extend(_not_applicable("date_gaps", "too_long", column=col.name))
            continue
        n_missing = n_expected - len(ordinals)
        share = n_missing / n_expected
        span: dict[str, Any] = {
            "column": col.name,
            "first": str(pd.Period(ordinal=first, freq=freq)),
            "last": str(pd.Period(ordinal=last, freq=freq)),
            "n_expected": n_expected,
        }
        if n_missing == 0 or share <= ctx.thresholds.date_gap_share:
            out.append(_finding("date_gaps", "pass", "quality.date_gaps.pass", columns=[col.name], **span))
            continue
        steps = np.diff(ordinals)
        widest = int(np.argmax(steps))
        out.append(
            _finding(
                "date_gaps",
                "warn",
                "quality.date_gaps.warn",
                columns=[col.name],
                **span,
                n_missing=n_missing,
                share=share,
                gap_start=str(pd.Period(ordinal=int(ordinals[widest]) + 1, freq=freq)),
                gap_end=str(pd.Period(ordinal=int(ordinals[widest + 1]) - 1, freq=freq)),
            )
        )
    return out


def _check_future_dates(ctx: _Context) -> list[Finding]:
    columns = _dates(ctx)
    if not columns:
        return _not_applicable("future_dates", "no_dates")
    tomorrow = pd.Timestamp(ctx.today + timedelta(days=1))
    out: list[Finding] = []
    for col, dates in columns:
        future = (dates >= tomorrow).to_numpy()
        if future.any():
            rows = np.flatnonzero(future)
            out.append(
                _finding(
                    "future_dates",
                    "warn",
                    "quality.future_dates.warn",
                    columns=[col.name],
                    rows=rows,
                    column=col.name,
                    n_future=len(rows),
                    today=ctx.today.isoformat(),
                    latest=str(dates.max().date()),
                )
            )
    return out or _passed("future_dates", today=ctx.today.isoformat())


_CHECK_FUNCTIONS: dict[str, Callable[[_Context], list[Finding]]] = {
    "missing_values": _check_missing,
    "constant_columns": _check_constant,
    "duplicate_rows": _check_duplicate_rows,
    "duplicate_identifiers": _check_duplicate_identifiers,
    "mixed_types": _check_mixed_types,
    "outliers": _check_outliers,
    "identifier_like": _check_identifier_like,
    "high_cardinality": _check_high_cardinality,
    "target_leakage": _check_leakage,
    "class_imbalance": _check_imbalance,
    "rare_classes": _check_rare_classes,
    "conflicting_labels": _check_conflicting_labels,
    "train_test_overlap": _check_overlap,
    "date_gaps": _check_date_gaps,
    "future_dates": _check_future_dates,
}
