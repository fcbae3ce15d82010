"""Dataset rows as flat tables a person reads at a glance (the Datasets page preview):
chat rows as role/content lines, preference rows as prompt / chosen / rejected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Row = dict[str, Any]
CELL_CHARS = 300


def _cell(value: object, limit: int = CELL_CHARS) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _messages(value: object) -> list[dict[str, Any]] | None:
    """A list of chat messages (dicts with a role), or None when ``value`` is not one."""
    if isinstance(value, dict) and "messages" in value:
        value = value["messages"]
    if isinstance(value, list) and all(isinstance(m, dict) and "role" in m for m in value):
        return value
    return None


def _content(messages: list[dict[str, Any]] | None) -> str:
    return " ".join(str(m.get("content", "")) for m in messages or [])


def _prompt_text(messages: list[dict[str, Any]]) -> str:
    """The prompt's last participant line, with how many messages came before it."""
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"),
                    default=None)
    if last_user is None:
        return _content(messages[-1:])
    earlier = sum(1 for m in messages[:last_user] if m.get("role") != "system")
    head = f"(+{earlier} earlier) " if earlier else ""
    return head + str(messages[last_user].get("content", ""))


_PAIRS = (("prompt", "chosen", "rejected"),
          ("input", "preferred_output", "non_preferred_output"))


def readable(rows: Sequence[Row]) -> list[dict[str, str]] | None:
    """A flat table for ``rows``, or None when their shape is not one of these (the page
    then shows them as JSON):

    - chat rows (``messages``): one line per message: row, role, content;
    - preference rows: row, prompt, chosen, rejected;
    - prompt/completion rows: row, prompt (its end), completion.
    """
    if not rows:
        return []
    first = rows[0]
    for prompt_key, chosen_key, rejected_key in _PAIRS:
        if {prompt_key, chosen_key, rejected_key} <= first.keys():
            out = []
            for i, row in enumerate(rows, start=1):
                prompt = _messages(row.get(prompt_key))
                out.append({
                    "row": str(i),
                    "prompt": _cell(_prompt_text(prompt) if prompt else row.get(prompt_key)),
                    "chosen": _cell(_content(_messages(row.get(chosen_key)))
                                    or row.get(chosen_key)),
                    "rejected": _cell(_content(_messages(row.get(rejected_key)))
                                      or row.get(rejected_key)),
                })
            return out
    if _messages(first.get("messages")) is not None:
        return [{"row": str(i), "role": str(m.get("role", "")),
                 "content": _cell(m.get("content", ""))}
                for i, row in enumerate(rows, start=1)
                for m in _messages(row.get("messages")) or []]
    if {"prompt", "completion"} <= first.keys():
        return [{"row": str(i), "prompt": "…" + _cell(str(row["prompt"])[-200:], 201),
                 "completion": _cell(row["completion"])}
                for i, row in enumerate(rows, start=1)]
    return None
