"""Bounded retries with exponential backoff for transient model failures."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """``attempts`` calls in all; waits ``base_delay * 2**n`` (or the server's Retry-After),
    never more than ``max_delay`` seconds each, so a turn fails in bounded time."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, failed_attempt: int, retry_after: float | None = None) -> float:
        wanted = retry_after if retry_after is not None else (
            self.base_delay * 2 ** (failed_attempt - 1)
        )
        return max(0.0, min(self.max_delay, wanted))
