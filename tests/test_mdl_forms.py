"""The canonical forms, the older forms and their normalisation, and error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moments_core import mdl

CANONICAL = Path(__file__).with_name("data") / "canonical.mdl"


def test_design_example_round_trips_byte_for_byte() -> None:
    text = CANONICAL.read_text(encoding="utf-8")
    moment = mdl.parse_moment(text)
    assert moment.to_mdl() == text
    kinds = [o.kind for o in moment.occurrences]
    assert kinds == [
        "Instructions", "Example", "Begin", "Context", "Self", "Participant", "Participant",
        "Self", "Identification", "Thought", "Motivation", "Observation", "Action", "Waiting",
        "Resuming", "Working", "Rejected", "CritiqueRequest", "Critique", "RevisionRequest",
        "Revision",
    ]


def test_parsed_fields_are_typed() -> None:
    m = mdl.parse_moment(CANONICAL.read_text(encoding="utf-8"))
    by_kind = {o.kind: o for o in m.occurrences}
    first_self = m.occurrences[4]
    assert isinstance(first_self, mdl.Self)
    assert first_self.emotion == "😊" and first_self.says.startswith("Good morning")
    second = m.occurrences[6]
    assert isinstance(second, mdl.Participant)
    assert (second.name, second.identifier) == ("Customer", "unknown")
    multi = m.occurrences[7]
    assert isinstance(multi, mdl.Self)
    assert multi.says == 'A reply that spans\nseveral lines, with "quotes" escaped.'
    context = by_kind["Context"]
    assert isinstance(context, mdl.Context) and context.value == {"time": "8:01am"}
    action = by_kind["Action"]
    assert isinstance(action, mdl.Action)
    assert action.value == {"submit_order": {"customer": "John", "items": ["espresso"]}}
    ident = by_kind["Identification"]
    assert isinstance(ident, mdl.Identification)
    assert (ident.participant, ident.name) == ("Customer", "John")
    example = by_kind["Example"]
    assert isinstance(example, mdl.Example)
    assert example.description == "An example interaction"
    assert example.text == '  Customer: "Hello."\n  Self: "Welcome!"'


def test_dict_face_matches_the_older_json() -> None:
    m = mdl.parse_moment(
        'Self: "Hi"\nCustomer (unknown): (sad) "Yo"\nMotivation: Help.\nContext: ```a: 1```\n'
    )
    assert m.to_dict()["occurrences"] == [
        {"kind": "Self", "content": {"emotion": "", "says": "Hi"}},
        {"kind": "Participant",
         "content": {"name": "Customer", "identifier": "unknown", "emotion": "sad", "says": "Yo"}},
        {"kind": "Motivation", "content": "Help."},
        {"kind": "Context", "content": {"a": 1}},
    ]


@pytest.mark.parametrize(
    ("older", "canonical"),
    [
        ("Instructions: You are a barista.\n", "Instructions: '''\nYou are a barista.\n'''\n"),
        ("Self: Hello there\n", 'Self: "Hello there"\n'),
        ("Self: (smile) Hello there  \n", 'Self: (smile) "Hello there"\n'),
        ("Context: ```time: 8:01am```\n", "Context: ```\ntime: 8:01am\n```\n"),
        ('Identification: Customer is named "John".\n',
         'Identification: Customer is called "John".\n'),
        ("Identification: Customer (unknown) is now John (unidentified) [Customer].\n",
         'Identification: Customer (unknown) is called "John".\n'),
        (
            "Example: An example - '''\\nContext: ```time: \"8:01am\"```\\n"
            "Self: \"Hi.\\\\nBye.\"'''\n",
            "Example: An example - '''\nContext: ```time: \"8:01am\"```\n"
            "Self: \"Hi.\\nBye.\"\n'''\n",
        ),
        ("Begin.\n\n\nSelf: \"x\"\r\n", 'Begin.\nSelf: "x"\n'),
        ("Waiting: ```\ncoffee_ready: false\n```\n", "Waiting: ```coffee_ready: false```\n"),
        ('Self: "say \\n literally"\n', 'Self: "say \\\\n literally"\n'),
    ],
)
def test_older_forms_parse_and_normalise(older: str, canonical: str) -> None:
    assert mdl.parse_moment(older).to_mdl() == canonical
    assert mdl.parse_moment(canonical).to_mdl() == canonical


def test_old_yaml_config_init_loads() -> None:
    init = (
        "Instructions: You are a barista. Say 'Self: ' first.\n"
        "Example: An example interaction with a customer - '''\\nContext: ```time: "
        "\"8:01am\"```\\nSelf: \"Good morning!\"\\nCustomer (unknown): \"Hello.\"'''\n"
        "Begin.\n"
    )
    m = mdl.parse_moment(init)
    assert [o.kind for o in m.occurrences] == ["Instructions", "Example", "Begin"]
    example = m.occurrences[1]
    assert isinstance(example, mdl.Example)
    assert example.text.splitlines() == [
        'Context: ```time: "8:01am"```', 'Self: "Good morning!"', 'Customer (unknown): "Hello."'
    ]


@pytest.mark.parametrize(
    ("text", "line", "column", "phrase"),
    [
        ('Begin.\nSelf: "fine"\nSelf: """never closed\nstill going\n', 3, 7, 'unterminated """'),
        ('Self: "no end\n', 1, 7, "unterminated"),
        ('Customer: "hi" and more\n', 1, 15, "after the closing quote"),
        ("Begin.\n  Self: \"indented\"\n", 2, 1, "indentation"),
        ("Instructions: '''\nnever closed\n", 1, 15, "unterminated '''"),
        ("Context: ```\nkey: [1, 2\n```\n", 3, 1, "invalid YAML"),
        ("Context: not yaml\n", 1, 10, "```"),
        ("just words\n", 1, 1, "expected an occurrence"),
        ("Self (x): \"hi\"\n", 1, 6, "no '(identifier)'"),
        ("Identification: whoever\n", 1, 17, "is called"),
        ("Self: (happy \"hi\"\n", 1, 7, "emotion"),
        ("Begin.\n# Moment ID: x\n", 2, 1, "header"),
        ("# Moment ID: m\n# Snapshot ID: s\n# Timestamp: yesterday\nBegin.\n", 3, 14, "ISO 8601"),
        ("# Moment ID: m\n# Timestamp: 2020-01-01T00:00:00\n", 3, 1, "Snapshot ID"),
    ],
)
def test_errors_carry_line_column_and_an_actionable_message(
    text: str, line: int, column: int, phrase: str
) -> None:
    with pytest.raises(mdl.MDLSyntaxError) as info:
        mdl.parse(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert phrase in err.message
    assert str(err) == f"{line}:{column}: {err.message}"


def test_snapshot_header_is_recognised_and_kept() -> None:
    text = (
        "# Moment ID: m-1\n# Snapshot ID: s-2\n# Previous Snapshot ID: s-1\n"
        "# Timestamp: 2026-11-24T08:15:30+00:00\n# Annotations: ```\nrating: 4\n```\n"
        'Begin.\nSelf: "Hi"\n'
    )
    snap = mdl.parse(text)
    assert isinstance(snap, mdl.Snapshot)
    assert (snap.moment_id, snap.id, snap.previous_snapshot_id) == ("m-1", "s-2", "s-1")
    assert snap.annotations == {"rating": 4}
    assert snap.timestamp.isoformat() == "2026-11-24T08:15:30+00:00"
    assert snap.to_mdl() == text
    assert snap.to_dict()["moment"]["id"] == "m-1"


def test_invalid_objects_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="keyword"):
        mdl.Participant("Self", "hi")
    with pytest.raises(ValueError, match="not valid"):
        mdl.Participant("Bad:Name", "hi")
    with pytest.raises(ValueError, match="newline"):
        mdl.Self("hi", emotion="a\nb")
    with pytest.raises(ValueError, match="unknown occurrence kind"):
        mdl.occurrence_from_dict({"kind": "Nope", "content": ""})
    with pytest.raises(ValueError, match=r"occurrences\[1\]"):
        mdl.Moment.from_dict({"occurrences": [{"kind": "Begin"}, {"kind": "Self", "content": 3}]})


def test_yaml_keeps_times_and_dates_as_written() -> None:
    ctx = mdl.parse_occurrences("Context: ```\ntime: 8:01\ndate: 2024-01-01\nn: 7\n```\n")[0]
    assert isinstance(ctx, mdl.Context)
    assert ctx.value == {"time": "8:01", "date": "2024-01-01", "n": 7}


def test_example_and_identification_dict_faces_are_the_older_json() -> None:
    m = mdl.parse_moment(
        "Example: An example interaction - '''\nCustomer: \"Hi\"\nSelf: \"Hello!\"\n'''\n"
        'Identification: Customer is called "John".\n'
        'Identification: Customer (unknown) is called "Ana".\n'
    )
    assert m.to_dict()["occurrences"] == [
        {"kind": "Example", "content": {"title": "An example interaction",
                                        "example": 'Customer: "Hi"\nSelf: "Hello!"'}},
        {"kind": "Identification", "content": {"kind": "Customer", "name": "John"}},
        {"kind": "Identification",
         "content": {"kind": "Customer", "name": "Ana", "identifier": "unknown"}},
    ]
    # both the older keys and this project's earlier ones are read
    older = mdl.occurrence_from_dict(
        {"kind": "Example", "content": {"title": "T", "example": "Customer: ...\nSelf: ..."}})
    earlier = mdl.occurrence_from_dict(
        {"kind": "Example", "content": {"description": "T", "text": "Customer: ...\nSelf: ..."}})
    assert older == earlier == mdl.Example("Customer: ...\nSelf: ...", "T")
    ident = mdl.occurrence_from_dict(
        {"kind": "Identification", "content": {"participant": "Customer", "identifier": "",
                                               "name": "John"}})
    assert ident == mdl.Identification("Customer", "John")


@pytest.mark.parametrize("content", [
    {"title": "T", "text": "mixed keys"},
    {"heading": "T", "body": "unknown keys"},
    {"title": "only a title"},
    {},
])
def test_an_unknown_example_key_set_is_refused(content: dict[str, str]) -> None:
    with pytest.raises(ValueError, match='expected \\{"title", "example"\\}'):
        mdl.occurrence_from_dict({"kind": "Example", "content": content})


def test_an_unknown_identification_key_set_is_refused() -> None:
    for content in ({"who": "Customer", "name": "J"}, {"kind": "Customer"}, "Customer"):
        with pytest.raises(ValueError, match=r"Identification\.content"):
            mdl.occurrence_from_dict({"kind": "Identification", "content": content})


def test_yaml_from_a_dict_is_block_style() -> None:
    action = mdl.Action.from_value({"room": 512, "guest": {"name": "Ana", "bags": [1, 2]}})
    assert action.to_mdl() == (
        "Action: ```\nroom: 512\nguest:\n  name: Ana\n  bags:\n  - 1\n  - 2\n```")
    text = "Context: ```\nnote: |-\n  two\n  lines\nroom: 512\n```\n"
    moment = mdl.parse_moment(text)
    again = mdl.Moment.from_dict(json.loads(json.dumps(moment.to_dict())))
    assert again.to_mdl() == text
