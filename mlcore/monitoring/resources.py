"""Compute resources of jobs over time: wall and CPU time, peak memory and rows per second, with
regressions flagged when the latest run of a kind of job is clearly worse than its recent past.

A run is a regression on a measure when it is worse than ``factor`` times the median of the
previous ``window`` runs of the same kind (slower, more CPU, more memory; for rows per second,
``factor`` times *fewer*). The median of several runs ignores one odd run in the history, and
at least ``min_history`` earlier runs are needed before anything is flagged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from mlcore.errors import InputError
from mlcore.monitoring.drift import Message

__all__ = [
    "MEASURES",
    "ResourceRecord",
    "ResourceRegression",
    "ResourceTrends",
    "records_from_dicts",
    "resource_trends",
]

MEASURES: tuple[str, ...] = ("wall_s", "cpu_s", "peak_memory_mb", "rows_per_s")
"""Measures recorded per job; for ``rows_per_s`` a lower value is worse, for the others a higher one."""

_LOWER_IS_WORSE = frozenset({"rows_per_s"})
_TREND_COLUMNS = ("kind", "job_id", "finished_at", "measure", "value", "baseline", "ratio", "regression")


@dataclass(frozen=True)
class ResourceRecord:
    """What one finished job used.

    Attributes
    ----------
    job_id : int or str
    kind : str
        Job kind (``train``, ``predict_batch``, ``drift``…): runs are compared within a kind.
    finished_at : datetime
    wall_s, cpu_s : float or None
        Elapsed and CPU seconds.
    peak_memory_mb : float or None
        Peak resident memory in MiB.
    rows_per_s : float or None
        Rows processed per wall-clock second (``None`` for jobs without rows).
    """

    job_id: int | str
    kind: str
    finished_at: datetime
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_memory_mb: float | None = None
    rows_per_s: float | None = None


@dataclass(frozen=True)
class ResourceRegression:
    """The latest run of a kind of job, worse than its recent past on one measure.

    Attributes
    ----------
    kind, measure : str
    job_id : int or str
    finished_at : pandas.Timestamp
    value, baseline : float
        The run's value and the median of the previous runs.
    ratio : float
        How many times worse (always above the factor).
    """

    kind: str
    measure: str
    job_id: int | str
    finished_at: pd.Timestamp
    value: float
    baseline: float
    ratio: float

    @property
    def message(self) -> Message:
        return Message(
            f"monitoring.resources.regression.{self.measure}",
            {
                "kind": self.kind,
                "job_id": self.job_id,
                "value": round(self.value, 2),
                "baseline": round(self.baseline, 2),
                "ratio": round(self.ratio, 2),
            },
        )


@dataclass(frozen=True)
class ResourceTrends:
    """Resource use per run for trend charts, and the regressions of each kind's latest run.

    Attributes
    ----------
    table : pandas.DataFrame
        Tidy: one row per run and recorded measure, ordered by kind then time, with columns
        ``kind``, ``job_id``, ``finished_at``, ``measure``, ``value``, ``baseline`` (median of
        the previous ``window`` runs, NaN without ``min_history`` of them), ``ratio`` (how many
        times worse than the baseline; below 1 is better) and ``regression``.
    regressions : tuple of ResourceRegression
        Regressions of the *latest* run of each kind (what needs attention now).
    window, min_history : int
    factor : float
    """

    table: pd.DataFrame
    regressions: tuple[ResourceRegression, ...]
    window: int
    factor: float
    min_history: int


def _records_frame(records: Sequence[ResourceRecord] | pd.DataFrame) -> pd.DataFrame:
    if isinstance(records, pd.DataFrame):
        frame = records.copy()
    else:
        if isinstance(records, str | bytes) or not isinstance(records, Sequence):
            raise InputError("monitoring.resources.bad_records", type=type(records).__name__)
        for r in records:
            if not isinstance(r, ResourceRecord):
                raise InputError("monitoring.resources.bad_records", type=type(r).__name__)
        frame = pd.DataFrame(
            [{f.name: getattr(r, f.name) for f in fields(ResourceRecord)} for r in records],
            columns=[f.name for f in fields(ResourceRecord)],
        )
    for column in ("job_id", "kind", "finished_at"):
        if column not in frame.columns:
            raise InputError("monitoring.resources.missing_column", column=column)
    return frame


def resource_trends(
    records: Sequence[ResourceRecord] | pd.DataFrame,
    *,
    window: int = 5,
    factor: float = 1.5,
    min_history: int = 3,
) -> ResourceTrends:
    """Turn job resource records into trend frames and flag regressions.

    Parameters
    ----------
    records : sequence of ResourceRecord or pandas.DataFrame
        A frame needs ``job_id``, ``kind``, ``finished_at`` and any of :data:`MEASURES`.
    window : int, default 5
        Previous runs whose median is the baseline.
    factor : float, default 1.5
        How many times worse than the baseline counts as a regression (> 1).
    min_history : int, default 3
        Previous runs needed before a run can be flagged (1 to ``window``).

    Returns
    -------
    ResourceTrends

    Raises
    ------
    InputError
        ``monitoring.resources.bad_records``, ``monitoring.resources.missing_column``,
        ``monitoring.resources.bad_value`` (a negative or non-numeric measure),
        ``monitoring.resources.bad_time``, ``monitoring.resources.bad_option``.

    Examples
    --------
    >>> from datetime import datetime, timedelta
    >>> start = datetime(2025, 6, 1)
    >>> walls = [10, 11, 9, 10, 16]
    >>> runs = [ResourceRecord(i, "drift", start + timedelta(days=i), wall_s=w) for i, w in enumerate(walls)]
    >>> trends = resource_trends(runs)
    >>> [(r.job_id, r.measure, r.baseline, r.ratio) for r in trends.regressions]
    [(4, 'wall_s', 10.0, 1.6)]
    """
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise InputError("monitoring.resources.bad_option", name="window", value=str(window)[:40])
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not (math.isfinite(factor) and factor > 1):
        raise InputError("monitoring.resources.bad_option", name="factor", value=str(factor)[:40])
    if isinstance(min_history, bool) or not isinstance(min_history, int) or not 1 <= min_history <= window:
        raise InputError("monitoring.resources.bad_option", name="min_history", value=str(min_history)[:40])
    frame = _records_frame(records)
    times = pd.to_datetime(frame["finished_at"], errors="coerce", utc=True, format="mixed")
    if times.isna().any():
        raise InputError("monitoring.resources.bad_time", n=int(times.isna().sum()))
    frame = frame.assign(finished_at=times.dt.tz_localize(None), kind=frame["kind"].astype(str))
    measures = [m for m in MEASURES if m in frame.columns]
    for m in measures:
        values = pd.to_numeric(frame[m], errors="coerce")
        bad = (frame[m].notna() & values.isna()) | (values < 0) | np.isinf(values)
        if bad.any():
            raise InputError("monitoring.resources.bad_value", measure=m, value=str(frame[m][bad].iloc[0])[:40])
        frame[m] = values.astype(np.float64)
    frame = frame.sort_values(["kind", "finished_at"], kind="stable").reset_index(drop=True)

    parts: list[pd.DataFrame] = []
    regressions: list[ResourceRegression] = []
    for kind, runs in frame.groupby("kind", sort=True):
        for m in measures:
            recorded = runs[runs[m].notna()]
            if recorded.empty:
                continue
            values = recorded[m]
            baseline = values.shift(1).rolling(window, min_periods=min_history).median()
            if m in _LOWER_IS_WORSE:
                ratio = baseline / values.where(values > 0)
            else:
                ratio = values / baseline.where(baseline > 0)
            flagged = (ratio > factor).fillna(False).astype(bool)
            part = pd.DataFrame(
                {
                    "kind": kind,
                    "job_id": recorded["job_id"].to_numpy(),
                    "finished_at": recorded["finished_at"].to_numpy(),
                    "measure": m,
                    "value": values.to_numpy(),
                    "baseline": baseline.to_numpy(),
                    "ratio": ratio.to_numpy(dtype=np.float64),
                    "regression": flagged.to_numpy(),
                }
            )
            parts.append(part)
            if bool(flagged.iloc[-1]) and recorded.index[-1] == runs.index[-1]:
                last = part.iloc[-1]
                regressions.append(
                    ResourceRegression(
                        kind=str(kind),
                        measure=m,
                        job_id=_plain(last["job_id"]),
                        finished_at=pd.Timestamp(last["finished_at"]),
                        value=float(last["value"]),
                        baseline=float(last["baseline"]),
                        ratio=float(last["ratio"]),
                    )
                )
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(_TREND_COLUMNS))
    return ResourceTrends(
        table=table[list(_TREND_COLUMNS)],
        regressions=tuple(regressions),
        window=window,
        factor=float(factor),
        min_history=min_history,
    )


def _plain(value: Any) -> int | str:
    if isinstance(value, np.integer | int):
        return int(value)
    return str(value)


def records_from_dicts(rows: Sequence[Mapping[str, Any]]) -> list[ResourceRecord]:
    """Records from plain mappings (a job's stored ``result``), ignoring unknown fields.

    Raises
    ------
    InputError
        ``monitoring.resources.missing_column`` if a row lacks ``job_id``, ``kind`` or ``finished_at``.
    """
    names = {f.name for f in fields(ResourceRecord)}
    out = []
    for row in rows:
        for column in ("job_id", "kind", "finished_at"):
            if column not in row:
                raise InputError("monitoring.resources.missing_column", column=column)
        out.append(ResourceRecord(**{k: v for k, v in row.items() if k in names}))
    return out
