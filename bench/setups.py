"""What the workloads need on a target before they run, each made once per tree."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import fixtures
from bench.loadgen import Call
from bench.target import SPACE, Skip, Target, multipart, record

MIB = 2**20
SALES_SQL = "SELECT region, count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM file GROUP BY region"


@dataclass(frozen=True)
class Options:
    """Sizes the workloads use; the command line can change them."""

    entries: int = 10_000
    rows: int = 1_000_000
    big_mib: int = 100


def once(setup: Callable[[Target, Options], None]) -> Callable[[Target, Options], None]:
    """Run a setup once per target tree; a Skip is remembered too."""

    def wrapper(target: Target, options: Options) -> None:
        key = f"setup:{setup.__name__}"
        if key not in target.state:
            try:
                setup(target, options)
                target.state[key] = None
            except Skip as skip:
                target.state[key] = str(skip)
            except (RuntimeError, httpx.HTTPError) as error:
                target.state[key] = f"setup failed: {error}"[:200]
        if target.state[key] is not None:
            raise Skip(target.state[key])

    wrapper.__name__ = setup.__name__
    return wrapper


def json_payload(body: dict[str, Any]) -> dict[str, Any]:
    return {"content_type": "json", "body": body}


@once
def base(target: Target, options: Options) -> None:
    """Space `bench`, folders `posts` and `many`, the entries the small workloads use."""
    target.request("delete", record("space", "/", SPACE))  # a peer may keep one from an earlier run
    target.create(record("space", "/", SPACE, is_active=True))
    target.create(*(record("folder", "/", name, is_active=True) for name in ("posts", "many")))
    target.create(
        *(
            record("content", "posts", name, is_active=True, payload=json_payload({"title": name, "counter": 0}))
            for name in ("target", "doc", "with_attachments", "sales")
        )
    )
    comments = [comment("posts/with_attachments", f"c{i:02d}") for i in range(20)]
    target.create(*comments)


def comment(subpath: str, shortname: str) -> dict[str, Any]:
    body = {"body": "A short comment on this entry, as people write them.", "state": "commented"}
    return record("comment", subpath, shortname, is_active=True, payload={"content_type": "comment", "body": body})


@once
def many_entries(target: Target, options: Options) -> None:
    """`options.entries` entries in folder `many`, created in batches once the query route exists."""
    base(target, options)
    target.require_route("POST", "/managed/query")

    def batch(start: int) -> None:
        records = [
            record(
                "content",
                "many",
                f"e{i:06d}",
                is_active=True,
                tags=[f"k{i % 50}"],
                payload=json_payload({"title": f"entry number {i}", "kind": f"kind{i % 50}", "n": i}),
            )
            for i in range(start, min(options.entries, start + 200))
        ]
        target.create(*records)

    # One batch at a time: Dmart's connection pool runs out under parallel batches of creates.
    for start in range(0, options.entries, 200):
        batch(start)


def upload_call(target: Target, resource_type: str, subpath: str, shortname: str, file: Path, mime: str) -> Call:
    content_type = {"media": "image_png"}.get(resource_type, resource_type)
    request_record = record(
        resource_type, subpath, shortname, is_active=True, payload={"content_type": content_type, "body": {}}
    )
    body, form_type = multipart(
        {"space_name": SPACE},
        {
            "request_record": ("record.json", "application/json", json.dumps(request_record).encode()),
            "payload_file": (file.name, mime, file.read_bytes()),
        },
    )
    return Call("POST", "/managed/resource_with_payload", body, (*target.auth, ("Content-Type", form_type)))


def image_name(size: int) -> str:
    return f"image_{size // 1024}k.png"


def image(target: Target, options: Options, size: int) -> Path:
    return fixtures.png(target.data / image_name(size), size)


@once
def uploads(target: Target, options: Options) -> None:
    base(target, options)
    target.require_route("POST", "/managed/resource_with_payload")


@once
def sales(target: Target, options: Options) -> None:
    """A CSV data asset of `options.rows` rows on entry `posts/sales`."""
    base(target, options)
    target.require_route("POST", "/managed/data-asset")
    target.require_route("POST", "/managed/resource_with_payload")
    file = fixtures.sales_csv(target.data / f"sales_{options.rows}.csv", options.rows)
    target.check(upload_call(target, "csv", "posts/sales", "sales", file, "text/csv"))
