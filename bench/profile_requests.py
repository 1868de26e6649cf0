"""In-process loop of the small-request workloads through the ASGI app, to find where their time goes.

    .venv/bin/python bench/profile_requests.py                      # mean ms a request, each workload
    .venv/bin/python bench/profile_requests.py --profile query_search  # cProfile of one workload's loop
    .venv/bin/python bench/profile_requests.py --compare ../other     # this tree against another checkout

The app runs in this process on one event loop (httpx's ASGI transport, no sockets), with a fresh
temporary tree. With `--profile`, FastAPI's thread hops run inline so cProfile sees the whole request.
With `--compare DIR`, the loop runs alternately against DIR's `dmart_attach` and this one's, in child
processes, and prints the ratio of their times per workload (above 1: this tree is faster): wall time
(one request at a time: the fsyncs dominate writes) and CPU time (what bounds throughput under
concurrent load, on one interpreter lock). Ratios
taken in one run hold on a busy machine where absolute numbers do not.
"""

import argparse
import asyncio
import cProfile
import importlib.util
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SPACE = "bench"
ADMIN_PASSWORD = "Admin_pass_123"
WORKLOADS = [
    "create_comment",
    "update_payload",
    "get_entry_20_attachments",
    "query_subpath",
    "query_search",
    "upload_1mib",
]


def _fixtures() -> Any:
    spec = importlib.util.spec_from_file_location("bench_fixtures", HERE / "fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(resource_type: str, subpath: str, shortname: str, **attributes: Any) -> dict[str, Any]:
    return {"resource_type": resource_type, "subpath": subpath, "shortname": shortname, "attributes": attributes}


def _comment(subpath: str, shortname: str) -> dict[str, Any]:
    body = {"body": "A short comment on this entry, as people write them.", "state": "commented"}
    return _record("comment", subpath, shortname, is_active=True, payload={"content_type": "comment", "body": body})


def _json_payload(body: dict[str, Any]) -> dict[str, Any]:
    return {"content_type": "json", "body": body}


class Loop:
    """A fresh tree with the bench's setup, and one request function a workload."""

    def __init__(self, root: Path, entries: int) -> None:
        import httpx

        from dmart_attach.api.app import create_app
        from dmart_attach.config import Settings
        from dmart_attach.services.bootstrap import bootstrap

        spaces = root / "spaces"
        spaces.mkdir()
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            spaces_folder=spaces,
            index_path=root / "state",
            admin_password=ADMIN_PASSWORD,
            jwt_secret="",
            log_level="WARNING",
            argon2_time_cost=1,
            argon2_memory_cost=1024,
            argon2_parallelism=1,
        )
        self.app = create_app(settings)
        bootstrap(self.app.state.services.store)
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://bench")
        self.root = root
        self.entries = entries
        self.headers: dict[str, str] = {}

    async def check(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = await self.client.request(method, path, headers=self.headers, **kwargs)
        if answer.status_code != 200:
            raise RuntimeError(f"{method} {path}: {answer.status_code} {answer.text[:300]}")
        return answer

    async def request(self, request_type: str, *records: dict[str, Any]) -> Any:
        body = {"space_name": SPACE, "request_type": request_type, "records": list(records)}
        return await self.check("POST", "/managed/request", json=body)

    async def setup(self) -> None:
        answer = await self.check("POST", "/user/login", json={"shortname": "dmart", "password": ADMIN_PASSWORD})
        token = answer.json()["records"][0]["attributes"]["access_token"]
        self.headers = {"Authorization": f"Bearer {token}"}
        await self.request("create", _record("space", "/", SPACE, is_active=True))
        await self.request("create", *(_record("folder", "/", name, is_active=True) for name in ("posts", "many")))
        await self.request(
            "create",
            *(
                _record("content", "posts", name, is_active=True, payload=_json_payload({"title": name, "counter": 0}))
                for name in ("target", "doc", "with_attachments")
            ),
        )
        await self.request("create", *(_comment("posts/with_attachments", f"c{i:02d}") for i in range(20)))
        for start in range(0, self.entries, 200):
            records = [
                _record(
                    "content",
                    "many",
                    f"e{i:06d}",
                    is_active=True,
                    tags=[f"k{i % 50}"],
                    payload=_json_payload({"title": f"entry number {i}", "kind": f"kind{i % 50}", "n": i}),
                )
                for i in range(start, min(self.entries, start + 200))
            ]
            await self.request("create", *records)
        image = _fixtures().png(self.root / "image_1024k.png", 2**20)
        self.image = image.read_bytes()

    def workload(self, name: str) -> Callable[[], Any]:
        async def create_comment() -> Any:
            return await self.request("create", _comment("posts/target", "auto"))

        async def update_payload() -> Any:
            payload = _json_payload({"title": "doc", "counter": uuid.uuid4().hex[:12]})
            return await self.request("update", _record("content", "posts", "doc", is_active=True, payload=payload))

        async def get_entry_20_attachments() -> Any:
            return await self.check(
                "GET",
                f"/managed/entry/content/{SPACE}/posts/with_attachments"
                "?retrieve_attachments=true&retrieve_json_payload=true",
            )

        def query(body: dict[str, Any]) -> Callable[[], Any]:
            async def run() -> Any:
                return await self.check("POST", "/managed/query", json={"space_name": SPACE, "subpath": "many", **body})

            return run

        async def upload_1mib() -> Any:
            record = _record("media", "posts/target", "auto", is_active=True, payload={"content_type": "image_png"})
            files = {
                "request_record": ("record.json", json.dumps(record).encode(), "application/json"),
                "payload_file": ("image.png", self.image, "image/png"),
            }
            return await self.check("POST", "/managed/resource_with_payload", data={"space_name": SPACE}, files=files)

        workloads = {
            "create_comment": create_comment,
            "update_payload": update_payload,
            "get_entry_20_attachments": get_entry_20_attachments,
            "query_subpath": query({"type": "subpath", "limit": 20, "offset": 0, "retrieve_json_payload": True}),
            "query_search": query(
                {"type": "search", "search": "@payload.body.kind:kind7", "limit": 20, "retrieve_json_payload": True}
            ),
            "upload_1mib": upload_1mib,
        }
        return workloads[name]


def _inline_thread_hops() -> None:
    """Run FastAPI's sync routes and dependencies on the loop's thread, so cProfile sees them."""
    import fastapi.dependencies.utils
    import fastapi.routing

    async def inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    fastapi.routing.run_in_threadpool = inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = inline  # type: ignore[attr-defined]


async def _measure(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="dmart-attach-profile-") as folder:
        loop = Loop(Path(folder), args.entries)
        await loop.setup()
        times: dict[str, dict[str, float]] = {}
        for name in args.only or WORKLOADS:
            run = loop.workload(name)
            loops = max(3, args.loops // 10) if name == "upload_1mib" else args.loops
            for _ in range(min(5, loops)):
                await run()
            profiler = cProfile.Profile() if args.profile == name else None
            started, cpu = time.perf_counter(), time.process_time()
            if profiler is not None:
                profiler.enable()
            for _ in range(loops):
                await run()
            if profiler is not None:
                profiler.disable()
            wall_ms = (time.perf_counter() - started) / loops * 1000
            times[name] = {"wall": wall_ms, "cpu": (time.process_time() - cpu) / loops * 1000}
            if profiler is not None:
                if args.dump:
                    profiler.dump_stats(args.dump)
                stats = pstats.Stats(profiler, stream=sys.stderr)
                stats.sort_stats(args.sort).print_stats(args.lines)
        await loop.client.aclose()
        return times


def _compare(args: argparse.Namespace) -> None:
    """Alternate child runs against `args.compare` and this tree; print the ratio per workload."""
    mine, other = str(HERE.parent), str(Path(args.compare).resolve())
    command = [sys.executable, str(Path(__file__).resolve()), "--json", "--loops", str(args.loops)]
    command += ["--entries", str(args.entries)]
    for name in args.only or []:
        command += ["--only", name]
    runs: dict[str, list[dict[str, dict[str, float]]]] = {"base": [], "this": []}
    for _ in range(args.rounds):
        for label, tree in (("base", other), ("this", mine)):
            env = {**os.environ, "PYTHONPATH": tree}
            out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
            runs[label].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{'workload':<26}{'wall ms base':>13}{'this':>8}{'ratio':>8}{'cpu ms base':>13}{'this':>8}{'ratio':>8}")
    for name in runs["this"][0]:
        line = f"{name:<26}"
        for kind in ("wall", "cpu"):
            base = _median([run[name][kind] for run in runs["base"]])
            this = _median([run[name][kind] for run in runs["this"]])
            line += f"{base:>13.2f}{this:>8.2f}{base / this:>7.2f}x"
        print(line)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loops", type=int, default=200, help="requests a workload (uploads: a tenth)")
    parser.add_argument("--entries", type=int, default=2000, help="entries of the queried folder")
    parser.add_argument("--only", action="append", choices=WORKLOADS, help="run only this workload (repeatable)")
    parser.add_argument("--profile", choices=WORKLOADS, help="print a cProfile of this workload's loop")
    parser.add_argument("--sort", default="cumulative", help="pstats sort key")
    parser.add_argument("--dump", help="also write the profile's raw stats to this file")
    parser.add_argument("--lines", type=int, default=60, help="lines of the profile")
    parser.add_argument("--compare", help="another checkout: alternate runs, print base/this ratios")
    parser.add_argument("--rounds", type=int, default=3, help="alternations with --compare (median taken)")
    parser.add_argument("--json", action="store_true", help="print the times as one JSON line")
    args = parser.parse_args()
    if args.compare:
        _compare(args)
        return
    if args.profile:
        _inline_thread_hops()
        args.only = args.only or [args.profile]
    times = asyncio.run(_measure(args))
    if args.json:
        print(json.dumps(times))
    else:
        for name, ms in times.items():
            print(f"{name:<28}{ms['wall']:>8.2f} ms wall {ms['cpu']:>8.2f} ms cpu")


if __name__ == "__main__":
    main()
