"""``iter_trees``: whole trees with feedback, in batches, for the dataset exporters.
The SQL store on a real SQLite file and on the real Postgres server; the interface's
default implementation on S3 over HTTP (moto server)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from moments_core.mdl import Begin, Moment, Participant, Self, Snapshot
from moments_core.store.base import Feedback, LogStore, MomentInfo, TreeNode
from moments_core.store.rebuild import moment_occurrences
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import conversation
from tests.fixtures_store import ConversationFactory

T0 = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _save(store: LogStore, moment_id: str, *, agent_id: str = "cafebot",
          variant: str = "01", source: str = "chat", created: datetime = T0,
          turns: int = 3, regenerate_every: int = 0, seed: int = 0) -> list[Snapshot]:
    info = MomentInfo(moment_id=moment_id, agent_id=agent_id, agent_variant=variant,
                      agent_instance_id="i1", source=source, created_at=created)
    snaps = conversation(turns, info, seed=seed, regenerate_every=regenerate_every)
    for snap in snaps:
        store.save_snapshot(snap, info)
    return snaps


def _check_tree(nodes: list[TreeNode], snaps: list[Snapshot]) -> None:
    """Every stored snapshot, parents before children, children filled, and each full
    moment rebuilt from the nodes equal to the one saved."""
    assert sorted(n.snapshot_id for n in nodes) == sorted(s.id for s in snaps)
    by_id = {n.snapshot_id: n for n in nodes}
    seen: set[str] = set()
    for n in nodes:
        assert n.parent_id is None or n.parent_id in seen
        seen.add(n.snapshot_id)
        assert n.children == [m.snapshot_id for m in nodes if m.parent_id == n.snapshot_id]
    for s in snaps:
        assert Moment(moment_occurrences(by_id, s.id)).to_mdl() == s.moment.to_mdl()
        assert by_id[s.id].timestamp == s.timestamp


def test_trees_with_branches_and_feedback(store: LogStore) -> None:
    a = _save(store, "m-a", turns=4, regenerate_every=2)  # two branches
    b = _save(store, "m-b", created=T0 + timedelta(minutes=1))
    rating = store.add_feedback(Feedback(snapshot_id=a[2].id, kind="rating", value=4))
    vote = store.add_feedback(Feedback(snapshot_id=a[2].id, kind="preference",
                                       other_snapshot_id=a[1].id, value=a[2].id))
    got = list(store.iter_trees())
    assert [info.moment_id for info, _, _ in got] == ["m-a", "m-b"]  # oldest first
    (info_a, nodes_a, feedback_a), (_, nodes_b, feedback_b) = got
    assert info_a.agent_id == "cafebot" and info_a.created_at == T0
    _check_tree(nodes_a, a)
    _check_tree(nodes_b, b)
    assert sum(len(n.children) > 1 for n in nodes_a) == 2  # the regenerated turns
    assert [f.id for f in feedback_a] == [rating.id, vote.id]
    assert feedback_a[1].other_snapshot_id == a[1].id
    assert feedback_b == []


def test_filters_and_deleted_moments(store: LogStore) -> None:
    _save(store, "m-1")
    _save(store, "m-2", variant="02", created=T0 + timedelta(hours=1))
    _save(store, "m-3", agent_id="financebot", source="compare",
          created=T0 + timedelta(hours=2))
    _save(store, "m-4", created=T0 + timedelta(hours=3))
    store.delete_moment("m-4")

    def ids(**filters: Any) -> list[str]:
        return [info.moment_id for info, _, _ in store.iter_trees(**filters)]

    assert ids() == ["m-1", "m-2", "m-3"]  # the deleted moment is left out
    assert ids(include_deleted=True) == ["m-1", "m-2", "m-3", "m-4"]
    assert ids(agent_id="cafebot") == ["m-1", "m-2"]
    assert ids(agent_kind="Agent", agent_id="cafebot", agent_variant="02") == ["m-2"]
    assert ids(source="compare") == ["m-3"]
    assert ids(since=T0 + timedelta(hours=1)) == ["m-2", "m-3"]
    assert ids(until=T0 + timedelta(hours=1)) == ["m-1"]
    assert ids(agent_kind="Other") == []


@pytest.mark.parametrize("batch_size", [1, 2, 3, 500])
def test_batch_boundaries(store: LogStore, batch_size: int) -> None:
    # Five moments, three created at the very same instant: paging must neither skip
    # nor repeat one across batches.
    made = {}
    for i, created in enumerate([T0, T0, T0, T0 + timedelta(seconds=1), T0 - timedelta(1)]):
        made[f"m-{i}"] = _save(store, f"m-{i}", created=created, turns=2, seed=i,
                               regenerate_every=2 if i % 2 else 0)
    store.add_feedback(Feedback(snapshot_id=made["m-3"][0].id, kind="label", value="slow"))
    got = list(store.iter_trees(batch_size=batch_size))
    assert got[0][0].moment_id == "m-4"  # created a day earlier
    assert sorted(i.moment_id for i, _, _ in got) == sorted(made)
    assert [i.created_at for i, _, _ in got] == sorted(i.created_at for i, _, _ in got)
    for info, nodes, feedback in got:
        _check_tree(nodes, made[info.moment_id])
        assert [f.value for f in feedback] == (["slow"] if info.moment_id == "m-3" else [])


def test_a_moment_without_snapshots_comes_with_an_empty_tree(store: LogStore) -> None:
    store.save_moment(MomentInfo(moment_id="m-empty", created_at=T0))
    assert [(i.moment_id, n, f) for i, n, f in store.iter_trees()] == [("m-empty", [], [])]


def test_batch_size_must_be_positive(sqlite_store: SqlStore) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        list(sqlite_store.iter_trees(batch_size=0))


def _traced(store: SqlStore) -> Iterator[list[str]]:
    """Every statement SQLite runs on the store's connections, including those sent on
    the driver's own cursor (SQLAlchemy's events do not see those)."""
    statements: list[str] = []
    store.engine.dispose()

    def trace(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.set_trace_callback(statements.append)

    event.listen(store.engine, "connect", trace)
    yield statements
    event.remove(store.engine, "connect", trace)
    store.engine.dispose()


@pytest.fixture
def statements(sqlite_store: SqlStore) -> Iterator[list[str]]:
    yield from _traced(sqlite_store)


def test_a_few_queries_per_batch_never_one_per_snapshot(
    sqlite_store: SqlStore, make_conversation: ConversationFactory, statements: list[str]
) -> None:
    for i in range(7):
        make_conversation(sqlite_store, turns=4, regenerate_every=2, seed=i)
    statements.clear()
    got = list(sqlite_store.iter_trees(batch_size=3))
    assert len(got) == 7 and sum(len(n) for _, n, _ in got) == 7 * 10
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    # Three batches and the empty page that ends them: moments, snapshots, feedback.
    assert len(selects) == 3 * 3 + 1, selects


def test_iter_leaves_reads_in_bulk(
    sqlite_store: SqlStore, make_conversation: ConversationFactory, statements: list[str]
) -> None:
    made = [make_conversation(sqlite_store, turns=3, regenerate_every=2, seed=i)
            for i in range(5)]
    statements.clear()
    got = list(sqlite_store.iter_leaves(agent_id="cafebot"))
    assert len(got) == 5 * 2
    by_id = {s.id: s for _, snaps in made for s in snaps}
    for _, leaf in got:
        assert leaf.to_mdl() == by_id[leaf.id].to_mdl()
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(selects) == 3  # a page of moments, its snapshots, the empty next page


def test_the_default_implementation_on_s3(s3_store: LogStore) -> None:
    a = _save(s3_store, "m-s3a", turns=2, regenerate_every=1)
    _save(s3_store, "m-s3b", created=T0 + timedelta(minutes=1), variant="02")
    s3_store.add_feedback(Feedback(snapshot_id=a[1].id, kind="thumbs", value=1))
    got = list(s3_store.iter_trees(agent_variant="01", batch_size=1))
    assert [i.moment_id for i, _, _ in got] == ["m-s3a"]
    _check_tree(got[0][1], a)
    assert [f.value for f in got[0][2]] == [1]


def test_shared_prefix_is_not_reparsed(sqlite_store: SqlStore) -> None:
    """Occurrences a child keeps are its parent's objects, not a second parse."""
    info = MomentInfo(moment_id="m-share", created_at=T0)
    root = Snapshot(Moment([Begin(), Participant("Customer", "hi")]), moment_id="m-share")
    child = Snapshot(Moment([*root.moment.occurrences, Self("hello")]), moment_id="m-share",
                     previous_snapshot_id=root.id)
    for s in (root, child):
        sqlite_store.save_snapshot(s, info)
    (_, nodes, _), = sqlite_store.iter_trees()
    by_id = {n.snapshot_id: n for n in nodes}
    full = moment_occurrences(by_id, child.id)
    assert full[0] is by_id[root.id].added[0] and full[2] is by_id[child.id].added[0]


def _annotated(store: LogStore, moment_id: str) -> list[Snapshot]:
    """A root with annotations, a child with other annotations, a grandchild with none."""
    info = MomentInfo(moment_id=moment_id, created_at=T0)
    root = Snapshot(Moment([Begin(), Participant("Customer", "hi")]), moment_id=moment_id,
                    annotations_yaml="rating: 5\ntags: [greeting, short]\n")
    child = Snapshot(Moment([*root.moment.occurrences, Self("hello")]), moment_id=moment_id,
                     previous_snapshot_id=root.id,
                     annotations_yaml="note: 'Customer: hi'\nreviewed: true\n")
    plain = Snapshot(Moment([*child.moment.occurrences, Participant("Customer", "bye")]),
                     moment_id=moment_id, previous_snapshot_id=child.id)
    for s in (root, child, plain):
        store.save_snapshot(s, info)
    return [root, child, plain]


def _check_annotations(nodes: list[TreeNode], snaps: list[Snapshot]) -> None:
    by_id = {n.snapshot_id: n for n in nodes}
    root, child, plain = (by_id[s.id] for s in snaps)
    assert root.annotations_yaml == snaps[0].annotations_yaml
    assert root.annotations == {"rating": 5, "tags": ["greeting", "short"]}
    assert child.annotations == {"note": "Customer: hi", "reviewed": True}
    assert plain.annotations_yaml == "" and plain.annotations == {}


def test_annotations_come_through_tree_and_iter_trees(store: LogStore) -> None:
    snaps = _annotated(store, "m-notes")
    _save(store, "m-other", created=T0 + timedelta(minutes=1))  # a second moment, no notes
    _check_annotations(store.tree("m-notes"), snaps)
    got = {info.moment_id: nodes for info, nodes, _ in store.iter_trees(batch_size=1)}
    _check_annotations(got["m-notes"], snaps)
    assert all(n.annotations == {} for n in got["m-other"])


def test_annotations_on_s3(s3_store: LogStore) -> None:
    snaps = _annotated(s3_store, "m-s3notes")
    _check_annotations(s3_store.tree("m-s3notes"), snaps)
    (_, nodes, _), = s3_store.iter_trees()
    _check_annotations(nodes, snaps)


def test_tree_node_annotations_that_do_not_parse_read_as_empty() -> None:
    def n(text: str) -> TreeNode:
        return TreeNode("s", None, T0, 0, [], annotations_yaml=text)

    assert TreeNode("s", None, T0, 0, []).annotations == {}  # old callers: no annotations
    assert n("a: [1, 2\n").annotations == {}  # unclosed flow sequence
    assert n("- just\n- a list\n").annotations == {}  # not a mapping
    assert n("k: v\n").annotations == {"k": "v"}
