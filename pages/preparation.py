"""Stage 4 · Preparation: build a cleaning and processing recipe step by step with live previews, save and
version it, export and import it, and apply its row steps to a dataset version as a job."""

from typing import Any

import streamlit as st

from mlcore.data.prepare.recipe import Recipe, Step, StepPreview, make_step, preview_step
from mlcore.data.prepare.steps import StepSpec, choice_key
from mlcore.data.recipes import (
    EXPORT_FORMATS,
    RecipeSummary,
    StepField,
    apply_report_frame,
    changes_frame,
    check_applicable,
    class_counts_frame,
    derived_versions,
    draft_recipe,
    export_filename,
    export_recipe,
    form_values,
    import_recipe,
    list_recipes,
    movable,
    move_step,
    recipes_frame,
    sample_frames,
    save_recipe,
    step_fields,
    step_from_form,
    step_groups,
    step_settings_text,
    steps_frame,
    submit_recipe_apply,
)
from mlcore.data.understanding import version_roles
from mlcore.data.versions import VersionSummary, list_versions
from mlcore.errors import InputError, MLCoreError
from mlcore.markdown import md_escape
from mlcore.store.engine import session_scope
from ui.cache import version_frame
from ui.i18n import lang, t
from ui.state import allowed, current_project, current_user, workspace
from ui.widgets import flash, gate_banner, jobs_panel, page_header, role_notice, show_error, show_flash, user_errors

KINDS = ("recipe_apply",)
# Non-widget keys survive page changes (widget keys do not).
VERSION_KEY = "prep_version"
DRAFT_KEY = "prep_draft"  # the recipe being built (a Recipe)
EDIT_KEY = "prep_edit"  # index of the draft step loaded into the form, or None
ERROR_KEY = "prep_error"  # an error raised in a button callback, shown once after the rerun
SAVED_KEY = "prep_saved"  # the saved recipe looked at
TAB_KEY = "prep_tab"
STAGE_BADGES = {"row": ("orange", ":material/table_rows:"), "feature": ("blue", ":material/account_tree:")}

page_header("recipes.title", "recipes.intro")
show_flash()
project = current_project()
if project is None:
    st.info(t("recipes.no_project"))
    st.stop()
gate_banner(project.id)
user = current_user()
project_id = project.id
ws = workspace()
with session_scope(ws.engine) as s:
    versions = list_versions(session=s, project_id=project_id)
    saved = list_recipes(session=s, project_id=project_id)
if not versions:
    st.info(t("recipes.no_versions"))
    st.page_link("pages/data_import.py", label=t("recipes.go_import"), icon=":material/upload_file:")
    st.stop()

by_id = {v.id: v for v in versions}
if st.session_state.get(VERSION_KEY) not in by_id:
    st.session_state[VERSION_KEY] = max(versions, key=lambda v: v.created_at).id


def _remember_version() -> None:
    st.session_state[VERSION_KEY] = st.session_state["prep_version_pick"]


version_ids = list(by_id)
chosen = st.selectbox(
    t("recipes.version_pick"),
    version_ids,
    index=version_ids.index(st.session_state[VERSION_KEY]),
    format_func=lambda i: by_id[i].label,
    key="prep_version_pick",
    on_change=_remember_version,
    help=t("recipes.version_pick_help"),
)
version: VersionSummary = by_id[chosen]
roles = version_roles(version)
st.caption(
    t("recipes.version_caption", rows=version.n_rows, cols=version.n_cols, target=version.target or "—")
    + f" · SHA-256 {version.sha256[:12]}"
)
can_edit = allowed("recipe.edit", project_id)
can_apply = allowed("recipe.apply", project_id)
jobs_panel(project_id, KINDS)  # outside the tabs, so its progress keeps refreshing whichever tab is open


def _replace_draft(recipe: Recipe) -> None:
    """A different recipe in the builder: its name and notes boxes start from it."""
    st.session_state[DRAFT_KEY] = recipe
    st.session_state[EDIT_KEY] = None
    for key in ("prep_name", "prep_notes", ERROR_KEY):
        st.session_state.pop(key, None)


current_draft = st.session_state.get(DRAFT_KEY)
if not isinstance(current_draft, Recipe) or (
    not current_draft.steps and current_draft.source.get("version_id") != version.id
):  # an empty draft follows the chosen version; one with steps is kept until the user starts anew
    _replace_draft(draft_recipe(version))
draft: Recipe = st.session_state[DRAFT_KEY]
saved_by_id = {r.id: r for r in saved}


@st.cache_data(max_entries=32, show_spinner=False)
def _preview(
    sha256: str, recipe_json: str, kind: str, params_json: str, roles_items: tuple[tuple[str, str], ...]
) -> StepPreview:
    """The live preview, keyed by the version's content hash and the recipe's and step's text."""
    import json

    recipe = Recipe.from_json(recipe_json)
    step = make_step(kind, json.loads(params_json))
    return preview_step(version_frame(sha256), recipe, step, roles=dict(roles_items))


def _preview_of(recipe: Recipe, step: Step) -> StepPreview:
    import json

    return _preview(
        version.sha256,
        recipe.to_json(),
        step.kind,
        json.dumps(step.params.model_dump(mode="json")),
        tuple(sorted(roles.items())),
    )


def _stage_badge(spec: StepSpec) -> None:
    """Row step or feature step, and for samplers and settings where they run, as badges on one line."""
    color, icon = STAGE_BADGES[spec.stage]
    badges = [f":{color}-badge[{icon} {t(f'prep.stage.{spec.stage}.label')}]"]
    if spec.sampler:
        badges.append(f":violet-badge[:material/science: {t('recipes.badge.training_folds')}]")
    elif spec.setting:
        badges.append(f":violet-badge[:material/tune: {t('recipes.badge.setting')}]")
    st.markdown(" ".join(badges))


def _stage_text(spec: StepSpec) -> str:
    if spec.sampler:
        return t("recipes.stage.sampler")
    if spec.setting:
        return t("recipes.stage.setting")
    return t(f"recipes.stage.{spec.stage}")


def _show_preview(preview: StepPreview) -> None:
    """Rows removed or added, values changed, statistics, new and removed columns, and sample rows."""
    st.caption(
        t(
            "recipes.preview.caption",
            position=preview.position,
            sample=preview.sample_rows,
            total=preview.total_rows,
            seconds=f"{preview.seconds:.2f}",
        )
    )
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(
        t("recipes.preview.rows"),
        f"{preview.rows_after:,}",
        delta=preview.rows_after - preview.rows_before or None,
        help=t("recipes.preview.rows_help", before=preview.rows_before),
    )
    c2.metric(t("recipes.preview.removed"), f"{preview.rows_removed:,}")
    c3.metric(t("recipes.preview.added"), f"{preview.rows_added:,}")
    c4.metric(t("recipes.preview.changed"), f"{sum(preview.values_changed.values()):,}")
    if preview.columns_added:
        st.markdown(t("recipes.preview.columns_added", columns=md_escape(", ".join(preview.columns_added))))
    if preview.columns_removed:
        st.markdown(t("recipes.preview.columns_removed", columns=md_escape(", ".join(preview.columns_removed))))
    for note in preview.notes:
        st.info(t(note.key, **note.params), icon=":material/info:")
    if (
        preview.rows_removed == 0
        and preview.rows_added == 0
        and not preview.values_changed
        and not (preview.columns_added or preview.columns_removed)
    ):
        st.info(t("recipes.preview.nothing"), icon=":material/info:")
    changes = changes_frame(preview, lang=lang())
    if not changes.empty:
        st.markdown(f"**{t('recipes.preview.statistics')}**")
        st.dataframe(
            changes,
            hide_index=True,
            width="stretch",
            column_config={
                "column": t("recipes.col.column"),
                "statistic": t("recipes.col.statistic"),
                "before": t("recipes.col.before"),
                "after": t("recipes.col.after"),
                "changed": st.column_config.NumberColumn(t("recipes.col.changed"), format="%d"),
            },
        )
    classes = class_counts_frame(preview)
    if classes is not None:
        st.markdown(f"**{t('recipes.preview.classes')}**")
        st.dataframe(
            classes,
            hide_index=True,
            column_config={
                "class": t("recipes.col.class"),
                "before": st.column_config.NumberColumn(t("recipes.col.before"), format="localized"),
                "after": st.column_config.NumberColumn(t("recipes.col.after"), format="localized"),
            },
        )
    before, after = sample_frames(preview, lang=lang())
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('recipes.preview.before')}**")
        st.dataframe(
            before,
            hide_index=True,
            width="stretch",
            column_config={"row": t("recipes.col.row"), "status": t("recipes.col.status")},
        )
    with right:
        st.markdown(f"**{t('recipes.preview.after')}**")
        st.dataframe(after, hide_index=True, width="stretch", column_config={"row": t("recipes.col.row")})
    if preview.facts:
        with st.expander(t("recipes.preview.facts")):
            st.json(dict(preview.facts), expanded=False)


# --------------------------------------------------------------------------- draft editing callbacks


def _set_draft(recipe: Recipe) -> None:
    st.session_state[DRAFT_KEY] = recipe
    st.session_state.pop(ERROR_KEY, None)


def _move(index: int, offset: int) -> None:
    try:
        _set_draft(move_step(st.session_state[DRAFT_KEY], index, offset))
        st.session_state[EDIT_KEY] = None
    except MLCoreError as exc:
        st.session_state[ERROR_KEY] = exc


def _remove(index: int) -> None:
    try:
        _set_draft(st.session_state[DRAFT_KEY].without_step(index))
        st.session_state[EDIT_KEY] = None
    except MLCoreError as exc:
        st.session_state[ERROR_KEY] = exc


def _field_key(kind: str, name: str) -> str:
    return f"prep_f_{kind}_{name}"


def _edit(index: int) -> None:
    """Load a draft step into the form: its stage, kind and every setting."""
    step: Step = st.session_state[DRAFT_KEY].steps[index]
    st.session_state[EDIT_KEY] = index
    st.session_state["prep_stage"] = step.stage
    st.session_state[f"prep_kind_{step.stage}"] = step.kind
    widgets = {f.name: f.widget for f in step_fields(step.kind, recipe=Recipe(step.kind), roles={})}
    for name, value in form_values(step).items():
        key = _field_key(step.kind, name)
        if widgets.get(name) == "pairs":
            value = [tuple(v) for v in value]
        if widgets.get(name) == "choice_or_number":
            is_number = isinstance(value, int | float) and not isinstance(value, bool)
            st.session_state[key] = "__number__" if is_number else value
            if is_number:
                st.session_state[f"{key}_number"] = float(value)
            continue
        st.session_state[key] = value
    st.session_state[f"prep_note_{step.kind}"] = step.note


def _new_draft() -> None:
    _replace_draft(draft_recipe(by_id[st.session_state[VERSION_KEY]]))


def _load_saved(recipe_id: int) -> None:
    _replace_draft(saved_by_id[recipe_id].recipe)
    st.session_state[TAB_KEY] = t("recipes.tab.build")


# --------------------------------------------------------------------------- the step form


def _field_widget(kind: str, field: StepField) -> Any:
    """Render one setting from its schema; return the value the form holds."""
    key = _field_key(kind, field.name)
    label = t(field.label_key)
    if field.widget == "fixed":
        st.caption(f"{label}: {t(choice_key(field.default))}")
        return field.default
    if field.widget in ("columns", "pairs", "choices"):
        options = list(field.choices if field.widget != "columns" else field.columns)
        if key not in st.session_state:
            st.session_state[key] = [v for v in field.default if v in options]
        else:  # columns an earlier step removed are no longer offered
            st.session_state[key] = [v for v in st.session_state[key] if v in options]
        if field.widget == "pairs":
            labels = {p: f"{p[0]} · {p[1]}" for p in options}
        elif field.widget == "choices":
            labels = {v: t(choice_key(v)) for v in options}
        else:
            labels = {v: str(v) for v in options}
        helps = "recipes.help.columns_all" if field.nullable else "recipes.help.columns_some"
        return st.multiselect(
            label,
            options,
            format_func=labels.__getitem__,
            key=key,
            help=t(helps) if field.widget == "columns" else None,
            placeholder=t("recipes.all_columns") if field.nullable else t("recipes.choose"),
        )
    if field.widget == "choice":
        if st.session_state.get(key) not in field.choices:
            st.session_state[key] = field.default
        labels = {v: t(choice_key(v)) for v in field.choices}
        return st.selectbox(label, list(field.choices), format_func=labels.__getitem__, key=key)
    if field.widget == "choice_or_number":
        options = [*field.choices, "__number__"]
        if st.session_state.get(key) not in options:
            st.session_state[key] = field.default if field.default in options else "__number__"
        picked = st.selectbox(
            label,
            options,
            format_func={
                v: t("recipes.a_number") if v == "__number__" else t(choice_key(v)) for v in options
            }.__getitem__,
            key=key,
        )
        if picked != "__number__":
            return picked
        number_key = f"{key}_number"
        if number_key not in st.session_state:
            st.session_state[number_key] = field.maximum if field.maximum is not None else 1.0
        return st.number_input(
            t("recipes.number_for", label=label),
            min_value=None if field.exclusive_minimum else field.minimum,
            max_value=field.maximum,
            key=number_key,
            format="%g",
        )
    if field.widget == "bool":
        if key not in st.session_state:
            st.session_state[key] = bool(field.default)
        return st.checkbox(label, key=key)
    if field.widget in ("int", "float"):
        if key not in st.session_state:
            st.session_state[key] = field.default
        integer = field.widget == "int"
        return st.number_input(
            label,
            min_value=None
            if field.exclusive_minimum or field.minimum is None
            else (int(field.minimum) if integer else float(field.minimum)),
            max_value=None if field.maximum is None else (int(field.maximum) if integer else float(field.maximum)),
            step=1 if integer else None,
            format="%d" if integer else "%g",
            key=key,
            help=t("recipes.help.empty_none") if field.nullable else None,
            placeholder=t("recipes.none") if field.nullable else None,
        )
    if key not in st.session_state:
        st.session_state[key] = "" if field.default is None else str(field.default)
    return st.text_input(label, key=key, help=t("recipes.help.empty_none") if field.nullable else None, max_chars=1000)


def _spec_label(spec: StepSpec) -> str:
    return f"{t('prep.group.' + spec.group)} · {t(spec.label_key)}"


def build_tab() -> None:
    if ERROR_KEY in st.session_state:
        show_error(st.session_state.pop(ERROR_KEY))
    left, right = st.columns(2)
    with left:
        st.info(f"**{t('prep.stage.row.label')}** · {t('recipes.stage.row')}", icon=":material/table_rows:")
    with right:
        st.info(f"**{t('prep.stage.feature.label')}** · {t('recipes.stage.feature')}", icon=":material/account_tree:")

    st.subheader(t("recipes.build.draft", name=md_escape(draft.name)))
    source = str(draft.source.get("version") or "—")
    st.caption(t("recipes.build.draft_caption", version=md_escape(source), steps=len(draft.steps)))
    if not draft.steps:
        st.info(t("recipes.build.empty"), icon=":material/playlist_add:")
    moves = movable(draft)
    for index, step in enumerate(draft.steps):
        with st.container(border=True):
            text, b_up, b_down, b_edit, b_remove = st.columns([12, 1, 1, 1, 1], vertical_alignment="center")
            with text:
                _stage_badge(step.spec)
                st.markdown(
                    f"**{index + 1}. {t(step.spec.label_key)}** — {md_escape(step_settings_text(step, lang=lang()))}"
                )
                if step.note:
                    st.caption(md_escape(step.note))
            b_up.button(
                "",
                icon=":material/arrow_upward:",
                key=f"prep_up_{index}",
                disabled=not moves[index][0],
                on_click=_move,
                args=(index, -1),
                help=t("recipes.build.up"),
            )
            b_down.button(
                "",
                icon=":material/arrow_downward:",
                key=f"prep_down_{index}",
                disabled=not moves[index][1],
                on_click=_move,
                args=(index, 1),
                help=t("recipes.build.down"),
            )
            b_edit.button(
                "",
                icon=":material/edit:",
                key=f"prep_edit_{index}",
                on_click=_edit,
                args=(index,),
                help=t("recipes.build.edit"),
            )
            b_remove.button(
                "",
                icon=":material/delete:",
                key=f"prep_remove_{index}",
                on_click=_remove,
                args=(index,),
                help=t("recipes.build.remove"),
            )
    fits = True
    if draft.steps:
        try:
            after = check_applicable(draft, version)
            fits_text = t("recipes.build.fits", label=md_escape(version.label), columns=len(after.roles))
            st.success(fits_text, icon=":material/check_circle:")
        except MLCoreError as exc:
            fits = False
            show_error(exc)
            st.caption(t("recipes.build.kept"))
        st.button(t("recipes.build.new"), key="prep_new_draft", on_click=_new_draft, icon=":material/restart_alt:")

    editing = st.session_state.get(EDIT_KEY)
    if editing is not None and not 0 <= editing < len(draft.steps):
        editing = st.session_state[EDIT_KEY] = None
    st.subheader(t("recipes.build.edit_title", position=editing + 1) if editing is not None else t("recipes.build.add"))
    stage = st.radio(
        t("recipes.build.stage"),
        ("row", "feature"),
        format_func={v: t(f"prep.stage.{v}.label") for v in ("row", "feature")}.__getitem__,
        horizontal=True,
        key="prep_stage",
        disabled=editing is not None,
    )
    specs = [spec for _, group in step_groups(stage) for spec in group]
    by_kind = {spec.kind: spec for spec in specs}
    kind_key = f"prep_kind_{stage}"
    if st.session_state.get(kind_key) not in by_kind:
        st.session_state[kind_key] = specs[0].kind
    kind = st.selectbox(
        t("recipes.build.kind"),
        list(by_kind),
        format_func={k: _spec_label(spec) for k, spec in by_kind.items()}.__getitem__,
        key=kind_key,
        disabled=editing is not None,
    )
    spec = by_kind[kind]
    _stage_badge(spec)
    st.markdown(f"**{t(spec.label_key)}** — {t(spec.help_key)}")
    st.caption(_stage_text(spec))
    if spec.prefer:
        st.caption(t("recipes.build.prefer", other=t(f"prep.step.{spec.prefer}.label")))
    base = draft.head(editing) if editing is not None else draft
    values: dict[str, Any] = {}
    with st.container(border=True):
        current = {k: st.session_state.get(_field_key(kind, k)) for k in spec.params.model_fields}
        fields = step_fields(kind, recipe=base, roles=roles, target=version.target or draft.target, values=current)
        columns = st.columns(2)
        for position, field in enumerate(fields):
            with columns[position % 2]:
                values[field.name] = _field_widget(kind, field)
        note = st.text_input(t("recipes.build.note"), key=f"prep_note_{kind}", max_chars=2000)
    step: Step | None = None
    try:
        step = step_from_form(kind, values, note=note)
    except InputError as exc:
        st.info(exc.message(lang()), icon=":material/edit_note:")
    if step is not None:
        st.markdown(f"**{t('recipes.preview.title')}**")
        if fits:
            with user_errors():
                _show_preview(_preview_of(base, step))
        else:
            st.caption(t("recipes.preview.unavailable"))
        label = (
            t("recipes.build.update", position=editing + 1) if editing is not None else t("recipes.build.add_button")
        )
        if st.button(label, type="primary", key="prep_add", icon=":material/add:"):
            try:
                updated = draft.replacing_step(editing, step) if editing is not None else draft.with_step(step)
                _set_draft(updated)
                st.session_state[EDIT_KEY] = None
                flash(t("recipes.build.added", step=t(spec.label_key), steps=len(updated.steps)))
                st.rerun()
            except InputError as exc:
                show_error(exc)
    if editing is not None:
        st.button(
            t("recipes.build.cancel_edit"),
            key="prep_cancel_edit",
            on_click=lambda: st.session_state.update({EDIT_KEY: None}),
        )

    if draft.steps:
        st.subheader(t("recipes.build.look"))
        look = st.selectbox(
            t("recipes.build.look_pick"),
            list(range(len(draft.steps))),
            format_func={i: f"{i + 1}. {t(s.spec.label_key)}" for i, s in enumerate(draft.steps)}.__getitem__,
            key="prep_look",
        )
        if fits and look is not None and look < len(draft.steps):
            with user_errors():
                _show_preview(_preview_of(draft.head(look), draft.steps[look]))

    st.subheader(t("recipes.build.save_title"))
    if not can_edit:
        role_notice("recipe.edit")
        return
    st.caption(t("recipes.build.save_help"))
    if "prep_name" not in st.session_state:
        st.session_state["prep_name"] = draft.name
    name = st.text_input(t("recipes.build.name"), key="prep_name", max_chars=100)
    if "prep_notes" not in st.session_state:
        st.session_state["prep_notes"] = draft.notes
    notes = st.text_area(t("recipes.build.notes"), key="prep_notes", max_chars=10_000)
    if st.button(t("recipes.build.save"), type="primary", key="prep_save", icon=":material/save:"):
        with user_errors():
            with session_scope(ws.engine) as s:
                made = save_recipe(session=s, actor=user, project_id=project_id, recipe=draft, name=name, notes=notes)
            _set_draft(made.recipe)
            st.session_state[SAVED_KEY] = made.id
            flash(t("recipes.build.saved", label=md_escape(made.label), steps=len(made.recipe.steps)))
            st.rerun()


# --------------------------------------------------------------------------- saved recipes


def _recipe_pick(options: list[RecipeSummary], key: str) -> RecipeSummary:
    ids = [r.id for r in options]
    if st.session_state.get(SAVED_KEY) not in ids:
        st.session_state[SAVED_KEY] = ids[-1]

    def remember() -> None:
        st.session_state[SAVED_KEY] = st.session_state[key]

    picked = st.selectbox(
        t("recipes.saved.pick"),
        ids,
        index=ids.index(st.session_state[SAVED_KEY]),
        format_func=lambda i: saved_by_id[i].label,
        key=key,
        on_change=remember,
    )
    return saved_by_id[picked]


def saved_tab() -> None:
    if not saved:
        st.info(t("recipes.saved.none"))
    else:
        st.dataframe(
            recipes_frame(saved),
            hide_index=True,
            width="stretch",
            column_config={
                "id": None,
                "recipe": t("recipes.col.recipe"),
                "name": None,
                "version": None,
                "steps": t("recipes.col.steps"),
                "row_steps": t("recipes.col.row_steps"),
                "feature_steps": t("recipes.col.feature_steps"),
                "target": t("recipes.col.target"),
                "fingerprint": st.column_config.TextColumn(t("recipes.col.fingerprint"), width="small"),
                "created_by": t("recipes.col.created_by"),
                "created_at": st.column_config.DatetimeColumn(t("recipes.col.created_at"), format="YYYY-MM-DD HH:mm"),
            },
        )
        chosen_recipe = _recipe_pick(sorted(saved, key=lambda r: (r.name, r.version)), "prep_saved_pick")
        recipe = chosen_recipe.recipe
        st.subheader(md_escape(chosen_recipe.label))
        st.caption(
            t(
                "recipes.saved.caption",
                by=md_escape(chosen_recipe.created_by),
                when=f"{chosen_recipe.created_at:%Y-%m-%d %H:%M}",
                source=md_escape(str(recipe.source.get("version") or "—")),
                fingerprint=chosen_recipe.fingerprint[:12],
            )
        )
        if recipe.notes:
            st.markdown(md_escape(recipe.notes))
        st.dataframe(
            steps_frame(recipe, lang=lang()),
            hide_index=True,
            width="stretch",
            column_config={
                "position": st.column_config.NumberColumn("#", format="%d", width="small"),
                "stage": t("recipes.col.stage"),
                "group": t("recipes.col.group"),
                "step": t("recipes.col.step"),
                "settings": st.column_config.TextColumn(t("recipes.col.settings"), width="large"),
                "note": t("recipes.col.note"),
            },
        )
        c1, c2, c3 = st.columns(3)
        for column, fmt in zip((c1, c2), EXPORT_FORMATS, strict=True):
            column.download_button(
                t(f"recipes.saved.download_{fmt}"),
                data=export_recipe(chosen_recipe, format=fmt),
                file_name=export_filename(chosen_recipe, format=fmt),
                mime="application/json" if fmt == "json" else "application/yaml",
                key=f"prep_download_{fmt}",
                icon=":material/download:",
            )
        c3.button(
            t("recipes.saved.edit"),
            key="prep_load",
            on_click=_load_saved,
            args=(chosen_recipe.id,),
            icon=":material/edit:",
            help=t("recipes.saved.edit_help"),
        )
        made = derived_versions(versions, recipe_id=chosen_recipe.id)
        if made:
            st.caption(t("recipes.saved.made", versions=md_escape(", ".join(v.label for v in made[:10]))))

    st.subheader(t("recipes.import.title"))
    if not can_edit:
        role_notice("recipe.edit")
        return
    st.caption(t("recipes.import.help"))
    upload = st.file_uploader(t("recipes.import.file"), type=["json", "yaml", "yml"], key="prep_upload")
    pasted = st.text_area(t("recipes.import.paste"), key="prep_paste", height=120)
    rename = st.text_input(t("recipes.import.name"), key="prep_import_name", max_chars=100)
    if st.button(t("recipes.import.button"), key="prep_import", icon=":material/upload:"):
        if upload is None and not pasted.strip():
            st.warning(t("recipes.import.nothing"))
        else:
            with user_errors():
                data = upload.getvalue() if upload is not None else pasted
                with session_scope(ws.engine) as s:
                    imported = import_recipe(
                        session=s,
                        actor=user,
                        project_id=project_id,
                        data=data,
                        filename=upload.name if upload is not None else "",
                        name=rename or None,
                    )
                st.session_state[SAVED_KEY] = imported.id
                flash(t("recipes.import.done", label=md_escape(imported.label), steps=len(imported.recipe.steps)))
                st.rerun()


# --------------------------------------------------------------------------- apply


def apply_tab() -> None:
    st.markdown(t("recipes.apply.help"))
    with_rows = [r for r in saved if r.n_row_steps]
    if not with_rows:
        st.info(t("recipes.apply.none"))
    else:
        chosen_recipe = _recipe_pick(sorted(with_rows, key=lambda r: (r.name, r.version)), "prep_apply_pick")
        recipe = chosen_recipe.recipe
        st.dataframe(
            steps_frame(Recipe(recipe.name, steps=recipe.row_steps), lang=lang()),
            hide_index=True,
            width="stretch",
            column_config={
                "position": st.column_config.NumberColumn("#", format="%d", width="small"),
                "stage": None,
                "group": t("recipes.col.group"),
                "step": t("recipes.col.step"),
                "settings": st.column_config.TextColumn(t("recipes.col.settings"), width="large"),
                "note": t("recipes.col.note"),
            },
        )
        if chosen_recipe.n_feature_steps:
            st.caption(t("recipes.apply.feature_steps", count=chosen_recipe.n_feature_steps))
        target_ids = list(by_id)
        target_id = st.selectbox(
            t("recipes.apply.version"),
            target_ids,
            index=target_ids.index(version.id),
            format_func=lambda i: by_id[i].label,
            key="prep_apply_version",
        )
        earlier = [v for v in derived_versions(versions, fingerprint=chosen_recipe.fingerprint) if v.id != target_id]
        reuse = st.selectbox(
            t("recipes.apply.reuse"),
            [None, *[v.id for v in earlier]],
            format_func={None: t("recipes.apply.learn_again"), **{v.id: v.label for v in earlier}}.__getitem__,
            key="prep_apply_reuse",
            help=t("recipes.apply.reuse_help"),
        )
        if not can_apply:
            role_notice("recipe.apply")
        elif st.button(t("recipes.apply.button"), type="primary", key="prep_apply", icon=":material/play_arrow:"):
            with user_errors():
                job_id = submit_recipe_apply(
                    engine=ws.engine,
                    settings=ws.settings,
                    project_id=project_id,
                    version_id=target_id,
                    actor_id=user.id or 0,
                    recipe_id=chosen_recipe.id,
                    reuse_states_from=reuse,
                )
                flash(
                    t(
                        "recipes.apply.started",
                        job_id=job_id,
                        recipe=md_escape(chosen_recipe.label),
                        label=md_escape(by_id[target_id].label),
                    )
                )
                st.rerun()
    made = derived_versions(versions)
    if made:
        newest = made[0]
        parent = by_id.get(newest.parent_id or 0)
        st.subheader(t("recipes.apply.made", label=md_escape(newest.label)))
        st.markdown(
            t(
                "recipes.apply.lineage",
                label=md_escape(newest.label),
                parent=md_escape(parent.label) if parent else "—",
                recipe=md_escape(f"{newest.recipe.get('name')}@{newest.recipe.get('version')}"),
                before=int(newest.recipe.get("rows_before") or 0),
                after=newest.n_rows,
                sha=newest.sha256[:12],
            )
        )
        st.dataframe(
            apply_report_frame(newest, lang=lang()),
            hide_index=True,
            width="stretch",
            column_config={
                "position": st.column_config.NumberColumn("#", format="%d", width="small"),
                "step": t("recipes.col.step"),
                "rows_before": st.column_config.NumberColumn(t("recipes.col.rows_before"), format="localized"),
                "rows_after": st.column_config.NumberColumn(t("recipes.col.rows_after"), format="localized"),
                "rows_removed": st.column_config.NumberColumn(t("recipes.col.rows_removed"), format="localized"),
                "changed": t("recipes.col.values_changed"),
                "added": t("recipes.col.columns_added"),
                "removed": t("recipes.col.columns_removed"),
            },
        )
        st.page_link("pages/data_versions.py", label=t("recipes.apply.see_versions"), icon=":material/history:")


# Only the open tab runs; the open tab is kept across reruns.
tab_build, tab_saved, tab_apply = st.tabs(
    [t("recipes.tab.build"), t("recipes.tab.saved"), t("recipes.tab.apply")], key=TAB_KEY, on_change="rerun"
)
with tab_build:
    if tab_build.open:
        build_tab()
with tab_saved:
    if tab_saved.open:
        saved_tab()
with tab_apply:
    if tab_apply.open:
        apply_tab()
