"""What a store operation raises. Nothing else leaves the store: driver and network
errors are turned into one of these (the API maps them to 4xx/5xx answers)."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A store operation that cannot be done; the message says why."""


class NotFound(StoreError):
    """The named moment, snapshot or config does not exist."""


class MomentDeleted(StoreError):
    """The moment was soft-deleted: it takes no more snapshots (on every back end)."""


class StoreUnavailable(StoreError):
    """The back end is unavailable (S3 endpoint down or not answering in time, database
    connection lost); nothing was written by the call that raised it. Try again later."""
