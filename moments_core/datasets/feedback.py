"""Feedback for listings and the Conversations form: mean ratings, the current feedback
of a snapshot, and saving it idempotently.

Saving is idempotent because each item has a deterministic id (``feedback_id``) and the
store replaces a stored feedback with the same id (``LogStore.add_feedback``). A value
taken back is saved as empty (None, "" or 0), which every reader ignores.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from moments_core.store.base import Feedback, LogStore

_NAMESPACE = uuid.UUID("5b0c3c1e-6f0e-4d0a-9a51-6d6f6d656e74")


def feedback_id(snapshot_id: str, kind: str, key: str = "") -> str:
    """The id of one piece of feedback: the same for the same snapshot, kind and key
    (a label's text), so saving it again replaces it."""
    return str(uuid.uuid5(_NAMESPACE, f"{snapshot_id}\x00{kind}\x00{key}"))


def rating_value(value: object) -> float | None:
    """A stored rating as a number; None for a taken-back or unreadable one."""
    try:
        rating = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return rating if rating > 0 else None


def moment_ratings(store: LogStore, moment_ids: list[str]) -> dict[str, float]:
    """Mean of the 1-5 ratings given to any snapshot of each moment (rated moments only)."""
    out: dict[str, float] = {}
    for moment_id in moment_ids:
        values = [r for fb in store.list_feedback(moment_id=moment_id)
                  if fb.kind == "rating" and (r := rating_value(fb.value)) is not None]
        if values:
            out[moment_id] = round(sum(values) / len(values), 2)
    return out


@dataclass(slots=True)
class SnapshotFeedback:
    """What the Conversations form shows and saves for one snapshot."""

    rating: int = 0  # 0: none
    labels: list[str] = field(default_factory=list)
    comment: str = ""
    exclude: bool = False


def _latest(items: list[Feedback], kind: str) -> Feedback | None:
    found = [f for f in items if f.kind == kind]
    return max(found, key=lambda f: f.created_at) if found else None


def current_feedback(store: LogStore, snapshot_id: str) -> SnapshotFeedback:
    """The snapshot's feedback as it stands (the latest of each kind, labels not taken
    back)."""
    items = [f for f in store.list_feedback(snapshot_id=snapshot_id)
             if f.snapshot_id == snapshot_id]
    rating = _latest(items, "rating")
    comment = _latest(items, "comment")
    exclude = _latest(items, "exclude")
    labels = sorted({str(f.value) for f in items if f.kind == "label" and f.value})
    value = rating_value(rating.value) if rating is not None else None
    return SnapshotFeedback(
        rating=int(value) if value is not None else 0, labels=labels,
        comment=str(comment.value or "") if comment is not None else "",
        exclude=bool(exclude is not None and exclude.value not in (False, 0, "false", "0",
                                                                   None)),
    )


def parse_labels(text: str) -> list[str]:
    """Comma-separated labels, trimmed, empty ones and repeats dropped, order kept."""
    return list(dict.fromkeys(label.strip() for label in text.split(",") if label.strip()))


def save_feedback(store: LogStore, moment_id: str, snapshot_id: str,
                  wanted: SnapshotFeedback, author: str = "") -> SnapshotFeedback:
    """Make the snapshot's feedback equal ``wanted``: each item is written under its
    deterministic id (a second save replaces, never duplicates); labels no longer
    wanted and a rating, comment or exclusion cleared are saved as empty."""
    before = current_feedback(store, snapshot_id)
    items = [
        Feedback(snapshot_id, "rating", wanted.rating or None, moment_id=moment_id,
                 author=author, id=feedback_id(snapshot_id, "rating")),
        Feedback(snapshot_id, "comment", wanted.comment.strip(), moment_id=moment_id,
                 author=author, id=feedback_id(snapshot_id, "comment")),
        Feedback(snapshot_id, "exclude", wanted.exclude, moment_id=moment_id,
                 author=author, id=feedback_id(snapshot_id, "exclude")),
    ]
    labels = parse_labels(",".join(wanted.labels))
    items += [Feedback(snapshot_id, "label", label, moment_id=moment_id, author=author,
                       id=feedback_id(snapshot_id, "label", label)) for label in labels]
    items += [Feedback(snapshot_id, "label", "", moment_id=moment_id, author=author,
                       id=feedback_id(snapshot_id, "label", label))
              for label in before.labels if label not in labels]
    # Items that were never set and stay empty are not written at all.
    unset = {"rating": not before.rating, "comment": not before.comment,
             "exclude": not before.exclude}
    for item in items:
        if not item.value and unset.get(item.kind, False):
            continue
        store.add_feedback(item)
    return current_feedback(store, snapshot_id)
