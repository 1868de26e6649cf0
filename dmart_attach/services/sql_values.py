"""Query results as JSON with their real types: numbers stay numbers, NULL stays null."""

import base64
import datetime as dt
import json
import math
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

# orjson writes integers in this range; larger ones (HUGEINT) are answered as their decimal text.
_SMALLEST_INT = -(2**63)
_LARGEST_INT = 2**64 - 1


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


def json_rows(names: Sequence[str], types: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Rows as objects keyed by column name; JSON columns are parsed rather than answered as text."""
    is_json = [kind == "JSON" for kind in types]
    answer = []
    for row in rows:
        answer.append(
            {
                name: _parsed_json(value) if parse else json_value(value)
                for name, parse, value in zip(names, is_json, row, strict=True)
            }
        )
    return answer


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
