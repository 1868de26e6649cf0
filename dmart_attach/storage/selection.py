"""A selection of index rows, and the SQL that means it: places, filters and Dmart's search terms."""

from dataclasses import dataclass, field
from typing import Any

from dmart_attach.identifiers import ROOT
from dmart_attach.models.search import INFINITE, FieldTerm, Group, Word, is_bound, is_date, is_number
from dmart_attach.storage.index import under
from dmart_attach.storage.index_schema import COLUMN_FIELDS, TERM_LENGTH

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
    if name in COLUMN_FIELDS:
        return f"rows.{name}", None
    if name == "payload.body" or name.startswith("payload.body."):
        return "rows.body", json_path(name.removeprefix("payload.body"))
    return "rows.meta", json_path(name)


_INTEGERS = range(-(2**63), 2**63)


def _number(value: str) -> int | float:
    """A number as the index compares it: integers of 64 bits exactly (beyond 2**53 too), the rest as floats."""
    if value.lstrip("-+").isdigit() and int(value) in _INTEGERS:
        return int(value)
    return float(value)


def _bool(value: str) -> int | None:
    return {"true": 1, "false": 0}.get(value.lower())


def _candidates(value: str) -> tuple[Any, ...]:
    """The stored values a plain `@field:value` matches: a number or a flag also as its text."""
    if is_number(value):
        return (_number(value), value)
    flag = _bool(value)
    if flag is not None:
        return (flag, value.lower())
    return (value,)


def _equals(expression: str, value: str, params: list[Any], *, any_case: bool = False) -> str:
    if any_case:
        params.append(value.lower())
        return f"lower({expression}) = ?"
    if "*" in value:
        params.append(value.replace("*", "%"))
        return f"{expression} LIKE ?"
    if is_date(value) and len(value) == _DAY:
        params.append(value)
        return f"substr({expression}, 1, 10) = ?"
    candidates = _candidates(value)
    params.extend(candidates)
    return "(" + " OR ".join(f"{expression} = ?" for _ in candidates) + ")"


def _upper(value: str) -> str:
    return f"{value}T23:59:59.999999" if len(value) == _DAY else value


def _predicate(term: FieldTerm, expression: str, params: list[Any]) -> str:
    if term.low is not None and term.high is not None:
        if is_bound(term.low) and is_bound(term.high):
            parts = [_NUMBER_TYPES.format(v=expression)]
            for bound, above, left_out in ((term.low, True, term.low_open), (term.high, False, term.high_open)):
                if bound.lower() not in INFINITE:
                    parts.append(f"{expression} {'>' if above else '<'}{'' if left_out else '='} ?")
                    params.append(_number(bound))
            return "(" + " AND ".join(parts) + ")"
        # Dates and text: a day as a bound stands for the whole day.
        low = _upper(term.low) if term.low_open else term.low
        high = term.high if term.high_open else _upper(term.high)
        params.extend([low, high])
        return f"({expression} {'>' if term.low_open else '>='} ? AND {expression} {'<' if term.high_open else '<='} ?)"
    if term.comparison == "!":
        return f"NOT {_equals(expression, term.values[0], params)}"
    if term.comparison is not None:
        value = term.values[0]
        if is_number(value):
            params.append(_number(value))
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


@dataclass(frozen=True)
class KeptTerm:
    """The one field term that decides a search, with every value it matches as SQLite compares them."""

    path: str
    values: tuple[Any, ...]


def _matched_values(value: str) -> tuple[Any, ...] | None:
    """The stored values `_equals` matches `value` with, when it is a plain equality the terms hold."""
    if "*" in value or len(value) > TERM_LENGTH or (is_date(value) and len(value) == _DAY):
        return None
    return _candidates(value)


def kept_term(selection: Selection) -> KeptTerm | None:
    """The term whose kept counts answer the selection, when nothing else narrows it but place and kind."""
    others = (selection.shortnames, selection.schema_names, selection.from_date, selection.to_date)
    if any(others) or selection.visibility is not None or selection.space_name is None:
        return None
    if selection.resource_types is not None or not selection.kinds:
        return None
    if selection.tags and not selection.groups:
        term = FieldTerm("tags", tuple(selection.tags))
    elif not selection.tags and len(selection.groups) == 1 and not selection.groups[0].words:
        fields = selection.groups[0].fields
        if len(fields) != 1:
            return None
        term = fields[0]
    else:
        return None
    plain = term.comparison is None and term.low is None and term.high is None
    if term.negative or term.any_case or not plain or field_source(term.field)[1] is None:
        return None
    values: dict[Any, None] = {}
    for value in term.values:
        matched = _matched_values(value)
        if matched is None:
            return None
        values.update(dict.fromkeys(matched))
    return KeptTerm(term.field, tuple(values))


def kept_term_where(selection: Selection, kept: KeptTerm) -> tuple[str, list[Any]]:
    """The condition on `term_counts` (or `terms`) of the kept term's values in the selection's place and kinds."""
    place, params = _place("term_counts", selection)
    params += [kept.path, *kept.values, *selection.kinds]
    marks = ", ".join("?" for _ in kept.values)
    kinds = ", ".join("?" for _ in selection.kinds)
    return (
        f"{place} AND term_counts.path = ? AND term_counts.value IN ({marks}) AND term_counts.kind IN ({kinds})",
        params,
    )


def found_by_terms(selection: Selection) -> bool:
    """Whether every selected row is among the kept values' matches of one term, which can drive the search."""
    if any(len(value) > TERM_LENGTH or "*" in value for value in selection.tags):
        return False
    if selection.tags:
        return True
    return len(selection.groups) == 1 and any(_kept_term(term) for term in selection.groups[0].fields)


# Where a page starts in a listing's order: a row's subpath, kind, shortname and resource type.
Start = tuple[str, int, str, str]


def _place(
    table: str, selection: Selection, *, unindexed: bool = False, start: Start | None = None
) -> tuple[str, list[Any]]:
    """The space and subpath condition of a selection on `rows` or on `terms`.

    `unindexed` keeps SQLite from walking the place's rows in the index (`+column` is not indexed),
    so that a term's short list of matching rows drives the search instead. `start` leaves out the
    rows before it in listing order, as the bound the listing index starts its walk at.
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
        if start is not None:
            parts.append(f"({table}.kind, {table}.shortname, {table}.resource_type) >= (?, ?, ?)")
            params.extend(start[1:])
    elif start is not None:
        # The start lies within the place, so it is the lower bound; a second one would hide it from SQLite.
        parts.append(f"({table}.subpath, {table}.kind, {table}.shortname, {table}.resource_type) >= (?, ?, ?, ?)")
        params.extend(start)
        if selection.subpath != ROOT:
            parts.append(f"{table}.subpath < ?")
            params.append(under(selection.subpath)[1])
    elif selection.subpath != ROOT:
        # Subpath characters all sort after `/`, so `a` ≤ s < `a0` is `a` and everything below it.
        parts.append(f"{table}.subpath >= ? AND {table}.subpath < ?")
        params.extend([selection.subpath, under(selection.subpath)[1]])
    return " AND ".join(parts), params


def _field_sql(term: FieldTerm, params: list[Any], place: tuple[str, list[Any]], *, correlated: bool = False) -> str:
    document, path = field_source(term.field)
    if path is None:
        sql = _predicate(term, document, params)
    elif _in_terms(term) and correlated:
        kept: list[Any] = [term.field]
        predicate = _predicate(term, "terms.value", kept)
        params.extend(kept)
        sql = f"EXISTS (SELECT 1 FROM terms WHERE terms.row_id = rows.id AND terms.path = ? AND {predicate})"
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


def where(
    selection: Selection, *, by_terms: bool = False, correlated: bool = False, start: Start | None = None
) -> tuple[str, list[Any]]:
    """The WHERE clause of a selection, from `start` in listing order on when given.

    `by_terms` (see `found_by_terms`) reads the matches of its term first; `correlated` tests each row of the
    place in order for its terms instead, which finds a page sooner when most rows match.
    """
    place, params = _place("rows", selection, unindexed=by_terms, start=start)
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
        tags = FieldTerm("tags", tuple(selection.tags))
        parts.append(_field_sql(tags, params, _place("terms", selection), correlated=correlated))
    if selection.from_date:
        parts.append("rows.created_at >= ?")
        params.append(selection.from_date)
    if selection.to_date:
        parts.append("rows.created_at <= ?")
        params.append(selection.to_date)
    alternatives = []
    kept_place = _place("terms", selection)
    for group in selection.groups:
        terms = [_field_sql(term, params, kept_place, correlated=correlated) for term in group.fields]
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
