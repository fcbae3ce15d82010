"""The one rule for the parts of a variant name (kind, id, variant), and the one way a
name becomes a path in the configs folder.

A name part comes from outside (an API body, a CLI argument, a name typed in the prompt
editor) and ends up in a file name (``configs/{kind}-{id}-{variant}.yaml``) and in S3 keys,
so it is checked here before it is used anywhere: letters, digits, ``.``, ``_`` and ``-``,
no leading dot (no ``..``, no hidden files), at most ``NAME_MAX`` characters. Messages name
the field and the rule, never a server path.
"""

from __future__ import annotations

import re
from pathlib import Path

NAME_MAX = 64
# Also the JSON Schema pattern of the API models, so clients see the rule.
NAME_PATTERN = rf"^[A-Za-z0-9_-][A-Za-z0-9._-]{{0,{NAME_MAX - 1}}}$"
_NAME = re.compile(NAME_PATTERN)


class InvalidName(ValueError):
    """A kind, id or variant that may not be used as a name."""


def check_name(value: object, field: str = "variant") -> str:
    """``value`` when it is a valid name part; else ``InvalidName`` saying why."""
    if not isinstance(value, str):
        raise InvalidName(f"{field} must be a string, got {type(value).__name__}")
    if not value:
        raise InvalidName(f"{field} may not be empty")
    if len(value) > NAME_MAX:
        raise InvalidName(f"{field} is {len(value)} characters long; at most {NAME_MAX}")
    if value.startswith("."):
        raise InvalidName(f"{field} {value[:NAME_MAX]!r} may not start with '.'")
    if _NAME.fullmatch(value) is None:
        raise InvalidName(
            f"{field} {value[:NAME_MAX]!r} is not a valid name: use letters, digits, '.', '_'"
            " or '-'"
        )
    return value


def check_key(kind: str, agent_id: str, variant: str) -> tuple[str, str, str]:
    """All three parts checked, in the order a person reads them."""
    return (check_name(kind, "kind"), check_name(agent_id, "id"),
            check_name(variant, "variant"))


def config_path(folder: Path, kind: str, agent_id: str, variant: str) -> Path:
    """``folder/{kind}-{id}-{variant}.yaml``, checked to resolve inside ``folder``.

    ``InvalidName`` for a name that is not one; a file that resolves elsewhere (a link in
    the folder pointing out of it) is ``FileNotFoundError``, worded as for a missing file,
    so an answer never tells what exists outside."""
    check_key(kind, agent_id, variant)
    base = folder.resolve()
    target = (base / f"{kind}-{agent_id}-{variant}.yaml").resolve()
    if not target.is_relative_to(base):
        raise FileNotFoundError(
            f"no config for {kind}-{agent_id}-{variant} in the configs folder")
    return target


def inside(folder: Path, path: Path) -> bool:
    """Whether ``path`` resolves inside ``folder``."""
    return path.resolve().is_relative_to(folder.resolve())
