"""`moments mdl ...`: check, format and convert MDL files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from moments_core.mdl import MDLSyntaxError, Moment, Snapshot, from_dict, parse

mdl_app = typer.Typer(help="Check, format and convert MDL files.", no_args_is_help=True)


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    # newline="" keeps \r inside strings as written; MDL lines end at \n only.
    with open(path, encoding="utf-8", newline="") as fh:
        return fh.read()


def _parse_file(path: str) -> Moment | Snapshot:
    try:
        return parse(_read(path))
    except MDLSyntaxError as err:
        typer.echo(f"{path}:{err}", err=True)
        raise typer.Exit(1) from None
    except (OSError, UnicodeDecodeError) as err:
        typer.echo(f"{path}: cannot read: {err}", err=True)
        raise typer.Exit(1) from None


@mdl_app.command("check")
def check(files: list[str] = typer.Argument(..., help="MDL files, or - for stdin")) -> None:
    """Exit 0 when every file parses; else print FILE:LINE:COL: message for each bad one."""
    bad = 0
    for path in files:
        try:
            parse(_read(path))
        except MDLSyntaxError as err:
            typer.echo(f"{path}:{err}")
            bad += 1
        except (OSError, UnicodeDecodeError) as err:
            typer.echo(f"{path}:0:0: cannot read: {err}")
            bad += 1
    if bad:
        raise typer.Exit(1)


@mdl_app.command("fmt")
def fmt(
    file: str = typer.Argument(..., help="an MDL file, or - for stdin"),
    in_place: bool = typer.Option(False, "--in-place", "-i", help="rewrite the file"),
) -> None:
    """Print the canonical text (or rewrite the file with --in-place)."""
    text = _parse_file(file).to_mdl()
    if in_place and file != "-":
        Path(file).write_text(text, encoding="utf-8", newline="")
    else:
        sys.stdout.write(text)


@mdl_app.command("json")
def to_json(file: str = typer.Argument(..., help="an MDL file, or - for stdin")) -> None:
    """Print the dict face (the older JSON) of a moment or snapshot."""
    typer.echo(json.dumps(_parse_file(file).to_dict(), ensure_ascii=False, indent=2))


@mdl_app.command("from-json")
def from_json(file: str = typer.Argument(..., help="a JSON file, or - for stdin")) -> None:
    """Print the canonical MDL of a moment or snapshot given as JSON."""
    try:
        data = json.loads(_read(file))
        obj = from_dict(data)
    except json.JSONDecodeError as err:
        typer.echo(f"{file}:{err.lineno}:{err.colno}: invalid JSON: {err.msg}", err=True)
        raise typer.Exit(1) from None
    except (ValueError, MDLSyntaxError) as err:
        typer.echo(f"{file}: {err}", err=True)
        raise typer.Exit(1) from None
    sys.stdout.write(obj.to_mdl())
