"""The Cohere provider (official SDK, v2 chat) against a loopback server speaking
Cohere's wire format; the real service is not reachable from here."""

from __future__ import annotations

import pytest

from moments_core.providers import (
    GenerationParams,
    Message,
    MissingKeyError,
    Prompt,
    TransientProviderError,
    make_provider,
)
from moments_core.providers.cohere_provider import CohereProvider
from moments_core.settings import Settings

from .fixtures_agents import TEST_KEY, FakeModelServer

CHAT = Prompt("chat", messages=(
    Message("system", "You are a barista."),
    Message("user", "A latte please", name="Customer"),
    Message("assistant", "What size?"),
    Message("user", "Large", name="Customer"),
), stop=("\nCustomer:",))
PARAMS = GenerationParams(temperature=0.3, max_tokens=30, timeout=5)


def _provider(server: FakeModelServer) -> CohereProvider:
    return CohereProvider("command-test", api_key=TEST_KEY, base_url=server.base_url)


def test_chat_streams_content_deltas(model_server: FakeModelServer) -> None:
    chunks = list(_provider(model_server).stream(CHAT, PARAMS))
    assert len(chunks) > 2 and "".join(chunks) == model_server.reply
    [seen] = model_server.seen
    assert seen.path == "/v2/chat" and seen.body["stream"] is True
    assert seen.authorization == f"Bearer {TEST_KEY}"
    assert [m["role"] for m in seen.body["messages"]] == ["system", "user", "assistant", "user"]
    assert seen.body["stop_sequences"] == ["\nCustomer:"] and seen.body["p"] == 1.0


def test_completion_mode_sends_the_mdl_as_one_message(model_server: FakeModelServer) -> None:
    prompt = Prompt("completion", text='Begin.\nCustomer: "Hi"\nSelf: ', stop=("\n",))
    assert _provider(model_server).complete(prompt, PARAMS) == model_server.reply.split("\n")[0]
    assert model_server.seen[0].body["messages"] == [{"role": "user", "content": prompt.text}]


def test_rate_limit_then_success(model_server: FakeModelServer) -> None:
    model_server.script = ["429"]
    provider = _provider(model_server)
    with pytest.raises(TransientProviderError, match="429") as info:
        provider.complete(CHAT, PARAMS)
    assert info.value.retry_after == 0.0
    assert provider.complete(CHAT, PARAMS) == model_server.reply
    assert len(model_server.seen) == 2  # the SDK's own retries are off


def test_server_errors_forever_stay_transient(model_server: FakeModelServer) -> None:
    model_server.default = "500"
    for _ in range(2):
        with pytest.raises(TransientProviderError, match="HTTP 500") as info:
            _provider(model_server).complete(CHAT, PARAMS)
        assert TEST_KEY not in str(info.value)
    assert len(model_server.seen) == 2


def test_timeout_is_transient(model_server: FakeModelServer) -> None:
    model_server.script = ["slow"]
    with pytest.raises(TransientProviderError, match="timed out"):
        _provider(model_server).complete(CHAT, GenerationParams(timeout=0.3))


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="CO_API_KEY"):
        make_provider("cohere", "command-r", settings=Settings())


def test_settings_supply_key_and_url(model_server: FakeModelServer) -> None:
    settings = Settings.from_env({"CO_API_KEY": TEST_KEY, "CO_API_URL": model_server.base_url})
    assert make_provider("cohere", "c", settings=settings).complete(CHAT, PARAMS)
    assert model_server.seen[0].authorization == f"Bearer {TEST_KEY}"
