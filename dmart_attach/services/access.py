"""Who may do what: Dmart's users, groups, roles and permissions, read from the management space (contract §8).

Every operation asks one question before it changes or shows anything:

    services.access.require(caller, ActionType.update, address, meta=stored_meta, attributes=record.attributes)

`address` names what is acted on (an attachment's address already carries its parent in its subpath,
a space is `Address(space, "/", space, space)`), `meta` is the stored meta when there is one (its ACL,
`is_active` and owner decide the conditions), and `attributes` are the record's attributes for the
restricted-field and allowed-value checks of create and update. A refusal raises Dmart's 401.
"""

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dmart_attach.errors import DmartError
from dmart_attach.identifiers import ROOT, join_subpath, normalize_subpath, subpath_segments
from dmart_attach.models.core import Group, Meta, Permission, Role, User
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.caller import Caller
from dmart_attach.services.history import flatten
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address
from dmart_attach.storage.scan import Stamp, entry_stamps

logger = logging.getLogger(__name__)

ALL_SPACES = "__all_spaces__"
ALL_SUBPATHS = "__all_subpaths__"
CURRENT_USER = "__current_user__"
LOGGED_IN_ROLE = "logged_in"
WORLD_PERMISSION = "world"
USERS_FOLDER = "users"
IS_ACTIVE = "is_active"
OWN = "own"
# Conditions say which existing entries a key covers; creating and querying have no entry to look at.
_UNCONDITIONAL = {ActionType.create, ActionType.query}
_RESTRICTED = {ActionType.create, ActionType.update}
_MAX_CACHED_USERS = 4096

# One key of a user's permission map, as /user/profile shows it.
Grant = dict[str, Any]
PermissionMap = dict[str, Grant]


def denied(number: int = 1) -> DmartError:
    """Dmart's refusal; `number` tells the call sites apart, as Dmart's `[N]` does."""
    return DmartError(401, "request", 401, f"You don't have permission to this action [{number}]")


@dataclass
class SecurityData:
    """The active groups, roles and permissions of the management space, and the stamp they were read at."""

    stamp: tuple[Any, ...]
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    permissions: dict[str, Permission] = field(default_factory=dict)
    maps: dict[tuple[str, tuple[str, ...], tuple[str, ...]], PermissionMap] = field(default_factory=dict)


def _permission_subpath(subpath: str, shortname: str) -> str:
    return normalize_subpath(subpath.replace(CURRENT_USER, shortname))


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


def _global_subpath(prefix: str) -> str:
    """The prefix with its next-to-last segment replaced by `__all_subpaths__` (Dmart's global key)."""
    segments = subpath_segments(prefix)
    if len(segments) <= 1:
        return ALL_SUBPATHS
    segments[-2] = ALL_SUBPATHS
    return "/".join(segments)


def _walk(subpath: str) -> list[str]:
    """The subpaths from the root down to `subpath`: `/`, `a`, `a/b`, ..."""
    segments = subpath_segments(subpath)
    return [ROOT, *("/".join(segments[: depth + 1]) for depth in range(len(segments)))]


def _prefixes(address: Address) -> list[str]:
    """The subpaths walked from the root down to `address` (a folder's own name included)."""
    if address.resource_type == ResourceType.folder:
        return _walk(join_subpath(address.subpath, address.shortname))
    return _walk(address.subpath)


def _allowed_value(value: Any, allowed: list[Any]) -> bool:
    if not isinstance(value, list):
        return value in allowed
    if allowed and all(isinstance(option, list) for option in allowed):
        return any(all(item in option for item in value) for option in allowed)
    return all(item in allowed for item in value)


def _fields_allowed(grant: Grant, attributes: Mapping[str, Any]) -> bool:
    flat = flatten(dict(attributes))
    for restricted in grant["restricted_fields"]:
        if any(path == restricted or path.startswith(f"{restricted}.") for path in flat):
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


class Access:
    """Loads the access model when it changes on disk and answers whether a user may act on an address."""

    def __init__(self, *, store: Store) -> None:
        self.store = store
        self.space = store.settings.management_space
        self._lock = threading.Lock()
        self._data = SecurityData(stamp=())

    def _stamp(self) -> tuple[tuple[tuple[str, Stamp], ...], ...]:
        # A stat of each meta file: cheap enough per request, and it sees writes from every worker.
        layout = self.store.tree.layout
        if not self.store.tree.space_exists(self.space):
            return ()
        return tuple(
            tuple(sorted(entry_stamps(layout, space_name=self.space, subpath=folder, resource_type=kind).items()))
            for folder, kind in (
                ("groups", ResourceType.group),
                ("roles", ResourceType.role),
                ("permissions", ResourceType.permission),
            )
        )

    def _load_folder(self, folder: str, resource_type: ResourceType, stamps: tuple[tuple[str, Stamp], ...]) -> Any:
        loaded: dict[str, Meta] = {}
        for shortname, _ in stamps:
            try:
                meta = self.store.tree.load(Address(self.space, folder, shortname, resource_type))
            except (OSError, ValidationError, ValueError):
                logger.warning("unreadable access entry", extra={"folder": folder, "shortname": shortname})
                continue
            if meta is not None and meta.is_active:
                loaded[shortname] = meta
        return loaded

    def _security(self) -> SecurityData:
        stamp = self._stamp()
        with self._lock:
            if self._data.stamp == stamp and stamp:
                return self._data
            data = SecurityData(stamp=stamp)
            if stamp:
                groups, roles, permissions = stamp
                data.groups = self._load_folder("groups", ResourceType.group, groups)
                data.roles = self._load_folder("roles", ResourceType.role, roles)
                data.permissions = self._load_folder("permissions", ResourceType.permission, permissions)
            logger.info(
                "loaded the access model",
                extra={"roles": len(data.roles), "groups": len(data.groups), "permissions": len(data.permissions)},
            )
            self._data = data
            return data

    def reload(self) -> None:
        """Forget what was loaded; the next check reads the management space again."""
        with self._lock:
            self._data = SecurityData(stamp=())

    def user(self, shortname: str) -> User | None:
        try:
            meta = self.store.tree.load(Address(self.space, USERS_FOLDER, shortname, ResourceType.user))
        except ValueError:
            return None
        return meta if isinstance(meta, User) else None

    def permission_map(self, user: User) -> PermissionMap:
        """The user's permissions keyed `space:subpath:resource_type` (empty for an inactive user)."""
        if not user.is_active:
            return {}
        data = self._security()
        cache_key = (user.shortname, tuple(user.roles), tuple(user.groups))
        cached = data.maps.get(cache_key)
        if cached is not None:
            return cached

        role_names = [*user.roles, LOGGED_IN_ROLE]
        for group_name in user.groups:
            group = data.groups.get(group_name)
            if group is not None:
                role_names += group.roles
        world = data.permissions.get(WORLD_PERMISSION)
        grants: PermissionMap = {}
        for role_name in dict.fromkeys(role_names):
            role = data.roles.get(role_name)
            if role is None:
                continue
            permissions = [data.permissions[name] for name in role.permissions if name in data.permissions]
            if world is not None:
                permissions.append(world)
            for permission in permissions:
                for space_name, subpaths in permission.subpaths.items():
                    for subpath in subpaths or [ROOT]:
                        normalized = _permission_subpath(subpath, user.shortname)
                        for resource_type in permission.resource_types:
                            _merge(grants, f"{space_name}:{normalized}:{resource_type.value}", permission)

        if len(data.maps) >= _MAX_CACHED_USERS:
            data.maps.clear()
        data.maps[cache_key] = grants
        return grants

    def permissions_of(self, shortname: str) -> PermissionMap:
        """The permission map of the user `shortname` (empty when there is no such active user)."""
        user = self.user(shortname)
        return {} if user is None else self.permission_map(user)

    def allows(
        self,
        shortname: str,
        action: ActionType,
        address: Address,
        *,
        meta: Meta | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> bool:
        """Whether the user may perform `action` on `address` (see the module docstring)."""
        user = self.user(shortname)
        if user is None or not user.is_active:
            return False
        if meta is not None and meta.acl:
            for item in meta.acl:
                if item.user_shortname == shortname and action in item.allowed_actions:
                    return True

        achieved: set[str] = set()
        if meta is not None:
            if meta.is_active:
                achieved.add(IS_ACTIVE)
            if meta.owner_shortname == shortname or (
                meta.owner_group_shortname is not None and meta.owner_group_shortname in user.groups
            ):
                achieved.add(OWN)
        grants = self.permission_map(user)
        space, kind = address.space_name, address.resource_type.value
        attributes = attributes or {}
        for prefix in _prefixes(address):
            general = _global_subpath(prefix)
            candidates = [
                f"{ALL_SPACES}:{general}:{kind}",
                f"{space}:{general}:{kind}",
                f"{ALL_SPACES}:{prefix}:{kind}",
            ]
            present = [key for key in candidates if key in grants]
            if present and _grants(grants[present[-1]], action, achieved, attributes):
                return True
            exact = grants.get(f"{space}:{prefix}:{kind}")
            if exact is not None and _grants(exact, action, achieved, attributes):
                return True
        return False

    def may_query(self, shortname: str, *, space_name: str, subpath: str) -> bool:
        """Whether the user holds a `query` permission at `subpath` or above it (contract §3.6).

        A query the user may not run answers no records rather than an error; each record it finds
        is then shown only when `allows(shortname, ActionType.view, address, meta=meta)`.
        """
        prefixes = set(_walk(subpath))
        for key, grant in self.permissions_of(shortname).items():
            if ActionType.query.value not in grant["allowed_actions"]:
                continue
            key_space, key_subpath, _ = key.split(":", 2)
            if key_space == ALL_SPACES or (
                key_space == space_name and (key_subpath == ALL_SUBPATHS or key_subpath in prefixes)
            ):
                return True
        return False

    def require(
        self,
        caller: Caller,
        action: ActionType,
        address: Address,
        *,
        meta: Meta | None = None,
        attributes: Mapping[str, Any] | None = None,
        number: int = 1,
    ) -> None:
        """Raise Dmart's 401 unless the caller may perform `action` on `address`."""
        if not self.allows(caller.shortname, action, address, meta=meta, attributes=attributes):
            logger.info(
                "refused",
                extra={
                    "user": caller.shortname,
                    "action": action.value,
                    "resource": f"{address.space_name}/{address.subpath}/{address.shortname}",
                    "resource_type": address.resource_type.value,
                },
            )
            raise denied(number)

    def is_admin(self, caller: Caller) -> bool:
        """Whether the caller is the admin Dmart's admin-only routes mean (ADMIN_SHORTNAME)."""
        return caller.shortname == self.store.settings.admin_shortname

    def require_admin(self, caller: Caller) -> None:
        if not self.is_admin(caller):
            raise denied(21)
