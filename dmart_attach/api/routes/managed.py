"""/managed: requests and entries."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.json_body import JSONBodyRoute
from dmart_attach.api.openapi import META
from dmart_attach.api.paths import Shortname, SpaceName, Subpath, url_subpath
from dmart_attach.models.api import Request
from dmart_attach.models.enums import ResourceType

router = APIRouter(prefix="/managed", tags=["managed"], route_class=JSONBodyRoute)


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


@router.get("/entry/{resource_type}/{space_name}/{subpath:path}/{shortname}", responses=META)
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
    address = services.store.address(space_name, url_subpath(subpath), shortname, resource_type)
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
