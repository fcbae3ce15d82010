"""Turn a moment into a provider ``Prompt``, for chat mode or completion mode.

Chat mode: Instructions, Example, Begin, Context (and any other non-dialogue occurrence)
become system text, ``Self`` lines the assistant's, participants' lines the user's (the
name kept in ``Message.name``, and in the text when several people talk). Completion
mode: the moment's MDL text ending in ``Self:`` for the model to continue (no trailing
space, see ``render_completion``).

``Rejected`` lines are never shown to the model: they are the answers it should not give.
When a ``max_chars`` budget is given, the oldest dialogue is dropped first; the
instructions before the first line of dialogue are always kept.
"""

from __future__ import annotations

from collections.abc import Sequence

from moments_core.mdl import Instructions, Occurrence, Participant, Self
from moments_core.providers import Message, Mode, Prompt

_SKIPPED = frozenset({"Rejected"})
_DIALOGUE = frozenset({"Self", "Participant"})


def participant_names(occurrences: Sequence[Occurrence], default: str = "") -> list[str]:
    """Participant names in order of first appearance (``default`` first when given)."""
    names = dict.fromkeys([default] if default else [])
    for o in occurrences:
        if isinstance(o, Participant):
            names[o.name] = None
    return list(names)


def stop_sequences(mode: Mode, names: Sequence[str]) -> tuple[str, ...]:
    """Where the agent's turn ends: a new line in completion mode; in chat mode another
    speaker's line or a blank line (small models ramble on in new paragraphs)."""
    if mode == "completion":
        return ("\n",)
    return tuple(["\n\n", *[f"\n{n}:" for n in names], "\nSelf:"])


def _split_head(occurrences: Sequence[Occurrence]) -> int:
    for i, o in enumerate(occurrences):
        if o.kind in _DIALOGUE:
            return i
    return len(occurrences)


def _fit(kept: Sequence[Occurrence], sizes: list[int], max_chars: int | None) -> range | list[int]:
    """Indices of ``kept`` to render: the oldest dialogue (never the head) is dropped until
    the rendering fits ``max_chars``."""
    if max_chars is None or sum(sizes) <= max_chars:
        return range(len(kept))
    head = _split_head(kept)
    total = sum(sizes)
    start = head
    while total > max_chars and start < len(kept) - 1:
        total -= sizes[start]
        start += 1
    return [*range(head), *range(start, len(kept))]


def _system_text(o: Occurrence) -> str:
    return o.text.strip() if isinstance(o, Instructions) else o.to_mdl()


def render_chat(
    occurrences: Sequence[Occurrence], default_participant: str = "", max_chars: int | None = None
) -> Prompt:
    kept = [o for o in occurrences if o.kind not in _SKIPPED]
    sizes = [len(o.says) if isinstance(o, Self | Participant) else len(_system_text(o))
             for o in kept]
    chosen = [kept[i] for i in _fit(kept, sizes, max_chars)]
    names = participant_names(chosen, default_participant)
    several = len(participant_names(chosen)) > 1
    messages: list[Message] = []
    system: list[str] = []

    def flush() -> None:
        if system:
            messages.append(Message("system", "\n".join(system)))
            system.clear()

    for o in chosen:
        if isinstance(o, Self):
            flush()
            messages.append(Message("assistant", o.says))
        elif isinstance(o, Participant):
            flush()
            text = f"{o.name}: {o.says}" if several else o.says
            messages.append(Message("user", text, name=o.name))
        else:
            system.append(_system_text(o))
    flush()
    return Prompt("chat", messages=tuple(messages), stop=stop_sequences("chat", names))


def render_completion(occurrences: Sequence[Occurrence], max_chars: int | None = None) -> Prompt:
    kept = [o for o in occurrences if o.kind not in _SKIPPED]
    lines = [o.to_mdl() for o in kept]
    chosen = _fit(kept, [len(s) + 1 for s in lines], max_chars)
    text = "".join(lines[i] + "\n" for i in chosen)
    # No space after the colon: BPE tokenizers fold that space into the next word's token,
    # and a prompt ending in a bare space made SmolLM2 write an empty line every time.
    return Prompt("completion", text=text + "Self:", stop=stop_sequences("completion", []))


def render(
    occurrences: Sequence[Occurrence],
    mode: Mode,
    default_participant: str = "",
    max_chars: int | None = None,
) -> Prompt:
    """The prompt for ``mode``; see the module docstring."""
    if mode == "chat":
        return render_chat(occurrences, default_participant, max_chars)
    return render_completion(occurrences, max_chars)
