"""Chat with the chosen variant. Every turn is logged; regenerate, edit and switch branches.

The moment and the leaf on screen live in the URL (``chat?moment=…&leaf=…``), so a reload,
back/forward and a shared link land on the same branch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from dashboard.common import (
    agent_for,
    came_from_another_page,
    config_for,
    dev_view,
    name_of,
    safe_id,
    select_variant,
    selected_key,
    show_said,
    store,
    toast_next_run,
    waiting_text,
)
from moments_core.agents import Agent
from moments_core.agents.branches import (
    BranchLine,
    BranchView,
    branch_view,
    cut_before,
    newest_leaf_under,
    recent_conversations,
    switch_to,
)
from moments_core.agents.limits import line_problem
from moments_core.agents.runtime import AgentError, TurnFailed
from moments_core.datasets.feedback import feedback_id
from moments_core.mdl import Participant, Self
from moments_core.mdl.occurrences import YamlOccurrence
from moments_core.store import Feedback, NotFound

MOMENT = "chat_moment"
LEAF = "chat_leaf"
KEY = "chat_key"
ERROR = "chat_error"
RETRY = "chat_retry_from"
EDITING = "chat_editing"
INPUT = "chat_text"
REFUSED = "chat_refused"  # (message, text) of a line that was not sent

KIND_STYLE = {
    "Context": "🕒", "Instructions": "📜", "Example": "🧪", "Begin": "▶️", "Rejected": "🚫",
    "Thought": "💭", "Action": "⚙️", "Observation": "👀", "Motivation": "🎯",
    "Identification": "🪪", "Waiting": "⏳", "Resuming": "⏯️", "Working": "🛠️",
    "Critique": "🧐", "CritiqueRequest": "❓", "Revision": "✏️", "RevisionRequest": "📝",
}


# --- where we are: session state and the URL, kept equal --------------------------------
def show_leaf(moment_id: str, leaf_id: str) -> None:
    st.session_state[MOMENT] = moment_id
    st.session_state[LEAF] = leaf_id
    if (st.query_params.get("moment"), st.query_params.get("leaf")) != (moment_id, leaf_id):
        st.query_params.update(moment=moment_id, leaf=leaf_id)


def forget_conversation() -> None:
    for state_key in (MOMENT, LEAF, ERROR, RETRY, EDITING):
        st.session_state.pop(state_key, None)
    for param in ("moment", "leaf"):
        if param in st.query_params:
            del st.query_params[param]


def open_conversation(moment_id: str, leaf_id: str | None) -> None:
    """Show a stored conversation (from the URL or the recent list), switching the
    sidebar to its variant; an unknown moment is said, not raised."""
    try:
        info = store().get_moment(moment_id)
        nodes = {n.snapshot_id: n for n in store().tree(moment_id)}
    except NotFound:
        forget_conversation()
        st.warning(f"No conversation {safe_id(moment_id)} in the store.")
        return
    root = next((sid for sid, n in nodes.items() if n.parent_id not in nodes), None)
    if root is None:
        forget_conversation()
        st.warning(f"Conversation {safe_id(moment_id)} has no snapshots.")
        return
    leaf = leaf_id if leaf_id in nodes else newest_leaf_under(nodes, root)
    for state_key in (ERROR, RETRY, EDITING):
        st.session_state.pop(state_key, None)
    show_leaf(moment_id, leaf)
    key = (info.agent_kind, info.agent_id, info.agent_variant)
    st.session_state[KEY] = key
    if key != selected_key():
        select_variant(key)
        st.rerun()


def url_leads() -> bool:
    """Whether this run came from the URL (a new session: reload or shared link; back or
    forward; another page sending us here) rather than from a click or a message on this
    page, whose query string may lag behind the turn that just ended."""
    ctx = get_script_run_ctx()
    return (MOMENT not in st.session_state or came_from_another_page()
            or bool(ctx is not None and ctx.is_history_navigation))


def follow_url() -> None:
    """Keep the URL and the session on the same branch; the URL wins when it leads."""
    wanted = st.query_params.get("moment")
    leaf = st.query_params.get("leaf")
    here = (st.session_state.get(MOMENT), st.session_state.get(LEAF))
    if wanted and (wanted, leaf) != here and url_leads():
        open_conversation(wanted, leaf)
    elif MOMENT in st.session_state:
        show_leaf(st.session_state[MOMENT], st.session_state[LEAF])


# --- a turn -------------------------------------------------------------------------------
def run_turn(agent: Agent, events: Iterator[Any]) -> None:
    """Stream the answer into an assistant bubble and move the view to the new leaf.

    The text is drawn as text while it streams too (``st.write_stream`` would render it as
    markdown, and an image in a model's answer would load)."""
    result: dict[str, Any] = {}
    with st.chat_message("assistant"):
        status = st.empty()
        status.caption(waiting_text(agent.provider))
        shown = st.empty()
        parts: list[str] = []
        try:
            for item in events:
                if isinstance(item, str):
                    if not parts:
                        status.empty()
                    parts.append(item)
                    shown.text("".join(parts))
                else:
                    result["turn"] = item
        except TurnFailed as err:
            status.empty()
            st.session_state[ERROR] = str(err)
            if err.participant_snapshot is not None:
                show_leaf(err.participant_snapshot.moment_id, err.participant_snapshot.id)
                st.session_state[RETRY] = err.participant_snapshot.id
            return
        except AgentError as err:
            status.empty()
            st.session_state[ERROR] = str(err)
            return
    turn = result.get("turn")
    if turn is not None:
        show_leaf(turn.snapshot.moment_id, turn.snapshot.id)
        st.session_state.pop(ERROR, None)
        st.session_state.pop(RETRY, None)


# --- the conversation -----------------------------------------------------------------------
def switcher(view: BranchView, line: BranchLine, where: str) -> None:
    if len(line.siblings) < 2:
        return
    left, mid, right = st.columns([1, 2, 1])
    if left.button("", icon=":material/chevron_left:", key=f"prev-{where}-{line.snapshot_id}",
                   help="previous branch"):
        show_leaf(view.moment_id, switch_to(view, line, -1))
        st.rerun()
    mid.caption(f"{line.position}/{len(line.siblings)}")
    if right.button("", icon=":material/chevron_right:", key=f"next-{where}-{line.snapshot_id}",
                    help="next branch"):
        show_leaf(view.moment_id, switch_to(view, line, +1))
        st.rerun()


def thumbs_given(moment_id: str) -> dict[str, int]:
    """The thumbs standing on each answer of the moment (+1 or -1; taken back: absent)."""
    latest: dict[str, Feedback] = {}
    for fb in store().list_feedback(moment_id=moment_id):
        before = latest.get(fb.snapshot_id)
        if fb.kind == "thumbs" and (before is None or fb.created_at >= before.created_at):
            latest[fb.snapshot_id] = fb
    out: dict[str, int] = {}
    for sid, fb in latest.items():
        try:
            value = float(fb.value)
        except (TypeError, ValueError):
            continue
        if value:
            out[sid] = 1 if value > 0 else -1
    return out


def thumb_button(view: BranchView, sid: str, where: Any, value: int, given: int | None,
                 n: int) -> None:
    pressed = given == value
    word = "up" if value > 0 else "down"
    if where.button("", icon=f":material/thumb_{word}:", key=f"{word}-{n}-{sid}",
                    type="primary" if pressed else "secondary",
                    help=f"thumbs {word} given: press again to take it back" if pressed
                    else ("good answer" if value > 0 else "bad answer")):
        # One record per answer (a fixed id): pressing again replaces it, never adds one.
        store().add_feedback(Feedback(sid, "thumbs", None if pressed else value,
                                      moment_id=view.moment_id, id=feedback_id(sid, "thumbs")))
        toast_next_run(f"Thumbs {word} taken back" if pressed else f"Thumbs {word} saved")
        st.rerun()


def agent_actions(view: BranchView, line: BranchLine, n: int, given: int | None) -> None:
    cols = st.columns([2, 1, 1, 3])
    sid = line.snapshot_id
    if cols[0].button("Regenerate", icon=":material/refresh:", key=f"regen-{n}-{sid}",
                      help="a new answer on a new branch; this one is kept"):
        st.session_state["chat_regen"] = sid
        st.rerun()
    thumb_button(view, sid, cols[1], +1, given, n)
    thumb_button(view, sid, cols[2], -1, given, n)
    with cols[3].popover("Comment", icon=":material/comment:"):
        comment = st.text_input("Comment on this answer", key=f"comment-{n}-{sid}")
        if st.button("Save comment", key=f"save-comment-{n}-{sid}") and comment.strip():
            store().add_feedback(Feedback(sid, "comment", comment.strip(),
                                          moment_id=view.moment_id))
            st.toast("Comment saved")


def participant_actions(line: BranchLine, n: int) -> None:
    sid = line.snapshot_id
    if st.session_state.get(EDITING) == sid:
        occ = line.occurrence
        assert isinstance(occ, Participant)
        with st.form(f"edit-{n}-{sid}"):
            text = st.text_area("Edit your message (the old branch is kept)", value=occ.says)
            send_col, cancel_col = st.columns(2)
            ok = send_col.form_submit_button("Send edited message", type="primary")
            cancel = cancel_col.form_submit_button("Cancel")
        if cancel:
            st.session_state.pop(EDITING, None)
            st.rerun()
        if ok and text.strip() and line.parent_id:
            problem = line_problem(text.strip())
            if problem:
                st.error(f"Not sent: {problem}.")
                return
            st.session_state.pop(EDITING, None)
            st.session_state["chat_edit"] = (sid, text.strip())
            st.rerun()
    elif st.button("Edit", icon=":material/edit:", key=f"edit-{n}-{sid}"):
        st.session_state[EDITING] = sid
        st.rerun()


def show_other(line: BranchLine) -> None:
    """A line that is neither the agent's nor a participant's (developer view): its kind,
    then its content as a small code block (YAML kinds as YAML)."""
    occ = line.occurrence
    st.caption(f"{KIND_STYLE.get(occ.kind, '•')} {occ.kind}")
    if isinstance(occ, YamlOccurrence):
        st.code(occ.yaml_text, language="yaml")
    elif occ.kind != "Begin":
        st.code(occ.to_mdl(), language=None, wrap_lines=True)


def show(view: BranchView, lines: list[BranchLine], actions: bool = True) -> None:
    developer = dev_view()
    given = thumbs_given(view.moment_id) if actions else {}
    for n, line in enumerate(lines):
        occ = line.occurrence
        if isinstance(occ, Self):
            with st.chat_message("assistant"):
                show_said(None, occ.says, occ.emotion)
                if actions and line.last_of_snapshot:
                    agent_actions(view, line, n, given.get(line.snapshot_id))
                    switcher(view, line, "a")
        elif isinstance(occ, Participant):
            with st.chat_message("user"):
                show_said(occ.name, occ.says)
                if actions and line.last_of_snapshot:
                    participant_actions(line, n)
                    switcher(view, line, "p")
        elif developer:
            show_other(line)
        elif actions and line.last_of_snapshot and len(line.siblings) > 1:
            switcher(view, line, "o")


def recent_list() -> None:
    with st.expander("Recent conversations", expanded=MOMENT not in st.session_state):
        recent = recent_conversations(store(), limit=10)
        if not recent:
            st.caption("No conversations yet.")
        for item in recent:
            title = item.title if len(item.title) <= 80 else item.title[:79] + "…"
            when = f"{item.last_at:%Y-%m-%d %H:%M}" if item.last_at else ""
            text_col, open_col = st.columns([6, 1], vertical_alignment="center")
            # The title is a participant's words: shown as text, never as markdown.
            text_col.text(f"{title or '(nothing said yet)'} · {name_of(item.variant)} · {when}")
            current = item.moment_id == st.session_state.get(MOMENT)
            if open_col.button("Open", key=f"recent-{item.moment_id}", disabled=current,
                               help="this conversation is open" if current else None):
                open_conversation(item.moment_id, item.leaf_id)
                st.rerun()


# --- the page ---------------------------------------------------------------------------------
st.title("Chat")
follow_url()
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
    forget_conversation()
    st.session_state[KEY] = key
recent_list()

participant_name = (name or config.participant).strip() or config.participant

# Actions chosen on the previous run (buttons set them, then the page reruns).
pending_regen = st.session_state.pop("chat_regen", None)
pending_edit = st.session_state.pop("chat_edit", None)


def line_of(text: str) -> Participant | None:
    try:
        return Participant(participant_name, text)
    except ValueError as err:
        st.error(f"Your name cannot be used in a conversation: {err}")
        return None


# The conversation sits in one slot, and a second one below it stays empty. A regenerate
# or an edit empties the first (so the turns below the replaced one vanish at once) and
# streams into the second: a block redrawn in place would keep its old children on screen
# until the run ends.
slot, live = st.empty(), st.empty()
if MOMENT in st.session_state:
    view = branch_view(store(), st.session_state[MOMENT], st.session_state[LEAF])
    if pending_regen:
        slot.empty()
        with live.container():
            show(view, view.lines[:cut_before(view, pending_regen, last_line=True)],
                 actions=False)
            run_turn(agent, agent.regenerate(pending_regen))
        st.rerun()
    if pending_edit:
        edited_sid, text = pending_edit
        edited = line_of(text)
        parent_id = view.nodes[edited_sid].parent_id if edited_sid in view.nodes else None
        if edited is not None and parent_id is not None:
            slot.empty()
            with live.container():
                show(view, view.lines[:cut_before(view, edited_sid)], actions=False)
                with st.chat_message("user"):
                    show_said(participant_name, text)
                run_turn(agent, agent.respond(parent_id, edited))
            st.rerun()
    with slot.container():
        show(view, view.lines)
else:
    slot.caption("Say hello to start a conversation; it is logged from the first message.")

if st.session_state.get(ERROR):
    st.error(f"The model failed: {st.session_state[ERROR]}. Your message is saved.")
    if st.session_state.get(RETRY) and st.button("Retry", type="primary"):
        run_turn(agent, agent.respond(st.session_state[RETRY]))
        st.rerun()

refused = st.session_state.pop(REFUSED, None)
if refused is not None:
    # Put the refused text back into the input (a trigger widget: set before it is drawn).
    st.error(f"Not sent: {refused[0]}. Your text is still in the box below.")
    st.session_state[INPUT] = refused[1]

said = st.chat_input(f"Message {config.id} as {participant_name}", key=INPUT)
if said:
    problem = line_problem(said)
    if problem:
        st.session_state[REFUSED] = (problem, said)
        st.rerun()
if said and (new_line := line_of(said)) is not None:
    if MOMENT not in st.session_state:
        root = agent.start(source="chat")
        show_leaf(root.moment_id, root.id)
        st.session_state.pop(ERROR, None)
        st.session_state.pop(RETRY, None)
    with st.chat_message("user"):
        show_said(participant_name, said)
    run_turn(agent, agent.respond(st.session_state[LEAF], new_line))
    st.rerun()

if dev_view() and LEAF in st.session_state:
    with st.expander("Raw MDL of the current snapshot", expanded=False):
        snap = store().get_snapshot(st.session_state[LEAF])
        st.code(snap.to_mdl(), language=None)
    st.caption(f"moment `{st.session_state[MOMENT]}` · snapshot `{st.session_state[LEAF]}`")
