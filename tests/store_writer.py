"""Writer process for the store's concurrency tests: saves conversations into a database
and prints each snapshot id once its save has returned.

    python -m tests.store_writer URL CONVERSATIONS TURNS SEED
"""

from __future__ import annotations

import sys
import uuid

from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation


def main(url: str, conversations: int, turns: int, seed: int) -> None:
    store = SqlStore(url)
    for i in range(conversations):
        info = agent_info(str(uuid.uuid4()), variant=f"p{seed}")
        for snap in conversation(turns, info, seed=seed * 1000 + i, regenerate_every=3):
            store.save_snapshot(snap, info)
            print(snap.id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
