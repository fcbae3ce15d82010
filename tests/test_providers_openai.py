"""The OpenAI provider (official SDK) against a loopback server speaking OpenAI's wire
format; the real service is not reachable from here."""

from __future__ import annotations

import pytest

from moments_core.providers import (
    GenerationParams,
    Message,
    MissingKeyError,
    Prompt,
    ProviderError,
    TransientProviderError,
    make_provider,
)
from moments_core.providers.openai_provider import OpenAIProvider
from moments_core.settings import Settings

from .fixtures_agents import TEST_KEY, FakeModelServer

CHAT = Prompt("chat", messages=(
    Message("system", "You are a barista."),
    Message("user", "A latte please", name="Customer (unknown)"),
), stop=("\nCustomer:",))
PARAMS = GenerationParams(temperature=0.2, max_tokens=20, timeout=5)


def _provider(server: FakeModelServer) -> OpenAIProvider:
    return OpenAIProvider("gpt-test", api_key=TEST_KEY, base_url=server.base_url + "/v1")


def test_chat_streams_and_sends_the_right_request(model_server: FakeModelServer) -> None:
    chunks = list(_provider(model_server).stream(CHAT, PARAMS))
    assert len(chunks) > 2
    assert "".join(chunks) == model_server.reply
    [seen] = model_server.seen
    assert seen.path == "/v1/chat/completions"
    assert seen.authorization == f"Bearer {TEST_KEY}"
    assert seen.body["stream"] is True and seen.body["model"] == "gpt-test"
    assert seen.body["messages"][1] == {"role": "user", "content": "A latte please",
                                        "name": "Customer_unknown"}
    assert seen.body["stop"] == ["\nCustomer:"] and seen.body["max_tokens"] == 20


def test_completion_mode_uses_the_completions_endpoint(model_server: FakeModelServer) -> None:
    prompt = Prompt("completion", text='Begin.\nCustomer: "Hi"\nSelf: ', stop=("\n",))
    assert _provider(model_server).complete(prompt, PARAMS) == model_server.reply
    assert model_server.seen[0].path == "/v1/completions"
    assert model_server.seen[0].body["prompt"].endswith("Self: ")


def test_stop_sequences_are_also_cut_client_side(model_server: FakeModelServer) -> None:
    model_server.reply = 'Self: "Sure!"\nCustomer: "Thanks"'
    assert _provider(model_server).complete(CHAT, PARAMS) == 'Self: "Sure!"'


def test_rate_limit_is_transient_with_retry_after(model_server: FakeModelServer) -> None:
    model_server.script = ["429"]
    provider = _provider(model_server)
    with pytest.raises(TransientProviderError) as info:
        provider.complete(CHAT, PARAMS)
    assert info.value.retry_after == 0.0 and "429" in str(info.value)
    assert provider.complete(CHAT, PARAMS) == model_server.reply  # then success


def test_server_errors_are_transient_and_never_show_the_key(
    model_server: FakeModelServer,
) -> None:
    model_server.default = "500"
    for _ in range(2):
        with pytest.raises(TransientProviderError) as info:
            _provider(model_server).complete(CHAT, PARAMS)
        assert "HTTP 500" in str(info.value) and TEST_KEY not in str(info.value)


def test_timeout_is_transient(model_server: FakeModelServer) -> None:
    model_server.script = ["slow"]
    model_server.slow_seconds = 1.0
    with pytest.raises(TransientProviderError, match="timed out"):
        _provider(model_server).complete(CHAT, GenerationParams(timeout=0.3))


def test_missing_key_names_the_variable() -> None:
    with pytest.raises(MissingKeyError, match="OPENAI_API_KEY"):
        make_provider("openai", "gpt-4o-mini", settings=Settings())


def test_settings_supply_key_and_base_url(model_server: FakeModelServer) -> None:
    settings = Settings(openai_api_key=TEST_KEY, openai_base_url=model_server.base_url + "/v1")
    provider = make_provider("openai", "gpt-test", settings=settings)
    assert provider.complete(CHAT, PARAMS) == model_server.reply
    assert model_server.seen[0].authorization == f"Bearer {TEST_KEY}"
    assert TEST_KEY not in repr(settings) and settings.describe()["openai_api_key"] == "set"


def test_self_hosted_server_needs_no_key(model_server: FakeModelServer) -> None:
    provider = make_provider("openai", "llama", base_url=model_server.base_url + "/v1",
                             settings=Settings())
    assert provider.complete(CHAT, PARAMS) == model_server.reply


def test_not_found_is_a_plain_error(model_server: FakeModelServer) -> None:
    provider = OpenAIProvider("gpt-test", api_key=TEST_KEY, base_url=model_server.base_url)
    with pytest.raises(ProviderError, match="HTTP 404") as info:
        provider.complete(CHAT, PARAMS)
    assert not isinstance(info.value, TransientProviderError)


def test_an_error_event_mid_stream_is_a_provider_error_without_the_key() -> None:
    """The SDK raises a bare ``openai.APIError`` for an ``error`` event inside the stream
    (no status code); it must arrive as a provider error, the echoed key scrubbed."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Echo(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", "0")))
            key = self.headers.get("authorization", "")
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m",
                     "choices": [{"index": 0, "delta": {"content": "Self: "},
                                  "finish_reason": None}]}
            error = {"error": {"message": f"overloaded (you sent {key})", "type": "server"}}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: {json.dumps(error)}\n\n"
                             .encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        provider = OpenAIProvider("gpt-test", api_key=TEST_KEY,
                                  base_url=f"http://127.0.0.1:{server.server_address[1]}/v1")
        with pytest.raises(ProviderError) as info:
            list(provider.stream(CHAT, PARAMS))
    finally:
        server.shutdown()
        server.server_close()
    assert "overloaded" in str(info.value) and TEST_KEY not in str(info.value)
