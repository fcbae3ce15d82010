"""MkDocs hook: write the settings table from the settings object before each build.

The configuration page includes ``docs/generated/settings.md`` (pymdownx.snippets), so the
table is never typed by hand and cannot drift from ``moments_core/settings.py``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "docs" / "generated" / "settings.md"


def write_settings_table() -> Path:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from moments_core.settings import settings_table

    GENERATED.parent.mkdir(parents=True, exist_ok=True)
    text = ("<!-- generated from moments_core/settings.py by docs/hooks.py; do not edit -->\n\n"
            + settings_table().rstrip("\n") + "\n")
    if not GENERATED.is_file() or GENERATED.read_text(encoding="utf-8") != text:
        GENERATED.write_text(text, encoding="utf-8")
    return GENERATED


FIGURE_INCLUDE = re.compile(r'^--8<-- "docs/figures/(bench_\w+)\.md"', re.M)


def missing_figures() -> list[Path]:
    """Figure files the pages include that no benchmark run has written yet."""
    names = {m.group(1) for page in (ROOT / "docs").glob("*.md")
             for m in FIGURE_INCLUDE.finditer(page.read_text(encoding="utf-8"))}
    return [ROOT / "docs" / "figures" / f"{n}.md" for n in sorted(names)
            if not (ROOT / "docs" / "figures" / f"{n}.md").is_file()]


def write_placeholders() -> None:
    """A benchmark never run on this clone gets a line saying so (never a figure)."""
    for path in missing_figures():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"*No figures yet: run `python benchmarks/{path.stem}.py`.*\n",
                        encoding="utf-8")


def on_pre_build(config: Any, **kwargs: Any) -> None:
    write_settings_table()
    write_placeholders()
