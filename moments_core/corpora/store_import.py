"""Corpus threads -> the log store, one root snapshot per moment (source ``corpus``).

The stored moment is the agent's init followed by the thread, so it browses and exports
like a chat moment of that agent. The trace (utterance ids, scores, timestamps) goes in
the snapshot's annotations rather than into the moment. Ids derive from the thread, so
importing the same corpus twice stores nothing new, and says so: such threads count as
skipped, ``ALREADY_STORED``, not as written.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from moments_core.mdl import Moment, Snapshot, parse_occurrences
from moments_core.store.base import LogStore, MomentInfo

from .agent_target import AgentTarget
from .stats import ConversionStats
from .thread import Thread

ALREADY_STORED = "already in the store"  # the skip reason of a thread imported before


def import_threads(
    threads: Iterable[Thread], store: LogStore, target: AgentTarget, corpus_name: str,
    stats: ConversionStats,
) -> int:
    """Save every thread not stored yet; returns how many were new. Threads stored by an
    earlier import are counted in ``stats.skipped[ALREADY_STORED]``."""
    init = parse_occurrences(target.init)
    instance = f"corpus-{corpus_name}"
    saved = 0
    # LogStore has no bulk save: each root snapshot is one short transaction.
    for thread in threads:
        moment_id = thread.moment_id
        info = MomentInfo(
            moment_id=moment_id, agent_kind=target.kind, agent_id=target.id,
            agent_variant=target.variant, agent_instance_id=instance,
            config_version=target.version, source="corpus",
            meta={"corpus": corpus_name, "corpus_source": thread.source, "thread": thread.key},
        )
        snap = Snapshot(
            Moment([*init, *thread.occurrences], moment_id),
            id=str(uuid.uuid5(uuid.UUID(moment_id), "root")),
            moment_id=moment_id,
            previous_snapshot_id=None,
            annotations_yaml=thread.trace_yaml,
        )
        if store.has_snapshot(snap.id):
            stats.skipped[ALREADY_STORED] += 1
            continue
        store.save_snapshot(snap, info)
        stats.threads_written += 1
        saved += 1
    return saved
