"""Per-request plumbing: request id, Dmart's response headers, OPTIONS, the access log, and 500s."""

import logging
import time
import uuid
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dmart_attach.clock import now
from dmart_attach.logs import request_id

logger = logging.getLogger("dmart_attach.access")

_FIXED_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]
_NO_STORE = b"no-cache, no-store, must-revalidate"
_INTERNAL = orjson.dumps(
    {"status": "failed", "error": {"type": "general", "code": 99, "message": "Internal server error"}}
)


class DmartMiddleware:
    """Wraps every HTTP request of the application."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 500, "sent": False}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["sent"] = True
                raw = list(message.get("headers", []))
                names = {name.lower() for name, _ in raw}
                raw += [pair for pair in _FIXED_HEADERS if pair[0] not in names]
                if b"cache-control" not in names:
                    raw.append((b"cache-control", _NO_STORE))
                raw.append((b"x-server-time", now().isoformat().encode()))
                raw.append((b"x-request-id", rid.encode()))
                message["headers"] = raw
            await send(message)

        try:
            if scope["method"] == "OPTIONS":
                await send_with_headers({"type": "http.response.start", "status": 200, "headers": []})
                await send_with_headers({"type": "http.response.body", "body": b""})
            else:
                await self.app(scope, receive, send_with_headers)
        except Exception:
            logger.exception(
                "unhandled error", extra={"request_id": rid, "method": scope["method"], "path": scope["path"]}
            )
            if not status["sent"]:
                await send_with_headers(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [(b"content-type", b"application/json")],
                    }
                )
                await send_with_headers({"type": "http.response.body", "body": _INTERNAL})
        finally:
            logger.info(
                "request",
                extra={
                    "request_id": rid,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status["code"],
                    "user": scope.get("state", {}).get("user"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )
            request_id.reset(token)
