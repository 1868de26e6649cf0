"""The user's upload example through a real server, sent with `curl -F`."""

import hashlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from dmart_attach.api.app import create_app
from dmart_attach.api.multipart import FLUSH_SIZE
from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.utils.factories import json_payload, record, request_body

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")

USERS_EXAMPLE = """{
    "resource_type": "csv",
        "subpath": "asset_csv/test_csv",
        "shortname": "auto",
        "attributes": {
        "is_active": true,
        "payload": {
            "content_type": "csv",
            "schema_shortname": "users",
            "body": {}
        }
    }
}
"""


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """The service on a free port of the loopback, in a thread; answers its base URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning", access_log=False)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.started
    port = running.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(timeout=10)


def _curl_upload(base: str, token: str, folder: Path, csv_text: str) -> tuple[int, dict[str, Any]]:
    (folder / "record.json").write_text(USERS_EXAMPLE)
    (folder / "people.csv").write_text(csv_text)
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "30", "-w", "\n%{http_code}", f"{base}/managed/resource_with_payload",
         "-H", f"authorization: Bearer {token}",
         "-F", "space_name=demo",
         "-F", f"request_record=@{folder / 'record.json'}",
         "-F", f"payload_file=@{folder / 'people.csv'}"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    body, _, status = result.stdout.rpartition("\n")
    return int(status), json.loads(body)


def test_users_example_through_curl(server: str, tmp_path: Path) -> None:
    with httpx.Client(base_url=server, timeout=30) as client:
        login = client.post("/user/login", json={"shortname": "dmart", "password": ADMIN_PASSWORD})
        token = login.json()["records"][0]["attributes"]["access_token"]
        headers = {"authorization": f"Bearer {token}"}
        users = {"type": "object", "properties": {"email": {"type": "string", "pattern": "@"}}, "required": ["email"]}
        for records in (
            [record("space", "/", "demo", is_active=True)],
            [record("folder", "/", "asset_csv", is_active=True)],
            [record("content", "asset_csv", "test_csv", is_active=True)],
            [record("schema", "schema", "users", is_active=True, payload=json_payload(users))],
        ):
            answer = client.post("/managed/request", json=request_body("demo", "create", *records), headers=headers)
            assert answer.status_code == 200, answer.text

        status, stored = _curl_upload(server, token, tmp_path, "id,email\n1,a@x.org\n2,b@x.org\n")
        refused_status, refused = _curl_upload(server, token, tmp_path, "id,email\n1,a@x.org\n2,nobody\n")

        assert status == 200
        attachment = stored["records"][0]
        served = client.get(
            f"/managed/payload/csv/demo/asset_csv/test_csv/{attachment['shortname']}.csv", headers=headers
        )
    assert attachment["attributes"]["payload"]["row_count"] == 2
    assert served.text == "id,email\n1,a@x.org\n2,b@x.org\n"
    assert refused_status == 400
    assert refused["error"] == {
        "type": "validation",
        "code": 422,
        "message": "Validation error [3]",
        "info": [{"loc": [3, "email"], "msg": "'nobody' does not match '@'"}],
    }


@pytest.mark.parametrize("size", [FLUSH_SIZE + 9, 2 * FLUSH_SIZE + 100, 3 * FLUSH_SIZE])
def test_a_file_ending_just_past_a_batch_comes_back_whole(server: str, size: int) -> None:
    content = (b"%PDF-1.4\n" + bytes(range(256)) * (size // 256 + 1))[:size]
    with httpx.Client(base_url=server, timeout=30) as client:
        login = client.post("/user/login", json={"shortname": "dmart", "password": ADMIN_PASSWORD})
        headers = {"authorization": f"Bearer {login.json()['records'][0]['attributes']['access_token']}"}
        for records in (
            [record("space", "/", "demo", is_active=True)],
            [record("content", "/", "doc", is_active=True)],
        ):
            answer = client.post("/managed/request", json=request_body("demo", "create", *records), headers=headers)
            assert answer.status_code == 200, answer.text
        wanted = record("media", "doc", "file", is_active=True)

        stored = client.post(
            "/managed/resource_with_payload",
            data={"space_name": "demo", "request_record": json.dumps(wanted)},
            files={"payload_file": ("file.pdf", content, "application/pdf")},
            headers=headers,
        )
        served = client.get("/managed/payload/media/demo/doc/file.pdf", headers=headers)

    assert stored.status_code == 200, stored.text
    assert stored.json()["records"][0]["attributes"]["payload"]["checksum"] == hashlib.sha256(content).hexdigest()
    assert served.content == content
