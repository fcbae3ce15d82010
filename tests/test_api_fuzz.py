"""Fuzzing every route: no input gets a 5xx, and a refused request (4xx) stores nothing.

Two generators: schemathesis, from the OpenAPI schema (bodies, paths, headers, valid and
not), and our own, which puts nasty strings (lone surrogates, NUL and control characters,
path escapes, older-form Identification bait, very long and deeply nested values, RTL
marks) into every field of the bodies the clients actually send, and into the path ids.
Bounded in examples so the whole file stays under a minute.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moments_core.api import create_app
from moments_core.settings import Settings
from moments_core.store import LogStore

from .api_fixtures import TOKEN, participant, start, stored_counts, turn

AUTH = {"Authorization": f"Bearer {TOKEN}"}

NASTY_PIECES = [
    "\ud800", "\udfff", "\x00", "\x01", "\x1b[31m", "\r\n", "\n", "\u2028", "\u202e", "\ufeff",
    "../", "..\\", "%00", "%2e%2e%2f", "/etc/passwd", "C:\\Windows", "'''", "```", '"""', '"',
    "\\", "\\\\", "(", ")", "[", "]", ":", "#", "is now ", "Self: ", "Instructions: ",
    "${OPENAI_API_KEY}", "{{7*7}}", "<script>", "![x](http://127.0.0.1:9/t.png)", "😊", "e\u0301",
    "A" * 33_000, "is now " * 500, "(" * 1_000, "\\\"" * 1_000,
]
nasty = st.lists(st.one_of(st.sampled_from(NASTY_PIECES), st.text(max_size=8)),
                 min_size=1, max_size=4).map("".join)


def deep(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


nasty_values = st.one_of(
    nasty, st.integers(), st.none(), st.booleans(), st.floats(allow_nan=True),
    st.sampled_from([deep(70), deep(400), {"a": deep(100)}, [nasty] * 0]),
    st.dictionaries(nasty, nasty, max_size=3), st.lists(nasty, max_size=3),
)


@pytest.fixture
def guarded_settings(api_settings: Settings) -> Settings:
    return replace(api_settings, api_token=TOKEN)


@pytest.fixture
def app_client(guarded_settings: Settings, sqlite_store: LogStore) -> Iterator[TestClient]:
    app = create_app(guarded_settings, sqlite_store)
    with TestClient(app, headers=AUTH, raise_server_exceptions=False) as c:
        yield c


def _check(client: TestClient, store: LogStore, send: Callable[[], Any]) -> int:
    """Send, and check: no 5xx; a 4xx left the store as it was."""
    before = stored_counts(store)
    r = send()
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if 400 <= r.status_code < 500:
        assert stored_counts(store) == before, (r.status_code, r.text[:300])
        assert "Traceback" not in r.text
    return int(r.status_code)


def test_schemathesis_over_every_route(guarded_settings: Settings,
                                       sqlite_store: LogStore) -> None:
    app = create_app(guarded_settings, sqlite_store)
    with TestClient(app, headers=AUTH) as c:  # something stored, so some reads find it
        turn(c, start(c), participant("A latte"))
    schema: Any = schemathesis.openapi.from_asgi("/openapi.json", app)
    labels: list[str] = []
    statuses: list[int] = []
    for found in schema.get_all_operations():
        operation = found.ok()
        labels.append(operation.label)

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            before = stored_counts(sqlite_store)
            response = case.call(headers=AUTH)
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.path, response.status_code,
                                                response.text[:300])
            if 400 <= response.status_code < 500:
                assert stored_counts(sqlite_store) == before, (case.path, response.text[:300])

        check()
    assert "POST /v1/agents/{agent_instance_id}/moments/{moment_id}" in labels
    assert len(labels) >= 8 and any(400 <= s < 500 for s in statuses)


@given(says=nasty, name=nasty, identifier=nasty, emotion=nasty, kind=nasty,
       content=nasty_values)
@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_nasty_strings_in_every_field_of_a_turn(
    app_client: TestClient, sqlite_store: LogStore, says: str, name: str, identifier: str,
    emotion: str, kind: str, content: Any,
) -> None:
    root = _root(app_client, sqlite_store)
    url = f"/v1/agents/web-1/moments/{root['moment_id']}"
    bodies: list[Any] = [
        {"kind": "Participant", "content": {"name": name, "identifier": identifier,
                                            "emotion": emotion, "says": says}},
        {"kind": "Participant", "content": {"name": "Customer", "says": says}},
        {"kind": kind, "content": content},
        {"kind": "Context", "content": content},
        {"kind": "Identification", "content": {"kind": name, "name": says}},
    ]
    for i, line in enumerate(bodies):
        body = {"id": root["id"] if i else says, "moment": {"id": root["moment_id"],
                "occurrences": [*root["moment"]["occurrences"], line]}}
        raw = json.dumps(body).encode("utf-8", "surrogatepass")
        _check(app_client, sqlite_store, _poster(app_client, url, raw))
    start_body = json.dumps({"kind": name, "id": says, "variant": emotion})
    _check(app_client, sqlite_store, lambda: app_client.post(
        "/v1/agents/web-1/moments", content=start_body.encode("utf-8", "surrogatepass"),
        headers={"content-type": "application/json"}))
    legacy = {"id": None, "moment": {"occurrences": [{"kind": kind, "content": content}]},
              "__agent_info": {"id": name, "config": {"kind": kind, "id": says,
                                                     "variant": identifier}}}
    raw_legacy = json.dumps(legacy).encode("utf-8", "surrogatepass")
    _check(app_client, sqlite_store, lambda: app_client.post(
        f"/v1/snapshots/{quote(says[:150].encode('utf-8', 'surrogatepass'), safe='')}",
        content=raw_legacy, headers={"content-type": "application/json"}))


@given(ident=nasty)
@settings(max_examples=30, deadline=None, database=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_nasty_path_ids_on_every_read_route(app_client: TestClient, sqlite_store: LogStore,
                                            ident: str) -> None:
    part = quote(ident[:300].encode("utf-8", "surrogatepass"), safe="")
    for path in (f"/v1/snapshots/{part}", f"/v1/snapshots/{part}/mdl",
                 f"/v1/moments/{part}/tree", f"/v1/models/{part}"):
        status = _check(app_client, sqlite_store, _getter(app_client, path))
        assert status in (200, 404, 422), (path, status)


def _poster(client: TestClient, url: str, raw: bytes) -> Callable[[], Any]:
    return lambda: client.post(url, content=raw, headers={"content-type": "application/json"})


def _getter(client: TestClient, path: str) -> Callable[[], Any]:
    return lambda: client.get(path)


_ROOTS: dict[int, dict[str, Any]] = {}


def _root(client: TestClient, store: LogStore) -> dict[str, Any]:
    """One moment per store (hypothesis reruns the test body with the same fixtures)."""
    key = id(store)
    if key not in _ROOTS:
        _ROOTS[key] = start(client)
    return _ROOTS[key]
