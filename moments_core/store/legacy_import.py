"""Import snapshots written in the older full-snapshot form (S3 prefix or local folder).

Each older object holds the whole moment so far, the snapshot id under ``id``, the moment
id under ``moment.id`` and the agent under ``__agent_info``::

    "__agent_info": {"id": "<agent instance uuid>", "name": "Leela",
                     "config": {"mdl": "0.2.2", "kind": "LlmCohereAgent", "id": "cafebot",
                                "variant": "experiment", "init": "..."}}

The agent's kind, id and variant come from ``config`` (each falling back to the object's
key, ``snapshots/{kind}/{id}/{variant}/{instance}/{moment}/{snapshot}.json``, then to
fields of ``__agent_info`` itself); the agent instance is ``__agent_info.id`` and the
agent's ``name`` is kept in the moment's meta. Without ``config`` (this project's own
earlier exports) ``__agent_info`` holds ``kind``/``id``/``variant``/``instance_id``.

They are stored as trees: a
snapshot whose parent is not among them (nor stored) becomes a root, and is counted.
Snapshots already stored are skipped, so importing twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from moments_core.mdl import Snapshot
from moments_core.settings import Settings

from . import s3keys
from .base import LogStore, MomentInfo, StoreError
from .s3client import make_client


@dataclass(slots=True)
class ImportReport:
    read: int = 0
    imported: int = 0
    already_stored: int = 0
    missing_parent_roots: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (object name, why)

    def summary(self) -> str:
        return (f"read {self.read}, imported {self.imported}, already stored"
                f" {self.already_stored}, roots for a missing parent"
                f" {self.missing_parent_roots}, errors {len(self.errors)}")


@dataclass(slots=True)
class _Item:
    name: str
    snapshot: Snapshot
    info: MomentInfo


def _agent_value(agent: dict[str, Any], *names: str) -> str:
    for n in names:
        if agent.get(n) not in (None, ""):
            return str(agent[n])
    return ""


def agent_of(agent: dict[str, Any], name: str) -> dict[str, str]:
    """Kind, id, variant and instance of the agent that wrote an older object, and its
    display name, from ``__agent_info`` and the object's key ``name``."""
    from_key = s3keys.parse_snapshot_key(name) or {}
    config = agent.get("config")
    if config is not None and not isinstance(config, dict):
        raise ValueError("__agent_info.config is not an object")
    if config is not None:  # the older chat server's form: ``id`` is the instance
        return {
            "agent_kind": _agent_value(config, "kind") or from_key.get("agent_kind")
            or _agent_value(agent, "kind", "agent_kind") or "Agent",
            "agent_id": _agent_value(config, "id") or from_key.get("agent_id")
            or _agent_value(agent, "agent_id"),
            "agent_variant": _agent_value(config, "variant") or from_key.get("agent_variant")
            or _agent_value(agent, "variant", "agent_variant"),
            "agent_instance_id": _agent_value(agent, "id", "instance_id", "agent_instance_id")
            or from_key.get("agent_instance_id", ""),
            "name": _agent_value(agent, "name"),
        }
    return {
        "agent_kind": from_key.get("agent_kind") or _agent_value(agent, "kind", "agent_kind")
        or "Agent",
        "agent_id": from_key.get("agent_id") or _agent_value(agent, "id", "agent_id"),
        "agent_variant": from_key.get("agent_variant")
        or _agent_value(agent, "variant", "agent_variant"),
        "agent_instance_id": _agent_value(agent, "instance_id", "agent_instance_id", "instance")
        or from_key.get("agent_instance_id", ""),
        "name": _agent_value(agent, "name"),
    }


def parse_legacy(name: str, data: Any) -> _Item:
    """One older object -> snapshot + moment info. Raises ValueError with the reason."""
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    data = dict(data)
    agent = data.pop("__agent_info", None) or {}
    if not isinstance(agent, dict):
        raise ValueError("__agent_info is not an object")
    if "moment" not in data or "id" not in data:
        raise ValueError("not a snapshot: needs 'id' and 'moment'")
    snap = Snapshot.from_dict(data)
    who = agent_of(agent, name)
    info = MomentInfo(
        moment_id=snap.moment_id,
        agent_kind=who["agent_kind"],
        agent_id=who["agent_id"],
        agent_variant=who["agent_variant"],
        agent_instance_id=who["agent_instance_id"],
        source="import",
        created_at=snap.timestamp,
        meta={"agent_name": who["name"]} if who["name"] else {},
    )
    return _Item(name, snap, info)


def _parents_first(items: list[_Item]) -> list[_Item]:
    """Within each moment, parents before children, siblings oldest first."""
    by_id = {i.snapshot.id: i for i in items}
    kids: dict[str | None, list[_Item]] = {}
    for i in sorted(items, key=lambda i: (i.snapshot.timestamp, i.snapshot.id)):
        prev = i.snapshot.previous_snapshot_id
        kids.setdefault(prev if prev in by_id and prev != i.snapshot.id else None, []).append(i)
    out: list[_Item] = []
    seen: set[str] = set()
    stack = list(reversed(kids.get(None, [])))
    while stack:
        i = stack.pop()
        if i.snapshot.id in seen:
            continue
        seen.add(i.snapshot.id)
        out.append(i)
        stack.extend(reversed(kids.get(i.snapshot.id, [])))
    out.extend(i for i in items if i.snapshot.id not in seen)  # cycles: imported as roots
    return out


def _local_objects(folder: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    for path in sorted(folder.rglob("*.json")):
        yield str(path.relative_to(folder)), path.read_bytes


def _read_s3(client: Any, bucket: str, key: str) -> bytes:
    body: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return body


def _s3_objects(settings: Settings, url: str) -> Iterator[tuple[str, Callable[[], bytes]]]:
    bucket, _, prefix = url[len("s3://"):].partition("/")
    client = make_client(settings)
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            if key.endswith(".json"):
                yield key, partial(_read_s3, client, bucket, key)


def import_snapshots(
    store: LogStore, source: str, settings: Settings,
    progress: Callable[[Iterable[_Item], int], Iterable[_Item]] | None = None,
) -> ImportReport:
    """Import every ``.json`` object under ``source`` (``s3://bucket/prefix`` or a folder)."""
    if source.startswith("s3://"):
        objects = list(_s3_objects(settings, source))
    else:
        folder = Path(source)
        if not folder.is_dir():
            raise StoreError(f"{source} is neither s3://bucket/prefix nor a folder")
        objects = list(_local_objects(folder))

    report = ImportReport()
    items: list[_Item] = []
    with ThreadPoolExecutor(max_workers=16) as pool:
        bodies = pool.map(lambda o: o[1](), objects)
        for (name, _), body in zip(objects, bodies, strict=True):
            report.read += 1
            try:
                items.append(parse_legacy(name, json.loads(body)))
            except (ValueError, UnicodeDecodeError) as err:
                report.errors.append((name, str(err)))

    ordered = _parents_first(items)
    for item in (progress(ordered, len(ordered)) if progress else ordered):
        snap = item.snapshot
        if store.has_snapshot(snap.id):
            report.already_stored += 1
            continue
        prev = snap.previous_snapshot_id
        orphan = (prev is not None and prev not in (snap.id, snap.moment_id)
                  and not store.has_snapshot(prev))
        try:
            store.save_snapshot(snap, item.info, orphan_as_root=True)
        except StoreError as err:
            report.errors.append((item.name, str(err)))
            continue
        report.imported += 1
        report.missing_parent_roots += orphan
    return report
