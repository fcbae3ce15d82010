"""Compare 2-4 variants (or one variant at several temperatures) side by side, and vote."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.common import (
    agent_for,
    config_for,
    name_of,
    selected_key,
    show_said,
    store,
    variant_keys,
    waiting_text,
)
from moments_core.agents.compare import (
    CompareSession,
    Lane,
    ask_lanes,
    record,
    start,
    tally,
    vote,
)
from moments_core.agents.limits import line_problem
from moments_core.agents.runtime import TurnResult

SESSION = "compare_session"


def _provider(key: tuple[str, str, str]) -> str:
    try:
        return config_for(key).provider
    except Exception:  # noqa: BLE001 - a broken variant just is not a default
        return ""


st.title("Compare")
keys = variant_keys()
by_temperature = st.toggle("One variant at several temperatures", key="compare_by_temp")
lanes: list[Lane] = []
if by_temperature:
    key = selected_key()
    temps = st.multiselect("Temperatures (2-4)", [0.0, 0.3, 0.7, 1.0, 1.3],
                           default=[0.3, 1.0], key="compare_temps")
    lanes = [Lane(key, t) for t in temps]
    st.caption(f"Variant: **{name_of(key)}** (pick another in the sidebar)")
else:
    # Default: the sidebar's variant and the next one on the same provider.
    first = selected_key()
    provider = config_for(first).provider
    same = [k for k in keys if k != first and _provider(k) == provider]
    default = [first, *same[:1]] if first in keys else keys[:2]
    pending = st.session_state.pop("compare_preset", None)
    if pending:
        st.session_state["compare_keys"] = [k for k in pending if k in keys]
    chosen = st.multiselect("Variants (2-4)", keys, default=default, format_func=name_of,
                            key="compare_keys", max_selections=4)
    lanes = [Lane(k) for k in chosen]

session: CompareSession | None = st.session_state.get(SESSION)
if session is not None and (session.lanes != lanes or st.button("New comparison")):
    session = None
    st.session_state.pop(SESSION, None)
if not 2 <= len(lanes) <= 4:
    st.info("Choose 2 to 4 lanes to compare.")
    st.stop()

participant = config_for(lanes[0].key).participant
columns = st.columns(len(lanes))
for col, lane in zip(columns, lanes, strict=True):
    col.markdown(f"**{lane.label}**")


def show_rounds(session: CompareSession) -> None:
    for r, rnd in enumerate(session.rounds):
        with st.chat_message("user"):
            show_said(participant, rnd.said)
        cols = st.columns(len(session.lanes))
        for i, (col, ans) in enumerate(zip(cols, rnd.answers, strict=True)):
            with col:
                with st.chat_message("assistant"):
                    show_said(None, ans.says)
                    tokens = "-" if ans.tokens is None else str(ans.tokens)
                    st.caption(f"{ans.seconds:.2f} s · tokens {tokens}")
                # One click votes: the winner preferred over every other answer.
                if rnd.vote is None and st.button(f"Best: {ans.lane.label}",
                                                  key=f"best-{session.id}-{r}-{i}"):
                    vote(store(), session, rnd, i)
                    st.rerun()
        if rnd.vote is not None:
            st.caption(f"Vote: {rnd.vote}")
        elif st.button("Tie", key=f"tie-{session.id}-{r}", help="no answer is better"):
            vote(store(), session, rnd, None)
            st.rerun()


def ask_every_lane(session: CompareSession, said: str) -> None:
    """All lanes at once, each streaming into its own column."""
    with st.chat_message("user"):
        show_said(participant, said)
    cols = st.columns(len(session.lanes))
    texts: list[list[str]] = [[] for _ in session.lanes]
    shown = []
    for col, lane in zip(cols, session.lanes, strict=True):
        with col, st.chat_message("assistant"):
            slot = st.empty()
            slot.caption(waiting_text(agent_for(lane.key).provider))
            shown.append(slot)
    results: list[TurnResult | None] = [None] * len(session.lanes)
    failed = False
    for i, item in ask_lanes(agent_for, session, said, participant):
        if isinstance(item, str):
            texts[i].append(item)
            shown[i].text("".join(texts[i]))
        elif isinstance(item, TurnResult):
            results[i] = item
        else:
            failed = True
            shown[i].error(f"{session.lanes[i].label} failed: {item}")
    done = [r for r in results if r is not None]
    if not failed and len(done) == len(session.lanes):
        record(session, said, done)
        st.rerun()


if session is not None:
    show_rounds(session)

said = st.chat_input("Send the same message to every lane")
if said and session is None:
    try:
        session = start(agent_for, lanes)
    except Exception as err:  # noqa: BLE001 - e.g. a missing API key: say so in the page
        st.error(f"Cannot start the comparison: {err}")
        st.stop()
    st.session_state[SESSION] = session
if said and session is not None:
    problem = line_problem(said)
    if problem:
        st.error(f"Not sent: {problem}.")
    else:
        ask_every_lane(session, said)

wins = tally(session) if session else None
if wins:
    st.subheader("Tally")
    st.dataframe(pd.DataFrame(
        [{"lane": lane.label, "wins": wins.get(lane.label, 0)} for lane in lanes]
        + [{"lane": "tie", "wins": wins.get("tie", 0)}]
    ), hide_index=True)
