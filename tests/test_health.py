"""GET /managed/health: the real state of a space, for the admin only."""

from pathlib import Path

from dmart_attach.config import Settings
from tests.utils.factories import Api, json_payload, record


def report(admin: Api, path: str) -> dict[str, object]:
    response = admin.get(path)
    assert response.status_code == 200, response.text
    attributes: dict[str, object] = response.json()["attributes"]
    return attributes


def test_a_healthy_space(admin: Api) -> None:
    admin.space("blog", "posts")
    admin.create("blog", record("content", "posts", "a", is_active=True, payload=json_payload({"x": 1})))
    admin.create("blog", record("comment", "posts/a", "c", is_active=True, body="hi"))

    soft = report(admin, "/managed/health/blog")
    hard = report(admin, "/managed/health/hard/blog")

    assert (soft["entries"], soft["folders"], soft["attachments"], soft["healthy"]) == (1, 2, 1, True)
    assert (hard["checksum_mismatches"], hard["healthy"]) == ([], True)


def test_broken_files_and_index_drift_are_reported(admin: Api, settings: Settings) -> None:
    admin.space("blog", "posts")
    admin.create("blog", record("content", "posts", "a", is_active=True, payload=json_payload({"x": 1})))
    admin.create("blog", record("content", "posts", "b", is_active=True, payload=json_payload({"x": 2})))
    posts: Path = settings.spaces_root / "blog" / "posts"
    (posts / "a.json").write_text('{"x": 5}')
    (posts / "b.json").unlink()
    (posts / "stray.png").write_bytes(b"x")
    (posts / ".dm" / "bad").mkdir()
    (posts / ".dm" / "bad" / "meta.content.json").write_text("{not json")

    hard = report(admin, "/managed/health/hard/blog")

    assert hard["missing_payloads"] == ["posts/b.json"]
    assert hard["orphan_payloads"] == ["posts/stray.png"]
    assert [item["path"] for item in hard["invalid_metas"]] == ["posts/.dm/bad/meta.content.json"]  # type: ignore[attr-defined]
    assert hard["checksum_mismatches"] == ["posts/a.json"]
    assert hard["index_drift"] == {
        "missing_from_index": [],
        "stale_in_index": [],
        "differing": ["posts/a/content", "posts/b/content"],
    }
    assert hard["healthy"] is False


def test_health_is_for_the_admin_only(admin: Api) -> None:
    admin.space("blog")
    admin.create("management", record("user", "users", "eve", is_active=True, password="Eve_pass_1234"))
    login = admin.client.post("/user/login", json={"shortname": "eve", "password": "Eve_pass_1234"})
    token = login.json()["records"][0]["attributes"]["access_token"]

    refused = admin.client.get("/managed/health/blog", headers={"Authorization": f"Bearer {token}"})
    wrong_type = admin.get("/managed/health/medium/blog")

    assert (refused.status_code, refused.json()["error"]["code"]) == (401, 401)
    assert (wrong_type.status_code, wrong_type.json()["error"]["code"]) == (400, 403)
