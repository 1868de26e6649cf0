"""History and event lines on disk, in Dmart's format (contract §9), and reading them newest first."""

import json
from pathlib import Path

from dmart_attach.config import Settings
from dmart_attach.storage.history import append_line, read_newest_first
from tests.utils.factories import Api, json_payload, record


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_update_and_patch_append_dmart_history_lines_to_the_entry(admin: Api, settings: Settings) -> None:
    admin.space("demo", "notes")
    admin.create("demo", record("content", "notes", "n1", is_active=True, payload=json_payload({"a": 1})))

    admin.request("demo", "update", record("content", "notes", "n1", tags=["t1"]))
    admin.request("demo", "patch", record("content", "notes", "n1", tags=["t1", "t2"]))

    lines = lines_of(settings.spaces_root / "demo/notes/.dm/n1/history.jsonl")
    assert [line["diff"] for line in lines] == [
        {"tags": {"old": [], "new": ["t1"]}},
        {"tags": {"old": [], "new": ["t2"]}},
    ]
    first = lines[0]
    assert sorted(first) == [
        "created_at",
        "diff",
        "is_active",
        "owner_shortname",
        "request_headers",
        "shortname",
        "tags",
        "timestamp",
        "updated_at",
        "uuid",
    ]
    assert (first["shortname"], first["is_active"], first["tags"], first["owner_shortname"]) == (
        "history",
        False,
        [],
        "dmart",
    )
    assert isinstance(first["request_headers"], dict)
    assert "authorization" not in first["request_headers"]


def test_creates_deletes_and_moves_of_entries_go_to_the_spaces_events(admin: Api, settings: Settings) -> None:
    admin.space("demo", "notes", "other")
    admin.create("demo", record("content", "notes", "n1", is_active=True))
    admin.request(
        "demo",
        "move",
        record(
            "content",
            "notes",
            "n1",
            src_space_name="demo",
            src_subpath="notes",
            src_shortname="n1",
            dest_space_name="demo",
            dest_subpath="other",
            dest_shortname="n2",
        ),
    )
    admin.request("demo", "delete", record("content", "other", "n2"))

    events = lines_of(settings.spaces_root / "demo/.dm/events.jsonl")
    assert [(line["request"], line["resource"]) for line in events if line["resource"]["type"] == "content"] == [
        ("create", {"type": "content", "space_name": "demo", "subpath": "notes", "shortname": "n1"}),
        ("move", {"type": "content", "space_name": "demo", "subpath": "notes", "shortname": "n1"}),
        ("delete", {"type": "content", "space_name": "demo", "subpath": "other", "shortname": "n2"}),
    ]
    assert {line["user_shortname"] for line in events} == {"dmart"}


def test_history_reads_newest_first_with_exact_paging(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    for number in range(5):
        append_line(path, {"n": number})

    assert read_newest_first(path) == (5, [{"n": 4}, {"n": 3}, {"n": 2}, {"n": 1}, {"n": 0}])
    assert read_newest_first(path, offset=0, limit=2) == (5, [{"n": 4}, {"n": 3}])
    assert read_newest_first(path, offset=4, limit=2) == (5, [{"n": 0}])
    assert read_newest_first(path, offset=5, limit=2) == (5, [])
    assert read_newest_first(tmp_path / "missing.jsonl") == (0, [])


def test_a_torn_last_line_is_skipped_and_the_next_line_stays_whole(tmp_path: Path) -> None:
    path = tmp_path / "history.jsonl"
    append_line(path, {"n": 0})
    with path.open("a") as handle:
        handle.write('{"n": 1')

    append_line(path, {"n": 2})

    assert read_newest_first(path) == (2, [{"n": 2}, {"n": 0}])


def test_an_applied_alteration_and_a_replaced_reaction_are_deletes_in_the_spaces_events(
    admin: Api, settings: Settings
) -> None:
    admin.space("demo", "notes")
    admin.create("demo", record("content", "notes", "n1", is_active=True, payload=json_payload({"a": 1})))
    admin.create("demo", record("alteration", "notes/n1", "alt", is_active=True, requested_update={"a": 2}))
    admin.create("demo", record("reaction", "notes/n1", "first", is_active=True, type="like"))
    admin.create("demo", record("reaction", "notes/n1", "second", is_active=True, type="love"))
    target = record("content", "notes", "n1")
    applied = admin.client.post("/managed/apply-alteration/demo/alt", json=target, headers=admin.headers)
    assert applied.status_code == 200, applied.text

    events = lines_of(settings.spaces_root / "demo/.dm/events.jsonl")
    attachments = [
        (line["request"], line["resource"]["type"], line["resource"]["shortname"])
        for line in events
        if line["resource"]["subpath"] == "notes/n1"
    ]
    assert attachments == [
        ("create", "alteration", "alt"),
        ("create", "reaction", "first"),
        ("delete", "reaction", "first"),
        ("create", "reaction", "second"),
        ("delete", "alteration", "alt"),
    ]
