"""Where agent configs come from: files in ``configs/`` and versions in the log store.

A file in ``configs/`` is version 1 of its variant: the first time a variant is loaded with
a store that has no version of it, the file's text is stored. After that the store is the
truth: an edited config saved with ``save_config`` becomes the next version, and loading
gives the newest unless a version is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from moments_core.settings import get_settings
from moments_core.store.base import LogStore, NotFound

from .config import AgentConfig, ConfigError, FieldProblem, load_config_file, parse_config
from .names import InvalidName, check_key, config_path, inside


@dataclass(frozen=True, slots=True)
class VersionedConfig:
    """A config with the store version it came from (``None`` when no store is used)."""

    config: AgentConfig
    version: int | None
    yaml_text: str


def configs_dir(folder: str | Path | None = None) -> Path:
    return Path(folder) if folder else get_settings().configs_dir


def config_files(folder: str | Path | None = None) -> list[Path]:
    """The folder's ``*.yaml`` files; a link that leads out of the folder is left out."""
    base = configs_dir(folder)
    return sorted(p for p in base.glob("*.yaml") if inside(base, p))


def list_configs(folder: str | Path | None = None) -> list[AgentConfig]:
    """Every valid config file; invalid ones are left out (``agents check`` reports them)."""
    out: list[AgentConfig] = []
    for path in config_files(folder):
        try:
            out.append(load_config_file(path))
        except ConfigError:
            continue
    return out


def split_name(name: str) -> tuple[str, str, str]:
    """``Agent-cafebot-01`` or ``cafebot-01`` (kind ``Agent``) -> (kind, id, variant)."""
    parts = name.split("-")
    if len(parts) >= 3:
        return check_key(parts[0], parts[1], "-".join(parts[2:]))
    if len(parts) == 2:
        return check_key("Agent", parts[0], parts[1])
    raise ValueError(f"agent name {name!r} must look like 'cafebot-01' or 'Agent-cafebot-01'")


def default_key() -> tuple[str, str, str]:
    """The variant used where none is named (``MOMENTS_DEFAULT_AGENT``, ``cafebot-01``)."""
    return split_name(get_settings().default_agent)


def find_config_file(
    kind: str, agent_id: str, variant: str, folder: str | Path | None = None
) -> Path:
    """The file of a variant; ``InvalidName`` for a name that is not one (checked before any
    path is built), ``FileNotFoundError`` (naming no server path) when there is none."""
    exact = config_path(configs_dir(folder), kind, agent_id, variant)
    if exact.is_file():
        return exact
    for path in config_files(folder):
        try:
            if load_config_file(path).key == (kind, agent_id, variant):
                return path
        except ConfigError:
            continue
    raise FileNotFoundError(f"no config for {kind}-{agent_id}-{variant} in the configs folder")


def load_agent_config(
    kind: str,
    agent_id: str,
    variant: str,
    store: LogStore | None = None,
    version: int | None = None,
    folder: str | Path | None = None,
) -> VersionedConfig:
    """The newest stored version (or ``version``); seeds the store from the file if empty."""
    check_key(kind, agent_id, variant)
    if store is not None:
        try:
            cv = store.get_config_version(kind, agent_id, variant, version)
        except NotFound:
            if version is not None:
                raise
        else:
            source = f"store:{kind}-{agent_id}-{variant}@v{cv.version}"
            return VersionedConfig(parse_config(cv.yaml_text, source), cv.version, cv.yaml_text)
    path = find_config_file(kind, agent_id, variant, folder)
    text = path.read_text(encoding="utf-8")
    config = parse_config(text, f"configs/{path.name}")  # messages name no server path
    if store is None:
        return VersionedConfig(config, None, text)
    cv = store.save_config_version(kind, agent_id, variant, text, author="configs/")
    return VersionedConfig(config, cv.version, text)


def save_config(
    store: LogStore,
    yaml_text: str,
    author: str = "",
    expect_key: tuple[str, str, str] | None = None,
) -> VersionedConfig:
    """Validate an edited config and store it as the next version of its variant.

    ``expect_key`` guards against an edit that renamed the variant by accident.
    """
    config = parse_config(yaml_text, "<edited config>")
    try:
        check_key(*config.key)
    except InvalidName as err:
        raise ConfigError("<edited config>", [FieldProblem("kind/id/variant", str(err))]) from None
    if expect_key is not None and config.key != expect_key:
        raise ConfigError("<edited config>", [FieldProblem(
            "kind/id/variant", f"is {'-'.join(config.key)}, expected {'-'.join(expect_key)}"
        )])
    cv = store.save_config_version(*config.key, yaml_text, author=author)
    return VersionedConfig(config, cv.version, yaml_text)
