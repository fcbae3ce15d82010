"""Reading a turn's body: which stored snapshot it extends and what the client appended.

The body is the last snapshot the client received (its ``id``) with the client's new
occurrences at the end of its moment. Everything is checked before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from moments_core.mdl import (
    Begin,
    Example,
    Instructions,
    MDLSyntaxError,
    Moment,
    Occurrence,
    Snapshot,
    parse_occurrences,
)
from moments_core.store import LogStore, MomentInfo, NotFound

from .errors import ApiError
from .models import SnapshotIn

# The prompt comes from the agent's config only: a client may not add its own.
PROMPT_KINDS = (Instructions, Example, Begin)


@dataclass(slots=True)
class Turn:
    info: MomentInfo
    parent: Snapshot
    added: list[Occurrence]


def moment_of(store: LogStore, agent_instance_id: str, moment_id: str) -> MomentInfo:
    try:
        info = store.get_moment(moment_id)
    except NotFound:
        raise ApiError(404, f"moment {moment_id} is not stored") from None
    if info.agent_instance_id != agent_instance_id:
        raise ApiError(404, f"moment {moment_id} is not a moment of agent instance"
                            f" {agent_instance_id}")
    return info


def client_occurrences(body: SnapshotIn) -> list[Occurrence]:
    try:
        moment = Moment.from_dict(body.moment.model_dump())
    except ValueError as err:
        raise ApiError(422, f"moment.{err}") from None
    return moment.occurrences


def _text(occ: Occurrence, i: int) -> str:
    try:
        return occ.to_mdl()
    except Exception as err:  # noqa: BLE001 - any writer failure is the client's bad input
        raise ApiError(422, f"moment.occurrences[{i}] ({occ.kind}) cannot be written as MDL:"
                            f" {err}") from None


def check_writable(occurrences: list[Occurrence], offset: int = 0,
                   *, client_lines: bool = True) -> None:
    """Each occurrence must write as MDL and read back the same, or the store could not
    keep it. ``client_lines``: they were appended by a client, so no prompt kinds."""
    for i, occ in enumerate(occurrences, start=offset):
        where = f"moment.occurrences[{i}] ({occ.kind})"
        if client_lines and isinstance(occ, PROMPT_KINDS):
            raise ApiError(422, f"{where}: a client may not add {occ.kind}; the prompt"
                                " comes from the agent's config")
        text = _text(occ, i)
        try:
            back = parse_occurrences(text + "\n")
        except (MDLSyntaxError, ValueError) as err:
            raise ApiError(422, f"{where} does not parse as MDL: {err}") from None
        if len(back) != 1 or back[0].to_mdl() != text:
            raise ApiError(422, f"{where} holds text MDL cannot represent")


def read_turn(store: LogStore, agent_instance_id: str, moment_id: str, body: SnapshotIn) -> Turn:
    info = moment_of(store, agent_instance_id, moment_id)
    named = body.moment_id or body.moment.id
    if named is not None and named != moment_id:
        raise ApiError(422, f"the body is a snapshot of moment {named}, not {moment_id}")
    occurrences = client_occurrences(body)
    try:
        parent = store.get_snapshot(body.id)
    except NotFound:
        raise ApiError(404, f"snapshot {body.id} is not stored") from None
    if parent.moment_id != moment_id:
        raise ApiError(422, f"snapshot {body.id} belongs to moment {parent.moment_id},"
                            f" not {moment_id}")
    stored = parent.moment.occurrences
    if len(occurrences) < len(stored):
        raise ApiError(422, f"the body has {len(occurrences)} occurrences but snapshot"
                            f" {parent.id} has {len(stored)}: a turn must send the whole"
                            " moment with the new occurrences at the end")
    for i, (mine, theirs) in enumerate(zip(stored, occurrences, strict=False)):
        if mine.to_mdl() != _text(theirs, i):
            raise ApiError(422, f"moment.occurrences[{i}] differs from snapshot {parent.id}"
                                f" (expected {mine.to_mdl()[:80]!r}): new occurrences may"
                                " only be appended; to edit, send an earlier snapshot's id")
    added = occurrences[len(stored):]
    check_writable(added, len(stored))
    return Turn(info, parent, added)
