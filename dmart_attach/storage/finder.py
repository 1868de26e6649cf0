"""Finding rows in the index: a selection counted, paged, sampled, grouped."""

from dataclasses import dataclass
from typing import Any

from dmart_attach.storage.index import Index
from dmart_attach.storage.scan import KIND_ENTRY, KIND_FOLDER
from dmart_attach.storage.selection import Selection, found_by_terms, value_expression, where

# Every how many rows of a folder's listing order a key is kept, so a deep page starts near its place.
ANCHOR_STEP = 512
_LISTING_KINDS = ((KIND_ENTRY,), (KIND_ENTRY, KIND_FOLDER))


@dataclass(frozen=True)
class Found:
    """One row of the index as a query reads it."""

    space_name: str
    subpath: str
    shortname: str
    resource_type: str
    kind: int
    meta: str
    body: str | None


class Finder:
    """Queries over the index."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def _fetch(self, sql: str, params: list[Any]) -> list[Any]:
        return self.index.connection().execute(sql, params).fetchall()

    def count(self, selection: Selection) -> int:
        """How many rows the selection holds."""
        if selection.is_plain():
            return self._kept_count(selection)
        # Counting reads every match: from the term's list of matches that is less than the whole place.
        clause, params = where(selection, by_terms=found_by_terms(selection))
        (total,) = self._fetch(f"SELECT count(*) FROM rows WHERE {clause}", params)[0]
        return int(total)

    def _kept_count(self, selection: Selection) -> int:
        plain = Selection(
            space_name=selection.space_name,
            subpath=selection.subpath,
            kinds=selection.kinds,
            exact=selection.exact,
            resource_types=selection.resource_types,
        )
        clause, params = where(plain)
        (total,) = self._fetch(f"SELECT coalesce(sum(n), 0) FROM counts AS rows WHERE {clause}", params)[0]
        return int(total)

    def page(
        self,
        selection: Selection,
        *,
        order: list[tuple[str, bool]],
        limit: int,
        offset: int,
    ) -> list[Found]:
        """One page of rows, ordered by (field, descending) pairs, then by place for a stable order."""
        params: list[Any] = []
        keys = [f"{value_expression(name, params)}{' DESC' if descending else ''}" for name, descending in order]
        keys += ["rows.subpath", "rows.kind", "rows.shortname", "rows.resource_type"]
        clause, where_params = where(selection)
        connection = self.index.connection()
        anchored = not order and self._anchors_ready(selection, offset)
        # One read snapshot, so the kept keys and the rows they point into belong together.
        connection.execute("BEGIN")
        try:
            start = self._anchor(selection, offset) if anchored else None
            if start is not None:
                position, kind, shortname, resource_type = start
                clause += " AND (rows.kind, rows.shortname, rows.resource_type) >= (?, ?, ?)"
                where_params += [kind, shortname, resource_type]
                offset -= position
            # Skipped rows are walked in the covering index; only the page's rows are read in full.
            chosen = f"SELECT rows.id FROM rows WHERE {clause} ORDER BY {', '.join(keys)} LIMIT ? OFFSET ?"
            sql = (
                "SELECT space_name, subpath, shortname, resource_type, kind, meta, body FROM rows "
                f"WHERE id IN ({chosen}) ORDER BY {', '.join(keys)}"
            )
            found = connection.execute(sql, [*where_params, *params, limit, offset, *params]).fetchall()
        finally:
            connection.execute("COMMIT")
        return [Found(*row) for row in found]

    def _changes(self, place: tuple[str | None, str]) -> tuple[int, int | None]:
        """How often a folder's rows came or went, and how often they had when its keys were kept."""
        connection = self.index.connection()
        (changes,) = connection.execute(
            "SELECT coalesce(sum(changes), 0) FROM counts WHERE space_name = ? AND subpath = ?", place
        ).fetchone()
        kept = connection.execute("SELECT changes FROM anchored WHERE space_name = ? AND subpath = ?", place).fetchone()
        return int(changes), None if kept is None else int(kept[0])

    def _anchors_ready(self, selection: Selection, offset: int) -> bool:
        """Whether the page is deep in a folder's listing order; keeps the folder's keys up to date if so."""
        listing = selection.exact and selection.kinds in _LISTING_KINDS and selection.resource_types is None
        if offset < ANCHOR_STEP or not listing or not selection.is_plain():
            return False
        place = (selection.space_name, selection.subpath)
        changes, kept = self._changes(place)
        if kept != changes:
            self._keep_anchors(place)
        return True

    def _anchor(self, selection: Selection, offset: int) -> tuple[int, int, str, str] | None:
        """The kept key at or before `offset`, if the keys still match the folder (read in the page's snapshot)."""
        place = (selection.space_name, selection.subpath)
        changes, kept = self._changes(place)
        if kept != changes:
            return None
        found = (
            self.index.connection()
            .execute(
                "SELECT position, kind, shortname, resource_type FROM anchors "
                "WHERE space_name = ? AND subpath = ? AND position <= ? ORDER BY position DESC LIMIT 1",
                (*place, offset),
            )
            .fetchone()
        )
        return None if found is None else (int(found[0]), int(found[1]), str(found[2]), str(found[3]))

    def _keep_anchors(self, place: tuple[str | None, str]) -> None:
        """Keep every `ANCHOR_STEP`-th key of a folder's listing order, with the folder's change count."""
        with self.index.transaction() as connection:
            connection.execute("DELETE FROM anchors WHERE space_name = ? AND subpath = ?", place)
            connection.execute(
                "INSERT INTO anchors SELECT ?, ?, position, kind, shortname, resource_type FROM ("
                "SELECT row_number() OVER (ORDER BY kind, shortname, resource_type) - 1 AS position, "
                "kind, shortname, resource_type FROM rows WHERE space_name = ? AND subpath = ?"
                ") WHERE position % ? = 0",
                (*place, *place, ANCHOR_STEP),
            )
            connection.execute(
                "INSERT OR REPLACE INTO anchored VALUES (?, ?, "
                "(SELECT coalesce(sum(changes), 0) FROM counts WHERE space_name = ? AND subpath = ?))",
                (*place, *place),
            )

    def sample(self, selection: Selection, *, limit: int) -> list[Found]:
        """Rows drawn at random."""
        clause, params = where(selection)
        sql = (
            "SELECT space_name, subpath, shortname, resource_type, kind, meta, body FROM rows "
            f"WHERE {clause} ORDER BY random() LIMIT ?"
        )
        return [Found(*row) for row in self._fetch(sql, [*params, limit])]

    def tag_counts(self, selection: Selection) -> list[tuple[str, int]]:
        """Each tag of the selected rows with how many rows carry it, most frequent first."""
        clause, params = where(selection)
        sql = (
            "SELECT tag.value, count(*) AS n FROM rows, json_each(rows.meta, '$.tags') AS tag "
            f"WHERE {clause} GROUP BY tag.value ORDER BY n DESC, tag.value"
        )
        return [(str(tag), int(n)) for tag, n in self._fetch(sql, params)]

    def type_counts(self, selection: Selection) -> dict[str, int]:
        """How many selected rows there are of each resource type."""
        clause, params = where(selection)
        sql = f"SELECT resource_type, count(*) FROM rows WHERE {clause} GROUP BY resource_type ORDER BY resource_type"
        return {str(kind): int(n) for kind, n in self._fetch(sql, params)}

    def aggregate(
        self, selection: Selection, *, group_by: list[str], reducers: list[tuple[str, str, str | None]]
    ) -> list[dict[str, Any]]:
        """One dict per group: the grouped values and each (alias, function, field) reducer's result."""
        params: list[Any] = []
        columns = [f"{value_expression(name, params)} AS g{number}" for number, name in enumerate(group_by)]
        for number, (_, function, name) in enumerate(reducers):
            argument = "*" if name is None else value_expression(name, params)
            columns.append(f"{function}({argument}) AS r{number}")
        clause, where_params = where(selection)
        sql = f"SELECT {', '.join(columns) or 'count(*)'} FROM rows WHERE {clause}"
        if group_by:
            sql += " GROUP BY " + ", ".join(f"g{number}" for number in range(len(group_by)))
            sql += " ORDER BY " + ", ".join(f"g{number}" for number in range(len(group_by)))
        answers = []
        for row in self._fetch(sql, [*params, *where_params]):
            values = dict(zip(group_by, row[: len(group_by)], strict=True))
            values.update({alias: row[len(group_by) + n] for n, (alias, _, _) in enumerate(reducers)})
            answers.append(values)
        return answers

    def by_identifier(self, selection: Selection, *, column: str, value: str, prefix: bool) -> Found | None:
        """The first selected row whose `uuid` or `slug` is `value` (or starts with it)."""
        if column not in ("uuid", "slug"):
            raise ValueError(column)
        test = f"rows.{column} >= ? AND rows.{column} < ?" if prefix else f"rows.{column} = ?"
        clause, params = where(selection)
        params = [value, value + "\uffff", *params] if prefix else [value, *params]
        sql = (
            "SELECT space_name, subpath, shortname, resource_type, kind, meta, body FROM rows "
            f"WHERE {test} AND {clause} ORDER BY kind, space_name, subpath, shortname LIMIT 1"
        )
        rows = self._fetch(sql, params)
        return Found(*rows[0]) if rows else None
