"""Turning stored metas into the records and entry views Dmart answers."""

from typing import Any

from dmart_attach.identifiers import ROOT
from dmart_attach.models.attachments import TEXT_MODELS
from dmart_attach.models.core import Meta
from dmart_attach.models.enums import ATTACHMENT_TYPES, ResourceType

# Meta fields never shown to a client nor written into history.
HIDDEN = frozenset({"password"})


def meta_attributes(meta: Meta, resource_type: ResourceType) -> dict[str, Any]:
    """Every meta field except the record's own keys, nulls included, secrets removed."""
    attributes = meta.model_dump(mode="json", exclude={"uuid", "shortname"})
    if meta.payload is not None:
        attributes["payload"] = meta.payload.model_dump(mode="json", exclude_none=True)
    for key in HIDDEN:
        attributes.pop(key, None)
    if resource_type in TEXT_MODELS and meta.payload is not None and isinstance(meta.payload.body, dict):
        # The text is stored in the payload form; answers also show it at the top level.
        model, _ = TEXT_MODELS[resource_type]
        for name in model.model_fields:
            attributes.setdefault(name, meta.payload.body.get(name))
    return attributes


def to_record(
    meta: Meta,
    *,
    resource_type: ResourceType,
    subpath: str,
    attachments: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A Record as Dmart answers it."""
    record: dict[str, Any] = {
        "resource_type": resource_type.value,
        "uuid": str(meta.uuid),
        "shortname": meta.shortname,
        "subpath": subpath if subpath == ROOT else subpath.strip("/"),
        "attributes": meta_attributes(meta, resource_type),
        "retrieve_lock_status": False,
    }
    if attachments:
        record["attachments"] = attachments
    return record


def listed_record(
    meta: Meta,
    *,
    resource_type: ResourceType,
    subpath: str,
    attachments: dict[str, list[dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """A Record as Dmart 1.6 lists it (query answers, an entry's attachments): every payload key, nulls
    included, and a text's `body` and `state` on every attachment kind, null when it has none."""
    record = to_record(meta, resource_type=resource_type, subpath=subpath, attachments=attachments)
    if meta.payload is not None:
        record["attributes"]["payload"] = meta.payload.model_dump(mode="json")
    if resource_type in ATTACHMENT_TYPES:
        record["attributes"].setdefault("body", None)
        record["attributes"].setdefault("state", None)
    return record


def entry_view(meta: Meta, resource_type: ResourceType) -> dict[str, Any]:
    """The meta as GET /managed/entry answers it: nulls dropped, secrets removed."""
    view = meta.model_dump(mode="json", exclude_none=True)
    for key in HIDDEN:
        view.pop(key, None)
    if resource_type in TEXT_MODELS and meta.payload is not None and isinstance(meta.payload.body, dict):
        model, _ = TEXT_MODELS[resource_type]
        for name in model.model_fields:
            if meta.payload.body.get(name) is not None:
                view.setdefault(name, meta.payload.body[name])
    return view
