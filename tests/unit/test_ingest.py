"""Tests for mlcore.data.ingest: formats, encodings, role inference and every kind of bad input."""

from __future__ import annotations

import json
import re
import sqlite3
import string
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mlcore.config import Limits
from mlcore.data import ingest
from mlcore.data.ingest import (
    ROLES,
    LoadedTable,
    Preview,
    SourceInfo,
    detect_format,
    infer_roles,
    load_file,
    load_frame,
    load_sql,
    preview_file,
    preview_sql,
)
from mlcore.errors import InputError

LIMITS = Limits()
LOCALES = Path(ingest.__file__).resolve().parent.parent / "locales"


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    return path


def assert_error(excinfo: pytest.ExceptionInfo[InputError], key: str) -> InputError:
    """The error has the expected key and reads as a real sentence in both languages."""
    err = excinfo.value
    assert type(err) is InputError
    assert err.key == key
    english, spanish = err.message("en"), err.message("es")
    assert english != key and spanish != key
    assert english != spanish
    # Every placeholder was filled in.
    assert not re.search(r"\{\w+\}", english) and not re.search(r"\{\w+\}", spanish)
    return err


def preview(path: Path, limits: Limits = LIMITS) -> Preview:
    return preview_file(path, filename=path.name, limits=limits)


def load(path: Path, limits: Limits = LIMITS, **kwargs: object) -> LoadedTable:
    return load_file(path, filename=path.name, limits=limits, **kwargs)  # type: ignore[arg-type]


def roles_of(p: Preview) -> dict[str, str]:
    return {c.name: c.role for c in p.columns}


# --------------------------------------------------------------------------- catalogs


def test_catalogs_cover_every_key_in_both_languages() -> None:
    en = json.loads((LOCALES / "en" / "ingest.json").read_text(encoding="utf-8"))
    es = json.loads((LOCALES / "es" / "ingest.json").read_text(encoding="utf-8"))
    assert set(en) == set(es)
    assert all(key.startswith("ingest.") for key in en)
    used = set(re.findall(r'"(ingest\.[a-z_]+)"', Path(ingest.__file__).read_text(encoding="utf-8")))
    assert used <= set(en)
    for key in en:
        fields_en = {f for _, f, _, _ in string.Formatter().parse(en[key]) if f}
        fields_es = {f for _, f, _, _ in string.Formatter().parse(es[key]) if f}
        assert fields_en == fields_es, key
        assert en[key] != es[key], key


# --------------------------------------------------------------------------- formats


def test_detect_format_prefers_content_over_extension() -> None:
    assert detect_format("a.csv", b"x,y\n1,2\n") == "csv"
    assert detect_format("a.parquet", b"") == "parquet"
    assert detect_format("renamed.csv", b"PAR1\x15\x04") == "parquet"
    assert detect_format("book.xlsx", b"PK\x03\x04rest") == "excel"
    with pytest.raises(InputError) as excinfo:
        detect_format("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
    assert_error(excinfo, "ingest.old_excel")
    with pytest.raises(InputError) as excinfo:
        detect_format("notes.docx", b"PK\x03\x04word/")
    assert_error(excinfo, "ingest.unsupported_format")


def test_utf8_csv_types_and_source(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ventas.csv",
        " id ,edad,ciudad,precio\n1,31,Lima,10.5\n2,45,Quito,3\n3,27,Lima,\n",
    )
    p = preview(path)
    assert p.source == SourceInfo(format="csv", encoding="utf-8", delimiter=",")
    assert [c.name for c in p.columns] == ["id", "edad", "ciudad", "precio"]  # stripped
    assert p.problems == ()
    info = {c.name: c for c in p.columns}
    assert info["precio"].n_missing == 1
    assert info["ciudad"].n_distinct == 2
    assert info["ciudad"].examples == ("Lima", "Quito")
    loaded = load(path)
    assert loaded.table.num_rows == 3
    assert pa.types.is_floating(loaded.table.schema.field("precio").type)
    assert loaded.table["ciudad"].to_pylist() == ["Lima", "Quito", "Lima"]


def test_utf8_bom(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.csv", "\ufeffnombre,valor\nÁrbol,1\nÑandú,2\n")
    loaded = load(path)
    assert loaded.source.encoding == "utf-8-sig"
    assert loaded.table.column_names == ["nombre", "valor"]  # no BOM glued to the first name
    assert loaded.table["nombre"].to_pylist() == ["Árbol", "Ñandú"]


def test_latin1_with_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, "comunas.csv", "comuna;region\nPeñalolén;Ñuñoa\nConcepción;Biobío\n", encoding="latin-1")
    loaded = load(path)
    assert loaded.source.encoding in ("latin-1", "cp1252")
    assert loaded.source.delimiter == ";"
    assert loaded.table.to_pydict() == {"comuna": ["Peñalolén", "Concepción"], "region": ["Ñuñoa", "Biobío"]}


def test_cp1252_specific_characters(tmp_path: Path) -> None:
    path = write(tmp_path, "precios.csv", "producto;precio\nCafé “premium”;3\nTé;4\n", encoding="cp1252")
    loaded = load(path)
    assert loaded.source.encoding == "cp1252"
    assert loaded.table["producto"].to_pylist() == ["Café “premium”", "Té"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_and_without_bom(tmp_path: Path, encoding: str) -> None:
    path = write(tmp_path, "u16.csv", "ciudad\tpoblación\nSantiago\t7000000\nValparaíso\t300000\n", encoding=encoding)
    loaded = load(path)
    assert loaded.source.encoding is not None and loaded.source.encoding.startswith("utf-16")
    assert loaded.source.delimiter == "\t"
    assert loaded.table.to_pydict() == {"ciudad": ["Santiago", "Valparaíso"], "población": [7000000, 300000]}


@pytest.mark.parametrize("delimiter", ["\t", "|", ";", ","])
def test_delimiters(tmp_path: Path, delimiter: str) -> None:
    rows = [["name", "score", "group"], ["ana", "1", "a, b"], ["luis", "2", "c"], ["eva", "3", "c"]]
    text = "\n".join(delimiter.join(f'"{v}"' if "," in v and delimiter == "," else v for v in r) for r in rows)
    path = write(tmp_path, "d.csv", text + "\n")
    loaded = load(path)
    assert loaded.source.delimiter == delimiter
    assert loaded.table.column_names == ["name", "score", "group"]
    assert loaded.table["group"].to_pylist() == ["a, b", "c", "c"]


def test_decimal_comma_with_semicolons(tmp_path: Path) -> None:
    path = write(tmp_path, "dec.csv", "producto;precio\nA;1,5\nB;2,25\nC;3\n")
    loaded = load(path)
    assert loaded.table["precio"].to_pylist() == [1.5, 2.25, 3.0]


def test_quoted_newlines_and_formula_like_values_are_data(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "q.csv",
        'id,comment\n1,"line one\nline two"\n2,=HYPERLINK("x")\n3,@SUM(A1)\n4,+1-2\n5,"\'; DROP TABLE x; --"\n',
    )
    loaded = load(path, roles={"comment": "text"})
    assert loaded.table["comment"].to_pylist() == [
        "line one\nline two",
        '=HYPERLINK("x")',
        "@SUM(A1)",
        "+1-2",
        "'; DROP TABLE x; --",
    ]


def test_quoted_newlines_across_read_blocks(tmp_path: Path) -> None:
    # Large enough to span several of pyarrow's read blocks, where a quoted line break
    # can only be handled with newlines_in_values.
    rows = "".join(f'{i},"first {i}\nsecond, line\nthird"\n' for i in range(120_000))
    path = write(tmp_path, "notes.csv", "id,comment\n" + rows)
    assert path.stat().st_size > 4 * 1024 * 1024
    loaded = load(path)
    assert loaded.table.num_rows == 120_000
    assert loaded.table["comment"][-1].as_py() == "first 119999\nsecond, line\nthird"


def test_parquet_round_trip(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {
            "amount": [1.5, 2.5, None],
            "kind": pd.Categorical(["a", "b", "a"]),
            "when": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
            "ok": [True, False, True],
        },
        index=pd.Index([10, 20, 30], name=None),
    )
    path = tmp_path / "data.parquet"
    df.to_parquet(path)
    p = preview(path)
    assert p.source.format == "parquet"
    assert roles_of(p) == {"amount": "numeric", "kind": "categorical", "when": "datetime", "ok": "boolean"}
    loaded = load(path)
    assert loaded.table.column_names == ["amount", "kind", "when", "ok"]  # no pandas index column
    assert loaded.table["kind"].to_pylist() == ["a", "b", "a"]


def test_excel_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "libro.xlsx"
    pd.DataFrame(
        {"producto": ["pan", "té", "pan"], "precio": [1.5, 2.0, 1.25], "fecha": pd.to_datetime(["2024-01-01"] * 3)}
    ).to_excel(path, index=False)
    p = preview(path)
    assert p.source.format == "excel"
    assert roles_of(p) == {"producto": "categorical", "precio": "numeric", "fecha": "datetime"}
    loaded = load(path)
    assert loaded.table["producto"].to_pylist() == ["pan", "té", "pan"]
    assert loaded.table["precio"].to_pylist() == [1.5, 2.0, 1.25]


def test_excel_mixed_cells_are_reported(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["edad", "grupo"])
    for i in range(10):
        sheet.append([20 + i, "a"])
    sheet.append(["desconocida", "b"])
    path = tmp_path / "mixed.xlsx"
    workbook.save(path)
    [problem] = preview(path).problems
    assert problem.key == "ingest.mixed_column"
    assert problem.params["example"] == "desconocida" and problem.params["row"] == 11
    assert load(path, roles={"edad": "numeric"}).table["edad"].null_count == 1


# --------------------------------------------------------------------------- roles


def role_frame() -> pd.DataFrame:
    n = 40
    return pd.DataFrame(
        {
            "customer_id": range(1000, 1000 + n),
            "age": [20 + (i * 7) % 50 for i in range(n)],
            "income": [1000.5 + i for i in range(n)],
            "plan": ["basic", "pro", "team", "basic"] * (n // 4),
            "active": ["yes", "no"] * (n // 2),
            "is_churned": [0, 1] * (n // 2),
            "clicks": [0, 1] * (n // 2),
            "signup": [f"2024-01-{1 + i % 28:02d}" for i in range(n)],
            "signup_local": [f"{1 + i % 28:02d}/03/2024" for i in range(n)],
            "comment": [f"customer number {i} said the service was fine" for i in range(n)],
            "order_code": [f"ORD-{i:05d}" for i in range(n)],
            "flag": [True, False] * (n // 2),
        }
    )


def test_infer_roles_each_role() -> None:
    assert infer_roles(role_frame()) == {
        "customer_id": "identifier",
        "age": "numeric",
        "income": "numeric",
        "plan": "categorical",
        "active": "boolean",
        "is_churned": "boolean",
        "clicks": "numeric",  # 0/1 stays a number unless the name says it is a flag
        "signup": "datetime",
        "signup_local": "datetime",
        "comment": "text",
        "order_code": "identifier",
        "flag": "boolean",
    }
    assert set(infer_roles(role_frame()).values()) == set(ROLES)


def test_load_frame_casts_to_role_types() -> None:
    loaded = load_frame(role_frame(), source=SourceInfo(format="synthetic"))
    schema = loaded.table.schema
    assert loaded.source.format == "synthetic"
    assert pa.types.is_boolean(schema.field("active").type)
    assert loaded.table["active"].to_pylist()[:2] == [True, False]
    assert pa.types.is_boolean(schema.field("is_churned").type)
    assert pa.types.is_timestamp(schema.field("signup_local").type)
    assert loaded.table["signup_local"][0].as_py().day == 1 and loaded.table["signup_local"][0].as_py().month == 3
    assert pa.types.is_string(schema.field("customer_id").type)
    assert pa.types.is_integer(schema.field("clicks").type)


def test_role_overrides(tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", "zip,score,day,member\n8320000,1,2024-05-01,1\n7500000,0,2024-05-02,0\n")
    loaded = load(path, roles={"zip": "categorical", "score": "boolean", "day": "text", "member": "boolean"})
    assert loaded.roles == {"zip": "categorical", "score": "boolean", "day": "text", "member": "boolean"}
    assert loaded.table["zip"].to_pylist() == ["8320000", "7500000"]
    assert loaded.table["score"].to_pylist() == [True, False]
    assert loaded.table["day"].to_pylist() == ["2024-05-01", "2024-05-02"]


def test_override_to_impossible_role_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", "city,n\nLima,1\nQuito,2\n")
    with pytest.raises(InputError) as excinfo:
        load(path, roles={"city": "datetime"})
    assert assert_error(excinfo, "ingest.role_impossible").params["column"] == "city"
    with pytest.raises(InputError) as excinfo:
        load(path, roles={"city": "numeric"})
    assert_error(excinfo, "ingest.role_impossible")


def test_override_unknown_column_or_role(tmp_path: Path) -> None:
    path = write(tmp_path, "o.csv", "city,n\nLima,1\nQuito,2\n")
    with pytest.raises(InputError) as excinfo:
        load(path, roles={"town": "categorical"})
    assert_error(excinfo, "ingest.unknown_column")
    with pytest.raises(InputError) as excinfo:
        load(path, roles={"city": "label"})
    assert_error(excinfo, "ingest.unknown_role")
    with pytest.raises(InputError) as excinfo:
        load(path, drop=["city", "n"])
    assert_error(excinfo, "ingest.no_columns")


# --------------------------------------------------------------------------- problems


def mixed_csv(tmp_path: Path) -> Path:
    lines = ["age,group"] + [f"{20 + i},a" for i in range(30)] + ["unknown,b", "41,b"]
    return write(tmp_path, "mixed.csv", "\n".join(lines) + "\n")


def test_mixed_column_preview_reports_and_load_refuses(tmp_path: Path) -> None:
    path = mixed_csv(tmp_path)
    p = preview(path)
    [problem] = p.problems
    assert problem.key == "ingest.mixed_column"
    assert problem.column == "age"
    assert problem.params == {"column": "age", "example": "unknown", "row": 31}
    with pytest.raises(InputError) as excinfo:
        load(path)
    err = assert_error(excinfo, "ingest.mixed_column")
    assert "unknown" in err.message("en") and "unknown" in err.message("es")


def test_mixed_column_resolved_by_role(tmp_path: Path) -> None:
    path = mixed_csv(tmp_path)
    as_number = load(path, roles={"age": "numeric"})
    assert pa.types.is_integer(as_number.table.schema.field("age").type)
    assert as_number.table["age"].null_count == 1
    as_text = load(path, roles={"age": "categorical"})
    assert as_text.table["age"].to_pylist()[30] == "unknown"
    assert load(path, drop=["age"]).table.column_names == ["group"]


def test_empty_column_preview_reports_and_drop_resolves(tmp_path: Path) -> None:
    path = write(tmp_path, "e.csv", "a,notes,b\n1,,x\n2,,y\n")
    [problem] = preview(path).problems
    assert (problem.key, problem.column) == ("ingest.empty_column", "notes")
    with pytest.raises(InputError) as excinfo:
        load(path)
    assert_error(excinfo, "ingest.empty_column")
    with pytest.raises(InputError):
        load(path, roles={"notes": "text"})  # a role does not fix an empty column
    assert load(path, drop=["notes"]).table.column_names == ["a", "b"]


def test_unnamed_empty_trailing_column_is_dropped(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", "a,b,\n1,2,\n3,4,\n")
    assert load(path).table.column_names == ["a", "b"]


# --------------------------------------------------------------------------- unreadable input


@pytest.mark.parametrize("content", [b"", b"   \n\t\n  "])
def test_empty_file(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, "empty.csv", content)
    with pytest.raises(InputError) as excinfo:
        preview(path)
    assert_error(excinfo, "ingest.empty_file")


def test_header_only(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "a,b,c\n")
    with pytest.raises(InputError) as excinfo:
        load(path)
    assert_error(excinfo, "ingest.no_rows")


def test_binary_named_csv(tmp_path: Path) -> None:
    path = write(tmp_path, "photo.csv", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(InputError) as excinfo:
        preview(path)
    assert_error(excinfo, "ingest.binary_file")


def test_ragged_row_names_its_line(tmp_path: Path) -> None:
    lines = ["a,b,c"] + [f"{i},{i},{i}" for i in range(10)] + ["1,2,3,4"] + ["5,6,7"]
    path = write(tmp_path, "r.csv", "\n".join(lines) + "\n")
    with pytest.raises(InputError) as excinfo:
        load(path)
    err = assert_error(excinfo, "ingest.ragged_row")
    assert err.params == {"line": 12, "expected": 3, "found": 4}
    assert "12" in err.message("es")


def test_short_row(tmp_path: Path) -> None:
    path = write(tmp_path, "r.csv", "a,b,c\n1,2,3\n4,5\n")
    with pytest.raises(InputError) as excinfo:
        preview(path)
    assert assert_error(excinfo, "ingest.ragged_row").params["line"] == 3


def test_duplicate_column_names(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "id,price, price,id ,x\n1,2,3,4,5\n")
    with pytest.raises(InputError) as excinfo:
        preview(path)
    err = assert_error(excinfo, "ingest.duplicate_columns")
    assert err.params["columns"] == "price, id"


def test_unnamed_column_with_data(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "a,,c\n1,2,3\n")
    with pytest.raises(InputError) as excinfo:
        preview(path)
    assert assert_error(excinfo, "ingest.empty_column_name").params["positions"] == "2"


def test_file_over_size_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = write(tmp_path, "big.csv", "a,b\n" + "1,2\n" * 1000)
    with pytest.raises(InputError) as excinfo:
        preview(path, Limits(max_upload_bytes=1000))
    assert_error(excinfo, "ingest.too_large")


def test_too_many_columns_and_cells(tmp_path: Path) -> None:
    path = write(tmp_path, "w.csv", ",".join(f"c{i}" for i in range(10)) + "\n" + ",".join("1" * 10) + "\n")
    with pytest.raises(InputError) as excinfo:
        preview(path, Limits(max_columns=5))
    assert_error(excinfo, "ingest.too_many_columns")
    with pytest.raises(InputError) as excinfo:
        preview(path, Limits(max_cells=5))
    assert_error(excinfo, "ingest.too_many_cells")


def test_invalid_bytes_after_a_long_utf8_prefix(tmp_path: Path) -> None:
    body = "".join(f"{i},Peñalolén\n" for i in range(ingest.SAMPLE_BYTES // 8))
    data = ("n,comuna\n" + body).encode("utf-8") + b"99,Pe\xf1a\n"
    assert len(data) > 2 * ingest.SAMPLE_BYTES
    path = write(tmp_path, "late.csv", data)
    with pytest.raises(InputError) as excinfo:
        preview(path)
    err = assert_error(excinfo, "ingest.bad_encoding")
    assert err.params["line"] == body.count("\n") + 2


def test_ascii_prefix_then_latin1_is_read_as_latin1(tmp_path: Path) -> None:
    body = "".join(f"{i},Santiago\n" for i in range(ingest.SAMPLE_BYTES // 8))
    data = ("n,comuna\n" + body + "99,Ñuñoa\n").encode("latin-1")
    loaded = load(write(tmp_path, "late.csv", data))
    assert loaded.source.encoding == "latin-1"
    assert loaded.table["comuna"].to_pylist()[-1] == "Ñuñoa"


# --------------------------------------------------------------------------- Excel bombs


def small_workbook(tmp_path: Path) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["a", "b"])
    sheet.append([1, "x"])
    sheet.append([2, "y"])
    path = tmp_path / "small.xlsx"
    workbook.save(path)
    return path


def rewrite_zip(source: Path, target: Path, *, dimension: str | None = None, extra: bytes | None = None) -> Path:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if dimension and item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>'.encode(), data)
            zout.writestr(item, data)
        if extra is not None:
            zout.writestr("xl/media/padding.bin", extra)
    return target


def test_excel_declared_dimension_too_big(tmp_path: Path) -> None:
    path = rewrite_zip(small_workbook(tmp_path), tmp_path / "bomb.xlsx", dimension="A1:XFD1048576")
    with pytest.raises(InputError) as excinfo:
        preview(path)
    assert_error(excinfo, "ingest.excel_too_big")


def test_excel_over_a_tiny_cell_limit(tmp_path: Path) -> None:
    path = small_workbook(tmp_path)
    with pytest.raises(InputError) as excinfo:
        preview(path, Limits(max_excel_cells=4))
    assert_error(excinfo, "ingest.excel_too_big")


def test_excel_wrong_small_dimension_still_counts_cells(tmp_path: Path) -> None:
    path = rewrite_zip(small_workbook(tmp_path), tmp_path / "lying.xlsx", dimension="A1:A1")
    with pytest.raises(InputError) as excinfo:
        preview(path, Limits(max_excel_cells=4))
    assert_error(excinfo, "ingest.excel_too_big")
    assert preview(path).frame.shape == (2, 2)  # the whole sheet, not only the declared A1


def test_excel_zip_bomb_refused_before_unpacking(tmp_path: Path) -> None:
    path = rewrite_zip(small_workbook(tmp_path), tmp_path / "zipbomb.xlsx", extra=b"\0" * (20 * 1024 * 1024))
    assert path.stat().st_size < 1024 * 1024
    with pytest.raises(InputError) as excinfo:
        preview(path, Limits(max_excel_cells=1000))
    assert_error(excinfo, "ingest.excel_bomb")


def test_corrupt_excel(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.xlsx", b"PK\x03\x04" + b"garbage" * 100)
    with pytest.raises(InputError) as excinfo:
        preview(path)
    assert_error(excinfo, "ingest.unreadable_excel")


def test_corrupt_parquet(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.parquet", b"PAR1" + b"garbage" * 100)
    with pytest.raises(InputError) as excinfo:
        preview(path)
    assert_error(excinfo, "ingest.unreadable_parquet")


def test_parquet_nested_column_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "nested.parquet"
    pq.write_table(pa.table({"a": [1, 2], "tags": [[1, 2], [3]]}), path)
    [problem] = preview(path).problems
    assert (problem.key, problem.column) == ("ingest.unsupported_type", "tags")
    assert load(path, drop=["tags"]).table.column_names == ["a"]


# --------------------------------------------------------------------------- frames


def test_load_frame_mixed_object_column() -> None:
    df = pd.DataFrame({"v": [1, 2, 3, "n/a?", 5], "k": list("abcab")})
    with pytest.raises(InputError) as excinfo:
        load_frame(df, source=SourceInfo(format="synthetic"))
    assert_error(excinfo, "ingest.mixed_column")
    loaded = load_frame(df, roles={"v": "numeric"}, source=SourceInfo(format="synthetic"))
    assert loaded.table["v"].to_pylist() == [1, 2, 3, None, 5]


def test_load_frame_duplicate_names() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a "])
    with pytest.raises(InputError) as excinfo:
        load_frame(df, source=SourceInfo(format="synthetic"))
    assert_error(excinfo, "ingest.duplicate_columns")


# --------------------------------------------------------------------------- SQL


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    path = tmp_path / "shop.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER, name TEXT, price REAL, sold TEXT)")
        conn.executemany(
            "INSERT INTO t VALUES (?, ?, ?, ?)",
            [
                (1, "pan", 1.5, "2024-01-01 10:00:00"),
                (2, "'; DROP TABLE t; --", 2.0, "2024-01-02 11:30:00"),
                (3, "té", None, "2024-01-03 09:15:00"),
            ],
        )
    return f"sqlite:///{path}"


def table_rows(url: str) -> int:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute("SELECT count(*) FROM t").fetchone()[0])


def test_sql_select(sqlite_url: str) -> None:
    p = preview_sql(sqlite_url, "SELECT * FROM t ORDER BY id", limits=LIMITS)
    assert p.source == SourceInfo(format="sql", encoding=None, delimiter=None)
    assert roles_of(p)["sold"] == "datetime"
    loaded = load_sql(sqlite_url, "WITH x AS (SELECT * FROM t) SELECT id, name, price, sold FROM x;", limits=LIMITS)
    assert loaded.table["name"].to_pylist()[1] == "'; DROP TABLE t; --"  # just data
    assert pa.types.is_timestamp(loaded.table.schema.field("sold").type)
    # A statement-looking string literal is data, not a second statement.
    malicious = load_sql(sqlite_url, "SELECT id FROM t WHERE name = '''; DROP TABLE t; --'", limits=LIMITS)
    assert malicious.table["id"].to_pylist() == ["2"]  # an id column: kept as text
    assert table_rows(sqlite_url) == 3


@pytest.mark.parametrize(
    ("query", "key"),
    [
        ("", "ingest.sql_empty"),
        ("  -- nothing\n", "ingest.sql_empty"),
        ("SELECT 1; DROP TABLE t", "ingest.sql_multiple"),
        ("SELECT * FROM t; SELECT 1", "ingest.sql_multiple"),
        ("DROP TABLE t", "ingest.sql_not_select"),
        ("DELETE FROM t", "ingest.sql_not_select"),
        ("INSERT INTO t VALUES (9, 'x', 1, NULL)", "ingest.sql_not_select"),
        ("UPDATE t SET price = 0", "ingest.sql_not_select"),
        ("PRAGMA query_only = OFF", "ingest.sql_not_select"),
        ("ATTACH DATABASE 'other.db' AS o", "ingest.sql_not_select"),
        ("WITH x AS (SELECT 1) DELETE FROM t", "ingest.sql_not_select"),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "ingest.sql_forbidden"),
        ("SELECT * INTO copy FROM t", "ingest.sql_forbidden"),
    ],
)
def test_sql_refuses_anything_but_one_select(sqlite_url: str, query: str, key: str) -> None:
    with pytest.raises(InputError) as excinfo:
        preview_sql(sqlite_url, query, limits=LIMITS)
    assert_error(excinfo, key)
    assert table_rows(sqlite_url) == 3


def test_sql_connection_is_read_only_even_if_the_check_is_bypassed(sqlite_url: str) -> None:
    with pytest.raises(InputError) as excinfo:
        ingest._run_query(sqlite_url, "DELETE FROM t RETURNING id", limits=LIMITS)
    assert "readonly" in assert_error(excinfo, "ingest.sql_error").params["reason"]
    assert table_rows(sqlite_url) == 3


def test_sql_row_cap(sqlite_url: str) -> None:
    with pytest.raises(InputError) as excinfo:
        load_sql(sqlite_url, "SELECT * FROM t", limits=Limits(max_sql_rows=2))
    assert_error(excinfo, "ingest.sql_too_many_rows")
    assert load_sql(sqlite_url, "SELECT * FROM t", limits=Limits(max_sql_rows=3)).table.num_rows == 3


def test_sql_errors_are_short_and_hide_passwords(sqlite_url: str, tmp_path: Path) -> None:
    with pytest.raises(InputError) as excinfo:
        load_sql(sqlite_url, "SELECT * FROM missing_table", limits=LIMITS)
    err = assert_error(excinfo, "ingest.sql_error")
    assert "missing_table" in err.params["reason"] and "Traceback" not in err.message("en")
    with pytest.raises(InputError) as excinfo:
        load_sql("nosuchdb://user:s3cret@host/db", "SELECT 1", limits=LIMITS)
    err = assert_error(excinfo, "ingest.sql_bad_url")
    assert "s3cret" not in err.message("en")
    with pytest.raises(InputError) as excinfo:
        load_sql("not a url", "SELECT 1", limits=LIMITS)
    assert_error(excinfo, "ingest.sql_bad_url")
    with pytest.raises(InputError) as excinfo:
        load_sql(f"sqlite:///{tmp_path / 'nope.db'}", "SELECT 1", limits=LIMITS)
    assert_error(excinfo, "ingest.sql_no_database")
    assert not (tmp_path / "nope.db").exists()


def test_sql_join_with_duplicate_names_asks_for_aliases(sqlite_url: str) -> None:
    query = "SELECT a.id, b.id FROM t AS a JOIN t AS b ON a.id = b.id"
    with pytest.raises(InputError) as excinfo:
        preview_sql(sqlite_url, query, limits=LIMITS)
    assert_error(excinfo, "ingest.sql_duplicate_columns")
    aliased = load_sql(
        sqlite_url, "SELECT a.id AS left_id, b.id AS right_id FROM t a JOIN t b ON a.id = b.id", limits=LIMITS
    )
    assert aliased.table.num_rows == 3


def test_float_ids_with_gaps_are_identifiers() -> None:
    df = pd.DataFrame({"order_id": [1.0, 2.0, None, 4.0], "amount": [1.0, 2.0, 3.0, 4.0], "code": ["1", "0", "1", "1"]})
    assert infer_roles(df) == {"order_id": "identifier", "amount": "numeric", "code": "numeric"}
