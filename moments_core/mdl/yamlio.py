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


# Bounds on one YAML value, so neither an alias bomb (372 bytes that expand to 39 MB of
# JSON) nor deep nesting (a RecursionError in the dumper, the JSON encoder, the store)
# gets past the parser. Far above any Context or Action a person writes.
MAX_DEPTH = 64
MAX_NODES = 100_000  # values counted as expanded: each alias counts its whole subtree


class YAMLTooLarge(yaml.YAMLError, ValueError):
    """A YAML value nested deeper than MAX_DEPTH or expanding past MAX_NODES values."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _too_deep() -> YAMLTooLarge:
    return YAMLTooLarge(f"the value is nested more than {MAX_DEPTH} levels deep")


def _too_many(n: int) -> YAMLTooLarge:
    return YAMLTooLarge(f"the value expands to more than {MAX_NODES:,} items ({n:,} or more;"
                        " aliases count as copies), which is refused")


def _children(node: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _check_node(root: yaml.Node) -> None:
    """Depth and expanded size of a composed YAML graph, without expanding it: aliases
    share their node, so sizes are memoised per node (and a node met again on its own
    path, a recursive alias, is refused)."""
    size: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            total = 1 + sum(size[id(c)] for c in _children(node))
            if total > MAX_NODES:
                raise _too_many(total)
            size[key] = total
            continue
        if key in size:
            continue
        if key in on_path:
            raise YAMLTooLarge("the value refers to itself (a recursive alias)")
        if depth > MAX_DEPTH:
            raise _too_deep()
        on_path.add(key)
        stack.append((node, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(node))


def check_value(value: Any) -> None:
    """The same bounds on a plain value (from JSON), before it is dumped as YAML:
    ``YAMLTooLarge`` (a ValueError) when it is nested too deeply or too large."""
    count = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise _too_many(count)
        if isinstance(item, dict):
            if depth > MAX_DEPTH:
                raise _too_deep()
            stack.extend((v, depth + 1) for v in item.values())
            count += len(item)  # the keys
        elif isinstance(item, list):
            if depth > MAX_DEPTH:
                raise _too_deep()
            stack.extend((v, depth + 1) for v in item)


def load_yaml(text: str) -> Any:
    """Parse YAML text; raises ``yaml.YAMLError`` on bad input (``YAMLTooLarge`` for a
    value too deep or too large once its aliases are expanded)."""
    loader = MDLLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_node(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()


class _MDLDumper(_BaseDumper):  # type: ignore[valid-type,misc]
    """Block style throughout, as a person writes YAML."""


def _represent_str(dumper: Any, data: str) -> Any:
    # Text over several lines as a literal block (``|-``); the emitter falls back to a
    # quoted scalar by itself where a block cannot hold the text exactly. Not for text
    # ending in a newline: the canonical YAML drops the dump's last newline, which would
    # change such a block's value.
    style = "|" if "\n" in data and not data.endswith("\n") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_MDLDumper.add_representer(str, _represent_str)


def dump_yaml(value: Any) -> str:
    """Block style, one key per line and nested values indented under theirs (empty
    mappings and lists as ``{}`` and ``[]``), no trailing newline.

    This is the one canonical YAML of Context, Action and the other YAML kinds, so text ->
    dict -> text gives back the same bytes.
    """
    check_value(value)  # bounded before the recursive dumper runs
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
