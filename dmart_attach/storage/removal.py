"""Removals that a crash cannot leave half done: journal, move aside, then delete."""

import json
import os
import shutil
import uuid
from pathlib import Path

from dmart_attach.storage.atomic import fsync_dir, write_bytes

TRASH = ".trash"
JOURNAL = "journal.json"


def remove_paths(trash_root: Path, paths: list[Path]) -> None:
    """Remove files and folders together: after a crash, `finish_removals` completes the job.

    `trash_root` lies directly in the tree that holds every path removed.
    """
    operation = trash_root / uuid.uuid4().hex
    operation.mkdir(parents=True)
    # Paths are kept relative to the tree, so a tree moved elsewhere before the restart still recovers.
    root = trash_root.parent
    write_bytes(operation / JOURNAL, json.dumps([str(path.relative_to(root)) for path in paths]).encode())
    _carry_out(operation, paths)


def _carry_out(operation: Path, paths: list[Path]) -> None:
    for index, path in enumerate(paths):
        if path.exists() or path.is_symlink():
            os.replace(path, operation / f"item{index}")
            fsync_dir(path.parent)
    shutil.rmtree(operation)


def finish_removals(trash_root: Path) -> int:
    """Complete every removal a crash interrupted under `trash_root`; return how many."""
    if not trash_root.is_dir():
        return 0
    finished = 0
    for operation in trash_root.iterdir():
        journal = operation / JOURNAL
        try:
            paths = [trash_root.parent / item for item in json.loads(journal.read_text())]
        except (OSError, ValueError):
            # The journal itself was never completed, so nothing was moved yet.
            paths = []
        _carry_out(operation, paths)
        finished += 1
    return finished
