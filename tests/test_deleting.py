"""Deleting entries, folders and attachments: nothing of them is left, and attachment changes reach history."""

from starlette.testclient import TestClient

from dmart_attach.config import Settings
from tests.utils.disk import snapshot
from tests.utils.factories import Api, json_payload, record


def test_b01_an_entry_created_again_under_the_same_name_has_no_attachments(admin: Api) -> None:
    admin.space("demo", "notes")
    admin.create("demo", record("content", "notes", "note1", is_active=True, payload=json_payload({"text": "first"})))
    admin.create(
        "demo",
        record("comment", "notes/note1", "c1", is_active=True, payload={"content_type": "comment", "body": "stale"}),
    )
    assert admin.request("demo", "delete", record("content", "notes", "note1")).status_code == 200

    admin.create("demo", record("content", "notes", "note1", is_active=True, payload=json_payload({"text": "second"})))

    entry = admin.get("/managed/entry/content/demo/notes/note1", retrieve_attachments=True).json()
    assert (entry["shortname"], entry["attachments"]) == ("note1", {})
    missing = admin.get("/managed/entry/comment/demo/notes/note1/c1")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, 220)


def test_deleting_an_entry_removes_its_payload_attachments_lock_and_history(admin: Api, settings: Settings) -> None:
    admin.space("demo", "notes")
    admin.create("demo", record("content", "notes", "keep", is_active=True, payload=json_payload({"k": 1})))
    before = snapshot(settings.spaces_root / "demo/notes")
    admin.create("demo", record("content", "notes", "gone", is_active=True, payload=json_payload({"g": 1})))
    admin.create("demo", record("json", "notes/gone", "data", is_active=True, payload=json_payload({"d": 1})))
    admin.request("demo", "update", record("content", "notes", "gone", payload=json_payload({"g": 2})))
    admin.client.put("/managed/lock/content/demo/notes/gone", headers=admin.headers)

    response = admin.request("demo", "delete", record("content", "notes", "gone"))

    assert response.status_code == 200, response.text
    assert snapshot(settings.spaces_root / "demo/notes") == before


def test_deleting_a_folder_removes_everything_under_it(admin: Api, settings: Settings) -> None:
    admin.space("demo", "keep")
    before = snapshot(settings.spaces_root / "demo")
    admin.create("demo", record("folder", "/", "reports", is_active=True))
    admin.request("demo", "update", record("folder", "/", "reports", payload=json_payload({"columns": []})))
    admin.create("demo", record("folder", "reports", "archive", is_active=True))
    admin.create("demo", record("content", "reports/archive", "r1", is_active=True, payload=json_payload({"n": 1})))
    admin.create("demo", record("comment", "reports/archive/r1", "c1", is_active=True, body="Deep"))
    admin.create("demo", record("comment", "reports", "on_folder", is_active=True, body="On the folder"))

    response = admin.request("demo", "delete", record("folder", "/", "reports"))

    assert response.status_code == 200, response.text
    after = snapshot(settings.spaces_root / "demo")
    assert {name: data for name, data in after.items() if name != ".dm/events.jsonl"} == {
        name: data for name, data in before.items() if name != ".dm/events.jsonl"
    }


def test_every_attachment_create_update_and_delete_is_a_line_of_the_parents_history(
    admin: Api, client: TestClient
) -> None:
    admin.space("demo", "notes")
    admin.create("demo", record("content", "notes", "n1", is_active=True, payload=json_payload({"n": 1})))
    uuid = admin.create("demo", record("comment", "notes/n1", "c1", is_active=True, body="One"))["records"][0]["uuid"]
    admin.request("demo", "update", record("comment", "notes/n1", "c1", body="Two"))
    admin.request("demo", "delete", record("comment", "notes/n1", "c1"))

    store = client.app.state.services.store  # type: ignore[attr-defined]
    total, lines = store.history_lines(space_name="demo", subpath="notes", shortname="n1")
    assert total == 3
    assert [line["diff"] for line in reversed(lines)] == [
        {"attachments.comment.c1": {"old": "null", "new": uuid}},
        {"payload.body.body": {"old": "One", "new": "Two"}},
        {"attachments.comment.c1": {"old": uuid, "new": "null"}},
    ]
    assert [line["attachment"] for line in lines] == [{"resource_type": "comment", "shortname": "c1"}] * 3
    _, events = store.event_lines("demo", limit=2)
    assert [(line["request"], line["resource"]["shortname"]) for line in events] == [("delete", "c1"), ("create", "c1")]
