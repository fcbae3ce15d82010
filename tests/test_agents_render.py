"""Rendering a moment for chat mode and for completion mode."""

from __future__ import annotations

from moments_core.agents import render
from moments_core.mdl import Participant, Rejected, Self, parse_occurrences

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
