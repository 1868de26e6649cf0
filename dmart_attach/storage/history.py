"""History lines in Dmart's format (contract §9), one file per entry."""

import json
import os
from pathlib import Path
from typing import Any


def append_line(path: Path, line: dict[str, Any]) -> None:
    """Append one JSON line durably; a torn last line from a crash is skipped by readers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (json.dumps(line, ensure_ascii=False, default=str) + "\n").encode()
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # A crash cut the last line short: start on a fresh line so this one stays whole.
            data = b"\n" + data
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_lines(path: Path) -> list[dict[str, Any]]:
    """Every complete line of a history or event file, oldest first."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return []
    lines = []
    for raw in text.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def read_newest_first(path: Path, *, offset: int = 0, limit: int | None = None) -> tuple[int, list[dict[str, Any]]]:
    """The total number of lines and the page `offset`..`offset + limit` of them, newest first."""
    lines = read_lines(path)
    lines.reverse()
    end = None if limit is None else offset + max(limit, 0)
    return len(lines), lines[offset:end]
