"""Many writers on one SQLite file, a writer killed mid-write, and a race of threads and
processes on Postgres."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from moments_core.store.migrate import upgrade
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation
from tests.store_writer import (
    RACE_PER_WORKER,
    RACE_WORKERS_PROCS,
    RACE_WORKERS_THREADS,
    race_on,
)

ROOT = Path(__file__).resolve().parent.parent
TURNS = 5  # 10 snapshots per conversation, plus one per regenerate (every 3rd turn)


def _writer(url: str, conversations: int, seed: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store_writer", url, str(conversations), str(TURNS),
         str(seed)], cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )


def test_eight_threads_and_four_processes_write_2000_snapshots(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    per_conversation = len(conversation(TURNS, agent_info("x"), regenerate_every=3))  # 11
    store = SqlStore(url)  # creates the schema; the processes may race on it too
    thread_convs, proc_convs = 17, 15
    procs = [_writer(url, proc_convs, seed) for seed in range(4)]
    expected: dict[str, str] = {}  # snapshot id -> canonical MDL of its moment
    errors: list[BaseException] = []
    lock = threading.Lock()

    def write(seed: int) -> None:
        try:
            for i in range(thread_convs):
                info = agent_info(str(uuid.uuid4()), variant=f"t{seed}")
                for snap in conversation(TURNS, info, seed=seed * 100 + i, regenerate_every=3):
                    store.save_snapshot(snap, info)
                    with lock:
                        expected[snap.id] = snap.moment.to_mdl()
        except BaseException as err:  # noqa: BLE001 - any failure is reported below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(s,)) for s in range(10, 18)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    proc_ids: list[str] = []
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        proc_ids.extend(out.split())
    assert not errors, errors

    total = (8 * thread_convs + 4 * proc_convs) * per_conversation
    assert total >= 2000
    assert len(proc_ids) == 4 * proc_convs * per_conversation
    reader = SqlStore(url)
    moments = reader.list_moments()
    assert len(moments) == 8 * thread_convs + 4 * proc_convs
    assert sum(m.snapshots for m in moments) == total
    assert all(m.leaves == 2 for m in moments)  # one regenerate each: trees intact
    for sid, mdl in expected.items():
        assert reader.get_snapshot(sid).moment.to_mdl() == mdl
    leaves = list(reader.iter_leaves())
    assert len(leaves) == 2 * len(moments)
    for sid in proc_ids:
        assert reader.has_snapshot(sid)


def test_a_killed_writer_leaves_every_returned_save(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    url = f"sqlite:///{db}"
    upgrade(SqlStore(url, migrate=False).engine)
    proc = _writer(url, 1000, 7)
    assert proc.stdout is not None
    saved: list[str] = []
    for line in proc.stdout:
        saved.append(line.strip())
        if len(saved) >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)  # no chance to flush, close or checkpoint
    proc.wait()
    saved.extend(proc.stdout.read().split())  # lines written before the kill

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    reader = SqlStore(url)
    for sid in saved:
        snap = reader.get_snapshot(sid)  # readable with its whole path
        assert snap.moment.occurrences[0].kind == "Begin"
    stored = sum(m.snapshots for m in reader.list_moments())
    assert stored >= len(saved)


def test_postgres_race_of_threads_and_processes_loses_nothing(pg_url: str) -> None:
    acked, failures, root_id = race_on(pg_url)
    raw = [f for f in failures if not f.startswith("moments_core.store")]
    assert not raw, f"raw driver exceptions reached a caller: {raw[:3]}"
    assert not failures, failures[:3]  # the races are retried: none is even refused
    assert len(acked) == (RACE_WORKERS_THREADS + RACE_WORKERS_PROCS) * RACE_PER_WORKER >= 2000
    reader = SqlStore(pg_url)
    siblings = {sid for sid, mid in acked if mid.startswith("race-root-")}
    assert set(reader.children(root_id)) == siblings
    by_moment: dict[str, set[str]] = {}
    for sid, mid in acked:
        by_moment.setdefault(mid, set()).add(sid)
    for mid, sids in by_moment.items():
        stored = {n.snapshot_id for n in reader.tree(mid)}
        assert sids <= stored and len(stored) == len(sids) + (mid.startswith("race-root-"))
    assert len(reader.list_moments(agent_variant="race")) == 9
