"""Agents: variant configs (YAML), the turn runtime, prompt rendering and answer repair.

Public API::

    from moments_core.agents import Agent, load_agent_config, parse_config

    agent = Agent.from_name("Agent", "cafebot", "01", store=store)
    root = agent.start()
    result = agent.reply(root, "Hi!")       # or iterate agent.respond(...) to stream
    for item in agent.regenerate(result.snapshot): ...   # str chunks, then a TurnResult
"""

from .config import (
    LEGACY_KINDS,
    AgentConfig,
    ConfigError,
    FieldProblem,
    load_config_file,
    parse_config,
)
from .registry import (
    VersionedConfig,
    config_files,
    default_key,
    find_config_file,
    list_configs,
    load_agent_config,
    save_config,
    split_name,
)
from .render import render
from .repair import DisplayFilter, EmptyAnswer, ParsedAnswer, parse_answer
from .retry import RetryPolicy
from .runtime import Agent, AgentError, TurnEvent, TurnFailed, TurnResult, format_time

__all__ = [
    "LEGACY_KINDS",
    "Agent",
    "AgentConfig",
    "AgentError",
    "ConfigError",
    "DisplayFilter",
    "EmptyAnswer",
    "FieldProblem",
    "ParsedAnswer",
    "RetryPolicy",
    "TurnEvent",
    "TurnFailed",
    "TurnResult",
    "VersionedConfig",
    "config_files",
    "default_key",
    "find_config_file",
    "format_time",
    "list_configs",
    "load_agent_config",
    "load_config_file",
    "parse_answer",
    "parse_config",
    "render",
    "save_config",
    "split_name",
]
