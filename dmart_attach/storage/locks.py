"""Locks that hold across threads and worker processes: `flock` on striped lock files."""

import fcntl
import hashlib
import os
from collections.abc import Iterable, Iterator
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
    def hold(self, *keys: str, shared: Iterable[str] = ()) -> Iterator[None]:
        """Hold the locks of `keys` exclusively and those of `shared` shared.

        They are taken in one fixed order so two holders never deadlock; a lock file named by both
        is held exclusively.
        """
        modes = {self._path(key): fcntl.LOCK_SH for key in shared}
        modes.update({self._path(key): fcntl.LOCK_EX for key in keys})
        handles: list[int] = []
        try:
            for path in sorted(modes):
                fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
                handles.append(fd)
                fcntl.flock(fd, modes[path])
            yield
        finally:
            for fd in reversed(handles):
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
