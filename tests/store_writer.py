"""Writer process for the store's concurrency tests: saves snapshots into a database and
prints each snapshot id once its save has returned.

    python -m tests.store_writer URL CONVERSATIONS TURNS SEED
    python -m tests.store_writer --race URL WORKER COUNT ROOT_ID MOMENT_ID...

``--race`` saves ``race_snapshots`` (siblings of a stored root, and new roots of moments
every worker creates at once); a save that raises prints ``ERROR <type>: <message>`` and
the writer goes on, so the test sees every failure a caller would.
"""

from __future__ import annotations

import sys
import uuid

from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation, race_snapshots


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


if __name__ == "__main__":
    if sys.argv[1] == "--race":
        race(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6:])
    else:
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
