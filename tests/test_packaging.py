"""Installable parts: a fresh virtualenv with only the core dependencies runs the core
commands, and a command needing an extra says which one in one line.

Offline and quick: the core's wheels are built once into ``.venv/wheels-core`` (``make``
does it; the test does it when missing), the package's own wheel from this tree each
time, and the fresh venv installs from those with ``--no-index``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from moments_core.store.synthetic import agent_info, conversation

ROOT = Path(__file__).resolve().parents[1]
WHEELS = ROOT / ".venv" / "wheels-core"
HEAVY = ("streamlit", "torch", "llama_cpp", "fastapi", "trl", "boto3", "psycopg", "pandas")

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True,  # type: ignore[call-overload]
                          timeout=120, check=False, **kw)


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("core")
    pip = [sys.executable, "-m", "pip"]
    if not WHEELS.is_dir() or not any(WHEELS.glob("*.whl")):
        done = _run(*pip, "wheel", "-q", "-w", WHEELS, ROOT)
        assert done.returncode == 0, done.stderr[-2000:]
    own = tmp / "own"
    done = _run(*pip, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", own, ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    # This venv's pip installs into the new one: no pip (or setuptools) needed there.
    done = _run(*pip, "--python", python, "install", "-q", "--no-index", "--no-compile",
                "--find-links", own, "--find-links", WHEELS, "moments")
    assert done.returncode == 0, done.stderr[-2000:]
    return env_dir


def _env(tmp: Path) -> dict[str, str]:
    configs = tmp / "configs"
    configs.mkdir(exist_ok=True)
    shipped = (ROOT / "configs" / "Agent-cafebot-01.yaml").read_text(encoding="utf-8")
    (configs / "Agent-cafebot-01.yaml").write_text(shipped, encoding="utf-8")
    instant = shipped.replace("provider: local", "provider: instant").replace(
        'variant: "01"', 'variant: "instant"')
    (configs / "Agent-cafebot-instant.yaml").write_text(instant, encoding="utf-8")
    keep = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTS_")}
    return {**keep, "MOMENTS_DATA_DIR": str(tmp), "MOMENTS_CONFIGS_DIR": str(configs),
            "MOMENTS_DB_URL": f"sqlite:///{tmp / 'm.db'}", "HF_HUB_OFFLINE": "1"}


def test_core_install_runs_the_core_commands(core_venv: Path, tmp_path: Path) -> None:
    python = core_venv / "bin" / "python"
    moments = core_venv / "bin" / "moments"
    missing = _run(python, "-c", "import importlib.util as u; print([m for m in "
                   f"{list(HEAVY)!r} if u.find_spec(m)])")
    assert missing.stdout.strip() == "[]", "the core pulled in an extra's package"
    env = _env(tmp_path)

    mdl = _run(moments, "mdl", "check", ROOT / "tests" / "data" / "canonical.mdl", env=env)
    assert mdl.returncode == 0, mdl.stderr

    older = tmp_path / "older"
    older.mkdir()
    snaps = conversation(2, agent_info("packaging"))
    for s in snaps:
        d = s.to_dict()
        d["__agent_info"] = {"kind": "Agent", "id": "cafebot", "variant": "01"}
        (older / f"{s.id}.json").write_text(json.dumps(d), encoding="utf-8")
    imported = _run(moments, "import", older, env=env)
    assert imported.returncode == 0, imported.stderr
    assert f"imported {len(snaps)}," in imported.stdout

    chat = _run(moments, "chat", "Agent", "cafebot", "instant", input="Hello there\n/quit\n",
                env=env)
    assert chat.returncode == 0, chat.stderr

    out = tmp_path / "sft.jsonl"
    built = _run(moments, "build-dataset", "all", "all", "all", "--format", "sft",
                 "--out", out, env=env)
    assert built.returncode == 0, built.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    said = [m["content"] for r in rows for m in r["messages"]]
    assert any("Hello there" in c for c in said), said  # the chat's turn is in the data


def test_a_missing_extra_is_one_line_naming_it(core_venv: Path, tmp_path: Path) -> None:
    moments = core_venv / "bin" / "moments"
    env = _env(tmp_path)
    api = _run(moments, "serve-api", env=env)
    assert api.returncode == 1
    assert api.stderr.strip().splitlines() == [api.stderr.strip()]  # one line, no traceback
    assert "pip install 'moments[api]'" in api.stderr
    local = _run(moments, "chat", "Agent", "cafebot", "01", input="Hi\n/quit\n", env=env)
    assert local.returncode == 1
    assert "pip install 'moments[local]'" in local.stderr
    assert "Traceback" not in local.stderr
