"""Preparation recipe records: saved, versioned recipes of a project, importing and exporting them, the
``recipe_apply`` job that turns a recipe's row steps into a new dataset version with lineage, what the
training page offers, and the tables and forms the preparation page shows.

The steps themselves live in :mod:`mlcore.data.prepare`; this module stores recipes, checks them against
dataset versions, runs them as a job and records who did what. Saved recipes are immutable: saving an
edited recipe under the same name records the next version.
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, func, select

from mlcore.artifacts import ArtifactStore
from mlcore.audit import record_event
from mlcore.auth import require
from mlcore.config import Settings
from mlcore.data.prepare.recipe import (
    MAX_RECIPE_BYTES,
    ApplyReport,
    ColumnStats,
    Recipe,
    Step,
    StepPreview,
    apply_row_steps,
    compose_pipeline,
    make_step,
    step_kinds,
)
from mlcore.data.prepare.steps import Schema, StepContext, StepSpec, choice_key, field_key
from mlcore.data.understanding import version_roles
from mlcore.data.versions import VersionSummary, create_version, get_version, read_version, version_in_project
from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.i18n import translate
from mlcore.jobs import JobContext, active_job, job_kind
from mlcore.naming import check_name
from mlcore.store.engine import session_scope
from mlcore.store.models import Project, User
from mlcore.store.models_preparation import RecipeRecord

__all__ = [
    "APPLY_OPERATION",
    "EXPORT_FORMATS",
    "RecipeChoice",
    "RecipeSummary",
    "StepField",
    "MAX_PAIR_CHOICES",
    "apply_report_frame",
    "apply_target",
    "changes_frame",
    "check_applicable",
    "check_training_recipe",
    "class_counts_frame",
    "derived_versions",
    "draft_recipe",
    "export_filename",
    "export_recipe",
    "form_values",
    "get_recipe",
    "import_recipe",
    "list_recipes",
    "move_step",
    "movable",
    "parse_recipe_file",
    "recipe_apply_job",
    "recipe_choices",
    "recipes_frame",
    "resolve_recipe",
    "sample_frames",
    "save_recipe",
    "step_fields",
    "step_from_form",
    "step_groups",
    "step_settings_text",
    "steps_frame",
    "submit_recipe_apply",
    "training_recipe",
]

APPLY_OPERATION = "recipe_apply"
"""``operation`` of the dataset versions a recipe's row steps make (their ``recipe`` records which one)."""

EXPORT_FORMATS: tuple[str, ...] = ("yaml", "json")
"""Text formats recipes are exported to and imported from."""

MAX_PAIR_CHOICES = 5_000
"""Most column pairs a ``pairs`` field offers (every ordered pair of the columns that fit, up to this)."""

_SUFFIXES = {".json": "json", ".yaml": "yaml", ".yml": "yaml"}
_SAVE_ATTEMPTS = 8
_CLASS_STEPS = ("class_weight", "oversample", "undersample", "smote")
_COLUMN_ERRORS = {"prep.wrong_role", "prep.target_not_allowed", "prep.unknown_column"}


# --------------------------------------------------------------------------- saved recipes


@dataclass(frozen=True)
class RecipeSummary:
    """One saved recipe version as the app shows it.

    Attributes
    ----------
    id, project_id : int
    name : str
    version : int
    recipe : Recipe
        The recipe itself (its ``name`` and ``version`` are the record's).
    fingerprint : str
        SHA-256 of what decides the output (steps, columns, target).
    created_by : str
    created_at : datetime
    """

    id: int
    project_id: int
    name: str
    version: int
    recipe: Recipe
    fingerprint: str
    created_by: str
    created_at: datetime

    @property
    def label(self) -> str:
        """``name@version``, as the CLI and the training page name it."""
        return f"{self.name}@{self.version}"

    @property
    def n_row_steps(self) -> int:
        return len(self.recipe.row_steps)

    @property
    def n_feature_steps(self) -> int:
        return len(self.recipe.feature_steps)


def _record_recipe(row: RecipeRecord) -> Recipe:
    from mlcore.data.prepare.recipe import FORMAT, FORMAT_VERSION

    return Recipe.from_dict(
        {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": row.name,
            "version": row.version,
            "notes": row.notes,
            "target": row.target,
            "columns": dict(row.columns),
            "source": dict(row.source),
            "steps": list(row.steps),
        }
    )


def _summary(row: RecipeRecord, user: User | None) -> RecipeSummary:
    return RecipeSummary(
        id=row.id or 0,
        project_id=row.project_id,
        name=row.name,
        version=row.version,
        recipe=_record_recipe(row),
        fingerprint=row.fingerprint,
        created_by=(user.display_name or user.name) if user is not None else "—",
        created_at=row.created_at,
    )


def _summaries(session: Session, *conditions: Any) -> list[RecipeSummary]:
    stmt = (
        select(RecipeRecord, User)
        .join(User, col(User.id) == col(RecipeRecord.created_by_id), isouter=True)
        .where(*conditions)
        .order_by(col(RecipeRecord.name), col(RecipeRecord.version))
    )
    return [_summary(row, user) for row, user in session.exec(stmt).all()]


def list_recipes(*, session: Session, project_id: int) -> list[RecipeSummary]:
    """Every saved version of every recipe of a project, by name then version."""
    return _summaries(session, RecipeRecord.project_id == project_id)


def get_recipe(*, session: Session, project_id: int, recipe_id: int) -> RecipeSummary:
    """One saved recipe version of the project.

    Raises
    ------
    NotFound
        ``recipes.not_found`` if there is none with that id in this project.
    """
    found = _summaries(session, RecipeRecord.id == recipe_id, RecipeRecord.project_id == project_id)
    if not found:
        raise NotFound("recipes.not_found", ref=str(recipe_id)[:40])
    return found[0]


def resolve_recipe(*, session: Session, project_id: int, ref: str) -> RecipeSummary:
    """A saved recipe from what a person types: ``name@3`` (that version) or ``name`` (its newest version).

    Raises
    ------
    NotFound
        ``recipes.not_found``.
    """
    text = " ".join(str(ref).split())
    name, _, number = text.rpartition("@")
    recipes = list_recipes(session=session, project_id=project_id)
    if name and number.isdigit():
        found = [r for r in recipes if r.name == name and r.version == int(number)]
    else:
        found = [r for r in recipes if r.name == text][-1:]
    if not found:
        raise NotFound("recipes.not_found", ref=text[:100])
    return found[0]


def _project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None or project.archived:
        raise NotFound("errors.project_not_found", name=str(project_id))
    return project


def save_recipe(
    *,
    session: Session,
    actor: User,
    project_id: int,
    recipe: Recipe,
    name: str | None = None,
    notes: str | None = None,
) -> RecipeSummary:
    """Save ``recipe`` as the next version of its name in the project (version 1 for a new name).

    Parameters
    ----------
    session, actor
        ``actor`` needs ``recipe.edit`` in the project.
    project_id : int
    recipe : Recipe
        The steps, columns, target, notes and source to keep; its own ``version`` is ignored.
    name : str, optional
        Save under this name instead of the recipe's.
    notes : str, optional
        Replace the recipe's notes (why the steps are there, what was tried).

    Raises
    ------
    PermissionDenied
        Without ``recipe.edit``.
    InputError
        ``recipes.empty`` (no steps), ``prep.not_a_recipe``, ``prep.notes_too_long`` and the name errors.
    ConflictError
        ``recipes.conflict`` if someone saved the same version at the same moment (save again).
    """
    require(session=session, user=actor, action="recipe.edit", project_id=project_id)
    _project(session, project_id)
    if not isinstance(recipe, Recipe):
        raise InputError("prep.not_a_recipe", type=type(recipe).__name__)
    if name is not None:
        recipe = replace(recipe, name=check_name(name, what="recipe"))
    if notes is not None:
        recipe = replace(recipe, notes=notes)
    if not recipe.steps:
        raise InputError("recipes.empty")
    last = session.exec(
        select(func.max(RecipeRecord.version)).where(
            RecipeRecord.project_id == project_id, RecipeRecord.name == recipe.name
        )
    ).one()
    saved = replace(recipe, version=(last or 0) + 1)
    data = saved.to_dict()
    row = RecipeRecord(
        project_id=project_id,
        name=saved.name,
        version=saved.version,
        steps=data["steps"],
        columns=data["columns"],
        target=saved.target,
        notes=saved.notes,
        source=data["source"],
        fingerprint=saved.fingerprint,
        created_by_id=actor.id or 0,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise ConflictError("recipes.conflict", name=saved.name[:100]) from None
    record_event(
        session=session,
        actor=actor,
        action="recipe.save",
        object_type="recipe",
        object_id=row.id or 0,
        project_id=project_id,
        after={
            "name": saved.name,
            "version": saved.version,
            "steps": len(saved.steps),
            "row_steps": len(saved.row_steps),
            "feature_steps": len(saved.feature_steps),
            "fingerprint": saved.fingerprint,
        },
    )
    return _summary(row, actor)


def parse_recipe_file(data: bytes | str, *, filename: str = "") -> Recipe:
    """Read a recipe from the text of a ``.json``, ``.yaml`` or ``.yml`` file (safe loaders, size-limited).

    Without a file name (pasted text), text starting with ``{`` is read as JSON and anything else as YAML.

    Raises
    ------
    InputError
        ``recipes.bad_file_type``, ``prep.recipe_too_large``, ``prep.bad_json``, ``prep.bad_yaml`` and every
        error of :meth:`Recipe.from_dict` (unknown step kinds, bad parameters…).

    Examples
    --------
    >>> parse_recipe_file(b'{"format": "ciclo.recipe", "format_version": 1, "name": "r"}', filename="r.json").name
    'r'
    >>> parse_recipe_file(b"x", filename="r.exe")
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: Recipe files must end in .json, .yaml or .yml (got 'r.exe').
    """
    name = str(filename or "")
    if not isinstance(data, bytes | str):
        raise InputError("prep.bad_recipe", detail=type(data).__name__)
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > MAX_RECIPE_BYTES:
        raise InputError("prep.recipe_too_large", size=size, maximum=MAX_RECIPE_BYTES)
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    kind = _SUFFIXES.get(suffix)
    if kind is None and not name:
        start = data.lstrip()[:1]
        kind = "json" if start in ("{", b"{") else "yaml"
    if kind is None:
        raise InputError("recipes.bad_file_type", filename=name[-80:])
    return Recipe.from_json(data) if kind == "json" else Recipe.from_yaml(data)


def import_recipe(
    *,
    session: Session,
    actor: User,
    project_id: int,
    data: bytes | str,
    filename: str,
    name: str | None = None,
) -> RecipeSummary:
    """Read a recipe file and save it as the next version of its name (or ``name``).

    Nothing is saved when the file is refused.

    Raises
    ------
    PermissionDenied
        Without ``recipe.edit``.
    InputError
        Those of :func:`parse_recipe_file` and :func:`save_recipe`.
    """
    require(session=session, user=actor, action="recipe.edit", project_id=project_id)
    recipe = parse_recipe_file(data, filename=filename)
    return save_recipe(session=session, actor=actor, project_id=project_id, recipe=recipe, name=name)


def export_recipe(recipe: Recipe | RecipeSummary, *, format: str = "yaml") -> str:
    """The recipe as YAML or JSON text (what :func:`parse_recipe_file` reads back).

    Examples
    --------
    >>> r = Recipe("r", steps=(make_step("scale"),))
    >>> parse_recipe_file(export_recipe(r, format="json"), filename="r.json") == r
    True
    """
    if isinstance(recipe, RecipeSummary):
        recipe = recipe.recipe
    if format not in EXPORT_FORMATS:
        raise InputError("recipes.bad_format", format=str(format)[:20], choices=", ".join(EXPORT_FORMATS))
    return recipe.to_yaml() if format == "yaml" else recipe.to_json()


def export_filename(recipe: Recipe | RecipeSummary, *, format: str = "yaml") -> str:
    """A safe file name: ``<name>-v<version>.<format>`` with only letters, digits, ``-``, ``_`` and ``.``.

    Examples
    --------
    >>> export_filename(Recipe("churn prep (ü)", version=3), format="json")
    'churn_prep_u-v3.json'
    """
    if isinstance(recipe, RecipeSummary):
        recipe = recipe.recipe
    ascii_name = unicodedata.normalize("NFKD", recipe.name).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", ascii_name).strip("._") or "recipe"
    return f"{stem[:80]}-v{recipe.version}.{'yml' if format == 'yml' else format}"


@dataclass(frozen=True)
class RecipeChoice:
    """A saved recipe the training page may offer: its feature steps become each model's preparation."""

    id: int
    label: str
    name: str
    version: int
    n_row_steps: int
    n_feature_steps: int
    target: str | None
    fingerprint: str
    created_at: datetime


def recipe_choices(*, session: Session, project_id: int) -> list[RecipeChoice]:
    """The saved recipes a training run can use (those with feature steps), newest version first per name.

    Examples
    --------
    The training page shows ``choice.label`` (``name@version``) and passes ``choice.id`` as
    ``TrainingSpec.recipe_id``.
    """
    out = [
        RecipeChoice(
            id=r.id,
            label=r.label,
            name=r.name,
            version=r.version,
            n_row_steps=r.n_row_steps,
            n_feature_steps=r.n_feature_steps,
            target=r.recipe.target,
            fingerprint=r.fingerprint,
            created_at=r.created_at,
        )
        for r in list_recipes(session=session, project_id=project_id)
        if r.n_feature_steps
    ]
    return sorted(out, key=lambda c: (c.name, -c.version))


def training_recipe(*, session: Session, project_id: int, recipe_id: int) -> Recipe:
    """The saved recipe a training run uses (checked to belong to the project).

    Raises
    ------
    NotFound
        ``recipes.not_found``.
    """
    return get_recipe(session=session, project_id=project_id, recipe_id=recipe_id).recipe


def check_training_recipe(
    recipe: Recipe,
    *,
    roles: Mapping[str, str],
    target: str,
    task_type: str,
    families: Sequence[str],
) -> None:
    """Check, before a training job starts, that the recipe's feature steps fit the features and every model.

    Parameters
    ----------
    recipe : Recipe
    roles : mapping of str to str
        Role of every feature the run uses (identifiers are left out, as training does).
    target : str
    task_type : {"classification", "regression"}
    families : sequence of str

    Raises
    ------
    InputError
        The column errors of the steps, ``prep.needs_classification`` (rebalancing with a regression model),
        ``prep.class_weight_unsupported``.
    """
    from mlcore.modeling.training import make_estimator

    used = {c: r for c, r in roles.items() if r != "identifier"}
    for family in families:
        model = make_estimator(family, task_type=task_type)
        compose_pipeline(recipe, roles=used, model_pipeline=model, target=recipe.target or target)


# --------------------------------------------------------------------------- recipes and versions


def draft_recipe(version: VersionSummary, *, name: str | None = None) -> Recipe:
    """An empty recipe built on ``version``: its columns, roles and target, and where it came from.

    Examples
    --------
    >>> from datetime import datetime
    >>> v = VersionSummary(4, "churn", 2, 10, 2, "a" * 64, "ana", datetime(2025, 1, 1), None, "import_csv", {}, "y",
    ...                    [{"name": "x", "role": "numeric"}, {"name": "y", "role": "categorical"}], {})
    >>> r = draft_recipe(v)
    >>> r.name, r.target, dict(r.columns), r.source["version"]
    ('churn prep', 'y', {'x': 'numeric', 'y': 'categorical'}, 'churn v2')
    """
    return Recipe(
        name=name or f"{version.dataset[:90]} prep",
        target=version.target,
        columns=version_roles(version),
        source={"version": version.label, "version_id": version.id, "sha256": version.sha256},
    )


def apply_target(recipe: Recipe, version: VersionSummary) -> str | None:
    """The target the recipe uses on ``version``: the version's, else the recipe's if the version has it.

    Raises
    ------
    InputError
        ``recipes.target_differs`` when both have a target and they differ.
    """
    names = {str(c["name"]) for c in version.columns}
    if recipe.target and version.target and recipe.target != version.target:
        raise InputError(
            "recipes.target_differs",
            recipe=recipe.name[:100],
            recipe_target=recipe.target[:80],
            label=version.label,
            version_target=version.target[:80],
        )
    if version.target:
        return version.target
    return recipe.target if recipe.target in names else None


def _apply_roles(recipe: Recipe, version: VersionSummary, target: str | None) -> dict[str, str]:
    roles = version_roles(version)
    if not recipe.columns:
        return roles
    out = {c: recipe.columns[c] for c in roles if c in recipe.columns}
    if target is not None and target in roles and target not in out:
        out[target] = roles[target]
    return out


def check_applicable(recipe: Recipe, version: VersionSummary) -> Schema:
    """Check every step of ``recipe`` against the columns of ``version``; return the columns after the last step.

    Raises
    ------
    InputError
        ``recipes.missing_columns`` (columns the recipe was built with that the version lacks),
        ``recipes.target_differs`` and the first step error (unknown column, wrong role…), naming the step.
    """
    target = apply_target(recipe, version)
    names = [str(c["name"]) for c in version.columns]
    missing = [c for c in recipe.columns if c not in set(names) and c != target]
    if missing:
        shown = ", ".join(m[:60] for m in missing[:8]) + (f" (+{len(missing) - 8})" if len(missing) > 8 else "")
        raise InputError("recipes.missing_columns", label=version.label, columns=shown, recipe=recipe.name[:100])
    return recipe.validate(roles=_apply_roles(recipe, version, target), target=target)


def move_step(recipe: Recipe, index: int, offset: int) -> Recipe:
    """A copy with the step at ``index`` moved ``offset`` places (row steps stay before feature steps).

    Raises
    ------
    InputError
        ``prep.bad_position``, ``prep.row_step_late``, ``prep.feature_step_late``.

    Examples
    --------
    >>> r = Recipe("r", steps=(make_step("drop_duplicates"), make_step("outliers"), make_step("scale")))
    >>> [s.kind for s in move_step(r, 1, -1).steps]
    ['outliers', 'drop_duplicates', 'scale']
    """
    steps = list(recipe.steps)
    target = index + offset
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(steps):
        raise InputError("prep.bad_position", position=str(index)[:20], steps=len(steps))
    if not 0 <= target < len(steps):
        raise InputError("prep.bad_position", position=str(target)[:20], steps=len(steps))
    steps.insert(target, steps.pop(index))
    return replace(recipe, steps=tuple(steps))


def movable(recipe: Recipe) -> list[tuple[bool, bool]]:
    """For each step, whether it can move up and down (row steps stay before feature steps, samplers last).

    Examples
    --------
    >>> movable(Recipe("r", steps=(make_step("drop_duplicates"), make_step("outliers"), make_step("scale"))))
    [(False, True), (True, False), (False, False)]
    """
    out = []
    for index in range(len(recipe.steps)):
        moves = []
        for offset in (-1, 1):
            try:
                move_step(recipe, index, offset)
                moves.append(True)
            except InputError:
                moves.append(False)
        out.append((moves[0], moves[1]))
    return out


def derived_versions(
    versions: Iterable[VersionSummary], *, recipe_id: int | None = None, fingerprint: str | None = None
) -> list[VersionSummary]:
    """Versions a recipe's row steps made (by saved recipe id and/or fingerprint), newest first."""
    made = [
        v
        for v in versions
        if v.operation == APPLY_OPERATION
        and (recipe_id is None or v.recipe.get("recipe_id") == recipe_id)
        and (fingerprint is None or v.recipe.get("fingerprint") == fingerprint)
    ]
    return sorted(made, key=lambda v: (v.created_at, v.id), reverse=True)


# --------------------------------------------------------------------------- the apply job


_version_in_project = version_in_project


def _reused_states(
    session: Session, *, project_id: int, version_id: int, recipe: Recipe
) -> list[Mapping[str, Any] | None]:
    made = _version_in_project(session, project_id=project_id, version_id=version_id)
    if made.operation != APPLY_OPERATION or made.recipe.get("fingerprint") != recipe.fingerprint:
        raise InputError("recipes.states_mismatch", label=made.label, recipe=recipe.name[:100])
    steps = (made.recipe.get("report") or {}).get("steps") or []
    if len(steps) != len(recipe.row_steps):
        raise InputError("recipes.states_mismatch", label=made.label, recipe=recipe.name[:100])
    return [s.get("state") if isinstance(s, Mapping) else None for s in steps]



def submit_recipe_apply(
    *,
    engine: Engine,
    settings: Settings,
    project_id: int,
    version_id: int,
    actor_id: int,
    recipe_id: int | None = None,
    recipe: Recipe | None = None,
    reuse_states_from: int | None = None,
    launch: bool = True,
) -> int:
    """Queue (and start) the ``recipe_apply`` job: run a recipe's row steps on a version; return the job id.

    The job reads the version (hash re-checked), runs the row steps on every row
    (:func:`~mlcore.data.prepare.recipe.apply_row_steps`), and records the result as the next version of
    the same dataset, whose parent is ``version_id`` and whose ``recipe`` holds the recipe (id, name,
    version, fingerprint and full text) and what each step did and learnt. The feature steps are not run:
    they are fitted inside training folds when a model is trained with the recipe.

    Parameters
    ----------
    engine, settings
    project_id, version_id : int
    actor_id : int
        Needs ``recipe.apply`` in the project.
    recipe_id : int, optional
        A saved recipe of the project.
    recipe : Recipe, optional
        A recipe that is not saved (a file given to the CLI); give exactly one of the two.
    reuse_states_from : int, optional
        A version this same recipe made earlier: its learnt values (fill values, clip bounds, kept
        categories, bin edges) are applied again instead of being learnt from this version (next
        month's data cleaned exactly like this month's).
    launch : bool, default True
        Start the job's process (tests and the CLI run it in-process with :func:`mlcore.jobs.run_job`).

    Returns
    -------
    int
        The job id (of the job already applying exactly this, if one is running).

    Raises
    ------
    PermissionDenied
        Without ``recipe.apply`` in the project.
    NotFound
        ``errors.version_not_found``, ``recipes.not_found``.
    InputError
        ``recipes.no_recipe``, ``recipes.no_row_steps``, ``recipes.states_mismatch`` and those of
        :func:`check_applicable`.
    """
    from mlcore.jobs import launch_job, submit_job

    with session_scope(engine) as session:
        require(session=session, user=session.get(User, actor_id), action="recipe.apply", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=version_id)
        if (recipe_id is None) == (recipe is None):
            raise InputError("recipes.no_recipe")
        if recipe_id is not None:
            recipe = get_recipe(session=session, project_id=project_id, recipe_id=recipe_id).recipe
        if not isinstance(recipe, Recipe):
            raise InputError("prep.not_a_recipe", type=type(recipe).__name__)
        if not recipe.row_steps:
            raise InputError("recipes.no_row_steps", recipe=recipe.name[:100])
        check_applicable(recipe, version)
        if reuse_states_from is not None:
            _reused_states(session, project_id=project_id, version_id=reuse_states_from, recipe=recipe)
        match = {
            "version_id": version_id,
            "recipe_id": recipe_id,
            "fingerprint": recipe.fingerprint,
            "reuse_states_from": reuse_states_from,
        }
        running = active_job(session, kind="recipe_apply", project_id=project_id, match=match)
        if running is not None:
            return running
        job = submit_job(
            session=session,
            kind="recipe_apply",
            params={"project_id": project_id, "actor_id": actor_id, "recipe": recipe.to_dict(), **match},
            actor_id=actor_id,
            project_id=project_id,
        )
        job_id = job.id or 0
    if launch:
        launch_job(job_id, settings)
    return job_id


def _arrow(frame: pd.DataFrame) -> pa.Table:
    """The prepared rows as Arrow; a column of mixed Python objects is stored as text rather than failing."""
    frame = frame.reset_index(drop=True)
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        fixed = frame.copy()
        for column in fixed.columns:
            try:
                pa.array(fixed[column], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                fixed[column] = fixed[column].map(lambda v: None if _missing(v) else str(v))
        return pa.Table.from_pandas(fixed, preserve_index=False)


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


@job_kind("recipe_apply")
def recipe_apply_job(ctx: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Job: apply a recipe's row steps to a version and record the result as a new version with lineage."""
    project_id, actor_id = int(params["project_id"]), int(params["actor_id"])
    recipe_id = params.get("recipe_id")
    reuse = params.get("reuse_states_from")
    store = ArtifactStore(ctx.settings.artifacts_dir)
    with session_scope(ctx.engine) as session:
        require(session=session, user=session.get(User, actor_id), action="recipe.apply", project_id=project_id)
        version = _version_in_project(session, project_id=project_id, version_id=int(params["version_id"]))
        if recipe_id is not None:
            recipe = get_recipe(session=session, project_id=project_id, recipe_id=int(recipe_id)).recipe
        else:
            recipe = Recipe.from_dict(params["recipe"])
        states = _reused_states(session, project_id=project_id, version_id=int(reuse), recipe=recipe) if reuse else None
    target = apply_target(recipe, version)
    check_applicable(recipe, version)
    ctx.progress(0.02, "recipes.progress.reading", label=version.label)
    frame = read_version(store=store, version=version).to_pandas()

    def report(fraction: float, key: str, /, **values: Any) -> None:
        ctx.progress(0.1 + 0.75 * fraction, key, **values)

    result, applied = apply_row_steps(
        frame, recipe, roles=_apply_roles(recipe, version, target), target=target, states=states, progress=report
    )
    ctx.progress(0.88, "recipes.progress.saving", rows=len(result))
    table = _arrow(result)
    ref = store.put_table(table)
    lineage = {
        "recipe_id": recipe_id,
        "name": recipe.name,
        "version": recipe.version,
        "fingerprint": recipe.fingerprint,
        "recipe": recipe.to_dict(),
        "report": applied.to_dict(),
        "reused_states_from": reuse,
        "rows_before": applied.rows_before,
        "rows_after": applied.rows_after,
    }
    ctx.progress(0.95, "recipes.progress.saving", rows=len(result))
    version_id = _save_version(
        engine=ctx.engine,
        parent=version,
        project_id=project_id,
        actor_id=actor_id,
        table=table,
        ref=ref,
        applied=applied,
        target=target if target in table.column_names else None,
        lineage=lineage,
    )
    with session_scope(ctx.engine) as session:
        made = get_version(session=session, version_id=version_id)
    return {
        "label": made.label,
        "n_rows": made.n_rows,
        "version_id": made.id,
        "parent": version.label,
        "recipe": f"{recipe.name}@{recipe.version}",
        "rows_removed": applied.rows_before - applied.rows_after,
    }


def _save_version(
    *,
    engine: Engine,
    parent: VersionSummary,
    project_id: int,
    actor_id: int,
    table: pa.Table,
    ref: Any,
    applied: ApplyReport,
    target: str | None,
    lineage: dict[str, Any],
) -> int:
    """Record the prepared table as the next version of the parent's dataset (retried when a number race is lost)."""
    last_error: Exception | None = None
    for attempt in range(_SAVE_ATTEMPTS):
        try:
            with session_scope(engine) as session:
                actor = require(
                    session=session, user=session.get(User, actor_id), action="recipe.apply", project_id=project_id
                )
                version = create_version(
                    session=session,
                    project_id=project_id,
                    dataset_name=parent.dataset,
                    ref=ref,
                    table_schema=table.schema,
                    n_rows=table.num_rows,
                    roles=dict(applied.roles),
                    target=target,
                    operation=APPLY_OPERATION,
                    actor=actor,
                    recipe=lineage,
                    source={"format": "derived", "encoding": None, "delimiter": None},
                    parent_id=parent.id,
                    action="recipe.apply",
                )
                record_event(
                    session=session,
                    actor=actor,
                    action="recipe.apply",
                    object_type="dataset_version",
                    object_id=version.id or 0,
                    project_id=project_id,
                    after={
                        "recipe": f"{lineage['name']}@{lineage['version']}",
                        "recipe_id": lineage["recipe_id"],
                        "fingerprint": lineage["fingerprint"],
                        "parent": parent.label,
                        "rows_before": applied.rows_before,
                        "rows_after": applied.rows_after,
                        "sha256": ref.sha256,
                    },
                )
                return version.id or 0
        except (IntegrityError, OperationalError) as exc:  # lost a race for the version number
            last_error = exc
            time.sleep(0.05 * (attempt + 1))
    raise ConflictError("errors.import_conflict", detail=type(last_error).__name__)


# --------------------------------------------------------------------------- the step form


@dataclass(frozen=True)
class StepField:
    """One setting of a step as the page's form shows it (read from the step's pydantic schema).

    Attributes
    ----------
    name : str
    label_key : str
        Catalog key of its label (:func:`~mlcore.data.prepare.steps.field_key`).
    widget : str
        ``columns`` (pick columns), ``pairs`` (pairs of columns), ``choice`` (one of ``choices``),
        ``choices`` (several of ``choices``), ``choice_or_number`` (one of ``choices`` or a number),
        ``number_or_text``, ``int``, ``float``, ``bool``, ``text`` or ``fixed`` (nothing to choose).
    default : object
        The value the form starts from (lists for columns and choices).
    required : bool
        The step cannot be made without it.
    nullable : bool
        Empty means "none" or "all that fit" (columns).
    choices : tuple
        The allowed values of ``choice``, ``choices`` and ``choice_or_number``.
    minimum, maximum : float or None
        Bounds of numbers (``exclusive_minimum``: the minimum itself is not allowed).
    min_items, max_items : int or None
        How many columns, pairs or choices.
    columns : tuple of str
        For ``columns`` and ``pairs``: the columns of a role this step accepts at its place in the recipe
        (for ``pairs``, ``choices`` holds every ordered pair of them).
    """

    name: str
    label_key: str
    widget: str
    default: Any
    required: bool
    nullable: bool
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    min_items: int | None = None
    max_items: int | None = None
    columns: tuple[str, ...] = ()


def step_groups(stage: str) -> list[tuple[str, list[StepSpec]]]:
    """The step kinds of ``"row"`` or ``"feature"`` grouped by purpose, in the order the page lists them.

    Examples
    --------
    >>> [(group, [s.kind for s in specs]) for group, specs in step_groups("row")][:2]
    [('imputation', ['impute_rows']), ('columns', ['drop_columns'])]
    """
    groups: dict[str, list[StepSpec]] = {}
    for spec in step_kinds(stage):
        groups.setdefault(spec.group, []).append(spec)
    return list(groups.items())


def _spec(kind: str) -> StepSpec:
    specs = {s.kind: s for s in step_kinds()}
    if kind not in specs:
        raise InputError("prep.unknown_kind", kind=str(kind)[:60], choices=", ".join(specs))
    return specs[kind]


def _field(name: str, prop: Mapping[str, Any], required: bool) -> StepField:
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    nullable = len(options) < len(prop.get("anyOf", [prop]))
    default = prop.get("default")
    common: dict[str, Any] = {"name": name, "label_key": field_key(name), "required": required, "nullable": nullable}
    texts = [o for o in options if o.get("type") == "string" and ("enum" in o or "const" in o)]
    numbers = [o for o in options if o.get("type") in ("number", "integer")]
    if len(options) > 1:
        if texts and numbers:
            choices = tuple(texts[0].get("enum") or [texts[0]["const"]])
            return StepField(
                widget="choice_or_number", default=default, choices=choices, **_bounds(numbers[0]), **common
            )
        return StepField(widget="number_or_text", default=default, **common)
    option = options[0]
    kind = option.get("type")
    if kind == "array":
        items = option.get("items", {})
        sizes: dict[str, Any] = {"min_items": option.get("minItems"), "max_items": option.get("maxItems")}
        listed = list(default) if isinstance(default, list | tuple) else []
        if "prefixItems" in items:
            return StepField(widget="pairs", default=listed, **sizes, **common)
        if "enum" in items:
            return StepField(widget="choices", default=listed, choices=tuple(items["enum"]), **sizes, **common)
        return StepField(widget="columns", default=listed, **sizes, **common)
    if "const" in option:
        return StepField(widget="fixed", default=option["const"], choices=(option["const"],), **common)
    if "enum" in option:
        return StepField(widget="choice", default=default, choices=tuple(option["enum"]), **common)
    if kind in ("integer", "number"):
        return StepField(widget="int" if kind == "integer" else "float", default=default, **_bounds(option), **common)
    if kind == "boolean":
        return StepField(widget="bool", default=bool(default), **common)
    return StepField(widget="text", default=default, **common)


def _bounds(option: Mapping[str, Any]) -> dict[str, Any]:
    exclusive = "exclusiveMinimum" in option
    return {
        "minimum": option.get("exclusiveMinimum", option.get("minimum")),
        "maximum": option.get("maximum"),
        "exclusive_minimum": exclusive,
    }


def _schema_at(recipe: Recipe, spec: StepSpec, roles: Mapping[str, str], target: str | None) -> Schema:
    """The columns a new step of ``spec`` meets where :meth:`Recipe.with_step` would put it."""
    section = 0 if spec.stage == "row" else (2 if spec.sampler or spec.setting else 1)

    def section_of(step: Step) -> int:
        return 0 if step.stage == "row" else (2 if step.spec.sampler or step.spec.setting else 1)

    position = sum(1 for s in recipe.steps if section_of(s) <= section)
    try:
        return recipe.head(position).validate(roles=roles, target=target)
    except InputError:  # the draft does not fit this version: offer the version's own columns
        return Schema(dict(roles), target)


def _probe(spec: StepSpec, values: Mapping[str, Any], name: str, value: Any, schema: Schema) -> bool:
    """Whether the step accepts ``value`` for ``name`` as far as columns and roles go."""
    defaults = {k: f.default for k, f in spec.params.model_fields.items() if not f.is_required()}
    try:
        params = spec.params.model_construct(**{**defaults, **dict(values), name: value})
        spec.check(params, schema, StepContext(1, spec.kind, schema.target))
    except InputError as exc:
        return exc.key not in _COLUMN_ERRORS
    except (TypeError, ValueError, AttributeError):
        return True
    return True


def step_fields(
    kind: str,
    *,
    recipe: Recipe,
    roles: Mapping[str, str],
    target: str | None = None,
    values: Mapping[str, Any] | None = None,
) -> tuple[StepField, ...]:
    """The form of a step of ``kind`` added to ``recipe``: one :class:`StepField` per setting.

    Column pickers list only the columns this step accepts where it would go in the recipe (after the
    earlier steps: dropped columns gone, new ones there), found by asking the step itself.

    Parameters
    ----------
    kind : str
    recipe : Recipe
        The steps so far.
    roles : mapping of str to str
        Column -> role of the dataset version the recipe is built on.
    target : str, optional
        Default ``recipe.target``.
    values : mapping, optional
        The settings chosen so far (which columns fit may depend on them, e.g. an imputation strategy).

    Examples
    --------
    >>> r = Recipe("r", target="y")
    >>> fields = step_fields("scale", recipe=r, roles={"a": "numeric", "c": "categorical", "y": "numeric"})
    >>> [(f.name, f.widget) for f in fields], fields[0].columns
    ([('columns', 'columns'), ('method', 'choice'), ('n_quantiles', 'int'), ('output_distribution', 'choice')], ('a',))
    """
    spec = _spec(kind)
    target = recipe.target if target is None else target
    schema_json = spec.params.model_json_schema()
    required = set(schema_json.get("required", []))
    schema = _schema_at(recipe, spec, roles, target)
    current = _normalised(spec, dict(values or {}), lenient=True)
    out = []
    for name, prop in schema_json.get("properties", {}).items():
        field = _field(name, prop, name in required)
        if field.widget == "columns":
            fits = tuple(c for c in schema.roles if _probe(spec, current, name, (c,), schema))
            field = replace(field, columns=fits)
        elif field.widget == "pairs":
            fits = tuple(c for c in schema.roles if _probe(spec, current, name, ((c, c),), schema))
            pairs = tuple((a, b) for a in fits for b in fits if a != b)[:MAX_PAIR_CHOICES]
            field = replace(field, columns=fits, choices=pairs)
        out.append(field)
    return tuple(out)


def _normalised(spec: StepSpec, values: Mapping[str, Any], *, lenient: bool = False) -> dict[str, Any]:
    """Form values as the step's parameters expect them (empty -> None, lists -> tuples, text numbers read)."""
    schema_json = spec.params.model_json_schema()
    required = set(schema_json.get("required", []))
    fields = {n: _field(n, p, n in required) for n, p in schema_json.get("properties", {}).items()}
    out: dict[str, Any] = {}
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            if not lenient:
                out[name] = value
            continue
        if field.widget in ("columns", "choices"):
            if value is None or (isinstance(value, list | tuple) and len(value) == 0):
                value = None if field.nullable else ()
            elif isinstance(value, list | tuple):
                value = tuple(value)
        elif field.widget == "pairs":
            value = _pairs(value)
        elif field.widget in ("text", "number_or_text"):
            if isinstance(value, str) and not value.strip() and field.nullable:
                value = None
            elif field.widget == "number_or_text" and isinstance(value, str):
                value = _number_or_text(value)
        elif field.widget == "int" and isinstance(value, float) and value.is_integer():
            value = int(value)
        elif field.widget == "choice_or_number" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if lenient and value is None and not field.nullable:
            continue
        out[name] = value
    return out


def _pairs(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        value = value.to_numpy().tolist()
    if not isinstance(value, list | tuple):
        return value
    rows = []
    for row in value:
        if isinstance(row, Mapping):
            row = list(row.values())
        if not isinstance(row, list | tuple):
            return value
        cells = [None if _missing(c) or (isinstance(c, str) and not c.strip()) else c for c in row]
        if all(c is None for c in cells):
            continue
        rows.append(tuple(cells))
    return tuple(rows)


def _number_or_text(text: str) -> float | str:
    """A fill value typed in a box: a number when it reads as one (``3``, ``-0.5``, ``1e3``), else the text."""
    stripped = text.strip()
    try:
        number = float(stripped)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


def step_from_form(kind: str, values: Mapping[str, Any], *, note: str = "") -> Step:
    """A validated step from what the page's form holds (see :func:`step_fields`).

    Empty column lists mean "all that fit" where the step allows it, empty optional boxes mean "none",
    a fill value that reads as a number is a number.

    Raises
    ------
    InputError
        ``prep.unknown_kind`` and the parameter errors (wrong type, out of range, unknown setting…).

    Examples
    --------
    >>> step_from_form("scale", {"columns": [], "method": "robust"}).params.columns is None
    True
    >>> step_from_form("scale", {"method": 3})
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: Step scale: 3 is not a valid choice for 'method' ...
    """
    spec = _spec(kind)
    if not isinstance(values, Mapping):
        raise InputError("prep.params_not_mapping", step=kind, type=type(values).__name__)
    return make_step(kind, _normalised(spec, values), note=note)


def form_values(step: Step) -> dict[str, Any]:
    """The step's settings as the form holds them (lists rather than tuples, [] for "all columns").

    Examples
    --------
    >>> form_values(make_step("scale", columns=("a",)))["columns"]
    ['a']
    """
    out: dict[str, Any] = {}
    for name, value in step.params.model_dump().items():
        if isinstance(value, tuple):
            value = [list(v) if isinstance(v, tuple) else v for v in value]
        out[name] = value
    fields = {f.name: f for f in (_field(n, p, False) for n, p in _properties(step.spec).items())}
    for name, field in fields.items():
        if field.widget in ("columns", "choices", "pairs") and out.get(name) is None:
            out[name] = []
    return out


def _properties(spec: StepSpec) -> dict[str, Any]:
    return dict(spec.params.model_json_schema().get("properties", {}))


# --------------------------------------------------------------------------- tables the page shows


def _value_text(value: Any, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return translate("recipes.yes" if value else "recipes.no", lang)
    if isinstance(value, list | tuple):
        return ", ".join(
            _value_text(v, lang) if not isinstance(v, list | tuple) else " / ".join(map(str, v)) for v in value
        )
    if isinstance(value, str):
        label = translate(choice_key(value), lang)
        return value if label == choice_key(value) else label
    return f"{value:g}" if isinstance(value, float) else str(value)


def step_settings_text(step: Step, *, lang: str = "en") -> str:
    """The settings that differ from the defaults, in words (``Method: Robust (median and IQR)``).

    Examples
    --------
    >>> step_settings_text(make_step("scale", method="robust", columns=("a", "b")))
    'Columns (empty: all that fit): a, b · Method: Robust (median and IQR)'
    >>> step_settings_text(make_step("scale"))
    'Default settings'
    """
    defaults = {k: f.default for k, f in step.params.__class__.model_fields.items() if not f.is_required()}
    parts = []
    for name, value in step.params.model_dump().items():
        if name in defaults and defaults[name] == value:
            continue
        parts.append(f"{translate(field_key(name), lang)}: {_value_text(value, lang)}")
    return " · ".join(parts) or translate("recipes.defaults", lang)


def steps_frame(recipe: Recipe, *, lang: str = "en") -> pd.DataFrame:
    """The recipe's steps for display: position, stage, purpose, step, settings and note.

    Examples
    --------
    >>> steps_frame(Recipe("r", steps=(make_step("drop_duplicates"), make_step("scale"))))["stage"].tolist()
    ['Row step', 'Feature step']
    """
    rows = [
        {
            "position": i,
            "stage": translate(f"prep.stage.{s.stage}.label", lang),
            "group": translate(f"prep.group.{s.spec.group}", lang),
            "step": translate(s.spec.label_key, lang),
            "settings": step_settings_text(s, lang=lang),
            "note": s.note,
        }
        for i, s in enumerate(recipe.steps, 1)
    ]
    return pd.DataFrame(rows, columns=["position", "stage", "group", "step", "settings", "note"])


def recipes_frame(recipes: Sequence[RecipeSummary]) -> pd.DataFrame:
    """Saved recipes for display, newest first: label, name, version, step counts, target, fingerprint, who, when."""
    columns = [
        "id",
        "recipe",
        "name",
        "version",
        "steps",
        "row_steps",
        "feature_steps",
        "target",
        "fingerprint",
        "created_by",
        "created_at",
    ]
    rows = [
        {
            "id": r.id,
            "recipe": r.label,
            "name": r.name,
            "version": r.version,
            "steps": len(r.recipe.steps),
            "row_steps": r.n_row_steps,
            "feature_steps": r.n_feature_steps,
            "target": r.recipe.target or "",
            "fingerprint": r.fingerprint[:12],
            "created_by": r.created_by,
            "created_at": r.created_at,
        }
        for r in sorted(recipes, key=lambda r: (r.created_at, r.id), reverse=True)
    ]
    return pd.DataFrame(rows, columns=columns)


_NUMERIC_STATS = ("count", "missing", "mean", "std", "min", "median", "max")
_OTHER_STATS = ("count", "missing", "distinct", "top", "top_count")


def apply_report_frame(version: VersionSummary, *, lang: str = "en") -> pd.DataFrame:
    """What each row step did when a recipe made ``version``: rows before and after, values changed per
    column, columns added and removed (empty for versions a recipe did not make)."""
    columns = ["position", "step", "rows_before", "rows_after", "rows_removed", "changed", "added", "removed"]
    report = version.recipe.get("report") if version.operation == APPLY_OPERATION else None
    rows = []
    for entry in (report or {}).get("steps") or []:
        if not isinstance(entry, Mapping):
            continue
        kind = str(entry.get("kind", ""))
        changed = entry.get("changed") or {}
        rows.append(
            {
                "position": entry.get("position"),
                "step": translate(f"prep.step.{kind}.label", lang),
                "rows_before": entry.get("rows_before"),
                "rows_after": entry.get("rows_after"),
                "rows_removed": int(entry.get("rows_before") or 0) - int(entry.get("rows_after") or 0),
                "changed": ", ".join(f"{c}: {n}" for c, n in changed.items()) if isinstance(changed, Mapping) else "",
                "added": ", ".join(map(str, entry.get("columns_added") or [])),
                "removed": ", ".join(map(str, entry.get("columns_removed") or [])),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _stat_text(value: Any) -> str:
    """A statistic as people read it: ``817,500``, ``12.35``, ``0.0012``.

    Examples
    --------
    >>> [_stat_text(v) for v in (817500.4, 12.3456, 0.00123, 7, None)]
    ['817,500', '12.35', '0.00123', '7', '—']
    """
    if value is None:
        return "—"
    if isinstance(value, float):
        if abs(value) >= 10_000:
            return f"{value:,.0f}"
        return f"{value:.4g}" if abs(value) >= 1 or value == 0 else f"{value:.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def changes_frame(preview: StepPreview, *, lang: str = "en") -> pd.DataFrame:
    """Before/after statistics of every column the previewed step touched, one row per column and statistic.

    Columns: ``column``, ``statistic`` (in words), ``before``, ``after`` (as text, ``—`` when absent) and
    ``changed`` (values changed in that column, on the first row of each column).
    """
    rows = []
    for change in preview.changes:
        sides = [s for s in (change.before, change.after) if s is not None]
        numeric = any(s.mean is not None or s.min is not None for s in sides) or all(s.distinct is None for s in sides)
        stats = _NUMERIC_STATS if numeric else _OTHER_STATS
        for k, stat in enumerate(stats):
            before = _stat_value(change.before, stat)
            after = _stat_value(change.after, stat)
            rows.append(
                {
                    "column": change.column,
                    "statistic": translate(f"recipes.stat.{stat}", lang),
                    "before": _stat_text(before),
                    "after": _stat_text(after),
                    "changed": change.changed if k == 0 else None,
                }
            )
    frame = pd.DataFrame(rows, columns=["column", "statistic", "before", "after", "changed"])
    frame["changed"] = frame["changed"].astype("Int64")
    return frame


def _stat_value(stats: ColumnStats | None, name: str) -> Any:
    return None if stats is None else getattr(stats, name)


def class_counts_frame(preview: StepPreview, *, only_changed: bool = True) -> pd.DataFrame | None:
    """Rows per class of the target before and after the step (None when the target has no classes, or,
    with ``only_changed``, when the step did not change them)."""
    before, after = preview.class_counts_before, preview.class_counts_after
    if before is None and after is None:
        return None
    if only_changed and before == after:
        return None
    classes = list(dict.fromkeys([*(before or {}), *(after or {})]))
    return pd.DataFrame(
        {
            "class": classes,
            "before": [(before or {}).get(c, 0) for c in classes],
            "after": [(after or {}).get(c, 0) for c in classes],
        }
    )


def sample_frames(preview: StepPreview, *, lang: str = "en") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The sample rows before and after, each with its ``row`` label; ``status`` says which rows the step
    removed or changed (before) and which rows it added (after, when rows are added).
    """
    before = preview.sample_before.copy()
    after = preview.sample_after.copy()
    removed = set(preview.removed_rows)
    changed_cols = [c for c in before.columns if c in preview.values_changed]
    status = []
    for label in before.index:
        if label in removed:
            status.append(translate("recipes.row.removed", lang))
        elif label in after.index and any(
            _cell_differs(before.at[label, c], after.at[label, c]) for c in changed_cols if c in after.columns
        ):
            status.append(translate("recipes.row.changed", lang))
        else:
            status.append("")
    before.insert(0, "status", status)
    before.insert(0, "row", [str(i) for i in before.index])
    after.insert(0, "row", [str(i) for i in after.index])
    return before.reset_index(drop=True), after.reset_index(drop=True)


def _cell_differs(a: Any, b: Any) -> bool:
    if _missing(a) and _missing(b):
        return False
    try:
        return bool(a != b)
    except (TypeError, ValueError):
        return str(a) != str(b)
