"""Starting moments and taking turns over the API, stored in the real SQLite store."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from moments_core.mdl import Participant, Self, parse_snapshot
from moments_core.store import LogStore

from .api_fixtures import participant, start, stored_counts, turn, with_lines


def test_start_returns_the_stored_root_snapshot(client: TestClient,
                                                sqlite_store: LogStore) -> None:
    root = start(client, instance="web-7")
    assert root["previous_snapshot_id"] is None
    assert root["moment"]["id"] == root["moment_id"]
    kinds = [o["kind"] for o in root["moment"]["occurrences"]]
    assert kinds == ["Instructions", "Begin"]
    info = sqlite_store.get_moment(root["moment_id"])
    assert (info.agent_id, info.agent_variant, info.agent_instance_id, info.source) == (
        "echo", "01", "web-7", "api")
    assert info.config_version == 1
    assert sqlite_store.get_snapshot(root["id"]).to_dict() == root


def test_a_turn_answers_and_stores_the_client_lines_then_the_answer(
    client: TestClient, sqlite_store: LogStore
) -> None:
    root = start(client)
    answer = turn(client, root, participant("A latte, please."))
    said = sqlite_store.get_snapshot(answer["previous_snapshot_id"])
    assert said.previous_snapshot_id == root["id"]
    assert said.moment.occurrences[-1] == Participant("Customer", "A latte, please.")
    last = answer["moment"]["occurrences"][-1]
    assert last == {"kind": "Self",
                    "content": {"emotion": "", "says": "You said: A latte, please."}}
    kinds = [o["kind"] for o in answer["moment"]["occurrences"]]
    assert kinds == ["Instructions", "Begin", "Context", "Participant", "Self"]
    assert answer["annotations"]["config_version"] == 1
    assert sqlite_store.get_snapshot(answer["id"]).to_dict() == answer


def test_turns_chain_and_the_tree_route_shows_them(client: TestClient) -> None:
    root = start(client)
    first = turn(client, root, participant("Hello."))
    second = turn(client, first, participant("An espresso."))
    kinds = [o["kind"] for o in second["moment"]["occurrences"]]
    assert kinds.count("Context") == 1  # the time is added once per moment
    assert second["moment"]["occurrences"][-1]["content"]["says"] == "You said: An espresso."
    tree = client.get(f"/v1/moments/{root['moment_id']}/tree").json()
    ids = [n["snapshot_id"] for n in tree["snapshots"]]
    assert ids[0] == root["id"] and len(ids) == 5
    assert tree["leaves"] == [second["id"]]
    by_id = {n["snapshot_id"]: n for n in tree["snapshots"]}
    assert by_id[second["id"]]["added"] == [second["moment"]["occurrences"][-1]]
    assert by_id[second["id"]]["kept"] == len(second["moment"]["occurrences"]) - 1
    assert tree["moment"]["agent_instance_id"] == "web-1"


def test_snapshot_routes_give_json_and_mdl(client: TestClient) -> None:
    answer = turn(client, start(client), participant("Hi", identifier="unknown"))
    r = client.get(f"/v1/snapshots/{answer['id']}")
    assert r.status_code == 200 and r.json() == answer
    r = client.get(f"/v1/snapshots/{answer['id']}/mdl")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith(f"# Moment ID: {answer['moment_id']}\n")
    assert 'Customer (unknown): "Hi"\n' in r.text
    parsed = parse_snapshot(r.text)
    assert parsed.id == answer["id"] and parsed.to_dict() == answer


def test_completion_mode_variant_and_the_variants_route(client: TestClient) -> None:
    listed = client.get("/v1/variants").json()
    assert {(v["id"], v["variant"], v["mode"]) for v in listed} == {
        ("echo", "01", "chat"), ("echo", "02", "completion")}
    answer = turn(client, start(client, variant="02"), participant("A mocha"))
    assert answer["moment"]["occurrences"][-1]["kind"] == "Self"
    assert "mocha" in answer["moment"]["occurrences"][-1]["content"]["says"]


def test_health(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok", "store": "ok"}


def test_the_agent_can_speak_without_a_new_line(client: TestClient) -> None:
    """An empty append (a greeting, or a retry after a failed model call) still answers."""
    root = start(client)
    answer = turn(client, root)
    assert answer["previous_snapshot_id"] == root["id"]
    assert isinstance(Self(**answer["moment"]["occurrences"][-1]["content"]), Self)


def test_a_turn_appends_only_participant_lines(client: TestClient,
                                               sqlite_store: LogStore) -> None:
    """Issue 12, item 9: observations, context, thoughts or the agent's own lines are not
    the client's to write; the whole turn is refused and nothing is stored."""
    root = start(client)
    before = stored_counts(sqlite_store)
    lines: list[dict[str, Any]] = [
        {"kind": "Observation", "content": "A customer walks in."},
        {"kind": "Context", "content": {"time": "8:01am", "weather": "rain"}},
        participant("Morning!"),
    ]
    r = client.post(f"/v1/agents/web-1/moments/{root['moment_id']}",
                    json=with_lines(root, *lines))
    assert r.status_code == 422
    assert r.json()["detail"].startswith("moment.occurrences[2] (Observation)")
    assert stored_counts(sqlite_store) == before
    # two participants in one turn are fine
    answer = turn(client, root, participant("Morning!"), participant("Hi", name="Barbara"))
    said = sqlite_store.get_snapshot(answer["previous_snapshot_id"])
    assert [o.kind for o in said.moment.occurrences[-2:]] == ["Participant", "Participant"]
