"""Reading back: GET /managed/entry and GET /managed/payload, on new entries and on the sample tree."""

from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD, login, make_settings
from tests.utils.factories import Api, json_payload, record

SPACE = "shop"
BODY = {"name": "X", "price": 5}


@pytest.fixture
def api(admin: Api) -> Api:
    admin.space(SPACE, "products")
    admin.create(SPACE, record("content", "products", "laptop", is_active=True, payload=json_payload(BODY)))
    admin.create(SPACE, record("json", "products/laptop", "spec", payload=json_payload({"ram": 16})))
    admin.create(SPACE, record("comment", "products/laptop", "c1", body="Nice"))
    return admin


def laptop(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get(f"/managed/entry/content/{SPACE}/products/laptop", **params)
    assert response.status_code == 200, response.text
    entry: dict[str, Any] = response.json()
    return entry


def test_entry_is_the_bare_meta_with_empty_attachments(api: Api) -> None:
    entry = laptop(api)

    assert "status" not in entry and "resource_type" not in entry and "subpath" not in entry
    assert entry["shortname"] == "laptop"
    assert entry["payload"]["body"] == "laptop.json"
    assert entry["attachments"] == {}
    assert None not in entry.values()


def test_retrieve_json_payload_inlines_the_body(api: Api) -> None:
    assert laptop(api, retrieve_json_payload=True)["payload"]["body"] == BODY


def test_attachments_are_grouped_by_kind_with_their_own_subpath(api: Api) -> None:
    grouped = laptop(api, retrieve_attachments=True)["attachments"]

    assert sorted(grouped) == ["comment", "json"]
    [spec] = grouped["json"]
    assert (spec["resource_type"], spec["shortname"], spec["subpath"]) == ("json", "spec", "products/laptop")
    assert spec["attributes"]["payload"]["body"] == "spec.json"
    inlined = laptop(api, retrieve_attachments=True, retrieve_json_payload=True)["attachments"]
    assert inlined["json"][0]["attributes"]["payload"]["body"] == {"ram": 16}


def test_alterations_are_listed_oldest_first(api: Api) -> None:
    for name in ("zeta", "alpha", "mid"):
        api.create(SPACE, record("alteration", "products/laptop", name, requested_update={"n": name}))

    listed = laptop(api, retrieve_attachments=True)["attachments"]["alteration"]

    assert [item["shortname"] for item in listed] == ["zeta", "alpha", "mid"]


def test_an_attachment_is_read_on_its_own(api: Api) -> None:
    comment = api.get(f"/managed/entry/comment/{SPACE}/products/laptop/c1").json()

    assert comment["shortname"] == "c1" and comment["body"] == "Nice"
    assert comment["attachments"] == {}


def test_json_payloads_come_in_the_envelope(api: Api) -> None:
    entry = api.get(f"/managed/payload/content/{SPACE}/products/laptop.json")
    attachment = api.get(f"/managed/payload/json/{SPACE}/products/laptop/spec.json")

    assert entry.json() == {"status": "success", "attributes": BODY}
    assert attachment.json() == {"status": "success", "attributes": {"ram": 16}}


def test_a_payload_url_without_its_extension_names_the_stored_payload(api: Api) -> None:
    """pydmart's `get_attachment_url` leaves the extension out unless it is given one."""
    entry = api.get(f"/managed/payload/content/{SPACE}/products/laptop")
    attachment = api.get(f"/managed/payload/json/{SPACE}/products/laptop/spec")
    comment = api.get(f"/managed/payload/comment/{SPACE}/products/laptop/c1")

    assert entry.json() == {"status": "success", "attributes": BODY}
    assert attachment.json() == {"status": "success", "attributes": {"ram": 16}}
    assert (comment.status_code, comment.json()["error"]["code"]) == (400, 220)


def test_a_payload_of_another_name_is_not_available(api: Api) -> None:
    response = api.get(f"/managed/payload/content/{SPACE}/products/laptop.png")

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "media",
        "code": 220,
        "message": "Request object is not available",
        "info": None,
    }


def test_a_payload_file_missing_on_disk_is_404_12(api: Api, settings: Settings) -> None:
    (settings.spaces_root / SPACE / "products" / "laptop.json").unlink()

    response = api.get(f"/managed/payload/content/{SPACE}/products/laptop.json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, 12)


def test_a_json_payload_file_that_cannot_be_read_is_404_12(api: Api, settings: Settings) -> None:
    (settings.spaces_root / SPACE / "products" / "laptop.json").write_bytes(b"{broken")

    response = api.get(f"/managed/payload/content/{SPACE}/products/laptop.json")

    assert (response.status_code, response.json()["error"]["code"]) == (404, 12)
    assert laptop(api, retrieve_json_payload=True)["payload"]["body"] == "laptop.json"


@pytest.mark.parametrize("broken", [b"{broken", b'{"shortname": "laptop"}'], ids=["not-json", "not-a-meta"])
def test_a_meta_broken_on_disk_is_404_12_for_reads_and_writes(api: Api, settings: Settings, broken: bytes) -> None:
    meta = settings.spaces_root / SPACE / "products" / ".dm" / "laptop" / "meta.content.json"
    meta.write_bytes(broken)
    expected = f"Request object is not available: the meta of {SPACE}/products/laptop does not parse"

    read = api.get(f"/managed/entry/content/{SPACE}/products/laptop")
    update = api.request(SPACE, "update", record("content", "products", "laptop", description={"en": "new"}))

    assert (read.status_code, read.json()["error"]) == (
        404,
        {"type": "db", "code": 12, "message": expected, "info": None},
    )
    assert update.status_code == 400, update.text
    [failed] = update.json()["error"]["info"][0]["failed"]
    assert (failed["error_code"], failed["error"]) == (12, expected)
    assert meta.read_bytes() == broken
    assert api.get(f"/managed/entry/json/{SPACE}/products/laptop/spec").status_code == 200


def test_the_sample_tree_is_read_as_it_is(sample_spaces: Path) -> None:
    settings = make_settings(sample_spaces, admin_password="")
    with TestClient(create_app(settings)) as client:
        client.app.state.services.auth.set_password("dmart", ADMIN_PASSWORD)  # type: ignore[attr-defined]
        api = Api(client, login(client, "dmart", ADMIN_PASSWORD))

        entry = api.get("/managed/entry/content/applications/api/test_by_saad", retrieve_attachments=True).json()
        picture = api.get("/managed/payload/media/applications/api/test_by_saad/warframe.png")
        user = api.get("/managed/entry/user/management/users/alibaba").json()

    [media] = entry["attachments"]["media"]
    assert media["attributes"]["payload"]["content_type"] == "image_jpeg"
    assert (picture.status_code, picture.headers["content-type"]) == (200, "image/png")
    stored = sample_spaces / "applications/api/.dm/test_by_saad/attachments.media/warframe.png"
    assert picture.content == stored.read_bytes()
    assert user["shortname"] == "alibaba" and "password" not in user
