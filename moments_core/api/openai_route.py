"""The request handling every OpenAI-compatible route shares, in the order that keeps a
refused request cheap: the bearer token first (before a byte of the body is read), then
the body, read up to the size cap (413 past it, without reading the rest), then the
route; any failure becomes an OpenAI-shaped error (``openai_errors``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError

from moments_core.auth import bearer_token, secret_matches
from moments_core.providers import ProviderError
from moments_core.settings import Settings
from moments_core.store import NotFound, StoreError, StoreUnavailable

from .errors import ApiError
from .openai_errors import OpenAIError, error_response

log = logging.getLogger("moments.api")
DEFAULT_MAX_BODY = 1_000_000


def max_body(settings: Settings) -> int:
    """The body cap (``MOMENTS_API_MAX_BODY``)."""
    return settings.api_max_body or DEFAULT_MAX_BODY


def presented_token(request: Request) -> str | None:
    """The bearer token the client sent (checked already where the server has one)."""
    value: str | None = getattr(request.state, "openai_token", None)
    return value


def _check_token(request: Request, settings: Settings) -> None:
    given = bearer_token(request.headers.get("authorization"))
    request.state.openai_token = given
    expected = settings.api_token
    if not expected:
        return
    bearer = {"WWW-Authenticate": "Bearer"}
    if given is None:
        raise OpenAIError(401, "this server needs 'Authorization: Bearer <MOMENTS_API_TOKEN>'"
                               " (in OpenAI clients: the API key)",
                          code="missing_api_key", headers=bearer)
    if not secret_matches(given, expected):  # constant time
        raise OpenAIError(401, "the API key (bearer token) is not valid",
                          code="invalid_api_key", headers=bearer)


async def _read_body(request: Request, cap: int) -> None:
    """Read the body into the request (the route reads it from there), refusing it as
    soon as it passes ``cap`` bytes."""
    too_large = OpenAIError(413, f"the request body is larger than {cap:,} bytes"
                                 " (MOMENTS_API_MAX_BODY)", code="request_too_large")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise too_large
    parts: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > cap:
            raise too_large
        parts.append(piece)
    request._body = b"".join(parts)  # what Request.body() returns from now on


def param_of(loc: Sequence[Any]) -> str | None:
    """pydantic's location as OpenAI names a parameter: ``messages[0].content``."""
    out = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("str", "list[TextPart]", "TextPart"):
            continue  # the branch of a union pydantic tried, not a field
        else:
            out += f".{part}" if out else str(part)
    return out or None


def _invalid(err: RequestValidationError) -> OpenAIError:
    errors = list(err.errors())
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return OpenAIError(400, "the body is not valid JSON", code="invalid_json")
    if first.get("loc") in (("body",), ["body"]):
        return OpenAIError(400, "the body must be a JSON object (Content-Type:"
                                " application/json)", code="invalid_body")
    param = param_of(first.get("loc", ()))
    if param is not None and param.endswith(".content"):
        errors = [e for e in errors if param_of(e.get("loc", ())) != param]
        message = (f"{param} must be a string or a list of text parts"
                   ' ({"type": "text", "text": "..."})')
    else:
        errors = errors[1:]
        message = f"{param or 'the body'}: {first.get('msg', 'invalid')}"
    if errors:
        message += f" (and {len(errors)} more problem{'s' if len(errors) > 1 else ''})"
    return OpenAIError(400, message, param=param, code="invalid_value")


def _from_api_error(err: ApiError) -> OpenAIError:
    code = "model_not_found" if err.status == 404 else None
    return OpenAIError(err.status, err.detail, code=code, headers=err.headers)


class OpenAIRoute(APIRoute):
    """An ``APIRoute`` that checks the token and the body size first and answers every
    failure in OpenAI's error shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                settings: Settings = request.app.state.api.settings
                _check_token(request, settings)
                await _read_body(request, max_body(settings))
                return await inner(request)
            except OpenAIError as err:
                failed = err
            except RequestValidationError as err:
                failed = _invalid(err)
            except ApiError as err:
                failed = _from_api_error(err)
            except NotFound as err:
                failed = OpenAIError(404, str(err))
            except HTTPException as err:
                failed = OpenAIError(err.status_code, str(err.detail))
            except (StoreUnavailable, SQLAlchemyError, OSError) as err:
                # The driver's text can hold a connection string: log the class only.
                log.error("openai route: the store failed: %s", type(err).__name__)
                failed = OpenAIError(503, "the log store is unavailable; try again later",
                                     code="store_unavailable", headers={"Retry-After": "5"})
            except ProviderError as err:  # the back end cannot even be set up here
                log.error("openai route: no provider: %s", type(err).__name__)
                # Its text may name files of this server: the log has the class only.
                failed = OpenAIError(503, "the model's back end is not available on this"
                                          " server; try again later",
                                     code="provider_unavailable",
                                     headers={"Retry-After": "30"})
            except StoreError as err:  # a refusal (e.g. the moment was deleted meanwhile)
                failed = OpenAIError(409, f"the log store refused it: {err}", code="conflict")
            except Exception as err:  # noqa: BLE001 - answer in OpenAI's shape, never a trace
                log.error("openai route failed: %s", type(err).__name__)
                failed = OpenAIError(500, f"the request failed ({type(err).__name__})")
            return error_response(failed.status, failed.message, param=failed.param,
                                  code=failed.code, headers=failed.headers)

        return handler
