"""What `dmart` and `alibaba` may do on a copy of the Dmart sample tree, route by route (goldens 007-014, 046)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from tests.conftest import make_settings
from tests.utils.factories import Api, record
from tests.utils.people import failed_codes, sign_in

DMART_PASSWORD = "Dmart_pass_123"
ALIBABA_PASSWORD = "Alibaba_pass_123"
# The resource types of the sample's super_manager permission (golden 010).
SUPER_MANAGER_TYPES = [
    "schema",
    "comment",
    "space",
    "content",
    "log",
    "acl",
    "history",
    "json",
    "group",
    "media",
    "permission",
    "alteration",
    "user",
    "notification",
    "relationship",
    "locator",
    "role",
    "post",
    "folder",
    "ticket",
    "jsonl",
    "csv",
    "sqlite",
    "parquet",
    "duckdb",
]


@pytest.fixture
def sample_client(sample_spaces: Path) -> Iterator[TestClient]:
    app = create_app(make_settings(sample_spaces))
    with TestClient(app) as client:
        app.state.services.auth.set_password("dmart", DMART_PASSWORD)
        app.state.services.auth.set_password("alibaba", ALIBABA_PASSWORD)
        yield client


@pytest.fixture
def dmart(sample_client: TestClient) -> Api:
    return sign_in(sample_client, "dmart", DMART_PASSWORD)


@pytest.fixture
def alibaba(sample_client: TestClient) -> Api:
    return sign_in(sample_client, "alibaba", ALIBABA_PASSWORD)


@pytest.fixture
def first_post(dmart: Api) -> None:
    """The goldens' space, folder and post, created by dmart through the sample's permissions."""
    dmart.space("goldens", "posts")
    dmart.create("goldens", record("content", "posts", "first_post", is_active=True))


def super_manager(*extra_types: str) -> dict[str, Any]:
    """The update that golden 011 sends (with `extra_types`) and golden 046 sends (without)."""
    return record(
        "permission",
        "permissions",
        "super_manager",
        is_active=True,
        subpaths={"__all_spaces__": ["__all_subpaths__"]},
        resource_types=[*SUPER_MANAGER_TYPES, *extra_types],
        actions=["delete", "update", "query", "create", "view", "attach"],
        conditions=[],
        restricted_fields=[],
        allowed_fields_values={},
    )


def attachments(subpath: str) -> list[dict[str, Any]]:
    return [
        record("reply", subpath, "reply1", is_active=True, body="A reply to the comment"),
        record("reaction", subpath, "reaction1", is_active=True, type="like"),
        record("share", subpath, "share1", is_active=True, body="shared with alibaba"),
    ]


@pytest.mark.usefixtures("first_post")
def test_dmart_may_comment_but_not_reply_react_or_share(dmart: Api) -> None:
    comment = dmart.request("goldens", "create", record("comment", "posts/first_post", "c1", is_active=True, body="x"))

    assert comment.status_code == 200, comment.text
    for one in attachments("posts/first_post"):
        response = dmart.request("goldens", "create", one)
        assert failed_codes(response) == [401]
        assert response.json()["error"]["info"][0]["failed"][0]["error"].startswith(
            "You don't have permission to this action"
        )


@pytest.mark.usefixtures("first_post")
def test_granting_reply_reaction_share_takes_effect_at_once_and_restoring_removes_it(dmart: Api) -> None:
    granted = dmart.request("management", "update", super_manager("reply", "reaction", "share"))
    assert granted.status_code == 200, granted.text

    for one in attachments("posts/first_post"):
        assert dmart.request("goldens", "create", one).status_code == 200

    restored = dmart.request("management", "update", super_manager())
    assert restored.status_code == 200, restored.text
    again = record("reply", "posts/first_post", "reply2", is_active=True, body="again")
    assert failed_codes(dmart.request("goldens", "create", again)) == [401]


def test_a_grant_through_one_worker_holds_on_another(sample_spaces: Path, sample_client: TestClient) -> None:
    dmart = sign_in(sample_client, "dmart", DMART_PASSWORD)
    dmart.space("goldens", "posts")
    dmart.create("goldens", record("content", "posts", "first_post", is_active=True))
    with TestClient(create_app(make_settings(sample_spaces))) as other_worker:
        other = sign_in(other_worker, "dmart", DMART_PASSWORD)
        reply = attachments("posts/first_post")[0]
        assert failed_codes(other.request("goldens", "create", reply)) == [401]

        dmart.request("management", "update", super_manager("reply"))

        assert other.request("goldens", "create", reply).status_code == 200


def test_both_super_admins_read_the_admin_permission(dmart: Api, alibaba: Api) -> None:
    for user in (dmart, alibaba):
        entry = user.get("/managed/entry/permission/management/permissions/super_manager").json()
        assert entry["resource_types"] == SUPER_MANAGER_TYPES
        assert entry["actions"] == ["delete", "update", "query", "create", "view", "attach"]


def test_only_the_admin_reloads_security_data(dmart: Api, alibaba: Api) -> None:
    assert dmart.get("/managed/reload-security-data").json() == {"status": "success"}
    refused = alibaba.get("/managed/reload-security-data")
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == 401


def test_alibaba_without_roles_keeps_only_the_logged_in_role(dmart: Api, sample_client: TestClient) -> None:
    demoted = dmart.request("management", "update", record("user", "users", "alibaba", roles=[]))
    assert demoted.status_code == 200, demoted.text
    dmart.create("personal", record("folder", "people", "alibaba", is_active=True))
    dmart.create("personal", record("folder", "people/alibaba", "private", is_active=True))
    alibaba = sign_in(sample_client, "alibaba", ALIBABA_PASSWORD)

    # access_protected: every person's protected folder may be viewed; access_personal: only one's own.
    assert alibaba.get("/managed/entry/content/personal/people/dmart/protected/avatar").status_code == 200
    assert alibaba.get("/managed/entry/content/personal/people/dmart/private/inner").status_code == 401
    own = alibaba.request("personal", "create", record("content", "people/alibaba/private", "diary", is_active=True))
    assert own.status_code == 200, own.text
    other = alibaba.request("personal", "create", record("content", "people/dmart/private", "diary", is_active=True))
    assert failed_codes(other) == [401]
    # access_messages: anyone may leave a message in a person's messages folder.
    message = record("content", "people/dmart/messages", "hello", is_active=True)
    assert alibaba.request("personal", "create", message).status_code == 200
    # Nothing in the logged_in role touches the management space.
    assert alibaba.get("/managed/entry/permission/management/permissions/super_manager").status_code == 401
    assert failed_codes(alibaba.request("management", "update", super_manager("reply"))) == [401]


def test_profile_and_permissions_route_show_the_computed_map(dmart: Api, sample_client: TestClient) -> None:
    dmart.request("management", "update", record("user", "users", "alibaba", roles=[]))
    alibaba = sign_in(sample_client, "alibaba", ALIBABA_PASSWORD)

    profile = alibaba.get("/user/profile").json()["records"][0]["attributes"]
    listed = alibaba.get("/user/permissions").json()["attributes"]["permissions"]

    assert profile["permissions"] == listed
    assert profile["roles"] == []
    assert listed["personal:people/alibaba/private:content"] == {
        "allowed_actions": ["query", "view", "create", "update", "delete"],
        "conditions": [],
        "restricted_fields": [],
        "allowed_fields_values": {},
    }
    assert listed["personal:people/__all_subpaths__/messages:content"]["allowed_actions"] == ["create"]
    assert listed["personal:people/__all_subpaths__/messages:content"]["conditions"] == ["own"]
    # The world permission joins every role.
    assert listed["applications:translations:folder"]["conditions"] == ["is_active"]
    assert not any(key.startswith("__all_spaces__") for key in listed)
    admin_map = dmart.get("/user/permissions").json()["attributes"]["permissions"]
    assert "__all_spaces__:__all_subpaths__:content" in admin_map
    assert "__all_spaces__:__all_subpaths__:reply" not in admin_map
