"""The log store: every snapshot kept, as trees, in SQL (SQLite, Postgres) or S3.

``open_store()`` gives the store the settings describe: a SQL store on
``MOMENTS_DB_URL`` (a SQLite file under the data folder by default), an S3 store when the
URL is ``s3://bucket/prefix``, and a SQL store mirrored to S3 when ``MOMENTS_S3_MIRROR=1``.
"""

from __future__ import annotations

from moments_core.extras import needs_extra
from moments_core.settings import Settings, get_settings

from .base import (
    ConfigVersion,
    Feedback,
    LogStore,
    MomentDeleted,
    MomentFilter,
    MomentInfo,
    MomentSummary,
    NotFound,
    StoreError,
    StoreUnavailable,
    TreeNode,
)


def open_store(url: str | None = None, settings: Settings | None = None) -> LogStore:
    """The configured store; ``url`` (a SQLAlchemy URL or ``s3://bucket/prefix``) overrides
    the settings' database URL."""
    from .sql import SqlStore

    settings = settings or get_settings()
    url = url or settings.database_url
    if url.startswith("s3://") or settings.s3_mirror:
        with needs_extra("s3"):  # S3 is an optional part (pip install 'moments[s3]')
            from .mirror import MirroredStore
            from .s3 import S3Store
            from .s3client import make_client
    if url.startswith("s3://"):
        bucket, _, prefix = url[len("s3://"):].partition("/")
        return S3Store(settings, bucket=bucket, prefix=prefix or settings.s3_prefix)
    sql = SqlStore(url)
    if settings.s3_mirror:
        if not settings.s3_bucket:
            raise StoreError("MOMENTS_S3_MIRROR is on but MOMENTS_S3_BUCKET is not set")
        return MirroredStore(sql, S3Store(settings, client=make_client(settings, fail_fast=True)))
    return sql


__all__ = [
    "ConfigVersion",
    "Feedback",
    "LogStore",
    "MomentDeleted",
    "MomentFilter",
    "MomentInfo",
    "MomentSummary",
    "NotFound",
    "StoreError",
    "StoreUnavailable",
    "TreeNode",
    "open_store",
]
