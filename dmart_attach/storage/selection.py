"""A selection of index rows, and the SQL that means it: places, filters and Dmart's search terms."""

from dataclasses import dataclass, field
from typing import Any

from dmart_attach.identifiers import ROOT
from dmart_attach.models.search import FieldTerm, Group, Word, is_date, is_number
from dmart_attach.storage.index import under
from dmart_attach.storage.index_schema import TERM_LENGTH

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


def _equals(expression: str, value: str, params: list[Any], *, any_case: bool = False) -> str:
    if any_case:
        params.append(value.lower())
        return f"lower({expression}) = ?"
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
    return "(" + " OR ".join(_equals(expression, value, params, any_case=term.any_case) for value in term.values) + ")"


def _in_terms(term: FieldTerm) -> bool:
    """Whether the kept short values can answer the term: long strings are not kept, and may match a pattern."""
    values = [*term.values, term.low or "", term.high or ""]
    return all(len(value) <= TERM_LENGTH and "*" not in value for value in values)


def _kept_term(term: FieldTerm) -> bool:
    """Whether the rows that hold `term` are listed by the kept short values (a positive term on a document)."""
    return not term.negative and field_source(term.field)[1] is not None and _in_terms(term)


def found_by_terms(selection: Selection) -> bool:
    """Whether every selected row is among the kept values' matches of one term, which can drive the search."""
    if any(len(value) > TERM_LENGTH or "*" in value for value in selection.tags):
        return False
    if selection.tags:
        return True
    return len(selection.groups) == 1 and any(_kept_term(term) for term in selection.groups[0].fields)


def _place(table: str, selection: Selection, *, unindexed: bool = False) -> tuple[str, list[Any]]:
    """The space and subpath condition of a selection on `rows` or on `terms`.

    `unindexed` keeps SQLite from walking the place's rows in the index (`+column` is not indexed),
    so that a term's short list of matching rows drives the search instead.
    """
    parts: list[str] = []
    params: list[Any] = []
    table = f"+{table}" if unindexed else table
    if selection.space_name is not None:
        parts.append(f"{table}.space_name = ?")
        params.append(selection.space_name)
    if selection.exact:
        parts.append(f"{table}.subpath = ?")
        params.append(selection.subpath)
    elif selection.subpath != ROOT:
        # Subpath characters all sort after `/`, so `a` ≤ s < `a0` is `a` and everything below it.
        parts.append(f"{table}.subpath >= ? AND {table}.subpath < ?")
        params.extend([selection.subpath, under(selection.subpath)[1]])
    return " AND ".join(parts), params


def _field_sql(term: FieldTerm, params: list[Any], place: tuple[str, list[Any]]) -> str:
    document, path = field_source(term.field)
    if path is None:
        sql = _predicate(term, document, params)
    elif _in_terms(term):
        within, kept = place
        kept = [*kept, term.field]
        predicate = _predicate(term, "terms.value", kept)
        params.extend(kept)
        scope = f"{within} AND " if within else ""
        sql = f"rows.id IN (SELECT row_id FROM terms WHERE {scope}terms.path = ? AND {predicate})"
    else:
        inner: list[Any] = [path]
        predicate = _predicate(term, "j.value", inner)
        params.extend(inner)
        sql = f"EXISTS (SELECT 1 FROM json_each({document}, ?) AS j WHERE {predicate})"
    return f"NOT {sql}" if term.negative else sql


def _word_sql(word: Word, params: list[Any]) -> str:
    # SQLite ends a query string at a NUL; the tokenizer separates words there anyway.
    text = word.text.replace("\x00", " ")
    params.append('"' + text.replace('"', '""') + '"*')
    sql = "rows.id IN (SELECT rowid FROM rows_text WHERE rows_text MATCH ?)"
    return f"NOT {sql}" if word.negative else sql


def _in(column: str, values: list[Any], params: list[Any]) -> str:
    params.extend(values)
    return f"{column} IN ({', '.join('?' for _ in values)})"


def where(selection: Selection, *, by_terms: bool = False) -> tuple[str, list[Any]]:
    """The WHERE clause of a selection; `by_terms` (see `found_by_terms`) reads the matches of its term first."""
    place, params = _place("rows", selection, unindexed=by_terms)
    parts = [place] if place else []
    if selection.kinds:
        parts.append(_in("rows.kind", list(selection.kinds), params))
    if selection.resource_types is not None:
        parts.append(_in("rows.resource_type", selection.resource_types, params))
    if selection.shortnames:
        parts.append(_in("rows.shortname", selection.shortnames, params))
    if selection.schema_names:
        parts.append(_in("rows.schema_shortname", selection.schema_names, params))
    if selection.tags:
        parts.append(_field_sql(FieldTerm("tags", tuple(selection.tags)), params, _place("terms", selection)))
    if selection.from_date:
        parts.append("rows.created_at >= ?")
        params.append(selection.from_date)
    if selection.to_date:
        parts.append("rows.created_at <= ?")
        params.append(selection.to_date)
    alternatives = []
    kept_place = _place("terms", selection)
    for group in selection.groups:
        terms = [_field_sql(term, params, kept_place) for term in group.fields]
        terms += [_word_sql(word, params) for word in group.words]
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
