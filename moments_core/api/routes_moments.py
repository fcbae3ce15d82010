"""Talking to an agent: start a moment, take turns (JSON or server-sent events), read the
moment's tree."""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import StreamingResponse

from moments_core.agents import TurnResult
from moments_core.agents.registry import split_name

from . import idempotency, sse
from .deps import AgentInstanceId, Ctx, MomentId
from .errors import ERROR_RESPONSES, ApiError
from .models import (
    ErrorOut,
    MomentInfoOut,
    SnapshotIn,
    SnapshotOut,
    StartIn,
    TreeNodeOut,
    TreeOut,
)
from .turns import read_turn

router = APIRouter(tags=["moments"])
log = logging.getLogger("moments.api")

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such agent variant, moment or snapshot"}}
TURN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES, **NOT_FOUND,
    200: {"description": "the snapshot with the agent's answer; with ?stream=true, server-sent"
                         " events: `chunk` ({text}) as the answer streams, then `snapshot`"
                         " (the saved snapshot) or `error` ({status, detail})",
          "content": {sse.MEDIA_TYPE: {"schema": {"type": "string"}}}},
    409: {"model": ErrorOut, "description": "the store refused the snapshot"},
    502: {"model": ErrorOut, "description": "the model failed; the client's occurrences are"
                                            " saved (participant_snapshot_id)"},
}


@router.post("/agents/{agent_instance_id}/moments", response_model=SnapshotOut,
             responses={**ERROR_RESPONSES, **NOT_FOUND})
def start_moment(agent_instance_id: AgentInstanceId, body: StartIn, ctx: Ctx) -> dict[str, Any]:
    """Start a moment with a variant's `init`; returns its first snapshot.

    The older web client sends a placeholder snapshot instead of `{kind, id, variant}`:
    that starts a moment of the server's default variant (`MOMENTS_API_DEFAULT_VARIANT`);
    its `__agent_config_override` is never applied (the prompt comes from the server's
    configs only)."""
    if body.id is not None and body.variant is not None:
        key = (body.kind, body.id, body.variant)
    else:
        try:
            key = split_name(ctx.settings.api_default_variant or ctx.settings.default_agent)
        except ValueError as err:
            raise ApiError(503, f"the server's default variant is not a variant name: {err}"
                                " (MOMENTS_API_DEFAULT_VARIANT)") from None
    vc = ctx.config(*key)
    root = ctx.agent(vc, agent_instance_id).start(source="api")
    if body.agent_config_override is not None:
        log.warning("moment %s: the client sent __agent_config_override; ignored (the prompt"
                    " is the server's %s)", root.moment_id, "-".join(key))
    return root.to_dict()


@router.post("/agents/{agent_instance_id}/moments/{moment_id}", response_model=SnapshotOut,
             responses=TURN_RESPONSES)
def take_turn(
    agent_instance_id: AgentInstanceId,
    moment_id: MomentId,
    body: SnapshotIn,
    ctx: Ctx,
    stream: Annotated[bool, Query(description="answer as server-sent events")] = False,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", max_length=200,
        description="the same key under the same snapshot is the same turn")] = None,
) -> Any:
    """Send the last snapshot received (its `id`) with the occurrences the client appended
    to its moment; the new snapshots are stored as children of the one `id` names, so
    sending an earlier snapshot (an edit, or an appended `Rejected` to regenerate) makes a
    new branch."""
    turn = read_turn(ctx.store, agent_instance_id, moment_id, body,
                     max_line_chars=ctx.settings.max_line_chars)
    agent = ctx.agent_for_moment(turn.info)
    # Saves the client's lines first; a resent turn is answered once (idempotency.py).
    events = idempotency.turn_events(agent, ctx.store, turn.parent, turn.added,
                                     idempotency_key, ctx.settings.api_dedup_seconds)
    if stream:
        return StreamingResponse(sse.turn_events(events), media_type=sse.MEDIA_TYPE,
                                 headers={"Cache-Control": "no-cache"})
    result = next(e for e in events if isinstance(e, TurnResult))
    return result.snapshot.to_dict()


@router.get("/moments/{moment_id}/tree", response_model=TreeOut,
            responses={**ERROR_RESPONSES, **NOT_FOUND})
def moment_tree(moment_id: MomentId, ctx: Ctx) -> TreeOut:
    """Every snapshot of a moment, parents before children, with what each appends."""
    info = ctx.store.get_moment(moment_id)  # NotFound -> 404
    nodes = ctx.store.tree(moment_id)
    if not nodes:
        raise ApiError(404, f"moment {moment_id} has no snapshots")
    return TreeOut(
        moment=MomentInfoOut.of(info),
        snapshots=[TreeNodeOut.of(n) for n in nodes],
        leaves=[n.snapshot_id for n in nodes if not n.children],
    )
