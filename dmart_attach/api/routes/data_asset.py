"""/managed/data-asset: SQL over an entry's data assets."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.json_body import JSONBodyRoute
from dmart_attach.api.openapi import BUSY
from dmart_attach.models.data_asset import DataAssetQuery

router = APIRouter(prefix="/managed", tags=["managed"], route_class=JSONBodyRoute)


@router.post("/data-asset", responses=BUSY)
def query_data_asset(body: DataAssetQuery, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Run a SQL query over the data assets of one entry."""
    attributes = services.data_assets.query(body, caller=caller)
    return DmartJSON(success(attributes=attributes))


@router.get("/data-asset", responses=BUSY)
def query_data_asset_link(
    params: Annotated[DataAssetQuery, Query()], caller: CallerDep, services: ServicesDep
) -> JSONResponse:
    """The same query with its fields as URL parameters, so a query can be a link."""
    attributes = services.data_assets.query(params, caller=caller)
    return DmartJSON(success(attributes=attributes))
