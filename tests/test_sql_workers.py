"""The pool of query workers: started ahead, reused, and replaced when one dies or hangs."""

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dmart_attach.errors import DmartError
from dmart_attach.services.sql_engine import QueryLimits, SqlJob
from dmart_attach.services.sql_workers import GRACE_SECONDS, SqlWorkers

LONG_QUERY = "SELECT count(*) FROM range(1000000000000)"


def job(folder: Path, sql: str, *, timeout: float = 5.0) -> SqlJob:
    limits = QueryLimits(timeout=timeout, max_rows=10, memory_mib=64, threads=1)
    return SqlJob(engine="duckdb", folder=str(folder), files=(), setup=(), sql=sql, limits=limits)


@pytest.fixture
def pool() -> Iterator[SqlWorkers]:
    workers = SqlWorkers(size=1, worker_memory_mib=2048)
    workers.start()
    yield workers
    workers.close()


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def run_in_background(pool: SqlWorkers, work: SqlJob) -> tuple[threading.Thread, list[BaseException]]:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            pool.run(work)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    return thread, errors


def test_workers_are_started_ahead_and_reused(tmp_path: Path) -> None:
    pool = SqlWorkers(size=2, worker_memory_mib=2048)
    pool.start()
    try:
        started = pool.pids

        answers = [pool.run(job(tmp_path, f"SELECT {n} AS n")).rows for n in range(4)]

        assert len(started) == 2
        assert answers == [[{"n": n}] for n in range(4)]
        assert pool.pids == started
    finally:
        pool.close()
    assert pool.pids == []


def test_a_worker_that_dies_mid_query_is_replaced(pool: SqlWorkers, tmp_path: Path) -> None:
    [victim] = pool.pids
    thread, errors = run_in_background(pool, job(tmp_path, LONG_QUERY, timeout=30))
    time.sleep(0.3)

    os.kill(victim, signal.SIGKILL)
    thread.join(10)

    assert isinstance(errors[0], DmartError)
    assert (errors[0].status_code, errors[0].code) == (400, 402)
    assert errors[0].message == "The query stopped its worker process (the data asset may be damaged)"
    assert victim not in pool.pids
    assert pool.run(job(tmp_path, "SELECT 42 AS answer")).rows == [{"answer": 42}]


def test_a_worker_that_hangs_is_killed_and_replaced(pool: SqlWorkers, tmp_path: Path) -> None:
    [victim] = pool.pids
    thread, errors = run_in_background(pool, job(tmp_path, LONG_QUERY, timeout=0.3))
    time.sleep(0.1)
    started = time.monotonic()

    # A stopped process cannot even notice its own time limit: only the pool's deadline ends it.
    os.kill(victim, signal.SIGSTOP)
    thread.join(10)

    assert isinstance(errors[0], DmartError)
    assert (errors[0].status_code, errors[0].code) == (400, 504)
    assert time.monotonic() - started < 0.3 + GRACE_SECONDS + 1
    wait_until(lambda: victim not in pool.pids)
    assert pool.run(job(tmp_path, "SELECT 7 AS n")).rows == [{"n": 7}]


def test_a_query_waits_for_a_busy_worker_then_answers_503(pool: SqlWorkers, tmp_path: Path) -> None:
    thread, _ = run_in_background(pool, job(tmp_path, LONG_QUERY, timeout=1.0))
    time.sleep(0.1)

    with pytest.raises(DmartError) as refused:
        pool.run(job(tmp_path, "SELECT 1", timeout=0.2))
    thread.join(10)

    assert (refused.value.status_code, refused.value.code) == (503, 430)
    assert pool.run(job(tmp_path, "SELECT 1 AS n")).rows == [{"n": 1}]
