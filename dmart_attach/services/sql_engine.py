"""Running one untrusted query over data-asset files, inside a worker process.

The worker's current folder is the folder of the assets, so every path the engine sees (and
every path an error message could repeat) is a bare file name.
"""

import os
import resource
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import quote

import duckdb

from dmart_attach.services.sql_values import column_names, json_rows, sqlite_type

# Statement kinds a query may be: reading, and explaining how it would read.
_READING_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
# SQLite operations the authorizer lets through; everything else (writes, ATTACH, PRAGMA...) is refused.
_SQLITE_ALLOWED = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
_SQLITE_READ_ONLY_PRAGMAS = frozenset({"table_info", "table_xinfo", "table_list", "index_list", "index_info"})
_SQLITE_REFUSED_FUNCTIONS = frozenset({"load_extension"})
# SQLite calls the progress handler after this many virtual-machine steps.
_SQLITE_PROGRESS_STEPS = 10_000


@dataclass(frozen=True)
class QueryLimits:
    """What one query may use."""

    timeout: float
    max_rows: int
    memory_mib: int
    threads: int


@dataclass(frozen=True)
class SqlJob:
    """One query: the files it may read, how they become tables, and the SQL to run."""

    engine: str
    folder: str
    files: tuple[str, ...]
    setup: tuple[str, ...]
    sql: str
    limits: QueryLimits
    database: str | None = None


@dataclass(frozen=True)
class SqlAnswer:
    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    truncated: bool


@dataclass(frozen=True)
class SqlRefusal:
    message: str
    timed_out: bool = False


class _Deadline:
    """Calls `stop` once `seconds` have passed, unless cancelled first."""

    def __init__(self, seconds: float, stop: Callable[[], None]) -> None:
        self.seconds = seconds
        self.expired = False
        self._stop = stop
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.expired = True
        self._stop()

    def cancel(self) -> None:
        self._timer.cancel()


def _timed_out(limits: QueryLimits) -> SqlRefusal:
    return SqlRefusal(f"The query ran past the time limit of {limits.timeout:g} s and was stopped", timed_out=True)


def _run_duckdb(job: SqlJob) -> SqlAnswer | SqlRefusal:
    limits = job.limits
    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": limits.threads,
        "memory_limit": f"{limits.memory_mib}MiB",
        "temp_directory": "",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    try:
        if job.database is None:
            connection = duckdb.connect(":memory:", config=config)
        else:
            connection = duckdb.connect(job.database, read_only=True, config=config)
    except duckdb.Error as error:
        return SqlRefusal(str(error).strip())
    deadline = _Deadline(limits.timeout, connection.interrupt)
    try:
        connection.execute("SET TimeZone = 'UTC'")
        for statement in job.setup:
            connection.execute(statement)
        if job.files:
            listed = ", ".join(_literal(name) for name in job.files)
            connection.execute(f"SET allowed_paths = [{listed}]")
        connection.execute("SET enable_external_access = false")
        connection.execute("SET lock_configuration = true")

        statements = duckdb.extract_statements(job.sql)
        if len(statements) != 1:
            return SqlRefusal(f"A query is exactly one statement; this one has {len(statements)}")
        if statements[0].type not in _READING_STATEMENTS:
            kind = statements[0].type.name
            return SqlRefusal(f"Only SELECT queries are run on data assets; this statement is {kind}")

        result = connection.execute(job.sql)
        fetched = result.fetchmany(limits.max_rows + 1)
        description = result.description or []
    except duckdb.Error as error:
        return _timed_out(limits) if deadline.expired else SqlRefusal(str(error).strip())
    finally:
        deadline.cancel()
        connection.close()

    names = column_names([item[0] for item in description])
    types = [str(item[1]).strip('"') for item in description]
    columns = [{"name": name, "type": kind} for name, kind in zip(names, types, strict=True)]
    rows = json_rows(names, types, fetched[: limits.max_rows])
    return SqlAnswer(columns=columns, rows=rows, truncated=len(fetched) > limits.max_rows)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sqlite_authorizer(
    action: int, first: str | None, second: str | None, database: str | None, view: str | None
) -> int:
    if action in _SQLITE_ALLOWED:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (second or "").lower() not in _SQLITE_REFUSED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (first or "").lower() in _SQLITE_READ_ONLY_PRAGMAS and second is None:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _run_sqlite(job: SqlJob) -> SqlAnswer | SqlRefusal:
    limits = job.limits
    assert job.database is not None
    # immutable: the file is never changed in place (a new upload is a new file renamed over it).
    uri = f"file:{quote(job.database)}?mode=ro&immutable=1"
    started = time.monotonic()
    try:
        connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
    except sqlite3.Error as error:
        return SqlRefusal(str(error))
    try:
        connection.text_factory = lambda raw: raw.decode(errors="replace")
        connection.execute(f"PRAGMA hard_heap_limit = {limits.memory_mib * 1024 * 1024}")
        connection.set_authorizer(_sqlite_authorizer)
        connection.set_progress_handler(
            lambda: int(time.monotonic() - started > limits.timeout), _SQLITE_PROGRESS_STEPS
        )
        cursor = connection.execute(job.sql)
        fetched = cursor.fetchmany(limits.max_rows + 1)
        description = cursor.description or []
    except sqlite3.Error as error:
        if time.monotonic() - started > limits.timeout:
            return _timed_out(limits)
        return SqlRefusal(str(error))
    finally:
        connection.close()

    names = column_names([item[0] for item in description])
    kept = fetched[: limits.max_rows]
    types = [sqlite_type(row[index] for row in kept) for index in range(len(names))]
    columns = [{"name": name, "type": kind} for name, kind in zip(names, types, strict=True)]
    rows = json_rows(names, types, kept)
    return SqlAnswer(columns=columns, rows=rows, truncated=len(fetched) > limits.max_rows)


def run_job(job: SqlJob) -> SqlAnswer | SqlRefusal:
    """Run `job` in this process, inside the assets' folder."""
    try:
        os.chdir(job.folder)
    except OSError:
        return SqlRefusal("The data asset files are no longer there")
    if job.engine == "sqlite":
        return _run_sqlite(job)
    return _run_duckdb(job)


def serve(connection: Connection, memory_mib: int) -> None:
    """A worker's life: answer jobs one by one until the pool closes the pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = run_job(job)
        except MemoryError:
            answer = SqlRefusal("The query needed more memory than a query may use")
        except Exception as error:
            # A broken file can make the engine fail in ways it has no error class for.
            answer = SqlRefusal(f"The query failed: {error}")
        connection.send(answer)
