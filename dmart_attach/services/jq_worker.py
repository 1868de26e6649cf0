"""Runs one jq program over JSON read from standard input, in a process of its own that can be stopped."""

import json
import resource
import sys

import jq
import orjson

# A jq program may build huge values; the process dies rather than the service.
_MEMORY = 1 << 30


def main() -> int:
    """Read `{"program", "input"}`, write the list of jq's output values."""
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))
    request = orjson.loads(sys.stdin.buffer.read())
    try:
        values = jq.compile(request["program"]).input_value(request["input"]).all()
    except ValueError as error:
        sys.stderr.write(str(error))
        return 1
    try:
        sys.stdout.buffer.write(orjson.dumps(values))
    except TypeError:
        # jq's doubles can pass 64 bits, which orjson cannot write.
        sys.stdout.buffer.write(json.dumps(values).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
