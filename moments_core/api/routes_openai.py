"""Every agent variant as an OpenAI-compatible model: ``GET /v1/models`` and
``POST /v1/chat/completions``, so Open WebUI, LibreChat, LangChain's ``ChatOpenAI`` and
scripts written for the ``openai`` SDK can talk to a Moments agent.

The variant's own prompt is the prompt (a client's system message is refused, or kept
as Context where the config says ``accept_system: context``), and every conversation is
logged as a tree: ``openai_history`` finds where a resent history already is.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, StreamingResponse

from moments_core.agents import (
    Agent,
    AgentConfig,
    AgentError,
    TurnEvent,
    TurnFailed,
    TurnResult,
    VersionedConfig,
    list_configs,
    split_name,
)
from moments_core.mdl import Self, Snapshot
from moments_core.providers import GenerationParams
from moments_core.store import NotFound

from .context import ApiContext
from .deps import Ctx
from .errors import ApiError
from .openai_errors import OpenAIError, bad_request, error_body, from_turn_failure
from .openai_history import (
    SOURCE,
    Caller,
    Line,
    Placement,
    answer_keys,
    client_snapshot,
    locate,
    read_messages,
)
from .openai_route import OpenAIRoute, presented_token
from .openai_schema import (
    MAX_STOPS,
    MAX_USER,
    ChatCompletionRequest,
    chunk,
    completion,
    model_object,
    usage_dict,
)

log = logging.getLogger("moments.api")
OPEN_WEBUI_USER_HEADER = "x-openwebui-user-id"
router = APIRouter(prefix="/v1", tags=["openai"], route_class=OpenAIRoute)

ERROR_SCHEMA = {"type": "object", "properties": {"error": {"type": "object", "properties": {
    "message": {"type": "string"}, "type": {"type": "string"},
    "param": {"type": ["string", "null"]}, "code": {"type": ["string", "null"]}}}}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {400: "the request is not valid; nothing was stored",
            401: "missing or wrong API key (bearer token)", 404: "no such model",
            413: "the body is too large", 429: "the model's back end is rate limited"
            " (Retry-After)", 502: "the model failed", 503: "the model's back end or the"
            " log store is unavailable (Retry-After)"}
    return {s: {"description": text[s],
                "content": {"application/json": {"schema": ERROR_SCHEMA}}} for s in statuses}


# --- models --------------------------------------------------------------------------
def _newest(ctx: ApiContext, config: AgentConfig) -> int:
    """When the newest version of a variant was made (a read only: listing stores
    nothing); a variant not stored yet is dated by nothing better than now."""
    try:
        cv = ctx.store.get_config_version(*config.key)
    except NotFound:
        return int(time.time())
    return int(cv.created_at.timestamp())


@router.get("/models", responses=_errors(401))
def list_models(ctx: Ctx) -> dict[str, Any]:
    """One model per agent variant (`kind-id-variant`), as OpenAI lists models."""
    return {"object": "list",
            "data": [model_object(c.name, _newest(ctx, c))
                     for c in list_configs(ctx.settings.configs_dir)]}


def _variant(ctx: ApiContext, model: str, param: str | None = "model") -> VersionedConfig:
    unknown = OpenAIError(404, f"the model {model[:200]!r} does not exist: GET /v1/models"
                               " lists the agent variants", param=param,
                          code="model_not_found")
    try:
        kind, agent_id, variant = split_name(model)
        return ctx.config(kind, agent_id, variant)
    except ValueError:
        raise unknown from None
    except ApiError as err:
        if err.status == 404:
            raise unknown from None
        raise


@router.get("/models/{model}", responses=_errors(400, 401, 404))
def get_model(model: Annotated[str, Path(max_length=200)], ctx: Ctx) -> dict[str, Any]:
    """One variant as an OpenAI model object."""
    vc = _variant(ctx, model, param=None)
    return model_object(vc.config.name, _newest(ctx, vc.config))


# --- chat completions ----------------------------------------------------------------
def _params(config: AgentConfig, body: ChatCompletionRequest) -> GenerationParams:
    """The config's sampling settings with what the client may change: temperature,
    top_p, seed, extra stop sequences, and a *lower* token limit (the config's is the
    most an answer may cost)."""
    base = config.params
    stops = body.stops()
    if len(stops) > MAX_STOPS:
        raise bad_request(f"stop has {len(stops)} sequences; at most {MAX_STOPS}", "stop")
    if body.n not in (None, 1):
        raise bad_request(f"n is {body.n}; this server answers with one choice only (n=1):"
                          " send the request again for another answer, which is kept as a"
                          " sibling in the conversation's tree", "n", "unsupported_value")
    update: dict[str, Any] = {}
    if body.temperature is not None:
        update["temperature"] = body.temperature
    if body.top_p is not None:
        update["top_p"] = body.top_p
    if body.seed is not None:
        update["seed"] = body.seed
    asked = body.max_completion_tokens or body.max_tokens
    if asked is not None:
        update["max_tokens"] = min(asked, base.max_tokens)
    if stops:
        update["stop"] = list(dict.fromkeys([*base.stop, *(s for s in stops if s)]))
    return base.model_copy(update=update) if update else base


@dataclass(slots=True)
class ChatTurn:
    """A request placed in the store: the agent, the snapshot it answers, and what the
    answer will be indexed under."""

    agent: Agent
    model: str
    moment_id: str
    answers: Snapshot  # the snapshot the agent answers (the client's lines saved)
    history_key: str
    completion_id: str
    created: int
    fingerprint: str


def caller_of(request: Request, body: ChatCompletionRequest) -> Caller:
    """Whose conversation this is: the presented token and the body's ``user``, or, where
    the client sends none, the user header Open WebUI forwards
    (``ENABLE_FORWARD_USER_INFO_HEADERS``), so its users' chats stay apart."""
    user = body.user or request.headers.get(OPEN_WEBUI_USER_HEADER, "")[:MAX_USER]
    return Caller.of(presented_token(request), user)


def _place(ctx: ApiContext, body: ChatCompletionRequest, caller: Caller) -> ChatTurn:
    """Check everything, then store the client's lines (nothing is stored for a refused
    request; a failed model call later keeps them)."""
    vc = _variant(ctx, body.model)
    config = vc.config
    lines = read_messages(body.messages, model=config.name,
                          accept_system=config.accept_system, participant=config.participant,
                          max_chars=ctx.settings.max_line_chars)
    _params(config, body)  # refuse bad sampling settings before anything is read
    placement = locate(ctx.store, caller.scope(config.name), lines)
    if placement.info is not None and placement.info.config_version != vc.version:
        # A moment keeps the config version it started with.
        vc = ctx.config(config.kind, config.id, config.variant, placement.info.config_version)
    run_config = vc.config.model_copy(update={"params": _params(vc.config, body)})
    agent = Agent(run_config, ctx.provider(vc), ctx.store, config_version=vc.version,
                  agent_instance_id=caller.agent_instance_id)
    answers = _store_history(agent, placement, caller, lines)
    return ChatTurn(agent=agent, model=config.name, moment_id=answers.moment_id,
                    answers=answers, history_key=placement.key,
                    completion_id=f"chatcmpl-{uuid.uuid4().hex}", created=int(time.time()),
                    fingerprint=f"moments-{config.name}-v{vc.version or 0}")


def _store_history(agent: Agent, placement: Placement, caller: Caller,
                   lines: list[Line]) -> Snapshot:
    store = agent.store
    assert store is not None
    if placement.parent is None:
        parent = agent.start(source=SOURCE, meta={"user": caller.user,
                                                  "model": agent.config.name})
    else:
        parent = placement.parent
    if not placement.rest:
        return parent  # the same history again: answer it once more (a sibling)
    new = [line.occurrence(agent.config.participant) for line in placement.rest]
    added = [*agent.before([*parent.moment.occurrences, *new]), *new]
    foreign = sum(1 for o in new if isinstance(o, Self))
    snap = client_snapshot(parent, added, agent.config_version, foreign)
    store.save_snapshot(snap)
    store.index_path(placement.key, snap.id, snap.moment_id)
    return snap


def usage_of(result: TurnResult) -> tuple[int, int, str | None]:
    """Prompt and completion tokens and the finish reason of the answering call, as its
    provider told them (0 where it does not)."""
    usage = result.usage
    if usage is None:
        return 0, 0, None
    return usage.prompt_tokens or 0, usage.completion_tokens or 0, usage.finish_reason


def _finish(turn: ChatTurn, completion_tokens: int, reason: str | None) -> str:
    if reason in ("stop", "length"):
        return reason
    limit = turn.agent.config.params.max_tokens
    return "length" if completion_tokens >= limit else "stop"


def _index_answer(turn: ChatTurn, result: TurnResult, streamed: str = "") -> None:
    store = turn.agent.store
    assert store is not None
    for key in answer_keys(turn.history_key, result.occurrence.says, streamed):
        store.index_path(key, result.snapshot.id, result.snapshot.moment_id)


def _where(result: TurnResult) -> dict[str, Any]:
    return {"moment_id": result.snapshot.moment_id, "snapshot_id": result.snapshot.id}


def _first(events: Iterator[TurnEvent]) -> TurnEvent:
    """The first event, so that a model that fails before its first word gets a real
    status (429, 503) instead of an error inside a 200 stream."""
    try:
        return next(events)
    except TurnFailed as err:
        raise from_turn_failure(err) from None
    except AgentError as err:
        raise bad_request(str(err)) from None


def _data(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n"


def _stream(turn: ChatTurn, first: TurnEvent, events: Iterator[TurnEvent],
            include_usage: bool) -> Iterator[str]:
    """OpenAI's stream: the role in the first delta, the text, ``finish_reason`` in the
    last choice, the usage chunk when asked, then ``data: [DONE]``. A failure after the
    status line is sent becomes an ``error`` object, as OpenAI sends it."""
    def make(delta: dict[str, Any] | None, reason: str | None = None,
             usage: dict[str, int] | None = None,
             extra: dict[str, Any] | None = None) -> str:
        return _data(chunk(turn.completion_id, turn.created, turn.model, turn.fingerprint,
                           delta, reason, with_usage=include_usage, usage=usage, extra=extra))

    yield make({"role": "assistant", "content": ""})
    shown: list[str] = []
    result: TurnResult | None = first if isinstance(first, TurnResult) else None
    if isinstance(first, str):
        shown.append(first)
        yield make({"content": first})
    try:
        for item in events:
            if isinstance(item, str):
                shown.append(item)
                yield make({"content": item})
            else:
                result = item
    except TurnFailed as err:
        yield _data(from_turn_failure(err).body())
        return
    except Exception as err:  # noqa: BLE001 - the stream must end with an error, not a cut
        log.error("a streamed chat completion failed: %s", type(err).__name__)
        yield _data(error_body(500, f"the answer failed ({type(err).__name__})"))
        return
    assert result is not None
    text = "".join(shown)
    _index_answer(turn, result, text)
    prompt_tokens, completion_tokens, reason = usage_of(result)
    if result.occurrence.says.strip() != text.strip():
        # What was kept differs from what streamed (the answer was repaired): send the
        # rest when it only adds to it, so the client shows what is stored.
        says = result.occurrence.says
        if says.startswith(text) and len(says) > len(text):
            yield make({"content": says[len(text):]})
    yield make({}, _finish(turn, completion_tokens, reason),
               extra={"moments": _where(result)})
    if include_usage:
        yield make(None, usage=usage_dict(prompt_tokens, completion_tokens))
    yield "data: [DONE]\n\n"


@router.post("/chat/completions",
             responses={**_errors(400, 401, 404, 413, 429, 502, 503),
                        200: {"description": "a `chat.completion`; with `stream: true`,"
                                             " server-sent `chat.completion.chunk` objects"
                                             " ending with `data: [DONE]`",
                              "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def chat_completions(body: ChatCompletionRequest, request: Request, ctx: Ctx) -> Any:
    """The agent's answer to the last user message. The whole history is sent each time
    (as OpenAI clients do); it is stored as a path in the conversation's tree, so the
    same history sent again makes a sibling answer and an edited message a new branch."""
    turn = _place(ctx, body, caller_of(request, body))
    events = turn.agent.respond_to(turn.answers, [])
    first = _first(events)
    headers = {"X-Moments-Moment-Id": turn.moment_id}
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return StreamingResponse(
            _stream(turn, first, events, include_usage), media_type="text/event-stream",
            headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    result = first if isinstance(first, TurnResult) else None
    try:
        for item in events:
            if isinstance(item, TurnResult):
                result = item
    except TurnFailed as err:
        raise from_turn_failure(err) from None
    assert result is not None
    _index_answer(turn, result)
    prompt_tokens, completion_tokens, reason = usage_of(result)
    return JSONResponse(
        completion(turn.completion_id, turn.created, turn.model, result.occurrence.says,
                   _finish(turn, completion_tokens, reason),
                   usage_dict(prompt_tokens, completion_tokens), turn.fingerprint,
                   _where(result)),
        headers=headers)

