"""FastAPI dependencies: the services of the app, and the caller of a request."""

from typing import Annotated

from fastapi import Depends, Request

from dmart_attach.services.auth import Session
from dmart_attach.services.caller import Caller
from dmart_attach.services.container import Services

_UNRECORDED_HEADERS = {"authorization", "cookie"}


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(request: Request) -> str | None:
    """The token of the Authorization header when it is a Bearer one, else the auth_token cookie."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get("auth_token")


async def get_session(request: Request, services: ServicesDep) -> Session:
    session = services.auth.session(bearer_token(request))
    request.state.user = session.shortname
    return session


SessionDep = Annotated[Session, Depends(get_session)]


async def get_caller(request: Request, session: SessionDep) -> Caller:
    headers = {key: value for key, value in request.headers.items() if key not in _UNRECORDED_HEADERS}
    return Caller(shortname=session.shortname, headers=headers)


CallerDep = Annotated[Caller, Depends(get_caller)]
