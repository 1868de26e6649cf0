"""Which indexed rows a caller may see: the point where permissions narrow every query."""

from typing import Protocol

from dmart_attach.services.caller import Caller
from dmart_attach.storage.selection import Clause


class Visibility(Protocol):
    """Answers the condition a caller's rows must meet in a space (None: every row, or every space)."""

    def clause(self, *, caller: Caller, space_name: str | None) -> Clause | None: ...


class Unrestricted:
    """Every caller sees every row."""

    def clause(self, *, caller: Caller, space_name: str | None) -> Clause | None:
        return None
