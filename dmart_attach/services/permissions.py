"""Dmart's permission rules without disk access: a user's key map, and what it grants (contract §8)."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dmart_attach.identifiers import ROOT, join_subpath, normalize_subpath, subpath_segments
from dmart_attach.models.core import Meta, Permission, User
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.history import flatten
from dmart_attach.storage.layout import Address

ALL_SPACES = "__all_spaces__"
ALL_SUBPATHS = "__all_subpaths__"
CURRENT_USER = "__current_user__"
IS_ACTIVE = "is_active"
OWN = "own"
# Conditions say which existing entries a key covers; creating and querying have no entry to look at.
_UNCONDITIONAL = {ActionType.create, ActionType.query}
_RESTRICTED = {ActionType.create, ActionType.update}

# One key of a user's permission map, as /user/profile shows it.
Grant = dict[str, Any]
PermissionMap = dict[str, Grant]


def _merge(grants: PermissionMap, key: str, permission: Permission) -> None:
    """Add one permission to one key: actions and conditions add up, field rules of the last one win."""
    old = grants.get(key, {"allowed_actions": [], "conditions": []})
    actions = list(dict.fromkeys([*old["allowed_actions"], *(action.value for action in permission.actions)]))
    conditions = list(dict.fromkeys([*old["conditions"], *permission.conditions]))
    grants[key] = {
        "allowed_actions": actions,
        "conditions": conditions,
        "restricted_fields": list(permission.restricted_fields),
        "allowed_fields_values": dict(permission.allowed_fields_values),
    }


def build_map(shortname: str, permissions: Iterable[Permission]) -> PermissionMap:
    """The keys `space:subpath:resource_type` that `permissions` give the user `shortname`."""
    grants: PermissionMap = {}
    for permission in permissions:
        for space_name, subpaths in permission.subpaths.items():
            for subpath in subpaths or [ROOT]:
                normalized = normalize_subpath(subpath.replace(CURRENT_USER, shortname))
                for resource_type in permission.resource_types:
                    _merge(grants, f"{space_name}:{normalized}:{resource_type.value}", permission)
    return grants


def walk(subpath: str) -> list[str]:
    """The subpaths from the root down to `subpath`: `/`, `a`, `a/b`, ..."""
    segments = subpath_segments(subpath)
    return [ROOT, *("/".join(segments[: depth + 1]) for depth in range(len(segments)))]


def _prefixes(address: Address) -> list[str]:
    """The subpaths walked from the root down to `address` (a folder's own name included)."""
    if address.resource_type == ResourceType.folder:
        return walk(join_subpath(address.subpath, address.shortname))
    return walk(address.subpath)


def _global_subpath(prefix: str) -> str:
    """The prefix with its next-to-last segment replaced by `__all_subpaths__` (Dmart's global key)."""
    segments = subpath_segments(prefix)
    if len(segments) <= 1:
        return ALL_SUBPATHS
    segments[-2] = ALL_SUBPATHS
    return "/".join(segments)


def _allowed_value(value: Any, allowed: list[Any]) -> bool:
    if not isinstance(value, list):
        return value in allowed
    if allowed and all(isinstance(option, list) for option in allowed):
        return any(all(item in option for item in value) for option in allowed)
    return all(item in allowed for item in value)


def _touches(path: str, value: Any, restricted: str) -> bool:
    """Whether setting `path` to `value` changes the restricted field (or a field inside it, or its whole parent)."""
    if path == restricted or path.startswith(f"{restricted}."):
        return True
    # Replacing a parent (say, payload.body with a text) replaces the restricted field too; a null parent keeps it.
    return value is not None and restricted.startswith(f"{path}.")


def _fields_allowed(grant: Grant, attributes: Mapping[str, Any]) -> bool:
    flat = flatten(dict(attributes))
    for restricted in grant["restricted_fields"]:
        if any(_touches(path, value, restricted) for path, value in flat.items()):
            return False
    for name, allowed in grant["allowed_fields_values"].items():
        if name in flat and not _allowed_value(flat[name], allowed if isinstance(allowed, list) else [allowed]):
            return False
    return True


def _grants(grant: Grant, action: ActionType, achieved: set[str], attributes: Mapping[str, Any]) -> bool:
    if action.value not in grant["allowed_actions"]:
        return False
    if action not in _UNCONDITIONAL and not set(grant["conditions"]) <= achieved:
        return False
    return action not in _RESTRICTED or _fields_allowed(grant, attributes)


@dataclass(frozen=True)
class Checker:
    """One user's rights, read once; use one for the many entries of a single operation (a listing, a query)."""

    user: User | None
    grants: PermissionMap

    def allows(
        self,
        action: ActionType,
        address: Address,
        *,
        meta: Meta | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether the user may perform `action` on `address`: the entry's ACL first, then the key walk."""
        user = self.user
        if user is None or not user.is_active:
            return False
        attributes = attributes or {}
        if meta is not None and meta.acl:
            for item in meta.acl:
                if item.user_shortname == user.shortname and action in item.allowed_actions:
                    # An ACL adds actions; it never lifts the field rules of the user's own permissions.
                    return action not in _RESTRICTED or all(
                        _fields_allowed(grant, attributes) for grant in self._walked_grants(address)
                    )

        achieved: set[str] = set()
        if meta is not None:
            if meta.is_active:
                achieved.add(IS_ACTIVE)
            if meta.owner_shortname == user.shortname or (
                meta.owner_group_shortname is not None and meta.owner_group_shortname in user.groups
            ):
                achieved.add(OWN)
        space, kind = address.space_name, address.resource_type.value
        for prefix in _prefixes(address):
            general = _global_subpath(prefix)
            candidates = [
                f"{ALL_SPACES}:{general}:{kind}",
                f"{space}:{general}:{kind}",
                f"{ALL_SPACES}:{prefix}:{kind}",
            ]
            # Dmart evaluates only the last global key present at each prefix.
            present = [key for key in candidates if key in self.grants]
            if present and _grants(self.grants[present[-1]], action, achieved, attributes):
                return True
            exact = self.grants.get(f"{space}:{prefix}:{kind}")
            if exact is not None and _grants(exact, action, achieved, attributes):
                return True
        return False

    def _walked_grants(self, address: Address) -> list[Grant]:
        """Every grant whose key the walk to `address` meets."""
        space, kind = address.space_name, address.resource_type.value
        found = []
        for prefix in _prefixes(address):
            general = _global_subpath(prefix)
            for key in (
                f"{ALL_SPACES}:{general}:{kind}",
                f"{space}:{general}:{kind}",
                f"{ALL_SPACES}:{prefix}:{kind}",
                f"{space}:{prefix}:{kind}",
            ):
                if key in self.grants:
                    found.append(self.grants[key])
        return found

    def may_query(self, *, space_name: str, subpath: str) -> bool:
        """Whether the user holds a `query` permission at `subpath` or above it (contract §3.6)."""
        prefixes = set(walk(subpath))
        for key, grant in self.grants.items():
            if ActionType.query.value not in grant["allowed_actions"]:
                continue
            key_space, key_subpath, _ = key.split(":", 2)
            if key_space == ALL_SPACES or (
                key_space == space_name and (key_subpath == ALL_SUBPATHS or key_subpath in prefixes)
            ):
                return True
        return False
