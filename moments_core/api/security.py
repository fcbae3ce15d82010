"""Bearer-token auth: required on every ``/v1`` route when ``MOMENTS_API_TOKEN`` is set.

Limits come before work: ``LimitsMiddleware`` checks the token from the headers before a
byte of the body is read (so a malformed body without a token is a 401, and a 100 MB body
costs nothing), then reads the body up to ``MOMENTS_API_MAX_BODY`` bytes and answers 413
past that. The route-level ``require_token`` stays so the OpenAPI schema declares the
scheme (and guards any route mounted without the middleware).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from moments_core.auth import bearer_token, secret_matches

from .errors import ApiError

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

NO_TOKEN = "this server needs 'Authorization: Bearer <MOMENTS_API_TOKEN>'"  # noqa: S105
WRONG_TOKEN = "the bearer token is not valid"  # noqa: S105 - messages, not secrets

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
    problem = token_problem(request.headers.get("authorization"), expected)
    if problem is not None:
        raise Unauthorized(problem)


def token_problem(authorization: str | None, expected: str) -> str | None:
    """Why the ``Authorization`` header does not pass, or ``None`` when it does."""
    if not expected:
        return None
    given = bearer_token(authorization)
    if given is None:
        return NO_TOKEN
    if not secret_matches(given, expected):  # constant time
        return WRONG_TOKEN
    return None


def _is_openai_path(path: str) -> bool:
    """The OpenAI-compatible routes answer in OpenAI's error shape and do their own checks."""
    try:
        from .openai_errors import is_openai_path
    except ImportError:
        return path.startswith(("/v1/models", "/v1/chat/"))
    return bool(is_openai_path(path))


class BodyTooLarge(Exception):
    pass


class LimitsMiddleware:
    """Token first, then the body cap, before the app parses anything (pure ASGI, so
    streamed responses pass through untouched)."""

    def __init__(self, app: ASGIApp, token: str, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive,
                       send: Send) -> None:
        if scope["type"] != "http" or _is_openai_path(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        if self.token and scope.get("path", "").startswith("/v1/"):
            problem = token_problem(headers.get("authorization"), self.token)
            if problem is not None:
                await _answer(send, 401, problem, {"www-authenticate": "Bearer"})
                return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await _answer(send, 413, self._too_large())
            return
        try:
            body, more = await self._read(receive)
        except BodyTooLarge:
            await _answer(send, 413, self._too_large())
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await more()  # later calls wait for the disconnect, as uvicorn's do

        await self.app(scope, replay, send)

    async def _read(self, receive: Receive) -> tuple[bytes, Receive]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: pass it on
                return b"".join(chunks), _replay(message)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise BodyTooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), receive

    def _too_large(self) -> str:
        return (f"the request body is larger than {self.max_body:,} bytes"
                " (MOMENTS_API_MAX_BODY); nothing was read or stored")


def _replay(message: Message) -> Receive:
    async def again() -> Message:
        return message
    return again


async def _answer(send: Send, status: int, detail: str,
                  headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if status == 413:
        raw.append((b"connection", b"close"))  # the unread rest of the body is not wanted
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


# secret_matches is looked up here at call time, so a test can watch the comparison.
__all__ = ["LimitsMiddleware", "Unauthorized", "require_token", "secret_matches",
           "token_problem"]
