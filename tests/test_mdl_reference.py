"""Compatibility with the MDL files of the system Moments re-imagines.

They are outside data: read from ../shared/reference when present, never copied here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from moments_core import mdl

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mdl"
FILES = sorted(REFERENCE.glob("*.mdl")) if REFERENCE.is_dir() else []

pytestmark = [
    pytest.mark.reference,
    pytest.mark.skipif(not FILES, reason=f"{REFERENCE} is absent"),
]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_reference_file_parses_and_canonical_ones_round_trip(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parsed = mdl.parse(text)
    canonical = parsed.to_mdl()
    # Every reference file here is already canonical; a file that is not must at least
    # normalise to a fixed point.
    assert mdl.parse(canonical).to_mdl() == canonical
    assert canonical == text, f"{path.name} does not round-trip byte for byte"
    if path.name.startswith("snapshot-"):
        assert isinstance(parsed, mdl.Snapshot)
    moment = parsed.moment if isinstance(parsed, mdl.Snapshot) else parsed
    assert any(isinstance(o, mdl.Self) for o in moment.occurrences)
