"""/managed/lock: taking, extending and releasing the lock of one entry."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.json_body import JSONBodyRoute
from dmart_attach.api.paths import Shortname, SpaceName, Subpath, url_subpath
from dmart_attach.models.enums import ResourceType

router = APIRouter(prefix="/managed", tags=["managed"], route_class=JSONBodyRoute)


@router.put("/lock/{resource_type}/{space_name}/{subpath:path}/{shortname}")
def lock(
    resource_type: ResourceType,
    space_name: SpaceName,
    subpath: Subpath,
    shortname: Shortname,
    caller: CallerDep,
    services: ServicesDep,
) -> JSONResponse:
    """Lock an entry for LOCK_PERIOD seconds, or extend the caller's own lock."""
    address = services.store.address(space_name, url_subpath(subpath), shortname, resource_type)
    period = services.locking.lock(address, caller)
    message = f"Successfully locked the entry for {period} seconds"
    return DmartJSON(success(attributes={"message": message, "lock_period": period}))


@router.delete("/lock/{space_name}/{subpath:path}/{shortname}")
def unlock(
    space_name: SpaceName, subpath: Subpath, shortname: Shortname, caller: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Release the caller's lock of an entry."""
    services.locking.unlock(space_name=space_name, subpath=url_subpath(subpath), shortname=shortname, caller=caller)
    return DmartJSON(success(attributes={"message": "Entry unlocked successfully"}))
