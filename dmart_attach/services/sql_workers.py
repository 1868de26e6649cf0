"""A pool of worker processes that run data-asset queries, so a query can crash or hang without harm.

Workers are forked from a server process that has already imported DuckDB, so replacing one
costs milliseconds. Each worker runs one query at a time; a worker that does not answer in time
is killed and replaced, and so is one that dies.
"""

import logging
import multiprocessing
import queue
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess

from dmart_attach.errors import DmartError
from dmart_attach.services import sql_engine
from dmart_attach.services.sql_jobs import QueryLimits, SqlAnswer, SqlJob, SqlRefusal

logger = logging.getLogger(__name__)

# Seconds a worker gets beyond the query's own time limit to notice the limit and answer.
GRACE_SECONDS = 2.0
_JOIN_SECONDS = 5.0


def query_failed(message: str) -> DmartError:
    """The 400 a query answers when it cannot run: bad SQL, a refused operation, a broken file."""
    return DmartError(400, "data_asset", 402, message)


def query_timed_out(message: str) -> DmartError:
    return DmartError(400, "data_asset", 504, message)


@dataclass(eq=False)
class _Worker:
    process: BaseProcess
    connection: Connection


class SqlWorkers:
    """Worker processes started ahead and reused, each answering one query at a time."""

    def __init__(self, *, size: int, worker_memory_mib: int, limits: QueryLimits, grace: float = GRACE_SECONDS) -> None:
        self.size = size
        self.worker_memory_mib = worker_memory_mib
        self.limits = limits
        self.grace = grace
        self._context = multiprocessing.get_context("forkserver")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: set[_Worker] = set()
        self._lock = threading.Lock()
        self._started = False
        self._closed = False

    def start(self) -> None:
        """Start the workers (once); queries before this start them on first use."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
            self._context.set_forkserver_preload(["__main__", sql_engine.__name__])
            for _ in range(self.size):
                self._idle.put(self._spawn())

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
        for worker in workers:
            self._stop(worker)

    @property
    def pids(self) -> list[int]:
        """The process ids of the live workers."""
        with self._lock:
            return sorted(worker.process.pid for worker in self._all if worker.process.pid is not None)

    def _spawn(self) -> _Worker:
        # Called with the lock held.
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(
            target=sql_engine.serve,
            args=(child_end, self.worker_memory_mib, self.limits),
            name="dmart-attach-sql",
            daemon=True,
        )
        process.start()
        child_end.close()
        worker = _Worker(process=process, connection=parent_end)
        self._all.add(worker)
        return worker

    def _stop(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.connection.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(_JOIN_SECONDS)

    def _replace(self, worker: _Worker) -> None:
        self._stop(worker)
        with self._lock:
            if self._closed:
                return
            self._idle.put(self._spawn())

    def _checkout(self, wait: float) -> _Worker:
        self.start()
        try:
            return self._idle.get(timeout=wait)
        except queue.Empty:
            raise DmartError(503, "data_asset", 430, "Every query worker is busy; try again shortly") from None

    def run(self, job: SqlJob) -> SqlAnswer:
        """Run `job` in a worker; a refusal, a timeout or a dead worker raises a 400."""
        timeout = self.limits.timeout
        worker = self._checkout(timeout)
        try:
            worker.connection.send(job)
            if not worker.connection.poll(timeout + self.grace):
                logger.warning("query worker did not answer in time; replacing it", extra={"pid": worker.process.pid})
                self._replace(worker)
                raise query_timed_out(f"The query ran past the time limit of {timeout:g} s and was stopped")
            outcome = worker.connection.recv()
        except (EOFError, OSError):
            logger.warning("query worker died; replacing it", extra={"pid": worker.process.pid})
            self._replace(worker)
            raise query_failed("The query stopped its worker process (the data asset may be damaged)") from None
        if isinstance(outcome, SqlRefusal) and outcome.retire:
            self._replace(worker)
        else:
            self._idle.put(worker)

        if isinstance(outcome, SqlRefusal):
            raise query_timed_out(outcome.message) if outcome.timed_out else query_failed(outcome.message)
        assert isinstance(outcome, SqlAnswer)
        return outcome
