"""Request bodies read as JSON only when the service can also write them back as JSON."""

import json
from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi import Request, Response
from fastapi.routing import APIRoute


class JSONBodyRequest(Request):
    """A request whose JSON body is refused as invalid JSON when orjson could not write it back."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                value = json.loads(body)
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
