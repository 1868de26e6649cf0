"""/managed: requests, entries and payloads."""

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse, JSONResponse, Response

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.identifiers import ROOT, SHORTNAME_PATTERN, SPACENAME_PATTERN, SUBPATH_PATTERN, normalize_subpath
from dmart_attach.models.api import Request
from dmart_attach.models.enums import ResourceType

router = APIRouter(prefix="/managed", tags=["managed"])

ROOT_SEGMENT = "__root__"
FILE_NAME_PATTERN = SHORTNAME_PATTERN[:-1] + r"(\.[a-zA-Z0-9_]{1,32}){1,2}$"

SpaceName = Annotated[str, Path(pattern=SPACENAME_PATTERN)]
Subpath = Annotated[str, Path(pattern=SUBPATH_PATTERN)]
Shortname = Annotated[str, Path(pattern=SHORTNAME_PATTERN)]
FileName = Annotated[str, Path(pattern=FILE_NAME_PATTERN)]


def _subpath(value: str) -> str:
    """The subpath of a URL; `__root__` and `/` name the root."""
    return ROOT if value.strip("/") in ("", ROOT_SEGMENT) else normalize_subpath(value)


@router.post("/request")
def request(body: Request, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Create, update, patch or delete the records of one request."""
    records = services.requests.handle(body, caller)
    return DmartJSON(success(records=records))


@router.get("/reload-security-data")
def reload_security_data(caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Read users, groups, roles and permissions again (they are also reloaded on every change)."""
    services.access.require_admin(caller)
    services.access.reload()
    return DmartJSON(success())


@router.get("/entry/{resource_type}/{space_name}/{subpath:path}/{shortname}")
def entry(
    resource_type: ResourceType,
    space_name: SpaceName,
    subpath: Subpath,
    shortname: Shortname,
    caller: CallerDep,
    services: ServicesDep,
    retrieve_json_payload: bool = False,
    retrieve_attachments: bool = False,
    filter_attachments_types: Annotated[list[ResourceType] | None, Query()] = None,
    validate_schema: bool = True,
    retrieve_lock_status: bool = False,
) -> JSONResponse:
    """One entry or attachment as its meta, with its attachments and lock when asked."""
    address = services.store.address(space_name, _subpath(subpath), shortname, resource_type)
    view = services.reading.entry(
        address,
        caller=caller,
        retrieve_json_payload=retrieve_json_payload,
        retrieve_attachments=retrieve_attachments,
        filter_types=filter_attachments_types,
    )
    if retrieve_lock_status and not address.is_attachment:
        locked = services.locking.status(space_name=space_name, subpath=address.subpath, shortname=address.shortname)
        if locked is not None:
            view["locked"] = locked
    return DmartJSON(view)


@router.get("/payload/{resource_type}/{space_name}/{subpath:path}/{file_name}")
def payload(
    resource_type: ResourceType,
    space_name: SpaceName,
    subpath: Subpath,
    file_name: FileName,
    caller: CallerDep,
    services: ServicesDep,
) -> Response:
    """A payload: JSON bodies in the envelope, files as they are."""
    shortname, _, rest = file_name.partition(".")
    extension = rest.rpartition(".")[2].lower()
    address = services.store.address(space_name, _subpath(subpath), shortname, resource_type)
    _, body, path = services.reading.payload(address, f"{shortname}.{extension}", caller=caller)
    if path is None:
        return DmartJSON(success(attributes=body))
    return FileResponse(path)
