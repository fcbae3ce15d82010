"""The compact snapshot layout (revision 0002): its size, its timestamps, and the upgrade
of databases written at revision 0001. Real SQLite files and the real Postgres server."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from moments_core.mdl import Begin, Moment, Participant, Rejected, Self, Snapshot, parse_snapshot
from moments_core.store import ids, stamps
from moments_core.store.base import LogStore, StoreError
from moments_core.store.delta import compute_delta, occurrence_texts
from moments_core.store.engine import WRITE, create_store_engine
from moments_core.store.migrate import (
    alembic_config,
    current_revision,
    current_revisions,
    head_revisions,
)
from moments_core.store.rebuild import moment_occurrences
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation

ISO_TIMES = [
    "1994-11-05T08:15:30-05:00",
    "2026-03-29T01:59:59.999999+05:30",
    "2026-01-01T00:00:00+00:00",
    "1969-12-31T23:59:59.000001-09:30",  # before the epoch: negative microseconds
    "0001-01-01T00:00:00+14:00",  # its UTC instant is in year 0: not a datetime
    "9999-12-31T23:59:59.999999-12:00",
    "2024-02-29T12:00:00+05:30:15",  # an offset with seconds
]


@pytest.mark.parametrize("iso", ISO_TIMES)
def test_timestamp_pair_round_trips_the_iso_text(iso: str) -> None:
    ts = datetime.fromisoformat(iso)
    back = stamps.decode(*stamps.encode(ts))
    assert back.isoformat() == iso
    assert back == ts and back.utcoffset() == ts.utcoffset()


def test_timestamps_order_by_instant_not_by_text() -> None:
    early = stamps.encode(datetime.fromisoformat("2026-01-01T09:00:00+05:00"))  # 04:00 UTC
    late = stamps.encode(datetime.fromisoformat("2026-01-01T05:00:00+00:00"))
    assert early[0] < late[0]


def test_a_sub_second_offset_is_refused() -> None:
    from datetime import timedelta, timezone

    odd = datetime(2026, 1, 1, tzinfo=timezone(timedelta(microseconds=5)))
    with pytest.raises(StoreError, match="fraction of a second"):
        stamps.encode(odd)


def test_stored_timestamps_read_back_exactly_everywhere(store: LogStore) -> None:
    info = agent_info(f"m-{uuid.uuid4().hex[:8]}")
    prev: str | None = None
    occurrences: list[object] = [Begin()]
    for i, iso in enumerate(ISO_TIMES):
        occurrences = [*occurrences, Participant("Customer", f"line {i}")]
        snap = Snapshot(Moment(list(occurrences)), moment_id=info.moment_id,  # type: ignore[arg-type]
                        previous_snapshot_id=prev, timestamp=datetime.fromisoformat(iso))
        store.save_snapshot(snap, info)
        prev = snap.id
    isos = [store.get_snapshot(s.snapshot_id).timestamp.isoformat()
            for s in store.tree(info.moment_id)]
    assert isos == ISO_TIMES
    assert [s.timestamp.isoformat() for s in store.path(prev)] == ISO_TIMES  # type: ignore[arg-type]
    assert [n.timestamp.isoformat() for n in store.tree(info.moment_id)] == ISO_TIMES
    (_, leaf), = store.iter_leaves()
    assert leaf.timestamp.isoformat() == ISO_TIMES[-1]
    (_, nodes, _), = store.iter_trees()
    assert [n.timestamp.isoformat() for n in nodes] == ISO_TIMES
    # last_at compares instants: 9999-12-31T23:59:59.999999-12:00 is the latest, and in
    # UTC it is past year 9999, so the nearest representable instant stands for it.
    last = store.list_moments()[0].last_at
    assert last is not None and last.isoformat() == "9999-12-31T23:59:59.999999+00:00"


def test_last_activity_is_the_latest_instant(store: LogStore) -> None:
    info = agent_info("m-last")
    a = Snapshot(Moment([Begin()]), moment_id="m-last",
                 timestamp=datetime.fromisoformat("2026-01-01T09:00:00+05:00"))
    b = Snapshot(Moment([Begin(), Self("hi")]), moment_id="m-last", previous_snapshot_id=a.id,
                 timestamp=datetime.fromisoformat("2026-01-01T05:00:00+00:00"))
    store.save_snapshot(a, info)
    store.save_snapshot(b, info)
    assert store.list_moments()[0].last_at == b.timestamp  # ISO text would pick a


def test_snapshot_rows_hold_no_text_ids_but_their_own(store: LogStore) -> None:
    assert isinstance(store, SqlStore)
    columns = {c["name"]: c for c in inspect(store.engine).get_columns("snapshots")}
    assert set(columns) == {
        "seq", "snapshot_id", "moment_pk", "parent_seq", "previous_snapshot_id", "ts_us",
        "utc_offset_s", "annotations_yaml", "kept", "added_count", "added",
        "answers"}  # revision 0007: the answers' lengths, NULL on rows without any
    for name in ("moment_pk", "parent_seq", "ts_us", "utc_offset_s"):
        assert columns[name]["type"].python_type is int
    # Postgres lists the unique constraint's index among the indexes, SQLite does not.
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("snapshots")}
    pk = inspect(store.engine).get_pk_constraint("snapshots")["constrained_columns"]
    if store.engine.dialect.name == "sqlite":  # seq is the rowid, indexed by the table
        assert indexes == {"ix_snapshots_moment"} and pk == ["seq"]
    else:  # revision 0003: the primary key is the moment's index; nothing on seq alone
        assert indexes == {"uq_snapshots_snapshot_id"} and pk == ["moment_pk", "seq"]


@pytest.mark.parametrize(("sid", "size"), [
    (str(uuid.uuid4()), 16), ("s-rt", 4), ("sixteen-chars-id", 17), ("é" * 8, 17),
    (str(uuid.uuid4()).upper(), 36), ("{" + str(uuid.uuid4()) + "}", 38), ("", 0),
])
def test_snapshot_ids_round_trip_through_their_compact_form(sid: str, size: int) -> None:
    stored = ids.encode(sid)
    assert ids.decode(stored) == sid
    assert len(stored) == size  # 16 bytes only for a canonical UUID


def test_an_id_with_nul_is_refused() -> None:
    with pytest.raises(StoreError, match="NUL"):
        ids.encode("a\x00b")


def test_any_id_is_stored_and_found(store: LogStore) -> None:
    assert isinstance(store, SqlStore)
    info = agent_info("m-ids")
    a = Snapshot(Moment([Begin()]), id=str(uuid.uuid4()), moment_id="m-ids")
    b = Snapshot(Moment([Begin(), Self("hi")]), id="sixteen-chars-id", moment_id="m-ids",
                 previous_snapshot_id=a.id)
    c = Snapshot(Moment([Begin(), Self("hi"), Participant("Customer", "yo")]),
                 id=str(uuid.uuid4()).upper(), moment_id="m-ids", previous_snapshot_id=b.id)
    for s in (a, b, c):
        store.save_snapshot(s, info)
    fresh = SqlStore(store.url)  # nothing cached: every lookup goes through the column
    try:
        assert [s.id for s in fresh.path(c.id)] == [a.id, b.id, c.id]
        assert fresh.children(a.id) == [b.id] and fresh.children(b.id) == [c.id]
        assert fresh.get_snapshot(c.id).to_mdl() == c.to_mdl()
        assert [n.snapshot_id for n in fresh.tree("m-ids")] == [a.id, b.id, c.id]
        assert [s.id for _, s in fresh.iter_leaves()] == [c.id]
        length = "length" if fresh.engine.dialect.name == "sqlite" else "octet_length"
        with fresh.engine.connect() as conn:
            sizes = list(conn.scalars(text(
                f"SELECT {length}(snapshot_id) FROM snapshots ORDER BY seq")))
        assert sizes == [16, 17, 36]  # a UUID in 16 bytes; others as text, told apart
    finally:
        fresh.close()


def test_tables_match_what_the_migrations_create(store: LogStore) -> None:
    assert isinstance(store, SqlStore)
    insp = inspect(store.engine)
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in ("moments", "snapshots", "feedback", "config_versions",
                              "s3_outbox"):
            continue  # other areas' tables on the shared metadata
        migrated = {c["name"] for c in insp.get_columns(table.name)}
        assert migrated == {c.name for c in table.columns}, table.name
        pk = {c.name for c in table.primary_key.columns}
        if table.name == "snapshots" and store.engine.dialect.name == "postgresql":
            pk = {"moment_pk", "seq"}  # revision 0003 (see SnapshotRow)
        assert set(insp.get_pk_constraint(table.name)["constrained_columns"]) == pk, table.name


def _dbstat_bytes(store: SqlStore, table: str, structures: int) -> int:
    with store.engine.connect() as conn:
        names = list(conn.scalars(text(
            "SELECT name FROM sqlite_master WHERE tbl_name = :t AND type IN ('table', 'index')"),
            {"t": table}))
        assert len(names) == structures
        marks = ", ".join(f":n{i}" for i in range(len(names)))
        return int(conn.scalar(
            text(f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({marks})"),
            {f"n{i}": n for i, n in enumerate(names)}))


def test_a_200_turn_conversation_costs_at_most_three_times_its_text(sqlite_url: str) -> None:
    """The issue's size target, measured as the benchmark does: whole pages of the
    snapshot table (the answer facts included) and its indexes, in a database holding
    only this conversation."""
    store = SqlStore(sqlite_url)
    info = agent_info("m-size")
    snaps = conversation(200, info, seed=1)
    for snap in snaps:
        store.save_snapshot(snap, info)
    final = len(snaps[-1].moment.to_mdl().encode())
    # The snapshot table (its answer facts included), its moment index, its unique id.
    stored = _dbstat_bytes(store, "snapshots", 3)
    store.close()
    assert stored / final <= 3.0, stored / final


# --- upgrading a database written at revision 0001 -------------------------------------------
def _at_revision_0001(url: str) -> None:
    engine = create_store_engine(url)
    cfg = alembic_config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001_initial")
    engine.dispose()


def _old_rows(snaps: list[Snapshot], moment_id: str) -> list[dict[str, Any]]:
    """Rows as revision 0001's save_snapshot wrote them (ids as text, ISO time)."""
    texts = {s.id: occurrence_texts(s.moment.occurrences) for s in snaps}
    rows = []
    for s in snaps:
        prev = s.previous_snapshot_id
        parent = prev if prev in texts else None
        delta = compute_delta(texts[parent] if parent else (), texts[s.id])
        rows.append({"snapshot_id": s.id, "moment_id": moment_id, "parent_id": parent,
                     "previous_snapshot_id": None if prev == parent else prev,
                     "timestamp": s.timestamp.isoformat(), "annotations_yaml": s.annotations_yaml,
                     "kept": delta.kept, "added_count": delta.added_count, "added": delta.added})
    return rows


@pytest.fixture(params=["sqlite", "postgres"])
def any_url(request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")
    return url


def test_a_0001_database_upgrades_and_keeps_its_snapshots(any_url: str) -> None:
    _at_revision_0001(any_url)
    root = parse_snapshot(  # the older system's root: its moment id as previous id
        "# Moment ID: m-old\n# Snapshot ID: s-root\n# Previous Snapshot ID: m-old\n"
        "# Timestamp: 1994-11-05T08:15:30-05:00\n# Annotations: ```\nrating: 4\n```\n"
        'Begin.\nCustomer: "A latte, please."\n')
    said = Snapshot(Moment([*root.moment.occurrences, Self("Coming up.")]), id="s-said",
                    moment_id="m-old", previous_snapshot_id="s-root",
                    timestamp=datetime.fromisoformat("1994-11-05T08:15:31.25+05:30"))
    again = Snapshot(Moment([*root.moment.occurrences, Rejected("Coming up."), Self("Sure!")]),
                     moment_id="m-old", previous_snapshot_id="s-root")
    snaps = [root, said, again]
    info = agent_info("m-old")
    engine = create_store_engine(any_url)
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        conn.execute(text(
            "INSERT INTO moments (moment_id, agent_kind, agent_id, agent_variant,"
            " agent_instance_id, config_version, source, created_at, deleted, meta) VALUES"
            " ('m-old', 'Agent', 'cafebot', '01', 'i1', NULL, 'chat', :at, false, '')"),
            {"at": datetime(2026, 1, 1)})
        for row in _old_rows(snaps, "m-old"):
            conn.execute(text(
                'INSERT INTO snapshots (snapshot_id, moment_id, parent_id, previous_snapshot_id,'
                ' "timestamp", annotations_yaml, kept, added_count, added) VALUES (:snapshot_id,'
                " :moment_id, :parent_id, :previous_snapshot_id, :timestamp, :annotations_yaml,"
                " :kept, :added_count, :added)"), row)
        conn.execute(text(
            "INSERT INTO feedback (id, snapshot_id, moment_id, kind, value_json,"
            " other_snapshot_id, author, created_at) VALUES ('f1', 's-said', 'm-old',"
            " 'rating', '5', NULL, 'ana', :at)"), {"at": datetime(2026, 1, 2)})
    assert current_revision(engine) == "0001_initial"
    engine.dispose()

    store = SqlStore(any_url)  # opening upgrades
    try:
        assert current_revisions(store.engine) == head_revisions()
        for snap in snaps:
            assert store.get_snapshot(snap.id).to_mdl() == snap.to_mdl()
        assert store.children("s-root") == ["s-said", again.id]
        summary = store.list_moments()[0]
        assert (summary.snapshots, summary.leaves) == (3, 2)
        assert store.get_moment("m-old").agent_id == "cafebot"
        (_, nodes, feedback), = store.iter_trees()
        by_id = {n.snapshot_id: n for n in nodes}
        for snap in snaps:
            assert Moment(moment_occurrences(by_id, snap.id)).to_mdl() == snap.moment.to_mdl()
        assert [(f.snapshot_id, f.value) for f in feedback] == [("s-said", 5)]
        # Revision 0007 filled the answers' lengths from the stored rows, as a save does.
        facts = sorted(store.answer_facts(), key=repr)
        assert facts == sorted(LogStore.answer_facts(store), key=repr)
        assert sorted((f[1], f[2]) for f in facts) == [(False, 5), (False, 10), (True, 10)]
        # New rows continue after the copied keys (Postgres's sequence was moved on).
        more = Snapshot(Moment([*said.moment.occurrences, Participant("Customer", "Thanks")]),
                        moment_id="m-old", previous_snapshot_id="s-said")
        store.save_snapshot(more, info)
        assert store.get_snapshot(more.id).to_mdl() == more.to_mdl()
        assert store.children("s-said") == [more.id]
        new_moment = agent_info("m-new")
        store.save_snapshot(Snapshot(Moment([Begin()]), moment_id="m-new"), new_moment)
        assert len(store.list_moments()) == 2
    finally:
        store.close()


def test_downgrade_to_0001_gives_back_the_old_rows(sqlite_url: str) -> None:
    store = SqlStore(sqlite_url)
    info = agent_info("m-down")
    snaps = conversation(3, info, regenerate_every=2)
    for snap in snaps:
        store.save_snapshot(snap, info)
    cfg = alembic_config()
    with store.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001_initial")
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(text(
            'SELECT snapshot_id, moment_id, parent_id, previous_snapshot_id, "timestamp",'
            " annotations_yaml, kept, added_count, added FROM snapshots ORDER BY seq"))]
    store.close()
    assert rows == _old_rows(snaps, "m-down")


# --- revision 0003: the Postgres snapshot layout ---------------------------------------------
def test_postgres_rows_are_laid_out_without_padding(pg_store: LogStore) -> None:
    """Widest columns first, so no alignment padding; the one B-tree on (moment_pk, seq)
    is the primary key, packed full."""
    assert isinstance(pg_store, SqlStore)
    with pg_store.engine.connect() as conn:
        order = list(conn.scalars(text(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'snapshots'::regclass"
            " AND attnum > 0 AND NOT attisdropped ORDER BY attnum")))
        options = conn.scalar(text(
            "SELECT reloptions FROM pg_class WHERE relname = 'pk_snapshots'"
            " AND relnamespace = current_schema()::regnamespace"))
        seq_default = conn.scalar(text("SELECT pg_get_serial_sequence('snapshots', 'seq')"))
    assert order == ["ts_us", "seq", "moment_pk", "parent_seq", "utc_offset_s", "kept",
                     "added_count", "snapshot_id", "previous_snapshot_id", "annotations_yaml",
                     "added", "answers"]  # 0007 appends a text column: still no padding
    assert options == ["fillfactor=100"]
    assert seq_default is not None and seq_default.endswith("snapshots_seq_seq")


def _at_revision_0002(url: str) -> None:
    engine = create_store_engine(url)
    cfg = alembic_config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002_compact_snapshots")
    engine.dispose()


def _seqs(store: SqlStore) -> list[tuple[int, int, int | None]]:
    with store.engine.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(text(
            "SELECT seq, moment_pk, parent_seq FROM snapshots ORDER BY seq"))]


def test_a_0002_database_upgrades_to_0003_and_keeps_its_snapshots(any_url: str) -> None:
    _at_revision_0002(any_url)
    old = SqlStore(any_url, migrate=False)  # writes through the 0002 layout
    assert current_revision(old.engine) == "0002_compact_snapshots"
    made: dict[str, list[Snapshot]] = {}
    for i in range(3):
        info = agent_info(f"m-{i}")
        made[info.moment_id] = conversation(4, info, seed=i, regenerate_every=2)
        for snap in made[info.moment_id]:
            old.save_snapshot(snap, info)
    odd = Snapshot(Moment([Begin()]), id="s-odd", moment_id="m-0",
                   previous_snapshot_id="gone", annotations_yaml="k: v\n")
    old.save_snapshot(odd, agent_info("m-0"), orphan_as_root=True)
    made["m-0"].append(odd)
    before = _seqs(old)
    old.close()

    store = SqlStore(any_url)  # opening upgrades
    try:
        assert current_revisions(store.engine) == head_revisions()
        assert _seqs(store) == before  # every row, same keys and links
        for mid, snaps in made.items():
            for snap in snaps:
                assert store.get_snapshot(snap.id).to_mdl() == snap.to_mdl()
                assert [s.id for s in store.path(snap.id)][-1] == snap.id
            assert sorted(n.snapshot_id for n in store.tree(mid)) == sorted(s.id for s in snaps)
        first = made["m-1"][0]
        assert store.children(first.id) == [made["m-1"][1].id]
        assert {s.snapshot_id for s in store.tree("m-0")} >= {"s-odd"}
        assert store.tree("m-0")[-1].annotations == {"k": "v"}
        # New rows continue after the copied keys (the sequence moved with the table).
        last = made["m-2"][-1]
        more = Snapshot(Moment([*last.moment.occurrences, Participant("Customer", "Bye")]),
                        moment_id="m-2", previous_snapshot_id=last.id)
        store.save_snapshot(more, agent_info("m-2"))
        assert _seqs(store)[-1][0] == before[-1][0] + 1
        assert store.get_snapshot(more.id).to_mdl() == more.to_mdl()
        assert store.children(last.id) == [more.id]
    finally:
        store.close()


def test_downgrade_to_0002_restores_its_postgres_layout(pg_url: str) -> None:
    store = SqlStore(pg_url)
    info = agent_info("m-back")
    snaps = conversation(3, info, regenerate_every=2)
    for snap in snaps:
        store.save_snapshot(snap, info)
    before = _seqs(store)
    cfg = alembic_config()
    with store.engine.connect().execution_options(**WRITE) as conn, conn.begin():
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002_compact_snapshots")
    store.engine.dispose()
    insp = inspect(store.engine)
    assert insp.get_pk_constraint("snapshots")["constrained_columns"] == ["seq"]
    assert "ix_snapshots_moment" in {i["name"] for i in insp.get_indexes("snapshots")}
    assert _seqs(store) == before
    old = SqlStore(pg_url, migrate=False)
    try:
        assert [s.id for s in old.path(snaps[-1].id)][-1] == snaps[-1].id
        assert old.get_snapshot(snaps[-1].id).to_mdl() == snaps[-1].to_mdl()
    finally:
        old.close()
        store.close()
