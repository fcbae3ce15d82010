"""Calendar days as the store filters on them (one place for both the Datasets and the
Insights page): a day starts at local midnight; an "until" day is included, so the
exclusive bound is the next midnight."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta


def day_start(day: object) -> datetime | None:
    """Local midnight at the start of ``day``; None when no day was picked."""
    if not isinstance(day, date):
        return None
    return datetime.combine(day, time.min).astimezone()


def day_after(day: object) -> datetime | None:
    """The exclusive upper bound that includes all of ``day``; None when none picked."""
    if not isinstance(day, date):
        return None
    return datetime.combine(day + timedelta(days=1), time.min).astimezone()
