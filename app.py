"""Streamlit entry point: the shared sidebar and the page navigation.

Pages are UI only; everything they do is in moments_core.
"""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="Moments", page_icon="💬", layout="wide")

PAGES = [
    st.Page("pages/mdl_playground.py", title="MDL playground", icon="📝", url_path="mdl"),
]

navigation = st.navigation(PAGES)
with st.sidebar:
    st.caption("Moments — agents written in MDL")
navigation.run()
