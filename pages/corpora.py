"""Corpora: turn a ConvoKit Reddit corpus or the chitchat-dataset into moments.

UI only: the conversion is moments_core.corpora.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import streamlit as st

from moments_core.agents import list_configs
from moments_core.corpora import Conversion, Result, ThreadOptions, load_target, to_csv, to_store
from moments_core.corpora.stats import ConversionStats
from moments_core.corpora.store_import import ALREADY_STORED
from moments_core.mdl import Self
from moments_core.mdl.display import occurrence_text
from moments_core.settings import get_settings

FOLDER = "Reddit corpus folder"
UPLOAD = "Uploaded Reddit corpus (.zip)"
CHITCHAT = "chitchat-dataset"
CSV_OUT, STORE_OUT = "Seed CSV (download)", "Log store"
RESULT = "corpora_result"

st.title("Corpora")
st.caption("Every root-to-leaf path of a Reddit post's reply tree, or every chitchat "
           "conversation, becomes one moment of the chosen agent.")

source = st.radio("Source", [FOLDER, UPLOAD, CHITCHAT], key="corpora_source", horizontal=True)
path: str | None = None
if source == FOLDER:
    path = st.text_input("Corpus folder (or .zip path)", key="corpora_path").strip() or None
elif source == UPLOAD:
    upload = st.file_uploader("ConvoKit corpus .zip", type=["zip"], key="corpora_zip")
    if upload is not None:
        saved = Path(tempfile.gettempdir()) / f"moments-upload-{upload.file_id}.zip"
        if not saved.exists():
            saved.write_bytes(upload.getbuffer())
        path = str(saved)

configs = {c.name: c for c in list_configs()}
config_name = st.selectbox("Agent config", sorted(configs), key="corpora_config")
# One name field per source, so the default (and the file name) follows the source chosen.
name = st.text_input("Dataset name", value="chitchat" if source == CHITCHAT else "reddit",
                     key=f"corpora_name_{'chitchat' if source == CHITCHAT else 'reddit'}",
                     help="Names the corpus in the store and the file: from-<name>.csv")

with st.expander("Filters", expanded=True):
    c1, c2, c3, c4 = st.columns(4)
    use_score = c1.checkbox("Minimum score", key="corpora_use_score",
                            disabled=source == CHITCHAT)
    min_score = c1.number_input("score ≥", value=1, step=1, key="corpora_min_score",
                                disabled=not use_score or source == CHITCHAT)
    min_turns = c2.number_input("Min turns (0: default)", min_value=0, value=0, step=1,
                                key="corpora_min_turns")
    max_turns = c3.number_input("Max turns (0: no limit)", min_value=0, value=0, step=1,
                                key="corpora_max_turns")
    limit = c4.number_input("Limit (0: all)", min_value=0, value=0, step=100,
                            key="corpora_limit")
    subreddits = st.text_input("Subreddits (comma-separated; empty: all)",
                               key="corpora_subreddits", disabled=source == CHITCHAT)

output = st.radio("Output", [CSV_OUT, STORE_OUT], key="corpora_output", horizontal=True)
store_url = ""
if output == STORE_OUT:
    store_url = st.text_input("Store URL", value=get_settings().database_url,
                              key="corpora_store_url")

if st.button("Run", key="corpora_run", type="primary"):
    if source != CHITCHAT and not path:
        st.error("Give a corpus folder or upload its .zip first.")
        st.stop()
    if config_name is None:
        st.error("No agent config found in configs/.")
        st.stop()
    conversion = Conversion(
        "chitchat" if source == CHITCHAT else "reddit", path=path,
        limit=int(limit) or None,
        options=ThreadOptions(
            min_score=int(min_score) if use_score and source != CHITCHAT else None,
            min_turns=int(min_turns) or None, max_turns=int(max_turns) or None,
            subreddits=frozenset(s.strip().lower() for s in subreddits.split(",") if s.strip()),
        ),
    )
    bar = st.progress(0.0, text="reading")

    def progress(stats: ConversionStats) -> None:
        bar.progress(stats.fraction_done, text=f"{stats.utterances_read:,} utterances read, "
                     f"{stats.threads_written:,} moments written")

    key = configs[config_name].key
    try:
        if output == STORE_OUT:
            from moments_core.store import open_store

            store = open_store(store_url)
            try:
                target = load_target(*key, store=store)
                result: Result = to_store(conversion, target, store, name, progress=progress)
            finally:
                store.close()
            data = None
        else:
            target = load_target(*key)
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp) / f"from-{name}.csv"
                result = to_csv(conversion, target, out, progress=progress)
                data = out.read_bytes()
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        bar.empty()
        st.error(str(err))
        st.stop()
    bar.progress(1.0, text="done")
    st.session_state[RESULT] = (result, data, name, output)

if RESULT in st.session_state:
    result, data, done_name, done_output = st.session_state[RESULT]
    stats = result.stats
    st.subheader("Counts")
    st.dataframe([{"count": k, "value": v} for k, v in stats.summary().items()],
                 hide_index=True)
    for bad in stats.bad_lines[:10]:
        st.warning(f"Skipped bad {bad}")
    if done_output == STORE_OUT:
        already = stats.skipped.get(ALREADY_STORED, 0)
        st.success(f"{stats.threads_written:,} new, {already:,} already in the store "
                   "(source: corpus).")
    elif data is not None:
        st.download_button("Download CSV", data, file_name=f"from-{done_name}.csv",
                           mime="text/csv", key="corpora_download")
    st.subheader(f"Sample ({len(result.sample)} moments)")
    for i, thread in enumerate(result.sample, 1):
        st.markdown(f"**Moment {i}** · `{thread.key}`")
        for occ in thread.occurrences:
            with st.chat_message("assistant" if isinstance(occ, Self) else "user"):
                st.markdown(f"**{occ.speaker}**  \n{occurrence_text(occ)}")
