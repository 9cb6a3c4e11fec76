"""SHAP explanations of Ciclo's models, computed once per model and stored, mapped back to the input columns.

:func:`explain` picks the explainer for the model (:func:`choose_explainer`: tree SHAP for tree models,
linear SHAP for linear ones, permutation SHAP otherwise), explains a capped sample of rows and returns an
:class:`Explanation` whose contributions are per original column (one-hot, date-part and missing-indicator
columns summed back to the column they came from). An explanation serialises to parquet-friendly frames
or one Arrow table, so a job can store it by model SHA-256 and a page can draw every view from it without
recomputing; :func:`what_if` explains a changed row with the same settings. Views and figures live in
:mod:`mlcore.modeling.explain_views`, plain-language sentences in :mod:`mlcore.modeling.explain_text`.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import is_classifier
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils.validation import check_is_fitted

from mlcore.errors import InputError, MLCoreError
from mlcore.i18n import translate

__all__ = [
    "AGNOSTIC_BACKGROUND_ROWS",
    "AGNOSTIC_MAX_ROWS",
    "DEFAULT_MAX_ROWS",
    "EXPLAINERS",
    "LINEAR_BACKGROUND_ROWS",
    "OUTPUT_SPACES",
    "ExplainCancelled",
    "ExplainerChoice",
    "Explanation",
    "FeatureRange",
    "WhatIf",
    "WhatIfWarning",
    "choose_explainer",
    "explain",
    "feature_sources",
    "what_if",
]

Floats = npt.NDArray[np.float64]

EXPLAINERS: tuple[str, ...] = ("tree", "linear", "permutation")
"""``tree``: :class:`shap.TreeExplainer` (exact, path-dependent, no background); ``linear``:
:class:`shap.LinearExplainer` on a sampled background; ``permutation``: :class:`shap.PermutationExplainer`
on the original columns with a small sampled background (any model, much slower per row)."""

OUTPUT_SPACES: tuple[str, ...] = ("probability", "log_odds", "margin", "raw")
"""What the contributions add up to: a class probability (forests, single trees, model-agnostic
classifiers), log-odds (gradient boosting, logistic regression; softmax logits with more than two classes),
a decision score (linear SVM) or the target itself in its own units (regression)."""

DEFAULT_MAX_ROWS = 2000
AGNOSTIC_MAX_ROWS = 300
"""The permutation path evaluates the model about 2 x features x background rows times per explained row,
so it explains at most this many rows whatever ``max_rows`` says."""
LINEAR_BACKGROUND_ROWS = 100
AGNOSTIC_BACKGROUND_ROWS = 20
MAX_RANGE_CATEGORIES = 500
"""Distinct values kept per categorical column to tell seen from unseen categories in :func:`what_if`."""
MAX_VALUE_CHARS = 200
_FORMAT = 1
_META_KEY = b"ciclo.explanation"
_CHUNK_SECONDS = 0.5
_FIRST_CHUNK = 64
_AGNOSTIC_CHUNK = 10
_MAX_TREE_NODES = 2_000_000
_MASK_MAX_CODE = 30  # SHAP's category masks are 32-bit integers read through a float, codes start at 1


class Progress(Protocol):
    """``progress(fraction, key, **params)``: share done in [0, 1] and a catalog key describing the step."""

    def __call__(self, fraction: float, key: str, /, **params: Any) -> None: ...


class ExplainCancelled(MLCoreError):
    """Raised between chunks of rows when ``should_stop()`` says the user cancelled."""


# ----------------------------------------------------------------------------- choosing the explainer


@dataclass(frozen=True)
class ExplainerChoice:
    """Which SHAP path explains a pipeline's model, and in which output space.

    Attributes
    ----------
    kind : {"tree", "linear", "permutation"}
    model : str
        The model's class name (the regressor inside a target-scaling wrapper).
    output_space : str
        One of :data:`OUTPUT_SPACES`.
    """

    kind: str
    model: str
    output_space: str


_TREE_MODELS = (
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
)
_LOG_ODDS_TREES = ("HistGradientBoostingClassifier", "GradientBoostingClassifier")
_LINEAR_MODELS = (
    "LinearRegression",
    "LogisticRegression",
    "LogisticRegressionCV",
    "Ridge",
    "RidgeCV",
    "RidgeClassifier",
    "Lasso",
    "LassoCV",
    "ElasticNet",
    "ElasticNetCV",
    "LinearSVC",
    "LinearSVR",
    "SGDClassifier",
    "SGDRegressor",
)


def _model_step(pipeline: Any) -> Any:
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) < 2:
        raise InputError("explain.not_a_pipeline", kind=type(pipeline).__name__)
    return pipeline.steps[-1][1]


def _inner(model: Any) -> Any:
    """The model that makes the predictions (inside a ``TransformedTargetRegressor`` when there is one)."""
    if isinstance(model, TransformedTargetRegressor):
        return getattr(model, "regressor_", model.regressor)
    return model


def choose_explainer(pipeline: Pipeline) -> ExplainerChoice:
    """The SHAP path for a pipeline's last step: tree SHAP for trees, linear SHAP for linear models, else permutation.

    Tree models (single trees, random forests, extra trees, gradient boosting) are never sent to the
    model-agnostic path. Linear models are scikit-learn's linear classes (logistic regression, ridge, lasso,
    linear SVM…) and any fitted model with ``coef_`` and ``intercept_``; a target-scaling wrapper counts as
    linear only when its transformer is a linear rescaling (a ``StandardScaler``). Works on unfitted
    pipelines too.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Feature steps then the model (as :func:`mlcore.modeling.training.build_pipeline` builds it).

    Returns
    -------
    ExplainerChoice

    Raises
    ------
    InputError
        ``explain.not_a_pipeline``.

    Examples
    --------
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sklearn.ensemble import RandomForestClassifier
    >>> choose_explainer(Pipeline([("prepare", StandardScaler()), ("model", RandomForestClassifier())]))
    ExplainerChoice(kind='tree', model='RandomForestClassifier', output_space='probability')
    """
    step = _model_step(pipeline)
    model = _inner(step)
    name = type(model).__name__
    classifier = is_classifier(step)
    if name in _TREE_MODELS:
        space = ("log_odds" if name in _LOG_ODDS_TREES else "probability") if classifier else "raw"
        return ExplainerChoice("tree", name, space)
    wrapper_ok = not isinstance(step, TransformedTargetRegressor) or _linear_target(step)
    linear = name in _LINEAR_MODELS or (hasattr(model, "coef_") and hasattr(model, "intercept_"))
    if linear and wrapper_ok:
        space = ("log_odds" if hasattr(model, "predict_proba") else "margin") if classifier else "raw"
        return ExplainerChoice("linear", name, space)
    space = ("probability" if hasattr(step, "predict_proba") else "margin") if classifier else "raw"
    return ExplainerChoice("permutation", name, space)


def _linear_target(step: TransformedTargetRegressor) -> bool:
    transformer = getattr(step, "transformer_", step.transformer)
    return isinstance(transformer, StandardScaler) or (hasattr(transformer, "scale_") and hasattr(transformer, "mean_"))


# ----------------------------------------------------------------------------- derived columns -> sources


class _Unmapped(Exception):
    """A feature step whose outputs cannot be traced back to its inputs."""


def feature_sources(preprocessor: Any, columns: Sequence[str]) -> tuple[str, ...]:
    """The original input column behind each column the preprocessor outputs.

    Walks :class:`~sklearn.compose.ColumnTransformer` blocks (with their ``output_indices_``) and
    :class:`~sklearn.pipeline.Pipeline` steps. A one-hot encoder's outputs go to the column they encode
    (exact counts per column), a step with as many outputs as inputs is taken as one-to-one (imputers without
    indicators, scalers, ordinal encoders, type conversions), and other steps are traced by the output
    names (``income`` → ``missingindicator_income``, ``signup`` → ``signup_year``; the longest matching input
    name wins). An output that cannot be traced to one column is given to all the block's columns together,
    named ``"a + b"``.

    Parameters
    ----------
    preprocessor : fitted transformer
        Everything before the model in the pipeline.
    columns : sequence of str
        The columns the preprocessor was fitted on, in order.

    Returns
    -------
    tuple of str
        One source name per output column.

    Raises
    ------
    InputError
        ``explain.unmappable`` if the preprocessor gives no output names and the counts do not match.

    Examples
    --------
    >>> from sklearn.impute import SimpleImputer
    >>> X = pd.DataFrame({"age": [30.0, None, 50.0], "plan": ["a", "b", "a"]})
    >>> prep = ColumnTransformer([("num", SimpleImputer(add_indicator=True), ["age"]),
    ...                           ("cat", OneHotEncoder(), ["plan"])]).fit(X)
    >>> feature_sources(prep, ["age", "plan"])
    ('age', 'age', 'plan', 'plan')
    """
    names = [str(c) for c in columns]
    try:
        _, sources = _walk(preprocessor, names, list(names))
    except _Unmapped:
        raise InputError("explain.unmappable", step=type(preprocessor).__name__[:80]) from None
    return tuple(sources)


def _walk(step: Any, names: list[str], sources: list[str]) -> tuple[list[str], list[str]]:
    if step is None or (isinstance(step, str) and step == "passthrough"):
        return names, sources
    if isinstance(step, Pipeline):
        for _, inner in step.steps:
            names, sources = _walk(inner, names, sources)
        return names, sources
    if isinstance(step, ColumnTransformer):
        return _walk_columns(step, names, sources)
    out = _names_out(step, names)
    if isinstance(step, OneHotEncoder):
        counts = getattr(step, "_n_features_outs", None)
        if counts is not None and len(counts) == len(names) and sum(counts) == len(out):
            return out, [s for s, k in zip(sources, counts, strict=True) for _ in range(int(k))]
    if len(out) == len(names):
        return out, list(sources)
    return out, [_match(name, names, sources) for name in out]


def _names_out(step: Any, names: list[str]) -> list[str]:
    getter = getattr(step, "get_feature_names_out", None)
    if getter is None:
        raise _Unmapped
    for args in ((names,), ()):
        try:
            return [str(n) for n in getter(*args)]
        except (ValueError, TypeError, AttributeError, NotFittedError):
            continue
    raise _Unmapped


def _match(output: str, names: list[str], sources: list[str]) -> str:
    best = -1
    for i, name in enumerate(names):
        if (output == name or output.startswith(name + "_") or output.endswith("_" + name)) and (
            best < 0 or len(name) > len(names[best])
        ):
            best = i
    if best >= 0:
        return sources[best]
    distinct = list(dict.fromkeys(sources))
    return distinct[0] if len(distinct) == 1 else " + ".join(distinct)


def _walk_columns(step: ColumnTransformer, names: list[str], sources: list[str]) -> tuple[list[str], list[str]]:
    indices = getattr(step, "output_indices_", None)
    if indices is None:
        raise _Unmapped
    width = max((s.stop for s in indices.values()), default=0)
    out_names: list[str | None] = [None] * width
    out_sources: list[str | None] = [None] * width
    positions = np.arange(len(names))
    for block, transformer, selection in step.transformers_:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        picked = _positions(selection, names, positions)
        span = indices.get(block, slice(0, 0))
        if not picked or span.stop <= span.start:
            continue
        block_names, block_sources = _walk(transformer, [names[i] for i in picked], [sources[i] for i in picked])
        if len(block_sources) != span.stop - span.start:
            raise _Unmapped
        out_names[span] = [f"{block}__{n}" for n in block_names]
        out_sources[span] = block_sources
    if any(s is None for s in out_sources):
        raise _Unmapped
    try:
        final = [str(n) for n in step.get_feature_names_out()]
    except (ValueError, TypeError, AttributeError):
        final = [str(n) for n in out_names]
    return final, [str(s) for s in out_sources]


def _positions(selection: Any, names: list[str], positions: npt.NDArray[np.intp]) -> list[int]:
    if isinstance(selection, str):
        return [names.index(selection)] if selection in names else []
    if isinstance(selection, slice):
        return [int(i) for i in positions[selection]]
    values = np.asarray(selection)
    if values.size == 0:
        return []
    if values.dtype == bool:
        return [int(i) for i in np.flatnonzero(values)]
    if values.dtype.kind in "iu":
        return [int(i) for i in values]
    lookup = {n: i for i, n in enumerate(names)}
    return [lookup[str(v)] for v in values if str(v) in lookup]


# ----------------------------------------------------------------------------- ranges


@dataclass(frozen=True)
class FeatureRange:
    """What values of a column the model saw (in the rows given as ``reference`` to :func:`explain`).

    Attributes
    ----------
    feature : str
    kind : {"numeric", "datetime", "categorical"}
    minimum, maximum : float or str or None
        Numbers as floats, dates as ISO text; None for categories or an empty column.
    categories : tuple of str
        Distinct values as text (categorical columns), at most :data:`MAX_RANGE_CATEGORIES`.
    complete : bool
        Every distinct value is in ``categories`` (only then can a value be called unseen).
    """

    feature: str
    kind: str
    minimum: float | str | None = None
    maximum: float | str | None = None
    categories: tuple[str, ...] = ()
    complete: bool = True


def _kind(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "categorical"


def _range(name: str, series: pd.Series) -> FeatureRange:
    kind = _kind(series)
    present = series.dropna()
    if kind == "numeric":
        values = present.to_numpy(dtype=np.float64)
        values = values[np.isfinite(values)]
        if len(values) == 0:
            return FeatureRange(name, kind)
        return FeatureRange(name, kind, float(values.min()), float(values.max()))
    if kind == "datetime":
        if present.empty:
            return FeatureRange(name, kind)
        return FeatureRange(
            name, kind, pd.Timestamp(present.min()).isoformat(), pd.Timestamp(present.max()).isoformat()
        )
    distinct = sorted({str(v) for v in pd.unique(present.to_numpy())})
    kept = tuple(distinct[:MAX_RANGE_CATEGORIES])
    return FeatureRange(name, kind, categories=kept, complete=len(distinct) <= MAX_RANGE_CATEGORIES)


# ----------------------------------------------------------------------------- the result


@dataclass(frozen=True, eq=False)
class Explanation:
    """SHAP contributions of a sample of rows, per original column, with what the views need.

    For every row: ``base_value + values.loc[row].sum() == predictions[row]`` (local accuracy), and
    ``predictions`` is the model's output in ``output_space`` (for tree and linear models up to float
    rounding; exactly for the permutation path).

    Attributes
    ----------
    explainer : {"tree", "linear", "permutation"}
    model : str
        The model's class name.
    task_type : {"classification", "regression"}
    output_space : str
        One of :data:`OUTPUT_SPACES`.
    class_label : object or None
        The class explained (classification): the positive class for two classes.
    classes : tuple
        The model's classes (empty for regression).
    features : tuple of str
        The columns explained: input columns the model uses, in input order.
    kinds : mapping of str to str
        Feature -> ``numeric``, ``datetime``, ``categorical`` (or ``combined`` for a group no single column explains).
    derived : mapping of str to tuple of str
        Feature -> the model's input columns (after preparation) summed into it.
    values : pandas.DataFrame
        Rows x features: the contributions. Index: the row identifiers (``X``'s index).
    data : pandas.DataFrame
        Rows x input columns: the values as the user knows them (before any preparation).
    predictions : pandas.Series
        The model's output in ``output_space`` per row.
    probabilities : pandas.Series or None
        The explained class's probability per row (probability and log-odds spaces).
    base_value : float
        The average output (of the background or, for trees, of the training data the trees saw).
    base_probability : float or None
        ``base_value`` as a probability (log-odds: the sigmoid/softmax of the average log-odds).
    background : pandas.DataFrame
        The background rows (original values) of the linear and permutation paths; empty for trees.
    ranges : mapping of str to FeatureRange
    n_available : int
        Rows given to :func:`explain` (``n_rows`` of them were explained).
    max_rows : int
        The cap asked for.
    random_state : int
    seconds : float
        Time :func:`explain` took.
    shap_version : str
    """

    explainer: str
    model: str
    task_type: str
    output_space: str
    class_label: Any
    classes: tuple[Any, ...]
    features: tuple[str, ...]
    kinds: Mapping[str, str]
    derived: Mapping[str, tuple[str, ...]]
    values: pd.DataFrame
    data: pd.DataFrame
    predictions: pd.Series
    probabilities: pd.Series | None
    base_value: float
    base_probability: float | None
    background: pd.DataFrame
    ranges: Mapping[str, FeatureRange]
    n_available: int
    max_rows: int
    random_state: int
    seconds: float
    shap_version: str

    @property
    def n_rows(self) -> int:
        """Rows explained."""
        return len(self.values)

    @property
    def capped(self) -> bool:
        """Fewer rows were explained than given (a random sample of them)."""
        return self.n_rows < self.n_available

    # -- storage

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Parquet-friendly frames that :meth:`from_frames` turns back into the same explanation.

        Keys: ``values`` (rows x features), ``data`` (rows x input columns), ``rows`` (``row_id``,
        ``prediction``, ``probability``), ``background`` and ``meta`` (one row, column ``json``). Row
        identifiers are a column (with their own type), never the index.
        """
        rows = pd.DataFrame(
            {
                "row_id": self.values.index.to_numpy(),
                "prediction": self.predictions.to_numpy(dtype=np.float64),
                "probability": (
                    self.probabilities.to_numpy(dtype=np.float64)
                    if self.probabilities is not None
                    else np.full(self.n_rows, np.nan)
                ),
            }
        )
        return {
            "values": self.values.reset_index(drop=True),
            "data": _arrow_safe(self.data.reset_index(drop=True)),
            "rows": rows,
            "background": _arrow_safe(self.background.reset_index(drop=True)),
            "meta": pd.DataFrame({"json": [json.dumps(self._meta(), allow_nan=False)]}),
        }

    def _meta(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "explainer": self.explainer,
            "model": self.model,
            "task_type": self.task_type,
            "output_space": self.output_space,
            "class_label": _plain(self.class_label),
            "classes": [_plain(c) for c in self.classes],
            "features": list(self.features),
            "kinds": dict(self.kinds),
            "derived": {k: list(v) for k, v in self.derived.items()},
            "base_value": float(self.base_value),
            "base_probability": None if self.base_probability is None else float(self.base_probability),
            "ranges": {
                k: {
                    "kind": r.kind,
                    "minimum": r.minimum,
                    "maximum": r.maximum,
                    "categories": list(r.categories),
                    "complete": r.complete,
                }
                for k, r in self.ranges.items()
            },
            "n_available": int(self.n_available),
            "max_rows": int(self.max_rows),
            "random_state": int(self.random_state),
            "seconds": float(self.seconds),
            "shap_version": self.shap_version,
            "index_name": None if self.values.index.name is None else str(self.values.index.name),
            "has_probabilities": self.probabilities is not None,
        }

    @classmethod
    def from_frames(cls, frames: Mapping[str, pd.DataFrame]) -> Explanation:
        """Rebuild an explanation from :meth:`to_frames` (for example read back from Parquet).

        Raises
        ------
        InputError
            ``explain.bad_stored`` if a frame is missing or does not fit the others.
        """
        needed = ("values", "data", "rows", "background", "meta")
        missing = [k for k in needed if k not in frames]
        if missing:
            raise InputError("explain.bad_stored", detail=", ".join(missing))
        try:
            meta = json.loads(str(frames["meta"]["json"].iloc[0]))
        except (KeyError, IndexError, ValueError, TypeError):
            raise InputError("explain.bad_stored", detail="meta") from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise InputError("explain.bad_stored", detail="format")
        rows, values, data = frames["rows"], frames["values"], frames["data"]
        features = [str(f) for f in meta["features"]]
        if list(values.columns) != features or not (len(rows) == len(values) == len(data)):
            raise InputError("explain.bad_stored", detail="shape")
        index = pd.Index(rows["row_id"].to_numpy(), name=meta.get("index_name"))
        values = values.astype(np.float64).set_axis(index)
        data = data.set_axis(index)
        probabilities = (
            pd.Series(rows["probability"].to_numpy(dtype=np.float64), index=index, name="probability")
            if meta.get("has_probabilities")
            else None
        )
        ranges = {
            str(k): FeatureRange(
                str(k),
                str(r["kind"]),
                r.get("minimum"),
                r.get("maximum"),
                tuple(str(c) for c in r.get("categories", [])),
                bool(r.get("complete", True)),
            )
            for k, r in meta["ranges"].items()
        }
        return cls(
            explainer=str(meta["explainer"]),
            model=str(meta["model"]),
            task_type=str(meta["task_type"]),
            output_space=str(meta["output_space"]),
            class_label=meta["class_label"],
            classes=tuple(meta["classes"]),
            features=tuple(features),
            kinds={str(k): str(v) for k, v in meta["kinds"].items()},
            derived={str(k): tuple(str(x) for x in v) for k, v in meta["derived"].items()},
            values=values,
            data=data,
            predictions=pd.Series(rows["prediction"].to_numpy(dtype=np.float64), index=index, name="prediction"),
            probabilities=probabilities,
            base_value=float(meta["base_value"]),
            base_probability=None if meta["base_probability"] is None else float(meta["base_probability"]),
            background=frames["background"].reset_index(drop=True),
            ranges=ranges,
            n_available=int(meta["n_available"]),
            max_rows=int(meta["max_rows"]),
            random_state=int(meta["random_state"]),
            seconds=float(meta["seconds"]),
            shap_version=str(meta["shap_version"]),
        )

    def to_table(self) -> Any:
        """One Arrow table (store it with ``ArtifactStore.put_table``): the frames side by side.

        Explained rows come first (``part`` = ``row``), then the background rows (``part`` =
        ``background``, no contributions); columns are prefixed ``v:`` (contributions), ``d:`` (values)
        and ``r:`` (row id, prediction, probability); the rest is JSON in the schema metadata.
        """
        import pyarrow as pa

        frames = self.to_frames()
        explained = pd.concat(
            [
                frames["values"].add_prefix("v:"),
                frames["data"].add_prefix("d:"),
                frames["rows"].add_prefix("r:"),
            ],
            axis=1,
        )
        explained.insert(0, "part", "row")
        background = frames["background"].add_prefix("d:")
        background.insert(0, "part", "background")
        both = pd.concat([explained, background], ignore_index=True) if len(background) else explained
        table = pa.Table.from_pandas(both, preserve_index=False)
        metadata = dict(table.schema.metadata or {})
        metadata[_META_KEY] = frames["meta"]["json"].iloc[0].encode("utf-8")
        return table.replace_schema_metadata(metadata)

    @classmethod
    def from_table(cls, table: Any) -> Explanation:
        """Rebuild an explanation from :meth:`to_table`.

        Raises
        ------
        InputError
            ``explain.bad_stored``.
        """
        metadata = table.schema.metadata or {}
        if _META_KEY not in metadata:
            raise InputError("explain.bad_stored", detail="metadata")
        frame = table.to_pandas()
        if "part" not in frame.columns:
            raise InputError("explain.bad_stored", detail="part")
        explained = frame[frame["part"] == "row"].reset_index(drop=True)
        background = frame[frame["part"] == "background"].reset_index(drop=True)

        def block(source: pd.DataFrame, prefix: str) -> pd.DataFrame:
            columns = [c for c in source.columns if c.startswith(prefix)]
            return source[columns].rename(columns=lambda c: c[len(prefix) :])

        return cls.from_frames(
            {
                "values": block(explained, "v:"),
                "data": block(explained, "d:"),
                "rows": block(explained, "r:"),
                "background": block(background, "d:"),
                "meta": pd.DataFrame({"json": [metadata[_META_KEY].decode("utf-8")]}),
            }
        )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _arrow_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Object columns holding several Python types become text (missing stays missing)."""
    import pyarrow as pa

    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            try:
                pa.array(out[column], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                out[column] = out[column].astype(str).where(out[column].notna(), None)
    return out


# ----------------------------------------------------------------------------- input checks


def _input_columns(pipeline: Pipeline) -> list[str]:
    """The columns the pipeline was fitted on (from its first step that recorded them)."""
    names = None
    with contextlib.suppress(AttributeError):
        names = pipeline.feature_names_in_
    for _, step in pipeline.steps:
        if names is not None:
            break
        names = getattr(step, "feature_names_in_", None)
    if names is None:
        raise InputError("explain.no_column_names")
    return [str(n) for n in names]


def _check_fitted(pipeline: Pipeline) -> None:
    try:
        check_is_fitted(pipeline.steps[-1][1])
    except NotFittedError:
        raise InputError("explain.not_fitted") from None


def _check_frame(X: Any, columns: Sequence[str]) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise InputError("explain.not_a_frame", kind=type(X).__name__[:60])
    if len(X) == 0:
        raise InputError("explain.empty")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise InputError("explain.missing_columns", columns=_names(missing))
    if not X.index.is_unique:
        raise InputError("explain.duplicate_index", count=int(X.index.duplicated().sum()))
    return X


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise InputError(key, value=str(value)[:40])
    return int(value)


def _names(columns: Sequence[Any], limit: int = 10) -> str:
    shown = [str(c)[:60] for c in list(columns)[:limit]]
    more = len(columns) - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


# ----------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class _Output:
    """Contributions of some rows (per feature), before they are wrapped in an :class:`Explanation`."""

    values: Floats
    base: float
    predictions: Floats
    probabilities: Floats | None
    base_probability: float | None


class _Engine:
    """Explains rows of original values with one pipeline and fixed settings (class, background)."""

    def __init__(
        self,
        pipeline: Pipeline,
        *,
        columns: list[str],
        class_label: Any,
        background: pd.DataFrame,
        random_state: int,
        n_permutations: int,
    ) -> None:
        self.pipeline = pipeline
        self.columns = columns
        self.choice = choose_explainer(pipeline)
        self.step = pipeline.steps[-1][1]
        self.prepare = pipeline[:-1]
        self.random_state = random_state
        self.n_permutations = n_permutations
        self.classes: tuple[Any, ...] = tuple(getattr(self.step, "classes_", ())) if is_classifier(self.step) else ()
        self.task_type = "classification" if self.classes else "regression"
        self.class_label, self.class_index = _pick_class(self.classes, class_label)
        self.background = background
        sources = feature_sources(self.prepare, columns)
        self.sources = sources
        self.features = tuple(dict.fromkeys(s for s in sources))
        if self.choice.kind == "permutation":
            used = [c for c in columns if any(c == s or c in s.split(" + ") for s in self.features)]
            self.features = tuple(used)
        self.used_columns = [c for c in columns if any(c == f or c in f.split(" + ") for f in self.features)]
        group = {f: i for i, f in enumerate(self.features)}
        self.groups = np.zeros((len(sources), len(self.features)), dtype=np.float64)
        for j, source in enumerate(sources):
            if source in group:
                self.groups[j, group[source]] = 1.0
        self._explainer: Any = None
        self._tree: _TreeInput | None = None

    # -- shared

    def frame(self, rows: pd.DataFrame) -> pd.DataFrame:
        """The rows with every column the pipeline reads (unused ones as missing)."""
        out = rows.copy()
        for column in self.columns:
            if column not in out.columns:
                out[column] = None
        return out[self.columns]

    def transform(self, rows: pd.DataFrame) -> Floats:
        out = self.prepare.transform(self.frame(rows))
        if hasattr(out, "toarray"):
            out = out.toarray()
        return np.asarray(out, dtype=np.float64)

    def run(
        self, rows: pd.DataFrame, *, progress: Progress | None = None, should_stop: Callable[[], bool] | None = None
    ) -> _Output:
        if self.choice.kind == "tree":
            return self._tree_run(rows, progress, should_stop)
        if self.choice.kind == "linear":
            return self._linear_run(rows, progress, should_stop)
        return self._permutation_run(rows, progress, should_stop)

    def _finish(self, full: Floats, base_full: Floats) -> _Output:
        """From raw SHAP (rows x model inputs x outputs) to one output per feature for the explained class."""
        margins = base_full[None, :] + full.sum(axis=1)
        k = self.class_index
        if full.shape[2] == 1:
            sign = -1.0 if (self.classes and k == 0) else 1.0
            per_input, base = sign * full[:, :, 0], sign * float(base_full[0])
        else:
            per_input, base = full[:, :, k], float(base_full[k])
        values = per_input @ self.groups
        predictions = base + values.sum(axis=1)
        probabilities, base_probability = self._probabilities(margins, base_full, predictions, base)
        return _Output(values, base, predictions, probabilities, base_probability)

    def _probabilities(
        self, margins: Floats, base_full: Floats, predictions: Floats, base: float
    ) -> tuple[Floats | None, float | None]:
        space = self.choice.output_space
        if space == "probability":
            return np.clip(predictions, 0.0, 1.0), float(np.clip(base, 0.0, 1.0))
        if space != "log_odds":
            return None, None
        if margins.shape[1] == 1:
            return _sigmoid(predictions), float(_sigmoid(np.array([base]))[0])
        return _softmax(margins)[:, self.class_index], float(_softmax(base_full[None, :])[0, self.class_index])

    def _chunks(
        self,
        n: int,
        compute: Callable[[slice], None],
        progress: Progress | None,
        should_stop: Callable[[], bool] | None,
        *,
        first: int,
    ) -> None:
        """Run ``compute`` over slices of rows: a small first one, then slices of about half a second."""
        done = 0
        size = min(first, n)
        while done < n:
            if should_stop is not None and should_stop():
                raise ExplainCancelled("explain.cancelled")
            start = time.perf_counter()
            part = slice(done, min(n, done + size))
            compute(part)
            took = time.perf_counter() - start
            done = part.stop
            per_row = took / max(part.stop - part.start, 1)
            size = max(first, int(_CHUNK_SECONDS / per_row)) if per_row > 0 else n
            if progress is not None:
                progress(done / n, "explain.progress.rows", done=done, total=n)

    # -- tree

    def _tree_explainer(self) -> Any:
        if self._explainer is None:
            import shap

            model = _inner(self.step)
            if type(model).__name__.startswith("HistGradientBoosting"):
                self._tree = _hgb_input(model)
                self._explainer = _hgb_explainer(model, self._tree)
            else:
                self._explainer = shap.TreeExplainer(model)
        return self._explainer

    def _tree_run(
        self, rows: pd.DataFrame, progress: Progress | None, should_stop: Callable[[], bool] | None
    ) -> _Output:
        explainer = self._tree_explainer()
        Xt = self.transform(rows)
        tree = self._tree
        model_input = tree.prepare(Xt) if tree is not None else Xt
        n, width = len(Xt), model_input.shape[1]
        base_full = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64)).ravel()
        full = np.empty((n, width, len(base_full)), dtype=np.float64)

        def compute(part: slice) -> None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = np.asarray(explainer.shap_values(model_input[part], check_additivity=False), dtype=np.float64)
            full[part] = out.reshape(out.shape[0], width, -1) if out.ndim == 3 else out[:, :, None]

        self._chunks(n, compute, progress, should_stop, first=_FIRST_CHUNK)
        if tree is not None:
            full = tree.restore(full, Xt.shape[1])
        return self._finish(full, base_full)

    # -- linear

    def _linear_run(
        self, rows: pd.DataFrame, progress: Progress | None, should_stop: Callable[[], bool] | None
    ) -> _Output:
        import shap

        if self._explainer is None:
            background = self.transform(self.background)
            masker = shap.maskers.Independent(background, max_samples=len(background))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._explainer = shap.LinearExplainer(_inner(self.step), masker)
        explainer = self._explainer
        Xt = self.transform(rows)
        base_full = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64)).ravel()
        full = np.empty((len(Xt), Xt.shape[1], len(base_full)), dtype=np.float64)

        def compute(part: slice) -> None:
            out = np.asarray(explainer.shap_values(Xt[part]), dtype=np.float64)
            full[part] = out.reshape(out.shape[0], Xt.shape[1], -1) if out.ndim == 3 else out[:, :, None]

        self._chunks(len(Xt), compute, progress, should_stop, first=max(len(Xt), 1))
        if isinstance(self.step, TransformedTargetRegressor):
            scaler = self.step.transformer_
            scale = float(np.ravel(scaler.scale_)[0]) if getattr(scaler, "scale_", None) is not None else 1.0
            mean = float(np.ravel(scaler.mean_)[0]) if getattr(scaler, "mean_", None) is not None else 0.0
            full = full * scale
            base_full = base_full * scale + mean
        return self._finish(full, base_full)

    # -- model-agnostic

    def _permutation_run(
        self, rows: pd.DataFrame, progress: Progress | None, should_stop: Callable[[], bool] | None
    ) -> _Output:
        """Permutation SHAP on the original columns (see :func:`_permutation_values`)."""
        features = list(self.features)
        codec = _Codec(pd.concat([rows[features], self.background[features]], ignore_index=True), features)
        output = self._output_function()

        def predict(codes: Floats) -> Floats:
            return output(self.frame(codec.decode(codes)))

        background = codec.encode(self.background[features])
        base = float(np.mean(predict(background)))
        encoded = codec.encode(rows[features])
        rng = np.random.default_rng(self.random_state)
        values = np.empty(encoded.shape, dtype=np.float64)

        def compute(part: slice) -> None:
            values[part] = _permutation_values(predict, encoded[part], background, base, self.n_permutations, rng)

        self._chunks(len(encoded), compute, progress, should_stop, first=_AGNOSTIC_CHUNK)
        predictions = base + values.sum(axis=1)
        probabilities = np.clip(predictions, 0.0, 1.0) if self.choice.output_space == "probability" else None
        base_probability = float(np.clip(base, 0.0, 1.0)) if probabilities is not None else None
        return _Output(values, base, predictions, probabilities, base_probability)

    def _output_function(self) -> Callable[[pd.DataFrame], Floats]:
        pipeline, k = self.pipeline, self.class_index
        if not self.classes:
            return lambda frame: np.asarray(pipeline.predict(frame), dtype=np.float64).ravel()
        if self.choice.output_space == "probability":
            return lambda frame: np.asarray(pipeline.predict_proba(frame), dtype=np.float64)[:, k]

        def margin(frame: pd.DataFrame) -> Floats:
            scores = np.asarray(pipeline.decision_function(frame), dtype=np.float64)
            if scores.ndim == 1:
                return scores if k == 1 else -scores
            return scores[:, k]

        return margin


def _pick_class(classes: tuple[Any, ...], class_label: Any) -> tuple[Any, int]:
    if not classes:
        if class_label is not None:
            raise InputError("explain.class_for_regression")
        return None, 0
    if class_label is not None:
        for i, c in enumerate(classes):
            if c == class_label or str(c) == str(class_label):
                return _plain(c), i
        raise InputError("explain.unknown_class", label=str(class_label)[:80], classes=_names(classes))
    if len(classes) == 2:
        for i, c in enumerate(classes):
            if isinstance(c, bool | np.bool_ | int | float | np.number) and c == 1:
                return _plain(c), i
        return _plain(classes[1]), 1
    return _plain(classes[-1]), len(classes) - 1


def _permutation_values(
    predict: Callable[[Floats], Floats],
    rows: Floats,
    background: Floats,
    base: float,
    n_permutations: int,
    rng: np.random.Generator,
) -> Floats:
    """Permutation SHAP with an interventional background, all rows of a chunk in one model call.

    For each row and each of ``n_permutations`` random orders of the columns, walked forwards and then
    backwards (antithetic sampling): starting from every background row, the row's values are switched in
    one column at a time; each column gets the change of the average prediction its switch caused. Every
    walk's changes add up to ``f(row) - base`` exactly (``base``: average prediction on the background), so
    local accuracy holds whatever the number of walks; more walks only lower the noise. This is the
    algorithm of ``shap.PermutationExplainer``, written without numba (whose compilation costs ~30 s in every
    new job process).
    """
    n, m = rows.shape
    b = len(background)
    walks = 2 * n_permutations
    orders = np.empty((n, walks, m), dtype=np.intp)
    for i in range(n):
        for q in range(n_permutations):
            order = rng.permutation(m)
            orders[i, 2 * q] = order
            orders[i, 2 * q + 1] = order[::-1]
    # rank[i, w, j]: the step at which column j is switched in walk w of row i.
    rank = np.empty_like(orders)
    np.put_along_axis(rank, orders, np.arange(m)[None, None, :], axis=2)
    switched = rank[:, :, None, :] <= np.arange(m)[None, None, :, None]  # (n, walks, step, column)
    points = np.where(
        switched[:, :, :, None, :], rows[:, None, None, None, :], background[None, None, None, :, :]
    )  # (n, walks, step, background row, column)
    outputs = predict(points.reshape(-1, m)).reshape(n, walks, m, b).mean(axis=3)
    before = np.concatenate([np.full((n, walks, 1), base), outputs[:, :, :-1]], axis=2)
    steps = outputs - before
    values = np.zeros((n, m), dtype=np.float64)
    for w in range(walks):
        np.add.at(values, (np.arange(n)[:, None], orders[:, w, :]), steps[:, w, :])
    return values / walks


def _sigmoid(x: Floats) -> Floats:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(x, -700, 700))), dtype=np.float64)


def _softmax(x: Floats) -> Floats:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=1, keepdims=True), dtype=np.float64)


class _Codec:
    """Original columns <-> a float matrix (categories and dates as numbers) for the permutation masker."""

    def __init__(self, frame: pd.DataFrame, features: list[str]) -> None:
        self.features = features
        self.dtypes = {c: frame[c].dtype for c in features}
        self.kinds = {c: _kind(frame[c]) for c in features}
        self.categories = {
            c: pd.Index(pd.unique(frame[c].dropna())) for c in features if self.kinds[c] == "categorical"
        }

    def encode(self, frame: pd.DataFrame) -> Floats:
        out = np.empty((len(frame), len(self.features)), dtype=np.float64)
        for j, column in enumerate(self.features):
            series = frame[column]
            kind = self.kinds[column]
            if kind == "categorical":
                codes = self.categories[column].get_indexer(series).astype(np.float64)
                codes[codes < 0] = np.nan
                out[:, j] = codes
            elif kind == "datetime":
                stamps = pd.to_datetime(series)
                if isinstance(stamps.dtype, pd.DatetimeTZDtype):
                    stamps = stamps.dt.tz_convert(None)
                numbers = stamps.to_numpy(dtype="datetime64[ns]").astype(np.int64).astype(np.float64)
                numbers[stamps.isna().to_numpy()] = np.nan
                out[:, j] = numbers
            else:
                out[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return out

    def decode(self, codes: Floats) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for j, column in enumerate(self.features):
            values = codes[:, j]
            kind = self.kinds[column]
            present = ~np.isnan(values)
            if kind == "categorical":
                lookup = np.asarray(self.categories[column], dtype=object)
                decoded = np.full(len(values), None, dtype=object)
                decoded[present] = lookup[values[present].astype(np.intp)]
                series = pd.Series(decoded)
                if pd.api.types.is_bool_dtype(self.dtypes[column]) and present.all():
                    series = series.astype(bool)
                columns[column] = series
            elif kind == "datetime":
                stamps = pd.to_datetime(pd.Series(values), unit="ns")
                tz = getattr(self.dtypes[column], "tz", None)
                columns[column] = stamps.dt.tz_localize("UTC").dt.tz_convert(tz) if tz is not None else stamps
            else:
                columns[column] = values
        return pd.DataFrame(columns)


# ----------------------------------------------------------------------------- gradient boosting trees


@dataclass(frozen=True)
class _TreeInput:
    """How pipeline output columns become the boosting model's own inputs, and back.

    ``order[j]``: the pipeline column feeding model input ``j`` (the model puts categorical columns
    first); ``encode``: the model's own category encoding, or None; ``categorical``: model inputs that
    are categories, whose codes are shifted by one (SHAP's category masks start at 1) and unknown
    codes made missing, as the model treats them.
    """

    order: npt.NDArray[np.intp]
    encode: Any
    categorical: Mapping[int, npt.NDArray[np.float64]]

    def prepare(self, Xt: Floats) -> Floats:
        data = np.asarray(self.encode.transform(Xt) if self.encode is not None else Xt, dtype=np.float64)
        data = np.array(data, dtype=np.float64, copy=True)
        for j, known in self.categorical.items():
            column = data[:, j]
            ok = np.isin(column, known)
            column[~ok] = np.nan
            column[ok] += 1.0
        return data

    def restore(self, full: Floats, width: int) -> Floats:
        out = np.zeros((full.shape[0], width, full.shape[2]), dtype=np.float64)
        out[:, self.order, :] = full
        return out


def _hgb_input(model: Any) -> _TreeInput:
    encode = getattr(model, "_preprocessor", None)
    n_inputs = int(model.n_features_in_)
    order = np.arange(n_inputs, dtype=np.intp)
    if encode is not None:
        placed = np.full(n_inputs, -1, dtype=np.intp)
        positions = np.arange(n_inputs)
        for name, _, selection in encode.transformers_:
            span = encode.output_indices_.get(name, slice(0, 0))
            picked = _positions(selection, [str(i) for i in range(n_inputs)], positions)
            if len(picked) != span.stop - span.start:
                raise InputError("explain.unsupported_model", model=type(model).__name__)
            placed[span] = picked
        if (placed < 0).any():
            raise InputError("explain.unsupported_model", model=type(model).__name__)
        order = placed
    mapper = model._bin_mapper
    flags = getattr(mapper, "is_categorical_", None)
    categorical: dict[int, npt.NDArray[np.float64]] = {}
    if flags is not None:
        for j in np.flatnonzero(np.asarray(flags)):
            categorical[int(j)] = np.asarray(mapper.bin_thresholds_[j], dtype=np.float64)
    return _TreeInput(order, encode, categorical)


def _hgb_explainer(model: Any, tree_input: _TreeInput) -> Any:
    """A :class:`shap.TreeExplainer` over the boosting model's trees, categorical splits included.

    SHAP's own reading of these models compares category codes with thresholds and ignores the model's
    column reordering; here each categorical split becomes SHAP's category-mask split (codes shifted by
    one), with the two sides swapped when only the right side's mask is exact in single precision, and
    otherwise a chain of threshold splits over runs of codes with the subtrees copied (their covers
    shared out so that every expectation is unchanged).
    """
    import shap

    predictors = model._predictors
    n_outputs = len(predictors[0])
    trees: list[dict[str, Any]] = []
    masks: list[dict[int, float]] = []
    total = 0
    for iteration in predictors:
        for k, predictor in enumerate(iteration):
            builder = _TreeBuilder(predictor, k, n_outputs, tree_input.categorical)
            builder.emit(0, 1.0)
            total += len(builder.left)
            if total > _MAX_TREE_NODES:
                raise InputError("explain.model_too_large", nodes=total)
            trees.append(builder.tree())
            masks.append(builder.masks)
    base = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
    spec = {
        "trees": trees,
        "base_offset": base if n_outputs > 1 else float(base[0]),
        "input_dtype": np.float64,
        "internal_dtype": np.float64,
        "tree_output": "raw_value",
    }
    explainer = shap.TreeExplainer(spec)
    for t, tree_masks in enumerate(masks):
        for node, mask in tree_masks.items():
            explainer.model.threshold_types[t, node] = 1
            explainer.model.thresholds[t, node] = mask
    return explainer


class _TreeBuilder:
    """One boosting tree in SHAP's array layout (see :func:`_hgb_explainer`)."""

    def __init__(
        self, predictor: Any, output: int, n_outputs: int, categorical: Mapping[int, npt.NDArray[np.float64]]
    ) -> None:
        self.nodes = predictor.nodes
        self.bitsets = predictor.raw_left_cat_bitsets
        self.output = output
        self.n_outputs = n_outputs
        self.categorical = categorical
        self.left: list[int] = []
        self.right: list[int] = []
        self.default: list[int] = []
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.value: list[float] = []
        self.cover: list[float] = []
        self.masks: dict[int, float] = {}

    def tree(self) -> dict[str, Any]:
        values = np.zeros((len(self.value), self.n_outputs), dtype=np.float64)
        values[:, self.output] = self.value
        return {
            "children_left": np.asarray(self.left, dtype=np.int32),
            "children_right": np.asarray(self.right, dtype=np.int32),
            "children_default": np.asarray(self.default, dtype=np.int32),
            "features": np.asarray(self.feature, dtype=np.int32),
            "thresholds": np.asarray(self.threshold, dtype=np.float64),
            "values": values,
            "node_sample_weight": np.asarray(self.cover, dtype=np.float64),
        }

    def _new(self, feature: int, threshold: float, value: float, cover: float) -> int:
        self.left.append(-1)
        self.right.append(-1)
        self.default.append(-1)
        self.feature.append(feature)
        self.threshold.append(threshold)
        self.value.append(value)
        self.cover.append(cover)
        return len(self.left) - 1

    def _link(self, node: int, left: int, right: int, default: int) -> None:
        self.left[node], self.right[node], self.default[node] = left, right, default

    def emit(self, index: int, scale: float) -> int:
        node = self.nodes[index]
        cover = float(node["count"]) * scale
        if node["is_leaf"]:
            return self._new(-2, 0.0, float(node["value"]), cover)
        feature = int(node["feature_idx"])
        left_first = bool(node["missing_go_to_left"])
        if not node["is_categorical"]:
            me = self._new(feature, float(node["num_threshold"]), 0.0, cover)
            left = self.emit(int(node["left"]), scale)
            right = self.emit(int(node["right"]), scale)
            self._link(me, left, right, left if left_first else right)
            return me
        known = self.categorical[feature].astype(np.int64)
        words = self.bitsets[int(node["bitset_idx"])]
        goes_left = np.array([(int(words[c // 32]) >> (c % 32)) & 1 for c in known], dtype=bool)
        return self._categorical(node, feature, known, goes_left, scale, cover, left_first)

    def _categorical(
        self,
        node: Any,
        feature: int,
        known: npt.NDArray[np.int64],
        goes_left: npt.NDArray[np.bool_],
        scale: float,
        cover: float,
        left_first: bool,
    ) -> int:
        left_id, right_id = int(node["left"]), int(node["right"])
        if known.size and known.max() <= _MASK_MAX_CODE and goes_left.any() and (~goes_left).any():
            for members, first, second in (
                (known[goes_left], left_id, right_id),
                (known[~goes_left], right_id, left_id),
            ):
                mask = float(sum(2 ** int(c) for c in members))
                if float(np.float32(mask)) == mask:
                    me = self._new(feature, 0.0, 0.0, cover)
                    self.masks[me] = mask
                    a = self.emit(first, scale)
                    b = self.emit(second, scale)
                    missing = a if (first == left_id) == left_first else b
                    self._link(me, a, b, missing)
                    return me
        return self._chain(feature, known, goes_left, left_id, right_id, scale, cover, left_first)

    def _chain(
        self,
        feature: int,
        known: npt.NDArray[np.int64],
        goes_left: npt.NDArray[np.bool_],
        left_id: int,
        right_id: int,
        scale: float,
        cover: float,
        left_first: bool,
    ) -> int:
        """Threshold splits over runs of (shifted) codes that go the same way, each run with its own copy."""
        order = np.argsort(known)
        codes, sides = known[order] + 1, goes_left[order]
        runs: list[tuple[float, bool, int]] = []  # (upper threshold, goes left, number of codes)
        start = 0
        for i in range(1, len(codes) + 1):
            if i == len(codes) or sides[i] != sides[start]:
                upper = (codes[i - 1] + codes[i]) / 2.0 if i < len(codes) else math.inf
                runs.append((float(upper), bool(sides[start]), i - start))
                start = i
        if len(runs) == 1:  # every known code goes one way: only missing values can take the other
            side = runs[0][1]
            runs = [(0.5, not side, 0), (math.inf, side, len(codes))]
        sizes = {True: sum(r[2] for r in runs if r[1]), False: sum(r[2] for r in runs if not r[1])}
        counts = {True: sum(1 for r in runs if r[1]), False: sum(1 for r in runs if not r[1])}
        node_cover = {True: float(self.nodes[left_id]["count"]), False: float(self.nodes[right_id]["count"])}

        def share(run: tuple[float, bool, int]) -> float:
            side = run[1]
            return run[2] / sizes[side] if sizes[side] else 1.0 / counts[side]

        covers = [node_cover[r[1]] * scale * share(r) for r in runs]
        # Split nodes first, so that a chain replacing the root keeps index 0.
        chain = [self._new(feature, runs[i][0], 0.0, sum(covers[i:])) for i in range(len(runs) - 1)]
        copies = [self.emit(left_id if r[1] else right_id, scale * share(r)) for r in runs]
        missing_copy = next(i for i, r in enumerate(runs) if r[1] == left_first)
        for i, me in enumerate(chain):
            below = chain[i + 1] if i + 1 < len(chain) else copies[-1]
            self._link(me, copies[i], below, copies[i] if missing_copy == i else below)
        _ = cover
        return chain[0]


# ----------------------------------------------------------------------------- explain


def explain(
    pipeline: Pipeline,
    X: pd.DataFrame,
    *,
    max_rows: int = DEFAULT_MAX_ROWS,
    random_state: int = 0,
    class_label: Any = None,
    reference: pd.DataFrame | None = None,
    background_size: int | None = None,
    n_permutations: int = 1,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Explanation:
    """Explain a pipeline's predictions for (a random sample of) the rows of ``X`` with SHAP.

    The explainer follows :func:`choose_explainer`. Tree models use SHAP's default tree path
    (``shap.TreeExplainer(model)``: path-dependent, exact, no background data, raw output: probabilities for
    forests and single trees, log-odds for gradient boosting); linear models use ``shap.LinearExplainer``
    with ``background_size`` rows of ``X`` as background (default :data:`LINEAR_BACKGROUND_ROWS`); other
    models use ``shap.PermutationExplainer`` on the original columns (each column one player, so nothing
    needs summing back) with ``background_size`` rows (default :data:`AGNOSTIC_BACKGROUND_ROWS`) and at most
    :data:`AGNOSTIC_MAX_ROWS` rows. Contributions of derived columns (one-hot, date parts, missing
    indicators) are summed into the column they came from (:func:`feature_sources`).

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Fitted on a DataFrame: feature steps, then the model.
    X : pandas.DataFrame
        Rows to explain, with every column the pipeline reads; the index identifies the rows (set an
        identifier column as the index to pick rows by it later). Must be unique.
    max_rows : int, default 2000
        At most this many rows are explained (a random sample, kept in ``X``'s order).
    random_state : int
        Seed of the sample, the background and the permutations.
    class_label : object, optional
        The class to explain. Default: the positive class (1 or True, else the second class) for two
        classes, the last class for more.
    reference : pandas.DataFrame, optional
        Rows whose values count as "seen in training" for :func:`what_if` warnings (pass the training
        rows); default ``X``.
    background_size : int, optional
    n_permutations : int, default 1
        Permutation path: forward-and-backward passes per row (each exact in sum; more lowers the noise).
    progress : callable, optional
        ``progress(fraction, "explain.progress.rows", done=, total=)`` after each chunk of rows.
    should_stop : callable, optional
        Checked between chunks; when it returns True, :class:`ExplainCancelled` is raised.

    Returns
    -------
    Explanation

    Raises
    ------
    InputError
        ``explain.not_a_pipeline``, ``explain.not_fitted``, ``explain.no_column_names``,
        ``explain.not_a_frame``, ``explain.empty``, ``explain.missing_columns``, ``explain.duplicate_index``,
        ``explain.bad_max_rows``, ``explain.bad_background_size``, ``explain.bad_permutations``,
        ``explain.unknown_class``, ``explain.unmappable``, ``explain.unsupported_model``.
    ExplainCancelled
        When ``should_stop()`` returned True.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> pipe = Pipeline([("prepare", "passthrough"), ("model", LinearRegression())])
    >>> pipe = pipe.fit(X, 2 * X["a"] + X["b"])
    >>> result = explain(pipe, X)
    >>> result.explainer, result.base_value, result.values.loc[3].round(6).tolist()
    ('linear', 3.5, [3.0, -0.5])
    """
    started = time.perf_counter()
    _model_step(pipeline)
    _check_fitted(pipeline)
    columns = _input_columns(pipeline)
    frame = _check_frame(X, columns)
    max_rows = _positive_int(max_rows, "explain.bad_max_rows")
    n_permutations = _positive_int(n_permutations, "explain.bad_permutations")
    if background_size is not None:
        background_size = _positive_int(background_size, "explain.bad_background_size")
    if reference is not None:
        reference = _check_frame(reference, [])
    choice = choose_explainer(pipeline)
    rng = np.random.default_rng(random_state)
    cap = min(max_rows, AGNOSTIC_MAX_ROWS) if choice.kind == "permutation" else max_rows
    positions = np.arange(len(frame))
    if len(frame) > cap:
        positions = np.sort(rng.choice(len(frame), cap, replace=False))
    rows = frame.iloc[positions]
    if choice.kind == "tree":
        background = frame.iloc[:0]
    else:
        size = background_size or (LINEAR_BACKGROUND_ROWS if choice.kind == "linear" else AGNOSTIC_BACKGROUND_ROWS)
        chosen = np.sort(rng.choice(len(frame), min(size, len(frame)), replace=False))
        background = frame.iloc[chosen]
    engine = _Engine(
        pipeline,
        columns=columns,
        class_label=class_label,
        background=background[columns].reset_index(drop=True),
        random_state=random_state,
        n_permutations=n_permutations,
    )
    output = engine.run(rows[columns], progress=progress, should_stop=should_stop)
    used = engine.used_columns
    source = reference if reference is not None else frame
    ranges = {c: _range(c, source[c]) for c in used if c in source.columns}
    kinds = {f: (_kind(frame[f]) if f in frame.columns else "combined") for f in engine.features}
    derived: dict[str, tuple[str, ...]] = {f: () for f in engine.features}
    if choice.kind != "permutation":
        names = _transformed_names(engine.prepare, columns, len(engine.sources))
        for name, src in zip(names, engine.sources, strict=True):
            derived[src] = (*derived[src], name)
    else:
        derived = {f: (f,) for f in engine.features}
    import shap

    index = rows.index
    return Explanation(
        explainer=choice.kind,
        model=choice.model,
        task_type=engine.task_type,
        output_space=choice.output_space,
        class_label=engine.class_label,
        classes=tuple(_plain(c) for c in engine.classes),
        features=engine.features,
        kinds=kinds,
        derived=derived,
        values=pd.DataFrame(output.values, index=index, columns=list(engine.features)),
        data=rows[used].copy(),
        predictions=pd.Series(output.predictions, index=index, name="prediction"),
        probabilities=(
            pd.Series(output.probabilities, index=index, name="probability")
            if output.probabilities is not None
            else None
        ),
        base_value=output.base,
        base_probability=output.base_probability,
        background=background[used].reset_index(drop=True),
        ranges=ranges,
        n_available=len(frame),
        max_rows=max_rows,
        random_state=random_state,
        seconds=time.perf_counter() - started,
        shap_version=str(shap.__version__),
    )


def _transformed_names(prepare: Any, columns: list[str], width: int) -> list[str]:
    try:
        names = [str(n) for n in prepare.get_feature_names_out(columns)]
    except (ValueError, TypeError, AttributeError):
        try:
            names = [str(n) for n in prepare.get_feature_names_out()]
        except (ValueError, TypeError, AttributeError):
            names = []
    if len(names) == width:
        return names
    return list(columns) if len(columns) == width else [f"x{i}" for i in range(width)]


# ----------------------------------------------------------------------------- what-if


@dataclass(frozen=True)
class WhatIfWarning:
    """A what-if value the model never saw in training, so its prediction there is a guess.

    Attributes
    ----------
    feature : str
    kind : {"below_range", "above_range", "unseen_category"}
    value : str
        The value as text.
    minimum, maximum : float or str or None
        The range seen (numbers and dates).
    """

    feature: str
    kind: str
    value: str
    minimum: float | str | None = None
    maximum: float | str | None = None

    @property
    def key(self) -> str:
        return f"explain.warning.{self.kind}"

    def message(self, lang: str = "en") -> str:
        """The warning in ``lang``."""
        return translate(
            self.key,
            lang,
            feature=self.feature,
            value=self.value,
            minimum="" if self.minimum is None else str(self.minimum),
            maximum="" if self.maximum is None else str(self.maximum),
        )


@dataclass(frozen=True, eq=False)
class WhatIf:
    """A row with some values changed: its new prediction and explanation.

    Attributes
    ----------
    row_id : object or None
        The row changed (None when the row was given as values).
    changes : mapping of str to object
        The new values, as used.
    explanation : Explanation
        One row: the changed row, explained with the same settings (same base value).
    before_prediction, after_prediction : float
        The model's output in the explanation's output space, before and after the changes.
    before_probability, after_probability : float or None
    warnings : tuple of WhatIfWarning
    """

    row_id: Any
    changes: Mapping[str, Any]
    explanation: Explanation
    before_prediction: float
    after_prediction: float
    before_probability: float | None
    after_probability: float | None
    warnings: tuple[WhatIfWarning, ...]


def what_if(
    pipeline: Pipeline,
    explanation: Explanation,
    row: Hashable | Mapping[str, Any] | pd.Series,
    changes: Mapping[str, Any],
) -> WhatIf:
    """Change some values of a row and explain the new prediction with the settings of ``explanation``.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        The model ``explanation`` was computed for.
    explanation : Explanation
    row : row id or mapping or pandas.Series
        A row identifier of ``explanation.data``, or the row's values (every input column).
    changes : mapping of str to object
        Column -> new value. Numbers may be given as text; dates as text or timestamps; missing as None.

    Returns
    -------
    WhatIf
        With a warning for each number or date outside the range seen in training and each category
        never seen (see ``reference`` in :func:`explain`).

    Raises
    ------
    InputError
        ``explain.unknown_row``, ``explain.bad_changes``, ``explain.unknown_feature``, ``explain.bad_number``,
        ``explain.bad_date``, ``explain.value_too_long``, ``explain.missing_columns``,
        ``explain.model_mismatch``, plus those of :func:`explain`.
    """
    _model_step(pipeline)
    _check_fitted(pipeline)
    columns = _input_columns(pipeline)
    choice = choose_explainer(pipeline)
    if choice.kind != explanation.explainer or choice.model != explanation.model:
        raise InputError("explain.model_mismatch", model=choice.model, explained=explanation.model)
    if not isinstance(changes, Mapping):
        raise InputError("explain.bad_changes", kind=type(changes).__name__[:60])
    data = explanation.data
    row_id: Any
    if isinstance(row, Mapping | pd.Series):
        values = dict(row.items())
        missing = [c for c in data.columns if c not in values]
        if missing:
            raise InputError("explain.missing_columns", columns=_names(missing))
        original = pd.DataFrame([{c: values[c] for c in data.columns}])
        for column in data.columns:
            with contextlib.suppress(TypeError, ValueError):
                original[column] = original[column].astype(data[column].dtype)
        row_id = None
    else:
        try:
            found = row in data.index
        except TypeError:
            found = False
        if not found:
            raise InputError("explain.unknown_row", row=str(row)[:80])
        original = data.loc[[row]].reset_index(drop=True)
        row_id = row
    changed = original.copy()
    used: dict[str, Any] = {}
    problems: list[WhatIfWarning] = []
    for feature, value in changes.items():
        if feature not in data.columns:
            raise InputError("explain.unknown_feature", feature=str(feature)[:80], choices=_names(list(data.columns)))
        kind = _kind(data[feature])
        coerced = _coerce(feature, value, kind, data[feature])
        if kind == "categorical":
            changed[feature] = changed[feature].astype(object)
        elif kind == "numeric":
            changed[feature] = changed[feature].astype(np.float64)
        changed.loc[0, feature] = coerced
        used[feature] = coerced
        warning = _check_range(explanation.ranges.get(feature), feature, coerced)
        if warning is not None:
            problems.append(warning)
    engine = _Engine(
        pipeline,
        columns=columns,
        class_label=explanation.class_label,
        background=_with_columns(explanation.background, columns),
        random_state=explanation.random_state,
        n_permutations=1,
    )
    both = pd.concat([original, changed], ignore_index=True)
    output = engine.run(both)
    index = pd.Index([row_id if row_id is not None else 0], name=data.index.name)
    single = Explanation(
        explainer=explanation.explainer,
        model=explanation.model,
        task_type=explanation.task_type,
        output_space=explanation.output_space,
        class_label=explanation.class_label,
        classes=explanation.classes,
        features=explanation.features,
        kinds=explanation.kinds,
        derived=explanation.derived,
        values=pd.DataFrame(output.values[1:], index=index, columns=list(engine.features))[list(explanation.features)],
        data=changed.set_axis(index),
        predictions=pd.Series(output.predictions[1:], index=index, name="prediction"),
        probabilities=(
            pd.Series(output.probabilities[1:], index=index, name="probability")
            if output.probabilities is not None
            else None
        ),
        base_value=output.base,
        base_probability=output.base_probability,
        background=explanation.background,
        ranges=explanation.ranges,
        n_available=1,
        max_rows=1,
        random_state=explanation.random_state,
        seconds=0.0,
        shap_version=explanation.shap_version,
    )
    probabilities = output.probabilities
    return WhatIf(
        row_id=row_id,
        changes=used,
        explanation=single,
        before_prediction=float(output.predictions[0]),
        after_prediction=float(output.predictions[1]),
        before_probability=None if probabilities is None else float(probabilities[0]),
        after_probability=None if probabilities is None else float(probabilities[1]),
        warnings=tuple(problems),
    )


def _with_columns(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            out[column] = None
    return out


_TRUE = {"true", "yes", "1", "sí", "si"}
_FALSE = {"false", "no", "0"}


def _coerce(feature: str, value: Any, kind: str, column: pd.Series) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return np.nan if kind == "numeric" else (pd.NaT if kind == "datetime" else None)
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        raise InputError("explain.value_too_long", feature=feature, limit=MAX_VALUE_CHARS)
    if kind == "numeric":
        if isinstance(value, bool | np.bool_) and not pd.api.types.is_bool_dtype(column):
            raise InputError("explain.bad_number", feature=feature, value=str(value)[:40])
        try:
            number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
        except (TypeError, ValueError):
            raise InputError("explain.bad_number", feature=feature, value=str(value)[:40]) from None
        if not math.isfinite(number):
            raise InputError("explain.bad_number", feature=feature, value=str(value)[:40])
        return number
    if kind == "datetime":
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError):
            raise InputError("explain.bad_date", feature=feature, value=str(value)[:40]) from None
        if pd.isna(stamp):
            return pd.NaT
        tz = getattr(column.dtype, "tz", None)
        if tz is not None:
            return stamp.tz_localize(tz) if stamp.tzinfo is None else stamp.tz_convert(tz)
        return stamp.tz_convert(None) if stamp.tzinfo is not None else stamp
    if pd.api.types.is_bool_dtype(column) and isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return _plain(value)


def _check_range(known: FeatureRange | None, feature: str, value: Any) -> WhatIfWarning | None:
    if known is None or value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if known.kind == "numeric" and known.minimum is not None and known.maximum is not None:
        number = float(value)
        if number < float(known.minimum):
            return WhatIfWarning(feature, "below_range", _short(number), known.minimum, known.maximum)
        if number > float(known.maximum):
            return WhatIfWarning(feature, "above_range", _short(number), known.minimum, known.maximum)
        return None
    if known.kind == "datetime" and known.minimum is not None and known.maximum is not None:
        stamp = pd.Timestamp(value)
        low, high = pd.Timestamp(str(known.minimum)), pd.Timestamp(str(known.maximum))
        if stamp.tzinfo is not None and low.tzinfo is None:
            stamp = stamp.tz_convert(None)
        if stamp < low:
            return WhatIfWarning(feature, "below_range", stamp.isoformat(), known.minimum, known.maximum)
        if stamp > high:
            return WhatIfWarning(feature, "above_range", stamp.isoformat(), known.minimum, known.maximum)
        return None
    if known.kind == "categorical" and known.complete and str(value) not in known.categories:
        return WhatIfWarning(feature, "unseen_category", str(value)[:80])
    return None


def _short(value: float) -> str:
    return f"{value:.6g}"
