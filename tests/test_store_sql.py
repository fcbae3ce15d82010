"""The SQL back end on a real SQLite file and on the real Postgres server."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from moments_core.mdl import Begin, Context, Moment, Participant, Self, Snapshot, parse_snapshot
from moments_core.store.base import (
    Feedback,
    LogStore,
    MomentFilter,
    MomentInfo,
    NotFound,
    StoreError,
)
from moments_core.store.migrate import current_revisions, head_revisions
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info
from tests.fixtures_store import ConversationFactory


def test_snapshots_read_back_with_full_moments(
    store: LogStore, make_conversation: ConversationFactory
) -> None:
    info, snaps = make_conversation(store, turns=4)
    for snap in snaps:
        back = store.get_snapshot(snap.id)
        assert back.to_mdl() == snap.to_mdl()
    assert [s.id for s in store.path(snaps[-1].id)] == [s.id for s in snaps]
    assert store.children(snaps[0].id) == [snaps[1].id]
    assert [s.id for s in store.leaves(info.moment_id)] == [snaps[-1].id]
    assert store.get_moment(info.moment_id).agent_id == "cafebot"


def test_storage_is_relative_to_the_parent(
    sqlite_store: SqlStore, make_conversation: ConversationFactory
) -> None:
    info, snaps = make_conversation(sqlite_store, turns=30)
    rows = sqlite_store.moment_records(info.moment_id)
    assert [r["added_count"] for r in rows] == [2] + [1] * 59  # Begin + first line, then one
    assert all(r["kept"] == len(s.moment) - 1 for r, s in zip(rows[1:], snaps[1:], strict=True))
    stored = sum(len(r["added"]) for r in rows)
    assert stored == len(snaps[-1].moment.to_mdl())  # each line stored exactly once


def test_regenerate_branches_and_keeps_both_leaves(
    store: LogStore, make_conversation: ConversationFactory
) -> None:
    info, snaps = make_conversation(store, turns=4, regenerate_every=2)
    leaves = store.leaves(info.moment_id)
    assert len(leaves) == 3  # two discarded replies + the final leaf
    final = store.get_snapshot(snaps[-1].id)
    kinds = [o.kind for o in final.moment.occurrences]
    assert kinds.count("Rejected") == 2
    tree = store.tree(info.moment_id)
    assert len(tree) == len(snaps)
    seen: set[str] = set()
    for node in tree:  # parents before children
        assert node.parent_id is None or node.parent_id in seen
        seen.add(node.snapshot_id)
    summary = store.list_moments()[0]
    assert (summary.snapshots, summary.leaves) == (len(snaps), 3)


def test_a_snapshot_that_drops_lines_keeps_a_prefix(store: LogStore) -> None:
    info = agent_info("m-edit")
    base = [Begin(), Participant("Customer", "one"), Self("two"), Participant("Customer", "3")]
    a = Snapshot(Moment(base), moment_id="m-edit")
    b = Snapshot(Moment([*base[:2], Self("edited")]), moment_id="m-edit",
                 previous_snapshot_id=a.id)
    store.save_snapshot(a, info)
    store.save_snapshot(b)
    assert store.get_snapshot(b.id).moment.to_mdl() == b.moment.to_mdl()
    assert store.tree("m-edit")[1].kept == 2


def test_saving_is_idempotent(store: LogStore, make_conversation: ConversationFactory) -> None:
    info, snaps = make_conversation(store, turns=2)
    for snap in snaps:
        store.save_snapshot(snap, info)
    fresh = SqlStore(store.url) if isinstance(store, SqlStore) else store  # no cache
    fresh.save_snapshot(snaps[1], info)
    assert fresh.list_moments()[0].snapshots == len(snaps)
    # The answer facts a save writes are not written twice either.
    assert sorted(fresh.answer_facts(), key=repr) == sorted(LogStore.answer_facts(fresh), key=repr)


def test_timestamps_annotations_and_header_round_trip(store: LogStore) -> None:
    text_ = (
        "# Moment ID: m-rt\n# Snapshot ID: s-rt\n# Previous Snapshot ID: m-rt\n"
        "# Timestamp: 1994-11-05T08:15:30-05:00\n# Annotations: ```\nrating: 4\n```\n"
        'Begin.\nSelf: (😊) "Good morning!"\n'
    )
    snap = parse_snapshot(text_)
    store.save_snapshot(snap, agent_info("m-rt"))
    assert store.get_snapshot("s-rt").to_mdl() == text_
    assert store.get_snapshot("s-rt").annotations == {"rating": 4}


def test_missing_parent_is_refused_and_nothing_written(store: LogStore) -> None:
    info = agent_info("m-orphan")
    snap = Snapshot(Moment([Begin()]), moment_id="m-orphan", previous_snapshot_id="nope")
    with pytest.raises(StoreError, match="parent snapshot nope is not stored"):
        store.save_snapshot(snap, info)
    with pytest.raises(NotFound):
        store.get_moment("m-orphan")  # not even the moment was created
    assert not store.has_snapshot(snap.id)


def test_moment_of_another_agent_is_refused(
    store: LogStore, make_conversation: ConversationFactory
) -> None:
    info, snaps = make_conversation(store, turns=1)
    other = MomentInfo(moment_id=info.moment_id, agent_id="financebot", agent_variant="01")
    nxt = Snapshot(Moment([*snaps[-1].moment.occurrences, Participant("Customer", "hi")]),
                   moment_id=info.moment_id, previous_snapshot_id=snaps[-1].id)
    with pytest.raises(StoreError, match="belongs to agent Agent/cafebot/01"):
        store.save_snapshot(nxt, other)
    assert not store.has_snapshot(nxt.id)


def test_parent_in_another_moment_is_refused(
    store: LogStore, make_conversation: ConversationFactory
) -> None:
    _, snaps = make_conversation(store, turns=1)
    stray = Snapshot(Moment([Begin()]), moment_id="elsewhere", previous_snapshot_id=snaps[0].id)
    with pytest.raises(StoreError, match="is in moment"):
        store.save_snapshot(stray, agent_info("elsewhere"))
    assert not store.has_snapshot(stray.id)


def test_occurrences_that_do_not_parse_are_refused(store: LogStore) -> None:
    # A Context whose YAML is broken is written, but does not parse back.
    bad = Snapshot(Moment([Begin(), Context("a: [unclosed")]), moment_id="m-bad")
    with pytest.raises(StoreError, match=r"do not parse as MDL: .*invalid YAML"):
        store.save_snapshot(bad, agent_info("m-bad"))
    assert not store.has_snapshot(bad.id)
    assert isinstance(store, SqlStore)
    with pytest.raises(StoreError, match="does not parse as MDL"):
        store.save_snapshot_mdl("# Moment ID: m\n# Snapshot ID: s\nSelf: \"unclosed\n")


def test_list_filters_and_soft_delete(
    store: LogStore, make_conversation: ConversationFactory
) -> None:
    a, _ = make_conversation(store, turns=1)
    b, _ = make_conversation(store, turns=2, variant="02")
    c, _ = make_conversation(store, turns=1, agent_id="financebot")
    assert {s.info.moment_id for s in store.list_moments(MomentFilter("Agent", "cafebot"))} == {
        a.moment_id, b.moment_id}
    assert [s.info.moment_id for s in store.list_moments(agent_variant="02")] == [b.moment_id]
    assert [s.info.moment_id for s in store.list_moments()] == [
        c.moment_id, b.moment_id, a.moment_id]  # newest first
    assert len(store.list_moments(limit=1, offset=1)) == 1
    later = c.created_at + timedelta(seconds=1)
    assert store.list_moments(since=later) == []
    assert len(store.list_moments(until=later)) == 3
    store.delete_moment(b.moment_id)
    assert b.moment_id not in {s.info.moment_id for s in store.list_moments()}
    assert store.get_moment(b.moment_id).deleted
    assert len(store.leaves(b.moment_id)) == 1  # still readable by id
    assert {i.moment_id for i, _ in store.iter_leaves()} == {a.moment_id, c.moment_id}
    with pytest.raises(NotFound):
        store.delete_moment("no-such-moment")


def test_feedback(store: LogStore, make_conversation: ConversationFactory) -> None:
    info, snaps = make_conversation(store, turns=2, regenerate_every=1)
    rating = store.add_feedback(Feedback(snapshot_id=snaps[2].id, kind="rating", value=4))
    assert rating.id and rating.moment_id == info.moment_id
    store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="label", value="rude",
                                author="ana"))
    vote = store.add_feedback(Feedback(snapshot_id=snaps[2].id, kind="preference",
                                       other_snapshot_id=snaps[1].id, value=snaps[2].id))
    assert {f.kind for f in store.list_feedback(moment_id=info.moment_id)} == {
        "rating", "label", "preference"}
    assert {f.id for f in store.list_feedback(snapshot_id=snaps[1].id)} == {
        vote.id, store.list_feedback(snapshot_id=snaps[1].id)[0].id}
    assert store.list_feedback(snapshot_id=snaps[2].id)[0].value == 4
    with pytest.raises(NotFound):
        store.add_feedback(Feedback(snapshot_id="missing", kind="rating", value=1))


def test_config_versions(store: LogStore) -> None:
    v1 = store.save_config_version("Agent", "cafebot", "01", "id: cafebot\n", author="ana")
    same = store.save_config_version("Agent", "cafebot", "01", "id: cafebot\n")
    v2 = store.save_config_version("Agent", "cafebot", "01", "id: cafebot\nmodel: x\n")
    store.save_config_version("Agent", "cafebot", "02", "other\n")
    assert (v1.version, same.version, v2.version) == (1, 1, 2)
    assert [c.version for c in store.list_config_versions("Agent", "cafebot", "01")] == [1, 2]
    assert len(store.list_config_versions()) == 3
    assert store.get_config_version("Agent", "cafebot", "01").yaml_text.endswith("model: x\n")
    assert store.get_config_version("Agent", "cafebot", "01", 1).author == "ana"
    with pytest.raises(NotFound):
        store.get_config_version("Agent", "cafebot", "01", 9)


def test_migrations_run_on_open_and_are_a_no_op_after(store: LogStore) -> None:
    assert isinstance(store, SqlStore)
    assert current_revisions(store.engine) == head_revisions()
    again = SqlStore(store.url)
    assert current_revisions(again.engine) == head_revisions()
    again.close()


def test_sqlite_runs_in_wal_mode(sqlite_store: SqlStore) -> None:
    with sqlite_store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() == 60000


def test_unknown_ids_raise_not_found(store: LogStore) -> None:
    for call in (lambda: store.get_snapshot("x"), lambda: store.path("x"),
                 lambda: store.get_moment("x"), lambda: store.tree("x")):
        with pytest.raises(NotFound):
            call()
    assert store.children("x") == []
