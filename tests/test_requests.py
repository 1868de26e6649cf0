"""POST /managed/request: create, update, patch and delete, and the errors of contract §1.2."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SHARED
from tests.utils.factories import Api, json_payload, record, request_body
from tests.utils.handed import CASES

GOLDENS = SHARED / "goldens" / "dmart-1.6.0"
SPACE = "demo"


@pytest.fixture
def api(admin: Api) -> Api:
    """The admin with the space `demo` and its folder `notes`."""
    admin.space(SPACE, "notes")
    return admin


def golden(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(next(GOLDENS.glob(f"{name}-*.json")).read_text())
    return loaded


def entry(api: Api, shortname: str, **params: Any) -> Any:
    return api.get(f"/managed/entry/content/{SPACE}/notes/{shortname}", **params)


def test_comment_in_the_users_form_keeps_its_body_and_tags(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "entry1", is_active=True, payload=json_payload({"a": 1})))

    answer = api.create(
        SPACE,
        record("comment", "notes/entry1", "my_comment", is_active=True, tags=["one", "two"], body="Very Intersting"),
    )

    attributes = answer["records"][0]["attributes"]
    assert attributes["body"] == "Very Intersting"
    assert attributes["payload"] == {
        "content_type": "comment",
        "checksum": attributes["payload"]["checksum"],
        "body": {"body": "Very Intersting"},
    }


def test_create_answers_the_stored_record_like_golden_004(api: Api) -> None:
    sent = golden("004")["request"]["json"]["records"][0]
    expected = golden("004")["response"]["json"]["records"][0]

    answer = api.create(SPACE, {**sent, "subpath": "notes"})

    [stored] = answer["records"]
    assert set(stored) == set(expected)
    assert set(stored["attributes"]) == set(expected["attributes"])
    assert stored["attributes"]["payload"] == expected["attributes"]["payload"]
    assert (stored["shortname"], stored["subpath"], stored["retrieve_lock_status"]) == ("first_post", "notes", False)


def test_update_merges_the_payload_and_records_history(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "n1", payload=json_payload({"a": 1, "n": {"x": 1, "y": 2}})))

    response = api.request(
        SPACE, "update", record("content", "notes", "n1", tags=["t"], payload=json_payload({"n": {"x": None}, "b": 2}))
    )

    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["attributes"]["payload"]["body"] == {"a": 1, "n": {"y": 2}, "b": 2}
    stored = entry(api, "n1", retrieve_json_payload=True).json()
    assert stored["tags"] == ["t"]
    assert stored["payload"]["body"] == {"a": 1, "n": {"y": 2}, "b": 2}


def test_patch_merges_like_update(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "n1", payload=json_payload({"a": 1})))

    response = api.request(SPACE, "patch", record("content", "notes", "n1", payload=json_payload({"b": 2})))

    assert response.status_code == 200, response.text
    assert entry(api, "n1", retrieve_json_payload=True).json()["payload"]["body"] == {"a": 1, "b": 2}


def test_update_with_a_null_payload_keeps_the_stored_one_b03(api: Api) -> None:
    api.create(
        SPACE, record("content", "notes", "n3", is_active=True, tags=["a"], payload=json_payload({"text": "keep me"}))
    )

    response = api.request(SPACE, "update", record("content", "notes", "n3", tags=["b"], payload=None))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "success"
    stored = entry(api, "n3", retrieve_json_payload=True).json()
    assert stored["tags"] == ["b"]
    assert stored["payload"]["content_type"] == "json"
    assert stored["payload"]["body"] == {"text": "keep me"}


def test_nan_and_infinity_are_refused_and_nothing_is_written_b21(api: Api, settings: Any) -> None:
    raw = CASES["B21"]["request"]["body"]
    assert "NaN" in raw and "Infinity" in raw

    response = api.client.post(
        "/managed/request", content=raw, headers={**api.headers, "content-type": "application/json"}
    )

    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == 424
    assert response.json()["error"]["info"][0]["loc"] == ["body", "records", 0, "attributes"]
    missing = entry(api, "n21")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == 220
    assert not list(Path(settings.spaces_root, SPACE, "notes").glob("n21*"))


def test_delete_answers_the_locator_and_removes_the_entry(api: Api) -> None:
    created = api.create(SPACE, record("content", "notes", "n1", payload=json_payload({"a": 1})))

    response = api.request(SPACE, "delete", record("content", "notes", "n1"))

    assert response.status_code == 200, response.text
    [deleted] = response.json()["records"]
    assert deleted["uuid"] == created["records"][0]["uuid"]
    assert (deleted["resource_type"], deleted["subpath"], deleted["shortname"]) == ("content", "notes", "n1")
    assert entry(api, "n1").status_code == 404


def test_space_create_read_and_delete(api: Api) -> None:
    space = api.get(f"/managed/entry/space/{SPACE}/__root__/{SPACE}").json()
    assert space["shortname"] == SPACE and space["is_active"] is True
    assert api.get(f"/managed/entry/folder/{SPACE}/__root__/schema").status_code == 200

    response = api.request(SPACE, "delete", record("space", "/", SPACE))

    assert response.status_code == 200, response.text
    assert api.request(SPACE, "create", record("folder", "/", "x")).json()["error"]["code"] == 203


def test_the_management_space_cannot_be_deleted(api: Api) -> None:
    response = api.request("management", "delete", record("space", "/", "management"))

    assert response.json()["error"]["info"][0]["failed"][0]["error_code"] == 204


def test_duplicate_shortname_is_a_failed_record_like_golden_035(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "first_post", payload=json_payload({"title": "one"})))
    expected = golden("035")["response"]

    response = api.request(SPACE, "create", record("content", "notes", "first_post", payload=json_payload({"t": 2})))

    body = response.json()
    assert response.status_code == expected["status"]
    assert {key: body["error"][key] for key in ("type", "code", "message")} == {
        key: expected["json"]["error"][key] for key in ("type", "code", "message")
    }
    [failed] = body["error"]["info"][0]["failed"]
    assert (failed["error"], failed["error_code"]) == ("This shortname first_post already exists", 400)
    assert failed["record"]["shortname"] == "first_post"
    body_on_disk = entry(api, "first_post", retrieve_json_payload=True).json()["payload"]["body"]
    assert body_on_disk == {"title": "one"}


def test_partial_failure_lists_successes_and_failures(api: Api) -> None:
    api.create(SPACE, record("content", "notes", "taken"))

    response = api.request(SPACE, "create", record("content", "notes", "fresh"), record("content", "notes", "taken"))

    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["error"]["type"], body["error"]["code"]) == ("failed", "request", 430)
    assert (body["records"], body["attributes"]) == (None, None)
    [info] = body["error"]["info"]
    assert [item["shortname"] for item in info["successfull"]] == ["fresh"]
    assert [(item["record"]["shortname"], item["error_code"]) for item in info["failed"]] == [("taken", 400)]


def test_update_and_delete_failures_name_the_shortname(api: Api) -> None:
    for request_type in ("update", "delete"):
        response = api.request(SPACE, request_type, record("content", "notes", "ghost", tags=[]))

        [failed] = response.json()["error"]["info"][0]["failed"]
        assert (response.status_code, failed["record"], failed["error_code"]) == (400, "ghost", 220)


def test_missing_space_is_refused_like_golden_036(api: Api) -> None:
    expected = golden("036")["response"]

    response = api.client.post("/managed/request", json=golden("036")["request"]["json"], headers=api.headers)

    assert (response.status_code, response.json()) == (expected["status"], expected["json"])


def test_creating_an_existing_space_is_refused(api: Api) -> None:
    response = api.request(SPACE, "create", record("space", "/", SPACE))

    assert (response.status_code, response.json()["error"]["code"]) == (400, 203)


def test_empty_records_are_refused(api: Api) -> None:
    response = api.request(SPACE, "create")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "request",
        "code": 202,
        "message": "Request records cannot be empty",
        "info": None,
    }


@pytest.mark.parametrize("name", ["037", "038", "039"])
def test_request_validation_errors_match_the_goldens(api: Api, name: str) -> None:
    case = golden(name)
    sent = case["request"]
    content = sent["raw_body"] if "raw_body" in sent else json.dumps(sent["json"])

    response = api.client.post(
        "/managed/request", content=content, headers={**api.headers, "content-type": "application/json"}
    )

    assert (response.status_code, response.json()) == (case["response"]["status"], case["response"]["json"])


def test_unknown_attribute_keys_of_a_record_are_refused(api: Api) -> None:
    body = request_body(SPACE, "create", {**record("content", "notes", "n1"), "extra": 1})

    response = api.client.post("/managed/request", json=body, headers=api.headers)

    assert response.status_code == 422
    assert [item["loc"] for item in response.json()["error"]["info"]] == [["body", "records", 0, "extra"]]


def test_missing_entry_is_404_220(api: Api) -> None:
    response = entry(api, "ghost")

    assert response.status_code == 404
    assert response.json()["error"] == {
        "type": "db",
        "code": 220,
        "message": "Request object is not available @demo/notes/ghost class_type=content",
        "info": None,
    }


def test_entry_in_a_missing_folder_is_refused(api: Api) -> None:
    response = api.request(SPACE, "create", record("content", "nowhere", "n1"))

    assert response.json()["error"]["info"][0]["failed"][0]["error_code"] == 220


def test_payload_against_a_schema(api: Api) -> None:
    document = {
        "type": "object",
        "title": "note",
        "properties": {"title": {"type": "string"}, "n": {"type": "integer"}},
        "required": ["title"],
    }
    api.create(SPACE, record("schema", "schema", "note", is_active=True, payload=json_payload(document)))
    api.create(SPACE, record("content", "notes", "ok", payload=json_payload({"title": "x"}, schema_shortname="note")))

    response = api.request(
        SPACE, "create", record("content", "notes", "bad", payload=json_payload({"n": "x"}, schema_shortname="note"))
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "validation",
        "code": 422,
        "message": "Validation error [3]",
        "info": [
            {"loc": [], "msg": "'title' is a required property"},
            {"loc": ["n"], "msg": "'x' is not of type 'integer'"},
        ],
    }
    assert entry(api, "bad").status_code == 404
    update = api.request(
        SPACE, "update", record("content", "notes", "ok", payload=json_payload({"n": "x"}, schema_shortname="note"))
    )
    assert (update.status_code, update.json()["error"]["code"]) == (400, 422)
    assert entry(api, "ok", retrieve_json_payload=True).json()["payload"]["body"] == {"title": "x"}


def test_a_schema_must_be_valid_json_schema(api: Api) -> None:
    response = api.request(
        SPACE, "create", record("schema", "schema", "broken", payload=json_payload({"type": "no_such_type"}))
    )

    assert (response.status_code, response.json()["error"]["message"]) == (400, "Validation error [3]")
    assert api.get(f"/managed/entry/schema/{SPACE}/schema/broken").status_code == 404


def test_a_space_record_must_name_its_own_space(api: Api) -> None:
    deleted = api.request(SPACE, "delete", record("space", "/", "other"))
    read = api.get(f"/managed/entry/space/{SPACE}/__root__/other")

    assert deleted.json()["error"]["info"][0]["failed"][0]["error_code"] == 220
    assert (read.status_code, read.json()["error"]["code"]) == (404, 220)
    assert api.get(f"/managed/entry/space/{SPACE}/__root__/{SPACE}").status_code == 200
