"""Dmart's answer envelope and the JSON response that carries it."""

import json
from typing import Any

import orjson
from fastapi.responses import JSONResponse
from pydantic_core import to_jsonable_python

from dmart_attach.errors import DmartError


def dumps(content: Any) -> bytes:
    """JSON bytes of `content`, non-ASCII kept as UTF-8.

    orjson refuses what a tree may hold (integers beyond 64 bits, nesting past its limit, lone
    surrogates); Python's encoder still writes those as valid JSON, as Dmart wrote them.
    """
    try:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return json.dumps(content, separators=(",", ":"), default=to_jsonable_python).encode()


class DmartJSON(JSONResponse):
    """JSON rendered with orjson, non-ASCII kept as UTF-8."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


def success(*, records: list[Any] | None = None, attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A success envelope; absent parts are left out as Dmart leaves out nulls."""
    answer: dict[str, Any] = {"status": "success"}
    if records is not None:
        answer["records"] = records
    if attributes is not None:
        answer["attributes"] = attributes
    return answer


def failure(error: DmartError) -> DmartJSON:
    """The failure envelope for `error`, with all four keys as Dmart answers it."""
    body = {"status": "failed", "error": error.as_error(), "records": None, "attributes": None}
    return DmartJSON(body, status_code=error.status_code, headers=error.headers)
