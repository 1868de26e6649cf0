"""Simultaneous writers in threads: no lost update, exactly one create of a shortname wins."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from dmart_attach.config import Settings
from tests.utils.factories import Api, json_payload, record

SPACE = "demo"
WRITERS = 8
ROUNDS = 20


@pytest.fixture
def api(admin: Api) -> Api:
    admin.space(SPACE, "notes")
    return admin


def test_simultaneous_updates_of_one_entry_lose_nothing(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "n1", payload=json_payload({"start": 0})))
    api.create(SPACE, record("comment", "notes/n1", "c1", body="first"))

    def update(index: int) -> int:
        change = record("content", "notes", "n1", payload=json_payload({f"k{index}": index}))
        status: int = api.request(SPACE, "update", change).status_code
        return status

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(pool.map(update, range(WRITERS * 2)))

    assert statuses == [200] * (WRITERS * 2)
    body = api.get(f"/managed/entry/content/{SPACE}/notes/n1", retrieve_json_payload=True).json()["payload"]["body"]
    assert body == {"start": 0, **{f"k{index}": index for index in range(WRITERS * 2)}}


def test_simultaneous_creates_of_one_shortname_b23(api: Api) -> None:
    def create(name: str, label: str) -> tuple[str, int]:
        sent = record("content", "notes", name, is_active=True, displayname={"en": label})
        response = api.request(SPACE, "create", sent)
        return label, response.status_code

    for round_number in range(ROUNDS):
        name = f"dup_{round_number}"
        with ThreadPoolExecutor(2) as pool:
            results: list[Any] = list(pool.map(create, [name, name], ["first", "second"]))

        assert sorted(status for _, status in results) == [200, 400]
        [winner] = [label for label, status in results if status == 200]
        stored = api.get(f"/managed/entry/content/{SPACE}/notes/{name}").json()
        assert stored["displayname"] == {"en": winner}


def test_simultaneous_attachment_creates_of_one_shortname(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "n1"))

    def create(kind: str) -> int:
        attributes: dict[str, Any] = {"body": "x"} if kind == "comment" else {"type": "like"}
        status: int = api.request(SPACE, "create", record(kind, "notes/n1", "same", **attributes)).status_code
        return status

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(create, ["comment", "reaction"]))

    assert statuses == [200, 400]
    attachments = api.get(f"/managed/entry/content/{SPACE}/notes/n1", retrieve_attachments=True).json()["attachments"]
    assert sum(len(items) for items in attachments.values()) == 1


def test_a_folder_removed_during_a_create_leaves_no_orphan(
    api: Api, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = api.client.app.state.services.store.tree  # type: ignore[attr-defined]
    original_save = tree.save
    saving, release = threading.Event(), threading.Event()

    def slow_save(address: Any, meta: Any, **kwargs: Any) -> None:
        if meta.shortname == "late":
            saving.set()
            release.wait(10)
        original_save(address, meta, **kwargs)

    monkeypatch.setattr(tree, "save", slow_save)
    with ThreadPoolExecutor(2) as pool:
        create = pool.submit(api.request, SPACE, "create", record("content", "notes", "late"))
        assert saving.wait(10)
        delete = pool.submit(api.request, SPACE, "delete", record("folder", "/", "notes"))

        time.sleep(0.3)
        assert not delete.done()
        release.set()

        assert (create.result(10).status_code, delete.result(10).status_code) == (200, 200)
    assert not (settings.spaces_root / SPACE / "notes").exists()
    assert not (settings.spaces_root / SPACE / ".dm" / "notes").exists()


def test_comments_on_one_entry_are_written_side_by_side_and_the_entry_waits_for_them(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api.create(SPACE, record("content", "notes", "busy", payload=json_payload({"n": 0})))
    tree = api.client.app.state.services.store.tree  # type: ignore[attr-defined]
    original_save = tree.save
    saving, release = threading.Event(), threading.Event()

    def slow_save(address: Any, meta: Any, **kwargs: Any) -> None:
        if meta.shortname == "slow":
            saving.set()
            release.wait(10)
        original_save(address, meta, **kwargs)

    monkeypatch.setattr(tree, "save", slow_save)
    with ThreadPoolExecutor(3) as pool:
        slow = pool.submit(api.request, SPACE, "create", record("comment", "notes/busy", "slow", body="one"))
        assert saving.wait(10)
        # A second comment on the same entry does not wait for the first.
        quick = api.request(SPACE, "create", record("comment", "notes/busy", "quick", body="two"))
        assert quick.status_code == 200, quick.text
        # A change of the entry itself waits until the comment being written is stored.
        update = pool.submit(
            api.request, SPACE, "update", record("content", "notes", "busy", payload=json_payload({"n": 1}))
        )
        time.sleep(0.3)
        assert not update.done()
        release.set()
        assert (slow.result(10).status_code, update.result(10).status_code) == (200, 200)
    listed = api.get(f"/managed/entry/content/{SPACE}/notes/busy", retrieve_attachments=True).json()
    assert sorted(item["shortname"] for item in listed["attachments"]["comment"]) == ["quick", "slow"]
