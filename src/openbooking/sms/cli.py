"""`openbooking sms ...`: what the outbox sender wrote, for development and tests."""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from openbooking.config import Settings
from openbooking.sms.outbox import read_outbox

app = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
ESCAPES = str.maketrans({"\n": "\\n", "\r": "\\r", "\t": "\\t"})


def _fail(message: str) -> NoReturn:
    typer.echo(f"openbooking: error: {message.splitlines()[0]}", err=True)
    raise typer.Exit(1)


@app.callback()
def sms() -> None:
    """SMS messages written by the outbox sender."""


@app.command()
def outbox(
    phone: Annotated[
        str | None, typer.Option(help="Only messages to this number (spaces, dashes ignored).")
    ] = None,
    last: Annotated[bool, typer.Option("--last", help="Only the newest message.")] = False,
) -> None:
    """Print messages oldest first: created_at, to, location_id, text (tab-separated)."""
    try:
        path = Settings().outbox_path()
    except ValueError as exc:
        _fail(f"bad OPENBOOKING_* setting: {exc}")
    try:
        records = read_outbox(path, phone=phone, last=last)
    except OSError as exc:
        _fail(f"{path}: {exc.strerror or exc}")
    except ValueError as exc:
        _fail(str(exc))
    for record in records:
        text = str(record["text"]).translate(ESCAPES)
        typer.echo(f"{record['created_at']}\t{record['to']}\t{record['location_id']}\t{text}")
