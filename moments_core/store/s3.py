"""The S3 back end (boto3; AWS, MinIO, R2 or any S3-compatible endpoint).

One JSON object per snapshot, under the older system's key layout, holding the snapshot
relative to its parent (``kept`` + ``added``) and the agent under ``__agent_info``. Small
index objects map a snapshot id to its moment and a moment id to its info, so reads by id
need no listing. A moment's tree is read with one listing plus parallel GETs (S3 has no
bulk read); objects never change once written, so they are cached.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from moments_core.mdl import Snapshot, new_id, now, parse_occurrences
from moments_core.settings import Settings

from . import s3keys
from .base import (
    ConfigVersion,
    Feedback,
    LogStore,
    MomentInfo,
    MomentSummary,
    NotFound,
    StoreError,
    TreeNode,
)
from .delta import check_added, compute_delta, occurrence_texts, path_occurrences
from .lru import LRU
from .rebuild import agent_key, iso, leaf_snapshots, node, snapshot_from_rows
from .s3client import make_client

FORMAT = "moments-relative-1"


@dataclass(slots=True)
class StoredSnapshot:
    """The body of a snapshot object; attribute names match the SQL columns."""

    snapshot_id: str
    moment_id: str
    parent_id: str | None
    previous_snapshot_id: str | None
    timestamp: str
    annotations_yaml: str
    kept: int
    added_count: int
    added: str

    def to_json(self, info: MomentInfo) -> bytes:
        body: dict[str, Any] = {"format": FORMAT, **asdict(self),
                                "__agent_info": info_to_dict(info)}
        return json.dumps(body, ensure_ascii=False).encode()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StoredSnapshot:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def info_to_dict(info: MomentInfo) -> dict[str, Any]:
    d = asdict(info)
    d["created_at"] = iso(info.created_at)
    return d


def info_from_dict(d: dict[str, Any]) -> MomentInfo:
    d = dict(d)
    d["created_at"] = datetime.fromisoformat(d["created_at"])
    return MomentInfo(**d)


def _missing(err: ClientError) -> bool:
    return err.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}


def _in_topological_order(recs: list[StoredSnapshot]) -> list[StoredSnapshot]:
    """Parents before children, siblings oldest first."""
    ids = {r.snapshot_id for r in recs}
    kids: dict[str | None, list[StoredSnapshot]] = {}
    for r in sorted(recs, key=lambda r: (r.timestamp, r.snapshot_id)):
        kids.setdefault(r.parent_id if r.parent_id in ids else None, []).append(r)
    out: list[StoredSnapshot] = []
    stack = list(reversed(kids.get(None, [])))
    while stack:
        r = stack.pop()
        out.append(r)
        stack.extend(reversed(kids.get(r.snapshot_id, [])))
    return out


class S3Store(LogStore):
    def __init__(self, settings: Settings, *, bucket: str | None = None,
                 prefix: str | None = None, client: Any = None) -> None:
        self.bucket = bucket or settings.s3_bucket
        if not self.bucket:
            raise StoreError("the S3 store needs a bucket: set MOMENTS_S3_BUCKET")
        self.prefix = (settings.s3_prefix if prefix is None else prefix).strip("/") or "moments"
        self.client = client if client is not None else make_client(settings)
        self._objects: LRU[str, StoredSnapshot] = LRU(20_000)
        self._infos: LRU[str, MomentInfo] = LRU(4096)
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="moments-s3")

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # --- raw objects --------------------------------------------------------------------
    def _get(self, key: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            if _missing(err):
                return None
            raise
        return body

    def _put(self, key: str, body: bytes, content_type: str = "application/json") -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def _list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return keys

    def put_record(self, info: MomentInfo, rec: StoredSnapshot) -> None:
        """Write a snapshot object and its index entries, unchecked (the mirror's path:
        SQL has already checked it). The snapshot object goes first: an index entry never
        points at nothing."""
        self._put(s3keys.snapshot_key(self.prefix, info, rec.snapshot_id), rec.to_json(info))
        self._put(s3keys.moment_index_key(self.prefix, info.moment_id),
                  json.dumps(info_to_dict(info)).encode())
        self._put(s3keys.snapshot_index_key(self.prefix, rec.snapshot_id),
                  rec.moment_id.encode(), "text/plain")
        self._infos.put(info.moment_id, info)
        self._objects.put(rec.snapshot_id, rec)

    def _records(self, info: MomentInfo) -> list[StoredSnapshot]:
        """Every snapshot object of a moment, parents before children."""
        keys = self._list(s3keys.moment_prefix(self.prefix, info))
        known: dict[str, StoredSnapshot] = {}
        todo: list[str] = []
        for key in keys:
            parsed = s3keys.parse_snapshot_key(key)
            cached = self._objects.get(parsed["snapshot_id"]) if parsed else None
            if cached is not None:
                known[key] = cached
            else:
                todo.append(key)
        for key, body in zip(todo, self._pool.map(self._get, todo), strict=True):
            if body is None:
                continue
            data = json.loads(body)
            if data.get("format") != FORMAT:
                continue  # an older full-snapshot object: `moments import` reads those
            rec = StoredSnapshot.from_json(data)
            self._objects.put(rec.snapshot_id, rec)
            known[key] = rec
        return _in_topological_order(list(known.values()))

    def _moment_of(self, snapshot_id: str) -> str:
        cached = self._objects.get(snapshot_id)
        if cached is not None:
            return cached.moment_id
        body = self._get(s3keys.snapshot_index_key(self.prefix, snapshot_id))
        if body is None:
            raise NotFound(f"snapshot {snapshot_id} is not stored")
        return body.decode()

    def _path(self, snapshot_id: str) -> tuple[MomentInfo, list[StoredSnapshot]]:
        info = self.get_moment(self._moment_of(snapshot_id))
        by_id = {r.snapshot_id: r for r in self._records(info)}
        if snapshot_id not in by_id:
            raise NotFound(f"snapshot {snapshot_id} is not stored")
        path = [by_id[snapshot_id]]
        while path[-1].parent_id is not None and path[-1].parent_id in by_id:
            path.append(by_id[path[-1].parent_id])
        path.reverse()
        return info, path

    # --- moments and snapshots ----------------------------------------------------------
    def save_moment(self, info: MomentInfo) -> None:
        try:
            stored = self.get_moment(info.moment_id)
        except NotFound:
            self._put(s3keys.moment_index_key(self.prefix, info.moment_id),
                      json.dumps(info_to_dict(info)).encode())
            self._infos.put(info.moment_id, info)
            return
        if agent_key(stored) != agent_key(info):
            raise StoreError(f"moment {info.moment_id} belongs to agent"
                             f" {'/'.join(agent_key(stored))}, not {'/'.join(agent_key(info))}")

    def get_moment(self, moment_id: str) -> MomentInfo:
        cached = self._infos.get(moment_id)
        if cached is not None:
            return cached
        body = self._get(s3keys.moment_index_key(self.prefix, moment_id))
        if body is None:
            raise NotFound(f"moment {moment_id} is not stored")
        info = info_from_dict(json.loads(body))
        if not info.deleted:  # a deleted flag may still flip; only cache the settled state
            self._infos.put(moment_id, info)
        return info

    def has_snapshot(self, snapshot_id: str) -> bool:
        try:
            self._moment_of(snapshot_id)
        except NotFound:
            return False
        return True

    def save_snapshot(
        self, snapshot: Snapshot, info: MomentInfo | None = None, *, orphan_as_root: bool = False
    ) -> None:
        sid, mid = snapshot.id, snapshot.moment_id
        where = f"snapshot {sid}"
        if self.has_snapshot(sid):
            return
        if info is not None and info.moment_id != mid:
            raise StoreError(f"{where} is in moment {mid}, but the info names {info.moment_id}")
        texts = occurrence_texts(snapshot.moment.occurrences)
        try:
            stored = self.get_moment(mid)
        except NotFound:
            stored = None
        if stored is not None and info is not None and agent_key(stored) != agent_key(info):
            raise StoreError(f"moment {mid} belongs to agent {'/'.join(agent_key(stored))},"
                             f" not {'/'.join(agent_key(info))}")
        moment = stored or info or MomentInfo(moment_id=mid, source="api")

        prev = snapshot.previous_snapshot_id
        parent_id: str | None = None
        parent_texts: tuple[str, ...] = ()
        if prev is not None and prev != sid:
            try:
                _, path = self._path(prev)
            except NotFound:
                if not (prev == mid or orphan_as_root):
                    raise StoreError(f"{where}: its parent snapshot {prev} is not stored") from None
            else:
                if path[-1].moment_id != mid:
                    raise StoreError(f"{where}: its parent {prev} is in moment"
                                     f" {path[-1].moment_id}, not {mid}")
                parent_id = prev
                parent_texts = occurrence_texts(path_occurrences([node(r) for r in path]))
        delta = compute_delta(parent_texts, texts)
        check_added(delta.added, delta.added_count, where)
        self.put_record(moment, StoredSnapshot(
            snapshot_id=sid, moment_id=mid, parent_id=parent_id,
            previous_snapshot_id=None if prev == parent_id else prev,
            timestamp=iso(snapshot.timestamp), annotations_yaml=snapshot.annotations_yaml,
            kept=delta.kept, added_count=delta.added_count, added=delta.added,
        ))

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        _, path = self._path(snapshot_id)
        return snapshot_from_rows(path[-1], [node(r) for r in path])

    def children(self, snapshot_id: str) -> list[str]:
        info = self.get_moment(self._moment_of(snapshot_id))
        return [r.snapshot_id for r in self._records(info) if r.parent_id == snapshot_id]

    def path(self, snapshot_id: str) -> list[Snapshot]:
        _, recs = self._path(snapshot_id)
        nodes = [node(r) for r in recs]
        return [snapshot_from_rows(r, nodes[: i + 1]) for i, r in enumerate(recs)]

    def tree(self, moment_id: str) -> list[TreeNode]:
        nodes: dict[str, TreeNode] = {}
        for r in self._records(self.get_moment(moment_id)):
            nodes[r.snapshot_id] = TreeNode(
                snapshot_id=r.snapshot_id, parent_id=r.parent_id,
                timestamp=datetime.fromisoformat(r.timestamp), kept=r.kept,
                added=parse_occurrences(r.added) if r.added else [],
                annotations_yaml=r.annotations_yaml or "",
            )
            if r.parent_id in nodes:
                nodes[r.parent_id].children.append(r.snapshot_id)
        return list(nodes.values())

    def leaves(self, moment_id: str) -> list[Snapshot]:
        return leaf_snapshots(self._records(self.get_moment(moment_id)))

    def _infos_matching(
        self, agent_kind: str | None, agent_id: str | None, agent_variant: str | None,
        since: datetime | None, until: datetime | None, source: str | None,
        include_deleted: bool,
    ) -> list[MomentInfo]:
        keys = self._list(f"{self.prefix}/index/moments/")
        infos = [info_from_dict(json.loads(b)) for b in self._pool.map(self._get, keys) if b]
        out = []
        for i in infos:
            if ((agent_kind is not None and i.agent_kind != agent_kind)
                    or (agent_id is not None and i.agent_id != agent_id)
                    or (agent_variant is not None and i.agent_variant != agent_variant)
                    or (source is not None and i.source != source)
                    or (since is not None and i.created_at < since)
                    or (until is not None and i.created_at >= until)
                    or (i.deleted and not include_deleted)):
                continue
            out.append(i)
        return out

    def list_moments(
        self,
        agent_kind: str | None = None,
        agent_id: str | None = None,
        agent_variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
        include_deleted: bool = False,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[MomentSummary]:
        infos = self._infos_matching(agent_kind, agent_id, agent_variant, since, until, source,
                                     include_deleted)
        infos.sort(key=lambda i: (-i.created_at.timestamp(), i.moment_id))
        infos = infos[offset: None if limit is None else offset + limit]
        out = []
        for info, recs in zip(infos, self._pool.map(self._records, infos), strict=True):
            parents = {r.parent_id for r in recs if r.parent_id is not None}
            last = max((r.timestamp for r in recs), default=None)
            out.append(MomentSummary(info, len(recs), len(recs) - len(parents),
                                     datetime.fromisoformat(last) if last else None))
        return out

    def iter_leaves(
        self,
        agent_kind: str | None = None,
        agent_id: str | None = None,
        agent_variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        include_deleted: bool = False,
    ) -> Iterator[tuple[MomentInfo, Snapshot]]:
        infos = self._infos_matching(agent_kind, agent_id, agent_variant, since, until, None,
                                     include_deleted)
        infos.sort(key=lambda i: (i.created_at, i.moment_id))
        for info in infos:
            for snap in leaf_snapshots(self._records(info)):
                yield info, snap

    def delete_moment(self, moment_id: str) -> None:
        info = self.get_moment(moment_id)
        info.deleted = True
        self._put(s3keys.moment_index_key(self.prefix, moment_id),
                  json.dumps(info_to_dict(info)).encode())
        self._infos.put(moment_id, info)

    # --- feedback -------------------------------------------------------------------------
    def add_feedback(self, feedback: Feedback) -> Feedback:
        mid = self._moment_of(feedback.snapshot_id)
        if feedback.other_snapshot_id is not None:
            # Must exist; may be in another moment (compare lanes each have their own).
            self._moment_of(feedback.other_snapshot_id)
        if feedback.moment_id and feedback.moment_id != mid:
            raise StoreError(
                f"snapshot {feedback.snapshot_id} is in moment {mid}, not {feedback.moment_id}"
            )
        feedback.moment_id = mid
        feedback.id = feedback.id or new_id()
        body = asdict(feedback)
        body["created_at"] = iso(feedback.created_at)
        try:
            data = json.dumps(body).encode()
        except (TypeError, ValueError) as err:
            raise StoreError(f"feedback value {feedback.value!r} is not JSON: {err}") from None
        self._put(s3keys.feedback_prefix(self.prefix, mid) + f"{feedback.id}.json", data)
        return feedback

    def list_feedback(
        self, moment_id: str | None = None, snapshot_id: str | None = None
    ) -> list[Feedback]:
        if moment_id is None and snapshot_id is not None:
            moment_id = self._moment_of(snapshot_id)
        prefix = (s3keys.feedback_prefix(self.prefix, moment_id) if moment_id is not None
                  else f"{self.prefix}/feedback/")
        out = []
        for body in self._pool.map(self._get, self._list(prefix)):
            if body is None:
                continue
            d = json.loads(body)
            d["created_at"] = datetime.fromisoformat(d["created_at"])
            fb = Feedback(**d)
            if snapshot_id is None or snapshot_id in (fb.snapshot_id, fb.other_snapshot_id):
                out.append(fb)
        out.sort(key=lambda f: (f.created_at, f.id))
        return out

    # --- agent config versions ---------------------------------------------------------------
    def _configs(self, prefix: str) -> list[ConfigVersion]:
        out = []
        for body in self._pool.map(self._get, self._list(prefix)):
            if body is not None:
                d = json.loads(body)
                d["created_at"] = datetime.fromisoformat(d["created_at"])
                out.append(ConfigVersion(**d))
        out.sort(key=lambda c: (c.agent_kind, c.agent_id, c.agent_variant, c.version))
        return out

    def save_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, yaml_text: str, author: str = ""
    ) -> ConfigVersion:
        # S3 has no transactions: two editors saving at the same instant may write the same
        # version number; the SQL back end is the one for concurrent editing.
        prefix = s3keys.config_prefix(self.prefix, agent_kind, agent_id, agent_variant)
        versions = self._configs(prefix)
        if versions and versions[-1].yaml_text == yaml_text:
            return versions[-1]
        cv = ConfigVersion(agent_kind, agent_id, agent_variant,
                           (versions[-1].version if versions else 0) + 1, yaml_text, now(), author)
        body = asdict(cv)
        body["created_at"] = iso(cv.created_at)
        self._put(f"{prefix}{cv.version:06d}.json", json.dumps(body).encode())
        return cv

    def list_config_versions(
        self, agent_kind: str | None = None, agent_id: str | None = None,
        agent_variant: str | None = None,
    ) -> list[ConfigVersion]:
        return [c for c in self._configs(f"{self.prefix}/configs/")
                if (agent_kind is None or c.agent_kind == agent_kind)
                and (agent_id is None or c.agent_id == agent_id)
                and (agent_variant is None or c.agent_variant == agent_variant)]

    def get_config_version(
        self, agent_kind: str, agent_id: str, agent_variant: str, version: int | None = None
    ) -> ConfigVersion:
        versions = self._configs(s3keys.config_prefix(self.prefix, agent_kind, agent_id,
                                                      agent_variant))
        for c in reversed(versions):
            if version is None or c.version == version:
                return c
        which = f"version {version}" if version is not None else "any version"
        raise NotFound(f"config {agent_kind}/{agent_id}/{agent_variant}: {which} not stored")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
