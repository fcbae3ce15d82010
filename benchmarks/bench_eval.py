"""Evaluation runner figures.

- framework overhead per scenario turn: the instant provider (no model), a SQLite store on
  disk; everything a turn costs besides the model (render, repair, two snapshot writes,
  checks, the run record). Target < 5 ms.
- scenario-turns per second with the embedded local model (one lane: it serialises).
- scenario-turns per second on a remote-style provider: a local server speaking OpenAI's
  wire format that waits 200 ms per answer, with 1 lane and with 8. Target >= 6x.

    .venv/bin/python benchmarks/bench_eval.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from figures import record

from moments_core.evals import EvalRunner, RunRecord, parse_suite
from moments_core.settings import Settings
from moments_core.store import open_store

CONFIG = """\
mdl: "0.3"
kind: Agent
id: bench
variant: "{variant}"
provider: {provider}
model: {model}
{extra}mode: chat
params: {{temperature: 0.0, max_tokens: 24}}
init: |
  Instructions: '''
  You are a friendly barista at the cafe 'ISO Ikigai'. Answer in one short sentence.
  '''
  Begin.
"""
LINES = ["Hi, a small espresso please.", "It's for Ana.", "That's all, thanks.",
         "Do you have oat milk?"]


def suite_text(variant: str, scenarios: int, lines: int, concurrency: int) -> str:
    out = [f"name: bench\nvariants: [bench-{variant}]\nconcurrency: {concurrency}\nscenarios:"]
    for i in range(scenarios):
        out.append(f"  - name: s{i}\n    script: {json.dumps(LINES[:lines])}\n"
                   "    assert: [{max_chars: 400}, {no_repeat: true}, {not_contains: '$'}]")
    return "\n".join(out) + "\n"


STORE_CALLS = ("save_moment", "save_snapshot", "get_snapshot", "save_eval_run",
               "save_config_version", "get_config_version", "add_feedback")


def run(folder: Path, variant: str, scenarios: int, lines: int, lanes: int,
        url: str = "") -> tuple[float, float, RunRecord]:
    """Wall seconds, CPU seconds of the process outside the log store's calls, the record."""
    settings = replace(Settings(), configs_dir=folder)
    store = open_store(url or f"sqlite:///{folder / f'{variant}-{lanes}.db'}", settings)
    in_store = [0.0]

    def timed(fn: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                in_store[0] += time.process_time() - t
        return call

    for name in STORE_CALLS:  # the instance attribute shadows the method for every caller
        setattr(store, name, timed(getattr(store, name)))
    text = suite_text(variant, scenarios, lines, lanes)
    runner = EvalRunner(parse_suite(text), store, suite_text=text, settings=settings)
    started, cpu = time.perf_counter(), time.process_time()
    rec = runner.run()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    store.close()
    return seconds, cpu - in_store[0], rec


def turns_of(rec: RunRecord) -> int:
    return sum(len(c.turns) for c in rec.cases)


# --- a remote-style model: OpenAI's wire format, 200 ms per answer --------------------------
def slow_server(delay_s: float) -> tuple[str, ThreadingHTTPServer]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length") or 0))
            time.sleep(delay_s)
            events = [{"choices": [{"index": 0, "delta": {"role": "assistant",
                                                          "content": "Sure, coming up!"},
                                    "finish_reason": None}]},
                      {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}]
            body = "".join(f"data: {json.dumps({'id': 'x', 'object': 'chat.completion.chunk', 'created': 0, 'model': 'm', **e})}\n\n"  # noqa: E501
                           for e in events) + "data: [DONE]\n\n"
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.end_headers()
            self.wfile.write(body.encode())
            self.close_connection = True

    class Server(ThreadingHTTPServer):
        daemon_threads = True

    httpd = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    return f"http://127.0.0.1:{httpd.server_address[1]}/v1", httpd


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer scenarios")
    parser.add_argument("--no-local", action="store_true", help="skip the local model")
    parser.add_argument("--url", default="", help="the log store for the lanes figures "
                        "(e.g. postgresql+psycopg://...; default a SQLite file)")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "Agent-bench-instant.yaml").write_text(
            CONFIG.format(variant="instant", provider="instant", model="echo", extra=""))
        n = 10 if args.quick else 40
        run(folder, "instant", 2, 2, 1)  # warm-up: imports, migrations, first writes
        seconds, cpu, rec = run(folder, "instant", n, 4, 1)
        turns = turns_of(rec)
        rows.append(("framework overhead per scenario turn, CPU (instant provider; runner, "
                     "agent turn, checks, record; log writes excluded; target < 5 ms)",
                     f"{cpu / turns * 1000:.2f} ms ({turns} turns)"))
        rows.append(("the same turn, wall clock, with its log writes (SQLite file, "
                     "2 snapshots a turn)", f"{seconds / turns * 1000:.2f} ms"))

        url, httpd = slow_server(0.2)
        (folder / "Agent-bench-remote.yaml").write_text(CONFIG.format(
            variant="remote", provider="openai", model="m", extra=f"base_url: {url}\n"))
        m = 8 if args.quick else 24
        one_s, _, one = run(folder, "remote", m, 2, 1, args.url)
        eight_s, _, eight = run(folder, "remote", m, 2, 8, args.url)
        httpd.shutdown()
        one_rate, eight_rate = turns_of(one) / one_s, turns_of(eight) / eight_s
        where = "Postgres" if args.url.startswith("postgres") else "SQLite"
        rows.append((f"scenario-turns/s, remote-style provider (200 ms), 1 lane, {where} log",
                     f"{one_rate:.2f} turns/s"))
        rows.append((f"scenario-turns/s, remote-style provider (200 ms), 8 lanes, {where} log",
                     f"{eight_rate:.2f} turns/s ({eight_rate / one_rate:.1f}x one lane; "
                     "target >= 6x)"))
        if not args.no_local:
            (folder / "Agent-bench-local.yaml").write_text(CONFIG.format(
                variant="local", provider="local", model="smollm2-135m-instruct", extra=""))
            run(folder, "local", 1, 1, 1)  # loads the model
            seconds, _, rec = run(folder, "local", 2 if args.quick else 3, 2, 4)
            rows.append(("scenario-turns/s, local model (1 lane: it serialises)",
                         f"{turns_of(rec) / seconds:.2f} turns/s ({rec.lanes_note})"))

    record("bench_eval", rows, title="Evaluation runner")


if __name__ == "__main__":
    main()
