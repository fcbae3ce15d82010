"""The dashboard as an ASGI app: ``streamlit run serve.py`` (what ``make run`` and the image
start). It runs ``app.py`` unchanged and adds one guard in front of Streamlit's server.

Streamlit answers ``/_stcore/metrics`` (sessions, caches, memory) to anyone, and has no
setting to turn it off; here it needs the dashboard password as a bearer token, and is off
when no password is set.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
from starlette.middleware import Middleware

from moments_core.auth import secret_matches

METRICS_PATH = "/_stcore/metrics"


def _password() -> str:
    from dashboard.common import settings

    return settings().dashboard_password


class MetricsGate:
    """ASGI middleware: ``/_stcore/metrics`` only with ``Authorization: Bearer <password>``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and str(scope.get("path", "")).rstrip("/").endswith(
                METRICS_PATH):
            password = _password()
            given = dict(scope.get("headers") or []).get(b"authorization", b"").decode(
                "latin-1")
            token = given[7:] if given.lower().startswith("bearer ") else ""
            if not password or not token or not secret_matches(token, password):
                status = 401 if password else 404
                body = (b"metrics need the dashboard password (Authorization: Bearer ...)"
                        if password else b"not found")
                await send({"type": "http.response.start", "status": status,
                            "headers": [(b"content-type", b"text/plain"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


app = st.App(Path(__file__).with_name("app.py"), middleware=[Middleware(MetricsGate)])
