"""Accounts, sign-in throttling, roles on every write path, audit trail, lost-update protection."""

from __future__ import annotations

import importlib
import inspect
import io
import pkgutil
import stat
import threading
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlmodel import select

import mlcore
from mlcore import auth
from mlcore.audit import AuditFilter, events_csv, list_events, record_event
from mlcore.auth import (
    ROLES,
    authenticate,
    can,
    create_user,
    set_member,
    set_password,
    update_user,
    user_for_identity,
)
from mlcore.data import ingest
from mlcore.data.imports import ImportTarget, import_file, save_table, submit_import
from mlcore.data.label_review import (
    apply_annotations,
    apply_review,
    save_decision,
    submit_label_effect,
    submit_label_issues,
)
from mlcore.data.labeling import LabelDecision
from mlcore.data.understanding import acknowledge_finding, save_quality_settings, submit_profile, submit_quality
from mlcore.demo import DEMO_ACCOUNTS, seed_demo
from mlcore.errors import ConflictError, InputError, PermissionDenied
from mlcore.jobs import submit_job
from mlcore.planning.records import (
    add_custom_item,
    record_decision,
    save_answer,
    save_canvas,
    submit_sufficiency,
)
from mlcore.projects import ProjectCreate, create_project, list_projects, set_archived, update_project
from mlcore.store.engine import session_scope
from mlcore.store.models import AuditEvent, User, utcnow
from mlcore.users import set_language

PW = "correct horse 1"


@pytest.fixture
def people(ws):
    """An admin, a product designer owning project P, a viewer and a domain expert who are members of P."""
    with session_scope(ws.engine) as s:
        admin = create_user(session=s, actor=None, name="root", role="admin", password=PW)
        designer = create_user(session=s, actor=admin, name="dana", role="product_designer", password=PW)
        viewer = create_user(session=s, actor=admin, name="vera", role="viewer", password=PW)
        expert = create_user(session=s, actor=admin, name="edu", role="domain_expert", password=PW)
        outsider = create_user(session=s, actor=admin, name="otto", role="data_engineer", password=PW)
        project = create_project(session=s, data=ProjectCreate(name="P"), actor=designer)
        set_member(session=s, actor=admin, project_id=project.id, user_id=viewer.id, role="viewer")
        set_member(session=s, actor=admin, project_id=project.id, user_id=expert.id, role="domain_expert")
    return {
        "admin": admin,
        "designer": designer,
        "viewer": viewer,
        "expert": expert,
        "outsider": outsider,
        "project": project.id,
    }


def test_passwords_are_hashed_never_stored(ws, people, settings):
    with session_scope(ws.engine) as s:
        user = s.exec(select(User).where(User.name == "vera")).one()
        assert user.password_hash.startswith("$argon2") and PW not in user.password_hash
    ws.engine.dispose()
    for path in settings.home.glob("ciclo.db*"):
        assert PW.encode() not in path.read_bytes()


@pytest.mark.parametrize(
    "bad,key", [("short", "errors.password_too_short"), ("aaaaaaaaaaaa", "errors.password_too_simple")]
)
def test_password_policy(ws, people, bad, key):
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        create_user(session=s, actor=people["admin"], name="newbie", role="viewer", password=bad)
    assert info.value.key == key


def test_sign_in_success_and_uniform_failures(ws, people):
    assert authenticate(engine=ws.engine, name="vera", password=PW).name == "vera"
    messages = set()
    for name, password in [("vera", "wrong password!"), ("nobody", PW)]:
        with pytest.raises(InputError) as info:
            authenticate(engine=ws.engine, name=name, password=password)
        messages.add((info.value.key, info.value.message("en")))
    with session_scope(ws.engine) as s:
        update_user(session=s, actor=people["admin"], user_id=people["viewer"].id, expected_version=1, disabled=True)
    with pytest.raises(InputError) as info:
        authenticate(engine=ws.engine, name="vera", password=PW)
    messages.add((info.value.key, info.value.message("en")))
    assert messages == {("errors.bad_credentials", "User name or password is not correct.")}


@pytest.mark.parametrize("name", ["vera", "nobody-at-all"])
def test_failed_sign_ins_slow_down_then_lock(ws, people, name):
    t0 = utcnow()
    for i in range(auth.FREE_FAILURES):
        with pytest.raises(InputError) as info:
            authenticate(engine=ws.engine, name=name, password="nope nope nope", now=t0 + timedelta(seconds=i))
        assert info.value.key == "errors.bad_credentials"
    now = t0 + timedelta(seconds=auth.FREE_FAILURES - 1)
    with pytest.raises(InputError) as info:  # must wait now, even with the right password
        authenticate(engine=ws.engine, name=name, password=PW, now=now)
    assert info.value.key == "errors.login_locked" and info.value.params["seconds"] >= 1
    # keep failing, each time after the wait: the name ends up locked for LOCK_FOR
    for _ in range(auth.LOCK_AFTER - auth.FREE_FAILURES):
        now += timedelta(minutes=1)
        with pytest.raises(InputError):
            authenticate(engine=ws.engine, name=name, password="nope nope nope", now=now)
    with pytest.raises(InputError) as info:
        authenticate(engine=ws.engine, name=name, password=PW, now=now + timedelta(minutes=5))
    assert info.value.key == "errors.login_locked" and info.value.params["seconds"] > 60
    later = now + auth.LOCK_FOR + timedelta(seconds=1)
    if name == "vera":
        assert authenticate(engine=ws.engine, name=name, password=PW, now=later).name == "vera"
        # success resets the counter: one new failure does not lock
        with pytest.raises(InputError) as info:
            authenticate(engine=ws.engine, name=name, password="nope nope nope", now=later)
        assert info.value.key == "errors.bad_credentials"
        assert authenticate(engine=ws.engine, name=name, password=PW, now=later).name == "vera"


# --- every write path re-checks the role ------------------------------------------------------------


def _loaded():
    df = pd.DataFrame({"a": [1, 2, 3], "y": [0, 1, 0]})
    return ingest.load_frame(df, source=ingest.SourceInfo(format="synthetic"))


WRITES = {
    "mlcore.projects.create_project": lambda s, ws, p, u: create_project(
        session=s, data=ProjectCreate(name="Q"), actor=u
    ),
    "mlcore.projects.update_project": lambda s, ws, p, u: update_project(
        session=s, project_id=p, expected_version=1, data=ProjectCreate(name="P2"), actor=u
    ),
    "mlcore.projects.set_archived": lambda s, ws, p, u: set_archived(
        session=s, project_id=p, expected_version=1, archived=True, actor=u
    ),
    "mlcore.data.imports.save_table": lambda s, ws, p, u: save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=_loaded(),
        where=ImportTarget(project_id=p, dataset_name="d"),
        actor_id=u.id,
        operation="synthetic",
    ),
    "mlcore.data.versions.create_version": lambda s, ws, p, u: save_table(
        engine=ws.engine,
        store=ws.store,
        loaded=_loaded(),
        where=ImportTarget(project_id=p, dataset_name="d"),
        actor_id=u.id,
        operation="synthetic",
    ),
    "mlcore.data.imports.submit_import": lambda s, ws, p, u: submit_import(
        engine=ws.engine,
        settings=ws.settings,
        where=ImportTarget(project_id=p, dataset_name="d"),
        actor_id=u.id,
        synthetic={"n_rows": 100},
    ),
    "mlcore.data.imports.import_file": lambda s, ws, p, u: import_file(
        engine=ws.engine,
        settings=ws.settings,
        path=_csv(ws),
        filename="d.csv",
        where=ImportTarget(project_id=p, dataset_name="d"),
        actor_id=u.id,
    ),
    "mlcore.jobs.submit_job": lambda s, ws, p, u: submit_job(
        session=s, kind="import_synthetic", params={}, actor_id=u.id, project_id=p
    ),
    "mlcore.data.understanding.save_quality_settings": lambda s, ws, p, u: save_quality_settings(
        session=s, actor=u, project_id=p, thresholds={}, expected_version=0
    ),
    "mlcore.data.understanding.acknowledge_finding": lambda s, ws, p, u: acknowledge_finding(
        session=s, actor=u, project_id=p, version_id=1, finding_key="duplicate_rows.warn:", note="ok"
    ),
    "mlcore.data.understanding.submit_profile": lambda s, ws, p, u: submit_profile(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=1, actor_id=u.id, launch=False
    ),
    "mlcore.data.understanding.submit_quality": lambda s, ws, p, u: submit_quality(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=1, actor_id=u.id, launch=False
    ),
    "mlcore.data.label_review.submit_label_issues": lambda s, ws, p, u: submit_label_issues(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=1, actor_id=u.id, launch=False
    ),
    "mlcore.data.label_review.submit_label_effect": lambda s, ws, p, u: submit_label_effect(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=1, actor_id=u.id, launch=False
    ),
    "mlcore.data.label_review.save_decision": lambda s, ws, p, u: save_decision(
        session=s, actor=u, project_id=p, run_id=1, row=0, decision=LabelDecision("keep")
    ),
    "mlcore.data.label_review.apply_review": lambda s, ws, p, u: apply_review(
        engine=ws.engine, store=ws.store, project_id=p, run_id=1, actor_id=u.id
    ),
    "mlcore.data.label_review.apply_annotations": lambda s, ws, p, u: apply_annotations(
        engine=ws.engine, store=ws.store, project_id=p, run_id=1, actor_id=u.id
    ),
    "mlcore.planning.records.save_canvas": lambda s, ws, p, u: save_canvas(
        session=s, project_id=p, data={"metric": "recall"}, expected_version=0, actor=u
    ),
    "mlcore.planning.records.add_custom_item": lambda s, ws, p, u: add_custom_item(
        session=s, project_id=p, question="Union consulted?", dimension="legal", owner_role="product_designer", actor=u
    ),
    "mlcore.planning.records.save_answer": lambda s, ws, p, u: save_answer(
        session=s, project_id=p, data={"item_id": "lawful_basis", "answer": "yes"}, expected_version=0, actor=u
    ),
    "mlcore.planning.records.record_decision": lambda s, ws, p, u: record_decision(
        session=s,
        project_id=p,
        outcome="no_go",
        rationale="No.",
        expected_canvas_version=0,
        expected_decision_id=None,
        actor=u,
    ),
    "mlcore.planning.records.submit_sufficiency": lambda s, ws, p, u: submit_sufficiency(
        engine=ws.engine, settings=ws.settings, project_id=p, version_id=1, target="y", actor_id=u.id, launch=False
    ),
    "mlcore.auth.create_user": lambda s, ws, p, u: create_user(
        session=s, actor=u, name="eve", role="admin", password=PW
    ),
    "mlcore.auth.update_user": lambda s, ws, p, u: update_user(
        session=s, actor=u, user_id=u.id, expected_version=1, role="admin"
    ),
    "mlcore.auth.set_password": lambda s, ws, p, u: set_password(
        session=s, actor=u, user_id=1, password="another password 2"
    ),
    "mlcore.auth.set_member": lambda s, ws, p, u: set_member(
        session=s, actor=u, project_id=p, user_id=u.id, role="admin"
    ),
}
# Writes a domain expert is allowed (answering the checklist, reviewing and applying labels).
EXPERT_MAY = {"save_answer", "save_decision", "apply_review", "apply_annotations"}
# Writes every signed-in user may do for themselves only.
SELF_SERVICE = {"mlcore.users.set_language"}
# Called only inside a write that has already checked the role.
INTERNAL = {"mlcore.audit.record_event", "mlcore.artifacts.register_artifact"}

# Each later stage lists its write paths in tests/unit/writes_<stage>.py (WRITES, and optionally
# EXPERT_MAY and INTERNAL), so that stages can be added without editing this file.
for _path in sorted(Path(__file__).parent.glob("writes_*.py")):
    _stage = importlib.import_module(f"tests.unit.{_path.stem}")
    WRITES.update(_stage.WRITES)
    EXPERT_MAY |= set(getattr(_stage, "EXPERT_MAY", ()))
    INTERNAL |= set(getattr(_stage, "INTERNAL", ()))


def _csv(ws):
    path = ws.settings.home / "d.csv"
    path.write_text("a,y\n1,0\n2,1\n", encoding="utf-8")
    return path


def _write_functions():
    found = set()
    for mod in pkgutil.walk_packages(mlcore.__path__, "mlcore."):
        if mod.name.endswith(("__main__", "env")) or ".migrations" in mod.name:
            continue
        module = __import__(mod.name, fromlist=["_"])
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            params = inspect.signature(fn).parameters
            if fn.__module__ == mod.name and not name.startswith("_") and ({"actor", "actor_id"} & set(params)):
                found.add(f"{mod.name}.{name}")
    return found


def test_every_write_path_is_covered_by_the_role_test():
    """A new write function (taking an actor) must be added to WRITES, with its role check."""
    uncovered = _write_functions() - set(WRITES) - SELF_SERVICE - INTERNAL
    assert uncovered == set()


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.parametrize("who", ["viewer", "expert", "outsider"])
def test_write_paths_refuse_users_without_the_role(ws, people, write, who):
    if who == "expert" and write.rsplit(".", 1)[1] in EXPERT_MAY:
        pytest.skip("domain experts are allowed this write")
    user = people[who]
    before = _audit_count(ws)
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied) as info:
        WRITES[write](s, ws, people["project"], user)
    assert info.value.key == "errors.permission_denied" and "admin" in info.value.params["roles"]
    assert _audit_count(ws) == before  # nothing written


def _audit_count(ws) -> int:
    with session_scope(ws.engine) as s:
        return len(s.exec(select(AuditEvent)).all())


def test_roles_allow_the_right_people(ws, people):
    p = people["project"]
    with session_scope(ws.engine) as s:
        assert can(session=s, user=people["designer"], action="project.edit", project_id=p)
        assert not can(session=s, user=people["outsider"], action="dataset.import", project_id=p)  # not a member
        set_member(session=s, actor=people["admin"], project_id=p, user_id=people["outsider"].id, role="data_engineer")
        assert can(session=s, user=people["outsider"], action="dataset.import", project_id=p)
        assert can(session=s, user=people["admin"], action="users.manage")
        assert not can(session=s, user=people["designer"], action="users.manage")
        assert [x.name for x in list_projects(session=s, for_user=people["outsider"])] == ["P"]
        newcomer = create_user(session=s, actor=people["admin"], name="nina", role="model_developer", password=PW)
        assert list_projects(session=s, for_user=newcomer) == []
        set_language(session=s, user_id=people["viewer"].id, language="es")


def test_last_admin_cannot_be_demoted(ws, people):
    with session_scope(ws.engine) as s, pytest.raises(InputError) as info:
        update_user(session=s, actor=people["admin"], user_id=people["admin"].id, expected_version=1, role="viewer")
    assert info.value.key == "errors.last_admin"


def test_first_admin_only_once(ws):
    with session_scope(ws.engine) as s:
        create_user(session=s, actor=None, name="first", role="admin", password=PW)
    with session_scope(ws.engine) as s, pytest.raises(PermissionDenied):
        create_user(session=s, actor=None, name="second", role="admin", password=PW)


def test_two_sessions_saving_the_same_project_exactly_one_wins(ws, people):
    results, barrier = [], threading.Barrier(2)

    def save(name):
        barrier.wait()
        try:
            with session_scope(ws.engine) as s:
                update_project(
                    session=s,
                    project_id=people["project"],
                    expected_version=1,
                    data=ProjectCreate(name=name),
                    actor=people["designer"],
                )
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    threads = [threading.Thread(target=save, args=(n,)) for n in ("First", "Second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict", "ok"]
    with session_scope(ws.engine) as s:
        names = [p.name for p in list_projects(session=s)]
    assert len(names) == 1 and names[0] in {"First", "Second"}


def test_audit_trail_records_who_what_and_exports_safely(ws, people):
    with session_scope(ws.engine) as s:
        update_project(
            session=s,
            project_id=people["project"],
            expected_version=1,
            data=ProjectCreate(name="P renamed"),
            actor=people["designer"],
        )
        record_event(
            session=s,
            actor=people["admin"],
            action="note",
            object_type="project",
            project_id=people["project"],
            reason='=HYPERLINK("http://evil")',
        )
    with session_scope(ws.engine) as s:
        frame = list_events(session=s, filters=AuditFilter(project_id=people["project"]))
        edit = frame[frame["action"] == "project.edit"].iloc[0]
        assert edit["actor"] == "dana" and "P renamed" in edit["after"] and "name=P" in edit["before"]
        assert set(list_events(session=s, filters=AuditFilter(actor="root"))["actor"]) == {"root"}
        assert list_events(session=s, filters=AuditFilter(project_ids=frozenset())).empty
    text = events_csv(frame).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    assert not any(str(v).startswith("=") for v in back["reason"])


def test_single_sign_on_maps_to_existing_enabled_accounts(ws, people):
    with session_scope(ws.engine) as s:
        update_user(
            session=s, actor=people["admin"], user_id=people["expert"].id, expected_version=1, email="Edu@Example.org"
        )
    with session_scope(ws.engine) as s:
        assert user_for_identity(session=s, email="edu@example.org").name == "edu"
        with pytest.raises(PermissionDenied):
            user_for_identity(session=s, email="stranger@example.org")
        with pytest.raises(InputError):
            update_user(
                session=s, actor=people["admin"], user_id=people["expert"].id, expected_version=2, email="not an email"
            )


def test_demo_accounts_one_per_role_passwords_kept_private(ws):
    first = seed_demo(engine=ws.engine, settings=ws.settings, n_rows=200)
    assert {role for _, role, _ in first.new_accounts} == set(ROLES)
    path = ws.settings.home / "demo-credentials.txt"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    name, role, password = first.new_accounts[0]
    assert authenticate(engine=ws.engine, name=name, password=password).role == role
    again = seed_demo(engine=ws.engine, settings=ws.settings, n_rows=200)
    assert again.new_accounts == () and not again.created
    assert authenticate(engine=ws.engine, name=name, password=password).role == role  # unchanged
    with session_scope(ws.engine) as s:
        viewer = s.exec(select(User).where(User.name == DEMO_ACCOUNTS["viewer"])).one()
        assert [p.name for p in list_projects(session=s, for_user=viewer)] == ["Demo: customer churn"]


def test_streamlit_config_keeps_xsrf_and_an_upload_limit():
    import tomllib
    from pathlib import Path

    config = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert 0 < config["server"]["maxUploadSize"] <= 2000
    assert config["client"]["showErrorDetails"] == "none"  # tracebacks never reach the page


def test_sql_passwords_are_never_stored(ws, people, tmp_path):
    import sqlite3

    from mlcore.data.imports import mask_url
    from mlcore.store.models import DatasetVersion, Job

    assert mask_url("postgresql://ana:s3cret@db.example/ciclo") == "postgresql://ana:***@db.example/ciclo"
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table t (x int)")
        conn.executemany("insert into t values (?)", [(i,) for i in range(30)])
    with session_scope(ws.engine) as s:
        set_member(
            session=s,
            actor=people["admin"],
            project_id=people["project"],
            user_id=people["outsider"].id,
            role="data_engineer",
        )
    url = f"sqlite:///{db}"
    submit_import(
        engine=ws.engine,
        settings=ws.settings,
        where=ImportTarget(project_id=people["project"], dataset_name="shop"),
        actor_id=people["outsider"].id,
        sql=(url, "SELECT x FROM t"),
    )
    with session_scope(ws.engine) as s:
        job = s.exec(select(Job)).one()
        # the query result was staged; only the password-free URL and the query are kept for lineage
        assert job.params["recipe"] == {"url": mask_url(url), "query": "SELECT x FROM t"}
        assert "staged_path" in job.params
    import time

    for _ in range(300):
        with session_scope(ws.engine) as s:
            if s.get(Job, job.id).status not in ("queued", "running"):
                break
        time.sleep(0.1)
    with session_scope(ws.engine) as s:
        assert s.get(Job, job.id).status == "succeeded"
        assert s.exec(select(DatasetVersion)).one().recipe["url"] == mask_url(url)
