"""Moves that a crash cannot leave half done: journal every rename and rewrite, then carry them out."""

import json
import os
import shutil
import uuid
from pathlib import Path

from dmart_attach.storage.atomic import fsync_dir, make_dirs, write_bytes

MOVES = ".moves"
JOURNAL = "journal.json"


def move_paths(journal_root: Path, renames: list[tuple[Path, Path]], writes: list[tuple[Path, bytes]]) -> None:
    """Rename files and folders, then write files: after a crash, `finish_moves` completes the job.

    `journal_root` lies directly in the tree that holds every path moved or written.
    """
    operation = journal_root / uuid.uuid4().hex
    operation.mkdir(parents=True)
    # Paths are kept relative to the tree, so a tree moved elsewhere before the restart still recovers.
    root = journal_root.parent
    journal = {
        "renames": [[str(source.relative_to(root)), str(target.relative_to(root))] for source, target in renames],
        "writes": [[str(path.relative_to(root)), data.decode()] for path, data in writes],
    }
    write_bytes(operation / JOURNAL, json.dumps(journal).encode())
    _carry_out(operation, renames, writes)


def _carry_out(operation: Path, renames: list[tuple[Path, Path]], writes: list[tuple[Path, bytes]]) -> None:
    # Each step can be repeated: a rename whose source is gone was already done.
    for source, target in renames:
        if source.exists() or source.is_symlink():
            make_dirs(target.parent)
            os.replace(source, target)
            fsync_dir(source.parent)
            fsync_dir(target.parent)
    for path, data in writes:
        write_bytes(path, data)
    shutil.rmtree(operation)


def finish_moves(journal_root: Path) -> int:
    """Complete every move a crash interrupted under `journal_root`; return how many."""
    if not journal_root.is_dir():
        return 0
    finished = 0
    for operation in journal_root.iterdir():
        try:
            journal = json.loads((operation / JOURNAL).read_text())
        except (OSError, ValueError):
            # The journal itself was never completed, so nothing was moved yet.
            journal = {"renames": [], "writes": []}
        root = journal_root.parent
        renames = [(root / source, root / target) for source, target in journal["renames"]]
        writes = [(root / path, data.encode()) for path, data in journal["writes"]]
        _carry_out(operation, renames, writes)
        finished += 1
    return finished
