"""POST /managed/request: each record on its own, with Dmart's partial-failure answer."""

import logging
from typing import Any

from dmart_attach.errors import DmartError, RecordInvalid, SchemaViolation, invalid_space
from dmart_attach.models.api import Record, Request
from dmart_attach.models.enums import RequestType, ResourceType
from dmart_attach.services.caller import Caller
from dmart_attach.services.entries import Entries
from dmart_attach.services.moving import Moving
from dmart_attach.services.ownership import Ownership
from dmart_attach.services.records import HIDDEN

logger = logging.getLogger(__name__)


def _failed_item(request_type: RequestType, record: Record, error: DmartError) -> dict[str, Any]:
    shown: Any = record.shortname
    if request_type == RequestType.create:
        shown = record.model_dump(mode="json")
        shown["attributes"] = {key: value for key, value in record.attributes.items() if key not in HIDDEN}
    item: dict[str, Any] = {"record": shown, "error": error.message, "error_code": error.code}
    if error.info:
        item["info"] = error.info
    return item


class Requests:
    """Runs the records of one request and gathers their answers."""

    def __init__(self, *, entries: Entries, ownership: Ownership, moving: Moving) -> None:
        self.entries = entries
        self.ownership = ownership
        self.moving = moving

    def _check_space(self, request: Request) -> None:
        tree = self.entries.store.tree
        for record in request.records:
            creating_space = request.request_type == RequestType.create and record.resource_type == ResourceType.space
            if creating_space:
                if record.shortname != request.space_name or tree.space_exists(request.space_name):
                    raise invalid_space(request.space_name)
            elif not tree.space_exists(request.space_name):
                raise invalid_space(request.space_name)

    def _run(self, request: Request, record: Record, caller: Caller) -> dict[str, Any]:
        space_name = request.space_name
        match request.request_type:
            case RequestType.create:
                return self.entries.create(space_name, record, caller)
            case RequestType.update:
                return self.entries.update(space_name, record, caller, patch=False)
            case RequestType.patch:
                return self.entries.update(space_name, record, caller, patch=True)
            case RequestType.delete:
                return self.entries.delete(space_name, record, caller)
            case RequestType.update_acl:
                return self.ownership.update_acl(space_name, record, caller)
            case RequestType.assign:
                return self.ownership.assign(space_name, record, caller)
            case RequestType.move:
                return self.moving.move(space_name, record, caller)
        raise DmartError(400, "request", 230, f"request_type {request.request_type.value} is not available")

    def handle(self, request: Request, caller: Caller) -> list[dict[str, Any]]:
        """Run every record; answer the stored records, or raise Dmart's 430 when any failed."""
        if not request.records:
            raise DmartError(400, "request", 202, "Request records cannot be empty")
        self._check_space(request)
        succeeded: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for record in request.records:
            try:
                succeeded.append(self._run(request, record, caller))
            except (RecordInvalid, SchemaViolation) as error:
                if len(request.records) == 1:
                    raise
                failed.append(_failed_item(request.request_type, record, error))
            except DmartError as error:
                failed.append(_failed_item(request.request_type, record, error))
        if failed:
            raise DmartError(
                400, "request", 430, "Something went wrong", [{"successfull": succeeded, "failed": failed}]
            )
        return succeeded
