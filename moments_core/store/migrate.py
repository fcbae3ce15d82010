"""Apply the Alembic migrations shipped in this package, programmatically, on open."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from .engine import WRITE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
_PG_LOCK_KEY = 0x4D4F4D53  # "MOMS": one advisory lock per database for migrations


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


def head_revisions() -> frozenset[str]:
    """Every head: features that add tables independently (eval runs, the OpenAI path
    index, ...) may branch from the same parent; ``upgrade`` applies all of them."""
    return frozenset(ScriptDirectory.from_config(alembic_config()).get_heads())


def head_revision() -> str:
    """The single head, for callers that expect a linear history."""
    heads = head_revisions()
    assert len(heads) == 1, f"migration history has several heads: {sorted(heads)}"
    return next(iter(heads))


def current_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as conn:
        return frozenset(MigrationContext.configure(conn).get_current_heads())


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> None:
    """Bring the schema to head. Safe when several processes open a new database at once:
    the migration runs inside a write lock (SQLite) or an advisory lock (Postgres)."""
    heads = head_revisions()
    if current_revisions(engine) == heads:
        return  # the common case: no lock, no Alembic machinery
    cfg = alembic_config()
    with engine.connect().execution_options(**WRITE) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        if frozenset(MigrationContext.configure(conn).get_current_heads()) != heads:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
