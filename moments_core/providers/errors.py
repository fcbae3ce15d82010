"""Errors a provider raises; messages never contain an API key."""

from __future__ import annotations

from moments_core.logscrub import scrub as _scrub


class ProviderError(RuntimeError):
    """A model call that failed for good (bad request, bad key, unknown model...)."""


class TransientProviderError(ProviderError):
    """A failure worth retrying: a timeout, a rate limit (429) or a server error (5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MissingKeyError(ProviderError):
    """No API key configured; the message names the environment variable to set."""


class ProviderUnavailable(ProviderError):
    """The back end's package or model file is not installed here."""


def scrub(message: str, *secrets: str) -> str:
    """The message with ``secrets`` and every registered secret replaced, so an echoed key
    never reaches a log (the one scrubber, ``moments_core.logscrub``)."""
    return _scrub(message, *secrets)
