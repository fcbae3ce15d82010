"""The turn runtime against the real SQLite store, with a provider that answers at once
(and the fake OpenAI server where failures are needed)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

import pytest

from moments_core.agents import (
    Agent,
    AgentError,
    RetryPolicy,
    TurnFailed,
    TurnResult,
    load_agent_config,
    parse_config,
)
from moments_core.mdl import Context, Participant, Rejected, Self
from moments_core.providers import GenerationParams, InstantProvider, Prompt
from moments_core.providers.openai_provider import OpenAIProvider
from moments_core.settings import PROJECT_ROOT

from .fixtures_agents import TEST_KEY, FakeModelServer


def _clock() -> datetime:
    return datetime(2026, 11, 24, 8, 1)


def _agent(store: Any, provider: Any = None, **kwargs: Any) -> Agent:
    vc = load_agent_config("Agent", "cafebot", "01", store, folder=PROJECT_ROOT / "configs")
    return Agent(vc.config, provider or InstantProvider(), store,
                 config_version=vc.version, clock=_clock, **kwargs)


def _run(events: Any) -> tuple[list[str], TurnResult]:
    chunks: list[str] = []
    result = None
    for item in events:
        if isinstance(item, str):
            chunks.append(item)
        else:
            result = item
    assert isinstance(result, TurnResult)
    return chunks, result


def test_a_turn_is_saved_as_two_snapshots_with_the_config_version(agent_store: Any) -> None:
    agent = _agent(agent_store, InstantProvider('Self: (😊) "One latte, coming up!"'))
    root = agent.start()
    info = agent_store.get_moment(root.moment_id)
    assert (info.agent_id, info.agent_variant, info.config_version) == ("cafebot", "01", 1)
    chunks, result = _run(agent.respond(root, "A latte, please."))
    assert "".join(chunks) == "One latte, coming up!" and len(chunks) > 1
    assert result.occurrence == Self("One latte, coming up!", "😊")
    said = result.participant_snapshot
    assert said is not None and said.previous_snapshot_id == root.id
    assert result.snapshot.previous_snapshot_id == said.id
    assert agent_store.children(root.id) == [said.id]
    assert agent_store.children(said.id) == [result.snapshot.id]
    stored = agent_store.get_snapshot(result.snapshot.id)
    assert stored.moment.occurrences[-1] == result.occurrence
    assert stored.moment.occurrences[-2] == Participant("Customer", "A latte, please.")
    assert stored.annotations["config_version"] == 1
    assert agent_store.get_snapshot(said.id).annotations["config_version"] == 1


def test_time_context_is_added_once_per_moment(agent_store: Any) -> None:
    agent = _agent(agent_store)
    snap = agent.start()
    for line in ["Hi", "A latte", "Large"]:
        snap = agent.reply(snap, line).snapshot
    contexts = [o for o in snap.moment.occurrences if isinstance(o, Context)]
    assert len(contexts) == 1 and contexts[0].value == {"time": "8:01am"}
    kinds = [o.kind for o in snap.moment.occurrences]
    assert kinds[kinds.index("Begin") + 1] == "Context"  # before the first line


def test_the_prompt_reflects_the_moment(agent_store: Any) -> None:
    provider = InstantProvider()
    agent = _agent(agent_store, provider)
    result = agent.reply(agent.start(), "Do you have oat milk?")
    assert result.occurrence.says == "You said: Do you have oat milk?"
    prompt = provider.last_prompt
    assert isinstance(prompt, Prompt) and prompt.mode == "chat"
    assert prompt.messages[-1].content == "Do you have oat milk?"
    assert "time: 8:01am" in prompt.messages[0].content


def test_the_agent_can_speak_first_and_respond_takes_ids(agent_store: Any) -> None:
    agent = _agent(agent_store, InstantProvider('"Welcome to ISO Ikigai!"'))
    root = agent.start()
    greeting = agent.reply(root.id)
    assert greeting.participant_snapshot is None
    assert greeting.snapshot.previous_snapshot_id == root.id
    assert greeting.occurrence.says == "Welcome to ISO Ikigai!"
    assert greeting.repaired is True


def test_regenerate_branches_from_the_parent_with_the_rejected_line(agent_store: Any) -> None:
    answers = iter(['"Sorry, no."', '"Of course! Which size?"', '"Sure, small or large?"'])
    agent = _agent(agent_store, InstantProvider(lambda _p: next(answers)))
    first = agent.reply(agent.start(), "A latte?")
    said = first.participant_snapshot
    assert said is not None
    _, second = _run(agent.regenerate(first.snapshot.id))
    assert second.snapshot.previous_snapshot_id == said.id
    assert second.rejected == Rejected("Sorry, no.")
    tail = second.snapshot.moment.occurrences[-3:]
    assert tail == [Participant("Customer", "A latte?"), Rejected("Sorry, no."),
                    Self("Of course! Which size?")]
    assert agent_store.children(said.id) == [first.snapshot.id, second.snapshot.id]
    # regenerating again keeps both discarded lines on the new branch
    _, third_result = _run(agent.regenerate(second.snapshot))
    kinds = [o.kind for o in third_result.snapshot.moment.occurrences[-4:]]
    assert kinds == ["Participant", "Rejected", "Rejected", "Self"]
    assert len(agent_store.children(said.id)) == 3


def test_regenerate_refuses_what_is_not_an_agent_line(agent_store: Any) -> None:
    agent = _agent(agent_store)
    root = agent.start()
    with pytest.raises(AgentError, match="ends with the agent's line"):
        list(agent.regenerate(root))


def test_empty_participant_line_is_refused(agent_store: Any) -> None:
    agent = _agent(agent_store)
    with pytest.raises(AgentError, match="empty"):
        agent.reply(agent.start(), "   ")


def test_empty_model_answers_are_retried(agent_store: Any, fast_retry: RetryPolicy) -> None:
    answers = iter(["", "  ", '"Hello!"'])
    agent = _agent(agent_store, InstantProvider(lambda _p: next(answers)), retry=fast_retry)
    result = agent.reply(agent.start(), "Hi")
    assert result.occurrence.says == "Hello!" and result.attempts == 3


def test_after_hook_sees_every_turn(agent_store: Any) -> None:
    seen: list[TurnResult] = []
    agent = _agent(agent_store, after=seen.append)
    result = agent.reply(agent.start(), "Hi")
    assert seen == [result]


def _openai_agent(store: Any, server: FakeModelServer, retry: RetryPolicy) -> Agent:
    config = parse_config(
        "id: cafebot\nvariant: test\nprovider: openai\nmodel: gpt-test\n"
        "params: {timeout: 5}\ninit: |\n  Begin.\n"
    )
    provider = OpenAIProvider("gpt-test", api_key=TEST_KEY, base_url=server.base_url + "/v1")
    return Agent(config, provider, store, retry=retry, clock=_clock)


def test_rate_limit_is_retried_with_backoff(
    agent_store: Any, model_server: FakeModelServer, fast_retry: RetryPolicy,
    retry_sleeps: list[float],
) -> None:
    model_server.script = ["429"]
    agent = _openai_agent(agent_store, model_server, fast_retry)
    result = agent.reply(agent.start(), "Hi")
    assert result.occurrence.says == "Good morning! What can I get you?"
    assert result.attempts == 2 and len(model_server.seen) == 2
    assert retry_sleeps == [0.0]  # the server's Retry-After: 0 wins over the backoff


def test_final_failure_is_clear_and_keeps_the_participant_line(
    agent_store: Any, model_server: FakeModelServer, fast_retry: RetryPolicy,
    retry_sleeps: list[float],
) -> None:
    model_server.default = "500"
    agent = _openai_agent(agent_store, model_server, fast_retry)
    root = agent.start()
    with pytest.raises(TurnFailed) as info:
        agent.reply(root, "A latte, please.")
    message = str(info.value)
    assert "after 3 attempts" in message and "HTTP 500" in message
    assert TEST_KEY not in message
    assert len(model_server.seen) == 3
    assert retry_sleeps == [0.001, 0.002]  # exponential, bounded
    saved = info.value.participant_snapshot
    assert saved is not None and saved.id in message
    stored = agent_store.get_snapshot(saved.id)
    assert stored.moment.occurrences[-1] == Participant("Customer", "A latte, please.")
    assert agent_store.children(saved.id) == []
    # once the server is back, the saved line gets its answer
    model_server.default = "ok"
    again = agent.reply(saved.id)
    assert again.snapshot.previous_snapshot_id == saved.id


def test_bad_requests_are_not_retried(
    agent_store: Any, model_server: FakeModelServer, fast_retry: RetryPolicy,
) -> None:
    agent = _openai_agent(agent_store, model_server, fast_retry)
    agent.provider = OpenAIProvider("gpt-test", api_key=TEST_KEY,
                                    base_url=model_server.base_url + "/nowhere")
    with pytest.raises(TurnFailed, match="after 1 attempt:"):
        agent.reply(agent.start(), "Hi")


class _SmallContext(InstantProvider):
    """The instant provider with a small context, counted by a tokenizer of its own."""

    def __init__(self) -> None:
        super().__init__('"Sure."')
        self.counted = 0

    def prompt_budget(self, params: GenerationParams) -> int | None:
        return 300

    def count_tokens(self, text: str) -> int:
        self.counted += 1
        return len(text.split())


def test_a_long_conversation_is_windowed_and_the_turn_says_how_much(agent_store: Any) -> None:
    provider = _SmallContext()
    agent = _agent(agent_store, provider)
    snap = agent.start()
    left: list[int] = []
    for i in range(60):
        result = agent.reply(snap, f"Order {i}: one small latte with oat milk, please.")
        snap = result.snapshot
        left.append(result.left_out)
        assert agent_store.get_snapshot(snap.id).annotations.get("left_out", 0) == \
            result.left_out
    assert left[0] == 0 and left[-1] > 0
    assert provider.counted > 0  # sizes came from the provider's tokenizer
    prompt = provider.last_prompt
    assert prompt is not None and prompt.messages[0].role == "system"
    assert "ISO Ikigai" in prompt.messages[0].content  # instructions kept
    assert "Order 59" in prompt.messages[-1].content
    assert sum(len(m.content.split()) + 6 for m in prompt.messages) <= 300
    # what is left out grows in blocks of several turns at once, not a line every turn
    changes = [i for i in range(1, len(left)) if left[i] != left[i - 1]]
    assert all(left[i] - left[i - 1] >= 6 for i in changes), left
    assert all(b - a >= 3 for a, b in itertools.pairwise(changes)), left


class _Prefilling(InstantProvider):
    """The instant provider, keeping the prompts it is told to read ahead."""

    def __init__(self) -> None:
        super().__init__('"Sure."')
        self.prefilled: list[Prompt] = []

    def prefill(self, prompt: Prompt) -> None:
        self.prefilled.append(prompt)


def test_after_a_turn_the_provider_may_read_ahead_the_next_prompts_start(
    agent_store: Any,
) -> None:
    provider = _Prefilling()
    agent = _agent(agent_store, provider)
    first = agent.reply(agent.start(), "A latte, please.")
    [ahead] = provider.prefilled
    # the conversation so far, ending with the answer just given
    assert ahead.messages[-1].role == "assistant" and ahead.messages[-1].content == "Sure."
    assert ahead.messages[-2].content == "A latte, please."
    agent.reply(first.snapshot, "Oat milk.")
    nxt = provider.last_prompt
    assert nxt is not None and nxt.messages[: len(ahead.messages)] == ahead.messages


class _FailingPrefill(_Prefilling):
    def prefill(self, prompt: Prompt) -> None:
        raise AttributeError("a llama-cpp-python that moved its internals")


def test_a_failing_read_ahead_leaves_the_turn_answered_and_saved(
    agent_store: Any, caplog: Any,
) -> None:
    agent = _agent(agent_store, _FailingPrefill())
    with caplog.at_level("WARNING", logger="moments.agents"):
        turn = agent.reply(agent.start(), "A latte, please.")
    assert turn.snapshot.moment.occurrences[-1].says == "Sure."  # type: ignore[attr-defined]
    assert agent_store.get_snapshot(turn.snapshot.id).id == turn.snapshot.id
    assert any("read-ahead" in r.getMessage() for r in caplog.records)
