"""/managed/resource_with_payload: a file with the record it belongs to, streamed to disk."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.json_body import JSONBodyRoute
from dmart_attach.api.multipart import read_upload_form
from dmart_attach.api.openapi import UPLOAD_ERRORS

router = APIRouter(prefix="/managed", tags=["managed"], route_class=JSONBodyRoute)

_FORM_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["space_name", "request_record", "payload_file"],
                    "properties": {
                        "space_name": {"type": "string"},
                        "request_record": {"type": "string", "format": "binary"},
                        "payload_file": {"type": "string", "format": "binary"},
                        "sha": {"type": "string"},
                    },
                }
            }
        },
    }
}


@router.post("/resource_with_payload", openapi_extra=_FORM_SCHEMA, responses=UPLOAD_ERRORS)
async def resource_with_payload(request: Request, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Create or replace an entry's or attachment's payload file; answer the stored record."""
    uploads = services.uploads
    uploads.check_declared_size(request.headers.get("content-length"))
    form = await read_upload_form(request, uploads.open_file)
    record = await run_in_threadpool(uploads.save, form, caller)
    return DmartJSON(success(records=[record]))
