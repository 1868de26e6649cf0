"""PUT and DELETE /managed/lock, and the refusal (code 31) of every change to an entry someone else locked."""

import json

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.test_entry_life import move_record
from tests.utils.disk import snapshot
from tests.utils.factories import Api, json_payload, record
from tests.utils.users import make_user

SPACE = "shop"
LOCK_URL = f"/managed/lock/content/{SPACE}/products/laptop"
UNLOCK_URL = f"/managed/lock/{SPACE}/products/laptop"
ACTIONS = ["view", "query", "create", "update", "delete", "lock", "unlock", "move"]


@pytest.fixture
def ali(admin: Api) -> Api:
    """A second user on a space with one entry that has a comment."""
    admin.space(SPACE, "products", "archive")
    admin.create(SPACE, record("content", "products", "laptop", is_active=True, payload=json_payload({"price": 5})))
    admin.create(SPACE, record("comment", "products/laptop", "c1", is_active=True, body="Nice"))
    return make_user(admin, "ali", "Ali_pass_123", space_name=SPACE, actions=ACTIONS)


def error_of(response: object) -> tuple[int, str, int]:
    answer = response.json()  # type: ignore[attr-defined]
    return response.status_code, answer["error"]["type"], answer["error"]["code"]  # type: ignore[attr-defined]


def test_a_lock_is_a_lock_attachment_on_disk_shown_only_as_lock_status(
    admin: Api, ali: Api, settings: Settings
) -> None:
    response = admin.client.put(LOCK_URL, headers=admin.headers)

    assert response.status_code == 200
    assert response.json() == {
        "status": "success",
        "attributes": {"message": "Successfully locked the entry for 300 seconds", "lock_period": 300},
    }
    lock_file = settings.spaces_root / SPACE / "products/.dm/laptop/attachments.lock/meta.lock.json"
    stored = json.loads(lock_file.read_bytes())
    assert (stored["shortname"], stored["owner_shortname"]) == ("lock", "dmart")
    entry = ali.get(
        f"/managed/entry/content/{SPACE}/products/laptop", retrieve_attachments=True, retrieve_lock_status=True
    )
    assert list(entry.json()["attachments"]) == ["comment"]
    assert entry.json()["locked"] == {
        "owner_shortname": "dmart",
        "lock_time": stored["lock_time"],
        "expires_at": stored["expires_at"],
    }


def test_the_lock_holder_extends_and_anyone_else_is_refused_with_31(admin: Api, ali: Api) -> None:
    admin.client.put(LOCK_URL, headers=admin.headers)

    assert admin.client.put(LOCK_URL, headers=admin.headers).status_code == 200
    refused = ali.client.put(LOCK_URL, headers=ali.headers)
    assert error_of(refused) == (403, "lock", 31)
    assert refused.json()["error"]["message"] == "Entry is already locked by dmart"


def test_locking_a_missing_entry_is_404_and_an_attachment_cannot_be_locked(admin: Api, ali: Api) -> None:
    missing = admin.client.put(f"/managed/lock/content/{SPACE}/products/nothing", headers=admin.headers)
    attachment = admin.client.put(f"/managed/lock/comment/{SPACE}/products/laptop/c1", headers=admin.headers)

    assert error_of(missing) == (404, "db", 220)
    assert error_of(attachment) == (400, "lock", 219)


def test_unlock_needs_the_callers_own_lock(admin: Api, ali: Api) -> None:
    assert error_of(admin.client.delete(UNLOCK_URL, headers=admin.headers)) == (403, "lock", 30)
    admin.client.put(LOCK_URL, headers=admin.headers)

    assert error_of(ali.client.delete(UNLOCK_URL, headers=ali.headers)) == (403, "lock", 30)
    assert admin.client.delete(UNLOCK_URL, headers=admin.headers).json() == {
        "status": "success",
        "attributes": {"message": "Entry unlocked successfully"},
    }
    assert error_of(admin.client.delete(UNLOCK_URL, headers=admin.headers)) == (403, "lock", 30)


CHANGES = {
    "update": record("content", "products", "laptop", payload=json_payload({"price": 6})),
    "patch": record("content", "products", "laptop", tags=["t"]),
    "delete": record("content", "products", "laptop"),
    "move": move_record("content", ("products", "laptop"), ("archive", "laptop")),
    "create": record("comment", "products/laptop", "c2", is_active=True, body="Me too"),
}


@pytest.mark.parametrize("request_type", list(CHANGES))
def test_a_change_by_someone_else_is_a_failed_record_31_and_changes_nothing(
    admin: Api, ali: Api, settings: Settings, request_type: str
) -> None:
    admin.client.put(LOCK_URL, headers=admin.headers)
    before = snapshot(settings.spaces_root / SPACE)

    response = ali.request(SPACE, request_type, CHANGES[request_type])

    assert error_of(response) == (400, "request", 430)
    assert response.json()["error"]["info"][0]["failed"][0]["error_code"] == 31
    assert snapshot(settings.spaces_root / SPACE) == before


@pytest.mark.parametrize("request_type", ["update", "delete"])
def test_a_change_to_an_attachment_of_a_locked_entry_is_refused(
    admin: Api, ali: Api, settings: Settings, request_type: str
) -> None:
    admin.client.put(LOCK_URL, headers=admin.headers)
    before = snapshot(settings.spaces_root / SPACE)

    response = ali.request(SPACE, request_type, record("comment", "products/laptop", "c1", body="Changed"))

    assert response.json()["error"]["info"][0]["failed"][0]["error_code"] == 31
    assert snapshot(settings.spaces_root / SPACE) == before


def test_the_lock_holder_still_changes_the_entry(admin: Api, ali: Api) -> None:
    admin.client.put(LOCK_URL, headers=admin.headers)

    response = admin.request(SPACE, "update", CHANGES["update"])

    assert response.status_code == 200, response.text


def test_an_expired_lock_counts_as_absent(
    admin: Api, ali: Api, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.services.settings, "lock_period", 0)  # type: ignore[attr-defined]
    admin.client.put(LOCK_URL, headers=admin.headers)

    assert ali.request(SPACE, "update", CHANGES["update"]).status_code == 200
    assert ali.client.put(LOCK_URL, headers=ali.headers).status_code == 200
    status = admin.get(f"/managed/entry/content/{SPACE}/products/laptop", retrieve_lock_status=True).json()
    assert "locked" not in status


def test_a_lock_survives_a_restart(admin: Api, ali: Api, settings: Settings) -> None:
    admin.client.put(LOCK_URL, headers=admin.headers)

    with TestClient(create_app(settings)) as restarted:
        response = restarted.post(
            "/managed/request",
            json={"space_name": SPACE, "request_type": "update", "records": [CHANGES["update"]]},
            headers=ali.headers,
        )
    assert response.json()["error"]["info"][0]["failed"][0]["error_code"] == 31


def test_lock_and_unlock_are_written_to_the_entry_history(admin: Api, ali: Api, client: TestClient) -> None:
    admin.client.put(LOCK_URL, headers=admin.headers)
    admin.client.put(LOCK_URL, headers=admin.headers)
    admin.client.delete(UNLOCK_URL, headers=admin.headers)

    store = client.app.state.services.store  # type: ignore[attr-defined]
    total, lines = store.history_lines(space_name=SPACE, subpath="products", shortname="laptop", limit=3)
    assert [line["diff"]["lock_type"]["new"] for line in lines] == ["cancel", "extend", "lock"]
    assert total == 4


@pytest.mark.parametrize("request_type", ["delete", "move"])
def test_a_folder_with_an_entry_locked_by_someone_else_can_be_neither_deleted_nor_moved(
    admin: Api, ali: Api, settings: Settings, request_type: str
) -> None:
    admin.client.put(LOCK_URL, headers=admin.headers)
    before = snapshot(settings.spaces_root / SPACE)
    changes = {
        "delete": record("folder", "/", "products"),
        "move": move_record("folder", ("/", "products"), ("archive", "products")),
    }

    response = ali.request(SPACE, request_type, changes[request_type])

    assert response.json()["error"]["info"][0]["failed"][0]["error_code"] == 31
    assert snapshot(settings.spaces_root / SPACE) == before


def test_a_folder_whose_entry_lock_expired_can_be_deleted(
    admin: Api, ali: Api, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client.app.state.services.settings, "lock_period", 0)  # type: ignore[attr-defined]
    admin.client.put(LOCK_URL, headers=admin.headers)

    response = ali.request(SPACE, "delete", record("folder", "/", "products"))

    assert response.status_code == 200, response.text


def test_queries_with_retrieve_lock_status_show_the_lock_of_each_locked_entry(admin: Api, ali: Api) -> None:
    admin.create(SPACE, record("content", "products", "phone", is_active=True))
    assert ali.client.put(LOCK_URL, headers=ali.headers).status_code == 200
    lock_time = ali.get(f"/managed/entry/content/{SPACE}/products/laptop", retrieve_lock_status=True).json()["locked"]

    def locks(query_type: str, **flags: bool) -> dict[str, object]:
        query = {"type": query_type, "space_name": SPACE, "subpath": "products", "exact_subpath": True, **flags}
        response = admin.client.post("/managed/query", json=query, headers=admin.headers)
        assert response.status_code == 200, response.text
        return {item["shortname"]: item["attributes"].get("locked") for item in response.json()["records"]}

    for query_type in ("subpath", "search"):
        assert locks(query_type, retrieve_lock_status=True) == {"laptop": lock_time, "phone": None}
        assert locks(query_type) == {"laptop": None, "phone": None}
    assert lock_time["owner_shortname"] == "ali"
