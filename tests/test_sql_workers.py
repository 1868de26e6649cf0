"""The pool of query workers: started ahead, reused, and replaced when one dies or hangs."""

import os
import resource
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dmart_attach.config import Settings
from dmart_attach.errors import DmartError
from dmart_attach.services.sql_jobs import QueryLimits, SqlJob
from dmart_attach.services.sql_workers import SqlWorkers

LONG_QUERY = "SELECT count(*) FROM range(1000000000000)"
# Seconds a worker gets past the time limit; short, so a hung worker costs the tests little.
GRACE = 0.5
DEFAULT_MAX_BYTES = Settings.model_fields["data_asset_max_bytes"].default


def job(folder: Path, sql: str) -> SqlJob:
    return SqlJob(engine="duckdb", folder=str(folder), files=(), setup=(), sql=sql)


def limits(timeout: float) -> QueryLimits:
    return QueryLimits(timeout=timeout, max_rows=10, max_bytes=DEFAULT_MAX_BYTES, memory_mib=64, threads=1)


@contextmanager
def started(*, size: int = 1, timeout: float = 30.0) -> Iterator[SqlWorkers]:
    workers = SqlWorkers(size=size, worker_memory_mib=2048, limits=limits(timeout), grace=GRACE)
    workers.start()
    try:
        yield workers
    finally:
        workers.close()


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
    with started(size=2) as pool:
        pids = pool.pids

        answers = [pool.run(job(tmp_path, f"SELECT {n} AS n")).rows for n in range(4)]

        assert len(pids) == 2
        assert answers == [[{"n": n}] for n in range(4)]
        assert pool.pids == pids
    assert pool.pids == []


def test_a_worker_that_dies_mid_query_is_replaced(tmp_path: Path) -> None:
    with started() as pool:
        [victim] = pool.pids
        thread, errors = run_in_background(pool, job(tmp_path, LONG_QUERY))
        time.sleep(0.3)

        os.kill(victim, signal.SIGKILL)
        thread.join(10)

        assert isinstance(errors[0], DmartError)
        assert (errors[0].status_code, errors[0].code) == (400, 402)
        assert errors[0].message == "The query stopped its worker process (the data asset may be damaged)"
        assert victim not in pool.pids
        assert pool.run(job(tmp_path, "SELECT 42 AS answer")).rows == [{"answer": 42}]


def test_a_worker_that_hangs_is_killed_and_replaced(tmp_path: Path) -> None:
    with started(timeout=0.3) as pool:
        [victim] = pool.pids
        thread, errors = run_in_background(pool, job(tmp_path, LONG_QUERY))
        time.sleep(0.1)
        begun = time.monotonic()

        # A stopped process cannot even notice its own time limit: only the pool's deadline ends it.
        os.kill(victim, signal.SIGSTOP)
        thread.join(10)

        assert isinstance(errors[0], DmartError)
        assert (errors[0].status_code, errors[0].code) == (400, 504)
        assert time.monotonic() - begun < 0.3 + GRACE + 1
        assert victim not in pool.pids
        assert pool.run(job(tmp_path, "SELECT 7 AS n")).rows == [{"n": 7}]


def test_a_query_finding_every_worker_busy_answers_503(tmp_path: Path) -> None:
    with started(timeout=0.3) as pool:
        [victim] = pool.pids
        thread, _ = run_in_background(pool, job(tmp_path, LONG_QUERY))
        time.sleep(0.1)
        os.kill(victim, signal.SIGSTOP)

        with pytest.raises(DmartError) as refused:
            pool.run(job(tmp_path, "SELECT 1"))
        thread.join(10)

        assert (refused.value.status_code, refused.value.code) == (503, 430)
        assert pool.run(job(tmp_path, "SELECT 1 AS n")).rows == [{"n": 1}]


def test_a_worker_cannot_allocate_past_its_memory_cap_and_is_then_replaced(tmp_path: Path) -> None:
    # DuckDB's own limit is set far above the worker's cap, so only the cap can stop this query.
    generous = QueryLimits(timeout=30, max_rows=10, max_bytes=DEFAULT_MAX_BYTES, memory_mib=16_384, threads=1)
    pool = SqlWorkers(size=1, worker_memory_mib=400, limits=generous, grace=GRACE)
    pool.start()
    try:
        [spent] = pool.pids
        with pytest.raises(DmartError) as refused:
            pool.run(job(tmp_path, "SELECT list(range) FROM range(200000000)"))

        assert (refused.value.status_code, refused.value.code) == (400, 402)
        assert refused.value.message.startswith("Out of Memory Error")
        # A worker whose allocator failed is replaced rather than trusted with the next query.
        assert spent not in pool.pids
        assert pool.run(job(tmp_path, "SELECT 3 AS n")).rows == [{"n": 3}]
    finally:
        pool.close()


@pytest.mark.parametrize(
    ("engine", "sql"),
    [
        ("duckdb", "SELECT repeat('x', 100000000) AS x"),
        ("sqlite", "SELECT randomblob(60000000) AS x"),
    ],
)
def test_an_answer_past_the_byte_cap_is_refused_inside_the_worker(tmp_path: Path, engine: str, sql: str) -> None:
    # 100 MB of text, or 80 MB of base64: past the default cap of 64 MiB, within what the engines may use.
    roomy = QueryLimits(timeout=30, max_rows=10, max_bytes=DEFAULT_MAX_BYTES, memory_mib=512, threads=1)
    sqlite3.connect(tmp_path / "empty.sqlite").close()
    work = (
        job(tmp_path, sql)
        if engine == "duckdb"
        else SqlJob(engine="sqlite", folder=str(tmp_path), files=(), setup=(), sql=sql, database="empty.sqlite")
    )
    pool = SqlWorkers(size=1, worker_memory_mib=2048, limits=roomy, grace=GRACE)
    pool.start()
    try:
        peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with pytest.raises(DmartError) as refused:
            pool.run(work)
        grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before

        assert (refused.value.status_code, refused.value.type, refused.value.code) == (400, "data_asset", 402)
        assert refused.value.message == (
            "The answer would be larger than 67108864 bytes, the most a data-asset query may answer; "
            "select fewer rows or columns, or shorter values"
        )
        # The oversized rows never reach this process.
        assert grown_kib < 32 * 1024
        assert pool.run(job(tmp_path, "SELECT 5 AS n")).rows == [{"n": 5}]
    finally:
        pool.close()
