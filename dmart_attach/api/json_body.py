"""Request bodies read as JSON only when the service can also write them back as JSON."""

import json
import re
from collections.abc import Callable, Coroutine
from itertools import pairwise
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute

# A `\uD800`-`\uDFFF` escape: the only way a lone surrogate, which no file or answer can hold, enters a JSON body.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _holds_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_holds_lone_surrogate(key) or _holds_lone_surrogate(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_lone_surrogate(item) for item in value)
    return False


def _first_lone_escape(body: bytes) -> int:
    """Where the first surrogate escape that is not half of a pair starts."""
    escapes = list(_SURROGATE_ESCAPE.finditer(body))
    paired: set[int] = set()
    for escape, following in pairwise(escapes):
        high = escape.group()[3:4].lower() in b"89ab"
        if high and following.start() == escape.end() and following.group()[3:4].lower() in b"cdef":
            paired.update((escape.start(), following.start()))
    return next((escape.start() for escape in escapes if escape.start() not in paired), escapes[0].start())


def parse_json(body: bytes) -> Any:
    """The JSON value of `body`; a string holding half of a surrogate pair is a decode error."""
    value = json.loads(body)
    if _SURROGATE_ESCAPE.search(body) is not None and _holds_lone_surrogate(value):
        message = "A string holds a lone surrogate escape, which is not text"
        raise json.JSONDecodeError(message, body.decode(errors="replace"), _first_lone_escape(body))
    return value


class JSONBodyRequest(Request):
    """A request whose JSON body is refused as invalid JSON when orjson could not write it back."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                value = parse_json(body)
            except RecursionError:
                raise json.JSONDecodeError("the JSON is nested too deeply", body.decode("latin-1"), 0) from None
            except UnicodeDecodeError as error:
                raise json.JSONDecodeError("the body is not UTF-8", body.decode("latin-1"), error.start) from None
            try:
                orjson.dumps(value)
            except orjson.JSONEncodeError as error:
                # Lone surrogates, integers beyond 64 bits and nesting past orjson's limit: nothing could store them.
                raise json.JSONDecodeError(str(error), body.decode("latin-1"), 0) from None
            self._json = value
        return self._json


class JSONBodyRoute(APIRoute):
    """A route that reads its JSON body with `JSONBodyRequest`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            return await handler(JSONBodyRequest(request.scope, request.receive))

        return handler if self.body_field is None else handle
