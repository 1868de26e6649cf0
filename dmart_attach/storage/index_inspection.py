"""Reading an index whole, to compare it with a fresh rebuild or with the tree (tests and health checks)."""

import sqlite3
from typing import Any


class Inspection:
    """What an index holds, row by row: metas and bodies, indexed words and kept values, kept counts."""

    def connection(self) -> sqlite3.Connection:
        raise NotImplementedError

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

    def derived(self) -> dict[tuple[str, str, str, str], tuple[tuple[Any, ...], tuple[tuple[Any, ...], ...]]]:
        """Every row's indexed words (with their places) and kept values, to check that they follow the rows."""
        connection = self.connection()
        connection.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.rows_text_words USING fts5vocab(main, rows_text, instance)"
        )
        words: dict[int, list[tuple[str, int]]] = {}
        for row_id, word, place in connection.execute("SELECT doc, term, offset FROM temp.rows_text_words"):
            words.setdefault(row_id, []).append((word, place))
        texts = {row_id: tuple(sorted(found)) for row_id, found in words.items()}
        kept: dict[int, list[tuple[Any, ...]]] = {}
        for row_id, *term in connection.execute("SELECT * FROM terms"):
            kept.setdefault(row_id, []).append(tuple(term))
        rows = connection.execute("SELECT id, space_name, subpath, shortname, resource_type FROM rows").fetchall()
        orphans = (texts.keys() | kept.keys()) - {row[0] for row in rows}
        if orphans:
            raise ValueError(f"index rows {sorted(orphans)} have text or values but no row")
        return {
            (space, subpath, shortname, resource_type): (
                texts.get(row_id, ()),
                tuple(sorted(kept.get(row_id, []), key=repr)),
            )
            for row_id, space, subpath, shortname, resource_type in rows
        }

    def tallies(self) -> tuple[dict[tuple[Any, ...], int], dict[tuple[Any, ...], tuple[int, int]]]:
        """The kept counts of rows and of terms (without emptied ones), to check that they follow the rows."""
        connection = self.connection()
        rows = {
            tuple(key): n
            for *key, n in connection.execute(
                "SELECT space_name, subpath, kind, resource_type, n FROM counts WHERE n != 0"
            )
        }
        terms = {
            (space, path, repr(value if isinstance(value, str) else float(value)), subpath, kind): (n, shared)
            for space, path, value, subpath, kind, n, shared in connection.execute(
                "SELECT space_name, path, value, subpath, kind, n, shared FROM term_counts WHERE n != 0"
            )
        }
        return rows, terms
