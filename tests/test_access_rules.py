"""Each rule of the access model, with one allowed and one refused request (contract §8)."""

import pytest
from starlette.testclient import TestClient

from tests.utils.factories import Api, json_payload, record
from tests.utils.people import failed_codes, group, permission, role, sign_in, user

SHOP = "shop"


@pytest.fixture
def bob(admin: Api, client: TestClient) -> Api:
    """User bob with role `tester`, in a shop whose permissions exercise every rule."""
    admin.space(SHOP, "products", "drafts", "vault", "lobby", "people")
    for name in ("bob", "carol"):
        admin.create(SHOP, record("folder", "people", name, is_active=True))
        admin.create(SHOP, record("folder", f"people/{name}", "inbox", is_active=True))
    admin.create(
        "management",
        permission("own_products", {SHOP: ["products"]}, ["content"], ["view", "update", "delete"], conditions=["own"]),
        permission(
            "active_drafts", {SHOP: ["/drafts/"]}, ["content", "comment"], ["view", "query"], conditions=["is_active"]
        ),
        permission(
            "create_products",
            {SHOP: ["products"]},
            ["content"],
            ["create"],
            restricted_fields=["payload.body.price"],
            allowed_fields_values={"payload.body.status": ["draft", "review"], "tags": [["a", "b"]]},
        ),
        permission("own_folder", {SHOP: ["people/__current_user__"]}, ["content"], ["create", "view"]),
        permission("any_inbox", {SHOP: ["people/__all_subpaths__/inbox"]}, ["content"], ["create"]),
        permission("vault_view", {SHOP: ["vault"]}, ["content"], ["view"], is_active=False),
        permission("world", {SHOP: ["lobby"]}, ["content"], ["view"]),
        permission("vault_by_group", {SHOP: ["vault"]}, ["content"], ["view"]),
        role(
            "tester",
            "own_products",
            "active_drafts",
            "create_products",
            "own_folder",
            "any_inbox",
            "vault_view",
        ),
        role("vault_reader", "vault_by_group"),
        group("readers", "vault_reader"),
        user("bob", "tester"),
    )
    return sign_in(client, "bob")


def content(subpath: str, shortname: str, **attributes: object) -> dict[str, object]:
    return record("content", subpath, shortname, **{"is_active": True, **attributes})


def test_own_condition_lets_the_owner_update_and_refuses_others(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("products", "mine"), content("products", "theirs"))
    admin.request(SHOP, "assign", record("content", "products", "mine", owner_shortname="bob"))

    allowed = bob.request(SHOP, "update", record("content", "products", "mine", tags=["a"]))
    refused = bob.request(SHOP, "update", record("content", "products", "theirs", tags=["a"]))

    assert allowed.status_code == 200, allowed.text
    assert failed_codes(refused) == [401]
    assert admin.get(f"/managed/entry/content/{SHOP}/products/theirs").json()["tags"] == []


def test_is_active_condition_shows_active_entries_only(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("drafts", "live"), content("drafts", "hidden", is_active=False))

    assert bob.get(f"/managed/entry/content/{SHOP}/drafts/live").status_code == 200
    refused = bob.get(f"/managed/entry/content/{SHOP}/drafts/hidden")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == 401


def test_entry_view_lists_only_the_attachments_the_caller_may_view(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("drafts", "live"))
    admin.create(
        SHOP,
        record("comment", "drafts/live", "shown", is_active=True, body="visible"),
        record("comment", "drafts/live", "unshown", is_active=False, body="inactive"),
        record("reply", "drafts/live", "answer", is_active=True, body="no permission for replies"),
    )

    attachments = bob.get(f"/managed/entry/content/{SHOP}/drafts/live", retrieve_attachments=True).json()["attachments"]
    everything = admin.get(f"/managed/entry/content/{SHOP}/drafts/live", retrieve_attachments=True).json()[
        "attachments"
    ]

    assert {kind: [item["shortname"] for item in items] for kind, items in attachments.items()} == {
        "comment": ["shown"]
    }
    assert sorted(item["shortname"] for item in everything["comment"]) == ["shown", "unshown"]
    assert [item["shortname"] for item in everything["reply"]] == ["answer"]


def test_restricted_field_refuses_a_create_that_sets_it(bob: Api) -> None:
    allowed = bob.request(SHOP, "create", content("products", "plain", payload=json_payload({"name": "pen"})))
    refused = bob.request(
        SHOP, "create", content("products", "priced", payload=json_payload({"name": "pen", "price": 3}))
    )

    assert allowed.status_code == 200, allowed.text
    assert failed_codes(refused) == [401]


def test_allowed_field_value_accepts_listed_values_only(bob: Api) -> None:
    allowed = bob.request(SHOP, "create", content("products", "draft", payload=json_payload({"status": "draft"})))
    refused = bob.request(SHOP, "create", content("products", "live", payload=json_payload({"status": "published"})))

    assert allowed.status_code == 200, allowed.text
    assert failed_codes(refused) == [401]


def test_allowed_list_value_must_fit_inside_one_allowed_list(bob: Api) -> None:
    allowed = bob.request(SHOP, "create", content("products", "tagged", tags=["b", "a"]))
    refused = bob.request(SHOP, "create", content("products", "overtagged", tags=["a", "c"]))

    assert allowed.status_code == 200, allowed.text
    assert failed_codes(refused) == [401]


def test_entry_acl_grants_the_listed_actions_to_the_listed_user(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("vault", "shared"), content("vault", "secret"))
    acl = [{"user_shortname": "bob", "allowed_actions": ["view"]}]
    assert admin.request(SHOP, "update_acl", record("content", "vault", "shared", acl=acl)).status_code == 200

    assert bob.get(f"/managed/entry/content/{SHOP}/vault/shared").status_code == 200
    assert bob.get(f"/managed/entry/content/{SHOP}/vault/secret").status_code == 401
    assert failed_codes(bob.request(SHOP, "delete", record("content", "vault", "shared"))) == [401]


def test_inactive_permission_grants_nothing(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("vault", "secret"))

    assert bob.get(f"/managed/entry/content/{SHOP}/vault/secret").status_code == 401


def test_role_given_through_a_group_counts_at_once(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("vault", "secret"))
    assert bob.get(f"/managed/entry/content/{SHOP}/vault/secret").status_code == 401

    joined = admin.request("management", "update", record("user", "users", "bob", groups=["readers"]))

    assert joined.status_code == 200, joined.text
    assert bob.get(f"/managed/entry/content/{SHOP}/vault/secret").status_code == 200


def test_world_permission_is_added_to_every_role(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("lobby", "notice"))
    assert bob.get(f"/managed/entry/content/{SHOP}/lobby/notice").status_code == 200

    off = admin.request("management", "update", record("permission", "permissions", "world", is_active=False))

    assert off.status_code == 200, off.text
    assert bob.get(f"/managed/entry/content/{SHOP}/lobby/notice").status_code == 401


def test_current_user_word_means_the_callers_own_folder(bob: Api) -> None:
    allowed = bob.request(SHOP, "create", content("people/bob", "note"))
    refused = bob.request(SHOP, "create", content("people/carol", "note"))

    assert allowed.status_code == 200, allowed.text
    assert failed_codes(refused) == [401]


def test_all_subpaths_word_matches_one_segment_of_the_path(bob: Api) -> None:
    allowed = bob.request(SHOP, "create", content("people/carol/inbox", "letter"))
    refused = bob.request(SHOP, "create", content("drafts", "letter"))

    assert allowed.status_code == 200, allowed.text
    assert failed_codes(refused) == [401]


def test_permission_on_a_folder_covers_its_subfolders(admin: Api, bob: Api) -> None:
    admin.create(SHOP, record("folder", "drafts", "deep", is_active=True))
    admin.create(SHOP, content("drafts/deep", "inner"), content("vault", "inner"))

    assert bob.get(f"/managed/entry/content/{SHOP}/drafts/deep/inner").status_code == 200
    assert bob.get(f"/managed/entry/content/{SHOP}/vault/inner").status_code == 401


def test_payload_route_needs_view(admin: Api, bob: Api) -> None:
    admin.create(
        SHOP,
        content("drafts", "live", payload=json_payload({"a": 1})),
        content("vault", "closed", payload=json_payload({"a": 2})),
    )

    allowed = bob.get(f"/managed/payload/content/{SHOP}/drafts/live.json")
    refused = bob.get(f"/managed/payload/content/{SHOP}/vault/closed.json")

    assert allowed.json() == {"status": "success", "attributes": {"a": 1}}
    assert refused.status_code == 401


def test_refused_delete_changes_nothing(admin: Api, bob: Api) -> None:
    admin.create(SHOP, content("products", "theirs"))

    assert failed_codes(bob.request(SHOP, "delete", record("content", "products", "theirs"))) == [401]
    assert admin.get(f"/managed/entry/content/{SHOP}/products/theirs").status_code == 200


def test_query_needs_a_query_permission_at_the_subpath_or_above(client: TestClient, bob: Api) -> None:
    access = client.app.state.services.access  # type: ignore[attr-defined]

    assert access.may_query("bob", space_name=SHOP, subpath="drafts/deep") is True
    assert access.may_query("bob", space_name=SHOP, subpath="vault") is False
    assert access.may_query("dmart", space_name=SHOP, subpath="vault") is True
