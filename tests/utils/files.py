"""Real files of every kind the upload tests send, made on the spot."""

import base64
import os
import sqlite3
from pathlib import Path

import duckdb

_REPO = Path(__file__).resolve().parents[2]
SHARED_REQUESTS = Path(os.environ.get("DMART_SHARED", _REPO.parent / "shared")) / "dmart-sample" / "requests"

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
# A 1x1 greyscale JPEG, as small as JPEG gets.
JPEG_PIXEL = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////////"
    "////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4">'
    b"<script>alert(document.cookie)</script><rect width='4' height='4'/></svg>\n"
)
CSV_BOM_SEMICOLONS = "\ufeffid;name;score\n1;alpha;9.5\n2;beta;7.25\n".encode()
CSV_QUOTED_NEWLINES = b'id,note\n1,"first line\nsecond line"\n2,"plain"\n'
JSONL_MIXED_KEYS = (
    b'{"id": 1, "name": "alice"}\n{"id": 2, "tags": ["x", "y"]}\n{"id": 3, "name": "carol", "ok": true}\n'
)


def jpeg() -> bytes:
    """The sample tree's logo, a real JPEG."""
    return (SHARED_REQUESTS / "logo.jpeg").read_bytes()


def parquet(folder: Path) -> bytes:
    """A Parquet file with a timestamp and a list column."""
    path = folder / "made.parquet"
    with duckdb.connect(":memory:") as con:
        con.execute(
            "COPY (SELECT 1 AS id, TIMESTAMP '2024-05-01 10:00:00' AS seen, [1, 2, 3] AS marks "
            "UNION ALL SELECT 2, TIMESTAMP '2024-05-02 11:30:00', [4]) TO ? (FORMAT parquet)",
            [str(path)],
        )
    return path.read_bytes()


def duckdb_database(folder: Path) -> bytes:
    """A DuckDB database with one table of two rows."""
    path = folder / "made.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE people (id INTEGER, name VARCHAR)")
        con.execute("INSERT INTO people VALUES (1, 'alpha'), (2, 'beta')")
    return path.read_bytes()


def sqlite_database(folder: Path) -> bytes:
    """A SQLite database with one table of three rows."""
    path = folder / "made.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE scores (id INTEGER PRIMARY KEY, score REAL)")
    con.executemany("INSERT INTO scores (score) VALUES (?)", [(1.5,), (2.5,), (3.5,)])
    con.commit()
    con.close()
    return path.read_bytes()
