"""Data understanding: a fast native overview of a frame (column statistics, distributions, relation
to the target) and ydata-profiling's full HTML report for when the details are wanted.

The overview is cheap enough to compute on every visit; figures are built only when a page asks
for one, from data the overview already holds, so they stay language-neutral (axis titles come in
through ``labels``).
"""

from __future__ import annotations

import html
import math
import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import rankdata

from mlcore.data.ingest import ROLES
from mlcore.errors import InputError
from mlcore.i18n import translate

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "TASK_TYPES",
    "Distribution",
    "Overview",
    "ProfileResult",
    "as_datetime",
    "column_distribution",
    "compare_reports_html",
    "distribution_figure",
    "missing_figure",
    "overview",
    "profile_report_html",
    "target_relation_figure",
    "target_relation_strength",
]

TASK_TYPES = ("classification", "regression")

Progress = Callable[[float, str], None]
Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]

_TOP_K = 20  # categories kept for bars and for the stats table
_HIST_BINS = 30
_UNIT_BINS_MAX_RANGE = 60  # whole numbers spanning at most this get one bar per value
_LABEL_CHARS = 40  # category and column labels on axes are cut to this
_TITLE_CHARS = 80

# Univariate relation to the target: each feature is cut into a few codes (quantile bins for
# numbers, the categories themselves otherwise), and each code predicts the target mean seen
# for it in the other folds. That is a one-feature model as strong as a depth-limited tree,
# but vectorised (a few bincounts): 1,000 features on 1,000 rows score in under a second.
_RELATION_BINS = 20
_RELATION_FOLDS = 5
_RELATION_MAX_CLASSES = 20
_RELATION_SMOOTHING = 1.0
_RELATION_MIN_ROWS = 10
RELATION_MAX_ROWS = 20_000

_RELATION_TOP_CATEGORIES = 15
_RELATION_TOP_CLASSES = 10


# --------------------------------------------------------------------------- validation


def _short(text: object, limit: int = _LABEL_CHARS) -> str:
    s = str(text)
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _check_frame(df: object) -> pd.DataFrame:
    """Refuse what the rest of this module cannot describe, with a key the page can translate."""
    if not isinstance(df, pd.DataFrame):
        raise InputError("profiling.not_a_frame", type=type(df).__name__)
    if df.shape[1] == 0:
        raise InputError("profiling.no_columns")
    if df.shape[0] == 0:
        raise InputError("profiling.no_rows")
    for name in df.columns:
        if not isinstance(name, str):
            raise InputError("profiling.column_name_not_text", column=_short(name))
    if df.columns.has_duplicates:
        raise InputError("profiling.duplicate_column", column=_short(df.columns[df.columns.duplicated()][0]))
    return df


def _check_task(task_type: str) -> None:
    if task_type not in TASK_TYPES:
        raise InputError("profiling.unknown_task", value=_short(task_type), choices=", ".join(TASK_TYPES))


def _check_column(df: pd.DataFrame, column: str, *, key: str = "profiling.unknown_column") -> None:
    if not isinstance(column, str) or column not in df.columns:
        raise InputError(key, column=_short(column))


def _dtype_role(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s.dtype):
        return "boolean"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    if pd.api.types.is_numeric_dtype(s.dtype):
        return "numeric"
    return "categorical"


def _resolve_roles(df: pd.DataFrame, roles: Mapping[str, str]) -> dict[str, str]:
    """Every column's role: the given one, else a guess from the dtype."""
    for name, role in roles.items():
        _check_column(df, name)
        if role not in ROLES:
            raise InputError("profiling.unknown_role", column=_short(name), role=_short(role), roles=", ".join(ROLES))
    return {str(name): roles.get(name) or _dtype_role(df[name]) for name in df.columns}


def _hashable(s: pd.Series) -> pd.Series:
    """``s`` itself, or as text when it holds unhashable values (lists, dicts)."""
    if s.dtype != object:
        return s
    try:
        pd.unique(s.to_numpy())
    except TypeError:
        missing = s.isna().to_numpy()
        text = s.astype(str)
        text[missing] = np.nan
        return text
    return s


def _value_counts(s: pd.Series) -> pd.Series:
    """Counts of the values present, most frequent first (unused categories left out)."""
    counts = s.value_counts(dropna=True, sort=True)
    return counts[counts > 0] if isinstance(s.dtype, pd.CategoricalDtype) else counts


# --------------------------------------------------------------------------- conversions


def _as_float(s: pd.Series) -> Floats:
    """Numbers as float64 (missing and unparseable as NaN); datetimes as nanoseconds."""
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return _datetime_ns(s)
    if pd.api.types.is_timedelta64_dtype(dtype):
        return np.asarray(s.dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(object)
    elif pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        try:
            return np.asarray(s.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        except (TypeError, ValueError):
            pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            values = pd.to_numeric(s, errors="coerce")
        except (TypeError, ValueError):
            return np.full(len(s), np.nan)
    return np.asarray(values, dtype=np.float64)


def _datetime_ns(s: pd.Series) -> Floats:
    d = as_datetime(s)
    out = np.asarray(d.to_numpy(dtype="datetime64[ns]").astype(np.int64), dtype=np.float64)
    out[d.isna().to_numpy()] = np.nan
    return out


def as_datetime(s: pd.Series) -> pd.Series:
    """``s`` as naive ``datetime64[ns]``; text in mixed formats is parsed value by value.

    Values that are not dates become ``NaT``. Time-zone-aware values are converted to UTC.

    Examples
    --------
    >>> as_datetime(pd.Series(["2024-01-31", "31/01/2024", "Jan 31 2024", "soon", None])).dt.day.tolist()
    [31.0, 31.0, 31.0, nan, nan]
    """
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s.astype("datetime64[ns]")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype) or isinstance(s.dtype, pd.CategoricalDtype)):
        return out
    present = s.notna().to_numpy()
    if not present.any():
        return out
    text = s[present].astype(str)
    uniques = pd.unique(text.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parsed = pd.to_datetime(pd.Series(uniques), format="mixed", errors="coerce", utc=True)
            parsed = parsed.dt.tz_localize(None)
        except (ValueError, TypeError, OverflowError):
            parsed = pd.Series([_parse_one(v) for v in uniques], dtype="datetime64[ns]")
    lookup = pd.Series(parsed.to_numpy(dtype="datetime64[ns]"), index=uniques)
    out[present] = text.map(lookup).to_numpy(dtype="datetime64[ns]")
    return out


def _parse_one(value: str) -> pd.Timestamp:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            return pd.NaT
    if ts is pd.NaT:
        return pd.NaT
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


def _text_lengths(s: pd.Series) -> Floats:
    present = s.dropna()
    return np.asarray(present.astype(str).str.len(), dtype=np.float64)


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class Distribution:
    """What a distribution figure draws for one column, small enough to cache per dataset version.

    Attributes
    ----------
    column, role : str
    kind : {"histogram", "lengths", "bars", "empty"}
        ``histogram`` for numbers and dates, ``lengths`` (a histogram of text length in
        characters) for free text, ``bars`` for the most frequent values of categorical,
        boolean and identifier columns, ``empty`` when the column has no values.
    edges : tuple of float
        Bin edges (one more than ``counts``) of a histogram; dates as nanoseconds since 1970.
    labels : tuple of str
        Bar labels, most frequent first.
    counts : tuple of int
        Rows per bin or per bar.
    n_missing : int
    n_other : int
        Rows whose value is not among ``labels`` (bars beyond the top ``k``).
    n_other_values : int
        How many distinct values those rows hold.
    is_datetime : bool
        Whether ``edges`` are timestamps.
    """

    column: str
    role: str
    kind: str
    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    n_missing: int = 0
    n_other: int = 0
    n_other_values: int = 0
    is_datetime: bool = False


@dataclass(frozen=True)
class Overview:
    """A frame at a glance: size, one row of statistics per column, sample rows, distributions.

    Attributes
    ----------
    n_rows, n_cols : int
    target : str or None
    columns : pandas.DataFrame
        One row per column, in frame order: ``column``, ``role``, ``dtype``, ``n_missing``,
        ``missing_share``, ``n_distinct`` (non-missing values), ``distinct_share`` (of the
        non-missing rows), ``mean``, ``std``, ``min``, ``q25``, ``median``, ``q75``, ``max``
        (numeric columns only, NaN elsewhere), ``top_value`` (as text), ``top_count`` and
        ``top_share`` (of the non-missing rows; categorical, boolean and identifier columns).
    sample : pandas.DataFrame
        Up to ``sample_rows`` random rows, in frame order, with their original index.
    distributions : dict of str to Distribution
        The data of every column's distribution figure.
    """

    n_rows: int
    n_cols: int
    target: str | None
    columns: pd.DataFrame
    sample: pd.DataFrame
    distributions: Mapping[str, Distribution]

    @property
    def roles(self) -> dict[str, str]:
        """Column -> role, as used for this overview."""
        return dict(zip(self.columns["column"], self.columns["role"], strict=True))

    @property
    def missing_share(self) -> float:
        """Share of all cells that are missing."""
        return float(self.columns["n_missing"].sum()) / (self.n_rows * self.n_cols)


_STAT_COLUMNS = ("mean", "std", "min", "q25", "median", "q75", "max")


def overview(
    df: pd.DataFrame,
    *,
    roles: Mapping[str, str],
    target: str | None,
    sample_rows: int = 20,
    random_state: int = 0,
) -> Overview:
    """Describe a frame: statistics per column, random sample rows and distribution data.

    Parameters
    ----------
    df : pandas.DataFrame
        Column names must be unique strings.
    roles : mapping of str to str
        Column -> one of ``mlcore.data.ingest.ROLES``. Columns left out get a role from
        their dtype (numbers, booleans, datetimes; anything else is categorical).
    target : str or None
        The target column, if chosen.
    sample_rows : int, default 20
    random_state : int, default 0
        Seed for the sample rows.

    Returns
    -------
    Overview

    Raises
    ------
    InputError
        ``profiling.no_rows``, ``profiling.no_columns``, ``profiling.duplicate_column``,
        ``profiling.column_name_not_text``, ``profiling.unknown_column`` or
        ``profiling.unknown_role`` for a bad ``roles`` entry, ``profiling.unknown_target``.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [30, 40, None, 50], "city": ["a", "b", "a", None]})
    >>> ov = overview(df, roles={"age": "numeric", "city": "categorical"}, target=None)
    >>> ov.n_rows, ov.n_cols
    (4, 2)
    >>> ov.columns[["column", "n_missing", "n_distinct", "median", "top_value"]].to_dict("records")[1]
    {'column': 'city', 'n_missing': 1, 'n_distinct': 2, 'median': nan, 'top_value': 'a'}
    >>> ov.distributions["city"].labels
    ('a', 'b')
    """
    _check_frame(df)
    all_roles = _resolve_roles(df, roles)
    if target is not None:
        _check_column(df, target, key="profiling.unknown_target")
    n = len(df)
    rows: list[dict[str, Any]] = []
    distributions: dict[str, Distribution] = {}
    for name in df.columns:
        role = all_roles[name]
        s = _hashable(df[name])
        stats, dist = _describe_column(name, s, role, n)
        rows.append(stats)
        distributions[name] = dist
    table = pd.DataFrame(rows)
    rng = np.random.default_rng(random_state)
    k = min(max(int(sample_rows), 0), n)
    positions = np.sort(rng.choice(n, size=k, replace=False)) if k else np.array([], dtype=np.int64)
    return Overview(
        n_rows=n,
        n_cols=df.shape[1],
        target=target,
        columns=table,
        sample=df.iloc[positions],
        distributions=distributions,
    )


def _describe_column(name: str, s: pd.Series, role: str, n: int) -> tuple[dict[str, Any], Distribution]:
    missing = s.isna().to_numpy()
    n_missing = int(missing.sum())
    n_present = n - n_missing
    counts = _value_counts(s)
    n_distinct = len(counts)
    stats: dict[str, Any] = {
        "column": name,
        "role": role,
        "dtype": str(s.dtype),
        "n_missing": n_missing,
        "missing_share": n_missing / n,
        "n_distinct": n_distinct,
        "distinct_share": n_distinct / n_present if n_present else 0.0,
        **dict.fromkeys(_STAT_COLUMNS, math.nan),
        "top_value": None,
        "top_count": 0,
        "top_share": math.nan,
    }
    if role in ("categorical", "boolean", "identifier") and n_distinct:
        stats["top_value"] = str(counts.index[0])
        stats["top_count"] = int(counts.iloc[0])
        stats["top_share"] = int(counts.iloc[0]) / n_present
    if role == "numeric":
        x = _as_float(s)
        finite = x[np.isfinite(x)]
        if len(finite):
            q = np.quantile(finite, [0.0, 0.25, 0.5, 0.75, 1.0])
            stats.update(
                mean=float(finite.mean()),
                std=float(finite.std(ddof=1)) if len(finite) > 1 else math.nan,
                min=float(q[0]),
                q25=float(q[1]),
                median=float(q[2]),
                q75=float(q[3]),
                max=float(q[4]),
            )
        dist = _histogram(name, role, finite, n_missing=n_missing)
    elif role == "datetime":
        ns = _datetime_ns(s)
        dist = _histogram(name, role, ns[np.isfinite(ns)], n_missing=int(np.isnan(ns).sum()), is_datetime=True)
    elif role == "text":
        dist = _histogram(name, role, _text_lengths(s), n_missing=n_missing, kind="lengths")
    else:
        dist = _bars(name, role, counts, n_missing=n_missing)
    return stats, dist


def _histogram(
    name: str,
    role: str,
    values: Floats,
    *,
    n_missing: int,
    kind: str = "histogram",
    is_datetime: bool = False,
) -> Distribution:
    if len(values) == 0:
        return Distribution(column=name, role=role, kind="empty", n_missing=n_missing, is_datetime=is_datetime)
    lo, hi = float(values.min()), float(values.max())
    whole = not is_datetime and hi - lo <= _UNIT_BINS_MAX_RANGE and bool(np.all(values == np.floor(values)))
    if whole:
        edges = np.arange(lo - 0.5, hi + 1.0, 1.0)
    elif lo == hi:
        edges = np.array([lo - 0.5, hi + 0.5]) if not is_datetime else np.array([lo - 43_200e9, hi + 43_200e9])
    else:
        edges = np.linspace(lo, hi, _HIST_BINS + 1)
    counts, edges = np.histogram(values, bins=edges)
    return Distribution(
        column=name,
        role=role,
        kind=kind,
        edges=tuple(float(e) for e in edges),
        counts=tuple(int(c) for c in counts),
        n_missing=n_missing,
        is_datetime=is_datetime,
    )


def _bars(name: str, role: str, counts: pd.Series, *, n_missing: int) -> Distribution:
    if len(counts) == 0:
        return Distribution(column=name, role=role, kind="empty", n_missing=n_missing)
    top = counts.iloc[:_TOP_K]
    rest = counts.iloc[_TOP_K:]
    return Distribution(
        column=name,
        role=role,
        kind="bars",
        labels=tuple(str(v) for v in top.index),
        counts=tuple(int(c) for c in top.to_numpy()),
        n_missing=n_missing,
        n_other=int(rest.sum()),
        n_other_values=len(rest),
    )


def column_distribution(df: pd.DataFrame, column: str, *, role: str | None = None) -> Distribution:
    """The distribution data of one column (what :func:`overview` computes for every column).

    Parameters
    ----------
    df : pandas.DataFrame
    column : str
    role : str, optional
        Defaults to a guess from the dtype.

    Returns
    -------
    Distribution

    Examples
    --------
    >>> d = column_distribution(pd.DataFrame({"x": [1, 2, 2, 3]}), "x")
    >>> d.kind, d.counts
    ('histogram', (1, 2, 1))
    """
    _check_frame(df)
    _check_column(df, column)
    roles = _resolve_roles(df[[column]], {column: role} if role else {})
    _, dist = _describe_column(column, _hashable(df[column]), roles[column], len(df))
    return dist


# --------------------------------------------------------------------------- figures


def _label(labels: Mapping[str, str] | None, name: str, default: str) -> str:
    if labels and labels.get(name) is not None:
        return str(labels[name])
    return default


def _layout(fig: go.Figure, *, title: str, x: str, y: str) -> go.Figure:
    fig.update_layout(
        title={"text": _short(title, _TITLE_CHARS)},
        xaxis_title=_short(x, _TITLE_CHARS),
        yaxis_title=_short(y, _TITLE_CHARS),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def _category_axis(fig: go.Figure, values: list[str]) -> None:
    """Keep full values as categories (they must stay distinct) but show them shortened."""
    fig.update_xaxes(type="category", tickmode="array", tickvals=values, ticktext=[_short(v) for v in values])


def distribution_figure(
    source: Overview | pd.DataFrame,
    column: str,
    *,
    labels: Mapping[str, str] | None = None,
    role: str | None = None,
) -> go.Figure:
    """Plot one column's distribution: histogram, text-length histogram or top-value bars.

    Parameters
    ----------
    source : Overview or pandas.DataFrame
        An overview (no data is touched: the figure is drawn from its distribution data) or the
        frame itself.
    column : str
    labels : mapping of str to str, optional
        Texts shown in the figure: ``title``, ``x``, ``y``, ``other`` (the bar of values beyond
        the top 20). English defaults.
    role : str, optional
        Used only with a frame; defaults to a guess from the dtype.

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    InputError
        ``profiling.unknown_column``.

    Examples
    --------
    >>> fig = distribution_figure(pd.DataFrame({"x": [1.0, 2.5, 2.5, 9.0]}), "x", labels={"y": "filas"})
    >>> fig.layout.yaxis.title.text, fig.data[0].type
    ('filas', 'bar')
    """
    import plotly.graph_objects as go

    if isinstance(source, Overview):
        if column not in source.distributions:
            raise InputError("profiling.unknown_column", column=_short(column))
        dist = source.distributions[column]
    else:
        dist = column_distribution(source, column, role=role)
    fig = go.Figure()
    x_title = column if dist.kind != "lengths" else translate("profiling.axis.length", column=column)
    if dist.kind in ("histogram", "lengths"):
        edges = np.asarray(dist.edges)
        centres = (edges[:-1] + edges[1:]) / 2
        widths = np.diff(edges)
        if dist.is_datetime:
            # Plotly's date axis measures bar widths in milliseconds.
            fig.add_bar(x=pd.to_datetime(centres), y=list(dist.counts), width=widths / 1e6, marker_line_width=0)
        else:
            fig.add_bar(x=centres, y=list(dist.counts), width=widths, marker_line_width=0)
        fig.update_layout(bargap=0)
    elif dist.kind == "bars":
        names = list(dist.labels)
        values = list(dist.counts)
        if dist.n_other:
            names.append(_label(labels, "other", translate("profiling.label.other", n=dist.n_other_values)))
            values.append(dist.n_other)
        fig.add_bar(x=names, y=values)
        _category_axis(fig, names)
    fig.update_layout(showlegend=False)
    return _layout(
        fig,
        title=_label(labels, "title", column),
        x=_label(labels, "x", x_title),
        y=_label(labels, "y", translate("profiling.axis.count")),
    )


def missing_figure(
    source: Overview,
    *,
    labels: Mapping[str, str] | None = None,
    max_columns: int = 50,
) -> go.Figure:
    """Bar chart of the share of missing values per column, largest first.

    Parameters
    ----------
    source : Overview
    labels : mapping of str to str, optional
        ``title``, ``x``, ``y``; English defaults.
    max_columns : int, default 50
        Bars shown (the columns with the most missing values).

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> ov = overview(pd.DataFrame({"a": [1, None], "b": [1, 2]}), roles={}, target=None)
    >>> list(missing_figure(ov).data[0].y)
    [0.5, 0.0]
    """
    import plotly.graph_objects as go

    table = source.columns.sort_values("missing_share", ascending=False, kind="stable").head(max(max_columns, 1))
    names = [str(c) for c in table["column"]]
    fig = go.Figure(go.Bar(x=names, y=table["missing_share"].tolist(), customdata=table["n_missing"].tolist()))
    _category_axis(fig, names)
    fig.update_yaxes(range=[0, 1], tickformat=".0%")
    return _layout(
        fig,
        title=_label(labels, "title", translate("profiling.figure.missing")),
        x=_label(labels, "x", translate("profiling.axis.column")),
        y=_label(labels, "y", translate("profiling.axis.missing_share")),
    )


def _box_stats(values: Floats) -> dict[str, float] | None:
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return None
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
    return {
        "q1": float(q1),
        "median": float(median),
        "q3": float(q3),
        "lowerfence": float(inside.min()),
        "upperfence": float(inside.max()),
    }


def _top_groups(values: pd.Series, k: int, *, other: str, missing: str) -> pd.Series:
    """Values as text, all but the ``k`` most frequent merged into ``other``."""
    text = values.astype(str).where(values.notna(), missing)
    top = text.value_counts().index[:k]
    return text.where(text.isin(top), other)


def _feature_values(s: pd.Series, role: str) -> tuple[Floats, bool]:
    """A feature as numbers for a box or scatter plot, and whether they are timestamps."""
    if role == "datetime":
        return _datetime_ns(s), True
    if role == "text":
        lengths = s.astype(str).str.len().to_numpy(dtype=np.float64)
        lengths[s.isna().to_numpy()] = np.nan
        return lengths, False
    return _as_float(s), False


def target_relation_figure(
    df: pd.DataFrame,
    feature: str,
    *,
    target: str,
    task_type: str,
    labels: Mapping[str, str] | None = None,
    role: str | None = None,
    max_points: int = 5_000,
    random_state: int = 0,
) -> go.Figure:
    """Plot how one feature relates to the target.

    Classification: a box per class of a numeric, date or text-length feature, or the share of
    each class within each category (stacked bars) of a categorical or boolean feature.
    Regression: a scatter of a numeric feature against the target (at most ``max_points``
    random rows), or a box of the target per category. Boxes are summarised here (quartiles and
    whiskers), so the figure carries no raw rows.

    Parameters
    ----------
    df : pandas.DataFrame
    feature, target : str
    task_type : {"classification", "regression"}
    labels : mapping of str to str, optional
        ``title``, ``x``, ``y``, ``other`` (merged rare categories), ``missing``; English defaults.
    role : str, optional
        The feature's role; defaults to a guess from the dtype.
    max_points : int, default 5000
    random_state : int, default 0

    Returns
    -------
    plotly.graph_objects.Figure

    Raises
    ------
    InputError
        ``profiling.unknown_column``, ``profiling.unknown_target``, ``profiling.unknown_task``,
        ``profiling.feature_is_target``.

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6], "y": ["a", "a", "a", "b", "b", "b"]})
    >>> fig = target_relation_figure(df, "x", target="y", task_type="classification")
    >>> [t.type for t in fig.data]
    ['box', 'box']
    """
    import plotly.graph_objects as go

    _check_frame(df)
    _check_task(task_type)
    _check_column(df, feature)
    _check_column(df, target, key="profiling.unknown_target")
    if feature == target:
        raise InputError("profiling.feature_is_target", column=_short(feature))
    role = _resolve_roles(df[[feature]], {feature: role} if role else {})[feature]
    other = _label(labels, "other", translate("profiling.label.other_short"))
    missing = _label(labels, "missing", translate("profiling.label.missing"))
    data = df[[feature, target]]
    data = data[data[target].notna()]
    numeric_like = role in ("numeric", "datetime", "text")
    fig = go.Figure()
    x_title, y_title = feature, target
    if task_type == "classification":
        classes = _top_groups(_hashable(data[target]), _RELATION_TOP_CLASSES, other=other, missing=missing)
        order = classes.value_counts().index.tolist()
        if numeric_like:
            x, is_dt = _feature_values(data[feature], role)
            y_title = translate("profiling.axis.length", column=feature) if role == "text" else feature
            x_title = target
            for cls in order:
                stats = _box_stats(x[(classes == cls).to_numpy()])
                if stats is None:
                    continue
                box: dict[str, Any] = {k: pd.Timestamp(int(v)) if is_dt else v for k, v in stats.items()}
                fig.add_trace(go.Box(x=[cls], name=_short(cls), **{k: [v] for k, v in box.items()}))
            fig.update_layout(showlegend=False)
        else:
            groups = _top_groups(_hashable(data[feature]), _RELATION_TOP_CATEGORIES, other=other, missing=missing)
            table = pd.crosstab(groups, classes, normalize="index")
            cat_order = groups.value_counts().index.tolist()
            table = table.reindex(index=cat_order, columns=order, fill_value=0.0)
            names = [str(v) for v in table.index]
            for cls in table.columns:
                fig.add_bar(x=names, y=table[cls].tolist(), name=_short(cls))
            fig.update_layout(barmode="stack", legend_title_text=_short(target))
            fig.update_yaxes(range=[0, 1], tickformat=".0%")
            _category_axis(fig, names)
            y_title = translate("profiling.axis.class_share", target=target)
    else:
        y = _as_float(data[target])
        if numeric_like:
            x, is_dt = _feature_values(data[feature], role)
            keep = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
            if len(keep) > max_points:
                keep = np.sort(np.random.default_rng(random_state).choice(keep, max_points, replace=False))
            xs: Any = pd.to_datetime(x[keep].astype(np.int64)) if is_dt else x[keep]
            fig.add_trace(go.Scattergl(x=xs, y=y[keep], mode="markers", marker={"opacity": 0.4, "size": 5}))
            if role == "text":
                x_title = translate("profiling.axis.length", column=feature)
        else:
            groups = _top_groups(_hashable(data[feature]), _RELATION_TOP_CATEGORIES, other=other, missing=missing)
            for group in groups.value_counts().index:
                stats = _box_stats(y[(groups == group).to_numpy()])
                if stats is not None:
                    fig.add_trace(go.Box(x=[group], name=_short(group), **{k: [v] for k, v in stats.items()}))
            fig.update_xaxes(type="category")
        fig.update_layout(showlegend=False)
    return _layout(
        fig,
        title=_label(labels, "title", translate("profiling.figure.relation", feature=feature, target=target)),
        x=_label(labels, "x", x_title),
        y=_label(labels, "y", y_title),
    )


# --------------------------------------------------------------------------- relation strength


def target_relation_strength(
    df: pd.DataFrame,
    *,
    target: str,
    roles: Mapping[str, str],
    task_type: str,
    max_rows: int = RELATION_MAX_ROWS,
    random_state: int = 0,
) -> pd.DataFrame:
    """Score how well each feature alone predicts the target, strongest first.

    Each feature is cut into codes (up to 20 quantile bins for numbers and dates, the values
    themselves for other roles, missing as a code of its own); each row is then predicted by the
    target seen for its code in the *other* of 5 folds. The score is the ROC AUC of that
    prediction for a binary target, the mean one-vs-rest AUC over (at most 20) classes for a
    multiclass target, and R² for regression. 0.5 (AUC) or 0 (R²) means no relation; values
    near 1 mean the feature alone nearly gives the answer away. Identifiers are left out.
    Rows with a missing target are left out; at most ``max_rows`` random rows are used.

    Parameters
    ----------
    df : pandas.DataFrame
    target : str
    roles : mapping of str to str
        As in :func:`overview`.
    task_type : {"classification", "regression"}
    max_rows : int, default 20000
    random_state : int, default 0

    Returns
    -------
    pandas.DataFrame
        Columns ``feature``, ``role``, ``score``, ``metric`` (``"auc"``, ``"auc_ovr"`` or
        ``"r2"``) and ``n_rows`` (rows scored), sorted by ``score`` descending. The score is
        NaN when it cannot be computed (fewer than 10 labelled rows or a single class).

    Raises
    ------
    InputError
        ``profiling.unknown_target``, ``profiling.unknown_task``,
        ``profiling.target_not_numeric`` (regression on a target with no numbers), and the
        frame and role errors of :func:`overview`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"signal": rng.normal(size=400), "noise": rng.normal(size=400)})
    >>> df["y"] = (df["signal"] > 0).astype(int)
    >>> scores = target_relation_strength(df, target="y", roles={}, task_type="classification")
    >>> scores["feature"].tolist(), bool(scores["score"].iloc[0] > 0.95)
    (['signal', 'noise'], True)
    """
    _check_frame(df)
    _check_task(task_type)
    _check_column(df, target, key="profiling.unknown_target")
    all_roles = _resolve_roles(df, roles)
    features = [c for c in df.columns if c != target and all_roles[c] != "identifier"]
    data = df[df[target].notna()]
    if len(data) > max_rows:
        data = data.sample(n=max(int(max_rows), 1), random_state=random_state)
    n = len(data)
    metric, y, n_classes = _encode_target(data[target], task_type)
    folds = np.random.default_rng(random_state).permutation(n) % _RELATION_FOLDS
    usable = n >= _RELATION_MIN_ROWS and (task_type == "regression" or n_classes >= 2)
    scores: list[float] = []
    for name in features:
        if not usable:
            scores.append(math.nan)
            continue
        codes, k = _codes(_hashable(data[name]), all_roles[name])
        scores.append(_oof_score(codes, k, y, n_classes, folds, task_type))
    result = pd.DataFrame(
        {
            "feature": pd.Series(features, dtype=object),
            "role": pd.Series([all_roles[c] for c in features], dtype=object),
            "score": pd.Series(scores, dtype=np.float64),
            "metric": metric,
            "n_rows": n,
        }
    )
    return result.sort_values("score", ascending=False, kind="stable", na_position="last").reset_index(drop=True)


def _encode_target(y: pd.Series, task_type: str) -> tuple[str, npt.NDArray[Any], int]:
    """The target as class codes (0..C, C = all rarer classes) or as floats."""
    if task_type == "regression":
        values = _as_float(y)
        if len(values) and not np.isfinite(values).any():
            raise InputError("profiling.target_not_numeric", column=_short(y.name))
        values = np.where(np.isfinite(values), values, np.nanmean(values) if np.isfinite(values).any() else 0.0)
        return "r2", values, 0
    codes, uniques = pd.factorize(_hashable(y), sort=True)
    counts = np.bincount(codes, minlength=len(uniques))
    order = np.argsort(-counts, kind="stable")
    n_scored = min(len(uniques), _RELATION_MAX_CLASSES)
    remap = np.full(len(uniques), n_scored, dtype=np.int64)
    remap[order[:n_scored]] = np.arange(n_scored)
    metric = "auc" if len(uniques) <= 2 else "auc_ovr"
    return metric, remap[codes], len(uniques)


def _codes(s: pd.Series, role: str) -> tuple[Ints, int]:
    """Cut a feature into integer codes ``0..k-1``; missing values get a code of their own."""
    n = len(s)
    if role in ("numeric", "datetime"):
        x = _datetime_ns(s) if role == "datetime" else _as_float(s)
        finite = np.isfinite(x)
        values = x[finite]
        if len(values) == 0:
            return np.zeros(n, dtype=np.int64), 1
        uniques = np.unique(values)
        if len(uniques) <= _RELATION_BINS:
            present_codes = np.searchsorted(uniques, values)
            k = len(uniques)
        else:
            inner = np.linspace(0, 1, _RELATION_BINS + 1)[1:-1]
            edges = np.unique(np.quantile(values, inner))
            present_codes = np.searchsorted(edges, values, side="right")
            k = len(edges) + 1
        codes = np.full(n, k, dtype=np.int64)
        codes[finite] = present_codes
        return codes, k + 1
    raw, uniques = pd.factorize(s, use_na_sentinel=True)
    k = len(uniques)
    codes = np.asarray(raw, dtype=np.int64)
    codes[codes < 0] = k
    return codes, k + 1


def _oof_score(codes: Ints, k: int, y: npt.NDArray[Any], n_classes: int, folds: Ints, task_type: str) -> float:
    f = _RELATION_FOLDS
    m = _RELATION_SMOOTHING
    cell = folds * k + codes
    if task_type == "regression":
        sums = np.bincount(cell, weights=y, minlength=f * k).reshape(f, k)
        counts = np.bincount(cell, minlength=f * k).reshape(f, k).astype(np.float64)
        oof_sum, oof_count = sums.sum(0) - sums, counts.sum(0) - counts
        fold_rows = counts.sum(1)
        fold_mean = (y.sum() - sums.sum(1)) / np.maximum(len(y) - fold_rows, 1)
        pred = (oof_sum[folds, codes] + m * fold_mean[folds]) / (oof_count[folds, codes] + m)
        sst = float(((y - y.mean()) ** 2).sum())
        return 1.0 - float(((y - pred) ** 2).sum()) / sst if sst > 0 else math.nan
    c = int(y.max()) + 1
    table = np.bincount(cell * c + y, minlength=f * k * c).reshape(f, k, c).astype(np.float64)
    oof = table.sum(0, keepdims=True) - table
    per_fold = table.sum(1)
    prior = per_fold.sum(0, keepdims=True) - per_fold
    prior /= np.maximum(prior.sum(1, keepdims=True), 1.0)
    numerator = oof[folds, codes] + m * prior[folds]
    proba = numerator / numerator.sum(1, keepdims=True)
    scored = min(n_classes, _RELATION_MAX_CLASSES)
    if n_classes <= 2:
        return _auc(proba[:, 1], y == 1)
    aucs = [_auc(proba[:, j], y == j) for j in range(scored)]
    valid = [a for a in aucs if not math.isnan(a)]
    return float(np.mean(valid)) if valid else math.nan


def _auc(score: Floats, positive: npt.NDArray[np.bool_]) -> float:
    n_pos = int(positive.sum())
    n_neg = len(positive) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


# --------------------------------------------------------------------------- ydata-profiling


@dataclass(frozen=True)
class ProfileResult:
    """A ydata-profiling report as one self-contained HTML page.

    Attributes
    ----------
    html : str
    sampled : bool
        Whether a random sample of rows was profiled instead of the whole frame.
    n_rows : int
        Rows of the frame.
    n_rows_profiled : int
    minimal : bool
        Whether ydata-profiling's minimal settings were used.
    """

    html: str
    sampled: bool
    n_rows: int
    n_rows_profiled: int
    minimal: bool

    @property
    def size_bytes(self) -> int:
        """Size of the HTML in UTF-8 bytes."""
        return len(self.html.encode("utf-8"))


def _ydata() -> Any:
    """Import ydata-profiling with its telemetry off and its import-time warnings silenced."""
    # ydata-profiling pings a server on every report unless this is set; read at report time.
    os.environ["YDATA_PROFILING_NO_ANALYTICS"] = "True"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import ydata_profiling
    return ydata_profiling


def _report_settings(minimal: bool) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "progress_bar": False,
        # Assets inlined from the package: the page works offline and loads nothing.
        "html": {"use_local_assets": True, "inline": True, "minify_html": True, "navbar_show": True},
        "samples": {"head": 10, "tail": 10, "random": 0},
        "duplicates": {"head": 10},
    }
    if not minimal:
        # The pairwise scatter matrix alone is tens of MB on wide frames.
        settings["interactions"] = {"continuous": False, "targets": []}
    return settings


def _sample_for_profile(df: pd.DataFrame, threshold: int, random_state: int) -> tuple[pd.DataFrame, bool]:
    if len(df) <= threshold:
        return df, False
    return df.sample(n=max(int(threshold), 1), random_state=random_state).sort_index(), True


def _notify(progress: Progress | None, fraction: float, key: str) -> None:
    if progress is not None:
        progress(fraction, key)


def _build_report(data: pd.DataFrame, *, title: str, minimal: bool) -> Any:
    yp = _ydata()
    # ydata-profiling writes column names and the title into the HTML without escaping them, so a
    # column called "<img src=x onerror=...>" would run script wherever the report is shown.
    safe = data.rename(columns=lambda name: html.escape(str(name), quote=True))
    return yp.ProfileReport(safe, title=html.escape(title, quote=True), minimal=minimal, **_report_settings(minimal))


def _render(render: Callable[[], str], reports: list[Any]) -> str:
    """Render, and once more without word clouds if that fails.

    The word cloud of a text column gives up ("couldn't find space to draw") on text with no
    spaces, such as one 10 kB token; the statistics already computed are kept for the retry.
    """
    try:
        return render()
    except ValueError:
        for report in reports:
            report.config.vars.text.words = False
            report.config.vars.cat.words = False
            report.invalidate_cache("report")
    try:
        return render()
    except (ValueError, TypeError) as exc:
        raise InputError("profiling.report_failed", detail=_short(exc, 200)) from exc


def profile_report_html(
    df: pd.DataFrame,
    *,
    title: str,
    minimal: bool = True,
    sample_threshold: int = 50_000,
    random_state: int = 0,
    progress: Progress | None = None,
) -> ProfileResult:
    """Profile a frame with ydata-profiling and return the report as self-contained HTML.

    The HTML inlines its scripts and styles (no CDN: it opens offline), and ydata-profiling's
    usage telemetry is switched off before it is imported. A frame with more than
    ``sample_threshold`` rows is profiled on a random sample of that many rows; the result
    says so. Take this as a job: it runs for seconds to minutes.

    Parameters
    ----------
    df : pandas.DataFrame
    title : str
        Shown at the top of the report.
    minimal : bool, default True
        ydata-profiling's minimal settings (no correlations or interaction plots); ``False``
        adds correlations and missing-value diagrams, still without the pairwise scatter matrix.
    sample_threshold : int, default 50000
    random_state : int, default 0
        Seed of the row sample.
    progress : callable, optional
        Called as ``progress(fraction, key)`` with a catalog key at the start, after the
        statistics, and at the end (ydata-profiling reports nothing finer).

    Returns
    -------
    ProfileResult

    Raises
    ------
    InputError
        ``profiling.no_rows``, ``profiling.no_columns`` and the other frame errors of
        :func:`overview`; ``profiling.bad_threshold`` if ``sample_threshold`` < 1;
        ``profiling.report_failed`` if ydata-profiling cannot draw the report.
    """
    _check_frame(df)
    if sample_threshold < 1:
        raise InputError("profiling.bad_threshold", value=sample_threshold)
    data, sampled = _sample_for_profile(df, sample_threshold, random_state)
    _notify(progress, 0.0, "profiling.progress.start")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = _build_report(data, title=title, minimal=minimal)
        report.get_description()
        _notify(progress, 0.6, "profiling.progress.render")
        html = _render(report.to_html, [report])
    _notify(progress, 1.0, "profiling.progress.done")
    return ProfileResult(html=html, sampled=sampled, n_rows=len(df), n_rows_profiled=len(data), minimal=minimal)


def compare_reports_html(
    df_a: pd.DataFrame,
    df_b: pd.DataFrame,
    *,
    title_a: str,
    title_b: str,
    minimal: bool = True,
    sample_threshold: int = 50_000,
    random_state: int = 0,
    progress: Progress | None = None,
) -> str:
    """Profile two frames side by side (ydata-profiling's ``compare``) as self-contained HTML.

    Only the columns of ``df_a`` that ``df_b`` also has are compared. Each frame is sampled
    as in :func:`profile_report_html`.

    Parameters
    ----------
    df_a, df_b : pandas.DataFrame
    title_a, title_b : str
        Names of the two sides (for example the two dataset versions).
    minimal, sample_threshold, random_state, progress
        As in :func:`profile_report_html`.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    InputError
        ``profiling.nothing_to_compare`` if the frames share no column,
        ``profiling.report_failed``, and the frame errors of :func:`overview`.
    """
    _check_frame(df_a)
    _check_frame(df_b)
    if sample_threshold < 1:
        raise InputError("profiling.bad_threshold", value=sample_threshold)
    shared = [c for c in df_a.columns if c in set(df_b.columns)]
    if not shared:
        raise InputError("profiling.nothing_to_compare")
    a, _ = _sample_for_profile(df_a[shared], sample_threshold, random_state)
    b, _ = _sample_for_profile(df_b[shared], sample_threshold, random_state)
    _notify(progress, 0.0, "profiling.progress.start")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yp = _ydata()
        report_a = _build_report(a, title=title_a, minimal=minimal)
        report_b = _build_report(b, title=title_b, minimal=minimal)
        report_a.get_description()
        _notify(progress, 0.4, "profiling.progress.describe")
        report_b.get_description()
        _notify(progress, 0.7, "profiling.progress.render")
        html = _render(lambda: str(yp.compare([report_a, report_b]).to_html()), [report_a, report_b])
    _notify(progress, 1.0, "profiling.progress.done")
    return html
