"""The older logging server's route: whole snapshots with ``__agent_info`` are stored as
trees, idempotently; bad ones are refused with nothing stored."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

from moments_core.store import LogStore

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
