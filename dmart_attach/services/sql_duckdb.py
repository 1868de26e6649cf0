"""Running one untrusted query over data-asset files with DuckDB.

Each set of files gets an in-memory database of its own: the views over the files are made,
only those files are allowed, then file access and every setting are switched off and locked.
Each query runs on a connection of its own and may only read (one SELECT or EXPLAIN), so no
query can change what the next one sees. A worker keeps the few databases it used last, keyed
by the exact files and their identity on disk, so asking again about unchanged files does not
build the database again; a replaced file has a new identity and gets a new database.
"""

import os
import time
from collections import OrderedDict

import duckdb

from dmart_attach.services.sql_jobs import (
    Deadline,
    QueryLimits,
    SqlAnswer,
    SqlJob,
    SqlRefusal,
    refused_by,
    timed_out,
)
from dmart_attach.services.sql_values import column_names, json_rows, type_name

# Statement kinds a query may be: reading, and explaining how it would read.
_READING_STATEMENTS = frozenset({duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN})
# Databases a worker keeps for files asked about again.
KEPT_DATABASES = 4

_Key = tuple[object, ...]


def open_database(limits: QueryLimits, path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    """A new database with the query limits set, not yet locked: in memory, or a file opened read-only."""
    config: dict[str, str | bool | int | float | list[str]] = {
        "threads": limits.threads,
        "memory_limit": f"{limits.memory_mib}MiB",
        "temp_directory": "",
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    database = duckdb.connect(path, read_only=path != ":memory:", config=config)
    database.execute("SET GLOBAL TimeZone = 'UTC'")
    return database


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _refused_by(error: duckdb.Error) -> SqlRefusal:
    # Running out of memory can leave the process's allocator unfit for more work: start afresh.
    return refused_by(error, retire=isinstance(error, duckdb.OutOfMemoryException))


def _refused(sql: str) -> SqlRefusal | None:
    """Why `sql` may not run, if it may not: it must be exactly one reading statement."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as error:
        return refused_by(error)
    if len(statements) != 1:
        return SqlRefusal(f"A query is exactly one statement; this one has {len(statements)}")
    if statements[0].type not in _READING_STATEMENTS:
        return SqlRefusal(f"Only SELECT queries are run on data assets; this statement is {statements[0].type.name}")
    return None


def _key(job: SqlJob) -> _Key | None:
    """The files of `job` as they are on disk now, or None when one is gone."""
    try:
        stats = [os.stat(name) for name in job.files]
    except OSError:
        return None
    identity = tuple((stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns) for stat in stats)
    return job.folder, job.files, job.setup, identity


class Databases:
    """The locked databases of one worker, and a fresh one kept ready for new files."""

    def __init__(self, limits: QueryLimits) -> None:
        self.limits = limits
        self._kept: OrderedDict[_Key, duckdb.DuckDBPyConnection] = OrderedDict()
        self._spare: duckdb.DuckDBPyConnection | None = None

    def prepare(self) -> None:
        """Open the database the next new set of files will use, while nobody waits for it."""
        if self._spare is None:
            try:
                self._spare = open_database(self.limits)
            except duckdb.Error:
                self._spare = None

    def _build(self, job: SqlJob) -> duckdb.DuckDBPyConnection | SqlRefusal:
        spare, self._spare = self._spare, None
        try:
            if job.database is not None:
                database = open_database(self.limits, job.database)
                self._spare = spare
            else:
                database = spare or open_database(self.limits)
        except duckdb.Error as error:
            return refused_by(error)
        deadline = Deadline(self.limits.timeout, database.interrupt)
        try:
            for statement in job.setup:
                database.execute(statement)
            listed = ", ".join(_literal(name) for name in job.files)
            database.execute(f"SET allowed_paths = [{listed}]")
            database.execute("SET enable_external_access = false")
            database.execute("SET lock_configuration = true")
        except duckdb.Error as error:
            database.close()
            return timed_out(self.limits) if deadline.expired else _refused_by(error)
        except BaseException:
            database.close()
            raise
        finally:
            deadline.cancel()
        return database

    def database(self, job: SqlJob) -> duckdb.DuckDBPyConnection | SqlRefusal:
        """The locked database that shows exactly the files of `job`."""
        key = _key(job)
        if key is None:
            return SqlRefusal("The data asset files are no longer there")
        if key in self._kept:
            self._kept.move_to_end(key)
            return self._kept[key]
        built = self._build(job)
        if isinstance(built, SqlRefusal):
            return built
        self._kept[key] = built
        while len(self._kept) > KEPT_DATABASES:
            _, oldest = self._kept.popitem(last=False)
            oldest.close()
        return built

    def run(self, job: SqlJob) -> SqlAnswer | SqlRefusal:
        """Run `job.sql` on a connection of its own to the database of its files."""
        began = time.monotonic()
        refusal = _refused(job.sql)
        if refusal is not None:
            return refusal
        database = self.database(job)
        if isinstance(database, SqlRefusal):
            return database

        limits = self.limits
        connection = database.cursor()
        deadline = Deadline(limits.timeout - (time.monotonic() - began), connection.interrupt)
        try:
            result = connection.execute(job.sql)
            description = result.description or []
            names = column_names([item[0] for item in description])
            types = [type_name(str(item[1])) for item in description]
            rows, truncated = json_rows(
                names, types, result.fetchmany, max_rows=limits.max_rows, max_bytes=limits.max_bytes
            )
        except duckdb.Error as error:
            return timed_out(limits) if deadline.expired else _refused_by(error)
        finally:
            deadline.cancel()
            connection.close()

        columns = [{"name": name, "type": kind} for name, kind in zip(names, types, strict=True)]
        return SqlAnswer(columns=columns, rows=rows, truncated=truncated)
