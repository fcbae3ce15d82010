"""The OpenAI-compatible routes byte by byte, with ``httpx`` over real HTTP: the SSE
framing a chat app parses, odd bodies, the error shape and status of every refusal, and
that nothing is stored for a refused request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moments_core.api import create_app
from moments_core.mdl import Participant
from moments_core.settings import Settings
from moments_core.store import LogStore

from .api_fixtures import TOKEN, LiveServer, stored_counts
from .test_api_openai import oa_server, oa_settings  # noqa: F401 - fixtures

AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def http(oa_server: LiveServer) -> Iterator[httpx.Client]:  # noqa: F811 - the fixture
    with httpx.Client(base_url=oa_server.url, headers=AUTH, timeout=20) as client:
        yield client


def post(http: httpx.Client, body: Any, **kw: Any) -> httpx.Response:
    return http.post("/v1/chat/completions", json=body, **kw)


def body_of(*texts: str, **extra: Any) -> dict[str, Any]:
    return {"model": "Agent-echo-01",
            "messages": [{"role": "user", "content": t} for t in texts], **extra}


def assert_openai_error(r: httpx.Response, status: int, param: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error"}
    err: dict[str, Any] = body["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert isinstance(err["message"], str) and err["message"]
    if param is not None:
        assert err["param"] == param, err
    return err


# --- server-sent events ------------------------------------------------------------------
def frames(text: str) -> list[str]:
    """The ``data:`` payloads of an SSE body, checking that every event is exactly one
    ``data:`` line followed by a blank line."""
    assert text.endswith("\n\n")
    out = []
    for block in text[:-2].split("\n\n"):
        assert block.startswith("data: ") and "\n" not in block, repr(block)
        out.append(block[len("data: "):])
    return out


def test_the_stream_is_framed_exactly_as_openai_frames_it(http: httpx.Client) -> None:
    with http.stream("POST", "/v1/chat/completions",
                     json=body_of("A flat white\nwith \"oat\" milk", stream=True)) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        raw = r.read().decode()
    data = frames(raw)
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1 and chunks[0]["id"].startswith("chatcmpl-")
    assert {c["model"] for c in chunks} == {"Agent-echo-01"}
    assert all(isinstance(c["created"], int) for c in chunks)
    assert all(len(c["choices"]) == 1 and c["choices"][0]["index"] == 0 for c in chunks)
    deltas = [c["choices"][0]["delta"] for c in chunks]
    assert deltas[0] == {"role": "assistant", "content": ""}
    assert all("role" not in d for d in deltas[1:])
    assert deltas[-1] == {}
    reasons = [c["choices"][0]["finish_reason"] for c in chunks]
    assert reasons[-1] == "stop" and set(reasons[:-1]) == {None}
    assert "usage" not in chunks[0]  # only when the client asks for it
    text = "".join(d.get("content", "") for d in deltas)
    assert text == "You said: A flat white\nwith 'oat' milk"


def test_the_stream_ends_with_the_usage_when_asked(http: httpx.Client) -> None:
    r = post(http, body_of("Hello there", stream=True,
                           stream_options={"include_usage": True}))
    chunks = [json.loads(d) for d in frames(r.text)[:-1]]
    *answer, last = chunks
    assert last["choices"] == []
    usage = last["usage"]
    assert usage["completion_tokens"] == 4 and usage["prompt_tokens"] > 0  # a word a token
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
    assert all(c["usage"] is None for c in answer)


def test_a_non_streamed_answer_has_its_id_usage_and_where_it_is_stored(
        http: httpx.Client, sqlite_store: LogStore) -> None:
    r = post(http, body_of("Hi"))
    body = r.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "You said: Hi",
                                             "refusal": None}
    assert set(body["usage"]) == {"prompt_tokens", "completion_tokens", "total_tokens"}
    where = body["moments"]
    assert r.headers["x-moments-moment-id"] == where["moment_id"]
    snap = sqlite_store.get_snapshot(where["snapshot_id"])
    assert snap.moment_id == where["moment_id"]
    assert snap.moment.occurrences[-1].says == "You said: Hi"  # type: ignore[attr-defined]


# --- odd bodies ------------------------------------------------------------------------------
def test_content_as_text_parts_is_read_as_the_text(http: httpx.Client,
                                                   sqlite_store: LogStore) -> None:
    body = {"model": "Agent-echo-01", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "A latte,"}, {"type": "text", "text": "please"}]}]}
    r = post(http, body)
    assert r.status_code == 200, r.text
    moment = sqlite_store.list_moments()[0].info.moment_id
    lines = [o for o in sqlite_store.leaves(moment)[0].moment.occurrences
             if isinstance(o, Participant)]
    assert [o.says for o in lines] == ["A latte,\nplease"]
    # The same history as a plain string is the same path: the next turn continues it.
    follow = {"model": "Agent-echo-01", "messages": [
        {"role": "user", "content": "A latte,\nplease"},
        {"role": "assistant", "content": [{"type": "text", "text": r.json()["choices"][0]
                                           ["message"]["content"]}]},
        {"role": "user", "content": "Large"}]}
    assert post(http, follow).status_code == 200
    assert len(sqlite_store.list_moments()) == 1


@pytest.mark.parametrize(("body", "status", "param"), [
    ({"model": "Agent-echo-01", "messages": []}, 400, "messages"),
    ({"model": "Agent-echo-01"}, 400, "messages"),
    ({"messages": [{"role": "user", "content": "Hi"}]}, 400, "model"),
    ({"model": "Agent-echo-01", "messages": [{"role": "tool", "content": "42"}]}, 400,
     "messages[0].role"),
    ({"model": "Agent-echo-01", "messages": [{"role": "wizard", "content": "Hi"}]}, 400,
     "messages[0].role"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": "   "}]}, 400,
     "messages[0].content"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user"}]}, 400, "messages[0].content"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "http://example.com/x.png"}}]}]}, 400,
     "messages[0].content[0].type"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": "Hi"},
                                             {"role": "assistant", "content": "Hello"}]},
     400, "messages"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": "\ud800"}]}, 400,
     "messages[0].content"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": "a\u0000b"}]}, 400,
     "messages[0].content"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": 42}]}, 400,
     "messages[0].content"),
    ({"model": "Agent-echo-01", "messages": "Hi"}, 400, "messages"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": "Hi"}],
      "temperature": 9}, 400, "temperature"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": "Hi"}],
      "stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
    ({"model": "Agent-echo-01", "messages": [{"role": "user", "content": "Hi"}], "n": 3},
     400, "n"),
    ({"model": "no-such-model", "messages": [{"role": "user", "content": "Hi"}]}, 404,
     "model"),
])
def test_odd_bodies_are_refused_naming_the_field_and_store_nothing(
        http: httpx.Client, sqlite_store: LogStore, body: dict[str, Any], status: int,
        param: str) -> None:
    raw = json.dumps(body).encode()  # json.dumps writes the lone surrogate as \\ud800
    r = http.post("/v1/chat/completions", content=raw,
                  headers={"Content-Type": "application/json"})
    assert_openai_error(r, status, param)
    assert stored_counts(sqlite_store) == (0, 0)


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe"])
def test_a_body_that_is_not_a_json_object_is_a_400(http: httpx.Client, sqlite_store: LogStore,
                                                   raw: bytes) -> None:
    r = http.post("/v1/chat/completions", content=raw,
                  headers={"Content-Type": "application/json"})
    assert_openai_error(r, 400)
    assert stored_counts(sqlite_store) == (0, 0)


def test_a_one_megabyte_message_is_a_413_and_nothing_is_read_or_stored(
        http: httpx.Client, sqlite_store: LogStore) -> None:
    r = post(http, body_of("x" * 1_000_001))
    err = assert_openai_error(r, 413)
    assert err["code"] == "request_too_large"
    # Streamed without a length: refused as soon as the cap is passed.
    def pieces() -> Iterator[bytes]:
        yield b'{"model": "Agent-echo-01", "messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"y" * 50_000
        yield b'"}]}'
    r = http.post("/v1/chat/completions", content=pieces(),
                  headers={"Content-Type": "application/json"})
    assert_openai_error(r, 413)
    assert stored_counts(sqlite_store) == (0, 0)


def test_a_message_over_the_line_cap_is_a_400(http: httpx.Client,
                                              sqlite_store: LogStore) -> None:
    r = post(http, body_of("z" * 40_000))  # under the body cap, over one line's
    err = assert_openai_error(r, 400, "messages[0].content")
    assert err["code"] == "message_too_long"
    assert stored_counts(sqlite_store) == (0, 0)


# --- the token ---------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_the_token_is_checked_before_the_body_is_read(oa_server: LiveServer,  # noqa: F811
                                                      sqlite_store: LogStore,
                                                      headers: dict[str, str]) -> None:
    with httpx.Client(base_url=oa_server.url, headers=headers, timeout=20) as anon:
        r = anon.post("/v1/chat/completions", content=b"{" + b" " * 2_000_000,
                      headers={"Content-Type": "application/json"})
        err = assert_openai_error(r, 401)
        assert err["type"] == "authentication_error"
        assert r.headers["www-authenticate"] == "Bearer"
        assert_openai_error(anon.get("/v1/models"), 401)
        assert TOKEN not in r.text
        # The rest of the API keeps its own error shape.
        other = anon.get("/v1/variants")
        assert other.status_code == 401 and "detail" in other.json()
    assert stored_counts(sqlite_store) == (0, 0)


def test_the_routes_are_in_the_openapi_schema(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    post_op = paths["/v1/chat/completions"]["post"]
    assert {"400", "401", "404", "413", "429", "503"} <= set(post_op["responses"])
    assert "requestBody" in post_op
    assert "get" in paths["/v1/models"]


def test_open_webui_users_are_kept_apart_by_its_forwarded_user_header(
        http: httpx.Client, sqlite_store: LogStore) -> None:
    for who in ("u-1", "u-2"):
        r = post(http, body_of("Hi"), headers={"X-OpenWebUI-User-Id": who})
        assert r.status_code == 200
    moments = sqlite_store.list_moments()
    assert sorted(m.info.meta["user"] for m in moments) == ["u-1", "u-2"]
    # The body's user wins over the header.
    post(http, body_of("Hi", user="alice"), headers={"X-OpenWebUI-User-Id": "u-1"})
    assert sorted(m.info.meta["user"] for m in sqlite_store.list_moments()) == [
        "alice", "u-1", "u-2"]


# --- no body makes the server fail -------------------------------------------------------------
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)
_message = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", ""]) | _json},
    optional={"content": st.text(max_size=40) | _json, "name": _json,
              "tool_calls": _json})
_body = st.fixed_dictionaries(
    {"model": st.sampled_from(["Agent-echo-01", "Agent-echo-03", "echo-01", "x"]) | _json,
     "messages": st.lists(_message, max_size=4) | _json},
    optional={"stream": _json, "n": _json, "stop": _json, "temperature": _json,
              "max_tokens": _json, "user": _json, "stream_options": _json})


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=_body)
def test_no_body_is_answered_with_a_server_error(oa_app: TestClient, body: Any) -> None:
    r = oa_app.post("/v1/chat/completions", json=body, headers=AUTH)
    assert r.status_code in (200, 400, 404), (r.status_code, r.text)
    if r.status_code != 200:
        assert set(r.json()["error"]) == {"message", "type", "param", "code"}


@pytest.fixture
def oa_app(oa_settings: Settings, sqlite_store: LogStore  # noqa: F811 - the fixture
           ) -> Iterator[TestClient]:
    with TestClient(create_app(oa_settings, sqlite_store), raise_server_exceptions=False) as c:
        yield c
