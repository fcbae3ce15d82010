"""What a client may send as one line, checked before anything is stored or rendered.

One function decides for the API and the dashboard chat alike: ``line_problem`` for a text
typed by a person, ``check_lines`` for occurrences a client sent (the API names the
occurrence by its index). Two things are refused: a line longer than
``MOMENTS_MAX_LINE_CHARS`` (it could never fit a model's context, and would be stored as a
leaf that can never be answered), and text no store can keep (a lone surrogate cannot be
encoded as UTF-8; PostgreSQL refuses NUL).
"""

from __future__ import annotations

from collections.abc import Sequence

from moments_core.mdl import Occurrence
from moments_core.settings import get_settings


class LineRefused(ValueError):
    """An occurrence a client may not send; ``index`` is its place in the moment."""

    def __init__(self, message: str, index: int | None = None) -> None:
        super().__init__(message)
        self.index = index


def max_line_chars() -> int:
    return get_settings().max_line_chars


def _bad_character(text: str) -> str | None:
    if "\x00" in text:
        return f"holds a NUL character (at character {text.index(chr(0)) + 1})"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return (f"holds a lone surrogate (U+{ord(text[err.start]):04X} at character"
                f" {err.start + 1}), which is not text and cannot be stored")
    return None


def line_problem(text: str, limit: int | None = None) -> str | None:
    """Why ``text`` may not be one line, or ``None`` when it may (for a chat input: show
    the message and keep the text in the input)."""
    cap = max_line_chars() if limit is None else limit
    if len(text) > cap:
        return (f"the line is {len(text):,} characters long; the limit is {cap:,}"
                " (MOMENTS_MAX_LINE_CHARS)")
    return _bad_character(text)


def check_lines(occurrences: Sequence[Occurrence], offset: int = 0,
                limit: int | None = None) -> None:
    """``LineRefused`` naming ``moment.occurrences[i]`` for the first line that may not be
    sent; ``offset`` is the index of the first one in the client's moment."""
    cap = max_line_chars() if limit is None else limit
    for i, occ in enumerate(occurrences, start=offset):
        try:
            text = occ.to_mdl()
        except Exception:  # noqa: BLE001, S112 - the MDL checks that follow name the problem
            continue
        problem = line_problem(text, cap)
        if problem is not None:
            raise LineRefused(f"moment.occurrences[{i}] ({occ.kind}): {problem}; nothing was"
                              " stored", i)
