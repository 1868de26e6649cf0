"""JSON payload bodies: where they are kept, their checksum, and how updates merge into them."""

import hashlib
import json
from typing import Any

from dmart_attach.errors import DmartError
from dmart_attach.models.core import Payload
from dmart_attach.models.enums import ContentType


def checksum(body: Any) -> str:
    """Dmart's checksum of a JSON body: sha256 of Python's default `json.dumps`."""
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


def deep_merge(stored: Any, change: Any) -> Any:
    """Merge `change` into `stored` object by object; a null in `change` removes the key."""
    if not isinstance(stored, dict) or not isinstance(change, dict):
        return change
    merged = dict(stored)
    for key, value in change.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return _without_nulls(merged)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    return value


def invalid_body(message: str) -> DmartError:
    return DmartError(400, "request", 402, message)


def split_json_body(payload: Payload, *, file_stem: str) -> Any:
    """For JSON payloads, move the body out of `payload` into `<file_stem>.json` and return it.

    Inline payloads are left in place and None is returned.
    """
    body = payload.body
    if payload.content_type == ContentType.json:
        if not isinstance(body, (dict, list)):
            raise invalid_body("A JSON payload needs an object or a list as its body")
        payload.checksum = checksum(body)
        payload.body = f"{file_stem}.json"
        return body
    payload.checksum = checksum(body) if body is not None else None
    return None
