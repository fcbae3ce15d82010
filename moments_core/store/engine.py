"""Opening a SQLAlchemy engine for the store: SQLite tuned for several writers at once.

SQLite: WAL (readers never block the writer), ``synchronous=NORMAL`` (a committed write
survives a killed process; only a power cut may lose the last commits), a busy timeout so
writers wait for each other instead of failing, and ``BEGIN IMMEDIATE`` for write
transactions so two writers never deadlock upgrading a read lock.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import Connection, ExceptionContext, make_url
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from .errors import NotFound, StoreError, StoreUnavailable

BUSY_TIMEOUT_S = 60.0
CONNECT_TIMEOUT_S = 10  # a database server that does not answer: give up, don't hang
WRITE = {"moments_write": True}  # execution option: this transaction will write


def _sqlite_file(url: str) -> Path | None:
    db = make_url(url).database
    if not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db)


def _map_unavailable(engine: Engine) -> None:
    """A database that cannot be reached (refused, dropped connection) raises
    ``StoreUnavailable`` from wherever the store touches it, reads included; other driver
    errors are left to the store's write path (which retries or maps them)."""

    @event.listens_for(engine, "handle_error")
    def _on_error(ctx: ExceptionContext) -> None:
        original = ctx.original_exception
        nul_on_postgres = (isinstance(ctx.sqlalchemy_exception, DataError)
                           and "0x00" in str(original))
        if isinstance(original, StoreError | UnicodeEncodeError) or nul_on_postgres:
            # A value no row can hold (an id with NUL or a lone surrogate) reached a
            # query: writes refuse such text before they start, so this is a lookup,
            # and nothing stored can match it.
            raise NotFound(f"nothing is stored under that id: {original}") from None
        if ctx.is_disconnect or (ctx.connection is None
                                 and isinstance(ctx.sqlalchemy_exception, OperationalError)):
            first = str(ctx.original_exception).strip().splitlines()
            reason = first[0][:300] if first else type(ctx.original_exception).__name__
            raise StoreUnavailable(f"the database is unavailable: {reason}") \
                from ctx.original_exception
        if isinstance(ctx.sqlalchemy_exception, DBAPIError) and not isinstance(
                ctx.sqlalchemy_exception, IntegrityError | OperationalError):
            # Collisions and busy files stay raw for the write path to retry; anything else
            # the driver refuses is a StoreError with the driver's first line.
            first = str(original).strip().splitlines()
            reason = first[0][:300] if first else type(original).__name__
            raise StoreError(f"the database refused the request: {reason}") from original


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; creates the SQLite file's folder when needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        connect_args = {} if "connect_timeout" in parsed.query else {
            "connect_timeout": CONNECT_TIMEOUT_S}
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                               connect_args=connect_args)
        _map_unavailable(engine)
        return engine

    path = _sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
        pool_size=8,
        max_overflow=16,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # We issue BEGIN ourselves (below); the driver's implicit BEGIN would be DEFERRED.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("moments_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    _map_unavailable(engine)

    return engine
