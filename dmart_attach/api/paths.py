"""Path parameters shared by the /managed routes, checked against Dmart's identifier patterns."""

from typing import Annotated

from fastapi import Path

from dmart_attach.identifiers import ROOT, SHORTNAME_PATTERN, SPACENAME_PATTERN, SUBPATH_PATTERN, normalize_subpath

ROOT_SEGMENT = "__root__"
FILE_NAME_PATTERN = SHORTNAME_PATTERN[:-1] + r"(\.[a-zA-Z0-9_]{1,32}){0,2}$"

SpaceName = Annotated[str, Path(pattern=SPACENAME_PATTERN)]
Subpath = Annotated[str, Path(pattern=SUBPATH_PATTERN)]
Shortname = Annotated[str, Path(pattern=SHORTNAME_PATTERN)]
FileName = Annotated[str, Path(pattern=FILE_NAME_PATTERN)]


def url_subpath(value: str) -> str:
    """The subpath of a URL; `__root__` and `/` name the root."""
    return ROOT if value.strip("/") in ("", ROOT_SEGMENT) else normalize_subpath(value)
