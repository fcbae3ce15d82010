"""Where things live in the bucket. Snapshot keys follow the older system's layout:
``{prefix}/snapshots/{kind}/{id}/{variant}/{agent_instance_id}/{moment_id}/{snapshot_id}.json``.
"""

from __future__ import annotations

from .base import MomentInfo

EMPTY_PART = "_"  # a key part may not be empty ("a//b" reads badly and lists oddly)


def _part(value: str) -> str:
    return value.replace("/", "_") or EMPTY_PART


def moment_prefix(prefix: str, info: MomentInfo) -> str:
    parts = (info.agent_kind, info.agent_id, info.agent_variant, info.agent_instance_id,
             info.moment_id)
    return f"{prefix}/snapshots/" + "/".join(_part(p) for p in parts) + "/"


def snapshot_key(prefix: str, info: MomentInfo, snapshot_id: str) -> str:
    return f"{moment_prefix(prefix, info)}{_part(snapshot_id)}.json"


def moment_index_key(prefix: str, moment_id: str) -> str:
    return f"{prefix}/index/moments/{_part(moment_id)}.json"


def snapshot_index_key(prefix: str, snapshot_id: str) -> str:
    return f"{prefix}/index/snapshots/{_part(snapshot_id)}"


def feedback_prefix(prefix: str, moment_id: str) -> str:
    return f"{prefix}/feedback/{_part(moment_id)}/"


def config_prefix(prefix: str, kind: str, agent_id: str, variant: str) -> str:
    return f"{prefix}/configs/{_part(kind)}/{_part(agent_id)}/{_part(variant)}/"


def parse_snapshot_key(key: str) -> dict[str, str] | None:
    """Agent kind/id/variant/instance, moment and snapshot id from a snapshot key, or None."""
    parts = key.split("/")
    if len(parts) < 7 or parts[-7] != "snapshots" or not parts[-1].endswith(".json"):
        return None
    kind, agent_id, variant, instance, moment_id, name = parts[-6:]
    return {
        "agent_kind": kind, "agent_id": agent_id, "agent_variant": variant,
        "agent_instance_id": "" if instance == EMPTY_PART else instance,
        "moment_id": moment_id, "snapshot_id": name[: -len(".json")],
    }
