"""Log store figures for SQLite and Postgres (run: .venv/bin/python benchmarks/bench_store.py).

1. snapshots saved per second: one writer, one snapshot per call, as chat does it
   (target >= 1,000/s on SQLite);
2. seconds to read every leaf, with its full moment, of 10,000 conversations of 20 turns
   (target < 10 s); the rows are bulk-inserted in the exact form save_snapshot writes;
3. seconds for ``iter_trees`` over 10,000 conversations of 20 turns with 10% of the
   replies regenerated (a branch each), as the dataset exporters read them;
4. bytes stored for one 200-turn conversation (two snapshots per turn), alone in a fresh
   database, / bytes of its final MDL (target <= 3): the pages of the snapshot table (its
   answer facts included) and its indexes (SQLite's dbstat; Postgres's
   pg_relation_size of the heap, its indexes and TOAST, the free-space and visibility
   maps shown apart). Then the same per
   conversation with 20 of them stored, where the minimum pages of each table and index
   are shared. Also printed: the appended text alone, the first benchmark's sum of column
   bytes (no page or index overhead), and the older full-snapshot layout.
5. (S3, moto's server over HTTP; ``bench_store.py s3`` runs only this) ms per save at
   turns 1-10 and 191-200 of five conversations, and requests per save (target: flat,
   <= 1.2x, <= 3 requests).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dataclasses import replace
from functools import cache

from figures import record
from sqlalchemy import func, select, text

from moments_core.mdl import parse_occurrences
from moments_core.store import stamps
from moments_core.store.answer_facts import encode_answers, facts_of
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import _ASKS, _REPLIES, agent_info, conversation
from moments_core.store.tables import moments_t, snapshots_t

PG_DSN = "host=127.0.0.1 port=5432 dbname=test user={user}"
PG_URL = "postgresql+psycopg://{user}@127.0.0.1:5432/test?options=-csearch_path%3D{schema}"


def bench_saves(store: SqlStore, conversations: int = 100, turns: int = 10) -> float:
    work = []
    for i in range(conversations):
        info = agent_info(str(uuid.uuid4()), variant="save")
        work.append((info, conversation(turns, info, seed=i)))
    n = sum(len(s) for _, s in work)
    t0 = time.perf_counter()
    for info, snaps in work:
        for snap in snaps:
            store.save_snapshot(snap, info)
    return n / (time.perf_counter() - t0)


def fill(store: SqlStore, variant: str, conversations: int = 10_000, turns: int = 20,
         regenerate_every: int = 0, answer_annotations: str = "") -> int:
    """Insert conversations as save_snapshot stores them, many rows per statement: the root
    holds Begin and the first line, every later snapshot keeps its parent's lines and
    appends one. With ``regenerate_every`` = k, every k-th reply is regenerated once: the
    first reply stays a leaf, a sibling keeps the participant's line and appends the
    Rejected reply and a new one, and the conversation goes on from there. Each answer's
    snapshot carries ``answer_annotations`` and its answers' lengths (derived by
    ``facts_of``, as a save derives them)."""
    t0_us = stamps.encode(datetime(2026, 1, 1, tzinfo=UTC))[0]
    asks, replies = [f'Customer: "{a}"\n' for a in _ASKS], [f'Self: "{r}"\n' for r in _REPLIES]
    with store.engine.connect() as conn:
        # Keys given explicitly so rows can name their parent before it is written.
        moment_pk = (conn.scalar(select(func.max(moments_t.c.pk))) or 0) + 1
        seq = (conn.scalar(select(func.max(snapshots_t.c.seq))) or 0) + 1
    moments: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    total = 0

    @cache
    def answers_of(added: str, notes: str) -> str | None:
        return encode_answers(facts_of(parse_occurrences(added), notes))

    def row(parent: int | None, kept: int, added: list[str], at: int) -> int:
        nonlocal seq
        text_added = "".join(added)
        notes = answer_annotations if parent is not None and "Self: " in text_added else ""
        rows.append({"seq": seq, "snapshot_id": str(uuid.uuid4()), "moment_pk": moment_pk,
                     "parent_seq": parent, "previous_snapshot_id": None, "ts_us": at,
                     "utc_offset_s": 0, "annotations_yaml": notes, "kept": kept,
                     "added_count": len(added), "added": text_added,
                     "answers": answers_of(text_added, notes)})
        seq += 1
        return seq - 1

    for c in range(conversations):
        moments.append({"pk": moment_pk, "moment_id": str(uuid.uuid4()), "agent_kind": "Agent",
                        "agent_id": "cafebot", "agent_variant": variant,
                        "agent_instance_id": "i1", "config_version": None, "source": "chat",
                        "created_at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=c),
                        "deleted": False, "meta": ""})
        at = t0_us + c * 1_000_000
        parent, size = None, 1
        for t in range(turns):
            ask = asks[(c + t) % len(asks)]
            first = parent is None
            asked = row(parent, 0 if first else size, ["Begin.\n", ask] if first else [ask],
                        at + 2 * t)
            size += 1
            reply = replies[(c + t) % len(replies)]
            parent = row(asked, size, [reply], at + 2 * t + 1)
            if regenerate_every and (t + 1) % regenerate_every == 0:
                again = replies[(c + t + 1) % len(replies)]
                parent = row(asked, size, [f"Rejected{reply[4:]}", again], at + 2 * t + 1)
                size += 1
            size += 1
        moment_pk += 1
        if len(rows) >= 20_000:
            total += _flush(store, moments, rows)
    total += _flush(store, moments, rows)
    if store.engine.dialect.name == "postgresql":  # keys were given: move the sequences on
        with store.engine.connect() as conn, conn.begin():
            for table, col in (("moments", "pk"), ("snapshots", "seq")):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'),"
                                  f" (SELECT MAX({col}) FROM {table}))"))
    return total


def _flush(store: SqlStore, moments: list[dict[str, Any]], rows: list[dict[str, Any]]) -> int:
    n = len(rows)
    if not n:
        return 0
    with store.engine.connect().execution_options(moments_write=True) as conn, conn.begin():
        if moments:
            conn.execute(moments_t.insert(), moments)
        conn.execute(snapshots_t.insert(), rows)
    moments.clear()
    rows.clear()
    return n


def bench_leaves(store: SqlStore) -> tuple[int, float]:
    t0 = time.perf_counter()
    leaves = sum(1 for _ in store.iter_leaves(agent_variant="bulk"))
    return leaves, time.perf_counter() - t0


def bench_trees(store: SqlStore) -> tuple[int, int, float]:
    t0 = time.perf_counter()
    moments = snapshots = 0
    for _info, nodes, _feedback in store.iter_trees(agent_variant="trees"):
        moments += 1
        snapshots += len(nodes)
    return moments, snapshots, time.perf_counter() - t0


def _old_layout_bytes(records: list[dict[str, Any]]) -> int:
    """The previous benchmark's measure: the bytes of every column of the logical rows
    (ids as text, ISO time), plus 8 for the row key; no page or index overhead."""
    return sum(sum(len(str(v).encode()) for v in r.values() if v is not None) + 8
               for r in records)


def _sqlite_bytes(store: SqlStore) -> tuple[int, str]:
    """On-disk bytes of the snapshot table (answer facts included, revision 0007) and all
    its indexes: every page they hold."""
    with store.engine.connect() as conn:
        names = list(conn.scalars(text(
            "SELECT name FROM sqlite_master WHERE tbl_name = 'snapshots'"
            " AND type IN ('table', 'index')")))
        try:
            used = conn.scalar(text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name IN"
                f" ({', '.join(repr(n) for n in names)})"))
            return int(used), f"dbstat pages of {', '.join(sorted(names))}"
        except Exception:  # noqa: BLE001 - a SQLite built without dbstat
            pages = conn.scalar(text("PRAGMA page_count"))
            size = conn.scalar(text("PRAGMA page_size"))
            return int(pages) * int(size), "PRAGMA page_count x page_size, whole file"


def bench_size(url: str, turns: int = 200, copies: int = 1
               ) -> tuple[float, str, float, float, float]:
    """``copies`` 200-turn conversations in a fresh database; (stored bytes / their final
    MDL bytes, how measured, appended text / final, old column-bytes measure / final, the
    older full-snapshot layout / final). With one copy, the minimum pages every table
    and index takes weigh in; with several, the figure is the cost per conversation."""
    store = SqlStore(url)
    final = 0
    for copy in range(copies):
        info = agent_info(str(uuid.uuid4()), variant="size")
        snaps = conversation(turns, info, seed=1 + copy)
        assert len(snaps) == 2 * turns
        for snap in snaps:
            store.save_snapshot(snap, info)
        final += len(snaps[-1].moment.to_mdl().encode())
    records = store.moment_records(info.moment_id)
    text_bytes = sum(len(r["added"].encode()) for r in records) * copies
    if store.engine.dialect.name == "sqlite":
        stored, how = _sqlite_bytes(store)
    else:
        with store.engine.connect() as conn:
            # Main forks: the pages holding rows and index entries. The free-space and
            # visibility maps are a fixed cost per table (24 KB and more), shown apart.
            stored = int(conn.scalar(text(
                "SELECT pg_relation_size(c.oid) + pg_indexes_size(c.oid)"
                " + COALESCE(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0)"
                " FROM pg_class c WHERE c.oid = 'snapshots'::regclass")))
            total = int(conn.scalar(text("SELECT pg_total_relation_size('snapshots')")))
        how = (f"pg_relation_size of the heap, its indexes and TOAST; with the free-space"
               f" and visibility maps: {total / final:.2f}")
    store.close()
    agent = {"kind": "Agent", "id": "cafebot", "variant": "size", "instance_id": "i1"}
    old = sum(len(json.dumps({**s.to_dict(), "__agent_info": agent}).encode()) for s in snaps)
    last = len(snaps[-1].moment.to_mdl().encode())
    return (stored / final, how, text_bytes / final, _old_layout_bytes(records) / last,
            old / last)


def run(name: str, url: str, size_url: str, size_url_many: str) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    store = SqlStore(url)
    saves = bench_saves(store)
    rows.append((f"{name}: snapshots saved per second (single writer)",
                 f"{saves:,.0f}/s   target >= 1,000/s on SQLite"))
    t0 = time.perf_counter()
    n = fill(store, "bulk")
    print(f"[{name}] (filled {n:,} snapshots of 10,000 conversations x 20 turns in"
          f" {time.perf_counter() - t0:.1f} s)")
    leaves, secs = bench_leaves(store)
    rows.append((f"{name}: read all {leaves:,} leaves with full moments",
                 f"{secs:.2f} s   target < 10 s"))
    n = fill(store, "trees", regenerate_every=10)
    moments, snapshots, secs = bench_trees(store)
    rows.append((f"{name}: iter_trees over {moments:,} conversations x 20 turns, 10%"
                 f" regenerated ({snapshots:,} snapshots)", f"{secs:.2f} s"))
    store.close()
    ratio, how, text_, columns, old = bench_size(size_url)
    rows.append((f"{name}: 200-turn conversation, bytes stored / final MDL bytes",
                 f"{ratio:.2f}   target <= 3"))
    print(f"[{name}] (bytes counted as: {how})")
    rows.append((f"{name}: appended MDL text alone / final MDL bytes", f"{text_:.2f}"))
    rows.append((f"{name}: the 0001 row layout's column bytes / final MDL bytes",
                 f"{columns:.2f}"))
    rows.append((f"{name}: older full-snapshot layout / final MDL bytes", f"{old:.1f}"))
    many, _, _, _, _ = bench_size(size_url_many, copies=20)
    rows.append((f"{name}: the same per conversation with 20 such conversations stored",
                 f"{many:.2f}   target <= 3"))
    return rows


def bench_s3_saves(turns: int = 200, conversations: int = 5) -> list[tuple[str, str]]:
    """ms per S3 save (moto's server over HTTP) at turns 1-10 and 191-200 of
    ``conversations`` conversations, and HTTP requests per save counted with a botocore
    event hook."""
    import boto3

    from moments_core.settings import Settings
    from moments_core.store.s3 import S3Store
    from tests.fixtures_store import MotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    server = MotoServer()
    server.start()
    try:
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1") \
            .create_bucket(Bucket=bucket)
        store = S3Store(replace(Settings(), s3_bucket=bucket, s3_endpoint_url=server.endpoint,
                                s3_region="us-east-1"))
        sent = [0]
        store.client.meta.events.register("before-send.s3",
                                          lambda **_: sent.__setitem__(0, sent[0] + 1))
        first: list[float] = []
        last: list[float] = []
        requests_first: list[int] = []
        requests_last: list[int] = []
        # Several conversations: moto's server answers some requests ~10 ms late at
        # random (at any turn), so 20 saves alone give a median that jumps between runs.
        for c in range(conversations):
            info = agent_info(str(uuid.uuid4()), variant="s3")
            snaps = conversation(turns, info, seed=c)
            for i, snap in enumerate(snaps):
                sent[0] = 0
                t0 = time.perf_counter()
                store.save_snapshot(snap, info)
                took = (time.perf_counter() - t0) * 1000
                # A turn is two saves (the participant's line, the reply).
                if i < 20:
                    first.append(took)
                    requests_first.append(sent[0])
                elif i >= len(snaps) - 20:
                    last.append(took)
                    requests_last.append(sent[0])
        store.close()
    finally:
        server.stop()
    early, late = statistics.median(first), statistics.median(last)

    def spread(ms: list[float]) -> str:
        q1, _, q3 = statistics.quantiles(ms, n=4)
        return f"quartiles {q1:.1f} / {q3:.1f} ms"

    return [
        (f"S3 save, turns 1-10 (median of {len(first)} saves)",
         f"{early:.1f} ms ({spread(first)})"),
        (f"S3 save, turns {turns - 9}-{turns} (median of {len(last)} saves)",
         f"{late:.1f} ms ({spread(last)})"),
        ("S3 save, late / early", f"{late / early:.2f}x   target <= 1.2x"),
        ("S3 requests per save, turns 1-10 / last 10",
         f"{max(requests_first)} / {max(requests_last)}   target <= 3, flat"),
    ]


def main() -> None:
    rows = bench_s3_saves()
    if sys.argv[1:] == ["s3"]:
        record("bench_store", rows, title="Log store")
        return
    with tempfile.TemporaryDirectory() as tmp:
        rows += run("sqlite", *(f"sqlite:///{Path(tmp) / name}"
                                for name in ("bench.db", "size.db", "size20.db")))
    try:
        import psycopg

        user = "postgres"
        # Three schemas: the size figures need databases holding only their conversations.
        schemas = [f"moments_bench_{uuid.uuid4().hex[:8]}" for _ in range(3)]
        with psycopg.connect(PG_DSN.format(user=user), autocommit=True, connect_timeout=3) as c:
            for schema in schemas:
                c.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as err:  # noqa: BLE001 - no server: the SQLite figures still stand
        print(f"[postgres] skipped: {type(err).__name__}: {err}")
        record("bench_store", rows, title="Log store")
        return
    try:
        rows += run("postgres", *(PG_URL.format(user=user, schema=s) for s in schemas))
    finally:
        with psycopg.connect(PG_DSN.format(user=user), autocommit=True) as c:
            for schema in schemas:
                c.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    record("bench_store", rows, title="Log store")


if __name__ == "__main__":
    main()
