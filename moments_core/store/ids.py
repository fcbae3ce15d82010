"""Snapshot ids in 16 bytes: the column type of ``snapshots.snapshot_id``.

Ids are nearly always canonical UUID text (36 characters); stored as the UUID's 16 raw
bytes, the id costs 20 bytes less in the row and again in its unique index. That is
what brings a chat turn's row near the size of the line it appends. Any other id (older
systems wrote their own) is stored as its UTF-8 bytes, given one NUL byte at the end
when it is itself 16 bytes long, so a stored value of exactly 16 bytes is always a UUID.
Ids containing NUL are refused (Postgres text could never hold them either).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import LargeBinary, TypeDecorator
from sqlalchemy.engine import Dialect

from .base import StoreError


def encode(snapshot_id: str) -> bytes:
    if len(snapshot_id) == 36:
        try:
            u = uuid.UUID(snapshot_id)
        except ValueError:
            u = None
        if u is not None and str(u) == snapshot_id:  # canonical form only: exact round trip
            return u.bytes
    if "\x00" in snapshot_id:
        raise StoreError(f"snapshot id {snapshot_id!r} contains a NUL character")
    raw = snapshot_id.encode()
    return raw + b"\x00" if len(raw) == 16 else raw


def decode(value: bytes | memoryview | str) -> str:
    """The id ``encode`` was given (a str passes through: rows already decoded)."""
    if isinstance(value, str):
        return value
    raw = bytes(value)
    if len(raw) == 16:
        h = raw.hex()  # str(uuid.UUID(bytes=raw)), without building the object
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
    if len(raw) == 17 and raw[-1] == 0:
        raw = raw[:-1]
    return raw.decode()


class CompactId(TypeDecorator[str]):
    """A snapshot id column: str in Python, 16 bytes (a UUID) or UTF-8 in the database."""

    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else encode(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decode(value)
