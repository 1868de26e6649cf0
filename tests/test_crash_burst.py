"""The real server killed with SIGKILL in the middle of a burst of writes: what it acknowledged survives whole."""

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from dmart_attach.storage.atomic import TEMP_PREFIX
from dmart_attach.storage.index import Index
from dmart_attach.storage.layout import Layout
from dmart_attach.storage.moves import MOVES
from dmart_attach.storage.removal import TRASH
from tests.conftest import ADMIN_PASSWORD
from tests.utils.factories import json_payload, record, request_body
from tests.utils.process import Served, login, serve

SPACE = "crash"
THREADS = 6
# Each writer stops after this many steps, so a late kill point still ends the burst in bounded time.
MOST_STEPS = 400

# Where an entry is: its folder and its JSON body; None when it must not exist.
Place = tuple[str, Any] | None


@dataclass
class Writer:
    """One thread's writes: what the server acknowledged, and the one write it may have cut off."""

    number: int
    acknowledged: dict[str, Place] = field(default_factory=dict)
    # The shortname whose write got no answer, with its place before and after that write.
    unanswered: tuple[str, Place, Place] | None = None
    refused: list[str] = field(default_factory=list)


def space_request(client: httpx.Client, request_type: str, *records: dict[str, Any]) -> httpx.Response:
    return client.post("/managed/request", json=request_body(SPACE, request_type, *records))


def upload_json(client: httpx.Client, shortname: str, body: Any) -> httpx.Response:
    """Create an entry whose payload is an uploaded JSON file."""
    sent = record("content", "burst", shortname, is_active=True)
    files = {
        "request_record": ("record.json", json.dumps(sent).encode(), "application/json"),
        "payload_file": (f"{shortname}.json", json.dumps(body).encode(), "application/json"),
    }
    return client.post("/managed/resource_with_payload", data={"space_name": SPACE}, files=files)


def moved(shortname: str) -> dict[str, Any]:
    return record(
        "content",
        "burst",
        shortname,
        src_space_name=SPACE,
        src_subpath="burst",
        src_shortname=shortname,
        dest_space_name=SPACE,
        dest_subpath="moved",
        dest_shortname=shortname,
    )


def steps(number: int) -> list[tuple[str, Callable[[httpx.Client], httpx.Response], Place, Place]]:
    """The writes of one thread, each with the shortname it touches and that entry's place before and after."""
    planned: list[tuple[str, Callable[[httpx.Client], httpx.Response], Place, Place]] = []
    own = f"own{number}"
    counter: Place = ("burst", {"n": -1})
    for cycle in range(MOST_STEPS // 5):
        created, uploaded = f"b{number}_{cycle}", f"u{number}_{cycle}"
        created_body = {"writer": number, "cycle": cycle}
        uploaded_body = {"writer": number, "cycle": cycle, "file": True}
        counted: Place = ("burst", {"n": cycle})
        planned += [
            (
                created,
                lambda c, s=created, b=created_body: space_request(
                    c, "create", record("content", "burst", s, is_active=True, payload=json_payload(b))
                ),
                None,
                ("burst", created_body),
            ),
            (uploaded, lambda c, s=uploaded, b=uploaded_body: upload_json(c, s, b), None, ("burst", uploaded_body)),
            (
                own,
                lambda c, b={"n": cycle}: space_request(
                    c, "update", record("content", "burst", own, payload=json_payload(b))
                ),
                counter,
                counted,
            ),
            (
                created,
                lambda c, s=created: space_request(c, "move", moved(s)),
                ("burst", created_body),
                ("moved", created_body),
            ),
        ]
        counter = counted
        if cycle % 2:
            # Delete the entry moved in the cycle before; in even cycles, the file uploaded in the cycle before.
            gone = f"b{number}_{cycle - 1}"
            before: Place = ("moved", {"writer": number, "cycle": cycle - 1})
            planned.append(
                (gone, lambda c, s=gone: space_request(c, "delete", record("content", "moved", s)), before, None)
            )
        elif cycle:
            gone = f"u{number}_{cycle - 1}"
            before = ("burst", {"writer": number, "cycle": cycle - 1, "file": True})
            planned.append(
                (gone, lambda c, s=gone: space_request(c, "delete", record("content", "burst", s)), before, None)
            )
    return planned


def run_writer(served: Served, headers: dict[str, str], writer: Writer, acknowledged: list[int]) -> None:
    """Send the thread's writes one after another until the server stops answering."""
    with httpx.Client(base_url=served.url, headers=headers, timeout=20) as client:
        for shortname, send, before, after in steps(writer.number):
            try:
                response = send(client)
            except httpx.TransportError:
                writer.unanswered = (shortname, before, after)
                return
            if response.status_code != 200:
                writer.refused.append(f"{shortname}: {response.status_code} {response.text}")
                return
            writer.acknowledged[shortname] = after
            acknowledged.append(1)


def read_place(client: httpx.Client, shortname: str) -> Place:
    """Where the restarted server finds the entry, with its body, read both from the meta and the payload route."""
    for folder in ("burst", "moved"):
        response = client.get(
            f"/managed/entry/content/{SPACE}/{folder}/{shortname}", params={"retrieve_json_payload": "true"}
        )
        if response.status_code == 404:
            continue
        assert response.status_code == 200, response.text
        body = response.json()["payload"]["body"]
        raw = client.get(f"/managed/payload/content/{SPACE}/{folder}/{shortname}.json")
        assert (raw.status_code, raw.json()["attributes"]) == (200, body)
        return folder, body
    return None


def listed(client: httpx.Client, folder: str) -> set[str]:
    response = client.post(
        "/managed/query", json={"type": "subpath", "space_name": SPACE, "subpath": folder, "limit": 10000}
    )
    assert response.status_code == 200, response.text
    return {item["shortname"] for item in response.json()["records"]}


def on_disk(spaces: Path, folder: str) -> set[str]:
    return {path.parent.name for path in (spaces / SPACE / folder / ".dm").glob("*/meta.content.json")}


def strays(spaces: Path) -> list[str]:
    """Temporary files, unfinished journals and unreadable metas anywhere in the tree."""
    found = [str(path.relative_to(spaces)) for path in spaces.rglob(f"{TEMP_PREFIX}*")]
    found += [str(path.relative_to(spaces)) for name in (MOVES, TRASH) for path in (spaces / name).glob("*")]
    for meta in spaces.rglob("meta.*.json"):
        try:
            json.loads(meta.read_bytes())
        except ValueError:
            found.append(f"unreadable {meta.relative_to(spaces)}")
    return sorted(found)


def index_matches_a_rebuild(spaces: Path, state: Path, scratch: Path) -> None:
    kept = Index(state / "index.sqlite", Layout(spaces))
    fresh = Index(scratch / "fresh.sqlite", Layout(spaces))
    fresh.rebuild()
    assert kept.snapshot() == fresh.snapshot()
    assert kept.derived() == fresh.derived()
    assert kept.tallies() == fresh.tallies()
    kept.close()
    fresh.close()


def wait_for(kill_point: tuple[str, float], acknowledged: list[int]) -> None:
    """Wait for the kill point: a number of acknowledged writes, or some time after the first one."""
    kind, amount = kill_point
    deadline = time.monotonic() + 30
    while len(acknowledged) < (amount if kind == "acknowledged" else 1) and time.monotonic() < deadline:
        time.sleep(0.002)
    if kind == "seconds":
        time.sleep(amount)


@pytest.mark.parametrize(
    "kill_point",
    [("acknowledged", 1), ("acknowledged", 30), ("seconds", 0.4)],
    ids=lambda point: f"{point[0]}-{point[1]}",
)
def test_acknowledged_writes_survive_a_kill_mid_burst(tmp_path: Path, kill_point: tuple[str, float]) -> None:
    spaces, state = tmp_path / "spaces", tmp_path / "state"
    spaces.mkdir()
    served = serve(spaces, state)
    try:
        with httpx.Client(base_url=served.url, timeout=20) as client:
            headers = login(client, "dmart", ADMIN_PASSWORD)
            client.headers.update(headers)
            setup = [
                (record("space", "/", SPACE, is_active=True),),
                (record("folder", "/", "burst", is_active=True), record("folder", "/", "moved", is_active=True)),
                tuple(
                    record("content", "burst", f"own{n}", is_active=True, payload=json_payload({"n": -1}))
                    for n in range(THREADS)
                ),
            ]
            for records in setup:
                assert space_request(client, "create", *records).status_code == 200

        writers = [Writer(number) for number in range(THREADS)]
        acknowledged: list[int] = []
        threads = [
            threading.Thread(target=run_writer, args=(served, headers, writer, acknowledged)) for writer in writers
        ]
        for thread in threads:
            thread.start()
        wait_for(kill_point, acknowledged)
        served.kill()
        for thread in threads:
            thread.join(30)
    finally:
        served.kill()

    assert [refusal for writer in writers for refusal in writer.refused] == []
    assert len(acknowledged) > 0, "the kill came before any write was acknowledged"
    assert any(writer.unanswered for writer in writers), "the kill came after the burst"

    again = serve(spaces, state)
    try:
        with httpx.Client(base_url=again.url, timeout=20) as client:
            client.headers.update(login(client, "dmart", ADMIN_PASSWORD))
            expected = {f"own{n}": ("burst", {"n": -1}) for n in range(THREADS)}
            uncertain: dict[str, tuple[Place, Place]] = {}
            for writer in writers:
                expected.update(writer.acknowledged)
                if writer.unanswered:
                    shortname, before, after = writer.unanswered
                    uncertain[shortname] = (before, after)
            for shortname, place in expected.items():
                if shortname not in uncertain:
                    assert read_place(client, shortname) == place, shortname
            for shortname, (before, after) in uncertain.items():
                assert read_place(client, shortname) in (before, after), shortname

            present = {name for name, place in expected.items() if place is not None}
            for folder in ("burst", "moved"):
                found = listed(client, folder)
                assert found == on_disk(spaces, folder)
                certain = {name for name in present if expected[name] and expected[name][0] == folder}
                assert certain - uncertain.keys() <= found
                assert found - certain <= uncertain.keys()

            health = client.get(f"/managed/health/hard/{SPACE}")
            assert health.status_code == 200, health.text
            assert health.json()["attributes"]["healthy"] is True, health.text
    finally:
        again.stop()

    assert strays(spaces) == []
    index_matches_a_rebuild(spaces, state, tmp_path / "scratch")
