"""One declaration of each stored record (moment, feedback, config version, snapshot):
the tables and both stored forms follow it, and the closed sets (sources, feedback
kinds) are checked on every write."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime, timedelta, timezone
from typing import Any

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
    ConfigVersion,
    StoredSnapshot,
    column_names,
    columns,
    from_columns,
    from_json,
    to_json,
)
from moments_core.store.synthetic import agent_info, conversation
from moments_core.store.tables import configs_t, feedback_t, moments_t

STAMP = datetime(2026, 11, 24, 8, 15, 30, 123456, tzinfo=timezone(timedelta(hours=2)))
RECORDS: list[Any] = [
    MomentInfo(moment_id="m1", agent_kind="Agent", agent_id="cafebot", agent_variant="01",
               agent_instance_id="i1", config_version=3, source="compare", created_at=STAMP,
               deleted=True, meta={"compare_session_id": "s"}),
    Feedback(snapshot_id="s1", kind="label", value=["sweet", "short"], moment_id="m1",
             other_snapshot_id=None, author="ann", id="f1", created_at=STAMP),
    Feedback(snapshot_id="s1", kind="preference", value="s2", moment_id="m1",
             other_snapshot_id="s2", author="", id="f2", created_at=STAMP),
    ConfigVersion("Agent", "cafebot", "01", 2, "mdl: '0.3'\n", STAMP, "ann"),
]


class Row:
    def __init__(self, values: dict[str, object]) -> None:
        self.__dict__.update(values)


@pytest.mark.parametrize(("record", "table", "key"), [
    (MomentInfo, moments_t, {"pk"}), (Feedback, feedback_t, set()),
    (ConfigVersion, configs_t, {"pk"}),
])
def test_each_table_declares_exactly_its_records_fields(record: type, table: Any,
                                                        key: set[str]) -> None:
    assert {c.name for c in table.columns} == set(column_names(record)) | key


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_both_stored_forms_round_trip_every_field(record: Any) -> None:
    assert from_columns(type(record), Row(columns(record))) == record
    body = json.loads(json.dumps(to_json(record)))  # what an S3 object holds
    assert from_json(type(record), body) == record
    assert list(body) == [f.name for f in fields(record)]
    assert body["created_at"] == "2026-11-24T08:15:30.123456+02:00"


def test_the_stored_forms_keep_their_layout() -> None:
    """The on-disk forms as they were before the records were derived."""
    info, label, _, config = RECORDS
    assert columns(info)["meta"] == '{"compare_session_id": "s"}'
    assert columns(MomentInfo(moment_id="m2"))["meta"] == ""
    assert columns(label)["value_json"] == '["sweet", "short"]' and "value" not in columns(label)
    assert to_json(label)["value"] == ["sweet", "short"]
    assert set(columns(config)) == {"agent_kind", "agent_id", "agent_variant", "version",
                                    "yaml_text", "created_at", "author"}


def test_a_snapshot_object_body_reads_back_without_its_extra_keys() -> None:
    rec = StoredSnapshot("s2", "m1", "s1", None, STAMP, "rating: 4\n", 3, 1,
                         'Self: "Hi"\n')
    body = {"format": "moments-relative-1", **to_json(rec), "__agent_info": {"x": 1}}
    assert body["timestamp"] == "2026-11-24T08:15:30.123456+02:00"
    assert from_json(StoredSnapshot, json.loads(json.dumps(body))) == rec


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


def test_the_api_sends_the_records_fields_in_their_declared_order() -> None:
    from moments_core.api.models import MomentInfoOut, TreeNodeOut
    from moments_core.mdl import parse_occurrences
    from moments_core.store.base import TreeNode

    info = RECORDS[0]
    sent = MomentInfoOut.of(info).model_dump(mode="json")
    assert list(sent) == [f.name for f in fields(MomentInfo) if f.name != "meta"]
    assert sent["created_at"] == "2026-11-24T08:15:30.123456+02:00" and sent["deleted"] is True
    node = TreeNode("s2", "s1", STAMP, 3, parse_occurrences('Self: "Hi"'), ["s3"], "x: 1\n")
    assert TreeNodeOut.of(node).model_dump(mode="json") == {
        "snapshot_id": "s2", "parent_id": "s1", "timestamp": "2026-11-24T08:15:30.123456+02:00",
        "kept": 3, "added": [{"kind": "Self", "content": {"emotion": "", "says": "Hi"}}],
        "children": ["s3"]}


def test_an_agents_and_a_simulated_participants_init_share_one_mdl_check() -> None:
    """One MDL check for every config field holding MDL (agents/config.MDLText)."""
    from pydantic import ValidationError

    from moments_core.evals.suite import Simulated

    with pytest.raises(ValidationError, match="not valid MDL at line 1, column"):
        Simulated(init='Self: "unterminated')
    assert Simulated(init='Customer: "Hi"').init == 'Customer: "Hi"'
