"""Finding rows in the index: a selection of rows turned into SQL, counted, paged, grouped."""

from dataclasses import dataclass, field
from typing import Any

from dmart_attach.identifiers import ROOT
from dmart_attach.models.search import FieldTerm, Group, Word, is_date, is_number
from dmart_attach.storage.index import Index, under

_COLUMNS = {
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
_NUMBER_TYPES = "typeof({v}) IN ('integer', 'real')"
_DAY = 10


@dataclass(frozen=True)
class Clause:
    """A piece of SQL over the `rows` table and its parameters; how permissions narrow a query."""

    sql: str
    params: tuple[Any, ...] = ()


@dataclass
class Selection:
    """Which rows a query means, before sorting and paging."""

    space_name: str | None
    subpath: str = ROOT
    kinds: tuple[int, ...] = ()
    exact: bool = True
    resource_types: list[str] | None = None
    shortnames: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    schema_names: list[str] = field(default_factory=list)
    from_date: str | None = None
    to_date: str | None = None
    groups: list[Group] = field(default_factory=list)
    visibility: Clause | None = None

    def is_plain(self) -> bool:
        """Whether only place, kind and type narrow it, so the kept counts answer its total."""
        narrowing = (self.shortnames, self.tags, self.schema_names, self.from_date, self.to_date, self.groups)
        return not any(narrowing) and self.visibility is None and self.space_name is not None


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


def json_path(path: str) -> str:
    return "$" + "".join(f'."{segment}"' for segment in path.split(".") if segment)


def field_source(name: str) -> tuple[str, str | None]:
    """A field as (column, None) or (json document, path): `payload.body.x` in the body, the rest in the meta."""
    if name == "payload.schema_shortname":
        return "rows.schema_shortname", None
    if name in _COLUMNS:
        return f"rows.{name}", None
    if name == "payload.body" or name.startswith("payload.body."):
        return "rows.body", json_path(name.removeprefix("payload.body"))
    return "rows.meta", json_path(name)


def _bool(value: str) -> int | None:
    return {"true": 1, "false": 0}.get(value.lower())


def _equals(expression: str, value: str, params: list[Any]) -> str:
    if "*" in value:
        params.append(value.replace("*", "%"))
        return f"{expression} LIKE ?"
    if is_number(value):
        params.extend([float(value), value])
        return f"({expression} = ? OR {expression} = ?)"
    flag = _bool(value)
    if flag is not None:
        params.extend([flag, value.lower()])
        return f"({expression} = ? OR {expression} = ?)"
    if is_date(value) and len(value) == _DAY:
        params.append(value)
        return f"substr({expression}, 1, 10) = ?"
    params.append(value)
    return f"{expression} = ?"


def _upper(value: str) -> str:
    return f"{value}T23:59:59.999999" if len(value) == _DAY else value


def _predicate(term: FieldTerm, expression: str, params: list[Any]) -> str:
    if term.low is not None and term.high is not None:
        if is_number(term.low) and is_number(term.high):
            params.extend([float(term.low), float(term.high)])
            return f"({_NUMBER_TYPES.format(v=expression)} AND {expression} BETWEEN ? AND ?)"
        params.extend([term.low, _upper(term.high)])
        return f"{expression} BETWEEN ? AND ?"
    if term.comparison == "!":
        return f"NOT {_equals(expression, term.values[0], params)}"
    if term.comparison is not None:
        value = term.values[0]
        if is_number(value):
            params.append(float(value))
            return f"({_NUMBER_TYPES.format(v=expression)} AND {expression} {term.comparison} ?)"
        params.append(_upper(value) if term.comparison in ("<=", ">") else value)
        return f"{expression} {term.comparison} ?"
    return "(" + " OR ".join(_equals(expression, value, params) for value in term.values) + ")"


def _field_sql(term: FieldTerm, params: list[Any]) -> str:
    document, path = field_source(term.field)
    if path is None:
        sql = _predicate(term, document, params)
    else:
        inner: list[Any] = [path]
        predicate = _predicate(term, "j.value", inner)
        params.extend(inner)
        sql = f"EXISTS (SELECT 1 FROM json_each({document}, ?) AS j WHERE {predicate})"
    return f"NOT {sql}" if term.negative else sql


def _word_sql(word: Word, params: list[Any]) -> str:
    params.append('"' + word.text.replace('"', '""') + '"*')
    sql = "rows.id IN (SELECT rowid FROM rows_text WHERE rows_text MATCH ?)"
    return f"NOT {sql}" if word.negative else sql


def _in(column: str, values: list[Any], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join('?' for _ in values)})"


def where(selection: Selection) -> tuple[str, list[Any]]:
    """The WHERE clause of a selection."""
    parts: list[str] = []
    params: list[Any] = []
    if selection.space_name is not None:
        parts.append("rows.space_name = ?")
        params.append(selection.space_name)
    if selection.exact:
        parts.append("rows.subpath = ?")
        params.append(selection.subpath)
    elif selection.subpath != ROOT:
        parts.append("(rows.subpath = ? OR (rows.subpath >= ? AND rows.subpath < ?))")
        params.extend([selection.subpath, *under(selection.subpath)])
    if selection.kinds:
        parts.append(_in("rows.kind", list(selection.kinds), params))
    if selection.resource_types is not None:
        parts.append(_in("rows.resource_type", selection.resource_types, params))
    if selection.shortnames:
        parts.append(_in("rows.shortname", selection.shortnames, params))
    if selection.schema_names:
        parts.append(_in("rows.schema_shortname", selection.schema_names, params))
    if selection.tags:
        tags = _in("value", selection.tags, params)
        parts.append(f"EXISTS (SELECT 1 FROM json_each(rows.meta, '$.tags') WHERE {tags})")
    if selection.from_date:
        parts.append("rows.created_at >= ?")
        params.append(selection.from_date)
    if selection.to_date:
        parts.append("rows.created_at <= ?")
        params.append(selection.to_date)
    alternatives = []
    for group in selection.groups:
        terms = [_field_sql(term, params) for term in group.fields] + [_word_sql(word, params) for word in group.words]
        alternatives.append("(" + " AND ".join(terms) + ")")
    if alternatives:
        parts.append("(" + " OR ".join(alternatives) + ")")
    if selection.visibility is not None:
        parts.append(f"({selection.visibility.sql})")
        params.extend(selection.visibility.params)
    return (" AND ".join(parts) or "1"), params


def value_expression(name: str, params: list[Any]) -> str:
    """A field's value as one SQL expression (for sorting and grouping)."""
    document, path = field_source(name)
    if path is None:
        return document
    params.append(path)
    return f"json_extract({document}, ?)"


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
        clause, params = where(selection)
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
        sql = (
            "SELECT space_name, subpath, shortname, resource_type, kind, meta, body FROM rows "
            f"WHERE {clause} ORDER BY {', '.join(keys)} LIMIT ? OFFSET ?"
        )
        return [Found(*row) for row in self._fetch(sql, [*where_params, *params, limit, offset])]

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
