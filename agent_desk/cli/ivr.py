"""`hotline prompts build|check|list`: the IVR's voice prompts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent_desk.cli.app import app, emit_json, settings
from ivr.prompts import (
    BuildResult,
    build_beep,
    build_digit_sounds,
    build_prompts,
    catalogue_from_settings,
    missing_sounds,
    sounds_used,
)

prompts_app = typer.Typer(no_args_is_help=True, help="IVR voice prompts (espeak-ng → 8 kHz WAV).")
app.add_typer(prompts_app, name="prompts")

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
SoundsOption = Annotated[Path | None, typer.Option(
    "--sounds-dir", help="Asterisk's sounds directory (default: ivr.prompts.sounds_dir)")]


@prompts_app.command("build")
def build(
    sounds_dir: SoundsOption = None,
    force: Annotated[bool, typer.Option("--force", help="also replace files the builder did not write")] = False,
    only: Annotated[list[str] | None, typer.Option("--only", help="just this prompt id (repeatable)")] = None,
    digits: Annotated[bool, typer.Option(help="also the Mandarin digits/* for SAY DIGITS / SAY NUMBER")] = True,
    json: JsonOption = False,
) -> None:
    """Render every prompt with espeak-ng (voice cmn-latn-pinyin) to 8 kHz mono 16-bit WAV, and the
    beep RECORD FILE plays when Asterisk has none."""
    config = settings().ivr
    catalogue = catalogue_from_settings(config.prompts)
    target = sounds_dir or config.prompts.sounds_dir
    wanted = only or catalogue.ids
    unknown = [pid for pid in wanted if pid not in catalogue.texts]
    if unknown:
        typer.echo(f"unknown prompt id(s): {', '.join(unknown)}", err=True)
        raise typer.Exit(2)
    console = Console(stderr=True)
    with Progress(TextColumn("[bold]prompts[/]"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                  disable=json) as progress:
        everything_asked = only is None
        with_digits = digits and everything_asked
        task = progress.add_task("", total=len(wanted) + (len(catalogue.digits) if with_digits else 0)
                                 + everything_asked)

        def advance(result: BuildResult) -> None:
            progress.update(task, advance=1, description=f"{result.prompt_id} ({result.action})")

        try:
            results = build_prompts(
                catalogue, target, voice=config.prompts.voice, speed=config.prompts.speed,
                values={"hours": config.hours.description}, force=force, only=wanted, on_progress=advance,
            )
            digit_results: list[BuildResult] = []
            if with_digits:
                digit_results = build_digit_sounds(catalogue, target, language=config.prompts.language,
                                              voice=config.prompts.voice, speed=config.prompts.speed,
                                              force=force, on_progress=advance)
            beep = [build_beep(target, force=force, on_progress=advance)] if everything_asked else []
        except OSError as exc:
            typer.echo(f"cannot write prompts under {target}: {exc}", err=True)
            raise typer.Exit(1) from None
    everything = results + digit_results + beep
    failed = [r for r in everything if r.action == "failed"]
    if json:
        emit_json({"directory": str(target / catalogue.directory), "prompts": _rows(results),
                   "digits_directory": str(target / config.prompts.language / "digits") if with_digits else None,
                   "digits": _rows(digit_results), "beep": _rows(beep)[0] if beep else None})
    else:
        counts = {action: sum(r.action == action for r in everything) for action in ("built", "unchanged", "kept")}
        typer.echo(f"{target}: " + ", ".join(f"{n} {a}" for a, n in counts.items())
                   + (f", {len(failed)} failed" if failed else ""))
        for result in everything:
            if result.action in ("failed", "kept"):
                typer.echo(f"  {result.prompt_id}: {result.action}: {result.detail}", err=True)
    if failed:
        raise typer.Exit(1)


def _rows(results: list[BuildResult]) -> list[dict[str, str]]:
    return [{"id": r.prompt_id, "path": str(r.path), "action": r.action, "detail": r.detail} for r in results]


@prompts_app.command("check")
def check(sounds_dir: SoundsOption = None, json: JsonOption = False) -> None:
    """List the sounds the flows play that have no file (exit 1 if any), as the IVR reports at
    start-up: the prompts, the beep, and the digits of ivr.channel_language when it is set."""
    config = settings().ivr
    catalogue = catalogue_from_settings(config.prompts)
    target = sounds_dir or config.prompts.sounds_dir
    used = sounds_used(catalogue, config.channel_language)
    missing = missing_sounds(catalogue, target, config.channel_language)
    if json:
        emit_json({"directory": str(target), "missing": missing, "total": len(used)})
    elif missing:
        typer.echo(f"{len(missing)} of {len(used)} sounds missing under {target}: " + ", ".join(missing))
    else:
        typer.echo(f"all {len(used)} sounds present under {target}")
    if missing:
        raise typer.Exit(1)


@prompts_app.command("list")
def list_prompts(json: JsonOption = False) -> None:
    """Print the catalogue: prompt id, what Asterisk plays, and the text."""
    config = settings().ivr
    catalogue = catalogue_from_settings(config.prompts)
    values = {"hours": config.hours.description}
    rows = [{"id": pid, "file": catalogue.name(pid), "text": catalogue.text(pid, **values)} for pid in catalogue.ids]
    if json:
        emit_json(rows)
        return
    table = Table("id", "STREAM FILE", "text")
    for row in rows:
        table.add_row(row["id"], row["file"], row["text"])
    Console().print(table)
