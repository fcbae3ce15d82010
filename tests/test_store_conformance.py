"""One suite over every back end: SQLite file, Postgres, S3 (moto over HTTP), SQL+S3 mirror.

Every LogStore operation, the bad-input cases and the fault cases. A back end passes the
same assertions as the others, or it is not a LogStore.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest

from moments_core.mdl import Begin, Moment, Participant, Self, Snapshot, now
from moments_core.store.base import (
    Feedback,
    LogStore,
    MomentDeleted,
    MomentFilter,
    MomentInfo,
    NotFound,
    StoreError,
    StoreUnavailable,
)
from moments_core.store.synthetic import agent_info, conversation
from tests.fixtures_store import Backend


def _ids(store: LogStore, where: MomentFilter | None = None) -> set[str]:
    return {s.info.moment_id for s in store.list_moments(where)}


def _turn(parent: Snapshot, says: str, who: str = "Customer") -> Snapshot:
    line = Participant(who, says) if who != "Self" else Self(says)
    return Snapshot(Moment([*parent.moment.occurrences, line]), moment_id=parent.moment_id,
                    previous_snapshot_id=parent.id, timestamp=parent.timestamp + timedelta(1))


def _root(moment_id: str, says: str = "Hello.") -> Snapshot:
    return Snapshot(Moment([Begin(), Participant("Customer", says)]), moment_id=moment_id)


def _save_conversation(store: LogStore, turns: int = 3, **kw: object
                       ) -> tuple[MomentInfo, list[Snapshot]]:
    info = agent_info(str(uuid.uuid4()), **kw)  # type: ignore[arg-type]
    snaps = conversation(turns, info, regenerate_every=2)
    for s in snaps:
        store.save_snapshot(s, info)
    return info, snaps


# --- every operation ---------------------------------------------------------------------
def test_snapshots_trees_and_listings(backend: Backend) -> None:
    store = backend.store
    info, snaps = _save_conversation(store)
    for s in snaps:
        assert store.get_snapshot(s.id).to_mdl() == s.to_mdl()
        assert store.has_snapshot(s.id)
    assert [p.id for p in store.path(snaps[-1].id)][-1] == snaps[-1].id
    assert store.path(snaps[-1].id)[0].id == snaps[0].id
    tree = store.tree(info.moment_id)
    assert {n.snapshot_id for n in tree} == {s.id for s in snaps}
    assert sorted(store.children(snaps[2].id)) == sorted(
        s.id for s in snaps if s.previous_snapshot_id == snaps[2].id)
    leaves = store.leaves(info.moment_id)
    assert len(leaves) == 2  # one regenerate in three turns
    (summary,) = store.list_moments()
    assert (summary.snapshots, summary.leaves) == (len(snaps), 2)
    assert summary.info.agent_id == "cafebot" and store.get_moment(info.moment_id).source == "chat"
    assert {s.id for _, s in store.iter_leaves()} == {s.id for s in leaves}
    ((got, nodes, feedback),) = list(store.iter_trees(batch_size=1))
    assert got.moment_id == info.moment_id and len(nodes) == len(snaps) and feedback == []
    replica = backend.replica()  # nothing cached: everything read from the back end
    assert replica.get_snapshot(snaps[-1].id).to_mdl() == snaps[-1].to_mdl()
    assert len(replica.leaves(info.moment_id)) == 2


def test_saving_is_idempotent_in_one_process_and_across_processes(backend: Backend) -> None:
    info, snaps = _save_conversation(backend.store, turns=2)
    for s in snaps:
        backend.store.save_snapshot(s, info)
    replica = backend.replica()
    for s in snaps:
        replica.save_snapshot(s, info)
    assert len(backend.replica().tree(info.moment_id)) == len(snaps)


def test_filters_reach_every_read_alike(backend: Backend) -> None:
    store = backend.store
    a, _ = _save_conversation(store, turns=1)
    b, _ = _save_conversation(store, turns=2, variant="02")
    c, _ = _save_conversation(store, turns=1, agent_id="financebot", source="compare")
    assert _ids(store, MomentFilter("Agent", "cafebot")) == {a.moment_id, b.moment_id}
    assert _ids(store, MomentFilter(agent_variant="02")) == {b.moment_id}
    assert _ids(store, MomentFilter(agent_id="all")) == {a.moment_id, b.moment_id, c.moment_id}
    assert [s.info.moment_id for s in store.list_moments(limit=1, offset=1)] == [b.moment_id]
    later = now() + timedelta(hours=1)
    assert _ids(store, MomentFilter(since=later)) == set()
    assert len(_ids(store, MomentFilter(until=later))) == 3
    where = MomentFilter(source="compare")
    assert _ids(store, where) == {c.moment_id}
    assert store.list_moments(source="compare")[0].info.moment_id == c.moment_id  # keywords
    assert [i.moment_id for i in store.moment_infos(where)] == [c.moment_id]
    assert {i.moment_id for i, _, _ in store.iter_trees(where)} == {c.moment_id}
    assert {i.moment_id for i, _ in store.iter_leaves(where)} == {c.moment_id}
    # The declared fast paths agree with LogStore's defaults on every back end.
    assert store.fork_counts() == LogStore.fork_counts(store) == {b.moment_id: 1}
    fast = sorted((m, a) for m, _, _, a, _ in store.iter_snapshot_texts())
    slow = sorted((m, a) for m, _, _, a, _ in LogStore.iter_snapshot_texts(store))
    assert fast == slow and len(fast) > 3
    assert store.moment_infos() == LogStore.moment_infos(store)
    facts = sorted(store.answer_facts(), key=repr)
    assert facts == sorted(LogStore.answer_facts(store), key=repr)
    assert len([f for f in facts if not f[1]]) == 1 + 3 + 1  # answers, regenerated included
    assert len([f for f in facts if f[1]]) == 1  # the one regenerated answer, as Rejected
    assert {f[0] for f in store.answer_facts(where)} == {c.moment_id}
    roots = sorted((m, t) for m, _, _, t, _ in store.iter_snapshot_texts(roots_only=True))
    assert [m for m, _ in roots] == sorted([a.moment_id, b.moment_id, c.moment_id])
    assert roots == sorted((m, t) for m, _, _, t, _ in
                           LogStore.iter_snapshot_texts(store, roots_only=True))


def test_feedback_and_preferences(backend: Backend) -> None:
    store = backend.store
    info, snaps = _save_conversation(store, turns=2)
    other, lane = _save_conversation(store, turns=1, source="compare")
    fb = store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="rating", value=4))
    assert fb.id and fb.moment_id == info.moment_id
    vote = store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="preference",
                                       value=snaps[1].id, other_snapshot_id=lane[1].id))
    assert {f.id for f in store.list_feedback(info.moment_id)} == {fb.id, vote.id}
    assert [f.id for f in store.list_feedback(snapshot_id=lane[1].id)] == [vote.id]
    again = store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="rating", value=2,
                                        id=fb.id))  # same id: replaces
    assert [f.value for f in store.list_feedback(snapshot_id=snaps[1].id)
            if f.id == again.id] == [2]
    assert {f.id for f in store.all_feedback()} == {fb.id, vote.id}
    with pytest.raises(NotFound):
        store.add_feedback(Feedback(snapshot_id="nope", kind="rating", value=1))
    with pytest.raises(NotFound):
        store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="preference",
                                    value="tie", other_snapshot_id="nope"))
    with pytest.raises(StoreError, match="not JSON"):
        store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="label", value=object()))
    with pytest.raises(StoreError, match=f"not {other.moment_id}"):
        store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="label", value="x",
                                    moment_id=other.moment_id))
    assert len(store.list_feedback(info.moment_id)) == 2  # nothing from the refusals


def test_config_versions(backend: Backend) -> None:
    store = backend.store
    assert store.save_config_version("Agent", "cafebot", "01", "a: 1\n").version == 1
    assert store.save_config_version("Agent", "cafebot", "01", "a: 1\n").version == 1
    assert store.save_config_version("Agent", "cafebot", "01", "a: 2\n", "ann").version == 2
    assert store.get_config_version("Agent", "cafebot", "01").yaml_text == "a: 2\n"
    assert store.get_config_version("Agent", "cafebot", "01", 1).yaml_text == "a: 1\n"
    assert [c.version for c in store.list_config_versions(agent_id="cafebot")] == [1, 2]
    with pytest.raises(NotFound):
        store.get_config_version("Agent", "cafebot", "01", 9)


def test_unknown_ids_raise_not_found(backend: Backend) -> None:
    store = backend.store
    for call in (lambda: store.get_moment("nope"), lambda: store.get_snapshot("nope"),
                 lambda: store.tree("nope"), lambda: store.delete_moment("nope"),
                 lambda: store.path("nope")):
        with pytest.raises(NotFound):
            call()
    assert not store.has_snapshot("nope")


@pytest.mark.parametrize("bad_id", ["a\x00b", "\ud800", "../../etc/passwd"])
def test_lookups_by_ids_no_store_can_hold_are_not_found(backend: Backend, bad_id: str) -> None:
    store = backend.store
    _save_conversation(store, turns=1)
    for call in (lambda: store.get_moment(bad_id), lambda: store.get_snapshot(bad_id),
                 lambda: store.tree(bad_id), lambda: store.children(bad_id),
                 lambda: store.path(bad_id), lambda: store.leaves(bad_id)):
        try:
            result = call()
        except NotFound:
            continue
        assert result == [], result  # children of an unknown snapshot: none
    assert not store.has_snapshot(bad_id)
    assert store.list_feedback(snapshot_id=bad_id) == []


# --- bad input: refused with a clear StoreError, nothing written ----------------------------
def _nothing_stored(backend: Backend, *snapshot_ids: str) -> None:
    fresh = backend.replica()
    for sid in snapshot_ids:
        assert not fresh.has_snapshot(sid)


def test_missing_parent_is_refused_unless_kept_as_a_root(backend: Backend) -> None:
    store = backend.store
    info = agent_info("m-orphan")
    orphan = Snapshot(Moment([Begin()]), moment_id="m-orphan", previous_snapshot_id="gone")
    with pytest.raises(StoreError, match="parent snapshot gone is not stored"):
        store.save_snapshot(orphan, info)
    _nothing_stored(backend, orphan.id)
    assert _ids(store) == set()
    store.save_snapshot(orphan, info, orphan_as_root=True)
    assert store.tree("m-orphan")[0].parent_id is None
    older = Snapshot(Moment([Begin()]), moment_id="m-old", previous_snapshot_id="m-old")
    store.save_snapshot(older, agent_info("m-old"))  # the older system's root form
    assert store.get_snapshot(older.id).previous_snapshot_id == "m-old"


def test_wrong_moment_or_agent_is_refused(backend: Backend) -> None:
    store = backend.store
    info, snaps = _save_conversation(store, turns=1)
    stray = Snapshot(snaps[0].moment, moment_id="m-other", previous_snapshot_id=snaps[0].id)
    with pytest.raises(StoreError, match=f"is in moment {info.moment_id}, not m-other"):
        store.save_snapshot(stray, agent_info("m-other"))
    theirs = _turn(snaps[-1], "Hi")
    with pytest.raises(StoreError, match="belongs to agent Agent/cafebot/01, not Agent/finance"):
        store.save_snapshot(theirs, agent_info(info.moment_id, agent_id="financebot"))
    with pytest.raises(StoreError, match="but the info names"):
        store.save_snapshot(theirs, agent_info("m-else"))
    with pytest.raises(StoreError, match="belongs to agent"):
        store.save_moment(agent_info(info.moment_id, agent_id="financebot"))
    _nothing_stored(backend, stray.id, theirs.id)
    assert _ids(store) == {info.moment_id}


@pytest.mark.parametrize(("text", "what"), [
    ("bad \ud800 text", "a lone surrogate (U+D800) at character"),
    ("bad \x00 text", "a NUL character at character"),
])
def test_unstorable_text_is_refused_naming_the_occurrence(
    backend: Backend, text: str, what: str
) -> None:
    store = backend.store
    info, snaps = _save_conversation(store, turns=1)
    bad = _turn(snaps[-1], text)
    with pytest.raises(StoreError, match=re.escape(f"occurrence 3 (Participant) holds {what}")):
        store.save_snapshot(bad, info)
    noted = Snapshot(snaps[-1].moment, moment_id=info.moment_id,
                     previous_snapshot_id=snaps[-1].id, annotations_yaml=f"note: {text}\n")
    with pytest.raises(StoreError, match="its annotations holds"):
        store.save_snapshot(noted, info)
    with pytest.raises(StoreError, match="holds"):
        store.save_snapshot(_root("m-new"), agent_info("m-new", agent_id=text))
    _nothing_stored(backend, bad.id, noted.id)
    assert _ids(backend.replica()) == {info.moment_id}


def test_a_failed_save_never_poisons_later_saves(backend: Backend) -> None:
    """The issue's sequence: a refused first save of m1, a new moment n1, then m1 again
    (before: SQLite filed m1's snapshot under n1, reusing the rolled-back moment key)."""
    store = backend.store
    m1 = agent_info(str(uuid.uuid4()))
    with pytest.raises(StoreError, match="lone surrogate"):
        store.save_snapshot(_root(m1.moment_id, "lone \ud800"), m1)
    n1 = agent_info(str(uuid.uuid4()), agent_id="financebot")
    n_root = _root(n1.moment_id)
    store.save_snapshot(n_root, n1)
    m_root = _root(m1.moment_id, "Fine this time.")
    store.save_snapshot(m_root, m1)
    nxt = _turn(m_root, "Still there?")
    store.save_snapshot(nxt, m1)
    for reader in (store, backend.replica()):
        assert reader.get_snapshot(nxt.id).moment_id == m1.moment_id
        assert {n.snapshot_id for n in reader.tree(n1.moment_id)} == {n_root.id}
        assert {n.snapshot_id for n in reader.tree(m1.moment_id)} == {m_root.id, nxt.id}
        assert reader.get_moment(m1.moment_id).agent_id == "cafebot"


def test_a_snapshot_without_info_joins_or_creates_its_moment(backend: Backend) -> None:
    store = backend.store
    root = _root("m-bare")
    store.save_snapshot(root)  # no info: the moment is created as an API moment
    assert store.get_moment("m-bare").source == "api"
    child = _turn(root, "More.")
    store.save_snapshot(child)
    assert len(store.tree("m-bare")) == 2


# --- soft delete sticks, on every back end and across replicas ------------------------------
def test_a_deleted_moment_stays_deleted_and_takes_no_more_snapshots(backend: Backend) -> None:
    store = backend.store
    info, snaps = _save_conversation(store, turns=1)
    replica = backend.replica()
    replica.save_snapshot(_turn(snaps[-1], "From the replica."), info)  # caches the moment
    kept, _ = _save_conversation(store, turns=1)
    store.delete_moment(info.moment_id)
    assert _ids(store) == {kept.moment_id}
    assert info.moment_id in _ids(store, MomentFilter(include_deleted=True))
    assert store.get_snapshot(snaps[-1].id).id == snaps[-1].id  # still readable by id
    late = _turn(snaps[-1], "Are you there?")
    with pytest.raises(MomentDeleted, match="was deleted"):
        store.save_snapshot(late, info)
    with pytest.raises(MomentDeleted):
        replica.save_snapshot(late, info)  # stale cached info: still refused
    with pytest.raises(MomentDeleted):
        replica.save_snapshot(late)
    with pytest.raises(MomentDeleted):
        replica.save_moment(info)
    with pytest.raises(MomentDeleted):  # a replica that never saw the moment (S3: a
        backend.replica().save_snapshot(late, info)  # conditional create that must fail)
    fresh = backend.replica()
    assert _ids(fresh) == {kept.moment_id}
    assert fresh.get_moment(info.moment_id).deleted
    assert not fresh.has_snapshot(late.id)
    assert info.moment_id not in {i.moment_id for i, _, _ in fresh.iter_trees()}


# --- faults ----------------------------------------------------------------------------------
def test_an_unreachable_back_end_raises_store_unavailable(backend: Backend) -> None:
    if backend.down is None:
        pytest.skip("a SQLite file has no endpoint to lose (see test_store_concurrency)")
    down = backend.down()
    info = agent_info("m-down")
    root = _root("m-down")
    if backend.name == "mirror":
        down.save_snapshot(root, info)  # SQL has it; S3 gets it when it is back
        assert down.get_snapshot(root.id).id == root.id
        assert down.pending() == 1  # type: ignore[attr-defined]
        return
    with pytest.raises(StoreUnavailable, match="unavailable"):
        down.save_snapshot(root, info)
    with pytest.raises(StoreUnavailable):
        down.get_moment("m-down")
    with pytest.raises(StoreUnavailable):
        down.list_moments()
    with pytest.raises(StoreUnavailable):
        down.add_feedback(Feedback(snapshot_id=root.id, kind="rating", value=1))
