"""The seven record attachments: good input stored and read back, bad input refused exactly."""

from typing import Any

import pytest

from tests.utils.factories import Api, json_payload, record

SPACE = "dmart_data"
PARENT = "posts/entry1"


@pytest.fixture
def api(admin: Api) -> Api:
    """The admin, with a space, a folder and a content entry to attach things to."""
    admin.space(SPACE, "posts")
    admin.create(SPACE, record("content", "posts", "entry1", is_active=True, payload=json_payload({"a": 1})))
    return admin


def attachments(api: Api, **params: Any) -> dict[str, Any]:
    """The parent's attachments, grouped by kind."""
    response = api.get(f"/managed/entry/content/{SPACE}/{PARENT}", retrieve_attachments=True, **params)
    assert response.status_code == 200, response.text
    grouped: dict[str, Any] = response.json()["attachments"]
    return grouped


def only(api: Api, kind: str, **params: Any) -> dict[str, Any]:
    """The single attachment of `kind` on the parent."""
    found = attachments(api, **params)[kind]
    assert len(found) == 1
    item: dict[str, Any] = found[0]
    return item


def refused(api: Api, *records: dict[str, Any]) -> dict[str, Any]:
    """Send a create that must fail; answer its error object."""
    response = api.request(SPACE, "create", *records)
    assert response.status_code in (400, 404, 422), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == "failed"
    error: dict[str, Any] = body["error"]
    error["http"] = response.status_code
    return error


def failed_code(error: dict[str, Any]) -> int:
    """The inner error code of a one-record partial failure."""
    assert (error["http"], error["code"], error["message"]) == (400, 430, "Something went wrong")
    assert error["info"][0]["successfull"] == []
    [item] = error["info"][0]["failed"]
    code: int = item["error_code"]
    return code


def test_comment_in_the_users_form_keeps_body_and_tags(api: Api) -> None:
    api.create(SPACE, record("comment", PARENT, "c1", is_active=True, tags=["one", "two"], body="Nice", state="new"))

    comment = only(api, "comment")

    assert comment["shortname"] == "c1"
    assert comment["attributes"]["tags"] == ["one", "two"]
    assert comment["attributes"]["body"] == "Nice"
    assert comment["attributes"]["state"] == "new"
    assert comment["attributes"]["payload"]["content_type"] == "comment"
    assert comment["attributes"]["payload"]["body"] == {"body": "Nice", "state": "new"}


def test_comment_in_the_payload_form_is_stored_the_same_way(api: Api) -> None:
    text = {"body": "In a payload", "state": "commented"}
    api.create(
        SPACE, record("comment", PARENT, "c2", is_active=True, payload={"content_type": "comment", "body": text})
    )

    comment = only(api, "comment")

    assert comment["attributes"]["payload"]["body"] == text
    assert comment["attributes"]["body"] == "In a payload"


def test_comment_without_body_is_refused_naming_the_field(api: Api) -> None:
    error = refused(api, record("comment", PARENT, "c3", is_active=True, state="new"))

    assert (error["http"], error["type"], error["code"]) == (422, "validation", 422)
    assert [item["loc"] for item in error["info"]] == [["attributes", "body"]]
    assert attachments(api) == {}


def test_reply_to_a_comment_of_the_same_entry(api: Api) -> None:
    api.create(SPACE, record("comment", PARENT, "c1", body="Nice"))
    api.create(SPACE, record("reply", PARENT, "r1", body="Thanks", in_reply_to="c1"))

    reply = only(api, "reply")

    assert reply["attributes"]["payload"]["body"] == {"body": "Thanks", "in_reply_to": "c1"}
    assert reply["attributes"]["in_reply_to"] == "c1"


def test_reply_to_a_missing_comment_is_refused(api: Api) -> None:
    error = refused(api, record("reply", PARENT, "r1", body="Thanks", in_reply_to="nothing"))

    assert failed_code(error) == 220
    assert error["info"][0]["failed"][0]["error"] == "The comment nothing this reply answers does not exist"
    assert attachments(api) == {}


def test_reaction_of_a_known_type(api: Api) -> None:
    api.create(SPACE, record("reaction", PARENT, "like1", is_active=True, type="like"))

    reaction = only(api, "reaction")

    assert reaction["attributes"]["payload"]["content_type"] == "reaction"
    assert reaction["attributes"]["payload"]["body"] == {"type": "like"}
    assert reaction["attributes"]["type"] == "like"


def test_reaction_of_an_unknown_type_is_refused(api: Api) -> None:
    error = refused(api, record("reaction", PARENT, "meh1", type="meh"))

    assert (error["http"], error["type"], error["code"]) == (422, "validation", 422)
    assert [(item["type"], item["loc"]) for item in error["info"]] == [("enum", ["attributes", "type"])]
    assert attachments(api) == {}


def test_share_keeps_its_message(api: Api) -> None:
    api.create(SPACE, record("share", PARENT, "s1", is_active=True, body="shared with alibaba"))

    share = only(api, "share", retrieve_json_payload=True)

    assert share["attributes"]["payload"]["body"] == {"body": "shared with alibaba"}
    assert share["attributes"]["body"] == "shared with alibaba"


def test_json_attachment_body_is_read_back_exactly(api: Api) -> None:
    body = {"score": 7, "tags": ["x"], "nested": {"ok": True}, "text": "عربي"}
    api.create(SPACE, record("json", PARENT, "j1", is_active=True, payload=json_payload(body)))

    listed = only(api, "json", retrieve_json_payload=True)
    payload = api.get(f"/managed/payload/json/{SPACE}/{PARENT}/j1.json").json()

    assert listed["attributes"]["payload"]["body"] == body
    assert payload == {"status": "success", "attributes": body}


def test_json_attachment_with_a_scalar_body_is_refused(api: Api) -> None:
    error = refused(api, record("json", PARENT, "j2", payload=json_payload("just text")))

    assert failed_code(error) == 402
    assert attachments(api) == {}


def test_relationship_to_an_existing_entry(api: Api) -> None:
    target = {"type": "folder", "space_name": SPACE, "subpath": "/", "shortname": "posts"}
    api.create(SPACE, record("relationship", PARENT, "rel1", related_to=target, attributes={"kind": "parent"}))

    relationship = only(api, "relationship")

    assert relationship["attributes"]["related_to"]["shortname"] == "posts"
    assert relationship["attributes"]["related_to"]["type"] == "folder"
    assert relationship["attributes"]["attributes"] == {"kind": "parent"}


def test_relationship_to_a_missing_entry_is_refused(api: Api) -> None:
    target = {"type": "content", "space_name": SPACE, "subpath": "posts", "shortname": "ghost"}
    error = refused(api, record("relationship", PARENT, "rel2", related_to=target))

    assert failed_code(error) == 220
    assert error["info"][0]["failed"][0]["error"] == "The related content dmart_data/posts/ghost does not exist"
    assert attachments(api) == {}


def test_relationship_without_related_to_is_refused(api: Api) -> None:
    error = refused(api, record("relationship", PARENT, "rel3", attributes={"kind": "x"}))

    assert (error["http"], error["code"]) == (422, 422)
    assert [item["loc"] for item in error["info"]] == [["attributes", "related_to"]]


def test_alteration_keeps_its_requested_update(api: Api) -> None:
    change = {"a": 2, "nested": {"ok": False}}
    api.create(SPACE, record("alteration", PARENT, "alt1", is_active=True, requested_update=change))

    alteration = only(api, "alteration")

    assert alteration["attributes"]["requested_update"] == change


def test_alteration_without_requested_update_is_refused(api: Api) -> None:
    error = refused(api, record("alteration", PARENT, "alt2", is_active=True))

    assert (error["http"], error["type"], error["code"], error["message"]) == (
        422,
        "validation",
        422,
        "Validation error [2]",
    )
    assert [(item["type"], item["loc"]) for item in error["info"]] == [("missing", ["attributes", "requested_update"])]
    assert attachments(api) == {}


@pytest.mark.parametrize("kind", ["lock", "media", "csv"])
def test_locks_and_files_cannot_be_created_as_records(api: Api, kind: str) -> None:
    error = refused(api, record(kind, PARENT, "x1", is_active=True))

    assert failed_code(error) == 219
    assert attachments(api) == {}


def test_attachment_of_a_missing_parent_is_refused(api: Api) -> None:
    error = refused(api, record("comment", "posts/ghost", "c1", body="Nice"))

    assert failed_code(error) == 220


def test_attachment_shortname_is_unique_across_kinds(api: Api) -> None:
    api.create(SPACE, record("comment", PARENT, "same", body="Nice"))

    error = refused(api, record("reaction", PARENT, "same", type="like"))

    assert failed_code(error) == 400
    assert list(attachments(api)) == ["comment"]


def test_filter_attachments_types_keeps_only_the_named_kinds(api: Api) -> None:
    api.create(SPACE, record("comment", PARENT, "c1", body="Nice"))
    api.create(SPACE, record("reaction", PARENT, "like1", type="like"))

    assert sorted(attachments(api)) == ["comment", "reaction"]
    assert list(attachments(api, filter_attachments_types=["reaction"])) == ["reaction"]


def test_comment_update_merges_its_text(api: Api) -> None:
    api.create(SPACE, record("comment", PARENT, "c1", body="Nice", state="new"))

    response = api.request(SPACE, "update", record("comment", PARENT, "c1", state="edited"))

    assert response.status_code == 200, response.text
    assert only(api, "comment")["attributes"]["payload"]["body"] == {"body": "Nice", "state": "edited"}


def test_deleting_an_attachment_removes_only_it(api: Api) -> None:
    api.create(SPACE, record("comment", PARENT, "c1", body="Nice"))
    api.create(SPACE, record("comment", PARENT, "c2", body="Also nice"))

    response = api.request(SPACE, "delete", record("comment", PARENT, "c1"))

    assert response.status_code == 200, response.text
    assert [item["shortname"] for item in attachments(api)["comment"]] == ["c2"]


def test_updates_keep_references_valid(api: Api) -> None:
    api.create(SPACE, record("comment", PARENT, "c1", body="Nice"))
    api.create(SPACE, record("reply", PARENT, "r1", body="Thanks", in_reply_to="c1"))
    target = {"type": "content", "space_name": SPACE, "subpath": "posts", "shortname": "entry1"}
    api.create(SPACE, record("relationship", PARENT, "rel1", related_to=target))

    reply = api.request(SPACE, "update", record("reply", PARENT, "r1", in_reply_to="ghost"))
    relationship = api.request(
        SPACE, "update", record("relationship", PARENT, "rel1", related_to={**target, "shortname": "ghost"})
    )

    assert [
        (answer.status_code, answer.json()["error"]["info"][0]["failed"][0]["error_code"])
        for answer in (reply, relationship)
    ] == [(400, 220), (400, 220)]
    grouped = attachments(api)
    assert grouped["reply"][0]["attributes"]["in_reply_to"] == "c1"
    assert grouped["relationship"][0]["attributes"]["related_to"]["shortname"] == "entry1"


@pytest.mark.parametrize(
    ("kind", "payload", "text"),
    [
        ("comment", {"content_type": "comment", "body": "stale remark"}, {"body": "stale remark"}),
        ("reaction", {"content_type": "reaction", "body": "love"}, {"type": "love"}),
    ],
)
def test_a_bare_text_payload_body_is_the_text(api: Api, kind: str, payload: dict[str, Any], text: Any) -> None:
    api.create(SPACE, record(kind, PARENT, "t1", payload=payload))

    assert only(api, kind)["attributes"]["payload"]["body"] == text
