"""The older logging server's route: whole snapshots with ``__agent_info`` are stored as
trees, idempotently; bad ones are refused with nothing stored."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from moments_core.mdl import Example
from moments_core.settings import Settings, get_settings
from moments_core.store import LogStore
from moments_core.store.legacy_import import import_snapshots, parse_legacy

from .api_fixtures import participant, stored_counts

AGENT = {"kind": "ChatGptAgent", "id": "cafe", "variant": "01", "instance_id": "inst-42"}
INIT = [{"kind": "Instructions", "content": "You are a barista."},
        {"kind": "Begin", "content": None}]


def _older(moment_id: str, sid: str, prev: str | None, occurrences: list[Any],
           agent: dict[str, Any] | None = None) -> dict[str, Any]:
    """A snapshot as the older system sent it: the whole moment, agent under __agent_info."""
    return {"id": sid, "previous_snapshot_id": prev, "timestamp": "2023-06-01T08:01:00+00:00",
            "moment": {"id": moment_id, "occurrences": occurrences},
            "__agent_info": agent or AGENT}


def _ids() -> tuple[str, str, str]:
    return str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())


def test_older_snapshots_are_stored_as_a_tree(client: TestClient,
                                              sqlite_store: LogStore) -> None:
    mid, s1, s2 = _ids()
    said = [*INIT, participant("Coffee?")]
    # The older system wrote the moment id as the root's previous id.
    r = client.post(f"/v1/snapshots/{s1}", json=_older(mid, s1, mid, said))
    assert r.status_code == 201, r.text
    assert r.json() == {"snapshot_id": s1, "moment_id": mid, "stored": True,
                        "root_for_missing_parent": False}
    answer = [*said, {"kind": "Self", "content": {"emotion": "😊", "says": "Sure!"}}]
    assert client.post(f"/v1/snapshots/{s2}", json=_older(mid, s2, s1, answer)).status_code == 201

    info = sqlite_store.get_moment(mid)
    assert (info.agent_kind, info.agent_id, info.agent_variant, info.agent_instance_id) == (
        "ChatGptAgent", "cafe", "01", "inst-42")
    nodes = sqlite_store.tree(mid)
    assert [n.snapshot_id for n in nodes] == [s1, s2] and nodes[1].parent_id == s1
    assert nodes[1].kept == 3  # stored relative to its parent, not whole
    assert [o.to_dict() for o in sqlite_store.get_snapshot(s2).moment.occurrences] == answer
    mdl = client.get(f"/v1/snapshots/{s2}/mdl").text
    assert 'Self: (😊) "Sure!"' in mdl


def test_sending_again_changes_nothing(client: TestClient, sqlite_store: LogStore) -> None:
    mid, s1, _ = _ids()
    body = _older(mid, s1, None, INIT)
    assert client.post(f"/v1/snapshots/{s1}", json=body).status_code == 201
    before = stored_counts(sqlite_store)
    r = client.post(f"/v1/snapshots/{s1}", json=body)
    assert r.status_code == 200 and r.json()["stored"] is False
    assert stored_counts(sqlite_store) == before


def test_a_snapshot_whose_parent_is_missing_is_kept_as_a_root(
    client: TestClient, sqlite_store: LogStore
) -> None:
    mid, s1, s2 = _ids()
    r = client.post(f"/v1/snapshots/{s2}", json=_older(mid, s2, s1, [*INIT, participant("Hi")]))
    assert r.status_code == 201 and r.json()["root_for_missing_parent"] is True
    assert sqlite_store.tree(mid)[0].parent_id is None


def test_bad_older_snapshots_are_refused(client: TestClient, sqlite_store: LogStore) -> None:
    mid, s1, s2 = _ids()
    assert client.post(f"/v1/snapshots/{s1}", json=_older(mid, s1, None, INIT)).status_code == 201
    before = stored_counts(sqlite_store)

    r = client.post(f"/v1/snapshots/{s2}", json=_older(mid, s1, None, INIT))
    assert r.status_code == 422 and "path" in r.json()["detail"]
    r = client.post(f"/v1/snapshots/{s2}", json=_older(mid, s2, s1, [{"kind": "Nope"}]))
    assert r.status_code == 422 and "unknown occurrence kind" in r.json()["detail"]
    bad_name = [*INIT, participant("hi", name="Self")]
    r = client.post(f"/v1/snapshots/{s2}", json=_older(mid, s2, s1, bad_name))
    assert r.status_code == 422 and "name" in r.json()["detail"]
    r = client.post(f"/v1/snapshots/{s2}", json={"id": s2, "__agent_info": AGENT})
    assert r.status_code == 422 and "moment" in r.json()["detail"]
    r = client.post(f"/v1/snapshots/{s2}", json={**_older(mid, s2, s1, INIT),
                                                "__agent_info": "cafe"})
    assert r.status_code == 422 and "__agent_info" in r.json()["detail"]
    # The same moment claimed by another agent.
    other = {**AGENT, "id": "other"}
    r = client.post(f"/v1/snapshots/{s2}", json=_older(mid, s2, s1, INIT, other))
    assert r.status_code == 409, r.text
    assert stored_counts(sqlite_store) == before


# --- the older chat server's objects, exactly as it logged them (issue 13) ----------------
INSTANCE = "0d3b5f8e-2c1a-4e7b-9f60-5a4c3b2a1908"
OLDER_AGENT = (
    '{"id":"INSTANCE","name":"Leela","config":{"mdl":"0.2.2","kind":"LlmCohereAgent",'
    '"id":"cafebot","variant":"experiment","init":"Instructions: You are Leela."}}'
).replace("INSTANCE", INSTANCE)
OLDER_SNAPSHOT = (
    '{"id":"%(sid)s","previous_snapshot_id":%(prev)s,"timestamp":"2023-06-01T08:0%(n)d:00+00:00",'
    '"annotations":{},"moment":{"id":"%(mid)s","occurrences":['
    '{"kind":"Instructions","content":"You are Leela."},{"kind":"Begin","content":null},'
    '{"kind":"Participant","content":{"name":"Customer","identifier":"unknown","emotion":"",'
    '"says":"A latte, please."}}%(more)s]},"__agent_info":' + OLDER_AGENT + "}"
)
ANSWER = ',{"kind":"Self","content":{"emotion":"","says":"Coming right up!"}}'


def _older_objects(mid: str) -> list[tuple[str, str]]:
    """(snapshot id, JSON text) of a two-snapshot conversation as the older server wrote it."""
    s1, s2 = str(uuid.uuid4()), str(uuid.uuid4())
    first = OLDER_SNAPSHOT % {"sid": s1, "prev": "null", "n": 1, "mid": mid, "more": ""}
    second = OLDER_SNAPSHOT % {"sid": s2, "prev": f'"{s1}"', "n": 2, "mid": mid, "more": ANSWER}
    return [(s1, first), (s2, second)]


def _older_key(mid: str, sid: str) -> str:
    return f"moments/snapshots/LlmCohereAgent/cafebot/experiment/{INSTANCE}/{mid}/{sid}.json"


def _check_filed(store: LogStore, mid: str, settings: Settings, tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    info = store.get_moment(mid)
    assert (info.agent_kind, info.agent_id, info.agent_variant) == (
        "LlmCohereAgent", "cafebot", "experiment")
    assert info.agent_instance_id == INSTANCE
    assert info.meta.get("agent_name") == "Leela"
    nodes = store.tree(mid)
    assert len(nodes) == 2 and nodes[1].parent_id == nodes[0].snapshot_id
    # and the dataset command finds the conversation under the agent's own name
    from moments_core.cli import app

    monkeypatch.setenv("MOMENTS_DB_URL", settings.database_url)
    get_settings.cache_clear()
    out = tmp_path / "seed.csv"
    try:
        built = CliRunner().invoke(app, ["build-dataset", "LlmCohereAgent", "cafebot",
                                         "experiment", "--out", str(out)])
    finally:
        get_settings.cache_clear()
    assert built.exit_code == 0, built.output
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 1 and rows[0]["agent_instance_id"] == INSTANCE
    assert "Coming right up!" in rows[0]["moment"]


def test_logging_route_reads_the_agent_from_agent_info_config(
    client: TestClient, sqlite_store: LogStore, api_settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mid = str(uuid.uuid4())
    for sid, raw in _older_objects(mid):
        r = client.post(f"/v1/snapshots/{sid}", content=raw.encode(),
                        headers={"content-type": "application/json"})
        assert r.status_code == 201, r.text
    _check_filed(sqlite_store, mid, api_settings, tmp_path, monkeypatch)


def test_import_of_a_folder_laid_out_as_the_bucket(
    sqlite_store: LogStore, api_settings: Settings, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mid = str(uuid.uuid4())
    dump = tmp_path / "dump"
    for sid, raw in _older_objects(mid):
        path = dump / _older_key(mid, sid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(raw)
    report = import_snapshots(sqlite_store, str(dump), api_settings)
    assert (report.imported, report.errors) == (2, [])
    _check_filed(sqlite_store, mid, api_settings, tmp_path, monkeypatch)


def test_import_from_s3_of_the_older_objects(
    s3_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    from moments_core.store.sql import SqlStore

    mid = str(uuid.uuid4())
    s3 = boto3.client("s3", endpoint_url=s3_settings.s3_endpoint_url, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    for sid, raw in _older_objects(mid):
        s3.put_object(Bucket=s3_settings.s3_bucket, Key=_older_key(mid, sid), Body=raw.encode())
    store = SqlStore(s3_settings.database_url)
    try:
        report = import_snapshots(store, f"s3://{s3_settings.s3_bucket}/moments/", s3_settings)
        assert (report.imported, report.errors) == (2, [])
        _check_filed(store, mid, s3_settings, tmp_path, monkeypatch)
    finally:
        store.close()


def test_agent_falls_back_to_the_key_then_to_agent_info_fields() -> None:
    mid, sid = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"id": sid, "moment": {"id": mid, "occurrences": INIT},
            "__agent_info": {"id": INSTANCE, "config": {"kind": "LlmCohereAgent"}}}
    item = parse_legacy(_older_key(mid, sid).replace("experiment", "exp-2"), body)
    assert (item.info.agent_kind, item.info.agent_id, item.info.agent_variant,
            item.info.agent_instance_id) == ("LlmCohereAgent", "cafebot", "exp-2", INSTANCE)
    body["__agent_info"] = {"id": INSTANCE, "config": {}, "agent_id": "cafe",
                            "variant": "v1", "kind": "ChatGptAgent"}
    item = parse_legacy(f"snapshots/{sid}.json", body)
    assert (item.info.agent_kind, item.info.agent_id, item.info.agent_variant,
            item.info.agent_instance_id) == ("ChatGptAgent", "cafe", "v1", INSTANCE)
    body["__agent_info"] = {"id": INSTANCE, "config": "LlmCohereAgent"}
    with pytest.raises(ValueError, match="config is not an object"):
        parse_legacy(f"snapshots/{sid}.json", body)


def test_an_older_example_is_stored_whole_and_unknown_keys_are_refused(
    client: TestClient, sqlite_store: LogStore,
) -> None:
    mid, s1, s2 = _ids()
    example = ('{"kind":"Example","content":{"title":"An example interaction",'
               '"example":"Customer: \\"Hi\\"\\nSelf: \\"Hello!\\""}}')
    raw = ('{"id":"S1","previous_snapshot_id":null,"moment":{"id":"MID","occurrences":['
           '{"kind":"Instructions","content":"You are a barista."},EXAMPLE,'
           '{"kind":"Begin","content":null}]},"__agent_info":AGENT}')
    for name, value in (("S1", s1), ("MID", mid), ("EXAMPLE", example),
                        ("AGENT", OLDER_AGENT)):
        raw = raw.replace(name, value)
    r = client.post(f"/v1/snapshots/{s1}", content=raw.encode(),
                    headers={"content-type": "application/json"})
    assert r.status_code == 201, r.text
    stored = sqlite_store.get_snapshot(s1).moment.occurrences[1]
    assert stored == Example('Customer: "Hi"\nSelf: "Hello!"', "An example interaction")
    assert client.get(f"/v1/snapshots/{s1}").json()["moment"]["occurrences"][1] == \
        json.loads(example)
    before = stored_counts(sqlite_store)
    bad = raw.replace(s1, s2).replace('"title"', '"heading"')
    r = client.post(f"/v1/snapshots/{s2}", content=bad.encode(),
                    headers={"content-type": "application/json"})
    assert r.status_code == 422 and "Example.content has the keys" in r.json()["detail"]
    assert stored_counts(sqlite_store) == before
