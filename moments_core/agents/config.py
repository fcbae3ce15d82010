"""Agent variant files: ``configs/{kind}-{id}-{variant}.yaml``, validated by pydantic.

Older configs name the back end in ``kind`` and have no ``provider``/``mode``; they load
with both filled in from ``LEGACY_KINDS``. Every error names the file and the field.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from moments_core.mdl import MDLSyntaxError, Occurrence, parse_occurrences
from moments_core.providers import PROVIDERS, GenerationParams

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
ProviderName = Literal["local", "transformers", "openai", "cohere", "instant"]


def valid_mdl(value: str) -> str:
    """``value`` when it parses as MDL occurrences; a ValueError naming where it does not."""
    try:
        parse_occurrences(value)
    except MDLSyntaxError as err:
        raise ValueError(f"not valid MDL at line {err.line}, column {err.column}: "
                         f"{err.message}") from None
    return value


# A config field holding MDL (an agent's or a simulated participant's ``init``).
MDLText = Annotated[str, AfterValidator(valid_mdl)]

# kind -> (provider, mode, default model) for configs written for the older system.
LEGACY_KINDS: dict[str, tuple[str, str, str]] = {
    "ChatGptAgent": ("openai", "chat", "gpt-4o-mini"),
    "ChatOpenAiAgent": ("openai", "chat", "gpt-4o-mini"),
    "LlmOpenAiAgent": ("openai", "completion", "gpt-3.5-turbo-instruct"),
    "LlmCohereAgent": ("cohere", "completion", "command-r-08-2024"),
    "TextCompletionAgent": ("local", "completion", "smollm2-135m-instruct"),
    "TribeHackathonAgent": ("openai", "chat", "gpt-4o-mini"),
}
DEFAULT_MODELS: dict[str, str] = {
    "local": "smollm2-135m-instruct",
    "openai": "gpt-4o-mini",
    "cohere": "command-r-08-2024",
}


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


class ConfigError(ValueError):
    """An agent config that cannot be used; ``problems`` lists each field and what is wrong."""

    def __init__(self, source: str, problems: list[FieldProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(
            "\n".join(f"{source}: field '{p.field}': {p.message}" for p in problems)
        )


class AgentConfig(BaseModel):
    """One agent variant. ``init`` is the MDL every moment of this variant starts with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mdl: str = "0.3"
    kind: str = Field(default="Agent", min_length=1, pattern=r"^[A-Za-z0-9_]+$")
    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.]+$")
    variant: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    provider: ProviderName = "local"
    model: str = ""
    mode: Literal["chat", "completion"] = "chat"
    params: GenerationParams = Field(default_factory=lambda: GenerationParams())
    participant: str = "Customer"
    description: str = ""
    base_url: str = ""
    # Prefer the environment (OPENAI_API_KEY, CO_API_KEY): configs are stored in the log.
    # Configs are stored in the log, so a key may only be *named* here: ``${VAR}`` reads
    # the environment variable VAR when the provider is built. Plain keys are refused.
    api_key: str = ""
    device: str = "auto"
    # A client's system/developer message on the OpenAI-compatible API never replaces the
    # prompt: it is refused (400), or with "context" kept as a Context occurrence.
    accept_system: Literal["refuse", "context"] = "refuse"
    init: MDLText

    @field_validator("mdl", "id", "variant", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # YAML reads `variant: 01` as 1 and `mdl: 0.3` as a float; both mean text.
        return str(value) if isinstance(value, int | float) else value

    @field_validator("api_key")
    @classmethod
    def _key_reference(cls, value: str) -> str:
        if value and not ENV_REFERENCE.fullmatch(value):
            raise ValueError(
                "a key may not be written in a config (configs are stored in the log): "
                "set it in the environment (OPENAI_API_KEY, CO_API_KEY) or write "
                "api_key: ${NAME_OF_A_VARIABLE}"
            )
        return value

    def resolved_api_key(self) -> str:
        """The key named by ``api_key: ${VAR}``, from the environment ("" when unset)."""
        m = ENV_REFERENCE.fullmatch(self.api_key)
        return os.environ.get(m.group(1), "") if m else ""

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.id, self.variant)

    @property
    def name(self) -> str:
        """``{kind}-{id}-{variant}``, the file stem."""
        return f"{self.kind}-{self.id}-{self.variant}"

    def init_occurrences(self) -> list[Occurrence]:
        return parse_occurrences(self.init)


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "(file)"


def parse_config(text: str, source: str = "<config>") -> AgentConfig:
    """Validate YAML text into an ``AgentConfig``; raises ``ConfigError``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(source, [FieldProblem("(file)", f"not valid YAML{where}")]) from None
    if not isinstance(data, dict):
        raise ConfigError(source, [FieldProblem("(file)", "must be a YAML mapping of fields")])
    data = _upgrade_legacy(data)
    problems: list[FieldProblem] = []
    provider = data.get("provider")
    if provider is not None and provider not in PROVIDERS:
        problems.append(FieldProblem(
            "provider", f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}"
        ))
        data = {k: v for k, v in data.items() if k != "provider"}
    try:
        config = AgentConfig.model_validate(data)
    except ValidationError as err:
        for e in err.errors():
            message = "is missing" if e["type"] == "missing" else e["msg"]
            if e["type"] == "extra_forbidden":
                message = "is not a known field"
            problems.append(FieldProblem(_loc(e["loc"]), message.removeprefix("Value error, ")))
        raise ConfigError(source, problems) from None
    if problems:
        raise ConfigError(source, problems)
    if not config.model:
        config = config.model_copy(update={"model": DEFAULT_MODELS.get(config.provider, "")})
        if config.provider == "transformers":
            raise ConfigError(source, [FieldProblem("model", "needs a checkpoint folder path")])
    return config


def _upgrade_legacy(data: dict[Any, Any]) -> dict[Any, Any]:
    """Fill provider/mode/model for the older kinds; an empty old ``init`` stays valid."""
    legacy = LEGACY_KINDS.get(str(data.get("kind", "")))
    if legacy is None:
        return data
    provider, mode, model = legacy
    out = dict(data)
    out.setdefault("provider", provider)
    out.setdefault("mode", mode)
    out.setdefault("model", model)
    if out.get("init") is None:
        out["init"] = ""
    return out


def load_config_file(path: str | Path) -> AgentConfig:
    """Read and validate one config file; errors name the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        problem = FieldProblem("(file)", f"cannot read: {err.strerror}")
        raise ConfigError(str(p), [problem]) from None
    return parse_config(text, str(p))
