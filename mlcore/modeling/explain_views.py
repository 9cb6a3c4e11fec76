"""What the interpretation page shows, drawn from a stored :class:`~mlcore.modeling.explain.Explanation`
without recomputing: importance, beeswarm, dependence (with the strongest interaction as colour) and the
waterfall of one row, as frames and as plotly figures.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mlcore.errors import InputError
from mlcore.i18n import translate
from mlcore.modeling.explain import Explanation
from mlcore.modeling.explain_text import format_effect, format_value

__all__ = [
    "FIGURE_LABELS",
    "Dependence",
    "LocalExplanation",
    "beeswarm_figure",
    "beeswarm_frame",
    "dependence_figure",
    "dependence_frame",
    "feature_colour",
    "figure_labels",
    "importance_figure",
    "importance_frame",
    "interaction_scores",
    "local_explanation",
    "strongest_interaction",
    "waterfall_figure",
    "waterfall_frame",
]

Floats = npt.NDArray[np.float64]

FIGURE_LABELS: tuple[str, ...] = (
    "importance_title",
    "importance_x",
    "beeswarm_title",
    "colour_title",
    "colour_low",
    "colour_high",
    "dependence_title",
    "dependence_y",
    "waterfall_title",
    "base",
    "prediction",
    "other",
    "axis_probability",
    "axis_log_odds",
    "axis_margin",
    "axis_raw",
)
"""Texts the figure builders show; :func:`figure_labels` gives them in a language."""

_POSITIVE = "#d62728"
_NEGATIVE = "#1f77b4"
_COLOURSCALE = [[0.0, "#1f77b4"], [0.5, "#b39ddb"], [1.0, "#d62728"]]
_GREY = "#9e9e9e"
_BINS = 50
_MAX_COLOUR_CATEGORIES = 10


def figure_labels(lang: str = "en") -> dict[str, str]:
    """The figure texts of :data:`FIGURE_LABELS` in ``lang`` (``other`` keeps a ``{count}`` placeholder).

    Examples
    --------
    >>> figure_labels("es")["base"]
    'Promedio del modelo'
    """
    return {name: translate(f"explain.figure.{name}", lang) for name in FIGURE_LABELS}


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    out = figure_labels("en")
    out.update(labels or {})
    return out


def _axis(labels: Mapping[str, str], space: str) -> str:
    return str(labels.get(f"axis_{space}", space))


def _check_feature(explanation: Explanation, feature: str) -> None:
    if feature not in explanation.features:
        raise InputError(
            "explain.unknown_feature", feature=str(feature)[:80], choices=", ".join(explanation.features[:10])
        )


# ----------------------------------------------------------------------------- global view data


def importance_frame(explanation: Explanation) -> pd.DataFrame:
    """Mean absolute contribution per feature over the explained rows, largest first.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``mean_abs`` (in the output space) and ``share`` (of the sum of ``mean_abs``).

    Examples
    --------
    >>> from mlcore.modeling.explain import explain
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import Pipeline
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> pipe = Pipeline([("p", "passthrough"), ("m", LinearRegression())]).fit(X, 2 * X["a"] + X["b"])
    >>> importance_frame(explain(pipe, X))["feature"].tolist()
    ['a', 'b']
    """
    mean_abs = explanation.values.abs().mean(axis=0)
    total = float(mean_abs.sum())
    frame = pd.DataFrame(
        {
            "feature": list(explanation.features),
            "mean_abs": mean_abs.to_numpy(dtype=np.float64),
            "share": (mean_abs / total).to_numpy(dtype=np.float64) if total > 0 else 0.0,
        }
    )
    return frame.sort_values("mean_abs", ascending=False, kind="stable").reset_index(drop=True)


def _numbers(series: pd.Series, kind: str) -> Floats:
    if kind == "datetime":
        stamps = pd.to_datetime(series)
        if isinstance(stamps.dtype, pd.DatetimeTZDtype):
            stamps = stamps.dt.tz_convert(None)
        out: Floats = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
        out[stamps.isna().to_numpy()] = np.nan
        return out
    numbers = pd.to_numeric(series, errors="coerce")
    return np.asarray(pd.Series(numbers).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def feature_colour(explanation: Explanation, feature: str) -> Floats:
    """A feature's values scaled to [0, 1] for colouring points (low blue, high red).

    Numbers and dates: between their 5th and 95th percentiles (clipped, so a few extreme values do not
    wash out the rest). Categories with exactly two values: 0 and 1 (in text order). Other categories and
    missing values: NaN (drawn grey). Categories carry no order, so colouring them by anything derived from
    the contributions would show a pattern the data does not have.
    """
    _check_feature(explanation, feature)
    kind = explanation.kinds.get(feature, "categorical")
    if feature not in explanation.data.columns:
        return np.full(explanation.n_rows, np.nan)
    series = explanation.data[feature]
    if kind in ("numeric", "datetime"):
        values = _numbers(series, kind)
        present = values[np.isfinite(values)]
        if len(present) == 0:
            return np.full(len(values), np.nan)
        low, high = np.percentile(present, [5, 95])
        if high <= low:
            low, high = float(present.min()), float(present.max())
        if high <= low:
            return np.where(np.isfinite(values), 0.5, np.nan)
        return np.asarray(np.clip((values - low) / (high - low), 0.0, 1.0), dtype=np.float64)
    text = series.astype(str).where(series.notna(), None)
    distinct = sorted(v for v in pd.unique(text.dropna()))
    if len(distinct) != 2:
        return np.full(len(series), np.nan)
    return np.asarray(text.map({distinct[0]: 0.0, distinct[1]: 1.0}).to_numpy(dtype=np.float64, na_value=np.nan))


def _texts(explanation: Explanation, feature: str, lang: str) -> list[str]:
    if feature not in explanation.data.columns:
        return ["—"] * explanation.n_rows
    kind = explanation.kinds.get(feature, "categorical")
    return [format_value(v, kind, lang) for v in explanation.data[feature].tolist()]


def beeswarm_frame(explanation: Explanation, *, max_features: int = 15, lang: str = "en") -> pd.DataFrame:
    """One point per explained row and feature, for the most important ``max_features`` features.

    Returns
    -------
    pandas.DataFrame
        ``feature``, ``rank`` (0 = most important), ``row_id``, ``contribution``, ``value_text``,
        ``colour`` (see :func:`feature_colour`) and ``offset``: a vertical spread in [-0.4, 0.4] so that
        points with similar contributions do not hide each other (alternating above and below, more spread
        where points are denser, as SHAP's beeswarm does).
    """
    top = importance_frame(explanation)["feature"].head(max(int(max_features), 1)).tolist()
    parts = []
    for rank, feature in enumerate(top):
        contribution = explanation.values[feature].to_numpy(dtype=np.float64)
        parts.append(
            pd.DataFrame(
                {
                    "feature": feature,
                    "rank": rank,
                    "row_id": explanation.values.index.to_numpy(),
                    "contribution": contribution,
                    "value_text": _texts(explanation, feature, lang),
                    "colour": feature_colour(explanation, feature),
                    "offset": _swarm(contribution),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _swarm(values: Floats) -> Floats:
    n = len(values)
    if n == 0:
        return np.zeros(0)
    low, high = float(values.min()), float(values.max())
    width = (high - low) / _BINS if high > low else 1.0
    bins = np.minimum(((values - low) / width).astype(np.int64), _BINS - 1)
    order = np.lexsort((np.arange(n), bins))
    ranks = np.empty(n, dtype=np.int64)
    sorted_bins = bins[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_bins)) + 1]
    counts = np.diff(np.r_[starts, n])
    ranks[order] = np.arange(n) - np.repeat(starts, counts)
    signed = ((ranks + 1) // 2) * np.where(ranks % 2 == 1, 1, -1)
    spread = max(int(counts.max()) // 2, 1)
    return np.asarray(np.clip(0.4 * signed / spread, -0.4, 0.4), dtype=np.float64)


def interaction_scores(explanation: Explanation, feature: str) -> pd.Series:
    """How strongly each other feature seems to change ``feature``'s contribution, largest first.

    Heuristic (after ``shap.utils.approximate_interactions``): the rows are grouped by similar values of
    ``feature`` (each category is a group; numbers and dates are sorted and cut into consecutive groups of
    about max(10, min(50, rows / 10)) rows). Within a group ``feature`` barely changes, so what its
    contribution still varies with is an interaction. The score of another feature is the average over
    groups (weighted by size) of the absolute correlation, within the group, between ``feature``'s
    contribution and that feature's value (categories as their average ``feature`` contribution, missing
    values as the median). Scores lie in [0, 1].

    Raises
    ------
    InputError
        ``explain.unknown_feature``.
    """
    _check_feature(explanation, feature)
    contribution = explanation.values[feature].to_numpy(dtype=np.float64)
    n = len(contribution)
    kind = explanation.kinds.get(feature, "categorical")
    if feature in explanation.data.columns and kind in ("numeric", "datetime"):
        key = _numbers(explanation.data[feature], kind)
        order = np.argsort(np.where(np.isnan(key), np.inf, key), kind="stable")
        size = max(10, min(50, n // 10))
        groups = np.empty(n, dtype=np.int64)
        groups[order] = np.arange(n) // size
    elif feature in explanation.data.columns:
        groups = pd.factorize(explanation.data[feature].astype(str))[0].astype(np.int64)
    else:
        groups = np.zeros(n, dtype=np.int64)
    scores: dict[str, float] = {}
    for other in explanation.features:
        if other == feature or other not in explanation.data.columns:
            continue
        z = _as_numbers(explanation, other, contribution)
        total, weight = 0.0, 0
        for g in np.unique(groups):
            members = groups == g
            if members.sum() < 3:
                continue
            r = _correlation(contribution[members], z[members])
            if r is not None:
                total += abs(r) * int(members.sum())
                weight += int(members.sum())
        scores[other] = total / weight if weight else 0.0
    return pd.Series(scores, dtype=np.float64).sort_values(ascending=False, kind="stable")


def _as_numbers(explanation: Explanation, feature: str, target: Floats) -> Floats:
    kind = explanation.kinds.get(feature, "categorical")
    series = explanation.data[feature]
    if kind in ("numeric", "datetime"):
        values = _numbers(series, kind)
    else:
        text = series.astype(str).where(series.notna(), "\0missing")
        means = pd.Series(target).groupby(text.to_numpy()).mean()
        values = text.map(means).to_numpy(dtype=np.float64)
    if np.isnan(values).all():
        return np.zeros(len(values))
    return np.where(np.isnan(values), np.nanmedian(values), values)


def _correlation(a: Floats, b: Floats) -> float | None:
    sa, sb = float(a.std()), float(b.std())
    if sa <= 1e-12 * max(1.0, float(np.abs(a).max())) or sb <= 1e-12 * max(1.0, float(np.abs(b).max())):
        return None
    return float(np.clip(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb), -1.0, 1.0))


def strongest_interaction(explanation: Explanation, feature: str) -> str | None:
    """The other feature with the highest :func:`interaction_scores` (None if no score is above zero)."""
    scores = interaction_scores(explanation, feature)
    if scores.empty or not float(scores.iloc[0]) > 0.0:
        return None
    return str(scores.index[0])


@dataclass(frozen=True, eq=False)
class Dependence:
    """How one feature's contribution depends on its value, coloured by another feature.

    Attributes
    ----------
    feature : str
    kind : str
        ``feature``'s kind (numeric, datetime, categorical).
    colour_feature : str or None
    colour_kind : str or None
    frame : pandas.DataFrame
        ``row_id``, ``value`` (numbers and dates as they are, categories as text), ``value_text``,
        ``contribution``, ``colour`` (:func:`feature_colour` of the colour feature) and ``colour_text``.
    output_space : str
    """

    feature: str
    kind: str
    colour_feature: str | None
    colour_kind: str | None
    frame: pd.DataFrame
    output_space: str


def dependence_frame(
    explanation: Explanation, feature: str, *, colour_feature: str | None = "auto", lang: str = "en"
) -> Dependence:
    """The data of a dependence plot: value against contribution, one point per explained row.

    Parameters
    ----------
    explanation : Explanation
    feature : str
    colour_feature : str or None, default "auto"
        ``"auto"``: the :func:`strongest_interaction`; None: no colour.
    lang : str

    Raises
    ------
    InputError
        ``explain.unknown_feature``.
    """
    _check_feature(explanation, feature)
    if colour_feature == "auto":
        colour_feature = strongest_interaction(explanation, feature)
    elif colour_feature is not None:
        _check_feature(explanation, colour_feature)
    kind = explanation.kinds.get(feature, "categorical")
    if feature in explanation.data.columns:
        raw = explanation.data[feature]
        value = raw.to_numpy() if kind in ("numeric", "datetime") else raw.astype(str).where(raw.notna(), None)
    else:
        value = np.full(explanation.n_rows, None, dtype=object)
    frame = pd.DataFrame(
        {
            "row_id": explanation.values.index.to_numpy(),
            "value": np.asarray(value),
            "value_text": _texts(explanation, feature, lang),
            "contribution": explanation.values[feature].to_numpy(dtype=np.float64),
            "colour": (
                feature_colour(explanation, colour_feature)
                if colour_feature is not None
                else np.full(explanation.n_rows, np.nan)
            ),
            "colour_text": (
                _texts(explanation, colour_feature, lang) if colour_feature is not None else [""] * explanation.n_rows
            ),
        }
    )
    return Dependence(
        feature=feature,
        kind=kind,
        colour_feature=colour_feature,
        colour_kind=None if colour_feature is None else explanation.kinds.get(colour_feature, "categorical"),
        frame=frame,
        output_space=explanation.output_space,
    )


# ----------------------------------------------------------------------------- local view data


@dataclass(frozen=True, eq=False)
class LocalExplanation:
    """One row's prediction taken apart: from the average output to this row's, feature by feature.

    Attributes
    ----------
    row_id : object
    task_type, output_space : str
    class_label : object or None
    base_value, prediction : float
        In the output space: ``base_value + contributions["contribution"].sum() == prediction``.
    base_probability, probability : float or None
    points_exact : bool
        ``contributions["points"]`` add up to the change in probability (always, except for a
        multi-class log-odds model whose class score moved against its probability; then the points are
        a local linear approximation).
    contributions : pandas.DataFrame
        ``feature``, ``value``, ``value_text``, ``contribution`` and ``points`` (probability points,
        0-100 scale; NaN when the model gives no probability), largest ``|contribution|`` first.
    """

    row_id: Any
    task_type: str
    output_space: str
    class_label: Any
    base_value: float
    prediction: float
    base_probability: float | None
    probability: float | None
    points_exact: bool
    contributions: pd.DataFrame


def local_explanation(explanation: Explanation, row: Hashable, *, lang: str = "en") -> LocalExplanation:
    """One row's contributions, with probability points for classifiers.

    Probability points: for models explained in probabilities, ``100 x contribution``. For models explained
    in log-odds, the change of probability from the average (``base_probability``) to the row's
    (``probability``) is shared out in proportion to the log-odds contributions:
    ``points_j = 100 x (p - p_base) x phi_j / sum(phi)``. The sigmoid is increasing, so every point keeps
    the sign of its contribution and the points add up exactly to the change. (With more than two classes
    the class's probability can move against its own score; then the points are ``100 x p (1 - p) x
    phi_j``, the slope at the prediction, and ``points_exact`` is False.)

    Raises
    ------
    InputError
        ``explain.unknown_row``.
    """
    try:
        found = row in explanation.values.index
    except TypeError:
        found = False
    if not found:
        raise InputError("explain.unknown_row", row=str(row)[:80])
    contributions = explanation.values.loc[row].to_numpy(dtype=np.float64)
    prediction = float(explanation.predictions.loc[row])
    probability = None if explanation.probabilities is None else float(explanation.probabilities.loc[row])
    base_probability = explanation.base_probability
    points, exact = _points(explanation.output_space, contributions, probability, base_probability)
    features = list(explanation.features)
    values = [explanation.data.at[row, f] if f in explanation.data.columns else None for f in features]
    frame = pd.DataFrame(
        {
            "feature": features,
            "value": pd.Series(values, dtype=object),
            "value_text": [
                format_value(v, explanation.kinds.get(f, "categorical"), lang)
                for f, v in zip(features, values, strict=True)
            ],
            "contribution": contributions,
            "points": points,
        }
    )
    order = np.argsort(-np.abs(contributions), kind="stable")
    return LocalExplanation(
        row_id=row,
        task_type=explanation.task_type,
        output_space=explanation.output_space,
        class_label=explanation.class_label,
        base_value=explanation.base_value,
        prediction=prediction,
        base_probability=base_probability,
        probability=probability,
        points_exact=exact,
        contributions=frame.iloc[order].reset_index(drop=True),
    )


def _points(space: str, phi: Floats, probability: float | None, base: float | None) -> tuple[Floats, bool]:
    if probability is None or base is None:
        return np.full(len(phi), np.nan), True
    if space == "probability":
        return 100.0 * phi, True
    change = probability - base
    total = float(phi.sum())
    if abs(total) > 1e-12 and (change == 0.0 or math.copysign(1.0, change) == math.copysign(1.0, total)):
        return 100.0 * change * phi / total, True
    if abs(total) <= 1e-12 and abs(change) <= 1e-12:
        return 100.0 * probability * (1.0 - probability) * phi, True
    return 100.0 * probability * (1.0 - probability) * phi, False


def waterfall_frame(local: LocalExplanation, *, max_features: int = 10, other: str = "other") -> pd.DataFrame:
    """The bars of a waterfall: the ``max_features`` largest contributions, then the rest as one bar.

    Returns
    -------
    pandas.DataFrame
        ``label`` ("feature = value"; the last bar ``other``, with ``{count}`` filled in), ``contribution``,
        ``points``, ``start`` and ``end`` (running total in the output space, from ``base_value`` to
        ``prediction``), smallest bars first so the largest sits next to the prediction.
    """
    frame = local.contributions
    keep = max(int(max_features), 1)
    head = frame.head(keep)
    rows = [
        {"label": f"{f} = {v}", "contribution": float(c), "points": float(p)}
        for f, v, c, p in zip(head["feature"], head["value_text"], head["contribution"], head["points"], strict=True)
    ]
    rest = frame.iloc[keep:]
    if len(rest):
        rows.append(
            {
                "label": other.format(count=len(rest)) if "{count}" in other else other,
                "contribution": float(rest["contribution"].sum()),
                "points": float(rest["points"].sum()),
            }
        )
    out = pd.DataFrame(rows)[::-1].reset_index(drop=True)
    out["end"] = local.base_value + out["contribution"].cumsum()
    out["start"] = out["end"] - out["contribution"]
    return out


# ----------------------------------------------------------------------------- figures


def importance_figure(
    explanation: Explanation, *, labels: Mapping[str, str] | None = None, max_features: int = 20
) -> Any:
    """Horizontal bars of mean |contribution|, most important on top.

    Examples
    --------
    >>> from mlcore.modeling.explain import explain
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import Pipeline
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> pipe = Pipeline([("p", "passthrough"), ("m", LinearRegression())]).fit(X, 2 * X["a"] + X["b"])
    >>> list(importance_figure(explain(pipe, X)).data[0].y)
    ['b', 'a']
    """
    import plotly.graph_objects as go

    texts = _labels(labels)
    frame = importance_frame(explanation).head(max(int(max_features), 1))[::-1]
    fig = go.Figure(
        go.Bar(
            x=frame["mean_abs"].tolist(),
            y=frame["feature"].tolist(),
            orientation="h",
            marker_color=_NEGATIVE,
            customdata=frame["share"].tolist(),
            hovertemplate="%{y}: %{x:.4g} (%{customdata:.0%})<extra></extra>",
        )
    )
    fig.update_layout(
        title=texts["importance_title"],
        xaxis_title=f"{texts['importance_x']} ({_axis(texts, explanation.output_space)})",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        showlegend=False,
    )
    return fig


def beeswarm_figure(
    explanation: Explanation, *, labels: Mapping[str, str] | None = None, max_features: int = 15, lang: str = "en"
) -> Any:
    """SHAP's beeswarm: one dot per row and feature, at its contribution, coloured by the feature's value.

    Dots of categories with more than two values (and missing values) are grey.
    """
    import plotly.graph_objects as go

    texts = _labels(labels)
    frame = beeswarm_frame(explanation, max_features=max_features, lang=lang)
    n_features = int(frame["rank"].max()) + 1 if len(frame) else 0
    y = (n_features - 1 - frame["rank"]) + frame["offset"]
    coloured = frame["colour"].notna().to_numpy()
    fig = go.Figure()
    hover = "%{customdata[0]} = %{customdata[1]}<br>%{x:.4g}<extra></extra>"
    custom = np.stack([frame["feature"].astype(str), frame["value_text"].astype(str)], axis=1)
    if (~coloured).any():
        fig.add_trace(
            go.Scattergl(
                x=frame["contribution"][~coloured],
                y=y[~coloured],
                mode="markers",
                marker={"color": _GREY, "size": 5, "opacity": 0.7},
                customdata=custom[~coloured],
                hovertemplate=hover,
                showlegend=False,
            )
        )
    if coloured.any():
        fig.add_trace(
            go.Scattergl(
                x=frame["contribution"][coloured],
                y=y[coloured],
                mode="markers",
                marker={
                    "color": frame["colour"][coloured],
                    "colorscale": _COLOURSCALE,
                    "cmin": 0.0,
                    "cmax": 1.0,
                    "size": 5,
                    "opacity": 0.8,
                    "colorbar": {
                        "title": texts["colour_title"],
                        "tickvals": [0.0, 1.0],
                        "ticktext": [texts["colour_low"], texts["colour_high"]],
                    },
                },
                customdata=custom[coloured],
                hovertemplate=hover,
                showlegend=False,
            )
        )
    order = frame.drop_duplicates("rank").sort_values("rank")["feature"].tolist()
    fig.update_yaxes(tickvals=list(range(n_features - 1, -1, -1)), ticktext=order, zeroline=False)
    fig.add_vline(x=0.0, line_color="#757575", line_width=1)
    fig.update_layout(
        title=texts["beeswarm_title"],
        xaxis_title=_axis(texts, explanation.output_space),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def dependence_figure(dependence: Dependence, *, labels: Mapping[str, str] | None = None) -> Any:
    """Value against contribution for one feature; colour from the interacting feature (if any)."""
    import plotly.graph_objects as go

    texts = _labels(labels)
    frame = dependence.frame
    fig = go.Figure()
    custom = np.stack([frame["value_text"].astype(str), frame["colour_text"].astype(str)], axis=1)
    colour_name = dependence.colour_feature or ""
    hover = (
        f"{dependence.feature} = %{{customdata[0]}}<br>{colour_name} = %{{customdata[1]}}<br>%{{y:.4g}}<extra></extra>"
    )
    if dependence.colour_feature is None:
        fig.add_trace(
            go.Scattergl(
                x=frame["value"],
                y=frame["contribution"],
                mode="markers",
                marker={"color": _NEGATIVE, "size": 5},
                customdata=custom,
                hovertemplate=hover,
                showlegend=False,
            )
        )
    elif frame["colour"].notna().any():
        fig.add_trace(
            go.Scattergl(
                x=frame["value"],
                y=frame["contribution"],
                mode="markers",
                marker={
                    "color": frame["colour"].fillna(0.5),
                    "colorscale": _COLOURSCALE,
                    "cmin": 0.0,
                    "cmax": 1.0,
                    "size": 5,
                    "colorbar": {
                        "title": colour_name,
                        "tickvals": [0.0, 1.0],
                        "ticktext": [texts["colour_low"], texts["colour_high"]],
                    },
                },
                customdata=custom,
                hovertemplate=hover,
                showlegend=False,
            )
        )
    else:
        counts = frame["colour_text"].value_counts()
        top = counts.index[:_MAX_COLOUR_CATEGORIES].tolist()
        grouped = frame["colour_text"].where(frame["colour_text"].isin(top), texts["other"].format(count=""))
        for name in dict.fromkeys([*top, *grouped.unique()]):
            members = (grouped == name).to_numpy()
            if not members.any():
                continue
            fig.add_trace(
                go.Scattergl(
                    x=frame["value"][members],
                    y=frame["contribution"][members],
                    mode="markers",
                    name=str(name),
                    marker={"size": 5},
                    customdata=custom[members],
                    hovertemplate=hover,
                )
            )
    if dependence.kind == "categorical":
        fig.update_xaxes(type="category")
    fig.add_hline(y=0.0, line_color="#757575", line_width=1)
    fig.update_layout(
        title=texts["dependence_title"].format(feature=dependence.feature),
        xaxis_title=dependence.feature,
        yaxis_title=f"{texts['dependence_y']} ({_axis(texts, dependence.output_space)})",
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def waterfall_figure(
    local: LocalExplanation, *, labels: Mapping[str, str] | None = None, max_features: int = 10, lang: str = "en"
) -> Any:
    """One row's waterfall: bars from the average output to the prediction, one per feature.

    Red bars push the prediction up, blue ones down; the hover shows probability points when the model
    gives probabilities.
    """
    import plotly.graph_objects as go

    texts = _labels(labels)
    frame = waterfall_frame(local, max_features=max_features, other=texts["other"])
    effects = [
        format_effect(p, output_space=local.output_space, lang=lang)
        if not math.isnan(p)
        else format_effect(c, output_space="margin", lang=lang)
        for p, c in zip(frame["points"], frame["contribution"], strict=True)
    ]
    fig = go.Figure(
        go.Bar(
            x=frame["contribution"].tolist(),
            base=frame["start"].tolist(),
            y=list(range(len(frame))),
            orientation="h",
            marker_color=[_POSITIVE if c >= 0 else _NEGATIVE for c in frame["contribution"]],
            customdata=np.stack([frame["label"].astype(str), np.asarray(effects, dtype=object)], axis=1),
            hovertemplate="%{customdata[0]}: %{customdata[1]}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_yaxes(tickvals=list(range(len(frame))), ticktext=frame["label"].tolist())
    fig.add_vline(
        x=local.base_value,
        line_dash="dot",
        line_color="#757575",
        annotation_text=texts["base"],
        annotation_position="bottom",
    )
    fig.add_vline(
        x=local.prediction,
        line_dash="dash",
        line_color="#212121",
        annotation_text=texts["prediction"],
        annotation_position="top",
    )
    fig.update_layout(
        title=texts["waterfall_title"],
        xaxis_title=_axis(texts, local.output_space),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig
