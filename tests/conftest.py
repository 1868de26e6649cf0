"""Fixtures: a temporary spaces tree, settings that point at it, and logged-in clients."""

import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.utils.factories import Api

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DMART_SHARED", REPO.parent / "shared"))
SAMPLE_SPACES = SHARED / "dmart-sample" / "spaces"
ADMIN_PASSWORD = "Admin_pass_123"
# Cheap argon2 parameters for the users the tests create; sample hashes keep their own.
CHEAP_HASHING = {"argon2_time_cost": 1, "argon2_memory_cost": 1024, "argon2_parallelism": 1}


def copy_tree(source: Path, target: Path) -> Path:
    """Copy a read-only tree and make the copy writable."""
    shutil.copytree(source, target)
    for path in [target, *target.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return target


def make_settings(spaces: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "spaces_folder": spaces,
        "index_path": spaces.parent / "state",
        "admin_password": ADMIN_PASSWORD,
        "jwt_secret": "",
        "log_level": "WARNING",
        **CHEAP_HASHING,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def empty_spaces(tmp_path: Path) -> Path:
    """A spaces folder that bootstrap fills on first start."""
    spaces = tmp_path / "spaces"
    spaces.mkdir()
    return spaces


@pytest.fixture
def sample_spaces(tmp_path: Path) -> Path:
    """A writable copy of the shared Dmart sample tree."""
    return copy_tree(SAMPLE_SPACES, tmp_path / "spaces")


@pytest.fixture
def settings(empty_spaces: Path) -> Settings:
    return make_settings(empty_spaces)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def login(client: TestClient, shortname: str, password: str) -> dict[str, str]:
    response = client.post("/user/login", json={"shortname": shortname, "password": password})
    assert response.status_code == 200, response.text
    token = response.json()["records"][0]["attributes"]["access_token"]
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def admin(client: TestClient, settings: Settings) -> Api:
    """The bootstrap admin, logged in."""
    return Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
