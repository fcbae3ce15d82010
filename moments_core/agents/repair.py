"""Read the model's text as the agent's ``Self`` line, fixing the usual slips.

Small models write ``Self: "Hi"`` or ``"Hi"`` or ``Hi``, add an emotion, forget the
closing quote, or go on to invent the customer's next line. We keep only the agent's turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from moments_core.mdl import MDLSyntaxError, Self, parse_occurrences

# A line that starts another turn: ``Name:`` or ``Name (ident):`` near the line start.
_SPEAKER = re.compile(r"^\s*(?P<name>[A-Z][\w.' -]{0,40}?)(?: \([^()\n]{0,40}\))?:(?:\s|$)")
_EMOTION = re.compile(r"^\((?P<emo>[^()\n\\]{1,40})\)\s*")
_QUOTES = {'"': '"', "“": "”"}


class EmptyAnswer(ValueError):
    """The model wrote nothing usable."""


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    occurrence: Self
    repaired: bool  # True when the text was not already one valid Self line


def _strict(text: str) -> Self | None:
    candidate = text if text.startswith("Self:") else f"Self: {text}"
    try:
        found = parse_occurrences(candidate)
    except MDLSyntaxError:
        return None
    if len(found) == 1 and isinstance(found[0], Self) and found[0].says.strip():
        says = found[0].says
        if says[:1] in _QUOTES and says.endswith(_QUOTES[says[0]]):
            return None  # an unquoted old-style line that is really a quoted one
        return found[0]
    return None


def _own_turn(text: str) -> str:
    """The lines of the agent's first turn: from its ``Self:`` line (if any) up to the
    next speaker's line."""
    lines = text.splitlines()
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("Self:")), 0)
    kept = [lines[start]]
    for line in lines[start + 1 :]:
        if _SPEAKER.match(line):
            break
        kept.append(line)
    return "\n".join(kept).strip()


def _unquote(body: str) -> str:
    if body.startswith('"""'):
        end = body.find('"""', 3)
        return body[3:end] if end >= 0 else body[3:]
    close = _QUOTES.get(body[:1])
    if close is None:
        return body.rstrip('"”')
    i = 1
    while i < len(body):
        if body[i] == "\\":
            i += 2
            continue
        if body[i] == close:
            return body[1:i]
        i += 1
    return body[1:]


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def parse_answer(raw: str) -> ParsedAnswer:
    """The agent's line from the model's raw text; raises ``EmptyAnswer``."""
    text = raw.strip()
    if not text:
        raise EmptyAnswer("the model returned an empty answer")
    strict = _strict(text)
    if strict is not None:
        return ParsedAnswer(strict, repaired=not text.startswith("Self:"))
    turn = _own_turn(text)
    strict = _strict(turn)
    if strict is not None:
        return ParsedAnswer(strict, repaired=True)
    body = turn.removeprefix("Self:").strip()
    emotion = ""
    m = _EMOTION.match(body)
    if m:
        emotion, body = m.group("emo").strip(), body[m.end() :]
    says = _unescape(_unquote(body.strip())).strip()
    if not says:
        raise EmptyAnswer(f"no words in the model's answer {raw[:80]!r}")
    try:
        return ParsedAnswer(Self(says, emotion), repaired=True)
    except ValueError:  # an emotion the MDL writer cannot hold
        return ParsedAnswer(Self(says), repaired=True)


class DisplayFilter:
    """Turns raw streamed chunks into the text a person should see while it streams:
    no ``Self:`` prefix, emotion or quotes; only the first line. The final occurrence
    (from ``parse_answer``) is the authority once the stream ends."""

    def __init__(self) -> None:
        self._raw = ""
        self.shown = ""

    def feed(self, chunk: str) -> str:
        self._raw += chunk
        visible = self._visible(self._raw)
        if not visible.startswith(self.shown):
            return ""
        out, self.shown = visible[len(self.shown) :], visible
        return out

    @staticmethod
    def _visible(raw: str) -> str:
        s = raw.lstrip()
        if "Self:".startswith(s):
            return ""  # may still become the prefix
        s = s.removeprefix("Self:").lstrip()
        if s.startswith("("):
            close = s.find(")")
            if close < 0:
                return "" if len(s) < 40 else s
            if close <= 41:
                s = s[close + 1 :].lstrip()
        quoted = s[:1] in _QUOTES
        if quoted:
            close_char = _QUOTES[s[0]]
            s = s[1:]
            i = 0
            while i < len(s):
                if s[i] == "\\":
                    i += 2
                    continue
                if s[i] == close_char:
                    s = s[:i]
                    break
                i += 1
        s = s.split("\n", 1)[0]
        if s.endswith("\\"):
            s = s[:-1]
        return s.replace('\\"', '"') if quoted else s
