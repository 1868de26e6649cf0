"""What a query worker is asked to do, what it answers, and the clock that stops it."""

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueryLimits:
    """What one query may use."""

    timeout: float
    max_rows: int
    max_bytes: int
    memory_mib: int
    threads: int


@dataclass(frozen=True)
class SqlJob:
    """One query: the files it may read, the statements that make them tables, and the SQL to run.

    `engine` is `duckdb` or `sqlite`; `database` names a database file whose own tables are queried,
    otherwise `setup` makes the files tables. `folder` is where the files are; names are relative to it.
    """

    engine: str
    folder: str
    files: tuple[str, ...]
    setup: tuple[str, ...]
    sql: str
    database: str | None = None


@dataclass(frozen=True)
class SqlAnswer:
    columns: list[dict[str, str]]
    rows: list[dict[str, Any]]
    truncated: bool


@dataclass(frozen=True)
class SqlRefusal:
    """Why a query did not answer; `retire` when its worker may be left unfit for another query."""

    message: str
    timed_out: bool = False
    retire: bool = False


def refused_by(error: Exception, *, retire: bool = False) -> SqlRefusal:
    """The engine's own message for `error`, with the assets' folder left out of any path in it."""
    return SqlRefusal(str(error).strip().replace(os.getcwd() + os.sep, ""), retire=retire)


def timed_out(limits: QueryLimits) -> SqlRefusal:
    return SqlRefusal(f"The query ran past the time limit of {limits.timeout:g} s and was stopped", timed_out=True)


class Deadline:
    """Calls `stop` once `seconds` have passed, unless cancelled first."""

    def __init__(self, seconds: float, stop: Callable[[], None]) -> None:
        self.expired = False
        self._stop = stop
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.expired = True
        self._stop()

    def cancel(self) -> None:
        self._timer.cancel()
