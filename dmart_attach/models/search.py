"""A parsed search: groups of field terms and bare words."""

import re
from dataclasses import dataclass, field

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# A range's bound may also be written with an exponent or a sign, or be infinite (`-inf`, `+inf`).
_BOUND = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
INFINITE = frozenset({"inf", "+inf", "-inf"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")


@dataclass(frozen=True)
class FieldTerm:
    """`@field:value`: any of `values`, or a comparison, or an inclusive range; `negative` for `-@`."""

    field: str
    values: tuple[str, ...] = ()
    negative: bool = False
    comparison: str | None = None
    low: str | None = None
    high: str | None = None
    # Bounds written `(x` leave x itself out, as RediSearch's ranges do.
    low_open: bool = False
    high_open: bool = False
    # Values compared without regard to (ASCII) case, as e-mail addresses are.
    any_case: bool = False


@dataclass(frozen=True)
class Word:
    """A bare word matched against the full text; `negative` for `-word`."""

    text: str
    negative: bool = False


@dataclass
class Group:
    """Terms that must all hold; the groups of a search are alternatives (written in parentheses)."""

    fields: list[FieldTerm] = field(default_factory=list)
    words: list[Word] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.words)


def is_number(value: str) -> bool:
    return _NUMBER.fullmatch(value) is not None


def is_bound(value: str) -> bool:
    """Whether a range's bound is a number (an infinite one included)."""
    return value.lower() in INFINITE or _BOUND.fullmatch(value) is not None


def is_date(value: str) -> bool:
    return _DATE.fullmatch(value) is not None
