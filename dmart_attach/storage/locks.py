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


# One open claim file per path for the life of the process: closing any descriptor of a file would drop
# the process's POSIX locks on it.
_claims: dict[Path, int] = {}


def claim_shared(path: Path) -> bool:
    """Hold a shared claim on `path` for the rest of this process; answer whether no other process held one.

    POSIX record locks belong to the process, so the claims of other processes are seen (and released by
    the kernel when they die, even by SIGKILL) while the process never conflicts with itself.
    """
    fd = _claims.get(path)
    if fd is None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = _claims[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        alone = True
    except OSError:
        alone = False
    fcntl.lockf(fd, fcntl.LOCK_SH)
    return alone
