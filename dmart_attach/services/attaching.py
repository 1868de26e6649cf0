"""What attachment kinds mean beyond their models: references that exist, one reaction per user, history."""

import logging
from typing import Any

from dmart_attach.errors import DmartError
from dmart_attach.identifiers import normalize_subpath
from dmart_attach.models.attachments import Relationship
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ResourceType
from dmart_attach.services import history
from dmart_attach.services.caller import Caller
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address

logger = logging.getLogger(__name__)

# The kinds a reply may answer on the same entry.
ANSWERABLE = (ResourceType.comment, ResourceType.reply)


def _text(meta: Meta) -> dict[str, Any]:
    body = meta.payload.body if meta.payload is not None else None
    return body if isinstance(body, dict) else {}


class Attaching:
    """Checks before an attachment is created, and the bookkeeping after it is."""

    def __init__(self, *, store: Store) -> None:
        self.store = store

    def check(self, address: Address, meta: Meta) -> None:
        """Refuse a relationship to a missing entry, or a reply to a missing comment (404, code 220)."""
        if isinstance(meta, Relationship):
            locator = meta.related_to
            related = self.store.address(
                locator.space_name, normalize_subpath(locator.subpath), locator.shortname, locator.type
            )
            if not self.store.tree.exists(related):
                where = f"{related.space_name}/{related.subpath}/{related.shortname}"
                raise DmartError(404, "db", 220, f"The related {locator.type.value} {where} does not exist")
        if address.resource_type == ResourceType.reply:
            answered = _text(meta).get("in_reply_to")
            if answered is not None and not any(
                self.store.tree.exists(Address(address.space_name, address.subpath, answered, kind))
                for kind in ANSWERABLE
            ):
                raise DmartError(404, "db", 220, f"The comment {answered} this reply answers does not exist")

    def created(self, address: Address, meta: Meta, caller: Caller) -> None:
        """Record a new attachment in its parent's history; a user's new reaction replaces their older ones."""
        if not address.is_attachment:
            return
        if address.resource_type == ResourceType.reaction:
            self._drop_older_reactions(address, caller)
        key = f"attachments.{address.resource_type.value}.{address.shortname}"
        self.store.record_history(address, caller, {key: {"old": history.ABSENT, "new": str(meta.uuid)}})

    def _drop_older_reactions(self, address: Address, caller: Caller) -> None:
        parent_subpath, parent = address.parent
        found = self.store.tree.list_attachments(
            space_name=address.space_name, subpath=parent_subpath, shortname=parent
        )
        for resource_type, older in found:
            if (
                resource_type != ResourceType.reaction
                or older.shortname == address.shortname
                or older.owner_shortname != caller.shortname
            ):
                continue
            older_address = Address(address.space_name, address.subpath, older.shortname, resource_type)
            self.store.tree.remove(older_address, older)
            key = f"attachments.reaction.{older.shortname}"
            self.store.record_history(older_address, caller, {key: {"old": str(older.uuid), "new": history.ABSENT}})
            self.store.event(caller, older_address, "delete", {"uuid": str(older.uuid)})
