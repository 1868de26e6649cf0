"""Each workload is one declarative entry: name, setup, the request wrk repeats, its ceiling, its targets."""

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import fixtures
from bench.loadgen import Call
from bench.target import SPACE, Skip, Target, multipart, record

MIB = 2**20
ENTRY = f"/managed/entry/content/{SPACE}/posts/with_attachments?retrieve_attachments=true&retrieve_json_payload=true"
SALES_SQL = "SELECT region, count(*) AS n, sum(amount) AS total, avg(amount) AS mean FROM file GROUP BY region"


@dataclass(frozen=True)
class Options:
    """Sizes the workloads use; the command line can change them."""

    entries: int = 10_000
    rows: int = 1_000_000
    big_mib: int = 100


@dataclass(frozen=True)
class Ceiling:
    """A bare endpoint of `bench/baseline_app.py` doing the same transfer: the framework's limit."""

    name: str
    build: Callable[[Call, int, Options], Call]


def _same_body(endpoint: str) -> Ceiling:
    # Same method, body and content type; the answer is padded to the size the service answered.
    def build(call: Call, size: int, options: Options) -> Call:
        headers = tuple((k, v) for k, v in call.headers if k.lower() == "content-type")
        return Call(call.method, f"/{endpoint}?size={size}", call.body, headers)

    return Ceiling(f"bare {endpoint}", build)


def _serve_file(size_of: Callable[[Options], int]) -> Ceiling:
    return Ceiling("bare file", lambda call, size, options: Call("GET", f"/file/{image_name(size_of(options))}"))


JSON, ARGON2, UPLOAD = _same_body("json"), _same_body("argon2"), _same_body("upload")


@dataclass(frozen=True)
class Workload:
    """A workload: `setup` prepares the target once, `request` is what wrk repeats.

    `ceiling` is the bare endpoint that does the same transfer; `targets` maps a reference
    (`ceiling`, `dmart`, `durable_write`, `duckdb`) to the least throughput ratio to reach.
    """

    name: str
    what: str
    setup: Callable[[Target, Options], None]
    request: Callable[[Target, Options], Call]
    ceiling: Ceiling | None = None
    targets: dict[str, float] = field(default_factory=dict)
    connections: int | None = None
    # Slow requests need a longer run than the default to finish more than a handful.
    least_seconds: float = 0


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


def _json(body: dict[str, Any]) -> dict[str, Any]:
    return {"content_type": "json", "body": body}


@once
def base(target: Target, options: Options) -> None:
    """Space `bench`, folders `posts` and `many`, the entries the small workloads use."""
    target.request("delete", record("space", "/", SPACE))  # a peer may keep one from an earlier run
    target.create(record("space", "/", SPACE, is_active=True))
    target.create(*(record("folder", "/", name, is_active=True) for name in ("posts", "many")))
    target.create(
        *(
            record("content", "posts", name, is_active=True, payload=_json({"title": name, "counter": 0}))
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
                payload=_json({"title": f"entry number {i}", "kind": f"kind{i % 50}", "n": i}),
            )
            for i in range(start, min(options.entries, start + 200))
        ]
        target.create(*records)

    # One batch at a time: Dmart's connection pool runs out under parallel batches of creates.
    for start in range(0, options.entries, 200):
        batch(start)


def _upload_call(target: Target, resource_type: str, subpath: str, shortname: str, file: Path, mime: str) -> Call:
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


def _image(target: Target, options: Options, size: int) -> Path:
    return fixtures.png(target.data / image_name(size), size)


def _upload(size_of: Callable[[Options], int]) -> Callable[[Target, Options], Call]:
    def request(target: Target, options: Options) -> Call:
        file = _image(target, options, size_of(options))
        return _upload_call(target, "media", "posts/target", "auto", file, "image/png")

    return request


@once
def uploads(target: Target, options: Options) -> None:
    base(target, options)
    target.require_route("POST", "/managed/resource_with_payload")


def _download(size_of: Callable[[Options], int]) -> Callable[[Target, Options], Call]:
    def request(target: Target, options: Options) -> Call:
        key = f"download:{size_of(options)}"
        if key not in target.state:
            upload = _upload(size_of)(target, options)
            stored = target.check(upload).json()["records"][0]["shortname"]
            target.state[key] = f"/managed/payload/media/{SPACE}/posts/target/{stored}.png"
        return Call("GET", target.state[key], headers=target.auth)

    return request


@once
def sales(target: Target, options: Options) -> None:
    """A CSV data asset of `options.rows` rows on entry `posts/sales`."""
    base(target, options)
    target.require_route("POST", "/managed/data-asset")
    target.require_route("POST", "/managed/resource_with_payload")
    file = fixtures.sales_csv(target.data / f"sales_{options.rows}.csv", options.rows)
    target.check(_upload_call(target, "csv", "posts/sales", "sales", file, "text/csv"))


def _query(body: dict[str, Any]) -> Callable[[Target, Options], Call]:
    def request(target: Target, options: Options) -> Call:
        return target.json_call("POST", "/managed/query", {"space_name": SPACE, "subpath": "many", **body})

    return request


def _big(options: Options) -> int:
    return options.big_mib * MIB


SMALL = {"ceiling": 0.5, "dmart": 3.0}
FILES = {"ceiling": 0.7, "dmart": 3.0}

WORKLOADS: list[Workload] = [
    Workload(
        "login",
        "POST /user/login, argon2id at Dmart's cost (t=1, m=100 MiB, p=8)",
        base,
        lambda t, o: t.json_call("POST", "/user/login", {"shortname": t.admin, "password": t.password}, auth=False),
        ceiling=ARGON2,
        targets={"dmart": 3.0},
        connections=2,
        least_seconds=10,
    ),
    Workload(
        "create_comment",
        "POST /managed/request: create one comment (shortname auto)",
        base,
        lambda t, o: t.json_call(
            "POST",
            "/managed/request",
            {"space_name": SPACE, "request_type": "create", "records": [comment("posts/target", "auto")]},
        ),
        ceiling=JSON,
        targets={**SMALL, "durable_write": 0.5},
    ),
    Workload(
        "update_payload",
        "POST /managed/request: update one entry's JSON payload",
        base,
        lambda t, o: t.json_call(
            "POST",
            "/managed/request",
            {
                "space_name": SPACE,
                "request_type": "update",
                "records": [
                    record(
                        "content", "posts", "doc", is_active=True, payload=_json({"title": "doc", "counter": "@@N@@"})
                    )
                ],
            },
        ),
        ceiling=JSON,
        targets=SMALL,
    ),
    Workload(
        "get_entry_20_attachments",
        "GET /managed/entry with retrieve_attachments (20 comments) and the JSON payload",
        base,
        lambda t, o: Call("GET", ENTRY, headers=t.auth),
        ceiling=JSON,
        targets=SMALL,
    ),
    Workload(
        "query_subpath",
        "POST /managed/query subpath, first page of 20 in a folder of `entries`",
        many_entries,
        _query({"type": "subpath", "limit": 20, "offset": 0, "retrieve_json_payload": True}),
        ceiling=JSON,
        targets=SMALL,
    ),
    Workload(
        "query_search",
        "POST /managed/query search on a payload field (1 in 50 match), page of 20",
        many_entries,
        _query({"type": "search", "search": "@payload.body.kind:kind7", "limit": 20, "retrieve_json_payload": True}),
        ceiling=JSON,
        targets=SMALL,
    ),
    Workload(
        "upload_1mib",
        "POST /managed/resource_with_payload: a 1 MiB PNG as a media attachment",
        uploads,
        _upload(lambda o: MIB),
        ceiling=UPLOAD,
        targets=FILES,
    ),
    Workload(
        "download_1mib",
        "GET /managed/payload of that 1 MiB PNG",
        uploads,
        _download(lambda o: MIB),
        ceiling=_serve_file(lambda o: MIB),
        targets=FILES,
    ),
    Workload(
        "upload_big",
        "POST /managed/resource_with_payload: a `big_mib` MiB PNG",
        uploads,
        _upload(_big),
        ceiling=UPLOAD,
        targets=FILES,
        connections=2,
        least_seconds=10,
    ),
    Workload(
        "download_big",
        "GET /managed/payload of that `big_mib` MiB PNG",
        uploads,
        _download(_big),
        ceiling=_serve_file(_big),
        targets=FILES,
        connections=2,
        least_seconds=10,
    ),
    Workload(
        "data_asset_aggregate",
        "POST /managed/data-asset: GROUP BY over a CSV of `rows` rows",
        sales,
        lambda t, o: t.json_call(
            "POST",
            "/managed/data-asset",
            {
                "space_name": SPACE,
                "subpath": "posts",
                "resource_type": "content",
                "shortname": "sales",
                "data_asset_type": "csv",
                "query_string": SALES_SQL,
            },
        ),
        targets={"duckdb": 1 / 1.3, "dmart": 3.0},
        connections=1,
    ),
]
