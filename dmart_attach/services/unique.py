"""A folder's `unique_fields` (contract §3.2.8): no two entries of the folder share those values.

Users are kept unique the same way on their e-mail (in any case) and msisdn.
"""

from typing import Any

from dmart_attach.errors import DmartError
from dmart_attach.identifiers import ROOT, split_subpath
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ResourceType
from dmart_attach.models.search import FieldTerm, Group
from dmart_attach.services.access import USERS_FOLDER
from dmart_attach.services.store import Store
from dmart_attach.storage.finder import Finder
from dmart_attach.storage.layout import Address
from dmart_attach.storage.scan import KIND_ENTRY
from dmart_attach.storage.selection import Selection

# A user's contacts no other user may have; e-mails are compared without regard to case.
CONTACT_FIELDS = ("email", "msisdn")


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

    def _is_user(self, address: Address) -> bool:
        return address.resource_type == ResourceType.user and address.space_name == self.store.settings.management_space

    def lock_keys(self, address: Address) -> tuple[str, ...]:
        """A lock shared by every writer of a folder with unique fields, so two cannot both pass the check."""
        if address.is_attachment:
            return ()
        if not self._is_user(address) and not self.field_lists(address.space_name, address.subpath):
            return ()
        return (f"unique:{address.space_name}:{address.subpath}",)

    def contact_taken(self, field: str, value: str, *, besides: str | None = None) -> bool:
        """Whether a user other than `besides` has `value` as its `email` (in any case) or `msisdn`."""
        terms = [FieldTerm(field, (value,), any_case=field == "email")]
        if besides is not None:
            terms.append(FieldTerm("shortname", (besides,), negative=True))
        chosen = Selection(
            space_name=self.store.settings.management_space,
            subpath=USERS_FOLDER,
            kinds=(KIND_ENTRY,),
            resource_types=[ResourceType.user.value],
            groups=[Group(fields=terms)],
        )
        return bool(self.finder.count(chosen))

    def check_contacts(self, address: Address, user: Meta) -> None:
        """Refuse (code 415) a user whose e-mail or msisdn another user already has."""
        for field in CONTACT_FIELDS:
            value = getattr(user, field, None)
            if isinstance(value, str) and value and self.contact_taken(field, value, besides=address.shortname):
                raise DmartError(400, "request", 415, f"The {field} is already taken")

    def check(self, address: Address, meta: Meta, body: Any) -> None:
        """Refuse (code 415) an entry whose unique values another entry of the folder already has."""
        if address.is_attachment or address.resource_type in (ResourceType.space, ResourceType.folder):
            return
        if self._is_user(address):
            self.check_contacts(address, meta)
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
