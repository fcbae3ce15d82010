"""A provider that answers at once, without a model: for benchmarks, UI tests and demos."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from .base import GenerationParams, Prompt, Provider, Usage

_WORD = re.compile(r"\S+\s*|\s+")


def _echo(prompt: Prompt) -> str:
    last = ""
    if prompt.mode == "chat":
        users = [m.content for m in prompt.messages if m.role == "user"]
        last = users[-1] if users else ""
    else:
        lines = [ln for ln in prompt.text.splitlines() if ln and not ln.startswith("Self")]
        last = lines[-1].split(":", 1)[-1].strip().strip('"') if lines else ""
    reply = f"You said: {last}" if last else "Hello! What can I get you?"
    return reply.replace('"', "'")


class InstantProvider(Provider):
    """Answers with ``reply(prompt)`` (by default it echoes the last participant line),
    streamed word by word, in no time. ``calls`` counts the prompts it was given."""

    name = "instant"

    def __init__(self, reply: str | Callable[[Prompt], str] | None = None) -> None:
        if reply is None:
            self._reply: Callable[[Prompt], str] = _echo
        elif isinstance(reply, str):
            fixed = reply
            self._reply = lambda _prompt: fixed
        else:
            self._reply = reply
        self.calls = 0
        self.last_prompt: Prompt | None = None

    def stream_into(self, prompt: Prompt, params: GenerationParams, usage: Usage) -> Iterator[str]:
        self.calls += 1
        self.last_prompt = prompt  # for tests that look at one call at a time
        words = _WORD.findall(self._reply(prompt))
        # A word stands for a token here; the counts belong to this call only.
        usage.prompt_tokens = len(_WORD.findall(prompt.as_text()))
        usage.completion_tokens = 0
        for word in words:
            usage.completion_tokens += 1
            yield word
        usage.finish_reason = "stop"
