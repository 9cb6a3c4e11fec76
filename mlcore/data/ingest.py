"""Read a CSV, Parquet or Excel file, a SQL query or an in-memory frame into a typed Arrow table.

Two steps, so the page can show a preview and let the user fix problems before anything is
saved: ``preview_*`` reports what it found (column roles, blocking problems), ``load_*``
applies the user's role overrides and dropped columns and returns the validated table.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
import warnings
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from mlcore.config import Limits
from mlcore.errors import InputError

__all__ = [
    "ROLES",
    "ColumnInfo",
    "LoadedTable",
    "Preview",
    "Problem",
    "SourceInfo",
    "detect_format",
    "infer_roles",
    "load_file",
    "load_frame",
    "load_sql",
    "preview_file",
    "preview_sql",
]

ROLES = ("numeric", "categorical", "boolean", "datetime", "text", "identifier")

# Enough lines to sniff the delimiter and to tell UTF-8 from legacy encodings, small enough
# to decode in pure Python in well under a millisecond.
SAMPLE_BYTES = 1 << 16
_DELIMITERS = ",;\t|"
_CSV_EXTENSIONS = {".csv", ".tsv", ".tab", ".txt", ".dat", ""}
_EXCEL_EXTENSIONS = {".xlsx", ".xlsm", ".xltx", ".xltm"}
_PARQUET_EXTENSIONS = {".parquet", ".pq", ".parq"}
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls (and .doc) container

# Excel: bytes of sheet XML we accept per allowed cell (inline strings and styles included),
# with a floor so small limits do not refuse the fixed overhead of an ordinary workbook.
_EXCEL_BYTES_PER_CELL = 200
_EXCEL_MIN_BUDGET = 16 * 1024 * 1024
_EXCEL_MAX_RATIO = 200  # real sheets compress 10-30x; bombs compress 1000x

_NUMBER_RE = r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"
_INTEGER_RE = r"^[-+]?\d+$"
_ID_NAME = re.compile(
    r"(^|[_\s.\-])(id|uuid|guid|key|code|codigo|código|rut|dni|sku)$|^(id|uuid)([_\s.\-]|$)|^(index|unnamed: ?\d+)$",
    re.IGNORECASE,
)
_ID_CAMEL = re.compile(r"[a-z](Id|ID)$")
_FLAG_NAME = re.compile(r"^(is|has|was|can|should|es|tiene|flag)[_\s]|[_\s](flag|bool)$", re.IGNORECASE)
_FLAG_CAMEL = re.compile(r"^(is|has)[A-Z]")
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")

_TRUE_WORDS = {"true", "t", "yes", "y", "si", "sí", "s", "verdadero", "v", "1"}
_FALSE_WORDS = {"false", "f", "no", "n", "falso", "0"}
# "1"/"0" text is left out on purpose: like 0/1 integers it stays a number unless chosen.
_BOOLEAN_PAIRS = [
    {"true", "false"},
    {"t", "f"},
    {"yes", "no"},
    {"y", "n"},
    {"si", "no"},
    {"sí", "no"},
    {"s", "n"},
    {"verdadero", "falso"},
    {"v", "f"},
]

# Day-first before month-first: on a tie (every day <= 12) the Spanish-speaking majority of
# our users write dd/mm/yyyy.
_DATE_FORMATS = (
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
)
_ISO_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")
_ISO = "iso"
_DATE_SAMPLE = 2000

# A problem of one of these kinds is resolved by choosing a role for the column explicitly.
ROLE_RESOLVABLE = {"ingest.mixed_column", "ingest.mixed_dates"}

_SQL_DIALECTS = ("sqlite", "postgresql")
_SQL_FORBIDDEN_WORDS = {
    "INTO",
    "PRAGMA",
    "ATTACH",
    "DETACH",
    "VACUUM",
    "GRANT",
    "REVOKE",
    "COPY",
    "LOCK",
    "CALL",
    "EXEC",
    "EXECUTE",
    "REINDEX",
    "ANALYZE",
    "LOAD",
}
_SQL_FETCH = 10_000


@dataclass(frozen=True)
class ColumnInfo:
    """What the preview shows about one column.

    ``dtype`` is the Arrow type as read from the source (before any role cast),
    ``n_distinct`` counts distinct non-missing values and ``examples`` holds up to three
    distinct values, as text, from the first rows.
    """

    name: str
    dtype: str
    role: str
    n_missing: int
    n_distinct: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class SourceInfo:
    """Where a table came from; ``encoding`` and ``delimiter`` are set for CSV only."""

    format: str
    encoding: str | None = None
    delimiter: str | None = None


@dataclass(frozen=True)
class Problem:
    """A finding that blocks saving until the user fixes it in the preview.

    ``key`` and ``params`` form a translatable message (the same one ``load_*`` raises
    if the problem is left unresolved); ``column`` names the column it is about.
    """

    key: str
    params: dict[str, Any]
    column: str | None


@dataclass(frozen=True)
class Preview:
    """The first rows, per-column facts and blocking problems of a source."""

    frame: pd.DataFrame
    columns: tuple[ColumnInfo, ...]
    source: SourceInfo
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class LoadedTable:
    """Validated, typed data ready to be versioned, with the final role of each column."""

    table: pa.Table
    roles: dict[str, str]
    source: SourceInfo


@dataclass(frozen=True)
class _Scan:
    """What one pass over a column found: its inferred role, a blocking problem, counts."""

    role: str
    problem: Problem | None
    n_missing: int
    n_distinct: int | None
    date_format: str | None = None


# --------------------------------------------------------------------------- public API


def detect_format(filename: str, head: bytes) -> str:
    """Tell which reader a file needs from its first bytes and, failing that, its name.

    The content wins over the extension, so a workbook renamed to ``.csv`` still opens.

    Parameters
    ----------
    filename : str
        The name the user gave the file (only its extension is used).
    head : bytes
        The first bytes of the file (a few hundred are enough).

    Returns
    -------
    str
        ``"csv"``, ``"parquet"`` or ``"excel"``.

    Raises
    ------
    InputError
        ``ingest.old_excel`` for a legacy ``.xls`` workbook,
        ``ingest.unsupported_format`` for anything else we cannot read.

    Examples
    --------
    >>> detect_format("ventas.csv", b"a,b\\n1,2\\n")
    'csv'
    >>> detect_format("data.bin", b"PAR1\\x15\\x04")
    'parquet'
    """
    ext = Path(filename).suffix.lower()
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        if ext in _EXCEL_EXTENSIONS or b"xl/" in head or b"[Content_Types].xml" in head:
            return "excel"
        raise InputError("ingest.unsupported_format", name=filename)
    if head.startswith(_OLE2_MAGIC) or ext == ".xls":
        raise InputError("ingest.old_excel", name=filename)
    if ext in _PARQUET_EXTENSIONS:
        return "parquet"
    if ext in _EXCEL_EXTENSIONS:
        return "excel"
    if ext in _CSV_EXTENSIONS:
        return "csv"
    raise InputError("ingest.unsupported_format", name=filename)


def preview_file(path: Path, *, filename: str, limits: Limits, nrows: int = 200) -> Preview:
    """Read a whole file and describe it, reporting problems instead of raising them.

    The whole file is read (not only ``nrows``) so that a bad value far down a column is
    reported here rather than surprising the user at save time.

    Parameters
    ----------
    path : Path
        The uploaded file on disk.
    filename : str
        The user's name for it; its extension helps tell the format.
    limits : Limits
        Size limits, checked before the file is read whole.
    nrows : int, default 200
        Rows to keep in ``Preview.frame`` for display.

    Returns
    -------
    Preview

    Raises
    ------
    InputError
        If the file cannot be read at all: too large, empty, binary, bad encoding,
        ragged rows, duplicate or empty column names, an Excel zip bomb.
    """
    table, source = _read_file(Path(path), filename=filename, limits=limits)
    return _build_preview(table, source, nrows=nrows)


def load_file(
    path: Path,
    *,
    filename: str,
    limits: Limits,
    roles: Mapping[str, str] | None = None,
    drop: Sequence[str] = (),
) -> LoadedTable:
    """Read a file into a typed Arrow table, applying role overrides and dropped columns.

    Parameters
    ----------
    path : Path
        The uploaded file on disk.
    filename : str
        The user's name for it; its extension helps tell the format.
    limits : Limits
        Size limits, checked before the file is read whole.
    roles : mapping of str to str, optional
        Column -> role chosen by the user; other columns keep their inferred role.
        Choosing a role for a column that mixes numbers and text resolves that problem.
    drop : sequence of str, default ()
        Columns to leave out (the fix for an all-empty column).

    Returns
    -------
    LoadedTable

    Raises
    ------
    InputError
        For everything ``preview_file`` raises, for every problem it reports that
        ``roles``/``drop`` leave unresolved, and for an override the values cannot take.
    """
    table, source = _read_file(Path(path), filename=filename, limits=limits)
    return _finish(table, source, roles=roles, drop=drop)


def preview_sql(url: str, query: str, *, limits: Limits, nrows: int = 200) -> Preview:
    """Run a single read-only ``SELECT`` and describe its result like ``preview_file``.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL (SQLite or PostgreSQL).
    query : str
        One ``SELECT`` (or ``WITH ... SELECT``) statement.
    limits : Limits
        ``max_sql_rows``, ``max_columns`` and ``max_cells`` are enforced while fetching.
    nrows : int, default 200
        Rows to keep in ``Preview.frame``.

    Returns
    -------
    Preview

    Raises
    ------
    InputError
        If the query is not a single SELECT, the URL is bad, the connection or the query
        fails, or the result is too large.
    """
    table = _read_sql(url, query, limits=limits)
    return _build_preview(table, SourceInfo(format="sql"), nrows=nrows)


def load_sql(
    url: str,
    query: str,
    *,
    limits: Limits,
    roles: Mapping[str, str] | None = None,
    drop: Sequence[str] = (),
) -> LoadedTable:
    """Run a single read-only ``SELECT`` into a typed Arrow table.

    Parameters are those of ``preview_sql`` plus ``roles`` and ``drop`` as in ``load_file``.

    Returns
    -------
    LoadedTable

    Raises
    ------
    InputError
        For everything ``preview_sql`` raises and for unresolved problems.
    """
    table = _read_sql(url, query, limits=limits)
    return _finish(table, SourceInfo(format="sql"), roles=roles, drop=drop)


def load_frame(
    df: pd.DataFrame,
    *,
    roles: Mapping[str, str] | None = None,
    drop: Sequence[str] = (),
    source: SourceInfo,
) -> LoadedTable:
    """Validate an in-memory frame (synthetic data, a transformed dataset) like a file.

    Parameters
    ----------
    df : pandas.DataFrame
        The data; its index is not kept.
    roles, drop
        As in ``load_file``.
    source : SourceInfo
        Recorded as is, e.g. ``SourceInfo(format="synthetic")``.

    Returns
    -------
    LoadedTable

    Raises
    ------
    InputError
        For duplicate or empty column names, no rows, and unresolved problems.

    Examples
    --------
    >>> df = pd.DataFrame({"age": [31, 45, 27], "city": ["Lima", "Quito", "Lima"]})
    >>> loaded = load_frame(df, source=SourceInfo(format="synthetic"))
    >>> loaded.roles
    {'age': 'numeric', 'city': 'categorical'}
    """
    table = _clean_names(_table_from_frame(df))
    if table.num_rows == 0:
        raise InputError("ingest.no_rows")
    return _finish(table, source, roles=roles, drop=drop)


def infer_roles(df: pd.DataFrame) -> dict[str, str]:
    """Guess the role of every column of a frame.

    Parameters
    ----------
    df : pandas.DataFrame

    Returns
    -------
    dict of str to str
        Column name (stripped) -> one of ``ROLES``.

    Raises
    ------
    InputError
        For duplicate or empty column names.

    Examples
    --------
    >>> df = pd.DataFrame({"customer_id": [10, 11, 12], "paid": ["yes", "no", "yes"]})
    >>> infer_roles(df)
    {'customer_id': 'identifier', 'paid': 'boolean'}
    """
    table = _clean_names(_table_from_frame(df))
    return {name: _scan_column(name, table[name], exact=False).role for name in table.column_names}


# --------------------------------------------------------------------------- files


def _read_file(path: Path, *, filename: str, limits: Limits) -> tuple[pa.Table, SourceInfo]:
    try:
        size = path.stat().st_size
    except OSError:
        raise InputError("ingest.unreadable_file", name=filename) from None
    if size > limits.max_upload_bytes:
        raise InputError("ingest.too_large", size_mb=_mb(size), limit_mb=_mb(limits.max_upload_bytes))
    if size == 0:
        raise InputError("ingest.empty_file")
    with path.open("rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    kind = detect_format(filename, head)
    if kind == "csv":
        table, source = _read_csv(path, head=head, whole=size <= SAMPLE_BYTES, limits=limits)
    elif kind == "parquet":
        table, source = _read_parquet(path, limits=limits), SourceInfo(format="parquet")
    else:
        table, source = _read_excel(path, limits=limits), SourceInfo(format="excel")
    table = _clean_names(table)
    _check_shape(table, limits)
    if table.num_rows == 0:
        raise InputError("ingest.no_rows")
    return table, source


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.3g}"


def _check_shape(table: pa.Table, limits: Limits) -> None:
    if table.num_columns > limits.max_columns:
        raise InputError("ingest.too_many_columns", count=table.num_columns, limit=limits.max_columns)
    cells = table.num_rows * table.num_columns
    if cells > limits.max_cells:
        raise InputError("ingest.too_many_cells", cells=cells, limit=limits.max_cells)


def _clean_names(table: pa.Table) -> pa.Table:
    """Strip names; drop unnamed empty columns (a trailing delimiter); refuse other bad names."""
    names = [str(n).strip() for n in table.column_names]
    keep = [i for i, n in enumerate(names) if n or table.column(i).null_count < table.num_rows]
    unnamed = [str(i + 1) for i in keep if not names[i]]
    if unnamed:
        raise InputError("ingest.empty_column_name", positions=", ".join(unnamed))
    seen: set[str] = set()
    dupes: list[str] = []
    for i in keep:
        if names[i] in seen and names[i] not in dupes:
            dupes.append(names[i])
        seen.add(names[i])
    if dupes:
        raise InputError("ingest.duplicate_columns", columns=", ".join(dupes))
    return pa.Table.from_arrays([table.column(i) for i in keep], names=[names[i] for i in keep])


# --------------------------------------------------------------------------- CSV


def _read_csv(path: Path, *, head: bytes, whole: bool, limits: Limits) -> tuple[pa.Table, SourceInfo]:
    encoding = _detect_encoding(head, whole=whole)
    text = _decode_sample(head, encoding, whole=whole)
    # A sample of pure whitespace is the whole story for a small file; for a big one
    # pyarrow finds the first non-blank line or reports an empty file.
    if whole and not text.strip():
        raise InputError("ingest.empty_file")
    delimiter = _detect_delimiter(text)
    header = next(iter(_sample_records(text, delimiter, limit=1)), [])
    if len(header) > limits.max_columns:
        raise InputError("ingest.too_many_columns", count=len(header), limit=limits.max_columns)
    decimal_point = _detect_decimal_point(text, delimiter)
    table = _arrow_csv(path, encoding=encoding, delimiter=delimiter, decimal_point=decimal_point)
    if encoding in ("utf-8", "utf-8-sig") and any(pa.types.is_binary(f.type) for f in table.schema):
        # pyarrow keeps invalid UTF-8 as a binary column rather than failing.
        line = _find_bad_bytes(path, encoding) or 1
        fallback = None if _has_non_ascii(head) else _legacy_encoding_near(path, line)
        if fallback is None:
            raise InputError("ingest.bad_encoding", encoding=encoding, line=line)
        # The sample was plain ASCII, so "UTF-8" was only a guess; the first accented
        # letter shows the file is in a legacy Western encoding (an Excel "CSV" export).
        encoding = fallback
        table = _arrow_csv(path, encoding=encoding, delimiter=delimiter, decimal_point=decimal_point)
    return table, SourceInfo(format="csv", encoding=encoding, delimiter=delimiter)


def _arrow_csv(path: Path, *, encoding: str, delimiter: str, decimal_point: str) -> pa.Table:
    read_options = pacsv.ReadOptions(
        # pyarrow skips a UTF-8 BOM itself, and its native UTF-8 path is the fast one.
        encoding="utf8" if encoding in ("utf-8", "utf-8-sig") else encoding,
        use_threads=True,
        block_size=1 << 22,
    )
    parse_options = pacsv.ParseOptions(
        delimiter=delimiter,
        # Quoted values with line breaks are common in exported comments; without this a
        # block boundary inside such a value breaks the parse.
        newlines_in_values=True,
        ignore_empty_lines=True,
    )
    options = pacsv.ConvertOptions(strings_can_be_null=True, decimal_point=decimal_point)
    try:
        return pacsv.read_csv(path, read_options=read_options, parse_options=parse_options, convert_options=options)
    except UnicodeDecodeError:
        raise _bad_encoding(path, encoding) from None
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "Empty CSV file" in message:
            raise InputError("ingest.empty_file") from None
        if re.search(r"Expected \d+ columns, got \d+", message):
            found = _find_ragged_row(path, encoding=encoding, delimiter=delimiter)
            if found is not None:
                line, expected, got = found
                raise InputError("ingest.ragged_row", line=line, expected=expected, found=got) from None
        if "UTF8" in message or "UTF-8" in message:
            raise _bad_encoding(path, encoding) from None
        raise InputError("ingest.unreadable_csv", reason=_short(message)) from None
    except (pa.ArrowException, OSError, ValueError, LookupError) as exc:
        raise InputError("ingest.unreadable_csv", reason=_short(str(exc))) from None


def _bad_encoding(path: Path, encoding: str) -> InputError:
    return InputError("ingest.bad_encoding", encoding=encoding, line=_find_bad_bytes(path, encoding) or 1)


def _detect_encoding(head: bytes, *, whole: bool) -> str:
    """Name the encoding of a CSV sample: BOM, then UTF-16 without BOM, UTF-8, legacy."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        utf16 = _utf16_without_bom(head)
        if utf16 is None:
            raise InputError("ingest.binary_file")
        return utf16
    try:
        # Incremental and not final: a multibyte character cut by the end of the sample
        # is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=whole)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    controls = sum(head.count(bytes([b])) for b in (*range(1, 9), *range(14, 27), *range(28, 32)))
    if controls > len(head) // 100:
        raise InputError("ingest.binary_file")
    return _legacy_encoding(head)


def _utf16_without_bom(head: bytes) -> str | None:
    sample = head[:4096]
    pairs = len(sample) // 2
    if pairs == 0:
        return None
    nul_even = sample[0::2].count(0) / pairs
    nul_odd = sample[1::2].count(0) / pairs
    # Text in a Latin script stored as UTF-16 has a NUL in (nearly) every other byte.
    if nul_odd > 0.3 and nul_even < 0.05:
        encoding = "utf-16-le"
    elif nul_even > 0.3 and nul_odd < 0.05:
        encoding = "utf-16-be"
    else:
        return None
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample[: pairs * 2], final=False)
    except UnicodeDecodeError:
        return None
    return encoding


def _has_non_ascii(data: bytes) -> bool:
    return not data.isascii()


def _legacy_encoding(head: bytes) -> str:
    """Name a non-UTF-8 encoding, preferring the Western ones our users' Excel writes."""
    high = len(head) - len(head.translate(None, bytes(range(0x80, 0x100))))
    letters = sum(1 for b in head if 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A)
    try:
        head.decode("cp1252")
        cp1252_ok = True
    except UnicodeDecodeError:
        cp1252_ok = False
    # In Spanish, French or German text accented letters are a minority inside mostly-ASCII
    # words; in Cyrillic or Greek legacy text nearly every letter is a high byte.
    # charset-normalizer guesses badly on short Western samples, so it only decides the rest.
    if cp1252_ok and high <= 0.3 * (high + letters):
        return "cp1252" if any(0x80 <= b <= 0x9F for b in head) else "latin-1"
    from charset_normalizer import from_bytes

    match = from_bytes(head).best()
    if match is None:
        return "latin-1"
    name = codecs.lookup(match.encoding).name
    return {"iso8859-1": "latin-1"}.get(name, name)


def _legacy_encoding_near(path: Path, line: int) -> str | None:
    """Guess a Western legacy encoding from the text around the first non-UTF-8 line."""
    offset = _offset_of_line(path, line)
    with path.open("rb") as fh:
        fh.seek(max(0, offset - SAMPLE_BYTES // 2))
        window = fh.read(SAMPLE_BYTES)
    encoding = _legacy_encoding(window)
    return encoding if encoding in ("latin-1", "cp1252") else None


def _offset_of_line(path: Path, line: int) -> int:
    offset = 0
    seen = 1
    with path.open("rb") as fh:
        while seen < line and (chunk := fh.read(1 << 20)):
            count = chunk.count(b"\n")
            if seen + count >= line:
                pos = -1
                for _ in range(line - seen):
                    pos = chunk.index(b"\n", pos + 1)
                return offset + pos + 1
            seen += count
            offset += len(chunk)
    return offset


def _decode_sample(head: bytes, encoding: str, *, whole: bool) -> str:
    text = head.decode(encoding, errors="replace")
    if not whole and "\n" in text:
        # Drop the last, probably cut, line so it cannot skew the delimiter count.
        text = text[: text.rindex("\n") + 1]
    return text


def _sample_records(text: str, delimiter: str, *, limit: int) -> list[list[str]]:
    """Parse up to ``limit`` non-empty records of the sample; stop quietly where it breaks."""
    records: list[list[str]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if record:
                records.append(record)
                if len(records) >= limit:
                    break
    except csv.Error:
        pass  # pyarrow reads the whole file and reports what is really wrong
    return records


def _detect_delimiter(text: str) -> str:
    sample = "\n".join(text.splitlines()[:100])
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    scores = {d: _delimiter_score(text, d) for d in _DELIMITERS}
    # The Sniffer's guess stands when it splits the header and most rows alike; it can
    # be fooled (for example by a delimiter inside quoted text), then counting decides.
    if sniffed is not None and scores[sniffed][1] > 1 and scores[sniffed][0] >= 0.9:
        return sniffed
    best = max(_DELIMITERS, key=lambda d: scores[d])
    return best if scores[best][1] > 1 else ","


def _delimiter_score(text: str, delimiter: str) -> tuple[float, int]:
    """Fraction of records with as many fields as the header, and the header's field count."""
    records = _sample_records(text, delimiter, limit=100)
    if not records:
        return (0.0, 0)
    width = len(records[0])
    if len(records) == 1:
        return (1.0, width)
    same = sum(1 for r in records[1:] if len(r) == width)
    return (same / (len(records) - 1), width)


def _detect_decimal_point(text: str, delimiter: str) -> str:
    """Use a decimal comma when a non-comma-delimited sample writes numbers that way only."""
    if delimiter == ",":
        return "."
    comma = dot = 0
    for record in _sample_records(text, delimiter, limit=500)[1:]:
        for value in record:
            value = value.strip()
            if re.fullmatch(r"[-+]?\d+,\d+", value):
                comma += 1
            elif re.fullmatch(r"[-+]?\d*\.\d+", value):
                dot += 1
    return "," if comma and not dot else "."


def _find_bad_bytes(path: Path, encoding: str) -> int | None:
    """Return the line (1-based) of the first byte sequence that is not valid ``encoding``."""
    decoder = codecs.getincrementaldecoder(encoding)()
    line = 1
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            try:
                line += decoder.decode(chunk).count("\n")
            except UnicodeDecodeError as exc:
                good = codecs.decode(chunk[: max(exc.start, 0)], encoding, errors="replace")
                return line + good.count("\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return line
    return None


def _find_ragged_row(path: Path, *, encoding: str, delimiter: str) -> tuple[int, int, int] | None:
    """Return (line, expected fields, found fields) of the first row unlike the header."""
    python_encoding = "utf-8-sig" if encoding == "utf-8" else encoding
    with path.open(encoding=python_encoding, errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                return None
            for record in reader:
                if record and len(record) != len(header):
                    return reader.line_num, len(header), len(record)
        except csv.Error:
            return None
    return None


def _short(message: str) -> str:
    first = message.strip().splitlines()[0] if message.strip() else ""
    return first[:300]


# --------------------------------------------------------------------------- Parquet


def _read_parquet(path: Path, *, limits: Limits) -> pa.Table:
    try:
        parquet = pq.ParquetFile(path)
        n_columns = len(parquet.schema_arrow)
        if n_columns > limits.max_columns:
            raise InputError("ingest.too_many_columns", count=n_columns, limit=limits.max_columns)
        cells = parquet.metadata.num_rows * n_columns
        if cells > limits.max_cells:
            raise InputError("ingest.too_many_cells", cells=cells, limit=limits.max_cells)
        table = parquet.read()
        # Parquet readers trust the file; a damaged one can hold invalid UTF-8 that would
        # only fail later, deep inside a computation.
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError("ingest.unreadable_parquet", reason=_short(str(exc))) from None
    # pandas stores a non-default index as an extra column; it is not data.
    keep = [n for n in table.column_names if not _PANDAS_INDEX.match(n)]
    table = table.select(keep)
    return _decode_dictionaries(table)


def _decode_dictionaries(table: pa.Table) -> pa.Table:
    columns = [pc.cast(col, col.type.value_type) if pa.types.is_dictionary(col.type) else col for col in table.columns]
    return pa.Table.from_arrays(columns, names=table.column_names)


# --------------------------------------------------------------------------- Excel


def _read_excel(path: Path, *, limits: Limits) -> pa.Table:
    _check_excel_zip(path, limits=limits)
    import openpyxl

    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and extensions it ignores; they do not affect values.
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                return _read_first_sheet(workbook, limits=limits)
            finally:
                workbook.close()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed workbook makes openpyxl raise almost anything
        raise InputError("ingest.unreadable_excel", reason=_short(f"{type(exc).__name__}: {exc}")) from None


def _check_excel_zip(path: Path, *, limits: Limits) -> None:
    """Refuse zip bombs from the central directory, before any XML is decompressed."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except Exception as exc:  # noqa: BLE001 - a damaged archive raises BadZipFile, NotImplementedError, ...
        raise InputError("ingest.unreadable_excel", reason=_short(f"{type(exc).__name__}: {exc}")) from None
    budget = max(_EXCEL_MIN_BUDGET, limits.max_excel_cells * _EXCEL_BYTES_PER_CELL)
    total = sum(e.file_size for e in entries)
    squeezed = any(
        e.file_size > _EXCEL_MIN_BUDGET and e.file_size > _EXCEL_MAX_RATIO * max(e.compress_size, 1) for e in entries
    )
    if total > budget or squeezed:
        raise InputError("ingest.excel_bomb", size_mb=_mb(total))


def _read_first_sheet(workbook: Any, *, limits: Limits) -> pa.Table:
    if not workbook.worksheets:
        raise InputError("ingest.empty_file")
    sheet = workbook.worksheets[0]
    declared_rows, declared_cols = sheet.max_row or 0, sheet.max_column or 0
    if declared_rows * declared_cols > limits.max_excel_cells:
        raise InputError("ingest.excel_too_big", cells=declared_rows * declared_cols, limit=limits.max_excel_cells)
    # Some writers declare a wrong (too small) dimension, and openpyxl would stop reading
    # there; read what is really in the sheet, guarded by the cell count below.
    sheet.reset_dimensions()
    header: list[Any] | None = None
    columns: list[list[Any]] = []
    cells = 0
    for row in sheet.iter_rows(values_only=True):
        # The declared dimension can lie; count what is really there.
        cells += len(row)
        if cells > limits.max_excel_cells:
            raise InputError("ingest.excel_too_big", cells=cells, limit=limits.max_excel_cells)
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
            continue
        if header is None:
            header = list(row)
            if len(header) > limits.max_columns:
                raise InputError("ingest.too_many_columns", count=len(header), limit=limits.max_columns)
            columns = [[] for _ in header]
            continue
        if len(row) > len(header):
            extra = len(row) - len(header)
            header.extend([None] * extra)
            n_before = len(columns[0]) if columns else 0
            columns.extend([[None] * n_before for _ in range(extra)])
        for i, column in enumerate(columns):
            column.append(row[i] if i < len(row) else None)
    if header is None:
        raise InputError("ingest.empty_file")
    names = ["" if h is None else _cell_text(h) for h in header]
    arrays = [_array_from_values(values) for values in columns]
    return pa.Table.from_arrays(arrays, names=names)


def _cell_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def _is_missing(value: Any) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _array_from_values(values: list[Any]) -> pa.Array:
    """Build an Arrow array from Python values; a mix of types becomes text, to be reported."""
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError, ValueError):
        return _text_array(values)
    # Extension types (UUIDs from PostgreSQL, for one) travel best as their text form.
    return _text_array(values) if isinstance(array.type, pa.BaseExtensionType) else array


def _text_array(values: Iterable[Any]) -> pa.Array:
    return pa.array([None if _is_missing(v) else _cell_text(v) for v in values], type=pa.string())


# --------------------------------------------------------------------------- SQL


def _read_sql(url: str, query: str, *, limits: Limits) -> pa.Table:
    statement = _check_select(query)
    names, rows = _run_query(url, statement, limits=limits)
    if len(names) > limits.max_columns:
        raise InputError("ingest.too_many_columns", count=len(names), limit=limits.max_columns)
    columns: Iterable[Sequence[Any]] = zip(*rows, strict=True) if rows else [() for _ in names]
    arrays = [_array_from_values(list(values)) for values in columns]
    try:
        table = _clean_names(pa.Table.from_arrays(arrays, names=[str(n) for n in names]))
    except InputError as exc:
        # A join easily returns two "id" columns; the fix is an alias, not a header edit.
        if exc.key == "ingest.duplicate_columns":
            raise InputError("ingest.sql_duplicate_columns", **exc.params) from None
        raise
    _check_shape(table, limits)
    if table.num_rows == 0:
        raise InputError("ingest.sql_no_rows")
    return table


def _check_select(query: str) -> str:
    """Return the single SELECT statement in ``query`` or raise ``InputError``."""
    import sqlparse
    from sqlparse import tokens

    # sqlparse is untyped; its statements are handled as Any.
    parsed: list[Any] = list(sqlparse.parse(query or ""))
    statements = [s for s in parsed if s.token_first(skip_ws=True, skip_cm=True) is not None]
    if not statements:
        raise InputError("ingest.sql_empty")
    if len(statements) > 1:
        raise InputError("ingest.sql_multiple")
    statement = statements[0]
    kind = statement.get_type()
    if kind != "SELECT":
        first = re.match(r"\w+", str(statement.token_first(skip_ws=True, skip_cm=True)).lstrip("("))
        word = first.group(0).upper() if first else "?"
        raise InputError("ingest.sql_not_select", kind=kind if kind != "UNKNOWN" else word)
    # get_type() only looks at the main statement: a CTE can still hide DELETE ... RETURNING
    # in PostgreSQL, and SELECT ... INTO creates a table.
    for token in statement.flatten():
        word = token.value.upper()
        if (token.ttype in tokens.Keyword.DML and word != "SELECT") or token.ttype in tokens.Keyword.DDL:
            raise InputError("ingest.sql_forbidden", keyword=word)
        if token.ttype in tokens.Keyword and word in _SQL_FORBIDDEN_WORDS:
            raise InputError("ingest.sql_forbidden", keyword=word)
    return str(statement).strip().rstrip(";").strip()


def _mask_url(url: str) -> str:
    import sqlalchemy as sa

    try:
        return str(sa.engine.make_url(url).render_as_string(hide_password=True))
    except Exception:  # noqa: BLE001 - an unparsable URL still must not leak its password
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _run_query(url: str, statement: str, *, limits: Limits) -> tuple[list[str], list[Sequence[Any]]]:
    """Run ``statement`` read-only and fetch at most ``limits.max_sql_rows`` rows.

    The statement must already have passed ``_check_select``; the read-only connection is
    the second line of defence, not the first.
    """
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    safe_url = _mask_url(url)
    try:
        parsed = sa.engine.make_url(url)
        engine = sa.create_engine(parsed, poolclass=NullPool)
    except Exception:  # noqa: BLE001 - ArgumentError, NoSuchModuleError, a missing driver...
        raise InputError("ingest.sql_bad_url", url=safe_url) from None
    password = parsed.password or ""
    dialect = engine.dialect.name
    if dialect not in _SQL_DIALECTS:
        engine.dispose()
        raise InputError("ingest.sql_unsupported_dialect", dialect=dialect, supported=", ".join(_SQL_DIALECTS))
    database = parsed.database or ""
    on_disk = dialect == "sqlite" and database not in ("", ":memory:") and not database.startswith("file:")
    # sqlite3 would silently create an empty database at a mistyped path.
    if on_disk and not Path(database).is_file():
        engine.dispose()
        raise InputError("ingest.sql_no_database", url=safe_url)
    connected = False
    try:
        with engine.connect() as conn:
            connected = True
            try:
                if dialect == "sqlite":
                    conn.exec_driver_sql("PRAGMA query_only = ON")
                else:
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    conn.exec_driver_sql("SET LOCAL statement_timeout = '300s'")
                result = conn.execute(sa.text(statement))
                if not result.returns_rows:
                    raise InputError("ingest.sql_not_select", kind="?")
                names = list(map(str, result.keys()))
                rows: list[Sequence[Any]] = []
                limit = limits.max_sql_rows
                while batch := result.fetchmany(min(_SQL_FETCH, limit + 1 - len(rows))):
                    rows.extend(batch)
                    if len(rows) > limit:
                        raise InputError("ingest.sql_too_many_rows", limit=limit)
                    if len(rows) * len(names) > limits.max_cells:
                        raise InputError("ingest.too_many_cells", cells=len(rows) * len(names), limit=limits.max_cells)
                return names, rows
            finally:
                conn.rollback()
    except InputError:
        raise
    except sa.exc.SQLAlchemyError as exc:
        reason = _db_message(exc, password)
        if connected:
            raise InputError("ingest.sql_error", reason=reason) from None
        raise InputError("ingest.sql_connect", url=safe_url, reason=reason) from None
    finally:
        engine.dispose()


def _db_message(exc: BaseException, password: str) -> str:
    # The DBAPI's own message is short and useful; SQLAlchemy's adds the SQL and a link.
    message = _short(str(getattr(exc, "orig", None) or exc))
    return message.replace(password, "***") if password else message


# --------------------------------------------------------------------------- frames


def _table_from_frame(df: pd.DataFrame) -> pa.Table:
    arrays = []
    for i in range(df.shape[1]):
        series = df.iloc[:, i]
        try:
            array = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError):
            array = _array_from_values(series.tolist())
        if isinstance(array.type, pa.BaseExtensionType):
            array = _text_array(series.tolist())
        if pa.types.is_dictionary(array.type):
            array = pc.cast(array, array.type.value_type)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=[str(c) for c in df.columns])


# --------------------------------------------------------------------------- roles


def _is_text_type(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def _is_supported(t: pa.DataType) -> bool:
    return bool(
        pa.types.is_null(t)
        or pa.types.is_boolean(t)
        or pa.types.is_integer(t)
        or pa.types.is_floating(t)
        or pa.types.is_decimal(t)
        or pa.types.is_timestamp(t)
        or pa.types.is_date(t)
        or _is_text_type(t)
    )


def _scan_column(name: str, col: pa.ChunkedArray, *, exact: bool) -> _Scan:
    """Infer a column's role and find the problem, if any, that blocks saving it."""
    t = col.type
    n = len(col)
    n_missing = col.null_count
    n_valid = n - n_missing
    if not _is_supported(t):
        problem = Problem("ingest.unsupported_type", {"column": name, "type": str(t)}, name)
        return _Scan("text", problem, n_missing, None)
    if n_valid == 0:
        return _Scan("categorical", Problem("ingest.empty_column", {"column": name}, name), n_missing, 0)
    if _is_text_type(t):
        return _scan_text(name, col, n_missing=n_missing)
    distinct = pc.count_distinct(col).as_py() if exact else None
    if pa.types.is_boolean(t):
        return _Scan("boolean", None, n_missing, distinct)
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return _Scan("datetime", None, n_missing, distinct)
    if pa.types.is_integer(t):
        lo, hi = (v.as_py() for v in pc.min_max(col).values())
        if lo >= 0 and hi <= 1 and (_FLAG_NAME.search(name) or _FLAG_CAMEL.search(name)):
            return _Scan("boolean", None, n_missing, distinct)
    # Whole numbers under an id-like name: floats too, since one missing value turns a
    # CSV integer column into floats.
    whole_numbers = pa.types.is_integer(t) or (
        pa.types.is_floating(t) and bool(pc.all(pc.equal(col, pc.floor(col))).as_py())
    )
    if whole_numbers and (_ID_NAME.search(name) or _ID_CAMEL.search(name)):
        distinct = distinct if distinct is not None else pc.count_distinct(col).as_py()
        if distinct >= 0.95 * n_valid:
            return _Scan("identifier", None, n_missing, distinct)
    return _Scan("numeric", None, n_missing, distinct)


def _scan_text(name: str, col: pa.ChunkedArray, *, n_missing: int) -> _Scan:
    # One hash pass gives every distinct value with its count; everything below works on
    # the distinct values only, which is what keeps categorical columns cheap.
    counts = pc.value_counts(col)
    values, freq = counts.field("values"), counts.field("counts")
    present = pc.is_valid(values)
    values, freq = values.filter(present), freq.filter(present)
    n_distinct = len(values)
    n_valid = len(col) - n_missing
    trimmed = pc.utf8_trim_whitespace(values)
    blank = pc.equal(pc.utf8_length(trimmed), 0)
    filled = pc.invert(blank)
    n_filled = _sum(freq.filter(filled))
    if n_filled == 0:
        return _Scan("categorical", Problem("ingest.empty_column", {"column": name}, name), n_missing, n_distinct)

    lowered = set(pc.utf8_lower(trimmed.filter(filled)).to_pylist()) if n_distinct <= 12 else set()
    if 0 < len(lowered) <= 2 and any(lowered <= pair for pair in _BOOLEAN_PAIRS):
        return _Scan("boolean", None, n_missing, n_distinct)

    is_number = pc.match_substring_regex(trimmed, _NUMBER_RE)
    n_number = _sum(freq.filter(is_number))
    if n_number == n_filled:
        return _Scan("numeric", None, n_missing, n_distinct)
    if n_number >= 0.5 * n_filled:
        bad = values.filter(pc.and_(pc.invert(is_number), filled))
        example, row = _first_of(col, bad)
        problem = Problem("ingest.mixed_column", {"column": name, "example": example, "row": row}, name)
        return _Scan("numeric", problem, n_missing, n_distinct)

    candidates = trimmed.filter(filled)
    date_format, share = _best_date_format(candidates.slice(0, _DATE_SAMPLE))
    if date_format is not None and share >= 0.5:
        parsed = _parse_dates(candidates, date_format)
        unparsed = pc.is_null(parsed)
        if not pc.any(unparsed).as_py():
            return _Scan("datetime", None, n_missing, n_distinct, date_format)
        bad = values.filter(filled).filter(unparsed)
        example, row = _first_of(col, bad)
        problem = Problem("ingest.mixed_dates", {"column": name, "example": example, "row": row}, name)
        return _Scan("datetime", problem, n_missing, n_distinct, date_format)

    ratio = n_distinct / n_valid
    lengths = pc.utf8_length(trimmed)
    mean_length = pc.mean(lengths).as_py() or 0.0
    spaced = _sum(pc.cast(pc.match_substring_regex(trimmed, r"\s"), pa.int64())) / n_distinct
    id_name = bool(_ID_NAME.search(name) or _ID_CAMEL.search(name))
    if ratio >= 0.95 and (id_name or (n_valid >= 10 and spaced < 0.1 and mean_length <= 64)):
        return _Scan("identifier", None, n_missing, n_distinct)
    if ratio >= 0.5 and (spaced >= 0.5 or mean_length >= 30):
        return _Scan("text", None, n_missing, n_distinct)
    return _Scan("categorical", None, n_missing, n_distinct)


def _sum(array: pa.Array) -> int:
    return int(pc.sum(array).as_py() or 0)


def _first_of(col: pa.ChunkedArray, bad: pa.Array) -> tuple[str, int]:
    """The first value of ``col`` that is in ``bad``, and its 1-based data row number."""
    index = pc.index(pc.is_in(col, value_set=bad), True).as_py()
    text = str(col[index].as_py())
    return (text if len(text) <= 60 else text[:57] + "..."), index + 1


def _best_date_format(values: pa.Array) -> tuple[str | None, float]:
    """The date format that parses most of ``values`` (trimmed, non-blank strings)."""
    if len(values) == 0:
        return None, 0.0
    # Dates need a digit and a separator; skip the parsing for plain words.
    if not pc.any(pc.match_substring_regex(values, r"^\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}")).as_py():
        return None, 0.0
    best, best_share = None, 0.0
    for fmt in (_ISO, *_DATE_FORMATS):
        share = pc.sum(pc.is_valid(_parse_dates(values, fmt))).as_py() / len(values)
        if share > best_share:
            best, best_share = fmt, share
    return best, best_share


def _parse_dates(values: pa.Array | pa.ChunkedArray, fmt: str) -> pa.Array | pa.ChunkedArray:
    """Parse strings as timestamps with ``fmt``; what does not parse becomes null."""
    values = pc.utf8_trim_whitespace(values)
    if fmt != _ISO:
        # ISO dates are unambiguous, so they are accepted next to any local format.
        return pc.coalesce(pc.strptime(values, format=fmt, unit="us", error_is_null=True), _parse_dates(values, _ISO))
    try:
        # All-valid ISO (the usual case for SQL results) keeps fractional seconds.
        return pc.cast(values, pa.timestamp("us"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    without_fraction = pc.replace_substring_regex(values, r"(\d{2}:\d{2}:\d{2})\.\d+$", r"\1")
    parsed = [pc.strptime(without_fraction, format=f, unit="us", error_is_null=True) for f in _ISO_FORMATS]
    return pc.coalesce(*parsed)


# --------------------------------------------------------------------------- casting


def _cast_column(name: str, col: pa.ChunkedArray, role: str, scan: _Scan) -> pa.ChunkedArray:
    """Give ``col`` the Arrow type of ``role``; values that cannot take it become missing."""
    t = col.type
    impossible = InputError("ingest.role_impossible", column=name, role=role)
    if role in ("categorical", "text", "identifier"):
        return col if _is_text_type(t) else pc.cast(col, pa.string())
    if role == "numeric":
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            return col
        if pa.types.is_decimal(t):
            return pc.cast(col, pa.float64())
        if pa.types.is_boolean(t):
            return pc.cast(col, pa.int64())
        if pa.types.is_null(t):
            return pc.cast(col, pa.float64())
        if _is_text_type(t):
            return _strings_to_numbers(col, impossible)
        raise impossible
    if role == "datetime":
        if pa.types.is_timestamp(t) or pa.types.is_date(t):
            return col
        if pa.types.is_null(t):
            return pc.cast(col, pa.timestamp("us"))
        if _is_text_type(t):
            fmt = scan.date_format
            if fmt is None:
                fmt, _ = _best_date_format(pc.unique(pc.utf8_trim_whitespace(col.drop_null())).slice(0, _DATE_SAMPLE))
            if fmt is None:
                raise impossible
            parsed = _parse_dates(col, fmt)
            if parsed.null_count == len(parsed):
                raise impossible
            return parsed
        raise impossible
    if role == "boolean":
        if pa.types.is_boolean(t):
            return col
        if pa.types.is_null(t):
            return pc.cast(col, pa.bool_())
        if pa.types.is_integer(t) or pa.types.is_floating(t):
            is_one, is_zero = pc.equal(col, 1), pc.equal(col, 0)
            result = pc.if_else(is_one, True, pc.if_else(is_zero, False, pa.scalar(None, pa.bool_())))
        elif _is_text_type(t):
            words = pc.utf8_lower(pc.utf8_trim_whitespace(col))
            is_true = pc.is_in(words, value_set=pa.array(sorted(_TRUE_WORDS)))
            is_false = pc.is_in(words, value_set=pa.array(sorted(_FALSE_WORDS)))
            result = pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))
        else:
            raise impossible
        if result.null_count == len(result):
            raise impossible
        return result
    raise InputError("ingest.unknown_role", column=name, role=role, roles=", ".join(ROLES))


def _strings_to_numbers(col: pa.ChunkedArray, impossible: InputError) -> pa.ChunkedArray:
    trimmed = pc.utf8_trim_whitespace(col)
    is_number = pc.match_substring_regex(trimmed, _NUMBER_RE)
    # Arrow's integer parser refuses a leading "+", which is still a plain number.
    unsigned = pc.replace_substring_regex(trimmed, r"^\+", "")
    numbers = pc.if_else(is_number, unsigned, pa.scalar(None, pa.string()))
    if numbers.null_count == len(numbers):
        raise impossible
    if pc.all(pc.match_substring_regex(numbers, _INTEGER_RE)).as_py():
        try:
            return pc.cast(numbers, pa.int64())
        except pa.ArrowInvalid:
            pass  # beyond int64: keep the magnitude as a float
    return pc.cast(numbers, pa.float64())


# --------------------------------------------------------------------------- results


def _build_preview(table: pa.Table, source: SourceInfo, *, nrows: int) -> Preview:
    columns: list[ColumnInfo] = []
    problems: list[Problem] = []
    head = table.slice(0, max(nrows, 0))
    for name in table.column_names:
        col = table[name]
        scan = _scan_column(name, col, exact=True)
        if scan.problem is not None:
            problems.append(scan.problem)
        n_distinct = scan.n_distinct if scan.n_distinct is not None else _count_distinct(col)
        columns.append(
            ColumnInfo(
                name=name,
                dtype=str(col.type),
                role=scan.role,
                n_missing=scan.n_missing,
                n_distinct=n_distinct,
                examples=_examples(col),
            )
        )
    return Preview(frame=head.to_pandas(), columns=tuple(columns), source=source, problems=tuple(problems))


def _count_distinct(col: pa.ChunkedArray) -> int:
    try:
        return int(pc.count_distinct(col).as_py())
    except pa.ArrowNotImplementedError:
        return len({repr(v) for v in col.drop_null().to_pylist()})


def _examples(col: pa.ChunkedArray, k: int = 3) -> tuple[str, ...]:
    found: list[str] = []
    for value in col.slice(0, 1000).drop_null().to_pylist():
        text = _cell_text(value)
        if text not in found:
            found.append(text)
            if len(found) == k:
                break
    return tuple(found)


def _finish(
    table: pa.Table,
    source: SourceInfo,
    *,
    roles: Mapping[str, str] | None,
    drop: Sequence[str],
) -> LoadedTable:
    overrides = dict(roles or {})
    dropped = set(drop)
    for name in [*drop, *overrides]:
        if name not in table.column_names:
            raise InputError("ingest.unknown_column", column=name)
    for name, role in overrides.items():
        if role not in ROLES:
            raise InputError("ingest.unknown_role", column=name, role=role, roles=", ".join(ROLES))
    keep = [n for n in table.column_names if n not in dropped]
    if not keep:
        raise InputError("ingest.no_columns")
    scans = {name: _scan_column(name, table[name], exact=False) for name in keep}
    for name in keep:
        problem = scans[name].problem
        if problem is not None and not (problem.key in ROLE_RESOLVABLE and name in overrides):
            raise InputError(problem.key, **problem.params)
    final = {name: overrides.get(name, scans[name].role) for name in keep}
    arrays = [_cast_column(name, table[name], final[name], scans[name]) for name in keep]
    return LoadedTable(table=pa.Table.from_arrays(arrays, names=keep), roles=final, source=source)
