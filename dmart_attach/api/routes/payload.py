"""/managed/payload: JSON bodies in the envelope, files streamed with validators and ranges."""

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.responses import MalformedRangeHeader, RangeNotSatisfiable

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.json_body import JSONBodyRoute
from dmart_attach.api.openapi import Failure, Responses, Success
from dmart_attach.api.paths import FileName, SpaceName, Subpath, url_subpath
from dmart_attach.errors import DmartError
from dmart_attach.models.enums import ResourceType
from dmart_attach.services.serving import ServedFile, etag_matches, served_file

router = APIRouter(prefix="/managed", tags=["managed"], route_class=JSONBodyRoute)

# Nothing served from the tree may run as a page of this origin.
_SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_REVALIDATE = "private, no-cache"


_BINARY = {"schema": {"type": "string", "format": "binary"}}
_RESPONSES: Responses = {
    200: {
        "description": "A JSON body in the envelope (`attributes` is the body), or the file as stored",
        "content": {"application/json": {"schema": Success.model_json_schema()}, "*/*": _BINARY},
    },
    206: {"description": "The requested ranges of the file", "content": {"*/*": _BINARY}},
    304: {"description": "The file has not changed since the ETag in If-None-Match"},
    416: {"model": Failure, "description": "No requested range starts within the file (Content-Range names its size)"},
}
# Read from the request itself by the file response, so declared here.
_HEADERS = {
    "parameters": [
        {"name": "range", "in": "header", "required": False, "schema": {"type": "string"}},
        {"name": "if-none-match", "in": "header", "required": False, "schema": {"type": "string"}},
    ]
}


class PayloadFile(FileResponse):
    """A file response that answers at most a few ranges at once, and refuses bad ones in the envelope."""

    max_ranges = 8

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        units, _, _ = http_range.partition("=")
        if units.strip().lower() != "bytes":
            # A range unit the server does not know is ignored, and the whole file answered (RFC 9110 14.2).
            return []
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader as error:
            raise DmartError(400, "request", 400, f"The Range header is malformed: {error.content}") from None
        except RangeNotSatisfiable:
            message = f"No requested range starts within the file of {file_size} bytes"
            raise DmartError(416, "request", 416, message, headers={"content-range": f"bytes */{file_size}"}) from None


def _disposition(served: ServedFile) -> str:
    kind = "inline" if served.inline else "attachment"
    ascii_name = served.file_name.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(served.file_name)}"


def _headers(served: ServedFile) -> dict[str, str]:
    return {
        "etag": served.etag,
        "cache-control": _REVALIDATE,
        "content-security-policy": _SANDBOX,
        "x-content-type-options": "nosniff",
        "content-disposition": _disposition(served),
    }


@router.get(
    "/payload/{resource_type}/{space_name}/{subpath:path}/{file_name}", responses=_RESPONSES, openapi_extra=_HEADERS
)
def payload(
    request: Request,
    resource_type: ResourceType,
    space_name: SpaceName,
    subpath: Subpath,
    file_name: FileName,
    caller: CallerDep,
    services: ServicesDep,
) -> Response:
    """A payload: JSON bodies in the envelope (DECISIONS 4), files as they are; a bare shortname names its file."""
    shortname, dot, rest = file_name.partition(".")
    extension = rest.rpartition(".")[2].lower()
    address = services.store.address(space_name, url_subpath(subpath), shortname, resource_type)
    stored_name = f"{shortname}.{extension}" if dot else None
    meta, body, path = services.reading.payload(address, stored_name, caller=caller)
    if path is None:
        return DmartJSON(success(attributes=body))
    served = served_file(meta, path)
    headers = _headers(served)
    if etag_matches(request.headers.get("if-none-match"), served.etag):
        return Response(status_code=304, headers={key: headers[key] for key in ("etag", "cache-control")})
    return PayloadFile(path, media_type=served.media_type, headers=headers)
