"""Reddit usernames as MDL participant names.

MDL names may not hold ``:``, ``"``, ``(``, ``)``, backslashes or newlines, may not start
with ``#`` or a space, and may not be an MDL keyword. Reddit names (``[A-Za-z0-9_-]``) are
nearly always fine already; the rare exception (older accounts, other corpora, a user
literally called ``Self``) is rewritten here so one odd name never costs a whole thread.
"""

from __future__ import annotations

import re

from moments_core.mdl import KEYWORDS, Participant

_BAD_CHARS = re.compile(r'[:"()\\\r\n]+')
_BAD_IDENTIFIER_CHARS = re.compile(r"[()\\\r\n]+")
# "User" is the post author's role name; a commenter called "User" must not look like it.
_RESERVED = KEYWORDS | {"User"}
NAME_CACHE: dict[str, str] = {}  # username -> name; read directly in the thread loop


def participant_name(username: str) -> str:
    """A valid participant name for a username (same input, same output)."""
    found = NAME_CACHE.get(username)
    if found is not None:
        return found
    name = _BAD_CHARS.sub("_", username).strip().lstrip("#").strip()
    if not name:
        name = "someone"
    if name in _RESERVED:
        name = f"u/{name}"  # the Reddit spelling keeps it readable and unambiguous
    try:
        Participant(name, "")  # the language's own check, once per name
    except ValueError:
        name = "someone"
    if len(NAME_CACHE) < 100_000:
        NAME_CACHE[username] = name
    return name


def participant_identifier(username: str) -> str:
    """A username as the ``(identifier)`` of a participant."""
    identifier = _BAD_IDENTIFIER_CHARS.sub("_", username).strip()
    Participant("User", "", identifier)  # raises if the rule above missed a case
    return identifier
