"""Conversation paths by hash: which stored snapshot a resent chat history ends at.

A stateless chat client (the OpenAI-compatible API's) sends the whole history every turn.
Each snapshot it leads to is indexed under a hash of that history (``path_key``), so the
next request finds where to append with one indexed lookup, never a scan of the store.
Keys are hex SHA-256 digests chained line by line, so every prefix of a history has its
own key and computing all of them costs one pass over the text.

Back ends: SQL (table ``path_index``, revision 0004_path_index), S3 (one small object per
key, read by key, never listed) and memory (the default for stores that keep no index).
The first snapshot indexed under a key keeps it: two identical requests at once both
append, and the later ones find the first.
"""

from __future__ import annotations

import hashlib
import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

KEY_CHARS = 64  # a hex SHA-256 digest

# Its own metadata: the table belongs to this module, created by revision 0004 only.
metadata = MetaData()
path_index_t = Table(
    "path_index", metadata,
    Column("path_key", String(KEY_CHARS), primary_key=True),
    Column("snapshot_id", String(64), nullable=False),
    Column("moment_id", String(64), nullable=False),
)


@dataclass(frozen=True, slots=True)
class PathHit:
    """A stored key: the snapshot a history ends at, and its moment."""

    key: str
    snapshot_id: str
    moment_id: str


def _root(scope: str) -> bytes:
    return hashlib.sha256(b"moments-path-v1\0" + scope.encode("utf-8", "surrogatepass")).digest()


def _step(digest: bytes, line: str) -> bytes:
    # Length-prefixed, so that no two different histories hash the same bytes.
    data = line.encode("utf-8", "surrogatepass")
    return hashlib.sha256(digest + len(data).to_bytes(8, "big") + data).digest()


def path_keys(scope: str, lines: Iterable[str]) -> list[str]:
    """The key of every prefix of ``lines`` (the key of the first line first).

    ``scope`` names whose conversation it is (variant and caller), so two callers sending
    the same words never share a path. Each key hashes the previous one with the next line.
    """
    keys: list[str] = []
    digest = _root(scope)
    for line in lines:
        digest = _step(digest, line)
        keys.append(digest.hex())
    return keys


def extend_key(key: str, line: str) -> str:
    """The key of the path ``key`` names followed by ``line``."""
    return _step(bytes.fromhex(key), line).hex()


class PathIndex(ABC):
    """Keys of conversation paths -> the snapshot each path ends at."""

    @abstractmethod
    def find(self, keys: Sequence[str]) -> PathHit | None:
        """The first of ``keys`` (in the order given) that is stored, or None."""

    @abstractmethod
    def put(self, key: str, snapshot_id: str, moment_id: str) -> None:
        """Index ``key``; a key already stored keeps its snapshot."""


class MemoryPathIndex(PathIndex):
    """For stores that keep no index of their own: lives as long as the store object."""

    def __init__(self) -> None:
        self._hits: dict[str, PathHit] = {}
        self._lock = threading.Lock()

    def find(self, keys: Sequence[str]) -> PathHit | None:
        with self._lock:
            return next((self._hits[k] for k in keys if k in self._hits), None)

    def put(self, key: str, snapshot_id: str, moment_id: str) -> None:
        with self._lock:
            self._hits.setdefault(key, PathHit(key, snapshot_id, moment_id))


class SqlPathIndex(PathIndex):
    """The ``path_index`` table: one primary-key lookup finds the longest stored prefix."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def find(self, keys: Sequence[str]) -> PathHit | None:
        if not keys:
            return None
        c = path_index_t.c
        found: dict[str, PathHit] = {}
        # Bounded batches keep every database under its bound-parameter limit.
        with self.engine.connect() as conn:
            for start in range(0, len(keys), 500):
                batch = list(keys[start:start + 500])
                rows = conn.execute(select(c.path_key, c.snapshot_id, c.moment_id)
                                    .where(c.path_key.in_(batch)))
                for key, sid, mid in rows:
                    found[key] = PathHit(key, sid, mid)
        return next((found[k] for k in keys if k in found), None)

    def put(self, key: str, snapshot_id: str, moment_id: str) -> None:
        values = {"path_key": key, "snapshot_id": snapshot_id, "moment_id": moment_id}
        with self.engine.connect().execution_options(moments_write=True) as conn, conn.begin():
            name = conn.dialect.name
            if name in ("sqlite", "postgresql"):
                dialect: Any = sqlite if name == "sqlite" else postgresql
                conn.execute(dialect.insert(path_index_t).values(**values)
                             .on_conflict_do_nothing())
                return
            try:
                with conn.begin_nested():
                    conn.execute(path_index_t.insert().values(**values))
            except IntegrityError:
                pass  # stored already: the first snapshot keeps the key


def s3_path_key(prefix: str, key: str) -> str:
    return f"{prefix}/index/paths/{key[:2]}/{key}.json"


class S3PathIndex(PathIndex):
    """One small JSON object per key, read by its name: no listing, ever.

    ``find`` asks for the keys in order and stops at the first that exists; callers give
    the longest prefix first, which is nearly always the one stored.
    """

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def _get(self, key: str) -> PathHit | None:
        from botocore.exceptions import ClientError

        try:
            body = self.client.get_object(Bucket=self.bucket,
                                          Key=s3_path_key(self.prefix, key))["Body"].read()
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise
        data = json.loads(body)
        return PathHit(key, str(data["snapshot_id"]), str(data["moment_id"]))

    def find(self, keys: Sequence[str]) -> PathHit | None:
        for key in keys:
            hit = self._get(key)
            if hit is not None:
                return hit
        return None

    def put(self, key: str, snapshot_id: str, moment_id: str) -> None:
        if self._get(key) is not None:
            return
        body = json.dumps({"snapshot_id": snapshot_id, "moment_id": moment_id}).encode()
        self.client.put_object(Bucket=self.bucket, Key=s3_path_key(self.prefix, key),
                               Body=body, ContentType="application/json")
