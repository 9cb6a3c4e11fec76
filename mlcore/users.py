"""A user's own preferences (accounts and roles are in :mod:`mlcore.auth`)."""

from __future__ import annotations

from sqlmodel import Session

from mlcore.errors import InputError, NotFound
from mlcore.i18n import LANGUAGES
from mlcore.store.models import User


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
