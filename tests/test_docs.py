"""The docs stay true: README short, every page in the nav, the settings table generated
from the settings object, and every figure printed by a benchmark script, none typed.

``make docs`` builds the site with ``mkdocs build --strict`` (broken links fail); these
checks are the parts a build cannot see.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

from moments_core.settings import settings_table

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# A measured figure: a number with a rate or a duration unit (targets are written as
# "target ..." in a script's own row, so they come from the script too).
FIGURE = re.compile(
    r"\b\d[\d,.]*\s?(?:MB/s|GB/s|kB/s|utterances/s|saves/s|turns/s|tokens/s|steps/s|"
    r"requests/s|req/s|rows/s)\b|\b\d+(?:\.\d+)?\s?ms\b"
)


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def _prose(path: Path) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    out, fenced = [], False
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced:
            out.append((n, line))
    return out


def _nav_files(nav: list[object]) -> list[str]:
    files: list[str] = []
    for item in nav:
        if isinstance(item, dict):
            for value in item.values():
                files += _nav_files(value) if isinstance(value, list) else [str(value)]
        else:
            files.append(str(item))
    return files


def _hooks() -> object:
    spec = importlib.util.spec_from_file_location("docs_hooks", DOCS / "hooks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_is_short_and_its_links_resolve() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) < 300
    assert "make run" in text and "make test" in text
    for target in re.findall(r"\]\(([^)#\s]+)", text):
        if not target.startswith(("http://", "https://")):
            assert (ROOT / target).exists(), f"README links to a missing {target}"


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    nav = _nav_files(config["nav"])
    assert sorted(nav) == sorted(p.name for p in _pages())
    assert config["theme"]["name"] == "material"


def test_settings_table_is_generated_and_typed_nowhere() -> None:
    generated = _hooks().write_settings_table()  # type: ignore[attr-defined]
    assert settings_table().strip() in generated.read_text(encoding="utf-8")
    assert '--8<-- "docs/generated/settings.md"' in (DOCS / "configuration.md").read_text()
    for path in [*_pages(), ROOT / "README.md"]:
        typed = [n for n, line in _prose(path) if re.match(r"\|\s*`MOMENTS_", line)]
        assert not typed, f"{path.name}: a settings table typed by hand at lines {typed}"


def test_every_benchmark_records_its_figures() -> None:
    for script in sorted((ROOT / "benchmarks").glob("bench_*.py")):
        text = script.read_text(encoding="utf-8")
        assert "from figures import record" in text, f"{script.name} does not use record()"
        assert f'"{script.stem}"' in text, f"{script.name} records under another name"


def test_no_figure_is_typed_by_hand() -> None:
    for path in [*_pages(), ROOT / "README.md"]:
        typed = [f"{n}: {line.strip()[:80]}" for n, line in _prose(path) if FIGURE.search(line)]
        assert not typed, f"{path.name} holds figures no script printed:\n" + "\n".join(typed)


def test_every_included_figure_file_comes_from_a_script() -> None:
    included = {m.group(1) for p in _pages()
                for m in re.finditer(r'--8<-- "docs/figures/(\w+)\.md"', p.read_text())}
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("bench_*.py")}
    assert included <= scripts, f"figures without a script: {included - scripts}"
    assert scripts <= included, f"scripts whose figures no page shows: {scripts - included}"
    assert {"bench_mdl", "bench_corpora", "bench_export", "bench_finetune"} <= included
