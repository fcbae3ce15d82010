"""The API as an attacker and a failing network try it, over real HTTP (uvicorn on
loopback): names that would escape the configs folder, limits checked before any work,
errors that map to a status and never leak a server path or a key."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from moments_core.api import create_app
from moments_core.api.sse import parse_events
from moments_core.datasets import FORMATS
from moments_core.datasets.export import render_bytes
from moments_core.datasets.walk import ExportFilters
from moments_core.settings import Settings
from moments_core.store import LogStore

from .api_fixtures import TOKEN, LiveServer, participant, start, stored_counts, turn, with_lines
from .fixtures_store import free_port

EVIL = """\
kind: Agent
id: evil
variant: x
provider: instant
init: |
  Instructions: '''Give away free coffee.'''
  Begin.
"""


# --- item 7: names never become paths unchecked ------------------------------------------
@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A config that exists outside the configs folder, where '../outside/evil' points."""
    folder = tmp_path / "outside"
    folder.mkdir()
    for name in ("evil-x-y.yaml", "evil-echo-01.yaml", "x-evil-y.yaml"):
        (folder / name).write_text(EVIL)
    return folder


@pytest.mark.parametrize("body", [
    {"kind": "../outside/evil", "id": "x", "variant": "y"},
    {"kind": "Agent", "id": "../outside/x", "variant": "y"},
    {"kind": "Agent", "id": "echo", "variant": "01/../../outside/evil-echo-01"},
    {"kind": "..", "id": "outside", "variant": "y"},
    {"kind": ".hidden", "id": "echo", "variant": "01"},
    {"kind": "Agent", "id": "echo", "variant": "a" * 65},
    {"kind": "Agent\x00", "id": "echo", "variant": "01"},
    {"kind": "Agent", "id": "echo", "variant": "01\n"},
])
def test_a_name_that_is_not_a_name_is_refused_over_http(
    live_api: LiveServer, sqlite_store: LogStore, outside: Path, tmp_path: Path,
    body: dict[str, str],
) -> None:
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        r = http.post("/v1/agents/i/moments", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "body." in detail and ("name" in detail or "characters" in detail
                                  or "start with" in detail), detail
    assert str(tmp_path) not in r.text and "/configs" not in r.text
    assert stored_counts(sqlite_store) == (0, 0)
    assert sqlite_store.list_config_versions() == []


def test_missing_and_outside_files_answer_alike(live_api: LiveServer, outside: Path) -> None:
    """Whether a file exists outside the folder must not show: an unknown variant and one
    whose file sits elsewhere get the same status and the same kind of message."""
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        missing = http.post("/v1/agents/i/moments", json={"id": "nosuch", "variant": "y"})
        elsewhere = http.post("/v1/agents/i/moments", json={"kind": "x", "id": "evil",
                                                            "variant": "y"})
    assert missing.status_code == elsewhere.status_code == 404
    assert missing.json()["detail"].replace("Agent-nosuch-y", "N") == \
        elsewhere.json()["detail"].replace("x-evil-y", "N")


def test_a_link_out_of_the_configs_folder_is_not_followed(
    api_settings: Settings, sqlite_store: LogStore, outside: Path,
) -> None:
    (api_settings.configs_dir / "Agent-evil-x.yaml").symlink_to(outside / "evil-x-y.yaml")
    with LiveServer(create_app(api_settings, sqlite_store)) as server, \
            httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/v1/agents/i/moments", json={"id": "evil", "variant": "x"})
        names = [v["id"] for v in http.get("/v1/variants").json()]
    assert r.status_code == 404, r.text
    assert "evil" not in names
    assert sqlite_store.list_config_versions() == []


def test_a_broken_config_is_reported_without_server_paths(
    api_settings: Settings, sqlite_store: LogStore, tmp_path: Path,
) -> None:
    (api_settings.configs_dir / "Agent-echo-03.yaml").write_text(
        EVIL.replace("id: evil", "id: echo").replace("variant: x", 'variant: "03"')
        .replace("provider: instant", "provider: nosuch"))
    with LiveServer(create_app(api_settings, sqlite_store)) as server, \
            httpx.Client(base_url=server.url, timeout=10) as http:
        r = http.post("/v1/agents/i/moments", json={"id": "echo", "variant": "03"})
    assert r.status_code == 503, r.text
    assert "provider" in r.json()["detail"]
    assert str(tmp_path) not in r.text


# --- item 8: limits before work ----------------------------------------------------------
@pytest.fixture
def guarded(api_settings: Settings, sqlite_store: LogStore) -> Iterator[LiveServer]:
    settings = replace(api_settings, api_token=TOKEN, api_max_body=50_000)
    with LiveServer(create_app(settings, sqlite_store)) as server:
        yield server


def test_the_token_is_checked_before_the_body_is_read(guarded: LiveServer) -> None:
    url = "/v1/agents/web-1/moments/m-1"
    with httpx.Client(base_url=guarded.url, timeout=10) as http:
        r = http.post(url, content=b'{"id": "x", "moment": ',
                      headers={"content-type": "application/json"})
        assert r.status_code == 401, r.text  # malformed JSON without a token: 401, not 422
        assert r.headers["www-authenticate"] == "Bearer"
        r = http.post(url, content=b"{}", headers={"Authorization": "Bearer nope"})
        assert r.status_code == 401 and TOKEN not in r.text

        # A 100 MB body: answered from the headers, long before it could be sent.
        def endless() -> Iterator[bytes]:
            for _ in range(100):
                yield b"x" * 1_000_000

        started = time.perf_counter()
        r = http.post(url, content=endless(), headers={"content-type": "application/json"})
        assert r.status_code == 401
        assert time.perf_counter() - started < 2.0


def test_a_body_over_the_cap_is_413_and_nothing_is_stored(
    guarded: LiveServer, sqlite_store: LogStore
) -> None:
    ok = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(base_url=guarded.url, timeout=10, headers=ok) as http:
        root = start(http)
        before = stored_counts(sqlite_store)
        url = f"/v1/agents/web-1/moments/{root['moment_id']}"
        big = with_lines(root, participant("x" * 60_000))
        r = http.post(url, json=big)
        assert r.status_code == 413, r.text
        assert "MOMENTS_API_MAX_BODY" in r.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            data = json.dumps(big).encode()
            for i in range(0, len(data), 8192):
                yield data[i : i + 8192]

        r = http.post(url, content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413, r.text
        assert stored_counts(sqlite_store) == before
        small = turn(http, root, participant("A flat white"))  # under the cap: fine
    assert small["moment"]["occurrences"][-1]["kind"] == "Self"


def test_a_line_over_the_line_cap_is_422_naming_the_occurrence(
    live_api: LiveServer, sqlite_store: LogStore
) -> None:
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        root = start(http)
        before = stored_counts(sqlite_store)
        body = with_lines(root, participant("fine"), participant("y" * 40_000))
        r = http.post(f"/v1/agents/web-1/moments/{root['moment_id']}", json=body)
    assert r.status_code == 422, r.text
    index = len(root["moment"]["occurrences"]) + 1
    detail = r.json()["detail"]
    assert f"moment.occurrences[{index}]" in detail and "MOMENTS_MAX_LINE_CHARS" in detail
    assert stored_counts(sqlite_store) == before


# --- item 10: every error is a status, never a 500 ---------------------------------------
def _nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_bad_text_and_deep_values_are_4xx_and_nothing_is_stored(
    live_api: LiveServer, sqlite_store: LogStore
) -> None:
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        root = start(http)
        before = stored_counts(sqlite_store)
        url = f"/v1/agents/web-1/moments/{root['moment_id']}"
        surrogate = json.dumps(with_lines(root, participant("PLACEHOLDER"))).replace(
            "PLACEHOLDER", "\\ud800")
        r = http.post(url, content=surrogate.encode(),
                      headers={"content-type": "application/json"})
        assert r.status_code == 422 and "surrogate" in r.json()["detail"], r.text
        bad_id = json.dumps({**with_lines(root, participant("hi")), "id": "PLACEHOLDER"})
        r = http.post(url, content=bad_id.replace("PLACEHOLDER", "x\\ud800").encode(),
                      headers={"content-type": "application/json"})
        assert r.status_code == 422 and "body.id" in r.json()["detail"], r.text
        r = http.post(url, json=with_lines(root, participant("a\x00b")))
        assert r.status_code == 422 and "NUL" in r.json()["detail"], r.text
        deep = with_lines(root, {"kind": "Context", "content": _nested(400)},
                          participant("hi"))
        r = http.post(url, json=deep)
        assert r.status_code == 422 and "nested" in r.json()["detail"], r.text
        for path in ("/v1/snapshots/%00", "/v1/snapshots/%00/mdl", "/v1/moments/%00/tree",
                     "/v1/snapshots/%ED%A0%80", "/v1/moments/a%0Ab/tree"):
            r = http.get(path)
            assert 400 <= r.status_code < 500, (path, r.status_code, r.text)
        assert stored_counts(sqlite_store) == before


def test_an_unexpected_error_is_a_bare_500_and_the_log_has_it_scrubbed(
    api_settings: Settings, sqlite_store: LogStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = "sk-secret-4242-abcdef"
    settings = replace(api_settings, openai_api_key=secret)
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            self.format(record)
            records.append(record)

    handler = Keep()
    logging.getLogger("moments.api").addHandler(handler)
    app = create_app(settings, sqlite_store)

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"boom with {secret} inside")

    monkeypatch.setattr(sqlite_store, "get_snapshot", broken)
    try:
        with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=10) as http:
            r = http.get("/v1/snapshots/abc")
    finally:
        logging.getLogger("moments.api").removeHandler(handler)
    assert r.status_code == 500
    assert r.json()["detail"].startswith("internal error (reference ")
    assert "boom" not in r.text and "Traceback" not in r.text
    logged = "\n".join(f"{rec.getMessage()}\n{rec.exc_text}" for rec in records)
    assert "RuntimeError" in logged and "boom with *** inside" in logged
    assert secret not in logged


# --- item 11: a key echoed by the model server never reaches the log, the DB, an export ----
KEY = "sk-live-0123456789abcdefECHO"


class EchoingOpenAI(BaseHTTPRequestHandler):
    """OpenAI's streamed chat completion: two chunks, then an error event that echoes
    the caller's key, as a misbehaving proxy might."""

    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        key = self.headers.get("authorization", "").removeprefix("Bearer ")
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        for piece in ('Self: "Good ', "morning"):
            chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0,
                     "model": "gpt-test",
                     "choices": [{"index": 0, "delta": {"content": piece},
                                  "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        error = {"error": {"message": f"upstream failed; your key {key} is over quota",
                           "type": "server_error", "code": None}}
        self.wfile.write(f"data: {json.dumps(error)}\n\n".encode())
        self.wfile.flush()


@pytest.fixture
def echo_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), EchoingOpenAI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


OPENAI_CONFIG = """\
kind: Agent
id: leaky
variant: "01"
provider: openai
model: gpt-test
base_url: {url}
api_key: ${{MOMENTS_TEST_LEAKY_KEY}}
participant: Customer
init: |
  Instructions: '''You are a barista.'''
  Begin.
"""


def test_a_key_echoed_mid_stream_never_reaches_log_db_or_exports(
    api_settings: Settings, sqlite_store: LogStore, echo_server: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MOMENTS_TEST_LEAKY_KEY", KEY)
    (api_settings.configs_dir / "Agent-leaky-01.yaml").write_text(
        OPENAI_CONFIG.format(url=echo_server))
    buffer: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            buffer.append(self.format(record))

    handler = Keep(level=logging.DEBUG)
    watched = [logging.getLogger(n) for n in ("", "uvicorn", "uvicorn.error", "moments.api")]
    for logger in watched:
        logger.addHandler(handler)
    try:
        with LiveServer(create_app(api_settings, sqlite_store)) as server, \
                httpx.Client(base_url=server.url, timeout=20) as http:
            r = http.post("/v1/agents/web-1/moments", json={"id": "leaky", "variant": "01"})
            root = r.json()
            url = f"/v1/agents/web-1/moments/{root['moment_id']}"
            r = http.post(url, json=with_lines(root, participant("A latte, please")))
            assert r.status_code == 502, r.text
            saved = r.json()["participant_snapshot_id"]
            assert saved and sqlite_store.has_snapshot(saved)
            assert "server_error" in r.text or "failed" in r.text
            streamed = http.post(url + "?stream=true",
                                 json=with_lines(root, participant("An espresso")))
            events = parse_events(streamed.text)
            assert events[-1][0] == "error" and events[-1][1]["status"] == 502, events
            texts = [r.text, streamed.text]
    finally:
        for logger in watched:
            logger.removeHandler(handler)
    logging.getLogger("moments.test").error("echo: %s", KEY)  # the scrubber sees all records
    out, err = capfd.readouterr()
    exports = [render_bytes(sqlite_store, name, ExportFilters())[0] for name in FORMATS]
    database = b"".join(p.read_bytes() for p in tmp_path.glob("moments.db*"))
    assert exports and database
    assert KEY not in "\n".join([*buffer, *texts, out, err])
    assert KEY.encode() not in database
    assert all(KEY.encode() not in blob for blob in exports)


# --- item 10: S3 down is a 503 that says what was kept ------------------------------------
class AnswerAfter(BaseHTTPRequestHandler):
    """An OpenAI-compatible model that runs ``before_answer`` (bring S3 down) and then
    answers, streamed."""

    before_answer: Any = None

    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        type(self).before_answer()
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": 'Self: "Coming up."'},
                              "finish_reason": "stop"}]}
        self.wfile.write(f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode())


def test_s3_down_is_503_with_the_saved_participant_line(
    api_settings: Settings, s3_settings: Settings, moto_server: Any,
) -> None:
    from moments_core.store.s3 import S3Store

    settings = replace(s3_settings, configs_dir=api_settings.configs_dir,
                       s3_connect_timeout_s=0.5, s3_read_timeout_s=0.5, s3_max_attempts=1)
    store = S3Store(settings)
    kept: list[str] = []
    model = ThreadingHTTPServer(("127.0.0.1", free_port()), AnswerAfter)
    threading.Thread(target=model.serve_forever, daemon=True).start()
    (settings.configs_dir / "Agent-slow-01.yaml").write_text(OPENAI_CONFIG.format(
        url=f"http://127.0.0.1:{model.server_address[1]}/v1").replace("leaky", "slow"))
    try:
        with LiveServer(create_app(settings, store)) as server, \
                httpx.Client(base_url=server.url, timeout=30) as http:
            root = http.post("/v1/agents/web-1/moments",
                             json={"id": "slow", "variant": "01"}).json()

            def outage() -> None:
                kept.extend(store.children(root["id"]))  # the participant's line, saved
                moto_server.stop()

            AnswerAfter.before_answer = outage
            r = http.post(f"/v1/agents/web-1/moments/{root['moment_id']}",
                          json=with_lines(root, participant("A latte")))
            assert r.status_code == 503, r.text
            assert r.headers.get("retry-after")
            assert len(kept) == 1 and r.json()["participant_snapshot_id"] == kept[0]
            assert kept[0] in r.json()["detail"]
            # Down from the start: 503, quickly, and no endpoint or traceback in the answer.
            started = time.perf_counter()
            r = http.post("/v1/agents/web-1/moments", json={"id": "slow", "variant": "01"})
            assert r.status_code == 503, r.text
            assert time.perf_counter() - started < 10
            assert "127.0.0.1" not in r.text and "Traceback" not in r.text
    finally:
        moto_server.start()
        model.shutdown()
        model.server_close()
        store.close()


# --- item 13: a resent turn is one turn -----------------------------------------------------
def _children_of(store: LogStore, snapshot_id: str) -> list[str]:
    return store.children(snapshot_id)


def test_a_resent_turn_is_answered_once(live_api: LiveServer, sqlite_store: LogStore) -> None:
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        root = start(http)
        body = with_lines(root, participant("A flat white"))
        url = f"/v1/agents/web-1/moments/{root['moment_id']}"
        first = http.post(url, json=body).json()
        counts = stored_counts(sqlite_store)
        again = http.post(url, json=body).json()  # the client timed out and sent it again
        streamed = parse_events(http.post(url + "?stream=true", json=body).text)
        assert again == first and streamed[-1] == ("snapshot", first)
        assert stored_counts(sqlite_store) == counts
        assert len(_children_of(sqlite_store, root["id"])) == 1
        # Other words under the same snapshot are a new branch, as an edit is.
        other = turn(http, root, participant("An espresso"))
        assert other["id"] != first["id"]
        assert len(_children_of(sqlite_store, root["id"])) == 2


def test_without_a_key_the_same_words_later_are_a_new_message(
    api_settings: Settings, sqlite_store: LogStore,
) -> None:
    with LiveServer(create_app(replace(api_settings, api_dedup_seconds=0), sqlite_store)) as s, \
            httpx.Client(base_url=s.url, timeout=10) as http:
        root = start(http)
        a = turn(http, root, participant("Hello"))
        b = turn(http, root, participant("Hello"))
    assert a["id"] != b["id"] and len(_children_of(sqlite_store, root["id"])) == 2


def test_an_idempotency_key_makes_any_resend_the_same_turn(
    api_settings: Settings, sqlite_store: LogStore,
) -> None:
    with LiveServer(create_app(replace(api_settings, api_dedup_seconds=0), sqlite_store)) as s, \
            httpx.Client(base_url=s.url, timeout=10) as http:
        root = start(http)
        url = f"/v1/agents/web-1/moments/{root['moment_id']}"
        body = with_lines(root, participant("Two cortados"))
        key = {"Idempotency-Key": "order-7f1c"}
        first = http.post(url, json=body, headers=key).json()
        again = http.post(url, json=body, headers=key).json()
        assert again == first
        counts = stored_counts(sqlite_store)
        r = http.post(url, json=with_lines(root, participant("Three cortados")), headers=key)
        assert r.status_code == 422 and "Idempotency-Key" in r.json()["detail"]
        r = http.post(url, json=body, headers={"Idempotency-Key": "x\ty"})
        assert r.status_code == 422
        assert stored_counts(sqlite_store) == counts
        fresh = http.post(url, json=body, headers={"Idempotency-Key": "order-8a2d"}).json()
        assert fresh["id"] != first["id"]  # a new key is a new turn, same words or not
        stored = sqlite_store.get_snapshot(first["previous_snapshot_id"]).annotations
    assert "order-7f1c" not in json.dumps(stored)  # only a hash of the key is kept
    assert len(stored["idempotency_key"]) == 32


def test_a_resend_after_a_failed_answer_retries_under_the_same_line(
    api_settings: Settings, sqlite_store: LogStore, echo_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MOMENTS_TEST_LEAKY_KEY", KEY)
    (api_settings.configs_dir / "Agent-leaky-01.yaml").write_text(
        OPENAI_CONFIG.format(url=echo_server))
    with LiveServer(create_app(api_settings, sqlite_store)) as server, \
            httpx.Client(base_url=server.url, timeout=20) as http:
        root = http.post("/v1/agents/web-1/moments", json={"id": "leaky", "variant": "01"}).json()
        url = f"/v1/agents/web-1/moments/{root['moment_id']}"
        body = with_lines(root, participant("A mocha"))
        first = http.post(url, json=body)
        second = http.post(url, json=body)
    assert first.status_code == second.status_code == 502
    saved = first.json()["participant_snapshot_id"]
    assert _children_of(sqlite_store, root["id"]) == [saved]  # the line is stored once


def test_the_editor_and_the_cli_use_the_same_name_rule(
    sqlite_store: LogStore, api_settings: Settings,
) -> None:
    from typer.testing import CliRunner

    from moments_core.agents.editor import save_as_variant
    from moments_core.agents.names import InvalidName
    from moments_core.cli import app

    fields = {"kind": "Agent", "id": "echo", "variant": "01", "provider": "instant",
              "init": "Begin.\n"}
    for bad in ("../../outside/evil", ".hidden", "a/b", "x" * 65, ""):
        with pytest.raises(InvalidName):
            save_as_variant(sqlite_store, fields, bad)
    assert sqlite_store.list_config_versions() == []
    result = CliRunner().invoke(app, ["chat", "../outside/evil", "x", "y"])
    assert result.exit_code == 2 and "kind" in result.output and "Traceback" not in result.output
