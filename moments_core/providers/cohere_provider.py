"""Cohere through the official SDK's v2 chat API, streamed.

Completion mode has no endpoint of its own in v2: the MDL text goes as one user message
and the model's line is parsed back like any other. The SDK's retries are off; the
runtime retries. The real Cohere service is not reachable from the test machines; the
tests run this client against a local HTTP server that speaks the v2 wire format.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .base import GenerationParams, Prompt, Provider, Usage, all_stops, cut_at_stops
from .errors import MissingKeyError, ProviderError, TransientProviderError, scrub

KEY_ENV = "CO_API_KEY"


class CohereProvider(Provider):
    """Chat calls through ``cohere.ClientV2``; ``base_url`` points at another endpoint."""

    name = "cohere"

    def __init__(self, model: str, api_key: str = "", base_url: str = "") -> None:
        if not api_key:
            raise MissingKeyError(
                f"the cohere provider needs an API key: set {KEY_ENV} (or COHERE_API_KEY)"
            )
        self.model = model
        self.base_url = base_url
        self._key = api_key

    def stream_into(self, prompt: Prompt, params: GenerationParams, usage: Usage) -> Iterator[str]:
        import cohere
        import httpx
        from cohere.core.api_error import ApiError

        client = cohere.ClientV2(
            api_key=self._key, base_url=self.base_url or None, timeout=params.timeout
        )
        if prompt.mode == "chat":
            messages: list[Any] = [{"role": m.role, "content": m.content} for m in prompt.messages]
        else:
            messages = [{"role": "user", "content": prompt.text}]
        stops = all_stops(prompt, params)
        args: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": params.temperature,
            "p": params.top_p,
            "max_tokens": params.max_tokens,
            "request_options": {"max_retries": 0, "timeout": params.timeout},
        }
        if stops:
            args["stop_sequences"] = stops[:5]
        if params.seed is not None:
            args["seed"] = params.seed
        try:
            yield from cut_at_stops(_texts(client.chat_stream(**args), usage), stops)
        except httpx.TimeoutException as err:
            raise TransientProviderError(f"cohere: timed out after {params.timeout:g}s") from err
        except httpx.TransportError as err:
            where = self.base_url or "api.cohere.com"
            raise TransientProviderError(f"cohere: cannot connect to {where}") from err
        except ApiError as err:
            status = err.status_code or 0
            message = f"cohere: HTTP {status}: {self._message(err.body)}"
            if status == 429 or status >= 500:
                raise TransientProviderError(message, _retry_after(err.headers)) from err
            raise ProviderError(message) from err

    def _message(self, body: Any) -> str:
        text = body.get("message", "") if isinstance(body, dict) else str(body or "")
        return scrub(str(text) or "no detail", self._key)


def _texts(events: Any, usage: Usage) -> Iterator[str]:
    """The text of the ``content-delta`` events; ``message-end`` carries the usage."""
    for event in events:
        kind = getattr(event, "type", "")
        if kind == "content-delta":
            yield _delta_text(event)
        elif kind == "message-end":
            delta = getattr(event, "delta", None)
            reason = getattr(delta, "finish_reason", None)
            usage.finish_reason = str(reason).lower() if reason else usage.finish_reason
            tokens = getattr(getattr(delta, "usage", None), "tokens", None)
            if tokens is not None:
                usage.prompt_tokens = _int(getattr(tokens, "input_tokens", None))
                usage.completion_tokens = _int(getattr(tokens, "output_tokens", None))


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _delta_text(event: Any) -> str:
    """The text of a ``content-delta`` event (``delta.message.content.text``)."""
    delta = getattr(event, "delta", None)
    message = getattr(delta, "message", None)
    content = getattr(message, "content", None)
    return str(getattr(content, "text", "") or "")


def _retry_after(headers: dict[str, str] | None) -> float | None:
    value = (headers or {}).get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
