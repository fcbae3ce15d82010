"""A stateless client's chat history as a path in a moment's tree.

An OpenAI-style client resends the whole conversation every turn. Its messages map to
MDL (``user`` -> the variant's participant, ``assistant`` -> ``Self``, an accepted
``system``/``developer`` message -> ``Context``), and each prefix of the history has a key
(``store.path_index.path_keys``) scoped to the variant and the caller (the bearer token
the client presented, and its ``user``). The longest prefix whose key is indexed names
the snapshot to append to:

- the whole history (its last user message included) is indexed: the client sent the
  same history again (a regenerate), so the agent answers that snapshot once more and
  the new answer is a sibling of the earlier one;
- a shorter prefix is indexed: the rest is appended there (the usual next turn, or an
  edited earlier message, which so becomes a sibling branch);
- nothing is indexed: a new moment starts and holds the whole history.

Assistant lines the agent did not write (a history from another model, or an answer the
client edited) are stored as ``Self`` lines in a snapshot annotated with
``client_self_lines`` (how many), so datasets can tell them from the agent's own.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from moments_core.datasets.walk import CLIENT_SELF_LINES
from moments_core.mdl import (
    Context,
    MDLSyntaxError,
    Moment,
    Occurrence,
    Participant,
    Self,
    Snapshot,
    parse_occurrences,
)
from moments_core.store import LogStore, MomentInfo, NotFound
from moments_core.store.path_index import extend_key, path_keys

from .openai_errors import bad_request
from .openai_schema import ChatMessage

Role = Literal["user", "assistant", "system"]
SOURCE = "openai-api"
_INSTANCE_NS = uuid.UUID("5b0f3f0e-6a1d-4c55-9a43-0d1f6c1e7a11")
SYSTEM_REFUSED = (
    "{where} is a {role} message, but the model {model} takes its prompt from its Moments"
    " config only: a client's system or developer message cannot replace or extend it."
    " Leave it out, or set `accept_system: context` in the variant's config to keep such"
    " messages as Context in the conversation."
)


@dataclass(frozen=True, slots=True)
class Line:
    """One message of the history, as it is matched and stored."""

    role: Role
    text: str

    def key_text(self) -> str:
        return f"{self.role}\n{self.text}"

    def occurrence(self, participant: str) -> Occurrence:
        if self.role == "user":
            return Participant(participant, self.text)
        if self.role == "assistant":
            return Self(self.text)
        return Context.from_value({"system": self.text})


@dataclass(frozen=True, slots=True)
class Caller:
    """Whose conversations these are: the presented bearer token (hashed, never kept)
    and the request's ``user``."""

    token_digest: str
    user: str

    @classmethod
    def of(cls, token: str | None, user: str | None) -> Caller:
        digest = hashlib.sha256(token.encode()).hexdigest() if token else ""
        return cls(digest, user or "")

    def scope(self, model: str) -> str:
        return f"{model}\0{self.token_digest}\0{self.user}"

    @property
    def agent_instance_id(self) -> str:
        """One agent instance per caller, stable across requests and restarts."""
        return str(uuid.uuid5(_INSTANCE_NS, f"{self.token_digest}\0{self.user}"))


def _content(message: ChatMessage, i: int) -> str:
    if message.content is None:
        if message.model_extra and message.model_extra.get("tool_calls"):
            raise bad_request(f"messages[{i}] holds tool calls; this model takes text only",
                              f"messages[{i}].tool_calls", "unsupported_content")
        raise bad_request(f"messages[{i}].content is missing", f"messages[{i}].content")
    if isinstance(message.content, str):
        return message.content
    texts: list[str] = []
    for j, part in enumerate(message.content):
        if part.type != "text" or part.text is None:
            raise bad_request(
                f"messages[{i}].content[{j}] is a {part.type!r} part; this model takes text"
                " parts only ({\"type\": \"text\", \"text\": \"...\"})",
                f"messages[{i}].content[{j}].type", "unsupported_content")
        texts.append(part.text)
    return "\n".join(texts)


def _storable(occurrence: Occurrence, i: int) -> None:
    """The line must be valid text and read back from MDL as written, or it could not be
    kept; a lone surrogate or a NUL is the client's mistake, not a server error."""
    where = f"messages[{i}].content"
    text = occurrence.to_mdl()
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise bad_request(f"{where} is not valid Unicode text (it holds a lone surrogate)",
                          where) from None
    if "\x00" in text:
        raise bad_request(f"{where} holds a NUL character", where)
    try:
        back = parse_occurrences(text + "\n")
    except (MDLSyntaxError, ValueError, RecursionError):
        back = []
    if len(back) != 1 or back[0].to_mdl() != text:
        raise bad_request(f"{where} holds text that cannot be stored as written", where)


def read_messages(messages: Sequence[ChatMessage], *, model: str, accept_system: str,
                  participant: str, max_chars: int | None = None) -> list[Line]:
    """The history as lines, every message checked; raises a 400 naming the message."""
    if not messages:
        raise bad_request("messages is empty: send at least one user message", "messages")
    lines: list[Line] = []
    for i, m in enumerate(messages):
        role = m.role
        if role in ("system", "developer"):
            if accept_system != "context":
                raise bad_request(SYSTEM_REFUSED.format(where=f"messages[{i}]", role=role,
                                                        model=model),
                                  f"messages[{i}].role", "system_message_not_allowed")
            role = "system"
        elif role not in ("user", "assistant"):
            raise bad_request(
                f"messages[{i}].role is {role[:40]!r}; this model takes 'user' and 'assistant'"
                " messages (and 'system' where its config accepts them)",
                f"messages[{i}].role", "unsupported_role")
        text = _content(m, i).strip()
        if not text:
            raise bad_request(f"messages[{i}].content is empty", f"messages[{i}].content")
        if max_chars and len(text) > max_chars:
            raise bad_request(f"messages[{i}].content is {len(text):,} characters long; one"
                              f" message may hold at most {max_chars:,}"
                              " (MOMENTS_MAX_LINE_CHARS)", f"messages[{i}].content",
                              "message_too_long")
        line = Line(role, text)  # type: ignore[arg-type]  # narrowed above
        _storable(line.occurrence(participant), i)
        lines.append(line)
    if lines[-1].role != "user":
        raise bad_request(f"the last message (messages[{len(lines) - 1}]) is a"
                          f" {messages[-1].role} message; the last one must be the user's,"
                          " for the agent to answer", "messages")
    return lines


@dataclass(slots=True)
class Placement:
    """Where a history goes: ``parent`` (None: a new moment), the lines not stored yet,
    and the key of the whole history."""

    parent: Snapshot | None
    info: MomentInfo | None
    rest: list[Line]
    key: str


def locate(store: LogStore, scope: str, lines: Sequence[Line]) -> Placement:
    """The longest stored prefix of the history: one index lookup, no scan."""
    keys = path_keys(scope, (line.key_text() for line in lines))
    hit = store.find_path(keys[::-1])
    if hit is not None:
        try:
            info = store.get_moment(hit.moment_id)
            parent = store.get_snapshot(hit.snapshot_id)
        except NotFound:
            info = None
        if info is not None and not info.deleted:
            matched = keys.index(hit.key) + 1
            return Placement(parent, info, list(lines[matched:]), keys[-1])
    return Placement(None, None, list(lines), keys[-1])


def client_snapshot(parent: Snapshot, added: list[Occurrence], config_version: int | None,
                    client_self_lines: int) -> Snapshot:
    """The snapshot holding the client's new lines (``added`` includes the runtime's
    ``before`` occurrences), annotated as the runtime annotates its own."""
    moment = Moment([*parent.moment.occurrences, *added], parent.moment_id)
    snap = Snapshot(moment, moment_id=parent.moment_id, previous_snapshot_id=parent.id)
    notes: dict[str, object] = {"source": SOURCE}
    if config_version is not None:
        notes["config_version"] = config_version
    if client_self_lines:
        notes[CLIENT_SELF_LINES] = client_self_lines
    snap.annotations = notes
    return snap


def answer_keys(history_key: str, *texts: str) -> list[str]:
    """Keys of the history followed by the agent's answer, one per distinct form of it
    (the saved line, and the text as streamed when that differs)."""
    forms = dict.fromkeys(t.strip() for t in texts if t.strip())
    return [extend_key(history_key, Line("assistant", t).key_text()) for t in forms]
