"""A query worker's life: receive a job, run it inside the assets' folder, send the answer back.

The worker's current folder is the folder of the assets, so every path the engines see (and
every path an error message could repeat) is a name relative to the entry.
"""

import os
import resource
import signal
from multiprocessing.connection import Connection

from dmart_attach.services.sql_duckdb import Databases
from dmart_attach.services.sql_jobs import QueryLimits, SqlAnswer, SqlJob, SqlRefusal, refused_by
from dmart_attach.services.sql_sqlite import run_sqlite
from dmart_attach.services.sql_values import AnswerTooLarge


def _answer(job: SqlJob, limits: QueryLimits, databases: Databases) -> SqlAnswer | SqlRefusal:
    try:
        os.chdir(job.folder)
    except OSError:
        return SqlRefusal("The data asset files are no longer there")
    try:
        if job.engine == "sqlite":
            return run_sqlite(job, limits)
        return databases.run(job)
    except AnswerTooLarge as error:
        return SqlRefusal(str(error))


def serve(connection: Connection, memory_mib: int, limits: QueryLimits) -> None:
    """Answer jobs one by one until the pool closes the pipe, or a job leaves the worker unfit.

    The memory the worker may allocate is capped, whatever a file claims.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    databases = Databases(limits)
    databases.prepare()
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer = _answer(job, limits, databases)
        except MemoryError:
            answer = SqlRefusal("The query needed more memory than a query may use", retire=True)
        except Exception as error:
            # A broken file can make the engine fail in ways it has no error class for.
            answer = SqlRefusal(f"The query failed: {refused_by(error).message}", retire=True)
        connection.send(answer)
        if isinstance(answer, SqlRefusal) and answer.retire:
            return
        databases.prepare()
