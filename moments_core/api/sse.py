"""A turn as server-sent events: ``chunk`` events with the answer's text as it streams,
then one ``snapshot`` event with the saved snapshot (or one ``error`` event). Each
``data`` line is JSON, so text with newlines cannot break the framing."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

from moments_core.agents import AgentError, TurnEvent, TurnFailed
from moments_core.store import StoreError, StoreUnavailable

log = logging.getLogger("moments.api")

MEDIA_TYPE = "text/event-stream"


def event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def turn_events(events: Iterator[TurnEvent]) -> Iterator[str]:
    """The status line is sent already, so a failure mid-stream becomes an ``error``
    event carrying what the JSON error body would have said."""
    try:
        for item in events:
            if isinstance(item, str):
                yield event("chunk", {"text": item})
            else:
                yield event("snapshot", item.snapshot.to_dict())
    except TurnFailed as err:
        saved = err.participant_snapshot.id if err.participant_snapshot else None
        yield event("error", {"status": 502, "detail": str(err),
                              "participant_snapshot_id": saved})
    except StoreUnavailable as err:
        saved = getattr(err, "participant_snapshot_id", None)
        yield event("error", {"status": 503, "detail": "the log store is unavailable, try"
                              " again later", "participant_snapshot_id": saved})
    except (AgentError, StoreError) as err:
        yield event("error", {"status": 409, "detail": str(err)})
    except Exception as err:  # the stream must end with an event, not a cut
        log.exception("a streamed turn failed")
        yield event("error", {"status": 500, "detail": f"the turn failed: {type(err).__name__}"})


def parse_events(text: str) -> list[tuple[str, Any]]:
    """``(event, data)`` pairs of an SSE body; for tests and Python clients."""
    out: list[tuple[str, Any]] = []
    for block in text.split("\n\n"):
        name, data = "message", []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:"):].lstrip())
        if data:
            out.append((name, json.loads("\n".join(data))))
    return out
