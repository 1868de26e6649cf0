"""Upload one large file through /managed/resource_with_payload and measure memory and throughput.

The service runs in its own process (uvicorn, one worker) with one extra route, `/bench/bare`,
that streams the same multipart body to disk with no parsing or checks: the ratio of the two
throughputs shows what the upload path costs. `cp` of the same file is given for reference.
Peak memory is the server's peak resident set during each upload, above its resident set
when idle after start-up (Linux `/proc`, the peak reset through `clear_refs` before each upload).

    .venv/bin/python bench/upload_1g.py                  # 1 GiB, table in bench/upload_1g.md
    .venv/bin/python bench/upload_1g.py --size 64M       # a quicker try
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from dmart_attach.api.app import create_app
from dmart_attach.config import Settings

HERE = Path(__file__).resolve().parent
PASSWORD = "Bench_pass_123"
SPACE = "bench"
CHUNK = 1 << 20
# A PNG signature and header chunk: the sniffer sees a PNG, the rest is random bytes.
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"


def bench_app() -> FastAPI:
    """The service as configured by the environment, plus the bare streaming endpoint."""
    app = create_app(Settings())
    spool = Path(os.environ["SPACES_FOLDER"]).resolve()

    @app.post("/bench/bare")
    async def bare(request: Request) -> JSONResponse:
        path = spool / f".bare.{os.getpid()}"
        size = 0
        with path.open("wb") as handle:
            async for chunk in request.stream():
                handle.write(chunk)
                size += len(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        path.unlink()
        return JSONResponse({"size": size})

    return app


def _size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


def _make_file(path: Path, size: int) -> None:
    """A PNG-looking file of `size` bytes: the magic bytes, then random data."""
    with path.open("wb") as handle:
        handle.write(PNG_HEAD)
        left = size - len(PNG_HEAD)
        block = os.urandom(CHUNK)
        while left > 0:
            handle.write(block[: min(CHUNK, left)])
            left -= CHUNK


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _status(pid: int, key: str) -> int:
    """A memory figure of /proc/<pid>/status in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _call(url: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def _curl_upload(url: str, token: str, record: Path, payload: Path) -> tuple[float, str]:
    """Send the multipart form with curl, which streams the file from disk; answer seconds and body."""
    started = time.perf_counter()
    result = subprocess.run(
        [
            "curl", "-sS", "--max-time", "900", url,
            "-H", f"authorization: Bearer {token}",
            "-F", f"space_name={SPACE}",
            "-F", f"request_record=@{record};type=application/json",
            "-F", f"payload_file=@{payload};type=image/png",
        ],
        capture_output=True,
        text=True,
        check=True,
    )  # fmt: skip
    return time.perf_counter() - started, result.stdout


def _measured(pid: int, idle: int, run: Any) -> tuple[float, int, str]:
    """Run an upload; answer its seconds, the server's peak resident memory above idle, and its answer."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    seconds, answer = run()
    return seconds, _status(pid, "VmHWM") - idle, answer


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="file size: bytes, or with K, M or G (default 1G)")
    parser.add_argument("--out", type=Path, default=HERE / "upload_1g.md", help="where the result table goes")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the file and the tree")
    args = parser.parse_args()
    size = _size(args.size)

    work = Path(tempfile.mkdtemp(prefix="dmart_bench_", dir=args.workdir))
    spaces, state = work / "spaces", work / "state"
    spaces.mkdir()
    payload, record = work / "big.png", work / "record.json"
    _make_file(payload, size)
    record.write_text(json.dumps({"resource_type": "media", "subpath": "files/holder", "shortname": "big",
                                  "attributes": {"is_active": True}}))  # fmt: skip

    port = _free_port()
    env = {
        **os.environ,
        "SPACES_FOLDER": str(spaces),
        "INDEX_PATH": str(state),
        "ADMIN_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
        "MAX_UPLOAD_SIZE": str(size + CHUNK),
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.upload_1g:bench_app", "--factory", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=HERE.parent,
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                login = _call(f"{base}/user/login", {"shortname": "dmart", "password": PASSWORD})
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        token = login["records"][0]["attributes"]["access_token"]
        for body in (
            {"resource_type": "space", "subpath": "/", "shortname": SPACE, "attributes": {"is_active": True}},
            {"resource_type": "folder", "subpath": "/", "shortname": "files", "attributes": {"is_active": True}},
            {"resource_type": "content", "subpath": "files", "shortname": "holder", "attributes": {"is_active": True}},
        ):
            _call(f"{base}/managed/request", {"space_name": SPACE, "request_type": "create", "records": [body]}, token)
        idle = _status(server.pid, "VmRSS")

        bare_s, bare_mem, _ = _measured(
            server.pid, idle, lambda: _curl_upload(f"{base}/bench/bare", token, record, payload)
        )
        service_s, service_mem, answer = _measured(
            server.pid, idle, lambda: _curl_upload(f"{base}/managed/resource_with_payload", token, record, payload)
        )
        stored = json.loads(answer)
        if stored.get("status") != "success":
            raise RuntimeError(f"the upload failed: {answer[:500]}")

        copy = work / "copy.png"
        started = time.perf_counter()
        shutil.copyfile(payload, copy)
        with copy.open("rb") as handle:
            os.fsync(handle.fileno())
        cp_s = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)

    mib = 1 << 20
    ratio = (size / service_s) / (size / bare_s)
    rows = [
        ("service upload", service_s, service_mem),
        ("bare streaming endpoint", bare_s, bare_mem),
        ("cp (reference)", cp_s, None),
    ]
    lines = [
        f"# Upload benchmark: {size / mib:.0f} MiB file",
        "",
        f"Server idle resident memory: {idle / mib:.1f} MiB. Targets: service peak < 100 MiB above idle; "
        "throughput ratio against the bare endpoint >= 0.7.",
        "",
        "| path | seconds | MiB/s | peak memory above idle (MiB) |",
        "|---|---|---|---|",
    ]
    for name, seconds, memory in rows:
        shown = f"{memory / mib:.1f}" if memory is not None else "-"
        lines.append(f"| {name} | {seconds:.2f} | {size / mib / seconds:.0f} | {shown} |")
    lines += [
        "",
        f"Throughput ratio, service / bare endpoint: **{ratio:.2f}** "
        f"({'meets' if ratio >= 0.7 else 'misses'} 0.7). Service peak above idle: "
        f"**{service_mem / mib:.1f} MiB** ({'meets' if service_mem < 100 * mib else 'misses'} 100 MiB).",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
