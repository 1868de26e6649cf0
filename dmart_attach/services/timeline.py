"""What happened: an entry's history and a space's events, newest first, for the `history` and `events` queries."""

import json
from datetime import datetime
from typing import Any

from dmart_attach.services.store import Store
from dmart_attach.storage.history import read_lines

# Request headers stay in the history file but are not shown (Dmart drops them too).
_HIDDEN = ("request_headers",)


def history_page(
    store: Store, *, space_name: str, subpath: str, shortname: str, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """The total number of history lines of an entry and one page of them as records, newest first."""
    lines = read_lines(store.tree.layout.history_file(space_name, subpath, shortname))
    lines.reverse()
    records = []
    for line in lines[offset : offset + limit]:
        attributes = {key: value for key, value in line.items() if key not in _HIDDEN}
        records.append(
            {
                "resource_type": "history",
                "uuid": line.get("uuid"),
                "shortname": shortname,
                "subpath": subpath,
                "attributes": attributes,
                "retrieve_lock_status": False,
            }
        )
    return len(lines), records


def _within(line: dict[str, Any], from_date: datetime | None, to_date: datetime | None) -> bool:
    try:
        stamp = datetime.fromisoformat(str(line.get("timestamp")))
    except ValueError:
        return from_date is None and to_date is None
    stamp = stamp.replace(tzinfo=None)
    if from_date is not None and stamp < from_date.replace(tzinfo=None):
        return False
    return to_date is None or stamp <= to_date.replace(tzinfo=None)


def events_page(
    store: Store,
    *,
    space_name: str,
    search: str | None,
    from_date: datetime | None,
    to_date: datetime | None,
    limit: int,
    offset: int,
) -> tuple[int, list[dict[str, Any]]]:
    """The space's events that contain `search` and fall within the dates, newest first, one page of them."""
    path = store.tree.layout.space_dir(space_name) / ".dm" / "events.jsonl"
    lines = [
        line
        for line in reversed(read_lines(path))
        if (not search or search in json.dumps(line, ensure_ascii=False)) and _within(line, from_date, to_date)
    ]
    records = []
    for line in lines[offset : offset + limit]:
        resource = line.get("resource") if isinstance(line.get("resource"), dict) else {}
        records.append(
            {
                "resource_type": resource.get("type"),
                "shortname": resource.get("shortname"),
                "subpath": resource.get("subpath"),
                "attributes": line,
                "retrieve_lock_status": False,
            }
        )
    return len(lines), records
