"""Locks that hold across threads and worker processes: `flock` on striped lock files."""

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STRIPES = 1024


class LockFiles:
    """A fixed set of lock files; each key maps to one of them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return self.folder / f"{int.from_bytes(digest, 'big') % STRIPES}.lock"

    @contextmanager
    def hold(self, *keys: str) -> Iterator[None]:
        """Hold the locks of `keys` exclusively, taken in a fixed order so two holders never deadlock."""
        paths = sorted({self._path(key) for key in keys})
        handles: list[int] = []
        try:
            for path in paths:
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                handles.append(fd)
                fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            for fd in reversed(handles):
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
