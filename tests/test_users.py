"""Login rules and the user routes besides login: profile, password, check-existing, reset, create."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.conftest import make_settings
from tests.utils.factories import Api, json_payload, record
from tests.utils.people import PASSWORD, failed_codes, sign_in, user

NEW_PASSWORD = "Fresh_pass_456"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*") if path.is_file()}


def login_error(client: TestClient, shortname: str, password: str) -> tuple[int, dict[str, object]]:
    response = client.post("/user/login", json={"shortname": shortname, "password": password})
    return response.status_code, response.json()["error"]


INVALID_LOGIN = (401, {"type": "auth", "code": 10, "message": "Invalid username or password", "info": None})


@pytest.fixture
def bob(admin: Api, client: TestClient) -> Api:
    admin.create("management", user("bob", email="bob@example.com", msisdn="9647700000001"))
    return sign_in(client, "bob")


def stored_user(admin: Api, shortname: str) -> dict[str, object]:
    response = admin.get(f"/managed/entry/user/management/users/{shortname}")
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_inactive_user_cannot_log_in(admin: Api, client: TestClient) -> None:
    admin.create("management", user("sleepy", is_active=False))

    assert login_error(client, "sleepy", PASSWORD) == INVALID_LOGIN


def test_every_login_failure_is_the_same_401(bob: Api, client: TestClient) -> None:
    assert login_error(client, "bob", "Wrong_pass_1") == INVALID_LOGIN
    assert login_error(client, "nobody", PASSWORD) == INVALID_LOGIN


@pytest.fixture
def strict_client(empty_spaces: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(empty_spaces, max_failed_login_attempts=3))) as test_client:
        yield test_client


def test_failed_logins_deactivate_the_account_at_the_maximum(strict_client: TestClient) -> None:
    admin = sign_in(strict_client, "dmart", "Admin_pass_123")
    admin.create("management", user("bob"))
    bob = sign_in(strict_client, "bob")

    for _ in range(3):
        assert login_error(strict_client, "bob", "Wrong_pass_1") == INVALID_LOGIN

    assert login_error(strict_client, "bob", PASSWORD) == INVALID_LOGIN
    assert stored_user(admin, "bob")["is_active"] is False
    assert bob.get("/user/profile").status_code == 401


def test_a_successful_login_starts_the_count_again(strict_client: TestClient) -> None:
    admin = sign_in(strict_client, "dmart", "Admin_pass_123")
    admin.create("management", user("bob"))

    for _ in range(2):
        login_error(strict_client, "bob", "Wrong_pass_1")
    sign_in(strict_client, "bob")
    for _ in range(2):
        login_error(strict_client, "bob", "Wrong_pass_1")

    assert stored_user(admin, "bob")["is_active"] is True
    sign_in(strict_client, "bob")


def test_deactivating_a_user_ends_its_sessions(admin: Api, bob: Api) -> None:
    assert bob.get("/user/profile").status_code == 200

    admin.request("management", "update", record("user", "users", "bob", is_active=False))

    assert bob.get("/user/profile").status_code == 401


def test_deleting_a_user_ends_its_sessions(admin: Api, bob: Api) -> None:
    deleted = admin.request("management", "delete", record("user", "users", "bob"))

    assert deleted.status_code == 200, deleted.text
    assert bob.get("/user/profile").status_code == 401


def test_profile_shows_the_users_attributes_without_password(bob: Api) -> None:
    answer = bob.get("/user/profile").json()
    profile = answer["records"][0]

    assert profile["shortname"] == "bob"
    assert profile["subpath"] == "users"
    assert profile["attributes"]["email"] == "bob@example.com"
    assert profile["attributes"]["permissions"] == {}
    assert profile["attributes"]["roles"] == []
    assert "password" not in profile["attributes"]


def test_profile_lists_only_the_avatar_among_the_users_attachments(admin: Api, bob: Api) -> None:
    admin.create(
        "management",
        record("json", "users/bob", "avatar", is_active=True, payload=json_payload({"url": "a.png"})),
        record("json", "users/bob", "notes", is_active=True, payload=json_payload({"x": 1})),
    )

    attachments = bob.get("/user/profile").json()["records"][0]["attachments"]

    assert [item["shortname"] for item in attachments["json"]] == ["avatar"]
    assert list(attachments) == ["json"]


def test_user_changes_own_profile_and_contacts_need_verifying_again(admin: Api, bob: Api) -> None:
    change = record("user", "users", "bob", displayname={"en": "Bob"}, email="new@example.com", roles=["super_admin"])

    response = bob.client.post("/user/profile", json=change, headers=bob.headers)

    assert response.json() == {"status": "success"}
    stored = stored_user(admin, "bob")
    assert stored["displayname"] == {"en": "Bob"}
    assert stored["email"] == "new@example.com"
    assert stored["is_email_verified"] is False
    assert stored["roles"] == []


def test_password_change_needs_the_old_password(bob: Api, client: TestClient) -> None:
    missing = record("user", "users", "bob", password=NEW_PASSWORD)
    wrong = record("user", "users", "bob", password=NEW_PASSWORD, old_password="Wrong_pass_1")

    assert client.post("/user/profile", json=missing, headers=bob.headers).json()["error"]["code"] == 202
    refused = client.post("/user/profile", json=wrong, headers=bob.headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == 19
    sign_in(client, "bob")


def test_password_change_ends_sessions_and_the_new_password_works(bob: Api, client: TestClient) -> None:
    change = record("user", "users", "bob", password=NEW_PASSWORD, old_password=PASSWORD)

    assert client.post("/user/profile", json=change, headers=bob.headers).status_code == 200

    assert bob.get("/user/profile").status_code == 401
    assert login_error(client, "bob", PASSWORD) == INVALID_LOGIN
    sign_in(client, "bob", NEW_PASSWORD)


def test_weak_new_password_is_refused(bob: Api, client: TestClient) -> None:
    change = record("user", "users", "bob", password="short", old_password=PASSWORD)

    response = client.post("/user/profile", json=change, headers=bob.headers)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == 17


def test_check_existing_names_the_taken_field(bob: Api) -> None:
    assert bob.get("/user/check-existing", shortname="bob").json()["attributes"] == {
        "unique": False,
        "field": "shortname",
    }
    assert bob.get("/user/check-existing", email="BOB@example.com").json()["attributes"] == {
        "unique": False,
        "field": "email",
    }
    assert bob.get("/user/check-existing", msisdn="9647700000001").json()["attributes"] == {
        "unique": False,
        "field": "msisdn",
    }
    assert bob.get("/user/check-existing", shortname="carol", email="carol@example.com").json()["attributes"] == {
        "unique": True
    }


def taken(field: str) -> dict[str, object]:
    return {"type": "request", "code": 415, "message": f"The {field} is already taken", "info": None}


def failed_error(response: object) -> dict[str, object]:
    """The one failed record of a /managed/request partial failure, without its locator."""
    failed = response.json()["error"]["info"][0]["failed"]  # type: ignore[attr-defined]
    assert len(failed) == 1, failed
    return {key: failed[0][key] for key in ("error_code", "error")}


@pytest.mark.parametrize(
    ("contacts", "field"),
    [({"email": "BOB@Example.com"}, "email"), ({"msisdn": "9647700000001"}, "msisdn")],
)
def test_a_taken_email_or_msisdn_is_refused_on_create_and_update(
    admin: Api, bob: Api, settings: Settings, contacts: dict[str, str], field: str
) -> None:
    users = settings.spaces_root / "management" / "users"
    admin.create("management", user("carol", email="carol@example.com", msisdn="9647700000002"))
    before = _tree(users)

    created = admin.request("management", "create", user("dave", **contacts))
    updated = admin.request("management", "update", record("user", "users", "carol", **contacts))
    after = _tree(users)
    # A user keeps its own contacts, whatever their case.
    own = admin.request("management", "update", record("user", "users", "bob", email="Bob@example.com"))

    assert failed_codes(created) == failed_codes(updated) == [415]
    assert (
        failed_error(created)
        == failed_error(updated)
        == {
            "error_code": 415,
            "error": f"The {field} is already taken",
        }
    )
    assert after == before
    assert own.status_code == 200, own.text
    assert stored_user(admin, "bob")["email"] == "Bob@example.com"
    assert admin.get("/user/check-existing", shortname="dave").json()["attributes"] == {"unique": True}


@pytest.mark.parametrize(
    ("contacts", "field"),
    [({"email": "CAROL@example.COM"}, "email"), ({"msisdn": "9647700000002"}, "msisdn")],
)
def test_profile_and_registration_refuse_a_taken_email_or_msisdn(
    empty_spaces: Path, contacts: dict[str, str], field: str
) -> None:
    with TestClient(create_app(make_settings(empty_spaces, is_registrable=True))) as client:
        admin = sign_in(client, "dmart", "Admin_pass_123")
        admin.create("management", user("bob"), user("carol", email="carol@example.com", msisdn="9647700000002"))
        bob = sign_in(client, "bob")

        profile = client.post("/user/profile", json=record("user", "users", "bob", **contacts), headers=bob.headers)
        registered = client.post("/user/create", json=record("user", "users", "newbie", password=PASSWORD, **contacts))

        assert (profile.status_code, profile.json()["error"]) == (400, taken(field))
        assert (registered.status_code, registered.json()["error"]) == (400, taken(field))
        assert bob.get("/user/profile").json()["records"][0]["attributes"].get(field) is None
        assert not (empty_spaces / "management" / "users" / ".dm" / "newbie").exists()


def test_admin_resets_a_user_and_others_may_not(admin: Api, bob: Api) -> None:
    reset = admin.client.post("/user/reset", json={"shortname": "bob"}, headers=admin.headers)
    refused = bob.client.post("/user/reset", json={"shortname": "dmart"}, headers=bob.headers)

    assert reset.json() == {"status": "success", "attributes": {"sms_sent": False, "email_sent": False}}
    assert stored_user(admin, "bob")["force_password_change"] is True
    assert refused.status_code == 401
    assert stored_user(admin, "dmart").get("force_password_change", False) is False


def test_registration_is_refused_unless_enabled(client: TestClient) -> None:
    response = client.post("/user/create", json=record("user", "users", "newbie", password=PASSWORD))

    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "create",
        "code": 50,
        "message": "Register API is disabled",
        "info": None,
    }


def test_registration_when_enabled_creates_a_user_without_roles(empty_spaces: Path) -> None:
    with TestClient(create_app(make_settings(empty_spaces, is_registrable=True))) as client:
        form = record("user", "users", "newbie", password=PASSWORD, email="n@example.com", roles=["super_admin"])

        created = client.post("/user/create", json=form)
        again = client.post("/user/create", json=form)

        assert created.json() == {"status": "success"}
        assert again.json()["error"]["code"] == 415
        newbie = sign_in(client, "newbie")
        assert newbie.get("/user/profile").json()["records"][0]["attributes"]["roles"] == []
        assert failed_codes(newbie.request("management", "create", record("folder", "/", "mine"))) == [401]


@pytest.mark.parametrize("path", ["/user/otp-request", "/user/otp-confirm", "/user/password-reset-request"])
def test_otp_routes_say_they_are_not_available(client: TestClient, path: str) -> None:
    response = client.post(path, json={"msisdn": "9647700000001"})

    assert response.status_code == 400
    assert "not available" in response.json()["error"]["message"]


def test_bootstrap_admin_may_create_every_attachment_kind(admin: Api) -> None:
    admin.space("goldens", "posts")
    admin.create("goldens", record("content", "posts", "first_post", is_active=True))

    answer = admin.create(
        "goldens",
        record("reply", "posts/first_post", "reply1", is_active=True, body="A reply"),
        record("reaction", "posts/first_post", "reaction1", is_active=True, type="like"),
        record("share", "posts/first_post", "share1", is_active=True, body="shared"),
    )

    assert [one["resource_type"] for one in answer["records"]] == ["reply", "reaction", "share"]
