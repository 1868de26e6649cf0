"""What relationships, replies, reactions and shares mean beyond their fields."""

import json
from typing import Any

import pytest

from dmart_attach.config import Settings
from tests.utils.factories import Api, json_payload, record
from tests.utils.users import make_user

POST = "posts/first_post"


@pytest.fixture
def goldens(admin: Api) -> Api:
    """The goldens' space: folder posts with first_post, which has comment1."""
    admin.space("goldens", "posts")
    admin.create("goldens", record("content", "posts", "first_post", is_active=True, payload=json_payload({"v": 1})))
    admin.create("goldens", record("comment", POST, "comment1", is_active=True, body="First"))
    return admin


def failed_code(response: Any) -> int:
    assert response.status_code == 400, response.text
    code: int = response.json()["error"]["info"][0]["failed"][0]["error_code"]
    return code


def test_golden_016_a_relationship_is_stored_and_listed_with_the_entry(goldens: Api, settings: Settings) -> None:
    related_to = {"type": "folder", "space_name": "goldens", "subpath": "/", "shortname": "posts"}

    answer = goldens.create(
        "goldens",
        record(
            "relationship", POST, "relationship1", is_active=True, related_to=related_to, attributes={"kind": "parent"}
        ),
    )

    assert answer["records"][0]["attributes"]["related_to"]["shortname"] == "posts"
    stored = json.loads(
        (
            settings.spaces_root / "goldens/posts/.dm/first_post/attachments.relationship/meta.relationship1.json"
        ).read_bytes()
    )
    assert (stored["related_to"], stored["attributes"]) == (related_to, {"kind": "parent"})
    listed = goldens.get("/managed/entry/content/goldens/posts/first_post", retrieve_attachments=True).json()
    assert [item["shortname"] for item in listed["attachments"]["relationship"]] == ["relationship1"]


def test_a_relationship_to_a_missing_entry_is_refused_with_220(goldens: Api) -> None:
    related_to = {"type": "content", "space_name": "goldens", "subpath": "posts", "shortname": "nothing"}

    response = goldens.request("goldens", "create", record("relationship", POST, "rel", related_to=related_to))

    assert failed_code(response) == 220


def test_a_reply_answers_an_existing_comment_of_the_same_entry(goldens: Api) -> None:
    answer = goldens.create("goldens", record("reply", POST, "reply1", body="Agreed", in_reply_to="comment1"))
    missing = goldens.request("goldens", "create", record("reply", POST, "reply2", body="To what?", in_reply_to="gone"))

    assert answer["records"][0]["attributes"]["in_reply_to"] == "comment1"
    assert failed_code(missing) == 220


def test_a_reaction_type_outside_dmarts_list_is_refused(goldens: Api) -> None:
    response = goldens.request("goldens", "create", record("reaction", POST, "r1", type="meh"))

    assert (response.status_code, response.json()["error"]["code"]) == (422, 422)


def test_a_users_new_reaction_replaces_their_old_one_and_counts_are_per_type(goldens: Api) -> None:
    ali = make_user(goldens, "ali", "Ali_pass_123", space_name="goldens", actions=["view", "create"])
    goldens.create("goldens", record("reaction", POST, "mine", type="like"))
    ali.create("goldens", record("reaction", POST, "first", type="like"))

    ali.create("goldens", record("reaction", POST, "second", type="love"))

    entry = goldens.get("/managed/entry/content/goldens/posts/first_post", retrieve_attachments=True).json()
    assert [
        (item["shortname"], item["attributes"]["owner_shortname"], item["attributes"]["type"])
        for item in entry["attachments"]["reaction"]
    ] == [("mine", "dmart", "like"), ("second", "ali", "love")]
    assert entry["reaction_counts"] == {"like": 1, "love": 1}


def test_a_share_records_who_shared_with_its_message_and_target(goldens: Api) -> None:
    target = {"type": "user", "space_name": "management", "subpath": "users", "shortname": "dmart"}

    answer = goldens.create("goldens", record("share", POST, "share1", body="Have a look", target=target))

    attributes = answer["records"][0]["attributes"]
    assert (attributes["owner_shortname"], attributes["body"], attributes["target"]["shortname"]) == (
        "dmart",
        "Have a look",
        "dmart",
    )


def test_a_relationship_updated_to_point_to_a_missing_entry_is_refused(goldens: Api) -> None:
    posts = {"type": "folder", "space_name": "goldens", "subpath": "/", "shortname": "posts"}
    goldens.create("goldens", record("relationship", POST, "rel", related_to=posts))
    gone = {**posts, "shortname": "gone"}

    response = goldens.request("goldens", "update", record("relationship", POST, "rel", related_to=gone))

    assert failed_code(response) == 220
    stored = goldens.get("/managed/entry/relationship/goldens/posts/first_post/rel").json()
    assert stored["related_to"]["shortname"] == "posts"
