"""Validation of names users give to projects, datasets and other objects."""

from __future__ import annotations

import unicodedata

from mlcore.errors import InputError

MAX_NAME_LENGTH = 100
_FORBIDDEN = set('/\\*?"<>|')


def check_name(value: str, *, what: str) -> str:
    """Return the stripped name, or raise ``InputError`` if it is unusable.

    Names may contain letters of any language, digits, spaces and ``-_.()``;
    path characters, ``..`` and control characters are refused so a name can
    never be mistaken for a path.

    Examples
    --------
    >>> check_name("  Churn Q3 ", what="project")
    'Churn Q3'
    >>> check_name("../x", what="project")
    Traceback (most recent call last):
    ...
    mlcore.errors.InputError: The name '../x' contains characters that are not allowed ...
    """
    name = (value or "").strip()
    if not name:
        raise InputError("errors.name_empty", what=what)
    if len(name) > MAX_NAME_LENGTH:
        raise InputError("errors.name_too_long", what=what, maximum=MAX_NAME_LENGTH)
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InputError("errors.name_control_chars", what=what)
    if ".." in name or name.startswith(".") or any(ch in _FORBIDDEN for ch in name):
        raise InputError("errors.name_path_chars", what=what, name=name)
    return name
