"""Preparation recipes: an ordered, named, versioned list of row and feature steps.

* **Row steps** (:mod:`~mlcore.data.prepare.cleaning`) change which rows or values exist;
  :func:`apply_row_steps` runs them on a whole dataset to make a new dataset version.
* **Feature steps** (:mod:`~mlcore.data.prepare.processing`) become part of the model:
  :func:`build_feature_pipeline` turns them into a scikit-learn ``Pipeline`` and :func:`compose_pipeline`
  puts that pipeline, the samplers and the class weights around a model, so they are fitted on training
  folds only, saved with the model and applied again at prediction time.

In a recipe the row steps come first, then the feature transformations, then the samplers and settings
(resampling runs last, just before the model, only while fitting). :meth:`Recipe.with_step` puts a new
step at the end of its section. :func:`preview_step` shows what one step would do on a sample.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
import pandas as pd
import yaml
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from mlcore.data.prepare.cleaning import ALL_ROLES, ROW_STEPS
from mlcore.data.prepare.processing import FEATURE_STEPS, FinishFeatures, RecipeFeatures
from mlcore.data.prepare.steps import (
    MAX_NAME_CHARS,
    Schema,
    StepContext,
    StepParams,
    StepSpec,
    dtype_role,
    finite_or_none,
    names,
    parse_params,
)
from mlcore.errors import InputError
from mlcore.naming import check_name

__all__ = [
    "DEFAULT_SAMPLE_ROWS",
    "FORMAT",
    "MAX_RECIPE_BYTES",
    "MAX_SAMPLE_ROWS",
    "MAX_STEPS",
    "STEP_KINDS",
    "ApplyReport",
    "ColumnStats",
    "ColumnChange",
    "Note",
    "Recipe",
    "Step",
    "StepPreview",
    "StepReport",
    "apply_row_steps",
    "build_feature_pipeline",
    "compose_pipeline",
    "make_step",
    "preview_step",
    "step_kinds",
]

FORMAT = "ciclo.recipe"
FORMAT_VERSION = 1
MAX_STEPS = 100
MAX_RECIPE_BYTES = 1_000_000
"""Largest JSON or YAML text :meth:`Recipe.from_json` and :meth:`Recipe.from_yaml` read."""
MAX_NOTES_CHARS = 10_000
MAX_STEP_NOTE_CHARS = 2_000
MAX_VERSION = 1_000_000
DEFAULT_SAMPLE_ROWS = 5_000
MAX_SAMPLE_ROWS = 100_000
SHOWN_ROWS = 8
_MAX_SHOWN_COLUMNS = 12
_MAX_CLASSES_SHOWN = 50

STEP_KINDS: Mapping[str, StepSpec] = {**ROW_STEPS, **FEATURE_STEPS}
"""Every step kind: id -> :class:`~mlcore.data.prepare.steps.StepSpec` (row kinds first)."""


class Progress(Protocol):
    """``progress(fraction, key, **params)``: share done in [0, 1] and a catalog key describing the step."""

    def __call__(self, fraction: float, key: str, /, **params: Any) -> None: ...


def step_kinds(stage: str | None = None) -> list[StepSpec]:
    """The step kinds of ``stage`` (``"row"``, ``"feature"`` or None for all), in the order the page lists them.

    Examples
    --------
    >>> [s.kind for s in step_kinds("row")][:3]
    ['impute_rows', 'drop_columns', 'drop_duplicates']
    """
    return [s for s in STEP_KINDS.values() if stage is None or s.stage == stage]


def _spec(kind: Any) -> StepSpec:
    if not isinstance(kind, str) or kind not in STEP_KINDS:
        raise InputError("prep.unknown_kind", kind=str(kind)[:60], choices=", ".join(STEP_KINDS))
    return STEP_KINDS[kind]


def _section(spec: StepSpec) -> int:
    """0 row steps, 1 feature transformations, 2 samplers and model settings."""
    if spec.stage == "row":
        return 0
    return 2 if spec.sampler or spec.setting else 1


# ----------------------------------------------------------------------------- steps and recipes


@dataclass(frozen=True)
class Step:
    """One step of a recipe: its kind, validated parameters and an optional note (why it is there).

    Build with :func:`make_step`, which validates the parameters.
    """

    kind: str
    params: StepParams
    note: str = ""

    def __post_init__(self) -> None:
        spec = _spec(self.kind)
        if not isinstance(self.params, spec.params):
            raise InputError("prep.params_not_mapping", step=self.kind, type=type(self.params).__name__)
        if not isinstance(self.note, str) or len(self.note) > MAX_STEP_NOTE_CHARS:
            raise InputError("prep.note_too_long", step=self.kind, maximum=MAX_STEP_NOTE_CHARS)

    @property
    def spec(self) -> StepSpec:
        return STEP_KINDS[self.kind]

    @property
    def stage(self) -> str:
        """``"row"`` or ``"feature"``."""
        return self.spec.stage

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: kind, every parameter (defaults included) and the note."""
        return {"kind": self.kind, "params": self.params.model_dump(mode="json"), "note": self.note}


def make_step(kind: str, params: Mapping[str, Any] | None = None, /, *, note: str = "", **values: Any) -> Step:
    """A validated step of ``kind``; parameters from ``params`` and/or keywords (keywords win).

    Raises
    ------
    InputError
        ``prep.unknown_kind`` and the parameter errors of :func:`~mlcore.data.prepare.steps.parse_params`.

    Examples
    --------
    >>> make_step("scale", method="robust").params.method
    'robust'
    >>> make_step("scale", {"method": "log"})
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: Step scale: 'log' is not a valid choice for 'method' ...
    """
    spec = _spec(kind)
    if params is not None and not isinstance(params, Mapping):
        raise InputError("prep.params_not_mapping", step=kind, type=type(params).__name__)
    raw = {**dict(params or {}), **values}
    return Step(kind, parse_params(spec.params, raw, ctx=StepContext(0, kind)), note)


@dataclass(frozen=True)
class Recipe:
    """A named, versioned, ordered list of steps, with what it was built from.

    Attributes
    ----------
    name : str
        A name as for datasets (:func:`mlcore.naming.check_name`).
    steps : tuple of Step
        Row steps first, then feature transformations, then samplers and settings.
    version : int
        Starts at 1; the page saves an edited recipe as the next version (:meth:`next_version`).
    notes : str
        Created-from notes: why the steps are there, what was tried.
    target : str or None
        The target column of the data it was built on (excluded from "all columns" and never imputed,
        encoded or scaled; target encoding, selection and rebalancing learn from it).
    columns : mapping of str to str
        The input columns and their roles. Applying the recipe needs them all (the target may be absent);
        other columns are kept as they are and reported. Empty: only the columns steps name are needed.
    source : mapping
        JSON-safe record of what it was built from (dataset, version, SHA-256…).

    Examples
    --------
    >>> r = Recipe("churn prep", steps=(make_step("scale"), make_step("impute_rows")), columns={"age": "numeric"})
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: Step 2 (impute_rows) is a row step and must come before the feature steps. ...
    >>> r = Recipe("churn prep", columns={"age": "numeric"})
    >>> r = r.with_step(make_step("scale")).with_step(make_step("impute_rows"))
    >>> [s.kind for s in r.steps]
    ['impute_rows', 'scale']
    """

    name: str
    steps: tuple[Step, ...] = ()
    version: int = 1
    notes: str = ""
    target: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)
    source: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", check_name(self.name if isinstance(self.name, str) else "", what="recipe"))
        steps = tuple(self.steps) if isinstance(self.steps, list | tuple) else None
        if steps is None or not all(isinstance(s, Step) for s in steps):
            raise InputError("prep.bad_recipe", detail="steps")
        if len(steps) > MAX_STEPS:
            raise InputError("prep.too_many_steps", count=len(steps), maximum=MAX_STEPS)
        object.__setattr__(self, "steps", steps)
        if isinstance(self.version, bool) or not isinstance(self.version, int) or not 1 <= self.version <= MAX_VERSION:
            raise InputError("prep.bad_version", version=str(self.version)[:20], maximum=MAX_VERSION)
        if not isinstance(self.notes, str) or len(self.notes) > MAX_NOTES_CHARS:
            raise InputError("prep.notes_too_long", maximum=MAX_NOTES_CHARS)
        if self.target is not None and (not isinstance(self.target, str) or not 0 < len(self.target) <= MAX_NAME_CHARS):
            raise InputError("prep.bad_recipe", detail="target")
        self._check_columns()
        try:
            json.dumps(dict(self.source), allow_nan=False)
        except (TypeError, ValueError, RecursionError):
            raise InputError("prep.bad_recipe", detail="source") from None
        if len(json.dumps(dict(self.source))) > MAX_NOTES_CHARS:
            raise InputError("prep.bad_recipe", detail="source")
        last = 0
        for position, step in enumerate(steps, 1):
            section = _section(step.spec)
            if section < last:
                key = "prep.row_step_late" if section == 0 else "prep.feature_step_late"
                raise InputError(key, step=f"{position} ({step.kind})")
            last = section

    def _check_columns(self) -> None:
        if not isinstance(self.columns, Mapping):
            raise InputError("prep.bad_recipe", detail="columns")
        for column, role in self.columns.items():
            if not isinstance(column, str) or not 0 < len(column) <= MAX_NAME_CHARS:
                raise InputError("prep.bad_recipe", detail="columns")
            if role not in ALL_ROLES:
                raise InputError(
                    "prep.unknown_role", column=column[:80], role=str(role)[:40], roles=", ".join(ALL_ROLES)
                )
        object.__setattr__(self, "columns", dict(self.columns))
        object.__setattr__(self, "source", dict(self.source) if isinstance(self.source, Mapping) else self.source)
        if not isinstance(self.source, dict):
            raise InputError("prep.bad_recipe", detail="source")

    # -- parts

    @property
    def row_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.stage == "row")

    @property
    def feature_steps(self) -> tuple[Step, ...]:
        """Every feature step: transformations, samplers and settings."""
        return tuple(s for s in self.steps if s.stage == "feature")

    @property
    def fingerprint(self) -> str:
        """SHA-256 of what decides the output (steps, columns, target), not of the name, version or notes."""
        content = {
            "steps": [s.to_dict() | {"note": ""} for s in self.steps],
            "columns": self.columns,
            "target": self.target,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True).encode("utf-8")).hexdigest()

    # -- editing (each returns a new recipe)

    def with_step(self, step: Step, *, position: int | None = None) -> Recipe:
        """A copy with ``step`` inserted at ``position`` (0-based), by default at the end of its section."""
        if not isinstance(step, Step):
            raise InputError("prep.not_a_step", type=type(step).__name__)
        steps = list(self.steps)
        if position is None:
            section = _section(step.spec)
            position = sum(1 for s in steps if _section(s.spec) <= section)
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= len(steps):
            raise InputError("prep.bad_position", position=str(position)[:20], steps=len(steps))
        steps.insert(position, step)
        return replace(self, steps=tuple(steps))

    def without_step(self, index: int) -> Recipe:
        """A copy without the step at ``index`` (0-based)."""
        self._index(index)
        return replace(self, steps=self.steps[:index] + self.steps[index + 1 :])

    def replacing_step(self, index: int, step: Step) -> Recipe:
        """A copy with the step at ``index`` (0-based) replaced."""
        self._index(index)
        if not isinstance(step, Step):
            raise InputError("prep.not_a_step", type=type(step).__name__)
        return replace(self, steps=(*self.steps[:index], step, *self.steps[index + 1 :]))

    def head(self, n: int) -> Recipe:
        """A copy with the first ``n`` steps (what the page previews a step against)."""
        return replace(self, steps=self.steps[: max(0, int(n))])

    def next_version(self) -> Recipe:
        """A copy with ``version + 1``."""
        return replace(self, version=self.version + 1)

    def _index(self, index: int) -> None:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.steps):
            raise InputError("prep.bad_position", position=str(index)[:20], steps=len(self.steps))

    # -- checking

    def validate(self, *, roles: Mapping[str, str] | None = None, target: str | None = None) -> Schema:
        """Check every step against the columns it will meet; return the columns after the last step.

        Parameters
        ----------
        roles : mapping, optional
            Column -> role of the data it will be applied to (default: :attr:`columns`).
        target : str, optional
            Default :attr:`target`.

        Raises
        ------
        InputError
            The first problem, naming the step and the column.
        """
        schema = _input_schema(self, roles, self.target if target is None else target)
        for _, spec, step, ctx in _walk(self.steps, schema):
            schema = spec.check(step.params, schema, ctx)
        return schema

    # -- text formats

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe, with a format marker; :meth:`from_dict` gives an equal recipe back."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "notes": self.notes,
            "target": self.target,
            "columns": dict(self.columns),
            "source": dict(self.source),
            "steps": [s.to_dict() for s in self.steps],
        }

    def to_json(self) -> str:
        """The recipe as JSON text (UTF-8 safe, indented)."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False, allow_nan=False)

    def to_yaml(self) -> str:
        """The recipe as YAML text."""
        return str(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True))

    @classmethod
    def from_dict(cls, data: Any) -> Recipe:
        """Read what :meth:`to_dict` wrote; anything else gets an :class:`InputError` saying what is wrong.

        Raises
        ------
        InputError
            ``prep.bad_recipe`` (with the part that is wrong), ``prep.bad_format``, ``prep.too_many_steps``,
            ``prep.unknown_kind`` and the step parameter errors, naming the step.
        """
        if not isinstance(data, Mapping):
            raise InputError("prep.bad_recipe", detail=type(data).__name__)
        allowed = {"format", "format_version", "name", "version", "notes", "target", "columns", "source", "steps"}
        unknown = [str(k)[:40] for k in data if k not in allowed]
        if unknown:
            raise InputError("prep.bad_recipe", detail=f"unknown key {unknown[0]}")
        if data.get("format") != FORMAT or data.get("format_version") != FORMAT_VERSION:
            raise InputError("prep.bad_format", format=str(data.get("format"))[:40], expected=FORMAT)
        steps_raw = data.get("steps", [])
        if not isinstance(steps_raw, list):
            raise InputError("prep.bad_recipe", detail="steps")
        if len(steps_raw) > MAX_STEPS:
            raise InputError("prep.too_many_steps", count=len(steps_raw), maximum=MAX_STEPS)
        steps = []
        for position, raw in enumerate(steps_raw, 1):
            if not isinstance(raw, Mapping) or set(raw) - {"kind", "params", "note"} or "kind" not in raw:
                raise InputError("prep.bad_recipe", detail=f"step {position}")
            spec = _spec(raw["kind"])
            ctx = StepContext(position, spec.kind)
            params = parse_params(spec.params, raw.get("params") or {}, ctx=ctx)
            note = raw.get("note") or ""
            if not isinstance(note, str):
                raise InputError("prep.bad_recipe", detail=f"step {position} note")
            steps.append(Step(spec.kind, params, note))
        for key, kind in (("name", str), ("notes", str), ("columns", Mapping), ("source", Mapping)):
            if key in data and data[key] is not None and not isinstance(data[key], kind):
                raise InputError("prep.bad_recipe", detail=key)
        return cls(
            name=data.get("name") or "",
            steps=tuple(steps),
            version=data.get("version", 1),
            notes=data.get("notes") or "",
            target=data.get("target"),
            columns=dict(data.get("columns") or {}),
            source=dict(data.get("source") or {}),
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> Recipe:
        """Read a recipe from JSON text (at most :data:`MAX_RECIPE_BYTES`).

        Raises
        ------
        InputError
            ``prep.recipe_too_large``, ``prep.bad_json`` (with line and column) and those of :meth:`from_dict`.
        """
        decoded = _decoded(text)
        try:
            data = json.loads(decoded, parse_constant=_refuse_constant)
        except json.JSONDecodeError as exc:
            raise InputError("prep.bad_json", line=exc.lineno, column=exc.colno, detail=exc.msg[:80]) from None
        except (RecursionError, ValueError):
            raise InputError("prep.bad_json", line=0, column=0, detail="nesting or number") from None
        return cls.from_dict(data)

    @classmethod
    def from_yaml(cls, text: str | bytes) -> Recipe:
        """Read a recipe from YAML text with ``yaml.safe_load`` rules, anchors/aliases refused.

        Raises
        ------
        InputError
            ``prep.recipe_too_large``, ``prep.bad_yaml`` (with line) and those of :meth:`from_dict`.
        """
        decoded = _decoded(text)
        try:
            data = yaml.load(decoded, Loader=_SafeLoaderWithoutAliases)  # noqa: S506 (a SafeLoader subclass)
        except _AliasRefused as exc:
            raise InputError("prep.bad_yaml", line=exc.line, detail="anchors and aliases are not allowed") from None
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = (mark.line + 1) if mark is not None else 0
            detail = str(getattr(exc, "problem", None) or type(exc).__name__)[:80]
            raise InputError("prep.bad_yaml", line=line, detail=detail) from None
        except RecursionError:
            raise InputError("prep.bad_yaml", line=0, detail="nesting too deep") from None
        return cls.from_dict(data)


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def _decoded(text: str | bytes) -> str:
    if isinstance(text, bytes):
        if len(text) > MAX_RECIPE_BYTES:
            raise InputError("prep.recipe_too_large", size=len(text), maximum=MAX_RECIPE_BYTES)
        try:
            return text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputError("prep.bad_json", line=0, column=0, detail="not UTF-8 text") from None
    if not isinstance(text, str):
        raise InputError("prep.bad_recipe", detail=type(text).__name__)
    if len(text) > MAX_RECIPE_BYTES or len(text.encode("utf-8")) > MAX_RECIPE_BYTES:
        raise InputError("prep.recipe_too_large", size=len(text.encode("utf-8")), maximum=MAX_RECIPE_BYTES)
    return text


class _AliasRefused(yaml.YAMLError):  # type: ignore[misc]
    def __init__(self, line: int) -> None:
        super().__init__("alias")
        self.line = line


class _SafeLoaderWithoutAliases(yaml.SafeLoader):  # type: ignore[misc]
    """``SafeLoader`` that refuses anchors and aliases (one alias can expand into gigabytes: "billion laughs")."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise _AliasRefused(self.peek_event().start_mark.line + 1)
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise _AliasRefused(event.start_mark.line + 1)
        return super().compose_node(parent, index)


# ----------------------------------------------------------------------------- walking a recipe


def _input_schema(recipe: Recipe, roles: Mapping[str, str] | None, target: str | None) -> Schema:
    given = dict(roles) if roles is not None else dict(recipe.columns)
    for column, role in given.items():
        if role not in ALL_ROLES:
            raise InputError(
                "prep.unknown_role", column=str(column)[:80], role=str(role)[:40], roles=", ".join(ALL_ROLES)
            )
    return Schema(given, target)


def _walk(steps: Sequence[Step], schema: Schema, start: int = 1) -> list[tuple[int, StepSpec, Step, StepContext]]:
    return [(i, s.spec, s, StepContext(i, s.kind, schema.target)) for i, s in enumerate(steps, start)]


def _first_step_naming(recipe: Recipe, column: str) -> str:
    for position, step in enumerate(recipe.steps, 1):
        if _mentions(step.params.model_dump(), column):
            return f"{position} ({step.kind})"
    return "—"


def _mentions(value: Any, column: str) -> bool:
    if isinstance(value, str):
        return value == column
    if isinstance(value, Mapping):
        return any(_mentions(v, column) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_mentions(v, column) for v in value)
    return False


def _check_frame(frame: Any) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise InputError("prep.not_a_frame", type=type(frame).__name__)
    if frame.shape[1] == 0:
        raise InputError("prep.no_columns")
    if len(frame) == 0:
        raise InputError("prep.no_rows")
    not_text = [c for c in frame.columns if not isinstance(c, str)]
    if not_text:
        raise InputError("prep.column_names_not_text", columns=names(not_text))
    if not frame.columns.is_unique:
        raise InputError("prep.duplicate_columns", columns=names(frame.columns[frame.columns.duplicated()].tolist()))
    return frame


# ----------------------------------------------------------------------------- applying row steps


@dataclass(frozen=True)
class StepReport:
    """What one row step did when applied.

    Attributes
    ----------
    position : int
        1-based place in the recipe.
    kind : str
    rows_before, rows_after : int
    columns_added, columns_removed : tuple of str
    changed : mapping of str to int
        Values changed per column.
    state : mapping or None
        JSON-safe values learnt (fill values, bounds, kept categories, bin edges); pass the report's
        :attr:`ApplyReport.states` back to :func:`apply_row_steps` to reuse them on other data.
    facts : mapping
        Other JSON-safe details (values that could not be read, duplicates found, outliers…).
    seconds : float
    """

    position: int
    kind: str
    rows_before: int
    rows_after: int
    columns_added: tuple[str, ...]
    columns_removed: tuple[str, ...]
    changed: Mapping[str, int]
    state: Mapping[str, Any] | None
    facts: Mapping[str, Any]
    seconds: float

    @property
    def rows_removed(self) -> int:
        return self.rows_before - self.rows_after


@dataclass(frozen=True)
class ApplyReport:
    """What :func:`apply_row_steps` did: per step, and the result's columns and roles.

    Attributes
    ----------
    recipe, version, fingerprint
        Which recipe (name, version, :attr:`Recipe.fingerprint`).
    rows_before, rows_after : int
    columns : tuple of str
        Columns of the result, in order.
    roles : mapping of str to str
        Role of every result column (for the new dataset version).
    extra_columns : tuple of str
        Columns the recipe was not built with: kept unchanged, never looked at by the steps.
    steps : tuple of StepReport
    seconds : float
    """

    recipe: str
    version: int
    fingerprint: str
    rows_before: int
    rows_after: int
    columns: tuple[str, ...]
    roles: Mapping[str, str]
    extra_columns: tuple[str, ...]
    steps: tuple[StepReport, ...]
    seconds: float

    @property
    def states(self) -> tuple[Mapping[str, Any] | None, ...]:
        """The learnt values of each row step, in order (what ``states=`` of :func:`apply_row_steps` takes)."""
        return tuple(s.state for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record of the run, for the new dataset version's lineage."""
        return {
            "recipe": self.recipe,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "rows_before": self.rows_before,
            "rows_after": self.rows_after,
            "extra_columns": list(self.extra_columns),
            "steps": [
                {
                    "position": s.position,
                    "kind": s.kind,
                    "rows_before": s.rows_before,
                    "rows_after": s.rows_after,
                    "columns_added": list(s.columns_added),
                    "columns_removed": list(s.columns_removed),
                    "changed": dict(s.changed),
                    "state": s.state,
                    "facts": dict(s.facts),
                    "seconds": round(s.seconds, 4),
                }
                for s in self.steps
            ],
        }


def _data_schema(
    frame: pd.DataFrame, recipe: Recipe, roles: Mapping[str, str] | None, target: str | None
) -> tuple[Schema, dict[str, str]]:
    """The schema the row steps start from, and the roles of the extra columns they never look at."""
    given = dict(roles or {})
    expected = dict(recipe.columns)
    if expected:
        missing = [c for c in expected if c not in frame.columns and c != target]
        if missing:
            raise InputError(
                "prep.missing_column", column=str(missing[0])[:80], step=_first_step_naming(recipe, missing[0])
            )
        known = {c: expected[c] for c in frame.columns if c in expected}
        if target is not None and target in frame.columns and target not in known:
            known[target] = given.get(target) or dtype_role(frame[target])
    else:
        known = {c: given.get(c) or dtype_role(frame[c]) for c in frame.columns}
    extras = {c: given.get(c) or dtype_role(frame[c]) for c in frame.columns if c not in known}
    for column, role in [*known.items(), *extras.items()]:
        if role not in ALL_ROLES:
            raise InputError(
                "prep.unknown_role", column=str(column)[:80], role=str(role)[:40], roles=", ".join(ALL_ROLES)
            )
    return Schema(known, target, frozenset(extras)), extras


def apply_row_steps(
    frame: pd.DataFrame,
    recipe: Recipe,
    *,
    roles: Mapping[str, str] | None = None,
    target: str | None = None,
    states: Sequence[Mapping[str, Any] | None] | None = None,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, ApplyReport]:
    """Run the recipe's row steps on ``frame``: the rows and values of a new dataset version.

    Each step learns from the rows it cleans (medians, bounds…) unless ``states`` gives it the values a
    previous run learnt. Kept rows keep their index labels. The feature steps are not run here (see
    :func:`build_feature_pipeline`).

    New data: a column the recipe was built with and that is missing (except the target) is an error
    naming it; a column it was not built with is kept unchanged and listed in ``extra_columns``; a category
    never seen before is treated like any other value (tidy merges it into "other" when reusing a state
    that merges rare categories).

    Parameters
    ----------
    frame : pandas.DataFrame
    recipe : Recipe
    roles : mapping, optional
        Column -> role of ``frame`` (the dataset version's); used for columns the recipe does not record,
        else guessed from the column's type.
    target : str, optional
        Default ``recipe.target``.
    states : sequence, optional
        One entry per row step (``ApplyReport.states`` of an earlier run), None entries learn afresh.
    progress : callable, optional
        ``progress(fraction, "prep.progress.step", step=..., steps=..., kind=...)`` after each step.

    Returns
    -------
    (pandas.DataFrame, ApplyReport)

    Raises
    ------
    InputError
        ``prep.not_a_frame``, ``prep.no_rows``, ``prep.no_columns``, ``prep.missing_column``,
        ``prep.bad_states``, ``prep.all_rows_removed`` and the column errors of each step.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [30.0, None, 50.0, 500.0], "city": [" Lima", "lima", "Quito", "Lima "]})
    >>> recipe = Recipe("clean", steps=(make_step("impute_rows", strategy="median"),
    ...                                 make_step("tidy_categories", case="title")))
    >>> out, report = apply_row_steps(df, recipe, roles={"age": "numeric", "city": "categorical"})
    >>> out["age"].tolist(), out["city"].tolist(), dict(report.steps[0].changed)
    ([30.0, 50.0, 50.0, 500.0], ['Lima', 'Lima', 'Quito', 'Lima'], {'age': 1})
    """
    start = time.perf_counter()
    _check_frame(frame)
    if not isinstance(recipe, Recipe):
        raise InputError("prep.not_a_recipe", type=type(recipe).__name__)
    target = recipe.target if target is None else target
    schema, extras = _data_schema(frame, recipe, roles, target)
    row_steps = [(i, s) for i, s in enumerate(recipe.steps, 1) if s.stage == "row"]
    if states is not None and (isinstance(states, str | bytes) or len(states) != len(row_steps)):
        raise InputError("prep.bad_states", expected=len(row_steps), got=len(states) if states is not None else 0)
    rows_before = len(frame)
    reports: list[StepReport] = []
    current = frame
    for k, (position, step) in enumerate(row_steps):
        t0 = time.perf_counter()
        spec = step.spec
        ctx = StepContext(position, step.kind, target)
        after_schema = spec.check(step.params, schema, ctx)
        state = states[k] if states is not None else None
        if state is not None and not isinstance(state, Mapping):
            raise InputError("prep.bad_states", expected=len(row_steps), got=len(row_steps))
        assert spec.apply is not None
        outcome = _guarded(ctx, spec.apply, current, step.params, schema, ctx, state)
        result = outcome.frame
        if len(result) == 0:
            raise InputError("prep.all_rows_removed", step=ctx.step)
        before_columns = set(current.columns)
        reports.append(
            StepReport(
                position=position,
                kind=step.kind,
                rows_before=len(current),
                rows_after=len(result),
                columns_added=tuple(c for c in result.columns if c not in before_columns),
                columns_removed=tuple(c for c in current.columns if c not in set(result.columns)),
                changed=dict(outcome.changed),
                state=_json_safe(outcome.state),
                facts=_json_safe(outcome.facts) or {},
                seconds=time.perf_counter() - t0,
            )
        )
        current, schema = result, after_schema
        if progress is not None:
            progress(
                (k + 1) / len(row_steps),
                "prep.progress.step",
                step=k + 1,
                steps=len(row_steps),
                kind=step.kind,
            )
    final_roles = {c: schema.roles.get(c) or extras.get(c) or dtype_role(current[c]) for c in current.columns}
    report = ApplyReport(
        recipe=recipe.name,
        version=recipe.version,
        fingerprint=recipe.fingerprint,
        rows_before=rows_before,
        rows_after=len(current),
        columns=tuple(current.columns),
        roles=final_roles,
        extra_columns=tuple(c for c in extras if c in current.columns),
        steps=tuple(reports),
        seconds=time.perf_counter() - start,
    )
    return current, report


def _guarded(ctx: StepContext, run: Callable[..., Any], *args: Any) -> Any:
    """Run a step; a failure that is not already an InputError becomes one naming the step."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return run(*args)
    except InputError:
        raise
    except (ValueError, TypeError, ArithmeticError, KeyError, IndexError) as exc:
        detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputError("prep.step_failed", step=ctx.step, detail=detail) from exc


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_json_safe(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)


# ----------------------------------------------------------------------------- feature pipeline and model


def _feature_schema(recipe: Recipe, roles: Mapping[str, str] | None, target: str | None) -> Schema:
    """The columns the feature steps start from: ``roles`` (the prepared version's) or the recipe's columns
    after its row steps."""
    if roles is not None:
        return _input_schema(recipe, roles, target)
    schema = _input_schema(recipe, None, target)
    for _, spec, step, ctx in _walk(recipe.steps, schema):
        if spec.stage == "row":
            schema = spec.check(step.params, schema, replace(ctx, target=target))
    return schema


def _feature_parts(
    recipe: Recipe, roles: Mapping[str, str] | None, target: str | None
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]], list[Step], Schema]:
    schema = _feature_schema(recipe, roles, target)
    transforms: list[tuple[str, Any]] = []
    samplers: list[tuple[str, Any]] = []
    settings: list[Step] = []
    for position, spec, step, ctx in _walk(recipe.steps, schema):
        if spec.stage != "feature":
            continue
        assert spec.build is not None
        estimator = spec.build(step.params, schema, ctx)
        schema = spec.check(step.params, schema, ctx)
        if spec.setting:
            settings.append(step)
        elif spec.sampler:
            samplers.append((f"s{position}_{step.kind}", estimator))
        else:
            transforms.append((f"s{position}_{step.kind}", estimator))
    return transforms, samplers, settings, schema


def build_feature_pipeline(
    recipe: Recipe, *, roles: Mapping[str, str] | None = None, target: str | None = None
) -> Pipeline:
    """The recipe's feature transformations as a scikit-learn ``Pipeline`` of frames in, frames out.

    Samplers and class weights are not in it (they need the model; see :func:`compose_pipeline`).
    Fit it on training rows only (``fit(X, y)``; the target is needed by target encoding and by selection
    that uses it).

    Parameters
    ----------
    recipe : Recipe
    roles : mapping, optional
        Column -> role of the data it will be fitted on (the version the row steps made); default: the
        recipe's columns after its row steps.
    target : str, optional
        Default ``recipe.target``.

    Raises
    ------
    InputError
        The column errors of the steps.

    Examples
    --------
    >>> steps = (make_step("scale"), make_step("encode"))
    >>> recipe = Recipe("r", steps=steps, columns={"a": "numeric", "c": "categorical"})
    >>> X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"]})
    >>> build_feature_pipeline(recipe).fit_transform(X).columns.tolist()
    ['a', 'c_x', 'c_y']
    """
    if not isinstance(recipe, Recipe):
        raise InputError("prep.not_a_recipe", type=type(recipe).__name__)
    transforms, _, _, _ = _feature_parts(recipe, roles, recipe.target if target is None else target)
    if not transforms:
        transforms = [("identity", FunctionTransformer(feature_names_out="one-to-one"))]
    return Pipeline(transforms)


def compose_pipeline(
    recipe: Recipe,
    *,
    roles: Mapping[str, str],
    model_pipeline: Any,
    target: str | None = None,
) -> Any:
    """Put a recipe's feature steps around a model: what modeling trains, cross-validates and saves.

    The result has the same outer step names as :func:`mlcore.modeling.training.build_pipeline`:

    * ``prepare``: the recipe's feature transformations, then :class:`~.processing.FinishFeatures`, the
      default preparation of whatever the model still needs (imputation, encoding of categories the recipe
      left alone, date parts, dropping identifiers and text; standardisation for models that need it unless
      the recipe scales);
    * one step per sampler (over/under-sampling, SMOTE, synthetic rows, jitter): run by imbalanced-learn's
      ``Pipeline`` while fitting only, never on validation, test or prediction rows;
    * ``model``: a clone of the model, with ``class_weight="balanced"`` when the recipe asks for class weights.

    A recipe without feature steps gives a clone of ``model_pipeline`` unchanged.

    Parameters
    ----------
    recipe : Recipe
    roles : mapping of str to str
        Column -> role of the training data (the dataset version the row steps made).
    model_pipeline : sklearn Pipeline or estimator
        What :func:`~mlcore.modeling.training.build_pipeline` returned (its last step is the model), or a model.
    target : str, optional
        Default ``recipe.target``.

    Returns
    -------
    sklearn.pipeline.Pipeline or imblearn.pipeline.Pipeline

    Raises
    ------
    InputError
        ``prep.needs_classification`` (rebalancing or class weights with a regression model),
        ``prep.class_weight_unsupported`` and the column errors of the steps.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> recipe = Recipe("r", target="y", steps=(make_step("log"), make_step("smote", k_neighbors=3)))
    >>> pipe = compose_pipeline(recipe, roles={"a": "numeric", "y": "categorical"}, model_pipeline=LogisticRegression())
    >>> type(pipe).__module__, [name for name, _ in pipe.steps]
    ('imblearn.pipeline', ['prepare', 's2_smote', 'model'])
    """
    if not isinstance(recipe, Recipe):
        raise InputError("prep.not_a_recipe", type=type(recipe).__name__)
    target = recipe.target if target is None else target
    if not recipe.feature_steps:
        return clone(model_pipeline)
    model = clone(model_pipeline.steps[-1][1] if isinstance(model_pipeline, Pipeline) else model_pipeline)
    transforms, samplers, settings, schema = _feature_parts(recipe, roles, target)
    classes_only = [s for s in recipe.feature_steps if s.kind in ("class_weight", "oversample", "undersample", "smote")]
    if classes_only and not is_classifier(model):
        raise InputError("prep.needs_classification", step=classes_only[0].kind, model=type(model).__name__)
    if settings:
        if "class_weight" not in model.get_params():
            raise InputError("prep.class_weight_unsupported", model=type(model).__name__)
        model.set_params(class_weight="balanced")
    # The model knows the task; "auto" would take a whole-number regression target (counts) for classes.
    task = "classification" if is_classifier(model) else "regression"
    for _, estimator in [*transforms, *samplers]:
        names = [k for k in estimator.get_params(deep=True) if k == "task" or k.endswith("__task")]
        estimator.set_params(**dict.fromkeys(names, task))
    family = _family_of(model)
    scales = any(s.kind == "scale" for s in recipe.feature_steps)
    # Samplers need numbers without gaps, so with them even gradient boosting gets the imputed, one-hot finish.
    native = bool(family is not None and family.native_categories and not samplers)
    finish = FinishFeatures(
        roles=tuple((c, r) for c, r in schema.roles.items() if c != target),
        scaled=bool(family is not None and family.scaled and not scales),
        native_categories=native,
    )
    if "categorical_features" in model.get_params():
        model.set_params(categorical_features="from_dtype")
    prepare = RecipeFeatures(Pipeline([*transforms, ("finish", finish)]))
    if samplers:
        from imblearn.pipeline import Pipeline as SamplingPipeline

        return SamplingPipeline([("prepare", prepare), *samplers, ("model", model)])
    return Pipeline([("prepare", prepare), ("model", model)])


def _family_of(model: Any) -> Any:
    from mlcore.modeling.training import MODEL_FAMILIES

    inner = getattr(model, "regressor", model)
    for families in MODEL_FAMILIES.values():
        for family in families.values():
            if type(inner) is family.estimator:
                return family
    return None


# ----------------------------------------------------------------------------- previews


@dataclass(frozen=True)
class ColumnStats:
    """Summary of one column: numbers get mean, spread and range; other columns distinct values and the
    most common one."""

    count: int
    missing: int
    mean: float | None = None
    std: float | None = None
    min: float | None = None
    median: float | None = None
    max: float | None = None
    distinct: int | None = None
    top: str | None = None
    top_count: int | None = None


@dataclass(frozen=True)
class ColumnChange:
    """A column the step affected: values changed and its summary before and after (None: not there)."""

    column: str
    changed: int
    before: ColumnStats | None
    after: ColumnStats | None


@dataclass(frozen=True)
class Note:
    """Something the page should point out, as a catalog key and its parameters."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class StepPreview:
    """What one step does to a sample, for the live before/after view.

    Attributes
    ----------
    kind, stage : str
    position : int
        1-based place the step takes in the recipe.
    label_key, help_key : str
        Catalog keys of the step's name and one-line explanation.
    total_rows : int
        Rows of the frame given; ``sample_rows`` of them were used.
    sample_rows : int
    rows_before, rows_after : int
        On the sample, just before and after this step.
    rows_removed, rows_added : int
    columns_added, columns_removed : tuple of str
    values_changed : mapping of str to int
        Per column present before and after, values that differ (on rows present in both).
    changes : tuple of ColumnChange
        The affected columns with before/after statistics.
    sample_before, sample_after : pandas.DataFrame
        A few rows (changed or removed ones first) and the affected columns, before and after.
    removed_rows : tuple
        Index labels among ``sample_before`` that the step removed.
    class_counts_before, class_counts_after : mapping or None
        Rows per class of the target (classification-like targets only).
    facts : mapping
        What the step learnt (fill values, bounds, kept columns, class weights…), JSON-safe.
    notes : tuple of Note
    seconds : float
    """

    kind: str
    stage: str
    position: int
    label_key: str
    help_key: str
    total_rows: int
    sample_rows: int
    rows_before: int
    rows_after: int
    rows_removed: int
    rows_added: int
    columns_added: tuple[str, ...]
    columns_removed: tuple[str, ...]
    values_changed: Mapping[str, int]
    changes: tuple[ColumnChange, ...]
    sample_before: pd.DataFrame
    sample_after: pd.DataFrame
    removed_rows: tuple[Any, ...]
    class_counts_before: Mapping[str, int] | None
    class_counts_after: Mapping[str, int] | None
    facts: Mapping[str, Any]
    notes: tuple[Note, ...]
    seconds: float


def preview_step(
    frame: pd.DataFrame,
    recipe: Recipe,
    step: Step,
    *,
    roles: Mapping[str, str] | None = None,
    target: str | None = None,
    sample_rows: int = DEFAULT_SAMPLE_ROWS,
    random_state: int = 0,
    shown_rows: int = SHOWN_ROWS,
) -> StepPreview:
    """What ``step`` would do if added to ``recipe`` (the steps so far), shown on a random sample of ``frame``.

    The earlier steps run on the sample first: row steps as they would on the dataset, feature steps fitted
    on the sample. A row step is compared with the sample after the earlier row steps; a feature step with
    the output of the earlier feature steps (rows with a missing target are left out, as training does).
    Samplers are shown after the default preparation a model gets (they need numbers).

    Parameters
    ----------
    frame : pandas.DataFrame
        The dataset version the recipe is built on (target column included).
    recipe : Recipe
        The steps so far; ``step`` takes the place :meth:`Recipe.with_step` gives it.
    step : Step
    roles : mapping, optional
        Column -> role of ``frame`` (default: the recipe's columns, else guessed from types).
    target : str, optional
        Default ``recipe.target``.
    sample_rows : int, default 5000
        Rows previewed (at most :data:`MAX_SAMPLE_ROWS`).
    random_state : int, default 0
    shown_rows : int, default 8
        Rows in ``sample_before`` / ``sample_after``.

    Raises
    ------
    InputError
        ``prep.not_a_frame``, ``prep.no_rows``, ``prep.bad_sample_rows``, ``prep.needs_target_values`` and
        the errors of the steps (column problems, a single class for SMOTE, too few rows per class…).

    Examples
    --------
    >>> df = pd.DataFrame({"x": [1.0, 2.0, 3.0, 100.0], "y": [0, 1, 0, 1]})
    >>> p = preview_step(df, Recipe("r", target="y"), make_step("outliers", action="remove"))
    >>> p.rows_before, p.rows_after, p.removed_rows
    (4, 3, (3,))
    """
    start = time.perf_counter()
    _check_frame(frame)
    if not isinstance(recipe, Recipe):
        raise InputError("prep.not_a_recipe", type=type(recipe).__name__)
    if not isinstance(step, Step):
        raise InputError("prep.not_a_step", type=type(step).__name__)
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, int) or not 1 <= sample_rows <= MAX_SAMPLE_ROWS:
        raise InputError("prep.bad_sample_rows", value=str(sample_rows)[:20], maximum=MAX_SAMPLE_ROWS)
    target = recipe.target if target is None else target
    trial = recipe.with_step(step)
    position = next(i for i, s in enumerate(trial.steps) if s is step) + 1
    prior = trial.head(position - 1)
    sample = frame if len(frame) <= sample_rows else frame.sample(n=sample_rows, random_state=random_state).sort_index()
    if not sample.index.is_unique:
        sample = sample.reset_index(drop=True)
    spec = step.spec
    ctx = StepContext(position, step.kind, target)
    rows, report = apply_row_steps(sample, prior, roles=roles, target=target)
    notes: list[Note] = []
    facts: dict[str, Any] = {}
    y_before = y_after = None
    if spec.stage == "row":
        schema = _row_schema(sample, prior, roles, target)
        spec.check(step.params, schema, ctx)
        assert spec.apply is not None
        outcome = _guarded(ctx, spec.apply, rows, step.params, schema, ctx, None)
        before, after = rows, outcome.frame
        facts = {"state": _json_safe(outcome.state), **(_json_safe(outcome.facts) or {})}
        same_rows = True
        if target is not None and target in before.columns:
            y_before = before[target]
            y_after = after[target] if target in after.columns else None
    else:
        feature_roles = dict(report.roles)
        if target is not None and target in rows.columns:
            labelled = rows[rows[target].notna()]
            y: pd.Series | None = labelled[target]
            X = labelled.drop(columns=[target])
        else:
            y, X = None, rows
        if spec.needs_target and (y is None or len(y) == 0):
            raise InputError("prep.needs_target_values")
        if len(X) == 0:
            raise InputError("prep.no_rows")
        transforms, _, _, schema = _feature_parts(prior, feature_roles, target)
        pipeline = Pipeline(transforms) if transforms else None
        before = _guarded(ctx, pipeline.fit_transform, X, y) if pipeline is not None else X
        spec.check(step.params, schema, ctx)
        assert spec.build is not None
        estimator = spec.build(step.params, schema, ctx)
        same_rows = not spec.sampler
        y_before = y
        if spec.sampler:
            finish = FinishFeatures(roles=tuple((c, r) for c, r in schema.roles.items() if c != target))
            before = _guarded(ctx, finish.fit_transform, before, y)
            after, y_after = _guarded(ctx, estimator.fit_resample, before, y)
            facts = {"added": int(getattr(estimator, "n_added_", max(len(after) - len(before), 0)))}
        elif spec.setting:
            after, y_after = before, y
            facts = {"weights": _balanced_weights(y)}
        else:
            after = _guarded(ctx, estimator.fit_transform, before, y)
            y_after = y
            facts = _feature_facts(estimator)
            if not getattr(estimator, "columns_", True):
                notes.append(Note("prep.note.no_columns", {"step": ctx.step}))
    return _compare(
        before,
        after,
        step=step,
        position=position,
        total_rows=len(frame),
        sample_rows=len(sample),
        same_rows=same_rows,
        y_before=y_before,
        y_after=y_after,
        facts=facts,
        notes=notes,
        shown_rows=max(1, min(int(shown_rows), 100)),
        start=start,
    )


def _row_schema(frame: pd.DataFrame, prior: Recipe, roles: Mapping[str, str] | None, target: str | None) -> Schema:
    schema, _ = _data_schema(frame, prior, roles, target)
    for _, spec, step, ctx in _walk(prior.steps, schema):
        if spec.stage == "row":
            schema = spec.check(step.params, schema, ctx)
    return schema


def _balanced_weights(y: pd.Series | None) -> dict[str, float]:
    if y is None or len(y) == 0:
        return {}
    counts = y.value_counts()
    return {str(k): round(len(y) / (len(counts) * int(v)), 6) for k, v in counts.items()}


def _feature_facts(estimator: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {"columns": list(getattr(estimator, "columns_", []))}
    inner = getattr(estimator, "transformer_", None)
    outputs = list(getattr(estimator, "outputs_", []))
    if hasattr(inner, "get_support"):
        used = facts["columns"]
        facts["dropped"] = [c for c in used if c not in set(outputs)]
    for attribute in ("mean_", "scale_", "center_", "data_min_", "data_max_"):
        values = getattr(inner, attribute, None)
        if values is not None and len(values) == len(facts["columns"]):
            facts[attribute.rstrip("_")] = dict(zip(facts["columns"], _json_safe(list(values)), strict=True))
    statistics = getattr(inner, "statistics_", None)
    if statistics is not None and len(statistics) == len(facts["columns"]):
        facts["fill"] = dict(zip(facts["columns"], _json_safe(list(statistics)), strict=True))
    return _json_safe(facts)  # type: ignore[no-any-return]


def _stats(column: pd.Series) -> ColumnStats:
    missing = int(column.isna().sum())
    count = int(len(column) - missing)
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        present = values[~np.isnan(values)]
        if present.size == 0:
            return ColumnStats(count=0, missing=missing)
        return ColumnStats(
            count=count,
            missing=missing,
            mean=finite_or_none(present.mean()),
            std=finite_or_none(present.std()),
            min=finite_or_none(present.min()),
            median=finite_or_none(np.median(present)),
            max=finite_or_none(present.max()),
        )
    try:
        counts = column.dropna().value_counts()
    except TypeError:
        counts = column.dropna().astype(str).value_counts()
    top = counts.index[0] if len(counts) else None
    return ColumnStats(
        count=count,
        missing=missing,
        distinct=int(len(counts)),
        top=None if top is None else str(top)[:80],
        top_count=None if top is None else int(counts.iloc[0]),
    )


def _differs(a: pd.Series, b: pd.Series) -> np.ndarray:
    both_missing = (a.isna() & b.isna()).to_numpy()
    numeric = all(pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype) for s in (a, b))
    if numeric:
        left = a.to_numpy(dtype=np.float64, na_value=np.nan)
        right = b.to_numpy(dtype=np.float64, na_value=np.nan)
        same = left == right
    else:
        try:
            same = (a.astype(object).to_numpy() == b.astype(object).to_numpy()).astype(bool)
        except (TypeError, ValueError):
            same = (a.astype(str).to_numpy() == b.astype(str).to_numpy()).astype(bool)
    return np.asarray(~(same | both_missing), dtype=bool)


def _class_counts(y: pd.Series | np.ndarray | None) -> dict[str, int] | None:
    if y is None:
        return None
    series = pd.Series(np.asarray(y))
    if series.nunique() > _MAX_CLASSES_SHOWN or (
        pd.api.types.is_float_dtype(series.dtype) and not np.all(np.mod(series.dropna(), 1) == 0)
    ):
        return None
    return {str(k): int(v) for k, v in series.value_counts(dropna=False).sort_index().items()}


def _compare(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    step: Step,
    position: int,
    total_rows: int,
    sample_rows: int,
    same_rows: bool,
    y_before: Any,
    y_after: Any,
    facts: Mapping[str, Any],
    notes: list[Note],
    shown_rows: int,
    start: float,
) -> StepPreview:
    added = tuple(str(c) for c in after.columns if c not in set(before.columns))
    removed_columns = tuple(str(c) for c in before.columns if c not in set(after.columns))
    common = [c for c in before.columns if c in set(after.columns)]
    changed_rows = np.zeros(len(before), dtype=bool)
    values_changed: dict[str, int] = {}
    if same_rows:
        kept = before.index.isin(after.index)
        removed_labels = before.index[~kept]
        left = before.loc[kept]
        right = after.loc[left.index]
        for column in common:
            diff = _differs(left[column], right[column])
            if diff.any():
                values_changed[str(column)] = int(diff.sum())
                changed_rows[np.flatnonzero(kept)[diff]] = True
        rows_removed, rows_added = int((~kept).sum()), 0
    else:
        removed_labels = before.index[:0]
        rows_removed = max(len(before) - len(after), 0)
        rows_added = max(len(after) - len(before), 0)
    affected = [c for c in before.columns if str(c) in values_changed or str(c) in removed_columns]
    affected += [c for c in after.columns if str(c) in added]
    shown_columns = (affected or list(after.columns))[:_MAX_SHOWN_COLUMNS]
    changes = tuple(
        ColumnChange(
            column=str(c),
            changed=values_changed.get(str(c), 0),
            before=_stats(before[c]) if c in before.columns else None,
            after=_stats(after[c]) if c in after.columns else None,
        )
        for c in affected
    )
    if same_rows:
        priority = list(removed_labels[: max(1, shown_rows // 2)])
        priority += [label for label in before.index[changed_rows] if label not in set(priority)]
        labels = priority[:shown_rows]
        if len(labels) < shown_rows:
            chosen = set(labels)
            labels += [label for label in before.index[: shown_rows * 2] if label not in chosen][
                : shown_rows - len(labels)
            ]
        order = [label for label in before.index if label in set(labels)]
        sample_before = before.loc[order, [c for c in shown_columns if c in before.columns]]
        sample_after = after.loc[
            [label for label in order if label in after.index], [c for c in shown_columns if c in after.columns]
        ]
        shown_removed = tuple(label for label in order if label in set(removed_labels))
    else:
        sample_before = before.head(shown_rows)[[c for c in shown_columns if c in before.columns]]
        sample_after = after.tail(shown_rows)[[c for c in shown_columns if c in after.columns]]
        shown_removed = ()
    return StepPreview(
        kind=step.kind,
        stage=step.stage,
        position=position,
        label_key=step.spec.label_key,
        help_key=step.spec.help_key,
        total_rows=total_rows,
        sample_rows=sample_rows,
        rows_before=len(before),
        rows_after=len(after),
        rows_removed=rows_removed,
        rows_added=rows_added,
        columns_added=added,
        columns_removed=removed_columns,
        values_changed=values_changed,
        changes=changes,
        sample_before=sample_before.copy(),
        sample_after=sample_after.copy(),
        removed_rows=tuple(_json_safe(label) if isinstance(label, np.generic) else label for label in shown_removed),
        class_counts_before=_class_counts(y_before),
        class_counts_after=_class_counts(y_after),
        facts=dict(facts),
        notes=tuple(notes),
        seconds=time.perf_counter() - start,
    )
