"""Every failure becomes ``{"detail": "<a sentence a person can act on>"}`` with a 4xx
status for the client's mistakes and 5xx for ours; nothing internal (paths, URLs,
tracebacks, secrets) goes into a response."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from moments_core.agents import AgentError, TurnFailed
from moments_core.agents.limits import LineRefused
from moments_core.agents.names import InvalidName
from moments_core.logscrub import scrub
from moments_core.store import NotFound, StoreError
from moments_core.store.errors import StoreUnavailable

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

    async def store_unavailable(_: Request, exc: Exception) -> JSONResponse:
        # The back end's text can hold endpoints or connection strings: log it scrubbed,
        # answer without it. A participant's line saved before the outage is named.
        log.error("the log store is unavailable: %s: %s", type(exc).__name__, exc)
        saved = getattr(exc, "participant_snapshot_id", None)
        tail = (f"; the participant's line is saved (snapshot {saved}): retry from it"
                if saved else "; nothing was stored")
        return error_response(503, f"the log store is unavailable, try again later{tail}",
                              {"Retry-After": "5"}, participant_snapshot_id=saved)

    async def refused_input(_: Request, exc: Exception) -> JSONResponse:
        return error_response(422, str(exc))

    async def too_deep(_: Request, exc: Exception) -> JSONResponse:
        return error_response(422, "the body is nested too deeply to be read; nothing was stored")

    async def not_text(_: Request, exc: Exception) -> JSONResponse:
        return error_response(422, "the body holds text that is not valid Unicode (a lone"
                                   " surrogate such as \\ud800); nothing was stored")

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
    app.add_exception_handler(StoreUnavailable, store_unavailable)
    app.add_exception_handler(LineRefused, refused_input)
    app.add_exception_handler(InvalidName, refused_input)
    app.add_exception_handler(RecursionError, too_deep)
    app.add_exception_handler(UnicodeError, not_text)
    app.add_exception_handler(StoreError, store_error)
    app.add_exception_handler(SQLAlchemyError, database_down)


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


class LastResort:
    """Whatever escapes the handlers becomes a 500 with a reference and no traceback;
    the log gets the traceback, scrubbed, under the same reference. Unlike Starlette's
    ServerErrorMiddleware it does not re-raise, so the server's own "Exception in ASGI
    application" line (unscrubbed text, full traceback) never happens."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive,
                       send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:  # the last line of defence
            ref = uuid.uuid4().hex[:12]
            log.error("internal error %s on %s %s: %s", ref, scope.get("method"),
                      scrub(str(scope.get("path", ""))[:200]), type(exc).__name__,
                      exc_info=exc)
            if started:  # a stream already under way: it ends here
                return
            response = error_response(500, f"internal error (reference {ref}); nothing"
                                           " about it is shown here, the server log has it")
            await response(scope, receive, send)
