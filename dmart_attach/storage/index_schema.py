"""The index's tables, and the column values of one row."""

import sqlite3
from collections.abc import Iterator
from typing import Any

import orjson

from dmart_attach.storage.scan import Row

# Bumped whenever the tables change; an index of another version is rebuilt at start.
VERSION = "7"

# Tables that survive a rebuild: the version marker, and the writes in flight of running services.
KEPT_TABLES = (
    "CREATE TABLE IF NOT EXISTS marker (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS pending (
    id INTEGER PRIMARY KEY,
    pid INTEGER NOT NULL,
    token TEXT NOT NULL,
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    shortname TEXT NOT NULL,
    resource_type TEXT NOT NULL
)""",
)
# Tables derived from the tree, dropped and filled again by a rebuild.
DERIVED = ("rows_text", "rows", "counts", "terms", "term_counts", "anchors", "anchored")
# What bare words of a search match: the words of the shortname, the meta and the JSON body, keys
# included, as Dmart matches them against the text of the whole record. The full-text index keeps
# no copy of it: it reads the text here when it needs it.
WORDS = """CREATE VIEW IF NOT EXISTS rows_words (id, text) AS
SELECT id, shortname || ' ' || meta || ' ' || coalesce(body, '') FROM rows"""


def _words(row: str) -> str:
    """The text `rows_words` holds for a row, of the trigger's `new` or `old` one."""
    return f"{row}.shortname || ' ' || {row}.meta || ' ' || coalesce({row}.body, '')"


TABLES = (
    """CREATE TABLE IF NOT EXISTS rows (
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
    body TEXT
)""",
    WORDS,
    "CREATE VIRTUAL TABLE IF NOT EXISTS rows_text USING fts5("
    "text, content = 'rows_words', content_rowid = 'id', tokenize = 'unicode61 remove_diacritics 2')",
    # How many rows each place holds of a kind and type, and how often that changed.
    """CREATE TABLE IF NOT EXISTS counts (
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    kind INTEGER NOT NULL,
    resource_type TEXT NOT NULL,
    n INTEGER NOT NULL,
    changes INTEGER NOT NULL,
    PRIMARY KEY (space_name, subpath, kind, resource_type)
) WITHOUT ROWID""",
    # Every short value of a row's meta and JSON body under its dotted path, once per row;
    # `shared` is 1 when the row holds other values under the same path (a list).
    """CREATE TABLE IF NOT EXISTS terms (
    row_id INTEGER NOT NULL,
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    kind INTEGER NOT NULL,
    path TEXT NOT NULL,
    value NOT NULL,
    shared INTEGER NOT NULL,
    PRIMARY KEY (row_id, path, value)
) WITHOUT ROWID""",
    # How many rows of a place and kind hold a value under a path, how many of them hold others too,
    # and how often that changed.
    """CREATE TABLE IF NOT EXISTS term_counts (
    space_name TEXT NOT NULL,
    path TEXT NOT NULL,
    value NOT NULL,
    subpath TEXT NOT NULL,
    kind INTEGER NOT NULL,
    n INTEGER NOT NULL,
    shared INTEGER NOT NULL,
    changes INTEGER NOT NULL,
    PRIMARY KEY (space_name, path, value, subpath, kind)
) WITHOUT ROWID""",
    # Every `ANCHOR_STEP`-th key of a listing's order, and the change count they were kept at; a listing
    # is a folder's rows (`selector` empty) or the rows under a place that one search term selects.
    """CREATE TABLE IF NOT EXISTS anchors (
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    selector TEXT NOT NULL,
    position INTEGER NOT NULL,
    row_subpath TEXT NOT NULL,
    kind INTEGER NOT NULL,
    shortname TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    PRIMARY KEY (space_name, subpath, selector, position)
) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS anchored (
    space_name TEXT NOT NULL,
    subpath TEXT NOT NULL,
    selector TEXT NOT NULL,
    changes INTEGER NOT NULL,
    used INTEGER NOT NULL,
    PRIMARY KEY (space_name, subpath, selector)
) WITHOUT ROWID""",
)
INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS rows_place ON rows (space_name, subpath, shortname, resource_type)",
    "CREATE INDEX IF NOT EXISTS rows_listing ON rows (space_name, subpath, kind, shortname, resource_type)",
    "CREATE INDEX IF NOT EXISTS rows_uuid ON rows (uuid)",
    "CREATE INDEX IF NOT EXISTS rows_slug ON rows (slug)",
    # A search finds its value first, then the places (one folder, or a range of subpaths below one);
    # it holds every column the kept counts are made of, so a rebuild counts them in its order.
    "CREATE INDEX IF NOT EXISTS terms_by_value ON terms (space_name, path, value, subpath, kind, shared, row_id)",
)
TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS rows_added AFTER INSERT ON rows BEGIN
    INSERT INTO counts VALUES (new.space_name, new.subpath, new.kind, new.resource_type, 1, 1)
    ON CONFLICT DO UPDATE SET n = n + 1, changes = changes + 1;
    INSERT INTO rows_text (rowid, text) VALUES (new.id, {_words("new")});
END""",
    # The full-text index forgets a text by being handed the very text it was given.
    f"""CREATE TRIGGER IF NOT EXISTS rows_changed AFTER UPDATE ON rows BEGIN
    INSERT INTO rows_text (rows_text, rowid, text)
    VALUES ('delete', old.id, {_words("old")});
    INSERT INTO rows_text (rowid, text) VALUES (new.id, {_words("new")});
END""",
    f"""CREATE TRIGGER IF NOT EXISTS rows_removed AFTER DELETE ON rows BEGIN
    UPDATE counts SET n = n - 1, changes = changes + 1
    WHERE space_name = old.space_name AND subpath = old.subpath AND kind = old.kind
    AND resource_type = old.resource_type;
    INSERT INTO rows_text (rows_text, rowid, text)
    VALUES ('delete', old.id, {_words("old")});
    DELETE FROM terms WHERE row_id = old.id;
END""",
    """CREATE TRIGGER IF NOT EXISTS terms_added AFTER INSERT ON terms BEGIN
    INSERT INTO term_counts VALUES (new.space_name, new.path, new.value, new.subpath, new.kind, 1, new.shared, 1)
    ON CONFLICT DO UPDATE SET n = n + 1, shared = shared + excluded.shared, changes = changes + 1;
END""",
    """CREATE TRIGGER IF NOT EXISTS terms_removed AFTER DELETE ON terms BEGIN
    UPDATE term_counts SET n = n - 1, shared = shared - old.shared, changes = changes + 1
    WHERE space_name = old.space_name AND path = old.path AND value = old.value AND subpath = old.subpath
    AND kind = old.kind;
END""",
)
# The full text and the kept counts of rows just loaded without their triggers.
TALLIES = (
    "INSERT INTO rows_text (rows_text) VALUES ('rebuild')",
    "INSERT INTO counts SELECT space_name, subpath, kind, resource_type, count(*), count(*) FROM rows "
    "GROUP BY space_name, subpath, kind, resource_type",
    "INSERT INTO term_counts SELECT space_name, path, value, subpath, kind, count(*), sum(shared), count(*) "
    "FROM terms GROUP BY space_name, path, value, subpath, kind",
)
SCHEMA = ";\n".join((*KEPT_TABLES, *TABLES, *INDEXES, *TRIGGERS)) + ";"
DROP = "DROP VIEW IF EXISTS rows_words;\n" + "".join(
    f"DROP TABLE IF EXISTS {table};\n" for table in ("marker", "pending", *DERIVED)
)

COLUMNS = (
    "space_name, subpath, shortname, resource_type, kind, uuid, slug, is_active, owner_shortname, "
    "created_at, updated_at, schema_shortname, meta, body"
)
MARKS = ", ".join("?" * 14)
TERM_INSERT = "INSERT INTO terms VALUES (?, ?, ?, ?, ?, ?, ?)"
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


# Meta fields that are columns of `rows`: searches read them there, so they are not kept as terms.
COLUMN_FIELDS = frozenset(
    {
        "shortname",
        "subpath",
        "resource_type",
        "uuid",
        "slug",
        "is_active",
        "owner_shortname",
        "created_at",
        "updated_at",
        "space_name",
        "schema_shortname",
    }
)
_COLUMN_PATHS = frozenset({"payload.schema_shortname"})


_SIGNED = 2**63


def _leaves(value: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item, path)
    elif isinstance(value, bool):
        yield path, int(value)
    elif isinstance(value, int) and not -_SIGNED <= value < _SIGNED:
        # SQLite's integers are signed 64-bit ones: a larger one (up to 2**64 is accepted) is kept as a float.
        yield path, float(value)
    elif isinstance(value, int | float) or (isinstance(value, str) and len(value) <= TERM_LENGTH):
        yield path, value


def _values_by_path(row: Row) -> dict[str, dict[Any, None]]:
    """Each dotted path of the row's short values with its distinct values, in order."""
    found: dict[str, dict[Any, None]] = {}
    for key, item in row.meta.items():
        if key in COLUMN_FIELDS:
            continue
        for path, value in _leaves(item, key):
            if path not in _COLUMN_PATHS:
                found.setdefault(path, {})[value] = None
    if row.body_text is not None:
        for path, value in _leaves(orjson.loads(row.body_text), "payload.body"):
            found.setdefault(path, {})[value] = None
    return found


def row_terms(row_id: int, row: Row) -> Iterator[tuple[Any, ...]]:
    """The row's short values with their dotted paths (list items under the list's), once each.

    Fields held in columns are left out. Values equal in SQLite (1, 1.0 and true) are one value.
    """
    place = (row_id, row.address.space_name, row.address.subpath, row.kind)
    for path, values in _values_by_path(row).items():
        shared = 1 if len(values) > 1 else 0
        for value in values:
            yield (*place, path, value, shared)


def insert_rows(connection: sqlite3.Connection, rows: list[tuple[Any, ...]], terms: list[tuple[Any, ...]]) -> None:
    connection.executemany(f"INSERT INTO rows (id, {COLUMNS}) VALUES (?, {MARKS})", rows)
    connection.executemany(TERM_INSERT, terms)
