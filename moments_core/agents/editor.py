"""Editing agent configs as a person does in the prompt editor: validate as you type,
save as a new version or a new variant, compare versions, restore, export to configs/.

Nothing is overwritten: every save is a new version in the log store.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from moments_core.mdl import MDLSyntaxError, Occurrence, parse_occurrences
from moments_core.store.base import ConfigVersion, LogStore

from .config import AgentConfig, ConfigError, parse_config
from .names import check_name
from .registry import VersionedConfig, configs_dir, find_config_file, save_config

SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}\.yaml$")


@dataclass(slots=True)
class InitCheck:
    """The result of checking an ``init`` text: occurrences, or where it is wrong."""

    occurrences: list[Occurrence]
    error: MDLSyntaxError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def check_init(text: str) -> InitCheck:
    try:
        return InitCheck(parse_occurrences(text))
    except MDLSyntaxError as err:
        return InitCheck([], err)


class _Literal(str):
    """A string dumped as a YAML ``|`` block, so the init MDL stays readable in files."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


class _ConfigDumper(yaml.SafeDumper):
    pass


_ConfigDumper.add_representer(_Literal, _literal)


def config_yaml(fields: dict[str, Any]) -> str:
    """YAML text for a config given as plain fields (``init`` as a literal block)."""
    data = dict(fields)
    init = str(data.get("init", ""))
    # A literal block cannot keep trailing spaces on lines; they carry no meaning in MDL
    # outside strings, and the parser would see them in free text, so strip them.
    init = "\n".join(line.rstrip() for line in init.split("\n"))
    if init and not init.endswith("\n"):
        init += "\n"
    data["init"] = _Literal(init)
    data.pop("api_key", None)  # keys come from the environment, never from stored configs
    return yaml.dump(data, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True)


def config_fields(config: AgentConfig) -> dict[str, Any]:
    """The config as plain fields (no secrets), in the file's usual order."""
    data = config.model_dump(mode="json", exclude={"api_key"})
    order = ["mdl", "kind", "id", "variant", "provider", "model", "mode", "params",
             "participant", "description", "base_url", "device", "init"]
    return {k: data[k] for k in order if k in data}


def save_version(store: LogStore, fields: dict[str, Any], author: str = "editor",
                 expect_key: tuple[str, str, str] | None = None) -> VersionedConfig:
    """Validate and store as the next version of its variant (ConfigError names the field)."""
    return save_config(store, config_yaml(fields), author=author, expect_key=expect_key)


def save_as_variant(store: LogStore, fields: dict[str, Any], new_variant: str,
                    author: str = "editor") -> VersionedConfig:
    """Store the fields as version 1 of a new variant of the same agent (``InvalidName``,
    a ValueError, for a name that may not be used)."""
    data = {**fields, "variant": check_name(new_variant, "variant")}
    config = parse_config(config_yaml(data), "<new variant>")
    existing = store.list_config_versions(*config.key)
    try:
        find_config_file(*config.key)
        existing_file = True
    except FileNotFoundError:
        existing_file = False
    if existing or existing_file:
        raise ValueError(f"variant {config.name} already exists; pick another name")
    return save_config(store, config_yaml(data), author=author)


def restore_version(store: LogStore, key: tuple[str, str, str], version: int,
                    author: str = "editor") -> VersionedConfig:
    """Store an old version's text again, as the newest version."""
    old = store.get_config_version(*key, version)
    return save_config(store, old.yaml_text, author=f"{author} (restored v{version})",
                       expect_key=key)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted keys (``params.temperature``), so a diff names the field."""
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}{k}."))
        return out
    return {prefix[:-1]: value}


def _init_lines(text: str) -> list[str]:
    """The init MDL in canonical form (so re-quoting or re-indenting is no change), line
    by line; as written when it does not parse."""
    check = check_init(text)
    canonical = "\n".join(o.to_mdl() for o in check.occurrences) if check.ok else text
    return [line.rstrip() for line in canonical.strip("\n").split("\n")]


def _fields_of(version: ConfigVersion) -> dict[str, Any]:
    data = yaml.safe_load(version.yaml_text)
    return data if isinstance(data, dict) else {"(text)": version.yaml_text}


def diff_versions(a: ConfigVersion, b: ConfigVersion) -> str:
    """What changed in meaning from ``a`` to ``b``: one line per changed field
    (``params.temperature: 0.7 → 0.9``), then the init MDL diffed line by line. YAML
    formatting (quoting, key order, flow or block style) is not a change. Empty: none."""
    old, new = _fields_of(a), _fields_of(b)
    old_init, new_init = str(old.pop("init", "") or ""), str(new.pop("init", "") or "")
    flat_old, flat_new = _flatten(old), _flatten(new)
    out: list[str] = []
    for name in sorted(flat_old.keys() | flat_new.keys()):
        before, after = flat_old.get(name, "(unset)"), flat_new.get(name, "(unset)")
        if before != after:
            out.append(f"{name}: {before!r} → {after!r}")
    init_diff = list(difflib.unified_diff(_init_lines(old_init), _init_lines(new_init),
                                          fromfile=f"v{a.version} init",
                                          tofile=f"v{b.version} init", lineterm=""))
    if init_diff:
        out.extend(init_diff)
    return "\n".join(out)


def export_to_configs(yaml_text: str, file_name: str, folder: str | Path | None = None) -> Path:
    """Write a config into configs/ under a safe name; refuses any other place."""
    if not SAFE_FILE_NAME.fullmatch(file_name):
        raise ValueError(
            f"{file_name!r} is not a safe file name: use letters, digits, '.', '_' or '-' "
            "and end in .yaml"
        )
    config = parse_config(yaml_text, file_name)  # never write an invalid config
    base = configs_dir(folder).resolve()
    target = (base / file_name).resolve()
    if target.parent != base:
        raise ValueError(f"{file_name!r} would be written outside the configs folder")
    if target.exists():
        # Overwriting is for a new version of the same variant, never for another one.
        try:
            there = parse_config(target.read_text(encoding="utf-8"), file_name).name
        except (ConfigError, OSError, UnicodeDecodeError):
            there = "a file that is not a valid config"
        if there != config.name:
            raise ValueError(f"configs/{file_name} holds {there}, not {config.name}: "
                             "refusing to overwrite it; choose another file name")
    target.write_text(yaml_text, encoding="utf-8")
    return target
