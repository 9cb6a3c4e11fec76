"""What every preparation step shares: its typed parameter model, the columns known at its place in
a recipe (a :class:`Schema`), how it names columns in errors, and its registry entry (:class:`StepSpec`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from mlcore.errors import InputError

__all__ = [
    "MAX_COLUMNS_PER_STEP",
    "MAX_NAME_CHARS",
    "NUMERIC_ROLES",
    "STAGES",
    "Bool",
    "ColumnList",
    "ColumnName",
    "Float",
    "choice_key",
    "field_key",
    "Int",
    "RowOutcome",
    "Schema",
    "StepContext",
    "StepParams",
    "StepSpec",
    "Text",
    "dtype_role",
    "names",
    "parse_params",
    "resolve_columns",
]

STAGES: tuple[str, ...] = ("row", "feature")
"""``row``: cleaning that changes which rows or values exist, applied once to a whole dataset to make a new
version. ``feature``: part of the model's pipeline, fitted on training rows only and saved with the model."""

MAX_COLUMNS_PER_STEP = 10_000
MAX_NAME_CHARS = 1_000
NUMERIC_ROLES: tuple[str, ...] = ("numeric",)

Int = Annotated[int, Strict()]
Float = Annotated[float, Strict()]
Bool = Annotated[bool, Strict()]
Text = Annotated[str, Strict(), Field(max_length=MAX_NAME_CHARS)]
ColumnName = Annotated[str, Strict(), Field(min_length=1, max_length=MAX_NAME_CHARS)]
ColumnList = Annotated[tuple[ColumnName, ...], Field(min_length=1, max_length=MAX_COLUMNS_PER_STEP)]


class StepParams(BaseModel):
    """Base of every step's parameters: unknown names refused, values immutable, no NaN or infinity.

    Scalars are strict (``"3"`` is not a number, ``True`` is not an integer); lists may come as JSON arrays.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


P = TypeVar("P", bound=StepParams)


@dataclass(frozen=True)
class StepContext:
    """Where a step sits: its 1-based position and kind (for messages) and the target column."""

    position: int
    kind: str
    target: str | None = None

    @property
    def step(self) -> str:
        """``"3 (scale)"``: how error messages name the step."""
        return f"{self.position} ({self.kind})" if self.position > 0 else self.kind


@dataclass(frozen=True)
class Schema:
    """The columns known at one place in a recipe, in order, with their roles.

    Columns whose names are only known once a step is fitted (one-hot outputs, polynomial terms, missing
    indicators of a feature imputer) are not listed; steps that take "all columns of a kind" still pick
    them up when fitted, by their type.
    """

    roles: Mapping[str, str]
    target: str | None = None
    taken: frozenset[str] = frozenset()
    """Other names in use (columns the recipe was not built with): steps never touch them nor reuse them."""

    def without(self, columns: Sequence[str]) -> Schema:
        gone = set(columns)
        return Schema({c: r for c, r in self.roles.items() if c not in gone}, self.target, self.taken)

    def with_roles(self, changes: Mapping[str, str]) -> Schema:
        return Schema({**self.roles, **changes}, self.target, self.taken)

    def adding(self, new: Mapping[str, str], *, ctx: StepContext) -> Schema:
        """The schema with ``new`` columns appended; a name already in use is refused."""
        taken = [c for c in new if c in self.roles or c in self.taken]
        if taken:
            raise InputError("prep.name_taken", step=ctx.step, column=_short(taken[0]))
        return Schema({**self.roles, **new}, self.target, self.taken)


@dataclass(frozen=True, eq=False)
class RowOutcome:
    """What one row step did to a frame.

    Attributes
    ----------
    frame : pandas.DataFrame
        The result (the index of kept rows is unchanged).
    state : mapping or None
        JSON-safe values the step learned (medians, clip bounds, kept categories…): recorded in the
        report and reusable on other data; None when nothing reusable was learned.
    changed : mapping of str to int
        Values changed per column (a filled gap counts as a change).
    facts : mapping
        JSON-safe things worth showing that are not reusable (values that could not be read, rows flagged…).
    """

    frame: pd.DataFrame
    state: Mapping[str, Any] | None
    changed: Mapping[str, int]
    facts: Mapping[str, Any] = field(default_factory=dict)


RowApply = Callable[[pd.DataFrame, Any, Schema, StepContext, Mapping[str, Any] | None], RowOutcome]
Check = Callable[[Any, Schema, StepContext], Schema]
Build = Callable[[Any, Schema, StepContext], Any]


@dataclass(frozen=True)
class StepSpec:
    """One kind of step: its id, stage, parameters and implementation.

    Attributes
    ----------
    kind : str
        Stable id used in saved recipes.
    stage : {"row", "feature"}
    group : str
        What it is for (``imputation``, ``outliers``, ``encoding``, ``scaling``…), for grouping on the page.
    params : type of StepParams
        The pydantic model of its parameters (``params.model_json_schema()`` describes the form).
    check : callable
        ``check(params, schema, ctx) -> schema``: refuses unknown or unsuitable columns, returns the
        columns after the step.
    apply : callable, optional
        Row steps: ``apply(frame, params, schema, ctx, state) -> RowOutcome``.
    build : callable, optional
        Feature steps: ``build(params, schema, ctx)`` -> an unfitted scikit-learn transformer, an
        imbalanced-learn sampler, or None for a model setting (class weights).
    sampler : bool
        The step adds or removes training rows (only while fitting, inside an imblearn pipeline).
    setting : bool
        The step changes how the model is fitted rather than the data (class weights).
    needs_target : bool
        The step learns from the target (target encoding, supervised selection, rebalancing).
    prefer : str or None
        A kind the page should suggest instead (imputing in the dataset -> imputing as a feature step,
        which learns fill values from training rows only).
    """

    kind: str
    stage: Literal["row", "feature"]
    group: str
    params: type[StepParams]
    check: Check
    apply: RowApply | None = None
    build: Build | None = None
    sampler: bool = False
    setting: bool = False
    needs_target: bool = False
    prefer: str | None = None

    @property
    def label_key(self) -> str:
        """Catalog key of the step's short name."""
        return f"prep.step.{self.kind}.label"

    @property
    def help_key(self) -> str:
        """Catalog key of the one-line explanation shown under the step."""
        return f"prep.step.{self.kind}.help"


# ----------------------------------------------------------------------------- parameters


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}
_LIMIT_SYMBOLS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}


def parse_params(model: type[P], raw: Any, *, ctx: StepContext) -> P:
    """Validate ``raw`` (a mapping, or already a ``model``) into ``model``; errors name the step and setting.

    Raises
    ------
    InputError
        ``prep.params_not_mapping``, ``prep.param_unknown``, ``prep.param_missing``, ``prep.param_choice``,
        ``prep.param_range``, ``prep.param_too_many``, ``prep.param_too_few``, ``prep.param_type`` or
        ``prep.param_invalid``.

    Examples
    --------
    >>> class Demo(StepParams):
    ...     k: Int = Field(5, ge=1, le=100)
    >>> parse_params(Demo, {"k": 7}, ctx=StepContext(1, "demo")).k
    7
    >>> parse_params(Demo, {"k": 1000}, ctx=StepContext(2, "demo"))
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: Step 2 (demo): the setting 'k' is out of range (1000; allowed: ≤ 100).
    """
    if isinstance(raw, model):
        return raw
    if isinstance(raw, StepParams):
        raw = raw.model_dump()
    if not isinstance(raw, Mapping):
        raise InputError("prep.params_not_mapping", step=ctx.step, type=type(raw).__name__)
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        raise _param_error(exc, model, ctx) from None
    except RecursionError:
        raise InputError("prep.param_invalid", step=ctx.step, param="—", value="…") from None


def _param_error(exc: ValidationError, model: type[StepParams], ctx: StepContext) -> InputError:
    errors = exc.errors(include_url=False)
    error = errors[0]
    if len(errors) > 1 and not isinstance(error.get("input"), str):
        # a union such as "auto" or a number: the number's complaint says more than "not 'auto'"
        error = next((e for e in errors if e.get("type") != "literal_error"), error)
    kind = str(error.get("type", ""))
    loc = tuple(error.get("loc", ()))
    # after the setting's name only positions matter; other parts name union members ("constrained-float")
    param = ".".join([str(part) for part in loc[:1]] + [str(p) for p in loc[1:] if isinstance(p, int)]) or "—"
    value = _short(repr(error.get("input")), 60)
    context = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = ", ".join(model.model_fields)
        return InputError("prep.param_unknown", step=ctx.step, param=_short(param), allowed=allowed)
    if kind == "missing":
        return InputError("prep.param_missing", step=ctx.step, param=param)
    if kind in ("literal_error", "enum"):
        choices = str(context.get("expected", ""))
        return InputError("prep.param_choice", step=ctx.step, param=param, value=value, choices=choices)
    if kind in _RANGE_ERRORS:
        limit = ", ".join(f"{_LIMIT_SYMBOLS[k]} {v}" for k, v in context.items() if k in _LIMIT_SYMBOLS)
        return InputError("prep.param_range", step=ctx.step, param=param, value=value, limit=limit or "—")
    if kind == "too_long":
        return InputError("prep.param_too_many", step=ctx.step, param=param, maximum=context.get("max_length", "—"))
    if kind == "too_short":
        return InputError("prep.param_too_few", step=ctx.step, param=param, minimum=context.get("min_length", "—"))
    if kind.endswith("_type") or kind.endswith("_parsing") or kind.startswith("finite"):
        return InputError("prep.param_type", step=ctx.step, param=param, value=value, expected=kind.split("_")[0])
    return InputError("prep.param_invalid", step=ctx.step, param=param, value=value)


# ----------------------------------------------------------------------------- columns


def resolve_columns(
    requested: Sequence[str] | None,
    schema: Schema,
    ctx: StepContext,
    *,
    roles: Sequence[str],
    allow_target: bool = False,
) -> tuple[str, ...]:
    """The columns a step works on: the ones named (each checked), or all known ones of ``roles``.

    "All" never includes the target. Named columns must be known at this place in the recipe, have one
    of ``roles``, appear once, and may be the target only when ``allow_target``.

    Raises
    ------
    InputError
        ``prep.unknown_column``, ``prep.wrong_role``, ``prep.duplicate_column``, ``prep.target_not_allowed``.

    Examples
    --------
    >>> schema = Schema({"age": "numeric", "plan": "categorical", "y": "numeric"}, target="y")
    >>> resolve_columns(None, schema, StepContext(1, "scale"), roles=("numeric",))
    ('age',)
    >>> resolve_columns(["plan"], schema, StepContext(1, "scale"), roles=("numeric",))
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: Step 1 (scale): column 'plan' is categorical; this step needs a numeric column.
    """
    if requested is None:
        return tuple(c for c, role in schema.roles.items() if role in roles and c != schema.target)
    seen: set[str] = set()
    for column in requested:
        if column in seen:
            raise InputError("prep.duplicate_column", step=ctx.step, column=_short(column))
        seen.add(column)
        if column not in schema.roles:
            raise InputError(
                "prep.unknown_column", step=ctx.step, column=_short(column), choices=names(list(schema.roles)) or "—"
            )
        if column == schema.target and not allow_target:
            raise InputError("prep.target_not_allowed", step=ctx.step, column=_short(column))
        role = schema.roles[column]
        if role not in roles:
            raise InputError(
                "prep.wrong_role", step=ctx.step, column=_short(column), role=role, expected=" / ".join(roles)
            )
    return tuple(requested)


def field_key(name: str) -> str:
    """Catalog key of a parameter's label on the step form (``prep.field.<name>``)."""
    return f"prep.field.{name}"


def choice_key(value: Any) -> str:
    """Catalog key of a choice's label (``prep.choice.<value>``, spaces as underscores).

    Examples
    --------
    >>> choice_key("not majority")
    'prep.choice.not_majority'
    """
    return "prep.choice." + str(value).replace(" ", "_")


def dtype_role(series: pd.Series) -> str:
    """The role a column's type suggests (for columns a fitted step created).

    Examples
    --------
    >>> dtype_role(pd.Series([1.5, 2.0])), dtype_role(pd.Series([True])), dtype_role(pd.Series(["a"]))
    ('numeric', 'boolean', 'categorical')
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def names(columns: Sequence[Any], limit: int = 10) -> str:
    """Up to ``limit`` names for a message, then how many more."""
    shown = [_short(str(c)) for c in list(columns)[:limit]]
    more = len(columns) - len(shown)
    return ", ".join(shown) + (f" (+{more})" if more > 0 else "")


def _short(text: str, limit: int = 80) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finite_or_none(value: float) -> float | None:
    """A float for JSON: None instead of NaN or infinity."""
    value = float(value)
    return value if math.isfinite(value) else None
