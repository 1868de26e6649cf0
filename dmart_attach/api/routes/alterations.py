"""/managed/apply-alteration: an alteration's requested update applied to its entry."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.paths import Shortname, SpaceName
from dmart_attach.api.routing import DmartRoute
from dmart_attach.models.api import Record

router = APIRouter(prefix="/managed", tags=["managed"], route_class=DmartRoute)


@router.post("/apply-alteration/{space_name}/{alteration_name}")
def apply_alteration(
    space_name: SpaceName, alteration_name: Shortname, body: Record, caller: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Merge an alteration's requested update into its entry, then remove the alteration."""
    record = services.alterations.apply(
        space_name=space_name, alteration_name=alteration_name, target=body, caller=caller
    )
    return DmartJSON(success(records=[record]))
