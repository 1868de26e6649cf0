"""Creating, updating and deleting entries and record attachments (contract §3.2)."""

import json
import logging
import uuid
from typing import Any

from pydantic import ValidationError

from dmart_attach.clock import now
from dmart_attach.errors import DmartError, RecordInvalid, not_found
from dmart_attach.models.api import Record
from dmart_attach.models.core import Meta, Payload
from dmart_attach.models.enums import FILE_ATTACHMENTS, INLINE_CONTENT_TYPES, ActionType, ContentType, ResourceType
from dmart_attach.models.registry import META_CLASSES, meta_class
from dmart_attach.services import history
from dmart_attach.services.access import Access
from dmart_attach.services.attaching import Attaching
from dmart_attach.services.caller import Caller
from dmart_attach.services.locking import Locking
from dmart_attach.services.payloads import checksum, deep_merge, invalid_body, split_json_body
from dmart_attach.services.records import HIDDEN, to_record
from dmart_attach.services.rules import Rules
from dmart_attach.services.store import Store
from dmart_attach.services.unique import UniqueFields
from dmart_attach.storage.layout import Address
from dmart_attach.storage.tree import dump_payload

logger = logging.getLogger(__name__)

AUTO = "auto"
# Fields a client never sets through create or update.
PROTECTED = {"uuid", "shortname", "created_at", "updated_at", "owner_shortname", "payload", "acl"}
SPACE_PLUGINS = ["action_log", "redis_db_update", "resource_folders_creation"]


def _validation_info(error: ValidationError, prefix: list[Any]) -> list[dict[str, Any]]:
    return [
        {"type": item["type"], "loc": [*prefix, *item["loc"]], "msg": item["msg"]}
        for item in error.errors(include_url=False)
    ]


def build_meta(resource_type: ResourceType, values: dict[str, Any]) -> Meta:
    """Validate `values` as the meta of `resource_type`, naming the failing attribute."""
    cls = meta_class(resource_type)
    try:
        return cls.model_validate(values)
    except ValidationError as error:
        raise RecordInvalid(_validation_info(error, ["attributes"])) from None


def _refuse_file_body(payload: Payload) -> None:
    """Payload files come from uploads: a request naming one could point at another entry's file."""
    kept_in_file = payload.content_type not in INLINE_CONTENT_TYPES and payload.content_type != ContentType.json
    if kept_in_file and payload.body is not None:
        raise invalid_body(f"A {payload.content_type.value} payload is uploaded with /managed/resource_with_payload")


def _history_view(shown: dict[str, Any]) -> dict[str, Any]:
    """The flattened meta a history diff compares, without secrets."""
    return history.flatten({key: value for key, value in shown.items() if key not in HIDDEN})


def _stored_text(meta: Meta, file_body: Any) -> dict[str, Any]:
    """The text a comment-like attachment holds now: its payload file's body, or its inline body."""
    if isinstance(file_body, dict):
        return file_body
    if meta.payload is not None and isinstance(meta.payload.body, dict):
        return meta.payload.body
    return {}


class Entries:
    """The meaning of create, update, patch and delete for one record."""

    def __init__(self, *, store: Store, rules: Rules, access: Access, locking: Locking, attaching: Attaching) -> None:
        self.store = store
        self.rules = rules
        self.access = access
        self.locking = locking
        self.attaching = attaching
        self.unique = UniqueFields(store)

    def _check_creatable(self, resource_type: ResourceType) -> None:
        if resource_type == ResourceType.lock:
            raise DmartError(
                400,
                "request",
                219,
                "Locks are taken with PUT /managed/lock/{resource_type}/{space}/{subpath}/{shortname}",
            )
        if resource_type in FILE_ATTACHMENTS:
            raise DmartError(
                400,
                "request",
                219,
                f"A {resource_type.value} attachment is uploaded with /managed/resource_with_payload",
            )
        if resource_type not in META_CLASSES:
            raise DmartError(400, "request", 219, f"Resource type {resource_type.value} cannot be created")

    def create(self, space_name: str, record: Record, caller: Caller) -> dict[str, Any]:
        """Create the entry or attachment `record` describes; answer the stored record."""
        resource_type = record.resource_type
        self._check_creatable(resource_type)
        shortname, record_uuid = record.shortname, record.uuid
        if shortname == AUTO:
            fresh = uuid.uuid4()
            shortname, record_uuid = str(fresh)[:8], str(fresh)
        address = self.store.address(space_name, record.subpath, shortname, resource_type)
        self.access.require(caller, ActionType.create, address, attributes=record.attributes, number=4)

        attributes = {key: value for key, value in record.attributes.items() if value is not None}
        self.rules.prepare_create(address, attributes)
        fields = META_CLASSES[resource_type].model_fields
        values = {key: value for key, value in attributes.items() if key in fields and key not in PROTECTED}
        values.update(shortname=shortname, owner_shortname=caller.shortname)
        if record_uuid:
            values["uuid"] = record_uuid
        if resource_type == ResourceType.space:
            values.update(is_active=True, indexing_enabled=True, active_plugins=SPACE_PLUGINS)
        payload = attributes.get("payload")
        if payload is not None:
            values["payload"] = payload
        meta = build_meta(resource_type, values)
        if resource_type == ResourceType.user and isinstance(attributes.get("password"), str):
            meta.password = self.store.passwords.hash(attributes["password"])  # type: ignore[attr-defined]
        file_body = self._prepare_payload(address, meta)

        with self.store.write_lock(address, *self.unique.lock_keys(address)):
            self.rules.check_create(address)
            self.locking.ensure_unlocked(address, caller, action="create")
            self.attaching.check(address, meta)
            self.unique.check(address, meta, json.loads(file_body) if file_body is not None else None)
            self.store.tree.save(address, meta, payload=file_body)
            self.attaching.created(address, meta, caller)
            if resource_type == ResourceType.space:
                self.store.ensure_folder(space_name, "schema", caller.shortname)
        self.store.event(caller, address, "create", {"uuid": str(meta.uuid)})
        return self._answer(address, meta, file_body)

    def _prepare_payload(self, address: Address, meta: Meta) -> bytes | None:
        """Split a JSON body into its file, validate it against its schema, return the file bytes."""
        if meta.payload is None:
            return None
        if address.resource_type == ResourceType.schema and meta.shortname != "meta_schema":
            meta.payload.schema_shortname = "meta_schema"
        _refuse_file_body(meta.payload)
        body = split_json_body(meta.payload, file_stem=meta.shortname)
        if body is None:
            if isinstance(meta.payload.body, dict):
                self.rules.validate_body(address, meta.payload, meta.payload.body)
            return None
        self.rules.validate_body(address, meta.payload, body)
        return dump_payload(body)

    def _answer(self, address: Address, meta: Meta, file_body: bytes | None) -> dict[str, Any]:
        shown = meta.model_copy(deep=True)
        if file_body is not None and shown.payload is not None:
            shown.payload.body = json.loads(file_body)
        return to_record(shown, resource_type=address.resource_type, subpath=address.subpath)

    def update(self, space_name: str, record: Record, caller: Caller, *, patch: bool) -> dict[str, Any]:
        """Merge `record` into the stored meta and payload; answer the stored record."""
        address = self.store.address(space_name, record.subpath, record.shortname, record.resource_type)
        if address.resource_type == ResourceType.space and record.shortname != space_name:
            raise DmartError(400, "request", 203, f"Space name {space_name} does not match {record.shortname}")
        attributes = dict(record.attributes)
        text_change = self.rules.split_update_text(address, attributes)

        with self.store.write_lock(address, *self.unique.lock_keys(address)):
            meta = self.store.tree.load(address)
            if meta is None:
                raise not_found(space_name, address.subpath, address.shortname, address.resource_type.value)
            self.access.require(caller, ActionType.update, address, meta=meta, attributes=record.attributes, number=5)
            self.locking.ensure_unlocked(address, caller)
            stored_body = self.store.body_of(address, meta)
            old_flat = _history_view(self.store.shown(meta, stored_body))

            values = meta.model_dump()
            fields = type(meta).model_fields
            for key, value in attributes.items():
                if key in fields and key not in PROTECTED:
                    values[key] = value
            values["updated_at"] = now()
            updated = build_meta(address.resource_type, values)
            if address.resource_type == ResourceType.user and isinstance(attributes.get("password"), str):
                updated.password = self.store.passwords.hash(attributes["password"])  # type: ignore[attr-defined]

            new_body, stale = self._merge_payload(address, meta, updated, attributes.get("payload"), stored_body)
            if text_change is not None:
                new_body = deep_merge(_stored_text(updated, new_body), text_change)
                new_body = self.rules.checked_text(address, new_body)
                if updated.payload is None:
                    updated.payload = Payload(content_type=self.rules.text_content_type(address), body=None)
                if updated.payload.file_name is None:
                    updated.payload.body = new_body
                updated.payload.checksum = checksum(new_body)
            file_bytes = None
            if new_body is not None and updated.payload is not None and updated.payload.file_name is not None:
                self.rules.validate_body(address, updated.payload, new_body)
                file_bytes = dump_payload(new_body)
            elif updated.payload is not None and isinstance(updated.payload.body, dict):
                self.rules.validate_body(address, updated.payload, updated.payload.body)
            self.attaching.check(address, updated)
            self.unique.check(address, updated, new_body)
            self.store.tree.save(address, updated, payload=file_bytes, stale_payload=stale)

            keys = set(history.flatten(record.attributes)) | set(record.attributes)
            if text_change is not None:
                keys.add("payload.body")
            new_flat = _history_view(self.store.shown(updated, new_body))
            self.store.record_history(address, caller, history.diff(old_flat, new_flat, keys))
        self.store.after_user_change(address, meta, updated, attributes)
        return self._answer(address, updated, file_bytes)

    def _merge_payload(
        self, address: Address, meta: Meta, updated: Meta, change: Any, stored_body: Any
    ) -> tuple[Any, str | None]:
        """Apply a payload change to `updated`; return the new JSON body and a payload file to remove."""
        stale = meta.payload.file_name if meta.payload is not None else None
        updated.payload = meta.payload.model_copy(deep=True) if meta.payload is not None else None
        if not isinstance(change, dict) or change.get("body") is None:
            return stored_body, None
        try:
            if updated.payload is None:
                updated.payload = Payload.model_validate({**change, "body": None})
            elif change.get("content_type") is not None:
                updated.payload.content_type = change["content_type"]
            if change.get("schema_shortname") is not None:
                updated.payload.schema_shortname = change["schema_shortname"]
        except ValidationError as error:
            raise RecordInvalid(_validation_info(error, ["attributes", "payload"])) from None
        body = change["body"]
        payload = updated.payload
        _refuse_file_body(payload.model_copy(update={"body": body}))
        if payload.content_type.value == "json":
            if not isinstance(body, (dict, list)):
                raise invalid_body("A JSON payload needs an object or a list as its body")
            merged = deep_merge(stored_body, body) if isinstance(stored_body, dict) else body
            payload.body = f"{meta.shortname}.json"
            payload.checksum = checksum(merged)
            return merged, stale
        payload.body = deep_merge(payload.body, body) if isinstance(body, dict) else body
        payload.checksum = checksum(payload.body)
        return None, stale

    def delete(self, space_name: str, record: Record, caller: Caller) -> dict[str, Any]:
        """Delete what `record` names with everything that belongs to it; answer its locator."""
        address = self.store.address(space_name, record.subpath, record.shortname, record.resource_type)
        if address.resource_type == ResourceType.space and space_name == self.store.settings.management_space:
            raise DmartError(400, "request", 204, "The management space cannot be deleted")
        with self.store.write_lock(address):
            meta = self.store.tree.load(address)
            if meta is None:
                raise not_found(space_name, address.subpath, address.shortname, address.resource_type.value)
            self.access.require(caller, ActionType.delete, address, meta=meta, number=6)
            self.locking.ensure_unlocked(address, caller, action="delete")
            self.store.tree.remove(address, meta)
            if address.is_attachment:
                self.store.record_history(
                    address,
                    caller,
                    {
                        f"attachments.{address.resource_type.value}.{address.shortname}": {
                            "old": str(meta.uuid),
                            "new": history.ABSENT,
                        }
                    },
                )
        if address.resource_type == ResourceType.user:
            self.store.sessions.end_user_sessions(address.shortname)
        if address.resource_type != ResourceType.space:
            self.store.event(caller, address, "delete", {"uuid": str(meta.uuid)})
        return {
            "resource_type": address.resource_type.value,
            "uuid": str(meta.uuid),
            "shortname": address.shortname,
            "subpath": address.subpath,
            "attributes": {},
            "retrieve_lock_status": False,
        }
