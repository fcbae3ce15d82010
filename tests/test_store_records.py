"""One declaration of a moment's fields (``MomentInfo``): the table and both stored forms
follow it, and the closed sets (sources, feedback kinds) are checked on every write."""

from __future__ import annotations

from dataclasses import fields

import pytest

from moments_core.store.base import (
    FEEDBACK_KINDS,
    MOMENT_SOURCES,
    Feedback,
    LogStore,
    MomentInfo,
    StoreError,
)
from moments_core.store.records import (
    moment_columns,
    moment_from_columns,
    moment_from_json,
    moment_json,
)
from moments_core.store.synthetic import agent_info, conversation
from moments_core.store.tables import moments_t


def test_the_table_declares_exactly_the_moment_fields() -> None:
    declared = {f.name for f in fields(MomentInfo)}
    assert {c.name for c in moments_t.columns} == declared | {"pk"}


def test_both_stored_forms_round_trip_every_field() -> None:
    info = MomentInfo(moment_id="m1", agent_kind="Agent", agent_id="cafebot",
                      agent_variant="01", agent_instance_id="i1", config_version=3,
                      source="compare", deleted=True, meta={"compare_session_id": "s"})

    class Row:
        def __init__(self, values: dict[str, object]) -> None:
            self.__dict__.update(values)

    assert moment_from_columns(Row(moment_columns(info))) == info
    assert moment_from_json(moment_json(info)) == info
    assert set(moment_json(info)) == {f.name for f in fields(MomentInfo)}


def test_the_sources_other_helpers_write_are_known() -> None:
    assert {"chat", "compare", "corpus", "import", "api", "openai-api", "eval"} <= MOMENT_SOURCES
    assert {"rating", "thumbs", "label", "comment", "exclude", "preference"} == FEEDBACK_KINDS


def test_an_unknown_source_or_feedback_kind_is_refused(store: LogStore) -> None:
    info = agent_info("m-src", source="carrier-pigeon")
    with pytest.raises(StoreError, match="source 'carrier-pigeon' is not one of"):
        store.save_snapshot(conversation(1, info)[0], info)
    good = agent_info("m-ok")
    snap = conversation(1, good)[0]
    store.save_snapshot(snap, good)
    with pytest.raises(StoreError, match="feedback kind 'stars' is not one of"):
        store.add_feedback(Feedback(snapshot_id=snap.id, kind="stars", value=5))
    assert store.list_feedback(snapshot_id=snap.id) == []
