"""Dmart's answer envelope and the JSON response that carries it."""

from typing import Any

import orjson
from fastapi.responses import JSONResponse

from dmart_attach.errors import DmartError


class DmartJSON(JSONResponse):
    """JSON rendered with orjson, non-ASCII kept as UTF-8."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


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
    return DmartJSON(body, status_code=error.status_code)
