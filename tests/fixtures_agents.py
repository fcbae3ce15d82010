"""pytest fixtures for the agents area.

OpenAI and Cohere are not reachable from the test machines, so their official SDKs are
pointed at ``FakeModelServer``: a real HTTP server on 127.0.0.1 that speaks their wire
formats (JSON answers, server-sent-event streams, error bodies) and can be told to answer
429 or 500 or to be slow.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from moments_core.agents import RetryPolicy

TEST_KEY = "sk-test-0123456789abcdef"  # a made-up key; tests check it never leaks


@dataclass
class Seen:
    """One request the fake server received."""

    path: str
    body: dict[str, Any]
    authorization: str


@dataclass
class FakeModelServer:
    """Speaks the OpenAI (``/v1/chat/completions``, ``/v1/completions``) and Cohere
    (``/v2/chat``) wire formats. ``script`` holds what to do for the next requests in
    order ("ok", "429", "500", "slow"); when it is empty, ``default`` applies."""

    reply: str = 'Self: "Good morning! What can I get you?"'
    script: list[str] = field(default_factory=list)
    default: str = "ok"
    slow_seconds: float = 1.0
    seen: list[Seen] = field(default_factory=list)
    port: int = 0

    def behaviour(self) -> str:
        return self.script.pop(0) if self.script else self.default

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _chunks(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _openai_body(path: str, model: str, text: str) -> dict[str, Any]:
    if path.endswith("/chat/completions"):
        choice: dict[str, Any] = {
            "index": 0, "finish_reason": "stop",
            "message": {"role": "assistant", "content": text},
        }
        kind = "chat.completion"
    else:
        choice = {"index": 0, "finish_reason": "stop", "text": text, "logprobs": None}
        kind = "text_completion"
    return {
        "id": "cmpl-1", "object": kind, "created": int(time.time()), "model": model,
        "choices": [choice],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def _openai_events(path: str, model: str, text: str, usage: bool = False) -> Iterator[str]:
    chat = path.endswith("/chat/completions")
    pieces = _chunks(text)
    for i, piece in enumerate(pieces):
        if chat:
            delta: dict[str, Any] = {"content": piece}
            if i == 0:
                delta["role"] = "assistant"
            choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": None}
            kind = "chat.completion.chunk"
        else:
            choice = {"index": 0, "text": piece, "finish_reason": None, "logprobs": None}
            kind = "text_completion"
        if i == len(pieces) - 1:
            choice["finish_reason"] = "stop"
        event = {"id": "cmpl-1", "object": kind, "created": 0, "model": model,
                 "choices": [choice]}
        yield f"data: {json.dumps(event)}\n\n"
    if usage:  # stream_options.include_usage: one last chunk with the counts, no choices
        counts = {"prompt_tokens": 10, "completion_tokens": len(pieces),
                  "total_tokens": 10 + len(pieces)}
        event = {"id": "cmpl-1", "object": kind, "created": 0, "model": model,
                 "choices": [], "usage": counts}
        yield f"data: {json.dumps(event)}\n\n"
    yield "data: [DONE]\n\n"


def _cohere_body(text: str) -> dict[str, Any]:
    return {
        "id": "c-1", "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": text}]},
        "usage": {"billed_units": {"input_tokens": 10, "output_tokens": 5}},
    }


def _cohere_events(text: str) -> Iterator[str]:
    events: list[dict[str, Any]] = [
        {"type": "message-start", "id": "c-1",
         "delta": {"message": {"role": "assistant", "content": []}}},
        {"type": "content-start", "index": 0,
         "delta": {"message": {"content": {"type": "text", "text": ""}}}},
    ]
    events += [
        {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": p}}}}
        for p in _chunks(text)
    ]
    events += [
        {"type": "content-end", "index": 0},
        {"type": "message-end", "delta": {"finish_reason": "COMPLETE"}},
    ]
    for e in events:
        yield f"event: {e['type']}\ndata: {json.dumps(e)}\n\n"


def _handler(server: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

        def _json(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            server.seen.append(Seen(self.path, body, self.headers.get("authorization", "")))
            cohere = self.path.startswith("/v2/")
            known = ("/v1/chat/completions", "/v1/completions", "/v2/chat")
            if self.path not in known:
                self._json(404, {"error": {"message": f"no route {self.path}"}}, {})
                return
            what = server.behaviour()
            if what == "slow":
                time.sleep(server.slow_seconds)
                what = "ok"
            if what == "429":
                err = ({"message": "rate limit exceeded"} if cohere else
                       {"error": {"message": "Rate limit reached", "type": "requests",
                                  "code": "rate_limit_exceeded"}})
                self._json(429, err, {"retry-after": "0"})
                return
            if what == "500":
                err = ({"message": "internal error"} if cohere else
                       {"error": {"message": "The server had an error", "type": "server_error"}})
                self._json(500, err, {})
                return
            model = str(body.get("model", ""))
            if not body.get("stream"):
                out = _cohere_body(server.reply) if cohere else \
                    _openai_body(self.path, model, server.reply)
                self._json(200, out, {})
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            events = _cohere_events(server.reply) if cohere else \
                _openai_events(self.path, model, server.reply,
                               bool((body.get("stream_options") or {}).get("include_usage")))
            for event in events:
                self.wfile.write(event.encode())
                self.wfile.flush()
            self.close_connection = True

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that stops reading a stream early (a stop sequence hit) closes the
        # socket mid-write; that is expected here, not a server fault worth printing.
        return


@pytest.fixture
def model_server() -> Iterator[FakeModelServer]:
    """A fresh fake OpenAI/Cohere server on a free loopback port."""
    fake = FakeModelServer()
    httpd = _QuietServer(("127.0.0.1", 0), _handler(fake))
    fake.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield fake
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="session")
def local_provider() -> Any:
    """The real embedded model (SmolLM2-135M-Instruct on llama.cpp), loaded once."""
    from moments_core.providers.local import LocalProvider

    provider = LocalProvider()
    provider.load()
    return provider


@pytest.fixture
def agent_store(tmp_path: Path) -> Iterator[Any]:
    """A real SQLite log store in a temporary file."""
    from moments_core.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'agents.db'}")
    yield store
    store.close()


@pytest.fixture
def retry_sleeps() -> list[float]:
    """The waits ``fast_retry`` asked for, in order."""
    return []


@pytest.fixture
def fast_retry(retry_sleeps: list[float]) -> RetryPolicy:
    """Three attempts; waits are recorded in ``retry_sleeps`` instead of slept."""
    return RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01, sleep=retry_sleeps.append)
