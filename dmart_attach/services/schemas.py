"""JSON Schema validation of payloads against the schema entries of a space (contract §7)."""

from typing import Any

from jsonschema import Draft7Validator
from jsonschema.exceptions import SchemaError

from dmart_attach.errors import DmartError, SchemaViolation
from dmart_attach.identifiers import is_shortname
from dmart_attach.models.enums import ResourceType
from dmart_attach.storage.layout import Address
from dmart_attach.storage.tree import Tree

SCHEMA_FOLDER = "schema"
META_SCHEMA = "meta_schema"
_MAX_REPORTED = 20


def _violations(validator: Draft7Validator, body: Any) -> list[dict[str, Any]]:
    errors = sorted(validator.iter_errors(body), key=lambda error: [str(part) for part in error.path])
    return [{"loc": list(error.path), "msg": error.message} for error in errors[:_MAX_REPORTED]]


class Schemas:
    """Finds schema documents in the tree and validates bodies against them."""

    def __init__(self, tree: Tree, management_space: str) -> None:
        self.tree = tree
        self.management_space = management_space

    def document(self, space_name: str, schema_shortname: str) -> dict[str, Any]:
        """The schema document: the space's own first, then the management space's."""
        # A name that is no shortname names no schema entry (and must never become a path).
        spaces = (space_name, self.management_space) if is_shortname(schema_shortname) else ()
        for space in spaces:
            if not self.tree.space_exists(space):
                continue
            address = Address(space, SCHEMA_FOLDER, schema_shortname, ResourceType.schema)
            meta = self.tree.load(address)
            if meta is None:
                continue
            document = self.tree.read_json_payload(address, meta)
            if isinstance(document, dict):
                return document
        raise DmartError(
            400, "request", 220, f"Schema {schema_shortname} is not available in {space_name} or the management space"
        )

    def exists(self, space_name: str, schema_shortname: str) -> bool:
        try:
            self.document(space_name, schema_shortname)
        except DmartError:
            return False
        return True

    def validate(self, *, space_name: str, schema_shortname: str, body: Any) -> None:
        """Raise SchemaViolation when `body` does not satisfy the named schema."""
        document = self.document(space_name, schema_shortname)
        try:
            validator = Draft7Validator(document)
        except SchemaError as error:
            raise SchemaViolation([{"loc": ["schema"], "msg": f"The schema is invalid: {error.message}"}]) from None
        problems = _violations(validator, body)
        if problems:
            raise SchemaViolation(problems)

    def validate_schema_document(self, *, space_name: str, document: Any) -> None:
        """A schema entry's document must be valid JSON Schema, and fit the meta schema if the tree has one."""
        if not isinstance(document, dict):
            raise SchemaViolation([{"loc": [], "msg": "A schema document must be a JSON object"}])
        try:
            Draft7Validator.check_schema(document)
        except SchemaError as error:
            raise SchemaViolation([{"loc": list(error.path), "msg": error.message}]) from None
        if self.exists(space_name, META_SCHEMA):
            self.validate(space_name=space_name, schema_shortname=META_SCHEMA, body=document)
