"""Reading the model's text back as one Self line, and what streams to the screen."""

from __future__ import annotations

import pytest

from moments_core.agents import DisplayFilter, EmptyAnswer, parse_answer
from moments_core.mdl import Self, parse_occurrences


@pytest.mark.parametrize(
    ("raw", "says", "emotion", "repaired"),
    [
        ('Self: "Hi there!"', "Hi there!", "", False),
        ('Self: (😊) "Hi there!"', "Hi there!", "😊", False),
        ('"Hi there!"', "Hi there!", "", True),
        ("Hi there!", "Hi there!", "", True),
        ('Self: "Hi there!', "Hi there!", "", True),  # no closing quote
        ('Self: "Hi there!" she said.', "Hi there!", "", True),
        ('Self: "Hi!"\nCustomer: "A latte."\nSelf: "Sure."', "Hi!", "", True),
        ('Sure, one latte.\nCustomer (unknown): "Thanks"', "Sure, one latte.", "", True),
        ('Customer: "Hello"\nSelf: "Welcome in!"', "Welcome in!", "", True),
        ('Self: "Say \\"cheese\\""', 'Say "cheese"', "", False),
        ("“Curly quotes work too”", "Curly quotes work too", "", True),
        ('(smile) "What can I get you?"', "What can I get you?", "smile", True),
    ],
)
def test_parse_answer_repairs_common_slips(raw: str, says: str, emotion: str,
                                           repaired: bool) -> None:
    parsed = parse_answer(raw)
    assert (parsed.occurrence.says, parsed.occurrence.emotion) == (says, emotion)
    assert parsed.repaired is repaired
    # whatever came in, what comes out is one canonical Self line
    [again] = parse_occurrences(parsed.occurrence.to_mdl())
    assert again == parsed.occurrence and isinstance(again, Self)


@pytest.mark.parametrize("raw", ["", "   \n ", 'Self: ""', "Self:"])
def test_empty_answers_are_refused(raw: str) -> None:
    with pytest.raises(EmptyAnswer):
        parse_answer(raw)


def _stream(chunks: list[str]) -> tuple[list[str], str]:
    f = DisplayFilter()
    out = [f.feed(c) for c in chunks]
    return [o for o in out if o], f.shown


def test_display_hides_prefix_emotion_and_quotes_while_streaming() -> None:
    parts, shown = _stream(["Se", "lf: (", "smile) \"Good", " morning", "!\" extra", "\nCustomer"])
    assert shown == "Good morning!"
    assert "".join(parts) == shown
    assert parts[0] == "Good"  # nothing shown while the prefix was still undecided


def test_display_of_plain_text_stops_at_the_first_line() -> None:
    _, shown = _stream(["Sure", ", one ", 'latte \\"to', ' go\\"', "\nCustomer: hi"])
    assert shown == 'Sure, one latte \\"to go\\"'  # unquoted text is shown as written
    _, quoted = _stream(['"Say \\', '"hi\\""'])
    assert quoted == 'Say "hi"'
