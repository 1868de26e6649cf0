"""Query and reindex speed on a folder of 100 000 entries, as ratios against 1 000 entries and a plain read.

Run with `.venv/bin/python bench/query_bench.py [--entries N]`; not part of `make test`.
"""

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dmart_attach.config import Settings
from dmart_attach.models.api import Record
from dmart_attach.models.query import Query
from dmart_attach.services.bootstrap import bootstrap
from dmart_attach.services.caller import Caller
from dmart_attach.services.container import Services, build_services

SPACE = "bench"
CALLER = Caller("dmart")
TARGET = 2


def write_folder(root: Path, name: str, count: int) -> None:
    """A folder of `count` entries with JSON payloads, written straight to disk (as an import would)."""
    folder = root / SPACE / name
    (folder / ".dm").mkdir(parents=True)
    stamp = "2026-01-01T00:00:00"
    folder_meta = {"uuid": str(uuid.uuid4()), "shortname": name, "is_active": True, "owner_shortname": "dmart"}
    (folder / ".dm" / "meta.folder.json").write_text(json.dumps(folder_meta))
    for number in range(count):
        shortname = f"e{number:06d}"
        body = {"number": number, "group": "even" if number % 2 == 0 else "odd", "title": f"entry {number}"}
        meta = {
            "uuid": str(uuid.uuid4()),
            "shortname": shortname,
            "is_active": True,
            "tags": ["bench"],
            "created_at": stamp,
            "updated_at": stamp,
            "owner_shortname": "dmart",
            "payload": {"content_type": "json", "body": f"{shortname}.json"},
        }
        (folder / ".dm" / shortname).mkdir()
        (folder / ".dm" / shortname / "meta.content.json").write_text(json.dumps(meta))
        (folder / f"{shortname}.json").write_text(json.dumps(body))


def timed(action: Callable[[], Any], repeat: int) -> float:
    """The median time of `action` in milliseconds."""
    action()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def run_query(services: Services, **body: Any) -> Callable[[], Any]:
    query = Query.model_validate({"space_name": SPACE, "limit": 10, **body})
    return lambda: services.queries.run(query, CALLER)


def read_every_meta(root: Path) -> int:
    count = 0
    for folder, _, files in os.walk(root):
        for name in files:
            if name.startswith("meta.") and name.endswith(".json"):
                (Path(folder) / name).read_bytes()
                count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    big, small = args.entries, args.entries // 100
    work = Path(tempfile.mkdtemp(prefix="dmart_attach_bench_"))
    try:
        settings = Settings(
            _env_file=None, spaces_folder=work / "spaces", index_path=work / "state", admin_password="bench_password_1"
        )
        services = build_services(settings)
        bootstrap(services.store)
        space = {"resource_type": "space", "subpath": "/", "shortname": SPACE, "attributes": {"is_active": True}}
        services.entries.create(SPACE, Record.model_validate(space), CALLER)
        write_folder(settings.spaces_root, "big", big)
        write_folder(settings.spaces_root, "small", small)

        read_ms = timed(lambda: read_every_meta(settings.spaces_root / SPACE), 1)
        reindex_ms = timed(lambda: services.store.index.rebuild(SPACE), 1)
        results: dict[str, Any] = {
            "entries": big,
            "reindex_ms": round(reindex_ms, 1),
            "read_every_meta_ms": round(read_ms, 1),
            "reindex_ratio": round(reindex_ms / read_ms, 2),
            "queries": [],
        }
        cases = {
            "subpath": {"type": "subpath"},
            "search (empty, exact_subpath)": {"type": "search", "search": "", "exact_subpath": True},
            "search @tags": {"type": "search", "search": "@tags:bench"},
            "search @payload.body.group": {"type": "search", "search": "@payload.body.group:even|odd"},
        }
        for label, body in cases.items():
            for position in (0.0, 0.9):
                big_ms = timed(run_query(services, subpath="big", offset=int(big * position), **body), args.repeat)
                small_ms = timed(
                    run_query(services, subpath="small", offset=int(small * position), **body), args.repeat
                )
                results["queries"].append(
                    {
                        "query": label,
                        "offset": f"{int(big * position)} vs {int(small * position)}",
                        "big_ms": round(big_ms, 2),
                        "small_ms": round(small_ms, 2),
                        "ratio": round(big_ms / small_ms, 2),
                    }
                )
        print(json.dumps(results, indent=2))
        ratio = reindex_ms / read_ms
        print(f"\nreindex {reindex_ms:.0f} ms / reading every meta {read_ms:.0f} ms = {ratio:.2f} (target < 3)")
        for row in results["queries"]:
            verdict = "met" if row["ratio"] < TARGET else "missed"
            line = f"{row['query']:<32} offset {row['offset']:<14} ratio {row['ratio']:>8.2f}"
            print(f"{line}  target < {TARGET}: {verdict}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
