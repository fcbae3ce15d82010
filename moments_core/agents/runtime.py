"""An agent at work: one object per (config, provider, store) that answers turns.

A turn is ``before`` (a Context with the local time, once per moment), ``do`` (render the
moment, ask the model, read its text back as a ``Self`` line) and ``after`` (a hook).
Every turn is logged: the snapshot with the participant's line, then the one with the
agent's answer, both annotated with the config version they ran with.

The chat page, the HTTP API and the CLI all drive it the same way::

    agent = Agent.from_name(store=store)              # the default variant
    root = agent.start()
    for item in agent.respond(root, "A latte, please"):
        if isinstance(item, str):
            show(item)                                # streamed text
        else:
            result = item                             # TurnResult, saved
    agent.regenerate(result.snapshot)                 # same protocol, a new branch
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from moments_core.mdl import (
    Context,
    Moment,
    Occurrence,
    Participant,
    Rejected,
    Self,
    Snapshot,
    new_id,
)
from moments_core.providers import (
    Prompt,
    Provider,
    ProviderError,
    TransientProviderError,
    Usage,
)
from moments_core.settings import Settings
from moments_core.store.base import LogStore, MomentInfo, StoreError

from .config import AgentConfig
from .registry import default_key, load_agent_config
from .render import Budget, render
from .repair import DisplayFilter, EmptyAnswer, parse_answer
from .retry import RetryPolicy

log = logging.getLogger("moments.agents")


class AgentError(RuntimeError):
    """A turn that cannot be taken (bad input, nothing to regenerate)."""


class TurnFailed(AgentError):
    """The model failed for good. The participant's line is saved in
    ``participant_snapshot``; ``agent.respond(participant_snapshot)`` tries again."""

    def __init__(self, message: str, participant_snapshot: Snapshot | None) -> None:
        super().__init__(message)
        self.participant_snapshot = participant_snapshot


@dataclass(slots=True)
class TurnResult:
    """The end of a turn: the saved agent snapshot and the line it added."""

    snapshot: Snapshot
    occurrence: Self
    raw: str  # the model's text before repair
    repaired: bool
    participant_snapshot: Snapshot | None
    rejected: Rejected | None = None  # set by regenerate
    attempts: int = 1
    seconds: float = 0.0
    first_chunk_seconds: float | None = None
    usage: Usage | None = None  # the answering call's own counts
    left_out: int = 0  # occurrences windowed out of the prompt


TurnEvent = str | TurnResult


def format_time(moment: datetime) -> str:
    """``8:01am``, the way the older agents wrote the time."""
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{moment.hour % 12 or 12}:{moment.minute:02d}{suffix}"


def has_time_context(occurrences: Sequence[Occurrence]) -> bool:
    for o in occurrences:
        if isinstance(o, Context):
            value = o.value
            if isinstance(value, dict) and "time" in value:
                return True
    return False


def _local_now() -> datetime:
    return datetime.now().astimezone()


class Agent:
    """Runs one agent variant. Thread-safe as far as its provider and store are."""

    def __init__(
        self,
        config: AgentConfig,
        provider: Provider,
        store: LogStore | None = None,
        *,
        config_version: int | None = None,
        agent_instance_id: str | None = None,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = _local_now,
        after: Callable[[TurnResult], None] | None = None,
    ) -> None:
        self.config = config
        self.provider = provider
        self.store = store
        self.config_version = config_version
        self.agent_instance_id = agent_instance_id or new_id()
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self._after = after

    @classmethod
    def from_name(
        cls,
        kind: str | None = None,
        agent_id: str | None = None,
        variant: str | None = None,
        *,
        store: LogStore | None = None,
        version: int | None = None,
        provider: Provider | None = None,
        settings: Settings | None = None,
        **kwargs: Any,
    ) -> Agent:
        """The named variant (the default one when none is named), its newest stored
        version, and its provider built from the config and settings."""
        from moments_core.providers import make_provider

        if agent_id is None or variant is None:
            kind, agent_id, variant = default_key()
        vc = load_agent_config(kind or "Agent", agent_id, variant, store, version,
                               settings.configs_dir if settings else None)
        c = vc.config
        if provider is None:
            provider = make_provider(
                c.provider, c.model, api_key=c.resolved_api_key(),
                base_url=c.base_url, device=c.device, settings=settings,
            )
        return cls(c, provider, store, config_version=vc.version, **kwargs)

    # --- the moment -----------------------------------------------------------------
    def start(self, *, source: str = "chat", meta: dict[str, Any] | None = None) -> Snapshot:
        """A new moment holding the config's ``init``; saved as its root snapshot."""
        moment_id = new_id()
        root = Snapshot(Moment(self.config.init_occurrences(), moment_id), moment_id=moment_id)
        if self.store is not None:
            info = MomentInfo(
                moment_id=moment_id,
                agent_kind=self.config.kind,
                agent_id=self.config.id,
                agent_variant=self.config.variant,
                agent_instance_id=self.agent_instance_id,
                config_version=self.config_version,
                source=source,
                meta=dict(meta or {}),
            )
            self.store.save_moment(info)
            self.store.save_snapshot(root, info)
        return root

    def before(self, occurrences: Sequence[Occurrence]) -> list[Occurrence]:
        """Occurrences to add before the turn: the local time, once per moment."""
        if has_time_context(occurrences):
            return []
        return [Context.from_value({"time": format_time(self.clock())})]

    def after(self, result: TurnResult) -> None:
        """Called with every finished turn (actions go here); the default calls the
        ``after`` callable given to the constructor, if any."""
        if self._after is not None:
            self._after(result)

    def render(self, occurrences: Sequence[Occurrence]) -> Prompt:
        """The prompt, windowed to what the provider's context holds (by its tokenizer
        where it has one, else by ``max_prompt_chars``)."""
        limit = self.provider.prompt_budget(self.config.params)
        budget = None if limit is None else Budget(
            limit, self.provider.count_tokens,
            # a chat template wraps each message in role markers; completion adds a newline
            per_line=6 if self.config.mode == "chat" else 1,
        )
        return render(occurrences, self.config.mode, self.config.participant,
                      self.provider.max_prompt_chars, budget=budget)

    # --- turns ------------------------------------------------------------------------
    def respond(
        self, snapshot: Snapshot | str, said: Participant | str | None = None
    ) -> Iterator[TurnEvent]:
        """Add the participant's line (if any) and let the agent answer.

        Yields text chunks as they stream, then one ``TurnResult``. With ``said=None``
        the agent speaks without a new line (a greeting, or a retry after TurnFailed).
        """
        parent = self._snapshot(snapshot)
        added: list[Occurrence] = list(self.before(parent.moment.occurrences))
        participant_snapshot: Snapshot | None = None
        if said is not None:
            line = self._participant(said)
            participant_snapshot = self._child(parent, [*added, line])
            self._save(participant_snapshot)
            parent, added = participant_snapshot, []
        return self._answer(parent, added, participant_snapshot, rejected=None, base=parent)

    def respond_to(
        self, snapshot: Snapshot | str, added: Sequence[Occurrence],
        annotations: dict[str, Any] | None = None,
    ) -> Iterator[TurnEvent]:
        """Append occurrences a client wrote (any kinds) to ``snapshot``, then answer.

        For clients that send whole moments (the HTTP API): the snapshot holding the
        ``before`` occurrences and ``added`` is saved at once, as ``respond`` saves the
        participant's line, so a failed model call loses nothing. When ``added`` holds only
        ``Rejected`` lines (a regenerate sent that way) they go into the answer's snapshot,
        as ``regenerate`` stores them. The caller checks that ``added`` is wanted.
        ``annotations`` go on the snapshot of the client's lines (the API's idempotency key).
        """
        parent = self._snapshot(snapshot)
        lines = list(added)
        for line in lines:
            if isinstance(line, Participant) and not line.says.strip():
                raise AgentError("the participant's line is empty")
        extra = [*self.before([*parent.moment.occurrences, *lines]), *lines]
        rejected = next((o for o in reversed(lines) if isinstance(o, Rejected)), None)
        if not lines or all(isinstance(o, Rejected) for o in lines):
            return self._answer(parent, extra, None, rejected=rejected, base=parent)
        client_snapshot = self._child(parent, extra)
        client_snapshot.annotations = {**client_snapshot.annotations, **(annotations or {})}
        self._save(client_snapshot)
        return self._answer(client_snapshot, [], client_snapshot, rejected=rejected,
                            base=client_snapshot)

    def reply(self, snapshot: Snapshot | str, said: Participant | str | None = None) -> TurnResult:
        """``respond`` without streaming: the finished turn."""
        return _last(self.respond(snapshot, said))

    def regenerate(self, snapshot: Snapshot | str) -> Iterator[TurnEvent]:
        """A new answer on a new branch from the snapshot's parent; the discarded line
        stays there as ``Rejected`` just before the new ``Self``."""
        snap = self._snapshot(snapshot)
        occurrences = snap.moment.occurrences
        if not occurrences or not isinstance(occurrences[-1], Self):
            raise AgentError("only a snapshot that ends with the agent's line can be regenerated")
        if snap.previous_snapshot_id is None:
            raise AgentError("a root snapshot has no parent to branch from")
        old = occurrences[-1]
        rejected = Rejected(old.says, old.emotion)
        base = Snapshot(
            Moment(list(occurrences[:-1]), snap.moment_id),
            id=snap.previous_snapshot_id,
            moment_id=snap.moment_id,
        )
        return self._answer(base, [rejected], None, rejected=rejected, base=base)

    # --- internals --------------------------------------------------------------------
    def _answer(
        self,
        parent: Snapshot,
        added: list[Occurrence],
        participant_snapshot: Snapshot | None,
        rejected: Rejected | None,
        base: Snapshot,
    ) -> Iterator[TurnEvent]:
        started = time.perf_counter()
        prompt = self.render([*base.moment.occurrences, *added])
        first: float | None = None
        attempt = 0
        while True:
            attempt += 1
            parts: list[str] = []
            display = DisplayFilter()
            call = self.provider.generate(prompt, self.config.params)
            try:
                for chunk in call:
                    if first is None:
                        first = time.perf_counter() - started
                    parts.append(chunk)
                    shown = display.feed(chunk)
                    if shown:
                        yield shown
            except TransientProviderError as err:
                if parts or attempt >= self.retry.attempts:
                    raise self._failed(err, attempt, participant_snapshot) from err
                self.retry.sleep(self.retry.delay(attempt, err.retry_after))
                continue
            except ProviderError as err:
                raise self._failed(err, attempt, participant_snapshot) from err
            raw = "".join(parts)
            try:
                parsed = parse_answer(raw)
            except EmptyAnswer as err:
                if attempt >= self.retry.attempts:
                    raise self._failed(err, attempt, participant_snapshot) from err
                continue
            break
        answer = self._child(parent, [*added, parsed.occurrence], repaired=parsed.repaired)
        # What the insights page charts: which model answered, how fast, how long.
        seconds = time.perf_counter() - started
        usage = call.usage
        answer.annotations = {
            **answer.annotations,
            "provider": self.config.provider,
            "model": self.config.model,
            "latency_ms": round(seconds * 1000, 1),
            **({"first_token_ms": round(first * 1000, 1)} if first is not None else {}),
            **({"tokens": usage.completion_tokens}
               if usage.completion_tokens is not None else {}),
            **({"prompt_tokens": usage.prompt_tokens}
               if usage.prompt_tokens is not None else {}),
            **({"finish_reason": usage.finish_reason} if usage.finish_reason else {}),
            # how many occurrences the prompt window left out (0: the whole moment)
            **({"left_out": prompt.left_out} if prompt.left_out else {}),
        }
        try:
            self._save(answer)
        except StoreError as err:  # the caller can still say which line was kept
            if participant_snapshot is not None:
                err.participant_snapshot_id = participant_snapshot.id  # type: ignore[attr-defined]
            raise
        result = TurnResult(
            snapshot=answer,
            occurrence=parsed.occurrence,
            raw=raw,
            repaired=parsed.repaired,
            participant_snapshot=participant_snapshot,
            rejected=rejected,
            attempts=attempt,
            seconds=time.perf_counter() - started,
            first_chunk_seconds=first,
            usage=usage,
            left_out=prompt.left_out,
        )
        self.after(result)
        yield result
        # After the caller has the result: let the provider read ahead what the next turn's
        # prompt starts with (the local model evaluates the end of this answer and the chat
        # template's markers now, so the next turn's first token waits only for its line).
        if type(self.provider).prefill is not Provider.prefill:
            try:
                self.provider.prefill(self.render(answer.moment.occurrences))
            except Exception as err:  # noqa: BLE001 - a hint: the turn is done and saved
                # The answer is delivered and stored already; a read-ahead that fails
                # must not turn it into an error. The next turn reads its whole prompt.
                log.warning("read-ahead after the turn failed (%s); the next turn reads its"
                            " prompt in full", type(err).__name__)

    def _failed(
        self, err: Exception, attempts: int, participant_snapshot: Snapshot | None
    ) -> TurnFailed:
        c = self.config
        saved = (
            f" The participant's line is saved (snapshot {participant_snapshot.id}); "
            "respond to that snapshot to try again."
            if participant_snapshot is not None else ""
        )
        tries = f"after {attempts} attempt{'s' if attempts != 1 else ''}"
        return TurnFailed(
            f"{c.name} ({c.provider} {c.model}) could not answer {tries}: {err}.{saved}",
            participant_snapshot,
        )

    def _participant(self, said: Participant | str) -> Participant:
        line = said if isinstance(said, Participant) else Participant(self.config.participant, said)
        if not line.says.strip():
            raise AgentError("the participant's line is empty")
        return line

    def _annotations(self, repaired: bool = False) -> dict[str, Any]:
        notes: dict[str, Any] = {}
        if self.config_version is not None:
            notes["config_version"] = self.config_version
        if repaired:
            notes["repaired"] = True
        return notes

    def _child(
        self, parent: Snapshot, added: list[Occurrence], repaired: bool = False
    ) -> Snapshot:
        moment = Moment([*parent.moment.occurrences, *added], parent.moment_id)
        snap = Snapshot(moment, moment_id=parent.moment_id, previous_snapshot_id=parent.id)
        snap.annotations = self._annotations(repaired)
        return snap

    def _save(self, snapshot: Snapshot) -> None:
        if self.store is not None:
            self.store.save_snapshot(snapshot)

    def _snapshot(self, snapshot: Snapshot | str) -> Snapshot:
        if isinstance(snapshot, Snapshot):
            return snapshot
        if self.store is None:
            raise AgentError("a snapshot id needs a store to read it from")
        return self.store.get_snapshot(snapshot)


def _last(events: Iterator[TurnEvent]) -> TurnResult:
    result: TurnResult | None = None
    for item in events:
        if isinstance(item, TurnResult):
            result = item
    if result is None:  # pragma: no cover - _answer always ends with a result or raises
        raise AgentError("the turn ended without a result")
    return result
