"""Dmart's identifier rules: space names, subpaths, shortnames and slugs.

Every check is a full match (`re.fullmatch`), so a trailing newline never slips through
the way it does past a `$` anchor.
"""

import re

_LETTERS = "a-zA-Z\u0621-\u064a0-9\u0660-\u0669\u064b-\u065f_"

SPACENAME_PATTERN = f"^[{_LETTERS}]{{1,32}}$"
SUBPATH_PATTERN = f"^[{_LETTERS}/]{{1,128}}$"
SHORTNAME_PATTERN = f"^[{_LETTERS}]{{1,64}}$"
SLUG_PATTERN = "^[a-zA-Z0-9_-]{1,64}$"

_SPACENAME = re.compile(f"[{_LETTERS}]{{1,32}}")
_SEGMENT = re.compile(f"[{_LETTERS}]{{1,64}}")
_SUBPATH = re.compile(f"[{_LETTERS}/]{{1,128}}")

ROOT = "/"


def is_space_name(value: str) -> bool:
    """Whether `value` is a valid space name."""
    return _SPACENAME.fullmatch(value) is not None


def is_shortname(value: str) -> bool:
    """Whether `value` is a valid shortname."""
    return _SEGMENT.fullmatch(value) is not None


def is_subpath(value: str) -> bool:
    """Whether `value` is a valid subpath (segments of shortname characters)."""
    return _SUBPATH.fullmatch(value) is not None


def normalize_subpath(value: str) -> str:
    """Return the subpath without surrounding or doubled slashes; the root is `/`."""
    segments = [part for part in value.split("/") if part]
    return "/".join(segments) if segments else ROOT


def subpath_segments(subpath: str) -> list[str]:
    """The folder names of a normalized subpath (none for the root)."""
    return [] if subpath == ROOT else subpath.split("/")


def join_subpath(subpath: str, shortname: str) -> str:
    """The subpath of what lies inside `shortname` at `subpath`."""
    return shortname if subpath == ROOT else f"{subpath}/{shortname}"


def split_subpath(subpath: str) -> tuple[str, str]:
    """Split `a/b/c` into the parent subpath `a/b` and the last segment `c`."""
    head, _, tail = subpath.rpartition("/")
    return (head or ROOT), tail
