"""Row steps: cleaning that changes which rows or values exist. Applied to a whole dataset, they make a new,
materialised dataset version (impute, drop columns, drop duplicates, outliers, fix types, tidy categories,
smooth by binning).

Each step learns what it needs from the frame it cleans (medians, clip bounds, kept categories, bin edges)
and returns it as a JSON-safe ``state``; passing that state back applies the same values to other data
(next month's rows, rows to score) instead of learning them again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field, Strict

from mlcore.data.prepare.processing import (
    MAX_FIT_ROWS,
    NUMERIC_STRATEGIES,
    FrameImputer,
    ImputeParams,
    fill_value,
    impute_roles,
)
from mlcore.data.prepare.steps import (
    Bool,
    ColumnList,
    ColumnName,
    Float,
    Int,
    RowOutcome,
    Schema,
    StepContext,
    StepParams,
    StepSpec,
    Text,
    finite_or_none,
    resolve_columns,
)
from mlcore.errors import InputError

__all__ = [
    "ALL_ROLES",
    "ROW_STEPS",
    "BinParams",
    "DropColumnsParams",
    "DuplicatesParams",
    "FixTypesParams",
    "OutlierParams",
    "TidyParams",
]

ALL_ROLES: tuple[str, ...] = ("numeric", "categorical", "boolean", "datetime", "text", "identifier")
Floats = npt.NDArray[np.float64]
Seed = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]
_MAX_EXAMPLES = 5


def _numbers(frame: pd.DataFrame, column: str, ctx: StepContext) -> Floats:
    series = frame[column]
    if pd.api.types.is_bool_dtype(series.dtype) or not (
        pd.api.types.is_numeric_dtype(series.dtype) or series.isna().all()
    ):
        raise InputError("prep.column_not_numeric", step=ctx.step, column=str(column)[:80], dtype=str(series.dtype))
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return finite_or_none(value)
    return value


def _present(columns: Sequence[str], frame: pd.DataFrame) -> tuple[str, ...]:
    """Columns that are in the frame (the target may be absent from rows to score)."""
    return tuple(c for c in columns if c in frame.columns)


def _placed(frame: pd.DataFrame, new: Mapping[str, tuple[str, pd.Series | Floats]]) -> pd.DataFrame:
    """``frame`` with new columns, each right after the column it belongs to (name -> (after, values))."""
    if not new:
        return frame
    additions = pd.DataFrame({name: values for name, (_, values) in new.items()}, index=frame.index)
    following: dict[str, list[str]] = {}
    for name, (after, _) in new.items():
        following.setdefault(after, []).append(name)
    order: list[str] = []
    for column in frame.columns:
        order.append(column)
        order.extend(following.pop(column, []))
    for rest in following.values():
        order.extend(rest)
    return pd.concat([frame, additions], axis=1)[order]


# ----------------------------------------------------------------------------- impute


def _check_impute_rows(params: ImputeParams, schema: Schema, ctx: StepContext) -> Schema:
    columns = resolve_columns(params.columns, schema, ctx, roles=impute_roles(params))
    _check_fill_type(params, schema, columns, ctx)
    if params.add_indicator:
        return schema.adding({f"{c}_missing": "boolean" for c in columns}, ctx=ctx)
    return schema


def _check_fill_type(params: ImputeParams, schema: Schema, columns: Sequence[str], ctx: StepContext) -> None:
    if params.strategy != "constant" or params.fill_value is None:
        return
    for column in columns:
        numeric = schema.roles[column] == "numeric"
        if numeric != isinstance(params.fill_value, float | int):
            raise InputError(
                "prep.fill_value_type", step=ctx.step, column=column[:80], value=str(params.fill_value)[:40]
            )


def _apply_impute_rows(
    frame: pd.DataFrame, params: ImputeParams, schema: Schema, ctx: StepContext, state: Mapping[str, Any] | None
) -> RowOutcome:
    columns = _present(resolve_columns(params.columns, schema, ctx, roles=impute_roles(params)), frame)
    numeric = params.strategy in NUMERIC_STRATEGIES
    if numeric:
        for column in columns:
            _numbers(frame, column, ctx)
    gaps = {c: frame[c].isna() for c in columns}
    changed = {c: int(gap.sum()) for c, gap in gaps.items()}
    if params.strategy != "constant" and not (state and "fill" in state):
        empty = [c for c in columns if changed[c] == len(frame)]
        if empty:
            raise InputError("prep.all_missing", step=ctx.step, column=str(empty[0])[:80])
    new_state: dict[str, Any] | None = None
    facts: dict[str, Any] = {}
    if params.strategy in ("knn", "iterative"):
        imputer = FrameImputer(
            strategy=params.strategy,
            n_neighbors=params.n_neighbors,
            max_iter=params.max_iter,
            random_state=params.random_state,
        )
        filled = imputer.fit_transform(frame[list(columns)]) if columns else frame[[]]
        out = frame.copy()
        for column in columns:
            if changed[column]:
                out[column] = filled[column].to_numpy()
        facts["fit_rows"] = min(len(frame), MAX_FIT_ROWS)
    else:
        known = dict(state.get("fill", {})) if state else {}
        fills = {
            c: known[c] if c in known else fill_value(frame[c], params.strategy, params.fill_value) for c in columns
        }
        todo = {c: v for c, v in fills.items() if changed[c]}
        out = frame.fillna(todo) if todo else frame
        new_state = {"fill": {c: _plain(v) for c, v in fills.items()}}
    if params.add_indicator:
        out = _placed(out, {f"{c}_missing": (c, gaps[c].to_numpy()) for c in columns})
    return RowOutcome(out, new_state, {c: n for c, n in changed.items() if n}, facts)


# ----------------------------------------------------------------------------- drop columns / duplicates


class DropColumnsParams(StepParams):
    """Remove columns that should not be used (leaks, identifiers, empty columns)."""

    columns: ColumnList


def _check_drop_columns(params: DropColumnsParams, schema: Schema, ctx: StepContext) -> Schema:
    return schema.without(resolve_columns(params.columns, schema, ctx, roles=ALL_ROLES))


def _apply_drop_columns(
    frame: pd.DataFrame, params: DropColumnsParams, schema: Schema, ctx: StepContext, state: Mapping[str, Any] | None
) -> RowOutcome:
    columns = resolve_columns(params.columns, schema, ctx, roles=ALL_ROLES)
    return RowOutcome(frame.drop(columns=list(_present(columns, frame))), None, {})


class DuplicatesParams(StepParams):
    """Remove repeated rows; by default rows equal in every column but identifiers."""

    columns: ColumnList | None = None
    keep: Literal["first", "last", "none"] = "first"
    ignore_identifiers: Bool = True


def _duplicate_subset(params: DuplicatesParams, schema: Schema, ctx: StepContext) -> tuple[str, ...]:
    if params.columns is not None:
        return resolve_columns(params.columns, schema, ctx, roles=ALL_ROLES, allow_target=True)
    return tuple(c for c, r in schema.roles.items() if not (params.ignore_identifiers and r == "identifier"))


def _check_duplicates(params: DuplicatesParams, schema: Schema, ctx: StepContext) -> Schema:
    _duplicate_subset(params, schema, ctx)
    return schema


def _apply_duplicates(
    frame: pd.DataFrame, params: DuplicatesParams, schema: Schema, ctx: StepContext, state: Mapping[str, Any] | None
) -> RowOutcome:
    subset = list(_present(_duplicate_subset(params, schema, ctx), frame))
    if not subset or frame.empty:
        return RowOutcome(frame, None, {}, {"duplicates": 0})
    keep: Literal["first", "last", False] = False if params.keep == "none" else params.keep
    try:
        repeated = frame.duplicated(subset=subset, keep=keep)
    except TypeError:  # unhashable cells (lists): compare their text
        repeated = frame[subset].astype(str).duplicated(keep=keep)
    count = int(repeated.sum())
    return RowOutcome(frame[~repeated] if count else frame, None, {}, {"duplicates": count})


# ----------------------------------------------------------------------------- outliers


class OutlierParams(StepParams):
    """Find extreme values (IQR fences, z-score, or an isolation forest over several columns) and remove the
    rows, clip the values to the fences, or flag the rows in a new column."""

    columns: ColumnList | None = None
    method: Literal["iqr", "zscore", "isolation_forest"] = "iqr"
    action: Literal["remove", "clip", "flag"] = "clip"
    iqr_factor: Float = Field(1.5, gt=0.0, le=100.0)
    z_threshold: Float = Field(3.0, gt=0.0, le=100.0)
    contamination: Literal["auto"] | Annotated[float, Strict(), Field(gt=0.0, le=0.5)] = "auto"
    flag_column: ColumnName = "outlier"
    random_state: Seed = 0


def _check_outliers(params: OutlierParams, schema: Schema, ctx: StepContext) -> Schema:
    resolve_columns(params.columns, schema, ctx, roles=("numeric",), allow_target=True)
    if params.method == "isolation_forest" and params.action == "clip":
        raise InputError("prep.clip_needs_bounds", step=ctx.step)
    if params.action == "flag":
        return schema.adding({params.flag_column: "boolean"}, ctx=ctx)
    return schema


def fences(values: Floats, *, method: str, iqr_factor: float = 1.5, z_threshold: float = 3.0) -> tuple[float, float]:
    """Lower and upper bounds outside which a value is an outlier (NaN values ignored).

    Examples
    --------
    >>> fences(np.array([1.0, 2.0, 3.0, 4.0, 100.0]), method="iqr")
    (-1.0, 7.0)
    """
    present = values[~np.isnan(values)]
    if present.size == 0:
        return -np.inf, np.inf
    if method == "iqr":
        q1, q3 = np.quantile(present, [0.25, 0.75])
        spread = q3 - q1
        return float(q1 - iqr_factor * spread), float(q3 + iqr_factor * spread)
    mean, std = float(present.mean()), float(present.std())
    return mean - z_threshold * std, mean + z_threshold * std


def _apply_outliers(
    frame: pd.DataFrame, params: OutlierParams, schema: Schema, ctx: StepContext, state: Mapping[str, Any] | None
) -> RowOutcome:
    columns = _present(resolve_columns(params.columns, schema, ctx, roles=("numeric",), allow_target=True), frame)
    values = {c: _numbers(frame, c, ctx) for c in columns}
    changed: dict[str, int] = {}
    new_state: dict[str, Any] | None = None
    if params.method == "isolation_forest":
        from sklearn.ensemble import IsolationForest

        if not columns or frame.empty:
            flagged = np.zeros(len(frame), dtype=bool)
        else:
            matrix = np.column_stack([values[c] for c in columns])
            with np.errstate(all="ignore"):
                medians = np.nan_to_num(np.nanmedian(matrix, axis=0))
            matrix = np.where(np.isnan(matrix), medians, matrix)
            forest = IsolationForest(contamination=params.contamination, random_state=params.random_state)
            flagged = forest.fit(matrix).predict(matrix) == -1
    else:
        known = dict(state.get("bounds", {})) if state else {}
        bounds: dict[str, tuple[float, float]] = {}
        flagged = np.zeros(len(frame), dtype=bool)
        out_by_column: dict[str, npt.NDArray[np.bool_]] = {}
        for column in columns:
            if column in known:
                saved_low, saved_high = known[column]
                low = -np.inf if saved_low is None else float(saved_low)
                high = np.inf if saved_high is None else float(saved_high)
            else:
                low, high = fences(
                    values[column], method=params.method, iqr_factor=params.iqr_factor, z_threshold=params.z_threshold
                )
            bounds[column] = (float(low), float(high))
            outside = (values[column] < low) | (values[column] > high)
            out_by_column[column] = outside
            flagged |= outside
        new_state = {"bounds": {c: [finite_or_none(lo), finite_or_none(hi)] for c, (lo, hi) in bounds.items()}}
        if params.action == "clip":
            out = frame.copy() if any(m.any() for m in out_by_column.values()) else frame
            for column, outside in out_by_column.items():
                count = int(outside.sum())
                if count:
                    low, high = bounds[column]
                    out[column] = np.clip(values[column], low, high)
                    changed[column] = count
            return RowOutcome(out, new_state, changed, {"outliers": int(flagged.sum())})
    count = int(flagged.sum())
    facts = {"outliers": count}
    if params.action == "remove":
        return RowOutcome(frame[~flagged] if count else frame, new_state, {}, facts)
    flags = frame.copy()
    flags[params.flag_column] = flagged
    return RowOutcome(flags, new_state, {params.flag_column: count} if count else {}, facts)


# ----------------------------------------------------------------------------- fix types


class FixTypesParams(StepParams):
    """Read text that holds numbers (``1.234,5``, ``$ 3,000``) or dates as real numbers or dates; values
    that cannot be read become missing and are counted."""

    columns: ColumnList
    to: Literal["number", "date"] = "number"
    decimal: Literal["auto", "point", "comma"] = "auto"
    date_format: Text | None = None
    dayfirst: Bool = False


def _fix_roles(params: FixTypesParams) -> tuple[str, ...]:
    if params.to == "number":
        return ("categorical", "text", "identifier", "boolean")
    return ("categorical", "text", "identifier", "numeric")


def _check_fix_types(params: FixTypesParams, schema: Schema, ctx: StepContext) -> Schema:
    columns = resolve_columns(params.columns, schema, ctx, roles=_fix_roles(params), allow_target=True)
    return schema.with_roles(dict.fromkeys(columns, "numeric" if params.to == "number" else "datetime"))


_SPACES = re.compile(r"[\s'\u00a0\u202f$€£¥]")
_COMMA_DECIMAL = r"[-+]?[\d.]*\d,\d+"
_POINT_DECIMAL = r"[-+]?[\d,]*\d\.\d+"


def decimal_mark(text: pd.Series) -> str:
    """``","`` when the values write decimals with a comma (``3,5``, ``1.234,56``), else ``"."``.

    Examples
    --------
    >>> decimal_mark(pd.Series(["1.234,5", "3,25", "7"])), decimal_mark(pd.Series(["1,234.5", "7"]))
    (',', '.')
    """
    sample = text.dropna().astype(str).head(10_000).str.replace(_SPACES, "", regex=True)
    commas = int(sample.str.fullmatch(_COMMA_DECIMAL).sum())
    points = int(sample.str.fullmatch(_POINT_DECIMAL).sum())
    return "," if commas > points else "."


def read_numbers(column: pd.Series, decimal: str) -> Floats:
    """Numbers written as text; what cannot be read is NaN.

    Examples
    --------
    >>> read_numbers(pd.Series(["1.234,5", " 7 ", "n/a", None]), ",").tolist()
    [1234.5, 7.0, nan, nan]
    """
    text = column.astype("string").str.replace(_SPACES, "", regex=True)
    if decimal == ",":
        text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        text = text.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text, errors="coerce")
    return np.asarray(pd.Series(numbers).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def read_dates(column: pd.Series, *, date_format: str | None, dayfirst: bool) -> pd.Series:
    """Dates written as text (or numbers such as ``20240131`` with a format); what cannot be read is NaT.

    Examples
    --------
    >>> read_dates(pd.Series(["2024-01-31", "soon", None]), date_format=None, dayfirst=False).tolist()
    [Timestamp('2024-01-31 00:00:00'), NaT, NaT]
    """
    text = column.astype("string") if not pd.api.types.is_string_dtype(column.dtype) else column
    text = text.where(column.notna(), None).astype(object)

    def parse(values: pd.Series, fmt: str | None) -> pd.Series:
        try:
            out = pd.to_datetime(values, errors="coerce", format=fmt, dayfirst=dayfirst)
        except (ValueError, TypeError):
            out = pd.to_datetime(values, errors="coerce", format=fmt, dayfirst=dayfirst, utc=True)
        if isinstance(out.dtype, pd.DatetimeTZDtype):
            out = out.dt.tz_convert(None)
        return pd.Series(out, index=values.index)

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        dates = parse(text, date_format)
        retry = dates.isna() & column.notna()
        if date_format is None and retry.any():
            dates = dates.astype("datetime64[ns]")
            dates[retry] = parse(text[retry], "mixed").astype("datetime64[ns]")
    return dates


def _apply_fix_types(
    frame: pd.DataFrame, params: FixTypesParams, schema: Schema, ctx: StepContext, state: Mapping[str, Any] | None
) -> RowOutcome:
    columns = _present(resolve_columns(params.columns, schema, ctx, roles=_fix_roles(params), allow_target=True), frame)
    known = dict(state.get("decimal", {})) if state else {}
    out = frame.copy()
    changed: dict[str, int] = {}
    unread: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    marks: dict[str, str] = {}
    for column in columns:
        original = frame[column]
        present = original.notna()
        if params.to == "number":
            if pd.api.types.is_numeric_dtype(original.dtype) and not pd.api.types.is_bool_dtype(original.dtype):
                continue
            if pd.api.types.is_bool_dtype(original.dtype):
                converted: Any = original.astype(float)
            else:
                chosen = {"point": ".", "comma": ","}.get(params.decimal)
                mark = known.get(column) or chosen or decimal_mark(original)
                marks[column] = mark
                converted = read_numbers(original, mark)
            lost = present.to_numpy() & np.isnan(np.asarray(converted, dtype=np.float64))
        else:
            if pd.api.types.is_datetime64_any_dtype(original.dtype):
                continue
            converted = read_dates(original, date_format=params.date_format, dayfirst=params.dayfirst)
            lost = (present & converted.isna()).to_numpy()
        out[column] = converted
        changed[column] = int(present.sum())
        if lost.any():
            unread[column] = int(lost.sum())
            examples[column] = [str(v)[:40] for v in original[lost].head(_MAX_EXAMPLES)]
    facts: dict[str, Any] = {"unread": unread, "examples": examples} if unread else {}
    return RowOutcome(out, {"decimal": marks} if marks else None, {c: n for c, n in changed.items() if n}, facts)


# ----------------------------------------------------------------------------- tidy categories


class TidyParams(StepParams):
    """Tidy category text (trim, collapse spaces, one case) and merge rare categories into one."""

    columns: ColumnList | None = None
    trim: Bool = True
    collapse_spaces: Bool = True
    case: Literal["keep", "lower", "upper", "title"] = "keep"
    min_share: Float = Field(0.0, ge=0.0, le=0.5)
    min_count: Int = Field(0, ge=0, le=10**9)
    max_categories: Int | None = Field(None, ge=1, le=10_000)
    other_label: Annotated[str, Strict(), Field(min_length=1, max_length=200)] = "other"


_TIDY_ROLES = ("categorical", "text")


def _check_tidy(params: TidyParams, schema: Schema, ctx: StepContext) -> Schema:
    resolve_columns(params.columns, schema, ctx, roles=_TIDY_ROLES, allow_target=True)
    return schema


def tidy_text(values: pd.Series, *, trim: bool, collapse_spaces: bool, case: str) -> pd.Series:
    """The text of each value trimmed, with single spaces and one case (missing values stay missing).

    Examples
    --------
    >>> values = pd.Series(["  New   York", "new york ", None])
    >>> tidy_text(values, trim=True, collapse_spaces=True, case="title").tolist()
    ['New York', 'New York', None]
    """
    present = values.notna()
    text = values[present].astype(str)
    if collapse_spaces:
        text = text.str.replace(r"\s+", " ", regex=True)
    if trim:
        text = text.str.strip()
    if case != "keep":
        text = getattr(text.str, case)()
    out = values.astype(object).copy()
    out[present] = text
    return out.where(present, None)


def _apply_tidy(
    frame: pd.DataFrame, params: TidyParams, schema: Schema, ctx: StepContext, state: Mapping[str, Any] | None
) -> RowOutcome:
    columns = _present(resolve_columns(params.columns, schema, ctx, roles=_TIDY_ROLES, allow_target=True), frame)
    known = dict(state.get("kept", {})) if state else {}
    merging = params.min_share > 0 or params.min_count > 0 or params.max_categories is not None
    out = frame.copy()
    changed: dict[str, int] = {}
    kept_state: dict[str, list[Any]] = {}
    merged: dict[str, int] = {}
    for column in columns:
        original = frame[column]
        tidy = tidy_text(original, trim=params.trim, collapse_spaces=params.collapse_spaces, case=params.case)
        present = tidy.notna()
        if merging:
            if column in known:
                kept = set(known[column])
            else:
                counts = tidy[present].value_counts()
                limit = max(params.min_count, params.min_share * int(present.sum()))
                ordered = counts[counts >= limit] if limit > 0 else counts
                if params.max_categories is not None:
                    ordered = ordered.head(params.max_categories)
                kept = set(ordered.index)
                merged[column] = int(len(counts) - len(kept))
            kept_state[column] = sorted(kept, key=str)
            rare = present & ~tidy.isin(kept)
            tidy = tidy.where(~rare, params.other_label)
        differs = present & (tidy.astype(object) != original.astype(object))
        out[column] = tidy
        if differs.any():
            changed[column] = int(differs.sum())
    return RowOutcome(out, {"kept": kept_state} if merging else None, changed, {"merged": merged} if merged else {})


# ----------------------------------------------------------------------------- smoothing (binning)


class BinParams(StepParams):
    """Smooth noisy numbers: cut each column into bins and replace every value by its bin's mean or median,
    the nearer bin edge, or the bin number."""

    columns: ColumnList | None = None
    n_bins: Int = Field(10, ge=2, le=1000)
    strategy: Literal["quantile", "uniform"] = "quantile"
    replace_with: Literal["mean", "median", "edges", "index"] = "mean"


def _check_bins(params: BinParams, schema: Schema, ctx: StepContext) -> Schema:
    resolve_columns(params.columns, schema, ctx, roles=("numeric",))
    return schema


def bin_edges(values: Floats, *, n_bins: int, strategy: str) -> Floats:
    """Increasing bin edges over the values present (fewer bins when values repeat).

    Examples
    --------
    >>> bin_edges(np.array([0.0, 1.0, 2.0, 3.0, 4.0]), n_bins=2, strategy="uniform").tolist()
    [0.0, 2.0, 4.0]
    """
    present = values[~np.isnan(values)]
    if present.size == 0:
        return np.asarray([], dtype=np.float64)
    if strategy == "quantile":
        edges = np.quantile(present, np.linspace(0.0, 1.0, n_bins + 1))
    else:
        edges = np.linspace(present.min(), present.max(), n_bins + 1)
    return np.asarray(np.unique(edges), dtype=np.float64)


def _bin_index(values: Floats, edges: Floats) -> npt.NDArray[np.intp]:
    inner = edges[1:-1]
    return np.asarray(np.searchsorted(inner, values, side="right"), dtype=np.intp)


def _apply_bins(
    frame: pd.DataFrame, params: BinParams, schema: Schema, ctx: StepContext, state: Mapping[str, Any] | None
) -> RowOutcome:
    columns = _present(resolve_columns(params.columns, schema, ctx, roles=("numeric",)), frame)
    known_edges = dict(state.get("edges", {})) if state else {}
    known_values = dict(state.get("values", {})) if state else {}
    out = frame.copy()
    changed: dict[str, int] = {}
    edges_state: dict[str, list[float]] = {}
    values_state: dict[str, list[float | None]] = {}
    for column in columns:
        values = _numbers(frame, column, ctx)
        if column in known_edges:
            edges = np.asarray(known_edges[column], dtype=np.float64)
        else:
            edges = bin_edges(values, n_bins=params.n_bins, strategy=params.strategy)
        if edges.size < 2:
            continue
        present = ~np.isnan(values)
        index = _bin_index(values, edges)
        n = edges.size - 1
        if params.replace_with in ("mean", "median"):
            if column in known_values:
                per_bin = np.asarray([np.nan if v is None else v for v in known_values[column]], dtype=np.float64)
            else:
                groups = pd.Series(values[present]).groupby(index[present])
                summary = groups.mean() if params.replace_with == "mean" else groups.median()
                per_bin = summary.reindex(range(n)).to_numpy(dtype=np.float64)
            values_state[column] = [finite_or_none(v) for v in per_bin]
            smoothed = np.where(present, per_bin[np.minimum(index, n - 1)], np.nan)
        elif params.replace_with == "edges":
            low, high = edges[np.minimum(index, n - 1)], edges[np.minimum(index, n - 1) + 1]
            smoothed = np.where(np.abs(values - low) <= np.abs(high - values), low, high)
            smoothed = np.where(present, smoothed, np.nan)
        else:
            smoothed = np.where(present, np.minimum(index, n - 1).astype(np.float64), np.nan)
        edges_state[column] = [float(e) for e in edges]
        differs = present & (smoothed != values)
        out[column] = smoothed
        if differs.any():
            changed[column] = int(differs.sum())
    state_out: dict[str, Any] = {"edges": edges_state}
    if values_state:
        state_out["values"] = values_state
    return RowOutcome(out, state_out, changed)


# ----------------------------------------------------------------------------- registry


def _row(kind: str, group: str, params: type[StepParams], check: Any, apply: Any, **options: Any) -> StepSpec:
    return StepSpec(kind=kind, stage="row", group=group, params=params, check=check, apply=apply, **options)


ROW_STEPS: Mapping[str, StepSpec] = {
    spec.kind: spec
    for spec in (
        _row("impute_rows", "imputation", ImputeParams, _check_impute_rows, _apply_impute_rows, prefer="impute"),
        _row("drop_columns", "columns", DropColumnsParams, _check_drop_columns, _apply_drop_columns),
        _row("drop_duplicates", "duplicates", DuplicatesParams, _check_duplicates, _apply_duplicates),
        _row("outliers", "outliers", OutlierParams, _check_outliers, _apply_outliers),
        _row("fix_types", "types", FixTypesParams, _check_fix_types, _apply_fix_types),
        _row("tidy_categories", "categories", TidyParams, _check_tidy, _apply_tidy),
        _row("bin_numeric", "smoothing", BinParams, _check_bins, _apply_bins),
    )
}
"""Row step kinds, in the order the page lists them."""
