"""The `moments` command. Each area registers its own command group here."""

from __future__ import annotations

import typer

from moments_core.mdl_cli import mdl_app

app = typer.Typer(
    help="Moments: agents written in MDL - chat, log, browse, export, fine-tune.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(mdl_app, name="mdl")

# Command groups of the other areas are added below (one line each).


def main() -> None:
    app()


if __name__ == "__main__":
    main()
