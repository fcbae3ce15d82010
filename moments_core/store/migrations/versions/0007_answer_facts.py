"""Answer facts (issue 14, item 15): each snapshot row that appends agent answers keeps
their lengths in ``snapshots.answers`` (``moments_core/store/answer_facts.py``), so the
Insights page reads two short columns instead of parsing every stored line of MDL.

A column, not a table of its own: a row per answer would cost Postgres 24 bytes of tuple
header and an index entry each, more than half again the conversation's text. The column
is NULL (nothing stored) on the rows without answers.

The column is filled from the snapshots already stored: each row's appended MDL is parsed
once, here, a batch at a time. On Postgres the updated rows are written anew (the old
versions are reclaimed by the next VACUUM).

Revision ID: 0007_answer_facts
Revises: 0006_merge_heads
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_answer_facts"
down_revision = "0006_merge_heads"
branch_labels = None
depends_on = None

_BATCH = 5_000


def upgrade() -> None:
    op.add_column("snapshots", sa.Column("answers", sa.Text(), nullable=True))
    _fill_from_stored_snapshots()


def _fill_from_stored_snapshots() -> None:
    # Imported here: the backfill derives the facts with the same rule as every write.
    from moments_core.mdl import parse_occurrences
    from moments_core.store.answer_facts import encode_answers, facts_of

    conn = op.get_bind()
    snapshots = sa.table("snapshots", sa.column("seq"), sa.column("moment_pk"),
                         sa.column("added"), sa.column("annotations_yaml"),
                         sa.column("answers"))
    c = snapshots.c
    update = (sa.update(snapshots)
              .where(c.moment_pk == sa.bindparam("pk"), c.seq == sa.bindparam("s"))
              .values(answers=sa.bindparam("a")))
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
        values = []
        for seq, moment_pk, added, notes in rows:
            answers = encode_answers(facts_of(parse_occurrences(added), notes or ""))
            if answers is not None:
                values.append({"pk": moment_pk, "s": seq, "a": answers})
        if values:
            conn.execute(update, values)
        after = rows[-1][0]


def downgrade() -> None:
    # Plain SQL: SQLite (3.35 and later) and Postgres both drop a column in place, where
    # Alembic's SQLite path would copy the whole table.
    op.execute("ALTER TABLE snapshots DROP COLUMN answers")
