"""Projects: create, rename, archive; names validated; stale saves refused."""

from __future__ import annotations

import pytest

from mlcore.errors import ConflictError, InputError, NotFound
from mlcore.projects import (
    ProjectCreate,
    create_project,
    get_project_by_name,
    list_projects,
    projects_frame,
    set_archived,
    update_project,
)
from mlcore.store.engine import session_scope


@pytest.fixture
def actor(ws):
    from mlcore.auth import create_user

    with session_scope(ws.engine) as s:
        return create_user(session=s, actor=None, name="ana", role="admin", password="correct horse 1")


def test_create_list_rename_archive(ws, actor):
    with session_scope(ws.engine) as s:
        p = create_project(session=s, data=ProjectCreate(name="  Churn  ", description="d"), actor=actor)
        assert p.name == "Churn" and p.version == 1 and p.owner_id == actor.id
    with session_scope(ws.engine) as s:
        p2 = update_project(
            session=s,
            project_id=p.id,
            expected_version=1,
            data=ProjectCreate(name="Churn 2026", task_type="regression"),
            actor=actor,
        )
        assert (p2.name, p2.task_type, p2.version) == ("Churn 2026", "regression", 2)
    with session_scope(ws.engine) as s:
        set_archived(session=s, project_id=p.id, expected_version=2, archived=True, actor=actor)
        assert list_projects(session=s) == []
        rows = list_projects(session=s, include_archived=True)
        assert [r.archived for r in rows] == [True]
        assert list(projects_frame(rows)["name"]) == ["Churn 2026"]


@pytest.mark.parametrize("bad", ["", "   ", "../x", "/etc", "a/b", "a\\b", "x\x00y", "tab\there", "n" * 101, ".hidden"])
def test_bad_project_names_refused_and_nothing_stored(ws, actor, bad):
    with session_scope(ws.engine) as s:
        with pytest.raises(InputError) as info:
            create_project(session=s, data=ProjectCreate(name=bad), actor=actor)
        assert info.value.key.startswith("errors.name_")
        assert info.value.message("es") != info.value.message("en")
    with session_scope(ws.engine) as s:
        assert list_projects(session=s, include_archived=True) == []


def test_spanish_and_accented_names_are_fine(ws, actor):
    with session_scope(ws.engine) as s:
        p = create_project(session=s, data=ProjectCreate(name="Fuga de clientes — Ñuñoa (2026)"), actor=actor)
        assert get_project_by_name(session=s, name="Fuga de clientes — Ñuñoa (2026)").id == p.id


def test_duplicate_name_and_unknown_task(ws, actor):
    with session_scope(ws.engine) as s:
        create_project(session=s, data=ProjectCreate(name="A"), actor=actor)
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        create_project(session=s, data=ProjectCreate(name="A"), actor=actor)
    assert info.value.key == "errors.project_exists"
    with session_scope(ws.engine) as s, pytest.raises(InputError):
        create_project(session=s, data=ProjectCreate(name="B", task_type="clustering"), actor=actor)


def test_stale_save_raises_conflict_and_keeps_the_winner(ws, actor):
    with session_scope(ws.engine) as s:
        p = create_project(session=s, data=ProjectCreate(name="A"), actor=actor)
    with session_scope(ws.engine) as s:
        update_project(session=s, project_id=p.id, expected_version=1, data=ProjectCreate(name="First"), actor=actor)
    with session_scope(ws.engine) as s, pytest.raises(ConflictError):
        update_project(session=s, project_id=p.id, expected_version=1, data=ProjectCreate(name="Second"), actor=actor)
    with session_scope(ws.engine) as s:
        assert get_project_by_name(session=s, name="First").version == 2
        with pytest.raises(NotFound):
            get_project_by_name(session=s, name="Second")
