"""Feedback summaries for listings: a moment's mean rating and its thumbs."""

from __future__ import annotations

from moments_core.store.base import LogStore


def moment_ratings(store: LogStore, moment_ids: list[str]) -> dict[str, float]:
    """Mean of the 1-5 ratings given to any snapshot of each moment (rated moments only)."""
    out: dict[str, float] = {}
    for moment_id in moment_ids:
        values = []
        for fb in store.list_feedback(moment_id=moment_id):
            if fb.kind == "rating":
                try:
                    values.append(float(fb.value))
                except (TypeError, ValueError):
                    continue
        if values:
            out[moment_id] = round(sum(values) / len(values), 2)
    return out
