"""Who is writing: a token naming this process, and whether the writer behind a pending write still runs."""

import os
import secrets
from pathlib import Path


def writer_token() -> str:
    """A token for this process's pending writes: random, and carrying when this process started.

    The random part tells this process's writes from an earlier start in the same process; the start time
    tells this process from a later one given the same pid.
    """
    return f"{secrets.token_hex(8)}.{_process_state(os.getpid())[1]}"


def alive(pid: int, token: str) -> bool:
    """Whether the writer that left a pending row with `pid` and `token` may still be writing."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state, started = _process_state(pid)
    # A killed process stays a zombie until its parent reaps it, which a quick restart may not wait for.
    if state in ("Z", "X"):
        return False
    # After a crash and a restart (a container's, say) another process may hold the dead writer's pid.
    recorded = token.partition(".")[2]
    return not recorded or not started or recorded == started


def _process_state(pid: int) -> tuple[str, str]:
    """The state letter of `pid` and when it started (boot id and clock ticks); empty without Linux's /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return "", ""
    if len(fields) < 20:
        return "", ""
    # After the command name, field 3 (the state) comes first and field 22 (the start time) 20th.
    return fields[0], f"{boot}:{fields[19]}"
