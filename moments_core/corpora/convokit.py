"""Reading a ConvoKit corpus as ConvoKit writes it, from a folder or from its ``.zip``.

Two generations of the format exist:

- older (ConvoKit < 2.3, e.g. the 2019 Reddit corpora): utterances carry ``user``,
  ``root`` and ``reply_to``; ``users.json``; conversation meta is a plain dict.
- current: ``speaker``, ``conversation_id`` and ``reply-to``; ``speakers.json``; every
  conversation/speaker entry is wrapped as ``{"meta": ..., "vectors": []}``.

Only ``utterances.jsonl`` is large; it is read line by line and never held whole.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import msgspec

UTTERANCES = "utterances.jsonl"
DELETED = frozenset({"[deleted]", "[removed]"})


class CorpusError(ValueError):
    """The path is not a ConvoKit corpus, or a required file is unreadable."""


class Meta(msgspec.Struct, gc=False):
    """The utterance meta threads use; the other keys are skipped by the decoder."""

    score: Any = None
    subreddit: Any = None


class Utterance(msgspec.Struct, gc=False):
    """One utterance. Decoded straight from a line (``CurrentLine``/``OlderLine`` spell
    the keys of each generation); fields not named here (most of ``meta``, ``vectors``)
    are skipped by the decoder without being built, which is most of its speed."""

    id: str
    speaker: str
    conversation_id: str
    text: str = ""
    reply_to: str | None = None
    timestamp: Any = None
    meta: Meta = msgspec.field(default_factory=Meta)


class CurrentLine(Utterance, gc=False):
    reply_to: str | None = msgspec.field(default=None, name="reply-to")


class OlderLine(Utterance, gc=False):
    speaker: str = msgspec.field(name="user")
    conversation_id: str = msgspec.field(name="root")


class _Either(msgspec.Struct):
    """Lenient: any spelling, any types; used to say what is wrong with a line."""

    id: Any = None
    speaker: Any = None
    user: Any = None
    conversation_id: Any = None
    root: Any = None
    text: Any = None
    reply_hyphen: Any = msgspec.field(default=None, name="reply-to")
    reply_to: Any = None
    timestamp: Any = None
    meta: Any = None


_DECODERS = (msgspec.json.Decoder(CurrentLine), msgspec.json.Decoder(OlderLine))
decode_current = _DECODERS[0].decode
decode_older = _DECODERS[1].decode
_lenient = msgspec.json.Decoder(_Either)


class BlankLine(ValueError):
    """An empty line: skipped, not reported."""


def parse_line(line: bytes, prefer_older: bool = False) -> Utterance:
    """One line of utterances.jsonl, either generation; ``ValueError`` says what is wrong.

    A ``reply_to`` (underscore) in a current-generation line is honoured too."""
    if not line.strip():
        raise BlankLine("blank line")
    first, second = _DECODERS[::-1] if prefer_older else _DECODERS
    try:
        utt = first.decode(line)
    except msgspec.ValidationError:
        try:
            utt = second.decode(line)
        except msgspec.ValidationError:
            return _leniently(line)
    except msgspec.DecodeError as err:
        raise ValueError(f"not valid JSON ({err})") from None
    if utt.reply_to is None and type(utt) is CurrentLine and b'"reply_to"' in line:
        other = _lenient.decode(line).reply_to
        utt.reply_to = None if other is None else str(other)
    return utt


def _leniently(line: bytes) -> Utterance:
    """A line with unusual types (numeric ids, null text): converted, or ValueError."""
    try:
        raw = _lenient.decode(line)
    except msgspec.ValidationError:
        raise ValueError("not a JSON object") from None
    speaker = raw.speaker if raw.speaker is not None else raw.user
    conv = raw.conversation_id if raw.conversation_id is not None else raw.root
    reply_to = raw.reply_hyphen if raw.reply_hyphen is not None else raw.reply_to
    if raw.id is None:
        raise ValueError("no 'id'")
    if speaker is None:
        raise ValueError("no 'speaker' (or older 'user')")
    if conv is None:
        raise ValueError("no 'conversation_id' (or older 'root')")
    for name, value in (("id", raw.id), ("speaker", speaker), ("conversation", conv)):
        if isinstance(value, dict | list):
            raise ValueError(f"'{name}' is not a string or number")
    if raw.text is not None and not isinstance(raw.text, str):
        raise ValueError("'text' is not a string")
    meta = raw.meta if isinstance(raw.meta, dict) else {}
    return Utterance(str(raw.id), str(speaker), str(conv), raw.text or "",
                     None if reply_to is None else str(reply_to), raw.timestamp,
                     Meta(meta.get("score"), meta.get("subreddit")))


def parse_utterance(data: Any) -> Utterance:
    """An already decoded line (a dict) of either generation."""
    return parse_line(msgspec.json.encode(data))


def _unwrap(entries: Any) -> dict[str, Any]:
    """id -> meta, for both the plain (older) and the ``{"meta": ...}`` (current) form."""
    if not isinstance(entries, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in entries.items():
        if isinstance(value, dict) and "meta" in value and set(value) <= {"meta", "vectors"}:
            out[key] = value["meta"]
        else:
            out[key] = value
    return out


class ConvoKitCorpus:
    """A corpus folder, or a zip holding one (at its top or in one sub-folder)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if self.path.is_dir():
            if not (self.path / UTTERANCES).is_file():
                raise CorpusError(f"{self.path} holds no {UTTERANCES}: not a ConvoKit corpus")
        elif self.path.is_file() and zipfile.is_zipfile(self.path):
            self._zip = zipfile.ZipFile(self.path)
            names = [n for n in self._zip.namelist() if n.rsplit("/", 1)[-1] == UTTERANCES]
            if not names:
                raise CorpusError(f"{self.path} holds no {UTTERANCES}: not a ConvoKit corpus")
            self._prefix = min(names, key=len)[: -len(UTTERANCES)]
        elif self.path.exists():
            raise CorpusError(f"{self.path} is neither a corpus folder nor a .zip")
        else:
            raise CorpusError(f"{self.path} does not exist")

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> ConvoKitCorpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- files ----------------------------------------------------------------------
    def has(self, name: str) -> bool:
        if self._zip is None:
            return (self.path / name).is_file()
        try:
            self._zip.getinfo(self._prefix + name)
        except KeyError:
            return False
        return True

    def size(self, name: str) -> int:
        if self._zip is None:
            return (self.path / name).stat().st_size
        return self._zip.getinfo(self._prefix + name).file_size

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        if self._zip is None:
            with open(self.path / name, "rb", buffering=1 << 20) as f:
                yield f
        else:
            with self._zip.open(self._prefix + name) as raw:
                # ZipExtFile reads lines slowly on its own; a large buffer in front helps.
                yield io.BufferedReader(raw, 1 << 20)  # type: ignore[type-var]

    def read_json(self, name: str) -> Any:
        if not self.has(name):
            return None
        with self.open(name) as f:
            try:
                return msgspec.json.decode(f.read())
            except msgspec.DecodeError as err:
                raise CorpusError(f"{name} in {self.path} is not valid JSON: {err}") from None

    # --- the corpus -----------------------------------------------------------------
    @property
    def generation(self) -> str:
        """``older`` or ``current``, from the speaker file the corpus has."""
        if self.has("speakers.json"):
            return "current"
        if self.has("users.json"):
            return "older"
        index = self.read_json("index.json") or {}
        return "older" if "users-index" in index else "current"

    def meta(self) -> dict[str, Any]:
        """``corpus.json``: the corpus-level meta."""
        data = self.read_json("corpus.json")
        return data if isinstance(data, dict) else {}

    def index(self) -> dict[str, Any]:
        data = self.read_json("index.json")
        return data if isinstance(data, dict) else {}

    def conversations(self) -> dict[str, Any]:
        """conversation id -> meta (title, num_comments, domain, timestamp, subreddit...)."""
        return _unwrap(self.read_json("conversations.json"))

    def speakers(self) -> dict[str, Any]:
        """speaker id -> meta, from ``speakers.json`` or the older ``users.json``."""
        name = "speakers.json" if self.has("speakers.json") else "users.json"
        return _unwrap(self.read_json(name))

    def utterance_lines(self) -> Iterator[tuple[int, bytes]]:
        """(1-based line number, raw line) of ``utterances.jsonl``, blank lines included
        (parse_line turns them into BLANK)."""
        with self.open(UTTERANCES) as f:
            yield from enumerate(f, 1)
