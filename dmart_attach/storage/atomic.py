"""Durable writes: a temporary file in the same folder, flushed, then renamed into place."""

import os
import secrets
from pathlib import Path

TEMP_PREFIX = ".~tmp."


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside `path`, recognisable by the start-up sweep."""
    return path.with_name(f"{TEMP_PREFIX}{path.name}.{secrets.token_hex(6)}")


def fsync_dir(folder: Path) -> None:
    """Make a rename or removal inside `folder` durable."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stage_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> Path:
    """Write `data` durably to a fresh temporary file beside `path`; answer it, to be renamed onto `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    try:
        with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def write_bytes(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Replace `path` with `data` so that a crash leaves either the old or the new file."""
    temp = stage_bytes(path, data, mode=mode)
    try:
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def make_dirs(folder: Path) -> None:
    """Create `folder` and its parents, durably."""
    missing = []
    current = folder
    while not current.exists():
        missing.append(current)
        current = current.parent
    folder.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        fsync_dir(created.parent)


def sweep_temporaries(root: Path) -> int:
    """Remove temporary files a crash left anywhere under `root`; return how many."""
    removed = 0
    for temp in root.rglob(f"{TEMP_PREFIX}*"):
        if temp.is_file():
            temp.unlink(missing_ok=True)
            removed += 1
    return removed
