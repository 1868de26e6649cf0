"""Running one untrusted query on a SQLite data asset with Python's own sqlite3, read-only."""

import sqlite3
import time
from typing import Any
from urllib.parse import quote

from dmart_attach.services.sql_jobs import QueryLimits, SqlAnswer, SqlJob, SqlRefusal, refused_by, timed_out
from dmart_attach.services.sql_values import column_names, json_rows, sqlite_type

# Operations the authorizer lets through; everything else (writes, ATTACH, most PRAGMAs) is refused.
_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
_READ_ONLY_PRAGMAS = frozenset({"table_info", "table_xinfo", "table_list", "index_list", "index_info"})
_REFUSED_FUNCTIONS = frozenset({"load_extension"})
# SQLite calls the progress handler after this many virtual-machine steps.
_PROGRESS_STEPS = 10_000


def _authorizer(action: int, first: str | None, second: str | None, database: str | None, view: str | None) -> int:
    if action in _ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (second or "").lower() not in _REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (first or "").lower() in _READ_ONLY_PRAGMAS and second is None:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def run_sqlite(job: SqlJob, limits: QueryLimits) -> SqlAnswer | SqlRefusal:
    """Run `job.sql` on the database file `job.database`, in the current folder."""
    assert job.database is not None
    # immutable: the file is never changed in place (a new upload is a new file renamed over it).
    uri = f"file:{quote(job.database)}?mode=ro&immutable=1"
    started = time.monotonic()
    try:
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    except sqlite3.Error as error:
        return refused_by(error)
    try:
        connection.text_factory = lambda raw: raw.decode(errors="replace")
        connection.execute(f"PRAGMA hard_heap_limit = {limits.memory_mib * 1024 * 1024}")
        connection.set_authorizer(_authorizer)
        connection.set_progress_handler(lambda: int(time.monotonic() - started > limits.timeout), _PROGRESS_STEPS)
        cursor = connection.execute(job.sql)
        names = column_names([item[0] for item in cursor.description or []])
        fetched: list[Any] = []

        def fetch(size: int) -> list[Any]:
            batch = cursor.fetchmany(size)
            fetched.extend(batch)
            return batch

        # SQLite has no JSON type to parse: the types come from the values once they are read.
        rows, truncated = json_rows(
            names, [""] * len(names), fetch, max_rows=limits.max_rows, max_bytes=limits.max_bytes
        )
    except sqlite3.Error as error:
        if time.monotonic() - started > limits.timeout:
            return timed_out(limits)
        return refused_by(error)
    finally:
        connection.close()

    kept = fetched[: len(rows)]
    types = [sqlite_type(row[index] for row in kept) for index in range(len(names))]
    columns = [{"name": name, "type": kind} for name, kind in zip(names, types, strict=True)]
    return SqlAnswer(columns=columns, rows=rows, truncated=truncated)
