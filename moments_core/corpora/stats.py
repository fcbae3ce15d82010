"""What a conversion did: utterances read, threads written, threads skipped by reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Bad lines are all counted, but only the first ones are kept with their message: a
# corrupt multi-gigabyte file must not fill memory with error messages.
MAX_BAD_LINES_KEPT = 50


@dataclass(frozen=True, slots=True)
class BadLine:
    line: int  # 1-based line number in utterances.jsonl
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class ConversionStats:
    utterances_read: int = 0
    conversations_read: int = 0
    threads_written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bad_line_count: int = 0
    bad_lines: list[BadLine] = field(default_factory=list)
    bytes_read: int = 0
    bytes_total: int = 0  # 0 when unknown
    grouped: bool | None = None  # reddit: read in one pass (True) or via the index (False)

    def bad_line(self, line: int, reason: str) -> None:
        self.bad_line_count += 1
        if len(self.bad_lines) < MAX_BAD_LINES_KEPT:
            self.bad_lines.append(BadLine(line, reason))

    @property
    def threads_skipped(self) -> int:
        return sum(self.skipped.values())

    @property
    def fraction_done(self) -> float:
        return min(1.0, self.bytes_read / self.bytes_total) if self.bytes_total else 0.0

    def summary(self) -> dict[str, int]:
        """Flat counts for a progress bar, a table or a log line."""
        out = {
            "utterances read": self.utterances_read,
            "conversations": self.conversations_read,
            "threads written": self.threads_written,
            "bad lines": self.bad_line_count,
        }
        for reason, n in sorted(self.skipped.items()):
            out[f"skipped: {reason}"] = n
        return out


Progress = Callable[[ConversionStats], None]
