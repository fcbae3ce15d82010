"""`moments mdl` commands, run as a real subprocess like a user would."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CANONICAL = Path(__file__).with_name("data") / "canonical.mdl"


def moments(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "moments_core.cli", *args],
        input=stdin, capture_output=True, text=True, timeout=60, check=False,
    )


def test_check_passes_good_files_and_reports_bad_ones(tmp_path: Path) -> None:
    good = tmp_path / "good.mdl"
    good.write_text('Begin.\nSelf: "Hi"\n')
    bad = tmp_path / "bad.mdl"
    bad.write_text('Begin.\nSelf: "Hi"\nCustomer: """never\n')
    ok = moments("mdl", "check", str(good), str(CANONICAL))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    res = moments("mdl", "check", str(good), str(bad))
    assert res.returncode == 1
    assert res.stdout.strip() == f'{bad}:3:11: unterminated """ string started here'


def test_fmt_prints_canonical_text_and_rewrites_in_place(tmp_path: Path) -> None:
    f = tmp_path / "old.mdl"
    f.write_text("Instructions: Be nice.\nBegin.\nSelf: Hello\n")
    expected = "Instructions: '''\nBe nice.\n'''\nBegin.\nSelf: \"Hello\"\n"
    res = moments("mdl", "fmt", str(f))
    assert res.returncode == 0 and res.stdout == expected
    assert f.read_text() != expected
    assert moments("mdl", "fmt", "--in-place", str(f)).returncode == 0
    assert f.read_text() == expected


def test_json_and_back_through_stdin() -> None:
    text = CANONICAL.read_text(encoding="utf-8")
    as_json = moments("mdl", "json", "-", stdin=text)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["occurrences"][4] == {
        "kind": "Self", "content": {"emotion": "😊", "says": "Good morning! What can I get you?"}
    }
    back = moments("mdl", "from-json", "-", stdin=as_json.stdout)
    assert back.returncode == 0, back.stderr
    assert back.stdout == text


def test_snapshots_are_recognised_by_their_header(tmp_path: Path) -> None:
    snap = (
        "# Moment ID: m\n# Snapshot ID: s\n# Timestamp: 2026-11-24T08:15:30+00:00\n"
        'Begin.\nSelf: "Hi"\n'
    )
    res = moments("mdl", "json", "-", stdin=snap)
    data = json.loads(res.stdout)
    assert data["id"] == "s" and data["moment_id"] == "m"
    assert data["moment"]["occurrences"][1]["content"]["says"] == "Hi"
    assert moments("mdl", "from-json", "-", stdin=res.stdout).stdout == snap


def test_from_json_reports_bad_input() -> None:
    res = moments("mdl", "from-json", "-", stdin='{"occurrences": [{"kind": "Nope"}]}')
    assert res.returncode == 1
    assert "occurrences[0]: unknown occurrence kind 'Nope'" in res.stderr
    res = moments("mdl", "from-json", "-", stdin="{not json")
    assert res.returncode == 1 and "invalid JSON" in res.stderr
