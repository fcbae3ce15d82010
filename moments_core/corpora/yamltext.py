"""Hand-written YAML for traces: PyYAML's dumper would cost more than the rest of a thread.

JSON is YAML: strings are written as JSON strings (YAML double-quoted scalars) and a
JSON object is a YAML flow mapping.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

_encode = msgspec.json.encode


def scalar(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    try:
        return _encode(value).decode()
    except (TypeError, msgspec.EncodeError):
        return _encode(str(value)).decode()


def flow(mapping: dict[str, Any]) -> str:
    """``{"id": "x", "score": 3}``; values JSON cannot hold become strings."""
    try:
        return _encode(mapping).decode()
    except (TypeError, msgspec.EncodeError, OverflowError):
        return _encode({k: scalar(v) for k, v in mapping.items()}).decode()
