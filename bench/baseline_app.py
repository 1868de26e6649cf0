"""Bare FastAPI endpoints that set the ceilings: same server settings, nothing but the transfer.

Run as `python -m bench.baseline_app --port P --workers N --files DIR`, like `dmart-attach serve`.
"""

import argparse
import os
from pathlib import Path
from typing import Any

import orjson
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response

FILES = Path(os.environ.get("BENCH_FILES", "."))
app = FastAPI()
_hasher = PasswordHasher(
    time_cost=int(os.environ.get("ARGON2_TIME_COST", "1")),
    memory_cost=int(os.environ.get("ARGON2_MEMORY_COST", "102400")),
    parallelism=int(os.environ.get("ARGON2_PARALLELISM", "8")),
)
_HASH = _hasher.hash("Bench_pass_123")


def _answer(size: int) -> Response:
    # A JSON object padded to `size` bytes, the size the service answered the same request with.
    padding = max(0, size - len('{"status":"success","pad":""}'))
    return Response(orjson.dumps({"status": "success", "pad": "x" * padding}), media_type="application/json")


@app.get("/json")
def get_json(size: int = 100) -> Response:
    """Answer `size` bytes of JSON."""
    return _answer(size)


@app.post("/json")
def post_json(body: dict[str, Any], size: int = 100) -> Response:
    """Parse the JSON body, answer `size` bytes of JSON."""
    return _answer(size)


@app.post("/argon2")
def argon2(body: dict[str, Any], size: int = 100) -> Response:
    """Verify a password with the same argon2 parameters as the service, answer `size` bytes."""
    _hasher.verify(_HASH, str(body.get("password", "")))
    return _answer(size)


@app.post("/upload")
async def upload(request: Request, size: int = 100) -> Response:
    """Stream the whole request body to a temporary file, fsync it and rename it into place."""
    final = FILES / "uploaded.bin"
    temporary = FILES / f".upload.{os.getpid()}.{id(request)}"
    with temporary.open("wb") as out:
        async for chunk in request.stream():
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(final)
    return _answer(size)


@app.get("/file/{name}")
def file(name: str) -> FileResponse:
    """Serve one of the benchmark's files."""
    return FileResponse(FILES / Path(name).name)


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The same uvicorn settings as `dmart-attach serve`.
    uvicorn.run(
        "bench.baseline_app:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        log_config=None,
        access_log=False,
        proxy_headers=False,
    )


if __name__ == "__main__":
    main()
