"""Streaming a body to a temporary file while hashing it, then renaming it into place."""

import hashlib
import os
import secrets
from pathlib import Path

from dmart_attach.storage.atomic import TEMP_PREFIX, fsync_dir, make_dirs

# Enough of the start of a file for every magic number and text sniff the service uses.
HEAD_SIZE = 65_536
# Every this many bytes, the disk is asked to start writing what arrived, so that the final fsync
# waits only for the tail of the body instead of all of it.
WRITEBACK_STEP = 8_388_608

Bytes = bytes | bytearray | memoryview


class SizeLimitExceeded(Exception):
    """More bytes arrived than the limit allows."""


class StagedFile:
    """A temporary file that receives a body chunk by chunk; nothing is visible until `commit`.

    A chunk is appended at once and hashed by `digest`, possibly in another thread, in the same order.
    """

    def __init__(self, folder: Path, *, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._hashed = 0
        self._unflushed_from = 0
        self.path = folder / f"{TEMP_PREFIX}upload.{secrets.token_hex(8)}"
        self._hash = hashlib.sha256()
        self._head = bytearray()
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)

    @property
    def sha256(self) -> str:
        """The sha256 hex digest of the bytes written so far."""
        return self._hash.hexdigest()

    @property
    def head(self) -> bytes:
        """The first bytes of the body, for deciding what it is."""
        return bytes(self._head)

    def append(self, chunk: Bytes) -> None:
        """Append `chunk`, refused whole once the limit would be passed; `digest` then hashes the same bytes."""
        if self._fd is None:
            raise ValueError("the staged file is closed")
        if self.size + len(chunk) > self.limit:
            raise SizeLimitExceeded(f"more than {self.limit} bytes")
        if len(self._head) < HEAD_SIZE:
            self._head += chunk[: HEAD_SIZE - len(self._head)]
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self.size += len(chunk)

    def digest(self, chunk: Bytes) -> None:
        """Hash the next appended bytes; every WRITEBACK_STEP of them, start writing them to disk."""
        if self._fd is None:
            raise ValueError("the staged file is closed")
        self._hash.update(chunk)
        self._hashed += len(chunk)
        if self._hashed - self._unflushed_from >= WRITEBACK_STEP and hasattr(os, "posix_fadvise"):
            # On Linux this starts the writeback of the range's dirty pages, which stay cached.
            os.posix_fadvise(
                self._fd, self._unflushed_from, self._hashed - self._unflushed_from, os.POSIX_FADV_DONTNEED
            )
            self._unflushed_from = self._hashed

    def finish(self) -> None:
        """Flush the body to disk; it can then be checked and committed."""
        if self._hashed != self.size:
            raise ValueError("the staged file has bytes that were never hashed")
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def commit(self, target: Path) -> None:
        """Rename the finished body to `target`, replacing what was there, durably."""
        self.finish()
        make_dirs(target.parent)
        os.replace(self.path, target)
        fsync_dir(target.parent)
        if self.path.parent != target.parent:
            fsync_dir(self.path.parent)

    def discard(self) -> None:
        """Remove the temporary file; nothing of the body remains."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.path.unlink(missing_ok=True)
