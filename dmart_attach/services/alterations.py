"""Applying an alteration: its requested update merged into the parent entry, then the alteration removed."""

import logging
from typing import Any

from dmart_attach.errors import DmartError, invalid_space, not_found
from dmart_attach.identifiers import join_subpath
from dmart_attach.models.api import Record
from dmart_attach.models.attachments import Alteration
from dmart_attach.models.enums import ContentType, ResourceType
from dmart_attach.services import history
from dmart_attach.services.caller import Caller
from dmart_attach.services.entries import Entries
from dmart_attach.services.store import Store

logger = logging.getLogger(__name__)


class Alterations:
    """POST /managed/apply-alteration (contract §3.8), without losing `requested_update`."""

    def __init__(self, *, store: Store, entries: Entries) -> None:
        self.store = store
        self.entries = entries

    def apply(self, *, space_name: str, alteration_name: str, target: Record, caller: Caller) -> dict[str, Any]:
        """Update the target entry with the alteration's `requested_update`; answer the updated record.

        The update runs as any update does (lock, schema, history); a refused update leaves the
        alteration in place.
        """
        tree = self.store.tree
        if not tree.space_exists(space_name):
            raise invalid_space(space_name)
        entry = self.store.address(space_name, target.subpath, target.shortname, target.resource_type)
        if entry.is_attachment or entry.resource_type == ResourceType.space:
            raise DmartError(400, "request", 219, "An alteration applies to an entry")
        address = self.store.address(
            space_name, join_subpath(entry.subpath, entry.shortname), alteration_name, ResourceType.alteration
        )
        alteration = tree.load(address)
        if not isinstance(alteration, Alteration):
            raise not_found(space_name, address.subpath, alteration_name, ResourceType.alteration.value)
        meta = tree.load(entry)
        if meta is None:
            raise not_found(space_name, entry.subpath, entry.shortname, entry.resource_type.value)
        change: dict[str, Any] = {"body": alteration.requested_update}
        if meta.payload is None:
            change["content_type"] = ContentType.json.value
        elif meta.payload.content_type != ContentType.json:
            raise DmartError(400, "request", 402, "An alteration applies to an entry with a JSON payload")

        update = Record(
            resource_type=entry.resource_type,
            subpath=entry.subpath,
            shortname=entry.shortname,
            attributes={"payload": change},
        )
        answer = self.entries.update(space_name, update, caller, patch=False)

        with self.store.write_lock(address):
            current = tree.load(address)
            # Another apply of the same alteration may have finished first.
            if current is not None and current.uuid == alteration.uuid:
                tree.remove(address, current)
                key = f"attachments.alteration.{alteration_name}"
                self.store.record_history(
                    address,
                    caller,
                    {key: {"old": str(alteration.uuid), "new": history.ABSENT}},
                    applied_alteration=alteration_name,
                )
                self.store.event(caller, address, "delete", {"uuid": str(alteration.uuid)})
        logger.info("alteration applied", extra={"entry": f"{space_name}/{entry.subpath}/{entry.shortname}"})
        return answer
