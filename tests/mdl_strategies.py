"""Hypothesis strategies that build arbitrary, valid MDL objects."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from moments_core import mdl
from moments_core.mdl.occurrences import KEYWORDS, PARTICIPANT_NAME

# Any text at all: unicode, quotes, backslashes, newlines, emoji, '''/``` fences, empty.
tricky = st.sampled_from(
    ['"', '"""', "\\", "\\\\", "\n", "\r", "\r\n", "'''", "```", "\\'''", " ", "\t", "😊",
     "(", ")", ":", "#", "Self: ", "\u2028", "\x85", "\x00"]
)
any_text = st.lists(st.one_of(st.text(max_size=12), tricky), max_size=8).map("".join)
one_line = any_text.map(lambda s: s.replace("\n", " ").replace("\r", " "))

names = (
    st.text(
        alphabet=st.characters(blacklist_characters=':"()\n\r\\#', blacklist_categories=["Cs"]),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(lambda s: bool(PARTICIPANT_NAME.fullmatch(s)) and s not in KEYWORDS)
)
identifiers = st.text(
    alphabet=st.characters(blacklist_characters="()\n\r\\", blacklist_categories=["Cs"]),
    max_size=10,
)
emotions = st.one_of(st.just(""), st.just("😊"), one_line)
descriptions = one_line.map(str.strip).filter(lambda s: "'''" not in s)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=False, allow_infinity=True),
    any_text,
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.text(max_size=8), children, max_size=4),
    ),
    max_leaves=10,
)

occurrences: st.SearchStrategy[mdl.Occurrence] = st.one_of(
    st.builds(mdl.Instructions, any_text),
    st.builds(mdl.Example, any_text, descriptions),
    st.just(mdl.Begin()),
    st.builds(mdl.Self, any_text, emotions),
    st.builds(mdl.Rejected, any_text, emotions),
    st.builds(mdl.Revision, any_text, emotions),
    st.builds(mdl.Participant, names, any_text, identifiers, emotions),
    st.builds(mdl.Identification, names, one_line, identifiers),
    *[
        st.builds(cls, any_text)
        for cls in (mdl.Thought, mdl.Motivation, mdl.Observation, mdl.CritiqueRequest,
                    mdl.Critique, mdl.RevisionRequest)
    ],
    *[
        json_values.map(cls.from_value)
        for cls in (mdl.Context, mdl.Action, mdl.Waiting, mdl.Resuming, mdl.Working)
    ],
)

moments = st.builds(mdl.Moment, st.lists(occurrences, max_size=12))

uuids = st.uuids().map(str)
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
snapshots = st.builds(
    lambda m, sid, mid, prev, ts, ann: _snapshot(m, sid, mid, prev, ts, ann),
    moments,
    uuids,
    uuids,
    st.one_of(st.none(), uuids),
    timestamps,
    st.dictionaries(st.text(min_size=1, max_size=8), json_scalars, max_size=3),
)


def _snapshot(
    m: mdl.Moment, sid: str, mid: str, prev: str | None, ts: datetime, ann: dict[str, Any]
) -> mdl.Snapshot:
    m.id = mid
    snap = mdl.Snapshot(moment=m, id=sid, moment_id=mid, previous_snapshot_id=prev, timestamp=ts)
    snap.annotations = ann
    return snap
