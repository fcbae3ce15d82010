"""Conversations: browse logged moments as trees, read any branch, give feedback.

UI only: rows, previews, turns, search and feedback are moments_core.datasets. The
moment and node shown are in the URL (``?moment=…&node=…``), so a link opens them.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from dashboard.common import name_of, show_said, store, variant_keys
from moments_core.agents.branches import branch_view
from moments_core.datasets.conversations import (
    SOURCES,
    ConversationRow,
    ListQuery,
    list_conversations,
    newest_leaf,
)
from moments_core.datasets.feedback import (
    SnapshotFeedback,
    current_feedback,
    parse_labels,
    save_feedback,
)
from moments_core.mdl import Participant, Self
from moments_core.mdl.display import occurrence_text
from moments_core.store import NotFound
from moments_core.store.tree_dot import node_label, tree_dot

PAGE_SIZE = 25
ALL = "all"
# The tables' selection is widget state: keyed by what they show, so a click made on
# other rows (another page, filter or moment) never shows as checked here.
ROW_IDS, NODE_IDS = "conv_row_ids", "conv_node_ids"
SAVED, CONFIRM, DELETED = "conv_saved_message", "conv_confirm_delete", "conv_deleted_message"

st.title("Conversations")
if deleted_message := st.session_state.pop(DELETED, None):
    st.success(deleted_message)

keys = variant_keys()
f1, f2, f3, f4 = st.columns([3, 2, 2, 2])
variant = f1.selectbox("Variant", [ALL, *keys], format_func=lambda k: k if k == ALL else
                       name_of(k), key="conv_variant")
source = f2.selectbox("Source", [ALL, *SOURCES], key="conv_source")
days = f3.selectbox("Since", ["any time", "today", "7 days", "30 days"], key="conv_since")
show_deleted = f4.toggle("Show deleted", key="conv_deleted")
search = st.text_input("Search the conversations", key="conv_search",
                       placeholder="words anyone said, e.g. latte")
since: datetime | None = None
if days != "any time":
    back = {"today": 0, "7 days": 7, "30 days": 30}[days]
    since = datetime.combine(date.today() - timedelta(days=back), time.min).astimezone()

page_no = int(st.session_state.get("conv_page", 0))
kind, agent_id, agent_variant = variant if variant != ALL else (None, None, None)
rows, has_next = list_conversations(store(), ListQuery(
    agent_kind=kind, agent_id=agent_id, agent_variant=agent_variant, since=since,
    source=None if source == ALL else source, include_deleted=show_deleted, search=search,
), limit=PAGE_SIZE, offset=page_no * PAGE_SIZE)
st.session_state[ROW_IDS] = [r.moment_id for r in rows]
TABLE = "conv_table_" + hashlib.blake2b("".join(st.session_state[ROW_IDS]).encode(),
                                        digest_size=6).hexdigest()


def _open_row() -> None:
    """A click on a table row opens that conversation (and puts it in the URL)."""
    picked = st.session_state[TABLE].selection.rows
    ids = st.session_state.get(ROW_IDS, [])
    if picked and picked[0] < len(ids):
        st.query_params["moment"] = ids[picked[0]]
        st.query_params.pop("node", None)


asked = st.query_params.get("moment")
by_id = {r.moment_id: r for r in rows}
moment_id = asked if asked else (rows[0].moment_id if rows else None)
current_row = [rows.index(by_id[moment_id])] if moment_id in by_id else []
st.dataframe(
    pd.DataFrame([r.as_dict() for r in rows]), hide_index=True, width="stretch",
    key=TABLE, on_select=_open_row, selection_mode="single-row",
    selection_default={"selection": {"rows": current_row, "columns": []}},
    column_config={
        "first line": st.column_config.TextColumn(width="medium"),
        "last answer": st.column_config.TextColumn(width="medium"),
        "moment": st.column_config.TextColumn(width="small"),
    },
)
prev_col, info_col, next_col = st.columns([1, 3, 1])
if prev_col.button("Previous page", disabled=page_no == 0):
    st.session_state["conv_page"] = page_no - 1
    st.rerun()
info_col.caption(f"Page {page_no + 1} · newest first · {len(rows)} shown · click a row to "
                 "open it")
if next_col.button("Next page", disabled=not has_next):
    st.session_state["conv_page"] = page_no + 1
    st.rerun()

if moment_id is None:
    st.info("No conversations match. Chat with an agent, or load a corpus, first.")
    st.stop()
try:
    info = store().get_moment(moment_id)
except NotFound:
    st.error(f"No stored moment has the id {moment_id!r}.")
    st.stop()
nodes = store().tree(moment_id)
if not nodes:
    st.info("This moment has no snapshots yet.")
    st.stop()
node_ids = [n.snapshot_id for n in nodes]
leaf_ids = {n.snapshot_id for n in nodes if not n.children}
asked_node = st.query_params.get("node")
snapshot_id = asked_node if asked_node in node_ids else (newest_leaf(nodes) or node_ids[-1])
st.session_state[NODE_IDS] = node_ids
NODES = f"conv_nodes_{moment_id}"

row: ConversationRow | None = by_id.get(moment_id)
st.subheader(f"Conversation {moment_id[:8]}…")
# The first line and the client's user name are untrusted: shown as text.
st.text(" · ".join(part for part in (
    row.first_line if row else "",
    f"{name_of((info.agent_kind, info.agent_id, info.agent_variant))}, source {info.source}",
    f"user {info.meta['user']}" if info.meta.get("user") else "",
) if part))
st.caption(f"`{moment_id}`")


def _open_node() -> None:
    """A click on a node of the list opens that snapshot."""
    picked = st.session_state[NODES].selection.rows
    ids = st.session_state.get(NODE_IDS, [])
    if picked and picked[0] < len(ids) and moment_id is not None:
        st.query_params["moment"] = moment_id
        st.query_params["node"] = ids[picked[0]]


depth: dict[str, int] = {}
for n in nodes:
    depth[n.snapshot_id] = depth[n.parent_id] + 1 if n.parent_id in depth else 0
tree_col, list_col, path_col = st.columns([3, 2, 3])
with tree_col:
    st.subheader("Tree")
    st.graphviz_chart(tree_dot(nodes, selected=snapshot_id), width="stretch")
    st.caption("Blue: agent · green: participant · red: regenerated (Rejected) · "
               "double border: leaf · bold: branch point · red outline: selected")
with list_col:
    st.subheader("Nodes")
    st.caption("Click one to open it.")
    st.dataframe(
        pd.DataFrame([{
            "node": "· " * depth[n.snapshot_id] + node_label(list(n.added))[0],
            "leaf": "leaf" if n.snapshot_id in leaf_ids else "",
            "id": n.snapshot_id[:8],
        } for n in nodes]),
        hide_index=True, width="stretch", key=NODES, on_select=_open_node,
        selection_mode="single-row",
        selection_default={"selection": {"rows": [node_ids.index(snapshot_id)],
                                         "columns": []}},
    )
with path_col:
    st.subheader("Path to this snapshot")
    view = branch_view(store(), moment_id, snapshot_id)
    for line in view.lines:
        occ = line.occurrence
        # What was said is untrusted text: shown as text, never as markdown.
        if isinstance(occ, Self):
            with st.chat_message("assistant"):
                show_said(None, occ.says, occ.emotion)
        elif isinstance(occ, Participant):
            with st.chat_message("user"):
                show_said(occ.name, occ.says, occ.emotion)
        else:
            text = occurrence_text(occ)
            st.text(f"{occ.kind}: {text[:200]}" if text else occ.kind)
    with st.expander("MDL of this path"):
        st.code(store().get_snapshot(snapshot_id).to_mdl(), language=None)
    st.page_link("pages/chat.py", label="Continue in Chat", icon=":material/chat:",
                 query_params={"moment": moment_id, "leaf": snapshot_id})

st.subheader("Feedback")
if message := st.session_state.pop(SAVED, None):
    st.success(message)
now = current_feedback(store(), snapshot_id)
with st.form(f"feedback-{snapshot_id}"):
    st.caption(f"On snapshot `{snapshot_id[:8]}`" +
               (" (a leaf: the whole conversation)" if snapshot_id in leaf_ids else ""))
    rating = st.select_slider("Rating", options=[0, 1, 2, 3, 4, 5], value=now.rating,
                              help="0 = no rating")
    labels_text = st.text_input("Labels (comma separated)", value=", ".join(now.labels))
    comment = st.text_area("Comment", value=now.comment)
    exclude = st.checkbox("Exclude this conversation from datasets", value=now.exclude)
    saved = st.form_submit_button("Save feedback")
if saved:
    done = save_feedback(store(), moment_id, snapshot_id, SnapshotFeedback(
        rating=int(rating), labels=parse_labels(labels_text), comment=comment,
        exclude=exclude,
    ))
    parts = [f"rating {done.rating}" if done.rating else "no rating",
             f"labels {', '.join(done.labels)}" if done.labels else "no labels",
             "a comment" if done.comment else "no comment"]
    if done.exclude:
        parts.append("excluded from datasets")
    st.session_state[SAVED] = f"Feedback saved for snapshot {snapshot_id[:8]}: " \
                              + ", ".join(parts) + "."
    st.rerun()

if not st.session_state.get(CONFIRM):
    if st.button("Delete this moment", help="soft delete: hidden from lists and datasets"):
        st.session_state[CONFIRM] = moment_id
        st.rerun()
elif st.session_state[CONFIRM] == moment_id:
    st.warning(f"Delete moment {moment_id[:8]}…? It disappears from the lists and the "
               "datasets (it stays readable by id).")
    yes, no = st.columns(2)
    if yes.button("Yes, delete", type="primary"):
        store().delete_moment(moment_id)
        st.session_state.pop(CONFIRM, None)
        st.query_params.pop("moment", None)
        st.query_params.pop("node", None)
        st.session_state[DELETED] = f"Moment {moment_id[:8]}… deleted (soft: hidden from " \
                                    "the lists and datasets, still readable by id)."
        st.rerun()
    if no.button("Cancel"):
        st.session_state.pop(CONFIRM, None)
        st.rerun()
else:
    st.session_state.pop(CONFIRM, None)
    st.rerun()
