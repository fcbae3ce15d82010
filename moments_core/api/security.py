"""Bearer-token auth: required on every ``/v1`` route when ``MOMENTS_API_TOKEN`` is set."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from moments_core.auth import bearer_token, secret_matches

from .errors import ApiError

# auto_error=False: our own check answers, with our message; the scheme still shows in
# the OpenAPI schema so clients know to send ``Authorization: Bearer ...``.
_bearer = HTTPBearer(auto_error=False, description="MOMENTS_API_TOKEN, when the server sets one")


class Unauthorized(ApiError):
    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, {"WWW-Authenticate": "Bearer"})


def require_token(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    expected: str = request.app.state.api.settings.api_token
    if not expected:
        return
    given = bearer_token(request.headers.get("authorization"))
    if given is None:
        raise Unauthorized("this server needs 'Authorization: Bearer <MOMENTS_API_TOKEN>'")
    if not secret_matches(given, expected):  # constant time
        raise Unauthorized("the bearer token is not valid")
