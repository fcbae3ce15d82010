"""Helpers for the evals tests: instant-provider variants with scripted answers, and an
HTTP server speaking OpenAI's chat-completions wire format whose answer is a function of
the request (a judge with fixed verdicts, or a slow remote agent)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from moments_core.agents.config import AgentConfig
from moments_core.evals import EvalRunner, RunRecord, parse_suite
from moments_core.providers import InstantProvider, Prompt, Provider
from moments_core.settings import Settings
from moments_core.store import LogStore, open_store

from .fixtures_agents import _openai_body, _openai_events

CONFIG = """\
mdl: "0.3"
kind: Agent
id: bot
variant: "{variant}"
provider: {provider}
model: {model}
{base_url}mode: chat
participant: Customer
init: |
  Instructions: '''
  You are a barista at a test cafe.
  '''
  Begin.
"""
Reply = str | Callable[[str], str]


def write_config(folder: Path, variant: str, provider: str = "instant", model: str = "echo",
                 base_url: str = "") -> None:
    url = f"base_url: {base_url}\n" if base_url else ""
    (folder / f"Agent-bot-{variant}.yaml").write_text(
        CONFIG.format(variant=variant, provider=provider, model=model, base_url=url))


@dataclass
class EvalEnv:
    settings: Settings
    store: LogStore
    folder: Path

    def run(self, suite_yaml: str, replies: dict[str, Reply] | None = None,
            **kwargs: Any) -> RunRecord:
        """Run the suite; ``replies`` gives each variant's scripted answer (a text, or a
        function of the participant's last line)."""
        suite = parse_suite(suite_yaml, "<test suite>")
        for name in suite.variants:
            variant = name.split("-", 1)[1]
            if not (self.folder / f"Agent-bot-{variant}.yaml").exists():
                write_config(self.folder, variant)
        provider_for = None
        if replies is not None:
            table = dict(replies)

            def provider_for(c: AgentConfig) -> Provider:
                return scripted(table[c.variant])
        return EvalRunner(suite, self.store, suite_text=suite_yaml, settings=self.settings,
                          provider_for=provider_for, **kwargs).run()


def last_user(prompt: Prompt) -> str:
    users = [m.content for m in prompt.messages if m.role == "user"]
    return users[-1] if users else ""


def scripted(reply: Reply) -> InstantProvider:
    if isinstance(reply, str):
        return InstantProvider(reply)
    fn = reply
    return InstantProvider(lambda p: fn(last_user(p)))


@pytest.fixture
def eval_env(tmp_path: Path) -> Iterator[EvalEnv]:
    folder = tmp_path / "configs"
    folder.mkdir()
    settings = replace(Settings(), configs_dir=folder, data_dir=tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'evals.db'}", settings)
    yield EvalEnv(settings, store, folder)
    store.close()


# --- an OpenAI-format server whose answer depends on the request ---------------------------
@dataclass
class WireServer:
    answer: Callable[[dict[str, Any]], str]
    delay_s: float = 0.0
    seen: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def _handler(server: WireServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
            server.seen.append(body)
            if server.delay_s:
                time.sleep(server.delay_s)
            text = server.answer(body)
            model = str(body.get("model", ""))
            if not body.get("stream"):
                data = json.dumps(_openai_body(self.path, model, text)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            for event in _openai_events(self.path, model, text):
                self.wfile.write(event.encode())
            self.wfile.flush()
            self.close_connection = True

    return Handler


class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def start_wire_server(answer: Callable[[dict[str, Any]], str], delay_s: float = 0.0
                      ) -> tuple[WireServer, Callable[[], None]]:
    fake = WireServer(answer, delay_s)
    httpd = _Quiet(("127.0.0.1", 0), _handler(fake))
    fake.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()

    return fake, stop


def user_text(body: dict[str, Any]) -> str:
    return "\n".join(str(m.get("content", "")) for m in body.get("messages", [])
                     if m.get("role") == "user")
