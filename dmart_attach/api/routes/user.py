"""/user: logging in and out, and the caller's profile."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from dmart_attach.api.deps import CallerDep, ServicesDep, SessionDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.api.routing import DmartRoute
from dmart_attach.identifiers import SHORTNAME_PATTERN
from dmart_attach.models.api import LoginRequest, Record
from dmart_attach.services.users import NOT_AVAILABLE

router = APIRouter(prefix="/user", tags=["user"], route_class=DmartRoute)

COOKIE = "auth_token"
MSISDN_PATTERN = r"^[1-9][0-9]{9,14}$"


class ResetRequest(BaseModel):
    """The body of POST /user/reset."""

    shortname: str = Field(pattern=SHORTNAME_PATTERN)


@router.post("/login")
def login(body: LoginRequest, request: Request, services: ServicesDep) -> JSONResponse:
    """Check a password and answer a token, also set as the auth_token cookie."""
    headers = {key: value for key, value in request.headers.items() if key not in {"authorization", "cookie"}}
    user, token = services.auth.login(body, headers)
    attributes: dict[str, Any] = {"access_token": token, "type": user.type.value}
    if user.displayname is not None:
        attributes["displayname"] = user.displayname.model_dump(mode="json")
    record = {
        "resource_type": "user",
        "shortname": user.shortname,
        "subpath": "users",
        "attributes": attributes,
        "retrieve_lock_status": False,
    }
    response = DmartJSON(success(records=[record]))
    response.set_cookie(
        COOKIE,
        token,
        max_age=services.settings.jwt_access_expires,
        httponly=True,
        secure=True,
        samesite="lax",
    )
    return response


@router.get("/profile")
def profile(caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """The caller's own user record with its computed permissions, without its password."""
    return DmartJSON(success(records=[services.users.profile(caller)]))


@router.post("/profile")
def update_profile(body: Record, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Change the caller's own profile; a new password needs `old_password`."""
    services.users.update_profile(caller, body)
    return DmartJSON(success())


@router.get("/permissions")
def permissions(caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """The caller's permission map keyed `space:subpath:resource_type`."""
    return DmartJSON(success(attributes={"permissions": services.access.permissions_of(caller.shortname)}))


@router.get("/check-existing")
def check_existing(
    caller: CallerDep,
    services: ServicesDep,
    shortname: Annotated[str | None, Query(pattern=SHORTNAME_PATTERN)] = None,
    email: Annotated[str | None, Query(max_length=254)] = None,
    msisdn: Annotated[str | None, Query(pattern=MSISDN_PATTERN)] = None,
) -> JSONResponse:
    """Whether a shortname, e-mail or msisdn is free."""
    attributes = services.users.check_existing(shortname=shortname, email=email, msisdn=msisdn)
    return DmartJSON(success(attributes=attributes))


@router.post("/reset")
def reset(body: ResetRequest, caller: CallerDep, services: ServicesDep) -> JSONResponse:
    """Make a user change their password at next login."""
    return DmartJSON(success(attributes=services.users.reset(caller, body.shortname)))


@router.post("/create")
def create(body: Record, services: ServicesDep) -> JSONResponse:
    """Open an account, when registration is enabled."""
    services.users.register(body)
    return DmartJSON(success())


@router.post("/otp-request")
@router.post("/otp-request-login")
@router.post("/otp-confirm")
@router.post("/password-reset-request")
def otp() -> JSONResponse:
    """Codes sent by SMS or e-mail: not available here."""
    raise NOT_AVAILABLE


@router.post("/logout")
def logout(session: SessionDep, services: ServicesDep) -> JSONResponse:
    """End this token on every worker and clear the cookie."""
    services.auth.logout(session)
    response = DmartJSON(success(records=[]))
    response.delete_cookie(COOKIE, httponly=True, secure=True, samesite="lax")
    return response
