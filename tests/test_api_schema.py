"""The OpenAPI schema against the running app: schemathesis generates requests for every
operation (valid and invalid) and checks there is no 5xx and every response matches the
schema (status, content type, body). Bounded in examples so it stays well under a minute."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from moments_core.api import create_app
from moments_core.settings import Settings
from moments_core.store import LogStore

from .api_fixtures import TOKEN, participant, start, turn

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def api_schema(api_settings: Settings, sqlite_store: LogStore) -> Any:
    app = create_app(replace(api_settings, api_token=TOKEN), sqlite_store)
    with TestClient(app, headers=AUTH) as c:  # something stored, so some reads find it
        turn(c, start(c), participant("A latte"))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_every_operation_conforms_to_the_schema(api_schema: Any) -> None:
    tried: list[str] = []
    for found in api_schema.get_all_operations():
        operation = found.ok()
        tried.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            # Left out: "every schema-valid body is accepted". A turn's occurrences must
            # extend a stored snapshot and each must be valid MDL; JSON Schema cannot say
            # that, so such bodies are rightly refused with a 4xx.
            case.call_and_validate(headers=AUTH, excluded_checks=[positive_data_acceptance])

        check()
    assert len(tried) == 11, tried


def test_the_schema_describes_every_route(api_settings: Settings,
                                          sqlite_store: LogStore) -> None:
    open_app = create_app(api_settings, sqlite_store)
    assert "securitySchemes" not in TestClient(open_app).get("/openapi.json").json().get(
        "components", {})
    app = create_app(replace(api_settings, api_token=TOKEN), sqlite_store)
    doc = TestClient(app).get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths) == {
        "/health", "/v1/variants", "/v1/agents/{agent_instance_id}/moments",
        "/v1/agents/{agent_instance_id}/moments/{moment_id}", "/v1/moments/{moment_id}/tree",
        "/v1/snapshots/{snapshot_id}", "/v1/snapshots/{snapshot_id}/mdl",
        "/v1/models", "/v1/models/{model}", "/v1/chat/completions"}
    turn_op = paths["/v1/agents/{agent_instance_id}/moments/{moment_id}"]["post"]
    assert "text/event-stream" in turn_op["responses"]["200"]["content"]
    assert {"401", "404", "422", "502"} <= set(turn_op["responses"])
    body = doc["components"]["schemas"]["SnapshotIn"]
    assert {"id", "moment"} <= set(body["required"])
    legacy = doc["components"]["schemas"]["LegacySnapshotIn"]["properties"]
    assert "__agent_info" in legacy
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
