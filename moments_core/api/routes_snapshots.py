"""Snapshots by id: read (JSON, MDL) and the older logging server's write route."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from fastapi.responses import PlainTextResponse

from moments_core.store.legacy_import import parse_legacy

from .deps import Ctx, SnapshotId
from .errors import ERROR_RESPONSES, ApiError
from .models import ErrorOut, LegacySnapshotIn, LoggedOut, SnapshotOut
from .turns import check_writable

router = APIRouter(tags=["snapshots"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorOut, "description": "no such snapshot"}}


@router.get("/snapshots/{snapshot_id}", response_model=SnapshotOut,
            responses={**ERROR_RESPONSES, **NOT_FOUND})
def get_snapshot(snapshot_id: SnapshotId, ctx: Ctx) -> dict[str, Any]:
    """A snapshot's dict face, with its whole moment."""
    return ctx.store.get_snapshot(snapshot_id).to_dict()


def _json_errors(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """Errors are JSON even where success is text: say so, per status, in the schema."""
    ref = {"$ref": "#/components/schemas/ErrorOut"}
    return {status: {"description": r["description"],
                     "content": {"application/json": {"schema": ref}}}
            for status, r in responses.items()}


@router.get("/snapshots/{snapshot_id}/mdl", response_class=PlainTextResponse,
            responses={**_json_errors({**ERROR_RESPONSES, **NOT_FOUND}),
                       200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "the snapshot as MDL text, header included"}})
def get_snapshot_mdl(snapshot_id: SnapshotId, ctx: Ctx) -> PlainTextResponse:
    return PlainTextResponse(ctx.store.get_snapshot(snapshot_id).to_mdl(),
                             media_type="text/plain; charset=utf-8")


@router.post("/snapshots/{snapshot_id}", response_model=LoggedOut, status_code=201,
             responses={**ERROR_RESPONSES,
                        200: {"model": LoggedOut, "description": "stored already; unchanged"},
                        409: {"model": ErrorOut,
                              "description": "the moment belongs to another agent"}})
def log_snapshot(
    snapshot_id: SnapshotId, body: LegacySnapshotIn, ctx: Ctx, response: Response
) -> LoggedOut:
    """The older logging server's route: store a snapshot sent whole (the moment so far,
    the agent under `__agent_info`). Sending it again changes nothing. A snapshot whose
    previous snapshot is not stored is kept as a root rather than lost."""
    if body.id is not None and body.id != snapshot_id:
        raise ApiError(422, f"the body's id {body.id} is not the path's {snapshot_id}")
    data = body.model_dump(by_alias=True)
    data["id"] = snapshot_id
    try:
        item = parse_legacy(f"snapshots/{snapshot_id}.json", data)
    except ValueError as err:
        raise ApiError(422, str(err)) from None
    snap, store = item.snapshot, ctx.store
    check_writable(snap.moment.occurrences, client_lines=False)
    if store.has_snapshot(snap.id):
        response.status_code = 200
        return LoggedOut(snapshot_id=snap.id, moment_id=snap.moment_id, stored=False,
                         root_for_missing_parent=False)
    prev = snap.previous_snapshot_id
    orphan = (prev is not None and prev not in (snap.id, snap.moment_id)
              and not store.has_snapshot(prev))
    store.save_snapshot(snap, item.info, orphan_as_root=True)  # StoreError -> 409
    return LoggedOut(snapshot_id=snap.id, moment_id=snap.moment_id, stored=True,
                     root_for_missing_parent=orphan)
