"""The path index behind the OpenAI-compatible API, on every back end: SQLite, Postgres,
S3 (moto over HTTP), the SQL store mirrored to S3, and memory; found by key (no scan, no
S3 listing), kept across store objects, first writer wins; and a conversation through
the API on S3."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from moments_core.api import create_app
from moments_core.mdl import Participant, Self
from moments_core.settings import Settings
from moments_core.store import LogStore
from moments_core.store.migrate import current_revisions, head_revisions
from moments_core.store.mirror import MirroredStore
from moments_core.store.path_index import MemoryPathIndex, S3PathIndex, extend_key, path_keys
from moments_core.store.s3 import S3Store
from moments_core.store.sql import SqlStore

from .api_fixtures import LiveServer, write_configs


@pytest.fixture
def mirrored_store(s3_settings: Settings, s3_store: LogStore) -> Iterator[LogStore]:
    assert isinstance(s3_store, S3Store)
    store = MirroredStore(SqlStore(s3_settings.database_url), s3_store, background=False)
    yield store
    store.sql.close()


@pytest.fixture(params=["sqlite_store", "pg_store", "s3_store", "mirrored_store"])
def any_store(request: pytest.FixtureRequest) -> LogStore:
    store: LogStore = request.getfixturevalue(request.param)
    return store


def reopen(store: LogStore, request: pytest.FixtureRequest) -> LogStore:
    """A second store object over the same data (nothing cached in the first)."""
    if isinstance(store, MirroredStore):
        return SqlStore(store.sql.url)  # the mirror keeps its index in SQL
    if isinstance(store, SqlStore):
        return SqlStore(store.url)
    assert isinstance(store, S3Store)
    return S3Store(request.getfixturevalue("s3_settings"), bucket=store.bucket,
                   prefix=store.prefix)


def test_keys_chain_and_keep_scopes_apart() -> None:
    keys = path_keys("Agent-echo-01\0token\0ann", ["user\nHi", "assistant\nHello"])
    assert len(keys) == 2 and all(len(k) == 64 for k in keys)
    assert extend_key(keys[0], "assistant\nHello") == keys[1]
    assert path_keys("Agent-echo-01\0token\0bob", ["user\nHi"])[0] != keys[0]
    # Length-prefixed lines: moving a boundary gives another key.
    assert path_keys("s", ["ab", "c"])[-1] != path_keys("s", ["a", "bc"])[-1]


def test_the_index_finds_the_longest_stored_prefix_on_every_back_end(
        any_store: LogStore, request: pytest.FixtureRequest) -> None:
    keys = path_keys("scope", ["user\nHi", "assistant\nHello", "user\nA latte"])
    assert any_store.find_path(keys[::-1]) is None
    any_store.index_path(keys[0], "snap-1", "moment-1")
    any_store.index_path(keys[1], "snap-2", "moment-1")
    hit = any_store.find_path(keys[::-1])
    assert hit is not None and (hit.key, hit.snapshot_id) == (keys[1], "snap-2")
    any_store.index_path(keys[1], "snap-other", "moment-2")  # the first snapshot keeps it
    again = reopen(any_store, request)
    try:
        found = again.find_path([keys[1]])
        assert found is not None and (found.snapshot_id, found.moment_id) == (
            "snap-2", "moment-1")
    finally:
        again.close()


def test_the_sql_lookup_searches_the_primary_key(sqlite_store: LogStore) -> None:
    assert isinstance(sqlite_store, SqlStore)
    assert current_revisions(sqlite_store.engine) == head_revisions()  # 0004 applied
    with sqlite_store.engine.connect() as conn:
        plan = " ".join(str(r[-1]) for r in conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT snapshot_id FROM path_index WHERE path_key IN ('a', 'b')")))
    assert "SEARCH" in plan and "PRIMARY KEY" in plan, plan


class CountingClient:
    """A boto3 client that counts the calls made through it."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.calls.append(name)
        return getattr(self.inner, name)


def test_s3_reads_keys_by_name_and_never_lists(s3_store: LogStore) -> None:
    assert isinstance(s3_store, S3Store)
    assert isinstance(s3_store.path_index(), S3PathIndex)
    spy = CountingClient(s3_store.client)
    index = S3PathIndex(spy, s3_store.bucket, s3_store.prefix)
    keys = path_keys("scope", ["user\nHi", "assistant\nHello"])
    index.put(keys[0], "snap-1", "moment-1")
    assert index.find(keys[::-1]) is not None
    assert set(spy.calls) <= {"get_object", "put_object"}
    assert not any("list" in c for c in spy.calls)


def test_a_store_without_an_index_of_its_own_keeps_one_in_memory() -> None:
    index = MemoryPathIndex()
    index.put("k1", "s1", "m1")
    index.put("k1", "s2", "m2")
    hit = index.find(["k0", "k1"])
    assert hit is not None and hit.snapshot_id == "s1"


# --- a conversation through the API, stored on S3 ----------------------------------------------
@pytest.fixture
def s3_api(s3_settings: Settings, s3_store: LogStore) -> Iterator[httpx.Client]:
    settings = replace(s3_settings, configs_dir=write_configs(s3_settings.data_dir / "configs"),
                       api_token="")
    with LiveServer(create_app(settings, s3_store)) as server, httpx.Client(
            base_url=server.url, timeout=20) as client:
        yield client


def test_a_stateless_conversation_on_s3_is_one_moment_with_one_path(
        s3_api: httpx.Client, s3_store: LogStore) -> None:
    history: list[dict[str, str]] = []
    for line in ("Hi", "A latte", "Large"):
        history.append({"role": "user", "content": line})
        r = s3_api.post("/v1/chat/completions",
                        json={"model": "Agent-echo-01", "messages": history})
        assert r.status_code == 200, r.text
        history.append({"role": "assistant",
                        "content": r.json()["choices"][0]["message"]["content"]})
    again = s3_api.post("/v1/chat/completions",
                        json={"model": "Agent-echo-01", "messages": history[:1]})
    assert again.status_code == 200
    moments = s3_store.list_moments()
    assert len(moments) == 1 and moments[0].info.source == "openai-api"
    leaves = s3_store.leaves(moments[0].info.moment_id)
    assert len(leaves) == 2  # the three-turn path, and a sibling answer to the first line
    longest = max(leaves, key=lambda s: len(s.moment.occurrences))
    assert [(o.kind, o.says) for o in longest.moment.occurrences
            if isinstance(o, Participant | Self)] == [
        ("Participant", "Hi"), ("Self", "You said: Hi"), ("Participant", "A latte"),
        ("Self", "You said: A latte"), ("Participant", "Large"), ("Self", "You said: Large")]
