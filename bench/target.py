"""A service under test (this one or a Dmart peer): its address, an admin token, setup helpers."""

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.loadgen import Call

SPACE = "bench"


class Skip(Exception):
    """The workload cannot run here; the message goes into the table."""


@dataclass
class Target:
    """Where the workloads send their requests, and what their setups left behind."""

    name: str
    base_url: str
    server_pid: int
    admin: str
    password: str
    data: Path
    token: str = ""
    state: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, timeout=600)

    def login(self) -> None:
        answer = self.http.post("/user/login", json={"shortname": self.admin, "password": self.password})
        answer.raise_for_status()
        self.token = answer.json()["records"][0]["attributes"]["access_token"]

    @property
    def auth(self) -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {self.token}"),)

    def json_call(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Call:
        headers = self.auth if auth else ()
        if body is None:
            return Call(method, path, headers=headers)
        return Call(method, path, json.dumps(body).encode(), (*headers, ("Content-Type", "application/json")))

    def send(self, call: Call) -> httpx.Response:
        """Send one call once, with `@@N@@` filled in."""
        body = call.body.replace(b"@@N@@", uuid.uuid4().hex[:12].encode())
        return self.http.request(call.method, call.path, content=body or None, headers=dict(call.headers))

    def request(self, request_type: str, *records: dict[str, Any], space: str = SPACE) -> httpx.Response:
        body = {"space_name": space, "request_type": request_type, "records": list(records)}
        return self.send(self.json_call("POST", "/managed/request", body))

    def create(self, *records: dict[str, Any]) -> list[dict[str, Any]]:
        """Create records and insist it worked; answer the records the service gave back."""
        answer = self.request("create", *records)
        if answer.status_code != 200:
            raise RuntimeError(f"{self.name}: create answered {answer.status_code}: {answer.text[:300]}")
        created: list[dict[str, Any]] = answer.json().get("records") or []
        return created

    def require_route(self, method: str, path: str) -> None:
        """Skip when the route answers Dmart's catch-all (422, code 230): not on this build yet."""
        answer = self.http.request(method, path, headers=dict(self.auth), json={})
        if answer.status_code == 422 and _error_code(answer) == 230:
            raise Skip(f"{method} {path} answers 422/230 here: not on this build yet")

    def check(self, call: Call) -> httpx.Response:
        """Send the workload's request once; skip with the answer when it fails."""
        answer = self.send(call)
        if answer.status_code == 422 and _error_code(answer) == 230:
            raise Skip(f"{call.method} {call.path.split('?')[0]} answers 422/230 here: not on this build yet")
        if answer.status_code >= 400:
            raise Skip(f"{self.name} answered {answer.status_code}: {answer.text[:160]}")
        return answer


def _error_code(answer: httpx.Response) -> int | None:
    try:
        code = answer.json().get("error", {}).get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def record(resource_type: str, subpath: str, shortname: str, **attributes: Any) -> dict[str, Any]:
    """One record as a client sends it."""
    return {"resource_type": resource_type, "subpath": subpath, "shortname": shortname, "attributes": attributes}


def multipart(fields: dict[str, str], files: dict[str, tuple[str, str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body and its content type, built once so wrk can replay it."""
    boundary = "bench" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content_type, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"
