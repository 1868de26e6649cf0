"""Each workload is one declarative entry: name, setup, the request wrk repeats, its ceiling, its targets."""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.loadgen import Call
from bench.setups import (
    MIB,
    SALES_SQL,
    Options,
    base,
    comment,
    image,
    image_name,
    json_payload,
    many_entries,
    sales,
    upload_call,
    uploads,
)
from bench.target import SPACE, Target, record

__all__ = ["MIB", "SALES_SQL", "WORKLOADS", "Options", "Workload", "image_name"]

ENTRY = f"/managed/entry/content/{SPACE}/posts/with_attachments?retrieve_attachments=true&retrieve_json_payload=true"


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


def _upload(size_of: Callable[[Options], int]) -> Callable[[Target, Options], Call]:
    def request(target: Target, options: Options) -> Call:
        file = image(target, options, size_of(options))
        return upload_call(target, "media", "posts/target", "auto", file, "image/png")

    return request


def _download(size_of: Callable[[Options], int]) -> Callable[[Target, Options], Call]:
    def request(target: Target, options: Options) -> Call:
        key = f"download:{size_of(options)}"
        if key not in target.state:
            upload = _upload(size_of)(target, options)
            stored = target.check(upload).json()["records"][0]["shortname"]
            target.state[key] = f"/managed/payload/media/{SPACE}/posts/target/{stored}.png"
        return Call("GET", target.state[key], headers=target.auth)

    return request


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
                        "content",
                        "posts",
                        "doc",
                        is_active=True,
                        payload=json_payload({"title": "doc", "counter": "@@N@@"}),
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
