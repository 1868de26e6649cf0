"""The real service as a separate process: `dmart-attach serve` on a tree, started, stopped or killed by a test."""

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import ADMIN_PASSWORD, CHEAP_HASHING

CONSOLE_SCRIPT = Path(sys.executable).parent / "dmart-attach"
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def environment(spaces: Path, state: Path) -> dict[str, str]:
    """The environment of a server on `spaces` whose admin has the tests' password and cheap hashes."""
    values = {
        **os.environ,
        "SPACES_FOLDER": str(spaces),
        "INDEX_PATH": str(state),
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LOG_LEVEL": "WARNING",
        # Keep the data-asset pool small: these servers never run a data-asset query.
        "DATA_ASSET_WORKERS": "1",
        **{name.upper(): str(value) for name, value in CHEAP_HASHING.items()},
    }
    values.pop("JWT_SECRET", None)
    return values


@dataclass
class Served:
    """One running `dmart-attach serve` process group and where it answers."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL the server and every worker at once, as a power cut would."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=15)

    def stop(self) -> None:
        """Stop the server and its workers cleanly; kill them when they do not stop."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def serve(spaces: Path, state: Path, *, workers: int = 1, env: dict[str, str] | None = None) -> Served:
    """Start `dmart-attach serve` on `spaces` (with `env`, or `environment`'s) and wait until it answers."""
    port = free_port()
    log = state.parent / f"server-{port}.log"
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [str(CONSOLE_SCRIPT), "serve", "--port", str(port), "--workers", str(workers)],
            env=env if env is not None else environment(spaces, state),
            cwd=state.parent,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    served = Served(process=process, url=f"http://127.0.0.1:{port}", log=log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server stopped: {log.read_text()}")
        try:
            if httpx.get(f"{served.url}/info/me", timeout=2).status_code == 401:
                return served
        except httpx.TransportError:
            time.sleep(0.1)
    served.kill()
    raise RuntimeError(f"the server did not start in {START_TIMEOUT}s: {log.read_text()}")


def login(client: httpx.Client, shortname: str, password: str) -> dict[str, str]:
    """Log in once; answer the header that carries the token."""
    response = client.post("/user/login", json={"shortname": shortname, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['records'][0]['attributes']['access_token']}"}
