"""Side-by-side comparison: one message goes to 2-4 lanes (variants, or one variant at
several temperatures); each lane is its own logged moment (source ``compare``), all
sharing a compare-session id; a vote is stored as a preference between snapshots.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from moments_core.mdl import Participant, new_id
from moments_core.store.base import Feedback, LogStore

from .runtime import Agent, AgentError, TurnEvent, TurnResult

Key = tuple[str, str, str]
AgentFactory = Callable[[Key], Agent]
#: (lane index, a text chunk / the lane's TurnResult / the AgentError that ended it)
LaneEvent = tuple[int, "str | TurnResult | AgentError"]
_LANE_DONE = object()


@dataclass(frozen=True, slots=True)
class Lane:
    key: Key
    temperature: float | None = None  # None: the config's own

    @property
    def label(self) -> str:
        name = "-".join(self.key)
        return name if self.temperature is None else f"{name} @ T={self.temperature:g}"


@dataclass(slots=True)
class Answer:
    lane: Lane
    snapshot_id: str
    says: str
    seconds: float
    first_chunk_seconds: float | None
    tokens: int | None


@dataclass(slots=True)
class Round:
    said: str
    answers: list[Answer] = field(default_factory=list)
    vote: str | None = None  # the winning lane label, or "tie"


@dataclass(slots=True)
class CompareSession:
    lanes: list[Lane]
    id: str = field(default_factory=new_id)
    heads: list[str] = field(default_factory=list)  # each lane's current snapshot id
    rounds: list[Round] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not 2 <= len(self.lanes) <= 4:
            raise ValueError("compare 2 to 4 variants (or temperatures)")


def lane_agent(make: AgentFactory, lane: Lane) -> Agent:
    """The lane's agent on the newest config version, with its temperature applied."""
    agent = make(lane.key)
    if lane.temperature is not None:
        params = agent.config.params.model_copy(update={"temperature": lane.temperature})
        agent.config = agent.config.model_copy(update={"params": params})
    return agent


def start(make: AgentFactory, lanes: list[Lane]) -> CompareSession:
    session = CompareSession(lanes)
    for i, lane in enumerate(lanes):
        root = lane_agent(make, lane).start(
            source="compare",
            meta={"compare_session_id": session.id, "lane": i, "label": lane.label},
        )
        session.heads.append(root.id)
    return session


def send_to_lane(make: AgentFactory, session: CompareSession, index: int, said: str,
                 participant: str) -> Iterator[TurnEvent]:
    """Stream one lane's answer to ``said``; the caller collects the rounds with
    ``record`` (``ask_lanes`` asks every lane at once)."""
    agent = lane_agent(make, session.lanes[index])
    yield from agent.respond(session.heads[index], Participant(participant, said))


def ask_lanes(make: AgentFactory, session: CompareSession, said: str,
              participant: str) -> Iterator[LaneEvent]:
    """Send ``said`` to every lane at once and yield each lane's events as they come.

    Each lane answers on its own thread, so API lanes stream side by side; lanes on the
    one local model still take turns at its lock. A lane that fails yields its
    ``AgentError`` and the others go on. The agents are made on the caller's thread (their
    factory may need it, as Streamlit's caches do)."""
    agents = [lane_agent(make, lane) for lane in session.lanes]
    line = Participant(participant, said)
    events: queue.Queue[tuple[int, object]] = queue.Queue()

    def run(i: int) -> None:
        try:
            for item in agents[i].respond(session.heads[i], line):
                events.put((i, item))
        except AgentError as err:
            events.put((i, err))
        except Exception as err:  # noqa: BLE001 - a lane's fault is shown in its column
            events.put((i, AgentError(f"{session.lanes[i].label}: {err}")))
        finally:
            events.put((i, _LANE_DONE))

    for i in range(len(agents)):
        threading.Thread(target=run, args=(i,), name=f"compare-lane-{i}", daemon=True).start()
    running = len(agents)
    while running:
        i, item = events.get()
        if item is _LANE_DONE:
            running -= 1
        elif isinstance(item, str | TurnResult | AgentError):
            yield i, item


def record(session: CompareSession, said: str, results: list[TurnResult]) -> Round:
    """Store the answers of one round (one result per lane, in lane order)."""
    rnd = Round(said)
    for i, result in enumerate(results):
        session.heads[i] = result.snapshot.id
        rnd.answers.append(Answer(
            session.lanes[i], result.snapshot.id, result.occurrence.says, result.seconds,
            result.first_chunk_seconds, result.snapshot.annotations.get("tokens"),
        ))
    session.rounds.append(rnd)
    return rnd


def vote(store: LogStore, session: CompareSession, rnd: Round, winner: int | None,
         author: str = "") -> None:
    """Store the vote: the winner preferred over each other answer (``None``: a tie)."""
    answers = rnd.answers
    if winner is None:
        first = answers[0]
        for other in answers[1:]:
            store.add_feedback(Feedback(first.snapshot_id, "preference", "tie",
                                        other_snapshot_id=other.snapshot_id, author=author))
        rnd.vote = "tie"
        return
    best = answers[winner]
    for i, other in enumerate(answers):
        if i != winner:
            store.add_feedback(Feedback(best.snapshot_id, "preference", best.snapshot_id,
                                        other_snapshot_id=other.snapshot_id, author=author))
    rnd.vote = best.lane.label


def tally(session: CompareSession) -> Counter[str]:
    """Wins per lane label in this session (ties counted under "tie")."""
    return Counter(r.vote for r in session.rounds if r.vote is not None)

