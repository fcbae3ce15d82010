"""The dashboard server over plain HTTP (issue 12 item 13): Streamlit's metrics endpoint is
not readable without the dashboard password."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.fixtures_browser import Dashboard, start_dashboard, stop_dashboard

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    dash = start_dashboard(tmp_path_factory.mktemp("http"),
                           env={"MOMENTS_DASHBOARD_PASSWORD": "open sesame"})
    yield dash
    stop_dashboard(dash)


def _status(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_metrics_need_the_dashboard_password(locked: Dashboard) -> None:
    assert _status(f"{locked.url}/_stcore/health")[0] == 200
    status, body = _status(f"{locked.url}/_stcore/metrics")
    assert status == 401 and b"session" not in body
    assert _status(f"{locked.url}/_stcore/metrics/", {"Authorization": "Bearer wrong"})[0] == 401
    status, body = _status(f"{locked.url}/_stcore/metrics",
                           {"Authorization": "Bearer open sesame"})
    assert status == 200 and body
