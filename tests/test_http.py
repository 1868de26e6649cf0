"""What every HTTP answer carries: Dmart's headers, CORS, the catch-all, one log line, a clean 500."""

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.logs import JsonFormatter
from tests.conftest import ADMIN_PASSWORD, login, make_settings
from tests.utils.factories import Api

ORIGIN = "https://frontend.example"
CATCH_ALL = {
    "status": "failed",
    "error": {"type": "catchall", "code": 230, "message": "Requested method or path is invalid", "info": None},
    "records": None,
    "attributes": None,
}


@pytest.fixture
def logged(empty_spaces: Path) -> Iterator[Api]:
    """The admin on an app that logs every request (the access log is INFO)."""
    app = create_app(make_settings(empty_spaces, log_level="INFO"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, login(client, "dmart", ADMIN_PASSWORD))


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(item)) for item in caplog.records if item.name == "dmart_attach.access"]


def test_every_answer_carries_dmarts_headers(admin: Api) -> None:
    for response in (admin.get("/info/me"), admin.client.get("/user/profile"), admin.get("/nowhere")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["cache-control"] == "no-cache, no-store, must-revalidate"
        assert response.headers["x-server-time"].startswith("20")
        assert len(response.headers["x-request-id"]) == 32


def test_a_client_request_id_is_echoed(admin: Api) -> None:
    response = admin.client.get("/info/me", headers={**admin.headers, "x-request-id": "abc-123"})

    assert response.headers["x-request-id"] == "abc-123"


def test_cors_preflight_from_another_origin(client: TestClient) -> None:
    response = client.options(
        "/managed/request",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


def test_cors_simple_request_from_another_origin(admin: Api) -> None:
    response = admin.client.get("/info/me", headers={**admin.headers, "origin": ORIGIN})

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "x-request-id" in response.headers["access-control-expose-headers"]


def test_cors_answers_failures_too(client: TestClient) -> None:
    response = client.get("/user/profile", headers={"origin": ORIGIN})

    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ORIGIN


def test_options_on_any_path_is_an_empty_200(client: TestClient) -> None:
    for path in ("/managed/request", "/no/such/path"):
        response = client.options(path)

        assert (response.status_code, response.content) == (200, b"")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/no/such/path"), ("POST", "/managed/nothing"), ("GET", "/managed/request"), ("PUT", "/user/login")],
)
def test_unknown_paths_and_wrong_methods_hit_the_catch_all(admin: Api, method: str, path: str) -> None:
    response = admin.client.request(method, path, headers=admin.headers)

    assert (response.status_code, response.json()) == (422, CATCH_ALL)


def test_one_structured_log_line_per_request(logged: Api, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()

    logged.client.get("/info/me", headers={**logged.headers, "x-request-id": "rid-1"})
    logged.client.get("/nowhere")

    first, second = access_lines(caplog)
    assert {key: first[key] for key in ("request_id", "user", "method", "path", "status")} == {
        "request_id": "rid-1",
        "user": "dmart",
        "method": "GET",
        "path": "/info/me",
        "status": 200,
    }
    assert isinstance(first["duration_ms"], float) and first["level"] == "INFO"
    assert (second["user"], second["path"], second["status"]) == (None, "/nowhere", 422)


def test_an_unhandled_error_is_a_500_without_traceback(
    logged: Api, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail /srv/spaces")

    monkeypatch.setattr(logged.client.app.state.services.reading, "entry", explode)  # type: ignore[attr-defined]
    caplog.clear()

    response = logged.get("/managed/entry/space/management/__root__/management")

    assert response.status_code == 500
    assert response.json() == {
        "status": "failed",
        "error": {"type": "general", "code": 99, "message": "Internal server error"},
    }
    assert "Traceback" not in response.text and "secret detail" not in response.text
    assert response.headers["x-request-id"]
    [failure] = [item for item in caplog.records if item.levelno == logging.ERROR]
    line = json.loads(JsonFormatter().format(failure))
    assert "RuntimeError: secret detail" in line["traceback"]
    assert line["request_id"] == response.headers["x-request-id"]
    assert access_lines(caplog)[-1]["status"] == 500
