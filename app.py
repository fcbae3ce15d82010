"""Streamlit entry point: the password gate, the shared sidebar and the page navigation.

Pages are UI only; everything they do is in moments_core.
"""

from __future__ import annotations

import streamlit as st

from dashboard.common import (
    note_page,
    page_links,
    password_gate,
    sidebar,
    warm_default_model,
)

st.set_page_config(page_title="Moments", page_icon=":material/chat:", layout="wide")

warm_default_model()  # once per process: the first answer should not wait for the load
password_gate()

PAGES = [
    st.Page("pages/chat.py", title="Chat", icon=":material/chat:", url_path="chat",
            default=True),
    st.Page("pages/editor.py", title="Prompt editor", icon=":material/edit_note:",
            url_path="editor"),
    st.Page("pages/compare.py", title="Compare", icon=":material/compare:", url_path="compare"),
    st.Page("pages/conversations.py", title="Conversations", icon=":material/account_tree:",
            url_path="conversations"),
    st.Page("pages/datasets.py", title="Datasets", icon=":material/dataset:",
            url_path="datasets"),
    st.Page("pages/insights.py", title="Insights", icon=":material/insights:",
            url_path="insights"),
    st.Page("pages/corpora.py", title="Corpora", icon=":material/library_books:",
            url_path="corpora"),
    st.Page("pages/finetune.py", title="Fine-tune", icon=":material/model_training:",
            url_path="finetune"),
    st.Page("pages/evals.py", title="Evals", icon=":material/fact_check:", url_path="evals"),
    st.Page("pages/mdl_playground.py", title="MDL playground", icon=":material/code:",
            url_path="mdl"),
]

# Streamlit's own sidebar list is off (.streamlit/config.toml: it would first flash the raw
# file names of pages/), so the sidebar draws the links itself, once this script runs.
navigation = st.navigation(PAGES, position="hidden")
note_page(navigation.url_path)
page_links(PAGES)
sidebar()
navigation.run()
