"""Logging in and out, tokens, /user and /info (contract §4)."""

import time
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD, login
from tests.utils.factories import Api, record

PROFILE = "/user/profile"


def secret_of(client: TestClient) -> str:
    secret: str = client.app.state.services.auth.secret  # type: ignore[attr-defined]
    return secret


def forged(client: TestClient, claims: dict[str, Any], secret: str | None = None) -> dict[str, str]:
    token = jwt.encode(claims, secret or secret_of(client), algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


def error_of(response: Any) -> tuple[int, str, int, str]:
    body = response.json()
    assert body["status"] == "failed"
    assert body["records"] is None and body["attributes"] is None
    error = body["error"]
    return response.status_code, error["type"], error["code"], error["message"]


def test_login_answers_a_token_and_sets_the_cookie(client: TestClient) -> None:
    response = client.post("/user/login", json={"shortname": "dmart", "password": ADMIN_PASSWORD})

    assert response.status_code == 200
    [user] = response.json()["records"]
    assert (user["resource_type"], user["shortname"], user["subpath"]) == ("user", "dmart", "users")
    assert user["attributes"]["type"] == "web"
    token = user["attributes"]["access_token"]
    claims = jwt.decode(token, secret_of(client), algorithms=["HS256"])
    assert claims["data"] == {"shortname": "dmart", "type": "web"}
    assert claims["expires"] == pytest.approx(time.time() + 2_592_000, abs=60)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"auth_token={token};")
    assert "HttpOnly" in cookie and "Max-Age=2592000" in cookie and "SameSite=lax" in cookie


@pytest.mark.parametrize(
    "body",
    [
        {"shortname": "dmart", "password": "wrong"},
        {"shortname": "nobody", "password": ADMIN_PASSWORD},
        {"shortname": "dmart"},
        {},
    ],
)
def test_every_login_failure_is_the_same_answer(client: TestClient, body: dict[str, str]) -> None:
    response = client.post("/user/login", json=body)

    assert error_of(response) == (401, "auth", 10, "Invalid username or password")


def test_inactive_user_cannot_log_in(admin: Api, settings: Settings) -> None:
    admin.create(settings.management_space, record("user", "users", "ali", is_active=False, password="Ali_pass_1"))

    response = admin.client.post("/user/login", json={"shortname": "ali", "password": "Ali_pass_1"})

    assert error_of(response) == (401, "auth", 10, "Invalid username or password")


def test_no_token_is_not_authenticated(client: TestClient) -> None:
    assert error_of(client.get(PROFILE)) == (401, "jwtauth", 49, "Not authenticated [1]")


def test_token_with_a_bad_signature_is_invalid(client: TestClient) -> None:
    headers = forged(client, {"data": {"shortname": "dmart"}, "expires": time.time() + 60}, secret="x" * 40)

    assert error_of(client.get(PROFILE, headers=headers)) == (401, "jwtauth", 47, "Invalid Token [1]")


def test_undecodable_token_is_invalid(client: TestClient) -> None:
    response = client.get(PROFILE, headers={"Authorization": "Bearer not.a.token"})

    assert error_of(response) == (401, "jwtauth", 47, "Invalid Token [1]")


@pytest.mark.parametrize("claims", [{"data": {"shortname": "dmart"}}, {"expires": 1e12}])
def test_token_without_data_or_expires_is_invalid(client: TestClient, claims: dict[str, Any]) -> None:
    response = client.get(PROFILE, headers=forged(client, claims))

    assert error_of(response) == (401, "jwtauth", 47, "Invalid Token [2]")


def test_token_without_a_shortname_is_invalid(client: TestClient) -> None:
    response = client.get(PROFILE, headers=forged(client, {"data": {"type": "web"}, "expires": time.time() + 60}))

    assert error_of(response) == (401, "jwtauth", 47, "Invalid Token [3]")


def test_expired_token_is_refused(client: TestClient) -> None:
    response = client.get(PROFILE, headers=forged(client, {"data": {"shortname": "dmart"}, "expires": time.time() - 1}))

    assert error_of(response) == (401, "jwtauth", 48, "Expired Token")


def test_every_managed_route_needs_a_token(client: TestClient) -> None:
    answers = [
        client.post("/managed/request", json={"space_name": "x", "request_type": "create", "records": []}),
        client.get("/managed/entry/space/management/__root__/management"),
        client.get("/managed/payload/content/management/users/x.json"),
        client.get("/info/me"),
    ]

    assert [error_of(answer)[:3] for answer in answers] == [(401, "jwtauth", 49)] * 4


def test_the_cookie_carries_the_token_and_the_header_wins(client: TestClient) -> None:
    headers = login(client, "dmart", ADMIN_PASSWORD)
    token = headers["Authorization"].removeprefix("Bearer ")

    client.cookies.set("auth_token", token)
    assert client.get("/info/me").json()["attributes"] == {"shortname": "dmart"}
    bad = {"Authorization": "Bearer not.a.token"}
    assert error_of(client.get("/info/me", headers=bad))[2] == 47


def test_logout_ends_that_token_only(client: TestClient) -> None:
    first = login(client, "dmart", ADMIN_PASSWORD)
    second = login(client, "dmart", ADMIN_PASSWORD)

    response = client.post("/user/logout", headers=first)

    assert response.json() == {"status": "success", "records": []}
    assert 'auth_token=""' in response.headers["set-cookie"]
    assert error_of(client.get(PROFILE, headers=first)) == (401, "jwtauth", 49, "Not authenticated [3]")
    assert client.get(PROFILE, headers=second).status_code == 200


def test_profile_shows_the_user_without_its_password(admin: Api) -> None:
    answer = admin.get(PROFILE).json()

    [user] = answer["records"]
    assert user["shortname"] == "dmart"
    assert user["attributes"]["roles"] == ["super_admin"]
    assert "password" not in user["attributes"] and "$argon2" not in str(answer)


def test_users_created_and_updated_through_requests_have_hashed_passwords(admin: Api, settings: Settings) -> None:
    space = settings.management_space
    created = admin.create(space, record("user", "users", "ali", is_active=True, password="Ali_pass_1", roles=[]))
    user_meta = settings.spaces_root / space / "users" / ".dm" / "ali" / "meta.user.json"

    stored = user_meta.read_text()
    assert "Ali_pass_1" not in stored and '"password":"$argon2id$' in stored
    assert "password" not in created["records"][0]["attributes"] and "$argon2" not in str(created)
    ali = login(admin.client, "ali", "Ali_pass_1")

    updated = admin.request(space, "update", record("user", "users", "ali", password="Ali_pass_2"))

    assert updated.status_code == 200 and "$argon2" not in updated.text
    assert "Ali_pass_2" not in user_meta.read_text()
    assert admin.client.get(PROFILE, headers=ali).status_code == 401
    login(admin.client, "ali", "Ali_pass_2")
    entry = admin.get(f"/managed/entry/user/{space}/users/ali", retrieve_json_payload=True).json()
    assert entry["shortname"] == "ali" and "password" not in entry and "$argon2" not in str(entry)


def test_roles_groups_and_permissions_are_entries_of_the_management_space(admin: Api, settings: Settings) -> None:
    space = settings.management_space
    permission = record(
        "permission",
        "permissions",
        "read_posts",
        is_active=True,
        subpaths={"dmart_data": ["posts"]},
        resource_types=["content"],
        actions=["view", "query"],
    )
    admin.create(space, permission)
    admin.create(space, record("role", "roles", "reader", is_active=True, permissions=["read_posts"]))
    admin.create(space, record("group", "groups", "readers", is_active=True, roles=["reader"]))

    response = admin.request(space, "update", record("role", "roles", "reader", permissions=["read_posts", "x"]))

    assert response.status_code == 200, response.text
    role = admin.get(f"/managed/entry/role/{space}/roles/reader").json()
    assert role["permissions"] == ["read_posts", "x"]
    group = admin.get(f"/managed/entry/group/{space}/groups/readers").json()
    assert group["roles"] == ["reader"]
    stored = admin.get(f"/managed/entry/permission/{space}/permissions/read_posts").json()
    assert stored["actions"] == ["view", "query"] and stored["subpaths"] == {"dmart_data": ["posts"]}


def test_role_without_permissions_is_refused_naming_the_field(admin: Api, settings: Settings) -> None:
    response = admin.request(settings.management_space, "create", record("role", "roles", "empty", is_active=True))

    assert error_of(response)[:3] == (422, "validation", 422)
    assert [item["loc"] for item in response.json()["error"]["info"]] == [["attributes", "permissions"]]


def test_info_me_and_manifest(admin: Api) -> None:
    assert admin.get("/info/me").json() == {"status": "success", "attributes": {"shortname": "dmart"}}
    manifest = admin.get("/info/manifest").json()["attributes"]
    assert manifest["name"] == "dmart_attach"
    assert set(manifest["service_details"]) == {"server", "process_id", "start_time", "current_time", "running_for"}


def test_info_settings_masks_secrets_for_the_admin(admin: Api, settings: Settings) -> None:
    answer = admin.get("/info/settings").json()["attributes"]

    assert answer["jwt_secret"] == "******"
    assert answer["admin_password"] == "******"
    assert answer["management_space"] == settings.management_space
    assert ADMIN_PASSWORD not in str(answer) and secret_of(admin.client) not in str(answer)


def test_info_settings_is_for_the_admin_only(admin: Api, settings: Settings) -> None:
    admin.create(settings.management_space, record("user", "users", "ali", is_active=True, password="Ali_pass_1"))
    ali = login(admin.client, "ali", "Ali_pass_1")

    response = admin.client.get("/info/settings", headers=ali)

    assert error_of(response) == (401, "request", 401, "You don't have permission to this action [21]")


def test_a_password_change_leaves_no_hash_in_the_history(admin: Api, settings: Settings) -> None:
    space = settings.management_space
    admin.create(space, record("user", "users", "ali", is_active=True, password="Ali_pass_1"))

    admin.request(space, "update", record("user", "users", "ali", password="Ali_pass_2", tags=["x"]))

    history = (settings.spaces_root / space / "users" / ".dm" / "ali" / "history.jsonl").read_text()
    assert '"tags"' in history
    assert "$argon2" not in history and "Ali_pass" not in history


@pytest.mark.parametrize("change", [{"is_active": False}, None])
def test_deactivating_or_deleting_a_user_ends_its_tokens(admin: Api, settings: Settings, change: Any) -> None:
    space = settings.management_space
    admin.create(space, record("user", "users", "ali", is_active=True, password="Ali_pass_1"))
    ali = login(admin.client, "ali", "Ali_pass_1")

    if change is None:
        response = admin.request(space, "delete", record("user", "users", "ali"))
    else:
        response = admin.request(space, "update", record("user", "users", "ali", **change))

    assert response.status_code == 200, response.text
    assert error_of(admin.client.get(PROFILE, headers=ali)) == (401, "jwtauth", 49, "Not authenticated [3]")


def test_too_many_failed_logins_deactivate_the_user(admin: Api, settings: Settings) -> None:
    space = settings.management_space
    admin.create(space, record("user", "users", "ali", is_active=True, password="Ali_pass_1"))
    ali = login(admin.client, "ali", "Ali_pass_1")
    wrong = {"shortname": "ali", "password": "wrong"}

    for _ in range(settings.max_failed_login_attempts):
        assert admin.client.post("/user/login", json=wrong).status_code == 401

    right = admin.client.post("/user/login", json={"shortname": "ali", "password": "Ali_pass_1"})
    assert error_of(right) == (401, "auth", 10, "Invalid username or password")
    assert admin.get(f"/managed/entry/user/{space}/users/ali").json()["is_active"] is False
    assert admin.client.get(PROFILE, headers=ali).status_code == 401


def test_a_successful_login_resets_the_failure_count(admin: Api, settings: Settings) -> None:
    space = settings.management_space
    admin.create(space, record("user", "users", "ali", is_active=True, password="Ali_pass_1"))
    wrong = {"shortname": "ali", "password": "wrong"}

    for _ in range(2):
        for _ in range(settings.max_failed_login_attempts - 1):
            admin.client.post("/user/login", json=wrong)
        login(admin.client, "ali", "Ali_pass_1")

    assert admin.get(f"/managed/entry/user/{space}/users/ali").json()["is_active"] is True


def test_set_password_gives_a_deactivated_user_back(admin: Api, settings: Settings) -> None:
    space = settings.management_space
    admin.create(space, record("user", "users", "ali", is_active=False, password="Ali_pass_1"))

    admin.client.app.state.services.auth.set_password("ali", "Ali_pass_9")  # type: ignore[attr-defined]

    login(admin.client, "ali", "Ali_pass_9")


def test_a_refused_user_create_does_not_echo_the_password(admin: Api, settings: Settings) -> None:
    space = settings.management_space
    admin.create(space, record("user", "users", "ali", is_active=True, password="Ali_pass_1"))

    response = admin.request(space, "create", record("user", "users", "ali", is_active=True, password="Ali_pass_2"))

    [failed] = response.json()["error"]["info"][0]["failed"]
    assert failed["record"]["attributes"] == {"is_active": True}
    assert "Ali_pass" not in response.text


def test_validation_errors_do_not_echo_passwords(admin: Api, settings: Settings) -> None:
    no_shortname = {"resource_type": "user", "subpath": "users", "attributes": {"password": "Ali_pass_1"}}
    created = admin.client.post(
        "/managed/request",
        json={"space_name": settings.management_space, "request_type": "create", "records": [no_shortname]},
        headers=admin.headers,
    )
    logged_in = admin.client.post("/user/login", json={"shortname": "dmart", "password": ["Ali_pass_2"]})

    assert (created.status_code, logged_in.status_code) == (422, 422)
    assert created.json()["error"]["info"][0]["input"]["attributes"] == {"password": "******"}
    assert logged_in.json()["error"]["info"][0]["input"] == "******"
    assert "Ali_pass" not in created.text + logged_in.text
