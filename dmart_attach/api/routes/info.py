"""/info: what this service is, its settings, and who is asking."""

import os
import socket
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from dmart_attach import __version__
from dmart_attach.api.deps import ServicesDep, SessionDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.json_body import JSONBodyRoute
from dmart_attach.errors import DmartError

router = APIRouter(prefix="/info", tags=["info"], route_class=JSONBodyRoute)

_STARTED = datetime.now(UTC)
_SECRETS = {"jwt_secret", "admin_password"}


@router.get("/manifest")
def manifest(session: SessionDep) -> JSONResponse:
    """The service's name, version and process details."""
    current = datetime.now(UTC)
    attributes = {
        "name": "dmart_attach",
        "type": "microservice",
        "description": "Dmart's managed API over Dmart's folder-per-space tree",
        "version": __version__,
        "service_details": {
            "server": socket.gethostname(),
            "process_id": os.getpid(),
            "start_time": _STARTED.isoformat(),
            "current_time": current.isoformat(),
            "running_for": str(current - _STARTED),
        },
    }
    return DmartJSON(success(attributes=attributes))


@router.get("/settings")
def settings(session: SessionDep, services: ServicesDep) -> JSONResponse:
    """Every setting, secrets masked; the admin only."""
    if session.shortname != services.settings.admin_shortname:
        raise DmartError(401, "request", 401, "You don't have permission to this action [21]")
    values = services.settings.model_dump(mode="json")
    for key in _SECRETS:
        values[key] = "******"
    return DmartJSON(success(attributes=values))


@router.get("/me")
def me(session: SessionDep) -> JSONResponse:
    """The caller's shortname."""
    return DmartJSON(success(attributes={"shortname": session.shortname}))
