"""OpenAI and every server that speaks its API (vLLM, Ollama, llama.cpp server, LM Studio).

Chat mode uses chat completions; completion mode uses the (legacy) completions endpoint,
which those servers still offer. The SDK's own retries are off: the runtime retries, so
every back end follows the same bounded policy.

The real OpenAI service is not reachable from the test machines; the tests run this
client against a local HTTP server that speaks the same wire format.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from moments_core.logscrub import register_secret

from .base import GenerationParams, Prompt, Provider, Usage, all_stops, cut_at_stops
from .errors import MissingKeyError, ProviderError, TransientProviderError, scrub

KEY_ENV = "OPENAI_API_KEY"
# OpenAI accepts a message ``name`` only in this shape.
_NAME_OK = re.compile(r"[^a-zA-Z0-9_-]+")


def _needs_key(base_url: str) -> bool:
    """Self-hosted OpenAI-compatible servers usually take any key; openai.com does not."""
    host = urlparse(base_url).hostname or "" if base_url else "api.openai.com"
    return host.endswith("openai.com")


class OpenAIProvider(Provider):
    """Chat or completion calls through the official ``openai`` SDK, streamed."""

    name = "openai"

    def __init__(self, model: str, api_key: str = "", base_url: str = "") -> None:
        if not api_key and _needs_key(base_url):
            raise MissingKeyError(
                f"the openai provider needs an API key: set {KEY_ENV} "
                "(or api_key in the agent config; set base_url for a self-hosted server)"
            )
        self.model = model
        self.base_url = base_url
        self._key = api_key or "not-needed"
        register_secret(api_key)  # whatever echoes it, it never reaches a log line

    def _client(self, params: GenerationParams) -> Any:
        # One client per timeout, reused: building one loads the CA bundle (~80 ms of CPU
        # under the GIL), which made concurrent eval lanes wait on each other (H7).
        clients: dict[float, Any] = self.__dict__.setdefault("_clients", {})
        client = clients.get(params.timeout)
        if client is None:
            import openai

            client = clients.setdefault(params.timeout, openai.OpenAI(
                api_key=self._key,
                base_url=self.base_url or None,
                timeout=params.timeout,
                max_retries=0,
            ))
        return client

    def stream_into(self, prompt: Prompt, params: GenerationParams, usage: Usage) -> Iterator[str]:
        import httpx
        import openai

        client = self._client(params)
        stops = all_stops(prompt, params)
        args: dict[str, Any] = {
            "model": self.model,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
            "stream": True,
            # the last chunk then carries the call's token counts
            "stream_options": {"include_usage": True},
        }
        # The API takes at most 4 stop sequences; the rest are cut client-side.
        if stops:
            args["stop"] = stops[:4]
        if params.seed is not None:
            args["seed"] = params.seed
        response: Any = None
        try:
            if prompt.mode == "chat":
                messages: list[dict[str, str]] = []
                for m in prompt.messages:
                    msg = {"role": m.role, "content": m.content}
                    name = _NAME_OK.sub("_", m.name).strip("_")[:64]
                    if name and m.role == "user":
                        msg["name"] = name
                    messages.append(msg)
                response = client.chat.completions.create(messages=messages, **args)
            else:
                response = client.completions.create(prompt=prompt.text, **args)
            yield from cut_at_stops(_texts(response, usage, prompt.mode == "chat"), stops)
            usage.finish_reason = usage.finish_reason or "stop"  # cut at a stop sequence
        except openai.APITimeoutError as err:
            raise TransientProviderError(f"openai: timed out after {params.timeout:g}s") from err
        except openai.APIConnectionError as err:
            raise TransientProviderError(f"openai: cannot connect to {self._where()}") from err
        except openai.RateLimitError as err:
            raise TransientProviderError(
                f"openai: rate limited (429): {self._message(err)}", _retry_after(err)
            ) from err
        except openai.APIStatusError as err:
            message = f"openai: HTTP {err.status_code}: {self._message(err)}"
            if err.status_code >= 500:
                raise TransientProviderError(message, _retry_after(err)) from err
            raise ProviderError(message) from err
        except openai.APIError as err:
            # An error event inside the stream (the server failed mid-answer): no status
            # code, but still the provider's failure, with its message scrubbed.
            message = f"openai: the answer failed: {self._message(err)}"
            raise TransientProviderError(message) from err
        except httpx.HTTPError as err:  # the SDK lets a connection cut mid-stream through
            raise TransientProviderError(
                f"openai: the connection to {self._where()} broke mid-answer"
                f" ({type(err).__name__})") from err
        finally:
            # The stream, not the client: the client is reused (see _client).
            if response is not None:
                response.close()

    def _where(self) -> str:
        return self.base_url or "api.openai.com"

    def _message(self, err: Any) -> str:
        body = getattr(err, "body", None)
        text = ""
        if isinstance(body, dict):
            inner = body.get("error", body)
            text = str(inner.get("message", "")) if isinstance(inner, dict) else str(inner)
        return scrub(text or str(getattr(err, "message", "")) or type(err).__name__, self._key)


def _texts(chunks: Any, usage: Usage, chat: bool) -> Iterator[str | None]:
    """The text of each streamed chunk, recording finish reason and usage as they come."""
    for c in chunks:
        counts = getattr(c, "usage", None)
        if counts is not None:
            usage.prompt_tokens = getattr(counts, "prompt_tokens", None)
            usage.completion_tokens = getattr(counts, "completion_tokens", None)
        if not c.choices:
            continue
        choice = c.choices[0]
        if getattr(choice, "finish_reason", None):
            usage.finish_reason = str(choice.finish_reason)
        yield choice.delta.content if chat else choice.text


def _retry_after(err: Any) -> float | None:
    response = getattr(err, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
