"""Users as actors of writes (sign-in and roles come with the access issue)."""

from __future__ import annotations

from sqlmodel import Session, select

from mlcore.errors import InputError, NotFound
from mlcore.i18n import LANGUAGES
from mlcore.naming import check_name
from mlcore.store.models import User


def get_or_create_user(*, session: Session, name: str, display_name: str = "") -> User:
    """Return the user called ``name``, creating it if needed."""
    clean = check_name(name, what="user")
    user = session.exec(select(User).where(User.name == clean)).first()
    if user is None:
        user = User(name=clean, display_name=display_name or clean)
        session.add(user)
        session.flush()
    return user


def set_language(*, session: Session, user_id: int, language: str) -> User:
    """Remember the interface language a user chose.

    Raises
    ------
    InputError
        If the language is not one Ciclo speaks.
    """
    if language not in LANGUAGES:
        raise InputError("errors.language_unknown", language=language[:10])
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("errors.user_not_found", name=str(user_id))
    user.language = language
    session.add(user)
    session.flush()
    return user
