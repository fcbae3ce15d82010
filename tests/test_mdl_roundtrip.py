"""Property tests: the three faces of MDL round-trip, and no input crashes the parser."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from moments_core import mdl
from tests.mdl_strategies import any_text, moments, occurrences, snapshots

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(moments)
def test_text_object_text_is_identity(moment: mdl.Moment) -> None:
    text = moment.to_mdl()
    parsed = mdl.parse_moment(text)
    assert parsed.to_mdl() == text
    assert [o.to_dict() for o in parsed.occurrences] == [o.to_dict() for o in moment.occurrences]


@FAST
@given(moments)
def test_dict_object_dict_is_identity(moment: mdl.Moment) -> None:
    data = json.loads(json.dumps(moment.to_dict()))  # through real JSON, as a client sends it
    again = mdl.Moment.from_dict(data).to_dict()
    assert again == data


@FAST
@given(moments)
def test_text_dict_text_is_identity(moment: mdl.Moment) -> None:
    """Issue 13: canonical text through the dict face (real JSON) gives the same bytes,
    YAML blocks included (one canonical YAML: block style)."""
    text = moment.to_mdl()
    data = json.loads(json.dumps(mdl.parse_moment(text).to_dict()))
    assert mdl.Moment.from_dict(data).to_mdl() == text


@FAST
@given(snapshots)
def test_snapshots_round_trip_in_both_faces(snapshot: mdl.Snapshot) -> None:
    text = snapshot.to_mdl()
    parsed = mdl.parse(text)
    assert isinstance(parsed, mdl.Snapshot)
    assert parsed.to_mdl() == text
    assert parsed.id == snapshot.id and parsed.previous_snapshot_id == snapshot.previous_snapshot_id
    data = json.loads(json.dumps(snapshot.to_dict()))
    assert mdl.Snapshot.from_dict(data).to_dict() == data


@FAST
@given(st.lists(occurrences, min_size=1, max_size=4))
def test_every_occurrence_is_one_parsed_occurrence(items: list[mdl.Occurrence]) -> None:
    for occ in items:
        (parsed,) = mdl.parse_occurrences(occ.to_mdl() + "\n")
        assert type(parsed) is type(occ)
        assert parsed.to_mdl() == occ.to_mdl()


def _never_crashes(text: str) -> None:
    try:
        result = mdl.parse(text)
    except mdl.MDLSyntaxError as err:
        assert err.line >= 1 and err.column >= 1
        assert str(err).startswith(f"{err.line}:{err.column}: ")
        return
    # Whatever parsed must write canonical text that parses to the same thing.
    canonical = result.to_mdl()
    assert mdl.parse(canonical).to_mdl() == canonical


mdl_like = st.lists(
    st.one_of(
        st.sampled_from(
            ["Self: ", "Customer: ", "Customer (x): ", "Begin.", "Instructions: '''",
             "Example: d - '''", "Context: ```", "```", "'''", '"', '"""', "(", ")", "\\",
             "Identification: ", "Thought: ", "# Moment ID: a\n", "# Snapshot ID: b\n",
             "# Timestamp: 2020-01-01T00:00:00\n", "# Annotations: ```", "\n", "\r", " ",
             ": ", "Waiting: ```a: [```", "is called ", "is now ", "[", "]", "- ", "{"]
        ),
        st.text(max_size=6),
    ),
    max_size=25,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(mdl_like, any_text, st.text()))
@example('Self: """abc')
@example("Context: ```\n" + "[" * 5000 + "\n```")
@example("Context: ```x: " + "9" * 6000 + "```")
@example("# Moment ID: a\n# Snapshot ID: b\n# Timestamp: never\n")
@example("Bob : \"hi\"")
def test_any_text_parses_or_raises_mdl_syntax_error(text: str) -> None:
    _never_crashes(text)


@settings(max_examples=300, deadline=None)
@given(moments, st.integers(min_value=0, max_value=10_000), any_text)
def test_corrupted_canonical_text_parses_or_raises_mdl_syntax_error(
    moment: mdl.Moment, cut: int, junk: str
) -> None:
    text = moment.to_mdl()
    cut %= len(text) + 1
    _never_crashes(text[:cut] + junk + text[cut:])
    _never_crashes(text[:cut])


@settings(max_examples=200, deadline=None)
@given(moments, st.integers(min_value=1, max_value=200))
def test_tokenizer_chunk_boundaries_do_not_change_the_result(
    moment: mdl.Moment, chunk: int
) -> None:
    """The parser tokenizes in chunks; a block straddling a chunk end must resync."""
    from moments_core.mdl import parser

    text = moment.to_mdl() * 3
    expected = [o.to_dict() for o in mdl.parse_moment(text).occurrences]
    saved = parser._CHUNK
    parser._CHUNK = chunk
    try:
        got = [o.to_dict() for o in mdl.parse_moment(text).occurrences]
    finally:
        parser._CHUNK = saved
    assert got == expected


def test_errors_far_into_a_long_text_report_the_right_line() -> None:
    lines = ['Customer: "hi"', 'Self: """two\nlines"""'] * 20_000
    text = "\n".join(lines) + '\nSelf: "broken\n'
    with pytest.raises(mdl.MDLSyntaxError) as info:
        mdl.parse_moment(text)
    assert info.value.line == 60_001 and info.value.column == 7
