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
from moments_core.agents.cli import agents_app, chat  # noqa: E402

app.add_typer(agents_app, name="agents")
app.command("chat")(chat)
from moments_core.store.cli import import_command, log_app  # noqa: E402

app.add_typer(log_app, name="log")
app.command("import")(import_command)
from moments_core.corpora.cli import generate_data_app  # noqa: E402

app.add_typer(generate_data_app, name="generate-data")
from moments_core.datasets.cli import build_dataset  # noqa: E402

app.command("build-dataset")(build_dataset)
from moments_core.api.cli import serve_api  # noqa: E402

app.command("serve-api")(serve_api)
from moments_core.finetune.cli import finetune  # noqa: E402

app.command("finetune")(finetune)
from moments_core.evals.cli import eval_app  # noqa: E402

app.add_typer(eval_app, name="eval")


def main() -> None:
    from moments_core.extras import MissingExtra

    try:
        app()
    except MissingExtra as err:  # an optional part not installed: one line, no traceback
        typer.echo(f"error: {err}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
