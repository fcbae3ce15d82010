"""A thread: one conversation path as a moment, with the trace back to its source."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from moments_core.mdl import Context, Occurrence, parse_occurrences

END_OF_TEXT = "<|ENDOFTEXT|>"
# Fixed namespace: the same corpus thread always gets the same moment id, so importing a
# corpus twice into the store does not duplicate it.
_NAMESPACE = uuid.UUID("5b0f5a57-2a7f-4a36-9d0b-6f1f3a1c9e11")


@dataclass(slots=True)
class Thread:
    source: str  # reddit | chitchat
    key: str  # unique within the corpus: conversation id / last utterance id
    lines: list[str]  # each turn's canonical MDL line, written once per utterance
    trace_yaml: str  # where the lines came from (ids, scores, timestamps), as YAML
    _occurrences: list[Occurrence] | None = field(default=None, repr=False)

    @property
    def occurrences(self) -> list[Occurrence]:
        """The typed turns. Parsed from the lines on demand: the CSV path never needs
        them, and building objects for every utterance was a large part of its time."""
        if self._occurrences is None:
            self._occurrences = parse_occurrences(self.text)
        return self._occurrences

    @property
    def text(self) -> str:
        """The turns as MDL, without the trace."""
        return "\n".join(self.lines) + "\n"

    @property
    def moment_id(self) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.source}:{self.key}"))

    def trace_context(self) -> Context:
        return Context(self.trace_yaml)

    def mdl(self, *, trace: bool = True) -> str:
        """The moment as MDL; with ``trace``, a leading Context holds the source ids."""
        if trace:
            return Context(self.trace_yaml).to_mdl() + "\n" + self.text
        return self.text

    def seed_text(self, init_mdl: str, *, trace: bool = True) -> str:
        """The seed CSV's ``conversation``: init moment, blank line, moment, end marker."""
        init = init_mdl if init_mdl.endswith("\n") else init_mdl + "\n"
        return f"{init}\n{self.mdl(trace=trace)}{END_OF_TEXT}"
