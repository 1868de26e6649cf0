"""Shared pieces of the upload tests: the space files are attached in, and how an answer is read."""

import json
from pathlib import Path
from typing import Any

from tests.utils.factories import Api, record

SPACE = "demo"


def attachment_parents(admin: Api) -> Api:
    """Make the space with an entry `reports/sales` and an entry `gallery/album1` to attach files to."""
    admin.space(SPACE, "reports", "gallery")
    admin.create(SPACE, record("content", "reports", "sales", is_active=True))
    admin.create(SPACE, record("content", "gallery", "album1", is_active=True))
    return admin


def tree_files(root: Path) -> set[str]:
    """The relative path of every file under `root`."""
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def stored_record(answer: Any) -> dict[str, Any]:
    """The one record an upload answers, insisting that it succeeded."""
    assert answer.status_code == 200, answer.text
    stored: dict[str, Any] = answer.json()["records"][0]
    return stored


def raw_multipart(record_json: dict[str, Any], disposition: str, content: bytes) -> tuple[bytes, str]:
    """An upload form written by hand, with the file part's Content-Disposition exactly as given."""
    boundary = "dmartboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="space_name"\r\n\r\n{SPACE}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="request_record"; filename="record.json"\r\n'
            f"Content-Type: application/json\r\n\r\n{json.dumps(record_json)}\r\n"
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"
