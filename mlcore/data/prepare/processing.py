"""Feature steps: scikit-learn transformers and imbalanced-learn samplers that become part of the model's
pipeline, so they are fitted on training folds only and saved with the model.

Every class here is a real scikit-learn estimator (parameters only in ``__init__``, learned state ending in
``_``, survives ``clone``). :class:`ColumnStep` runs one of them on some columns of a frame and keeps the
rest, so a recipe's steps chain as a plain ``Pipeline`` of frames in and frames out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import Field, Strict
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.experimental import enable_iterative_imputer  # noqa: F401  (makes IterativeImputer importable)
from sklearn.feature_selection import RFE, SelectorMixin, mutual_info_classif, mutual_info_regression
from sklearn.impute import IterativeImputer, KNNImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import (
    MinMaxScaler,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
    TargetEncoder,
)
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_array,
    check_is_fitted,
    validate_data,
)

from mlcore.data.prepare.steps import (
    Bool,
    ColumnList,
    ColumnName,
    Float,
    Int,
    Schema,
    StepContext,
    StepParams,
    StepSpec,
    Text,
    dtype_role,
    resolve_columns,
)
from mlcore.errors import InputError
from mlcore.modeling.training import DATE_PARTS, DateParts, make_preprocessor

__all__ = [
    "FEATURE_STEPS",
    "IMPUTE_STRATEGIES",
    "MAX_FIT_ROWS",
    "MAX_POLYNOMIAL_FEATURES",
    "CategoryEncoder",
    "ClassSampler",
    "ColumnArithmetic",
    "ColumnStep",
    "CorrelationFilter",
    "FinishFeatures",
    "FrameImputer",
    "ModelSelector",
    "MutualInfoSelector",
    "NumericJitter",
    "RecipeFeatures",
    "RecursiveElimination",
    "SignedLog",
    "SyntheticRows",
    "VarianceFilter",
]

Floats = npt.NDArray[np.float64]

IMPUTE_STRATEGIES: tuple[str, ...] = ("mean", "median", "most_frequent", "constant", "knn", "iterative")
NUMERIC_STRATEGIES: tuple[str, ...] = ("mean", "median", "knn", "iterative")
MAX_FIT_ROWS = 20_000
"""k-NN and iterative imputation, mutual information, model importance and recursive elimination learn from
at most this many rows (a random sample): their cost grows faster than the rows."""

MAX_POLYNOMIAL_FEATURES = 500
_MISSING_TEXT = "missing"
_SELECTION_ROLES = ("numeric",)


def _frame(X: Any, *, fitting: bool = False) -> pd.DataFrame:
    """``X`` as a frame: frames as they are, arrays checked as scikit-learn does (2-D, dense, not complex)
    and named ``x0``, ``x1``…"""
    if isinstance(X, pd.DataFrame):
        if fitting and len(X) == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
        return X
    array = check_array(X, dtype=None, ensure_all_finite=False)
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


def _columns(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """The named columns as a frame of views (no copy): a step hands its transformer only what it uses."""
    if not names:
        return frame[[]]
    return pd.concat([frame[c] for c in names], axis=1, copy=False)


def _remember_input(estimator: BaseEstimator, X: Any, frame: pd.DataFrame) -> None:
    estimator.n_features_in_ = frame.shape[1]
    if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in frame.columns):
        estimator.feature_names_in_ = np.asarray(frame.columns, dtype=object)
    elif hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_


def _check_same_input(estimator: BaseEstimator, frame: pd.DataFrame) -> None:
    if frame.shape[1] != estimator.n_features_in_:
        name = type(estimator).__name__
        expected = estimator.n_features_in_
        raise ValueError(f"X has {frame.shape[1]} features, but {name} is expecting {expected} features as input.")


def _input_names(estimator: BaseEstimator, input_features: Sequence[str] | None) -> list[str]:
    check_is_fitted(estimator, "n_features_in_")
    if input_features is not None:
        if len(input_features) != estimator.n_features_in_:
            raise ValueError(f"input_features has {len(input_features)} names; expected {estimator.n_features_in_}")
        return [str(c) for c in input_features]
    fitted = getattr(estimator, "feature_names_in_", None)
    return list(fitted) if fitted is not None else [f"x{i}" for i in range(estimator.n_features_in_)]


def _numbers(frame: pd.DataFrame) -> Floats:
    return np.asarray(frame.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def _is_numeric(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype) or series.isna().all())


def _sample_positions(n: int, limit: int, random_state: int) -> npt.NDArray[np.intp]:
    if n <= limit:
        return np.arange(n, dtype=np.intp)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, size=limit, replace=False)).astype(np.intp)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_classes(y: Any, task: str = "auto") -> bool:
    """Whether ``y`` holds classes: as ``task`` says, or for ``"auto"`` as its values suggest (whole
    numbers count as classes, so a model-aware caller should say ``"regression"`` for counts)."""
    if task == "classification":
        return True
    if task == "regression":
        return False
    if task != "auto":
        raise ValueError(f"task must be 'auto', 'classification' or 'regression', got {task!r}")
    return type_of_target(y) in ("binary", "multiclass")


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories as text with NaN for missing (encoders need one type per column and one kind of missing)."""
    out: dict[str, Any] = {}
    for name in frame.columns:
        column = frame[name]
        missing = column.isna()
        if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
            out[name] = column.where(~missing, np.nan) if missing.any() else column
        else:
            out[name] = column.astype(object).astype(str).where(~missing, np.nan)
    return pd.DataFrame(out, index=frame.index)


# ----------------------------------------------------------------------------- the column wrapper


class ColumnStep(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Run ``transformer`` on some columns of a frame; the other columns pass through unchanged.

    The outputs take the place of the columns they came from (after them with ``keep_input``), so the
    frame keeps its order and index and the next step can pick columns by name.

    Parameters
    ----------
    transformer : scikit-learn transformer
        Cloned when fitted. Its ``fit_transform`` is used while fitting, so a target encoder cross-fits.
    columns : tuple of str, optional
        The columns to use; None picks, when fitted, every column whose role is in ``kinds``: the role in
        ``known`` for columns known when the recipe was written, else the one their type suggests.
    kinds : tuple of str, default ("numeric",)
    known : tuple of (str, str) pairs, default ()
        Column -> role for the columns known before fitting.
    exclude : tuple of str, default ()
        Never picked by ``columns=None`` (identifiers, free text, the target).
    keep_input : bool, default False
        Keep the input columns next to the outputs.
    suffix : str, default ""
        Appended to every output name (needed with ``keep_input`` when the outputs keep the input names).
    numeric_only : bool, default False
        Refuse non-numeric columns with a clear message.
    no_missing : bool, default False
        Refuse missing values with a clear message (for transformers that cannot take them).
    step : str, default ""
        How messages name the step (``"3 (scale)"``).

    Attributes
    ----------
    columns_ : list of str
        The columns used.
    transformer_ : estimator or None
        The fitted transformer (None when no column was picked: the step then changes nothing).
    outputs_ : list of str
        Names of the columns the transformer produced.
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"], "c": [0.0, 0.0, 3.0]})
    >>> step = ColumnStep(StandardScaler(), columns=("a", "c")).fit(X)
    >>> out = step.transform(X)
    >>> list(out.columns), out["b"].tolist(), round(float(out["a"].std(ddof=0)), 6)
    (['a', 'b', 'c'], ['x', 'y', 'x'], 1.0)
    """

    def __init__(
        self,
        transformer: Any = None,
        *,
        columns: tuple[str, ...] | None = None,
        kinds: tuple[str, ...] = ("numeric",),
        known: tuple[tuple[str, str], ...] = (),
        exclude: tuple[str, ...] = (),
        keep_input: bool = False,
        suffix: str = "",
        numeric_only: bool = False,
        no_missing: bool = False,
        step: str = "",
    ) -> None:
        self.transformer = transformer
        self.columns = columns
        self.kinds = kinds
        self.known = known
        self.exclude = exclude
        self.keep_input = keep_input
        self.suffix = suffix
        self.numeric_only = numeric_only
        self.no_missing = no_missing
        self.step = step

    def _select(self, frame: pd.DataFrame) -> list[str]:
        if self.columns is not None:
            absent = [c for c in self.columns if c not in frame.columns]
            if absent:
                raise InputError("prep.column_gone", step=self.step or "—", column=str(absent[0])[:80])
            return list(self.columns)
        known = dict(self.known)
        excluded = set(self.exclude)
        kinds = set(self.kinds)
        picked = []
        for name in frame.columns:
            if name in excluded:
                continue
            role = known.get(name) or dtype_role(frame[name])
            if role in kinds:
                picked.append(name)
        return picked

    def _start(self, X: Any) -> tuple[pd.DataFrame, BaseEstimator | None]:
        frame = _frame(X, fitting=True)
        columns = self._select(frame)
        if self.numeric_only:
            for name in columns:
                if not _is_numeric(frame[name]):
                    raise InputError(
                        "prep.column_not_numeric",
                        step=self.step or "—",
                        column=str(name)[:80],
                        dtype=str(frame[name].dtype),
                    )
        self._check_missing(frame, columns)
        _remember_input(self, X, frame)
        self.columns_ = columns
        if not columns:
            self.outputs_: list[str] = []
            return frame, None
        inner = clone(self.transformer if self.transformer is not None else "passthrough", safe=False)
        if hasattr(inner, "set_output"):
            inner.set_output(transform="pandas")
        return frame, inner

    def _check_missing(self, frame: pd.DataFrame, columns: Sequence[str]) -> None:
        if not self.no_missing:
            return
        for name in columns:
            count = int(frame[name].isna().sum())
            if count:
                raise InputError("prep.has_missing", step=self.step or "—", column=str(name)[:80], count=count)

    def fit(self, X: Any, y: Any = None) -> ColumnStep:
        frame, inner = self._start(X)
        if inner is not None:
            inner.fit(_columns(frame, self.columns_), y)
            self.outputs_ = [f"{name}{self.suffix}" for name in inner.get_feature_names_out(self.columns_)]
            self._check_names(frame)
        self.transformer_ = inner
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        frame, inner = self._start(X)
        self.transformer_ = inner
        if inner is None:
            return X
        out = self._output(inner.fit_transform(_columns(frame, self.columns_), y), inner, frame.index)
        self.outputs_ = list(out.columns)
        self._check_names(frame)
        return self._merge(X, frame, out)

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "columns_")
        frame = _frame(X)
        if not isinstance(X, pd.DataFrame):
            _check_same_input(self, frame)
        if self.transformer_ is None:
            return X
        absent = [c for c in self.columns_ if c not in frame.columns]
        if absent:
            raise InputError("prep.column_gone", step=self.step or "—", column=str(absent[0])[:80])
        self._check_missing(frame, self.columns_)
        out = self._output(self.transformer_.transform(_columns(frame, self.columns_)), self.transformer_, frame.index)
        return self._merge(X, frame, out)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        names_in = _input_names(self, input_features)
        return np.asarray(self._layout(names_in), dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags

    def _output(self, out: Any, inner: Any, index: pd.Index) -> pd.DataFrame:
        if isinstance(out, pd.DataFrame):
            if not out.index.equals(index):
                out.index = index
        else:
            out = pd.DataFrame(np.asarray(out), columns=list(inner.get_feature_names_out(self.columns_)), index=index)
        if self.suffix:
            out.columns = [f"{name}{self.suffix}" for name in out.columns]
        return out

    def _check_names(self, frame: pd.DataFrame) -> None:
        consumed = set() if self.keep_input else set(self.columns_)
        kept = {c for c in frame.columns if c not in consumed}
        clash = [c for c in self.outputs_ if c in kept]
        if clash:
            raise InputError("prep.name_taken", step=self.step or "—", column=str(clash[0])[:80])

    def _in_place(self) -> bool:
        """The outputs are the inputs, renamed by nothing: they keep their exact positions."""
        return not self.keep_input and self.outputs_ == self.columns_

    def _layout(self, columns: Sequence[str]) -> list[str]:
        if not self.columns_ or self._in_place():
            return list(columns)
        before, after = self._split(list(columns))
        return [*before, *self.outputs_, *after]

    def _split(self, columns: list[str]) -> tuple[list[str], list[str]]:
        used = set(self.columns_)
        positions = [i for i, c in enumerate(columns) if c in used]
        consumed = set() if self.keep_input else used
        cut = positions[-1] + 1 if self.keep_input else positions[0]
        return [c for c in columns[:cut] if c not in consumed], [c for c in columns[cut:] if c not in consumed]

    def _merge(self, X: Any, frame: pd.DataFrame, out: pd.DataFrame) -> Any:
        # Columns are joined without copying: the unchanged ones are the input's own (no step writes into
        # its input), which keeps a chain of steps on a million rows from copying the table at every step.
        outputs = {name: out[name] for name in out.columns}
        if self._in_place():
            pieces = [outputs[c] if c in outputs else frame[c] for c in frame.columns]
        else:
            before, after = self._split(list(frame.columns))
            pieces = [*(frame[c] for c in before), *outputs.values(), *(frame[c] for c in after)]
        result = pd.concat(pieces, axis=1, copy=False)
        return result if isinstance(X, pd.DataFrame) else result.to_numpy()


class RecipeFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A recipe's feature steps (a ``Pipeline`` of frames) as one transformer.

    An imbalanced-learn pipeline refuses another pipeline as an intermediate step; this wrapper is how the
    recipe's steps sit in it as the single ``prepare`` step.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        Cloned when fitted.

    Attributes
    ----------
    pipeline_ : sklearn.pipeline.Pipeline
    n_features_in_, feature_names_in_
    """

    def __init__(self, pipeline: Any = None) -> None:
        self.pipeline = pipeline

    def fit(self, X: Any, y: Any = None) -> RecipeFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        frame = _frame(X)
        _remember_input(self, X, frame)
        self.pipeline_ = clone(self.pipeline)
        return self.pipeline_.fit_transform(frame, y)

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.transform(_frame(X))

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        check_is_fitted(self, "pipeline_")
        return np.asarray(self.pipeline_.get_feature_names_out(input_features), dtype=object)

    def set_output(self, *, transform: str | None = None) -> RecipeFeatures:
        """Frames in, frames out already; accepted so that enclosing pipelines can configure it."""
        return self


# ----------------------------------------------------------------------------- imputation


class FrameImputer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Fill missing values, column by column (mean, median, most frequent, constant) or from similar rows
    (k-nearest neighbours, iterative regression), optionally adding 0/1 missing-indicator columns.

    Works on numbers and, for ``most_frequent`` and ``constant``, on categories too. A column with no value at
    all is filled with 0 (numbers) or ``"missing"`` (text), as scikit-learn's ``keep_empty_features`` does.

    Parameters
    ----------
    strategy : {"mean", "median", "most_frequent", "constant", "knn", "iterative"}, default "median"
    fill_value : float or str, optional
        For ``constant``; default 0 for numbers and ``"missing"`` for text.
    add_indicator : bool, default False
        Add ``<column>_missing`` (1.0 where the value was missing).
    indicator_features : {"missing-only", "all"}, default "missing-only"
        Indicators for the columns that had gaps when fitted, or for every column.
    n_neighbors : int, default 5
    max_iter : int, default 10
    max_fit_rows : int, default 20000
        ``knn`` and ``iterative`` learn from at most this many rows (a random sample).
    random_state : int, default 0

    Attributes
    ----------
    statistics_ : ndarray of object
        The fill value per column (simple strategies).
    imputer_ : KNNImputer or IterativeImputer or None
    n_iter_ : int
        Rounds of the iterative imputer (1 for the other strategies).
    indicator_columns_ : list of str
        Columns that get an indicator.
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, None, 5.0], "b": ["x", None, "x"]})
    >>> FrameImputer(strategy="most_frequent", add_indicator=True).fit_transform(X).to_dict("list")
    {'a': [1.0, 1.0, 5.0], 'b': ['x', 'x', 'x'], 'a_missing': [0.0, 1.0, 0.0], 'b_missing': [0.0, 1.0, 0.0]}
    """

    def __init__(
        self,
        strategy: str = "median",
        fill_value: float | str | None = None,
        add_indicator: bool = False,
        indicator_features: str = "missing-only",
        n_neighbors: int = 5,
        max_iter: int = 10,
        max_fit_rows: int = MAX_FIT_ROWS,
        random_state: int = 0,
    ) -> None:
        self.strategy = strategy
        self.fill_value = fill_value
        self.add_indicator = add_indicator
        self.indicator_features = indicator_features
        self.n_neighbors = n_neighbors
        self.max_iter = max_iter
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> FrameImputer:
        if self.strategy not in IMPUTE_STRATEGIES:
            raise ValueError(f"strategy must be one of {IMPUTE_STRATEGIES}, got {self.strategy!r}")
        if self.indicator_features not in ("missing-only", "all"):
            raise ValueError(f"indicator_features must be 'missing-only' or 'all', got {self.indicator_features!r}")
        frame = _frame(X, fitting=True)
        if self.strategy in NUMERIC_STRATEGIES:
            # numbers stored with the object type are read as numbers; anything else raises a TypeError
            frame = pd.DataFrame(_numbers(frame), columns=frame.columns, index=frame.index)
        _remember_input(self, X, frame)
        self.n_iter_ = 1
        self.imputer_: Any = None
        if self.strategy in ("knn", "iterative"):
            values = _numbers(frame)
            rows = _sample_positions(len(values), self.max_fit_rows, self.random_state)
            if self.strategy == "knn":
                imputer: Any = KNNImputer(n_neighbors=self.n_neighbors, keep_empty_features=True)
            else:
                imputer = IterativeImputer(
                    max_iter=self.max_iter, random_state=self.random_state, keep_empty_features=True
                )
            self.imputer_ = imputer.fit(values[rows])
            self.n_iter_ = int(getattr(self.imputer_, "n_iter_", 1))
            self.statistics_ = np.full(frame.shape[1], np.nan, dtype=object)
        else:
            self.statistics_ = np.asarray(
                [fill_value(frame[c], self.strategy, self.fill_value) for c in frame.columns], dtype=object
            )
        every = self.indicator_features == "all"
        gaps = frame.isna().any().to_numpy()
        flagged = [c for c, gap in zip(frame.columns, gaps, strict=True) if gap or every]
        self.indicator_columns_ = flagged if self.add_indicator else []
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "statistics_")
        frame = _frame(X)
        _check_same_input(self, frame)
        if self.strategy in NUMERIC_STRATEGIES:
            frame = pd.DataFrame(_numbers(frame), columns=frame.columns, index=frame.index)
        missing = frame[self.indicator_columns_].isna() if self.indicator_columns_ else None
        if self.imputer_ is not None:
            values = self.imputer_.transform(_numbers(frame))
            out = pd.DataFrame(values, columns=frame.columns, index=frame.index)
        else:
            fills = {c: v for c, v in zip(frame.columns, self.statistics_, strict=True) if frame[c].hasnans}
            out = frame.fillna(fills) if fills else frame.copy()
        if missing is not None:
            for name in self.indicator_columns_:
                out[f"{name}_missing"] = missing[name].to_numpy(dtype=np.float64)
        return out if isinstance(X, pd.DataFrame) else out.to_numpy()

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        names_in = _input_names(self, input_features)
        position = {name: i for i, name in enumerate(_input_names(self, None))}
        flags = [f"{names_in[position[c]]}_missing" for c in self.indicator_columns_]
        return np.asarray([*names_in, *flags], dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = self.strategy in ("most_frequent", "constant")
        return tags


def fill_value(column: pd.Series, strategy: str, constant: float | str | None) -> Any:
    """The value that fills the gaps of ``column`` under ``strategy`` (simple strategies only).

    Examples
    --------
    >>> fill_value(pd.Series([1.0, None, 4.0, 10.0]), "median", None)
    4.0
    >>> fill_value(pd.Series(["b", "a", "b", None]), "most_frequent", None)
    'b'
    """
    numeric = pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    empty_fill: Any = 0.0 if numeric else _MISSING_TEXT
    if strategy == "constant":
        return constant if constant is not None else empty_fill
    present = column.dropna()
    if present.empty:
        return empty_fill
    if strategy == "mean":
        return float(present.mean())
    if strategy == "median":
        return float(present.median())
    counts = present.value_counts(sort=False)
    best = counts.max()
    tied = counts.index[counts.to_numpy() == best]
    try:
        value = min(tied)
    except TypeError:
        value = tied[0]
    return _plain(value)


# ----------------------------------------------------------------------------- encoding


class CategoryEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Categories to numbers: one-hot, ordinal or scikit-learn's ``TargetEncoder``.

    Values are compared as text, missing is a category of its own. Unseen categories at prediction time:
    one-hot puts them with the infrequent ones (all zeros when there are none), ordinal gives -1 (as for
    missing), target encoding gives the target mean. ``fit_transform`` of the target encoder cross-fits
    (each row encoded by folds that did not see it); ``transform`` uses the encoding learnt on all rows.

    Parameters
    ----------
    method : {"onehot", "ordinal", "target"}, default "onehot"
    max_categories : int, default 30
        One-hot and ordinal: at most this many categories per column (rarer ones grouped).
    min_frequency : int, optional
        One-hot and ordinal: categories seen fewer times are grouped as infrequent.
    smooth : "auto" or float, default "auto"
    cv : int, default 5
    random_state : int, default 0
    task : {"auto", "classification", "regression"}, default "auto"
        Whether the target holds classes; ``"auto"`` decides from its values.

    Attributes
    ----------
    encoder_ : OneHotEncoder, OrdinalEncoder or TargetEncoder
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> X = pd.DataFrame({"plan": ["basic", "pro", None, "basic"]})
    >>> CategoryEncoder().fit(X).get_feature_names_out().tolist()
    ['plan_basic', 'plan_pro', 'plan_nan']
    """

    def __init__(
        self,
        method: str = "onehot",
        max_categories: int | None = 30,
        min_frequency: int | None = None,
        smooth: str | float = "auto",
        cv: int = 5,
        random_state: int = 0,
        task: str = "auto",
    ) -> None:
        self.method = method
        self.max_categories = max_categories
        self.min_frequency = min_frequency
        self.smooth = smooth
        self.cv = cv
        self.random_state = random_state
        self.task = task

    def _make(self) -> Any:
        if self.method == "onehot":
            return OneHotEncoder(
                handle_unknown="infrequent_if_exist",
                max_categories=self.max_categories,
                min_frequency=self.min_frequency,
                sparse_output=False,
            )
        if self.method == "ordinal":
            return OrdinalEncoder(
                handle_unknown="use_encoded_value",
                unknown_value=-1,
                encoded_missing_value=-1,
                max_categories=self.max_categories,
                min_frequency=self.min_frequency,
            )
        if self.method == "target":
            return TargetEncoder(smooth=self.smooth)
        raise ValueError(f"method must be 'onehot', 'ordinal' or 'target', got {self.method!r}")

    def _start(self, X: Any, y: Any) -> tuple[pd.DataFrame, Any]:
        encoder = self._make()
        if self.method == "target":
            if y is None:
                raise ValueError("target encoding needs y")
            classes = _is_classes(np.asarray(y), self.task)
            splitter = StratifiedKFold if classes else KFold
            encoder.set_params(cv=splitter(n_splits=self.cv, shuffle=True, random_state=self.random_state))
            if not classes:
                encoder.set_params(target_type="continuous")
        frame = _frame(X, fitting=True)
        _remember_input(self, X, frame)
        encoder.set_output(transform="pandas")
        return _as_text(frame), encoder

    def fit(self, X: Any, y: Any = None) -> CategoryEncoder:
        text, encoder = self._start(X, y)
        self.encoder_ = encoder.fit(text, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        text, encoder = self._start(X, y)
        out = encoder.fit_transform(text, y)
        self.encoder_ = encoder
        return self._finish(X, out)

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "encoder_")
        frame = _frame(X)
        _check_same_input(self, frame)
        return self._finish(X, self.encoder_.transform(_as_text(frame)))

    def _finish(self, X: Any, out: Any) -> Any:
        if isinstance(X, pd.DataFrame):
            return out if isinstance(out, pd.DataFrame) else pd.DataFrame(out, index=X.index)
        return np.asarray(out, dtype=np.float64)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        check_is_fitted(self, "encoder_")
        names_in = _input_names(self, input_features)
        return np.asarray(self.encoder_.get_feature_names_out(names_in), dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        return tags


# ----------------------------------------------------------------------------- feature engineering


class SignedLog(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """``sign(x) * log(1 + |x|)``: compresses long tails, defined for every number (0 stays 0), NaN stays NaN.

    For non-negative values it is ``log1p``. Stateless; fitting only records the input's shape.

    Examples
    --------
    >>> SignedLog().fit_transform(np.array([[0.0], [np.e - 1], [-(np.e - 1)]])).round(6).ravel().tolist()
    [0.0, 1.0, -1.0]
    """

    def fit(self, X: Any, y: Any = None) -> SignedLog:
        validate_data(self, X, ensure_all_finite="allow-nan")
        return self

    def transform(self, X: Any) -> Floats:
        check_is_fitted(self, "n_features_in_")
        values = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype=np.float64)
        return np.asarray(np.sign(values) * np.log1p(np.abs(values)), dtype=np.float64)

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        return np.asarray(_input_names(self, input_features), dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.requires_fit = True
        return tags


class ColumnArithmetic(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """New columns from pairs of columns: ``a / b`` (ratio) or ``a - b`` (difference).

    A ratio whose denominator is 0 or missing is missing (never infinite). Only the new columns are returned.

    Parameters
    ----------
    pairs : tuple of (str, str)
        Column names (or positions for arrays).
    operation : {"ratio", "difference"}, default "ratio"

    Examples
    --------
    >>> X = pd.DataFrame({"debt": [10.0, 3.0], "income": [20.0, 0.0]})
    >>> ColumnArithmetic(pairs=(("debt", "income"),)).fit_transform(X).to_dict("list")
    {'debt_over_income': [0.5, nan]}
    """

    def __init__(self, pairs: tuple[tuple[Any, Any], ...] = (), operation: str = "ratio") -> None:
        self.pairs = pairs
        self.operation = operation

    def fit(self, X: Any, y: Any = None) -> ColumnArithmetic:
        if self.operation not in ("ratio", "difference"):
            raise ValueError(f"operation must be 'ratio' or 'difference', got {self.operation!r}")
        frame = _frame(X, fitting=True)
        if not self.pairs:
            raise ValueError("pairs must name at least one pair of columns")
        for pair in self.pairs:
            for key in pair:
                # a column that is not made of numbers raises here, as scikit-learn's own checks do
                self._column(frame, key).to_numpy(dtype=np.float64, na_value=np.nan)
        _remember_input(self, X, frame)
        return self

    @staticmethod
    def _column(frame: pd.DataFrame, key: Any) -> pd.Series:
        if key in frame.columns:
            return frame[key]
        if isinstance(key, int | np.integer) and 0 <= key < frame.shape[1]:
            return frame.iloc[:, int(key)]
        raise ValueError(f"column {key!r} is not in X (n_features = {frame.shape[1]})")

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "n_features_in_")
        frame = _frame(X)
        _check_same_input(self, frame)
        out: dict[str, Floats] = {}
        for name, (a, b) in zip(self._names(), self.pairs, strict=True):
            left = self._column(frame, a).to_numpy(dtype=np.float64, na_value=np.nan)
            right = self._column(frame, b).to_numpy(dtype=np.float64, na_value=np.nan)
            if self.operation == "ratio":
                with np.errstate(divide="ignore", invalid="ignore"):
                    values = np.where(right != 0, left / np.where(right != 0, right, 1.0), np.nan)
            else:
                values = left - right
            out[name] = values.astype(np.float64)
        result = pd.DataFrame(out, index=frame.index)
        return result if isinstance(X, pd.DataFrame) else result.to_numpy()

    def _names(self) -> list[str]:
        word = "over" if self.operation == "ratio" else "minus"
        return [f"{a}_{word}_{b}" for a, b in self.pairs]

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        check_is_fitted(self, "n_features_in_")
        return np.asarray(self._names(), dtype=object)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags


# ----------------------------------------------------------------------------- feature selection


class _Selection(SelectorMixin, BaseEstimator):  # type: ignore[misc]
    """Shared by the selectors: a boolean ``support_`` over the input columns."""

    support_: npt.NDArray[np.bool_]

    def _get_support_mask(self) -> npt.NDArray[np.bool_]:
        check_is_fitted(self, "support_")
        return self.support_

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    def _table(self, X: Any) -> pd.DataFrame | Floats:
        """Validated input: a frame stays a frame (its columns are read one by one, never copied into a
        row-major table), anything else becomes a float array."""
        if not isinstance(X, pd.DataFrame):
            return np.asarray(validate_data(self, X, ensure_all_finite="allow-nan", dtype=np.float64), dtype=np.float64)
        _check_feature_names(self, X, reset=True)
        _check_n_features(self, X, reset=True)
        if len(X) == 0:
            raise ValueError(f"Found array with 0 sample(s) (shape={X.shape}) while a minimum of 1 is required.")
        for name in X.columns:
            if not pd.api.types.is_numeric_dtype(X[name].dtype):
                raise ValueError(f"could not convert string to float: column {name!r} is {X[name].dtype}")
        return X

    def _values(self, X: Any, max_rows: int | None = None) -> Floats:
        """The rows (a random sample of at most ``max_rows``) as a float array."""
        table = self._table(X)
        rows = (
            None if max_rows is None else _sample_positions(len(table), max_rows, int(getattr(self, "random_state", 0)))
        )
        if isinstance(table, pd.DataFrame):
            part = table if rows is None else table.iloc[rows]
            return np.asarray(part.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)
        return table if rows is None else table[rows]

    def transform(self, X: Any) -> Any:
        if not isinstance(X, pd.DataFrame):
            return super().transform(X)
        check_is_fitted(self, "support_")
        _check_feature_names(self, X, reset=False)
        _check_n_features(self, X, reset=False)
        kept = [name for name, keep in zip(X.columns, self.support_, strict=True) if keep]
        if not kept:
            warnings.warn(
                "No features were selected: either the data is too noisy or the selection test too strict.",
                UserWarning,
                stacklevel=2,
            )
        return _columns(X, kept)


def _filled(values: Floats) -> Floats:
    """NaN replaced by the column median (0 for an empty column): for scoring only, never in the output."""
    if not np.isnan(values).any():
        return values
    with np.errstate(all="ignore"):
        medians = np.nanmedian(np.where(np.isnan(values).all(axis=0), 0.0, values), axis=0)
    medians = np.nan_to_num(medians)
    return np.where(np.isnan(values), medians, values)


class VarianceFilter(_Selection):
    """Drop columns whose variance is at most ``threshold`` (0: constant columns); missing values are ignored.

    Unlike scikit-learn's ``VarianceThreshold`` it does not fail when every column is dropped.

    Attributes
    ----------
    variances_ : ndarray
    support_ : ndarray of bool

    Examples
    --------
    >>> VarianceFilter().fit(np.array([[1.0, 5.0], [2.0, 5.0]])).get_support().tolist()
    [True, False]
    """

    def __init__(self, threshold: float = 0.0) -> None:
        self.threshold = threshold

    def fit(self, X: Any, y: Any = None) -> VarianceFilter:
        table = self._table(X)
        columns = (
            [table[c].to_numpy(dtype=np.float64, na_value=np.nan) for c in table.columns]
            if isinstance(table, pd.DataFrame)
            else list(np.asarray(table, dtype=np.float64).T)
        )
        with np.errstate(all="ignore"):
            variances = np.asarray(
                [(np.nanvar(c) if np.isnan(c).any() else c.var()) if c.size else 0.0 for c in columns],
                dtype=np.float64,
            )
        self.variances_ = np.nan_to_num(variances, nan=0.0)
        self.support_ = self.variances_ > self.threshold
        return self


class CorrelationFilter(_Selection):
    """Drop a column when it is almost a copy of an earlier one (|correlation| above ``threshold``).

    Columns are visited in order; the first of each correlated group is kept.

    Parameters
    ----------
    threshold : float, default 0.95
    method : {"pearson", "spearman"}, default "pearson"

    Attributes
    ----------
    support_ : ndarray of bool

    Examples
    --------
    >>> X = pd.DataFrame({"a": [1.0, 2, 3, 4], "b": [2.0, 4, 6, 8.1], "c": [1.0, 0, 1, 0]})
    >>> CorrelationFilter().fit(X).get_feature_names_out().tolist()
    ['a', 'c']
    """

    def __init__(self, threshold: float = 0.95, method: str = "pearson") -> None:
        self.threshold = threshold
        self.method = method

    def fit(self, X: Any, y: Any = None) -> CorrelationFilter:
        if self.method not in ("pearson", "spearman"):
            raise ValueError(f"method must be 'pearson' or 'spearman', got {self.method!r}")
        values = self._values(X)
        n = values.shape[1]
        if values.shape[0] < 2 or n < 2:
            self.support_ = np.ones(n, dtype=bool)
            return self
        if np.isnan(values).any() or self.method == "spearman":
            frame = pd.DataFrame(values)
            corr = frame.corr(method=self.method).to_numpy()
        else:
            with np.errstate(all="ignore"):
                corr = np.corrcoef(values, rowvar=False)
        corr = np.abs(np.nan_to_num(corr, nan=0.0))
        keep = np.ones(n, dtype=bool)
        for j in range(n):
            earlier = np.flatnonzero(keep[:j])
            if earlier.size and corr[j, earlier].max() > self.threshold:
                keep[j] = False
        self.support_ = keep
        return self


class MutualInfoSelector(_Selection):
    """Keep the ``k`` columns that share the most information with the target (mutual information).

    Classification or regression is decided from the target. Learns from at most ``max_fit_rows`` rows;
    missing values are replaced by the column median while scoring.

    Attributes
    ----------
    scores_ : ndarray
    support_ : ndarray of bool

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); y = (X[:, 1] > 0).astype(int)
    >>> MutualInfoSelector(k=1).fit(X, y).get_support().tolist()
    [False, True, False]
    """

    def __init__(
        self, k: int = 10, max_fit_rows: int = MAX_FIT_ROWS, random_state: int = 0, task: str = "auto"
    ) -> None:
        self.k = k
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state
        self.task = task

    def fit(self, X: Any, y: Any = None) -> MutualInfoSelector:
        if y is None:
            raise ValueError("mutual information needs y")
        values = self._values(X, self.max_fit_rows)
        if values.shape[0] < 2:
            raise ValueError(f"n_samples = {values.shape[0]}: mutual information needs at least 2 samples")
        target = np.asarray(y)[_sample_positions(len(np.asarray(y)), self.max_fit_rows, self.random_state)]
        score = mutual_info_classif if _is_classes(target, self.task) else mutual_info_regression
        self.scores_ = np.asarray(score(_filled(values), target, random_state=self.random_state))
        order = np.argsort(-self.scores_, kind="stable")
        self.support_ = np.zeros(values.shape[1], dtype=bool)
        self.support_[order[: max(0, int(self.k))]] = True
        return self


class ModelSelector(_Selection):
    """Keep the columns a random forest finds important (above ``threshold`` of importances, at most
    ``max_features``). Learns from at most ``max_fit_rows`` rows.

    Attributes
    ----------
    importances_ : ndarray
    support_ : ndarray of bool
    """

    def __init__(
        self,
        threshold: str = "mean",
        max_features: int | None = None,
        max_fit_rows: int = MAX_FIT_ROWS,
        random_state: int = 0,
        task: str = "auto",
    ) -> None:
        self.threshold = threshold
        self.max_features = max_features
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state
        self.task = task

    def fit(self, X: Any, y: Any = None) -> ModelSelector:
        if y is None:
            raise ValueError("model-based selection needs y")
        if self.threshold not in ("mean", "median"):
            raise ValueError(f"threshold must be 'mean' or 'median', got {self.threshold!r}")
        values = self._values(X, self.max_fit_rows)
        target = np.asarray(y)[_sample_positions(len(np.asarray(y)), self.max_fit_rows, self.random_state)]
        cls = RandomForestClassifier if _is_classes(target, self.task) else RandomForestRegressor
        forest = cls(n_estimators=50, max_depth=8, min_samples_leaf=5, random_state=self.random_state, n_jobs=1)
        forest.fit(_filled(values), target)
        self.importances_ = np.asarray(forest.feature_importances_, dtype=np.float64)
        cut = np.mean(self.importances_) if self.threshold == "mean" else np.median(self.importances_)
        keep = self.importances_ >= cut
        if self.max_features is not None and keep.sum() > self.max_features:
            order = np.argsort(-self.importances_, kind="stable")
            keep = np.zeros_like(keep)
            keep[order[: self.max_features]] = True
        self.support_ = keep
        return self


class RecursiveElimination(_Selection):
    """Keep ``n_features`` columns by recursive feature elimination with a linear model (logistic
    regression for classes, ridge otherwise) on standardised values. Learns from at most ``max_fit_rows`` rows.

    Attributes
    ----------
    ranking_ : ndarray of int
        1 for kept columns.
    support_ : ndarray of bool
    """

    def __init__(
        self,
        n_features: int = 10,
        step: int = 1,
        max_fit_rows: int = MAX_FIT_ROWS,
        random_state: int = 0,
        task: str = "auto",
    ) -> None:
        self.n_features = n_features
        self.step = step
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state
        self.task = task

    def fit(self, X: Any, y: Any = None) -> RecursiveElimination:
        if y is None:
            raise ValueError("recursive elimination needs y")
        values = self._values(X, self.max_fit_rows)
        target = np.asarray(y)[_sample_positions(len(np.asarray(y)), self.max_fit_rows, self.random_state)]
        n = values.shape[1]
        if n <= self.n_features:
            self.support_ = np.ones(n, dtype=bool)
            self.ranking_ = np.ones(n, dtype=np.intp)
            return self
        data = StandardScaler().fit_transform(_filled(values))
        model: Any = LogisticRegression(max_iter=1000) if _is_classes(target, self.task) else Ridge()
        rfe = RFE(model, n_features_to_select=int(self.n_features), step=int(self.step)).fit(data, target)
        self.support_ = np.asarray(rfe.support_, dtype=bool)
        self.ranking_ = np.asarray(rfe.ranking_, dtype=np.intp)
        return self


# ----------------------------------------------------------------------------- samplers (fit time only)


def _xy(X: Any, y: Any) -> tuple[pd.DataFrame | Floats, npt.NDArray[Any]]:
    if y is None:
        raise InputError("prep.needs_target_values")
    target = np.asarray(y)
    if len(target) != len(X):
        raise ValueError(f"X has {len(X)} rows and y {len(target)}")
    return X, target


def _stack(X: Any, new_rows: Floats, y: Any, new_y: npt.NDArray[Any]) -> tuple[Any, Any]:
    if isinstance(X, pd.DataFrame):
        extra = pd.DataFrame(new_rows, columns=X.columns).astype(X.dtypes.to_dict(), errors="ignore")
        X_out: Any = pd.concat([X, extra], axis=0, ignore_index=True)
    else:
        X_out = np.vstack([np.asarray(X, dtype=np.float64), new_rows])
    if isinstance(y, pd.Series):
        y_out: Any = pd.concat([y, pd.Series(new_y, name=y.name)], ignore_index=True).astype(y.dtype, errors="ignore")
    else:
        y_out = np.concatenate([np.asarray(y), new_y])
    return X_out, y_out


def _finite_numbers(X: Any) -> Floats:
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError("prep.sampler_needs_numbers") from None
    if not np.isfinite(values).all():
        raise InputError("prep.sampler_needs_numbers")
    return values


class ClassSampler(BaseEstimator):  # type: ignore[misc]
    """Rebalance classes while fitting: random over-sampling, random under-sampling or SMOTE
    (imbalanced-learn). A sampler: in an imblearn ``Pipeline`` it runs on training rows only.

    Parameters
    ----------
    method : {"over", "under", "smote"}, default "smote"
    sampling_strategy : str or float, default "auto"
        As in imbalanced-learn: ``"auto"``, ``"minority"``, ``"not majority"``, ``"not minority"``,
        ``"majority"``, ``"all"``, or for two classes the wanted minority/majority ratio.
    k_neighbors : int, default 5
        SMOTE: neighbours interpolated between; every class that is over-sampled needs more rows than this.
    random_state : int, default 0

    Attributes
    ----------
    sampler_ : imblearn sampler
    class_counts_ : dict
        Rows per class after resampling.

    Raises
    ------
    InputError
        ``prep.needs_classes`` (a continuous target), ``prep.single_class``, ``prep.smote_too_few``,
        ``prep.ratio_needs_two_classes``, ``prep.ratio_too_low``, ``prep.sampler_needs_numbers`` (SMOTE).

    Examples
    --------
    >>> X = np.arange(20, dtype=float).reshape(10, 2); y = np.array([0] * 8 + [1] * 2)
    >>> X2, y2 = ClassSampler(method="over").fit_resample(X, y)
    >>> np.bincount(y2).tolist()
    [8, 8]
    """

    def __init__(
        self,
        method: str = "smote",
        sampling_strategy: str | float = "auto",
        k_neighbors: int = 5,
        random_state: int = 0,
    ) -> None:
        self.method = method
        self.sampling_strategy = sampling_strategy
        self.k_neighbors = k_neighbors
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> ClassSampler:
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        from imblearn.over_sampling import SMOTE, RandomOverSampler
        from imblearn.under_sampling import RandomUnderSampler

        X, target = _xy(X, y)
        if not _is_classes(target):
            raise InputError("prep.needs_classes", kind=type_of_target(target))
        labels, counts = np.unique(target, return_counts=True)
        if len(labels) < 2:
            raise InputError("prep.single_class", label=str(labels[0])[:80] if len(labels) else "—")
        strategy = self.sampling_strategy
        if isinstance(strategy, float | int) and not isinstance(strategy, bool):
            if len(labels) != 2:
                raise InputError("prep.ratio_needs_two_classes", classes=len(labels))
            minority, majority = int(counts.min()), int(counts.max())
            # the same arithmetic imbalanced-learn uses to decide how many rows to add or keep
            if self.method == "under":
                impossible = int(minority / float(strategy)) > majority
            else:
                impossible = int(majority * float(strategy) - minority) <= 0
            if impossible:
                current = round(minority / majority, 4)
                raise InputError("prep.ratio_too_low", ratio=float(strategy), current=current)
        if self.method == "smote":
            _finite_numbers(X)
            grown = counts[counts < counts.max()]
            smallest = int(grown.min()) if grown.size else int(counts.max())
            if smallest <= self.k_neighbors:
                label = labels[counts == smallest][0]
                raise InputError("prep.smote_too_few", label=str(label)[:80], count=smallest, k=int(self.k_neighbors))
            sampler: Any = SMOTE(
                sampling_strategy=strategy, k_neighbors=int(self.k_neighbors), random_state=self.random_state
            )
        elif self.method == "over":
            sampler = RandomOverSampler(sampling_strategy=strategy, random_state=self.random_state)
        elif self.method == "under":
            sampler = RandomUnderSampler(sampling_strategy=strategy, random_state=self.random_state)
        else:
            raise ValueError(f"method must be 'over', 'under' or 'smote', got {self.method!r}")
        X_out, y_out = sampler.fit_resample(X, y)
        self.sampler_ = sampler
        values, amounts = np.unique(np.asarray(y_out), return_counts=True)
        self.class_counts_ = {_plain(v): int(a) for v, a in zip(values, amounts, strict=True)}
        return X_out, y_out


class SyntheticRows(BaseEstimator):  # type: ignore[misc]
    """Augmentation: add ``share`` x rows new rows, each a random point between a row and one of its
    ``k_neighbors`` nearest neighbours (SMOTE-style; for classes, neighbours of the same class and class
    shares kept; for a numeric target, the target interpolated the same way). Training rows only.

    Attributes
    ----------
    n_added_ : int

    Examples
    --------
    >>> X = np.arange(40, dtype=float).reshape(20, 2); y = np.array([0, 1] * 10)
    >>> X2, y2 = SyntheticRows(share=0.5, k_neighbors=3).fit_resample(X, y)
    >>> X2.shape, np.bincount(y2).tolist()
    ((30, 2), [15, 15])
    """

    def __init__(self, share: float = 0.5, k_neighbors: int = 5, random_state: int = 0, task: str = "auto") -> None:
        self.share = share
        self.k_neighbors = k_neighbors
        self.random_state = random_state
        self.task = task

    def fit(self, X: Any, y: Any) -> SyntheticRows:
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        X, target = _xy(X, y)
        values = _finite_numbers(X)
        rng = np.random.default_rng(self.random_state)
        n_new = int(round(float(self.share) * len(values)))
        new_rows: list[Floats] = []
        new_y: list[npt.NDArray[Any]] = []
        if _is_classes(target, self.task):
            labels, counts = np.unique(target, return_counts=True)
            for label, count in zip(labels, counts, strict=True):
                members = np.flatnonzero(target == label)
                wanted = int(round(n_new * count / len(target)))
                if count < 2 or wanted == 0:
                    continue
                rows, _ = self._interpolate(values[members], wanted, rng, None)
                new_rows.append(rows)
                new_y.append(np.full(wanted, label, dtype=target.dtype))
        elif len(values) >= 2 and n_new > 0:
            rows, targets = self._interpolate(values, n_new, rng, target.astype(np.float64))
            new_rows.append(rows)
            new_y.append(np.asarray(targets).astype(target.dtype, copy=False))
        self.n_added_ = int(sum(len(r) for r in new_rows))
        if not new_rows:
            return X, y
        return _stack(X, np.vstack(new_rows), y, np.concatenate(new_y))

    def _interpolate(
        self, values: Floats, n: int, rng: np.random.Generator, target: Floats | None
    ) -> tuple[Floats, Floats | None]:
        k = min(int(self.k_neighbors), len(values) - 1)
        neighbours = NearestNeighbors(n_neighbors=k + 1).fit(values).kneighbors(values, return_distance=False)[:, 1:]
        base = rng.integers(0, len(values), size=n)
        other = neighbours[base, rng.integers(0, k, size=n)]
        gap = rng.random(size=(n, 1))
        rows = values[base] + gap * (values[other] - values[base])
        targets = None if target is None else target[base] + gap[:, 0] * (target[other] - target[base])
        return rows, targets


class NumericJitter(BaseEstimator):  # type: ignore[misc]
    """Augmentation: add ``share`` x rows copies of random rows with small Gaussian noise (``scale`` x the
    column's standard deviation) on columns with more than two distinct values (0/1 columns stay exact).
    The target is copied. Training rows only.

    Attributes
    ----------
    noisy_columns_ : ndarray of bool
    n_added_ : int

    Examples
    --------
    >>> X = np.column_stack([np.arange(10.0), np.tile([0.0, 1.0], 5)]); y = np.arange(10) % 2
    >>> X2, y2 = NumericJitter(share=1.0, scale=0.1).fit_resample(X, y)
    >>> X2.shape, sorted(set(X2[:, 1].tolist()))
    ((20, 2), [0.0, 1.0])
    """

    def __init__(self, share: float = 0.5, scale: float = 0.05, random_state: int = 0) -> None:
        self.share = share
        self.scale = scale
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> NumericJitter:
        self.fit_resample(X, y)
        return self

    def fit_resample(self, X: Any, y: Any) -> tuple[Any, Any]:
        X, target = _xy(X, y)
        values = _finite_numbers(X)
        rng = np.random.default_rng(self.random_state)
        n_new = int(round(float(self.share) * len(values)))
        self.noisy_columns_ = np.asarray([len(np.unique(values[:, j])) > 2 for j in range(values.shape[1])], dtype=bool)
        self.n_added_ = n_new if len(values) else 0
        if not self.n_added_:
            return X, y
        picked = rng.integers(0, len(values), size=n_new)
        std = values.std(axis=0) * float(self.scale) * self.noisy_columns_
        rows = values[picked] + rng.normal(size=(n_new, values.shape[1])) * std
        return _stack(X, rows, y, target[picked])


# ----------------------------------------------------------------------------- finishing for a model


class FinishFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """What a model still needs after a recipe's feature steps: the default preparation of
    :func:`mlcore.modeling.training.make_preprocessor`, built when fitted from the columns that arrive.

    Numbers (and the numeric columns steps created) are imputed with a missing indicator and standardised
    when ``scaled``; categories the recipe did not encode are one-hot (ordinal with ``native_categories``);
    dates become calendar parts; identifiers and free text are dropped.

    Parameters
    ----------
    roles : tuple of (str, str), default ()
        Column -> role for the columns known before fitting; other columns get the role their type suggests.
    scaled : bool, default False
    native_categories : bool, default False

    Attributes
    ----------
    roles_ : dict
        The roles used.
    preprocessor_ : sklearn.compose.ColumnTransformer
        Fitted, with pandas output (names like ``numeric__age``, ``categorical__plan``).
    category_sizes_ : dict
        Native mode: categories per encoded column (those columns come out with a pandas category type).
    """

    def __init__(
        self, roles: tuple[tuple[str, str], ...] = (), scaled: bool = False, native_categories: bool = False
    ) -> None:
        self.roles = roles
        self.scaled = scaled
        self.native_categories = native_categories

    def _build(self, X: Any) -> pd.DataFrame:
        frame = _frame(X)
        _remember_input(self, X, frame)
        known = dict(self.roles)
        self.roles_ = {str(c): known.get(c) or dtype_role(frame[c]) for c in frame.columns}
        prep = make_preprocessor(
            self.roles_, list(self.roles_), scaled=self.scaled, native_categories=self.native_categories
        )
        self.preprocessor_ = prep.set_output(transform="pandas")
        return frame

    def fit(self, X: Any, y: Any = None) -> FinishFeatures:
        self.fit_transform(X, y)
        return self

    def fit_transform(self, X: Any, y: Any = None, **fit_params: Any) -> Any:
        frame = self._build(X)
        out = self.preprocessor_.fit_transform(frame, y)
        self.category_sizes_: dict[str, int] = {}
        if self.native_categories:
            for name in out.columns:
                if str(name).startswith("categorical__"):
                    codes = out[name].to_numpy(dtype=np.float64)
                    self.category_sizes_[str(name)] = int(np.nanmax(codes)) + 1 if np.isfinite(codes).any() else 0
        return self._categories(out)

    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "preprocessor_")
        return self._categories(self.preprocessor_.transform(_frame(X)))

    def _categories(self, out: pd.DataFrame) -> pd.DataFrame:
        """Native mode: ordinal codes as pandas categories, which gradient boosting reads as categorical
        (``categorical_features="from_dtype"``); the categories are fixed when fitted."""
        if not self.category_sizes_:
            return out
        out = out.copy()
        for name, size in self.category_sizes_.items():
            categories = pd.CategoricalDtype(np.arange(size, dtype=np.float64))
            out[name] = pd.Series(out[name].to_numpy(dtype=np.float64), index=out.index).astype(categories)
        return out

    def get_feature_names_out(self, input_features: Sequence[str] | None = None) -> npt.NDArray[np.object_]:
        check_is_fitted(self, "preprocessor_")
        return np.asarray(self.preprocessor_.get_feature_names_out(), dtype=object)

    def set_output(self, *, transform: str | None = None) -> FinishFeatures:
        """Always frames out (the model may need column names); accepted for enclosing pipelines."""
        return self


# ----------------------------------------------------------------------------- feature step kinds

Seed = Annotated[int, Strict(), Field(ge=0, le=2**32 - 1)]
_OVER_STRATEGIES = Literal["auto", "minority", "not majority", "all"]
_UNDER_STRATEGIES = Literal["auto", "majority", "not minority", "all"]
_RATIO = Annotated[float, Strict(), Field(gt=0.0, le=1.0)]
_DatePart = Literal["year", "quarter", "month", "day", "dayofweek", "dayofyear", "hour"]


class ImputeParams(StepParams):
    """Fill missing values of ``columns`` (default: every numeric column, or every numeric and category
    column for ``most_frequent`` and ``constant``)."""

    columns: ColumnList | None = None
    strategy: Literal["mean", "median", "most_frequent", "constant", "knn", "iterative"] = "median"
    fill_value: Float | Text | None = None
    add_indicator: Bool = False
    n_neighbors: Int = Field(5, ge=1, le=100)
    max_iter: Int = Field(10, ge=1, le=100)
    random_state: Seed = 0


def impute_roles(params: ImputeParams) -> tuple[str, ...]:
    """The roles an imputation may touch: numbers only for mean, median, k-NN and iterative."""
    if params.strategy in NUMERIC_STRATEGIES:
        return ("numeric",)
    if params.strategy == "constant" and isinstance(params.fill_value, float | int):
        return ("numeric",)
    if params.strategy == "constant" and isinstance(params.fill_value, str):
        return ("categorical", "boolean", "text")
    return ("numeric", "categorical", "boolean")


class EncodeParams(StepParams):
    """Turn category columns into numbers."""

    columns: ColumnList | None = None
    method: Literal["onehot", "ordinal", "target"] = "onehot"
    max_categories: Int = Field(30, ge=2, le=1000)
    min_frequency: Int | None = Field(None, ge=1, le=10**9)
    smooth: Literal["auto"] | Annotated[float, Strict(), Field(ge=0.0, le=1e6)] = "auto"
    cv: Int = Field(5, ge=2, le=20)
    random_state: Seed = 0


class ScaleParams(StepParams):
    """Put numeric columns on a common scale."""

    columns: ColumnList | None = None
    method: Literal["standard", "minmax", "robust", "quantile"] = "standard"
    n_quantiles: Int = Field(1000, ge=10, le=10_000)
    output_distribution: Literal["uniform", "normal"] = "uniform"


class DatePartsParams(StepParams):
    """Dates as calendar numbers."""

    columns: ColumnList | None = None
    parts: Annotated[tuple[_DatePart, ...], Field(min_length=1, max_length=len(DATE_PARTS))] = (
        "year",
        "month",
        "dayofweek",
    )


class CombineParams(StepParams):
    """New columns from pairs of numeric columns."""

    pairs: Annotated[tuple[tuple[ColumnName, ColumnName], ...], Field(min_length=1, max_length=100)]
    operation: Literal["ratio", "difference"] = "ratio"


class LogParams(StepParams):
    """Compress long tails with a signed logarithm."""

    columns: ColumnList | None = None
    keep_original: Bool = False


class PolynomialParams(StepParams):
    """Products (and powers) of a few numeric columns."""

    columns: Annotated[tuple[ColumnName, ...], Field(min_length=2, max_length=20)]
    degree: Int = Field(2, ge=2, le=3)
    interaction_only: Bool = True


class VarianceParams(StepParams):
    columns: ColumnList | None = None
    threshold: Float = Field(0.0, ge=0.0, le=1e12)


class MutualInfoParams(StepParams):
    columns: ColumnList | None = None
    k: Int = Field(10, ge=1, le=10_000)
    random_state: Seed = 0


class ModelSelectParams(StepParams):
    columns: ColumnList | None = None
    threshold: Literal["mean", "median"] = "mean"
    max_features: Int | None = Field(None, ge=1, le=10_000)
    random_state: Seed = 0


class CorrelationParams(StepParams):
    columns: ColumnList | None = None
    threshold: Float = Field(0.95, gt=0.0, le=1.0)
    method: Literal["pearson", "spearman"] = "pearson"


class EliminationParams(StepParams):
    columns: ColumnList | None = None
    n_features: Int = Field(10, ge=1, le=10_000)
    step: Int = Field(1, ge=1, le=1_000)
    random_state: Seed = 0


class ClassWeightParams(StepParams):
    mode: Literal["balanced"] = "balanced"


class OversampleParams(StepParams):
    sampling_strategy: _OVER_STRATEGIES | _RATIO = "auto"
    random_state: Seed = 0


class UndersampleParams(StepParams):
    sampling_strategy: _UNDER_STRATEGIES | _RATIO = "auto"
    random_state: Seed = 0


class SmoteParams(StepParams):
    k_neighbors: Int = Field(5, ge=1, le=100)
    sampling_strategy: _OVER_STRATEGIES | _RATIO = "auto"
    random_state: Seed = 0


class SyntheticParams(StepParams):
    share: Float = Field(0.5, gt=0.0, le=5.0)
    k_neighbors: Int = Field(5, ge=1, le=100)
    random_state: Seed = 0


class JitterParams(StepParams):
    share: Float = Field(0.5, gt=0.0, le=5.0)
    scale: Float = Field(0.05, gt=0.0, le=1.0)
    random_state: Seed = 0


def fit_exclusions(schema: Schema) -> tuple[str, ...]:
    """Columns a step that takes "all columns of a kind" never picks: identifiers, free text, the target."""
    out = [c for c, role in schema.roles.items() if role in ("identifier", "text")]
    if schema.target is not None:
        out.append(schema.target)
    return tuple(out)


def _wrap(
    transformer: Any,
    requested: Sequence[str] | None,
    resolved: Sequence[str],
    schema: Schema,
    ctx: StepContext,
    *,
    kinds: Sequence[str],
    **options: Any,
) -> ColumnStep:
    return ColumnStep(
        transformer,
        columns=None if requested is None else tuple(resolved),
        kinds=tuple(kinds),
        known=tuple(schema.roles.items()),
        exclude=fit_exclusions(schema),
        step=ctx.step,
        **options,
    )


def _need_target(schema: Schema, ctx: StepContext) -> None:
    if schema.target is None:
        raise InputError("prep.needs_target", step=ctx.step)


def _check_impute(params: ImputeParams, schema: Schema, ctx: StepContext) -> Schema:
    resolve_columns(params.columns, schema, ctx, roles=impute_roles(params))
    return schema


def _build_impute(params: ImputeParams, schema: Schema, ctx: StepContext) -> ColumnStep:
    kinds = impute_roles(params)
    imputer = FrameImputer(
        strategy=params.strategy,
        fill_value=params.fill_value,
        add_indicator=params.add_indicator,
        n_neighbors=params.n_neighbors,
        max_iter=params.max_iter,
        random_state=params.random_state,
    )
    resolved = resolve_columns(params.columns, schema, ctx, roles=kinds)
    return _wrap(imputer, params.columns, resolved, schema, ctx, kinds=kinds, numeric_only=kinds == ("numeric",))


_CATEGORY_ROLES = ("categorical", "boolean")


def _check_encode(params: EncodeParams, schema: Schema, ctx: StepContext) -> Schema:
    columns = resolve_columns(params.columns, schema, ctx, roles=_CATEGORY_ROLES)
    if params.method == "target":
        _need_target(schema, ctx)
    if params.method == "ordinal":
        return schema.with_roles(dict.fromkeys(columns, "numeric"))
    return schema.without(columns)


def _build_encode(params: EncodeParams, schema: Schema, ctx: StepContext) -> ColumnStep:
    resolved = resolve_columns(params.columns, schema, ctx, roles=_CATEGORY_ROLES)
    encoder = CategoryEncoder(
        method=params.method,
        max_categories=params.max_categories,
        min_frequency=params.min_frequency,
        smooth=params.smooth,
        cv=params.cv,
        random_state=params.random_state,
    )
    return _wrap(encoder, params.columns, resolved, schema, ctx, kinds=_CATEGORY_ROLES)


def _numeric_check(params: Any, schema: Schema, ctx: StepContext) -> Schema:
    resolve_columns(params.columns, schema, ctx, roles=("numeric",))
    return schema


def _build_scale(params: ScaleParams, schema: Schema, ctx: StepContext) -> ColumnStep:
    resolved = resolve_columns(params.columns, schema, ctx, roles=("numeric",))
    scalers: dict[str, Any] = {
        "standard": StandardScaler(),
        "minmax": MinMaxScaler(),
        "robust": RobustScaler(),
        "quantile": QuantileTransformer(
            n_quantiles=params.n_quantiles, output_distribution=params.output_distribution, random_state=0
        ),
    }
    return _wrap(scalers[params.method], params.columns, resolved, schema, ctx, kinds=("numeric",), numeric_only=True)


def _check_date_parts(params: DatePartsParams, schema: Schema, ctx: StepContext) -> Schema:
    columns = resolve_columns(params.columns, schema, ctx, roles=("datetime",))
    if len(set(params.parts)) != len(params.parts):
        raise InputError("prep.duplicate_part", step=ctx.step, parts=", ".join(params.parts))
    new = {f"{c}_{p}": "numeric" for c in columns for p in params.parts}
    return schema.without(columns).adding(new, ctx=ctx)


def _build_date_parts(params: DatePartsParams, schema: Schema, ctx: StepContext) -> ColumnStep:
    resolved = resolve_columns(params.columns, schema, ctx, roles=("datetime",))
    return _wrap(DateParts(parts=tuple(params.parts)), params.columns, resolved, schema, ctx, kinds=("datetime",))


def _combine_columns(params: CombineParams, schema: Schema, ctx: StepContext) -> tuple[str, ...]:
    flat = list(dict.fromkeys(c for pair in params.pairs for c in pair))
    resolve_columns(flat, schema, ctx, roles=("numeric",))
    for a, b in params.pairs:
        if a == b:
            raise InputError("prep.same_column", step=ctx.step, column=a[:80])
    return tuple(flat)


def _check_combine(params: CombineParams, schema: Schema, ctx: StepContext) -> Schema:
    _combine_columns(params, schema, ctx)
    word = "over" if params.operation == "ratio" else "minus"
    new = {f"{a}_{word}_{b}": "numeric" for a, b in params.pairs}
    if len(new) != len(params.pairs):
        raise InputError("prep.duplicate_pair", step=ctx.step)
    return schema.adding(new, ctx=ctx)


def _build_combine(params: CombineParams, schema: Schema, ctx: StepContext) -> ColumnStep:
    columns = _combine_columns(params, schema, ctx)
    arithmetic = ColumnArithmetic(pairs=tuple((a, b) for a, b in params.pairs), operation=params.operation)
    return _wrap(arithmetic, columns, columns, schema, ctx, kinds=("numeric",), keep_input=True, numeric_only=True)


def _check_log(params: LogParams, schema: Schema, ctx: StepContext) -> Schema:
    columns = resolve_columns(params.columns, schema, ctx, roles=("numeric",))
    return schema.adding({f"{c}_log": "numeric" for c in columns}, ctx=ctx) if params.keep_original else schema


def _build_log(params: LogParams, schema: Schema, ctx: StepContext) -> ColumnStep:
    resolved = resolve_columns(params.columns, schema, ctx, roles=("numeric",))
    return _wrap(
        SignedLog(),
        params.columns,
        resolved,
        schema,
        ctx,
        kinds=("numeric",),
        numeric_only=True,
        keep_input=params.keep_original,
        suffix="_log" if params.keep_original else "",
    )


def polynomial_size(n_columns: int, degree: int, interaction_only: bool) -> int:
    """How many columns polynomial features make from ``n_columns`` (no constant column).

    Examples
    --------
    >>> polynomial_size(3, 2, True), polynomial_size(3, 2, False)
    (6, 9)
    """
    if interaction_only:
        return sum(math.comb(n_columns, d) for d in range(1, min(degree, n_columns) + 1))
    return math.comb(n_columns + degree, degree) - 1


def _check_polynomial(params: PolynomialParams, schema: Schema, ctx: StepContext) -> Schema:
    columns = resolve_columns(params.columns, schema, ctx, roles=("numeric",))
    size = polynomial_size(len(columns), params.degree, params.interaction_only)
    if size > MAX_POLYNOMIAL_FEATURES:
        raise InputError("prep.too_many_features", step=ctx.step, count=size, maximum=MAX_POLYNOMIAL_FEATURES)
    return schema.without(columns)


def _build_polynomial(params: PolynomialParams, schema: Schema, ctx: StepContext) -> ColumnStep:
    columns = resolve_columns(params.columns, schema, ctx, roles=("numeric",))
    poly = PolynomialFeatures(degree=params.degree, interaction_only=params.interaction_only, include_bias=False)
    return _wrap(poly, columns, columns, schema, ctx, kinds=("numeric",), numeric_only=True, no_missing=True)


def _selection_check(needs_target: bool) -> Any:
    def check(params: Any, schema: Schema, ctx: StepContext) -> Schema:
        resolve_columns(params.columns, schema, ctx, roles=_SELECTION_ROLES)
        if needs_target:
            _need_target(schema, ctx)
        return schema

    return check


def _selection_build(make: Any) -> Any:
    def build(params: Any, schema: Schema, ctx: StepContext) -> ColumnStep:
        resolved = resolve_columns(params.columns, schema, ctx, roles=_SELECTION_ROLES)
        return _wrap(make(params), params.columns, resolved, schema, ctx, kinds=_SELECTION_ROLES, numeric_only=True)

    return build


def _target_check(params: Any, schema: Schema, ctx: StepContext) -> Schema:
    _need_target(schema, ctx)
    return schema


def _no_build(params: Any, schema: Schema, ctx: StepContext) -> None:
    return None


def _feature(kind: str, group: str, params: type[StepParams], check: Any, build: Any, **options: Any) -> StepSpec:
    return StepSpec(kind=kind, stage="feature", group=group, params=params, check=check, build=build, **options)


FEATURE_STEPS: Mapping[str, StepSpec] = {
    spec.kind: spec
    for spec in (
        _feature("impute", "imputation", ImputeParams, _check_impute, _build_impute),
        _feature("encode", "encoding", EncodeParams, _check_encode, _build_encode),
        _feature("scale", "scaling", ScaleParams, _numeric_check, _build_scale),
        _feature("date_parts", "engineering", DatePartsParams, _check_date_parts, _build_date_parts),
        _feature("combine", "engineering", CombineParams, _check_combine, _build_combine),
        _feature("log", "engineering", LogParams, _check_log, _build_log),
        _feature("polynomial", "engineering", PolynomialParams, _check_polynomial, _build_polynomial),
        _feature(
            "select_variance",
            "selection",
            VarianceParams,
            _selection_check(False),
            _selection_build(lambda p: VarianceFilter(threshold=p.threshold)),
        ),
        _feature(
            "select_k_best",
            "selection",
            MutualInfoParams,
            _selection_check(True),
            _selection_build(lambda p: MutualInfoSelector(k=p.k, random_state=p.random_state)),
            needs_target=True,
        ),
        _feature(
            "select_from_model",
            "selection",
            ModelSelectParams,
            _selection_check(True),
            _selection_build(
                lambda p: ModelSelector(threshold=p.threshold, max_features=p.max_features, random_state=p.random_state)
            ),
            needs_target=True,
        ),
        _feature(
            "correlation_filter",
            "selection",
            CorrelationParams,
            _selection_check(False),
            _selection_build(lambda p: CorrelationFilter(threshold=p.threshold, method=p.method)),
        ),
        _feature(
            "recursive_elimination",
            "selection",
            EliminationParams,
            _selection_check(True),
            _selection_build(
                lambda p: RecursiveElimination(n_features=p.n_features, step=p.step, random_state=p.random_state)
            ),
            needs_target=True,
        ),
        _feature(
            "class_weight", "imbalance", ClassWeightParams, _target_check, _no_build, setting=True, needs_target=True
        ),
        _feature(
            "oversample",
            "imbalance",
            OversampleParams,
            _target_check,
            lambda p, s, c: ClassSampler(
                method="over", sampling_strategy=p.sampling_strategy, random_state=p.random_state
            ),
            sampler=True,
            needs_target=True,
        ),
        _feature(
            "undersample",
            "imbalance",
            UndersampleParams,
            _target_check,
            lambda p, s, c: ClassSampler(
                method="under", sampling_strategy=p.sampling_strategy, random_state=p.random_state
            ),
            sampler=True,
            needs_target=True,
        ),
        _feature(
            "smote",
            "imbalance",
            SmoteParams,
            _target_check,
            lambda p, s, c: ClassSampler(
                method="smote",
                sampling_strategy=p.sampling_strategy,
                k_neighbors=p.k_neighbors,
                random_state=p.random_state,
            ),
            sampler=True,
            needs_target=True,
        ),
        _feature(
            "synthetic_rows",
            "augmentation",
            SyntheticParams,
            _target_check,
            lambda p, s, c: SyntheticRows(share=p.share, k_neighbors=p.k_neighbors, random_state=p.random_state),
            sampler=True,
            needs_target=True,
        ),
        _feature(
            "jitter",
            "augmentation",
            JitterParams,
            _target_check,
            lambda p, s, c: NumericJitter(share=p.share, scale=p.scale, random_state=p.random_state),
            sampler=True,
            needs_target=True,
        ),
    )
}
"""Feature step kinds, in the order the page lists them."""
