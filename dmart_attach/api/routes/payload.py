"""/managed/payload: JSON bodies in the envelope, files streamed with validators and ranges."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.responses import MalformedRangeHeader

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.paths import FileName, SpaceName, Subpath, url_subpath
from dmart_attach.models.enums import ResourceType
from dmart_attach.services.serving import ServedFile, etag_matches, served_file

router = APIRouter(prefix="/managed", tags=["managed"])

# Nothing served from the tree may run as a page of this origin.
_SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_REVALIDATE = "private, no-cache"


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file as stored, or a JSON body in the envelope (`attributes` is the body)",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    },
    206: {"description": "The requested ranges of the file"},
    304: {"description": "The file has not changed since the ETag in If-None-Match"},
}


class PayloadFile(FileResponse):
    """A file response that answers at most a few ranges at once, and the whole file for a Range it cannot use."""

    max_ranges = 8

    @classmethod
    def _parse_range_header(cls, http_range: str, file_size: int) -> list[tuple[int, int]]:
        try:
            return super()._parse_range_header(http_range, file_size)
        except MalformedRangeHeader:
            # RFC 9110 §14.2: a Range of another unit is ignored, and so is one that names no valid range.
            return []


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


@router.get("/payload/{resource_type}/{space_name}/{subpath:path}/{file_name}", responses=_RESPONSES)
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
