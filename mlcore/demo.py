"""The demo project: a synthetic customer-churn dataset with planted problems, seeded idempotently."""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import select

from mlcore.artifacts import ArtifactStore, register_artifact
from mlcore.auth import ROLES, create_user, generate_password, set_member
from mlcore.config import Settings
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, Progress, _no_progress, save_table
from mlcore.projects import ProjectCreate, create_project
from mlcore.store.engine import session_scope
from mlcore.store.models import Dataset, Project, User

DEMO_PROJECT = "Demo: customer churn"
DEMO_ROWS = 20_000
DEMO_SEED = 42
# One demo account per role; the file with their passwords is written once, readable only by its owner.
DEMO_ACCOUNTS = {role: "demo-" + role.replace("_", "-") for role in ROLES}
CREDENTIALS_FILE = "demo-credentials.txt"


@dataclass(frozen=True)
class DemoSeed:
    project_id: int
    created: bool
    version_labels: tuple[str, ...]
    new_accounts: tuple[tuple[str, str, str], ...] = ()  # (name, role, password), only when just created
    credentials_path: str = ""


def _user(s: object, name: str) -> User | None:
    from sqlmodel import Session

    assert isinstance(s, Session)
    return s.exec(select(User).where(User.name == name)).first()


def ensure_demo_accounts(
    *, engine: Engine, settings: Settings, admin_name: str | None = None
) -> tuple[tuple[tuple[str, str, str], ...], str]:
    """Create the missing demo accounts (one per role) and return their passwords once.

    The first account, ``demo-admin``, is the install's first administrator
    when there is none; otherwise ``admin_name`` (an existing admin) creates them.
    Passwords are random, printed once and appended to ``$MLCORE_HOME/demo-credentials.txt``.
    """
    created: list[tuple[str, str, str]] = []
    with session_scope(engine) as s:
        admin = _user(s, admin_name) if admin_name else None
        for role in sorted(ROLES, key=lambda r: r != "admin"):
            name = DEMO_ACCOUNTS[role]
            if _user(s, name) is not None:
                continue
            actor = admin or _user(s, DEMO_ACCOUNTS["admin"])
            password = generate_password()
            create_user(
                session=s,
                actor=actor,
                name=name,
                role=role,
                password=password,
                display_name=f"Demo {role.replace('_', ' ')}",
            )
            created.append((name, role, password))
    path = settings.home / CREDENTIALS_FILE
    if created:
        settings.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            for name, role, password in created:
                fh.write(f"{name}\t{role}\t{password}\n")
    return tuple(created), str(path)


def _scaled(progress: Progress, start: float, span: float) -> Progress:
    def report(fraction: float, key: str) -> None:
        progress(start + span * fraction, key)

    return report


def seed_demo(
    *,
    engine: Engine,
    settings: Settings,
    n_rows: int = DEMO_ROWS,
    progress: Progress = _no_progress,
    admin_name: str | None = None,
) -> DemoSeed:
    """Create the demo project with this month's and next month's churn data, unless it exists.

    Running it again changes nothing (idempotent).
    """
    from mlcore.data.synthetic import make_churn

    new_accounts, credentials = ensure_demo_accounts(engine=engine, settings=settings, admin_name=admin_name)
    with session_scope(engine) as s:
        designer = _user(s, DEMO_ACCOUNTS["product_designer"])
        admin = _user(s, DEMO_ACCOUNTS["admin"])
        assert designer is not None and admin is not None
        project = s.exec(select(Project).where(Project.name == DEMO_PROJECT)).first()
        if project is None:
            project = create_project(
                session=s,
                data=ProjectCreate(
                    name=DEMO_PROJECT,
                    description=(
                        "Predict which subscription customers will cancel next month. "
                        "Synthetic data with problems planted on purpose (missing values, outliers, "
                        "duplicates, flipped labels, a leaky column) to practise every stage."
                    ),
                    task_type="classification",
                ),
                actor=designer,
            )
        project_id = project.id or 0
        for role, name in DEMO_ACCOUNTS.items():
            member = _user(s, name)
            if member is not None and role != "admin":
                set_member(session=s, actor=admin, project_id=project_id, user_id=member.id or 0, role=role)
        engineer = _user(s, DEMO_ACCOUNTS["data_engineer"])
        assert engineer is not None
        user_id = engineer.id or 0
        existing = s.exec(select(Dataset).where(Dataset.project_id == project_id)).first()
    if existing is not None:
        return DemoSeed(
            project_id=project_id,
            created=False,
            version_labels=(),
            new_accounts=new_accounts,
            credentials_path=credentials,
        )
    progress(0.05, "demo.generating")
    demo = make_churn(n_rows, random_state=DEMO_SEED)
    store = ArtifactStore(settings.artifacts_dir)
    sidecar = store.put_bytes(demo.problems.to_json().encode("utf-8"))
    with session_scope(engine) as s:
        register_artifact(session=s, ref=sidecar, kind="json", actor_id=user_id)
    labels = []
    batches = (("churn", demo.current, 0.1), ("churn_next_month", demo.next_month, 0.55))
    for name, frame, start in batches:
        loaded = ingest.load_frame(frame, source=ingest.SourceInfo(format="synthetic", encoding=None, delimiter=None))
        version = save_table(
            engine=engine,
            store=store,
            loaded=loaded,
            where=ImportTarget(project_id=project_id, dataset_name=name, target=demo.problems.target),
            actor_id=user_id,
            operation="synthetic",
            recipe={
                "generator": "churn",
                "n_rows": n_rows,
                "random_state": DEMO_SEED,
                "batch": name,
                "planted_problems_sha256": sidecar.sha256,
            },
            progress=_scaled(progress, start, 0.45),
        )
        labels.append(version.label)
    return DemoSeed(
        project_id=project_id,
        created=True,
        version_labels=tuple(labels),
        new_accounts=new_accounts,
        credentials_path=credentials,
    )
