"""`make bench`: start the service on a fresh tree, run every workload with wrk, write the tables.

python -m bench.run [--seconds S] [--connections C] [--workers 1,2] [--peer dmart] [--only a,b]
"""

import argparse
import datetime
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench import disk, fixtures, report
from bench.loadgen import run_wrk
from bench.processes import Server, free_port
from bench.target import Skip, Target
from bench.workloads import MIB, SALES_SQL, WORKLOADS, Options, Workload, image_name

REPO = Path(__file__).resolve().parents[1]
SERVICE = REPO / ".venv/bin/dmart-attach"
ADMIN_PASSWORD = "Bench_pass_123"
PEER_PASSWORD = os.environ.get("DMART_ADMIN_PASSWORD", "Dmart_Peer_2026")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3, help="length of each load run")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (some workloads use fewer)")
    parser.add_argument("--workers", default="1,2", help="worker counts of the service, comma-separated")
    parser.add_argument("--entries", type=int, default=10_000, help="entries in the queried folder")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the data-asset CSV")
    parser.add_argument("--big-mib", type=int, default=100, help="size of the big file, MiB")
    parser.add_argument("--only", default="", help="workload names to run, comma-separated (default all)")
    parser.add_argument("--peer", default="", choices=["", "dmart"], help="also run against a real Dmart")
    parser.add_argument("--out", type=Path, default=REPO / "bench", help="folder for results.md and results.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary tree")
    parser.add_argument(
        "--service", type=Path, default=SERVICE, help="the dmart-attach command of the build to measure"
    )
    return parser.parse_args()


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def measure(target: Target, workload: Workload, options: Options, args: argparse.Namespace) -> dict[str, Any]:
    """Set up, check the request once, then load it; the row of raw numbers (or the skip note)."""
    row: dict[str, Any] = {"workload": workload.name, "server": target.name}
    try:
        workload.setup(target, options)
        call = workload.request(target, options)
        answer = target.check(call)
    except (Skip, RuntimeError, httpx.HTTPError) as skip:
        say(f"  {workload.name}: skipped ({skip})")
        return {**row, "skipped": str(skip)[:200]}
    connections = min(args.connections, workload.connections or args.connections)
    seconds = max(args.seconds, workload.least_seconds)
    try:
        result = run_wrk(target.base_url, call, target.server_pid, seconds=seconds, connections=connections)
    except subprocess.CalledProcessError as error:
        return {**row, "skipped": f"wrk failed: {error.stderr.decode(errors='replace')[:160]}"}
    say(f"  {workload.name}: {result.rps:.1f} req/s, p50 {result.p50_ms:.1f} ms, {result.errors} failed")
    row.update(measure=result.as_json(), connections=connections, seconds=seconds, response_bytes=len(answer.content))
    row["call"] = (call, len(answer.content))
    return row


def service_env(tree: Path) -> dict[str, str]:
    return {
        "SPACES_FOLDER": str(tree / "spaces"),
        "INDEX_PATH": str(tree / "state"),
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "JWT_SECRET": secrets.token_hex(32),
        "LOG_LEVEL": "WARNING",
    }


def run_service(workers: int, tree: Path, env: dict[str, str], state: dict[str, Any], chosen, options, args):
    """Every workload against `dmart-attach serve --workers N`, then the ceilings on the same settings."""
    name = f"dmart_attach, {workers} worker{'s' if workers > 1 else ''}"
    say(f"{name}:")
    command = [str(args.service), "serve", "--workers", str(workers), "--port"]
    rows = []
    for workload in chosen:
        # A fresh process for each workload, so its peak memory is its own.
        port = free_port()
        server = Server([*command, str(port)], port, tree, env, tree / f"service-{workers}.log")
        try:
            target = Target(name, server.base_url, server.pid, "dmart", ADMIN_PASSWORD, tree / "files", state=state)
            target.token = state.get("token", "")
            if not target.token:
                target.login()
                state["token"] = target.token
            rows.append(measure(target, workload, options, args))
        finally:
            server.stop()
    port = free_port()
    command = [sys.executable, "-m", "bench.baseline_app", "--port", str(port), "--workers", str(workers)]
    baseline = Server(
        command,
        port,
        tree,
        {**env, "BENCH_FILES": str(tree / "files"), "PYTHONPATH": str(REPO)},
        tree / f"baseline-{workers}.log",
    )
    try:
        for workload, row in zip(chosen, rows, strict=True):
            call_and_size = row.pop("call", None)
            if workload.ceiling is None or call_and_size is None:
                continue
            ceiling = workload.ceiling.build(*call_and_size, options)
            connections, seconds = row["connections"], row["seconds"]
            result = run_wrk(baseline.base_url, ceiling, baseline.pid, seconds=seconds, connections=connections)
            say(f"  ceiling of {workload.name} ({workload.ceiling.name}): {result.rps:.1f} req/s")
            row["ceiling"] = {"name": workload.ceiling.name, "measure": result.as_json()}
    finally:
        baseline.stop()
    return rows


def run_peer(tree: Path, chosen, options, args) -> list[dict[str, Any]]:
    """The same workloads against a real Dmart started by `bench/peer-dmart`."""
    say("dmart peer: starting (a few minutes the first time)")
    started = subprocess.run([str(REPO / "bench/peer-dmart")], check=True, capture_output=True, text=True)
    base_url = started.stdout.strip().splitlines()[-1]
    peer_dir = Path(os.environ.get("PEER_DIR", "/tmp/dmart-attach-bench-peer"))
    pid = int((peer_dir / "dmart.pid").read_text())
    target = Target("Dmart 1.6", base_url, pid, "dmart", PEER_PASSWORD, tree / "files")
    target.login()
    say("Dmart 1.6:")
    rows = [measure(target, workload, options, args) for workload in chosen]
    for row in rows:
        row.pop("call", None)
    target.request("delete", {"resource_type": "space", "subpath": "/", "shortname": "bench", "attributes": {}})
    return rows


def references(tree: Path, options: Options, args: argparse.Namespace, names: set[str]) -> dict[str, Any]:
    """The disk's and DuckDB's own speed, measured in the same run."""
    say("references:")
    found: dict[str, Any] = {"durable_write": disk.durable_writes(tree / "durable", args.seconds, args.connections)}
    for label, size in (("cp_1mib", MIB), ("cp_big", options.big_mib * MIB)):
        file = fixtures.png(tree / "files" / image_name(size), size)
        found[label] = disk.cp(file, tree / "copies", args.seconds)
    if "data_asset_aggregate" in names:
        csv = fixtures.sales_csv(tree / "files" / f"sales_{options.rows}.csv", options.rows)
        found["duckdb"] = disk.duckdb_sql(SALES_SQL, csv, args.seconds)
    for key, value in found.items():
        say(f"  {key}: {value}")
    return found


def machine() -> dict[str, Any]:
    memory = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(int(memory.split()[1]) / 2**20, 1),
        "system": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("[")[0].strip(),
    }


def main() -> None:
    args = parse()
    options = Options(entries=args.entries, rows=args.rows, big_mib=args.big_mib)
    wanted = {name for name in args.only.split(",") if name}
    chosen = [workload for workload in WORKLOADS if not wanted or workload.name in wanted]
    tree = Path(tempfile.mkdtemp(prefix="dmart-attach-bench-"))
    (tree / "spaces").mkdir()
    (tree / "files").mkdir()
    say(f"temporary tree: {tree}")
    env = service_env(tree)
    state: dict[str, Any] = {}
    rows: list[dict[str, Any]] = []
    try:
        for workers in [int(n) for n in args.workers.split(",")]:
            rows += run_service(workers, tree, env, state, chosen, options, args)
        found = references(tree, options, args, {workload.name for workload in chosen})
        if args.peer == "dmart":
            rows += run_peer(tree, chosen, options, args)
    finally:
        if not args.keep:
            shutil.rmtree(tree, ignore_errors=True)
    results = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "command": "make bench" + (" PEER=dmart" if args.peer else ""),
        "arguments": {key: str(value) for key, value in vars(args).items()},
        "workloads": {workload.name: {"what": workload.what, "targets": workload.targets} for workload in chosen},
        "rows": rows,
        "references": found,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    report.write(results, args.out)
    say(f"wrote {args.out / 'results.md'} and {args.out / 'results.json'}")


if __name__ == "__main__":
    main()
