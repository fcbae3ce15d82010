"""S3 back end, import of older objects, and the SQL->S3 mirror, over real HTTP (moto)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import boto3
import pytest

from moments_core.mdl import Snapshot
from moments_core.settings import Settings
from moments_core.store import open_store
from moments_core.store.base import Feedback, LogStore, MomentInfo, StoreError
from moments_core.store.legacy_import import import_snapshots
from moments_core.store.mirror import MirroredStore
from moments_core.store.s3 import S3Store
from moments_core.store.sql import SqlStore
from moments_core.store.synthetic import agent_info, conversation
from tests.fixtures_store import ConversationFactory, MotoServer


def _client(settings: Settings):  # type: ignore[no-untyped-def]
    return boto3.client("s3", endpoint_url=settings.s3_endpoint_url, region_name="us-east-1")


def _keys(settings: Settings, prefix: str = "") -> list[str]:
    page = _client(settings).list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)
    return [o["Key"] for o in page.get("Contents", [])]


def test_s3_store_round_trips_and_uses_the_key_layout(
    s3_store: S3Store, s3_settings: Settings, make_conversation: ConversationFactory
) -> None:
    info, snaps = make_conversation(s3_store, turns=3, regenerate_every=2)
    keys = _keys(s3_settings, "moments/snapshots/")
    assert sorted(keys) == sorted(
        f"moments/snapshots/Agent/cafebot/01/i1/{info.moment_id}/{s.id}.json" for s in snaps
    )
    fresh = S3Store(s3_settings)  # nothing cached: everything comes over HTTP
    for snap in snaps:
        assert fresh.get_snapshot(snap.id).to_mdl() == snap.to_mdl()
    assert len(fresh.leaves(info.moment_id)) == 2
    summary = fresh.list_moments()[0]
    assert (summary.snapshots, summary.leaves) == (len(snaps), 2)
    assert fresh.path(snaps[-1].id)[0].id == snaps[0].id
    body = json.loads(_client(s3_settings).get_object(
        Bucket=s3_settings.s3_bucket, Key=keys[0])["Body"].read())
    assert body["__agent_info"]["agent_id"] == "cafebot" and "added" in body


def test_s3_store_refuses_bad_input_and_keeps_feedback_and_configs(
    s3_store: S3Store, make_conversation: ConversationFactory
) -> None:
    info, snaps = make_conversation(s3_store, turns=1)
    orphan = Snapshot(snaps[0].moment, moment_id=info.moment_id, previous_snapshot_id="gone")
    with pytest.raises(StoreError, match="not stored"):
        s3_store.save_snapshot(orphan, info)
    other = MomentInfo(moment_id=info.moment_id, agent_id="financebot")
    with pytest.raises(StoreError, match="belongs to agent"):
        s3_store.save_snapshot(Snapshot(snaps[0].moment, moment_id=info.moment_id), other)
    fb = s3_store.add_feedback(Feedback(snapshot_id=snaps[1].id, kind="rating", value=5))
    assert s3_store.list_feedback(snapshot_id=snaps[1].id)[0].id == fb.id
    assert s3_store.save_config_version("Agent", "cafebot", "01", "a\n").version == 1
    assert s3_store.save_config_version("Agent", "cafebot", "01", "b\n").version == 2
    assert s3_store.get_config_version("Agent", "cafebot", "01").yaml_text == "b\n"
    s3_store.delete_moment(info.moment_id)
    assert S3Store(replace(Settings(), s3_bucket=s3_store.bucket,
                           s3_endpoint_url=s3_store.client.meta.endpoint_url,
                           s3_region="us-east-1")).list_moments() == []


def _write_legacy(snaps: list[Snapshot], info: MomentInfo) -> dict[str, bytes]:
    """The older form: the whole moment in every object, agent under __agent_info."""
    out = {}
    for s in snaps:
        d = s.to_dict()
        del d["moment_id"]  # older objects carry the moment id only under moment.id
        d["__agent_info"] = {"kind": info.agent_kind, "id": info.agent_id,
                             "variant": info.agent_variant, "instance_id": "i9"}
        key = (f"old/moments/snapshots/{info.agent_kind}/{info.agent_id}/{info.agent_variant}"
               f"/i9/{info.moment_id}/{s.id}.json")
        out[key] = json.dumps(d).encode()
    return out


def test_import_from_s3_builds_trees_counts_orphans_and_is_idempotent(
    s3_settings: Settings,
) -> None:
    info = agent_info("legacy-1")
    snaps = conversation(5, info, regenerate_every=2)
    objects = _write_legacy(snaps, info)
    missing = f"old/moments/snapshots/Agent/cafebot/01/i9/legacy-1/{snaps[1].id}.json"
    del objects[missing]  # its child becomes a root
    objects["old/broken.json"] = b"{not json"
    client = _client(s3_settings)
    for key, body in objects.items():
        client.put_object(Bucket=s3_settings.s3_bucket, Key=key, Body=body)

    store = SqlStore(s3_settings.database_url)
    report = import_snapshots(store, f"s3://{s3_settings.s3_bucket}/old/", s3_settings)
    assert (report.read, report.imported, report.missing_parent_roots) == (
        len(snaps), len(snaps) - 1, 1)
    assert [name for name, _ in report.errors] == ["old/broken.json"]
    tree = store.tree("legacy-1")
    assert sum(n.parent_id is None for n in tree) == 2
    assert store.get_moment("legacy-1").agent_instance_id == "i9"
    assert store.get_moment("legacy-1").source == "import"
    for s in snaps:
        if s.id != snaps[1].id:
            assert store.get_snapshot(s.id).moment.to_mdl() == s.moment.to_mdl()
    rows_before = store.moment_records("legacy-1")
    again = import_snapshots(store, f"s3://{s3_settings.s3_bucket}/old/", s3_settings)
    assert (again.imported, again.already_stored) == (0, len(snaps) - 1)
    assert store.moment_records("legacy-1") == rows_before


def test_import_from_a_local_folder(tmp_path: Path, sqlite_store: LogStore) -> None:
    info = agent_info("legacy-2")
    snaps = conversation(3, info)
    for key, body in _write_legacy(snaps, info).items():
        path = tmp_path / "dump" / Path(key).name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(body)  # flat folder: agent info comes from __agent_info alone
    report = import_snapshots(sqlite_store, str(tmp_path / "dump"), Settings())
    assert report.imported == len(snaps) and not report.errors
    assert sqlite_store.leaves("legacy-2")[0].moment.to_mdl() == snaps[-1].moment.to_mdl()
    with pytest.raises(StoreError, match="neither"):
        import_snapshots(sqlite_store, str(tmp_path / "nowhere"), Settings())


def test_mirror_copies_snapshots_and_queues_them_while_s3_is_down(
    s3_settings: Settings, moto_server: MotoServer, make_conversation: ConversationFactory
) -> None:
    mirrored = open_store(settings=replace(s3_settings, s3_mirror=True))
    assert isinstance(mirrored, MirroredStore)
    _, first = make_conversation(mirrored, turns=1)
    assert mirrored.wait_drained(10)  # copied in the background
    assert len(_keys(s3_settings, "moments/snapshots/")) == len(first)

    moto_server.stop()  # S3 goes down (the bucket's content goes with this moto process)
    try:
        info2, second = make_conversation(mirrored, turns=2)
        assert mirrored.pending() == len(second)  # saved in SQL, queued for S3
        assert mirrored.get_snapshot(second[-1].id).to_mdl() == second[-1].to_mdl()
        reopened = SqlStore(s3_settings.database_url)  # the queue is in the database
        assert reopened.leaves(info2.moment_id)[0].id == second[-1].id
    finally:
        moto_server.start()
    _client(s3_settings).create_bucket(Bucket=s3_settings.s3_bucket)
    assert mirrored.drain(force=True) == len(second)
    assert mirrored.pending() == 0
    s3 = S3Store(s3_settings)
    assert s3.get_snapshot(second[-1].id).to_mdl() == second[-1].to_mdl()
    assert [s.id for s in s3.leaves(info2.moment_id)] == [second[-1].id]
