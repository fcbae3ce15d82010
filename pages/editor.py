"""Prompt editor: edit a variant's config with live validation; every save is a version."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.common import (
    config_for,
    name_of,
    select_variant,
    selected_key,
    store,
    toast_next_run,
)
from moments_core.agents.config import ConfigError
from moments_core.agents.editor import (
    check_init,
    config_fields,
    config_yaml,
    diff_versions,
    export_to_configs,
    restore_version,
    save_as_variant,
    save_version,
)
from moments_core.mdl.display import occurrence_rows

PROVIDERS = ["local", "transformers", "openai", "cohere", "instant"]

st.title("Prompt editor")
key = selected_key()
try:
    current = config_for(key)
except Exception as err:  # noqa: BLE001 - a broken stored config is shown, not raised
    st.error(f"Cannot load {name_of(key)}: {err}")
    st.stop()
fields = config_fields(current)
versions = store().list_config_versions(*key)
newest = versions[-1].version if versions else None
st.caption(f"Editing **{name_of(key)}** — newest version v{newest}. Saving never overwrites: "
           "it adds a version that the chat and compare pages use on their next turn.")

left, right = st.columns([3, 2])
with left:
    init = st.text_area("init (MDL)", value=fields["init"], height=320, key=f"init-{key}")
    check = check_init(init)
    if check.ok:
        st.success(f"Valid MDL: {len(check.occurrences)} occurrences")
    else:
        assert check.error is not None
        st.error(f"Line {check.error.line}, column {check.error.column}: {check.error.message}")
with right:
    provider = st.selectbox("provider", PROVIDERS, index=PROVIDERS.index(fields["provider"]),
                            key=f"provider-{key}")
    model = st.text_input("model", value=fields["model"], key=f"model-{key}")
    mode = st.radio("mode", ["chat", "completion"], horizontal=True,
                    index=["chat", "completion"].index(fields["mode"]), key=f"mode-{key}")
    params = dict(fields.get("params") or {})
    temperature = st.slider("temperature", 0.0, 2.0, float(params.get("temperature", 0.7)),
                            0.05, key=f"temp-{key}")
    max_tokens = st.number_input("max_tokens", 1, 4096, int(params.get("max_tokens", 160)),
                                 key=f"max-{key}")
    participant = st.text_input("participant", value=fields["participant"],
                                key=f"participant-{key}")

edited: dict[str, Any] = {
    **fields, "init": init, "provider": provider, "model": model, "mode": mode,
    "participant": participant,
    "params": {**params, "temperature": temperature, "max_tokens": int(max_tokens)},
}

if check.ok and check.occurrences:
    with st.expander("Preview: parsed occurrences", expanded=False):
        st.dataframe(pd.DataFrame(occurrence_rows(check.occurrences)), hide_index=True,
                     width="stretch")

save_col, variant_col = st.columns(2)
with save_col:
    if st.button("Save as new version", type="primary", disabled=not check.ok):
        try:
            saved = save_version(store(), edited, expect_key=key)
        except ConfigError as err:
            st.error(str(err))
        else:
            toast_next_run(f"Saved {name_of(key)} as version v{saved.version}")
            st.rerun()
with variant_col:
    new_name = st.text_input("New variant name", key=f"newvariant-{key}",
                             placeholder="e.g. 02-friendlier")
    if st.button("Save as new variant", disabled=not check.ok or not new_name.strip()):
        try:
            saved = save_as_variant(store(), edited, new_name.strip())
        except (ConfigError, ValueError) as err:
            st.error(str(err))
        else:
            # The editor and the sidebar move to the new variant (its own widgets, so the
            # name box starts empty there and a second click has nothing to redo).
            select_variant(saved.config.key)
            toast_next_run(f"Created {saved.config.name} (version v{saved.version})")
            st.rerun()

st.subheader("Version history")
versions = store().list_config_versions(*key)
if versions:
    st.dataframe(
        pd.DataFrame([{"version": v.version, "saved": v.created_at, "author": v.author}
                      for v in reversed(versions)]),
        hide_index=True, width="stretch",
    )
    numbers = [v.version for v in versions]
    # Keyed by the newest version: after a save the pickers start again from the newest.
    at = f"{key}-v{numbers[-1]}"
    a_col, b_col = st.columns(2)
    a = a_col.selectbox("Compare version", numbers, index=max(0, len(numbers) - 2),
                        key=f"diff-a-{at}")
    b = b_col.selectbox("with version", numbers, index=len(numbers) - 1, key=f"diff-b-{at}")
    by_number = {v.version: v for v in versions}
    diff = diff_versions(by_number[a], by_number[b])
    st.code(diff or "(no differences)", language="diff")
    restore_col, export_col = st.columns(2)
    with restore_col:
        restore = st.selectbox("Restore version", numbers, index=len(numbers) - 1,
                               key=f"restore-{at}")
        if st.button("Restore as new version", disabled=restore == numbers[-1]):
            saved = restore_version(store(), key, restore)
            toast_next_run(f"Restored v{restore} as version v{saved.version}")
            st.rerun()
    with export_col:
        chosen = st.selectbox("Version to write", numbers, index=len(numbers) - 1,
                              key=f"export-{at}")
        file_name = st.text_input("File name in configs/", value=f"{name_of(key)}.yaml",
                                  key=f"export-name-{key}")
        if st.button("Write to configs/"):
            try:
                path = export_to_configs(by_number[chosen].yaml_text, file_name)
            except (ValueError, ConfigError) as err:
                st.error(str(err))
            else:
                st.success(f"Wrote {path.name}")

with st.expander("YAML that a save would store", expanded=False):
    st.code(config_yaml(edited), language="yaml")
