"""The `update_acl` and `assign` requests: who else may act on an entry, and who owns it (contract §3.2.3-4)."""

import logging
from typing import Any

from pydantic import TypeAdapter, ValidationError

from dmart_attach.clock import now
from dmart_attach.errors import DmartError, RecordInvalid, not_found
from dmart_attach.identifiers import is_shortname
from dmart_attach.models.api import Record
from dmart_attach.models.core import AccessEntry, Meta
from dmart_attach.models.enums import ActionType
from dmart_attach.services import history
from dmart_attach.services.access import Access
from dmart_attach.services.caller import Caller
from dmart_attach.services.entries import build_meta
from dmart_attach.services.locking import Locking
from dmart_attach.services.records import to_record
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address

logger = logging.getLogger(__name__)

_ACL = TypeAdapter(list[AccessEntry])


class Ownership:
    """Replaces an entry's ACL or its owner, with the permission each needs and a history line."""

    def __init__(self, *, store: Store, access: Access, locking: Locking) -> None:
        self.store = store
        self.access = access
        self.locking = locking

    def update_acl(self, space_name: str, record: Record, caller: Caller) -> dict[str, Any]:
        """Replace the ACL of what `record` names (needs `update`)."""
        acl = record.attributes.get("acl")
        if acl is None:
            raise DmartError(400, "request", 202, "The acl is required")
        try:
            entries = _ACL.validate_python(acl)
        except ValidationError as error:
            raise RecordInvalid(
                [
                    {"type": item["type"], "loc": ["attributes", "acl", *item["loc"]], "msg": item["msg"]}
                    for item in error.errors(include_url=False)
                ]
            ) from None
        value = [entry.model_dump(mode="json") for entry in entries]
        return self._change(space_name, record, caller, action=ActionType.update, field="acl", value=value)

    def assign(self, space_name: str, record: Record, caller: Caller) -> dict[str, Any]:
        """Give what `record` names to another existing user (needs `assign`)."""
        owner = record.attributes.get("owner_shortname")
        if not owner:
            raise DmartError(400, "request", 202, "The owner_shortname is required")
        if not isinstance(owner, str) or not is_shortname(owner) or self.access.user(owner) is None:
            raise DmartError(404, "db", 220, f"The user {owner} does not exist")
        return self._change(space_name, record, caller, action=ActionType.assign, field="owner_shortname", value=owner)

    def _check_grantable(self, caller: Caller, address: Address, meta: Meta, acl: list[dict[str, Any]]) -> None:
        """Refuse an ACL that grants an action the caller does not hold through its own roles."""
        without_acl = meta.model_copy(update={"acl": None})
        for action in sorted({action for item in acl for action in item["allowed_actions"]}):
            if not self.access.allows(caller.shortname, ActionType(action), address, meta=without_acl):
                raise DmartError(401, "request", 401, f"You cannot grant the action {action} you do not hold")

    def _change(
        self, space_name: str, record: Record, caller: Caller, *, action: ActionType, field: str, value: Any
    ) -> dict[str, Any]:
        address = self.store.address(space_name, record.subpath, record.shortname, record.resource_type)
        with self.store.write_lock(address):
            meta = self.store.tree.load(address)
            if meta is None:
                raise not_found(space_name, address.subpath, address.shortname, address.resource_type.value)
            self.access.require(caller, action, address, meta=meta, attributes={field: value}, number=9)
            if field == "acl":
                self._check_grantable(caller, address, meta, value)
            self.locking.ensure_unlocked(address, caller)
            body = self.store.body_of(address, meta)
            values = meta.model_dump()
            values[field] = value
            values["updated_at"] = now()
            updated = build_meta(address.resource_type, values)
            self.store.tree.save(address, updated)
            old = history.flatten(self.store.shown(meta, body))
            new = history.flatten(self.store.shown(updated, body))
            self.store.record_history(address, caller, history.diff(old, new, {field}))
        logger.info(
            "changed %s",
            field,
            extra={"resource": f"{space_name}/{address.subpath}/{address.shortname}", "user": caller.shortname},
        )
        shown = updated.model_copy(deep=True)
        if body is not None and shown.payload is not None:
            shown.payload.body = body
        return to_record(shown, resource_type=address.resource_type, subpath=address.subpath)
