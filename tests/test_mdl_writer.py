"""The moment writer's inlined says-line path writes exactly what each occurrence writes."""

from __future__ import annotations

from hypothesis import given, settings

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
