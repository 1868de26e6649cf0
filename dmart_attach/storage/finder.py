"""Finding rows in the index: a selection counted, paged, sampled, grouped."""

from dataclasses import dataclass, field
from typing import Any

import orjson

from dmart_attach.storage.index import Index
from dmart_attach.storage.scan import KIND_ENTRY, KIND_FOLDER
from dmart_attach.storage.selection import (
    KeptTerm,
    Selection,
    Start,
    found_by_terms,
    kept_term,
    kept_term_where,
    value_expression,
    where,
)

# Every how many rows of a folder's listing order a key is kept, so a deep page starts near its place.
ANCHOR_STEP = 512
_LISTING_KINDS = ((KIND_ENTRY,), (KIND_ENTRY, KIND_FOLDER))
# A search walks its place in order when at least this many rows match, and one row in this many.
_DENSE_MATCHES = 1024
_DENSITY = 4
# How many searches' keys are kept (the latest ones).
_KEPT_SEARCHES = 64


@dataclass(frozen=True)
class _Listing:
    """An order of rows whose every `ANCHOR_STEP`-th key is kept, and how to tell that its rows changed."""

    selection: Selection
    selector: str
    changes_sql: str
    changes_params: list[Any] = field(default_factory=list)

    @property
    def place(self) -> tuple[str | None, str, str]:
        return (self.selection.space_name, self.selection.subpath, self.selector)


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
        kept = kept_term(selection)
        if kept is not None:
            total, shared = self._term_count(selection, kept)
            # Rows that hold two of the values (a list) would be counted twice: count them one by one.
            if len(kept.values) == 1 or shared == 0:
                return total
            clause, params = kept_term_where(selection, kept)
            sql = f"SELECT count(DISTINCT row_id) FROM terms AS term_counts WHERE {clause}"
            return int(self._fetch(sql, params)[0][0])
        # Counting reads every match: from the term's list of matches that is less than the whole place.
        clause, params = where(selection, by_terms=found_by_terms(selection))
        (total,) = self._fetch(f"SELECT count(*) FROM rows WHERE {clause}", params)[0]
        return int(total)

    def _term_count(self, selection: Selection, kept: KeptTerm) -> tuple[int, int]:
        """The kept number of rows holding each value of the term, summed, and how many of them hold others."""
        clause, params = kept_term_where(selection, kept)
        sql = f"SELECT coalesce(sum(n), 0), coalesce(sum(shared), 0) FROM term_counts WHERE {clause}"
        total, shared = self._fetch(sql, params)[0]
        return int(total), int(shared)

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
        listing = None if order else self._listing(selection)
        correlated = listing is not None and bool(listing.selector)
        connection = self.index.connection()
        anchored = listing is not None and offset >= ANCHOR_STEP and self._anchors_ready(listing)
        # One read snapshot, so the kept keys and the rows they point into belong together.
        connection.execute("BEGIN")
        try:
            kept = self._anchor(listing, offset) if anchored and listing is not None else None
            start = None
            if kept is not None:
                position, start = kept
                offset -= position
            clause, where_params = where(selection, correlated=correlated, start=start)
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

    def _listing(self, selection: Selection) -> "_Listing | None":
        """The listing order a page of the selection walks, when kept keys can start its deep pages.

        A folder's own listing, or a search that one term decides and most rows of the place match
        (fewer matches are found faster from the term's own list of rows).
        """
        kinds_listed = selection.kinds in _LISTING_KINDS and selection.resource_types is None
        if selection.is_plain():
            if not (selection.exact and kinds_listed):
                return None
            place = [selection.space_name, selection.subpath]
            return _Listing(
                selection,
                "",
                "SELECT coalesce(sum(changes), 0) FROM counts WHERE space_name = ? AND subpath = ?",
                place,
            )
        kept = kept_term(selection)
        if kept is None:
            return None
        matches, _ = self._term_count(selection, kept)
        if matches < _DENSE_MATCHES or matches * _DENSITY < self._kept_count(selection):
            return None
        clause, params = kept_term_where(selection, kept)
        selector = orjson.dumps([selection.exact, selection.kinds, kept.path, kept.values]).decode()
        return _Listing(
            selection, selector, f"SELECT coalesce(sum(changes), 0) FROM term_counts WHERE {clause}", params
        )

    def _changes(self, listing: "_Listing") -> tuple[int, int | None]:
        """How often the listing's rows came, went or changed, and how often they had when its keys were kept."""
        connection = self.index.connection()
        (changes,) = connection.execute(listing.changes_sql, listing.changes_params).fetchone()
        kept = connection.execute(
            "SELECT changes FROM anchored WHERE space_name = ? AND subpath = ? AND selector = ?", listing.place
        ).fetchone()
        return int(changes), None if kept is None else int(kept[0])

    def _anchors_ready(self, listing: "_Listing") -> bool:
        """Keep the listing's keys up to date; answer whether they are (a concurrent write may stale them)."""
        changes, kept = self._changes(listing)
        if kept != changes:
            self._keep_anchors(listing)
        return True

    def _anchor(self, listing: "_Listing", offset: int) -> tuple[int, Start] | None:
        """The kept key at or before `offset`, if the keys still match the listing (read in the page's snapshot)."""
        changes, kept = self._changes(listing)
        if kept != changes:
            return None
        found = (
            self.index.connection()
            .execute(
                "SELECT position, row_subpath, kind, shortname, resource_type FROM anchors "
                "WHERE space_name = ? AND subpath = ? AND selector = ? AND position <= ? "
                "ORDER BY position DESC LIMIT 1",
                (*listing.place, offset),
            )
            .fetchone()
        )
        if found is None:
            return None
        position, subpath, kind, shortname, resource_type = found
        return int(position), (str(subpath), int(kind), str(shortname), str(resource_type))

    def _keep_anchors(self, listing: "_Listing") -> None:
        """Keep every `ANCHOR_STEP`-th key of the listing's order, with its change count."""
        clause, params = where(listing.selection, correlated=bool(listing.selector))
        with self.index.transaction() as connection:
            connection.execute(
                "DELETE FROM anchors WHERE space_name = ? AND subpath = ? AND selector = ?", listing.place
            )
            connection.execute(
                "INSERT INTO anchors SELECT ?, ?, ?, position, subpath, kind, shortname, resource_type FROM ("
                "SELECT row_number() OVER (ORDER BY subpath, kind, shortname, resource_type) - 1 AS position, "
                f"subpath, kind, shortname, resource_type FROM rows WHERE {clause}"
                ") WHERE position % ? = 0",
                (*listing.place, *params, ANCHOR_STEP),
            )
            (changes,) = connection.execute(listing.changes_sql, listing.changes_params).fetchone()
            connection.execute(
                "INSERT OR REPLACE INTO anchored VALUES (?, ?, ?, ?, "
                "(SELECT coalesce(max(used), 0) + 1 FROM anchored))",
                (*listing.place, changes),
            )
            # Keys of searches are kept for the latest few only; a folder's own keys always.
            connection.execute(
                "DELETE FROM anchors WHERE selector != '' AND (space_name, subpath, selector) IN ("
                "SELECT space_name, subpath, selector FROM anchored WHERE selector != '' "
                "ORDER BY used DESC LIMIT -1 OFFSET ?)",
                (_KEPT_SEARCHES,),
            )
            connection.execute(
                "DELETE FROM anchored WHERE selector != '' AND used NOT IN ("
                "SELECT used FROM anchored WHERE selector != '' ORDER BY used DESC LIMIT ?)",
                (_KEPT_SEARCHES,),
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
        """Each tag of the selected rows with how many rows carry it (once each), most frequent first."""
        clause, params = where(selection)
        sql = (
            "SELECT tag.value, count(DISTINCT rows.id) AS n FROM rows, json_each(rows.meta, '$.tags') AS tag "
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
