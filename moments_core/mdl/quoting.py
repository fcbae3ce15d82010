"""How MDL quotes text: says-strings, emotions and delimited blocks.

The writer and the parser share these rules, so they live in one place.
"""

from __future__ import annotations

import re

# A content line that would read as a closing delimiter gets one more leading backslash
# (like SMTP's dot-stuffing), so any text fits in a ''' or ``` block.
_STUFFED_FREE = re.compile(r"^(\\*'''[ \t\r]*)$", re.M)
_UNSTUFF_FREE = re.compile(r"^\\(\\*'''[ \t\r]*)$", re.M)
_STUFFED_YAML = re.compile(r"^(\\*```[ \t\r]*)$", re.M)
_UNSTUFF_YAML = re.compile(r"^\\(\\*```[ \t\r]*)$", re.M)



def quote_says(text: str) -> str:
    """``"..."`` on one line, ``\"\"\"...\"\"\"`` when the text has a newline."""
    if "\\" in text:
        text = text.replace("\\", "\\\\")
    if '"' in text:
        text = text.replace('"', '\\"')
    if "\n" in text:
        return f'"""{text}"""'
    return f'"{text}"'


def _unescape(body: str, quote: str) -> str:
    # Escaped backslashes pair up left to right exactly as a character scan would pair
    # them, so three C-level replaces do the work of a Python loop (or re.sub, 3x slower).
    if "\\\\" not in body:
        return body.replace("\\" + quote, quote)
    if "\x00" not in body:
        return body.replace("\\\\", "\x00").replace("\\" + quote, quote).replace("\x00", "\\")
    return "\\".join(part.replace("\\" + quote, quote) for part in body.split("\\\\"))


def unescape_says(body: str) -> str:
    """Undo ``\\"`` and ``\\\\``; any other backslash is kept as written."""
    return _unescape(body, '"') if "\\" in body else body


def quote_emotion(emotion: str) -> str:
    if "\\" in emotion:
        emotion = emotion.replace("\\", "\\\\")
    if ")" in emotion:
        emotion = emotion.replace(")", "\\)")
    return f"({emotion}) "


def unescape_emotion(body: str) -> str:
    return _unescape(body, ")") if "\\" in body else body


def stuff_free_text(text: str) -> str:
    return _STUFFED_FREE.sub(r"\\\1", text) if "'''" in text else text


def unstuff_free_text(text: str) -> str:
    return _UNSTUFF_FREE.sub(r"\1", text) if "'''" in text else text


def stuff_yaml(text: str) -> str:
    return _STUFFED_YAML.sub(r"\\\1", text) if "```" in text else text


def unstuff_yaml(text: str) -> str:
    return _UNSTUFF_YAML.sub(r"\1", text) if "```" in text else text


def unescape_legacy_newlines(text: str) -> str:
    """Old YAML configs wrote Example blocks on one line with literal ``\\n``."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("\\", i)
        if j < 0 or j == n - 1:
            out.append(text[i:])
            break
        out.append(text[i:j])
        nxt = text[j + 1]
        if nxt == "n":
            out.append("\n")
        elif nxt == "\\":
            out.append("\\")
        else:
            out.append(text[j : j + 2])
        i = j + 2
    return "".join(out)
