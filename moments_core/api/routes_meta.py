"""What a client asks before talking: is the server up, which variants exist."""

from __future__ import annotations

from fastapi import APIRouter

from moments_core.agents import list_configs

from .deps import Ctx
from .errors import ERROR_RESPONSES, ApiError, log
from .models import ErrorOut, HealthOut, VariantOut

health_router = APIRouter(tags=["meta"])
router = APIRouter(tags=["meta"])


@health_router.get("/health", response_model=HealthOut,
                   responses={503: {"model": ErrorOut, "description": "the store is down"}})
def health(ctx: Ctx) -> HealthOut:
    """No token needed (load balancers and container health checks call it); it reads
    the store once, so a replica that lost its database reports it."""
    try:
        ctx.store.has_snapshot("00000000-0000-0000-0000-000000000000")
    except Exception as err:  # noqa: BLE001 - any failure means unhealthy; say so, do not crash
        log.error("health check: the store failed: %s", type(err).__name__)
        raise ApiError(503, "the log store is unavailable") from None
    return HealthOut(status="ok", store="ok")


@router.get("/variants", response_model=list[VariantOut], responses=ERROR_RESPONSES)
def variants(ctx: Ctx) -> list[VariantOut]:
    """The agent variants a moment can be started with (the configs folder)."""
    return [
        VariantOut(kind=c.kind, id=c.id, variant=c.variant, description=c.description,
                   provider=c.provider, model=c.model, mode=c.mode, participant=c.participant)
        for c in list_configs(ctx.settings.configs_dir)
    ]
