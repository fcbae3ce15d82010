"""YAML as MDL uses it: always safe, and without YAML 1.1's surprising scalars.

PyYAML follows YAML 1.1, where ``8:01`` is the integer 481 and ``2024-01-01`` a date.
In a moment those are times and dates *as written*, so the loader keeps them as strings
and only the plain JSON-like types come back (dates would not survive the dict face).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class MDLLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader without timestamps and base-60 numbers."""


MDLLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# Integers without the sexagesimal (``8:01``) branch of YAML 1.1.
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0[0-7_]+
    |[-+]?(?:0|[1-9][0-9_]*)
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
# Only ever *narrower* than the dumper's resolvers: a string the dumper leaves unquoted
# must read back as a string, so dict -> YAML -> dict round-trips.
for _first, _resolvers in MDLLoader.yaml_implicit_resolvers.items():
    MDLLoader.yaml_implicit_resolvers[_first] = [
        (
            tag,
            _INT if tag == "tag:yaml.org,2002:int"
            else _FLOAT if tag == "tag:yaml.org,2002:float"
            else rx,
        )
        for tag, rx in _resolvers
    ]


def load_yaml(text: str) -> Any:
    """Parse YAML text; raises ``yaml.YAMLError`` (or RecursionError) on bad input."""
    return yaml.load(text, Loader=MDLLoader)  # noqa: S506 - MDLLoader is a SafeLoader


class _FlowMap(dict):  # type: ignore[type-arg]
    """A nested mapping, written inline: ``order: {customer: John, items: [espresso]}``."""


class _FlowSeq(list):  # type: ignore[type-arg]
    """A nested sequence, written inline."""


class _MDLDumper(_BaseDumper):  # type: ignore[valid-type,misc]
    pass


def _represent_flow_map(dumper: Any, data: _FlowMap) -> Any:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


def _represent_flow_seq(dumper: Any, data: _FlowSeq) -> Any:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)


_MDLDumper.add_representer(_FlowMap, _represent_flow_map)
_MDLDumper.add_representer(_FlowSeq, _represent_flow_seq)


def _inline(value: Any) -> Any:
    if isinstance(value, dict):
        return _FlowMap((k, _inline(v)) for k, v in value.items())
    if isinstance(value, list):
        return _FlowSeq(_inline(v) for v in value)
    return value


def dump_yaml(value: Any) -> str:
    """One line per top-level key (nested values inline), no trailing newline.

    This is the canonical YAML of Context, Action and the other YAML kinds.
    """
    if isinstance(value, dict):
        value = {k: _inline(v) for k, v in value.items()}
    elif isinstance(value, list):
        value = [_inline(v) for v in value]
    text: str = yaml.dump(
        value,
        Dumper=_MDLDumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=2**31 - 1,
    )
    if text.endswith("\n...\n"):
        text = text[: -len("\n...\n")]
    return text[:-1] if text.endswith("\n") else text
