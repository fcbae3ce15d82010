"""Reading a turn's body: which stored snapshot it extends and what the client appended.

The body is the last snapshot the client received (its ``id``) with the client's new
occurrences at the end of its moment. Everything is checked before anything is stored.

A client speaks only for the participants: it may append participant lines, nothing
else, so no client can put words in the agent's mouth (``Self``), invent preference data
(``Rejected``) or add to the prompt. The one exception is how the older web client asks
for a new answer: it re-sends its copy of the moment before the answer (the participant's
line appended to the answer before that) with the replaced answer as ``Rejected``. That is
accepted only when it repeats what is stored, and is read as what it means: a new answer,
a sibling of the replaced one, under the same participant snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

from moments_core.agents.limits import LineRefused, check_lines
from moments_core.mdl import (
    Begin,
    Context,
    Example,
    Instructions,
    MDLSyntaxError,
    Moment,
    Occurrence,
    Participant,
    Rejected,
    Self,
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
    check_lines(occurrences, offset)  # LineRefused (422): too long, or text no store keeps
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


def read_turn(store: LogStore, agent_instance_id: str, moment_id: str, body: SnapshotIn,
              *, max_line_chars: int | None = None) -> Turn:
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
    added = occurrences[len(stored):]
    try:
        check_lines(added, len(stored), max_line_chars)
    except LineRefused as err:
        raise ApiError(422, str(err)) from None
    for i, (mine, theirs) in enumerate(zip(stored, occurrences, strict=False)):
        if mine.to_mdl() != _text(theirs, i):
            raise ApiError(422, f"moment.occurrences[{i}] differs from snapshot {parent.id}"
                                f" (expected {mine.to_mdl()[:80]!r}): new occurrences may"
                                " only be appended; to edit, send an earlier snapshot's id")
    check_writable(added, len(stored))
    if added and isinstance(added[-1], Rejected):
        parent, added = _regenerate(store, parent, added, len(stored))
    else:
        _only_participants(added, len(stored))
    return Turn(info, parent, added)


def _only_participants(added: list[Occurrence], offset: int) -> None:
    for i, occ in enumerate(added, start=offset):
        where = f"moment.occurrences[{i}] ({occ.kind})"
        if not isinstance(occ, Participant):
            raise ApiError(422, f"{where}: a client may append only participant lines;"
                                f" {occ.kind} lines come from the agent (to ask for a new"
                                " answer, append one Rejected repeating the answer it"
                                " replaces)")
        if not occ.says.strip():
            raise ApiError(422, f"{where}: the message is empty; write something to say")


def _appended(parent: Snapshot, child: Snapshot) -> list[str]:
    return [o.to_mdl() for o in child.moment.occurrences[len(parent.moment.occurrences):]]


def _answers(store: LogStore, snapshot_id: str) -> list[Self]:
    """The agent lines that end the children of a snapshot: the answers given there."""
    out: list[Self] = []
    for child_id in store.children(snapshot_id):
        last = store.get_snapshot(child_id).moment.occurrences[-1:]
        if last and isinstance(last[0], Self):
            out.append(last[0])
    return out


def _regenerate(store: LogStore, parent: Snapshot, added: list[Occurrence],
                offset: int) -> tuple[Snapshot, list[Occurrence]]:
    """The snapshot to answer again and the ``Rejected`` line, when ``added`` is the
    regenerate pattern; a 422 otherwise. ``added[:-1]`` must repeat what a stored child of
    ``parent`` appended (its participant's line, with or without the Context the server
    added), and the ``Rejected`` line an answer given under that child."""
    rejected = added[-1]
    assert isinstance(rejected, Rejected)
    lines = [o.to_mdl() for o in added[:-1]]
    where = f"moment.occurrences[{offset + len(added) - 1}] (Rejected)"
    for i, occ in enumerate(added[:-1], start=offset):
        if not isinstance(occ, Participant | Context):
            raise ApiError(422, f"moment.occurrences[{i}] ({occ.kind}): a client may append"
                                " only participant lines, and one Rejected at the end to"
                                " ask for a new answer")
    target: Snapshot | None = parent if not lines else None
    for child_id in store.children(parent.id) if lines else ():
        child = store.get_snapshot(child_id)
        stored = _appended(parent, child)
        said = [t for t, o in zip(stored, child.moment.occurrences[len(
            parent.moment.occurrences):], strict=True) if not isinstance(o, Context)]
        if lines in (stored, said):
            target = child
            break
    if target is None:
        raise ApiError(422, f"{where}: a Rejected line must come after the participant's"
                            " line the replaced answer was given to, as stored; the lines"
                            " before it are not a stored turn of this moment")
    if not any(a.says == rejected.says and a.emotion == rejected.emotion
               for a in _answers(store, target.id)):
        raise ApiError(422, f"{where}: a Rejected line must repeat the answer it replaces;"
                            f" no answer under snapshot {target.id} says"
                            f" {rejected.says[:80]!r}")
    return target, [rejected]
