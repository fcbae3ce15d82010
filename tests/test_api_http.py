"""Over real HTTP on loopback (uvicorn): streamed turns as server-sent events, and the
bearer token."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from moments_core.api import security
from moments_core.api.sse import parse_events
from moments_core.settings import Settings
from moments_core.store import LogStore

from .api_fixtures import TOKEN, LiveServer, participant, start, turn, with_lines
from .fixtures_store import free_port


def test_a_streamed_turn_sends_chunks_then_the_stored_snapshot(
    live_api: LiveServer, sqlite_store: LogStore
) -> None:
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        root = start(http)
        body = with_lines(root, participant("A flat white for Ana"))
        url = f"/v1/agents/web-1/moments/{root['moment_id']}?stream=true"
        with http.stream("POST", url, json=body) as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            text = "".join(r.iter_text())
    events = parse_events(text)
    names = [name for name, _ in events]
    assert names[-1] == "snapshot" and set(names[:-1]) == {"chunk"} and len(names) > 3
    said = "".join(data["text"] for name, data in events if name == "chunk")
    snapshot = events[-1][1]
    assert said == snapshot["moment"]["occurrences"][-1]["content"]["says"]
    assert said == "You said: A flat white for Ana"
    assert sqlite_store.get_snapshot(snapshot["id"]).to_dict() == snapshot


def test_a_bad_streamed_turn_is_refused_before_the_stream(live_api: LiveServer) -> None:
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        root = start(http)
        body = with_lines(root, {"kind": "Shout", "content": "x"})
        r = http.post(f"/v1/agents/web-1/moments/{root['moment_id']}?stream=true", json=body)
    assert r.status_code == 422 and "Shout" in r.json()["detail"]


@pytest.fixture
def guarded(api_settings: Settings, sqlite_store: LogStore) -> Any:
    from moments_core.api import create_app

    with LiveServer(create_app(replace(api_settings, api_token=TOKEN), sqlite_store)) as s:
        yield s


def test_the_token_is_required_when_set(guarded: LiveServer,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str | None, str]] = []
    real = security.secret_matches

    def spy(given: str | None, expected: str) -> bool:
        compared.append((given, expected))
        return real(given, expected)

    monkeypatch.setattr(security, "secret_matches", spy)
    with httpx.Client(base_url=guarded.url, timeout=10) as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                        {"Authorization": f"Basic {TOKEN}"}):
            r = http.get("/v1/variants", headers=headers)
            assert r.status_code == 401, headers
            assert r.headers["www-authenticate"] == "Bearer"
            assert TOKEN not in r.text
        r = http.post("/v1/agents/web-1/moments", json={"id": "echo", "variant": "01"})
        assert r.status_code == 401
        assert http.get("/health").status_code == 200  # health checks need no token

        ok = {"Authorization": f"Bearer {TOKEN}"}
        assert http.get("/v1/variants", headers=ok).status_code == 200
        root = http.post("/v1/agents/web-1/moments", json={"id": "echo", "variant": "01"},
                         headers=ok).json()
        answer = http.post(f"/v1/agents/web-1/moments/{root['moment_id']}", headers=ok,
                           json=with_lines(root, participant("hi")))
        assert answer.status_code == 200 and TOKEN not in answer.text
    assert ("wrong", TOKEN) in compared and (TOKEN, TOKEN) in compared


def test_no_token_needed_when_none_is_set(live_api: LiveServer) -> None:
    with httpx.Client(base_url=live_api.url, timeout=10) as http:
        assert http.get("/v1/variants").status_code == 200
        root = start(http)
        assert turn(http, root, participant("hi"))["moment"]["occurrences"][-1]["kind"] == "Self"


def test_serve_api_command_serves_the_app(api_settings: Settings, tmp_path: Any) -> None:
    """``moments serve-api`` as a subprocess, configured through the environment."""
    import os
    import subprocess
    import sys

    from .fixtures_store import wait_for_port

    port = free_port()
    env = {**os.environ, "MOMENTS_CONFIGS_DIR": str(api_settings.configs_dir),
           "MOMENTS_DB_URL": api_settings.database_url, "MOMENTS_API_TOKEN": TOKEN}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moments_core.cli", "serve-api", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout=30)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            assert http.get("/health").json()["status"] == "ok"
            assert http.get("/v1/variants").status_code == 401
            listed = http.get("/v1/variants", headers={"Authorization": f"Bearer {TOKEN}"})
            assert {v["id"] for v in listed.json()} == {"echo"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert TOKEN.encode() not in out
