"""HTTP API throughput: turns per second and p50/p99 latency, 16 concurrent clients.

The server is ``moments serve-api`` in its own process (uvicorn, one worker) over a fresh
SQLite store, with an ``instant`` provider variant, so the figure is the API and the
store, not a model. Each client starts a moment, then takes turns on loopback with httpx
(async) until the turn count or the time budget is spent.

    .venv/bin/python benchmarks/bench_api.py [--clients 16] [--turns 800] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def line(says: str) -> dict[str, Any]:
    return {"kind": "Participant",
            "content": {"name": "Customer", "identifier": "", "emotion": "", "says": says}}


async def wait_up(url: str, timeout: float = 30.0) -> None:
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


async def client(http: httpx.AsyncClient, n: int, budget: list[int], stop_at: float,
                 latencies: list[float], errors: list[str]) -> None:
    r = await http.post(f"/v1/agents/bench-{n}/moments", json={"id": "bench", "variant": "01"})
    snap = r.json()
    turn = 0
    while budget[0] > 0 and time.perf_counter() < stop_at:
        budget[0] -= 1
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


async def run(url: str, clients: int, turns: int, seconds: float) -> None:
    latencies: list[float] = []
    errors: list[str] = []
    budget = [turns]
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http, n, budget, started + seconds, latencies, errors)
                               for n in range(clients)))
        wall = time.perf_counter() - started
    lat = sorted(latencies)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    print(f"turns: {len(lat)} ({len(errors)} errors) by {clients} concurrent clients"
          f" in {wall:.1f} s")
    print(f"throughput: {len(lat) / wall:.0f} turns/s")
    print(f"latency: p50 {statistics.median(lat) * 1000:.1f} ms,"
          f" p99 {p99 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")
    for e in errors[:3]:
        print("error:", e)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--turns", type=int, default=800)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        configs = Path(tmp) / "configs"
        configs.mkdir()
        (configs / "Agent-bench-01.yaml").write_text(CONFIG)
        port = free_port()
        env = {**os.environ, "MOMENTS_CONFIGS_DIR": str(configs), "MOMENTS_API_TOKEN": "",
               "MOMENTS_DB_URL": f"sqlite:///{tmp}/bench.db", "MOMENTS_S3_MIRROR": "0"}
        server = subprocess.Popen(
            [sys.executable, "-m", "moments_core.cli", "serve-api", "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        try:
            asyncio.run(wait_up(url))
            print(f"server: moments serve-api (uvicorn, 1 worker), SQLite, instant provider;"
                  f" {os.cpu_count()} CPUs visible")
            asyncio.run(run(url, args.clients, args.turns, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
