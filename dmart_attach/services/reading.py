"""Reading entries, their attachments and their payloads back."""

from collections import Counter
from pathlib import Path
from typing import Any

from dmart_attach.errors import DmartError, not_found
from dmart_attach.identifiers import join_subpath
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import FILE_ATTACHMENTS, ActionType, ContentType, ResourceType
from dmart_attach.services.access import Access
from dmart_attach.services.caller import Caller
from dmart_attach.services.records import entry_view, listed_record
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address


class Reading:
    """Entry views, attachment listings and payload lookups."""

    def __init__(self, *, store: Store, access: Access) -> None:
        self.store = store
        self.access = access

    def load(self, address: Address) -> Meta:
        meta = self.store.tree.load(address)
        if meta is None:
            raise not_found(address.space_name, address.subpath, address.shortname, address.resource_type.value)
        return meta

    def _with_body(self, address: Address, meta: Meta) -> Meta:
        body = self.store.body_of(address, meta)
        if body is None or meta.payload is None:
            return meta
        shown = meta.model_copy(deep=True)
        assert shown.payload is not None
        shown.payload.body = body
        return shown

    def attachments(
        self,
        *,
        space_name: str,
        subpath: str,
        shortname: str,
        caller: Caller,
        filter_types: list[ResourceType] | None = None,
        retrieve_json_payload: bool = False,
    ) -> dict[str, list[dict[str, Any]]]:
        """The attachments of an entry the caller may view, grouped by kind; locks are shown as lock status."""
        grouped: dict[str, list[dict[str, Any]]] = {}
        own_subpath = join_subpath(subpath, shortname)
        found = self.store.tree.list_attachments(space_name=space_name, subpath=subpath, shortname=shortname)
        checker = self.access.checker(caller.shortname)
        for resource_type, meta in found:
            if resource_type == ResourceType.lock or (filter_types and resource_type not in filter_types):
                continue
            address = Address(space_name, own_subpath, meta.shortname, resource_type)
            if not checker.allows(ActionType.view, address, meta=meta):
                continue
            if retrieve_json_payload:
                meta = self._with_body(address, meta)
            record = listed_record(meta, resource_type=resource_type, subpath=own_subpath)
            grouped.setdefault(resource_type.value, []).append(record)
        if "alteration" in grouped:
            grouped["alteration"].sort(key=lambda record: record["attributes"]["created_at"])
        return grouped

    def entry(
        self,
        address: Address,
        *,
        caller: Caller,
        retrieve_json_payload: bool,
        retrieve_attachments: bool,
        filter_types: list[ResourceType] | None,
    ) -> dict[str, Any]:
        """GET /managed/entry: the meta without nulls, plus `attachments`."""
        meta = self.load(address)
        self.access.require(caller, ActionType.view, address, meta=meta, number=7)
        if retrieve_json_payload:
            meta = self._with_body(address, meta)
        view = entry_view(meta, address.resource_type)
        view["attachments"] = {}
        if retrieve_attachments and not address.is_attachment:
            view["attachments"] = self.attachments(
                space_name=address.space_name,
                subpath=address.subpath,
                shortname=address.shortname,
                caller=caller,
                filter_types=filter_types,
                retrieve_json_payload=retrieve_json_payload,
            )
            kinds = [
                item["attributes"].get("type") for item in view["attachments"].get(ResourceType.reaction.value, [])
            ]
            if any(kinds):
                view["reaction_counts"] = dict(Counter(kind for kind in kinds if kind))
        return view

    def payload(self, address: Address, file_name: str | None, *, caller: Caller) -> tuple[Meta, Any, Path | None]:
        """The meta and either the JSON body or the path of the payload file named `file_name` (None: its own)."""
        meta = self.load(address)
        self.access.require(caller, ActionType.view, address, meta=meta, number=8)
        payload = meta.payload
        file_name = file_name or (payload.file_name if payload is not None else None)
        if payload is None or file_name is None or payload.file_name != file_name:
            raise DmartError(400, "media", 220, "Request object is not available")
        if payload.content_type == ContentType.json and address.resource_type not in FILE_ATTACHMENTS:
            # DECISIONS 4: JSON bodies of entries and json attachments come in the envelope; media files stay files.
            body = self.store.body_of(address, meta)
            if body is None:
                raise DmartError(404, "db", 12, "Request object is not available")
            return meta, body, None
        path = self.store.tree.payload_path(address, file_name)
        if not path.is_file():
            raise DmartError(404, "db", 12, "Request object is not available")
        return meta, None, path
