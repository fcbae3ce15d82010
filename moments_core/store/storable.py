"""Text every back end can store: refused up front, before any write, with its place.

A lone surrogate (``"\\ud800"``) cannot be encoded as UTF-8, so no file, row or object can
hold it; NUL is refused by Postgres text columns. Both are refused on every back end, so
that what one store accepts any other (or the S3 mirror) accepts too.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import StoreError


def bad_character(text: str) -> tuple[int, str] | None:
    """(index, description) of the first character no store can keep, or None."""
    if "\x00" in text:
        return text.index("\x00"), "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        return err.start, f"a lone surrogate (U+{ord(text[err.start]):04X})"
    return None


def check_text(text: str, what: str) -> None:
    found = bad_character(text)
    if found is not None:
        index, description = found
        raise StoreError(f"{what} holds {description} at character {index}: it cannot be stored")


def check_occurrence_texts(texts: Iterable[str], kinds: Iterable[str], where: str) -> None:
    for i, (text, kind) in enumerate(zip(texts, kinds, strict=True)):
        check_text(text, f"{where}: occurrence {i} ({kind})")
