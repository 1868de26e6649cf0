"""/user: logging in and out, and the caller's profile."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from dmart_attach.api.deps import ServicesDep, SessionDep
from dmart_attach.api.envelope import DmartJSON, success
from dmart_attach.errors import DmartError
from dmart_attach.models.api import LoginRequest

router = APIRouter(prefix="/user", tags=["user"])

COOKIE = "auth_token"


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
def profile(session: SessionDep, services: ServicesDep) -> JSONResponse:
    """The caller's own user record, without its password."""
    user = services.auth.load_user(session.shortname)
    if user is None:
        raise DmartError(404, "db", 220, f"User {session.shortname} is not available")
    attributes = user.model_dump(
        mode="json",
        include={
            "email",
            "displayname",
            "description",
            "msisdn",
            "payload",
            "type",
            "language",
            "is_email_verified",
            "is_msisdn_verified",
            "force_password_change",
            "roles",
            "groups",
        },
        exclude_none=True,
    )
    record = {
        "resource_type": "user",
        "shortname": user.shortname,
        "subpath": "users",
        "attributes": attributes,
        "attachments": {},
        "retrieve_lock_status": False,
    }
    return DmartJSON(success(records=[record]))


@router.post("/logout")
def logout(session: SessionDep, services: ServicesDep) -> JSONResponse:
    """End this token on every worker and clear the cookie."""
    services.auth.logout(session)
    response = DmartJSON(success(records=[]))
    response.delete_cookie(COOKIE, httponly=True, secure=True, samesite="lax")
    return response
