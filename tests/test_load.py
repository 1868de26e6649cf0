"""Fifty clients reading and writing at once against two worker processes: no error, no lost or doubled write."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.utils.factories import json_payload, record, request_body
from tests.utils.process import Served, login, serve

SPACE = "load"
CLIENTS = 50
SECONDS = 6.0


@dataclass
class Client:
    """What one client was told: the writes the server acknowledged and every answer that was not a success."""

    number: int
    count: int = 0
    comments: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def entry(self) -> str:
        return f"c{self.number}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    spaces = tmp_path / "spaces"
    spaces.mkdir()
    running = serve(spaces, tmp_path / "state", workers=2)
    try:
        yield running
    finally:
        running.stop()


def send(http: httpx.Client, request_type: str, *records: dict[str, Any]) -> httpx.Response:
    return http.post("/managed/request", json=request_body(SPACE, request_type, *records))


def work(served: Served, client: Client, start: threading.Barrier, until: list[float]) -> None:
    """Log in once, then mix reads and writes on the client's own entry until the time is up."""
    with httpx.Client(base_url=served.url, timeout=60) as http:
        http.headers.update(login(http, "dmart", ADMIN_PASSWORD))
        made = send(http, "create", record("content", "items", client.entry, payload=json_payload({"count": 0})))
        if made.status_code != 200:
            client.errors.append(f"create {client.entry}: {made.status_code} {made.text}")
            return
        start.wait()
        step = 0
        while time.monotonic() < until[0]:
            step += 1
            kind = step % 5
            if kind == 0:
                answer = http.get(
                    f"/managed/entry/content/{SPACE}/items/{client.entry}", params={"retrieve_json_payload": "true"}
                )
                if answer.status_code == 200 and answer.json()["payload"]["body"] != {"count": client.count}:
                    client.errors.append(f"read {answer.json()['payload']['body']}, wrote {client.count}")
            elif kind == 1:
                body = {"count": client.count + 1}
                answer = send(http, "update", record("content", "items", client.entry, payload=json_payload(body)))
                if answer.status_code == 200:
                    client.count += 1
            elif kind == 2:
                name = f"k{client.number}_{step}"
                answer = send(http, "create", record("comment", f"items/{client.entry}", name, body=f"note {step}"))
                if answer.status_code == 200:
                    client.comments.append(name)
            elif kind == 3:
                name = f"e{client.number}_{step}"
                answer = send(http, "create", record("content", "items", name, tags=[client.entry]))
                if answer.status_code == 200:
                    client.created.append(name)
            else:
                query = {"type": "search", "space_name": SPACE, "subpath": "items", "search": f"@tags:{client.entry}"}
                answer = http.post("/managed/query", json=query)
                if answer.status_code == 200 and answer.json()["attributes"]["total"] < len(client.created):
                    client.errors.append(f"query found {answer.json()['attributes']['total']} of {client.created}")
            if answer.status_code != 200:
                client.errors.append(f"step {step}: {answer.status_code} {answer.text}")


def test_fifty_clients_on_two_workers_lose_and_double_nothing(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=60) as http:
        http.headers.update(login(http, "dmart", ADMIN_PASSWORD))
        assert send(http, "create", record("space", "/", SPACE, is_active=True)).status_code == 200
        assert send(http, "create", record("folder", "/", "items", is_active=True)).status_code == 200

    clients = [Client(number) for number in range(CLIENTS)]
    start = threading.Barrier(CLIENTS + 1, timeout=120)
    until = [0.0]
    threads = [threading.Thread(target=work, args=(served, client, start, until)) for client in clients]
    for thread in threads:
        thread.start()
    until[0] = time.monotonic() + 120
    start.wait()
    until[0] = time.monotonic() + SECONDS
    for thread in threads:
        thread.join(120)

    assert [error for client in clients for error in client.errors] == []
    assert sum(client.count for client in clients) > CLIENTS, "too few writes to say anything"
    with httpx.Client(base_url=served.url, timeout=60) as http:
        http.headers.update(login(http, "dmart", ADMIN_PASSWORD))
        for client in clients:
            entry = http.get(
                f"/managed/entry/content/{SPACE}/items/{client.entry}",
                params={"retrieve_json_payload": "true", "retrieve_attachments": "true"},
            ).json()
            assert entry["payload"]["body"] == {"count": client.count}
            assert sorted(item["shortname"] for item in entry["attachments"].get("comment", [])) == sorted(
                client.comments
            )
        listing = http.post(
            "/managed/query",
            json={"type": "subpath", "space_name": SPACE, "subpath": "items", "limit": 10000},
        ).json()
        histories = [
            http.post(
                "/managed/query",
                json={
                    "type": "history",
                    "space_name": SPACE,
                    "subpath": "items",
                    "filter_shortnames": [client.entry],
                    "limit": 10000,
                },
            ).json()["attributes"]["total"]
            for client in clients
        ]

    names = [item["shortname"] for item in listing["records"]]
    expected = [client.entry for client in clients] + [name for client in clients for name in client.created]
    assert (listing["attributes"]["total"], sorted(names)) == (len(expected), sorted(expected))
    # One history line for each acknowledged update and each comment (a create is an event of the space only).
    assert histories == [client.count + len(client.comments) for client in clients]
