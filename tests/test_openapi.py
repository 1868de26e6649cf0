"""The OpenAPI schema declares what the routes answer, and answers stay in the envelope whatever JSON came in."""

from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.config import Settings
from tests.utils.factories import Api


def _validation_failure(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "failed"
    assert (body["error"]["type"], body["error"]["code"]) == ("validation", 424)
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b'{"shortname": 1000000000000000000000000000000, "password": "x"}',
        b'{"shortname": {"big": -1000000000000000000000000000000}, "password": "x"}',
    ],
)
def test_an_integer_beyond_64_bits_anywhere_in_a_body_is_invalid_json_in_the_envelope(
    client: TestClient, raw: bytes
) -> None:
    response = client.post("/user/login", content=raw, headers={"content-type": "application/json"})

    body = _validation_failure(response)
    assert response.headers["content-type"] == "application/json"
    [info] = body["error"]["info"]
    assert (info["type"], info["ctx"]) == ("json_invalid", {"error": "Integer exceeds 64-bit range"})


def test_a_payload_with_an_integer_beyond_64_bits_is_refused_and_not_stored(admin: Api) -> None:
    admin.space("demo", "notes")
    raw = (
        b'{"space_name": "demo", "request_type": "create", "records": [{"resource_type": "content", '
        b'"subpath": "notes", "shortname": "big", "attributes": {"is_active": true, '
        b'"payload": {"content_type": "json", "body": {"n": 1000000000000000000000000000000}}}}]}'
    )
    created = admin.client.post(
        "/managed/request", content=raw, headers={**admin.headers, "content-type": "application/json"}
    )
    served = admin.get("/managed/payload/content/demo/notes/big.json")

    [info] = _validation_failure(created)["error"]["info"]
    assert info["type"] == "json_invalid"
    assert (served.status_code, served.json()["error"]["code"]) == (404, 220)


@pytest.mark.parametrize(
    ("attributes", "at"),
    [
        (b'{"is_active": true, "tags": ["\\ud800"]}', b"\\ud800"),
        (b'{"is_active": true, "description": {"en": "ok \\udc00"}}', b"\\udc00"),
        (b'{"is_active": true, "payload": {"content_type": "json", "body": {"k\\udbff": 1}}}', b"\\udbff"),
        (b'{"is_active": true, "tags": ["\\ud83d\\ude00", "\\ud83d"]}', b'\\ud83d"'),
    ],
    ids=["tag", "description", "payload-key", "after-a-pair"],
)
def test_a_lone_surrogate_anywhere_in_a_json_body_is_refused_and_nothing_is_written(
    admin: Api, settings: Settings, attributes: bytes, at: bytes
) -> None:
    admin.space("demo", "notes")
    raw = (
        b'{"space_name": "demo", "request_type": "create", "records": [{"resource_type": "content", '
        b'"subpath": "notes", "shortname": "odd", "attributes": ' + attributes + b"}]}"
    )
    before = sorted(path.relative_to(settings.spaces_folder) for path in settings.spaces_folder.rglob("*"))

    response = admin.client.post(
        "/managed/request", content=raw, headers={**admin.headers, "content-type": "application/json"}
    )

    [info] = _validation_failure(response)["error"]["info"]
    assert info["type"] == "json_invalid"
    assert info["loc"] == ["body", raw.index(at)]
    assert info["ctx"] == {"error": "A string holds a lone surrogate escape, which is not text"}
    assert sorted(path.relative_to(settings.spaces_folder) for path in settings.spaces_folder.rglob("*")) == before


def test_surrogate_pairs_and_escaped_backslashes_are_text(admin: Api) -> None:
    admin.space("demo", "notes")
    raw = (
        b'{"space_name": "demo", "request_type": "create", "records": [{"resource_type": "content", '
        b'"subpath": "notes", "shortname": "fine", "attributes": {"is_active": true, '
        b'"tags": ["\\ud83d\\ude00", "\\\\ud800"]}}]}'
    )

    response = admin.client.post(
        "/managed/request", content=raw, headers={**admin.headers, "content-type": "application/json"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["attributes"]["tags"] == ["\U0001f600", "\\ud800"]


def test_a_lone_surrogate_in_a_login_is_refused_before_any_lookup(client: TestClient) -> None:
    raw = b'{"shortname": "dmart", "password": "\\ud800"}'

    response = client.post("/user/login", content=raw, headers={"content-type": "application/json"})

    [info] = _validation_failure(response)["error"]["info"]
    assert (info["type"], info["loc"]) == ("json_invalid", ["body", raw.index(b"\\ud800")])


def test_a_huge_malformed_input_is_still_not_repeated(admin: Api) -> None:
    raw = b'{"space_name": "x", "request_type": "create", "records": ["' + b"x" * 2000 + b'"]}'
    response = admin.client.post(
        "/managed/request", content=raw, headers={**admin.headers, "content-type": "application/json"}
    )

    [info] = _validation_failure(response)["error"]["info"]
    assert info["input"] == "<2002 bytes, not repeated>"


def test_errors_are_declared_as_the_envelope_on_every_operation(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert "HTTPValidationError" not in schema["components"]["schemas"]
    failure = {"application/json": {"schema": {"$ref": "#/components/schemas/Failure"}}}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "404", "422"):
                assert operation["responses"][status]["content"] == failure, (method, path, status)
    assert schema["components"]["schemas"]["Failure"]["required"] == ["status", "error"]


def test_payload_route_declares_the_envelope_and_raw_files(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    payload = schema["paths"]["/managed/payload/{resource_type}/{space_name}/{subpath}/{file_name}"]["get"]

    assert sorted(payload["responses"]["200"]["content"]) == ["*/*", "application/json"]
    assert payload["responses"]["200"]["content"]["*/*"]["schema"] == {"type": "string", "format": "binary"}
    assert {parameter["name"] for parameter in payload["parameters"] if parameter["in"] == "header"} == {
        "range",
        "if-none-match",
    }
