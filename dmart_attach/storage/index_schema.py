"""The index's tables, and the column values of one row."""

import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson

from dmart_attach.storage.scan import Row

# Bumped whenever the tables change; an index of another version is rebuilt at start.
VERSION = "5"

SCHEMA = """
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
CREATE INDEX IF NOT EXISTS rows_listing ON rows (space_name, subpath, kind, shortname, resource_type);
CREATE INDEX IF NOT EXISTS rows_uuid ON rows (uuid);
CREATE INDEX IF NOT EXISTS rows_slug ON rows (slug);
CREATE VIRTUAL TABLE IF NOT EXISTS rows_text USING fts5(text, tokenize = 'unicode61 remove_diacritics 2');
CREATE TABLE IF NOT EXISTS counts (
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    kind INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    changes INTEGER NOT NULL,
    PRIMARY KEY (space_name, subpath, kind, resource_type)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anchors (
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    position INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    shortname TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    PRIMARY KEY (space_name, subpath, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS anchored (
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    changes INTEGER NOT NULL,
    PRIMARY KEY (space_name, subpath)
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS rows_added AFTER INSERT ON rows BEGIN
    INSERT INTO counts VALUES (new.space_name, new.subpath, new.kind, new.resource_type, 1, 1)
    ON CONFLICT DO UPDATE SET n = n + 1, changes = changes + 1;
END;
CREATE TRIGGER IF NOT EXISTS rows_removed AFTER DELETE ON rows BEGIN
    UPDATE counts SET n = n - 1, changes = changes + 1
    WHERE space_name = old.space_name AND subpath = old.subpath AND kind = old.kind
    AND resource_type = old.resource_type;
    DELETE FROM rows_text WHERE rowid = old.id;
    DELETE FROM terms WHERE row_id = old.id;
END;
CREATE TABLE IF NOT EXISTS terms (
    row_id INTEGER NOT NULL,
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    path TEXT NOT NULL,
    value
);
CREATE INDEX IF NOT EXISTS terms_by_place ON terms (space_name, subpath, path, value, row_id);
-- A search below a folder (a range of subpaths) finds its value first, then the places.
CREATE INDEX IF NOT EXISTS terms_by_value ON terms (space_name, path, value, subpath, row_id);
CREATE INDEX IF NOT EXISTS terms_by_row ON terms (row_id);
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

DROP = """
DROP TABLE IF EXISTS rows;
DROP TABLE IF EXISTS rows_text;
DROP TABLE IF EXISTS counts;
DROP TABLE IF EXISTS terms;
DROP TABLE IF EXISTS anchors;
DROP TABLE IF EXISTS anchored;
DROP TABLE IF EXISTS pending;
DROP TABLE IF EXISTS marker;
"""

COLUMNS = (
    "space_name, subpath, shortname, resource_type, kind, uuid, slug, is_active, owner_shortname, "
    "created_at, updated_at, schema_shortname, meta, body"
)
MARKS = ", ".join("?" * 14)
BATCH = 1000
# Longer strings are found by full text only, not by `@field:value`.
TERM_LENGTH = 256
UPSERT = f"""
INSERT INTO rows ({COLUMNS}) VALUES ({MARKS})
ON CONFLICT (space_name, subpath, shortname, resource_type) DO UPDATE SET
    uuid = excluded.uuid, slug = excluded.slug, is_active = excluded.is_active,
    owner_shortname = excluded.owner_shortname, created_at = excluded.created_at,
    updated_at = excluded.updated_at, schema_shortname = excluded.schema_shortname,
    meta = excluded.meta, body = excluded.body
RETURNING id
"""


def row_values(row: Row) -> tuple[Any, ...]:
    """The column values of a row, in the order of `COLUMNS`."""
    address, meta = row.address, row.meta
    payload = meta.get("payload") if isinstance(meta.get("payload"), dict) else None
    return (
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


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    elif isinstance(value, bool):
        yield path, int(value)
    elif isinstance(value, int | float) or (isinstance(value, str) and len(value) <= TERM_LENGTH):
        yield path, value


def row_terms(row_id: int, row: Row) -> Iterator[tuple[Any, ...]]:
    """Every short value of the meta and of the JSON body with its dotted path (list items under the list's)."""
    place = (row_id, row.address.space_name, row.address.subpath)
    for path, value in _leaves(row.meta, ""):
        yield (*place, path, value)
    if row.body_text is not None:
        for path, value in _leaves(orjson.loads(row.body_text), "payload.body"):
            yield (*place, path, value)


def insert_rows(
    connection: sqlite3.Connection,
    rows: list[tuple[Any, ...]],
    texts: list[tuple[int, str]],
    terms: list[tuple[Any, ...]],
) -> None:
    connection.executemany(f"INSERT INTO rows (id, {COLUMNS}) VALUES (?, {MARKS})", rows)
    connection.executemany("INSERT INTO rows_text (rowid, text) VALUES (?, ?)", texts)
    connection.executemany("INSERT INTO terms VALUES (?, ?, ?, ?, ?)", terms)
