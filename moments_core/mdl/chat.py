"""A moment seen as chat messages (system / user / assistant), as chat models take it.

Instructions, Example, Begin, Context and every other non-dialogue occurrence become
system text; ``Self`` is the assistant; participants are the user (their name kept, and
written into the text when several people talk). ``Rejected`` lines are never shown:
they are answers the model should not give. The agent runtime and the dataset exporters
both use this, so a model is trained on exactly what it is later prompted with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .occurrences import Instructions, Occurrence, Participant, Self

HIDDEN_KINDS = frozenset({"Rejected"})


@dataclass(slots=True)
class ChatMessage:
    role: str  # system | user | assistant
    content: str
    name: str = ""
    source: int = -1  # index of the occurrence this message comes from (-1: several)

    def as_dict(self, with_name: bool = False) -> dict[str, str]:
        out = {"role": self.role, "content": self.content}
        if with_name and self.name:
            out["name"] = self.name
        return out


def system_text(occ: Occurrence) -> str:
    return occ.text.strip() if isinstance(occ, Instructions) else occ.to_mdl()


def participant_count(occurrences: Sequence[Occurrence]) -> int:
    return len({o.name for o in occurrences if isinstance(o, Participant)})


def to_chat_messages(occurrences: Sequence[Occurrence]) -> list[ChatMessage]:
    """The chat messages of a moment; consecutive system occurrences share one message."""
    several = participant_count(occurrences) > 1
    messages: list[ChatMessage] = []
    system: list[str] = []

    def flush() -> None:
        if system:
            messages.append(ChatMessage("system", "\n".join(system)))
            system.clear()

    for i, occ in enumerate(occurrences):
        if occ.kind in HIDDEN_KINDS:
            continue
        if isinstance(occ, Self):
            flush()
            messages.append(ChatMessage("assistant", occ.says, source=i))
        elif isinstance(occ, Participant):
            flush()
            text = f"{occ.name}: {occ.says}" if several else occ.says
            messages.append(ChatMessage("user", text, name=occ.name, source=i))
        else:
            system.append(system_text(occ))
    flush()
    return messages
