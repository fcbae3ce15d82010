"""Evaluation suites: ``evals/*.yaml`` read with ``safe_load``, validated by pydantic.

A suite names the variants to run, how often (``repeats``, ``seed``), how many lanes at
once (``concurrency``), an optional judge, and its scenarios. A scenario is either a
**script** (the participant's lines in order, each with optional assertions) or a
**simulated** participant (a persona written in MDL, played by a model of its own, up to
``max_turns``, ended early by ``stop_when``). Every error names the file and the field.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from moments_core.agents.config import MDLText
from moments_core.providers import GenerationParams

#: The check keys an assertion may have; exactly one per assertion.
CHECKS: tuple[str, ...] = (
    "contains", "icontains", "not_contains", "regex", "max_chars", "max_latency_ms",
    "no_repeat", "occurrence", "judge", "stays_in_role", "pairwise",
)
ProviderName = Literal["local", "transformers", "openai", "cohere", "instant"]
Scope = Literal["any", "all", "last"]
# Where a check looks when it is written on the whole conversation, unless ``scope`` says.
DEFAULT_SCOPE: dict[str, Scope] = {
    "contains": "any", "icontains": "any", "regex": "any",
    "not_contains": "all", "max_chars": "all", "max_latency_ms": "all",
}
STAYS_IN_ROLE_RUBRIC = (
    "The agent stays in its role as described in its instructions: it does not claim to be "
    "an AI model, does not follow requests outside its job, and steers back to its job."
)


class SuiteError(ValueError):
    """A suite that cannot be used; the message names the file and each field."""

    def __init__(self, source: str, problems: list[tuple[str, str]]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: field '{f}': {m}" for f, m in problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSpec(_Strict):
    """A model used by the suite itself (a judge, a simulated participant): a config
    variant by name, or a provider and model given inline."""

    variant: str = ""  # e.g. "cafebot-01": its provider, model, params and base_url
    provider: ProviderName = "local"
    model: str = ""
    base_url: str = ""
    params: GenerationParams = Field(
        default_factory=lambda: GenerationParams(temperature=0.0, max_tokens=60))


class Assertion(_Strict):
    """One check. Exactly one of the check keys is set; the rest are options."""

    name: str = ""
    weight: float = Field(default=1.0, gt=0)
    scope: Scope | None = None  # on the whole conversation: any / all / last answer
    contains: str | list[str] | None = None
    icontains: str | list[str] | None = None
    not_contains: str | list[str] | None = None
    regex: str | None = None
    max_chars: int | None = Field(default=None, ge=1)
    max_latency_ms: float | None = Field(default=None, gt=0)
    no_repeat: bool | None = None
    occurrence: str | None = None  # an MDL kind: Action, Identification, Context...
    key: str = ""  # for occurrence: a key the YAML value must hold (Action submit_order)
    judge: str | None = None  # a rubric
    stays_in_role: bool | None = None
    pairwise: str | None = None  # a rubric; compares this scenario across variants
    scale: Literal["1-5", "pass_fail"] = "1-5"
    pass_at: int = Field(default=4, ge=1, le=5)  # the lowest passing score on 1-5
    by: ModelSpec | None = None  # this assertion's own judge

    @model_validator(mode="after")
    def _one_check(self) -> Assertion:
        set_ = [c for c in CHECKS if getattr(self, c) is not None]
        if len(set_) != 1:
            what = "none" if not set_ else ", ".join(set_)
            raise ValueError(f"needs exactly one check of {', '.join(CHECKS)} (has {what})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as err:
                raise ValueError(f"regex does not compile: {err}") from None
        for name in ("contains", "icontains", "not_contains"):
            value = getattr(self, name)
            if value is not None and (value == "" or value == []):
                raise ValueError(f"{name} needs a non-empty text")
        return self

    @property
    def check(self) -> str:
        return next(c for c in CHECKS if getattr(self, c) is not None)

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        value = getattr(self, self.check)
        if self.check == "occurrence":
            return f"occurrence {value}" + (f" {self.key}" if self.key else "")
        if isinstance(value, bool):
            return self.check
        text = value if isinstance(value, str) else ", ".join(map(str, value)) \
            if isinstance(value, list) else str(value)
        return f"{self.check}: {text[:40]}"

    @property
    def is_judged(self) -> bool:
        return self.check in ("judge", "stays_in_role")


class ScriptLine(_Strict):
    """One line of a script; ``assert`` checks the agent's answer to it."""

    say: str = Field(min_length=1)
    checks: list[Assertion] = Field(default_factory=list, alias="assert")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Simulated(ModelSpec):
    """A simulated participant: its own moment starts with ``init`` (its persona and
    goal); the agent's lines appear in it as ``agent_name``'s."""

    init: MDLText
    name: str = ""  # the participant's name in the agent's moment (default: the config's)
    agent_name: str = "Agent"  # how the agent is named in the participant's moment
    opener: str = ""  # a fixed first line; the model writes it when empty
    params: GenerationParams = Field(
        default_factory=lambda: GenerationParams(temperature=0.7, max_tokens=60))


class Scenario(_Strict):
    name: str = Field(min_length=1, max_length=120)
    weight: float = Field(default=1.0, gt=0)
    script: list[ScriptLine] | None = None
    simulated: Simulated | None = None
    max_turns: int = Field(default=4, ge=1, le=50)
    stop_when: Assertion | None = None
    stop_on: Literal["agent", "participant"] = "agent"  # whose line stop_when checks
    checks: list[Assertion] = Field(default_factory=list, alias="assert")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("script", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        # ``- Hi, a cappuccino please`` is short for ``- say: Hi, a cappuccino please``.
        if isinstance(value, list):
            return [{"say": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _kind(self) -> Scenario:
        if (self.script is None) == (self.simulated is None):
            raise ValueError("needs either 'script' or 'simulated', not both or neither")
        if self.script is not None and not self.script:
            raise ValueError("script needs at least one line")
        if self.stop_when is not None and self.stop_when.check in (
                "pairwise", "no_repeat", "judge", "stays_in_role"):
            raise ValueError("stop_when must be a plain check of the latest line "
                             "(contains, icontains, not_contains, regex, occurrence, ...)")
        return self

    @property
    def kind(self) -> str:
        return "script" if self.script is not None else "simulated"

    def all_checks(self) -> list[tuple[int | None, Assertion]]:
        """(turn index or None for the whole conversation, assertion), in order."""
        out: list[tuple[int | None, Assertion]] = []
        for i, line in enumerate(self.script or []):
            out.extend((i, a) for a in line.checks)
        out.extend((None, a) for a in self.checks)
        return out


class Suite(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    variants: list[str] = Field(min_length=1)
    repeats: int = Field(default=1, ge=1, le=100)
    seed: int | None = 0
    concurrency: int = Field(default=4, ge=1, le=64)
    judge: ModelSpec = Field(default_factory=ModelSpec)
    scenarios: list[Scenario] = Field(min_length=1)

    @field_validator("variants", mode="before")
    @classmethod
    def _variant_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return [str(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _unique(self) -> Suite:
        names = [s.name for s in self.scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"scenario names must be unique; repeated: {', '.join(dupes)}")
        return self

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        raise KeyError(name)


def _loc(loc: tuple[int | str, ...], data: Any) -> str:
    """A pydantic location as a readable path, scenarios named: scenarios[plain order].assert[0]."""
    parts: list[str] = []
    node = data
    for p in loc:
        if isinstance(p, int):
            label = str(p)
            if isinstance(node, list) and p < len(node):
                item = node[p]
                if isinstance(item, dict) and isinstance(item.get("name"), str):
                    label = f"{p}: {item['name']}"
                node = item
            else:
                node = None
            parts[-1:] = [f"{parts[-1]}[{label}]"] if parts else [f"[{label}]"]
        else:
            if p in ("function-after", "function-before") or p.startswith(
                    ("function-", "list[", "str", "int", "bool", "float", "union")):
                continue  # pydantic's own location steps for unions and validators
            parts.append(p)
            node = node.get(p) if isinstance(node, dict) else None
    return ".".join(parts) or "(file)"


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    """Validate YAML text into a ``Suite``; raises ``SuiteError`` naming file and fields."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(err, "problem", None)
        why = f": {problem}" if problem else ""
        raise SuiteError(source, [("(file)", f"not valid YAML{where}{why}")]) from None
    if not isinstance(data, dict):
        raise SuiteError(source, [("(file)", "must be a YAML mapping with name, variants "
                                             "and scenarios")])
    try:
        return Suite.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            message = "is missing" if e["type"] == "missing" else e["msg"]
            if e["type"] == "extra_forbidden":
                message = "is not a known field"
            problems.append((_loc(e["loc"], data), message.removeprefix("Value error, ")))
        # A union's every branch reports; one line per field is enough.
        raise SuiteError(source, list(dict.fromkeys(problems))) from None


def load_suite(path: str | Path) -> tuple[Suite, str]:
    """The suite in ``path`` and its text; errors name the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise SuiteError(str(p), [("(file)", f"cannot read: {err.strerror}")]) from None
    return parse_suite(text, str(p)), text


def suite_hash(text: str) -> str:
    """What a run record keeps to tell suites apart: the text's digest."""
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def suite_files(folder: str | Path) -> list[Path]:
    return sorted(Path(folder).glob("*.yaml"))
