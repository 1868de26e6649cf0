"""JSON the service could not write back is refused on the way in, and odd JSON already in a tree is still served."""

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.conftest import login
from tests.utils.factories import Api, json_payload, record, request_body, upload
from tests.utils.files import PNG

SPACE = "limits"
HUGE = 10**30  # beyond 64 bits: Python's json reads it, orjson cannot write it


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


@pytest.fixture
def api(admin: Api) -> Api:
    admin.space(SPACE, "notes")
    return admin


def post_raw(api: Api, path: str, body: str) -> Any:
    return api.client.post(path, content=body, headers={**api.headers, "content-type": "application/json"})


def assert_invalid_json(response: Any, reason: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["message"]) == ("validation", 424, "Validation error [1]")
    assert error["info"][0]["type"] == "json_invalid"
    assert error["info"][0]["ctx"]["error"] == reason


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"text": "\ud800"}, "A string holds a lone surrogate escape, which is not text"),
        ({"\udfff": "key"}, "A string holds a lone surrogate escape, which is not text"),
        ({"n": HUGE}, "Integer exceeds 64-bit range"),
        ({"deep": nested(300)}, "Recursion limit reached"),
    ],
)
def test_a_payload_that_cannot_be_written_back_is_refused_and_nothing_is_written(
    api: Api, settings: Settings, body: dict[str, Any], reason: str
) -> None:
    create = request_body(SPACE, "create", record("content", "notes", "odd", payload=json_payload(body)))

    response = post_raw(api, "/managed/request", json.dumps(create))

    assert_invalid_json(response, reason)
    notes = settings.spaces_root / SPACE / "notes"
    assert sorted(path.name for path in notes.rglob("*")) == [".dm", "meta.folder.json"]


def test_an_upload_record_with_an_integer_beyond_64_bits_is_refused_and_nothing_is_written(
    api: Api, settings: Settings
) -> None:
    api.create(SPACE, record("content", "notes", "n1", is_active=True))
    odd = record("media", "notes/n1", "pic", is_active=True, displayname={"en": "x", "size": HUGE})

    response = upload(api, SPACE, odd, "pic.png", PNG, mime="image/png")

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["info"][0]["msg"]) == (422, "Value error, Integers beyond 64 bits are not supported")
    assert not (settings.spaces_root / SPACE / "notes" / ".dm" / "n1" / "attachments.media").exists()


def test_json_nested_past_the_parser_and_bytes_that_are_not_utf8_are_invalid_json(api: Api) -> None:
    too_deep = '{"space_name": "limits", "request_type": "create", "records": ' + "[" * 100_000 + "]" * 100_000 + "}"
    not_utf8 = b'{"space_name": "limits", "request_type": "create", "records": ["\xff"]}'

    assert_invalid_json(post_raw(api, "/managed/request", too_deep), "the JSON is nested too deeply")
    response = api.client.post(
        "/managed/request", content=not_utf8, headers={**api.headers, "content-type": "application/json"}
    )
    assert_invalid_json(response, "the body is not UTF-8")


def test_lone_surrogates_are_invalid_json_on_every_json_route(api: Api) -> None:
    query = '{"type": "search", "space_name": "limits", "subpath": "/", "search": "\\ud800"}'
    sign_in = '{"shortname": "dmart", "password": "\\ud800"}'
    profile = '{"resource_type": "user", "subpath": "users", "shortname": "dmart", "attributes": {"tags": ["\\ud800"]}}'

    for path, body in [("/managed/query", query), ("/user/login", sign_in), ("/user/profile", profile)]:
        assert_invalid_json(post_raw(api, path, body), "A string holds a lone surrogate escape, which is not text")


def test_payloads_of_a_tree_beyond_what_orjson_writes_are_indexed_and_served(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    api.create(SPACE, record("content", "notes", "big", is_active=True, payload=json_payload({"n": 1})))
    api.create(SPACE, record("content", "notes", "deep", is_active=True, payload=json_payload({"n": 1})))
    notes = settings.spaces_root / SPACE / "notes"
    (notes / "big.json").write_text(json.dumps({"n": HUGE, "k": "a"}))
    (notes / "deep.json").write_text(json.dumps({"deep": nested(300)}))
    for name in ("index.sqlite", "index.sqlite-wal", "index.sqlite-shm"):
        (settings.state_root / name).unlink(missing_ok=True)

    with TestClient(create_app(settings)) as restarted:
        headers = login(restarted, "dmart", "Admin_pass_123")
        big = restarted.get(
            "/managed/entry/content/limits/notes/big", params={"retrieve_json_payload": True}, headers=headers
        )
        deep = restarted.get("/managed/payload/content/limits/notes/deep.json", headers=headers)
        listed = restarted.post(
            "/managed/query",
            json={"type": "subpath", "space_name": SPACE, "subpath": "notes", "retrieve_json_payload": True},
            headers=headers,
        )
        searched = restarted.post(
            "/managed/query",
            json={"type": "search", "space_name": SPACE, "subpath": "notes", "search": "@payload.body.k:a"},
            headers=headers,
        )
        filtered = restarted.post(
            "/managed/query",
            json={
                "type": "subpath",
                "space_name": SPACE,
                "subpath": "notes",
                "retrieve_json_payload": True,
                "jq_filter": "[.[] | .shortname]",
            },
            headers=headers,
        )
        health = restarted.get("/managed/health/hard/limits", headers=headers)

    assert listed.status_code == 200, listed.text
    bodies = {item["shortname"]: item["attributes"]["payload"]["body"] for item in listed.json()["records"]}
    assert bodies == {"big": {"n": HUGE, "k": "a"}, "deep": {"deep": nested(300)}}
    assert [item["shortname"] for item in searched.json()["records"]] == ["big"]
    assert filtered.status_code == 200, filtered.text
    assert filtered.json()["records"] == [["big", "deep"]]
    # Both files were rewritten by hand: their checksums differ, but both are readable JSON.
    assert health.json()["attributes"]["invalid_metas"] == []
    assert sorted(health.json()["attributes"]["checksum_mismatches"]) == ["notes/big.json", "notes/deep.json"]
    assert big.status_code == 200, big.text
    assert big.json()["payload"]["body"] == {"n": HUGE, "k": "a"}
    assert deep.status_code == 200, deep.text
    assert deep.json()["attributes"] == {"deep": nested(300)}


@pytest.mark.parametrize(
    "content",
    [
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"deep": nested(300)}),
        json.dumps({"n": HUGE}),
        '{"text": "\\ud800"}',
    ],
)
def test_a_json_file_the_service_could_not_answer_is_refused_and_nothing_is_written(
    api: Api, settings: Settings, content: str
) -> None:
    api.create(SPACE, record("content", "notes", "n1", is_active=True))

    response = upload(api, SPACE, record("json", "notes/n1", "data", is_active=True), "data.json", content.encode())

    assert response.status_code == 406, response.text
    assert response.json()["error"] == {
        "type": "attachment",
        "code": 217,
        "message": "The file is not a valid json file",
        "info": None,
    }
    assert not (settings.spaces_root / SPACE / "notes" / ".dm" / "n1" / "attachments.json").exists()


def test_a_deeply_nested_json_file_within_the_limit_is_answered_with_its_entry(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "n1", is_active=True))
    body = {"deep": nested(90)}

    response = upload(
        api, SPACE, record("json", "notes/n1", "data", is_active=True), "data.json", json.dumps(body).encode()
    )
    entry = api.get(f"/managed/entry/content/{SPACE}/notes/n1", retrieve_attachments=True, retrieve_json_payload=True)

    assert response.status_code == 200, response.text
    assert entry.status_code == 200, entry.text
    assert entry.json()["attachments"]["json"][0]["attributes"]["payload"]["body"] == body


def test_numbers_json_cannot_write_in_a_payload_file_leave_the_entry_served_without_its_body(
    api: Api, settings: Settings
) -> None:
    api.create(SPACE, record("content", "notes", "far", is_active=True, payload=json_payload({"n": 1})))
    (settings.spaces_root / SPACE / "notes" / "far.json").write_text('{"y": 1e400, "n": 5}')

    entry = api.get(f"/managed/entry/content/{SPACE}/notes/far", retrieve_json_payload=True)
    health = api.get(f"/managed/health/{SPACE}")

    assert entry.status_code == 200, entry.text
    assert entry.json()["payload"]["body"] == "far.json"
    assert health.json()["attributes"]["invalid_metas"] == [
        {"path": "notes/far.json", "reason": "payload: not JSON the service can read"}
    ]


def test_integers_up_to_64_bits_unsigned_are_stored_and_found_exactly(api: Api) -> None:
    largest, beyond_doubles = 2**64 - 1, 2**53 + 1
    for name, number in (("largest", largest), ("odd", beyond_doubles)):
        created = api.request(
            SPACE, "create", record("content", "notes", name, is_active=True, payload=json_payload({"n": number}))
        )
        assert created.status_code == 200, created.text

    def search(value: int) -> list[str]:
        answer = api.client.post(
            "/managed/query",
            json={"type": "search", "space_name": SPACE, "subpath": "notes", "search": f"@payload.body.n:{value}"},
            headers=api.headers,
        )
        assert answer.status_code == 200, answer.text
        return [item["shortname"] for item in answer.json()["records"]]

    assert search(largest) == ["largest"]
    assert search(beyond_doubles) == ["odd"]
    assert search(beyond_doubles - 1) == []
