"""The `hotline` Typer app and the settings every command shares."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

from agent_desk.settings import Settings, SettingsError, load_settings

app = typer.Typer(no_args_is_help=True, help="12345 hotline contact center.", pretty_exceptions_enable=False)


def settings() -> Settings:
    """Load settings or stop with a message naming each bad setting."""
    try:
        return load_settings()
    except SettingsError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None


def emit_json(value: Any) -> None:
    json.dump(value, sys.stdout, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
