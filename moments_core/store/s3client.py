"""A boto3 S3 client from settings; credentials come the usual boto3 way (env, profile).

Timeouts and attempts are settings (``MOMENTS_S3_CONNECT_TIMEOUT``, ``..._READ_TIMEOUT``,
``..._MAX_ATTEMPTS``); ``give_up_after_s`` bounds how long one call can wait on an
endpoint that is down or accepts connections and never answers: 14.5 s by default.
"""

from __future__ import annotations

from typing import Any

from moments_core.extras import needs_extra
from moments_core.settings import Settings

# Measured against a socket that accepts and never answers (botocore 1.44): an attempt
# waits up to twice the read timeout, and a PUT about 2 s more once (its 100-continue
# handshake); standard-mode retries back off up to 1 s before the second attempt.
_READS_PER_ATTEMPT = 2
_PUT_HANDSHAKE_S = 2.5
_BACKOFF_S = 1.0


def give_up_after_s(settings: Settings, *, fail_fast: bool = False) -> float:
    """The longest one call waits on an endpoint that is down or never answers."""
    connect, read, attempts = _limits(settings, fail_fast)
    return (attempts * (connect + _READS_PER_ATTEMPT * read) + _PUT_HANDSHAKE_S
            + (attempts - 1) * _BACKOFF_S)


def _limits(settings: Settings, fail_fast: bool) -> tuple[float, float, int]:
    connect, read = settings.s3_connect_timeout_s, settings.s3_read_timeout_s
    attempts = max(1, settings.s3_max_attempts)
    if fail_fast:  # the mirror: the outbox retries later, so one short try is enough
        return min(connect, 2.0), min(read, 5.0), 1
    return connect, read, attempts


def make_client(settings: Settings, *, fail_fast: bool = False) -> Any:
    """``fail_fast`` (the mirror): at most the settings' timeouts, capped at 2 s / 5 s,
    and one attempt, so a background copy never holds on to a dead endpoint."""
    with needs_extra("s3"):
        import boto3
        from botocore.config import Config

    connect, read, attempts = _limits(settings, fail_fast)
    config = Config(
        connect_timeout=connect,
        read_timeout=read,
        retries={"max_attempts": attempts, "mode": "standard"},
        max_pool_connections=32,
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        config=config,
    )
