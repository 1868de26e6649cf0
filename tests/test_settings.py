"""Settings from the environment and `.env`, and the JWT secret's life."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from dmart_attach.services.auth import UnsafeSettings, load_secret
from tests.conftest import ADMIN_PASSWORD, REPO, login, make_settings

CONSOLE_SCRIPT = Path(sys.executable).parent / "dmart-attach"
ENV_NAMES = [
    "SPACES_FOLDER",
    "INDEX_PATH",
    "JWT_SECRET",
    "JWT_ACCESS_EXPIRES",
    "LISTENING_HOST",
    "LISTENING_PORT",
    "MANAGEMENT_SPACE",
    "LOCK_PERIOD",
    "ADMIN_SHORTNAME",
    "ADMIN_PASSWORD",
]


def test_settings_use_dmarts_names_from_the_environment_and_dotenv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("MANAGEMENT_SPACE=admin_space\nLISTENING_PORT=9000\n")
    monkeypatch.setenv("SPACES_FOLDER", str(tmp_path / "tree"))
    monkeypatch.setenv("JWT_ACCESS_EXPIRES", "60")
    monkeypatch.setenv("LISTENING_PORT", "9100")

    settings = Settings()

    assert settings.spaces_folder == tmp_path / "tree"
    assert settings.jwt_access_expires == 60
    assert settings.management_space == "admin_space"
    assert settings.listening_port == 9100


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (REPO / ".env.example").read_text().splitlines()
    names = [line.split("=", 1)[0] for line in lines if line and not line.startswith("#")]

    assert sorted(names) == sorted(name.upper() for name in Settings.model_fields)
    assert set(ENV_NAMES) <= set(names)
    for index, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[index - 1].startswith("#") or not lines[index - 1], line


def test_a_missing_secret_is_generated_once_outside_the_tree(empty_spaces: Path) -> None:
    settings = make_settings(empty_spaces)

    first, second = load_secret(settings), load_secret(settings)

    assert first == second and len(first) >= 32
    kept = settings.state_root / "jwt_secret"
    assert kept.read_text() == first
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert not kept.resolve().is_relative_to(settings.spaces_root)


def test_a_short_secret_is_refused(empty_spaces: Path) -> None:
    with pytest.raises(UnsafeSettings, match="at least 32 bytes"):
        load_secret(make_settings(empty_spaces, jwt_secret="ABC"))


def test_serve_stops_on_a_short_secret(tmp_path: Path) -> None:
    env = {**os.environ, "SPACES_FOLDER": str(tmp_path / "spaces"), "JWT_SECRET": "too-short"}

    result = subprocess.run(
        [str(CONSOLE_SCRIPT), "serve", "--port", "1"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )

    assert result.returncode == 2
    assert "JWT_SECRET must be at least 32 bytes long" in result.stderr


def test_tokens_survive_a_restart(empty_spaces: Path) -> None:
    settings = make_settings(empty_spaces)
    with TestClient(create_app(settings)) as before:
        headers = login(before, "dmart", ADMIN_PASSWORD)

    with TestClient(create_app(make_settings(empty_spaces))) as after:
        assert after.get("/info/me", headers=headers).json()["attributes"] == {"shortname": "dmart"}


def test_a_configured_secret_signs_the_tokens(empty_spaces: Path) -> None:
    secret = "s" * 32
    with TestClient(create_app(make_settings(empty_spaces, jwt_secret=secret))) as client:
        headers = login(client, "dmart", ADMIN_PASSWORD)
    with TestClient(create_app(make_settings(empty_spaces))) as other:
        assert other.get("/info/me", headers=headers).json()["error"]["code"] == 47


def test_state_inside_the_tree_is_refused(empty_spaces: Path) -> None:
    with pytest.raises(UnsafeSettings, match="INDEX_PATH must be outside SPACES_FOLDER"):
        load_secret(make_settings(empty_spaces, index_path=empty_spaces / "state"))
