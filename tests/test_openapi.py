"""The OpenAPI schema declares what the routes answer, and answers stay in the envelope whatever JSON came in."""

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.utils.factories import Api

HUGE = 10**30


def _validation_failure(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "failed"
    assert (body["error"]["type"], body["error"]["code"]) == ("validation", 424)
    return body


@pytest.mark.parametrize(
    ("raw", "echoed"),
    [
        (b'{"shortname": 1000000000000000000000000000000, "password": "x"}', HUGE),
        (b'{"shortname": ["\\ud800"], "password": "x"}', ["\ud800"]),
        (b'{"shortname": {"big": -1000000000000000000000000000000}, "password": "x"}', {"big": -HUGE}),
    ],
)
def test_a_malformed_field_holding_json_orjson_refuses_is_echoed_in_the_envelope(
    client: TestClient, raw: bytes, echoed: Any
) -> None:
    response = client.post("/user/login", content=raw, headers={"content-type": "application/json"})

    body = _validation_failure(response)
    assert response.headers["content-type"] == "application/json"
    [info] = body["error"]["info"]
    assert info["loc"] == ["body", "shortname"]
    assert info["input"] == echoed


def test_a_huge_malformed_input_is_still_not_repeated(admin: Api) -> None:
    raw = b'{"space_name": "x", "request_type": "create", "records": [' + b"1" * 2000 + b"]}"
    response = admin.client.post(
        "/managed/request", content=raw, headers={**admin.headers, "content-type": "application/json"}
    )

    [info] = _validation_failure(response)["error"]["info"]
    assert info["input"] == "<2000 bytes, not repeated>"


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
