"""The S3 store under load and under faults, over real HTTP (moto's server, and sockets
that accept and never answer): O(1) requests per save, bounded waits, a mirror that
never makes a caller wait for S3."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from moments_core.settings import Settings
from moments_core.store.base import StoreUnavailable
from moments_core.store.mirror import MirroredStore
from moments_core.store.s3 import S3Store
from moments_core.store.s3client import give_up_after_s, make_client
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation


class RequestCounter:
    """Counts the HTTP requests a boto3 client sends (retries included), by operation."""

    def __init__(self, client: Any) -> None:
        self.seen: Counter[str] = Counter()
        client.meta.events.register("before-send.s3", self._count)

    def _count(self, request: Any, **_: Any) -> None:
        self.seen[request.context.get("operation_name", "?")] += 1

    def take(self) -> Counter[str]:
        seen, self.seen = self.seen, Counter()
        return seen


def test_a_save_costs_the_same_few_requests_at_turn_1_and_turn_50(s3_settings: Settings) -> None:
    store = S3Store(s3_settings)
    counter = RequestCounter(store.client)
    info = agent_info(str(uuid.uuid4()))
    per_save: list[Counter[str]] = []
    for snap in conversation(50, info):
        counter.take()
        store.save_snapshot(snap, info)
        per_save.append(counter.take())
    totals = [sum(c.values()) for c in per_save]
    assert totals[0] <= 3 and totals[-1] <= 3, per_save[-1]
    assert totals[0] == totals[1] == totals[-1] == max(totals)  # flat: same at turn 1 and 50
    assert not any(c["ListObjectsV2"] for c in per_save)  # nothing listed on the write path
    fresh = S3Store(s3_settings)
    assert fresh.get_snapshot(snap.id).to_mdl() == snap.to_mdl()


def test_the_mirror_copies_each_snapshot_in_the_same_few_requests(
    s3_settings: Settings,
) -> None:
    s3 = S3Store(s3_settings, client=make_client(s3_settings, fail_fast=True))
    counter = RequestCounter(s3.client)
    mirror = MirroredStore(SqlStore(s3_settings.database_url), s3, background=False)
    info = agent_info(str(uuid.uuid4()))
    per_copy = []
    for snap in conversation(30, info):
        mirror.save_snapshot(snap, info)
        counter.take()
        assert mirror.drain(force=True) == 1
        per_copy.append(sum(counter.take().values()))
    assert max(per_copy) <= 3 and per_copy[-1] == per_copy[1]
    assert S3Store(s3_settings).get_snapshot(snap.id).to_mdl() == snap.to_mdl()
    mirror.close()


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_an_endpoint_that_never_answers_gives_up_in_bounded_time(
    s3_settings: Settings, silent_endpoint: str
) -> None:
    assert give_up_after_s(Settings()) < 15  # the defaults
    settings = replace(s3_settings, s3_endpoint_url=silent_endpoint, s3_connect_timeout_s=0.3,
                       s3_read_timeout_s=0.4, s3_max_attempts=2)
    store = S3Store(settings)
    info = agent_info("m-silent")
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="unavailable"):
        store.save_snapshot(conversation(1, info)[0], info)
    waited = time.monotonic() - t0
    assert waited < give_up_after_s(settings)
    assert waited >= 0.8  # it did wait for an answer, twice


def test_a_save_during_a_drain_of_200_queued_snapshots_returns_fast(
    s3_settings: Settings,
) -> None:
    url = s3_settings.database_url
    queued = SqlStore(url, outbox=True)  # another process of the mirror, S3 unreachable
    for i in range(20):
        info = agent_info(str(uuid.uuid4()))
        for snap in conversation(5, info, seed=i):
            queued.save_snapshot(snap, info)
    s3 = S3Store(s3_settings, client=make_client(s3_settings, fail_fast=True))
    mirror = MirroredStore(SqlStore(url), s3, background=False)
    assert mirror.pending() == 200
    drainer = threading.Thread(target=mirror.drain, kwargs={"force": True})
    drainer.start()
    deadline = time.monotonic() + 10
    while mirror.pending() == 200 and time.monotonic() < deadline:
        time.sleep(0.005)
    info = agent_info(str(uuid.uuid4()))
    slowest = 0.0
    for snap in conversation(2, info):
        t0 = time.perf_counter()
        mirror.save_snapshot(snap, info)
        slowest = max(slowest, time.perf_counter() - t0)
    still_draining = mirror.pending() > 4
    drainer.join(timeout=60)
    assert still_draining, "the drain ended before the saves: nothing measured"
    assert slowest < 1.0, f"a save took {slowest:.2f} s during the drain"
    assert mirror.wait_drained(30)
    assert S3Store(s3_settings).get_snapshot(snap.id).to_mdl() == snap.to_mdl()
    mirror.close()


def test_the_background_thread_copies_what_a_save_queued(s3_settings: Settings) -> None:
    s3 = S3Store(s3_settings, client=make_client(s3_settings, fail_fast=True))
    mirror = MirroredStore(SqlStore(s3_settings.database_url), s3)
    info = agent_info(str(uuid.uuid4()))
    snaps = conversation(2, info)
    for snap in snaps:
        mirror.save_snapshot(snap, info)
    deadline = time.monotonic() + 10
    while mirror.pending() and time.monotonic() < deadline:
        time.sleep(0.02)  # no kick: the save itself woke the thread
    assert mirror.pending() == 0
    assert [s.id for s in S3Store(s3_settings).leaves(info.moment_id)] == [snaps[-1].id]
    mirror.close()
