"""Alterations keep their requested update, and applying one updates the entry then removes the alteration."""

import json
from typing import Any

import pytest

from dmart_attach.config import Settings
from tests.utils.disk import snapshot
from tests.utils.factories import Api, json_payload, record
from tests.utils.users import make_user

POST = "posts/first_post"
REQUESTED = {"title": "Hello goldens (altered)", "views": 2, "tags": ["a", "b", "c"], "nested": {"ok": False}}
TARGET = record("content", "posts", "first_post")


@pytest.fixture
def goldens(admin: Api) -> Api:
    """first_post with a JSON payload, and alteration1 on it (golden 017)."""
    admin.space("goldens", "posts")
    body = {"title": "Hello goldens", "views": 1, "tags": ["a", "b"], "nested": {"ok": True}}
    admin.create("goldens", record("content", "posts", "first_post", is_active=True, payload=json_payload(body)))
    admin.create("goldens", record("alteration", POST, "alteration1", is_active=True, requested_update=REQUESTED))
    return admin


def apply(api: Api, name: str, target: dict[str, Any] = TARGET) -> Any:
    return api.client.post(f"/managed/apply-alteration/goldens/{name}", json=target, headers=api.headers)


def test_golden_017_an_alteration_keeps_its_requested_update(goldens: Api, settings: Settings) -> None:
    meta = settings.spaces_root / "goldens/posts/.dm/first_post/attachments.alteration/meta.alteration1.json"

    assert json.loads(meta.read_bytes())["requested_update"] == REQUESTED


def test_golden_044_applying_merges_the_update_and_removes_the_alteration(goldens: Api) -> None:
    response = apply(goldens, "alteration1")

    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["attributes"]["payload"]["body"] == REQUESTED
    entry = goldens.get(
        "/managed/entry/content/goldens/posts/first_post", retrieve_json_payload=True, retrieve_attachments=True
    ).json()
    assert (entry["payload"]["body"], entry["attachments"]) == (REQUESTED, {})


def test_applying_to_an_entry_without_payload_gives_it_a_json_payload(goldens: Api) -> None:
    goldens.create("goldens", record("content", "posts", "bare", is_active=True))
    goldens.create("goldens", record("alteration", "posts/bare", "alt", requested_update={"x": 1}))

    response = apply(goldens, "alt", record("content", "posts", "bare"))

    assert response.status_code == 200, response.text
    body = goldens.get("/managed/entry/content/goldens/posts/bare", retrieve_json_payload=True).json()["payload"]
    assert (body["content_type"], body["body"]) == ("json", {"x": 1})


def test_a_missing_alteration_is_404(goldens: Api) -> None:
    response = apply(goldens, "nothing")

    assert (response.status_code, response.json()["error"]["code"]) == (404, 220)


def test_an_apply_refused_by_a_lock_leaves_entry_and_alteration_untouched(goldens: Api, settings: Settings) -> None:
    ali = make_user(goldens, "ali", "Ali_pass_123", space_name="goldens", actions=["view", "update", "delete"])
    goldens.client.put("/managed/lock/content/goldens/posts/first_post", headers=goldens.headers)
    before = snapshot(settings.spaces_root / "goldens")

    response = apply(ali, "alteration1")

    assert (response.status_code, response.json()["error"]["code"]) == (403, 31)
    assert snapshot(settings.spaces_root / "goldens") == before


def test_an_apply_refused_by_the_schema_leaves_entry_and_alteration_untouched(goldens: Api, settings: Settings) -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    goldens.create("goldens", record("schema", "schema", "numbers", is_active=True, payload=json_payload(schema)))
    payload = json_payload({"n": 1}, schema_shortname="numbers")
    goldens.create("goldens", record("content", "posts", "counted", is_active=True, payload=payload))
    goldens.create("goldens", record("alteration", "posts/counted", "bad", requested_update={"n": "one"}))
    before = snapshot(settings.spaces_root / "goldens")

    response = apply(goldens, "bad", record("content", "posts", "counted"))

    assert (response.status_code, response.json()["error"]["code"]) == (400, 422)
    assert snapshot(settings.spaces_root / "goldens") == before
