"""Driving wrk: one request shape, fixed connections and duration, summary read back as JSON."""

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import RssSampler

SCRIPT = Path(__file__).with_name("wrk.lua")
UNIQUE = b"@@N@@"


@dataclass(frozen=True)
class Call:
    """One HTTP request as the load generator repeats it; `@@N@@` in the body becomes unique per request."""

    method: str
    path: str
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def with_path(self, path: str) -> "Call":
        return Call(self.method, path, self.body, self.headers)


@dataclass
class Measure:
    """What one load run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    peak_rss_mib: float
    idle_rss_mib: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "rps": round(self.rps, 2)}


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: `apt-get install wrk` (make bench does it)")
    return found


def run_wrk(
    base_url: str, call: Call, server_pid: int, *, seconds: float, connections: int, timeout: float = 60
) -> Measure:
    """Repeat `call` against `base_url` with wrk while sampling the server's memory."""
    threads = max(1, min(connections, 2))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as folder:
        work = Path(folder)
        (work / "headers").write_text("".join(f"{name}: {value}\n" for name, value in call.headers))
        env = {
            "BENCH_METHOD": call.method,
            "BENCH_HEADERS_FILE": str(work / "headers"),
            "BENCH_OUT": str(work / "summary.json"),
            "BENCH_UNIQUE": "1" if UNIQUE in call.body else "0",
        }
        if call.body:
            (work / "body").write_bytes(call.body)
            env["BENCH_BODY_FILE"] = str(work / "body")
        command = [
            wrk_path(),
            f"--threads={threads}",
            f"--connections={connections}",
            f"--duration={max(1, round(seconds))}s",
            f"--timeout={round(timeout)}s",
            f"--script={SCRIPT}",
            base_url + call.path,
        ]
        with RssSampler(server_pid) as memory:
            subprocess.run(command, env={**os.environ, **env}, check=True, capture_output=True)
        summary = json.loads((work / "summary.json").read_text())
    errors = summary["errors"]
    return Measure(
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        p50_ms=summary["latency_us"]["p50"] / 1000,
        p99_ms=summary["latency_us"]["p99"] / 1000,
        errors=errors["status"] + errors["timeout"] + errors["read"] + errors["write"] + errors["connect"],
        peak_rss_mib=memory.peak / 2**20,
        idle_rss_mib=memory.idle / 2**20,
    )
