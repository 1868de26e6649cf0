"""The embedded index: one SQLite row per space, folder, entry and attachment, always rebuildable from the tree."""

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path

from dmart_attach.identifiers import ROOT, join_subpath
from dmart_attach.models.enums import ResourceType
from dmart_attach.storage.bulk import read_batches
from dmart_attach.storage.index_inspection import Inspection
from dmart_attach.storage.index_schema import (
    DERIVED,
    DROP,
    INDEXES,
    KEPT_TABLES,
    SCHEMA,
    TABLES,
    TALLIES,
    TERM_INSERT,
    TRIGGERS,
    UPSERT,
    VERSION,
    insert_rows,
    row_terms,
    row_values,
)
from dmart_attach.storage.layout import Address, Layout
from dmart_attach.storage.scan import (
    KIND_ATTACHMENT,
    KIND_SPACE,
    UNINDEXED,
    Row,
    entry_attachments,
    folder_contents,
    read_row,
    space_contents,
    space_contents_after,
)
from dmart_attach.storage.writers import alive, writer_token

logger = logging.getLogger(__name__)

_MAPPED = 1 << 30
_CACHE_KIB = 16_384
# A rebuild builds the tables' indexes in memory, once every row is in.
_REBUILD_CACHE_KIB = 524_288


# In a `dm_covers` pattern, a segment that matches any one segment (never a valid shortname).
ANY_SEGMENT = "*"


def covers(pattern: str, path: str) -> bool:
    """Whether `pattern` names `path` or a folder above it; `/` and a lone `*` cover everything."""
    if pattern in (ROOT, ANY_SEGMENT):
        return True
    wanted = pattern.split("/")
    segments = [] if path == ROOT else path.split("/")
    if len(segments) < len(wanted):
        return False
    return all(want in (ANY_SEGMENT, segment) for want, segment in zip(wanted, segments, strict=False))


def under(subpath: str) -> tuple[str, str]:
    """Bounds of every subpath strictly below `subpath`: `a/` ≤ s < `a0` (`0` follows `/`)."""
    return f"{subpath}/", f"{subpath}0"


def _tree_identity(root: Path) -> str:
    """The tree this index describes: its path and the identity of its folder."""
    try:
        stat = root.stat()
    except FileNotFoundError:
        return f"{root}|missing"
    return f"{root}|{stat.st_dev}|{stat.st_ino}"


class Index(Inspection):
    """The SQLite index of one spaces tree, kept in step by the tree's writes."""

    def __init__(self, path: Path, layout: Layout) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.layout = layout
        self._local = threading.local()
        # Marks this process's pending writes, so a restart in the same process repairs old ones.
        self.token = writer_token()
        connection = self.connection()
        if self._stored_version() not in (None, VERSION):
            # Tables of another shape: nothing in them can be used.
            connection.executescript(DROP)
        connection.executescript(SCHEMA)

    def _stored_version(self) -> str | None:
        try:
            found = self.connection().execute("SELECT value FROM marker WHERE key = 'version'").fetchone()
        except sqlite3.OperationalError:
            return None
        return None if found is None else str(found[0])

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are not shared between threads)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=120, isolation_level=None)
            connection.create_function("dm_covers", 2, covers, deterministic=True)
            connection.execute("PRAGMA journal_mode=WAL")
            # Searches on fields read whole folders of rows: map the file instead of copying pages in.
            connection.execute(f"PRAGMA mmap_size={_MAPPED}")
            connection.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction; `durable` ones reach the disk before the commit returns."""
        connection = self.connection()
        connection.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def close(self) -> None:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # Writes made by the tree.

    def begin_write(self, address: Address) -> int:
        """Record that `address` is about to change, so a crash before `end_write` is repaired at start."""
        with self.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO pending (pid, token, space_name, subpath, shortname, resource_type) VALUES (?,?,?,?,?,?)",
                (
                    os.getpid(),
                    self.token,
                    address.space_name,
                    address.subpath,
                    address.shortname,
                    address.resource_type,
                ),
            )
        return int(cursor.lastrowid or 0)

    def end_write(self, pending_id: int, address: Address) -> None:
        """Bring the rows of `address` in line with the tree and forget the pending write."""
        # Not synced: if a power loss drops this, the durable pending row makes the next start redo it.
        with self.transaction(durable=False) as connection:
            self._sync(connection, address, whole=False)
            connection.execute("DELETE FROM pending WHERE id = ?", (pending_id,))

    def sync(self, address: Address) -> None:
        """Re-read `address` and everything under it from the tree (after a move or an outside change)."""
        with self.transaction() as connection:
            self._sync(connection, address, whole=True)

    def _sync(self, connection: sqlite3.Connection, address: Address, *, whole: bool) -> None:
        if address.resource_type in UNINDEXED:
            return
        found = read_row(self.layout, address)
        row = found if isinstance(found, Row) else None
        space, subpath, shortname = address.space_name, address.subpath, address.shortname
        if address.resource_type == ResourceType.space:
            if row is None:
                connection.execute("DELETE FROM rows WHERE space_name = ?", (space,))
                return
            known = self._known(connection, address)
            self._put(connection, row)
            if whole or not known:
                self._replace_below(connection, space, ROOT, space_contents_after(self.layout, space))
            return
        if address.resource_type == ResourceType.folder:
            inner = join_subpath(subpath, shortname)
            if row is None:
                self._delete(connection, address)
                self._delete_below(connection, space, inner)
                return
            known = self._known(connection, address)
            self._put(connection, row)
            if whole or not known:
                contents = folder_contents(self.layout, space_name=space, subpath=inner)
                attachments = entry_attachments(self.layout, space_name=space, subpath=subpath, shortname=shortname)
                self._replace_below(connection, space, inner, [*contents, *attachments])
            return
        if address.is_attachment:
            if row is None:
                self._delete(connection, address)
            else:
                self._put(connection, row)
            return
        inner = join_subpath(subpath, shortname)
        if row is None:
            self._delete(connection, address)
            connection.execute(
                "DELETE FROM rows WHERE space_name = ? AND subpath = ? AND kind = ?", (space, inner, KIND_ATTACHMENT)
            )
            return
        known = self._known(connection, address)
        self._put(connection, row)
        if whole or not known:
            connection.execute(
                "DELETE FROM rows WHERE space_name = ? AND subpath = ? AND kind = ?", (space, inner, KIND_ATTACHMENT)
            )
            self._put_all(
                connection, entry_attachments(self.layout, space_name=space, subpath=subpath, shortname=shortname)
            )

    @staticmethod
    def _known(connection: sqlite3.Connection, address: Address) -> bool:
        found = connection.execute(
            "SELECT 1 FROM rows WHERE space_name = ? AND subpath = ? AND shortname = ? AND resource_type = ?",
            (address.space_name, address.subpath, address.shortname, address.resource_type),
        ).fetchone()
        return found is not None

    @staticmethod
    def _delete(connection: sqlite3.Connection, address: Address) -> None:
        connection.execute(
            "DELETE FROM rows WHERE space_name = ? AND subpath = ? AND shortname = ? AND resource_type = ?",
            (address.space_name, address.subpath, address.shortname, address.resource_type),
        )

    @staticmethod
    def _delete_below(connection: sqlite3.Connection, space_name: str, subpath: str) -> None:
        """Delete every row whose subpath is `subpath` or below it."""
        low, high = under(subpath)
        connection.execute(
            "DELETE FROM rows WHERE space_name = ? AND (subpath = ? OR (subpath >= ? AND subpath < ?))",
            (space_name, subpath, low, high),
        )

    def _replace_below(
        self, connection: sqlite3.Connection, space_name: str, subpath: str, found: Iterable[tuple[Address, str]]
    ) -> None:
        if subpath == ROOT:
            connection.execute("DELETE FROM rows WHERE space_name = ? AND kind != ?", (space_name, KIND_SPACE))
        else:
            self._delete_below(connection, space_name, subpath)
        self._put_all(connection, found)

    def _put_all(self, connection: sqlite3.Connection, found: Iterable[tuple[Address, str]]) -> None:
        """Insert the rows of locations the caller has just cleared, in batches."""
        (next_id,) = connection.execute("SELECT coalesce(max(id), 0) + 1 FROM rows").fetchone()
        for rows, terms in read_batches(self.layout, found, next_id):
            insert_rows(connection, rows, terms)

    @staticmethod
    def _put(connection: sqlite3.Connection, row: Row) -> None:
        (row_id,) = connection.execute(UPSERT, row_values(row)).fetchone()
        connection.execute("DELETE FROM terms WHERE row_id = ?", (row_id,))
        connection.executemany(TERM_INSERT, row_terms(row_id, row))

    # Start-up: rebuild or repair.

    def prepare(self) -> str:
        """Rebuild the index when it describes another tree, else repair interrupted writes; say which."""
        identity = _tree_identity(self.layout.root)
        marker = self._marker()
        if marker.get("tree") != identity or marker.get("version") != VERSION:
            self.rebuild()
            return "rebuilt"
        repaired = self.repair()
        return f"repaired {repaired}" if repaired else "current"

    def rebuild(self, space_name: str | None = None) -> int:
        """Read the whole tree (or one space) again; answer how many rows the index now holds for it.

        One space is read again in place, unless it holds at least half of what the index will hold:
        then the whole tree is, which gives the same rows faster, the tables' indexes being built once
        at the end. The tree is read within the write transaction, so no write of a running service
        falls between the reading and the rows.
        """
        connection = self.connection()
        connection.execute(f"PRAGMA cache_size=-{_REBUILD_CACHE_KIB}")
        try:
            with self.transaction() as transaction:
                if space_name is None or self._stored_version() != VERSION:
                    self._refill(transaction, {})
                else:
                    (held, total) = transaction.execute(
                        "SELECT count(*) FILTER (WHERE space_name = ?), count(*) FROM rows", (space_name,)
                    ).fetchone()
                    # The space is listed only as far as the rest of the index, to tell which is larger.
                    contents = space_contents(self.layout, space_name)
                    found = list(islice(contents, total - held))
                    if len(found) >= total - held:
                        self._refill(transaction, {space_name: chain(found, contents)})
                    else:
                        transaction.execute("DELETE FROM rows WHERE space_name = ?", (space_name,))
                        self._put_all(transaction, found)
                        transaction.execute("DELETE FROM anchored WHERE space_name = ?", (space_name,))
                query = "SELECT count(*) FROM rows" + (" WHERE space_name = ?" if space_name else "")
                (rows,) = transaction.execute(query, (space_name,) if space_name else ()).fetchone()
        finally:
            connection.execute(f"PRAGMA cache_size=-{_CACHE_KIB}")
        logger.info("rebuilt the index", extra={"space": space_name or "*", "rows": rows})
        return int(rows)

    def _refill(self, transaction: sqlite3.Connection, scanned: dict[str, Iterable[tuple[Address, str]]]) -> None:
        """Drop the derived tables and fill them from the whole tree (`scanned` holds spaces already
        listed): rows first, then the tables' indexes, the full text and the kept counts, then triggers."""
        # The writes in flight of running services stay marked, unless the tables changed shape.
        current = self._stored_version() == VERSION
        transaction.execute("DROP VIEW IF EXISTS rows_words")
        for table in DERIVED if current else ("marker", "pending", *DERIVED):
            transaction.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in (*KEPT_TABLES, *TABLES):
            transaction.execute(statement)
        found = (
            scanned[space] if space in scanned else space_contents(self.layout, space)
            for space in self._spaces_on_disk()
        )
        self._put_all(transaction, chain.from_iterable(found))
        for statement in (*INDEXES, *TALLIES, *TRIGGERS):
            transaction.execute(statement)
        transaction.execute(
            "INSERT OR REPLACE INTO marker VALUES ('tree', ?), ('version', ?)",
            (_tree_identity(self.layout.root), VERSION),
        )

    def _marker(self) -> dict[str, str]:
        return dict(self.connection().execute("SELECT key, value FROM marker").fetchall())

    def _spaces_on_disk(self) -> list[str]:
        root = self.layout.root
        if not root.is_dir():
            return []
        return sorted(child.name for child in root.iterdir() if (child / ".dm" / "meta.space.json").is_file())

    def _interrupted(self) -> list[tuple[int, Address]]:
        """The pending writes whose writer died, with their ids."""
        return [
            (row_id, Address(space, subpath, shortname, ResourceType(resource_type)))
            for row_id, pid, token, space, subpath, shortname, resource_type in self.connection()
            .execute("SELECT id, pid, token, space_name, subpath, shortname, resource_type FROM pending")
            .fetchall()
            if not alive(pid, token) or (pid == os.getpid() and token != self.token)
        ]

    def interrupted(self) -> list[Address]:
        """The locations whose writer died in the middle of a write (repaired by the next `prepare`)."""
        return [address for _, address in self._interrupted()]

    def repair(self) -> int:
        """Re-read the locations whose writer died before updating the index; answer how many."""
        stale = self._interrupted()
        for row_id, address in stale:
            with self.transaction() as transaction:
                self._sync(transaction, address, whole=True)
                transaction.execute("DELETE FROM pending WHERE id = ?", (row_id,))
        if stale:
            logger.warning("repaired the index after interrupted writes", extra={"locations": len(stale)})
        return len(stale)
