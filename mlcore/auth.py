"""Accounts, roles and permissions: sign-in with throttling, user administration, project membership.

Every write function in mlcore calls :func:`require` with the acting user, so
the rules hold for the app, the CLI and jobs alike.
"""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select, update

from mlcore.audit import record_event
from mlcore.errors import ConflictError, InputError, NotFound, PermissionDenied
from mlcore.naming import check_name
from mlcore.store.engine import session_scope
from mlcore.store.models import LoginThrottle, Membership, Project, User, utcnow

ROLES = (
    "product_designer",
    "data_engineer",
    "model_developer",
    "deployment_engineer",
    "security_analyst",
    "ai_ethics_reviewer",
    "domain_expert",
    "viewer",
    "admin",
)
# Who may do what. "admin" may do everything; project actions look at the
# user's role in that project, global ones (no project) at the user's own role.
PERMISSIONS: dict[str, frozenset[str]] = {
    "project.create": frozenset({"product_designer"}),
    "project.edit": frozenset({"product_designer"}),
    "project.archive": frozenset({"product_designer"}),
    "project.members": frozenset(),
    "dataset.import": frozenset({"data_engineer", "model_developer"}),
    "users.manage": frozenset(),
    "audit.read": frozenset({"security_analyst", "ai_ethics_reviewer", "product_designer"}),
    "planning.edit": frozenset({"product_designer"}),
    "planning.answer": frozenset(
        {"product_designer", "data_engineer", "model_developer", "deployment_engineer", "security_analyst",
         "ai_ethics_reviewer", "domain_expert"}
    ),
    "planning.analyse": frozenset({"product_designer", "data_engineer", "model_developer"}),
    "planning.signoff": frozenset({"product_designer"}),
    "data.profile": frozenset({"data_engineer", "model_developer"}),
    "data.settings": frozenset({"data_engineer", "model_developer"}),
    "labels.detect": frozenset({"data_engineer", "model_developer"}),
    "labels.review": frozenset({"domain_expert", "data_engineer"}),
    "labels.apply": frozenset({"data_engineer", "model_developer", "domain_expert"}),
    # Data preparation (recipes)
    "recipe.edit": frozenset({"data_engineer", "model_developer"}),
    "recipe.apply": frozenset({"data_engineer", "model_developer"}),
    # Modeling
    "model.train": frozenset({"model_developer"}),
    "model.annotate": frozenset({"model_developer", "data_engineer", "domain_expert"}),
    "model.register": frozenset({"model_developer"}),
    "model.promote": frozenset({"model_developer", "deployment_engineer"}),
    "model.export": frozenset({"model_developer", "deployment_engineer"}),
    # Evaluation
    "evaluation.run": frozenset({"model_developer", "ai_ethics_reviewer"}),
    "evaluation.test_set": frozenset({"model_developer"}),
    "evaluation.decide": frozenset({"product_designer"}),
    # Interpretation
    "interpret.explain": frozenset({"model_developer", "data_engineer", "domain_expert", "ai_ethics_reviewer"}),
    "interpret.review": frozenset({"domain_expert"}),
    # Deployment
    "deploy.choose": frozenset({"deployment_engineer", "product_designer"}),
    "predict.batch": frozenset({"deployment_engineer", "model_developer"}),
    # Monitoring
    "monitor.run": frozenset({"deployment_engineer", "model_developer"}),
    "monitor.labels": frozenset({"deployment_engineer", "data_engineer"}),
    "monitor.alerts": frozenset({"deployment_engineer"}),
}
MIN_PASSWORD = 10
FREE_FAILURES = 3
LOCK_AFTER = 6
LOCK_FOR = timedelta(minutes=15)

_hasher = PasswordHasher()
# Verified against when the name is unknown, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


def allowed_roles(action: str) -> tuple[str, ...]:
    """Roles that may perform ``action`` (admin always may)."""
    if action not in PERMISSIONS:
        raise NotFound("errors.action_unknown", action=action)
    return tuple(r for r in ROLES if r in PERMISSIONS[action] or r == "admin")


def project_role(*, session: Session, user: User, project_id: int) -> str | None:
    """The user's role in a project: ``admin`` for administrators, else their membership role."""
    if user.role == "admin":
        return "admin"
    return session.exec(
        select(Membership.role).where(Membership.project_id == project_id, Membership.user_id == user.id)
    ).first()


def can(*, session: Session, user: User | None, action: str, project_id: int | None = None) -> bool:
    """Whether ``user`` may perform ``action`` (in ``project_id`` for project actions)."""
    if user is None or user.disabled:
        return False
    roles = allowed_roles(action)
    if project_id is None:
        return user.role in roles
    role = project_role(session=session, user=user, project_id=project_id)
    return role is not None and role in roles


def require(*, session: Session, user: User | None, action: str, project_id: int | None = None) -> User:
    """Return the user if allowed, else raise ``PermissionDenied`` naming the roles that are.

    Raises
    ------
    PermissionDenied
        With the roles that may perform the action, so the message can say whom to ask.
    """
    if user is None or not can(session=session, user=user, action=action, project_id=project_id):
        raise PermissionDenied(
            "errors.permission_denied",
            action=action,
            roles=", ".join(allowed_roles(action)),
            user=user.name if user else "?",
        )
    return user


def check_password_policy(password: str, *, name: str = "") -> None:
    """Refuse short or trivial passwords.

    Raises
    ------
    InputError
        If the password is shorter than ``MIN_PASSWORD``, is the user name, or one repeated character.
    """
    if len(password) < MIN_PASSWORD:
        raise InputError("errors.password_too_short", minimum=MIN_PASSWORD)
    if password.lower() == name.lower() or len(set(password)) < 4:
        raise InputError("errors.password_too_simple")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def generate_password(length: int = 16) -> str:
    """A random password from letters and digits (for demo accounts and resets)."""
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(*, engine: Engine, name: str, password: str, now: datetime | None = None) -> User:
    """Check a name and password; throttle repeated failures per typed name.

    The same message is given for an unknown name, a wrong password and a
    disabled account, and lock-outs apply to unknown names too, so nothing
    tells whether an account exists. After ``FREE_FAILURES`` failures each
    try must wait twice as long as the last (1, 2, 4 … seconds); after
    ``LOCK_AFTER`` failures the name is locked for ``LOCK_FOR``. The failure
    count is committed in its own transaction, so it holds even though the
    caller only sees an error.

    Raises
    ------
    InputError
        ``errors.bad_credentials`` or ``errors.login_locked`` (with seconds to wait).
    """
    now = now or utcnow()
    typed = (name or "").strip()
    key = typed.lower()[:100]
    with session_scope(engine) as session:
        throttle = session.get(LoginThrottle, key)
        if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
            wait = int((throttle.locked_until - now).total_seconds()) + 1
            raise InputError("errors.login_locked", seconds=wait)
        user = session.exec(select(User).where(User.name == typed)).first()
        ok = _verify(user.password_hash if user else "", password or "")
        if ok and user is not None and not user.disabled:
            if throttle is not None:
                session.delete(throttle)
            return user
        throttle = throttle or LoginThrottle(name=key)
        throttle.failures += 1
        if throttle.failures >= LOCK_AFTER:
            throttle.locked_until = now + LOCK_FOR
        elif throttle.failures >= FREE_FAILURES:
            throttle.locked_until = now + timedelta(seconds=2 ** (throttle.failures - FREE_FAILURES))
        session.add(throttle)
    raise InputError("errors.bad_credentials")


def user_for_identity(*, session: Session, email: str) -> User:
    """The enabled local account whose e-mail matches an OpenID Connect identity.

    Raises
    ------
    PermissionDenied
        If no enabled account has this e-mail (an admin must create it first).
    """
    clean = (email or "").strip().lower()
    user = session.exec(select(User).where(col(User.email) == clean)).first() if clean else None
    if user is None or user.disabled:
        raise PermissionDenied("errors.sso_unknown_user", email=clean[:200])
    return user


@dataclass(frozen=True)
class UserSummary:
    id: int
    name: str
    display_name: str
    email: str
    role: str
    disabled: bool
    version: int


def _summary(u: User) -> UserSummary:
    return UserSummary(u.id or 0, u.name, u.display_name, u.email, u.role, u.disabled, u.version)


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InputError("errors.role_unknown", role=str(role)[:40], roles=", ".join(ROLES))
    return role


def _check_email(email: str) -> str:
    clean = (email or "").strip().lower()
    if clean and (len(clean) > 300 or "@" not in clean or any(c.isspace() for c in clean)):
        raise InputError("errors.email_invalid", email=clean[:100])
    return clean


def count_admins(*, session: Session) -> int:
    return len(session.exec(select(User.id).where(User.role == "admin", col(User.disabled).is_(False))).all())


def create_user(
    *,
    session: Session,
    actor: User | None,
    name: str,
    role: str,
    password: str,
    display_name: str = "",
    email: str = "",
) -> User:
    """Create an account. Only an admin may, except the very first admin of a fresh install.

    Raises
    ------
    PermissionDenied
        If ``actor`` is not an admin (and admins already exist).
    InputError
        Bad name, role, e-mail, weak password, or the name is taken.
    """
    bootstrap = actor is None and role == "admin" and count_admins(session=session) == 0
    if not bootstrap:
        require(session=session, user=actor, action="users.manage")
    clean = check_name(name, what="user")
    _check_role(role)
    check_password_policy(password, name=clean)
    if session.exec(select(User).where(User.name == clean)).first() is not None:
        raise InputError("errors.user_exists", name=clean)
    user = User(
        name=clean,
        display_name=(display_name or clean).strip()[:200],
        role=role,
        password_hash=hash_password(password),
        email=_check_email(email),
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise InputError("errors.user_exists", name=clean) from exc
    record_event(
        session=session,
        actor=actor or user,
        action="user.create",
        object_type="user",
        object_id=user.id or 0,
        after={"name": clean, "role": role, "email": user.email},
    )
    return user


def get_user(*, session: Session, name: str) -> User:
    user = session.exec(select(User).where(User.name == (name or "").strip())).first()
    if user is None:
        raise NotFound("errors.user_not_found", name=(name or "")[:100])
    return user


def list_users(*, session: Session) -> list[UserSummary]:
    return [_summary(u) for u in session.exec(select(User).order_by(col(User.name))).all()]


def _bump_user(*, session: Session, user_id: int, expected_version: int | None, values: dict[str, object]) -> User:
    stmt = update(User).where(col(User.id) == user_id)
    if expected_version is not None:
        stmt = stmt.where(col(User.version) == expected_version)
        values = {**values, "version": expected_version + 1}
    else:
        values = {**values, "version": User.version + 1}
    if session.execute(stmt.values(**values)).rowcount != 1:  # type: ignore[attr-defined]
        if session.get(User, user_id) is None:
            raise NotFound("errors.user_not_found", name=str(user_id))
        raise ConflictError("errors.user_conflict")
    session.expire_all()
    user = session.get(User, user_id)
    assert user is not None
    return user


def update_user(
    *,
    session: Session,
    actor: User,
    user_id: int,
    expected_version: int,
    role: str | None = None,
    disabled: bool | None = None,
    display_name: str | None = None,
    email: str | None = None,
    reason: str = "",
) -> User:
    """Change an account's role, state or details (admins only); stale saves raise ``ConflictError``."""
    require(session=session, user=actor, action="users.manage")
    target = session.get(User, user_id)
    if target is None:
        raise NotFound("errors.user_not_found", name=str(user_id))
    values: dict[str, object] = {}
    if role is not None:
        values["role"] = _check_role(role)
    if disabled is not None:
        values["disabled"] = bool(disabled)
    if display_name is not None:
        values["display_name"] = display_name.strip()[:200]
    if email is not None:
        values["email"] = _check_email(email)
    losing_admin = target.role == "admin" and (values.get("role", "admin") != "admin" or values.get("disabled"))
    if losing_admin and count_admins(session=session) <= 1:
        raise InputError("errors.last_admin")
    before = {k: getattr(target, k) for k in values}
    updated = _bump_user(session=session, user_id=user_id, expected_version=expected_version, values=values)
    record_event(
        session=session,
        actor=actor,
        action="user.update",
        object_type="user",
        object_id=user_id,
        before=before,
        after=values,
        reason=reason,
    )
    return updated


def set_password(*, session: Session, actor: User, user_id: int, password: str) -> None:
    """Set a new password: admins for anyone, everyone for themselves."""
    if actor.id != user_id:
        require(session=session, user=actor, action="users.manage")
    target = session.get(User, user_id)
    if target is None:
        raise NotFound("errors.user_not_found", name=str(user_id))
    check_password_policy(password, name=target.name)
    _bump_user(
        session=session, user_id=user_id, expected_version=None, values={"password_hash": hash_password(password)}
    )
    session.execute(
        update(LoginThrottle)
        .where(col(LoginThrottle.name) == target.name.lower())
        .values(failures=0, locked_until=None)
    )
    record_event(session=session, actor=actor, action="user.password_reset", object_type="user", object_id=user_id)


@dataclass(frozen=True)
class MemberSummary:
    user_id: int
    name: str
    display_name: str
    role: str


def list_members(*, session: Session, project_id: int) -> list[MemberSummary]:
    stmt = (
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(Membership.project_id == project_id)
        .order_by(col(User.name))
    )
    return [MemberSummary(u.id or 0, u.name, u.display_name, m.role) for m, u in session.exec(stmt).all()]


def set_member(*, session: Session, actor: User, project_id: int, user_id: int, role: str | None) -> None:
    """Add a member with ``role``, change their role, or remove them (``role=None``); admins only."""
    require(session=session, user=actor, action="project.members", project_id=project_id)
    if session.get(Project, project_id) is None:
        raise NotFound("errors.project_not_found", name=str(project_id))
    target = session.get(User, user_id)
    if target is None:
        raise NotFound("errors.user_not_found", name=str(user_id))
    row = session.exec(
        select(Membership).where(Membership.project_id == project_id, Membership.user_id == user_id)
    ).first()
    before = {"role": row.role} if row else {}
    if role is None:
        if row is not None:
            session.delete(row)
    else:
        _check_role(role)
        if row is None:
            session.add(Membership(project_id=project_id, user_id=user_id, role=role))
        else:
            row.role = role
            session.add(row)
    session.flush()
    record_event(
        session=session,
        actor=actor,
        action="project.member",
        object_type="user",
        object_id=target.name,
        project_id=project_id,
        before=before,
        after={"role": role} if role else {},
    )


def visible_project_ids(*, session: Session, user: User) -> set[int] | None:
    """Projects a user may see: ``None`` (all) for admins, else those they are a member of."""
    if user.role == "admin":
        return None
    return set(session.exec(select(Membership.project_id).where(Membership.user_id == user.id)).all())


def users_frame(users: list[UserSummary], *, role_labels: dict[str, str]) -> pd.DataFrame:
    """Accounts as a table for display."""
    return pd.DataFrame(
        [
            {
                "name": u.name,
                "display": u.display_name,
                "email": u.email,
                "role": role_labels.get(u.role, u.role),
                "disabled": u.disabled,
            }
            for u in users
        ],
        columns=["name", "display", "email", "role", "disabled"],
    )


def members_frame(members: list[MemberSummary], *, role_labels: dict[str, str]) -> pd.DataFrame:
    """Project members as a table for display."""
    return pd.DataFrame(
        [{"name": m.name, "role": role_labels.get(m.role, m.role)} for m in members], columns=["name", "role"]
    )
