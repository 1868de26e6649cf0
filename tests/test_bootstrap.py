"""First start: the management space and the admin; a tree that has them is used as it is."""

import json
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.bootstrap import bootstrap
from dmart_attach.services.container import build_services
from dmart_attach.services.passwords import Passwords
from tests.conftest import ADMIN_PASSWORD, login, make_settings


def read_meta(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_an_empty_tree_gets_the_management_space_and_the_admin(empty_spaces: Path) -> None:
    settings = make_settings(empty_spaces)

    assert bootstrap(build_services(settings).store) is None

    management = empty_spaces / "management"
    assert read_meta(management / ".dm" / "meta.space.json")["shortname"] == "management"
    for folder in ("users", "roles", "permissions", "groups", "schema"):
        assert (management / folder / ".dm" / "meta.folder.json").is_file(), folder
    admin = read_meta(management / "users" / ".dm" / "dmart" / "meta.user.json")
    assert (admin["is_active"], admin["roles"]) == (True, ["super_admin"])
    assert Passwords(settings).verify(admin["password"], ADMIN_PASSWORD)
    role = read_meta(management / "roles" / ".dm" / "super_admin" / "meta.role.json")
    assert role["permissions"] == ["super_admin_all"]
    permission = read_meta(management / "permissions" / ".dm" / "super_admin_all" / "meta.permission.json")
    assert permission["subpaths"] == {"__all_spaces__": ["__all_subpaths__"]}
    assert permission["resource_types"] == [kind.value for kind in ResourceType]
    assert permission["actions"] == [action.value for action in ActionType]
    assert (management / "schema" / "meta_schema.json").is_file()


def test_a_generated_admin_password_is_answered_once(empty_spaces: Path) -> None:
    settings = make_settings(empty_spaces, admin_password="")
    store = build_services(settings).store

    generated = bootstrap(store)

    assert generated is not None and len(generated) >= 16
    assert bootstrap(store) is None
    admin = read_meta(empty_spaces / "management" / "users" / ".dm" / "dmart" / "meta.user.json")
    assert Passwords(settings).verify(admin["password"], generated)


def test_a_tree_with_users_is_used_as_it_is(sample_spaces: Path) -> None:
    before = {path: path.read_bytes() for path in sample_spaces.rglob("*") if path.is_file()}

    assert bootstrap(build_services(make_settings(sample_spaces)).store) is None

    assert {path: path.read_bytes() for path in sample_spaces.rglob("*") if path.is_file()} == before


def test_the_service_logs_a_generated_admin_password(empty_spaces: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with TestClient(create_app(make_settings(empty_spaces, admin_password=""))) as client:
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
        [warning] = [line for line in lines if line["level"] == "WARNING"]

        assert warning["user"] == "dmart"
        login(client, "dmart", warning["password"])
