"""Alembic environment and revisions of the log store schema (applied on open)."""
