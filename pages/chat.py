"""Chat with the chosen variant. Every turn is logged; regenerate, edit and switch branches."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import streamlit as st

from moments_core.agents import Agent
from moments_core.agents.branches import BranchLine, BranchView, branch_view, switch_to
from moments_core.agents.runtime import AgentError, TurnFailed
from moments_core.mdl import Participant, Self
from moments_core.store import Feedback
from dashboard.common import agent_for, config_for, dev_view, name_of, selected_key, store

MOMENT = "chat_moment"
LEAF = "chat_leaf"
KEY = "chat_key"
ERROR = "chat_error"
RETRY = "chat_retry_from"
EDITING = "chat_editing"

KIND_STYLE = {
    "Context": "🕒", "Instructions": "📜", "Example": "🧪", "Begin": "▶️", "Rejected": "🚫",
    "Thought": "💭", "Action": "⚙️", "Observation": "👀", "Motivation": "🎯",
    "Identification": "🪪", "Waiting": "⏳", "Resuming": "⏯️", "Working": "🛠️",
    "Critique": "🧐", "CritiqueRequest": "❓", "Revision": "✏️", "RevisionRequest": "📝",
}


def new_conversation(agent: Agent) -> None:
    root = agent.start(source="chat")
    st.session_state[MOMENT] = root.moment_id
    st.session_state[LEAF] = root.id
    st.session_state.pop(ERROR, None)
    st.session_state.pop(RETRY, None)
    st.session_state.pop(EDITING, None)


def run_turn(events: Iterator[Any]) -> None:
    """Stream the answer into an assistant bubble and move the view to the new leaf."""
    result: dict[str, Any] = {}

    def chunks() -> Iterator[str]:
        for item in events:
            if isinstance(item, str):
                yield item
            else:
                result["turn"] = item

    with st.chat_message("assistant"):
        try:
            st.write_stream(chunks())
        except TurnFailed as err:
            st.session_state[ERROR] = str(err)
            if err.participant_snapshot is not None:
                st.session_state[LEAF] = err.participant_snapshot.id
                st.session_state[RETRY] = err.participant_snapshot.id
            return
        except AgentError as err:
            st.session_state[ERROR] = str(err)
            return
    turn = result.get("turn")
    if turn is not None:
        st.session_state[LEAF] = turn.snapshot.id
        st.session_state.pop(ERROR, None)
        st.session_state.pop(RETRY, None)


def switcher(view: BranchView, line: BranchLine, where: str) -> None:
    if len(line.siblings) < 2:
        return
    left, mid, right = st.columns([1, 2, 1])
    if left.button("", icon=":material/chevron_left:", key=f"prev-{where}-{line.snapshot_id}",
                   help="previous branch"):
        st.session_state[LEAF] = switch_to(view, line, -1)
        st.rerun()
    mid.caption(f"{line.position}/{len(line.siblings)}")
    if right.button("", icon=":material/chevron_right:", key=f"next-{where}-{line.snapshot_id}",
                    help="next branch"):
        st.session_state[LEAF] = switch_to(view, line, +1)
        st.rerun()


def agent_actions(agent: Agent, view: BranchView, line: BranchLine, n: int) -> None:
    cols = st.columns([2, 1, 1, 3])
    sid = line.snapshot_id
    if cols[0].button("Regenerate", icon=":material/refresh:", key=f"regen-{n}-{sid}",
                      help="a new answer on a new branch; this one is kept"):
        st.session_state["chat_regen"] = sid
        st.rerun()
    if cols[1].button("", icon=":material/thumb_up:", key=f"up-{n}-{sid}", help="good answer"):
        store().add_feedback(Feedback(sid, "thumbs", 1, moment_id=view.moment_id))
        st.toast("Thanks: thumbs up saved")
    if cols[2].button("", icon=":material/thumb_down:", key=f"down-{n}-{sid}",
                      help="bad answer"):
        store().add_feedback(Feedback(sid, "thumbs", -1, moment_id=view.moment_id))
        st.toast("Thumbs down saved")
    with cols[3].popover("Comment", icon=":material/comment:"):
        comment = st.text_input("Comment on this answer", key=f"comment-{n}-{sid}")
        if st.button("Save comment", key=f"save-comment-{n}-{sid}") and comment.strip():
            store().add_feedback(Feedback(sid, "comment", comment.strip(),
                                          moment_id=view.moment_id))
            st.toast("Comment saved")


def participant_actions(view: BranchView, line: BranchLine, n: int) -> None:
    sid = line.snapshot_id
    if st.session_state.get(EDITING) == sid:
        occ = line.occurrence
        assert isinstance(occ, Participant)
        with st.form(f"edit-{n}-{sid}"):
            text = st.text_area("Edit your message (the old branch is kept)", value=occ.says)
            ok = st.form_submit_button("Send edited message")
        if ok and text.strip() and line.parent_id:
            st.session_state.pop(EDITING, None)
            st.session_state["chat_edit"] = (line.parent_id, text.strip())
            st.rerun()
    elif st.button("Edit", icon=":material/edit:", key=f"edit-{n}-{sid}"):
        st.session_state[EDITING] = sid
        st.rerun()


def show(agent: Agent, view: BranchView) -> None:
    developer = dev_view()
    for n, line in enumerate(view.lines):
        occ = line.occurrence
        if isinstance(occ, Self):
            with st.chat_message("assistant"):
                st.markdown(occ.says if not occ.emotion else f"*({occ.emotion})* {occ.says}")
                if line.last_of_snapshot:
                    agent_actions(agent, view, line, n)
                    switcher(view, line, "a")
        elif isinstance(occ, Participant):
            with st.chat_message("user"):
                st.markdown(f"**{occ.name}**: {occ.says}")
                if line.last_of_snapshot:
                    participant_actions(view, line, n)
                    switcher(view, line, "p")
        elif developer:
            icon = KIND_STYLE.get(occ.kind, "•")
            st.caption(f"{icon} `{occ.to_mdl()}`")
        elif line.last_of_snapshot and len(line.siblings) > 1:
            switcher(view, line, "o")


st.title("Chat")
key = selected_key()
try:
    config = config_for(key)
    agent = agent_for(key)
except Exception as err:  # noqa: BLE001 - show any config or provider problem in the page
    st.error(f"Cannot start {name_of(key)}: {err}")
    st.stop()

top = st.columns([3, 2, 2])
top[0].caption(f"Talking to **{name_of(key)}** ({config.provider}, {config.model or '-'})")
name = top[1].text_input("Your name", value=config.participant, key="chat_participant")
if top[2].button("New conversation", type="primary") or st.session_state.get(KEY) != key:
    # The moment is created with the first message, so visits leave no empty moments.
    for state_key in (MOMENT, LEAF, ERROR, RETRY, EDITING):
        st.session_state.pop(state_key, None)
    st.session_state[KEY] = key

participant_name = (name or config.participant).strip() or config.participant

# Actions chosen on the previous run (buttons set them, then the page reruns).
pending_regen = st.session_state.pop("chat_regen", None)
pending_edit = st.session_state.pop("chat_edit", None)

if MOMENT in st.session_state:
    show(agent, branch_view(store(), st.session_state[MOMENT], st.session_state[LEAF]))
else:
    st.caption("Say hello to start a conversation; it is logged from the first message.")

if pending_regen:
    run_turn(agent.regenerate(pending_regen))
    st.rerun()

def line_of(text: str) -> Participant | None:
    try:
        return Participant(participant_name, text)
    except ValueError as err:
        st.error(f"Your name cannot be used in a conversation: {err}")
        return None


if pending_edit:
    parent_id, text = pending_edit
    edited = line_of(text)
    if edited is not None:
        st.chat_message("user").markdown(f"**{participant_name}**: {text}")
        run_turn(agent.respond(parent_id, edited))
        st.rerun()

if st.session_state.get(ERROR):
    st.error(f"The model failed: {st.session_state[ERROR]}. Your message is saved.")
    if st.session_state.get(RETRY) and st.button("Retry", type="primary"):
        run_turn(agent.respond(st.session_state[RETRY]))
        st.rerun()

said = st.chat_input(f"Message {config.id} as {participant_name}")
if said and (new_line := line_of(said)) is not None:
    if MOMENT not in st.session_state:
        new_conversation(agent)
    st.chat_message("user").markdown(f"**{participant_name}**: {said}")
    run_turn(agent.respond(st.session_state[LEAF], new_line))
    st.rerun()

if dev_view() and LEAF in st.session_state:
    with st.expander("Raw MDL of the current snapshot", expanded=False):
        snap = store().get_snapshot(st.session_state[LEAF])
        st.code(snap.to_mdl(), language=None)
    st.caption(f"moment `{st.session_state[MOMENT]}` · snapshot `{st.session_state[LEAF]}`")
