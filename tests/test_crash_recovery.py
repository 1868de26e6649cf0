"""A server process killed in the middle of a move or a delete: the next start finishes or undoes it."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings
from tests.conftest import ADMIN_PASSWORD, REPO, login
from tests.utils.factories import Api, json_payload, record, request_body

# Runs one request in a fresh process that kills itself (SIGKILL) at its Nth rename.
DYING_WORKER = """
import os, signal, sys
from pathlib import Path
from dmart_attach.config import Settings
from dmart_attach.models.api import Request
from dmart_attach.services.caller import Caller
from dmart_attach.services.container import build_services

spaces, state, survive, body = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
services = build_services(Settings(_env_file=None, spaces_folder=spaces, index_path=state, log_level="WARNING"))
real_replace = os.replace
calls = 0

def dying_replace(source, target):
    global calls
    calls += 1
    if calls > survive:
        os.kill(os.getpid(), signal.SIGKILL)
    real_replace(source, target)

os.replace = dying_replace
services.requests.handle(Request.model_validate_json(body), Caller("dmart"))
"""


@pytest.fixture
def draft(admin: Api) -> Api:
    """Entry notes/draft1 with a JSON payload and a comment."""
    admin.space("demo", "notes", "reports")
    admin.create("demo", record("content", "notes", "draft1", is_active=True, payload=json_payload({"text": "x"})))
    admin.create("demo", record("comment", "notes/draft1", "c1", is_active=True, body="Kept"))
    return admin


def kill_during(settings: Settings, body: dict[str, Any], *, survive: int) -> None:
    """Run `body` in a server process that is killed after `survive` renames."""
    arguments = [str(settings.spaces_root), str(settings.state_root), str(survive), json.dumps(body)]
    finished = subprocess.run(
        [sys.executable, "-c", DYING_WORKER, *arguments], cwd=REPO, capture_output=True, timeout=60, check=False
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr.decode()
    assert leftovers(settings.spaces_root) != [], "the kill came before the operation began"


def whole_entry(api: Api, subpath: str, shortname: str) -> tuple[Any, list[str]] | None:
    """The entry's payload body and comment names, or None when the entry is absent."""
    response = api.get(
        f"/managed/entry/content/demo/{subpath}/{shortname}", retrieve_json_payload=True, retrieve_attachments=True
    )
    if response.status_code == 404:
        return None
    entry = response.json()
    return entry["payload"]["body"], [item["shortname"] for item in entry["attachments"].get("comment", [])]


def restarted(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


def leftovers(root: Path) -> list[str]:
    return sorted(
        path.name for folder in (root / ".moves", root / ".trash") if folder.is_dir() for path in folder.iterdir()
    )


@pytest.mark.parametrize(("survive", "moved"), [(0, False), (1, True), (2, True), (3, True)])
def test_a_move_killed_midway_is_finished_or_undone_at_start(
    draft: Api, settings: Settings, survive: int, moved: bool
) -> None:
    body = request_body(
        "demo",
        "move",
        record(
            "content",
            "notes",
            "draft1",
            src_space_name="demo",
            src_subpath="notes",
            src_shortname="draft1",
            dest_space_name="demo",
            dest_subpath="reports",
            dest_shortname="final1",
        ),
    )

    kill_during(settings, body, survive=survive)

    with restarted(settings) as client:
        api = Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
        at_source, at_destination = whole_entry(api, "notes", "draft1"), whole_entry(api, "reports", "final1")
        meta = api.get("/managed/entry/content/demo/reports/final1").json() if moved else None
    assert (at_source, at_destination) == (
        (None, ({"text": "x"}, ["c1"])) if moved else (({"text": "x"}, ["c1"]), None)
    )
    if meta is not None:
        assert (meta["shortname"], meta["payload"]["body"]) == ("final1", "final1.json")
    assert leftovers(settings.spaces_root) == []


@pytest.mark.parametrize(("survive", "deleted"), [(0, False), (1, True), (2, True)])
def test_a_delete_killed_midway_is_finished_or_undone_at_start(
    draft: Api, settings: Settings, survive: int, deleted: bool
) -> None:
    kill_during(settings, request_body("demo", "delete", record("content", "notes", "draft1")), survive=survive)

    with restarted(settings) as client:
        api = Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
        found = whole_entry(api, "notes", "draft1")
    assert found == (None if deleted else ({"text": "x"}, ["c1"]))
    notes = settings.spaces_root / "demo/notes"
    assert (notes / "draft1.json").exists() is not deleted
    assert leftovers(settings.spaces_root) == []


def test_a_create_killed_before_its_meta_leaves_nothing_half_made_at_start(draft: Api, settings: Settings) -> None:
    created = record("content", "notes", "draft2", is_active=True, payload=json_payload({"text": "y"}))
    arguments = [
        str(settings.spaces_root),
        str(settings.state_root),
        "1",
        json.dumps(request_body("demo", "create", created)),
    ]
    finished = subprocess.run(
        [sys.executable, "-c", DYING_WORKER, *arguments], cwd=REPO, capture_output=True, timeout=60, check=False
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr.decode()
    notes = settings.spaces_root / "demo/notes"
    assert (notes / "draft2.json").is_file()
    [left] = [path.name for path in (notes / ".dm/draft2").iterdir()]
    assert left.startswith(".~tmp.meta.content.json.")

    with restarted(settings) as client:
        api = Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
        assert whole_entry(api, "notes", "draft2") is None
        assert whole_entry(api, "notes", "draft1") == ({"text": "x"}, ["c1"])
    assert not (notes / "draft2.json").exists()
    assert list(settings.spaces_root.rglob(".~tmp.*")) == []


def test_a_killed_writer_not_yet_reaped_still_counts_as_dead_at_start(draft: Api, settings: Settings) -> None:
    """A SIGKILLed process stays a zombie until its parent reaps it; a quick restart must not wait for that."""
    created = record("content", "notes", "draft3", is_active=True, payload=json_payload({"text": "z"}))
    arguments = [
        str(settings.spaces_root),
        str(settings.state_root),
        "1",
        json.dumps(request_body("demo", "create", created)),
    ]
    dying = subprocess.Popen([sys.executable, "-c", DYING_WORKER, *arguments], cwd=REPO, stderr=subprocess.PIPE)
    try:
        stat = Path(f"/proc/{dying.pid}/stat")
        deadline = time.monotonic() + 60
        while stat.read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert time.monotonic() < deadline, "the writer was never killed"
            time.sleep(0.05)
        notes = settings.spaces_root / "demo/notes"
        assert (notes / "draft3.json").is_file()

        with restarted(settings) as client:
            api = Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
            assert whole_entry(api, "notes", "draft3") is None
            health = api.get("/managed/health/demo").json()["attributes"]
        assert (health["healthy"], health["orphan_payloads"]) == (True, [])
        assert not (notes / "draft3.json").exists()
    finally:
        assert dying.wait(timeout=60) == -signal.SIGKILL
        assert dying.stderr is not None
        dying.stderr.close()


# Holds the claim a serving process holds on the tree until its standard input closes.
RUNNING_PROCESS = """
import sys
from pathlib import Path
from dmart_attach.storage.locks import claim_shared

claim_shared(Path(sys.argv[1]) / "serving.lock")
print("claimed", flush=True)
sys.stdin.read()
"""


def test_a_start_beside_a_running_process_leaves_the_files_it_writes_alone(draft: Api, settings: Settings) -> None:
    writing = settings.spaces_root / "demo/notes/.~tmp.draft9.json.0123456789ab"
    writing.write_bytes(b'{"text": "half')
    running = subprocess.Popen(
        [sys.executable, "-c", RUNNING_PROCESS, str(settings.state_root)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert running.stdout is not None and running.stdout.readline() == b"claimed\n"
        with restarted(settings):
            pass
        assert writing.read_bytes() == b'{"text": "half'
    finally:
        running.communicate(timeout=30)

    with restarted(settings):
        pass
    assert not writing.exists()


@pytest.mark.parametrize(("survive", "changed"), [(0, False), (1, True), (2, True)])
def test_an_update_killed_midway_leaves_its_body_and_meta_both_old_or_both_new(
    draft: Api, settings: Settings, survive: int, changed: bool
) -> None:
    update = record("content", "notes", "draft1", tags=["new"], payload=json_payload({"text": "changed"}))
    arguments = [str(settings.spaces_root), str(settings.state_root), str(survive)]
    finished = subprocess.run(
        [sys.executable, "-c", DYING_WORKER, *arguments, json.dumps(request_body("demo", "update", update))],
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert finished.returncode == -signal.SIGKILL, finished.stderr.decode()

    with restarted(settings) as client:
        api = Api(client, login(client, settings.admin_shortname, ADMIN_PASSWORD))
        entry = api.get("/managed/entry/content/demo/notes/draft1", retrieve_json_payload=True).json()
        health = api.get("/managed/health/hard/demo").json()["attributes"]
    assert (entry["tags"], entry["payload"]["body"]) == (
        (["new"], {"text": "changed"}) if changed else ([], {"text": "x"})
    )
    assert (health["checksum_mismatches"], health["healthy"]) == ([], True)
    assert list(settings.spaces_root.rglob(".~tmp.*")) == []
    assert leftovers(settings.spaces_root) == []
