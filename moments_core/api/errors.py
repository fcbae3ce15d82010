"""Every failure becomes ``{"detail": "<a sentence a person can act on>"}`` with a 4xx
status for the client's mistakes and 5xx for ours; nothing internal (paths, URLs,
tracebacks, secrets) goes into a response."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from moments_core.agents import AgentError, TurnFailed
from moments_core.store import NotFound, StoreError

from .models import ErrorOut

log = logging.getLogger("moments.api")


class ApiError(Exception):
    """A refusal with its status and message."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def error_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse(ErrorOut(detail=detail, **extra).model_dump(exclude_none=True),
                        status_code=status, headers=headers)


def describe_validation(errors: Sequence[Any]) -> str:
    """pydantic's error list as one line: ``body.moment.occurrences.0.kind: Field required``."""
    parts: list[str] = []
    for err in errors:
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            where = err.get("loc", ("body", 0))[-1]
            parts.append(f"the body is not valid JSON (near character {where}):"
                         f" {ctx.get('error', 'parse error')}")
            continue
        loc = ".".join(str(p) for p in err.get("loc", ()))
        hint = ""
        if loc == "body" and err.get("type") in ("model_attributes_type", "dict_type"):
            hint = " (send a JSON object with Content-Type: application/json)"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}{hint}")
    return "; ".join(parts) or "the request is not valid"


# Documented on every route, so the OpenAPI schema lists what a client can get back.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing or wrong bearer token"},
    422: {"model": ErrorOut, "description": "the request is not valid; nothing was stored"},
}


def install_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.detail, exc.headers)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(422, describe_validation(exc.errors()))

    async def not_found(_: Request, exc: Exception) -> JSONResponse:
        return error_response(404, str(exc))

    async def turn_failed(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, TurnFailed)
        saved = exc.participant_snapshot.id if exc.participant_snapshot else None
        return error_response(502, str(exc), participant_snapshot_id=saved)

    async def agent_error(_: Request, exc: Exception) -> JSONResponse:
        return error_response(422, str(exc))

    async def store_error(_: Request, exc: Exception) -> JSONResponse:
        log.warning("store refused a write: %s", exc)
        return error_response(409, f"the log store refused it: {exc}")

    async def database_down(_: Request, exc: Exception) -> JSONResponse:
        # The driver's message can hold a connection string; log the class only.
        log.error("database error: %s", type(exc).__name__)
        return error_response(503, "the log store is unavailable; try again later")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(NotFound, not_found)  # before StoreError: it is a subclass
    app.add_exception_handler(TurnFailed, turn_failed)
    app.add_exception_handler(AgentError, agent_error)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(SQLAlchemyError, database_down)
