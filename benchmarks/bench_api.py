"""HTTP API figures: throughput and p50/p99 latency with 16 concurrent clients, for the
turns route and the OpenAI-compatible chat-completions route, and the cost of finding
where a resent chat history already is, with 100,000 conversations stored.

1. The store is filled first: ``--moments`` conversations of 3 turns (bulk-inserted in
   the form ``save_snapshot`` writes, see bench_store.fill) with every snapshot of their
   paths in the path index, as the chat-completions route indexes them.
2. The history match, in process: for sampled stored conversations, their whole history
   plus a new user message is located (``openai_history.locate``: the keys of every
   prefix, one index query, then the matched moment and snapshot read), target < 5 ms p99.
3. The server is ``moments serve-api`` in its own process (uvicorn, one worker) over that
   store, with an ``instant`` provider variant, so the figures are the API and the store,
   not a model. Clients on loopback (httpx, async): on the turns route each starts a
   moment and takes turns; on chat completions each holds stateless 5-turn conversations,
   resending the whole history every request, as OpenAI clients do.

    .venv/bin/python benchmarks/bench_api.py [--clients 16] [--seconds 20] [--moments 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import fill
from figures import record
from sqlalchemy import select

from moments_core.api.openai_history import Caller, Line, locate
from moments_core.mdl import Participant, Self, parse_occurrences
from moments_core.store.path_index import extend_key, path_index_t, path_keys
from moments_core.store.sql import SqlStore
from moments_core.store.tables import moments_t, snapshots_t

CONFIG = """\
mdl: "0.3"
kind: Agent
id: bench
variant: "01"
provider: instant
mode: chat
participant: Customer
init: |
  Instructions: '''
  You are a friendly barista.
  '''
  Begin.
"""
MODEL = "Agent-bench-01"
FILL_VARIANT = "openai"  # the filled conversations: Agent-cafebot-openai


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f} ms / {pct(values, 0.99) * 1000:.2f} ms"


# --- 1. the store ------------------------------------------------------------------------
def _scope(moment_number: int) -> str:
    return Caller.of(None, f"bench-user-{moment_number}").scope(f"Agent-cafebot-{FILL_VARIANT}")


def _dialogue(added: str) -> list[Line]:
    out: list[Line] = []
    for o in parse_occurrences(added):
        if isinstance(o, Participant):
            out.append(Line("user", o.says))
        elif isinstance(o, Self):
            out.append(Line("assistant", o.says))
    return out


def fill_store(store: SqlStore, moments: int) -> tuple[int, int, float]:
    """(snapshots, index entries, seconds): conversations and their path keys."""
    started = time.perf_counter()
    snapshots = fill(store, FILL_VARIANT, conversations=moments, turns=3)
    print(f"(stored {snapshots:,} snapshots in {time.perf_counter() - started:.0f} s;"
          " indexing their paths)", flush=True)
    s, m = snapshots_t.c, moments_t.c
    query = (select(m.pk, s.seq, s.parent_seq, s.snapshot_id, s.added, m.moment_id)
             .join(moments_t, m.pk == s.moment_pk).where(m.agent_variant == FILL_VARIANT)
             .order_by(s.moment_pk, s.seq))
    entries: list[dict[str, str]] = []
    indexed = 0
    with store.engine.connect() as conn:
        key_of: dict[int, str] = {}
        current, number = None, -1
        for pk, seq, parent, sid, added, moment_id in conn.execute(query):
            if pk != current:
                current, number, key_of = pk, number + 1, {}
            lines = _dialogue(added)
            if parent is None:
                key = path_keys(_scope(number), [ln.key_text() for ln in lines])[-1]
            else:
                key = key_of[parent]
                for ln in lines:
                    key = extend_key(key, ln.key_text())
            key_of[seq] = key
            entries.append({"path_key": key, "snapshot_id": sid, "moment_id": moment_id})
            if len(entries) >= 20_000:
                indexed += _flush(store, entries)
    indexed += _flush(store, entries)
    return snapshots, indexed, time.perf_counter() - started


def _flush(store: SqlStore, entries: list[dict[str, str]]) -> int:
    n = len(entries)
    if not n:
        return 0
    with store.engine.connect().execution_options(moments_write=True) as conn, conn.begin():
        conn.execute(path_index_t.insert(), entries)
    entries.clear()
    return n


# --- 2. the history match ------------------------------------------------------------------
def bench_match(store: SqlStore, moments: int, samples: int
                ) -> tuple[list[float], list[float], list[float]]:
    """(whole match, its CPU time, index lookup alone) seconds for sampled conversations
    resent with a new user message; every one must be found at its stored leaf. The CPU
    time leaves out waiting for a core, which on a shared machine is most of the tail."""
    rng = random.Random(7)
    m = moments_t.c
    with store.engine.connect() as conn:
        ids = list(conn.scalars(select(m.moment_id).where(m.agent_variant == FILL_VARIANT)
                                .order_by(m.pk)))
    whole: list[float] = []
    cpu: list[float] = []
    lookup: list[float] = []
    for number in rng.sample(range(len(ids)), min(samples, len(ids))):
        leaf = store.leaves(ids[number])[0]
        history = [Line("user" if isinstance(o, Participant) else "assistant", o.says)
                   for o in leaf.moment.occurrences if isinstance(o, Participant | Self)]
        lines = [*history, Line("user", "And a glass of water, please.")]
        scope = _scope(number)
        t0, c0 = time.perf_counter(), time.process_time()
        placement = locate(store, scope, lines)
        whole.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        assert placement.parent is not None and placement.parent.id == leaf.id
        assert len(placement.rest) == 1
        keys = path_keys(scope, [ln.key_text() for ln in lines])[::-1]
        t0 = time.perf_counter()
        store.find_path(keys)
        lookup.append(time.perf_counter() - t0)
    return whole, cpu, lookup


# --- 3. over HTTP -------------------------------------------------------------------------------
def line(says: str) -> dict[str, Any]:
    return {"kind": "Participant",
            "content": {"name": "Customer", "identifier": "", "emotion": "", "says": says}}


async def wait_up(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=url) as http:
        while time.monotonic() < deadline:
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the API server did not come up")


async def turns_client(http: httpx.AsyncClient, n: int, stop_at: float,
                       latencies: list[float], errors: list[str]) -> None:
    r = await http.post(f"/v1/agents/bench-{n}/moments", json={"id": "bench", "variant": "01"})
    snap = r.json()
    turn = 0
    while time.perf_counter() < stop_at:
        turn += 1
        body = {"id": snap["id"], "moment": {
            "id": snap["moment_id"],
            "occurrences": [*snap["moment"]["occurrences"], line(f"Order {turn}, please.")]}}
        started = time.perf_counter()
        r = await http.post(f"/v1/agents/bench-{n}/moments/{snap['moment_id']}", json=body)
        latencies.append(time.perf_counter() - started)
        if r.status_code != 200:
            errors.append(f"{r.status_code} {r.text[:100]}")
            continue
        snap = r.json()
        if turn % 10 == 0:  # keep moments short, like real chats, so bodies stay small
            snap = (await http.post(f"/v1/agents/bench-{n}/moments",
                                    json={"id": "bench", "variant": "01"})).json()


async def chat_client(http: httpx.AsyncClient, n: int, stop_at: float,
                      latencies: list[float], errors: list[str]) -> None:
    conversation = 0
    while time.perf_counter() < stop_at:
        conversation += 1
        history: list[dict[str, str]] = []
        for turn in range(5):
            if time.perf_counter() >= stop_at:
                return
            history.append({"role": "user", "content": f"Order {turn}, please."})
            started = time.perf_counter()
            r = await http.post("/v1/chat/completions", json={
                "model": MODEL, "messages": history, "user": f"bench-{n}-{conversation}"})
            latencies.append(time.perf_counter() - started)
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:100]}")
                break
            history.append({"role": "assistant",
                            "content": r.json()["choices"][0]["message"]["content"]})


async def load(url: str, clients: int, seconds: float, which: Any
               ) -> tuple[list[float], list[str], float]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(which(http, n, started + seconds, latencies, errors)
                               for n in range(clients)))
        wall = time.perf_counter() - started
    return latencies, errors, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--moments", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db_url = f"sqlite:///{tmp}/bench.db"
        store = SqlStore(db_url)
        snapshots, indexed, secs = fill_store(store, args.moments)
        print(f"(filled {args.moments:,} conversations, {snapshots:,} snapshots,"
              f" {indexed:,} path keys in {secs:.0f} s)")
        load_before = os.getloadavg()[0]
        whole, cpu, lookup = bench_match(store, args.moments, args.samples)
        store.close()
        stored = f"{args.moments:,} stored conversations"
        rows.append((f"history match, p50 / p99 ({stored}, target < 5 ms p99)", ms(whole)))
        rows.append(("history match, CPU time p50 / p99", ms(cpu)))
        rows.append((f"path index lookup alone, p50 / p99 ({indexed:,} keys)", ms(lookup)))

        configs = Path(tmp) / "configs"
        configs.mkdir()
        (configs / "Agent-bench-01.yaml").write_text(CONFIG)
        port = free_port()
        env = {**os.environ, "MOMENTS_CONFIGS_DIR": str(configs), "MOMENTS_API_TOKEN": "",
               "MOMENTS_DB_URL": db_url, "MOMENTS_S3_MIRROR": "0"}
        server = subprocess.Popen(
            [sys.executable, "-m", "moments_core.cli", "serve-api", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_up(url))
            for name, which, unit in (("turns route", turns_client, "turns"),
                                      ("chat completions", chat_client, "requests")):
                lat, errors, wall = asyncio.run(load(url, args.clients, args.seconds, which))
                for e in errors[:3]:
                    print(f"{name} error: {e}")
                rows.append((f"{name}: throughput, {args.clients} clients",
                             f"{len(lat) / wall:,.0f} {unit}/s ({len(errors)} errors)"))
                rows.append((f"{name}: latency p50 / p99", ms(lat)))
        finally:
            server.terminate()
            server.wait(timeout=15)
    rows.append(("server", "moments serve-api (uvicorn, 1 worker), SQLite, instant provider,"
                 f" over the {stored}"))
    rows.append(("machine load (1-minute average, before the match / at the end)",
                 f"{load_before:.1f} / {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"))
    record("bench_api", rows, title="HTTP API and the OpenAI-compatible route")


if __name__ == "__main__":
    main()
