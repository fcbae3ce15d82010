"""The moment writer's inlined says-line path writes exactly what each occurrence writes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moments_core import mdl
from tests.mdl_strategies import moments


@given(moments)
@settings(max_examples=100, deadline=None)
def test_moment_text_is_each_occurrence_line(moment: mdl.Moment) -> None:
    expected = "".join(o.to_mdl() + "\n" for o in moment.occurrences)
    assert moment.to_mdl() == expected
    assert mdl.parse_moment(moment.to_mdl()).to_mdl() == expected


def test_says_lines_with_every_escape() -> None:
    occ: list[mdl.Occurrence] = [
        mdl.Participant("Dr. Lee", 'a "b" \\ c', "42", "😊"),
        mdl.Self("two\nlines \\\" end", "a) b"),
        mdl.Rejected('"'),
        mdl.Revision("", "sorry"),
        mdl.Participant("Customer", "plain"),
    ]
    text = mdl.Moment(occ).to_mdl()
    assert text == "".join(o.to_mdl() + "\n" for o in occ)
    assert text.splitlines()[0] == 'Dr. Lee (42): (😊) "a \\"b\\" \\\\ c"'
    assert mdl.parse_moment(text).occurrences == occ


# --- the C loop (moments_core/mdl/_writer.c) and the Python loop write the same text ----
def test_the_c_writer_is_built_in_this_install() -> None:
    """`make` installs the package with its C part (setup.py); without it every write
    would take the slower Python loop, silently."""
    from moments_core.mdl import moment

    assert moment._c_write is not None


@given(st.lists(st.one_of(moments, st.just(mdl.Moment([]))), min_size=1, max_size=4))
@settings(max_examples=200, deadline=None)
def test_c_and_python_writers_write_the_same_text(parts: list[mdl.Moment]) -> None:
    from moments_core.mdl.moment import _write_python

    occurrences = [o for m in parts for o in m.occurrences]
    assert mdl.write_occurrences(occurrences) == _write_python(occurrences)


def test_c_writer_keeps_each_kind_of_text_and_odd_input() -> None:
    from moments_core.mdl.moment import _write_python

    wide = [
        mdl.Participant("Ann", "ascii only"),
        mdl.Self("café latin-1"),           # one byte per character, not ASCII
        mdl.Participant("Ann", "Ωmega \"two\" bytes", "7"),
        mdl.Self("😊 four \\ bytes\nand a second line", "🙂"),
        mdl.Rejected(""),
        mdl.Begin(),
        mdl.Context.from_value({"time": "8:01am"}),
    ]
    for occurrences in ([], wide[:1], wide[:2], wide[:3], wide, wide[::-1]):
        text = mdl.write_occurrences(occurrences)
        assert text == _write_python(occurrences)
        if occurrences:
            assert mdl.parse_moment(text).occurrences == occurrences
    # A subclass of a says kind writes itself (its own to_mdl), as in the Python loop.

    class Loud(mdl.Self):
        def to_mdl(self) -> str:
            return "Self: " + '"' + self.says.upper() + '"'

    assert mdl.write_occurrences([Loud("hi")]) == 'Self: "HI"\n' == _write_python([Loud("hi")])
    # A field that is not text fails the same way in both (the C loop hands such an
    # occurrence to its own to_mdl, which refuses it).
    broken = mdl.Self("x")
    broken.says = 3  # type: ignore[assignment]
    with pytest.raises(TypeError):
        mdl.write_occurrences([mdl.Begin(), broken])
    with pytest.raises(TypeError):
        _write_python([mdl.Begin(), broken])


def test_c_writer_survives_a_to_mdl_that_changes_the_conversation() -> None:
    """Python code runs inside the C loop (an occurrence's own to_mdl): whatever it does
    to the list or to the other occurrences, the loop holds what it already read."""
    first = mdl.Self("first " + "x" * 50)
    occurrences: list[mdl.Occurrence] = []

    class Meddler(mdl.Begin):
        def to_mdl(self) -> str:
            first.says = "replaced"  # drops the text the loop read from `first`
            occurrences.clear()
            return "Begin."

    occurrences += [first, Meddler(), mdl.Participant("Ann", "hi")]
    text = mdl.write_occurrences(occurrences)
    assert text == f'Self: "first {"x" * 50}"\nBegin.\nAnn: "hi"\n'


def test_c_writer_escapes_long_and_short_lines_of_every_width() -> None:
    """The C loop escapes a short line a character at a time and a long one (over 256
    characters) run by run; both, in text one, two and four bytes wide."""
    from moments_core.mdl.moment import _write_python

    pieces = ['say "hi"', "a \\ b", "café", "Ωmega", "😊", "plain words", '\\"']
    occurrences: list[mdl.Occurrence] = []
    for width in (1, 40, 300):  # repeated: short lines, and lines far over 256 characters
        for a in pieces:
            for b in pieces:
                occurrences.append(mdl.Self((a + " " + b + " ") * width))
                occurrences.append(mdl.Participant("Ann", (b + a) * width, "7"))
    text = mdl.write_occurrences(occurrences)
    assert text == _write_python(occurrences)
    assert mdl.parse_moment(text).occurrences == occurrences
    assert max(len(o.says) for o in occurrences) > 256  # type: ignore[attr-defined]
