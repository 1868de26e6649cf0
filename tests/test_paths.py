"""Traversal attempts, in request bodies and in every URL route, are refused and write nothing."""

from pathlib import Path
from typing import Any

import pytest

from dmart_attach.config import Settings
from tests.utils.factories import Api, json_payload, record, request_body

SPACE = "demo"
BAD_SHORTNAMES = ["..", "a\n", "a/b", "..\\x", "/etc", "a.b", "a\x00", ""]
BAD_SUBPATHS = ["../x", "notes/../../x", "/etc/passwd", "notes\n", "notes\\..\\x", "a.b", "notes/.."]
BAD_SPACES = ["..", "../demo", "demo\n", "/tmp", "de\\mo", "a" * 33]


@pytest.fixture
def api(admin: Api) -> Api:
    admin.space(SPACE, "notes")
    admin.create(SPACE, record("content", "notes", "n1", payload=json_payload({"a": 1})))
    return admin


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under `root` with its bytes (the sandbox the test runs in)."""
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def sandbox(settings: Settings) -> Path:
    return settings.spaces_root.parent


def without_state(files: dict[str, bytes]) -> dict[str, bytes]:
    return {name: data for name, data in files.items() if not name.startswith("state/")}


def assert_refused(response: Any) -> None:
    assert response.status_code in (400, 422), response.text
    assert response.json()["status"] == "failed"


@pytest.mark.parametrize("shortname", BAD_SHORTNAMES)
def test_bad_shortnames_in_a_request_body(api: Api, settings: Settings, shortname: str) -> None:
    before = snapshot(sandbox(settings))

    for request_type in ("create", "update", "delete"):
        sent = record("content", "notes", shortname, payload=json_payload({"b": 1}))
        assert_refused(api.request(SPACE, request_type, sent))

    assert without_state(snapshot(sandbox(settings))) == without_state(before)


@pytest.mark.parametrize("subpath", BAD_SUBPATHS)
def test_bad_subpaths_in_a_request_body(api: Api, settings: Settings, subpath: str) -> None:
    before = snapshot(sandbox(settings))

    for resource_type in ("content", "comment", "folder"):
        assert_refused(api.request(SPACE, "create", record(resource_type, subpath, "x1", body="hi")))

    assert without_state(snapshot(sandbox(settings))) == without_state(before)


@pytest.mark.parametrize("space_name", BAD_SPACES)
def test_bad_space_names_in_a_request_body(api: Api, settings: Settings, space_name: str) -> None:
    before = snapshot(sandbox(settings))

    response = api.client.post(
        "/managed/request",
        json=request_body(space_name, "create", record("space", "/", space_name)),
        headers=api.headers,
    )

    assert_refused(response)
    assert without_state(snapshot(sandbox(settings))) == without_state(before)


@pytest.mark.parametrize(
    "target",
    [
        {"type": "content", "space_name": "..", "subpath": "notes", "shortname": "n1"},
        {"type": "content", "space_name": SPACE, "subpath": "../../x", "shortname": "n1"},
        {"type": "content", "space_name": SPACE, "subpath": "notes", "shortname": "../n1"},
    ],
)
def test_relationship_targets_outside_the_tree_are_refused(api: Api, settings: Settings, target: Any) -> None:
    before = snapshot(sandbox(settings))

    response = api.request(SPACE, "create", record("relationship", "notes/n1", "rel", related_to=target))

    assert response.status_code == 400
    assert response.json()["error"]["info"][0]["failed"][0]["error_code"] == 420
    assert without_state(snapshot(sandbox(settings))) == without_state(before)


def test_reply_to_a_path_is_refused(api: Api) -> None:
    response = api.request(SPACE, "create", record("reply", "notes/n1", "r1", body="x", in_reply_to="../../n1"))

    assert response.status_code == 422
    assert response.json()["error"]["info"][0]["loc"] == ["attributes", "in_reply_to"]


@pytest.mark.parametrize("schema", ["../schema/x", "..", "a/b", "x\n"])
def test_a_schema_named_by_a_path_is_not_available_and_nothing_is_written(
    api: Api, settings: Settings, schema: str
) -> None:
    before = snapshot(sandbox(settings))

    response = api.request(
        SPACE, "create", record("content", "notes", "n2", payload=json_payload({"a": 1}, schema_shortname=schema))
    )

    assert response.status_code == 400, response.text
    failed = response.json()["error"]["info"][0]["failed"][0]
    assert (failed["error_code"], failed["error"]) == (
        220,
        f"Schema {schema} is not available in demo or the management space",
    )
    assert without_state(snapshot(sandbox(settings))) == without_state(before)


ENTRY_URLS = [
    "/managed/entry/content/demo/notes/..",
    "/managed/entry/content/demo/notes/%2e%2e",
    "/managed/entry/content/demo/%2e%2e/notes/n1",
    "/managed/entry/content/demo/notes%2F..%2F..%2Fx/n1",
    "/managed/entry/content/%2e%2e/notes/n1",
    "/managed/entry/content/demo/notes/n1%0A",
    "/managed/entry/content/demo/notes%0A/n1",
    "/managed/entry/content/demo//etc/passwd",
    "/managed/entry/content/demo/notes%5C..%5Cx/n1",
    "/managed/entry/content/demo/notes/n1%5C..",
    "/managed/entry/content/demo/notes/n1%00",
]

PAYLOAD_URLS = [
    "/managed/payload/content/demo/notes/..%2Fn1.json",
    "/managed/payload/content/demo/%2e%2e/n1.json",
    "/managed/payload/content/demo/notes/%2e%2e.json",
    "/managed/payload/content/demo/notes/n1.json%0A",
    "/managed/payload/content/demo/notes%0A/n1.json",
    "/managed/payload/content/demo/notes/n1%5C..json",
    "/managed/payload/content/..%2F..%2Fx/notes/n1.json",
]


@pytest.mark.parametrize("urls", [ENTRY_URLS, PAYLOAD_URLS], ids=["entry", "payload"])
def test_traversal_in_urls_is_refused(api: Api, settings: Settings, urls: list[str]) -> None:
    before = snapshot(sandbox(settings))

    for url in urls:
        response = api.client.get(url, headers=api.headers)

        assert response.status_code in (400, 404, 422), (url, response.text)
        assert response.json()["status"] == "failed", url
        assert response.json().get("attributes") is None, url

    assert without_state(snapshot(sandbox(settings))) == without_state(before)


def test_the_good_urls_next_to_them_work(api: Api) -> None:
    assert api.get("/managed/entry/content/demo/notes/n1").status_code == 200
    assert api.get("/managed/payload/content/demo/notes/n1.json").json()["attributes"] == {"a": 1}
