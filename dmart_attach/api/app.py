"""The FastAPI application."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from dmart_attach import __version__, logs
from dmart_attach.api import errors
from dmart_attach.api.envelope import DmartJSON
from dmart_attach.api.middleware import DmartMiddleware
from dmart_attach.api.openapi import ERRORS, SUCCESS
from dmart_attach.api.routes import alterations, data_asset, info, locks, managed, payload, query, upload, user
from dmart_attach.config import Settings, get_settings
from dmart_attach.services.bootstrap import bootstrap
from dmart_attach.services.container import build_services

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for `settings` (the environment's by default)."""
    settings = settings or get_settings()
    logs.configure(settings.log_level)
    services = build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        generated = bootstrap(services.store)
        if generated:
            logger.warning(
                "generated a password for the admin; set ADMIN_PASSWORD or run set-password to choose one",
                extra={"user": settings.admin_shortname, "password": generated},
            )
        services.sql_workers.start()
        try:
            yield
        finally:
            services.sql_workers.close()

    app = FastAPI(
        title="dmart_attach",
        version=__version__,
        default_response_class=DmartJSON,
        lifespan=lifespan,
    )
    app.state.services = services
    errors.install(app)
    for module in (user, info, managed, locks, alterations, upload, payload, data_asset, query):
        # Every route answers the envelope, errors included; a route declares what it answers otherwise.
        app.include_router(module.router, responses={**ERRORS, **SUCCESS})
    app.add_middleware(DmartMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.allowed_cors_origins,
        allow_credentials=True,
        allow_methods=["*"],
        allow_headers=["*"],
        expose_headers=["x-server-time", "x-request-id", "content-disposition"],
    )
    return app
