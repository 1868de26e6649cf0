"""Every case of `cases/handed.jsonl`, replayed as the file spells it, with the expectations of its notes.

A small interpreter reads each case: its setup requests must succeed, its request (plain, JSON, raw body,
multipart from its parts, parallel, in rounds with `{n}` substituted) must meet `expect`, and each `verify`
request must meet its own. What a case's `note` binds is checked by that case's entry in `NOTES`.
"""

import base64
import copy
import hashlib
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from dmart_attach.api.app import create_app
from tests.conftest import ADMIN_PASSWORD, login, make_settings
from tests.utils.handed import CASES

Exchange = dict[str, Any]


@dataclass
class Outcome:
    """What one replay of a case answered: the request's answers per round, then the verify answers."""

    answers: list[list[httpx.Response]] = field(default_factory=list)
    verified: list[list[httpx.Response]] = field(default_factory=list)


@dataclass
class Service:
    """A fresh service over its own tree, with the admin's headers."""

    client: TestClient
    headers: dict[str, str]
    spaces: Path


@contextmanager
def fresh_service(folder: Path) -> Iterator[Service]:
    spaces = folder / "spaces"
    spaces.mkdir(parents=True)
    settings = make_settings(spaces, data_asset_workers=1)
    with TestClient(create_app(settings)) as client:
        yield Service(client, login(client, settings.admin_shortname, ADMIN_PASSWORD), settings.spaces_root)


def substitute(value: Any, round_value: str) -> Any:
    """`value` with the round variable `{n}` replaced in every string."""
    if isinstance(value, str):
        return value.replace("{n}", round_value)
    if isinstance(value, list):
        return [substitute(item, round_value) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, round_value) for key, item in value.items()}
    return value


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def multipart(parts: list[dict[str, Any]]) -> tuple[bytes, str]:
    """The form-data body of a case's parts, byte for byte, and its Content-Type with the boundary."""
    boundary = f"handed-{uuid.uuid4().hex}"
    body = bytearray()
    for part in parts:
        disposition = part.get("disposition")
        if disposition is None:
            disposition = f'form-data; name="{_quoted(part["name"])}"'
            if part.get("filename") is not None:
                disposition += f'; filename="{_quoted(part["filename"])}"'
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        if part.get("content_type") is not None:
            body += f"Content-Type: {part['content_type']}\r\n".encode()
        content = base64.b64decode(part["content_b64"]) if "content_b64" in part else part["content"].encode()
        body += b"\r\n" + content + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return bytes(body), f"multipart/form-data; boundary={boundary}"


def send(service: Service, exchange: Exchange) -> httpx.Response:
    """One request of a case, with the admin's token."""
    headers = {**exchange.get("headers", {}), **service.headers}
    content: bytes | None = None
    if "multipart" in exchange:
        content, headers["Content-Type"] = multipart(exchange["multipart"])
    elif "body" in exchange:
        content = exchange["body"].encode()
    return service.client.request(
        exchange["method"], exchange["path"], headers=headers, json=exchange.get("json"), content=content
    )


def contains(answer: Any, subset: Any) -> bool:
    """`json_subset`: objects key by key, arrays element by element with the same length, scalars equal."""
    if isinstance(subset, dict):
        return isinstance(answer, dict) and all(key in answer and contains(answer[key], subset[key]) for key in subset)
    if isinstance(subset, list):
        same_length = isinstance(answer, list) and len(answer) == len(subset)
        return same_length and all(contains(item, part) for item, part in zip(answer, subset, strict=False))
    return type(answer) is type(subset) and bool(answer == subset)


def check(response: httpx.Response, expect: dict[str, Any]) -> None:
    """A single answer meets `expect`: status, JSON subset, headers and exact body."""
    shown = f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:600]}"
    statuses = expect["status"] if isinstance(expect["status"], list) else [expect["status"]]
    assert response.status_code != 500, shown
    assert response.status_code in statuses, shown
    if response.status_code >= 400:
        assert response.json()["status"] == "failed", shown
    if "json_subset" in expect:
        assert contains(response.json(), expect["json_subset"]), shown
    for name, value in expect.get("headers", {}).items():
        assert response.headers.get(name) == value, (name, response.headers.get(name))
    if "body_b64" in expect:
        assert response.content == base64.b64decode(expect["body_b64"]), shown
    if "body_text" in expect:
        assert response.text == expect["body_text"], shown


def check_together(responses: list[httpx.Response], expect: dict[str, Any]) -> None:
    """Parallel answers: with `status_mode: multiset` their statuses are the listed ones in any order."""
    assert expect.get("status_mode") == "multiset"
    statuses = sorted(response.status_code for response in responses)
    assert statuses == sorted(expect["status"]), [response.text for response in responses]
    for response in responses:
        check(response, {key: value for key, value in expect.items() if key != "status_mode"})


def tree_state(spaces: Path) -> dict[str, str]:
    """Every folder and file under the tree, files with the hash of their bytes."""
    state: dict[str, str] = {}
    for path in sorted(spaces.rglob("*")):
        key = str(path.relative_to(spaces))
        state[key] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
    return state


def replay(case: dict[str, Any], folder: Path, *, also: tuple[Exchange, ...] = ()) -> Outcome:
    """Run a case on a fresh service: setup, the request in each round, then its verify requests.

    `also` holds other forms of a refused request, sent after it and held to the same expectation.
    """
    request = case["request"]
    rounds = [str(number) for number in range(request["rounds"])] if "rounds" in request else [""]
    statuses = case["expect"]["status"] if isinstance(case["expect"]["status"], list) else [case["expect"]["status"]]
    refused = all(status >= 400 for status in statuses)
    with fresh_service(folder) as service:
        outcome = Outcome()
        for step in case["setup"]:
            answer = send(service, step)
            assert answer.status_code == 200, (step["path"], answer.text)

        for round_value in rounds:
            before = tree_state(service.spaces)
            if "parallel" in request:
                exchanges = substitute(request["parallel"], round_value)
                with ThreadPoolExecutor(len(exchanges)) as pool:
                    answers = list(pool.map(lambda exchange: send(service, exchange), exchanges))
                check_together(answers, case["expect"])
            else:
                answers = [send(service, substitute(request, round_value))]
                check(answers[0], case["expect"])
            if refused and "parallel" not in request:
                # Bad input changes nothing on disk.
                assert tree_state(service.spaces) == before
            for other in also:
                assert refused
                check(send(service, other), case["expect"])
                assert tree_state(service.spaces) == before
            outcome.answers.append(answers)

            verified = []
            for follow_up in case.get("verify", []):
                answer = send(service, substitute(follow_up["request"], round_value))
                check(answer, follow_up["expect"])
                verified.append(answer)
            outcome.verified.append(verified)
    return outcome


def client_file_names(case: dict[str, Any]) -> set[str]:
    """The last component of every file name a case's parts send."""
    exchanges = [*case["setup"], case["request"], *(item["request"] for item in case.get("verify", []))]
    names = set()
    for exchange in exchanges:
        for part in exchange.get("multipart", []):
            if part.get("filename"):
                names.add(part["filename"].replace("\\", "/").rsplit("/", 1)[-1])
    return names


def places_outside(spaces: Path, names: set[str]) -> set[Path]:
    """Where files of these names exist: anywhere under the test's folder or beside any folder above it."""
    found = {path for path in spaces.parent.rglob("*") if path.name in names}
    for folder in spaces.parents:
        found |= {folder / name for name in names if (folder / name).exists()}
    return found


def with_part_content_type(case: dict[str, Any], content_type: str | None) -> dict[str, Any]:
    """The case with its payload_file part sent under another Content-Type (None: no such header)."""
    changed = copy.deepcopy(case)
    for part in changed["request"]["multipart"]:
        if part["name"] == "payload_file":
            part["content_type"] = content_type
    return changed


def with_query(request: Exchange, query_string: str) -> Exchange:
    """The request with another SQL query."""
    changed = copy.deepcopy(request)
    changed["json"]["query_string"] = query_string
    return changed


def failed_record(response: httpx.Response) -> dict[str, Any]:
    """The one failed record of a refused /managed/request."""
    error = response.json()["error"]
    assert error["code"] == 430, response.text
    [failed] = error["info"][0]["failed"]
    record: dict[str, Any] = failed
    return record


def note_b01(case: dict[str, Any], folder: Path) -> None:
    """The recreated entry lists no comment: c1 belonged to the deleted one."""
    [[answer]] = replay(case, folder).answers
    assert answer.json().get("attachments", {}).get("comment", []) == []


def note_b07(case: dict[str, Any], folder: Path) -> None:
    """The same outcome for Windows' label, curl's default and no Content-Type at all."""
    for number, content_type in enumerate(["application/vnd.ms-excel", "application/octet-stream", None]):
        replay(with_part_content_type(case, content_type), folder / f"variant{number}")


def note_b09(case: dict[str, Any], folder: Path) -> None:
    """The failed record names dest_shortname, with Dmart's INVALID_DATA code."""
    [[answer]] = replay(case, folder).answers
    failed = failed_record(answer)
    assert failed["error_code"] == 402, answer.text
    assert "dest_shortname" in failed["error"], failed


def note_b14(case: dict[str, Any], folder: Path) -> None:
    """No file of the client's name appears anywhere, inside the tree or outside it."""
    names = client_file_names(case)
    spaces = folder / "spaces"
    before = places_outside(spaces, names)
    replay(case, folder)
    assert places_outside(spaces, names) == before


def note_b19(case: dict[str, Any], folder: Path) -> None:
    """Writing files, attaching databases and loading extensions are refused like reading files."""
    queries = [
        "SELECT * FROM read_csv('/etc/passwd')",
        "COPY (SELECT 1 AS one) TO 'dmart_attach_copied.csv'",
        "ATTACH '/tmp/dmart_attach_attached.duckdb' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
    ]
    replay(case, folder, also=tuple(with_query(case["request"], query) for query in queries))
    assert not Path("dmart_attach_copied.csv").exists()
    assert not Path("/tmp/dmart_attach_attached.duckdb").exists()


def note_b23(case: dict[str, Any], folder: Path) -> None:
    """In every round one create wins, the other fails as already existing, and the entry is the winner's."""
    outcome = replay(case, folder)
    sent = [exchange["json"]["records"][0]["attributes"]["displayname"] for exchange in case["request"]["parallel"]]
    for answers, [stored] in zip(outcome.answers, outcome.verified, strict=True):
        [winner] = [number for number, answer in enumerate(answers) if answer.status_code == 200]
        [loser] = [answer for number, answer in enumerate(answers) if number != winner]
        assert answers[winner].json()["status"] == "success"
        assert failed_record(loser)["error_code"] == 400, loser.text
        assert stored.json()["displayname"] == sent[winner]


NOTES: dict[str, Callable[[dict[str, Any], Path], None]] = {
    "B01": note_b01,
    "B07": note_b07,
    "B09": note_b09,
    "B14": note_b14,
    "B19": note_b19,
    "B23": note_b23,
}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_handed_case_meets_its_expectations(case_id: str, tmp_path: Path) -> None:
    case = CASES[case_id]
    run = NOTES.get(case_id)
    if run is None:
        replay(case, tmp_path)
    else:
        run(case, tmp_path)
