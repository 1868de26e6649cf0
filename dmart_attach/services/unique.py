"""A folder's `unique_fields` (contract §3.2.8): no two entries of the folder share those values."""

from typing import Any

from dmart_attach.errors import DmartError
from dmart_attach.identifiers import ROOT, split_subpath
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ResourceType
from dmart_attach.models.search import FieldTerm, Group
from dmart_attach.services.store import Store
from dmart_attach.storage.finder import Finder
from dmart_attach.storage.layout import Address
from dmart_attach.storage.scan import KIND_ENTRY
from dmart_attach.storage.selection import Selection


def _value(document: Any, path: str) -> Any:
    for part in path.removeprefix("attributes.").split("."):
        document = document.get(part) if isinstance(document, dict) else None
    return document


class UniqueFields:
    """Checks an entry's values against the other entries of its folder, through the index."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.finder = Finder(store.index)

    def field_lists(self, space_name: str, subpath: str) -> list[list[str]]:
        """The composite field lists the folder at `subpath` declares unique."""
        if subpath == ROOT:
            return []
        parent, name = split_subpath(subpath)
        address = Address(space_name, parent, name, ResourceType.folder)
        meta = self.store.tree.load(address)
        body = self.store.body_of(address, meta) if meta is not None else None
        lists = body.get("unique_fields") if isinstance(body, dict) else None
        if not isinstance(lists, list):
            return []
        return [[str(field) for field in fields] for fields in lists if isinstance(fields, list) and fields]

    def lock_keys(self, address: Address) -> tuple[str, ...]:
        """A lock shared by every writer of a folder with unique fields, so two cannot both pass the check."""
        if address.is_attachment or not self.field_lists(address.space_name, address.subpath):
            return ()
        return (f"unique:{address.space_name}:{address.subpath}",)

    def check(self, address: Address, meta: Meta, body: Any) -> None:
        """Refuse (code 415) an entry whose unique values another entry of the folder already has."""
        if address.is_attachment or address.resource_type in (ResourceType.space, ResourceType.folder):
            return
        document = self.store.shown(meta, body)
        for fields in self.field_lists(address.space_name, address.subpath):
            values = [_value(document, field) for field in fields]
            if any(value is None or isinstance(value, (dict, list)) for value in values):
                continue
            terms = [
                FieldTerm(field.removeprefix("attributes."), (str(value),))
                for field, value in zip(fields, values, strict=True)
            ]
            terms.append(FieldTerm("shortname", (address.shortname,), negative=True))
            chosen = Selection(
                space_name=address.space_name,
                subpath=address.subpath,
                kinds=(KIND_ENTRY,),
                groups=[Group(fields=terms)],
            )
            if self.finder.count(chosen):
                raise DmartError(
                    400, "request", 415, f"Entry should have unique values on the following fields: {', '.join(fields)}"
                )
