"""Running a query's `jq_filter` over its records in a separate process, stopped at a time limit."""

import json
import subprocess
import sys
from typing import Any

import orjson

from dmart_attach.errors import DmartError


def json_bytes(value: Any) -> bytes:
    """`value` as JSON; integers beyond 64 bits, which orjson cannot write, by the standard encoder."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, ensure_ascii=False).encode()


def run_jq(program: str, records: list[Any], *, timeout: float) -> list[Any]:
    """jq's output values for `program` with the records as its input (jq holds numbers as doubles)."""
    request = json_bytes({"program": program, "input": records})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dmart_attach.services.jq_worker"],
            input=request,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DmartError(400, "request", 120, f"jq_filter took longer than {timeout:g} seconds") from None
    if done.returncode != 0:
        reason = done.stderr.decode(errors="replace").strip().splitlines()
        raise DmartError(400, "request", 121, f"jq_filter failed: {reason[-1] if reason else 'no output'}")
    values: list[Any] = orjson.loads(done.stdout)
    return values
