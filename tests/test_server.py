"""The real service, started from the console script with two workers on a copy of the sample tree."""

import json
import os
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import CHEAP_HASHING, SAMPLE_SPACES, copy_tree
from tests.utils.factories import json_payload, record, request_body
from tests.utils.process import CONSOLE_SCRIPT, serve

PASSWORD = "Server_pass_123"
# The password of the sample tree's user `alibaba` (Dmart's test password), hashed with Dmart's parameters.
SAMPLE_PASSWORD = "Test1234"
SAMPLE_PARENT = "/managed/entry/content/applications/api/test_by_saad"


@dataclass
class Server:
    """A running `dmart-attach serve` and where its log goes."""

    url: str
    log: Path
    environment: dict[str, str]
    cwd: Path

    def client(self, **headers: str) -> httpx.Client:
        """A client that opens a new connection for every request, so both workers answer."""
        return httpx.Client(
            base_url=self.url, headers=headers, timeout=20, limits=httpx.Limits(max_keepalive_connections=0)
        )


def run_cli(server_env: dict[str, str], cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE_SCRIPT), *args], input=stdin, env=server_env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`set-password dmart`, then `serve --workers 2` on a copy of the sample tree; always stopped."""
    base = tmp_path_factory.mktemp("server")
    spaces = copy_tree(SAMPLE_SPACES, base / "spaces")
    environment = {
        **os.environ,
        "SPACES_FOLDER": str(spaces),
        "INDEX_PATH": str(base / "state"),
        "LOG_LEVEL": "INFO",
        **{name.upper(): str(value) for name, value in CHEAP_HASHING.items()},
    }
    for name in ("JWT_SECRET", "ADMIN_PASSWORD"):
        environment.pop(name, None)
    result = run_cli(environment, base, "set-password", "dmart", stdin=f"{PASSWORD}\n")
    assert result.returncode == 0, result.stderr

    served = serve(spaces, base / "state", workers=2, env=environment)
    try:
        yield Server(url=served.url, log=served.log, environment=environment, cwd=base)
    finally:
        served.stop()


@pytest.fixture(scope="module")
def token(server: Server) -> str:
    with server.client() as client:
        response = client.post("/user/login", json={"shortname": "dmart", "password": PASSWORD})
    assert response.status_code == 200, response.text
    access_token: str = response.json()["records"][0]["attributes"]["access_token"]
    return access_token


@pytest.fixture
def api(server: Server, token: str) -> Iterator[httpx.Client]:
    with server.client(Authorization=f"Bearer {token}") as client:
        yield client


def post(api: httpx.Client, space_name: str, request_type: str, *records: dict[str, Any]) -> httpx.Response:
    return api.post("/managed/request", json=request_body(space_name, request_type, *records))


def test_set_password_refuses_an_unknown_user_and_an_empty_password(server: Server) -> None:
    unknown = run_cli(server.environment, server.cwd, "set-password", "nobody", stdin="x\n")
    empty = run_cli(server.environment, server.cwd, "set-password", "dmart", stdin="\n")

    assert unknown.returncode == 1 and "no user nobody" in unknown.stderr
    assert empty.returncode == 2 and "no password" in empty.stderr


def test_a_sample_users_own_argon2_hash_verifies(server: Server) -> None:
    with server.client() as client:
        response = client.post("/user/login", json={"shortname": "alibaba", "password": SAMPLE_PASSWORD})
        wrong = client.post("/user/login", json={"shortname": "alibaba", "password": PASSWORD})

    assert response.status_code == 200, response.text
    assert response.json()["records"][0]["shortname"] == "alibaba"
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, 10)


def test_reads_a_sample_entry_with_its_media(api: httpx.Client) -> None:
    response = api.get(SAMPLE_PARENT, params={"retrieve_attachments": "true"})

    assert response.status_code == 200, response.text
    entry = response.json()
    assert (entry["shortname"], entry["uuid"]) == ("test_by_saad", "43e753d4-b366-40c7-ae1b-cef61e74df2c")
    [media] = entry["attachments"]["media"]
    assert media["shortname"] == "warframe"
    assert media["attributes"]["payload"]["body"] == "warframe.png"
    picture = api.get("/managed/payload/media/applications/api/test_by_saad/warframe.png")
    stored = SAMPLE_SPACES / "applications/api/.dm/test_by_saad/attachments.media/warframe.png"
    assert (picture.status_code, picture.content) == (200, stored.read_bytes())


def test_the_users_example_comment_reads_back_with_body_and_tags(api: httpx.Client) -> None:
    assert post(api, "dmart_data", "create", record("space", "/", "dmart_data", is_active=True)).status_code == 200
    assert post(api, "dmart_data", "create", record("folder", "/", "posts", is_active=True)).status_code == 200
    content = record("content", "posts", "my_post", is_active=True, payload=json_payload({"title": "Hi"}))
    assert post(api, "dmart_data", "create", content).status_code == 200

    users_example = {
        "space_name": "dmart_data",
        "request_type": "create",
        "records": [
            {
                "resource_type": "comment",
                "shortname": "my_comment",
                "subpath": "posts/my_post",
                "attributes": {"is_active": True, "tags": ["one", "two"], "body": "Very Intersting entry"},
            }
        ],
    }
    created = api.post("/managed/request", json=users_example)

    assert created.status_code == 200, created.text
    entry = api.get("/managed/entry/content/dmart_data/posts/my_post", params={"retrieve_attachments": "true"}).json()
    [comment] = entry["attachments"]["comment"]
    assert comment["shortname"] == "my_comment"
    assert comment["attributes"]["tags"] == ["one", "two"]
    assert comment["attributes"]["body"] == "Very Intersting entry"
    assert comment["attributes"]["is_active"] is True
    assert comment["attributes"]["payload"]["body"] == {"body": "Very Intersting entry"}


def test_two_workers_answer(server: Server, api: httpx.Client) -> None:
    seen: set[int] = set()
    for _ in range(200):
        seen.add(api.get("/info/manifest").json()["attributes"]["service_details"]["process_id"])
        if len(seen) == 2:
            break

    assert len(seen) == 2


def test_simultaneous_updates_on_two_workers_lose_nothing(api: httpx.Client) -> None:
    post(api, "applications", "create", record("content", "api", "counter", payload=json_payload({"start": 0})))

    def update(index: int) -> int:
        change = record("content", "api", "counter", payload=json_payload({f"k{index}": index}))
        return post(api, "applications", "update", change).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(update, range(24)))

    assert statuses == [200] * 24
    stored = api.get("/managed/entry/content/applications/api/counter", params={"retrieve_json_payload": "true"})
    assert stored.json()["payload"]["body"] == {"start": 0, **{f"k{index}": index for index in range(24)}}


def test_simultaneous_creates_on_two_workers_b23(api: httpx.Client) -> None:
    def create(name: str, label: str) -> tuple[str, int]:
        sent = record("content", "api", name, is_active=True, displayname={"en": label})
        return label, post(api, "applications", "create", sent).status_code

    for round_number in range(10):
        name = f"dup_{round_number}"
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(create, [name, name], ["first", "second"]))

        assert sorted(status for _, status in results) == [200, 400]
        [winner] = [label for label, status in results if status == 200]
        stored = api.get(f"/managed/entry/content/applications/api/{name}").json()
        assert stored["displayname"] == {"en": winner}


def test_logout_ends_the_token_on_every_worker(server: Server) -> None:
    with server.client() as client:
        login = client.post("/user/login", json={"shortname": "dmart", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json()['records'][0]['attributes']['access_token']}"}

    with server.client(**headers) as client:
        assert client.post("/user/logout").status_code == 200
        answers = [client.get("/info/manifest") for _ in range(20)]

    assert {answer.status_code for answer in answers} == {401}
    assert len({answer.headers["x-request-id"] for answer in answers}) == 20


def test_the_server_logs_one_json_line_per_request(server: Server, api: httpx.Client) -> None:
    api.get("/info/me", headers={"x-request-id": "server-log-check"})

    deadline = time.monotonic() + 5
    lines: list[dict[str, Any]] = []
    while not lines and time.monotonic() < deadline:
        parsed = [json.loads(raw) for raw in server.log.read_text().splitlines() if raw.startswith("{")]
        lines = [line for line in parsed if line.get("request_id") == "server-log-check"]
        time.sleep(0.05)

    [line] = lines
    assert (line["logger"], line["method"], line["path"], line["status"], line["user"]) == (
        "dmart_attach.access",
        "GET",
        "/info/me",
        200,
        "dmart",
    )
    assert isinstance(line["duration_ms"], float)
