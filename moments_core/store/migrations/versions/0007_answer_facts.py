"""Answer facts (issue 14, item 15): one row per agent answer or rejected answer, written
with its snapshot, so the Insights page reads numbers instead of parsing every stored
line of MDL (``moments_core/store/answer_facts.py``).

The table is filled from the snapshots already stored: each row's appended MDL is parsed
once, here, a batch at a time. A store of 10,000 conversations of 20 turns takes a few
seconds, once.

Revision ID: 0007_answer_facts
Revises: 0006_merge_heads
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0007_answer_facts"
down_revision = "0006_merge_heads"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    op.create_table(
        "answer_facts",
        sa.Column("moment_pk", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Boolean(), nullable=False),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("tokens", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("moment_pk", "seq", "n", name="pk_answer_facts"),
        sqlite_with_rowid=False,
    )
    _fill_from_stored_snapshots()


def _fill_from_stored_snapshots() -> None:
    # Imported here: the backfill derives the facts with the same rule as every write.
    from moments_core.mdl import parse_occurrences
    from moments_core.store.answer_facts import facts_of

    conn = op.get_bind()
    snapshots = sa.table("snapshots", sa.column("seq"), sa.column("moment_pk"),
                         sa.column("added"), sa.column("annotations_yaml"))
    facts = sa.table("answer_facts", *(sa.column(c) for c in (
        "moment_pk", "seq", "n", "rejected", "chars", "provider", "model", "latency_ms",
        "tokens")))
    c = snapshots.c
    after = -1
    while True:
        rows = conn.execute(
            sa.select(c.seq, c.moment_pk, c.added, c.annotations_yaml)
            .where(c.seq > after,
                   sa.or_(c.added.contains("Self: "), c.added.contains("Rejected: ")))
            .order_by(c.seq).limit(_BATCH)
        ).all()
        if not rows:
            return
        values: list[dict[str, Any]] = []
        for seq, moment_pk, added, notes in rows:
            for n, fact in enumerate(facts_of(parse_occurrences(added), notes or "")):
                values.append({"moment_pk": moment_pk, "seq": seq, "n": n,
                               "rejected": fact.rejected, "chars": fact.chars,
                               "provider": fact.provider, "model": fact.model,
                               "latency_ms": fact.latency_ms, "tokens": fact.tokens})
        if values:
            conn.execute(sa.insert(facts), values)
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_table("answer_facts")
