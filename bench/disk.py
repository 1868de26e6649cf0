"""In-process references: the disk's durable creates, `cp` of the files, DuckDB on the same SQL."""

import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any


def _repeat(action: Callable[[int], None], seconds: float, least: int = 3) -> dict[str, Any]:
    """Run `action(i)` for about `seconds` (at least `least` times); rate and latency percentiles."""
    times: list[float] = []
    started = time.perf_counter()
    while len(times) < least or time.perf_counter() - started < seconds:
        begin = time.perf_counter()
        action(len(times))
        times.append(time.perf_counter() - begin)
    elapsed = time.perf_counter() - started
    ordered = sorted(times)
    return {
        "count": len(times),
        "rps": len(times) / elapsed,
        "p50_ms": statistics.median(ordered) * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def durable_writes(folder: Path, seconds: float, threads: int = 1, size: int = 700) -> dict[str, Any]:
    """Durable creates from `threads` threads: write a temporary file, fsync, rename, fsync the directory."""
    folder.mkdir(parents=True, exist_ok=True)
    data = os.urandom(size)
    directory = os.open(folder, os.O_RDONLY)

    def create(name: str) -> None:
        temporary = folder / f".tmp{name}"
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temporary.rename(folder / f"{name}.json")
        os.fsync(directory)

    def worker(number: int) -> dict[str, Any]:
        return _repeat(lambda i: create(f"w{number}f{i}"), seconds)

    try:
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(worker, range(threads)))
    finally:
        os.close(directory)
        shutil.rmtree(folder, ignore_errors=True)
    # Each thread ran for about `seconds`: the rates add up; latencies are the slowest thread's.
    return {
        "count": sum(r["count"] for r in results),
        "rps": sum(r["rps"] for r in results),
        "threads": threads,
        "p50_ms": max(r["p50_ms"] for r in results),
        "p99_ms": max(r["p99_ms"] for r in results),
    }


def cp(file: Path, folder: Path, seconds: float) -> dict[str, Any]:
    """`cp` of `file` into `folder` (page cache, no fsync), as the shell does it."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        result = _repeat(lambda i: subprocess.run(["cp", str(file), str(folder / f"copy{i % 2}")], check=True), seconds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    result["mib_per_s"] = result["rps"] * file.stat().st_size / 2**20
    return result


def duckdb_sql(sql: str, csv: Path, seconds: float) -> dict[str, Any] | str:
    """DuckDB in this process running `sql` with `file` as the CSV: the engine's own speed."""
    try:
        import duckdb
    except ImportError:
        return "duckdb is not installed in this environment"
    connection = duckdb.connect()
    query = sql.replace("FROM file", f"FROM read_csv('{csv}')")

    def run(i: int) -> None:
        connection.execute(query).fetchall()

    try:
        return _repeat(run, seconds)
    finally:
        connection.close()
