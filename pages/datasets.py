"""Datasets: pick a format and filters, see a live count and the first rows, download."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.common import name_of, settings, store, variant_keys
from moments_core.datasets import FORMATS, ExportFilters, ExportSummary, get_format, preview
from moments_core.datasets.days import day_after, day_start
from moments_core.datasets.export import default_s3_key, export_dataset, render_bytes
from moments_core.datasets.preview_rows import readable

ALL = "all"

st.title("Datasets")
st.caption("Turn logged conversations into training data. Every format reads the same trees.")

fmt_name = st.selectbox("Format", list(FORMATS), key="ds_format",
                        format_func=lambda n: f"{n} — {FORMATS[n].description}")
fmt = get_format(fmt_name)
keys = variant_keys()
c1, c2, c3 = st.columns(3)
variant = c1.selectbox("Variant", [ALL, *keys], key="ds_variant",
                       format_func=lambda k: k if k == ALL else name_of(k))
min_rating = c2.select_slider("Minimum rating", [0, 1, 2, 3, 4, 5], value=0, key="ds_rating",
                              help="0 = keep unrated conversations too")
branches = c3.radio("Branches", ["all", "latest"], horizontal=True, key="ds_branches",
                    format_func=lambda b: "every branch" if b == "all" else "newest only")
d1, d2, d3, d4 = st.columns(4)
since_day = d1.date_input("From", value=None, key="ds_since")
until_day = d2.date_input("Until", value=None, key="ds_until")
validation = d3.number_input("Validation share", 0.0, 0.9, 0.0, 0.05, key="ds_val")
seed = d4.number_input("Split seed", 0, 10_000, 0, key="ds_seed")
include_excluded = st.checkbox("Include conversations marked excluded", key="ds_excluded")
suffix = st.radio("File type", list(fmt.suffixes), horizontal=True, key=f"ds_suffix_{fmt_name}")


kind, agent_id, agent_variant = variant if variant != ALL else (None, None, None)
filters = ExportFilters(
    agent_kind=kind, agent_id=agent_id, agent_variant=agent_variant,
    since=day_start(since_day), until=day_after(until_day),
    min_rating=float(min_rating) or None, include_excluded=include_excluded,
    branches="latest" if branches == "latest" else "all",
    validation_fraction=float(validation), seed=int(seed),
)


@st.cache_data(ttl=20, show_spinner="Counting…")
def _preview(fmt_name: str, filters_key: str, _filters: ExportFilters
             ) -> tuple[list[dict[str, Any]], ExportSummary]:
    return preview(store(), fmt_name, _filters, limit=5)


filters_key = json.dumps({k: str(getattr(filters, k)) for k in filters.__dataclass_fields__})
rows, summary = _preview(fmt_name, filters_key, filters)

m1, m2, m3, m4, m5 = st.columns(5)
m1.metric("Rows", summary.rows)
m2.metric("Conversations", summary.conversations)
m3.metric("Agent turns", summary.turns)
m4.metric("Avg turns / conversation", f"{summary.average_turns:.1f}")
m5.metric("Preference rows", f"{summary.preference_share:.0%}")
if summary.rows_by_split.get("validation"):
    st.caption(f"Split: {summary.rows_by_split.get('train', 0)} train, "
               f"{summary.rows_by_split['validation']} validation rows")
st.caption(f"Average line length: {summary.average_chars_per_turn:.0f} characters per turn")

st.subheader("First rows")
table = readable(rows)
if not rows:
    st.info("No rows for these filters.")
elif fmt.csv_columns:
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
elif table is not None:
    st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", key="ds_preview",
                 column_config={
                     "content": st.column_config.TextColumn(width="large"),
                     **{c: st.column_config.TextColumn(width="medium")
                        for c in ("prompt", "chosen", "rejected", "completion")},
                 })
    with st.expander("The rows as JSON"):
        for row in rows:
            st.json(row, expanded=False)
else:
    for row in rows:
        st.json(row, expanded=False)

# The prepared file belongs to the settings it was made with: any change of format,
# filters or file type makes it stale, and it is not offered any more.
prepared_for = json.dumps([fmt_name, suffix, filters_key])
if st.button("Prepare download", type="primary", disabled=not rows):
    bar = st.progress(0.0, text="Exporting…")
    total = max(1, summary.moments)

    def progress(n: int) -> None:
        bar.progress(min(1.0, n / total), text=f"Exporting… {n} moments read")

    data, done = render_bytes(store(), fmt, filters, suffix=suffix, progress=progress)
    bar.progress(1.0, text=f"Done: {done.rows} rows")
    st.session_state["ds_download"] = (data, f"{fmt_name}{suffix}", prepared_for)
if "ds_download" in st.session_state:
    data, file_name, made_for = st.session_state["ds_download"]
    if made_for == prepared_for:
        st.download_button(f"Download {file_name}", data=data, file_name=file_name,
                           key="ds_download_button")
    else:
        del st.session_state["ds_download"]
        st.caption("The format or filters changed since the last file was prepared: "
                   "prepare it again to download these rows.")

bucket = settings().s3_bucket
if bucket:
    target = st.text_input(
        "S3 target", key="ds_s3_target",
        value=f"s3://{bucket}/" + default_s3_key(kind or "all", agent_id or "all",
                                                 agent_variant or "all", suffix),
    )
    if st.button("Write to S3", disabled=not rows):
        written = export_dataset(store(), fmt, target, filters)
        st.success(f"Wrote {written.rows} rows to {', '.join(written.paths)}")
