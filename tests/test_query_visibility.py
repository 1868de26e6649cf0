"""Queries answer only what the caller's `query` permissions and the entries' ACLs let them see."""

from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.storage.index import covers
from tests.utils.factories import Api, record
from tests.utils.people import permission, role, sign_in, user

SHOP = "shop"


def query(api: Api, **body: Any) -> Any:
    response = api.client.post("/managed/query", json={"space_name": SHOP, **body}, headers=api.headers)
    assert response.status_code == 200, response.text
    return response.json()


def names(answer: Any) -> list[str]:
    return sorted(item["shortname"] for item in answer["records"])


def content(subpath: str, shortname: str, **attributes: object) -> dict[str, object]:
    return record("content", subpath, shortname, **{"is_active": True, **attributes})


@pytest.fixture
def bob(admin: Api, client: TestClient) -> Api:
    admin.space(SHOP, "products", "drafts", "lobby", "people")
    for name in ("bob", "carol"):
        admin.create(SHOP, record("folder", "people", name, is_active=True))
        admin.create(SHOP, record("folder", f"people/{name}", "inbox", is_active=True))
    admin.create(
        SHOP,
        content("products", "mine"),
        content("products", "theirs"),
        content("drafts", "on"),
        content("drafts", "off", is_active=False),
        content("people/bob/inbox", "note1"),
        content("people/carol/inbox", "note2"),
        content("people/carol", "diary"),
        content("lobby", "secret"),
        content("lobby", "public"),
    )
    admin.create(
        "management",
        permission("own_products", {SHOP: ["products"]}, ["content"], ["query", "view"], conditions=["own"]),
        permission("active_drafts", {SHOP: ["drafts"]}, ["content"], ["query"], conditions=["is_active"]),
        permission("inboxes", {SHOP: ["people/__all_subpaths__/inbox"]}, ["content"], ["query"]),
        role("reader", "own_products", "active_drafts", "inboxes"),
        user("bob", "reader"),
    )
    assigned = admin.request(SHOP, "assign", record("content", "products", "mine", owner_shortname="bob"))
    assert assigned.status_code == 200, assigned.text
    acl = [{"user_shortname": "bob", "allowed_actions": ["view"]}]
    shared = admin.request(SHOP, "update_acl", record("content", "lobby", "secret", acl=acl))
    assert shared.status_code == 200, shared.text
    return sign_in(client, "bob")


def test_a_search_of_the_whole_space_answers_only_permitted_rows(admin: Api, bob: Api) -> None:
    answer = query(bob, type="search", subpath="/", search="", limit=100)
    assert names(answer) == ["mine", "note1", "note2", "on", "secret"]
    assert answer["attributes"]["total"] == 5
    everything = names(query(admin, type="search", subpath="/", search="", filter_types=["content"], limit=100))
    assert everything == ["diary", "mine", "note1", "note2", "off", "on", "public", "secret", "theirs"]


def test_subpath_listings_and_counters_follow_the_same_rules(bob: Api) -> None:
    assert names(query(bob, type="subpath", subpath="products")) == ["mine"]
    assert names(query(bob, type="subpath", subpath="drafts")) == ["on"]
    assert names(query(bob, type="subpath", subpath="people/carol")) == []
    assert query(bob, type="counters", subpath="lobby", search="")["attributes"]["total"] == 1


def test_attachments_listed_with_records_are_only_those_the_caller_may_see(admin: Api, bob: Api) -> None:
    admin.create(SHOP, record("comment", "products/mine", "c1", is_active=True, body="private"))

    for kind in ("subpath", "search"):
        mine = query(bob, type=kind, subpath="products", retrieve_attachments=True, retrieve_json_payload=True)
        everything = query(admin, type=kind, subpath="products", retrieve_attachments=True, filter_shortnames=["mine"])
        assert [item["attachments"] for item in mine["records"]] == [{}]
        assert [item["shortname"] for item in everything["records"][0]["attachments"]["comment"]] == ["c1"]


def test_history_needs_view_on_the_entry(bob: Api) -> None:
    mine = query(bob, type="history", subpath="products", filter_shortnames=["mine"])
    theirs = query(bob, type="history", subpath="products", filter_shortnames=["theirs"])
    assert mine["attributes"]["total"] >= 1
    assert (theirs["attributes"]["total"], theirs["records"]) == (0, [])


def test_a_user_without_query_permissions_sees_nothing(admin: Api, client: TestClient) -> None:
    admin.space(SHOP, "products")
    admin.create(SHOP, content("products", "one"))
    admin.create("management", user("dora"))
    dora = sign_in(client, "dora")
    assert query(dora, type="search", subpath="/", search="")["records"] == []


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/", "/", True),
        ("*", "a/b", True),
        ("a", "a", True),
        ("a", "a/b/c", True),
        ("a", "ab", False),
        ("a/b", "a", False),
        ("people/*/inbox", "people/bob/inbox", True),
        ("people/*/inbox", "people/bob/inbox/old", True),
        ("people/*/inbox", "people/bob", False),
        ("people/*/inbox", "people/bob/outbox", False),
    ],
)
def test_covers_matches_whole_segments(pattern: str, path: str, expected: bool) -> None:
    assert covers(pattern, path) is expected
