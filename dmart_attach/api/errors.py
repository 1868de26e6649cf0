"""Turning every error into Dmart's envelope, in one place."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from dmart_attach.api.envelope import dumps, failure
from dmart_attach.errors import DmartError

logger = logging.getLogger(__name__)

MAX_ECHOED_INPUT = 1024
CATCH_ALL = DmartError(422, "catchall", 230, "Requested method or path is invalid")


SECRET_KEYS = frozenset({"password"})
MASK = "******"


def _masked(value: Any) -> Any:
    """`value` with every secret in it masked, as an error may echo what a client sent."""
    if isinstance(value, dict):
        return {key: MASK if key in SECRET_KEYS else _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _validation_info(errors: Any) -> list[Any]:
    info = []
    for error in errors:
        item = {key: error[key] for key in ("type", "loc", "msg", "input", "ctx") if key in error}
        if "input" in item:
            secret = any(part in SECRET_KEYS for part in item["loc"] if isinstance(part, str))
            item["input"] = MASK if secret else _masked(item["input"])
        info.append(item)
    encoded: list[Any] = jsonable_encoder(
        info, custom_encoder={Exception: str, bytes: lambda raw: raw.decode(errors="replace")}
    )
    for item in encoded:
        if "input" not in item:
            continue
        try:
            size = len(dumps(item["input"]))
        except RecursionError:
            item["input"] = "<nested too deeply, not repeated>"
            continue
        # An answer never repeats a large input back: one huge field would multiply the body.
        if size > MAX_ECHOED_INPUT:
            item["input"] = f"<{size} bytes, not repeated>"
    return encoded


async def on_dmart_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, DmartError)
    return failure(error)


async def on_validation_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    return failure(DmartError(422, "validation", 424, "Validation error [1]", _validation_info(error.errors())))


async def on_http_error(request: Request, error: Exception) -> Response:
    # Unknown paths and wrong methods answer Dmart's catch-all, never 404 or 405.
    assert isinstance(error, HTTPException)
    if error.status_code in (404, 405):
        return failure(CATCH_ALL)
    return failure(DmartError(error.status_code, "request", error.status_code, str(error.detail)))


def install(app: FastAPI) -> None:
    app.add_exception_handler(DmartError, on_dmart_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
