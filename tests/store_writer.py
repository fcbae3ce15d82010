"""Writer process for the store's concurrency tests: saves snapshots into a database and
prints each snapshot id once its save has returned.

    python -m tests.store_writer URL CONVERSATIONS TURNS SEED
    python -m tests.store_writer --race URL WORKER COUNT ROOT_ID MOMENT_ID...

``--race`` saves ``race_snapshots`` (siblings of a stored root, and new roots of moments
every worker creates at once); a save that raises prints ``ERROR <type>: <message>`` and
the writer goes on, so the test sees every failure a caller would.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path

from moments_core.mdl import Begin, Moment, Participant, Snapshot
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation, race_snapshots

ROOT = Path(__file__).resolve().parent.parent


def main(url: str, conversations: int, turns: int, seed: int) -> None:
    store = SqlStore(url)
    for i in range(conversations):
        info = agent_info(str(uuid.uuid4()), variant=f"p{seed}")
        for snap in conversation(turns, info, seed=seed * 1000 + i, regenerate_every=3):
            store.save_snapshot(snap, info)
            print(snap.id, flush=True)


def race(url: str, worker: int, count: int, root_id: str, moment_ids: list[str]) -> None:
    store = SqlStore(url, migrate=False)
    root = store.get_snapshot(root_id)
    for snap, info in race_snapshots(worker, count, root, moment_ids):
        try:
            store.save_snapshot(snap, info)
        except Exception as err:  # noqa: BLE001 - reported to the test, which fails on it
            print(f"ERROR {type(err).__module__}.{type(err).__name__}: {err}", flush=True)
        else:
            print(f"{snap.id} {snap.moment_id}", flush=True)


RACE_WORKERS_THREADS, RACE_WORKERS_PROCS, RACE_PER_WORKER = 8, 4, 167  # 2,004 snapshots


def race_on(url: str) -> tuple[list[tuple[str, str]], list[str], str]:
    """8 threads (one shared store) and 4 processes save ``race_snapshots`` at once:
    siblings under one stored root, and roots of 8 moments that every worker creates at
    the same instant. Returns (acknowledged (snapshot id, moment id)), failures, root id."""
    store = SqlStore(url)
    root = Snapshot(Moment([Begin(), Participant("Customer", "Shared root.")]),
                    moment_id=f"race-root-{uuid.uuid4()}")
    store.save_snapshot(root, agent_info(root.moment_id, variant="race"))
    moment_ids = [f"race-{i}-{uuid.uuid4()}" for i in range(8)]
    acked: list[tuple[str, str]] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(RACE_WORKERS_THREADS)
    procs = [subprocess.Popen(
        [sys.executable, "-m", "tests.store_writer", "--race", url, str(100 + w),
         str(RACE_PER_WORKER), root.id, *moment_ids],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) for w in range(RACE_WORKERS_PROCS)]

    def work(worker: int) -> None:
        start.wait()
        for snap, info in race_snapshots(worker, RACE_PER_WORKER, root, moment_ids):
            try:
                store.save_snapshot(snap, info)
            except Exception as err:  # noqa: BLE001 - every failure is the test's business
                with lock:
                    failures.append(f"{type(err).__module__}.{type(err).__name__}: {err}")
            else:
                with lock:
                    acked.append((snap.id, snap.moment_id))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(RACE_WORKERS_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for p in procs:
        out, err = p.communicate(timeout=300)
        if p.returncode != 0:
            failures.append(f"writer exited {p.returncode}: {err[-500:]}")
        for line in out.splitlines():
            if line.startswith("ERROR "):
                failures.append(line[len("ERROR "):])
            else:
                sid, mid = line.split()
                acked.append((sid, mid))
    store.close()
    return acked, failures, root.id


if __name__ == "__main__":
    if sys.argv[1] == "--race":
        race(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6:])
    else:
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
