"""The FastAPI application: ``create_app()`` for servers and tests.

``uvicorn --factory moments_core.api.app:create_app`` or ``moments serve-api`` serve it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from moments_core.logscrub import register_secret
from moments_core.settings import Settings, get_settings
from moments_core.store import LogStore, open_store

from . import routes_meta, routes_moments, routes_openai, routes_snapshots
from .context import ApiContext
from .errors import LastResort, install_handlers
from .security import LimitsMiddleware, require_token

DESCRIPTION = """Talk to Moments agents over HTTP and log snapshots.

Bodies are the dict face of MDL (the older system's JSON). When the server sets
`MOMENTS_API_TOKEN`, every `/v1` route needs `Authorization: Bearer <token>`."""


def create_app(settings: Settings | None = None, store: LogStore | None = None) -> FastAPI:
    """The app over ``store`` (default: the store the settings name, closed on shutdown)."""
    settings = settings or get_settings()
    register_secret(settings.api_token, settings.openai_api_key, settings.cohere_api_key,
                    settings.dashboard_password)
    owned = store is None
    the_store = store if store is not None else open_store(settings=settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            the_store.close()

    app = FastAPI(title="Moments API", version="1", description=DESCRIPTION, lifespan=lifespan)
    app.state.api = ApiContext(settings=settings, store=the_store)
    install_handlers(app)
    # The last added runs first: limits before any work, then the last resort around the rest.
    app.add_middleware(LastResort)
    app.add_middleware(LimitsMiddleware, token=settings.api_token,
                       max_body=settings.api_max_body)
    app.include_router(routes_meta.health_router)
    # Only a server with a token declares one, so the OpenAPI schema says what it checks.
    guarded = [Depends(require_token)] if settings.api_token else []
    for router in (routes_meta.router, routes_moments.router, routes_snapshots.router):
        app.include_router(router, prefix="/v1", dependencies=guarded)
    app.include_router(routes_openai.router)  # checks its own token; OpenAI's errors
    return app
