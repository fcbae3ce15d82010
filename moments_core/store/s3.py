"""The S3 back end (boto3; AWS, MinIO, R2 or any S3-compatible endpoint).

One JSON object per snapshot, under the older system's key layout, holding the snapshot
relative to its parent (``kept`` + ``added``) and the agent under ``__agent_info``. Small
index objects map a snapshot id to its moment and a moment id to its info, so reads by id
need no listing. A moment's tree is read with one listing plus parallel GETs (S3 has no
bulk read); snapshot objects never change once written, so they are cached.

A save costs three requests whatever the conversation's length, and lists nothing: the
moment's index object is read fresh (a deletion by another replica is seen) or, for a
moment this process has not seen, created with a conditional PUT (``If-None-Match``, so
it never overwrites another writer's); then the snapshot object and its index entry. The
parent's occurrences come from this process's cache (a chat turn's parent is the snapshot
saved just before); on a miss its path is read object by object (one GET per ancestor,
never a listing). The moment index is written only when the moment is created or deleted,
so a save never brings a deleted moment back.

Every call gives up in bounded time (see ``s3client``); network failures raise
``StoreUnavailable``, never a raw botocore error.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from moments_core.mdl import Snapshot, now, parse_occurrences
from moments_core.settings import Settings

from . import s3keys
from .base import LogStore, MomentFilter, MomentSummary, NewSnapshot, ParentState
from .delta import occurrence_texts, path_occurrences
from .errors import NotFound, StoreError, StoreUnavailable
from .lru import LRU
from .path_index import PathIndex, S3PathIndex
from .rebuild import leaf_snapshots, node, snapshot_from_rows
from .records import (
    ConfigVersion,
    Feedback,
    MomentInfo,
    StoredSnapshot,
    TreeNode,
    from_json,
    to_json,
)
from .s3client import make_client
from .storable import bad_character

FORMAT = "moments-relative-1"


def _snapshot_body(rec: StoredSnapshot, info: MomentInfo) -> bytes:
    """A snapshot object: the stored snapshot with its moment under ``__agent_info``."""
    body = {"format": FORMAT, **to_json(rec), "__agent_info": to_json(info)}
    return json.dumps(body, ensure_ascii=False).encode()


def _code(err: ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _missing(err: ClientError) -> bool:
    return _code(err) in {"404", "NoSuchKey", "NotFound"}


def _precondition_failed(err: ClientError) -> bool:
    return _code(err) in {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}


_UNAVAILABLE_CODES = {"500", "502", "503", "504", "InternalError", "ServiceUnavailable",
                      "SlowDown", "RequestTimeout", "NoSuchBucket"}


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
        # snapshot id -> (moment id, canonical text of each occurrence): the next turn's
        # parent. Filled only once the snapshot's objects are written.
        self._texts: LRU[str, tuple[str, tuple[str, ...]]] = LRU(512)
        self._infos: LRU[str, MomentInfo] = LRU(4096)  # for reads; a save reads fresh
        self._known: LRU[str, bool] = LRU(4096)  # moments whose index object exists
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="moments-s3")

    def __repr__(self) -> str:
        return f"S3Store(bucket={self.bucket!r}, prefix={self.prefix!r})"

    # --- raw objects: every request goes through _call --------------------------------
    def _call(self, operation: str, **params: Any) -> Any:
        """One S3 request; network and server failures become ``StoreUnavailable``.
        A ``ClientError`` the caller handles (missing key, failed precondition) passes."""
        try:
            return getattr(self.client, operation)(Bucket=self.bucket, **params)
        except ClientError as err:
            if (_missing(err) and operation != "list_objects_v2") or _precondition_failed(err):
                raise
            code = _code(err)
            if code in _UNAVAILABLE_CODES:
                raise StoreUnavailable(f"S3 is unavailable ({operation}: {code})") from err
            raise StoreError(f"S3 refused {operation}: {code}") from err
        except (BotoConnectionError, HTTPClientError) as err:
            raise StoreUnavailable(f"S3 is unavailable ({operation}): {err}") from err
        except BotoCoreError as err:
            raise StoreError(f"S3 {operation} failed: {err}") from err

    def _get(self, key: str) -> bytes | None:
        if bad_character(key) is not None:
            return None  # an id no object can be stored under (writes refuse it first)
        try:
            response = self._call("get_object", Key=key)
            body: bytes = response["Body"].read()
        except ClientError as err:
            if _missing(err):
                return None
            raise StoreError(f"S3 get_object failed: {_code(err)}") from err
        except (BotoConnectionError, HTTPClientError) as err:  # while reading the body
            raise StoreUnavailable(f"S3 is unavailable (get_object): {err}") from err
        return body

    def _put(self, key: str, body: bytes, content_type: str = "application/json") -> None:
        try:
            self._call("put_object", Key=key, Body=body, ContentType=content_type)
        except ClientError as err:
            raise StoreError(f"S3 put_object failed: {_code(err)}") from err

    def _create(self, key: str, body: bytes) -> bool:
        """PUT unless the key exists (``If-None-Match: *``); False when it existed."""
        try:
            self._call("put_object", Key=key, Body=body, ContentType="application/json",
                       IfNoneMatch="*")
        except ClientError as err:
            if _precondition_failed(err):
                return False
            raise StoreError(f"S3 put_object failed: {_code(err)}") from err
        return True

    def _list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token: str | None = None
        while True:
            page = self._call("list_objects_v2", Prefix=prefix,
                              **({"ContinuationToken": token} if token else {}))
            keys.extend(o["Key"] for o in page.get("Contents", []))
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return keys

    # --- moment index objects --------------------------------------------------------
    def _read_moment(self, moment_id: str) -> MomentInfo | None:
        """The moment's info as stored now (no cache: another replica may have deleted it)."""
        body = self._get(s3keys.moment_index_key(self.prefix, moment_id))
        if body is None:
            return None
        info = from_json(MomentInfo, json.loads(body))
        self._known.put(moment_id, True)
        if not info.deleted:
            self._infos.put(moment_id, info)
        return info

    def _create_moment(self, info: MomentInfo) -> bool:
        created = self._create(s3keys.moment_index_key(self.prefix, info.moment_id),
                               json.dumps(to_json(info)).encode())
        self._known.put(info.moment_id, True)
        return created

    def _join_moment(self, moment_id: str, info: MomentInfo | None) -> MomentInfo:
        """The moment a save joins, after the store's rules: one request when the moment
        was seen before (a fresh read) or is created now (a conditional PUT)."""
        if info is not None and self._known.get(moment_id) is None and self._create_moment(info):
            return info
        stored = self._read_moment(moment_id)
        moment = self.moment_for_save(stored, info, moment_id)
        if stored is None and not self._create_moment(moment):
            moment = self.moment_for_save(self._read_moment(moment_id), info, moment_id)
        return moment

    # --- snapshot objects ---------------------------------------------------------------
    def put_record(self, info: MomentInfo, rec: StoredSnapshot) -> None:
        """Write a snapshot object and its index entries, unchecked (the mirror's path:
        SQL has already checked it). At most three requests: the snapshot object first
        (an index entry never points at nothing), the moment's index object only when
        this process has not seen it (created, never overwritten), the snapshot's entry."""
        self._put(s3keys.snapshot_key(self.prefix, info, rec.snapshot_id),
                  _snapshot_body(rec, info))
        if self._known.get(info.moment_id) is None:
            self._create_moment(info)
        self._put(s3keys.snapshot_index_key(self.prefix, rec.snapshot_id),
                  rec.moment_id.encode(), "text/plain")
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
            rec = from_json(StoredSnapshot, data)
            self._objects.put(rec.snapshot_id, rec)
            known[key] = rec
        return _in_topological_order(list(known.values()))

    def _record(self, info: MomentInfo, snapshot_id: str) -> StoredSnapshot | None:
        cached = self._objects.get(snapshot_id)
        if cached is not None:
            return cached
        body = self._get(s3keys.snapshot_key(self.prefix, info, snapshot_id))
        if body is None:
            return None
        rec = from_json(StoredSnapshot, json.loads(body))
        self._objects.put(snapshot_id, rec)
        return rec

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

    def _walk(self, snapshot_id: str) -> list[StoredSnapshot] | None:
        """Root-first path of a snapshot, read object by object up its parent links
        (cached objects are not read again); None when it is not stored."""
        try:
            info = self.get_moment(self._moment_of(snapshot_id))
        except NotFound:
            return None
        path: list[StoredSnapshot] = []
        sid: str | None = snapshot_id
        while sid is not None:
            rec = self._record(info, sid)
            if rec is None:
                if not path:
                    return None
                break
            path.append(rec)
            sid = rec.parent_id
        path.reverse()
        return path

    # --- the store's hooks -------------------------------------------------------------
    def _write_moment(self, info: MomentInfo) -> None:
        self._join_moment(info.moment_id, info)

    def _saved_before(self, snapshot_id: str) -> bool:
        # Only what this process wrote: asking S3 would cost a request per save, and a
        # save written again puts the same objects under the same keys.
        return self._texts.get(snapshot_id) is not None

    def _parent_state(self, snapshot_id: str) -> ParentState | None:
        cached = self._texts.get(snapshot_id)
        if cached is None:
            path = self._walk(snapshot_id)
            if path is None:
                return None
            cached = (path[-1].moment_id,
                      occurrence_texts(path_occurrences([node(r) for r in path])))
            self._texts.put(snapshot_id, cached)
        return ParentState(snapshot_id, cached[0], cached[1])

    def _write_snapshot(self, new: NewSnapshot, info: MomentInfo | None) -> None:
        moment = self._join_moment(new.moment_id, info)
        snap = new.snapshot
        self.put_record(moment, StoredSnapshot(
            snapshot_id=snap.id, moment_id=snap.moment_id, parent_id=new.parent_id,
            previous_snapshot_id=new.previous_snapshot_id, timestamp=snap.timestamp,
            annotations_yaml=snap.annotations_yaml, kept=new.delta.kept,
            added_count=new.delta.added_count, added=new.delta.added,
        ))
        self._texts.put(snap.id, (snap.moment_id, new.texts))

    def _moment_of_snapshot(self, snapshot_id: str) -> str:
        return self._moment_of(snapshot_id)

    def _write_feedback(self, feedback: Feedback) -> None:
        self._put(s3keys.feedback_prefix(self.prefix, feedback.moment_id) + f"{feedback.id}.json",
                  json.dumps(to_json(feedback)).encode())

    # --- reads --------------------------------------------------------------------------
    def get_moment(self, moment_id: str) -> MomentInfo:
        cached = self._infos.get(moment_id)
        if cached is not None:
            return cached
        info = self._read_moment(moment_id)
        if info is None:
            raise NotFound(f"moment {moment_id} is not stored")
        return info

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
                timestamp=r.timestamp, kept=r.kept,
                added=parse_occurrences(r.added) if r.added else [],
                annotations_yaml=r.annotations_yaml or "",
            )
            if r.parent_id in nodes:
                nodes[r.parent_id].children.append(r.snapshot_id)
        return list(nodes.values())

    def leaves(self, moment_id: str) -> list[Snapshot]:
        return leaf_snapshots(self._records(self.get_moment(moment_id)))

    def _infos_matching(self, where: MomentFilter) -> list[MomentInfo]:
        keys = self._list(f"{self.prefix}/index/moments/")
        infos = [from_json(MomentInfo, json.loads(b)) for b in self._pool.map(self._get, keys) if b]
        return [i for i in infos if where.matches(i)]

    def _list_moments(
        self, where: MomentFilter, limit: int | None, offset: int
    ) -> list[MomentSummary]:
        infos = self._infos_matching(where)
        infos.sort(key=lambda i: (-i.created_at.timestamp(), i.moment_id))
        infos = infos[offset: None if limit is None else offset + limit]
        out = []
        for info, recs in zip(infos, self._pool.map(self._records, infos), strict=True):
            parents = {r.parent_id for r in recs if r.parent_id is not None}
            last = max((r.timestamp for r in recs), default=None)
            out.append(MomentSummary(info, len(recs), len(recs) - len(parents), last))
        return out

    def _iter_leaves(self, where: MomentFilter) -> Iterator[tuple[MomentInfo, Snapshot]]:
        infos = self._infos_matching(where)
        infos.sort(key=lambda i: (i.created_at, i.moment_id))
        for info in infos:
            for snap in leaf_snapshots(self._records(info)):
                yield info, snap

    def delete_moment(self, moment_id: str) -> None:
        info = self._read_moment(moment_id)  # fresh: never write back stale cached info
        if info is None:
            raise NotFound(f"moment {moment_id} is not stored")
        info.deleted = True
        self._put(s3keys.moment_index_key(self.prefix, moment_id),
                  json.dumps(to_json(info)).encode())
        self._infos.discard(moment_id)

    # --- feedback -------------------------------------------------------------------------
    def list_feedback(
        self, moment_id: str | None = None, snapshot_id: str | None = None
    ) -> list[Feedback]:
        # By snapshot alone: all feedback, not only the snapshot's moment's, since a
        # preference is stored with its first snapshot's moment and may name this one
        # from another moment (as SQL finds it).
        prefix = (s3keys.feedback_prefix(self.prefix, moment_id) if moment_id is not None
                  else f"{self.prefix}/feedback/")
        out = []
        for body in self._pool.map(self._get, self._list(prefix)):
            if body is None:
                continue
            fb = from_json(Feedback, json.loads(body))
            if snapshot_id is None or snapshot_id in (fb.snapshot_id, fb.other_snapshot_id):
                out.append(fb)
        out.sort(key=lambda f: (f.created_at, f.id))
        return out

    # --- agent config versions ---------------------------------------------------------------
    def _configs(self, prefix: str) -> list[ConfigVersion]:
        out = []
        for body in self._pool.map(self._get, self._list(prefix)):
            if body is not None:
                out.append(from_json(ConfigVersion, json.loads(body)))
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
        self._put(f"{prefix}{cv.version:06d}.json", json.dumps(to_json(cv)).encode())
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

    # --- path index (issue 17, H6) ----------------------------------------------------
    def path_index(self) -> PathIndex:
        return S3PathIndex(self.client, self.bucket, self.prefix)  # one object a key

    def close(self) -> None:
        self._pool.shutdown(wait=False)
