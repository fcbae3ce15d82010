"""MDL playground: paste MDL, see it parsed occurrence by occurrence, get canonical text."""

from __future__ import annotations

import json

import streamlit as st

from moments_core.mdl import MDLSyntaxError, Snapshot, parse
from moments_core.mdl.display import occurrence_rows

SAMPLE = """Instructions: '''
You are a barista at the cafe 'ISO Ikigai'.
'''
Begin.
Context: ```
time: 8:01am
```
Self: (😊) "Good morning! What can I get you?"
Customer: "Can I get a cup of coffee please?"
"""

st.title("MDL playground")
st.caption("Paste a moment or a snapshot. It is parsed as you type; errors show line:column.")

text = st.text_area("MDL", value=SAMPLE, height=260, key="mdl_text")
try:
    parsed = parse(text)
except MDLSyntaxError as err:
    st.error(f"Line {err.line}, column {err.column}: {err.message}")
    lines = text.split("\n")
    if 0 < err.line <= len(lines):
        st.code(lines[err.line - 1] + "\n" + " " * (err.column - 1) + "^", language=None)
else:
    moment = parsed.moment if isinstance(parsed, Snapshot) else parsed
    if isinstance(parsed, Snapshot):
        st.info(f"Snapshot {parsed.id} of moment {parsed.moment_id}, taken {parsed.timestamp}")
    st.subheader(f"{len(moment.occurrences)} occurrences")
    st.dataframe(occurrence_rows(moment.occurrences), hide_index=True, width="stretch")
    canonical = parsed.to_mdl()
    left, right = st.columns(2)
    with left:
        state = "unchanged" if canonical == text else "normalised"
        st.markdown(f"**Canonical MDL** ({state})")
        st.code(canonical, language=None)
    with right:
        st.markdown("**Dict face (JSON)**")
        st.code(json.dumps(parsed.to_dict(), ensure_ascii=False, indent=2), language="json")
