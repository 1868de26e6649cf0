"""History lines and event lines: what changed, who changed it, when (contract §9)."""

from typing import Any
from uuid import uuid4

from dmart_attach.clock import now
from dmart_attach.services.caller import Caller

ABSENT = "null"


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted keys for every leaf of nested objects (lists are leaves)."""
    if isinstance(value, dict) and value:
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(flatten(item, f"{prefix}{key}."))
        return flat
    return {prefix[:-1]: value} if prefix else {}


def diff(old: dict[str, Any], new: dict[str, Any], keys: set[str]) -> dict[str, dict[str, Any]]:
    """The changes between two flattened metas, on the keys a request named (and below them)."""
    changes: dict[str, dict[str, Any]] = {}
    names = {key for key in old.keys() | new.keys() if any(key == k or key.startswith(f"{k}.") for k in keys)}
    for key in sorted(names - {"updated_at"}):
        before, after = old.get(key, ABSENT), new.get(key, ABSENT)
        if before == after:
            continue
        if isinstance(before, list) and isinstance(after, list):
            before, after = [x for x in before if x not in after], [x for x in after if x not in before]
        changes[key] = {"old": before, "new": after}
    return changes


def history_line(caller: Caller, changes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """One line of an entry's history file."""
    timestamp = now().isoformat()
    return {
        "uuid": str(uuid4()),
        "shortname": "history",
        "is_active": False,
        "tags": [],
        "created_at": timestamp,
        "updated_at": timestamp,
        "owner_shortname": caller.shortname,
        "timestamp": timestamp,
        "request_headers": caller.headers,
        "diff": changes,
        **extra,
    }


def event_line(caller: Caller, *, action: str, locator: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    """One line of a space's `events.jsonl`."""
    return {
        "resource": locator,
        "user_shortname": caller.shortname,
        "request": action,
        "timestamp": now().isoformat(),
        "attributes": attributes,
    }
