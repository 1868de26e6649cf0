"""The storage a service works with, and the bookkeeping every write shares."""

import logging
from contextlib import AbstractContextManager
from typing import Any

from dmart_attach.config import Settings
from dmart_attach.errors import DmartError
from dmart_attach.identifiers import ROOT, join_subpath, subpath_segments
from dmart_attach.models.core import Folder, Meta
from dmart_attach.models.enums import ResourceType
from dmart_attach.services import history
from dmart_attach.services.caller import Caller
from dmart_attach.services.passwords import Passwords
from dmart_attach.storage.history import append_line, read_newest_first
from dmart_attach.storage.index import Index
from dmart_attach.storage.layout import Address, UnsafePath
from dmart_attach.storage.locks import LockFiles, claim_shared
from dmart_attach.storage.state import SessionStore
from dmart_attach.storage.tree import Tree

logger = logging.getLogger(__name__)


class Store:
    """The tree, its locks and sessions, and the helpers every operation on them needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.tree = Tree(settings.spaces_root)
        state = settings.state_root
        state.mkdir(parents=True, exist_ok=True)
        self.index = Index(state / "index.sqlite", self.tree.layout)
        self.tree.index = self.index
        self.locks = LockFiles(state / "locks")
        self.sessions = SessionStore(state / "sessions.sqlite")
        self.passwords = Passwords(settings)

    def claim_tree(self) -> bool:
        """Mark this process as one that serves the tree; answer whether it is the only one."""
        return claim_shared(self.settings.state_root / "serving.lock")

    def address(self, space_name: str, subpath: str, shortname: str, resource_type: ResourceType) -> Address:
        """A checked address; identifiers that could leave the tree are refused."""
        address = Address(space_name, subpath, shortname, resource_type)
        try:
            self.tree.layout.meta_file(address)
        except UnsafePath as error:
            raise DmartError(400, "request", 420, f"Invalid identifier: {error}") from None
        return address

    def lock_keys(self, address: Address) -> tuple[str, ...]:
        """The locks a write to `address` holds exclusively: its own name (and its parent's for a reaction).

        Other attachments hold their parent entry shared (see `ancestor_keys`), so comments on one entry are
        written side by side while a change, lock, move or delete of the entry itself waits for them.
        A user's new reaction replaces their older ones, so reactions on one entry are written one at a time.
        """
        own = f"{address.space_name}:{address.subpath}:{address.shortname}"
        if address.resource_type == ResourceType.reaction and address.is_attachment:
            return own, self._parent_key(address)
        return (own,)

    @staticmethod
    def _parent_key(address: Address) -> str:
        parent_subpath, parent = address.parent
        return f"{address.space_name}:{parent_subpath}:{parent}"

    def ancestor_keys(self, address: Address) -> tuple[str, ...]:
        """The lock keys of the space, of every folder that contains `address`, and of an attachment's entry."""
        if address.resource_type == ResourceType.space:
            return ()
        space = address.space_name
        container = address.parent[0] if address.is_attachment else address.subpath
        keys = [f"{space}:{ROOT}:{space}"]
        parent = ROOT
        for segment in subpath_segments(container):
            keys.append(f"{space}:{parent}:{segment}")
            parent = join_subpath(parent, segment)
        if address.is_attachment:
            keys.append(self._parent_key(address))
        return tuple(keys)

    def write_lock(self, address: Address, *extra: str) -> AbstractContextManager[None]:
        """Hold `address` (and the `extra` keys) for a write, its containers shared so none is removed meanwhile."""
        return self.locks.hold(*self.lock_keys(address), *extra, shared=self.ancestor_keys(address))

    def body_of(self, address: Address, meta: Meta) -> Any:
        """The stored JSON body of a meta's payload file (None when it has none)."""
        return self.tree.read_json_payload(address, meta)

    @staticmethod
    def shown(meta: Meta, body: Any) -> dict[str, Any]:
        """The meta as a dict with its JSON body in place, for history diffs."""
        shown = meta.model_dump(mode="json", exclude_none=True)
        if body is not None and shown.get("payload"):
            shown["payload"]["body"] = body
        return shown

    def history_owner(self, address: Address) -> tuple[str, str]:
        """The entry whose history file records changes to `address` (the parent, for attachments)."""
        if address.is_attachment:
            return address.parent
        if address.resource_type == ResourceType.space:
            return ROOT, ""
        return address.subpath, address.shortname

    def record_history(self, address: Address, caller: Caller, changes: dict[str, Any], **extra: Any) -> None:
        """Append a history line for a change that changed something."""
        if not changes:
            return
        subpath, shortname = self.history_owner(address)
        if address.resource_type == ResourceType.space:
            path = self.tree.layout.space_dir(address.space_name) / ".dm" / "history.jsonl"
        else:
            path = self.tree.layout.history_file(address.space_name, subpath, shortname)
        if address.is_attachment:
            extra.setdefault(
                "attachment", {"resource_type": address.resource_type.value, "shortname": address.shortname}
            )
        append_line(path, history.history_line(caller, changes, **extra))

    def history_lines(
        self, *, space_name: str, subpath: str, shortname: str, offset: int = 0, limit: int | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """The number of history lines of an entry (its attachments included) and a page of them, newest first."""
        path = self.tree.layout.history_file(space_name, subpath, shortname)
        return read_newest_first(path, offset=offset, limit=limit)

    def event_lines(
        self, space_name: str, *, offset: int = 0, limit: int | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """The number of lines of a space's event log and a page of them, newest first."""
        path = self.tree.layout.space_dir(space_name) / ".dm" / "events.jsonl"
        return read_newest_first(path, offset=offset, limit=limit)

    def event(self, caller: Caller, address: Address, action: str, attributes: dict[str, Any]) -> None:
        """Append a line to the space's event log."""
        path = self.tree.layout.space_dir(address.space_name) / ".dm" / "events.jsonl"
        if not path.parent.is_dir():
            return
        resource = {
            "type": address.resource_type.value,
            "space_name": address.space_name,
            "subpath": address.subpath,
            "shortname": address.shortname,
        }
        append_line(path, history.event_line(caller, action=action, locator=resource, attributes=attributes))

    def ensure_folder(self, space_name: str, subpath: str, owner: str) -> None:
        """Create the folder at `subpath` when it is missing (its parents must exist)."""
        if self.tree.folder_exists(space_name, subpath):
            return
        parent, _, name = subpath.rpartition("/")
        address = Address(space_name, parent or ROOT, name, ResourceType.folder)
        self.tree.save(address, Folder(shortname=name, owner_shortname=owner, is_active=True))

    def after_user_change(self, address: Address, old: Meta, new: Meta, attributes: dict[str, Any]) -> None:
        """End a user's sessions when its password changes or it is deactivated."""
        if address.resource_type != ResourceType.user:
            return
        if "password" in attributes or (old.is_active and not new.is_active):
            self.sessions.end_user_sessions(new.shortname)

    def folder_subpath(self, address: Address) -> str:
        return join_subpath(address.subpath, address.shortname)
