"""The layers hold and both languages are complete."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mlcore.errors import ConflictError, InputError, NotFound, PermissionDenied
from mlcore.i18n import LANGUAGES, catalog, translate

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_mlcore_never_imports_streamlit_or_ui():
    offenders = [p for p in (ROOT / "mlcore").rglob("*.py") if _imports(p) & {"streamlit", "ui", "pages"}]
    assert offenders == []


def test_pages_do_not_touch_sql_or_models_directly():
    for page in (ROOT / "pages").glob("*.py"):
        assert not _imports(page) & {"sqlalchemy", "sqlmodel", "sklearn", "pyarrow"}, page


def test_catalogs_have_the_same_keys():
    en, es = catalog("en"), catalog("es")
    assert set(en) == set(es)
    assert set(LANGUAGES) == {"en", "es"}


def test_placeholders_match_between_languages():
    en, es = catalog("en"), catalog("es")
    field = re.compile(r"{(\w+)")
    for key in en:
        assert set(field.findall(en[key])) == set(field.findall(es[key])), key


def _keys_used_in_code() -> set[str]:
    pattern = re.compile(r"""(?:\bt|translate|Error|page_header)\(\s*["']([a-z_]+(?:\.[a-z0-9_]+)+)["']""")
    keys: set[str] = set()
    paths = [ROOT / "app.py", *[p for folder in ("mlcore", "ui", "pages") for p in (ROOT / folder).rglob("*.py")]]
    for path in paths:
        keys |= set(pattern.findall(path.read_text(encoding="utf-8")))
    return {k for k in keys if not k.endswith(".")}


def test_every_literal_key_in_code_is_in_the_catalog():
    missing = sorted(k for k in _keys_used_in_code() if k not in catalog("en"))
    assert missing == []


def test_translate_falls_back_and_fills_params():
    assert translate("no.such.key", "es") == "no.such.key"
    assert "7" in translate("errors.upload_too_large", "es", limit_mb=7)
    assert translate("errors.upload_too_large", "en") != translate("errors.upload_too_large", "es")


@pytest.mark.parametrize("cls", [InputError, NotFound, PermissionDenied, ConflictError])
def test_errors_carry_key_and_translate(cls):
    err = cls("errors.project_exists", name="X")
    assert err.key == "errors.project_exists" and "X" in str(err) and "X" in err.message("es")
