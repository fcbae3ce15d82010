"""Fault figures (run: .venv/bin/python benchmarks/bench_faults.py).

One function per section, each returning its rows; ``main()`` runs them all and records
them together (``record`` rewrites docs/figures/bench_faults.md whole).

Log store (H1):
1. saves acknowledged vs present after 10 SIGKILLs of a SQLite writer;
2. saves acknowledged vs present after the Postgres concurrency run (threads + processes);
3. saves acknowledged vs present after a 15 s S3 outage through the mirror;
4. the slowest save while the mirror drains a backlog.

API and parser (H2): sections added below the store's.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from figures import record

Rows = list[tuple[str, str]]


# --- the log store ------------------------------------------------------------------------
def sqlite_kills() -> Rows:
    return []


def postgres_concurrency() -> Rows:
    return []


def s3_outage_through_mirror() -> Rows:
    return []


def slowest_save_during_drain() -> Rows:
    return []


# --- the API and the parser (H2) ------------------------------------------------------------


SECTIONS = [sqlite_kills, postgres_concurrency, s3_outage_through_mirror,
            slowest_save_during_drain]


def main() -> None:
    rows: Rows = []
    for section in SECTIONS:
        rows.extend(section())
    record("bench_faults", rows, title="Faults: what survives")


if __name__ == "__main__":
    main()
