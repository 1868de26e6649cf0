"""Dmart's search syntax: `@field:value` terms, negation, alternatives, ranges, comparisons and bare words."""

import re

from dmart_attach.errors import DmartError
from dmart_attach.models.search import FieldTerm, Group, Word, is_bound, is_date, is_number

_TOKEN = re.compile(
    r'-?@[^:\s()]+:\[[^\]]*\]|-?@[^:\s()]+:"[^"]*"|-?@[^:\s()]+:\{[^}]*\}|-?@[^:\s()]+:[^\s()]*|[()]|[^\s()]+'
)
_COMPARISON = re.compile(r"(>=|<=|>|<|!)(.+)")
FIELD = re.compile(r"[a-zA-Z0-9_\-]+(?:\.[a-zA-Z0-9_\-]+)*")


def invalid_search(message: str) -> DmartError:
    return DmartError(400, "request", 400, f"Invalid search: {message}")


def _bound(text: str) -> tuple[bool, str]:
    """A range's bound, and whether it is left out (`(x`)."""
    return (True, text[1:]) if text.startswith("(") and len(text) > 1 else (False, text)


def _field_term(token: str) -> FieldTerm:
    negative = token.startswith("-")
    name, _, value = token.lstrip("-")[1:].partition(":")
    if name.startswith("attributes."):
        name = name.removeprefix("attributes.")
    if name.startswith("body."):
        name = f"payload.{name}"
    if not FIELD.fullmatch(name):
        raise invalid_search(f"{name!r} is not a field path")
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return FieldTerm(name, (value[1:-1],), negative)
    if len(value) >= 2 and value[0] == "{" and value[-1] == "}":
        value = value[1:-1]
    if len(value) >= 2 and value[0] == "[" and value[-1] == "]":
        bounds = [part for part in re.split(r"[\s,]+", value[1:-1].strip()) if part]
        if len(bounds) != 2:
            raise invalid_search(f"the range of {name} needs two bounds")
        (low_open, low), (high_open, high) = (_bound(bound) for bound in bounds)
        if is_bound(low) and is_bound(high) and float(low) > float(high):
            (low_open, low), (high_open, high) = (high_open, high), (low_open, low)
        return FieldTerm(name, (), negative, low=low, high=high, low_open=low_open, high_open=high_open)
    match = _COMPARISON.fullmatch(value)
    if match and (match.group(1) == "!" or is_number(match.group(2)) or is_date(match.group(2))):
        return FieldTerm(name, (match.group(2),), negative, comparison=match.group(1))
    return FieldTerm(name, tuple(part for part in value.split("|")), negative)


def parse_search(text: str | None) -> list[Group]:
    """The groups of a search; an empty search has none and matches everything."""
    groups: list[Group] = []
    current = Group()
    depth = 0
    for token in _TOKEN.findall(text or ""):
        if token in ("(", ")"):
            depth = depth + 1 if token == "(" else max(0, depth - 1)
            if depth <= 1 and current:
                groups.append(current)
                current = Group()
            continue
        if token.lower() == "and" or token == "*":
            # `*` is RediSearch's match-all, which clients send for "everything".
            continue
        if token.startswith(("@", "-@")) and ":" in token:
            current.fields.append(_field_term(token))
        elif token.startswith("-") and len(token) > 1:
            current.words.append(Word(token[1:], negative=True))
        else:
            current.words.append(Word(token))
    if current:
        groups.append(current)
    return groups
