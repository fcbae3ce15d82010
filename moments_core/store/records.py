"""A moment's record in each stored form, derived from the one declaration of its fields
(``MomentInfo`` in base.py): SQL columns (``MomentRow``) and the S3 JSON body. Adding a
field to ``MomentInfo`` adds it everywhere; ``tests/test_store_records.py`` checks that
the table declares the same columns."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from .base import MomentInfo
from .rebuild import iso

MOMENT_FIELDS = tuple(f.name for f in fields(MomentInfo))


def moment_columns(info: MomentInfo) -> dict[str, Any]:
    """The moment as ``MomentRow`` columns (``meta`` as JSON text, "" when empty)."""
    values = {name: getattr(info, name) for name in MOMENT_FIELDS}
    values["meta"] = json.dumps(info.meta, sort_keys=True) if info.meta else ""
    return values


def moment_from_columns(row: Any) -> MomentInfo:
    """A ``MomentRow`` (any row with the columns as attributes) back to its info."""
    values = {name: getattr(row, name) for name in MOMENT_FIELDS}
    values["deleted"] = bool(values["deleted"])
    values["meta"] = json.loads(values["meta"]) if values["meta"] else {}
    return MomentInfo(**values)


def moment_json(info: MomentInfo) -> dict[str, Any]:
    """The moment as the S3 index object and ``__agent_info`` hold it."""
    body = asdict(info)
    body["created_at"] = iso(info.created_at)
    return body


def moment_from_json(body: Mapping[str, Any]) -> MomentInfo:
    """Back from ``moment_json``; keys the declaration does not know are left out."""
    values = {name: body[name] for name in MOMENT_FIELDS if name in body}
    values["created_at"] = datetime.fromisoformat(values["created_at"])
    return MomentInfo(**values)
