"""Benchmark: an aggregate over a 1-million-row data asset, through the route and in DuckDB itself.

Serves a temporary tree with the real server, stores a 1,000,000-row CSV and the same rows as
Parquet as data assets of one entry, then times `POST /managed/data-asset` (HTTP, login token,
asset lookup, worker process, typed JSON answer) against DuckDB running the same SQL on the same
file in this process with the same thread and memory limits. Reports the median of each and their
ratio (target: under 1.3).

    .venv/bin/python -m bench.data_asset_query [--rows N] [--runs N]
"""

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx

from dmart_attach.config import Settings
from tests.utils.data_assets import attach_data_asset, query_body
from tests.utils.factories import record, request_body
from tests.utils.live import live_server

PASSWORD = "Bench_pass_123"
SQL = (
    "SELECT region, count(*) AS orders, sum(amount) AS total, avg(amount) AS mean, max(placed_at) AS last "
    "FROM file GROUP BY region ORDER BY region"
)
TARGET = 1.3


def make_files(folder: Path, rows: int) -> dict[str, Path]:
    """The same rows as a CSV and a Parquet file."""
    paths = {"csv": folder / "orders.csv", "parquet": folder / "orders.parquet"}
    with duckdb.connect() as connection:
        connection.execute(
            "CREATE TABLE orders AS SELECT range AS id, 'region_' || (range % 40) AS region, "
            "round((range % 10007) / 7.0, 2) AS amount, TIMESTAMP '2024-01-01' + to_seconds(range) AS placed_at, "
            f"md5(range::VARCHAR) AS reference FROM range({rows})"
        )
        for kind, path in paths.items():
            connection.execute(f"COPY orders TO '{path}' (FORMAT {kind})")
    return paths


def seconds(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def alternating_medians(first: Callable[[], None], second: Callable[[], None], runs: int) -> tuple[float, float]:
    """The median time of each, run turn about so a busy machine weighs on both alike."""
    timings: tuple[list[float], list[float]] = ([], [])
    for _ in range(runs):
        timings[0].append(seconds(first))
        timings[1].append(seconds(second))
    return statistics.median(timings[0]), statistics.median(timings[1])


def settings_for(root: Path) -> Settings:
    (root / "spaces").mkdir()
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        spaces_folder=root / "spaces",
        index_path=root / "state",
        admin_password=PASSWORD,
        log_level="WARNING",
        data_asset_timeout=120,
    )


def logged_in(http: httpx.Client, settings: Settings) -> None:
    """Log in as the admin and create the entry `bench/data/orders`."""
    login = http.post("/user/login", json={"shortname": settings.admin_shortname, "password": PASSWORD})
    http.headers["Authorization"] = "Bearer " + login.json()["records"][0]["attributes"]["access_token"]
    for created in (
        record("space", "/", "bench", is_active=True),
        record("folder", "/", "data", is_active=True),
        record("content", "data", "orders", is_active=True),
    ):
        http.post("/managed/request", json=request_body("bench", "create", created)).raise_for_status()


def compare(http: httpx.Client, settings: Settings, kind: str, path: Path, runs: int) -> float:
    """Time the route and in-process DuckDB on the same file; print both and answer their ratio."""
    attach_data_asset(
        settings.spaces_root,
        space_name="bench",
        subpath="data",
        parent="orders",
        shortname=kind,
        kind=kind,
        content=path.read_bytes(),
    )
    body = query_body("bench", "data", "orders", kind, SQL)

    def through_route() -> None:
        http.post("/managed/data-asset", json=body).raise_for_status()

    local = duckdb.connect(
        config={"threads": settings.data_asset_threads, "memory_limit": f"{settings.data_asset_memory_limit}MiB"}
    )
    reader = "read_csv" if kind == "csv" else "read_parquet"
    local.execute(f"CREATE VIEW file AS SELECT * FROM {reader}('{path}')")

    def in_process() -> None:
        local.execute(SQL).fetchall()

    # The first query of a worker on new files also builds its database; each worker does it once.
    first = max(seconds(through_route) for _ in range(settings.data_asset_workers))
    in_process()
    route, direct = alternating_medians(through_route, in_process, runs)
    local.close()
    ratio = route / direct
    verdict = "ok" if ratio < TARGET else "over target"
    print(
        f"{kind:8} route {route * 1000:8.1f} ms   duckdb {direct * 1000:8.1f} ms   ratio {ratio:5.2f}   "
        f"{verdict} (< {TARGET});   first query on new files {first * 1000:.1f} ms"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-data-asset-") as scratch:
        root = Path(scratch)
        settings = settings_for(root)
        files = make_files(root, args.rows)
        print(
            f"{args.rows:,} rows; csv {files['csv'].stat().st_size / 2**20:.1f} MiB, "
            f"parquet {files['parquet'].stat().st_size / 2**20:.1f} MiB; threads {settings.data_asset_threads}, "
            f"memory {settings.data_asset_memory_limit} MiB; median of {args.runs} runs"
        )
        with live_server(settings) as url, httpx.Client(base_url=url, timeout=300) as http:
            logged_in(http, settings)
            ratios = [compare(http, settings, kind, path, args.runs) for kind, path in files.items()]
    return 0 if max(ratios) < TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
