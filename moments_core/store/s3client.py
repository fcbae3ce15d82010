"""A boto3 S3 client from settings; credentials come the usual boto3 way (env, profile)."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from moments_core.settings import Settings


def make_client(settings: Settings, *, fail_fast: bool = False) -> Any:
    """``fail_fast`` (the mirror): short timeouts and no retries, so a chat turn never waits
    long for an S3 that is down; the outbox retries later instead."""
    config = Config(
        connect_timeout=2 if fail_fast else 10,
        read_timeout=5 if fail_fast else 60,
        retries={"max_attempts": 1 if fail_fast else 5, "mode": "standard"},
        max_pool_connections=32,
    )
    return boto3.client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        region_name=settings.s3_region or None,
        config=config,
    )
