"""What a record must satisfy before it is written: free names, existing parents, valid text."""

from typing import Any

from pydantic import ValidationError

from dmart_attach.errors import DmartError, RecordInvalid
from dmart_attach.identifiers import ROOT
from dmart_attach.models.attachments import TEXT_MODELS, split_text
from dmart_attach.models.core import Payload, reject_non_finite
from dmart_attach.models.enums import ContentType, ResourceType
from dmart_attach.services.schemas import Schemas
from dmart_attach.services.store import Store
from dmart_attach.storage.layout import Address


def _text_invalid(error: ValidationError) -> RecordInvalid:
    return RecordInvalid(
        [
            {"type": item["type"], "loc": ["attributes", *item["loc"]], "msg": item["msg"]}
            for item in error.errors(include_url=False)
        ]
    )


class Rules:
    """Checks shared by every way of writing an entry or an attachment."""

    def __init__(self, *, store: Store, schemas: Schemas) -> None:
        self.store = store
        self.schemas = schemas

    def text_content_type(self, address: Address) -> ContentType:
        return TEXT_MODELS[address.resource_type][1]

    def checked_text(self, address: Address, text: dict[str, Any]) -> dict[str, Any]:
        """Validate the text of a comment, reply, reaction or share; answer it without nulls."""
        model, _ = TEXT_MODELS[address.resource_type]
        try:
            return model.model_validate(text).model_dump(mode="json", exclude_none=True)
        except ValidationError as error:
            raise _text_invalid(error) from None

    def prepare_create(self, address: Address, attributes: dict[str, Any]) -> None:
        """Put the text of comment-like attachments into Dmart's payload form, validated."""
        text = split_text(address.resource_type, attributes)
        if address.resource_type not in TEXT_MODELS:
            return
        if text is None and address.resource_type != ResourceType.share:
            model, _ = TEXT_MODELS[address.resource_type]
            required = [name for name, field in model.model_fields.items() if field.is_required()]
            raise RecordInvalid(
                [{"type": "missing", "loc": ["attributes", name], "msg": "Field required"} for name in required]
            )
        attributes["payload"] = {
            "content_type": self.text_content_type(address).value,
            "body": self.checked_text(address, text or {}),
        }

    def split_update_text(self, address: Address, attributes: dict[str, Any]) -> dict[str, Any] | None:
        """The text change an update of a comment-like attachment asks for, if any."""
        return split_text(address.resource_type, attributes)

    def check_create(self, address: Address) -> None:
        """Refuse a taken name, a missing space, folder or parent (under the lock)."""
        tree = self.store.tree
        space, subpath, shortname = address.space_name, address.subpath, address.shortname
        if address.resource_type == ResourceType.space:
            if tree.space_exists(space):
                raise DmartError(400, "request", 205, f"The space {space} already exists")
            return
        if address.is_attachment:
            parent_subpath, parent = address.parent
            if subpath == ROOT or tree.entry_type(space_name=space, subpath=parent_subpath, shortname=parent) is None:
                raise DmartError(
                    404, "db", 220, f"The parent entry {space}/{subpath} of this attachment does not exist"
                )
            if tree.attachment_taken(address):
                raise DmartError(400, "request", 400, f"This shortname {shortname} already exists")
        elif tree.entry_type(space_name=space, subpath=subpath, shortname=shortname) is not None:
            raise DmartError(400, "request", 400, f"This shortname {shortname} already exists")
        elif subpath != ROOT and not tree.folder_exists(space, subpath):
            raise DmartError(404, "db", 220, f"The folder {space}/{subpath} does not exist")

    def validate_body(self, address: Address, payload: Payload, body: Any) -> None:
        """Check a JSON body against its schema; schema documents against JSON Schema itself."""
        try:
            reject_non_finite(body)
        except ValueError as error:
            raise DmartError(400, "request", 402, str(error)) from None
        if address.resource_type == ResourceType.schema:
            self.schemas.validate_schema_document(space_name=address.space_name, document=body)
            return
        if payload.schema_shortname:
            self.schemas.validate(space_name=address.space_name, schema_shortname=payload.schema_shortname, body=body)
