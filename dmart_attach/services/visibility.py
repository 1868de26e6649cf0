"""Which indexed rows a caller may see: the point where permissions narrow every query.

A row is visible when a key of the caller's permission map that grants `query` covers it (its space, its
resource type, a subpath at or above it, and the key's `is_active`/`own` conditions, as Dmart's query policies
have them), or when the entry's own ACL gives the caller `view` or `query`.
"""

from typing import Any, Protocol

from dmart_attach.identifiers import ROOT
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.access import Access
from dmart_attach.services.caller import Caller
from dmart_attach.services.permissions import ALL_SPACES, ALL_SUBPATHS, IS_ACTIVE, OWN
from dmart_attach.storage.index import ANY_SEGMENT
from dmart_attach.storage.layout import Address
from dmart_attach.storage.scan import KIND_FOLDER, KIND_SPACE
from dmart_attach.storage.selection import Clause

# Where a row sits for the permission walk: a folder counts its own name, a space sits at the root.
_ROW_PATH = (
    f"(CASE rows.kind WHEN {KIND_SPACE} THEN '{ROOT}' "
    f"WHEN {KIND_FOLDER} THEN (CASE rows.subpath WHEN '{ROOT}' THEN rows.shortname "
    "ELSE rows.subpath || '/' || rows.shortname END) ELSE rows.subpath END)"
)
_BY_ACL = (
    "EXISTS (SELECT 1 FROM json_each(rows.meta, '$.acl') AS item "
    "WHERE json_extract(item.value, '$.user_shortname') = ? AND EXISTS ("
    "SELECT 1 FROM json_each(item.value, '$.allowed_actions') AS action WHERE action.value IN ('view', 'query')))"
)
_NOTHING = Clause("0")
_EVERY_TYPE = frozenset(kind.value for kind in ResourceType)


class Visibility(Protocol):
    """Answers the condition a caller's rows must meet in a space (None: every row, or every space)."""

    def clause(self, *, caller: Caller, space_name: str | None) -> Clause | None: ...

    def may_view(self, *, caller: Caller, address: Address) -> bool: ...

    def may_query(self, *, caller: Caller, space_name: str, subpath: str) -> bool: ...


class Unrestricted:
    """Every caller sees every row (for tools that run as the tree's owner)."""

    def clause(self, *, caller: Caller, space_name: str | None) -> Clause | None:
        return None

    def may_view(self, *, caller: Caller, address: Address) -> bool:
        return True

    def may_query(self, *, caller: Caller, space_name: str, subpath: str) -> bool:
        return True


def _pattern(key_subpath: str) -> str:
    """A key's subpath as a segment pattern (Dmart's global keys put `__all_subpaths__` next to last, or alone)."""
    parts = key_subpath.split("/")
    if key_subpath == ROOT or len(parts) == 1:
        return ANY_SEGMENT if key_subpath == ALL_SUBPATHS else key_subpath
    if parts[-2] == ALL_SUBPATHS:
        parts[-2] = ANY_SEGMENT
    return "/".join(parts)


class Permitted:
    """The rows the caller's `query` permissions and the entries' ACLs let through."""

    def __init__(self, access: Access) -> None:
        self.access = access

    def clause(self, *, caller: Caller, space_name: str | None) -> Clause | None:
        checker = self.access.checker(caller.shortname)
        user = checker.user
        if user is None or not user.is_active:
            return _NOTHING
        # Keys that cover whole spaces without conditions collapse into one list of types per space.
        whole: dict[str | None, set[str]] = {}
        parts: list[str] = []
        params: list[Any] = []
        for key, grant in checker.grants.items():
            if ActionType.query.value not in grant["allowed_actions"]:
                continue
            key_space, key_subpath, resource_type = key.split(":", 2)
            scope = None if key_space == ALL_SPACES else key_space
            if space_name is not None and scope not in (None, space_name):
                continue
            pattern = _pattern(key_subpath)
            conditions = set(grant["conditions"])
            if pattern in (ROOT, ANY_SEGMENT) and not conditions:
                whole.setdefault(scope, set()).add(resource_type)
                continue
            terms = ["rows.resource_type = ?"]
            params.append(resource_type)
            if scope is not None:
                terms.append("rows.space_name = ?")
                params.append(scope)
            if pattern not in (ROOT, ANY_SEGMENT):
                terms.append(f"dm_covers(?, {_ROW_PATH})")
                params.append(pattern)
            if IS_ACTIVE in conditions:
                terms.append("rows.is_active = 1")
            if OWN in conditions:
                owners = ["rows.owner_shortname = ?"]
                params.append(user.shortname)
                if user.groups:
                    marks = ", ".join("?" for _ in user.groups)
                    owners.append(f"json_extract(rows.meta, '$.owner_group_shortname') IN ({marks})")
                    params.extend(user.groups)
                terms.append("(" + " OR ".join(owners) + ")")
            parts.append("(" + " AND ".join(terms) + ")")
        everywhere = whole.get(None, set())
        if space_name is not None:
            everywhere = everywhere | whole.get(space_name, set())
        if everywhere >= _EVERY_TYPE:
            # Every row of the space (or of every space) is let through: no condition to test per row.
            return None
        whole_parts: list[str] = []
        whole_params: list[Any] = []
        for scope, types in sorted(whole.items(), key=lambda item: item[0] or ""):
            marks = ", ".join("?" for _ in types)
            if scope is None:
                whole_parts.append(f"rows.resource_type IN ({marks})")
                whole_params.extend(sorted(types))
            else:
                whole_parts.append(f"(rows.space_name = ? AND rows.resource_type IN ({marks}))")
                whole_params.extend([scope, *sorted(types)])
        alternatives = [*whole_parts, *parts, _BY_ACL]
        return Clause(" OR ".join(alternatives), (*whole_params, *params, user.shortname))

    def may_view(self, *, caller: Caller, address: Address) -> bool:
        return self.access.allows(caller.shortname, ActionType.view, address, meta=self.access.store.tree.load(address))

    def may_query(self, *, caller: Caller, space_name: str, subpath: str) -> bool:
        return self.access.may_query(caller.shortname, space_name=space_name, subpath=subpath)
