"""Fault figures (run: .venv/bin/python benchmarks/bench_faults.py).

One function per section, each returning its rows; ``main()`` runs them all and records
them together (``record`` rewrites docs/figures/bench_faults.md whole).

Log store (H1):
1. saves acknowledged vs present after 10 SIGKILLs of a SQLite writer;
2. saves acknowledged vs present after the Postgres concurrency run (threads + processes);
3. saves acknowledged vs present after a 15 s S3 outage through the mirror;
4. the slowest save while the mirror drains a backlog;
5. how long a save waits on an S3 endpoint that never answers (default settings).

API and parser (H2): sections added below the store's.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
from figures import record

from moments_core.settings import Settings
from moments_core.store.base import StoreUnavailable
from moments_core.store.mirror import MirroredStore
from moments_core.store.s3 import S3Store
from moments_core.store.s3client import give_up_after_s, make_client
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation

ROOT = Path(__file__).resolve().parent.parent
Rows = list[tuple[str, str]]


# --- the log store ------------------------------------------------------------------------
def sqlite_kills(kills: int = 10) -> Rows:
    """A writer saving chat turns is SIGKILLed 10 times (after a random number of saves,
    no chance to flush or checkpoint); every save it acknowledged must be readable."""
    rng = random.Random(12)  # kill points, repeatable
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "killed.db"
        url = f"sqlite:///{db}"
        SqlStore(url).close()
        acked: list[str] = []
        for seed in range(kills):
            proc = subprocess.Popen(
                [sys.executable, "-m", "tests.store_writer", url, "1000", "5", str(seed)],
                cwd=ROOT, stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            stop_after = rng.randint(20, 200)
            for n, line in enumerate(proc.stdout, start=1):
                acked.append(line.strip())
                if n >= stop_after:
                    break
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            acked.extend(proc.stdout.read().split())
        with sqlite3.connect(db) as conn:
            integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        reader = SqlStore(url)
        present = sum(reader.has_snapshot(sid) for sid in acked)
        reader.close()
    return [(f"SQLite, {kills} SIGKILLs: saves acknowledged / present",
             f"{len(acked):,} / {present:,}"),
            ("SQLite after the kills: integrity_check", integrity)]


def postgres_concurrency() -> Rows:
    """The race of the store's test: 8 threads + 4 processes on Postgres."""
    import psycopg

    from tests.store_writer import race_on

    user = next((u for u in ("postgres", "root") if _pg_ok(u)), None)
    if user is None:
        return [("Postgres race", "skipped (no server on 127.0.0.1:5432)")]
    schema = f"bench_faults_{uuid.uuid4().hex[:8]}"
    dsn = f"host=127.0.0.1 port=5432 dbname=test user={user}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        url = (f"postgresql+psycopg://{user}@127.0.0.1:5432/test"
               f"?options=-csearch_path%3D{schema}")
        t0 = time.perf_counter()
        acked, failures, _root = race_on(url)
        seconds = time.perf_counter() - t0
        reader = SqlStore(url, migrate=False)
        present = sum(reader.has_snapshot(sid) for sid, _ in acked)
        reader.close()
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    raw = sum(not f.startswith("moments_core.store") for f in failures)
    return [("Postgres race, 8 threads + 4 processes: saves acknowledged / present",
             f"{len(acked):,} / {present:,}"),
            ("Postgres race: errors reaching a caller (raw driver errors)",
             f"{len(failures)} ({raw})"),
            ("Postgres race: wall time", f"{seconds:.1f} s")]


def _pg_ok(user: str) -> bool:
    import psycopg

    try:
        psycopg.connect(f"host=127.0.0.1 port=5432 dbname=test user={user}",
                        connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


class Outage:
    """A TCP proxy in front of moto's S3 server that can go down (connections refused
    and open ones cut) and come back, without moto losing its objects."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.down = threading.Event()
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(128)
        self.port = int(self.server.getsockname()[1])
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.down.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self.lock:
                self.open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def fail(self) -> None:
        self.down.set()
        with self.lock:
            for s in self.open:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
            self.open.clear()

    def recover(self) -> None:
        self.down.clear()


def _test_credentials() -> None:
    """moto (and a silent socket) accept any key pair; boto3 wants one to sign with."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")


def _moto() -> tuple[Any, Settings, Path]:
    from tests.fixtures_store import MotoServer

    _test_credentials()
    server = MotoServer()
    server.start()
    tmp = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    bucket = f"faults-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket)
    settings = replace(Settings(), data_dir=tmp, db_url=f"sqlite:///{tmp / 'm.db'}",
                       s3_bucket=bucket, s3_endpoint_url=server.endpoint,
                       s3_region="us-east-1")
    return server, settings, tmp


def s3_outage_through_mirror(outage_s: float = 15.0) -> Rows:
    """Chat turns keep being saved through the mirror while S3 is down for 15 s; once it
    is back, every acknowledged snapshot must reach S3."""
    server, settings, tmp = _moto()
    proxy = Outage(server.port)
    via_proxy = replace(settings, s3_endpoint_url=f"http://127.0.0.1:{proxy.port}")
    mirror = MirroredStore(SqlStore(settings.database_url),
                           S3Store(via_proxy, client=make_client(via_proxy, fail_fast=True)),
                           retry_after_s=2.0)
    acked: list[str] = []
    slowest = 0.0
    try:
        def chat(seconds: float) -> None:
            nonlocal slowest
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                info = agent_info(str(uuid.uuid4()))
                for snap in conversation(3, info):
                    t0 = time.perf_counter()
                    mirror.save_snapshot(snap, info)
                    slowest = max(slowest, time.perf_counter() - t0)
                    acked.append(snap.id)
                    time.sleep(0.01)

        chat(2.0)
        proxy.fail()
        chat(outage_s)
        queued = mirror.pending()
        proxy.recover()
        mirror.kick()
        t0 = time.perf_counter()
        drained = mirror.wait_drained(120)
        drain_s = time.perf_counter() - t0
        s3 = S3Store(settings)
        present = sum(s3.has_snapshot(sid) for sid in acked)
    finally:
        mirror.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return [(f"Mirror, {outage_s:.0f} s S3 outage: saves acknowledged / present in S3 after",
             f"{len(acked):,} / {present:,}" + ("" if drained else " (drain timed out)")),
            ("Mirror outage: queued when S3 came back, drained in",
             f"{queued:,}, {drain_s:.1f} s"),
            ("Mirror outage: slowest save (S3 down or not)", f"{slowest * 1000:.0f} ms")]


def slowest_save_during_drain(backlog: int = 200) -> Rows:
    """200 snapshots queued while S3 was away; the mirror copies them while a chat goes
    on: the slowest of the chat's saves."""
    server, settings, tmp = _moto()
    try:
        queued = SqlStore(settings.database_url, outbox=True)
        for i in range(backlog // 10):
            info = agent_info(str(uuid.uuid4()))
            for snap in conversation(5, info, seed=i):
                queued.save_snapshot(snap, info)
        mirror = MirroredStore(
            SqlStore(settings.database_url),
            S3Store(settings, client=make_client(settings, fail_fast=True)), background=False)
        drainer = threading.Thread(target=mirror.drain, kwargs={"force": True})
        t0 = time.perf_counter()
        drainer.start()
        times: list[float] = []
        # A chat's pace (a save every 20 ms) while the backlog is copied; each save queues
        # one more snapshot, so the drain also copies these before it ends.
        while mirror.pending() > len(times) and len(times) < 200:
            info = agent_info(str(uuid.uuid4()))
            for snap in conversation(1, info):
                s0 = time.perf_counter()
                mirror.save_snapshot(snap, info)
                times.append(time.perf_counter() - s0)
                time.sleep(0.02)
        drainer.join()
        drain_s = time.perf_counter() - t0
        mirror.close()
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return [(f"Mirror drain of {backlog} queued snapshots: slowest of {len(times)} saves meanwhile",
             f"{max(times) * 1000:.0f} ms (median {statistics.median(times) * 1000:.1f} ms)"),
            ("Mirror drain: time to copy the backlog", f"{drain_s:.1f} s")]


def s3_silent_endpoint() -> Rows:
    """An endpoint that accepts connections and never answers, default settings."""
    _test_credentials()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: held.extend(iter(lambda: server.accept()[0], None)),
                     daemon=True).start()
    settings = replace(Settings(), s3_bucket="silent",
                       s3_endpoint_url=f"http://127.0.0.1:{server.getsockname()[1]}",
                       s3_region="us-east-1")
    info = agent_info("m-silent")
    t0 = time.perf_counter()
    try:
        S3Store(settings).save_snapshot(conversation(1, info)[0], info)
        outcome = "saved?!"
    except StoreUnavailable:
        outcome = "StoreUnavailable"
    waited = time.perf_counter() - t0
    server.close()
    return [("S3 endpoint that never answers, default settings: a save gives up after",
             f"{waited:.1f} s ({outcome}; bound {give_up_after_s(settings):.1f} s)")]


# --- the API and the parser (H2) ------------------------------------------------------------
def worst_parse() -> Rows:
    """The slowest of the crafted 20-80 kB lines of every kind (tests/test_mdl_linear.py
    builds them: repeated 'is now', '(', '\\"', '"', backslashes...), best of 3 each."""
    from tests.test_mdl_linear import crafted_lines, parse_time

    lines = list(crafted_lines())
    worst, which = max((parse_time(text), label) for label, text in lines)
    return [("parser: crafted lines parsed", f"{len(lines):,}"),
            ("parser: worst parse time over the crafted lines", f"{worst * 1000:.0f} ms"),
            ("parser: slowest crafted line", which.replace("|", "\\|"))]


def api_fuzz(seconds: float = 20.0, seed: int = 12) -> Rows:
    """Random nasty bodies, paths and headers at the API over HTTP (uvicorn on loopback)
    for ``seconds``: how many requests, how many 5xx (must be 0)."""
    import json
    from urllib.parse import quote

    import httpx

    from moments_core.api import create_app
    from tests.api_fixtures import TOKEN, LiveServer, write_configs
    from tests.test_api_fuzz import NASTY_PIECES

    rnd = random.Random(seed)

    def nasty() -> str:
        return "".join(rnd.choice(NASTY_PIECES) for _ in range(rnd.randint(1, 3)))

    def part() -> str:  # a path segment, surrogates and all
        return quote(nasty()[:100].encode("utf-8", "surrogatepass"), safe="")

    def value() -> Any:
        return rnd.choice([nasty(), rnd.randint(-9, 9), None, [nasty()], {nasty(): nasty()}])

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = replace(Settings(), data_dir=folder, configs_dir=write_configs(
            folder / "configs"), db_url=f"sqlite:///{folder / 'fuzz.db'}", api_token=TOKEN)
        store = SqlStore(settings.database_url)
        auth = {"Authorization": f"Bearer {TOKEN}"}
        sent = errors = refused = 0
        with LiveServer(create_app(settings, store)) as server, \
                httpx.Client(base_url=server.url, timeout=30, headers=auth) as http:
            root = http.post("/v1/agents/web-1/moments",
                             json={"id": "echo", "variant": "01"}).json()
            turn_url = f"/v1/agents/web-1/moments/{root['moment_id']}"
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                line = rnd.choice([
                    {"kind": "Participant", "content": {"name": nasty(), "says": nasty(),
                                                        "identifier": nasty()}},
                    {"kind": "Participant", "content": {"name": "Customer", "says": nasty()}},
                    {"kind": rnd.choice(["Context", "Self", "Rejected", nasty()]),
                     "content": value()}])
                body = {"id": rnd.choice([root["id"], nasty()]), "moment": {
                    "occurrences": [*root["moment"]["occurrences"], line]}}
                method, url, payload = rnd.choice([
                    ("POST", turn_url, body),
                    ("POST", "/v1/agents/web-1/moments",
                     {"kind": nasty(), "id": nasty(), "variant": nasty()}),
                    ("POST", f"/v1/snapshots/{part()}",
                     {"moment": {"occurrences": [line]}, "__agent_info": value()}),
                    ("GET", f"/v1/snapshots/{part()}", None),
                    ("GET", f"/v1/moments/{part()}/tree", None),
                ])
                raw = None if payload is None else json.dumps(payload).encode(
                    "utf-8", "surrogatepass")
                r = http.request(method, url, content=raw,
                                 headers={"content-type": "application/json"})
                sent += 1
                errors += r.status_code >= 500
                refused += 400 <= r.status_code < 500
        store.close()
    return [("API fuzz: requests in 20 s", f"{sent:,}"),
            ("API fuzz: refused with a 4xx", f"{refused:,}"),
            ("API fuzz: 5xx answers", f"{errors}")]


SECTIONS = [sqlite_kills, postgres_concurrency, s3_outage_through_mirror,
            slowest_save_during_drain, s3_silent_endpoint, worst_parse, api_fuzz]


def main() -> None:
    rows: Rows = []
    for section in SECTIONS:
        rows.extend(section())
    record("bench_faults", rows, title="Faults: what survives")


if __name__ == "__main__":
    main()
