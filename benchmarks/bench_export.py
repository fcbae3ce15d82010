"""Dataset export speed and memory, on SQLite and Postgres.

Fills a store with 10,000 conversations of 20 turns with branches (every 10th answer
regenerated, so about 10% of turns; a thumbs up/down pair on 1,000 of those branch
points), then runs each format in its own child process and prints its seconds and the
child's peak memory. Targets: csv and sft under 15 s, dpo under 20 s, peak < 500 MB.
Figures go to docs/figures/bench_export.md.

Run: .venv/bin/python benchmarks/bench_export.py [--conversations 10000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_store import PG_DSN, PG_URL, fill
from figures import record

from moments_core.store import Feedback
from moments_core.store.sql import SqlStore

FORMATS = [("csv", ".csv"), ("openai-chat", ".jsonl"), ("sft", ".jsonl"),
           ("sft", ".parquet"), ("prompt-completion", ".jsonl"), ("dpo", ".jsonl"),
           ("openai-preference", ".jsonl"), ("oasst-trees", ".jsonl")]
TARGETS = {"csv": 15.0, "sft": 15.0, "dpo": 20.0}


def child(url: str, fmt: str, out: str) -> None:
    from moments_core.datasets import ExportFilters, export_to_files

    store = SqlStore(url)
    summary = export_to_files(store, fmt, Path(out), ExportFilters())
    print(summary.rows)


def add_thumbs(store: SqlStore, pairs: int) -> int:
    """Thumbs up on a regenerated answer and down on the one it replaced."""
    added = 0
    for _info, nodes, _ in store.iter_trees(agent_variant="export"):
        for node in nodes:
            if len(node.children) == 2 and added < pairs:
                first, second = node.children
                store.add_feedback(Feedback(first, "thumbs", -1))
                store.add_feedback(Feedback(second, "thumbs", 1))
                added += 1
        if added >= pairs:
            break
    return added


def run(name: str, url: str, tmp: Path, conversations: int) -> list[tuple[str, str]]:
    """Fill a store at ``url``, export every format; the figure rows."""
    rows: list[tuple[str, str]] = []
    store = SqlStore(url)
    t0 = time.perf_counter()
    n = fill(store, "export", conversations=conversations, regenerate_every=10)
    pairs = add_thumbs(store, conversations // 10)
    store.close()
    print(f"[{name}] filled {n:,} snapshots ({conversations:,} conversations x 20 turns, 10%"
          f" regenerated, {pairs} thumbs pairs) in {time.perf_counter() - t0:.1f} s")
    for fmt, suffix in FORMATS:
        out = tmp / f"{name}-{fmt}{suffix}"
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, __file__, "--child", url, fmt, str(out)],
            stdout=subprocess.PIPE, text=True,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        written = proc.stdout.read().strip() if proc.stdout else "?"
        if status != 0:
            rows.append((f"{name}, {fmt} ({suffix})", f"FAILED (status {status})"))
            continue
        peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
        target = TARGETS.get(fmt)
        # The targets are for 10,000 conversations; a smaller run shows none.
        goal = f" (target < {target:.0f} s, < 500 MB)" if target and conversations == 10_000 \
            else ""
        rows.append((f"{name}, {fmt} ({suffix}), {int(written):,} rows{goal}",
                     f"{seconds:.2f} s, peak {peak_mb:.0f} MB"))
    return rows


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(*sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conversations", type=int, default=10_000,
                    help="conversations of 20 turns (the targets are for 10,000)")
    n = ap.parse_args().conversations
    title = f"Dataset export, {n:,} conversations"
    with tempfile.TemporaryDirectory() as tmp:
        rows = run("sqlite", f"sqlite:///{Path(tmp) / 'export.db'}", Path(tmp), n)
        record("bench_export", rows, title=title)  # kept if the Postgres half is cut short
        try:
            import psycopg

            schema = f"moments_export_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG_DSN.format(user="postgres"), autocommit=True,
                                 connect_timeout=3) as c:
                c.execute(f'CREATE SCHEMA "{schema}"')
        except Exception as err:  # noqa: BLE001 - no server: the SQLite figures still stand
            rows.append(("postgres", f"skipped: {type(err).__name__}"))
            record("bench_export", rows, title=title)
            return
        try:
            rows += run("postgres", PG_URL.format(user="postgres", schema=schema), Path(tmp), n)
        finally:
            with psycopg.connect(PG_DSN.format(user="postgres"), autocommit=True) as c:
                c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    record("bench_export", rows, title=title)


if __name__ == "__main__":
    main()
