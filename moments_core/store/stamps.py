"""Snapshot timestamps as two integers: microseconds since the Unix epoch (UTC) and the
UTC offset in seconds.

ISO text costs 25-32 bytes a row; the pair costs 6-8 bytes in SQLite and 12 in Postgres,
sorts by real time (text with mixed offsets does not), and still gives back the
datetime as written, offset included, so ``isoformat()`` round-trips exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache

from .errors import StoreError

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_LOCAL_EPOCH = datetime(1970, 1, 1)


def encode(ts: datetime) -> tuple[int, int]:
    """(microseconds since the epoch, UTC offset in seconds); naive times are taken as UTC."""
    offset = ts.utcoffset()
    if offset is None:
        ts, offset = ts.replace(tzinfo=UTC), timedelta(0)
    if offset.microseconds:
        # Python allows sub-second offsets; no clock writes them, and ISO 8601 has no form.
        raise StoreError(f"timestamp {ts.isoformat()} has a UTC offset with a fraction"
                         " of a second")
    delta = ts - _EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    return micros, offset.days * 86_400 + offset.seconds


@lru_cache(maxsize=256)
def _zone(offset_s: int) -> timezone:
    # UTC itself for a zero offset: the same tzinfo the ISO parser gives for "+00:00".
    return UTC if offset_s == 0 else timezone(timedelta(seconds=offset_s))


def decode(micros: int, offset_s: int) -> datetime:
    """The aware datetime ``encode`` was given (same instant, same offset)."""
    if offset_s == 0:  # the common case, one operation: bulk reads decode every row
        return _EPOCH + timedelta(microseconds=micros)
    # Built from the local wall time: the UTC instant of 0001-01-01T00:00+14:00 is not a
    # representable datetime, the wall time always is.
    local = _LOCAL_EPOCH + timedelta(microseconds=micros + offset_s * 1_000_000)
    return local.replace(tzinfo=_zone(offset_s))


def utc(micros: int) -> datetime:
    """The instant as an aware UTC datetime, for figures such as "last activity". An
    instant whose UTC date falls outside years 1-9999 (possible with an offset, e.g.
    9999-12-31T23:00-12:00) is clamped to the nearest representable one."""
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return (datetime.max if micros > 0 else datetime.min).replace(tzinfo=UTC)


def iso(ts: datetime) -> str:
    """ISO 8601 with an offset (the JSON form); naive times are taken as UTC."""
    return (ts if ts.tzinfo else ts.replace(tzinfo=UTC)).isoformat()
