"""Fixtures and helpers for the HTTP API tests (imported by the test_api_* modules).

The app runs over the real SQLite store (``sqlite_store``) with agent variants that use
the ``instant`` provider, from a temporary configs folder. ``live_api`` serves it with
uvicorn on a free loopback port, for tests where real HTTP matters (streaming, auth).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from moments_core.api import create_app
from moments_core.settings import Settings
from moments_core.store import LogStore

from .fixtures_store import free_port

CONFIG = """\
mdl: "0.3"
kind: Agent
id: echo
variant: "{variant}"
description: Echoes the customer at once (API tests).
provider: instant
mode: {mode}
participant: Customer
init: |
  Instructions: '''
  You are a friendly barista at the cafe 'ISO Ikigai'.
  '''
  Begin.
"""
TOKEN = "api-token-7f3c9d2e1b"  # made up; tests check it never shows in a response


def write_configs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Agent-echo-01.yaml").write_text(CONFIG.format(variant="01", mode="chat"))
    (folder / "Agent-echo-02.yaml").write_text(CONFIG.format(variant="02", mode="completion"))
    return folder


@pytest.fixture
def api_settings(tmp_path: Path, sqlite_url: str) -> Settings:
    return replace(Settings(), data_dir=tmp_path, db_url=sqlite_url,
                   configs_dir=write_configs(tmp_path / "configs"), api_token="")


def make_client(settings: Settings, store: LogStore) -> TestClient:
    return TestClient(create_app(settings, store), raise_server_exceptions=False)


@pytest.fixture
def client(api_settings: Settings, sqlite_store: LogStore) -> Iterator[TestClient]:
    with make_client(api_settings, sqlite_store) as c:
        yield c


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_api(api_settings: Settings, sqlite_store: LogStore) -> Iterator[LiveServer]:
    with LiveServer(create_app(api_settings, sqlite_store)) as server:
        yield server


# --- helpers ---------------------------------------------------------------------------
def participant(says: str, name: str = "Customer", identifier: str = "") -> dict[str, Any]:
    """A participant line as the older web client wrote it."""
    return {"kind": "Participant",
            "content": {"name": name, "identifier": identifier, "emotion": "", "says": says}}


def start(client: Any, instance: str = "web-1", variant: str = "01") -> dict[str, Any]:
    r = client.post(f"/v1/agents/{instance}/moments", json={"id": "echo", "variant": variant})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def with_lines(snapshot: dict[str, Any], *lines: dict[str, Any]) -> dict[str, Any]:
    """The older client's turn body: the snapshot it holds with lines appended."""
    return {"id": snapshot["id"], "previous_snapshot_id": snapshot["previous_snapshot_id"],
            "moment": {"id": snapshot["moment"]["id"],
                       "occurrences": [*snapshot["moment"]["occurrences"], *lines]}}


def turn(client: Any, snapshot: dict[str, Any], *lines: dict[str, Any],
         instance: str = "web-1") -> dict[str, Any]:
    r = client.post(f"/v1/agents/{instance}/moments/{snapshot['moment_id']}",
                    json=with_lines(snapshot, *lines))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def stored_counts(store: LogStore) -> tuple[int, int]:
    """(moments, snapshots) in the store, deleted ones included."""
    moments = store.list_moments(include_deleted=True)
    return len(moments), sum(m.snapshots for m in moments)
