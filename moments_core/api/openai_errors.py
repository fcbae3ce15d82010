"""Errors of the OpenAI-compatible routes, in OpenAI's own shape, so that its SDKs raise
the exception a client's code already catches (``openai.AuthenticationError`` for 401,
``NotFoundError`` for 404, ``RateLimitError`` for 429 ...)::

    {"error": {"message": "...", "type": "invalid_request_error", "param": "messages",
               "code": "system_message_not_allowed"}}

Only ``/v1/models`` and ``/v1/chat/completions`` answer this way; the rest of the API keeps
``{"detail": ...}``.
"""

from __future__ import annotations

import math

from fastapi.responses import JSONResponse

from moments_core.agents import TurnFailed
from moments_core.providers import ProviderError, TransientProviderError

OPENAI_PATHS = ("/v1/models", "/v1/chat/completions")

# The ``type`` OpenAI gives each status.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
# Retry-After when the provider did not say: enough for a rate limit to ease.
DEFAULT_RETRY_AFTER_S = 5


def is_openai_path(path: str) -> bool:
    """Whether a request path belongs to the OpenAI-compatible routes."""
    return any(path == p or path.startswith(p + "/") for p in OPENAI_PATHS)


class OpenAIError(Exception):
    """A refusal of an OpenAI-compatible route: status, message, and where it is."""

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.headers = headers

    def body(self) -> dict[str, object]:
        return error_body(self.status, self.message, param=self.param, code=self.code)


def error_type(status: int) -> str:
    return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str, *, param: str | None = None,
               code: str | None = None) -> dict[str, object]:
    return {"error": {"message": message, "type": error_type(status), "param": param,
                      "code": code}}


def error_response(status: int, message: str, *, param: str | None = None,
                   code: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(status, message, param=param, code=code),
                        status_code=status, headers=headers)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> OpenAIError:
    return OpenAIError(400, message, param=param, code=code)


def provider_status(err: BaseException) -> tuple[int, str]:
    """Status and code for a failed model call: 429 for a rate limit, 503 for the other
    passing troubles (timeouts, 5xx, unreachable), 502 when the back end refused for good."""
    if isinstance(err, TransientProviderError):
        status = getattr(err, "status", None)
        text = str(err).lower()
        if status == 429 or "429" in text or "rate limit" in text:
            return 429, "rate_limit_exceeded"
        return 503, "provider_unavailable"
    return 502, "provider_error"


def from_turn_failure(err: TurnFailed) -> OpenAIError:
    """A turn whose model call failed for good (the user's message is kept, so the same
    request sent again answers from it)."""
    cause: BaseException | None = err.__cause__
    status, code = provider_status(cause) if isinstance(cause, ProviderError) else (
        502, "provider_error")
    headers: dict[str, str] | None = None
    if status in (429, 503):
        wait = getattr(cause, "retry_after", None)
        seconds = DEFAULT_RETRY_AFTER_S if wait is None else max(1, math.ceil(float(wait)))
        headers = {"Retry-After": str(seconds)}
    return OpenAIError(status, str(err), code=code, headers=headers)
