"""What every model back end takes and gives: a rendered prompt in, text chunks out.

Providers know nothing about MDL or agents; the runtime renders the moment into a
``Prompt`` and parses the text that comes back.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["chat", "completion"]
Role = Literal["system", "user", "assistant"]


class GenerationParams(BaseModel):
    """Sampling settings, the ``params:`` mapping of an agent config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=160, ge=1, le=8192)
    stop: list[str] = Field(default_factory=list)
    seed: int | None = None
    timeout: float = Field(default=60.0, gt=0.0, description="seconds per model call")


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message; ``name`` keeps the participant's name where a back end takes it."""

    role: Role
    content: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Prompt:
    """A moment rendered for one mode: ``messages`` in chat mode, ``text`` in completion mode.

    ``stop`` holds the sequences that end the agent's turn (the runtime adds the
    participants' line starts, and a newline in completion mode).
    """

    mode: Mode
    messages: tuple[Message, ...] = ()
    text: str = ""
    stop: tuple[str, ...] = field(default_factory=tuple)
    #: Occurrences of the moment the renderer left out to fit the model's context.
    left_out: int = 0

    def as_text(self) -> str:
        """The prompt as plain text, for back ends that have no chat roles."""
        if self.mode == "completion":
            return self.text
        lines: list[str] = []
        for m in self.messages:
            if m.role == "system":
                lines.append(m.content)
            elif m.role == "assistant":
                lines.append(f"Self: {m.content}")
            else:
                lines.append(f"{m.name or 'User'}: {m.content}")
        return "\n".join(lines) + "\nSelf:"


@dataclass(slots=True)
class Usage:
    """What one model call cost, kept with that call (never on the shared provider, which
    serves several turns at once). ``None``: the back end does not tell."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str | None = None  # "stop", "length", ... as the back end names it
    latency_ms: float | None = None  # the whole call, first byte asked to last chunk
    first_token_ms: float | None = None


class Completion:
    """One call's result, as ``llm`` keeps a ``Response``: iterate it (once) for the text
    chunks as they stream; afterwards ``usage`` is complete and ``text`` is the answer."""

    def __init__(self, chunks: Iterator[str], usage: Usage) -> None:
        self._chunks = chunks
        self.usage = usage
        self._parts: list[str] = []
        self._done = False

    def __iter__(self) -> Iterator[str]:
        if self._done:
            yield from self._parts
            return
        started = time.perf_counter()
        try:
            for chunk in self._chunks:
                if self.usage.first_token_ms is None:
                    self.usage.first_token_ms = round((time.perf_counter() - started) * 1000, 1)
                self._parts.append(chunk)
                yield chunk
        finally:
            self._done = True
            self.usage.latency_ms = round((time.perf_counter() - started) * 1000, 1)

    @property
    def text(self) -> str:
        if not self._done:
            for _ in self:
                pass
        return "".join(self._parts)


class Provider(ABC):
    """A model back end. ``generate`` starts one call and returns its ``Completion``.

    Implementations write ``stream_into``: yield the text, fill the call's ``Usage``, and
    raise ``TransientProviderError`` for what is worth retrying (timeouts, rate limits, 5xx)
    and ``ProviderError`` for the rest; the runtime retries. A provider object is shared by
    concurrent turns, so it keeps no per-call state.
    """

    name: str = "provider"
    #: Roughly how many prompt characters fit the model's context; ``None``: no limit known.
    max_prompt_chars: int | None = None

    @abstractmethod
    def stream_into(self, prompt: Prompt, params: GenerationParams, usage: Usage) -> Iterator[str]:
        """Yield the answer's text in chunks, stopping at any of ``prompt.stop``; record
        the call's token counts and finish reason in ``usage``."""

    def generate(self, prompt: Prompt, params: GenerationParams) -> Completion:
        usage = Usage()
        return Completion(self.stream_into(prompt, params, usage), usage)

    def stream(self, prompt: Prompt, params: GenerationParams) -> Iterator[str]:
        """The text only (the usage is dropped)."""
        yield from self.generate(prompt, params)

    def complete(self, prompt: Prompt, params: GenerationParams) -> str:
        return self.generate(prompt, params).text

    def prompt_budget(self, params: GenerationParams) -> int | None:
        """How many prompt tokens fit beside the answer; ``None``: no tokenizer, so the
        renderer falls back to ``max_prompt_chars``."""
        return None

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes by this model's tokenizer (only asked when
        ``prompt_budget`` gives a budget)."""
        return max(1, len(text) // 3)

    def prefill(self, prompt: Prompt) -> None:
        """A hint after a turn: the next call's prompt will most likely start with
        ``prompt`` (the conversation so far, ending with the agent's line). A provider that
        keeps a prompt cache may read it now, so that the next turn only reads the new line;
        the default does nothing. Never required for correctness."""
        return None


def all_stops(prompt: Prompt, params: GenerationParams) -> list[str]:
    """The prompt's stop sequences and the config's, without duplicates, order kept."""
    return list(dict.fromkeys([*prompt.stop, *params.stop]))


class StopCutter:
    """Cuts a stream at the first stop sequence, for back ends that do not do it themselves.

    Text that could be the start of a stop sequence is held back until it is known not to be.
    """

    def __init__(self, stops: list[str]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""
        self.done = False

    def feed(self, chunk: str) -> str:
        if self.done:
            return ""
        text = self._held + chunk
        cut = min((i for i in (text.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.done = True
            self._held = ""
            return text[:cut]
        keep = 0
        for s in self._stops:
            for n in range(min(len(s) - 1, len(text)), 0, -1):
                if text.endswith(s[:n]):
                    keep = max(keep, n)
                    break
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep]

    def flush(self) -> str:
        out, self._held = ("" if self.done else self._held), ""
        return out


def cut_at_stops(pieces: Iterable[str | None], stops: list[str]) -> Iterator[str]:
    """The text of a stream up to its first stop sequence; stops reading there."""
    cutter = StopCutter(stops)
    for piece in pieces:
        if not piece:
            continue
        out = cutter.feed(piece)
        if out:
            yield out
        if cutter.done:
            return
    rest = cutter.flush()
    if rest:
        yield rest
