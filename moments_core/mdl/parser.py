"""A hand-written MDL parser: fast on the common line, exact about errors.

Most of a moment is lines like ``Customer: "..."``. One compiled regex recognises such a
line whole (the fast path); everything else goes through the general path, which knows
every kind, the older forms, and what to say when the text is wrong.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, NoReturn

from .errors import MDLSyntaxError
from .moment import Moment, Snapshot
from .occurrences import (
    KEYWORDS,
    SAYS_KINDS,
    TEXT_KINDS,
    YAML_KINDS,
    Begin,
    Example,
    Identification,
    Instructions,
    Occurrence,
    Participant,
    YamlOccurrence,
)
from .quoting import (
    unescape_emotion,
    unescape_legacy_newlines,
    unescape_says,
    unstuff_free_text,
    unstuff_yaml,
)
from .yamlio import load_yaml

_NAME = r'[^\s:"()#\\][^:"()\n\r\\]*?'
_IDENT = r"[^()\n\r\\]*"
_EMOTION = r"\((?P<emo>[^)\\\n\r]*(?:\\[^\n\r][^)\\\n\r]*)*)\) ?"
_ONE_LINE = r'"(?P<says>[^"\\\n]*(?:\\[^\n][^"\\\n]*)*)"'
_EOL = r"[ \t\r]*(?:\n|\Z)"

# The tokenizer: a whole text cut into lines, each either a says-line (one-line or
# triple-quoted string) with its pieces, or any other line (pieces empty). findall runs
# in C, so the common line costs no Python-level regex call.
_TOKENS = re.compile(
    rf"(?m)^(?P<all>(?P<head>{_NAME})(?: \((?P<ident>{_IDENT})\))?: ?(?:{_EMOTION})?"
    r'(?:"(?P<b1>[^"\\\n]*(?:\\[^\n][^"\\\n]*)*)"'
    r'|"""(?P<b3>[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*)""")'
    + _EOL + r"|[^\n]*(?:\n|\Z))"
)
_CHUNK = 32_768  # tokenize this much at a time, so a resync after a block stays cheap

_HEAD = re.compile(rf"(?P<head>{_NAME})(?: \((?P<ident>{_IDENT})\))?:(?: |(?=[\r\n])|\Z)")
_EMOTION_AT = re.compile(_EMOTION)
_ONE_LINE_AT = re.compile(_ONE_LINE)
_ONE_LINE_EOL = re.compile(_ONE_LINE + _EOL)
_TRIPLE_AT = re.compile(r'"""(?P<says>[^"\\]*(?:(?:\\[\s\S]|"(?!""))[^"\\]*)*)"""')
_TRAILING = re.compile(_EOL)
_FREE_CLOSE = re.compile(r"^'''[ \t\r]*$", re.M)
_YAML_CLOSE = re.compile(r"^```[ \t\r]*$", re.M)
# Identification is read by hand, not by one pattern: a lazy name followed by "is now ..."
# backtracked quadratically (20 kB took 3.6 s). Each piece below is matched once, at a
# known place, by a pattern without nested or adjacent open-ended quantifiers.
_WHO_NAME = re.compile(r'[^\s:"()#\\][^:"()\n\r\\]*')
_WHO_IDENT = re.compile(_IDENT)
_PERIOD_EOL = re.compile(r"\.?[ \t\r]*(?:\n|\Z)")
_LEGACY_STOP = re.compile(r"[()\[\]]")
_HEADER = re.compile(
    r"# (?P<key>Moment ID|Snapshot ID|Previous Snapshot ID|Timestamp|Annotations):"
    r"[ \t]*(?P<value>[^\n]*)"
)


_VALID_YAML: set[str] = set()


class _Reader:
    """Walks the text line by line, keeping the line number for error messages."""

    __slots__ = ("line", "line_start", "pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def fail(self, message: str, pos: int | None = None) -> NoReturn:
        """Raise at ``pos`` (default: the current position), computing line and column."""
        text = self.text
        if pos is None:
            pos = self.pos
        if pos >= self.line_start:
            line = self.line + text.count("\n", self.line_start, pos)
        else:
            line = text.count("\n", 0, pos) + 1
        start = text.rfind("\n", 0, pos) + 1
        raise MDLSyntaxError(message, line, pos - start + 1)

    def advance_to(self, pos: int) -> None:
        """Move to ``pos``, which must be the start of a line (or the end of the text)."""
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = self.line_start = pos

    def line_end(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end

    def next_line(self, pos: int) -> int:
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end + 1

    # --- pieces ---------------------------------------------------------------------

    def says(self, pos: int, allow_emotion: bool) -> tuple[str, str, int]:
        """Read ``(emotion) "text"`` (or an older unquoted text) from ``pos`` to its end."""
        text = self.text
        emotion = ""
        if allow_emotion and text.startswith("(", pos):
            m = _EMOTION_AT.match(text, pos)
            if m is None:
                self.fail(
                    "the emotion's '(' is not closed on this line (write '(happy) \"...\"')",
                    pos,
                )
            emotion = unescape_emotion(m.group("emo"))
            pos = m.end()
        if text.startswith('"""', pos):
            m = _TRIPLE_AT.match(text, pos)
            if m is None:
                self.fail('unterminated """ string started here', pos)
            after = _TRAILING.match(text, m.end())
            if after is None:
                self.fail('unexpected text after the closing """', m.end())
            return emotion, unescape_says(m.group("says")), after.end()
        if text.startswith('"', pos):
            m = _ONE_LINE_EOL.match(text, pos)
            if m is not None:
                return emotion, unescape_says(m.group("says")), m.end()
            closed = _ONE_LINE_AT.match(text, pos)
            if closed is not None:
                self.fail("unexpected text after the closing quote", closed.end())
            self.fail(
                'unterminated " string started here (a "..." string ends on its line; '
                'use """...""" for text that spans lines)',
                pos,
            )
        end = self.line_end(pos)  # older unquoted form: the rest of the line
        return emotion, text[pos:end].strip(" \t\r"), self.next_line(pos)

    def free_block(self, pos: int) -> tuple[str, int]:
        """Read a ''' block starting at ``pos`` (which holds the opening ''')."""
        text = self.text
        end = self.line_end(pos)
        after = text[pos + 3 : end].rstrip(" \t\r")
        if after.endswith("'''") and len(after) >= 3:  # older one-line form
            body = unescape_legacy_newlines(after[:-3])
            if body.startswith("\n"):
                body = body[1:]
            return body, self.next_line(pos)
        start = self.next_line(pos) if not after else pos + 3
        close = _FREE_CLOSE.search(text, start)
        if close is None:
            self.fail(
                "unterminated ''' block started here (close it with ''' on a line of its own)",
                pos,
            )
        body = text[start : max(start, close.start() - 1)]
        return unstuff_free_text(body), self.next_line(close.start())

    def yaml_block(self, pos: int) -> tuple[str, int, int]:
        """Read a ``` block at ``pos``; returns the YAML text, where it starts, and the end."""
        text = self.text
        end = self.line_end(pos)
        if not text.startswith("```", pos):
            self.fail("expected ``` to open a YAML block", pos)
        after = text[pos + 3 : end].rstrip(" \t\r")
        if not after:
            start = self.next_line(pos)
            close = _YAML_CLOSE.search(text, start)
            if close is None:
                self.fail(
                    "unterminated ``` block started here (close it with ``` on a line of its own)",
                    pos,
                )
            body = text[start : max(start, close.start() - 1)]
            return unstuff_yaml(body), start, self.next_line(close.start())
        if after.endswith("```") and len(after) >= 3:
            return after[:-3], pos + 3, self.next_line(pos)
        self.fail("the ``` block is not closed on this line (or put ``` alone on the line)", pos)

    def check_yaml(self, yaml_text: str, start: int) -> None:
        # The same few Context/Waiting texts recur across a log; validate each once.
        if yaml_text in _VALID_YAML:
            return
        try:
            load_yaml(yaml_text)
            if len(_VALID_YAML) < 4096:
                _VALID_YAML.add(yaml_text)
            return
        except Exception as err:  # noqa: BLE001 - any YAML failure is the author's to fix
            mark = getattr(err, "problem_mark", None)
            problem = getattr(err, "problem", None) or str(err).splitlines()[0][:200]
            pos = start
            if mark is not None:
                line_start = start
                for _ in range(mark.line):
                    nl = self.text.find("\n", line_start)
                    if nl < 0:
                        break
                    line_start = nl + 1
                pos = min(line_start + mark.column, len(self.text))
            self.fail(f"invalid YAML: {problem}", pos)


def _make(reader: _Reader, pos: int, factory: Any, *args: Any) -> Occurrence:
    try:
        occ: Occurrence = factory(*args)
    except ValueError as err:
        reader.fail(str(err), pos)
    return occ


_VERBS = (" is called ", " is named ", " is now ")


def _who(line: str) -> tuple[str, str, str, int] | None:
    """Where the participant ends: (name, identifier, verb, index after the verb), or None.

    A name holds no '(' or '"', an identifier no ')': so the first '(' either opens the
    identifier (when a verb follows its ')') or belongs to the text after an older
    ``is now``; each reading is tried once."""
    paren = line.find("(")
    if paren > 0 and line[paren - 1] == " ":
        close = line.find(")", paren)
        if close > 0:
            for verb in _VERBS:
                if line.startswith(verb, close + 1):
                    name, ident = line[: paren - 1], line[paren + 1 : close]
                    if _WHO_NAME.fullmatch(name) and _WHO_IDENT.fullmatch(ident):
                        return name, ident, verb, close + 1 + len(verb)
                    break  # not an identifier after all: read on without one
    quote = line.find('"')
    if quote > 0:
        prefix = line[:quote]
        for verb in _VERBS[:2]:
            if prefix.endswith(verb) and _WHO_NAME.fullmatch(prefix[: -len(verb)]):
                return prefix[: -len(verb)], "", verb, quote
    at = line.find(" is now ")
    if at > 0 and _WHO_NAME.fullmatch(line[:at]):
        return line[:at], "", " is now ", at + len(" is now ")
    return None


def _identification(r: _Reader, rest: int, end: int) -> tuple[str, str, str, int] | None:
    """``P is called "name".`` (the name may be a triple-quoted string, which is how the
    writer quotes a name with a newline) or the older ``P is now name (id) [old].``:
    (participant, identifier, name, where the next occurrence starts), or None."""
    text = r.text
    line = text[rest:end]
    who = _who(line)
    if who is None:
        return None
    participant, ident, verb, after_verb = who
    if verb != " is now ":
        start = rest + after_verb
        if text.startswith('"""', start):
            m = _TRIPLE_AT.match(text, start)
        else:
            m = _ONE_LINE_AT.match(text, start)
        if m is None:
            return None
        after = _PERIOD_EOL.match(text, m.end())
        if after is None:
            return None
        return participant, ident, unescape_says(m.group("says")), after.end()
    body = line[after_verb:].rstrip(" \t\r")
    if body.endswith("."):
        body = body[:-1]
    stop = _LEGACY_STOP.search(body)  # the name holds none of ()[]
    if stop is None or stop.start() < 2 or body[stop.start() - 1] != " ":
        return None
    name, at = body[: stop.start() - 1].strip(), stop.start()
    if body[at] == "(":  # the older form's new identifier, which is dropped
        close = body.find(")", at)
        if close < 0 or "(" in body[at + 1 : close] or not body.startswith(" [", close + 1):
            return None
        at = close + 2
    if body[at] != "[" or body.find("]", at) != len(body) - 1 or not name:
        return None
    return participant, ident, name, r.next_line(rest)


def _parse_general(r: _Reader, occurrences: list[Occurrence]) -> None:
    """Parse the occurrence starting at the reader's position (a line start)."""
    text = r.text
    pos = r.pos
    end = r.line_end(pos)
    stripped = text[pos:end].rstrip(" \t\r")
    if not stripped.strip():
        r.advance_to(r.next_line(pos))
        return
    if stripped == "Begin.":
        occurrences.append(Begin())
        r.advance_to(r.next_line(pos))
        return
    m = _HEAD.match(text, pos)
    if m is None:
        first = text[pos]
        if first in " \t":
            r.fail("unexpected indentation: an occurrence starts at the beginning of a line", pos)
        if first == "#":
            r.fail("a '# ...' header line is only allowed at the top of a snapshot", pos)
        r.fail(
            "expected an occurrence such as 'Self: \"...\"', 'Customer: \"...\"' or 'Begin.'",
            pos,
        )
    head, ident = m.group("head"), m.group("ident")
    rest = m.end()
    if head in KEYWORDS and ident is not None:
        r.fail(f"{head} takes no '(identifier)'; only participants do", m.start("ident") - 1)
    if head in SAYS_KINDS:
        emotion, says, nxt = r.says(rest, allow_emotion=True)
        occurrences.append(_make(r, pos, SAYS_KINDS[head], says, emotion))
    elif head in TEXT_KINDS:
        _, content, nxt = r.says(rest, allow_emotion=False)
        occurrences.append(_make(r, pos, TEXT_KINDS[head], content))
    elif head in YAML_KINDS:
        yaml_text, start, nxt = r.yaml_block(rest)
        r.check_yaml(yaml_text, start)
        occurrences.append(_make(r, pos, YAML_KINDS[head], yaml_text))
    elif head == "Instructions":
        if text.startswith("'''", rest):
            body, nxt = r.free_block(rest)
        else:  # older single-line form
            body, nxt = text[rest:end].strip(" \t\r"), r.next_line(pos)
        occurrences.append(Instructions(body))
    elif head == "Example":
        if text.startswith("'''", rest):
            description, block = "", rest
        else:
            marker = text.find(" - '''", rest, end)
            if marker < 0:
                r.fail("an Example needs a ''' block: Example: description - '''", rest)
            description, block = text[rest:marker].strip(" \t"), marker + 3
        body, nxt = r.free_block(block)
        occurrences.append(_make(r, pos, Example, body, description))
    elif head == "Identification":
        found = _identification(r, rest, end)
        if found is None:
            r.fail("expected 'Identification: Customer is called \"John\".'", rest)
        who, ident, name, nxt = found
        occurrences.append(_make(r, pos, Identification, who, name, ident))
    elif head == "Begin":
        r.fail("'Begin.' stands alone on its line", pos)
    else:
        emotion, says, nxt = r.says(rest, allow_emotion=True)
        occurrences.append(_make(r, pos, Participant, head, says, ident or "", emotion))
    r.advance_to(nxt)


def _parse_body(r: _Reader) -> list[Occurrence]:
    text = r.text
    n = len(text)
    occurrences: list[Occurrence] = []
    append = occurrences.append
    findall = _TOKENS.findall
    get_says_kind = SAYS_KINDS.get
    keywords = KEYWORDS
    pos = r.pos
    known_pos, known_line = pos, r.line  # line numbers are counted only when needed
    tokens: list[tuple[str, str, str, str, str, str]] = []
    i = count = 0
    while pos < n:
        if i >= count:
            stop = text.find("\n", pos + _CHUNK)
            tokens = findall(text, pos, n if stop < 0 else stop + 1)
            i, count = 0, len(tokens)
        whole, head, ident, emo, body, body3 = tokens[i]
        i += 1
        if not whole:  # the empty match at the end of the tokenized region
            i = count
            continue
        if head:
            kind = get_says_kind(head)
            if (kind is not None and not ident) or head not in keywords:
                if body3:
                    body = body3
                if "\\" in body:
                    body = unescape_says(body)
                if emo:
                    emo = unescape_emotion(emo)
                try:
                    if kind is not None:
                        append(kind(body, emo))
                    else:
                        append(Participant(head, body, ident, emo))
                except ValueError as err:
                    r.line = known_line + text.count("\n", known_pos, pos)
                    r.pos = r.line_start = pos
                    r.fail(str(err), pos)
                pos += len(whole)
                continue
        # Any other line goes the general way (a block may span several lines).
        r.line = known_line + text.count("\n", known_pos, pos)
        r.pos = r.line_start = pos
        _parse_general(r, occurrences)
        known_pos, known_line = r.pos, r.line
        pos += len(whole)
        # Skip the tokens the block consumed; tokenize afresh if they do not line up.
        while i < count and pos < known_pos:
            pos += len(tokens[i][0])
            i += 1
        if pos != known_pos:
            pos = known_pos
            i = count
    r.line = known_line + text.count("\n", known_pos, pos)
    r.pos = r.line_start = pos
    return occurrences


def _strip_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def parse_moment(text: str) -> Moment:
    """Parse MDL text (no snapshot header) into a Moment; raises MDLSyntaxError."""
    if not isinstance(text, str):
        raise TypeError("parse_moment expects str")
    r = _Reader(_strip_bom(text))
    if r.text.startswith("# "):
        r.fail("this text has a snapshot header: use parse_snapshot (or parse)")
    return Moment(_parse_body(r))


def parse_occurrences(text: str) -> list[Occurrence]:
    """The occurrences of an MDL fragment."""
    return parse_moment(text).occurrences


def parse_snapshot(text: str) -> Snapshot:
    """Parse a snapshot: the ``# Moment ID:`` header lines, then the moment."""
    if not isinstance(text, str):
        raise TypeError("parse_snapshot expects str")
    r = _Reader(_strip_bom(text))
    fields: dict[str, str] = {}
    field_pos: dict[str, int] = {}
    annotations = ""
    while r.pos < len(r.text) and r.text.startswith("#", r.pos):
        pos = r.pos
        m = _HEADER.match(r.text, pos)
        if m is None:
            r.fail(
                "unknown header line: expected '# Moment ID:', '# Snapshot ID:', "
                "'# Previous Snapshot ID:', '# Timestamp:' or '# Annotations:'",
                pos,
            )
        key = m.group("key")
        if key in fields:
            r.fail(f"'# {key}:' appears twice", pos)
        if key == "Annotations":
            annotations, start, nxt = r.yaml_block(m.start("value"))
            r.check_yaml(annotations, start)
            fields[key] = annotations
            r.advance_to(nxt)
            continue
        value = m.group("value").strip(" \t\r")
        if not value or (any(c.isspace() for c in value) and key != "Timestamp"):
            r.fail(f"'# {key}:' needs one value without spaces", m.start("value"))
        fields[key] = value
        field_pos[key] = m.start("value")
        r.advance_to(r.next_line(pos))
    for required in ("Moment ID", "Snapshot ID", "Timestamp"):
        if required not in fields:
            r.fail(f"the snapshot header lacks '# {required}:'", r.pos)
    try:
        timestamp = datetime.fromisoformat(fields["Timestamp"])
    except ValueError:
        r.fail("'# Timestamp:' is not an ISO 8601 time such as 2026-11-24T08:15:30+00:00",
               field_pos["Timestamp"])
    moment = Moment(_parse_body(r), fields["Moment ID"])
    return Snapshot(
        moment=moment,
        id=fields["Snapshot ID"],
        moment_id=fields["Moment ID"],
        previous_snapshot_id=fields.get("Previous Snapshot ID"),
        timestamp=timestamp,
        annotations_yaml=annotations,
    )


def is_snapshot_text(text: str) -> bool:
    return _strip_bom(text).startswith("# Moment ID:")


def parse(text: str) -> Moment | Snapshot:
    """A Snapshot when the text starts with ``# Moment ID:``, else a Moment."""
    return parse_snapshot(text) if is_snapshot_text(text) else parse_moment(text)


__all__ = [
    "YamlOccurrence",
    "is_snapshot_text",
    "parse",
    "parse_moment",
    "parse_occurrences",
    "parse_snapshot",
]
