"""POST /managed/request: create, update, patch and delete through the API."""

from tests.utils.factories import Api, json_payload, record


def test_comment_in_the_users_form_keeps_its_body_and_tags(admin: Api) -> None:
    admin.space("dmart_data", "posts")
    admin.create("dmart_data", record("content", "posts", "entry1", is_active=True, payload=json_payload({"a": 1})))

    answer = admin.create(
        "dmart_data",
        record(
            "comment", "posts/entry1", "my_comment", is_active=True, tags=["one", "two"], body="Very Intersting entry"
        ),
    )

    attributes = answer["records"][0]["attributes"]
    assert attributes["body"] == "Very Intersting entry"
    assert attributes["payload"] == {
        "content_type": "comment",
        "checksum": attributes["payload"]["checksum"],
        "body": {"body": "Very Intersting entry"},
    }
    entry = admin.get("/managed/entry/content/dmart_data/posts/entry1", retrieve_attachments=True).json()
    comment = entry["attachments"]["comment"][0]
    assert comment["shortname"] == "my_comment"
    assert comment["attributes"]["tags"] == ["one", "two"]
    assert comment["attributes"]["body"] == "Very Intersting entry"
