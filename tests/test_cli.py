"""The command line: set-password with names that are not users."""

import pytest

from dmart_attach.cli import main
from dmart_attach.config import Settings


@pytest.mark.parametrize(
    ("shortname", "message"),
    [("nobody", "set-password: no user nobody in management/users"), ("../x", "invalid shortname '../x'")],
)
def test_set_password_refuses_a_name_that_is_no_user_with_a_message(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    shortname: str,
    message: str,
) -> None:
    monkeypatch.setattr("dmart_attach.cli.get_settings", lambda: settings)
    monkeypatch.setattr("sys.stdin.readline", lambda: "A_pass_1234\n")

    assert main(["set-password", shortname]) == 1

    assert message in capsys.readouterr().err
    assert not (settings.spaces_root / "management" / "users" / ".dm" / shortname).exists()
