"""Say which store is in use, for people, without any secret in it."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from moments_core.settings import Settings


def describe_store(settings: Settings) -> str:
    """E.g. ``SQLite file data/moments.db``, ``Postgres db@host:5432``, ``S3 bucket x``."""
    url = settings.database_url
    if url.startswith("s3://"):
        text = f"S3 {url.split('?')[0]}"
    else:
        try:
            parsed = make_url(url)
        except Exception:  # noqa: BLE001 - a malformed URL is shown only by its scheme
            text = f"database ({url.split(':', 1)[0]})"
        else:
            backend = parsed.get_backend_name()
            if backend == "sqlite":
                text = f"SQLite file {parsed.database or ':memory:'}"
            else:
                name = {"postgresql": "Postgres"}.get(backend, backend)
                port = f":{parsed.port}" if parsed.port else ""
                text = f"{name} {parsed.database or ''}@{parsed.host or 'localhost'}{port}"
    if settings.s3_mirror and settings.s3_bucket:
        text += f", mirrored to S3 bucket {settings.s3_bucket}"
    return text
