"""A turn sent twice is one turn.

Clients resend: a timeout, a double click, a proxy's retry. Without care each resend
stores the participant's line again, as a sibling of the first, and the tree grows copies
of one message. Two rules, both read from the store (so every API replica agrees and a
restart forgets nothing):

- **With an ``Idempotency-Key`` header**, the snapshot of the client's lines carries a
  hash of the key in its annotations (``idempotency_key``). A later turn with the same key
  under the same parent is the same turn, however late it comes; the same key with other
  lines is a 422.
- **Without one**, a turn whose lines are exactly those of a child of the same parent
  stored less than ``MOMENTS_API_DEDUP_SECONDS`` ago (default 30 s; 0 turns it off) is the
  same turn. Sending the same words again later is a new message, as a person means it.

The same turn answers with the answer already stored under that child (the latest, when
there are several); when the first attempt got no answer (the model failed), the agent
answers now, under the line already stored — the retry the 502 asked for.
Regenerates (a ``Rejected`` appended) are not repeats: each one asks for a new answer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from moments_core.agents import Agent, TurnEvent, TurnResult
from moments_core.mdl import Context, Occurrence, Participant, Self, Snapshot
from moments_core.store import LogStore

from .errors import ApiError

HEADER = "Idempotency-Key"
ANNOTATION = "idempotency_key"
KEY_MAX = 200


def key_hash(key: str | None) -> str | None:
    """What is stored for a key: its hash (a client's key is not data worth keeping)."""
    if key is None:
        return None
    if not key or len(key) > KEY_MAX or not key.isprintable():
        raise ApiError(422, f"the {HEADER} header must be 1 to {KEY_MAX} printable characters")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


@dataclass(slots=True)
class Repeat:
    """The stored snapshot of the client's lines, and the answer under it, if any."""

    client_snapshot: Snapshot
    answer: Snapshot | None


def _said(parent: Snapshot, child: Snapshot) -> list[str]:
    # The server may have put a Context (the time) before the client's lines.
    new = child.moment.occurrences[len(parent.moment.occurrences):]
    return [o.to_mdl() for o in new if not isinstance(o, Context)]


def find_repeat(store: LogStore, parent: Snapshot, added: list[Occurrence],
                hashed_key: str | None, window_s: float,
                now: datetime | None = None) -> Repeat | None:
    """The earlier taking of this turn, or None when it is a new one."""
    if not added or not all(isinstance(o, Participant) for o in added):
        return None
    if hashed_key is None and window_s <= 0:
        return None
    lines = [o.to_mdl() for o in added]
    since = (now or datetime.now(UTC)) - timedelta(seconds=window_s)
    found: Snapshot | None = None
    for child_id in store.children(parent.id):
        child = store.get_snapshot(child_id)
        if hashed_key is not None:
            if child.annotations.get(ANNOTATION) != hashed_key:
                continue
            if _said(parent, child) != lines:
                raise ApiError(422, f"this {HEADER} was used for another turn (other lines"
                                    " under the same snapshot); use a new key per turn")
            found = child
            break
        if _said(parent, child) == lines and _aware(child.timestamp) >= since and (
                found is None or child.timestamp > found.timestamp):
            found = child
    if found is None:
        return None
    return Repeat(found, _latest_answer(store, found))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _latest_answer(store: LogStore, snapshot: Snapshot) -> Snapshot | None:
    answers = [s for s in (store.get_snapshot(c) for c in store.children(snapshot.id))
               if s.moment.occurrences and isinstance(s.moment.occurrences[-1], Self)]
    return max(answers, key=lambda s: _aware(s.timestamp)) if answers else None


def turn_events(agent: Agent, store: LogStore, parent: Snapshot, added: list[Occurrence],
                key: str | None, window_s: float) -> Iterator[TurnEvent]:
    """The events of a turn, taken once however often it is sent (see the module)."""
    hashed = key_hash(key)
    repeat = find_repeat(store, parent, added, hashed, window_s)
    if repeat is None:
        notes = {ANNOTATION: hashed} if hashed is not None else None
        return agent.respond_to(parent, added, annotations=notes)
    if repeat.answer is None:
        return agent.respond_to(repeat.client_snapshot, [])
    return _replay(repeat.client_snapshot, repeat.answer)


def _replay(client: Snapshot, answer: Snapshot) -> Iterator[TurnEvent]:
    line = answer.moment.occurrences[-1]
    assert isinstance(line, Self)
    yield line.says
    yield TurnResult(snapshot=answer, occurrence=line, raw=line.to_mdl(), repaired=False,
                     participant_snapshot=client, attempts=0)
