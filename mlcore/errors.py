"""Typed errors raised by mlcore; each carries a catalog key so pages and the CLI can translate it."""

from __future__ import annotations

from typing import Any


class MLCoreError(Exception):
    """Base class: ``key`` names a message in the catalogs, ``params`` fill it in.

    Examples
    --------
    >>> err = InputError("errors.upload_too_large", limit_mb=5)
    >>> err.key, err.params["limit_mb"]
    ('errors.upload_too_large', 5)
    """

    def __init__(self, key: str, **params: Any) -> None:
        self.key = key
        self.params = params
        super().__init__(key)

    def message(self, lang: str = "en") -> str:
        """Return the message translated into ``lang``."""
        from mlcore.i18n import translate

        return translate(self.key, lang, **self.params)

    def __str__(self) -> str:
        return self.message("en")


class InputError(MLCoreError):
    """Something the user can fix: a bad file, a wrong column, a bad name."""


class NotFound(MLCoreError):
    """The object asked for does not exist (or is archived)."""


class PermissionDenied(MLCoreError):
    """The actor lacks the role for this action."""


class ConflictError(MLCoreError):
    """Someone else saved first; reload and re-apply."""
