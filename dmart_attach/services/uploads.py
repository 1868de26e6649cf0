"""POST /managed/resource_with_payload: what an uploaded file means, checked and stored with its meta."""

import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dmart_attach.clock import now
from dmart_attach.errors import DmartError, RecordInvalid, SchemaViolation, invalid_space
from dmart_attach.identifiers import is_space_name
from dmart_attach.models.api import Record
from dmart_attach.models.core import Meta, Payload
from dmart_attach.models.enums import FILE_ATTACHMENTS, ActionType, ContentType, ResourceType
from dmart_attach.models.registry import META_CLASSES
from dmart_attach.services import data_checks, history, sniffing
from dmart_attach.services.access import Access
from dmart_attach.services.attaching import Attaching
from dmart_attach.services.caller import Caller
from dmart_attach.services.entries import AUTO, PROTECTED, build_meta
from dmart_attach.services.locking import Locking
from dmart_attach.services.records import to_record
from dmart_attach.services.rules import Rules
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address
from dmart_attach.storage.streams import Bytes, SizeLimitExceeded, StagedFile

logger = logging.getLogger(__name__)

# Room for the form fields and part headers around the file, when judging a declared Content-Length.
FORM_ALLOWANCE = 1_048_576
DATA_KINDS = {
    ContentType.csv: ResourceType.csv,
    ContentType.jsonl: ResourceType.jsonl,
    ContentType.parquet: ResourceType.parquet,
    ContentType.duckdb: ResourceType.duckdb,
    ContentType.sqlite: ResourceType.sqlite,
}
UPLOADABLE = FILE_ATTACHMENTS | {
    ResourceType.json,
    ResourceType.content,
    ResourceType.post,
    ResourceType.ticket,
    ResourceType.schema,
}
# Resource types whose payload file can only be JSON.
JSON_ONLY = frozenset({ResourceType.json, ResourceType.schema})
META_SCHEMA = "meta_schema"


def _invalid(message: str) -> DmartError:
    return DmartError(400, "request", 402, message)


def too_large(limit: int) -> DmartError:
    """The 413 of a file over the upload limit."""
    return DmartError(413, "request", 413, f"The payload file is larger than the limit of {limit} bytes")


@dataclass
class UploadForm:
    """The parts of an upload form, as the route read them."""

    space_name: str | None = None
    request_record: bytes | None = None
    sha: str | None = None
    file_name: str | None = None
    file: "Incoming | None" = None


class Incoming:
    """A payload file arriving chunk by chunk into a staged file."""

    def __init__(self, staged: StagedFile) -> None:
        self.staged = staged

    def append(self, chunk: Bytes) -> None:
        """Append a chunk, hashed later by `digest`; past the limit 413 is raised, and the caller discards."""
        try:
            self.staged.append(chunk)
        except SizeLimitExceeded:
            raise too_large(self.staged.limit) from None

    def digest(self, chunk: Bytes) -> None:
        """Hash the next appended bytes."""
        self.staged.digest(chunk)

    def discard(self) -> None:
        """Drop whatever arrived."""
        self.staged.discard()


def _checked_file_name(file_name: str | None) -> str | None:
    """The extension of the payload's file name (None when it has none); a part without a name is refused."""
    if not file_name:
        raise _invalid("The payload file needs a file name with an extension")
    return sniffing.client_extension(file_name)


def _declared_kind(record: Record) -> ContentType | None:
    """The content type a record names for its file: `payload.content_type`, else what its resource type holds."""
    sent = record.attributes.get("payload")
    named = sent.get("content_type") if isinstance(sent, dict) else None
    if isinstance(named, str) and named in ContentType.__members__:
        return ContentType(named)
    if record.resource_type in JSON_ONLY:
        return ContentType.json
    return next((kind for kind, held in DATA_KINDS.items() if held == record.resource_type), None)


def parse_record(raw: bytes | None) -> Record:
    """The Record of `request_record`; a broken one is answered like Dmart's validation errors."""
    if raw is None:
        raise DmartError(
            422,
            "validation",
            424,
            "Validation error [1]",
            [{"type": "missing", "loc": ["body", "request_record"], "msg": "Field required"}],
        )
    try:
        return Record.model_validate_json(raw)
    except ValidationError as error:
        info = [
            {"type": item["type"], "loc": list(item["loc"]), "msg": item["msg"]}
            for item in error.errors(include_url=False)
        ]
        raise RecordInvalid(info) from None


class Uploads:
    """Checks an uploaded file, decides what it is, and stores it as an entry's or attachment's payload."""

    def __init__(self, *, store: Store, rules: Rules, access: Access, locking: Locking, attaching: Attaching) -> None:
        self.store = store
        self.rules = rules
        self.access = access
        self.locking = locking
        self.attaching = attaching

    @property
    def limit(self) -> int:
        """The largest file accepted, in bytes."""
        return self.store.settings.max_upload_size

    def check_declared_size(self, content_length: str | None) -> None:
        """Refuse at once a body whose declared length cannot hold a file within the limit."""
        if content_length and content_length.isdigit() and int(content_length) > self.limit + FORM_ALLOWANCE:
            raise too_large(self.limit)

    def _target(self, space_name: str | None, raw_record: bytes | None) -> tuple[Record, Path]:
        """The record of an upload and the folder its file is staged in; refused when they cannot take a file."""
        space_name = space_name or ""
        if not is_space_name(space_name) or not self.store.tree.space_exists(space_name):
            raise invalid_space(space_name)
        record = parse_record(raw_record)
        if record.resource_type not in UPLOADABLE:
            raise DmartError(
                400,
                "attachment",
                219,
                "Only media, data assets, json attachments, content, tickets and schemas take a payload file",
            )
        return record, self._staging_folder(space_name, record)

    def _staging_folder(self, space_name: str, record: Record) -> Path:
        """The existing folder the file will land in or beside: an attachment's parent, an entry's folder."""
        tree = self.store.tree
        address = self.store.address(space_name, record.subpath, record.shortname, record.resource_type)
        if address.is_attachment:
            parent_subpath, parent = address.parent
            if tree.entry_type(space_name=space_name, subpath=parent_subpath, shortname=parent) is None:
                raise DmartError(404, "db", 220, f"The parent entry {space_name}/{record.subpath} does not exist")
            entry_dir = tree.layout.entry_dir(space_name, parent_subpath, parent)
            # A folder's `.dm/<folder>/` appears only with its first attachment or history line.
            return entry_dir if entry_dir.is_dir() else tree.layout.folder_path(space_name, parent_subpath)
        if not tree.folder_exists(space_name, record.subpath):
            raise DmartError(404, "db", 220, f"The folder {space_name}/{record.subpath} does not exist")
        return tree.layout.folder_path(space_name, record.subpath)

    def open_file(self, *, space_name: str | None, raw_record: bytes | None, file_name: str | None) -> Incoming:
        """A staged file for the payload about to arrive; what is already known to be refused stops it."""
        _checked_file_name(file_name)
        folder = self.store.tree.root
        if space_name is not None and raw_record is not None:
            _, folder = self._target(space_name, raw_record)
        return Incoming(StagedFile(folder, limit=self.limit))

    def save(self, form: UploadForm, caller: Caller) -> dict[str, Any]:
        """Check and store the upload; answer the stored record. A refused upload leaves nothing behind."""
        try:
            return self._save(form, caller)
        finally:
            if form.file is not None:
                form.file.discard()

    def _save(self, form: UploadForm, caller: Caller) -> dict[str, Any]:
        space_name = form.space_name or ""
        record, _ = self._target(space_name, form.request_record)
        if form.file is None:
            raise _invalid("The payload_file part is missing")
        extension = _checked_file_name(form.file_name)
        staged = form.file.staged
        staged.finish()
        if staged.size == 0:
            raise _invalid("The payload file is empty")
        if form.sha and form.sha.strip().lower() != staged.sha256:
            raise _invalid("The provided file doesn't match the sha")

        kind = sniffing.decide(extension=extension, head=staged.head, path=staged.path, declared=_declared_kind(record))
        resource_type = self._resource_type(record.resource_type, kind.content_type)
        shortname, record_uuid = record.shortname, record.uuid
        if shortname == AUTO:
            fresh = uuid.uuid4()
            shortname, record_uuid = str(fresh)[:8], str(fresh)
        address = self.store.address(space_name, record.subpath, shortname, resource_type)

        payload = self._payload(address, record, kind, staged, form.sha)
        previous = self.store.tree.load(address)
        action = ActionType.create if previous is None else ActionType.update
        self.access.require(caller, action, address, meta=previous, attributes=record.attributes, number=10)
        if payload.schema_shortname is None and previous is not None and previous.payload is not None:
            # A replaced file keeps answering to the schema its entry already had.
            payload.schema_shortname = previous.payload.schema_shortname
        json_body = self._check_content(address, payload, kind.content_type, staged.path)
        with self.store.write_lock(address):
            existing = self.store.tree.load(address)
            self.locking.ensure_unlocked(address, caller, action="create" if existing is None else "update")
            if existing is None:
                self.rules.check_create(address)
                meta = self._new_meta(address, record, payload, caller, record_uuid)
                self.store.tree.save(address, meta, staged=staged)
                self.attaching.created(address, meta, caller)
            else:
                meta = self._replace(address, existing, record, payload, caller, staged)
        if existing is None:
            self.store.event(caller, address, "create", {"uuid": str(meta.uuid)})
        logger.info(
            "stored upload",
            extra={"space": space_name, "subpath": address.subpath, "shortname": shortname, "size": staged.size},
        )
        shown = meta.model_copy(deep=True)
        if json_body is not None and shown.payload is not None:
            shown.payload.body = json_body
        answer = to_record(shown, resource_type=resource_type, subpath=address.subpath)
        # Dmart's upload answer also names the entry inside its attributes; clients read them there.
        answer["attributes"].update(uuid=answer["uuid"], shortname=answer["shortname"])
        return answer

    @staticmethod
    def _resource_type(requested: ResourceType, content_type: ContentType) -> ResourceType:
        """The resource type the file is stored as: a data asset becomes the kind its bytes show."""
        if requested == ResourceType.data_asset:
            if content_type not in DATA_KINDS:
                raise sniffing.not_supported(
                    f"A data asset must be csv, jsonl, parquet, duckdb or sqlite, not {content_type.value}"
                )
            return DATA_KINDS[content_type]
        if requested in DATA_KINDS.values() and DATA_KINDS.get(content_type) != requested:
            raise sniffing.not_supported(f"The file is {content_type.value}, not {requested.value}")
        if requested in JSON_ONLY and content_type != ContentType.json:
            raise sniffing.not_supported(f"The payload file of a {requested.value} must be JSON")
        return requested

    def _payload(
        self, address: Address, record: Record, kind: sniffing.Kind, staged: StagedFile, sha: str | None
    ) -> Payload:
        sent = record.attributes.get("payload")
        schema_shortname = sent.get("schema_shortname") if isinstance(sent, dict) else None
        if address.resource_type == ResourceType.schema and address.shortname != META_SCHEMA:
            schema_shortname = META_SCHEMA
        if schema_shortname is not None and not isinstance(schema_shortname, str):
            raise RecordInvalid(
                [
                    {
                        "type": "string_type",
                        "loc": ["attributes", "payload", "schema_shortname"],
                        "msg": "Input should be a valid string",
                    }
                ]
            )
        return Payload(
            content_type=kind.content_type,
            schema_shortname=schema_shortname,
            client_checksum=sha.strip().lower() if sha else None,
            checksum=staged.sha256,
            body=f"{address.shortname}.{kind.extension}",
        )

    def _check_content(self, address: Address, payload: Payload, kind: ContentType, path: Path) -> Any:
        """Validate JSON against its schema and data assets by opening them; answer a JSON body."""
        if kind == ContentType.json:
            body = sniffing.parse_json(path.read_bytes())
            self.rules.validate_body(address, payload, body)
            return body
        description = data_checks.describe(kind, path)
        if description is not None:
            for key, value in description.items():
                setattr(payload, key, value)
        if payload.schema_shortname and kind in (ContentType.csv, ContentType.jsonl):
            schema = self.rules.schemas.document(address.space_name, payload.schema_shortname)
            failures = data_checks.row_failures(kind, path, schema)
            if failures:
                raise SchemaViolation(failures)
        return None

    def _new_meta(
        self, address: Address, record: Record, payload: Payload, caller: Caller, record_uuid: str | None
    ) -> Meta:
        fields = META_CLASSES[address.resource_type].model_fields
        attributes = {k: v for k, v in record.attributes.items() if v is not None and k not in PROTECTED}
        values = {key: value for key, value in attributes.items() if key in fields}
        values.update(shortname=address.shortname, owner_shortname=caller.shortname)
        if record_uuid:
            values["uuid"] = record_uuid
        meta = build_meta(address.resource_type, values)
        meta.payload = payload
        return meta

    def _replace(
        self, address: Address, existing: Meta, record: Record, payload: Payload, caller: Caller, staged: StagedFile
    ) -> Meta:
        """Replace the file at an existing shortname: the meta follows, and one history line says what changed."""
        values = existing.model_dump()
        fields = type(existing).model_fields
        for key, value in record.attributes.items():
            if key in fields and key not in PROTECTED and value is not None:
                values[key] = value
        values["updated_at"] = now()
        updated = build_meta(address.resource_type, values)
        updated.payload = payload
        stale = existing.payload.file_name if existing.payload is not None else None
        self.store.tree.save(address, updated, staged=staged, stale_payload=stale)

        keys = {"payload"} | set(record.attributes) - PROTECTED
        old_flat = history.flatten(existing.model_dump(mode="json", exclude_none=True))
        new_flat = history.flatten(updated.model_dump(mode="json", exclude_none=True))
        self.store.record_history(address, caller, history.diff(old_flat, new_flat, keys))
        return updated
