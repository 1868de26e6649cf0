"""Entry locks: taken, extended and released through /managed/lock, kept on disk, enforced on every change."""

import logging
from datetime import timedelta
from typing import Any

from dmart_attach.clock import now
from dmart_attach.errors import DmartError, not_found
from dmart_attach.identifiers import ROOT, join_subpath
from dmart_attach.models.attachments import Lock
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services import history
from dmart_attach.services.access import Access
from dmart_attach.services.caller import Caller
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address

logger = logging.getLogger(__name__)

# DECISIONS 11: one lock per entry, `attachments.lock/meta.lock.json`.
LOCK_SHORTNAME = "lock"


def _live(meta: Meta | None) -> Lock | None:
    """The lock `meta` is, unless it has expired."""
    if not isinstance(meta, Lock) or meta.expires_at is None or meta.expires_at <= now():
        return None
    return meta


def no_lock_to_release() -> DmartError:
    return DmartError(403, "lock", 30, "Lock does not exist or you have no access")


class Locking:
    """Who holds the lock of an entry, and the refusals that follow from it."""

    def __init__(self, *, store: Store, access: Access) -> None:
        self.store = store
        self.access = access

    @staticmethod
    def _lock_address(space_name: str, subpath: str, shortname: str) -> Address:
        return Address(space_name, join_subpath(subpath, shortname), LOCK_SHORTNAME, ResourceType.lock)

    def holder(self, *, space_name: str, subpath: str, shortname: str) -> Lock | None:
        """The live lock of the entry `shortname` at `subpath`; an expired lock counts as none."""
        return _live(self.store.tree.load(self._lock_address(space_name, subpath, shortname)))

    def status(self, *, space_name: str, subpath: str, shortname: str) -> dict[str, Any] | None:
        """The lock as answers show it (`attributes.locked`), or None when the entry is not locked."""
        lock = self.holder(space_name=space_name, subpath=subpath, shortname=shortname)
        if lock is None:
            return None
        return {
            "owner_shortname": lock.owner_shortname,
            "lock_time": (lock.lock_time or lock.created_at).isoformat(),
            "expires_at": lock.expires_at.isoformat() if lock.expires_at else None,
        }

    def ensure_unlocked(self, address: Address, caller: Caller, *, action: str = "update") -> None:
        """Refuse (403, code 31) a change to an entry or its attachments locked by someone else.

        Moving or deleting a folder also counts the locks of everything inside it.
        """
        if address.resource_type == ResourceType.space or (address.is_attachment and address.subpath == ROOT):
            return
        subpath, shortname = address.parent if address.is_attachment else (address.subpath, address.shortname)
        locks = [self.holder(space_name=address.space_name, subpath=subpath, shortname=shortname)]
        if address.resource_type == ResourceType.folder and action in {"delete", "move"}:
            # A folder moves and goes with everything inside it, so their locks count too.
            inside = self.store.tree.attachments_under(
                space_name=address.space_name, subpath=join_subpath(subpath, shortname), resource_type=ResourceType.lock
            )
            locks += [_live(meta) for meta in inside]
        if any(lock is not None and lock.owner_shortname != caller.shortname for lock in locks):
            raise DmartError(403, action, 31, "This entry is locked")

    def lock(self, address: Address, caller: Caller) -> int:
        """Lock an existing entry for LOCK_PERIOD seconds, or extend the caller's own lock; answer the period."""
        if address.is_attachment or address.resource_type == ResourceType.space:
            raise DmartError(400, "lock", 219, "Only entries and folders can be locked")
        period = self.store.settings.lock_period
        with self.store.write_lock(address):
            meta = self.store.tree.load(address)
            if meta is None:
                raise not_found(address.space_name, address.subpath, address.shortname, address.resource_type.value)
            # Only who may change an entry may stop others from changing it.
            self.access.require(caller, ActionType.update, address, meta=meta, number=12)
            current = self.holder(space_name=address.space_name, subpath=address.subpath, shortname=address.shortname)
            if current is not None and current.owner_shortname != caller.shortname:
                raise DmartError(403, "lock", 31, f"Entry is already locked by {current.owner_shortname}")
            moment = now()
            lock = Lock(
                shortname=LOCK_SHORTNAME,
                owner_shortname=caller.shortname,
                is_active=True,
                lock_time=current.lock_time if current is not None else moment,
                expires_at=moment + timedelta(seconds=period),
            )
            self.store.tree.save(self._lock_address(address.space_name, address.subpath, address.shortname), lock)
            action = "extend" if current is not None else "lock"
            self.store.record_history(address, caller, {"lock_type": {"old": history.ABSENT, "new": action}})
        logger.info("entry locked", extra={"entry": f"{address.space_name}/{address.subpath}/{address.shortname}"})
        return period

    def unlock(self, *, space_name: str, subpath: str, shortname: str, caller: Caller) -> None:
        """Release the caller's own lock; anyone else's, or none, is refused (403, code 30)."""
        tree = self.store.tree
        self.store.address(space_name, subpath, shortname, ResourceType.content)  # refuses unsafe identifiers
        resource_type = tree.entry_type(space_name=space_name, subpath=subpath, shortname=shortname)
        if resource_type is None:
            raise no_lock_to_release()
        address = Address(space_name, subpath, shortname, resource_type)
        with self.store.write_lock(address):
            lock = self.holder(space_name=space_name, subpath=subpath, shortname=shortname)
            if lock is None or lock.owner_shortname != caller.shortname:
                raise no_lock_to_release()
            tree.remove(self._lock_address(space_name, subpath, shortname), lock)
            self.store.record_history(address, caller, {"lock_type": {"old": history.ABSENT, "new": "cancel"}})
        logger.info("entry unlocked", extra={"entry": f"{space_name}/{subpath}/{shortname}"})
