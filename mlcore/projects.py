"""Projects: create, rename, archive and list them; every write names its actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from mlcore.audit import record_event
from mlcore.auth import require, visible_project_ids
from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.naming import check_name
from mlcore.store.models import Membership, Project, ProjectBase, User, utcnow

__all__ = [
    "ProjectCreate",
    "ProjectSummary",
    "TASK_TYPES",
    "create_project",
    "get_project",
    "get_project_by_name",
    "list_projects",
    "set_archived",
    "update_project",
]

TASK_TYPES = ("classification", "regression")


class ProjectCreate(ProjectBase):
    """What a user provides to create a project (validated through pydantic)."""


@dataclass(frozen=True)
class ProjectSummary:
    id: int
    name: str
    description: str
    task_type: str
    owner: str
    archived: bool
    version: int
    created_at: datetime


def _validate(data: ProjectCreate) -> ProjectCreate:
    name = check_name(data.name, what="project")
    if data.task_type not in TASK_TYPES:
        raise InputError("errors.task_type_unknown", task_type=str(data.task_type)[:40])
    if len(data.description) > 5000:
        raise InputError("errors.description_too_long", maximum=5000)
    return ProjectCreate(name=name, description=data.description.strip(), task_type=data.task_type)


def create_project(*, session: Session, data: ProjectCreate, actor: User) -> Project:
    """Create a project owned by ``actor``.

    Raises
    ------
    InputError
        If the name is invalid or already used, or the task type is unknown.
    PermissionDenied
        If the actor's role may not create projects.
    """
    require(session=session, user=actor, action="project.create")
    clean = _validate(data)
    if session.exec(select(Project).where(Project.name == clean.name)).first() is not None:
        raise InputError("errors.project_exists", name=clean.name)
    project = Project(**clean.model_dump(), owner_id=actor.id or 0)
    session.add(project)
    try:
        session.flush()
    except IntegrityError as exc:  # someone else created the same name meanwhile
        raise InputError("errors.project_exists", name=clean.name) from exc
    session.add(Membership(project_id=project.id or 0, user_id=actor.id or 0, role=actor.role))
    record_event(
        session=session,
        actor=actor,
        action="project.create",
        object_type="project",
        object_id=project.id or 0,
        project_id=project.id,
        after=clean.model_dump(),
    )
    session.flush()
    return project


def get_project(*, session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("errors.project_not_found", name=str(project_id))
    return project


def get_project_by_name(*, session: Session, name: str) -> Project:
    project = session.exec(select(Project).where(Project.name == name.strip())).first()
    if project is None:
        raise NotFound("errors.project_not_found", name=name[:100])
    return project


def _bump(*, session: Session, project_id: int, expected_version: int, values: dict[str, object]) -> Project:
    # Compare-and-set on ``version``: a stale save updates no row and is refused.
    result = session.execute(
        update(Project)
        .where(col(Project.id) == project_id, col(Project.version) == expected_version)
        .values(**values, version=expected_version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = get_project(session=session, project_id=project_id)
        raise ConflictError("errors.project_conflict", name=current.name, version=current.version)
    session.expire_all()
    return get_project(session=session, project_id=project_id)


def update_project(
    *, session: Session, project_id: int, expected_version: int, data: ProjectCreate, actor: User
) -> Project:
    """Rename or re-describe a project; ``expected_version`` guards against lost updates.

    Raises
    ------
    ConflictError
        If someone saved the project since ``expected_version`` was read.
    PermissionDenied
        If the actor's role in the project may not edit it.
    """
    require(session=session, user=actor, action="project.edit", project_id=project_id)
    clean = _validate(data)
    clash = session.exec(select(Project).where(Project.name == clean.name, Project.id != project_id)).first()
    if clash is not None:
        raise InputError("errors.project_exists", name=clean.name)
    before = get_project(session=session, project_id=project_id)
    old = {"name": before.name, "description": before.description, "task_type": before.task_type}
    updated = _bump(
        session=session, project_id=project_id, expected_version=expected_version, values=clean.model_dump()
    )
    new = clean.model_dump()
    record_event(
        session=session,
        actor=actor,
        action="project.edit",
        object_type="project",
        object_id=project_id,
        project_id=project_id,
        before={k: v for k, v in old.items() if new[k] != v},
        after={k: v for k, v in new.items() if old[k] != v},
    )
    return updated


def set_archived(*, session: Session, project_id: int, expected_version: int, archived: bool, actor: User) -> Project:
    """Archive (hide from the default list) or restore a project."""
    require(session=session, user=actor, action="project.archive", project_id=project_id)
    updated = _bump(
        session=session, project_id=project_id, expected_version=expected_version, values={"archived": archived}
    )
    record_event(
        session=session,
        actor=actor,
        action="project.archive" if archived else "project.restore",
        object_type="project",
        object_id=project_id,
        project_id=project_id,
        before={"archived": not archived},
        after={"archived": archived},
    )
    return updated


def list_projects(
    *, session: Session, include_archived: bool = False, for_user: User | None = None
) -> list[ProjectSummary]:
    """Projects ordered by name, with their owner's name; only those ``for_user`` may see, if given."""
    stmt = select(Project, User).join(User, col(User.id) == col(Project.owner_id)).order_by(col(Project.name))
    if for_user is not None:
        visible = visible_project_ids(session=session, user=for_user)
        if visible is not None:
            stmt = stmt.where(col(Project.id).in_(visible))
    if not include_archived:
        stmt = stmt.where(col(Project.archived).is_(False))
    return [
        ProjectSummary(
            id=p.id or 0,
            name=p.name,
            description=p.description,
            task_type=p.task_type,
            owner=u.display_name or u.name,
            archived=p.archived,
            version=p.version,
            created_at=p.created_at,
        )
        for p, u in session.exec(stmt).all()
    ]


def projects_frame(rows: list[ProjectSummary]) -> pd.DataFrame:
    """Projects as a table for display (one row each, stable column names)."""
    return pd.DataFrame(
        [
            {
                "name": p.name,
                "task_type": p.task_type,
                "owner": p.owner,
                "archived": p.archived,
                "created_at": p.created_at,
                "description": p.description,
            }
            for p in rows
        ],
        columns=["name", "task_type", "owner", "archived", "created_at", "description"],
    )


def edit_conflicts(*, started_from: dict[str, str], now_saved: ProjectSummary, mine: dict[str, str]) -> pd.DataFrame:
    """What someone else changed since an edit started, beside the user's own edit, field by field.

    Examples
    --------
    >>> from datetime import datetime
    >>> now = ProjectSummary(1, "B", "", "classification", "ana", False, 2, datetime(2026, 1, 1))
    >>> edit_conflicts(started_from={"name": "A"}, now_saved=now, mine={"name": "C"})["field"].tolist()
    ['name']
    """
    current = {"name": now_saved.name, "description": now_saved.description, "task_type": now_saved.task_type}
    rows = [
        {"field": field, "started_from": started_from.get(field, ""), "now_saved": current[field],
         "yours": mine.get(field, "")}
        for field in current
        if started_from.get(field, current[field]) != current[field]
    ]
    return pd.DataFrame(rows, columns=["field", "started_from", "now_saved", "yours"])
