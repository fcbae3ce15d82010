"""Shared-secret checks for the dashboard gate and the HTTP API.

Comparisons run in constant time (``hmac.compare_digest``) so the time a wrong guess
takes says nothing about how close it was.
"""

from __future__ import annotations

import hmac


def secret_matches(given: str | None, expected: str) -> bool:
    """True when ``given`` equals the configured secret; False when none is configured."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_token(authorization_header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    if not authorization_header:
        return None
    scheme, _, token = authorization_header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
