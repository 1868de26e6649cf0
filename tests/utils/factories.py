"""Small builders for the requests the tests send."""

import json
from typing import Any

from starlette.testclient import TestClient


def record(resource_type: str, subpath: str, shortname: str, **attributes: Any) -> dict[str, Any]:
    """One Record as a client sends it."""
    return {"resource_type": resource_type, "subpath": subpath, "shortname": shortname, "attributes": attributes}


def request_body(space_name: str, request_type: str, *records: dict[str, Any]) -> dict[str, Any]:
    """The body of POST /managed/request."""
    return {"space_name": space_name, "request_type": request_type, "records": list(records)}


def json_payload(body: Any, **extra: Any) -> dict[str, Any]:
    """A JSON payload attribute."""
    return {"content_type": "json", "body": body, **extra}


class Api:
    """A logged-in client with shortcuts for the common calls."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def request(self, space_name: str, request_type: str, *records: dict[str, Any]) -> Any:
        return self.client.post(
            "/managed/request", json=request_body(space_name, request_type, *records), headers=self.headers
        )

    def create(self, space_name: str, *records: dict[str, Any]) -> dict[str, Any]:
        """Create records and insist that it worked; answer the envelope."""
        response = self.request(space_name, "create", *records)
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def space(self, name: str, *folders: str) -> None:
        """Create a space and folders at its root."""
        self.create(name, record("space", "/", name, is_active=True))
        for folder in folders:
            self.create(name, record("folder", "/", folder, is_active=True))

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=self.headers)


def upload(
    api: Api,
    space_name: str,
    record_json: dict[str, Any],
    file_name: str | None,
    content: bytes,
    *,
    mime: str = "application/octet-stream",
    sha: str | None = None,
    record_as_field: bool = False,
) -> Any:
    """POST /managed/resource_with_payload with the record as a file part (or a plain field) and the file."""
    data = {"space_name": space_name}
    files: dict[str, Any] = {"payload_file": (file_name, content, mime)}
    if record_as_field:
        data["request_record"] = json.dumps(record_json)
    else:
        files["request_record"] = ("record.json", json.dumps(record_json).encode(), "application/json")
    if sha is not None:
        data["sha"] = sha
    return api.client.post("/managed/resource_with_payload", data=data, files=files, headers=api.headers)
