"""Every operation of the service's own OpenAPI schema, fuzzed: no 5xx, and every answer as the schema declares it."""

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD, make_settings
from tests.utils.data_assets import attach_data_asset, csv_bytes
from tests.utils.factories import json_payload, record, request_body

SPACE = "fuzz"
FOLDER = "notes"
ENTRY = "first"
SLUG = "first-note"
ASSET = "sales"
# Each of the four kinds of case; an operation without parameters has only a couple of distinct ones.
EXAMPLES_PER_STRATEGY = 6
# Generous bounds for one request on two busy cores (they take milliseconds); a slow or hung one fails its operation.
DEADLINE = timedelta(seconds=15)
REQUEST_TIMEOUT = 30
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


class Fuzzed:
    """The app on a seeded temporary tree, with the admin's login."""

    schema: Any

    def __init__(self, settings: Settings, client: Any) -> None:
        self.settings = settings
        self.client = client
        self.login = {"shortname": settings.admin_shortname, "password": ADMIN_PASSWORD}
        self.headers = self.fresh_headers()

    def fresh_headers(self) -> dict[str, str]:
        response = self.client.post("/user/login", json=self.login)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['records'][0]['attributes']['access_token']}"}

    def create(self, *records: dict[str, Any]) -> None:
        response = self.client.post(
            "/managed/request", json=request_body(SPACE, "create", *records), headers=self.headers
        )
        assert response.status_code == 200, response.text

    def seed(self) -> list[dict[str, str]]:
        """A space, a folder, an entry with a JSON payload, a comment and a CSV data asset; answer their locators."""
        self.create(record("space", "/", SPACE, is_active=True))
        self.create(record("folder", "/", FOLDER, is_active=True))
        self.create(record("content", FOLDER, ENTRY, is_active=True, slug=SLUG, payload=json_payload({"n": 1})))
        self.create(record("comment", f"{FOLDER}/{ENTRY}", "c1", is_active=True, body="Nice", state="new"))
        attach_data_asset(
            self.settings.spaces_folder,
            space_name=SPACE,
            subpath=FOLDER,
            parent=ENTRY,
            shortname=ASSET,
            kind="csv",
            content=csv_bytes("region,total", "north,2", "south,3"),
        )
        response = self.client.get(f"/managed/entry/content/{SPACE}/{FOLDER}/{ENTRY}", headers=self.headers)
        assert response.status_code == 200, response.text
        entry = {
            "space_name": SPACE,
            "subpath": FOLDER,
            "shortname": ENTRY,
            "resource_type": "content",
            "file_name": f"{ENTRY}.json",
            "uuid": response.json()["uuid"],
            "slug": SLUG,
            "health_type": "hard",
            "data_asset_type": "csv",
        }
        asset = {**entry, "subpath": f"{FOLDER}/{ENTRY}", "shortname": ASSET, "resource_type": "csv"}
        return [entry, {**asset, "file_name": f"{ASSET}.csv"}]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fuzzed, list[dict[str, str]]]]:
    root = tmp_path_factory.mktemp("fuzz")
    spaces = root / "spaces"
    spaces.mkdir()
    settings = make_settings(spaces, data_asset_workers=1, max_failed_login_attempts=1_000_000)
    # Every path the service writes is inside the temporary root, and so is anything written relative to the cwd.
    assert all(Path(path).is_relative_to(root) for path in (settings.spaces_folder, settings.index_path))
    cwd = os.getcwd()
    os.chdir(root)
    app = create_app(settings)
    try:
        with asgi.get_client(app) as client:
            state = Fuzzed(settings, client)
            anchors = state.seed()
            state.schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            yield state, anchors
    finally:
        asgi.shutdown_lifespans()
        os.chdir(cwd)


def _anchored(case: Any, anchor: dict[str, str]) -> Any:
    """The case with the seeded locator in its body, so it reaches past the lookups."""
    if isinstance(case.body, dict):
        for key in ("space_name", "subpath", "shortname", "data_asset_type"):
            if key in case.body:
                case.body[key] = anchor[key]
        for item in case.body.get("records") or []:
            if isinstance(item, dict) and "subpath" in item:
                item["subpath"] = anchor["subpath"]
    return case


def _strategies(operation: Any, anchors: list[dict[str, str]]) -> list[st.SearchStrategy[Any]]:
    """Negative cases, free positive ones, and positive ones aimed at the seeded entry and at its data asset."""
    names = {parameter.name for parameter in operation.iter_parameters()}
    path_names = {name for name in names if "{" + name + "}" in operation.path}
    query_names = names - path_names
    aimed = [
        operation.as_strategy(
            GenerationMode.POSITIVE,
            path_parameters={name: anchor[name] for name in path_names if name in anchor} or None,
            query={name: anchor[name] for name in query_names if name in anchor} or None,
        ).map(lambda case, anchor=anchor: _anchored(case, anchor))
        for anchor in anchors
    ]
    free = [operation.as_strategy(GenerationMode.POSITIVE), *aimed]
    if not names and not list(operation.body):
        # Nothing in the request can be wrong.
        return free
    return [operation.as_strategy(GenerationMode.NEGATIVE), *free]


def _fuzz(state: Fuzzed, operation: Any, strategy: st.SearchStrategy[Any]) -> None:
    """Send the strategy's cases as the admin, the same ones on every run (derandomized, no example database).

    Logging out ends the token it is sent with, so each logout has a token of its own.
    """
    headers = state.fresh_headers()

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_STRATEGY,
        derandomize=True,
        database=None,
        deadline=DEADLINE,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=strategy)
    def run(case: Any) -> None:
        sent = state.fresh_headers() if operation.path == "/user/logout" else headers
        case.call_and_validate(headers=sent, checks=CHECKS, timeout=REQUEST_TIMEOUT)

    run()


def test_every_operation_answers_as_declared_and_never_fails(
    fuzzed: tuple[Fuzzed, list[dict[str, str]]], subtests: Any
) -> None:
    state, anchors = fuzzed
    operations = [result.ok() for result in state.schema.get_all_operations()]
    declared = [(method, path) for path, methods in state.schema.raw_schema["paths"].items() for method in methods]
    assert len(operations) == len(declared) > 30
    for operation in operations:
        with subtests.test(msg=operation.label):
            for strategy in _strategies(operation, anchors):
                _fuzz(state, operation, strategy)
