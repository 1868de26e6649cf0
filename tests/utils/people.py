"""Builders for users, roles, groups and permissions, and for reading refusals."""

from typing import Any

from starlette.testclient import TestClient

from tests.utils.factories import Api, record

PASSWORD = "Bob_pass_123"


def permission(
    name: str, subpaths: dict[str, list[str]], resource_types: list[str], actions: list[str], **rules: Any
) -> dict[str, Any]:
    """A permission record for the management space."""
    return record(
        "permission",
        "permissions",
        name,
        **{"is_active": True, "subpaths": subpaths, "resource_types": resource_types, "actions": actions, **rules},
    )


def role(name: str, *permissions: str, **attributes: Any) -> dict[str, Any]:
    return record("role", "roles", name, **{"is_active": True, "permissions": list(permissions), **attributes})


def group(name: str, *roles: str) -> dict[str, Any]:
    return record("group", "groups", name, is_active=True, roles=list(roles))


def user(name: str, *roles: str, **attributes: Any) -> dict[str, Any]:
    return record(
        "user", "users", name, **{"is_active": True, "password": PASSWORD, "roles": list(roles), **attributes}
    )


def sign_in(client: TestClient, shortname: str, password: str = PASSWORD) -> Api:
    """Log in and answer the logged-in client."""
    response = client.post("/user/login", json={"shortname": shortname, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["records"][0]["attributes"]["access_token"]
    return Api(client, {"Authorization": f"Bearer {token}"})


def failed_codes(response: Any) -> list[int]:
    """The per-record error codes of a /managed/request partial failure (HTTP 400, code 430)."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == 430, error
    return [item["error_code"] for item in error["info"][0]["failed"]]
