"""The FastAPI application: ``create_app()`` for servers and tests.

``uvicorn --factory moments_core.api.app:create_app`` or ``moments serve-api`` serve it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from moments_core.settings import Settings, get_settings
from moments_core.store import LogStore, open_store

from . import routes_meta, routes_moments, routes_openai, routes_snapshots
from .context import ApiContext
from .errors import install_handlers
from .security import require_token

DESCRIPTION = """Talk to Moments agents over HTTP and log snapshots.

Bodies are the dict face of MDL (the older system's JSON). When the server sets
`MOMENTS_API_TOKEN`, every `/v1` route needs `Authorization: Bearer <token>`."""


def create_app(settings: Settings | None = None, store: LogStore | None = None) -> FastAPI:
    """The app over ``store`` (default: the store the settings name, closed on shutdown)."""
    settings = settings or get_settings()
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
    app.include_router(routes_meta.health_router)
    # Only a server with a token declares one, so the OpenAPI schema says what it checks.
    guarded = [Depends(require_token)] if settings.api_token else []
    for router in (routes_meta.router, routes_moments.router, routes_snapshots.router):
        app.include_router(router, prefix="/v1", dependencies=guarded)
    app.include_router(routes_openai.router)  # checks its own token; OpenAI's errors
    return app
