"""Who may do what: users, groups, roles and permissions read from the management space (contract §8).

Every operation asks one question before it changes or shows anything, with one call:

    services.access.require(caller, ActionType.update, address, meta=stored_meta, attributes=record.attributes)

`address` names what is acted on (an attachment's address already carries `parent_subpath/parent`
as its subpath; a space is `Address(space, "/", space, ResourceType.space)`), `meta` is the stored
meta when there is one (its ACL, `is_active` and owner decide the conditions), and `attributes`
are the record's attributes for the restricted-field and allowed-value checks of create and
update. A refusal raises Dmart's 401; inside `/managed/request` it becomes a failed record.

To filter many entries (a listing, a query), take `checker = access.checker(caller.shortname)`
once and ask `checker.allows(ActionType.view, address, meta=meta)` per entry, and
`checker.may_query(space_name=..., subpath=...)` before running a query.
"""

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dmart_attach.errors import DmartError
from dmart_attach.models.core import Group, Meta, Permission, Role, User
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.caller import Caller
from dmart_attach.services.permissions import Checker, PermissionMap, build_map
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address
from dmart_attach.storage.scan import Stamp, entry_stamps

logger = logging.getLogger(__name__)

LOGGED_IN_ROLE = "logged_in"
WORLD_PERMISSION = "world"
USERS_FOLDER = "users"
_FOLDERS = (("groups", ResourceType.group), ("roles", ResourceType.role), ("permissions", ResourceType.permission))
_MAX_CACHED_USERS = 4096

FolderStamps = tuple[tuple[str, Stamp], ...]


def denied(number: int = 1) -> DmartError:
    """Dmart's refusal; `number` tells the call sites apart, as Dmart's `[N]` does."""
    return DmartError(401, "request", 401, f"You don't have permission to this action [{number}]")


@dataclass
class SecurityData:
    """The active groups, roles and permissions, the stamp they were read at, and the maps built from them."""

    stamp: tuple[FolderStamps, ...]
    groups: dict[str, Group] = field(default_factory=dict)
    roles: dict[str, Role] = field(default_factory=dict)
    permissions: dict[str, Permission] = field(default_factory=dict)
    maps: dict[tuple[str, tuple[str, ...], tuple[str, ...]], PermissionMap] = field(default_factory=dict)


class Access:
    """Loads the access model again whenever it changes on disk, and answers who may do what."""

    def __init__(self, *, store: Store) -> None:
        self.store = store
        self.space = store.settings.management_space
        self._lock = threading.Lock()
        self._data = SecurityData(stamp=())

    def _stamp(self) -> tuple[FolderStamps, ...]:
        # One stat per meta file: cheap enough for every request, and it sees the writes of every worker.
        if not self.store.tree.space_exists(self.space):
            return ()
        layout = self.store.tree.layout
        return tuple(
            tuple(sorted(entry_stamps(layout, space_name=self.space, subpath=folder, resource_type=kind).items()))
            for folder, kind in _FOLDERS
        )

    def _load_folder(self, folder: str, resource_type: ResourceType, stamps: FolderStamps) -> dict[str, Any]:
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
        # The stamp is taken before reading: a write in between only causes one more reload later.
        stamp = self._stamp()
        with self._lock:
            if stamp and self._data.stamp == stamp:
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
        """The stored user `shortname`, or None."""
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
        permissions: list[Permission] = []
        for role_name in dict.fromkeys(role_names):
            role = data.roles.get(role_name)
            if role is None:
                continue
            permissions += [data.permissions[name] for name in role.permissions if name in data.permissions]
            if world is not None:
                permissions.append(world)
        grants = build_map(user.shortname, permissions)

        if len(data.maps) >= _MAX_CACHED_USERS:
            data.maps.clear()
        data.maps[cache_key] = grants
        return grants

    def permissions_of(self, shortname: str) -> PermissionMap:
        """The permission map of the user `shortname` (empty when there is no such active user)."""
        user = self.user(shortname)
        return {} if user is None else self.permission_map(user)

    def checker(self, shortname: str) -> Checker:
        """The user's rights as they are now, for checking many entries of one operation."""
        user = self.user(shortname)
        return Checker(user=user, grants={} if user is None else self.permission_map(user))

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
        return self.checker(shortname).allows(action, address, meta=meta, attributes=attributes)

    def may_query(self, shortname: str, *, space_name: str, subpath: str) -> bool:
        """Whether the user may run a query at `subpath`; a refused query answers no records, not an error."""
        return self.checker(shortname).may_query(space_name=space_name, subpath=subpath)

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
        if self.allows(caller.shortname, action, address, meta=meta, attributes=attributes):
            return
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
