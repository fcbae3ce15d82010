"""One typed class per MDL occurrence kind, with its canonical text and its dict face.

The dict face is the older system's JSON: ``{"kind": ..., "content": ...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .quoting import quote_emotion, quote_says, stuff_free_text, stuff_yaml
from .yamlio import dump_yaml, load_yaml

KEYWORDS: frozenset[str] = frozenset(
    {
        "Instructions", "Example", "Begin", "Context", "Self", "Identification",
        "Thought", "Motivation", "Observation", "Action", "Waiting", "Resuming",
        "Working", "Rejected", "CritiqueRequest", "Critique", "RevisionRequest",
        "Revision",
    }
)

# A participant's name: no colon, quote, parenthesis or newline; no surrounding spaces.
PARTICIPANT_NAME = re.compile(r'[^\s:"()#\\][^:"()\n\r\\]*')
PARTICIPANT_IDENTIFIER = re.compile(r"[^()\n\r\\]*")


_VALID_NAMES: set[tuple[str, str]] = set()  # names repeat on every line; check each once


def _check_name(name: str, identifier: str, what: str) -> None:
    if (name, identifier) in _VALID_NAMES:
        return
    if (
        not PARTICIPANT_NAME.fullmatch(name)
        or name != name.strip()
        or name in KEYWORDS
    ):
        raise ValueError(
            f"{what} name {name!r} is not valid: use a non-empty name without ':', '\"',"
            " '(', ')', backslashes or newlines, that is not an MDL keyword"
        )
    if not PARTICIPANT_IDENTIFIER.fullmatch(identifier):
        raise ValueError(f"{what} identifier {identifier!r} may not hold '(', ')' or newlines")
    if len(_VALID_NAMES) < 10_000:
        _VALID_NAMES.add((name, identifier))


def _check_emotion(emotion: str) -> None:
    if "\n" in emotion or "\r" in emotion:
        raise ValueError(f"emotion {emotion!r} may not hold a newline")


def _is_plain(text: str) -> bool:
    """Text that can stand unquoted after ``Kind: `` and read back unchanged."""
    return (
        bool(text)
        and "\n" not in text
        and "\r" not in text
        and text[0] not in ' \t"'
        and text[-1] not in " \t"
    )


class Occurrence:
    """Base of every occurrence kind."""

    __slots__ = ()
    kind: ClassVar[str]

    def to_mdl(self) -> str:
        """The canonical MDL text, without the trailing newline."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def speaker(self) -> str:
        """Who said it, for display: the kind, or the participant's name."""
        return self.kind


# --- free-text blocks -----------------------------------------------------------------


@dataclass(slots=True)
class Instructions(Occurrence):
    text: str
    kind: ClassVar[str] = "Instructions"

    def to_mdl(self) -> str:
        return f"Instructions: '''\n{stuff_free_text(self.text)}\n'''"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "content": self.text}


@dataclass(slots=True)
class Example(Occurrence):
    text: str
    description: str = ""
    kind: ClassVar[str] = "Example"

    def __post_init__(self) -> None:
        d = self.description
        if "\n" in d or "\r" in d or d != d.strip() or "'''" in d:
            raise ValueError(
                f"Example description {d!r} must be one line without surrounding spaces"
                " or '''"
            )

    def to_mdl(self) -> str:
        head = f"Example: {self.description} - '''" if self.description else "Example: '''"
        return f"{head}\n{stuff_free_text(self.text)}\n'''"

    def to_dict(self) -> dict[str, Any]:
        # The older system's keys: ``title`` is the description, ``example`` the text.
        return {"kind": self.kind, "content": {"title": self.description, "example": self.text}}


@dataclass(slots=True)
class Begin(Occurrence):
    kind: ClassVar[str] = "Begin"

    def to_mdl(self) -> str:
        return "Begin."

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "content": None}


# --- YAML blocks ----------------------------------------------------------------------


_NO_VALUE = object()


@dataclass(slots=True)
class YamlOccurrence(Occurrence):
    """A kind whose content is YAML. ``yaml_text`` is kept as written, ``value`` parsed."""

    yaml_text: str
    _value: Any = field(default=_NO_VALUE, repr=False, compare=False)
    kind: ClassVar[str] = ""
    one_line: ClassVar[bool] = False  # canonical form on one line when the YAML fits

    @classmethod
    def from_value(cls, value: Any) -> YamlOccurrence:
        # Not cached: the value the object reports is what its YAML text reads back as.
        return cls(dump_yaml(value))

    @property
    def value(self) -> Any:
        if self._value is _NO_VALUE:
            self._value = load_yaml(self.yaml_text)
        return self._value

    def to_mdl(self) -> str:
        text = self.yaml_text
        if self.one_line and "\n" not in text and "```" not in text and "\r" not in text:
            return f"{self.kind}: ```{text}```"
        return f"{self.kind}: ```\n{stuff_yaml(text)}\n```"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "content": self.value}


@dataclass(slots=True)
class Context(YamlOccurrence):
    kind: ClassVar[str] = "Context"


@dataclass(slots=True)
class Action(YamlOccurrence):
    kind: ClassVar[str] = "Action"


@dataclass(slots=True)
class Waiting(YamlOccurrence):
    kind: ClassVar[str] = "Waiting"
    one_line: ClassVar[bool] = True


@dataclass(slots=True)
class Resuming(YamlOccurrence):
    kind: ClassVar[str] = "Resuming"
    one_line: ClassVar[bool] = True


@dataclass(slots=True)
class Working(YamlOccurrence):
    kind: ClassVar[str] = "Working"
    one_line: ClassVar[bool] = True


# --- things said ----------------------------------------------------------------------


@dataclass(slots=True)
class SaysOccurrence(Occurrence):
    """A line said with an optional emotion: Self, Rejected and Revision."""

    says: str
    emotion: str = ""
    kind: ClassVar[str] = ""

    def __post_init__(self) -> None:
        if self.emotion:
            _check_emotion(self.emotion)

    def to_mdl(self) -> str:
        if self.emotion:
            return f"{self.kind}: {quote_emotion(self.emotion)}{quote_says(self.says)}"
        return f"{self.kind}: {quote_says(self.says)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "content": {"emotion": self.emotion, "says": self.says}}


@dataclass(slots=True)
class Self(SaysOccurrence):
    """The agent's line."""

    kind: ClassVar[str] = "Self"


@dataclass(slots=True)
class Rejected(SaysOccurrence):
    """A completion that was not chosen; kept for preference data."""

    kind: ClassVar[str] = "Rejected"


@dataclass(slots=True)
class Revision(SaysOccurrence):
    kind: ClassVar[str] = "Revision"


@dataclass(slots=True)
class Participant(Occurrence):
    """Anyone but the agent: ``Name (identifier): (emotion) "says"``."""

    name: str
    says: str
    identifier: str = ""
    emotion: str = ""
    kind: ClassVar[str] = "Participant"

    def __post_init__(self) -> None:
        if (self.name, self.identifier) not in _VALID_NAMES:  # inlined: the parser's hot path
            _check_name(self.name, self.identifier, "participant")
        if self.emotion:
            _check_emotion(self.emotion)

    @property
    def speaker(self) -> str:
        return self.name

    def to_mdl(self) -> str:
        head = f"{self.name} ({self.identifier})" if self.identifier else self.name
        if self.emotion:
            return f"{head}: {quote_emotion(self.emotion)}{quote_says(self.says)}"
        return f"{head}: {quote_says(self.says)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "content": {
                "name": self.name,
                "identifier": self.identifier,
                "emotion": self.emotion,
                "says": self.says,
            },
        }


@dataclass(slots=True)
class Identification(Occurrence):
    """``Identification: Customer is called "John".``"""

    participant: str
    name: str
    identifier: str = ""
    kind: ClassVar[str] = "Identification"

    def __post_init__(self) -> None:
        _check_name(self.participant, self.identifier, "identified participant")

    def to_mdl(self) -> str:
        who = f"{self.participant} ({self.identifier})" if self.identifier else self.participant
        return f"Identification: {who} is called {quote_says(self.name)}."

    def to_dict(self) -> dict[str, Any]:
        # The older system's keys: the participant under ``kind``; ``identifier`` only
        # when there is one.
        content = {"kind": self.participant, "name": self.name}
        if self.identifier:
            content["identifier"] = self.identifier
        return {"kind": self.kind, "content": content}


# --- plain text kinds -----------------------------------------------------------------


@dataclass(slots=True)
class TextOccurrence(Occurrence):
    """A kind holding one text: unquoted when it fits on a line, quoted otherwise."""

    text: str
    kind: ClassVar[str] = ""
    always_quoted: ClassVar[bool] = False

    def to_mdl(self) -> str:
        if not self.always_quoted and _is_plain(self.text):
            return f"{self.kind}: {self.text}"
        return f"{self.kind}: {quote_says(self.text)}"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "content": self.text}


@dataclass(slots=True)
class Thought(TextOccurrence):
    kind: ClassVar[str] = "Thought"
    always_quoted: ClassVar[bool] = True


@dataclass(slots=True)
class Motivation(TextOccurrence):
    kind: ClassVar[str] = "Motivation"


@dataclass(slots=True)
class Observation(TextOccurrence):
    kind: ClassVar[str] = "Observation"


@dataclass(slots=True)
class CritiqueRequest(TextOccurrence):
    kind: ClassVar[str] = "CritiqueRequest"


@dataclass(slots=True)
class Critique(TextOccurrence):
    kind: ClassVar[str] = "Critique"


@dataclass(slots=True)
class RevisionRequest(TextOccurrence):
    kind: ClassVar[str] = "RevisionRequest"


SAYS_KINDS: dict[str, type[SaysOccurrence]] = {
    "Self": Self, "Rejected": Rejected, "Revision": Revision
}
TEXT_KINDS: dict[str, type[TextOccurrence]] = {
    cls.kind: cls
    for cls in (Thought, Motivation, Observation, CritiqueRequest, Critique, RevisionRequest)
}
YAML_KINDS: dict[str, type[YamlOccurrence]] = {
    cls.kind: cls for cls in (Context, Action, Waiting, Resuming, Working)
}


def _str_field(content: dict[str, Any], key: str, kind: str) -> str:
    value = content.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{kind}.content.{key} must be a string, got {type(value).__name__}")
    return value


# The key sets a dict face may use, the older system's first (what ``to_dict`` writes),
# then this project's earlier ones; each pair is (what names the thing, what it says).
EXAMPLE_KEYS = (("title", "example"), ("description", "text"))
IDENTIFICATION_KEYS = (("kind", "name"), ("participant", "name"))
_OPTIONAL_KEYS = {"Identification": {"identifier"}}


def _keys_of(content: Any, kind: str,
             forms: tuple[tuple[str, str], ...]) -> tuple[dict[str, Any], str, str]:
    """The content and which of ``forms`` its keys are; a ValueError naming the forms when
    they are none of them (so data is never read as an empty occurrence)."""
    expected = " or ".join("{" + ", ".join(f'"{k}"' for k in form) + "}" for form in forms)
    if not isinstance(content, dict):
        raise ValueError(f"{kind}.content must be an object with the keys {expected}")
    keys = set(content) - _OPTIONAL_KEYS.get(kind, set())
    for form in forms:
        # the first key may be left out (an empty title); what it says may not
        if keys <= set(form) and form[1] in keys:
            return content, form[0], form[1]
    raise ValueError(f"{kind}.content has the keys {sorted(content)}; expected {expected}")


def occurrence_from_dict(data: Any) -> Occurrence:
    """Build an occurrence from its dict face; ``ValueError`` names what is wrong."""
    if not isinstance(data, dict) or "kind" not in data:
        raise ValueError(f"an occurrence must be an object with a 'kind', got {data!r:.80}")
    kind = data["kind"]
    content = data.get("content")
    if kind in SAYS_KINDS or kind == "Participant":
        if isinstance(content, str):  # tolerate a bare string as what was said
            content = {"says": content}
        if not isinstance(content, dict):
            raise ValueError(f"{kind}.content must be an object with 'says'")
        says = _str_field(content, "says", kind)
        emotion = _str_field(content, "emotion", kind)
        _check_emotion(emotion)
        if kind == "Participant":
            return Participant(
                name=_str_field(content, "name", kind),
                says=says,
                identifier=_str_field(content, "identifier", kind),
                emotion=emotion,
            )
        return SAYS_KINDS[kind](says=says, emotion=emotion)
    if kind in TEXT_KINDS or kind == "Instructions":
        if not isinstance(content, str):
            raise ValueError(f"{kind}.content must be a string")
        return TEXT_KINDS[kind](content) if kind in TEXT_KINDS else Instructions(content)
    if kind in YAML_KINDS:
        return YAML_KINDS[kind].from_value(content)
    if kind == "Begin":
        return Begin()
    if kind == "Example":
        if isinstance(content, str):
            return Example(text=content)
        fields, title, text = _keys_of(content, kind, EXAMPLE_KEYS)
        return Example(text=_str_field(fields, text, kind),
                       description=_str_field(fields, title, kind))
    if kind == "Identification":
        fields, who, name = _keys_of(content, kind, IDENTIFICATION_KEYS)
        return Identification(
            participant=_str_field(fields, who, kind),
            name=_str_field(fields, name, kind),
            identifier=_str_field(fields, "identifier", kind),
        )
    raise ValueError(f"unknown occurrence kind {kind!r}")
