"""Bodies of the OpenAI-compatible routes: the chat-completions request as OpenAI's SDKs
send it, and the response objects (``chat.completion``, ``chat.completion.chunk``,
``model``, ``list``) built as plain dicts, field for field as the OpenAI reference has them.

The request model is lenient where clients differ (unknown fields are ignored, as OpenAI
ignores what a model does not use) and strict where a value would change what is asked:
its checks name the field, and the route turns them into a 400.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

# More sequences than OpenAI takes is a mistake in the client; say so rather than cut.
MAX_STOPS = 4
MAX_USER = 256


class TextPart(BaseModel):
    """One part of a message's content; only ``text`` parts mean anything to an agent."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, refusal ... (checked)

    role: str
    content: str | list[TextPart] | None = None
    name: str | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """``POST /v1/chat/completions``. ``model`` is a variant (``Agent-cafebot-01``, as
    ``GET /v1/models`` lists them); its config's prompt is the prompt."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=200, examples=["Agent-cafebot-01"])
    messages: list[ChatMessage] = Field(
        description="user and assistant turns (the whole history, oldest first); a system"
                    " or developer message is refused unless the variant accepts it as"
                    " Context")
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    n: int | None = Field(default=None, description="only 1 is supported")
    seed: int | None = None
    user: str | None = Field(default=None, max_length=MAX_USER,
                             description="who is talking; conversations are kept apart"
                                         " by bearer token and user")

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


def usage_dict(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


def completion(completion_id: str, created: int, model: str, content: str,
               finish_reason: str, usage: dict[str, int], fingerprint: str,
               moments: dict[str, Any]) -> dict[str, Any]:
    """A ``chat.completion``; ``moments`` (where it is stored) is an extra field, which
    OpenAI clients ignore and Moments clients can use."""
    return {
        "id": completion_id, "object": "chat.completion", "created": created, "model": model,
        "system_fingerprint": fingerprint,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content,
                                             "refusal": None},
                     "logprobs": None, "finish_reason": finish_reason}],
        "usage": usage,
        "moments": moments,
    }


def chunk(completion_id: str, created: int, model: str, fingerprint: str,
          delta: dict[str, Any] | None, finish_reason: str | None = None,
          *, with_usage: bool = False, usage: dict[str, int] | None = None,
          extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``chat.completion.chunk``. ``delta=None``: the usage chunk (no choices), sent
    last when the client asked for ``stream_options.include_usage``; the other chunks then
    carry ``"usage": null``, as OpenAI's do."""
    choices = [] if delta is None else [
        {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}]
    out: dict[str, Any] = {"id": completion_id, "object": "chat.completion.chunk",
                           "created": created, "model": model,
                           "system_fingerprint": fingerprint, "choices": choices}
    if with_usage:
        out["usage"] = usage
    if extra:
        out.update(extra)
    return out


def model_object(model_id: str, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": "moments"}
