"""pytest fixtures for the store area (loaded as a plugin by tests/conftest.py).

- ``sqlite_url`` / ``sqlite_store``: a SQLite file in the test's tmp_path.
- ``pg_url`` / ``pg_store``: the Postgres server on 127.0.0.1:5432 (database ``test``),
  each test in a fresh schema that is dropped afterwards; skipped when it is unreachable.
- ``store``: parametrized over both SQL back ends.
- ``moto_endpoint`` (session): moto's S3 server as a subprocess on a free loopback port,
  real HTTP; ``s3_settings`` gives Settings pointing at a fresh bucket for each test;
  ``s3_store`` an S3Store on it.
- ``make_conversation``: builds and saves chat-shaped conversations into a store.
- ``backend``: parametrized over SQLite, Postgres, S3 and the SQL+S3 mirror, with a
  replica (another store object on the same data) and an unreachable twin.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from moments_core.mdl import Snapshot
from moments_core.settings import Settings
from moments_core.store.base import LogStore, MomentInfo
from moments_core.store.synthetic import agent_info, conversation

PG_BASE = "postgresql+psycopg://{user}@127.0.0.1:5432/test"
PG_USERS = ("postgres", "root")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


# --- SQL -------------------------------------------------------------------------------
@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'moments.db'}"


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[LogStore]:
    from moments_core.store.sql import SqlStore

    store = SqlStore(sqlite_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def pg_user() -> str:
    """A Postgres role that can log in (trust auth), or skip the Postgres tests."""
    import psycopg

    for user in PG_USERS:
        try:
            psycopg.connect(f"host=127.0.0.1 port=5432 dbname=test user={user}",
                            connect_timeout=3).close()
            return user
        except psycopg.Error:
            continue
    pytest.skip("Postgres on 127.0.0.1:5432 (database test) is not reachable")


@pytest.fixture
def pg_url(pg_user: str) -> Iterator[str]:
    """A URL whose search_path is a fresh schema; the schema is dropped afterwards."""
    import psycopg

    schema = f"moments_test_{uuid.uuid4().hex[:12]}"
    dsn = f"host=127.0.0.1 port=5432 dbname=test user={pg_user}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield PG_BASE.format(user=pg_user) + f"?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[LogStore]:
    from moments_core.store.sql import SqlStore

    store = SqlStore(pg_url)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> LogStore:
    """Each SQL back end in turn."""
    name = "sqlite_store" if request.param == "sqlite" else "pg_store"
    result: LogStore = request.getfixturevalue(name)
    return result


# --- S3 over HTTP (moto server) ----------------------------------------------------------
def _moto_command() -> list[str]:
    exe = Path(sys.executable).parent / "moto_server"
    found = str(exe) if exe.exists() else shutil.which("moto_server")
    if found is None:
        pytest.skip("moto_server is not installed (pip install 'moto[server]')")
    return [found]


class MotoServer:
    """moto's S3 server as a subprocess; ``stop``/``start`` simulate S3 going down."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [*_moto_command(), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    # boto3 reads credentials the usual way; moto accepts any pair.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_settings(moto_server: MotoServer, tmp_path: Path) -> Settings:
    """Settings pointing at a fresh bucket on the moto server (and a SQLite file)."""
    import boto3

    if moto_server.proc is None:  # a test stopped it and failed before restarting
        moto_server.start()
    bucket = f"moments-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_server.endpoint, region_name="us-east-1").create_bucket(
        Bucket=bucket
    )
    return replace(
        Settings(), data_dir=tmp_path, db_url=f"sqlite:///{tmp_path / 'moments.db'}",
        s3_bucket=bucket, s3_endpoint_url=moto_server.endpoint, s3_region="us-east-1",
    )


@pytest.fixture
def s3_store(s3_settings: Settings) -> Iterator[LogStore]:
    from moments_core.store.s3 import S3Store

    store = S3Store(s3_settings)
    yield store
    store.close()


# --- conversations ----------------------------------------------------------------------------
ConversationFactory = Callable[..., tuple[MomentInfo, list[Snapshot]]]


@pytest.fixture
def make_conversation() -> ConversationFactory:
    """``make_conversation(store, turns=3, regenerate_every=0, agent_id="cafebot",
    variant="01", source="chat", seed=0)`` saves a conversation (two snapshots per turn,
    plus one per regenerate) and returns its MomentInfo and snapshots, parents first."""

    def make(store: LogStore, turns: int = 3, *, regenerate_every: int = 0,
             agent_id: str = "cafebot", variant: str = "01", source: str = "chat",
             seed: int = 0) -> tuple[MomentInfo, list[Snapshot]]:
        info = agent_info(str(uuid.uuid4()), agent_id, variant, source)
        snaps = conversation(turns, info, seed=seed, regenerate_every=regenerate_every)
        for snap in snaps:
            store.save_snapshot(snap, info)
        return info, snaps

    return make


# --- every back end, for the conformance suite ------------------------------------------------
BACKENDS = ("sqlite", "postgres", "s3", "mirror")


@dataclass
class Backend:
    """One back end under test: ``store``; ``replica()`` another store object on the same
    data (its own caches, as a second API process has); ``down()`` a store on the same
    kind of back end that cannot be reached (None where that means nothing: a file)."""

    name: str
    store: LogStore
    replica: Callable[[], LogStore]
    down: Callable[[], LogStore] | None
    opened: list[LogStore] = field(default_factory=list)

    def open(self, store: LogStore) -> LogStore:
        self.opened.append(store)
        return store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    from moments_core.store.mirror import MirroredStore
    from moments_core.store.s3 import S3Store
    from moments_core.store.s3client import make_client
    from moments_core.store.sql import SqlStore

    name = request.param
    closed = f"127.0.0.1:{free_port()}"  # nothing listens there
    if name == "sqlite":
        url = request.getfixturevalue("sqlite_url")
        b = Backend(name, SqlStore(url), lambda: b.open(SqlStore(url)), None)
    elif name == "postgres":
        url = request.getfixturevalue("pg_url")
        dead = url.replace("127.0.0.1:5432", closed)
        b = Backend(name, SqlStore(url), lambda: b.open(SqlStore(url)),
                    lambda: b.open(SqlStore(dead, migrate=False)))
    elif name == "s3":
        settings = request.getfixturevalue("s3_settings")
        dead_settings = replace(settings, s3_endpoint_url=f"http://{closed}")
        b = Backend(name, S3Store(settings), lambda: b.open(S3Store(settings)),
                    lambda: b.open(S3Store(dead_settings)))
    else:
        settings = request.getfixturevalue("s3_settings")
        dead_settings = replace(settings, s3_endpoint_url=f"http://{closed}")

        def mirrored(s: Settings, url: str) -> MirroredStore:
            return MirroredStore(SqlStore(url), S3Store(s, client=make_client(s, fail_fast=True)))

        url = settings.database_url
        b = Backend(name, mirrored(settings, url), lambda: b.open(mirrored(settings, url)),
                    lambda: b.open(mirrored(dead_settings,
                                            f"sqlite:///{tmp_path / 'down.db'}")))
    yield b
    for store in [*b.opened, b.store]:
        store.close()
