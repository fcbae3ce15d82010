"""Rendering a moment for chat mode and for completion mode."""

from __future__ import annotations

import itertools

import pytest

from moments_core.agents import render
from moments_core.agents.render import Budget
from moments_core.mdl import Occurrence, Participant, Rejected, Self, parse_occurrences
from moments_core.providers import Prompt

MOMENT = parse_occurrences(
    "Instructions: '''\nYou are a barista.\n'''\n"
    "Example: An example - '''\nCustomer: \"Hi\"\nSelf: \"Hello!\"\n'''\n"
    "Begin.\n"
    "Context: ```time: 8:01am```\n"
    'Customer: "A latte please."\n'
    'Rejected: "No."\n'
    'Self: (😊) "Sure! What size?"\n'
    'Customer: "Large."\n'
)


def test_chat_mode_maps_roles() -> None:
    p = render(MOMENT, "chat", "Customer")
    roles = [m.role for m in p.messages]
    assert roles == ["system", "user", "assistant", "user"]
    system = p.messages[0].content
    assert system.startswith("You are a barista.")  # instructions as plain text
    assert "Begin." in system and "time: 8:01am" in system and 'Self: "Hello!"' in system
    assert p.messages[1].content == "A latte please." and p.messages[1].name == "Customer"
    assert p.messages[2].content == "Sure! What size?"
    assert all(m.content != "No." for m in p.messages)  # Rejected is never shown
    assert "\nCustomer:" in p.stop and "\nSelf:" in p.stop


def test_chat_mode_names_speakers_when_several_talk() -> None:
    more = [*MOMENT, Participant("Barbara", "Me too.", "42")]
    p = render(more, "chat", "Customer")
    assert p.messages[-1].content == "Barbara: Me too." and p.messages[-1].name == "Barbara"
    assert "\nBarbara:" in p.stop


def test_completion_mode_is_mdl_ending_in_self() -> None:
    p = render(MOMENT, "completion")
    assert p.text.endswith('Customer: "Large."\nSelf:')
    assert p.text.startswith("Instructions: '''\nYou are a barista.\n'''\n")
    assert "Rejected" not in p.text
    assert p.stop == ("\n",)
    assert parse_occurrences(p.text.removesuffix("Self:"))[-1] == MOMENT[-1]


def test_budget_drops_oldest_dialogue_but_keeps_instructions() -> None:
    long = list(MOMENT[:4])
    for i in range(200):
        long += [Participant("Customer", f"line {i} " + "x" * 40), Self(f"answer {i}")]
    p = render(long, "completion", max_chars=2000)
    assert len(p.text) <= 2000 + len("Self:")
    assert p.text.startswith("Instructions:") and "Begin." in p.text
    assert "answer 199" in p.text and "line 0 " not in p.text
    chat = render(long, "chat", "Customer", max_chars=2000)
    assert chat.messages[0].role == "system" and chat.messages[-1].content == "answer 199"
    assert 20 < len(chat.messages) < 80
    assert all("line 0 " not in m.content for m in chat.messages)


def test_rejected_alone_is_skipped_in_both_modes() -> None:
    occ = [*MOMENT[:3], Rejected("bad")]
    assert "bad" not in render(occ, "completion").text
    assert all("bad" not in m.content for m in render(occ, "chat").messages)


# --- long conversations: a window whose prefix stays stable (issues 13 and 18) ----------
@pytest.mark.parametrize("mode", ["completion", "chat"])
def test_window_drops_whole_blocks_so_the_prefix_stays_stable(mode: str) -> None:
    budget = Budget(2000, len, 1)
    occ = list(MOMENT[:4])
    previous: list[str] | None = None
    drops, sizes = [], []
    for i in range(300):
        occ.append(Participant("Customer", f"Order {i}: a small latte, please."))
        p = render(occ, mode, "Customer", budget=budget)  # type: ignore[arg-type]
        parts = [p.text] if mode == "completion" else [m.content for m in p.messages]
        size = sum(len(x) + 1 for x in parts)
        assert size <= 2000 + 10
        assert "You are a barista." in parts[0]  # the head is always kept
        assert p.left_out == len([o for o in occ if o.kind != "Rejected"]) - _shown(p, occ)
        if previous is not None:
            kept = (parts[0].removesuffix("Self:").startswith(previous[0].removesuffix("Self:"))
                    if mode == "completion" else parts[:len(previous)] == previous)
            if not kept:
                drops.append(i)
        previous = parts
        sizes.append(size)
        occ.append(Self(f"Sure, order {i} is coming."))
    # 300 turns of ~70 characters: a block of about half the budget goes at a time, so the
    # prompt changes its start only every ~14 turns, not on every turn past the budget.
    assert 10 <= len(drops) <= 25, drops
    assert all(b - a >= 10 for a, b in itertools.pairwise(drops)), drops
    assert min(sizes[drops[0]:]) < 1300  # after a drop: about half the budget (+ the head)


def _shown(p: Prompt, occ: list[Occurrence]) -> int:
    if p.mode == "completion":
        return len(parse_occurrences(p.text.removesuffix("Self:")))
    head = 1 + 3  # Instructions, Example, Begin, Context share the one system message
    return head + len(p.messages) - 1


def test_a_newest_line_too_long_for_the_budget_is_cut_in_its_middle() -> None:
    occ = [*MOMENT[:4], Participant("Customer", "start " + "x" * 5000 + " the question?")]
    p = render(occ, "chat", "Customer", budget=Budget(1000, len, 1))
    last = p.messages[-1].content
    assert len(last) < 1000 and last.startswith("start ") and last.endswith("the question?")
    assert "[...]" in last
    said = occ[-1]
    assert isinstance(said, Participant) and said.says.endswith("the question?")  # unchanged
