"""Conversations: browse logged moments as trees, read any branch, give feedback."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from moments_core.agents.branches import branch_view
from moments_core.datasets.feedback import moment_ratings
from moments_core.mdl import Participant, Self
from moments_core.store import Feedback, MomentSummary
from moments_core.store.tree_dot import node_label, tree_dot
from dashboard.common import name_of, store, variant_keys

PAGE_SIZE = 25
ALL = "all"

st.title("Conversations")

keys = variant_keys()
f1, f2, f3, f4 = st.columns([3, 2, 2, 2])
variant = f1.selectbox("Variant", [ALL, *keys], format_func=lambda k: k if k == ALL else
                       name_of(k), key="conv_variant")
source = f2.selectbox("Source", [ALL, "chat", "compare", "corpus", "import", "api"],
                      key="conv_source")
days = f3.selectbox("Since", ["any time", "today", "7 days", "30 days"], key="conv_since")
show_deleted = f4.toggle("Show deleted", key="conv_deleted")
since: datetime | None = None
if days != "any time":
    back = {"today": 0, "7 days": 7, "30 days": 30}[days]
    since = datetime.combine(date.today() - timedelta(days=back), time.min).astimezone()

page_no = int(st.session_state.get("conv_page", 0))
kind_id_variant = variant if variant != ALL else (None, None, None)
summaries: list[MomentSummary] = store().list_moments(
    agent_kind=kind_id_variant[0], agent_id=kind_id_variant[1],
    agent_variant=kind_id_variant[2], since=since,
    source=None if source == ALL else source, include_deleted=show_deleted,
    limit=PAGE_SIZE + 1, offset=page_no * PAGE_SIZE,
)
has_next = len(summaries) > PAGE_SIZE
summaries = summaries[:PAGE_SIZE]
ratings = moment_ratings(store(), [s.info.moment_id for s in summaries])

table = pd.DataFrame([
    {
        "moment": s.info.moment_id,
        "variant": f"{s.info.agent_kind}-{s.info.agent_id}-{s.info.agent_variant}",
        "created": s.info.created_at,
        "snapshots": s.snapshots,
        "turns": max(0, (s.snapshots - 1) // 2),
        "branches": s.leaves,
        "rating": ratings.get(s.info.moment_id),
        "source": s.info.source,
        "deleted": s.info.deleted,
    }
    for s in summaries
])
st.dataframe(table, hide_index=True, width="stretch")
prev_col, info_col, next_col = st.columns([1, 3, 1])
if prev_col.button("Previous page", disabled=page_no == 0):
    st.session_state["conv_page"] = page_no - 1
    st.rerun()
info_col.caption(f"Page {page_no + 1} · newest first · {len(summaries)} shown")
if next_col.button("Next page", disabled=not has_next):
    st.session_state["conv_page"] = page_no + 1
    st.rerun()

if not summaries:
    st.info("No conversations match. Chat with an agent, or load a corpus, first.")
    st.stop()

moment_id = st.selectbox("Moment", [s.info.moment_id for s in summaries], key="conv_moment",
                         format_func=lambda m: f"{m[:8]}… "
                         f"({next(s.info.source for s in summaries if s.info.moment_id == m)})")
nodes = store().tree(moment_id)
labels = {n.snapshot_id: node_label(list(n.added))[0] for n in nodes}
leaf_ids = [n.snapshot_id for n in nodes if not n.children]
default = leaf_ids[-1] if leaf_ids else nodes[-1].snapshot_id
snapshot_id = st.selectbox(
    "Snapshot (node)", [n.snapshot_id for n in nodes], index=[n.snapshot_id for n in nodes]
    .index(default), key=f"conv_node_{moment_id}",
    format_func=lambda sid: f"{sid[:8]}… {labels[sid]}" + (" [leaf]" if sid in leaf_ids else ""),
)

tree_col, path_col = st.columns([3, 2])
with tree_col:
    st.subheader("Tree")
    st.graphviz_chart(tree_dot(nodes, selected=snapshot_id), width="stretch")
    st.caption("Blue: agent · green: participant · red: regenerated (Rejected) · "
               "double border: leaf · bold: branch point · red outline: selected")
with path_col:
    st.subheader("Path to this snapshot")
    view = branch_view(store(), moment_id, snapshot_id)
    for line in view.lines:
        occ = line.occurrence
        if isinstance(occ, Self):
            st.chat_message("assistant").markdown(occ.says)
        elif isinstance(occ, Participant):
            st.chat_message("user").markdown(f"**{occ.name}**: {occ.says}")
        else:
            st.caption(f"`{occ.kind}` {occ.to_mdl()[:200]}")
    with st.expander("MDL of this path"):
        st.code(store().get_snapshot(snapshot_id).to_mdl(), language=None)

st.subheader("Feedback")
existing = store().list_feedback(moment_id=moment_id)
if existing:
    st.dataframe(pd.DataFrame([
        {"snapshot": f.snapshot_id[:8], "kind": f.kind, "value": str(f.value),
         "at": f.created_at} for f in existing
    ]), hide_index=True, width="stretch")
with st.form(f"feedback-{snapshot_id}"):
    rating = st.select_slider("Rating", options=[0, 1, 2, 3, 4, 5], value=0,
                              help="0 = no rating")
    labels_text = st.text_input("Labels (comma separated)")
    comment = st.text_area("Comment")
    exclude = st.checkbox("Exclude this conversation from datasets")
    saved = st.form_submit_button("Save feedback")
if saved:
    items: list[Feedback] = []
    if rating:
        items.append(Feedback(snapshot_id, "rating", rating, moment_id=moment_id))
    items += [Feedback(snapshot_id, "label", label.strip(), moment_id=moment_id)
              for label in labels_text.split(",") if label.strip()]
    if comment.strip():
        items.append(Feedback(snapshot_id, "comment", comment.strip(), moment_id=moment_id))
    if exclude:
        items.append(Feedback(snapshot_id, "exclude", True, moment_id=moment_id))
    for item in items:
        store().add_feedback(item)
    st.success(f"Saved {len(items)} feedback item(s)")
    st.rerun()

if st.button("Delete this moment", help="soft delete: hidden from lists and datasets"):
    store().delete_moment(moment_id)
    st.success("Deleted (soft): it stays readable by id")
    st.rerun()
