"""request_type move: entries, folders and attachments move with everything that is theirs."""

from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.config import Settings
from tests.utils.disk import snapshot
from tests.utils.factories import Api, json_payload, record


def move(resource_type: str, src: tuple[str, str, str], dest: tuple[str, str, str]) -> dict[str, Any]:
    """A move record from (space, subpath, shortname) to (space, subpath, shortname)."""
    return record(
        resource_type,
        src[1],
        src[2],
        src_space_name=src[0],
        src_subpath=src[1],
        src_shortname=src[2],
        dest_space_name=dest[0],
        dest_subpath=dest[1],
        dest_shortname=dest[2],
    )


def failure(response: Any) -> tuple[int, int]:
    """The HTTP status and the failed record's error code of a refused request."""
    return response.status_code, response.json()["error"]["info"][0]["failed"][0]["error_code"]


@pytest.fixture
def demo(admin: Api) -> Api:
    """Space demo with folders notes, reports (holding archive and r1) and gallery."""
    admin.space("demo", "notes", "reports", "gallery")
    admin.create("demo", record("folder", "reports", "archive", is_active=True))
    admin.create("demo", record("content", "reports", "r1", is_active=True, payload=json_payload({"n": 1})))
    return admin


def test_b02_a_moved_entry_keeps_its_comment_and_leaves_nothing_behind(demo: Api, settings: Settings) -> None:
    demo.create("demo", record("content", "notes", "draft1", is_active=True, payload=json_payload({"text": "x"})))
    demo.create("demo", record("comment", "notes/draft1", "c1", is_active=True, body="keep with the entry"))

    response = demo.request("demo", "move", move("content", ("demo", "notes", "draft1"), ("demo", "reports", "final1")))

    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["attributes"]["payload"]["body"] == "final1.json"
    entry = demo.get(
        "/managed/entry/content/demo/reports/final1", retrieve_attachments=True, retrieve_json_payload=True
    )
    assert entry.json()["payload"]["body"] == {"text": "x"}
    assert [item["shortname"] for item in entry.json()["attachments"]["comment"]] == ["c1"]
    assert demo.get("/managed/entry/comment/demo/reports/final1/c1").status_code == 200
    assert demo.get("/managed/entry/content/demo/notes/draft1").json()["error"]["code"] == 220
    assert demo.get("/managed/entry/comment/demo/notes/draft1/c1").json()["error"]["code"] == 220
    notes = settings.spaces_root / "demo/notes"
    assert sorted(snapshot(notes)) == [".dm/meta.folder.json"]


def test_b08_a_folder_moved_into_its_own_subfolder_is_refused(demo: Api, settings: Settings) -> None:
    before = snapshot(settings.spaces_root / "demo")

    response = demo.request(
        "demo", "move", move("folder", ("demo", "/", "reports"), ("demo", "reports/archive", "reports"))
    )

    assert failure(response) == (400, 206)
    assert snapshot(settings.spaces_root / "demo") == before
    assert demo.get("/managed/entry/content/demo/reports/r1").status_code == 200
    assert demo.get("/managed/entry/folder/demo/reports/archive").status_code == 200


def test_b09_a_trailing_newline_in_dest_shortname_is_refused_with_402(demo: Api, settings: Settings) -> None:
    before = snapshot(settings.spaces_root / "demo")

    response = demo.request("demo", "move", move("content", ("demo", "reports", "r1"), ("demo", "reports", "final\n")))

    assert failure(response) == (400, 402)
    assert response.json()["error"]["info"][0]["failed"][0]["error"] == "Invalid value for dest_shortname"
    assert snapshot(settings.spaces_root / "demo") == before


def test_a_folder_moves_across_spaces_with_everything_under_it(demo: Api, settings: Settings) -> None:
    demo.space("other", "inbox")
    demo.create("demo", record("comment", "reports/r1", "c1", is_active=True, body="On r1"))
    demo.create("demo", record("content", "reports/archive", "old", is_active=True, payload=json_payload({"o": 1})))
    demo.create("demo", record("comment", "/reports", "on_folder", is_active=True, body="On the folder"))
    demo.request("demo", "update", record("folder", "/", "reports", tags=["moved"]))

    response = demo.request("demo", "move", move("folder", ("demo", "/", "reports"), ("other", "inbox", "kept")))

    assert response.status_code == 200, response.text
    assert demo.get("/managed/entry/comment/other/inbox/kept/r1/c1").status_code == 200
    assert demo.get("/managed/entry/content/other/inbox/kept/archive/old", retrieve_json_payload=True).json()[
        "payload"
    ]["body"] == {"o": 1}
    folder = demo.get("/managed/entry/folder/other/inbox/kept", retrieve_attachments=True).json()
    assert (folder["shortname"], folder["tags"]) == ("kept", ["moved"])
    assert [item["shortname"] for item in folder["attachments"]["comment"]] == ["on_folder"]
    demo_dir = settings.spaces_root / "demo"
    assert not (demo_dir / "reports").exists()
    assert not (demo_dir / ".dm/reports").exists()


@pytest.mark.parametrize(
    ("moved", "code"),
    [
        (move("content", ("demo", "reports", "r1"), ("demo", "reports", "archive")), 206),
        (move("content", ("demo", "reports", "r1"), ("demo", "reports", "r1")), 206),
        (move("content", ("demo", "reports", "nothing"), ("demo", "notes", "n")), 220),
        (move("content", ("demo", "reports", "r1"), ("demo", "missing", "r1")), 220),
        (move("content", ("demo", "reports", "r1"), ("nospace", "notes", "r1")), 203),
        (record("content", "reports", "r1", src_space_name="demo"), 222),
        (move("content", ("other", "reports", "r1"), ("demo", "notes", "r1")), 402),
    ],
    ids=["taken", "onto_itself", "missing_source", "missing_folder", "missing_space", "no_attributes", "other_src"],
)
def test_a_refused_move_changes_nothing(demo: Api, settings: Settings, moved: dict[str, Any], code: int) -> None:
    before = snapshot(settings.spaces_root)

    response = demo.request("demo", "move", moved)

    assert failure(response) == (400, code)
    assert snapshot(settings.spaces_root) == before


@pytest.mark.parametrize(
    ("moved", "where"),
    [
        (move("folder", ("demo", "/", "gallery"), ("demo", "/", "notes")), "demo/notes"),
        (move("content", ("demo", "reports", "r1"), ("demo", "reports", "archive")), "demo/reports/archive"),
    ],
    ids=["root", "folder"],
)
def test_a_taken_destination_is_named_as_a_locator(demo: Api, moved: dict[str, Any], where: str) -> None:
    response = demo.request("demo", "move", moved)

    [failed] = response.json()["error"]["info"][0]["failed"]
    assert (failed["error_code"], failed["error"]) == (206, f"The destination {where} is already taken")


def test_moving_one_attachment_moves_only_that_attachment(demo: Api, client: TestClient) -> None:
    demo.create("demo", record("content", "notes", "n1", is_active=True, payload=json_payload({"n": 1})))
    demo.create("demo", record("comment", "reports/r1", "c1", is_active=True, body="One"))
    demo.create("demo", record("comment", "reports/r1", "c2", is_active=True, body="Two"))

    response = demo.request("demo", "move", move("comment", ("demo", "reports/r1", "c1"), ("demo", "notes/n1", "c9")))

    assert response.status_code == 200, response.text
    left = demo.get("/managed/entry/content/demo/reports/r1", retrieve_attachments=True).json()["attachments"]
    arrived = demo.get("/managed/entry/content/demo/notes/n1", retrieve_attachments=True).json()["attachments"]
    assert [item["shortname"] for item in left["comment"]] == ["c2"]
    assert [(item["shortname"], item["attributes"]["body"]) for item in arrived["comment"]] == [("c9", "One")]
    store = client.app.state.services.store  # type: ignore[attr-defined]
    _, lines = store.history_lines(space_name="demo", subpath="notes", shortname="n1", limit=1)
    assert lines[0]["diff"] == {
        "subpath": {"old": "reports/r1", "new": "notes/n1"},
        "shortname": {"old": "c1", "new": "c9"},
    }
    assert lines[0]["attachment"] == {"resource_type": "comment", "shortname": "c9"}


def test_a_move_is_written_to_the_moved_entrys_history_and_both_spaces_events(demo: Api, client: TestClient) -> None:
    demo.space("other", "inbox")

    demo.request("demo", "move", move("content", ("demo", "reports", "r1"), ("other", "inbox", "r2")))

    store = client.app.state.services.store  # type: ignore[attr-defined]
    total, lines = store.history_lines(space_name="other", subpath="inbox", shortname="r2")
    assert total == 1
    assert lines[0]["diff"] == {
        "space_name": {"old": "demo", "new": "other"},
        "subpath": {"old": "reports", "new": "inbox"},
        "shortname": {"old": "r1", "new": "r2"},
    }
    for space in ("demo", "other"):
        _, events = store.event_lines(space, limit=1)
        assert (events[0]["request"], events[0]["attributes"]["to"]["shortname"]) == ("move", "r2")


def test_a_moved_json_attachment_takes_its_renamed_payload_file(demo: Api, settings: Settings) -> None:
    demo.create("demo", record("json", "reports/r1", "data", is_active=True, payload=json_payload({"d": 1})))

    response = demo.request(
        "demo", "move", move("json", ("demo", "reports/r1", "data"), ("demo", "reports/r1", "kept"))
    )

    assert response.status_code == 200, response.text
    moved = demo.get("/managed/entry/json/demo/reports/r1/kept", retrieve_json_payload=True).json()
    assert moved["payload"]["body"] == {"d": 1}
    folder = settings.spaces_root / "demo/reports/.dm/r1/attachments.json"
    assert sorted(path.name for path in folder.iterdir()) == ["kept.json", "meta.kept.json"]
