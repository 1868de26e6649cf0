"""/managed: queries, lookups by uuid or slug, CSV exports and health reports."""

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response

from dmart_attach.api.deps import CallerDep, ServicesDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.json_body import JSONBodyRoute
from dmart_attach.api.openapi import META, Responses
from dmart_attach.identifiers import SPACENAME_PATTERN
from dmart_attach.models.query import Query, QueryType

router = APIRouter(prefix="/managed", tags=["managed"], route_class=JSONBodyRoute)

_CSV: Responses = {200: {"description": "The records as CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}}

SpaceName = Annotated[str, Path(pattern=SPACENAME_PATTERN)]


@router.post("/query")
def query(body: Query, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Records that match a query, with their total."""
    total, records = services.queries.run(body, caller)
    shown = [] if body.type == QueryType.counters else records
    return DmartJSON(success(records=shown, attributes={"total": total, "returned": len(shown)}))


@router.get("/byuuid/{uuid}", responses=META)
def by_uuid(
    uuid: str,
    caller: CallerDep,
    services: ServicesDep,
    retrieve_json_payload: bool = False,
    retrieve_attachments: bool = False,
    retrieve_lock_status: bool = False,
) -> JSONResponse:
    """The record whose uuid is (or starts with) `uuid`."""
    record = services.lookups.by(
        "uuid", uuid, caller, retrieve_json_payload=retrieve_json_payload, retrieve_attachments=retrieve_attachments
    )
    return DmartJSON(record)


@router.get("/byslug/{slug}", responses=META)
def by_slug(
    slug: str,
    caller: CallerDep,
    services: ServicesDep,
    retrieve_json_payload: bool = False,
    retrieve_attachments: bool = False,
    retrieve_lock_status: bool = False,
) -> JSONResponse:
    """The record whose slug is `slug`."""
    record = services.lookups.by(
        "slug", slug, caller, retrieve_json_payload=retrieve_json_payload, retrieve_attachments=retrieve_attachments
    )
    return DmartJSON(record)


@router.post("/csv", responses=_CSV)
def export_csv(body: Query, caller: CallerDep, services: ServicesDep) -> Response:
    """A query's records as a CSV file."""
    name, data = services.lookups.csv(body, caller)
    return Response(
        data, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/health/{space_name}")
def health(space_name: SpaceName, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """The soft health report of a space (the admin only)."""
    return DmartJSON(success(attributes=services.health.report(space_name, "soft", caller)))


@router.get("/health/{health_type}/{space_name}")
def health_of_type(health_type: str, space_name: SpaceName, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """The soft or hard health report of a space (the admin only)."""
    return DmartJSON(success(attributes=services.health.report(space_name, health_type, caller)))
