"""Message catalogs (English and Spanish) and ``translate``, shared by the app and the CLI.

Catalogs live in ``mlcore/locales/<lang>/*.json``: one file per area so that
areas can be edited independently; all files of a language are merged.
"""

from __future__ import annotations

import json
import string
from functools import cache
from pathlib import Path
from typing import Any

LANGUAGES: dict[str, str] = {"en": "English", "es": "Español"}
DEFAULT_LANGUAGE = "en"
_LOCALES = Path(__file__).parent / "locales"


@cache
def catalog(lang: str) -> dict[str, str]:
    """Return the merged catalog for ``lang``.

    Raises
    ------
    ValueError
        If a key is defined twice in the files of one language.
    """
    merged: dict[str, str] = {}
    for path in sorted((_LOCALES / lang).glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for key, value in data.items():
            if key in merged:
                raise ValueError(f"duplicate catalog key {key!r} in {path}")
            merged[key] = value
    return merged


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def translate(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """Translate ``key`` into ``lang``, filling ``{placeholders}`` from ``params``.

    Falls back to English, then to the key itself, so a missing entry never crashes a page.

    Examples
    --------
    >>> translate("app.title", "es")
    'Ciclo'
    """
    text = catalog(lang).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    if not params:
        return text
    return string.Formatter().vformat(text, (), _SafeDict(params))
