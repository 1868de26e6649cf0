"""Moving entries, folders and attachments (request_type `move`, contract §3.2.5) with all that is theirs."""

import logging
from typing import Any

from dmart_attach.errors import DmartError, invalid_space, not_found
from dmart_attach.identifiers import ROOT, is_shortname, is_space_name, is_subpath, join_subpath, normalize_subpath
from dmart_attach.models.api import Record
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ActionType, ResourceType
from dmart_attach.services.access import Access
from dmart_attach.services.caller import Caller
from dmart_attach.services.locking import Locking
from dmart_attach.services.records import to_record
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address

logger = logging.getLogger(__name__)

MOVE_FIELDS = ("src_space_name", "src_subpath", "src_shortname", "dest_space_name", "dest_subpath", "dest_shortname")


def _is_valid(field: str, value: str) -> bool:
    if field.endswith("space_name"):
        return is_space_name(value)
    if field.endswith("shortname"):
        return is_shortname(value)
    return is_subpath(value)


def move_attributes(attributes: dict[str, Any]) -> dict[str, str]:
    """The six source and destination attributes of a move, checked as full matches."""
    missing = [field for field in MOVE_FIELDS if not isinstance(attributes.get(field), str) or not attributes[field]]
    if missing:
        raise DmartError(400, "move", 222, f"Provide the source and destination of the move: {', '.join(missing)}")
    for field in MOVE_FIELDS:
        if not _is_valid(field, attributes[field]):
            raise DmartError(400, "move", 402, f"Invalid value for {field}")
    values = {field: attributes[field] for field in MOVE_FIELDS}
    values["src_subpath"] = normalize_subpath(values["src_subpath"])
    values["dest_subpath"] = normalize_subpath(values["dest_subpath"])
    return values


def _taken(target: Address) -> DmartError:
    where = f"{target.space_name}/{join_subpath(target.subpath, target.shortname)}"
    return DmartError(400, "move", 206, f"The destination {where} is already taken")


def renamed(meta: Meta, shortname: str) -> Meta:
    """A copy of `meta` under a new shortname, its payload file renamed with it."""
    new = meta.model_copy(deep=True)
    new.shortname = shortname
    file_name = meta.payload.file_name if meta.payload is not None else None
    if new.payload is not None and file_name is not None:
        stem = f"{meta.shortname}."
        extension = (
            file_name[len(meta.shortname) :] if file_name.startswith(stem) else f".{file_name.rpartition('.')[2]}"
        )
        new.payload.body = f"{shortname}{extension}"
    return new


class Moving:
    """Moves that take payload files, attachments, history and, for folders, everything below along."""

    def __init__(self, *, store: Store, locking: Locking, access: Access) -> None:
        self.store = store
        self.locking = locking
        self.access = access

    def move(self, space_name: str, record: Record, caller: Caller) -> dict[str, Any]:
        """Move what the record's `src_*` attributes name to its `dest_*` ones; answer the moved record."""
        values = move_attributes(record.attributes)
        if values["src_space_name"] != space_name:
            raise DmartError(400, "move", 402, "src_space_name must be the space_name of the request")
        resource_type = record.resource_type
        if resource_type == ResourceType.space:
            raise DmartError(400, "move", 219, "A space cannot be moved")
        source = self.store.address(space_name, values["src_subpath"], values["src_shortname"], resource_type)
        target = self.store.address(
            values["dest_space_name"], values["dest_subpath"], values["dest_shortname"], resource_type
        )
        if not self.store.tree.space_exists(target.space_name):
            raise invalid_space(target.space_name)
        inside = join_subpath(source.subpath, source.shortname)
        if (
            resource_type == ResourceType.folder
            and source.space_name == target.space_name
            and (target.subpath == inside or target.subpath.startswith(f"{inside}/"))
        ):
            raise DmartError(400, "move", 206, "A folder cannot be moved into itself")

        held = (*self.store.lock_keys(source), *self.store.lock_keys(target))
        containers = (*self.store.ancestor_keys(source), *self.store.ancestor_keys(target))
        with self.store.locks.hold(*held, shared=containers):
            meta = self.store.tree.load(source)
            if meta is None:
                raise not_found(space_name, source.subpath, source.shortname, resource_type.value)
            # A move deletes at the source and creates at the destination (contract §3.2).
            self.access.require(caller, ActionType.delete, source, meta=meta, number=7)
            self.access.require(caller, ActionType.create, target, attributes=meta.model_dump(mode="json"), number=8)
            self.locking.ensure_unlocked(source, caller, action="move")
            if target.is_attachment:
                self.locking.ensure_unlocked(target, caller, action="move")
            self._check_destination(target, meta)
            new = renamed(meta, target.shortname)
            self.store.tree.move(source, target, old=meta, new=new)
            self._record_history(source, target, caller)

        moved = {"uuid": str(meta.uuid), "from": self._locator(source), "to": self._locator(target)}
        self.store.event(caller, source, "move", moved)
        if target.space_name != source.space_name:
            self.store.event(caller, target, "move", moved)
        logger.info("moved", extra={"from": moved["from"], "to": moved["to"]})
        return to_record(new, resource_type=resource_type, subpath=target.subpath)

    def _check_destination(self, target: Address, meta: Meta) -> None:
        tree = self.store.tree
        space, subpath = target.space_name, target.subpath
        if target.is_attachment:
            parent_subpath, parent = target.parent
            if subpath == ROOT or tree.entry_type(space_name=space, subpath=parent_subpath, shortname=parent) is None:
                raise DmartError(404, "db", 220, f"The destination entry {space}/{subpath} does not exist")
            if tree.attachment_taken(target):
                raise _taken(target)
            return
        if not tree.folder_exists(space, subpath):
            raise DmartError(404, "db", 220, f"The destination folder {space}/{subpath} does not exist")
        if tree.entry_type(space_name=space, subpath=subpath, shortname=target.shortname) is not None:
            raise _taken(target)
        layout = tree.layout
        if (
            target.resource_type == ResourceType.folder
            and layout.folder_path(space, join_subpath(subpath, target.shortname)).exists()
        ):
            raise _taken(target)
        new = renamed(meta, target.shortname)
        file_name = new.payload.file_name if new.payload is not None else None
        if file_name is not None and layout.payload_file(target, file_name).exists():
            raise _taken(target)

    def _record_history(self, source: Address, target: Address, caller: Caller) -> None:
        before, after = self._locator(source), self._locator(target)
        changes = {
            key: {"old": before[key], "new": after[key]}
            for key in ("space_name", "subpath", "shortname")
            if before[key] != after[key]
        }
        self.store.record_history(target, caller, changes)
        owners = {(address.space_name, *self.store.history_owner(address)) for address in (source, target)}
        if source.is_attachment and len(owners) == 2:
            self.store.record_history(source, caller, changes)

    @staticmethod
    def _locator(address: Address) -> dict[str, str]:
        return {
            "type": address.resource_type.value,
            "space_name": address.space_name,
            "subpath": address.subpath,
            "shortname": address.shortname,
        }
