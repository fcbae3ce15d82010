"""Run the dashboard (``streamlit run serve.py``) in this process, with a test handle on the
local model's locks.

Browser tests need "another caller has the model" and "the model is still loading" to
last as long as they look. This script holds the real locks of
``moments_core.providers.local`` while a file exists, exactly as a second tab's turn or the
first load would hold them, and starts Streamlit in the same process (so the pages share
those locks):

    HOLD_DIR/hold-load   held: the model loader's lock (nothing can load the model)
    HOLD_DIR/hold-model  held: the default model's generation lock, counted as a caller

Usage: python tests/dashboard_server.py HOLD_DIR [streamlit run options...]
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from moments_core.providers import local

ROOT = Path(__file__).resolve().parents[1]


def _hold_while(flag: Path) -> None:
    while flag.exists():
        time.sleep(0.05)


def _control(folder: Path) -> None:
    load_flag, model_flag = folder / "hold-load", folder / "hold-model"
    while True:
        if load_flag.exists():
            with local._load_lock:
                (folder / "holding-load").touch()
                _hold_while(load_flag)
            (folder / "holding-load").unlink()
        if model_flag.exists():
            path = local.default_model_path()
            _, lock = local.load_model(path)
            with local._in_queue(local._model_key(path, local.DEFAULT_N_CTX), lock):
                (folder / "holding-model").touch()
                _hold_while(model_flag)
            (folder / "holding-model").unlink()
        time.sleep(0.05)


def main() -> None:
    folder = Path(sys.argv[1])
    threading.Thread(target=_control, args=(folder,), daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "serve.py"), *sys.argv[2:]]
    cli.main()


if __name__ == "__main__":
    main()
