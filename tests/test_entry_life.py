"""The whole life of an entry with two users: attachments, an alteration, a lock, a move, a delete."""

from typing import Any

from starlette.testclient import TestClient

from dmart_attach.config import Settings
from dmart_attach.services.payloads import checksum
from dmart_attach.services.store import Store
from tests.utils.factories import Api, json_payload, record
from tests.utils.users import make_user

SPACE = "shop"
B_ACTIONS = ["view", "query", "create", "update", "delete", "lock", "unlock", "move"]


def store_of(client: TestClient) -> Store:
    store: Store = client.app.state.services.store  # type: ignore[attr-defined]
    return store


def created(answer: dict[str, Any]) -> str:
    uuid: str = answer["records"][0]["uuid"]
    return uuid


def move_record(resource_type: str, src: tuple[str, str], dest: tuple[str, str]) -> dict[str, Any]:
    return record(
        resource_type,
        src[0],
        src[1],
        src_space_name=SPACE,
        src_subpath=src[0],
        src_shortname=src[1],
        dest_space_name=SPACE,
        dest_subpath=dest[0],
        dest_shortname=dest[1],
    )


def test_an_entry_lives_from_create_to_delete_and_history_lists_every_step(
    admin: Api, client: TestClient, settings: Settings
) -> None:
    admin.space(SPACE, "products", "archive")
    ali = make_user(admin, "ali", "Ali_pass_123", space_name=SPACE, actions=B_ACTIONS)
    admin.create(SPACE, record("content", "products", "laptop", is_active=True, payload=json_payload({"price": 5})))
    admin.create(SPACE, record("content", "products", "mouse", is_active=True, payload=json_payload({"price": 1})))
    on_laptop = "products/laptop"

    comment = created(admin.create(SPACE, record("comment", on_laptop, "c1", is_active=True, body="Nice")))
    reply = created(ali.create(SPACE, record("reply", on_laptop, "r1", is_active=True, body="Yes", in_reply_to="c1")))
    like = created(admin.create(SPACE, record("reaction", on_laptop, "a_like", is_active=True, type="like")))
    love = created(ali.create(SPACE, record("reaction", on_laptop, "b_love", is_active=True, type="love")))
    sad = created(ali.create(SPACE, record("reaction", on_laptop, "b_sad", is_active=True, type="sad")))
    target = {"type": "content", "space_name": SPACE, "subpath": "products", "shortname": "mouse"}
    share = created(admin.create(SPACE, record("share", on_laptop, "s1", is_active=True, body="Look", target=target)))
    relation = created(
        admin.create(
            SPACE, record("relationship", on_laptop, "rel1", is_active=True, related_to=target, attributes={"k": 1})
        )
    )
    alteration = created(
        ali.create(SPACE, record("alteration", on_laptop, "alt1", is_active=True, requested_update={"price": 7}))
    )

    applied = admin.client.post(
        f"/managed/apply-alteration/{SPACE}/alt1",
        json=record("content", "products", "laptop"),
        headers=admin.headers,
    )
    assert applied.status_code == 200, applied.text
    assert applied.json()["records"][0]["attributes"]["payload"]["body"] == {"price": 7}

    assert admin.client.put(f"/managed/lock/content/{SPACE}/products/laptop", headers=admin.headers).status_code == 200
    refused = ali.request(SPACE, "update", record("content", "products", "laptop", payload=json_payload({"price": 9})))
    assert refused.status_code == 400
    assert refused.json()["error"]["info"][0]["failed"][0]["error_code"] == 31
    assert admin.client.delete(f"/managed/lock/{SPACE}/products/laptop", headers=admin.headers).status_code == 200
    updated = ali.request(SPACE, "update", record("content", "products", "laptop", payload=json_payload({"price": 9})))
    assert updated.status_code == 200, updated.text

    moved = admin.request(SPACE, "move", move_record("content", ("products", "laptop"), ("archive", "laptop")))
    assert moved.status_code == 200, moved.text

    entry = admin.get(f"/managed/entry/content/{SPACE}/archive/laptop", retrieve_attachments=True).json()
    assert {kind: [item["shortname"] for item in items] for kind, items in entry["attachments"].items()} == {
        "comment": ["c1"],
        "reaction": ["a_like", "b_sad"],
        "relationship": ["rel1"],
        "reply": ["r1"],
        "share": ["s1"],
    }
    assert entry["reaction_counts"] == {"like": 1, "sad": 1}

    _, lines = store_of(client).history_lines(space_name=SPACE, subpath="archive", shortname="laptop")
    steps = [(line["owner_shortname"], line["diff"]) for line in reversed(lines)]

    def added(kind: str, name: str, uuid: str) -> dict[str, Any]:
        return {f"attachments.{kind}.{name}": {"old": "null", "new": uuid}}

    def checksums(old: Any, new: Any) -> dict[str, Any]:
        return {"payload.checksum": {"old": checksum(old), "new": checksum(new)}}

    def removed(kind: str, name: str, uuid: str) -> dict[str, Any]:
        return {f"attachments.{kind}.{name}": {"old": uuid, "new": "null"}}

    assert steps == [
        ("dmart", added("comment", "c1", comment)),
        ("ali", added("reply", "r1", reply)),
        ("dmart", added("reaction", "a_like", like)),
        ("ali", added("reaction", "b_love", love)),
        ("ali", removed("reaction", "b_love", love)),
        ("ali", added("reaction", "b_sad", sad)),
        ("dmart", added("share", "s1", share)),
        ("dmart", added("relationship", "rel1", relation)),
        ("ali", added("alteration", "alt1", alteration)),
        ("dmart", {"payload.body.price": {"old": 5, "new": 7}, **checksums({"price": 5}, {"price": 7})}),
        ("dmart", removed("alteration", "alt1", alteration)),
        ("dmart", {"lock_type": {"old": "null", "new": "lock"}}),
        ("dmart", {"lock_type": {"old": "null", "new": "cancel"}}),
        ("ali", {"payload.body.price": {"old": 7, "new": 9}, **checksums({"price": 7}, {"price": 9})}),
        ("dmart", {"subpath": {"old": "products", "new": "archive"}}),
    ]
    assert lines[4]["applied_alteration"] == "alt1"

    deleted = admin.request(SPACE, "delete", record("content", "archive", "laptop"))
    assert deleted.status_code == 200, deleted.text
    space_dir = settings.spaces_root / SPACE
    assert [path.relative_to(space_dir).as_posix() for path in space_dir.rglob("*laptop*")] == []
    assert admin.get(f"/managed/entry/content/{SPACE}/archive/laptop").status_code == 404
    _, events = store_of(client).event_lines(SPACE)
    assert [
        (line["request"], line["resource"]["subpath"])
        for line in reversed(events)
        if line["resource"]["shortname"] == "laptop"
    ] == [
        ("create", "products"),
        ("move", "products"),
        ("delete", "archive"),
    ]
