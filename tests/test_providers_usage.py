"""Usage travels with each call's result, never on the shared provider (issue 15, item 3).

The API shares one provider object between threads; two turns at once must each record
their own token counts, finish reason and latency.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from moments_core.agents import Agent, TurnResult, load_agent_config
from moments_core.providers import (
    Completion,
    GenerationParams,
    InstantProvider,
    Message,
    Prompt,
    Usage,
)
from moments_core.settings import PROJECT_ROOT

from .fixtures_agents import FakeModelServer

TURNS = 8


def _words(prompt: Prompt) -> int:
    """The answer's length, read from the participant's line: ``n words please``."""
    last = [m.content for m in prompt.messages if m.role == "user"][-1]
    return int(last.split()[0])


def test_a_completion_carries_its_own_usage() -> None:
    provider = InstantProvider("One two three four")
    call = provider.generate(Prompt("completion", text="Customer: hi\nSelf:"), GenerationParams())
    assert isinstance(call, Completion) and isinstance(call.usage, Usage)
    assert list(call) == ["One ", "two ", "three ", "four"]
    assert call.usage.completion_tokens == 4 and call.usage.finish_reason == "stop"
    assert call.usage.latency_ms is not None and call.usage.first_token_ms is not None
    assert call.text == "One two three four"
    assert not hasattr(provider, "last_completion_tokens")


def test_concurrent_turns_on_one_provider_record_their_own_counts(agent_store: Any) -> None:
    # Every call waits until all eight have started, so their streams overlap for sure.
    started = threading.Barrier(TURNS, timeout=10)

    def reply(prompt: Prompt) -> str:
        started.wait()
        return " ".join(["word"] * _words(prompt))

    provider = InstantProvider(reply)
    vc = load_agent_config("Agent", "cafebot", "01", agent_store, folder=PROJECT_ROOT / "configs")
    agent = Agent(vc.config, provider, agent_store, config_version=vc.version,
                  clock=lambda: datetime(2026, 11, 24, 8, 1))
    roots = [agent.start() for _ in range(TURNS)]
    lengths = [3 + 5 * i for i in range(TURNS)]

    def take(i: int) -> TurnResult:
        return agent.reply(roots[i], f"{lengths[i]} words please")

    with ThreadPoolExecutor(TURNS) as pool:
        results = list(pool.map(take, range(TURNS)))
    for n, result in zip(lengths, results, strict=True):
        assert result.usage is not None and result.usage.completion_tokens == n
        stored = agent_store.get_snapshot(result.snapshot.id)
        assert stored.annotations["tokens"] == n
        assert stored.annotations["finish_reason"] == "stop"
    prompts = {r.usage.prompt_tokens for r in results if r.usage is not None}
    assert None not in prompts


def test_openai_usage_comes_from_the_stream(model_server: FakeModelServer) -> None:
    from moments_core.providers.openai_provider import OpenAIProvider

    provider = OpenAIProvider("gpt-test", api_key="k", base_url=model_server.base_url + "/v1")
    prompt = Prompt("chat", messages=(Message("user", "Hi"),))
    call = provider.generate(prompt, GenerationParams(max_tokens=20))
    assert call.text
    assert call.usage.finish_reason == "stop"
    assert call.usage.prompt_tokens == 10 and call.usage.completion_tokens is not None
    sent = model_server.seen[-1]
    assert sent.body["stream_options"] == {"include_usage": True}
