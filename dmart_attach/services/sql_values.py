"""Query results as JSON with their real types: numbers stay numbers, NULL stays null."""

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson

# orjson writes integers in this range; larger ones (HUGEINT) are answered as their decimal text.
_SMALLEST_INT = -(2**63)
_LARGEST_INT = 2**64 - 1
# Rows fetched from the engine at a time, so the byte cap is checked long before the row cap is reached.
_BATCH_ROWS = 500


class AnswerTooLarge(Exception):
    """The rows of an answer would pass the most bytes a query may answer."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(
            f"The answer would be larger than {max_bytes} bytes, the most a data-asset query may answer; "
            "select fewer rows or columns, or shorter values"
        )


def type_name(text: str) -> str:
    """A DuckDB type as its plain name: a type DuckDB quotes as a keyword (`"NULL"`) without its quotes.

    Quotes inside nested types (`STRUCT(x "NULL")`, `"NULL"[]`) are part of their syntax and stay.
    """
    inner = text[1:-1]
    if len(text) >= 2 and text[0] == text[-1] == '"' and '"' not in inner.replace('""', ""):
        return inner.replace('""', '"')
    return text


def column_names(names: Sequence[str]) -> list[str]:
    """The names of a result's columns, made unique (`a`, `a_1`) so every row can be an object."""
    seen: set[str] = set()
    unique: list[str] = []
    for name in names:
        candidate, suffix = name, 0
        while candidate in seen:
            suffix += 1
            candidate = f"{name}_{suffix}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def json_value(value: Any) -> Any:
    """One value as JSON: timestamps in ISO form (aware ones in UTC), blobs in base64, nested values as JSON."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if _SMALLEST_INT <= value <= _LARGEST_INT else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat() if value.tzinfo is not None else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(key): json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return str(value)


def _parsed_json(value: Any) -> Any:
    if not isinstance(value, str):
        return json_value(value)
    try:
        return json.loads(value)
    except ValueError:
        return value


def _least_size(value: Any) -> int:
    """Bytes `value` takes at least in JSON, known before converting it: text and blobs are the big ones."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return (len(value) + 2) // 3 * 4
    return 0


def _json_size(row: dict[str, Any]) -> int:
    try:
        return len(orjson.dumps(row, option=orjson.OPT_NON_STR_KEYS))
    except orjson.JSONEncodeError:
        return len(json.dumps(row, separators=(",", ":")).encode())


def json_rows(
    names: Sequence[str],
    types: Sequence[str],
    fetch: Callable[[int], Sequence[Sequence[Any]]],
    *,
    max_rows: int,
    max_bytes: int,
) -> tuple[list[dict[str, Any]], bool]:
    """Rows fetched in batches as objects keyed by column name, and whether `max_rows` cut them.

    JSON columns are parsed rather than answered as text. Raises AnswerTooLarge as soon as the
    rows' JSON would pass `max_bytes`, before a value too large for what is left is converted.
    """
    is_json = [kind == "JSON" for kind in types]
    answer: list[dict[str, Any]] = []
    size = 2
    while True:
        batch = fetch(min(_BATCH_ROWS, max_rows + 1 - len(answer)))
        for row in batch:
            if len(answer) == max_rows:
                return answer, True
            least = sum(_least_size(value) for parse, value in zip(is_json, row, strict=True) if not parse)
            if size + least + 1 > max_bytes:
                raise AnswerTooLarge(max_bytes)
            converted = {
                name: _parsed_json(value) if parse else json_value(value)
                for name, parse, value in zip(names, is_json, row, strict=True)
            }
            size += _json_size(converted) + 1
            if size > max_bytes:
                raise AnswerTooLarge(max_bytes)
            answer.append(converted)
        if not batch:
            return answer, False


def sqlite_type(values: Iterable[Any]) -> str:
    """The SQLite storage class of a column, from its first non-null value."""
    for value in values:
        if isinstance(value, int):
            return "INTEGER"
        if isinstance(value, float):
            return "REAL"
        if isinstance(value, bytes):
            return "BLOB"
        if isinstance(value, str):
            return "TEXT"
    return "NULL"
