"""Data drift: a compact reference profile stored with a model, and drift reports for scored batches
computed chunk by chunk, so a batch read page by page from the database never needs one frame.

How it works
------------
:func:`build_reference` profiles the training features once. For a numeric feature it keeps the
interior quantile edges of ``bins`` bins and the reference rows per bin, the share missing, the
mean, and a *quantile sketch*: ``sketch_size`` values ``q_i = F⁻¹((i + ½) / N)`` of the reference
(all sorted values when there are at most ``sketch_size``). The sketch's ECDF is within ``1/(2N)``
of the reference's everywhere. For a categorical, boolean or text feature it keeps the ``top_k``
most common values with their counts, the count of all other values, the share missing and (for
categorical and boolean features with at most :data:`MAX_KNOWN_CATEGORIES` values) every value
seen, to tell *unseen* values from rare ones. Identifiers and dates are not monitored (dates always
move forward; monitor what the model derives from them instead).

:class:`DriftAccumulator` is fed the batch in chunks. Per numeric feature it keeps, for every point
of a grid made of the sketch values and the bin edges, how many batch values lie below it and how
many at or below it (each chunk is sorted and the grid located in it): the *exact* batch ECDF at
and just below every grid point, in a few thousand counters whatever the batch size. From that it
computes:

* PSI over the reference bins plus a "missing" bin (a feed that suddenly leaves a column empty is
  drift too), ``PSI = Σ (b - r) · ln(b / r)`` where an empty share is replaced by
  :data:`PSI_EPSILON` (1e-4) so that a bin empty on one side stays finite: a category that
  appears out of nowhere in 10% of the rows adds about ``0.1 · ln(0.1 / 1e-4) ≈ 0.69``.
* the two-sample Kolmogorov–Smirnov statistic between the reference and the whole batch: the
  batch side is exact, the reference side is the sketch, so it is within ``1/(2N)`` of the
  statistic on the full data (exact when the reference fits in the sketch). The p-value is
  Smirnov's asymptotic one (as :func:`scipy.stats.ks_2samp` with ``method="asymp"``) for the full
  reference size and the batch size.
* a chi-squared test of homogeneity (reference counts vs batch counts over the PSI bins, bins
  expecting fewer than 5 rows pooled) and the Jensen–Shannon distance (base 2, between 0 and 1)
  over the same bins, for every feature.

Categorical values are compared as canonical text: ``1``, ``1.0`` and ``"1"`` are the same
category, and a boolean feature maps ``True``/``1``/``"true"`` to ``"True"`` (SQLite returns
booleans as 0/1). A numeric value that cannot be read as a number counts as missing.

A feature's status is ``alert`` when its column is missing from the batch or when PSI reaches
``psi_alert``; ``warn`` when PSI reaches ``psi_warn``, when a small but certain shift shows (KS
statistic ≥ ``ks_warn`` or Jensen–Shannon distance ≥ ``js_warn``) or when at least ``unseen_warn``
of the rows hold values never seen in training. PSI and distance flags count only when the test
says the change is not sampling noise (p-value below ``alpha``): on a batch of 50 rows PSI is
about 0.2 by chance alone. The batch verdict is the worst feature status (prediction included).
"""

from __future__ import annotations

import json
import math
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2 as chi2_distribution
from scipy.stats import kstwo

from mlcore.errors import InputError
from mlcore.i18n import translate

__all__ = [
    "MAX_KNOWN_CATEGORIES",
    "MIN_REFERENCE_ROWS",
    "MISSING_BIN",
    "MONITORED_ROLES",
    "OTHER_BIN",
    "PSI_EPSILON",
    "STATUSES",
    "DriftAccumulator",
    "DriftReference",
    "DriftReport",
    "DriftThresholds",
    "FeatureDrift",
    "FeatureReference",
    "Message",
    "build_reference",
    "drift_history",
    "drift_report",
    "population_stability_index",
]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Status = Literal["ok", "warn", "alert"]

STATUSES: tuple[str, ...] = ("ok", "warn", "alert")
"""Feature and batch verdicts, mildest first."""

MONITORED_ROLES: tuple[str, ...] = ("numeric", "categorical", "boolean", "text")
"""Roles whose drift is measured; ``identifier`` and ``datetime`` columns are listed as skipped."""

MIN_REFERENCE_ROWS = 20
"""Fewest rows a reference may have: fewer cannot give bins or a distribution worth comparing to."""

PSI_EPSILON = 1e-4
"""Share given to a bin that is empty on one side when computing PSI (keeps it finite)."""

MAX_KNOWN_CATEGORIES = 1000
"""Most distinct reference values kept to recognise unseen values in a categorical feature."""

OTHER_BIN = "__other__"
"""Bin name of the values outside a categorical feature's ``top_k`` (rare or unseen)."""

MISSING_BIN = "__missing__"
"""Bin name of the missing values (every feature has one)."""

_ROLES = ("numeric", "categorical", "boolean", "datetime", "text", "identifier")
_SKIPPED_ROLES = ("identifier", "datetime")
_REFERENCE_FORMAT = "ciclo.drift_reference/1"
_REPORT_FORMAT = "ciclo.drift_report/1"
_MAX_UNSEEN_TRACKED = 1000  # distinct unseen values counted by name; more are counted only in total
_MAX_EXAMPLES = 5
_MAX_LISTED_COLUMNS = 100
_NAME_CHARS = 60
_VALUE_CHARS = 40
_MEAN_CHANGE_MIN = 0.01  # below this relative change of the mean, a numeric shift is "in shape"
_MISSING_CHANGE_MIN = 0.02  # an absolute change of the missing share worth a sentence of its own
_MIN_EXPECTED = 5.0  # rows a chi-squared bin should expect on each side (Cochran)
_TRUE = frozenset({"true", "1", "1.0", "t"})
_FALSE = frozenset({"false", "0", "0.0", "f"})
_OPTION_LIMITS = {"bins": (2, 100), "top_k": (1, 200), "sketch_size": (100, 100_000)}


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True)
class Message:
    """A catalog key and its parameters: text in either language, decided when it is shown.

    Examples
    --------
    >>> Message("monitoring.explain.column_missing", {"feature": "income"}).text("es")[:28]
    'La columna «income» no está '
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "en") -> str:
        """The message in ``lang`` (``"en"`` or ``"es"``)."""
        return translate(self.key, lang, **self.params)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "params": dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        return cls(str(data["key"]), dict(data.get("params", {})))


# --------------------------------------------------------------------------- small helpers


def _short(value: object, limit: int = _NAME_CHARS) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: float) -> str:
    """A number for a sentence: thousands without decimals, small values with 3 significant digits."""
    if not math.isfinite(value):
        return "–"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def _opt_float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _json_float(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def population_stability_index(
    expected: Sequence[float] | Floats, actual: Sequence[float] | Floats, *, epsilon: float = PSI_EPSILON
) -> float:
    """PSI between two sets of bin shares: ``Σ (a - e) · ln(a / e)``, empty shares raised to ``epsilon``.

    Parameters
    ----------
    expected, actual : sequence of float
        Shares of the same bins (reference and batch), each summing to 1.
    epsilon : float, default 1e-4
        Share used in place of 0, so a bin empty on one side adds a large but finite amount.

    Returns
    -------
    float
        0 for identical shares; under 0.1 is usually read as stable, 0.1–0.25 as a moderate
        shift, above 0.25 as a large one.

    Examples
    --------
    >>> round(population_stability_index([0.5, 0.5], [0.6, 0.4]), 4)
    0.0405
    >>> round(population_stability_index([1.0, 0.0], [0.9, 0.1]), 3)
    0.701
    """
    e = np.maximum(np.asarray(expected, dtype=np.float64), epsilon)
    a = np.maximum(np.asarray(actual, dtype=np.float64), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def _js_distance(p: Floats, q: Floats) -> float:
    if p.sum() <= 0 or q.sum() <= 0:
        return math.nan
    value = float(jensenshannon(p, q, base=2))
    return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)


def _chi2_pvalue(reference: Ints, batch: Ints) -> float:
    """p-value of the chi-squared test that both rows of counts come from one distribution.

    Bins where either side expects fewer than 5 rows are pooled first (Cochran's rule): with a
    30-row batch, one row landing in a 0.3% bin would otherwise look like certain drift.
    """
    table = np.vstack([reference, batch]).astype(np.float64)
    table = table[:, table.sum(axis=0) > 0]
    rows = table.sum(axis=1)
    if (rows == 0).any():
        return math.nan
    expected_min = rows.min() * table.sum(axis=0) / rows.sum()
    small = expected_min < _MIN_EXPECTED
    if small.any():
        pooled = table[:, small].sum(axis=1, keepdims=True)
        table = np.hstack([table[:, ~small], pooled])
        if rows.min() * pooled.sum() / rows.sum() < _MIN_EXPECTED and table.shape[1] > 1:
            # Still too small: merge the pool into the smallest remaining bin.
            smallest = int(np.argmin(table[:, :-1].sum(axis=0)))
            table[:, smallest] += table[:, -1]
            table = table[:, :-1]
    if table.shape[1] < 2:
        return 1.0
    expected = np.outer(rows, table.sum(axis=0)) / rows.sum()
    statistic = float(((table - expected) ** 2 / expected).sum())
    return float(chi2_distribution.sf(statistic, table.shape[1] - 1))


def _ks_pvalue(statistic: float, n_reference: int, n_batch: int) -> float:
    """Smirnov's asymptotic two-sided p-value, as ``scipy.stats.ks_2samp(method="asymp")``."""
    if n_reference == 0 or n_batch == 0 or math.isnan(statistic):
        return math.nan
    m, n = float(max(n_reference, n_batch)), float(min(n_reference, n_batch))
    en = max(1, round(m * n / (m + n)))
    return float(np.clip(kstwo.sf(statistic, en), 0.0, 1.0))


def _numbers(column: pd.Series) -> Floats:
    """Values as float64; missing, infinite and unreadable values as NaN (they count as missing)."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        column = column.astype(object)
        dtype = column.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return np.full(len(column), np.nan)
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        try:
            values = np.asarray(column.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        except (TypeError, ValueError):
            values = np.asarray(pd.to_numeric(column, errors="coerce"), dtype=np.float64)
    else:
        values = np.asarray(pd.to_numeric(column.astype(object), errors="coerce"), dtype=np.float64)
    if np.isinf(values).any():
        values = np.where(np.isinf(values), np.nan, values)
    return values


def _key(value: object, boolean: bool) -> str:
    if isinstance(value, bool | np.bool_):
        return "True" if value else "False"
    if isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        number = float(value)
        text = str(int(number)) if number.is_integer() and abs(number) < 2**63 else repr(number)
    else:
        text = str(value)
    if boolean:
        low = text.strip().lower()
        if low in _TRUE:
            return "True"
        if low in _FALSE:
            return "False"
    return text


def _keys(values: npt.NDArray[Any], boolean: bool) -> npt.NDArray[np.object_]:
    """Canonical text of each value (see the module docstring)."""
    if not boolean and pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values.astype(object)
    return np.array([_key(v, boolean) for v in values], dtype=object)


def _value_counts(column: pd.Series, boolean: bool) -> tuple[npt.NDArray[np.object_], Ints]:
    """Canonical keys and counts of the non-missing values of one chunk (keys may repeat)."""
    try:
        counts = column.value_counts(dropna=True, sort=False)
    except TypeError:  # unhashable values (lists, dicts): compare their text
        text = column.astype(str).where(column.notna(), None)
        counts = text.value_counts(dropna=True, sort=False)
    if isinstance(column.dtype, pd.CategoricalDtype):
        counts = counts[counts > 0]
    keys = _keys(counts.index.to_numpy(dtype=object), boolean)
    return keys, np.asarray(counts.to_numpy(), dtype=np.int64)


# --------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class FeatureReference:
    """What drift is measured against for one feature (or for the model's predictions).

    Attributes
    ----------
    name, role : str
        Column name and its role (one of :data:`MONITORED_ROLES`).
    kind : {"numeric", "categorical"}
        Numeric features are binned by quantiles; categorical, boolean and text by value.
    n_rows, n_missing : int
        Reference rows and how many of them had no (readable) value.
    counts : tuple of int
        Reference rows per value bin: ``len(edges) + 1`` bins for numeric features, the
        ``categories`` then all other values for categorical ones. Missing rows are not included.
    edges : tuple of float
        Numeric: interior bin edges; bin ``i`` holds values in ``(edges[i-1], edges[i]]``, the
        first and last bins are open-ended.
    sketch : tuple of float
        Numeric: sorted values whose ECDF is within ``1 / (2 · len(sketch))`` of the reference's
        (all values when the reference has at most ``sketch_size``).
    mean, std : float
        Numeric: of the non-missing values (NaN when there are none).
    categories : tuple of str
        Categorical: the most common values (canonical text), most common first.
    known : tuple of str or None
        Categorical and boolean: every value seen, sorted; ``None`` for text and for features
        with more than :data:`MAX_KNOWN_CATEGORIES` values (unseen values are then not counted).
    """

    name: str
    role: str
    kind: Literal["numeric", "categorical"]
    n_rows: int
    n_missing: int
    counts: tuple[int, ...]
    edges: tuple[float, ...] = ()
    sketch: tuple[float, ...] = ()
    mean: float = math.nan
    std: float = math.nan
    categories: tuple[str, ...] = ()
    known: tuple[str, ...] | None = None

    @property
    def n_present(self) -> int:
        """Rows with a value."""
        return self.n_rows - self.n_missing

    @property
    def missing_share(self) -> float:
        return self.n_missing / self.n_rows if self.n_rows else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "kind": self.kind,
            "n_rows": self.n_rows,
            "n_missing": self.n_missing,
            "counts": list(self.counts),
            "edges": list(self.edges),
            "sketch": list(self.sketch),
            "mean": _json_float(self.mean),
            "std": _json_float(self.std),
            "categories": list(self.categories),
            "known": None if self.known is None else list(self.known),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureReference:
        kind = str(data["kind"])
        if kind not in ("numeric", "categorical"):
            raise ValueError(f"unknown kind {kind!r}")
        role = str(data["role"])
        if role not in MONITORED_ROLES:
            raise ValueError(f"unknown role {role!r}")
        ref = cls(
            name=str(data["name"]),
            role=role,
            kind=cast(Literal["numeric", "categorical"], kind),
            n_rows=int(data["n_rows"]),
            n_missing=int(data["n_missing"]),
            counts=tuple(int(c) for c in data["counts"]),
            edges=tuple(float(e) for e in data.get("edges", ())),
            sketch=tuple(float(v) for v in data.get("sketch", ())),
            mean=_opt_float(data.get("mean")),
            std=_opt_float(data.get("std")),
            categories=tuple(str(c) for c in data.get("categories", ())),
            known=None if data.get("known") is None else tuple(str(c) for c in data["known"]),
        )
        ref._check()
        return ref

    def _check(self) -> None:
        """Raise ValueError if the fields contradict each other (a hand-edited or truncated file)."""
        if self.n_rows < 0 or not 0 <= self.n_missing <= self.n_rows or any(c < 0 for c in self.counts):
            raise ValueError(f"{self.name}: negative or inconsistent counts")
        if sum(self.counts) != self.n_present:
            raise ValueError(f"{self.name}: bin counts do not add up to the rows with a value")
        if self.kind == "numeric":
            if len(self.counts) != len(self.edges) + 1:
                raise ValueError(f"{self.name}: {len(self.counts)} counts for {len(self.edges)} edges")
            for values in (self.edges, self.sketch):
                if any(not math.isfinite(v) for v in values) or list(values) != sorted(values):
                    raise ValueError(f"{self.name}: edges and sketch must be finite and sorted")
            if len(set(self.edges)) != len(self.edges) or (self.n_present > 0) != (len(self.sketch) > 0):
                raise ValueError(f"{self.name}: repeated edges or a sketch that does not match the counts")
        else:
            if len(self.counts) != len(self.categories) + 1 or len(set(self.categories)) != len(self.categories):
                raise ValueError(f"{self.name}: {len(self.counts)} counts for {len(self.categories)} categories")
            if self.known is not None and not set(self.categories) <= set(self.known):
                raise ValueError(f"{self.name}: top categories missing from the known values")


@dataclass(frozen=True)
class DriftReference:
    """The training-time profile drift is measured against; JSON-serialisable, stored with a model.

    Attributes
    ----------
    features : tuple of FeatureReference
        One per monitored feature, in frame order.
    prediction : FeatureReference or None
        The distribution of the model's predictions (scores or labels) on the reference rows.
    n_rows : int
    bins, top_k, sketch_size : int
        The options it was built with.
    skipped : tuple of str
        Columns present but not monitored (identifiers and dates).

    Examples
    --------
    >>> frame = pd.DataFrame({"x": np.arange(40.0), "c": ["a", "b"] * 20})
    >>> ref = build_reference(frame, roles={"c": "categorical"}, bins=4)
    >>> DriftReference.from_json(ref.to_json()) == ref
    True
    >>> ref.feature("x").edges, ref.feature("c").categories
    ((9.0, 19.0, 29.0), ('a', 'b'))
    """

    features: tuple[FeatureReference, ...]
    prediction: FeatureReference | None
    n_rows: int
    bins: int
    top_k: int
    sketch_size: int
    skipped: tuple[str, ...] = ()

    def feature(self, name: str) -> FeatureReference:
        """The reference of one feature.

        Raises
        ------
        InputError
            ``monitoring.reference.unknown_feature``.
        """
        for ref in self.features:
            if ref.name == name:
                return ref
        raise InputError("monitoring.reference.unknown_feature", feature=_short(name))

    @property
    def feature_names(self) -> tuple[str, ...]:
        return tuple(ref.name for ref in self.features)

    def to_dict(self) -> dict[str, Any]:
        """A dict of JSON types only (missing numbers as ``None``), tagged ``ciclo.drift_reference/1``."""
        return {
            "format": _REFERENCE_FORMAT,
            "n_rows": self.n_rows,
            "bins": self.bins,
            "top_k": self.top_k,
            "sketch_size": self.sketch_size,
            "skipped": list(self.skipped),
            "features": [ref.to_dict() for ref in self.features],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReference:
        """Rebuild from :meth:`to_dict` output.

        Raises
        ------
        InputError
            ``monitoring.reference.bad_format`` if ``data`` is not a reference written by :meth:`to_dict`.
        """
        try:
            if not isinstance(data, Mapping) or data.get("format") != _REFERENCE_FORMAT:
                raise ValueError(f"expected format {_REFERENCE_FORMAT}")
            prediction = data.get("prediction")
            reference = cls(
                features=tuple(FeatureReference.from_dict(f) for f in data["features"]),
                prediction=None if prediction is None else FeatureReference.from_dict(prediction),
                n_rows=int(data["n_rows"]),
                bins=int(data["bins"]),
                top_k=int(data["top_k"]),
                sketch_size=int(data["sketch_size"]),
                skipped=tuple(str(s) for s in data.get("skipped", ())),
            )
            names = [f.name for f in reference.features]
            if not names or len(set(names)) != len(names):
                raise ValueError("no features, or a feature listed twice")
            if any(f.n_rows != reference.n_rows for f in reference.features):
                raise ValueError("feature row counts differ from the reference's")
            return reference
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError("monitoring.reference.bad_format", detail=_short(exc, 200)) from exc

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> DriftReference:
        """Rebuild from :meth:`to_json` output (``monitoring.reference.bad_format`` if it is not one)."""
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as exc:
            raise InputError("monitoring.reference.bad_format", detail=_short(exc, 200)) from exc
        return cls.from_dict(data)


def _check_frame(frame: object, *, empty_key: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError("monitoring.not_a_frame", type=_short(type(frame).__name__))
    for name in frame.columns:
        if not isinstance(name, str):
            raise InputError("monitoring.column_name_not_text", column=_short(name))
    if frame.columns.has_duplicates:
        raise InputError("monitoring.duplicate_column", column=_short(frame.columns[frame.columns.duplicated()][0]))
    if empty_key and len(frame) == 0:
        raise InputError(empty_key)
    return frame


def _dtype_role(column: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(column.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(column.dtype) or pd.api.types.is_timedelta64_dtype(column.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(column.dtype):
        return "numeric"
    return "categorical"


def _check_option(name: str, value: object) -> int:
    low, high = _OPTION_LIMITS[name]
    try:
        number = operator.index(cast(Any, value))
    except TypeError:
        raise InputError(
            "monitoring.reference.bad_option", name=name, value=_short(value), low=low, high=high
        ) from None
    if not low <= number <= high:
        raise InputError("monitoring.reference.bad_option", name=name, value=number, low=low, high=high)
    return number


def _inverted_cdf(sorted_values: Floats, probabilities: Floats) -> Floats:
    """The smallest value whose ECDF reaches each probability (values of the data, never interpolated)."""
    n = len(sorted_values)
    positions = np.clip(np.ceil(probabilities * n - 1e-9).astype(np.int64) - 1, 0, n - 1)
    return np.asarray(sorted_values[positions], dtype=np.float64)


def _numeric_reference(name: str, role: str, column: pd.Series, bins: int, sketch_size: int) -> FeatureReference:
    x = _numbers(column)
    values = np.sort(x[np.isfinite(x)])
    n_present = len(values)
    if n_present == 0:
        return FeatureReference(name, role, "numeric", len(x), len(x), counts=(0,))
    edges = np.unique(_inverted_cdf(values, np.arange(1, bins) / bins))
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    # Quantiles at (i + 1/2) / N: the sketch's ECDF is within 1 / (2N) of the reference's.
    sketch = values if n_present <= sketch_size else _inverted_cdf(values, (np.arange(sketch_size) + 0.5) / sketch_size)
    return FeatureReference(
        name,
        role,
        "numeric",
        len(x),
        len(x) - n_present,
        counts=tuple(int(c) for c in counts),
        edges=tuple(float(e) for e in edges),
        sketch=tuple(float(v) for v in sketch),
        mean=float(values.mean()),
        std=float(values.std(ddof=1)) if n_present > 1 else math.nan,
    )


def _categorical_reference(name: str, role: str, column: pd.Series, top_k: int) -> FeatureReference:
    keys, counts = _value_counts(column, role == "boolean")
    merged = pd.Series(counts, index=pd.Index(keys, dtype=object)).groupby(level=0, sort=True).sum()
    ordered = sorted(merged.items(), key=lambda kv: (-int(kv[1]), str(kv[0])))
    top = ordered[:top_k]
    rest = sum(int(c) for _, c in ordered[top_k:])
    n_present = int(merged.sum())
    known = None
    if role != "text" and len(ordered) <= MAX_KNOWN_CATEGORIES:
        known = tuple(sorted(str(k) for k, _ in ordered))
    return FeatureReference(
        name,
        role,
        "categorical",
        len(column),
        len(column) - n_present,
        counts=(*(int(c) for _, c in top), rest),
        categories=tuple(str(k) for k, _ in top),
        known=known,
    )


def _feature_reference(
    name: str, role: str, column: pd.Series, *, bins: int, top_k: int, sketch_size: int
) -> FeatureReference:
    if role == "numeric":
        return _numeric_reference(name, role, column, bins, sketch_size)
    return _categorical_reference(name, role, column, top_k)


def build_reference(
    frame: pd.DataFrame,
    *,
    roles: Mapping[str, str],
    prediction: str | pd.Series | Sequence[Any] | npt.NDArray[Any] | None = None,
    bins: int = 10,
    top_k: int = 20,
    sketch_size: int = 2000,
) -> DriftReference:
    """Profile the training features (and predictions) that later batches are compared with.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows the model learned from, with the columns it sees (leave the target out).
        Column names must be unique strings.
    roles : mapping of str to str
        Column -> role (as recorded with the dataset version). Entries for columns not in
        ``frame`` are ignored; columns without an entry get a role from their dtype.
        ``identifier`` and ``datetime`` columns are not monitored.
    prediction : str or array-like, optional
        The model's predictions for these rows (probability of the positive class, a predicted
        number or a label): a column of ``frame`` (which is then not a feature) or values in
        row order. Its distribution is the reference for prediction drift; a numeric one is
        named ``"score"`` unless it is a named Series.
    bins : int, default 10
        Quantile bins per numeric feature (fewer when values repeat), 2 to 100.
    top_k : int, default 20
        Most common values kept per categorical feature; the others share one bin. 1 to 200.
    sketch_size : int, default 2000
        Values kept per numeric feature for the Kolmogorov–Smirnov statistic (100 to 100,000);
        the statistic is within ``1 / (2 · sketch_size)`` of the exact one.

    Returns
    -------
    DriftReference

    Raises
    ------
    InputError
        ``monitoring.not_a_frame``, ``monitoring.duplicate_column``,
        ``monitoring.column_name_not_text``, ``monitoring.reference.too_few_rows`` (fewer than
        :data:`MIN_REFERENCE_ROWS`), ``monitoring.reference.unknown_role``,
        ``monitoring.reference.no_features``, ``monitoring.reference.bad_option``,
        ``monitoring.reference.unknown_prediction`` or ``monitoring.reference.prediction_length``.

    Examples
    --------
    >>> frame = pd.DataFrame({"age": np.arange(20, 70.0), "plan": ["basic", "pro"] * 25})
    >>> ref = build_reference(frame, roles={"plan": "categorical"}, bins=5)
    >>> ref.feature("age").edges
    (29.0, 39.0, 49.0, 59.0)
    >>> ref.feature("age").counts, ref.feature("plan").counts
    ((10, 10, 10, 10, 10), (25, 25, 0))
    """
    _check_frame(frame, empty_key="")
    if len(frame) < MIN_REFERENCE_ROWS:
        raise InputError("monitoring.reference.too_few_rows", rows=len(frame), minimum=MIN_REFERENCE_ROWS)
    bins = _check_option("bins", bins)
    top_k = _check_option("top_k", top_k)
    sketch_size = _check_option("sketch_size", sketch_size)
    if not isinstance(roles, Mapping):
        raise InputError("monitoring.reference.unknown_role", column="?", role=_short(roles), roles=", ".join(_ROLES))

    prediction_column: str | None = None
    prediction_values: pd.Series | None = None
    if isinstance(prediction, str):
        if prediction not in frame.columns:
            raise InputError("monitoring.reference.unknown_prediction", column=_short(prediction))
        prediction_column = prediction
        prediction_values = frame[prediction]
    elif prediction is not None:
        values = prediction if isinstance(prediction, pd.Series) else pd.Series(np.asarray(prediction))
        if values.ndim != 1 or len(values) != len(frame):
            raise InputError("monitoring.reference.prediction_length", values=len(values), rows=len(frame))
        prediction_values = values.rename(values.name if isinstance(values.name, str) else "score")

    features: list[FeatureReference] = []
    skipped: list[str] = []
    for name in frame.columns:
        if name == prediction_column:
            continue
        role = roles.get(name) or _dtype_role(frame[name])
        if role not in _ROLES:
            raise InputError(
                "monitoring.reference.unknown_role", column=_short(name), role=_short(role), roles=", ".join(_ROLES)
            )
        if role in _SKIPPED_ROLES:
            skipped.append(name)
            continue
        features.append(_feature_reference(name, role, frame[name], bins=bins, top_k=top_k, sketch_size=sketch_size))
    if not features:
        raise InputError("monitoring.reference.no_features")

    prediction_ref = None
    if prediction_values is not None:
        name = str(prediction_values.name)
        role = "numeric" if _dtype_role(prediction_values) == "numeric" else "categorical"
        prediction_ref = _feature_reference(
            name, role, prediction_values.reset_index(drop=True), bins=bins, top_k=top_k, sketch_size=sketch_size
        )
    return DriftReference(
        features=tuple(features),
        prediction=prediction_ref,
        n_rows=len(frame),
        bins=bins,
        top_k=top_k,
        sketch_size=sketch_size,
        skipped=tuple(skipped),
    )


# --------------------------------------------------------------------------- thresholds


@dataclass(frozen=True)
class DriftThresholds:
    """When a feature's drift is reported as ``warn`` or ``alert`` (see the module docstring).

    Attributes
    ----------
    psi_warn, psi_alert : float, default 0.1 and 0.25
        PSI at which a feature warns / alerts (the usual rule of thumb).
    alpha : float, default 0.001
        A change counts only when its test's p-value is below this (strict, because every
        feature of every batch is tested).
    ks_warn : float, default 0.02
        Numeric: warn when the KS statistic reaches this (and its p-value is below ``alpha``),
        i.e. when at least about 2% of the rows moved across some value.
    js_warn : float, default 0.05
        Warn when the Jensen–Shannon distance over the bins reaches this (and the chi-squared
        p-value is below ``alpha``): catches a certain change of a few shares too small for PSI.
    unseen_warn : float, default 0.01
        Categorical: warn when this share of the batch holds values never seen in training.

    Raises
    ------
    InputError
        ``monitoring.drift.bad_threshold`` for a negative or non-finite value, an ``alpha`` or a
        share outside (0, 1], or ``psi_alert`` below ``psi_warn``.

    Examples
    --------
    >>> DriftThresholds(psi_warn=0.2, psi_alert=0.1)
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: The drift threshold psi_alert (0.1) is not valid: ...
    """

    psi_warn: float = 0.1
    psi_alert: float = 0.25
    alpha: float = 0.001
    ks_warn: float = 0.02
    js_warn: float = 0.05
    unseen_warn: float = 0.01

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value > 0
            if ok and f.name in ("alpha", "ks_warn", "js_warn", "unseen_warn"):
                ok = value <= 1
            if not ok:
                raise InputError("monitoring.drift.bad_threshold", name=f.name, value=_short(value))
        if self.psi_alert < self.psi_warn:
            raise InputError("monitoring.drift.bad_threshold", name="psi_alert", value=self.psi_alert)

    def to_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftThresholds:
        """Build from a mapping (unknown names raise ``monitoring.drift.bad_threshold``)."""
        names = {f.name for f in fields(cls)}
        for name in data:
            if name not in names:
                raise InputError("monitoring.drift.bad_threshold", name=_short(name), value=_short(data[name]))
        return cls(**{k: v for k, v in data.items()})


# --------------------------------------------------------------------------- per-feature results


@dataclass(frozen=True)
class FeatureDrift:
    """How one feature (or the predictions) of a batch compares with the reference.

    Attributes
    ----------
    feature, role, kind : str
    status : {"ok", "warn", "alert"}
    reasons : tuple of str
        What raised the status: ``column_missing``, ``psi``, ``ks``, ``js``, ``unseen``.
    n_rows, n_missing : int
        Batch rows and how many had no (readable) value.
    psi : float
        Population stability index over :attr:`bins` (NaN when the column is missing).
    js : float
        Jensen–Shannon distance (base 2) over the same bins, 0 to 1.
    chi2_pvalue : float
        Chi-squared test that reference and batch counts over the bins share one distribution.
    ks, ks_pvalue : float
        Numeric only (NaN otherwise): two-sample Kolmogorov–Smirnov statistic and p-value.
    missing_share_reference, missing_share : float
    unseen_share : float
        Categorical: share of batch rows holding a value never seen in training (NaN when not
        tracked: numeric, text, or more than :data:`MAX_KNOWN_CATEGORIES` reference values).
    unseen_examples : tuple of str
        The most frequent unseen values (at most 5, cut to 40 characters).
    reference_mean, batch_mean : float
        Numeric only.
    bins : tuple of str
        Bin labels: ``"≤ 10"``, ``"(10, 20]"``, ``"> 90"`` or categories, then :data:`OTHER_BIN`
        (categorical) and :data:`MISSING_BIN`; see :meth:`bin_labels`.
    reference_shares, batch_shares : tuple of float
        Share of rows per bin.
    column_missing : bool
        The batch had no such column.
    messages : tuple of Message
        What drifted and what it may mean, in plain words (empty when the status is ``ok``).
    """

    feature: str
    role: str
    kind: str
    status: str
    reasons: tuple[str, ...]
    n_rows: int
    n_missing: int
    psi: float
    js: float
    chi2_pvalue: float
    ks: float
    ks_pvalue: float
    missing_share_reference: float
    missing_share: float
    unseen_share: float
    unseen_examples: tuple[str, ...]
    reference_mean: float
    batch_mean: float
    bins: tuple[str, ...]
    reference_shares: tuple[float, ...]
    batch_shares: tuple[float, ...]
    column_missing: bool = False
    messages: tuple[Message, ...] = ()

    def bin_labels(self, lang: str = "en") -> list[str]:
        """:attr:`bins` with the "other" and "missing" bins named in ``lang``."""
        names = {OTHER_BIN: "monitoring.bin.other", MISSING_BIN: "monitoring.bin.missing"}
        return [translate(names[b], lang) if b in names else b for b in self.bins]

    def explain(self, lang: str = "en") -> list[str]:
        return [m.text(lang) for m in self.messages]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "messages":
                out[f.name] = [m.to_dict() for m in value]
            elif isinstance(value, float):
                out[f.name] = _json_float(value)
            elif isinstance(value, tuple):
                out[f.name] = [_json_float(v) if isinstance(v, float) else v for v in value]
            else:
                out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureDrift:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = data[f.name]
            if f.name == "messages":
                values[f.name] = tuple(Message.from_dict(m) for m in raw)
            elif f.name in ("reference_shares", "batch_shares"):
                values[f.name] = tuple(_opt_float(v) for v in raw)
            elif f.name in ("reasons", "unseen_examples", "bins"):
                values[f.name] = tuple(str(v) for v in raw)
            elif f.type == "float":
                values[f.name] = _opt_float(raw)
            else:
                values[f.name] = raw
        return cls(**values)


def _numeric_bin_labels(edges: Sequence[float]) -> tuple[str, ...]:
    if not edges:
        return ("all",)
    labels = [f"≤ {_number(edges[0])}"]
    labels += [f"({_number(a)}, {_number(b)}]" for a, b in zip(edges[:-1], edges[1:], strict=True)]
    labels.append(f"> {_number(edges[-1])}")
    return tuple(labels)


class _NumericState:
    """Batch counts of one numeric feature at the grid of its sketch values and bin edges."""

    def __init__(self, ref: FeatureReference) -> None:
        self.ref = ref
        self.edges = np.asarray(ref.edges, dtype=np.float64)
        self.sketch = np.asarray(ref.sketch, dtype=np.float64)
        self.grid = np.unique(np.concatenate([self.sketch, self.edges]))
        self.below = np.zeros(len(self.grid), dtype=np.int64)  # batch values < grid[j]
        self.at_most = np.zeros(len(self.grid), dtype=np.int64)  # batch values <= grid[j]
        self.n_present = 0
        self.n_rows = 0
        self.n_missing = 0
        self.total = 0.0
        self.seen = False

    def add(self, column: pd.Series | None, n: int) -> None:
        self.n_rows += n
        if column is None:
            self.n_missing += n
            return
        self.seen = True
        x = _numbers(column)
        finite = ~np.isnan(x)
        if not finite.all():
            x = x[finite]
        self.n_missing += n - len(x)
        if len(x) == 0:
            return
        # Sorting the chunk, then locating the few thousand grid points in it, is cheaper than
        # locating every value among the grid points, and gives the batch ECDF at and just below
        # every grid point exactly.
        ordered = np.sort(x)
        self.n_present += len(ordered)
        self.total += float(ordered.sum())
        self.below += np.searchsorted(ordered, self.grid, side="left")
        self.at_most += np.searchsorted(ordered, self.grid, side="right")

    def result(self) -> tuple[Ints, Ints, float, float, float]:
        """Bin counts, reference bin counts, KS statistic and p-value, batch mean."""
        n_present = self.n_present
        below, at_most = self.below, self.at_most
        if len(self.edges):
            at_edges = at_most[np.searchsorted(self.grid, self.edges)]
            counts = np.diff(np.concatenate([[0], at_edges, [n_present]]))
        else:
            counts = np.array([n_present], dtype=np.int64)
        ks = math.nan
        if n_present and len(self.sketch):
            m = len(self.sketch)
            ref_below = np.searchsorted(self.sketch, self.grid, side="left") / m
            ref_at_most = np.searchsorted(self.sketch, self.grid, side="right") / m
            ks = float(
                max(np.abs(ref_at_most - at_most / n_present).max(), np.abs(ref_below - below / n_present).max())
            )
        p = _ks_pvalue(ks, self.ref.n_present, n_present)
        mean = self.total / n_present if n_present else math.nan
        return counts.astype(np.int64), np.asarray(self.ref.counts, dtype=np.int64), ks, p, mean


class _CategoricalState:
    """Batch counts of one categorical feature over its top values, "other", and unseen values."""

    def __init__(self, ref: FeatureReference) -> None:
        self.ref = ref
        self.boolean = ref.role == "boolean"
        self.index = pd.Index(list(ref.categories), dtype=object)
        self.known = None if ref.known is None else pd.Index(list(ref.known), dtype=object)
        self.counts = np.zeros(len(ref.categories) + 1, dtype=np.int64)
        self.n_rows = 0
        self.n_missing = 0
        self.unseen = 0
        self.unseen_counts: dict[str, int] = {}
        self.seen = False

    def add(self, column: pd.Series | None, n: int) -> None:
        self.n_rows += n
        if column is None:
            self.n_missing += n
            return
        self.seen = True
        keys, counts = _value_counts(column, self.boolean)
        self.n_missing += n - int(counts.sum())
        if len(keys) == 0:
            return
        position = self.index.get_indexer(keys)
        position[position < 0] = len(self.index)
        self.counts += np.bincount(position, weights=counts, minlength=len(self.counts)).astype(np.int64)
        if self.known is not None:
            new = self.known.get_indexer(keys) < 0
            if new.any():
                self.unseen += int(counts[new].sum())
                for key, count in zip(keys[new], counts[new], strict=True):
                    name = str(key)
                    if name in self.unseen_counts or len(self.unseen_counts) < _MAX_UNSEEN_TRACKED:
                        self.unseen_counts[name] = self.unseen_counts.get(name, 0) + int(count)

    def examples(self) -> tuple[str, ...]:
        ordered = sorted(self.unseen_counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return tuple(_short(k, _VALUE_CHARS) for k, _ in ordered[:_MAX_EXAMPLES])


_State = _NumericState | _CategoricalState


def _new_state(ref: FeatureReference) -> _State:
    return _NumericState(ref) if ref.kind == "numeric" else _CategoricalState(ref)


def _feature_result(state: _State, thresholds: DriftThresholds, *, prediction: bool = False) -> FeatureDrift:
    ref = state.ref
    n = state.n_rows
    missing_share = state.n_missing / n if n else math.nan
    ks = ks_p = batch_mean = math.nan
    unseen_share = math.nan
    examples: tuple[str, ...] = ()
    if isinstance(state, _NumericState):
        counts, ref_counts, ks, ks_p, batch_mean = state.result()
        labels = _numeric_bin_labels(ref.edges)
    else:
        counts, ref_counts = state.counts, np.asarray(ref.counts, dtype=np.int64)
        labels = (*ref.categories, OTHER_BIN)
        if state.known is not None and n:
            unseen_share = state.unseen / n
            examples = state.examples()
    batch_all = np.append(counts, state.n_missing)
    ref_all = np.append(ref_counts, ref.n_missing)
    batch_shares = batch_all / n if n else np.zeros(len(batch_all))
    ref_shares = ref_all / ref.n_rows
    column_missing = not state.seen
    if column_missing:
        psi = js = chi2_p = ks = ks_p = math.nan
    else:
        psi = population_stability_index(ref_shares, batch_shares)
        js = _js_distance(ref_shares, batch_shares)
        chi2_p = _chi2_pvalue(ref_all, batch_all)

    reasons: list[str] = []
    status: Status = "ok"
    certain = chi2_p < thresholds.alpha
    if column_missing:
        reasons.append("column_missing")
        status = "alert"
    else:
        if certain and psi >= thresholds.psi_warn:
            reasons.append("psi")
            status = "alert" if psi >= thresholds.psi_alert else "warn"
        if ks_p < thresholds.alpha and ks >= thresholds.ks_warn:
            reasons.append("ks")
        if certain and js >= thresholds.js_warn:
            reasons.append("js")
        if unseen_share >= thresholds.unseen_warn:
            reasons.append("unseen")
        if reasons and status == "ok":
            status = "warn"
    drift = FeatureDrift(
        feature=ref.name,
        role=ref.role,
        kind=ref.kind,
        status=status,
        reasons=tuple(reasons),
        n_rows=n,
        n_missing=state.n_missing,
        psi=psi,
        js=js,
        chi2_pvalue=chi2_p,
        ks=ks,
        ks_pvalue=ks_p,
        missing_share_reference=ref.missing_share,
        missing_share=missing_share,
        unseen_share=unseen_share,
        unseen_examples=examples,
        reference_mean=ref.mean,
        batch_mean=batch_mean,
        bins=(*labels, MISSING_BIN),
        reference_shares=tuple(float(s) for s in ref_shares),
        batch_shares=tuple(float(s) for s in batch_shares),
        column_missing=column_missing,
    )
    return _with_messages(drift, prediction=prediction)


def _with_messages(d: FeatureDrift, *, prediction: bool = False) -> FeatureDrift:
    """Attach the plain-language sentences: what changed, then what it may mean."""
    if d.status == "ok":
        return d
    name = _short(d.feature)
    out: list[Message] = []
    if d.column_missing:
        out.append(Message("monitoring.explain.column_missing", {"feature": name}))
        out.append(Message("monitoring.meaning.column_missing", {}))
        return FeatureDrift(**{**_as_kwargs(d), "messages": tuple(out)})
    subject = "prediction" if prediction else "numeric"
    if d.kind == "numeric" and math.isfinite(d.reference_mean) and math.isfinite(d.batch_mean):
        change = (d.batch_mean - d.reference_mean) / abs(d.reference_mean) if d.reference_mean else math.inf
        params = {
            "feature": name,
            "before": _number(d.reference_mean),
            "after": _number(d.batch_mean),
            "change": f"{change:+.0%}" if math.isfinite(change) else "",
            "ks": round(d.ks, 3) if math.isfinite(d.ks) else "–",
        }
        if abs(change) < _MEAN_CHANGE_MIN:
            out.append(Message(f"monitoring.explain.{subject}_shape", params))
        else:
            direction = "higher" if change > 0 else "lower"
            out.append(Message(f"monitoring.explain.{subject}_{direction}", params))
    elif d.kind == "categorical":
        diffs = np.asarray(d.batch_shares[:-1]) - np.asarray(d.reference_shares[:-1])
        if len(diffs):
            i = int(np.argmax(np.abs(diffs)))
            before, after = d.reference_shares[i], d.batch_shares[i]
            if d.bins[i] == OTHER_BIN:
                out.append(
                    Message("monitoring.explain.other_share", {"feature": name, "before": before, "after": after})
                )
            else:
                key = "monitoring.explain.prediction_share" if prediction else "monitoring.explain.category_share"
                params = {
                    "feature": name,
                    "category": _short(d.bins[i], _VALUE_CHARS),
                    "before": before,
                    "after": after,
                }
                out.append(Message(key, params))
    if "unseen" in d.reasons:
        examples = ", ".join(f"«{e}»" for e in d.unseen_examples)
        out.append(
            Message("monitoring.explain.unseen", {"feature": name, "share": d.unseen_share, "examples": examples})
        )
    if abs(d.missing_share - d.missing_share_reference) >= _MISSING_CHANGE_MIN:
        params = {"feature": name, "before": d.missing_share_reference, "after": d.missing_share}
        out.append(Message("monitoring.explain.missing", params))
    if prediction:
        out.append(Message("monitoring.meaning.prediction", {}))
    else:
        out.append(Message(f"monitoring.meaning.{d.status}", {}))
        if "unseen" in d.reasons:
            out.append(Message("monitoring.meaning.unseen", {}))
        if abs(d.missing_share - d.missing_share_reference) >= _MISSING_CHANGE_MIN:
            out.append(Message("monitoring.meaning.missing", {}))
    return FeatureDrift(**{**_as_kwargs(d), "messages": tuple(out)})


def _as_kwargs(d: FeatureDrift) -> dict[str, Any]:
    return {f.name: getattr(d, f.name) for f in fields(d)}


# --------------------------------------------------------------------------- batch report


@dataclass(frozen=True)
class DriftReport:
    """Drift of one scored batch against a model's reference.

    Attributes
    ----------
    status : {"ok", "warn", "alert"}
        The worst status of any feature or of the predictions.
    n_rows : int
        Rows in the batch.
    features : tuple of FeatureDrift
        One per reference feature, in reference order.
    prediction : FeatureDrift or None
        Prediction drift, when the reference has predictions and the batch has the column.
    thresholds : DriftThresholds
    missing_columns : tuple of str
        Reference features the batch did not have (each also reported with status ``alert``).
    extra_columns : tuple of str
        Batch columns the reference does not monitor (ignored; at most 100 listed).
    batch : str or None
        A name for the batch (its id or date), for the history.
    time : datetime or None
        When the batch was scored, for the history.
    messages : tuple of Message
        The overall verdict and what it may mean.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> train = pd.DataFrame({"x": rng.normal(size=500), "y": rng.normal(size=500)})
    >>> ref = build_reference(train, roles={})
    >>> batch = pd.DataFrame({"x": rng.normal(size=500) + 1.0, "y": rng.normal(size=500)})
    >>> report = drift_report(ref, batch)
    >>> report.status, report.drifted()
    ('alert', ('x',))
    """

    status: str
    n_rows: int
    features: tuple[FeatureDrift, ...]
    prediction: FeatureDrift | None
    thresholds: DriftThresholds
    missing_columns: tuple[str, ...] = ()
    extra_columns: tuple[str, ...] = ()
    batch: str | None = None
    time: datetime | None = None
    messages: tuple[Message, ...] = ()

    def drifted(self, level: str = "warn") -> tuple[str, ...]:
        """Features whose status is at least ``level`` (``"warn"`` or ``"alert"``), in reference order."""
        if level not in STATUSES[1:]:
            raise InputError("monitoring.drift.bad_level", level=_short(level), choices="warn, alert")
        rank = STATUSES.index(level)
        return tuple(f.feature for f in self.features if STATUSES.index(f.status) >= rank)

    def feature(self, name: str) -> FeatureDrift:
        """The drift of one feature (``monitoring.reference.unknown_feature`` if it is not monitored)."""
        for f in self.features:
            if f.feature == name:
                return f
        raise InputError("monitoring.reference.unknown_feature", feature=_short(name))

    def table(self) -> pd.DataFrame:
        """One row per feature (and one for the predictions, ``is_prediction`` true) with the statistics."""
        rows = [_row(f, False) for f in self.features]
        if self.prediction is not None:
            rows.append(_row(self.prediction, True))
        return pd.DataFrame(rows, columns=list(_TABLE_COLUMNS))

    def explain(self, lang: str = "en") -> list[str]:
        """The verdict, then the sentences of every drifted feature and of the predictions."""
        out = [m.text(lang) for m in self.messages]
        for f in (*self.features, *([self.prediction] if self.prediction is not None else [])):
            out.extend(m.text(lang) for m in f.messages)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON types only, tagged ``ciclo.drift_report/1`` (for storing the report with its batch)."""
        return {
            "format": _REPORT_FORMAT,
            "status": self.status,
            "n_rows": self.n_rows,
            "features": [f.to_dict() for f in self.features],
            "prediction": None if self.prediction is None else self.prediction.to_dict(),
            "thresholds": self.thresholds.to_dict(),
            "missing_columns": list(self.missing_columns),
            "extra_columns": list(self.extra_columns),
            "batch": self.batch,
            "time": None if self.time is None else self.time.isoformat(),
            "messages": [m.to_dict() for m in self.messages],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReport:
        """Rebuild from :meth:`to_dict` output (``monitoring.drift.bad_format`` if it is not one)."""
        try:
            if not isinstance(data, Mapping) or data.get("format") != _REPORT_FORMAT:
                raise ValueError(f"expected format {_REPORT_FORMAT}")
            prediction = data.get("prediction")
            return cls(
                status=str(data["status"]),
                n_rows=int(data["n_rows"]),
                features=tuple(FeatureDrift.from_dict(f) for f in data["features"]),
                prediction=None if prediction is None else FeatureDrift.from_dict(prediction),
                thresholds=DriftThresholds.from_dict(data["thresholds"]),
                missing_columns=tuple(str(c) for c in data["missing_columns"]),
                extra_columns=tuple(str(c) for c in data["extra_columns"]),
                batch=None if data.get("batch") is None else str(data["batch"]),
                time=None if data.get("time") is None else datetime.fromisoformat(str(data["time"])),
                messages=tuple(Message.from_dict(m) for m in data["messages"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InputError("monitoring.drift.bad_format", detail=_short(exc, 200)) from exc


_TABLE_COLUMNS = (
    "feature",
    "role",
    "kind",
    "is_prediction",
    "status",
    "psi",
    "js",
    "chi2_pvalue",
    "ks",
    "ks_pvalue",
    "missing_share_reference",
    "missing_share",
    "unseen_share",
    "reference_mean",
    "batch_mean",
    "column_missing",
    "n_rows",
)


def _row(f: FeatureDrift, is_prediction: bool) -> dict[str, Any]:
    row = {name: getattr(f, name) for name in _TABLE_COLUMNS if name != "is_prediction"}
    row["is_prediction"] = is_prediction
    return row


def _batch_messages(
    status: str,
    features: Sequence[FeatureDrift],
    prediction: FeatureDrift | None,
    n_rows: int,
    missing_prediction: bool,
) -> tuple[Message, ...]:
    alert = [_short(f.feature) for f in features if f.status == "alert"]
    warn = [_short(f.feature) for f in features if f.status == "warn"]
    n = len(features)
    out: list[Message] = []
    if status == "ok":
        out.append(Message("monitoring.summary.ok", {"n_rows": n_rows, "n_features": n}))
    elif alert:
        out.append(
            Message("monitoring.summary.alert", {"n_alert": len(alert), "n_features": n, "features": ", ".join(alert)})
        )
        if warn:
            out.append(Message("monitoring.summary.also_warn", {"n_warn": len(warn), "features": ", ".join(warn)}))
    elif warn:
        out.append(
            Message("monitoring.summary.warn", {"n_warn": len(warn), "n_features": n, "features": ", ".join(warn)})
        )
    if prediction is not None and prediction.status != "ok":
        out.append(Message(f"monitoring.summary.prediction_{prediction.status}", {}))
    if missing_prediction:
        out.append(Message("monitoring.summary.prediction_not_found", {}))
    if status != "ok":
        out.append(Message(f"monitoring.meaning.batch_{status}", {}))
    return tuple(out)


class DriftAccumulator:
    """Drift of one batch fed chunk by chunk (pages of a SQL query, Parquet row groups).

    Memory stays bounded whatever the batch size: per numeric feature a few thousand counters,
    per categorical feature one counter per top value (plus at most 1,000 unseen values by name).

    Parameters
    ----------
    reference : DriftReference
    prediction_column : str, optional
        The batch column holding the model's predictions; defaults to the reference's
        prediction name. Prediction drift is computed only when the reference has predictions
        and the batch has this column.
    thresholds : DriftThresholds, optional

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> ref = build_reference(pd.DataFrame({"x": rng.normal(size=1000)}), roles={})
    >>> acc = DriftAccumulator(ref)
    >>> for start in range(0, 1000, 250):
    ...     _ = acc.update(pd.DataFrame({"x": rng.normal(size=250)}))
    >>> acc.report(batch="2025-06").status
    'ok'
    """

    def __init__(
        self,
        reference: DriftReference,
        *,
        prediction_column: str | None = None,
        thresholds: DriftThresholds | None = None,
    ) -> None:
        if not isinstance(reference, DriftReference):
            raise InputError("monitoring.drift.not_a_reference", type=_short(type(reference).__name__))
        if thresholds is not None and not isinstance(thresholds, DriftThresholds):
            raise InputError("monitoring.drift.bad_threshold", name="thresholds", value=_short(thresholds))
        self.reference = reference
        self.thresholds = thresholds or DriftThresholds()
        self._states = [_new_state(ref) for ref in reference.features]
        self._prediction_name: str | None = None
        self._prediction: _State | None = None
        if reference.prediction is not None:
            self._prediction_name = prediction_column or reference.prediction.name
            self._prediction = _new_state(reference.prediction)
        self._known = {*reference.feature_names, *reference.skipped}
        self._extra: dict[str, None] = {}
        self.n_rows = 0
        self.n_chunks = 0

    def update(self, chunk: pd.DataFrame) -> DriftAccumulator:
        """Count one chunk of the batch; returns ``self``.

        A chunk without one of the reference's columns counts its rows as missing for that
        feature; a feature whose column is in no chunk at all is reported as missing (alert).

        Raises
        ------
        InputError
            ``monitoring.not_a_frame``, ``monitoring.duplicate_column``,
            ``monitoring.column_name_not_text``.
        """
        _check_frame(chunk, empty_key="")
        n = len(chunk)
        columns = set(chunk.columns)
        for state in self._states:
            name = state.ref.name
            state.add(chunk[name] if name in columns else None, n)
        if self._prediction is not None and self._prediction_name is not None:
            name = self._prediction_name
            self._prediction.add(chunk[name] if name in columns else None, n)
        if len(self._extra) < _MAX_LISTED_COLUMNS:
            for name in chunk.columns:
                if name not in self._known and name != self._prediction_name:
                    self._extra.setdefault(name, None)
        self.n_rows += n
        self.n_chunks += 1
        return self

    def report(self, *, batch: str | None = None, time: datetime | None = None) -> DriftReport:
        """The drift of everything fed so far.

        Raises
        ------
        InputError
            ``monitoring.drift.empty_batch`` if no rows were fed.
        """
        if self.n_rows == 0:
            raise InputError("monitoring.drift.empty_batch")
        features = tuple(_feature_result(s, self.thresholds) for s in self._states)
        prediction = None
        missing_prediction = False
        if self._prediction is not None:
            if self._prediction.seen:
                prediction = _feature_result(self._prediction, self.thresholds, prediction=True)
            else:
                missing_prediction = True
        worst = max((STATUSES.index(f.status) for f in features), default=0)
        if prediction is not None:
            worst = max(worst, STATUSES.index(prediction.status))
        status = STATUSES[worst]
        return DriftReport(
            status=status,
            n_rows=self.n_rows,
            features=features,
            prediction=prediction,
            thresholds=self.thresholds,
            missing_columns=tuple(f.feature for f in features if f.column_missing),
            extra_columns=tuple(_short(c) for c in list(self._extra)[:_MAX_LISTED_COLUMNS]),
            batch=None if batch is None else _short(batch, 200),
            time=time,
            messages=_batch_messages(status, features, prediction, self.n_rows, missing_prediction),
        )


def drift_report(
    reference: DriftReference,
    data: pd.DataFrame | Iterable[pd.DataFrame],
    *,
    prediction_column: str | None = None,
    thresholds: DriftThresholds | None = None,
    batch: str | None = None,
    time: datetime | None = None,
) -> DriftReport:
    """Drift of a batch given as one frame or as an iterable of chunks (see :class:`DriftAccumulator`).

    Parameters
    ----------
    reference : DriftReference
    data : pandas.DataFrame or iterable of pandas.DataFrame
    prediction_column, thresholds
        As in :class:`DriftAccumulator`.
    batch, time : optional
        Name and time of the batch, kept in the report for the history.

    Returns
    -------
    DriftReport

    Raises
    ------
    InputError
        ``monitoring.drift.empty_batch`` and the errors of :meth:`DriftAccumulator.update`.
    """
    acc = DriftAccumulator(reference, prediction_column=prediction_column, thresholds=thresholds)
    chunks: Iterable[pd.DataFrame] = [data] if isinstance(data, pd.DataFrame) else data
    for chunk in chunks:
        acc.update(chunk)
    return acc.report(batch=batch, time=time)


_HISTORY_COLUMNS = (
    "order",
    "batch",
    "time",
    "batch_status",
    "feature",
    "is_prediction",
    "status",
    "psi",
    "js",
    "ks",
    "chi2_pvalue",
    "ks_pvalue",
    "missing_share",
    "unseen_share",
    "batch_mean",
    "n_rows",
)


def drift_history(reports: Sequence[DriftReport]) -> pd.DataFrame:
    """A tidy frame for trend charts: one row per batch and feature (and per batch for predictions).

    Parameters
    ----------
    reports : sequence of DriftReport
        In any order; rows are sorted by ``time`` (reports without a time keep their place
        after the timed ones), then by the order given.

    Returns
    -------
    pandas.DataFrame
        Columns ``order`` (position in ``reports``), ``batch``, ``time``, ``batch_status``,
        ``feature``, ``is_prediction``, ``status``, ``psi``, ``js``, ``ks``, ``chi2_pvalue``,
        ``ks_pvalue``, ``missing_share``, ``unseen_share``, ``batch_mean``, ``n_rows``.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> ref = build_reference(pd.DataFrame({"x": rng.normal(size=300)}), roles={})
    >>> reports = [drift_report(ref, pd.DataFrame({"x": rng.normal(size=300) + s}), batch=f"b{s}") for s in (0, 1)]
    >>> drift_history(reports)[["batch", "feature", "status"]].values.tolist()
    [['b0', 'x', 'ok'], ['b1', 'x', 'alert']]
    """
    rows: list[dict[str, Any]] = []
    for order, report in enumerate(reports):
        if not isinstance(report, DriftReport):
            raise InputError("monitoring.drift.not_a_report", type=_short(type(report).__name__))
        parts = [(f, False) for f in report.features]
        if report.prediction is not None:
            parts.append((report.prediction, True))
        for f, is_prediction in parts:
            rows.append(
                {
                    "order": order,
                    "batch": report.batch,
                    "time": pd.Timestamp(report.time) if report.time is not None else pd.NaT,
                    "batch_status": report.status,
                    "feature": f.feature,
                    "is_prediction": is_prediction,
                    "status": f.status,
                    "psi": f.psi,
                    "js": f.js,
                    "ks": f.ks,
                    "chi2_pvalue": f.chi2_pvalue,
                    "ks_pvalue": f.ks_pvalue,
                    "missing_share": f.missing_share,
                    "unseen_share": f.unseen_share,
                    "batch_mean": f.batch_mean,
                    "n_rows": f.n_rows,
                }
            )
    frame = pd.DataFrame(rows, columns=list(_HISTORY_COLUMNS))
    if frame.empty:
        return frame
    return frame.sort_values(["time", "order"], kind="stable", na_position="last").reset_index(drop=True)
