"""The older web client's flows, sent exactly as it sent them: the body is the snapshot it
holds plus the lines it appended, and sending an earlier snapshot branches the tree."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from moments_core.agents.branches import branch_view
from moments_core.mdl import Participant, Rejected, Self
from moments_core.store import LogStore

from .api_fixtures import participant, start, turn


def _without_last(snapshot: dict[str, Any], new_id: str) -> dict[str, Any]:
    """The snapshot the client rebuilds for a regenerate: its answer's moment without the
    answer, under the id of the answer's parent (``previous_snapshot_id``)."""
    return {"id": new_id, "previous_snapshot_id": None,
            "moment": {"id": snapshot["moment"]["id"],
                       "occurrences": snapshot["moment"]["occurrences"][:-1]},
            "moment_id": snapshot["moment_id"]}


def test_exact_older_body_shape_is_accepted(client: TestClient) -> None:
    root = start(client)
    body = {"id": root["id"], "previous_snapshot_id": None,
            "moment": {"id": root["moment"]["id"],
                       "occurrences": [*root["moment"]["occurrences"],
                                       participant("Hi there", identifier="unknown")]}}
    r = client.post(f"/v1/agents/web-1/moments/{root['moment_id']}", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["moment"]["occurrences"][-1]["content"]["says"] == "You said: Hi there"


def test_regenerate_by_appending_rejected_to_the_earlier_snapshot(
    client: TestClient, sqlite_store: LogStore
) -> None:
    root = start(client)
    first = turn(client, root, participant("A latte, please."))
    old_says = first["moment"]["occurrences"][-1]["content"]["says"]
    earlier = _without_last(first, first["previous_snapshot_id"])
    rejected = {"kind": "Rejected", "content": {"emotion": "", "says": old_says}}
    again = turn(client, earlier, rejected)

    said_id = first["previous_snapshot_id"]
    assert again["previous_snapshot_id"] == said_id  # a sibling of the first answer
    assert sqlite_store.children(said_id) == [first["id"], again["id"]]
    occ = sqlite_store.get_snapshot(again["id"]).moment.occurrences
    assert occ[-2] == Rejected(old_says) and isinstance(occ[-1], Self)
    tree = client.get(f"/v1/moments/{root['moment_id']}/tree").json()
    assert sorted(tree["leaves"]) == sorted([first["id"], again["id"]])


def test_regenerate_sent_on_the_root_branches_there(client: TestClient,
                                                    sqlite_store: LogStore) -> None:
    """A client that only kept the snapshots it received sends the root's id with the
    whole moment so far (server's Context included) and the Rejected line."""
    root = start(client)
    first = turn(client, root, participant("Tea"))
    answer = first["moment"]["occurrences"][-1]
    lines = [*first["moment"]["occurrences"][2:-1],
             {"kind": "Rejected", "content": answer["content"]}]
    again = turn(client, root, *lines)
    assert len(sqlite_store.children(root["id"])) == 2
    path = sqlite_store.path(again["id"])
    assert path[0].id == root["id"] and len(path) == 3
    assert path[1].moment.occurrences[-1] == Rejected(answer["content"]["says"])


def test_edit_sends_an_earlier_snapshot_with_the_new_line(client: TestClient,
                                                          sqlite_store: LogStore) -> None:
    root = start(client)
    first = turn(client, root, participant("A latte"))
    second = turn(client, first, participant("Large"))
    edited = turn(client, first, participant("Small, please"))  # edit the second line
    assert sqlite_store.children(first["id"]) == [second["previous_snapshot_id"],
                                                  edited["previous_snapshot_id"]]
    view = branch_view(sqlite_store, root["moment_id"], edited["id"])
    said = [line.occurrence for line in view.lines if isinstance(line.occurrence, Participant)]
    assert [p.says for p in said] == ["A latte", "Small, please"]
    edited_line = next(ln for ln in view.lines if ln.occurrence == said[-1])
    assert len(edited_line.siblings) == 2 and edited_line.position == 2
    tree = client.get(f"/v1/moments/{root['moment_id']}/tree").json()
    assert len(tree["leaves"]) == 2
