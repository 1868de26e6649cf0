"""The update_acl and assign request types (contract §3.2.3-4)."""

import json
from pathlib import Path

from dmart_attach.config import Settings
from tests.utils.factories import Api, record
from tests.utils.people import failed_codes, permission, role, sign_in, user

ACL = [{"user_shortname": "bob", "allowed_actions": ["view", "update"]}]


def history(settings: Settings, space: str, subpath: str, shortname: str) -> list[dict[str, object]]:
    path = Path(settings.spaces_folder) / space / subpath / ".dm" / shortname / "history.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_update_acl_replaces_the_acl_and_records_it(admin: Api, settings: Settings) -> None:
    admin.space("shop", "products")
    admin.create("shop", record("content", "products", "pen", is_active=True))

    response = admin.request("shop", "update_acl", record("content", "products", "pen", acl=ACL))

    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["attributes"]["acl"] == ACL
    assert admin.get("/managed/entry/content/shop/products/pen").json()["acl"] == ACL
    assert history(settings, "shop", "products", "pen")[-1]["diff"] == {"acl": {"old": "null", "new": ACL}}


def test_update_acl_without_acl_is_a_failed_record(admin: Api) -> None:
    admin.space("shop", "products")
    admin.create("shop", record("content", "products", "pen", is_active=True))

    assert failed_codes(admin.request("shop", "update_acl", record("content", "products", "pen"))) == [202]


def test_assign_gives_the_entry_to_an_existing_user(admin: Api, settings: Settings) -> None:
    admin.space("shop", "products")
    admin.create("shop", record("content", "products", "pen", is_active=True))
    admin.create("management", user("bob"))

    response = admin.request("shop", "assign", record("content", "products", "pen", owner_shortname="bob"))

    assert response.status_code == 200, response.text
    assert admin.get("/managed/entry/content/shop/products/pen").json()["owner_shortname"] == "bob"
    assert history(settings, "shop", "products", "pen")[-1]["diff"] == {
        "owner_shortname": {"old": "dmart", "new": "bob"}
    }


def test_assign_needs_an_existing_owner(admin: Api) -> None:
    admin.space("shop", "products")
    admin.create("shop", record("content", "products", "pen", is_active=True))

    missing = admin.request("shop", "assign", record("content", "products", "pen"))
    unknown = admin.request("shop", "assign", record("content", "products", "pen", owner_shortname="ghost"))

    assert failed_codes(missing) == [202]
    assert failed_codes(unknown) == [220]


def test_assign_needs_the_assign_action(admin: Api) -> None:
    admin.space("shop", "products")
    admin.create("shop", record("content", "products", "pen", is_active=True))
    admin.create(
        "management",
        permission("editor", {"shop": ["products"]}, ["content"], ["view", "update"]),
        permission("assigner", {"shop": ["products"]}, ["content"], ["assign"]),
        role("editors", "editor"),
        role("assigners", "assigner"),
        user("bob", "editors"),
        user("carol", "assigners"),
    )
    bob, carol = sign_in(admin.client, "bob"), sign_in(admin.client, "carol")
    give = record("content", "products", "pen", owner_shortname="bob")

    assert failed_codes(bob.request("shop", "assign", give)) == [401]
    assert carol.request("shop", "assign", give).status_code == 200
    assert admin.get("/managed/entry/content/shop/products/pen").json()["owner_shortname"] == "bob"
