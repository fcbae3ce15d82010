"""`moments chat` and `moments agents list|check`."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, TextIO

import typer

from moments_core.mdl import Self, Snapshot
from moments_core.providers import ProviderError

from .config import ConfigError, load_config_file
from .names import InvalidName, check_key
from .registry import config_files, default_key, split_name
from .runtime import Agent, AgentError, TurnEvent, TurnFailed, TurnResult

agents_app = typer.Typer(help="Agent variants: list them, check config files.",
                         no_args_is_help=True)

HELP = "/regen: a new answer for the last one  /new: a new moment  /mdl: show the moment  /quit"


@agents_app.command("list")
def list_agents(
    store_url: Annotated[str | None, typer.Option("--store", help="log store URL")] = None,
) -> None:
    """The variants in configs/ with provider, model, mode and newest stored version."""
    from moments_core.store import open_store

    store = open_store(store_url)
    try:
        default = default_key()
        typer.echo(f"{'VARIANT':34} {'PROVIDER':13} {'MODEL':26} {'MODE':11} VERSION")
        for path in config_files():
            try:
                c = load_config_file(path)
            except ConfigError:
                typer.echo(f"{path.stem:34} (invalid: run `moments agents check {path}`)")
                continue
            versions = store.list_config_versions(*c.key)
            version = str(versions[-1].version) if versions else "1 (file)"
            mark = " (default)" if c.key == default else ""
            typer.echo(f"{c.name:34} {c.provider:13} {c.model:26} {c.mode:11} {version}{mark}")
    finally:
        store.close()


@agents_app.command("check")
def check(files: Annotated[list[Path], typer.Argument(help="config files to validate")]) -> None:
    """Validate config files; prints the file and field of every error, exit 1 if any."""
    bad = 0
    for path in files:
        try:
            c = load_config_file(path)
        except ConfigError as err:
            bad += 1
            for p in err.problems:
                typer.echo(f"{path}: {p.field}: {p.message}", err=True)
            continue
        typer.echo(f"{path}: ok ({c.name}, {c.provider}, {c.mode})")
    if bad:
        raise typer.Exit(1)


def _lines(stream: TextIO, prompt: str) -> Iterator[str]:
    """Input lines: prompted at a terminal, one per line from a pipe."""
    if stream.isatty():
        while True:
            try:
                yield input(prompt)
            except EOFError:
                return
    else:
        for line in stream:
            yield line.rstrip("\r\n")


def _show(events: Iterator[TurnEvent], out: TextIO) -> TurnResult:
    """Stream the agent's text, then fix up the line if repair changed it."""
    out.write("Self: ")
    out.flush()
    shown = ""
    result: TurnResult | None = None
    for item in events:
        if isinstance(item, str):
            shown += item
            out.write(item)
            out.flush()
        else:
            result = item
    if result is None:  # pragma: no cover - the runtime always ends with a result
        raise AgentError("no answer")
    says = result.occurrence.says
    if says.startswith(shown):
        out.write(says[len(shown):])
    else:
        out.write(f"\n  (kept as: {says})")
    out.write("\n")
    out.flush()
    return result


def chat(
    kind: Annotated[str | None, typer.Argument(metavar="[KIND ID VARIANT]",
                                               help="e.g. Agent cafebot 01")] = None,
    agent_id: Annotated[str | None, typer.Argument(metavar="", show_default=False)] = None,
    variant: Annotated[str | None, typer.Argument(metavar="", show_default=False)] = None,
    store_url: Annotated[str | None, typer.Option("--store", help="log store URL")] = None,
    version: Annotated[int | None, typer.Option(help="config version (default: newest)")] = None,
) -> None:
    """Chat with an agent in the terminal (streamed, logged). Reads a pipe one line per
    turn, so it can be scripted. Commands: /regen /new /mdl /quit."""
    from moments_core.store import open_store

    try:  # a name from the command line is checked before it names a file
        if kind and agent_id is None:
            key = split_name(kind)
        elif kind and agent_id and variant is None:
            key = check_key("Agent", kind, agent_id)
        elif kind and agent_id and variant:
            key = check_key(kind, agent_id, variant)
        else:
            key = default_key()
    except ValueError as err:
        typer.echo(f"cannot start: {err}", err=True)
        raise typer.Exit(2) from None
    store = open_store(store_url)
    try:
        try:
            agent = Agent.from_name(*key, store=store, version=version)
        except (ConfigError, FileNotFoundError, ProviderError, InvalidName) as err:
            typer.echo(f"cannot start {'-'.join(key)}: {err}", err=True)
            raise typer.Exit(1) from None
        c = agent.config
        typer.echo(f"{c.name} ({c.provider} {c.model}, {c.mode} mode, config v"
                   f"{agent.config_version}). {HELP}", err=True)
        _loop(agent, sys.stdin, sys.stdout)
    finally:
        store.close()


def _loop(agent: Agent, stdin: TextIO, out: TextIO) -> None:
    who = agent.config.participant
    piped = not stdin.isatty()
    snap: Snapshot = agent.start()
    for line in _lines(stdin, f"{who}: "):
        text = line.strip()
        if not text:
            continue
        if text == "/quit":
            break
        if text == "/new":
            snap = agent.start()
            typer.echo(f"(new moment {snap.moment_id})", err=True)
            continue
        if text == "/mdl":
            out.write(snap.moment.to_mdl())
            out.flush()
            continue
        if text.startswith("/") and text not in ("/regen",):
            typer.echo(HELP, err=True)
            continue
        try:
            if text == "/regen":
                last = snap.moment.occurrences[-1] if snap.moment.occurrences else None
                if not isinstance(last, Self):
                    typer.echo("(nothing to regenerate yet)", err=True)
                    continue
                snap = _show(agent.regenerate(snap), out).snapshot
            else:
                if piped:
                    out.write(f"{who}: {text}\n")
                snap = _show(agent.respond(snap, text), out).snapshot
        except TurnFailed as err:
            out.write("\n")
            typer.echo(f"error: {err}", err=True)
            if err.participant_snapshot is not None:
                snap = err.participant_snapshot
        except AgentError as err:
            typer.echo(f"error: {err}", err=True)
    typer.echo(f"(moment {snap.moment_id} saved)", err=True)
