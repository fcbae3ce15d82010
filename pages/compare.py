"""Compare 2-4 variants (or one variant at several temperatures) side by side, and vote."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import streamlit as st

from moments_core.agents.compare import (
    CompareSession,
    Lane,
    record,
    send_to_lane,
    start,
    tally,
    vote,
)
from moments_core.agents.runtime import AgentError, TurnResult
from dashboard.common import agent_for, config_for, name_of, selected_key, store, variant_keys

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
        st.chat_message("user").markdown(f"**{participant}**: {rnd.said}")
        cols = st.columns(len(session.lanes))
        for col, ans in zip(cols, rnd.answers, strict=True):
            with col, st.chat_message("assistant"):
                st.markdown(ans.says)
                tokens = "-" if ans.tokens is None else str(ans.tokens)
                st.caption(f"{ans.seconds:.2f} s · tokens {tokens}")
        if rnd.vote is not None:
            st.caption(f"Vote: **{rnd.vote}**")
            continue
        options = [a.lane.label for a in rnd.answers] + ["tie"]
        pick = st.radio("Which answer is best?", options, horizontal=True, index=None,
                        key=f"vote-{session.id}-{r}")
        if pick is not None and st.button("Save vote", key=f"save-vote-{session.id}-{r}"):
            vote(store(), session, rnd, None if pick == "tie" else options.index(pick))
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
    st.chat_message("user").markdown(f"**{participant}**: {said}")
    cols = st.columns(len(lanes))
    results: list[TurnResult] = []
    failed = False
    for i, col in enumerate(cols):
        holder: dict[str, Any] = {}

        def chunks(i: int = i, holder: dict[str, Any] = holder, sess: CompareSession = session,
                   text: str = said) -> Iterator[str]:
            for item in send_to_lane(agent_for, sess, i, text, participant):
                if isinstance(item, str):
                    yield item
                else:
                    holder["result"] = item

        with col, st.chat_message("assistant"):
            try:
                st.write_stream(chunks())
            except AgentError as err:
                st.error(f"{lanes[i].label} failed: {err}")
                failed = True
                break
        results.append(holder["result"])
    if not failed:
        record(session, said, results)
        st.rerun()

wins = tally(session) if session else None
if wins:
    st.subheader("Tally")
    st.dataframe(pd.DataFrame(
        [{"lane": lane.label, "wins": wins.get(lane.label, 0)} for lane in lanes]
        + [{"lane": "tie", "wins": wins.get("tie", 0)}]
    ), hide_index=True)
