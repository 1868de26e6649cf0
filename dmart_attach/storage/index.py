"""The embedded index: one SQLite row per space, folder, entry and attachment, always rebuildable from the tree."""

import logging
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from dmart_attach.identifiers import ROOT, join_subpath
from dmart_attach.models.enums import ResourceType
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
)

logger = logging.getLogger(__name__)

# Bumped whenever the tables change; an index of another version is rebuilt at start.
VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS marker (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    id INTEGER PRIMARY KEY,
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    shortname TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    kind INTEGER NOT NULL,
    uuid TEXT,
    slug TEXT,
    is_active INTEGER,
    owner_shortname TEXT,
    created_at TEXT,
    updated_at TEXT,
    schema_shortname TEXT,
    meta TEXT NOT NULL,
    body TEXT,
    UNIQUE (space_name, subpath, shortname, resource_type)
);
CREATE INDEX IF NOT EXISTS rows_listing ON rows (space_name, subpath, kind, shortname);
CREATE INDEX IF NOT EXISTS rows_uuid ON rows (uuid);
CREATE INDEX IF NOT EXISTS rows_slug ON rows (slug);
CREATE VIRTUAL TABLE IF NOT EXISTS rows_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS counts (
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    kind INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (space_name, subpath, kind, resource_type)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS rows_added AFTER INSERT ON rows BEGIN
    INSERT INTO counts VALUES (new.space_name, new.subpath, new.kind, new.resource_type, 1)
    ON CONFLICT DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS rows_removed AFTER DELETE ON rows BEGIN
    UPDATE counts SET n = n - 1
    WHERE space_name = old.space_name AND subpath = old.subpath AND kind = old.kind
    AND resource_type = old.resource_type;
    DELETE FROM rows_text WHERE rowid = old.id;
END;
CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    shortname TEXT NOT NULL,
    resource_type TEXT NOT NULL
);
"""

_UPSERT = """
INSERT INTO rows (space_name, subpath, shortname, resource_type, kind, uuid, slug, is_active, owner_shortname,
                  created_at, updated_at, schema_shortname, meta, body)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (space_name, subpath, shortname, resource_type) DO UPDATE SET
    uuid = excluded.uuid, slug = excluded.slug, is_active = excluded.is_active,
    owner_shortname = excluded.owner_shortname, created_at = excluded.created_at,
    updated_at = excluded.updated_at, schema_shortname = excluded.schema_shortname,
    meta = excluded.meta, body = excluded.body
RETURNING id
"""


def under(subpath: str) -> tuple[str, str]:
    """Bounds of every subpath strictly below `subpath`: `a/` ≤ s < `a0` (`0` follows `/`)."""
    return f"{subpath}/", f"{subpath}0"


def _leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif isinstance(value, str | int | float) and not isinstance(value, bool):
        yield str(value)


def searchable_text(row: Row) -> str:
    """What bare words of a search match: every value of the meta and of the JSON body."""
    parts = [row.address.shortname, *_leaves(row.meta)]
    if row.body_text is not None:
        parts.extend(_leaves(orjson.loads(row.body_text)))
    return " ".join(parts)


def _tree_identity(root: Path) -> str:
    """The tree this index describes: its path and the identity of its folder."""
    try:
        stat = root.stat()
    except FileNotFoundError:
        return f"{root}|missing"
    return f"{root}|{stat.st_dev}|{stat.st_ino}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Index:
    """The SQLite index of one spaces tree, kept in step by the tree's writes."""

    def __init__(self, path: Path, layout: Layout) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.layout = layout
        self._local = threading.local()
        # Marks this process's pending writes, so a restart in the same process repairs old ones.
        self.token = secrets.token_hex(8)
        self.connection().executescript(_SCHEMA)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (SQLite connections are not shared between threads)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, timeout=120, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
        return connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self.connection()
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
        with self.transaction() as connection:
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
        self, connection: sqlite3.Connection, space_name: str, subpath: str, found: Iterable[tuple[Address, Path]]
    ) -> None:
        if subpath == ROOT:
            connection.execute("DELETE FROM rows WHERE space_name = ? AND kind != ?", (space_name, KIND_SPACE))
        else:
            self._delete_below(connection, space_name, subpath)
        self._put_all(connection, found)

    def _put_all(self, connection: sqlite3.Connection, found: Iterable[tuple[Address, Path]]) -> None:
        for address, meta_path in found:
            row = read_row(self.layout, address, meta_path)
            if isinstance(row, Row):
                self._put(connection, row)

    @staticmethod
    def _put(connection: sqlite3.Connection, row: Row) -> None:
        address, meta = row.address, row.meta
        payload = meta.get("payload") if isinstance(meta.get("payload"), dict) else None
        values = (
            address.space_name,
            address.subpath,
            address.shortname,
            address.resource_type.value,
            row.kind,
            meta.get("uuid"),
            meta.get("slug"),
            1 if meta.get("is_active") else 0,
            meta.get("owner_shortname"),
            meta.get("created_at"),
            meta.get("updated_at"),
            payload.get("schema_shortname") if payload else None,
            row.meta_text,
            row.body_text,
        )
        (row_id,) = connection.execute(_UPSERT, values).fetchone()
        connection.execute("DELETE FROM rows_text WHERE rowid = ?", (row_id,))
        connection.execute("INSERT INTO rows_text (rowid, text) VALUES (?, ?)", (row_id, searchable_text(row)))

    # Start-up: rebuild or repair.

    def prepare(self) -> str:
        """Rebuild the index when it describes another tree, else repair interrupted writes; say which."""
        identity = _tree_identity(self.layout.root)
        connection = self.connection()
        marker = dict(connection.execute("SELECT key, value FROM marker").fetchall())
        if marker.get("tree") != identity or marker.get("version") != VERSION:
            self.rebuild()
            return "rebuilt"
        repaired = self.repair()
        return f"repaired {repaired}" if repaired else "current"

    def rebuild(self, space_name: str | None = None) -> int:
        """Read the whole tree (or one space) again; answer how many rows the index now holds for it."""
        spaces = [space_name] if space_name else self._spaces_on_disk()
        with self.transaction() as connection:
            if space_name is None:
                for table in ("rows", "rows_text", "counts", "pending"):
                    connection.execute(f"DELETE FROM {table}")
            else:
                connection.execute("DELETE FROM rows WHERE space_name = ?", (space_name,))
            for space in spaces:
                self._put_all(connection, space_contents(self.layout, space))
            connection.execute(
                "INSERT OR REPLACE INTO marker VALUES ('tree', ?), ('version', ?)",
                (_tree_identity(self.layout.root), VERSION),
            )
            connection.execute("DELETE FROM counts WHERE n <= 0")
            query = "SELECT count(*) FROM rows" + (" WHERE space_name = ?" if space_name else "")
            (total,) = connection.execute(query, (space_name,) if space_name else ()).fetchone()
        logger.info("rebuilt the index", extra={"space": space_name or "*", "rows": total})
        return int(total)

    def _spaces_on_disk(self) -> list[str]:
        root = self.layout.root
        if not root.is_dir():
            return []
        return sorted(child.name for child in root.iterdir() if (child / ".dm" / "meta.space.json").is_file())

    def repair(self) -> int:
        """Re-read the locations whose writer died before updating the index; answer how many."""
        connection = self.connection()
        stale = [
            (row_id, Address(space, subpath, shortname, ResourceType(resource_type)))
            for row_id, pid, token, space, subpath, shortname, resource_type in connection.execute(
                "SELECT id, pid, token, space_name, subpath, shortname, resource_type FROM pending"
            ).fetchall()
            if not _alive(pid) or (pid == os.getpid() and token != self.token)
        ]
        for row_id, address in stale:
            with self.transaction() as transaction:
                self._sync(transaction, address, whole=True)
                transaction.execute("DELETE FROM pending WHERE id = ?", (row_id,))
        if stale:
            logger.warning("repaired the index after interrupted writes", extra={"locations": len(stale)})
        return len(stale)

    def snapshot(self, space_name: str | None = None) -> dict[tuple[str, str, str, str], tuple[str, str | None]]:
        """Every row's location with its meta and body, to compare two indexes or the index with the tree."""
        query = "SELECT space_name, subpath, shortname, resource_type, meta, body FROM rows"
        params: tuple[str, ...] = ()
        if space_name is not None:
            query += " WHERE space_name = ?"
            params = (space_name,)
        return {
            (space, subpath, shortname, resource_type): (meta, body)
            for space, subpath, shortname, resource_type, meta, body in self.connection().execute(query, params)
        }


def space_contents_after(layout: Layout, space_name: str) -> Iterator[tuple[Address, Path]]:
    """Everything of a space except the space's own meta."""
    for address, path in space_contents(layout, space_name):
        if address.resource_type != ResourceType.space:
            yield address, path
