"""Turn a moment into a provider ``Prompt``, for chat mode or completion mode.

Chat mode: Instructions, Example, Begin, Context (and any other non-dialogue occurrence)
become system text, ``Self`` lines the assistant's, participants' lines the user's (the
name kept in ``Message.name``, and in the text when several people talk). Completion
mode: the moment's MDL text ending in ``Self:`` for the model to continue (no trailing
space, see ``render_completion``).

``Rejected`` lines are never shown to the model: they are the answers it should not give.

Long conversations are windowed so that the prompt's *prefix stays stable*: the head (what
comes before the first line of dialogue: Instructions, Example, Begin, the first Context)
is always kept, and the dialogue after it is cut into blocks of about half the budget,
counted from the start. A prompt starts at the first block boundary from which the rest
fits; so when the budget is exceeded a whole block (about half the budget) is dropped at
once, and the next many turns only append to the same prompt, which lets llama.cpp reuse
its cached prefix instead of re-reading the whole prompt on every turn. Sizes are counted
with the provider's tokenizer where it has one (``Budget``), characters otherwise.
``Prompt.left_out`` says how many occurrences the window left out. A newest line too long
to fit even alone is cut in its middle for the prompt (never in the moment).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Budget:
    """How much prompt fits: ``limit`` units as ``count`` measures text (tokens by the
    model's tokenizer, or characters). ``per_line`` is what each message costs beside its
    text (a chat template's role markers)."""

    limit: int
    count: Callable[[str], int] = len
    per_line: int = 0

    @classmethod
    def chars(cls, max_chars: int | None) -> Budget | None:
        return None if max_chars is None else cls(max_chars, len, 1)


# Marks where an over-long line was cut for the prompt.
_CUT = " [...] "


def _split_head(occurrences: Sequence[Occurrence]) -> int:
    for i, o in enumerate(occurrences):
        if o.kind in _DIALOGUE:
            return i
    return len(occurrences)


def _window_start(sizes: Sequence[int], head: int, limit: int) -> int:
    """Where the rendered dialogue starts: the first block boundary (blocks of about half
    the limit, counted from ``head``) from which the rest fits in ``limit``; the last
    occurrence is always kept. Boundaries depend only on what comes before them, so the
    start moves only when a whole block must go."""
    total = sum(sizes)
    if total <= limit:
        return head
    block = max(1, limit // 2)
    start, filled, rest = head, 0, total
    # ``rest``: the size of everything from ``i`` on.
    for i in range(head, len(sizes) - 1):
        if filled and filled + sizes[i] > block:
            start, filled = i, 0
            if rest <= limit:
                return start
        filled += sizes[i]
        rest -= sizes[i]
    return len(sizes) - 1


def _fit(kept: Sequence[Occurrence], sizes: list[int], budget: Budget | None) -> list[int]:
    """Indices of ``kept`` to render: the head, then the window of the dialogue."""
    if budget is None:
        return list(range(len(kept)))
    head = _split_head(kept)
    room = budget.limit - sum(sizes[:head])
    if head >= len(kept) or room <= 0:
        return list(range(len(kept)))  # nothing to window: the provider says what is wrong
    start = head + _window_start(sizes[head:], 0, room)
    return [*range(head), *range(start, len(kept))]


def _shorten(text: str, budget: Budget, room: int) -> str:
    """``text`` cut in its middle until it takes at most ``room`` by ``budget.count``."""
    size = budget.count(text)
    while size > room and len(text) > len(_CUT) + 2:
        keep = max(1, int(len(text) * room / size * 0.9) - len(_CUT))
        text = text[: keep // 2] + _CUT + text[len(text) - keep // 2:]
        size = budget.count(text)
    return text


def _system_text(o: Occurrence) -> str:
    return o.text.strip() if isinstance(o, Instructions) else o.to_mdl()


def _cost(budget: Budget | None, text: str) -> int:
    return 0 if budget is None else budget.count(text) + budget.per_line


def render_chat(
    occurrences: Sequence[Occurrence], default_participant: str = "",
    max_chars: int | None = None, *, budget: Budget | None = None,
) -> Prompt:
    budget = budget or Budget.chars(max_chars)
    kept = [o for o in occurrences if o.kind not in _SKIPPED]
    texts = [o.says if isinstance(o, Self | Participant) else _system_text(o) for o in kept]
    sizes = [_cost(budget, t) for t in texts]
    chosen_at = _fit(kept, sizes, budget)
    if budget is not None and chosen_at:
        texts[-1] = _newest_fitting(texts[-1], sizes, chosen_at, budget)
    chosen = [kept[i] for i in chosen_at]
    names = participant_names(chosen, default_participant)
    several = len(participant_names(chosen)) > 1
    messages: list[Message] = []
    system: list[str] = []

    def flush() -> None:
        if system:
            messages.append(Message("system", "\n".join(system)))
            system.clear()

    for i in chosen_at:
        o, text = kept[i], texts[i]
        if isinstance(o, Self):
            flush()
            messages.append(Message("assistant", text))
        elif isinstance(o, Participant):
            flush()
            messages.append(Message("user", f"{o.name}: {text}" if several else text,
                                    name=o.name))
        else:
            system.append(text)
    flush()
    return Prompt("chat", messages=tuple(messages), stop=stop_sequences("chat", names),
                  left_out=len(kept) - len(chosen_at))


def _newest_fitting(text: str, sizes: list[int], chosen_at: list[int], budget: Budget) -> str:
    """The newest line's text, cut to what is left of the budget when it does not fit."""
    used = sum(sizes[i] for i in chosen_at)
    if used <= budget.limit:
        return text
    room = sizes[-1] - (used - budget.limit) - budget.per_line
    return _shorten(text, budget, max(1, room))


def render_completion(
    occurrences: Sequence[Occurrence], max_chars: int | None = None, *,
    budget: Budget | None = None,
) -> Prompt:
    budget = budget or Budget.chars(max_chars)
    kept = [o for o in occurrences if o.kind not in _SKIPPED]
    lines = [o.to_mdl() for o in kept]
    sizes = [_cost(budget, t) for t in lines]
    chosen = _fit(kept, sizes, budget)
    if budget is not None and chosen:
        lines[-1] = _newest_fitting(lines[-1], sizes, chosen, budget)
    text = "".join(lines[i] + "\n" for i in chosen)
    # No space after the colon: BPE tokenizers fold that space into the next word's token,
    # and a prompt ending in a bare space made SmolLM2 write an empty line every time.
    return Prompt("completion", text=text + "Self:", stop=stop_sequences("completion", []),
                  left_out=len(kept) - len(chosen))


def render(
    occurrences: Sequence[Occurrence],
    mode: Mode,
    default_participant: str = "",
    max_chars: int | None = None,
    *,
    budget: Budget | None = None,
) -> Prompt:
    """The prompt for ``mode``, windowed to ``budget`` (or ``max_chars`` characters);
    see the module docstring."""
    if mode == "chat":
        return render_chat(occurrences, default_participant, max_chars, budget=budget)
    return render_completion(occurrences, max_chars, budget=budget)
