"""The one scrubber: secrets never reach a log line, whoever logs and whatever they log.

Every secret the process holds is registered here (the settings' secret fields when the
API starts, each provider's API key when the provider is built). ``install()`` sets a
log-record factory, so *every* record, from our loggers or a library's (uvicorn's
"Exception in ASGI application" included), has its message and its formatted traceback
scrubbed before any handler or formatter sees it. Handlers added later (pytest's caplog,
a deployment's JSON logger) need nothing: the record is clean when it is created.
"""

from __future__ import annotations

import logging
import threading
import traceback
from typing import Any

MASK = "***"
MIN_SECRET = 4  # shorter values would blank ordinary words

_secrets: set[str] = set()
_lock = threading.Lock()
_installed = False


def register_secret(*values: str | None) -> None:
    """Remember secrets to scrub from every log line (and from ``scrub``)."""
    added = [v for v in values if v and len(v) >= MIN_SECRET]
    if added:
        with _lock:
            _secrets.update(added)
        install()


def scrub(text: str, *extra: str | None) -> str:
    """``text`` with every registered secret (and each of ``extra``) masked, longest first
    so a secret that contains another is masked whole."""
    found = [s for s in (*_secrets, *extra) if s and len(s) >= MIN_SECRET and s in text]
    for s in sorted(found, key=len, reverse=True):
        text = text.replace(s, MASK)
    return text


class _ScrubbedRecord(logging.LogRecord):
    def getMessage(self) -> str:
        return scrub(super().getMessage())


def _make_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _ScrubbedRecord(*args, **kwargs)
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters only format a traceback when exc_text is empty: fill it, scrubbed.
        record.exc_text = scrub("".join(traceback.format_exception(*record.exc_info)).rstrip())
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)
    return record


def install() -> None:
    """Make every new log record scrub itself (idempotent)."""
    global _installed
    with _lock:
        if _installed:
            return
        logging.setLogRecordFactory(_make_record)
        _installed = True
