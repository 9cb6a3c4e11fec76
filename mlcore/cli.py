"""The ``mlcore`` command line: database, demo project, dataset imports and jobs."""

from __future__ import annotations

import getpass
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlcore.errors import MLCoreError
from mlcore.i18n import translate

app = typer.Typer(help="Ciclo's command line (mlcore).", no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
datasets_app = typer.Typer(help="Dataset versions.", no_args_is_help=True)
projects_app = typer.Typer(help="Projects.", no_args_is_help=True)
jobs_app = typer.Typer(help="Background jobs.", no_args_is_help=True)
users_app = typer.Typer(help="Accounts and project membership (admins).", no_args_is_help=True)
runs_app = typer.Typer(help="Training runs.", no_args_is_help=True)
models_app = typer.Typer(help="The model registry.", no_args_is_help=True)
recipes_app = typer.Typer(help="Data preparation recipes.", no_args_is_help=True)
predict_app = typer.Typer(help="Batch predictions.", no_args_is_help=True)
monitor_app = typer.Typer(help="Monitoring: alerts and drift.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(datasets_app, name="datasets")
app.add_typer(projects_app, name="projects")
app.add_typer(jobs_app, name="jobs")
app.add_typer(users_app, name="users")
app.add_typer(runs_app, name="runs")
app.add_typer(models_app, name="models")
app.add_typer(recipes_app, name="recipes")
app.add_typer(predict_app, name="predict")
app.add_typer(monitor_app, name="monitor")

# Piped output (scripts, cron) gets wide lines so tables are not truncated.
_WIDTH = None if sys.stdout.isatty() else 250
out = Console(width=_WIDTH)
err = Console(stderr=True, width=_WIDTH)


def _lang() -> str:
    return os.environ.get("MLCORE_LANG", "en")


def _fail(exc: MLCoreError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.message(_lang())}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code=2)


def _actor_name() -> str:
    return os.environ.get("MLCORE_USER") or getpass.getuser() or "local"


def _actor(session: Any) -> Any:
    """The Ciclo account acting from the command line (``$MLCORE_USER``, else the login name)."""
    from mlcore.auth import get_user
    from mlcore.errors import InputError, NotFound

    try:
        user = get_user(session=session, name=_actor_name())
    except NotFound:
        raise InputError("errors.cli_user_unknown", name=_actor_name()[:100]) from None
    if user.disabled:
        raise InputError("errors.cli_user_unknown", name=user.name)
    return user


class _Bar:
    """A terminal progress bar fed by mlcore's ``progress(fraction, key)`` callbacks."""

    def __init__(self, progress: Progress, title: str) -> None:
        self.progress = progress
        self.task = progress.add_task(title, total=1.0)

    def __call__(self, fraction: float, key: str) -> None:
        self.progress.update(self.task, completed=fraction, description=translate(key, _lang()) if key else "")


def _bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err, transient=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the newest schema."""
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    out.print(f"database up to date: {ws.engine.url.render_as_string(hide_password=True)}")


@app.command()
def demo(rows: Annotated[int, typer.Option(min=100, max=2_000_000, help="Rows in the demo dataset.")] = 20_000) -> None:
    """Create the demo project (idempotent: does nothing if it exists)."""
    from mlcore.demo import seed_demo
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with _bar() as p:
            result = seed_demo(
                engine=ws.engine,
                settings=ws.settings,
                n_rows=rows,
                progress=_Bar(p, "demo"),
                admin_name=os.environ.get("MLCORE_USER"),
            )
    except MLCoreError as exc:
        raise _fail(exc) from None
    if result.created:
        out.print(f"demo project created: {', '.join(result.version_labels)}")
    else:
        out.print("demo project already present")
    if result.new_accounts:
        table = Table("demo account", "role", "password", title="Demo accounts (shown once)")
        for name, role, password in result.new_accounts:
            table.add_row(name, role, password)
        out.print(table)
    out.print(f"demo account passwords are kept in {result.credentials_path} (readable only by you)")


@projects_app.command("create")
def projects_create(
    name: str,
    task: Annotated[str, typer.Option(help="classification or regression")] = "classification",
    description: Annotated[str, typer.Option()] = "",
) -> None:
    """Create a project owned by the current user."""
    from mlcore.projects import ProjectCreate, create_project
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            actor = _actor(s)
            project = create_project(
                session=s, data=ProjectCreate(name=name, description=description, task_type=task), actor=actor
            )
            out.print(f"project {project.id}: {project.name}")
    except MLCoreError as exc:
        raise _fail(exc) from None


@projects_app.command("list")
def projects_list(archived: Annotated[bool, typer.Option(help="Include archived projects.")] = False) -> None:
    """List projects."""
    from mlcore.projects import list_projects
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            rows = list_projects(session=s, include_archived=archived, for_user=_actor(s))
    except MLCoreError as exc:
        raise _fail(exc) from None
    table = Table("id", "name", "task", "owner", "archived")
    for p in rows:
        table.add_row(str(p.id), p.name, p.task_type, p.owner, "yes" if p.archived else "")
    out.print(table)


@datasets_app.command("import")
def datasets_import(
    path: Annotated[Path, typer.Argument(help="CSV, Parquet or Excel file.")],
    project: Annotated[str, typer.Option(help="Project name.")],
    name: Annotated[str | None, typer.Option(help="Dataset name (default: the file name).")] = None,
    target: Annotated[str | None, typer.Option(help="Target column.")] = None,
) -> None:
    """Import a file as a new dataset version; prints its id and SHA-256."""
    from mlcore.data.imports import ImportTarget, import_file
    from mlcore.projects import get_project_by_name
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        if not path.is_file():
            raise _missing_file(path)
        with session_scope(ws.engine) as s:
            proj = get_project_by_name(session=s, name=project)
            actor = _actor(s)
            project_id, actor_id = proj.id or 0, actor.id or 0
        dataset_name = name or path.stem
        with _bar() as p:
            version = import_file(
                engine=ws.engine,
                settings=ws.settings,
                path=path,
                filename=path.name,
                where=ImportTarget(project_id=project_id, dataset_name=dataset_name, target=target),
                actor_id=actor_id,
                progress=_Bar(p, "import"),
            )
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"{version.id} {version.sha256}")
    err.print(f"{version.label}: {version.n_rows} rows x {version.n_cols} columns", highlight=False)


def _missing_file(path: Path) -> MLCoreError:
    from mlcore.errors import InputError

    return InputError("errors.file_not_found", path=str(path)[:300])


@datasets_app.command("list")
def datasets_list(project: Annotated[str, typer.Option(help="Project name.")]) -> None:
    """List every dataset version of a project."""
    from mlcore.data.versions import list_versions
    from mlcore.projects import get_project_by_name
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            proj = get_project_by_name(session=s, name=project)
            versions = list_versions(session=s, project_id=proj.id or 0)
    except MLCoreError as exc:
        raise _fail(exc) from None
    table = Table("id", "version", "rows", "cols", "target", "parent", "operation", "sha256", "by", "created")
    for v in versions:
        table.add_row(
            str(v.id),
            v.label,
            str(v.n_rows),
            str(v.n_cols),
            v.target or "",
            str(v.parent_id or ""),
            v.operation,
            v.sha256[:12],
            v.created_by,
            v.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@jobs_app.command("run")
def jobs_run(job_id: int) -> None:
    """Run a queued job in this process (this is what the app launches)."""
    from mlcore.jobs import run_job
    from mlcore.workspace import open_workspace

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ws = open_workspace(migrate=False)
    try:
        view = run_job(engine=ws.engine, job_id=job_id, settings=ws.settings)
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"job {view.id} {view.status}")
    if view.status != "succeeded":
        raise typer.Exit(code=1)


@jobs_app.command("list")
def jobs_list(limit: int = 20) -> None:
    """Show the most recent jobs."""
    from mlcore.jobs import list_jobs
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    with session_scope(ws.engine) as s:
        jobs = list_jobs(session=s, limit=limit)
    table = Table("id", "kind", "status", "progress", "error")
    for j in jobs:
        error = translate(j.error_key, _lang(), **j.error_params) if j.error_key else ""
        table.add_row(str(j.id), j.kind, j.status, f"{j.progress:.0%}", error)
    out.print(table)


@users_app.command("add")
def users_add(
    name: str,
    role: Annotated[
        str,
        typer.Option(
            help="product_designer, data_engineer, model_developer, deployment_engineer, "
            "security_analyst, ai_ethics_reviewer, domain_expert, viewer or admin"
        ),
    ],
    email: Annotated[str, typer.Option(help="E-mail, to match single sign-on identities.")] = "",
    display_name: Annotated[str, typer.Option(help="Name shown in the app.")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input.")] = False,
) -> None:
    """Create an account (the first admin of a fresh install needs no other admin)."""
    from mlcore.auth import count_admins, create_user, generate_password
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    generated = False
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password, generated = generate_password(), True
    try:
        with session_scope(ws.engine) as s:
            actor = None if role == "admin" and count_admins(session=s) == 0 else _actor(s)
            user = create_user(
                session=s, actor=actor, name=name, role=role, password=password, email=email, display_name=display_name
            )
            out.print(f"user {user.name} ({user.role}) created")
    except MLCoreError as exc:
        raise _fail(exc) from None
    if generated:
        out.print(f"password (shown once): {password}")


@users_app.command("reset-password")
def users_reset_password(name: str) -> None:
    """Give an account a new random password (printed once)."""
    from mlcore.auth import generate_password, get_user, set_password
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    password = generate_password()
    try:
        with session_scope(ws.engine) as s:
            set_password(session=s, actor=_actor(s), user_id=get_user(session=s, name=name).id or 0, password=password)
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"new password for {name} (shown once): {password}")


@users_app.command("disable")
def users_disable(name: str, enable: Annotated[bool, typer.Option(help="Enable instead.")] = False) -> None:
    """Disable (or re-enable) an account."""
    from mlcore.auth import get_user, update_user
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            target = get_user(session=s, name=name)
            update_user(
                session=s, actor=_actor(s), user_id=target.id or 0, expected_version=target.version, disabled=not enable
            )
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"{name} {'enabled' if enable else 'disabled'}")


@users_app.command("list")
def users_list() -> None:
    """List accounts."""
    from mlcore.auth import list_users, require
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            require(session=s, user=_actor(s), action="users.manage")
            users = list_users(session=s)
    except MLCoreError as exc:
        raise _fail(exc) from None
    table = Table("name", "role", "email", "disabled")
    for u in users:
        table.add_row(u.name, u.role, u.email, "yes" if u.disabled else "")
    out.print(table)


@users_app.command("member")
def users_member(
    project: Annotated[str, typer.Argument(help="Project name.")],
    name: Annotated[str, typer.Argument(help="Account name.")],
    role: Annotated[str | None, typer.Option(help="Role in the project; omit to remove the member.")] = None,
) -> None:
    """Add someone to a project with a role, change it, or remove them."""
    from mlcore.auth import get_user, set_member
    from mlcore.projects import get_project_by_name
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            proj = get_project_by_name(session=s, name=project)
            set_member(
                session=s,
                actor=_actor(s),
                project_id=proj.id or 0,
                user_id=get_user(session=s, name=name).id or 0,
                role=role,
            )
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"{name}: {role or 'removed'} in {project}")


# --------------------------------------------------------------------------- modeling (issue 8)


def _run_job_with_bar(ws: Any, job_id: int, title: str) -> Any:
    """Run a queued job in this process while a bar shows its progress; Ctrl-C asks it to stop."""
    import threading

    from mlcore.jobs import get_job, request_cancel, run_job
    from mlcore.modeling.tracking import progress_text
    from mlcore.store.engine import session_scope

    worker = threading.Thread(
        target=run_job, kwargs={"engine": ws.engine, "job_id": job_id, "settings": ws.settings}, daemon=True
    )
    worker.start()
    with _bar() as p:
        task = p.add_task(title, total=1.0)
        try:
            while worker.is_alive():
                worker.join(0.2)
                with session_scope(ws.engine) as s:
                    view = get_job(session=s, job_id=job_id)
                text = progress_text(view.message_key, view.message_params, lang=_lang()) or title
                p.update(task, completed=view.progress, description=text)
        except KeyboardInterrupt:
            with session_scope(ws.engine) as s:
                request_cancel(session=s, job_id=job_id)
            worker.join()
    with session_scope(ws.engine) as s:
        return get_job(session=s, job_id=job_id)


def _job_outcome(view: Any) -> None:
    """Exit with one translated line unless the job succeeded (2: something to fix, 1: otherwise)."""
    if view.status == "succeeded":
        return
    if view.status == "failed" and view.error_key and view.error_key != "errors.unexpected":
        err.print(
            f"[red]error:[/red] {translate(view.error_key, _lang(), **view.error_params)}",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(code=2)
    key = "jobs.cancelled" if view.status == "cancelled" else view.error_key or "errors.unexpected"
    err.print(f"job {view.id} {view.status}: {translate(key, _lang(), ref=view.error_ref)}", highlight=False)
    raise typer.Exit(code=1)


def _project_id(session: Any, name: str) -> int:
    from mlcore.projects import get_project_by_name

    return get_project_by_name(session=session, name=name).id or 0


def _settings_file(path: Path) -> dict[str, Any]:
    from mlcore.errors import InputError
    from mlcore.modeling.tracking import MAX_SETTINGS_BYTES, spec_settings

    if not path.is_file():
        raise _missing_file(path)
    if path.stat().st_size > MAX_SETTINGS_BYTES:
        raise InputError("tracking.bad_config", path=str(path)[:300], detail="too large")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError("tracking.bad_config", path=str(path)[:300], detail=type(exc).__name__) from None
    return spec_settings(text, source=str(path))


def _metric_cells(mean: Any, std: Any, metrics: list[str]) -> list[str]:
    from mlcore.modeling.tracking import metric_text

    return [
        metric_text(float(mean.get(m, float("nan"))), float(std.get(m, float("nan"))), lang=_lang()) for m in metrics
    ]


@app.command()
def train(
    project: Annotated[str, typer.Option(help="Project name.")],
    dataset: Annotated[
        str, typer.Option(help="Dataset version: its id, its label ('churn v2') or a dataset name (newest version).")
    ],
    target: Annotated[str | None, typer.Option(help="Target column (default: the version's target).")] = None,
    models: Annotated[
        str | None,
        typer.Option(help="Model families, comma-separated: dummy, logreg, ridge, lasso, knn, tree, rf, et, hgb, svm."),
    ] = None,
    cv: Annotated[int | None, typer.Option(help="Cross-validation folds (default 5).")] = None,
    budget_s: Annotated[
        float | None, typer.Option("--budget-s", help="Seconds for a hyper-parameter search (no search without).")
    ] = None,
    search: Annotated[str | None, typer.Option(help="Search method with --budget-s: random or halving.")] = None,
    metrics: Annotated[
        str | None, typer.Option(help="Metrics, comma-separated (default: the planning canvas's, then usual ones).")
    ] = None,
    config: Annotated[
        Path | None, typer.Option(help="JSON or YAML file with training settings (options given here win).")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (default 0).")] = None,
    recipe: Annotated[
        str | None, typer.Option(help="Preparation recipe NAME[@VERSION] whose feature steps prepare each model.")
    ] = None,
) -> None:
    """Train candidate models on a dataset version (in this process); prints the run id and its metrics."""
    from mlcore.modeling.tracking import apply_settings, default_spec, resolve_version, run_detail, submit_training
    from mlcore.store.engine import session_scope
    from mlcore.store.models import Project
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        file_settings = _settings_file(config) if config is not None else {}
        with session_scope(ws.engine) as s:
            actor_id = _actor(s).id or 0
            project_id = _project_id(s, project)
            version = resolve_version(session=s, project_id=project_id, ref=dataset)
            chosen_target = target or file_settings.get("target") or None
            base = default_spec(
                session=s, store=ws.store, project_id=project_id, version_id=version.id, target=chosen_target
            )
            task_type = s.get(Project, project_id).task_type  # type: ignore[union-attr]
            recipe_id = _recipe_ref(s, project_id, recipe).id if recipe is not None else None
        options = {
            "families": models,
            "n_splits": cv,
            "budget_s": budget_s,
            "search": search,
            "metrics": metrics,
            "seed": seed,
            "recipe_id": recipe_id,
        }
        spec = apply_settings(
            base, {**file_settings, **{k: v for k, v in options.items() if v is not None}}, task_type=task_type
        )
        job_id = submit_training(
            engine=ws.engine,
            settings=ws.settings,
            project_id=project_id,
            version_id=version.id,
            spec=spec,
            actor_id=actor_id,
            launch=False,
        )
    except MLCoreError as exc:
        raise _fail(exc) from None
    view = _run_job_with_bar(ws, job_id, "train")
    _job_outcome(view)
    run_id = int(view.result["run_id"])
    out.print(f"run {run_id}")
    with session_scope(ws.engine) as s:
        detail = run_detail(session=s, project_id=project_id, run_id=run_id)
    metric_names = list(detail.run.metrics)
    table = Table(
        "candidate", "family", *metric_names, "cv s", "size", title=f"run {run_id} · {detail.run.version_label}"
    )
    for c in detail.candidates:
        table.add_row(
            str(c.id),
            c.family,
            *_metric_cells(c.mean, c.std, metric_names),
            f"{c.cv_seconds:.1f}",
            f"{c.size_bytes / 1e6:.1f} MB",
        )
    out.print(table)
    err.print(
        f"{detail.run.n_train_rows} training rows, {detail.run.n_test_rows} locked test rows"
        + (f", {detail.run.n_unlabeled} rows without a label left out" if detail.run.n_unlabeled else ""),
        highlight=False,
    )


@runs_app.command("list")
def runs_list(
    project: Annotated[str, typer.Option(help="Project name.")],
    family: Annotated[str | None, typer.Option(help="Only this model family.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only candidates with this tag.")] = None,
    sort: Annotated[str | None, typer.Option(help="Sort by this metric, best first.")] = None,
) -> None:
    """List trained candidates, one row each (newest run first)."""
    from mlcore.modeling.tracking import family_names, list_runs, metric_text
    from mlcore.store.engine import session_scope
    from mlcore.store.models import Project
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            _actor(s)
            project_id = _project_id(s, project)
            task_type = s.get(Project, project_id).task_type  # type: ignore[union-attr]
            families = list(family_names(family, task_type=task_type)) if family else None
            frame = list_runs(
                session=s, project_id=project_id, families=families, tags=[tag] if tag else None, sort_by=sort
            )
    except MLCoreError as exc:
        raise _fail(exc) from None
    metric_names = [c for c in frame.columns if f"{c}_std" in frame.columns]
    table = Table("run", "candidate", "family", "dataset", *metric_names, "cv s", "tags", "registered", "created")
    for row in frame.to_dict("records"):
        table.add_row(
            str(row["run_id"]),
            str(row["candidate_id"]),
            row["family"],
            row["dataset"],
            *[metric_text(row[m], row[f"{m}_std"], lang=_lang()) for m in metric_names],
            f"{row['cv_seconds']:.1f}",
            ", ".join(row["tags"]),
            ", ".join(row["registered"]),
            row["created_at"].strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@runs_app.command("reproduce")
def runs_reproduce(
    run_id: Annotated[int, typer.Argument(help="The run to re-execute.")],
    project: Annotated[str, typer.Option(help="Project name.")],
) -> None:
    """Re-execute a run from its stored configuration and data version; exit 1 if a metric differs."""
    from mlcore.modeling.tracking import reproductions, submit_reproduce
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            actor_id = _actor(s).id or 0
            project_id = _project_id(s, project)
        job_id = submit_reproduce(
            engine=ws.engine,
            settings=ws.settings,
            project_id=project_id,
            run_id=run_id,
            actor_id=actor_id,
            launch=False,
        )
    except MLCoreError as exc:
        raise _fail(exc) from None
    view = _run_job_with_bar(ws, job_id, "reproduce")
    _job_outcome(view)
    with session_scope(ws.engine) as s:
        record = next(
            r
            for r in reproductions(session=s, project_id=project_id, run_id=run_id)
            if r.id == view.result["reproduction_id"]
        )
    table = Table("family", "metric", "recorded", "reproduced", "difference", "match")
    for c in record.checks:
        table.add_row(
            c.family,
            c.metric,
            f"{c.recorded:.6f}",
            f"{c.reproduced:.6f}",
            f"{c.difference:.2g}",
            "yes" if c.matches else "NO",
        )
    out.print(table)
    out.print(f"run {run_id}: {'metrics match' if record.matches else 'metrics differ'}")
    if not record.matches:
        raise typer.Exit(code=1)


@models_app.command("list")
def models_list(project: Annotated[str, typer.Option(help="Project name.")]) -> None:
    """List registered models and their versions with their stage."""
    from mlcore.modeling.tracking import list_registry, registry_frame
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            _actor(s)
            frame = registry_frame(list_registry(session=s, project_id=_project_id(s, project)), lang=_lang())
    except MLCoreError as exc:
        raise _fail(exc) from None
    table = Table("ref", "stage", "family", "run", "candidate", "metric", "value", "created")
    for row in frame.to_dict("records"):
        table.add_row(
            row["ref"],
            row["stage"],
            row["family"],
            str(row["run_id"]),
            str(row["candidate_id"]),
            row["metric"],
            row["value"],
            row["created_at"].strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@models_app.command("register")
def models_register(
    project: Annotated[str, typer.Option(help="Project name.")],
    candidate: Annotated[int, typer.Option(help="The trained candidate (see 'mlcore runs list').")],
    name: Annotated[str, typer.Option(help="The model's name, e.g. churn.")],
    description: Annotated[str, typer.Option(help="What the model predicts, for whom (new models).")] = "",
) -> None:
    """Register a trained candidate as the next version of a named model (stage: candidate)."""
    from mlcore.modeling.tracking import register_model
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            version = register_model(
                session=s,
                actor=_actor(s),
                project_id=_project_id(s, project),
                candidate_id=candidate,
                name=name,
                description=description,
            )
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"registered {version.ref} ({version.stage})")


@models_app.command("promote")
def models_promote(
    ref: Annotated[str, typer.Argument(help="Model version, e.g. churn@3.")],
    project: Annotated[str, typer.Option(help="Project name.")],
    stage: Annotated[str, typer.Option(help="candidate, staging, production or archived.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the audit trail).")] = "",
) -> None:
    """Move a model version to another stage (production archives the previous production version)."""
    from mlcore.modeling.tracking import resolve_model, transition_stage
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            actor = _actor(s)
            project_id = _project_id(s, project)
            current = resolve_model(session=s, project_id=project_id, ref=ref)
            moved = transition_stage(
                session=s,
                actor=actor,
                project_id=project_id,
                model_version_id=current.id,
                stage=stage,
                expected_version=current.version,
                reason=reason,
            )
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"{moved.ref}: {current.stage} -> {moved.stage}")


@models_app.command("export")
def models_export(
    ref: Annotated[str, typer.Argument(help="Model version, e.g. churn@3 or churn (its production version).")],
    project: Annotated[str, typer.Option(help="Project name.")],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Zip file or folder to write (default: current folder).")
    ] = None,
    lang: Annotated[str | None, typer.Option(help="Language of the model card: en or es.")] = None,
) -> None:
    """Export a model version as a package (zip): model, input schema, metrics, requirements, model card."""
    from mlcore.modeling.tracking import export_package, package_filename, resolve_model
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            actor = _actor(s)
            project_id = _project_id(s, project)
            version = resolve_model(session=s, project_id=project_id, ref=ref)
            data = export_package(
                session=s,
                store=ws.store,
                actor=actor,
                project_id=project_id,
                candidate_id=version.candidate_id,
                lang=lang or _lang(),
                title=version.ref,
            )
        target = out_path or Path.cwd()
        if target.is_dir():
            target = target / package_filename(version.ref)
        target.write_bytes(data)
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"{target} ({len(data):,} bytes)")


# --------------------------------------------------------------------------- preparation recipes (issue 7)


def _recipe_ref(session: Any, project_id: int, ref: str) -> Any:
    from mlcore.data.recipes import resolve_recipe

    return resolve_recipe(session=session, project_id=project_id, ref=ref)


def _recipe_file(path: Path) -> Any:
    from mlcore.data.prepare.recipe import MAX_RECIPE_BYTES
    from mlcore.data.recipes import parse_recipe_file
    from mlcore.errors import InputError

    if not path.is_file():
        raise _missing_file(path)
    size = path.stat().st_size
    if size > MAX_RECIPE_BYTES:
        raise InputError("prep.recipe_too_large", size=size, maximum=MAX_RECIPE_BYTES)
    return parse_recipe_file(path.read_bytes(), filename=path.name)


def _looks_like_file(ref: str) -> bool:
    return Path(ref).suffix.lower() in (".json", ".yaml", ".yml")


@recipes_app.command("apply")
def recipes_apply(
    recipe: Annotated[str, typer.Argument(help="A saved recipe NAME[@VERSION], or a .json/.yaml recipe file.")],
    project: Annotated[str, typer.Option(help="Project name.")],
    dataset: Annotated[
        str, typer.Option(help="Dataset version: its id, its label ('churn v2') or a dataset name (newest version).")
    ],
    reuse: Annotated[
        str | None,
        typer.Option(help="A version this recipe made before: reuse the values it learnt (fill values, bounds...)."),
    ] = None,
) -> None:
    """Apply a recipe's row steps to a dataset version; prints the new version's id and SHA-256."""
    from mlcore.data.versions import get_version
    from mlcore.modeling.tracking import resolve_version
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            actor_id = _actor(s).id or 0
            project_id = _project_id(s, project)
            version = resolve_version(session=s, project_id=project_id, ref=dataset)
            reused = resolve_version(session=s, project_id=project_id, ref=reuse).id if reuse else None
            if _looks_like_file(recipe):
                saved_id, given = None, _recipe_file(Path(recipe))
            else:
                saved_id, given = _recipe_ref(s, project_id, recipe).id, None
        from mlcore.data.recipes import submit_recipe_apply

        job_id = submit_recipe_apply(
            engine=ws.engine,
            settings=ws.settings,
            project_id=project_id,
            version_id=version.id,
            actor_id=actor_id,
            recipe_id=saved_id,
            recipe=given,
            reuse_states_from=reused,
            launch=False,
        )
    except MLCoreError as exc:
        raise _fail(exc) from None
    view = _run_job_with_bar(ws, job_id, "recipe")
    _job_outcome(view)
    with session_scope(ws.engine) as s:
        made = get_version(session=s, version_id=int(view.result["version_id"]))
    out.print(f"{made.id} {made.sha256}")
    err.print(
        f"{made.label}: {made.n_rows} rows x {made.n_cols} columns, from {version.label} "
        f"by {view.result['recipe']} ({view.result['rows_removed']} rows removed)",
        highlight=False,
    )


@recipes_app.command("list")
def recipes_list(project: Annotated[str, typer.Option(help="Project name.")]) -> None:
    """List every saved version of every recipe of a project."""
    from mlcore.data.recipes import list_recipes
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            _actor(s)
            recipes = list_recipes(session=s, project_id=_project_id(s, project))
    except MLCoreError as exc:
        raise _fail(exc) from None
    table = Table("id", "recipe", "steps", "row", "feature", "target", "fingerprint", "by", "created")
    for r in recipes:
        table.add_row(
            str(r.id),
            r.label,
            str(len(r.recipe.steps)),
            str(r.n_row_steps),
            str(r.n_feature_steps),
            r.recipe.target or "",
            r.fingerprint[:12],
            r.created_by,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@recipes_app.command("export")
def recipes_export(
    recipe: Annotated[str, typer.Argument(help="A saved recipe NAME[@VERSION] (default: its newest version).")],
    project: Annotated[str, typer.Option(help="Project name.")],
    format: Annotated[str, typer.Option("--format", help="yaml or json.")] = "yaml",
    out_path: Annotated[Path | None, typer.Option("--out", help="File to write (default: standard output).")] = None,
) -> None:
    """Print (or write) a saved recipe as YAML or JSON."""
    from mlcore.data.recipes import export_recipe
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            _actor(s)
            found = _recipe_ref(s, _project_id(s, project), recipe)
        text = export_recipe(found, format=format.lower())
        if out_path is not None:
            out_path.write_text(text, encoding="utf-8")
    except MLCoreError as exc:
        raise _fail(exc) from None
    if out_path is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        out.print(f"{out_path} ({found.label})")


@recipes_app.command("import")
def recipes_import(
    path: Annotated[Path, typer.Argument(help="A .json, .yaml or .yml recipe file.")],
    project: Annotated[str, typer.Option(help="Project name.")],
    name: Annotated[str | None, typer.Option(help="Save under this name (default: the name in the file).")] = None,
) -> None:
    """Save a recipe file as the next version of its name in a project."""
    from mlcore.data.recipes import import_recipe
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            actor = _actor(s)
            project_id = _project_id(s, project)
            _recipe_file(path)  # refuses a missing, oversize or bad file before reading it whole
            saved = import_recipe(
                session=s, actor=actor, project_id=project_id, data=path.read_bytes(), filename=path.name, name=name
            )
            label, recipe_id = saved.label, saved.id
    except MLCoreError as exc:
        raise _fail(exc) from None
    out.print(f"recipe {recipe_id}: {label}")


# --------------------------------------------------------------------------- monitoring (issue 12)


@monitor_app.command("check")
def monitor_check(
    project: Annotated[str, typer.Option(help="Project name.")],
    fail_on: Annotated[
        str, typer.Option(help="Lowest severity that makes the exit status non-zero: warning or critical.")
    ] = "warning",
) -> None:
    """Evaluate the project's alert rules and print the alerts that fire.

    Exit status: 0 nothing fired, 1 only warnings, 2 something critical (for cron and CI).
    """
    from mlcore.monitoring.records import check_alerts
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            result = check_alerts(session=s, project_id=_project_id(s, project), source="cli", fail_on=fail_on)
    except MLCoreError as exc:
        raise _fail(exc) from None
    lang = _lang()
    if not result.alerts:
        out.print(translate("monitor.cli.no_alerts", lang, project=project), highlight=False)
    for alert in result.alerts:
        severity = translate(f"monitoring.severity.{alert.severity}", lang)
        line = f"[{alert.severity}] {severity}: {alert.message(lang)}"
        out.print(line, highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code=result.exit_code)


@monitor_app.command("drift")
def monitor_drift(
    project: Annotated[str, typer.Option(help="Project name.")],
    model: Annotated[str, typer.Option(help="Model reference: NAME (production), NAME@3, NAME@staging...")],
    dataset: Annotated[
        str, typer.Option(help="Dataset version: its id, its label ('churn v2') or a dataset name (newest version).")
    ],
) -> None:
    """Drift of a dataset version against a model's training reference (in this process); prints the
    verdict, the drifted features and what they may mean."""
    from mlcore.modeling.tracking import resolve_model, resolve_version
    from mlcore.monitoring.records import get_drift_record, submit_drift
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        with session_scope(ws.engine) as s:
            actor_id = _actor(s).id or 0
            project_id = _project_id(s, project)
            version = resolve_version(session=s, project_id=project_id, ref=dataset)
            model_version = resolve_model(session=s, project_id=project_id, ref=model)
        job_id = submit_drift(
            engine=ws.engine,
            settings=ws.settings,
            project_id=project_id,
            actor_id=actor_id,
            model_version_id=model_version.id,
            version_id=version.id,
            launch=False,
        )
    except MLCoreError as exc:
        raise _fail(exc) from None
    view = _run_job_with_bar(ws, job_id, "drift")
    _job_outcome(view)
    lang = _lang()
    with session_scope(ws.engine) as s:
        record = get_drift_record(session=s, project_id=project_id, drift_id=int(view.result["drift_id"]))
    report = record.report
    verdict = translate(f"monitoring.status.{report.status}", lang)
    out.print(f"{version.label} vs {model_version.ref}: {verdict} ({report.n_rows:,} rows)", highlight=False)
    table = Table("feature", "status", "PSI", "KS", "JS", "missing", "unseen")
    parts = [*report.features, *([report.prediction] if report.prediction is not None else [])]
    for f in parts:
        cells = [f.psi, f.ks, f.js, f.missing_share, f.unseen_share]
        table.add_row(
            f.feature,
            translate(f"monitoring.status.{f.status}", lang),
            *["" if v != v else f"{v:.3f}" for v in cells],
        )
    out.print(table)
    for line in report.explain(lang):
        out.print(f"- {line}", highlight=False, markup=False, soft_wrap=True)


@predict_app.command("batch")
def predict_batch(
    project: Annotated[str, typer.Option(help="Project name.")],
    model: Annotated[
        str, typer.Option(help="NAME (its production version), NAME@VERSION, NAME@production or NAME@latest.")
    ],
    dataset: Annotated[
        str | None, typer.Option(help="Dataset version to score: its id, its label ('churn v2') or a dataset name.")
    ] = None,
    input_path: Annotated[Path | None, typer.Option("--input", help="CSV, Excel or Parquet file to score.")] = None,
    query: Annotated[str | None, typer.Option(help="One SELECT whose rows are scored (needs --url).")] = None,
    url: Annotated[str | None, typer.Option(help="Database URL for --query (read-only connection).")] = None,
    key: Annotated[
        str | None, typer.Option(help="Column identifying each row (default: an identifier column).")
    ] = None,
    segments: Annotated[str | None, typer.Option(help="Up to 3 columns to filter by, comma-separated.")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Probability from which a row is positive (default: saved, else 0.5).")
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Store the top three reasons of each row.")] = False,
    batch_key: Annotated[
        str | None, typer.Option("--batch-key", help="Batch name; the same name replaces the earlier batch.")
    ] = None,
) -> None:
    """Score rows with a registered model into a prediction batch (in this process; suitable for cron)."""
    from mlcore.deploy.dashboard import get_batch
    from mlcore.deploy.scoring import ScoringSource, percent_text, submit_batch_scoring
    from mlcore.errors import InputError
    from mlcore.modeling.tracking import resolve_version
    from mlcore.store.engine import session_scope
    from mlcore.workspace import open_workspace

    ws = open_workspace()
    try:
        if sum(x is not None for x in (dataset, input_path, query)) != 1:
            raise InputError("scoring.one_source")
        if url is not None and query is None:
            raise InputError("scoring.url_without_query")
        with session_scope(ws.engine) as s:
            actor_id = _actor(s).id or 0
            project_id = _project_id(s, project)
            if dataset is not None:
                source = ScoringSource.dataset_version(
                    resolve_version(session=s, project_id=project_id, ref=dataset).id
                )
        if input_path is not None:
            if not input_path.is_file():
                raise _missing_file(input_path)
            source = ScoringSource.file(input_path)
        elif query is not None:
            source = ScoringSource.sql(query, url=url or "")
        job_id = submit_batch_scoring(
            engine=ws.engine,
            settings=ws.settings,
            project_id=project_id,
            model_ref=model,
            source=source,
            actor_id=actor_id,
            key_column=key,
            segment_columns=segments or (),
            threshold=threshold,
            explain=explain,
            batch_key=batch_key,
            launch=False,
        )
    except MLCoreError as exc:
        raise _fail(exc) from None
    view = _run_job_with_bar(ws, job_id, "predict")
    _job_outcome(view)
    result = view.result
    with session_scope(ws.engine) as s:
        batch = get_batch(session=s, project_id=project_id, batch_id=int(result["batch_id"]))
    out.print(f"batch {batch.id}: {batch.batch_key}", highlight=False)
    lang = _lang()
    share = percent_text(batch.summary.share_positive, lang=lang) if batch.has_positive else "—"
    out.print(f"{batch.n_rows} rows scored with {result['model_ref']}; predicted positive: {share}", highlight=False)
    if result.get("replaced"):
        out.print(f"replaced batch {', '.join(map(str, result['replaced']))}", highlight=False)
    for finding in batch.report.findings():
        err.print(finding.message(lang), highlight=False, soft_wrap=True)


def main() -> None:
    app()
