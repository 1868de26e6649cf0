"""Checking data assets on arrival: they open as what they claim, and their rows fit their schema."""

import csv
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import duckdb
from jsonschema import Draft7Validator

from dmart_attach.errors import DmartError
from dmart_attach.models.enums import ContentType
from dmart_attach.services.sql_values import type_name

# Row failures reported back; the check stops after this many.
MAX_REPORTED_ROWS = 10
# Types are inferred from every row, not a sample: the recorded columns are the types queries read with.
_READERS = {
    ContentType.csv: "read_csv(?, header = true, sample_size = -1)",
    ContentType.jsonl: "read_json(?, format = 'newline_delimited', sample_size = -1)",
    ContentType.parquet: "read_parquet(?)",
}
_MAX_CELL = 2**31 - 1
_REQUIRED = re.compile(r"'(.+)' is a required property")
# DuckDB may neither fetch extensions nor grow without bound while it checks an upload.
_BASE_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "memory_limit": "256MB",
    "threads": 1,
}


def unreadable(kind: ContentType, reason: str) -> DmartError:
    """The refusal of a data asset that does not open as what it claims."""
    return DmartError(400, "request", 402, f"The file does not open as {kind.value}: {reason}")


def _reason(error: duckdb.Error, path: Path) -> str:
    """DuckDB's first line about a file, naming the form field instead of the file's place on the server."""
    return str(error).splitlines()[0].replace(str(path), "payload_file")


def _columns(rows: list[tuple[Any, ...]]) -> list[dict[str, str]]:
    return [{"name": str(name), "type": type_name(str(data_type))} for name, data_type, *_ in rows]


def _describe_file(kind: ContentType, path: Path) -> dict[str, Any]:
    reader = _READERS[kind]
    try:
        with duckdb.connect(":memory:", config=_BASE_CONFIG) as con:
            columns = con.execute(f"DESCRIBE SELECT * FROM {reader}", [str(path)]).fetchall()
            row = con.execute(f"SELECT count(*) FROM {reader}", [str(path)]).fetchone()
    except duckdb.Error as error:
        raise unreadable(kind, _reason(error, path)) from None
    return {"columns": _columns(columns), "row_count": row[0] if row else 0}


def _describe_duckdb(path: Path) -> dict[str, Any]:
    # External access stays off: a view in an uploaded database must not read files of this machine.
    config = {**_BASE_CONFIG, "enable_external_access": False}
    try:
        with duckdb.connect(str(path), read_only=True, config=config) as con:
            names = con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1, 2"
            ).fetchall()
            tables = []
            for schema, table in names:
                columns = con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() "
                    "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
                    [schema, table],
                ).fetchall()
                quoted = '"{}"."{}"'.format(schema.replace('"', '""'), table.replace('"', '""'))
                count = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()
                name = table if schema == "main" else f"{schema}.{table}"
                tables.append({"name": name, "columns": _columns(columns), "row_count": count[0] if count else 0})
    except duckdb.Error as error:
        raise unreadable(ContentType.duckdb, _reason(error, path)) from None
    return {"tables": tables}


def _describe_sqlite(path: Path) -> dict[str, Any]:
    uri = f"file:{quote(str(path))}?mode=ro&immutable=1"
    try:
        con = sqlite3.connect(uri, uri=True)
        try:
            names = con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            ).fetchall()
            tables = []
            for (table,) in names:
                quoted = '"{}"'.format(table.replace('"', '""'))
                info = con.execute(f"PRAGMA table_info({quoted})").fetchall()
                count = con.execute(f"SELECT count(*) FROM {quoted}").fetchone()
                columns = [{"name": str(item[1]), "type": str(item[2])} for item in info]
                tables.append({"name": table, "columns": columns, "row_count": count[0] if count else 0})
        finally:
            con.close()
    except sqlite3.Error as error:
        raise unreadable(ContentType.sqlite, str(error)) from None
    return {"tables": tables}


def describe(kind: ContentType, path: Path) -> dict[str, Any] | None:
    """Open a data asset as what it claims; its columns, types and row count (per table for databases)."""
    if kind in _READERS:
        return _describe_file(kind, path)
    if kind == ContentType.duckdb:
        return _describe_duckdb(path)
    if kind == ContentType.sqlite:
        return _describe_sqlite(path)
    return None


def _convert(value: str, declared: Any) -> Any:
    """A CSV cell as the type its schema property declares; left as text when it does not convert."""
    types = declared if isinstance(declared, list) else [declared]
    if value == "" and "null" in types:
        return None
    for name in types:
        try:
            if name == "integer":
                return int(value)
            if name == "number":
                return float(value) if any(c in value for c in ".eE") else int(value)
            if name == "boolean" and value.lower() in ("true", "false"):
                return value.lower() == "true"
        except ValueError:
            continue
    return value


def _csv_rows(path: Path, schema: dict[str, Any]) -> Iterator[tuple[int, Any]]:
    with duckdb.connect(":memory:", config=_BASE_CONFIG) as con:
        sniffed = con.execute("SELECT Delimiter, Quote FROM sniff_csv(?)", [str(path)]).fetchone()
    delimiter, quote_char = (sniffed[0], sniffed[1]) if sniffed else (",", '"')
    if len(quote_char) != 1:
        # The sniffer answers `(empty)` when no cell is quoted.
        quote_char = '"'
    # DuckDB reads cells of any size; the row check must not refuse what it accepted (the limit is process-wide).
    csv.field_size_limit(_MAX_CELL)
    properties = schema.get("properties", {}) if isinstance(schema.get("properties"), dict) else {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter, quotechar=quote_char)
        _ = reader.fieldnames
        previous = reader.line_num
        for row in reader:
            converted = {
                key: _convert(value, properties.get(key, {}).get("type")) if isinstance(value, str) else value
                for key, value in row.items()
                if key is not None
            }
            yield previous + 1, converted
            previous = reader.line_num


def _jsonl_rows(path: Path) -> Iterator[tuple[int, Any]]:
    with path.open(encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield number, json.loads(line)


def row_failures(kind: ContentType, path: Path, schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The first rows of a csv or jsonl asset that break `schema`, as `{loc: [line, column], msg}`."""
    validator = Draft7Validator(schema)
    rows = _csv_rows(path, schema) if kind == ContentType.csv else _jsonl_rows(path)
    failures: list[dict[str, Any]] = []
    try:
        for line, row in rows:
            for error in validator.iter_errors(row):
                column: Any = error.path[0] if error.path else None
                missing = _REQUIRED.match(error.message)
                if column is None and missing:
                    column = missing.group(1)
                failures.append({"loc": [line, column], "msg": error.message})
                break
            if len(failures) >= MAX_REPORTED_ROWS:
                break
    except (csv.Error, ValueError) as error:
        raise unreadable(kind, str(error)) from None
    return failures
