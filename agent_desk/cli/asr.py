"""`hotline asr transcribe | extract | check-model`: speech to draft fields, for operators.

The ASR adapter (Vosk, pydub, jieba) is imported by these commands only, so every other `hotline`
command starts without it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agent_desk.cli.app import app, emit_json, settings
from asr.errors import AudioError, ModelError

if TYPE_CHECKING:
    from asr.extraction.extractor import Extraction, Extractor
    from asr.recognizer import Recognizer

asr_app = typer.Typer(no_args_is_help=True, help="Speech to draft tickets (Vosk).")
app.add_typer(asr_app, name="asr")
_err = Console(stderr=True)


def _extractor() -> Extractor:
    from asr.extraction.extractor import Extractor

    config = settings()
    return Extractor.build(rules_path=config.asr.rules_path,
                           province_code=config.ticketing.province_code)


def _print_fields(extraction: Extraction) -> None:
    fields = extraction.as_dict()
    place = extraction.place
    region = f"{place.region_code} {place.region_name}" if place.region_code else "-"
    if place.how == "ambiguous":
        region = f"ambiguous: {', '.join(place.ambiguous)}"
    evidence = ", ".join(f"{e.keyword}+{e.weight:g}" for e in extraction.category.evidence)
    depts = ", ".join(f"{d.dept_type} ({d.keyword})" for d in extraction.departments)
    why = extraction.category.reason or evidence or "default"
    typer.echo(f"  category:   {fields['category_label']}  [{why}]")
    typer.echo(f"  region:     {region}  ({place.how})")
    typer.echo(f"  address:    {place.address or '-'}")
    typer.echo(f"  digits:     {', '.join(extraction.digits) or '-'}")
    typer.echo(f"  department: {depts or '-'}")
    typer.echo(f"  reason:     {extraction.department_reason or '-'}")
    typer.echo(f"  unit:       {extraction.suggested_unit_id or '-'}")
    typer.echo(f"  summary:    {extraction.summary or '-'}")


@asr_app.command("extract")
def extract(
    texts: list[str] = typer.Argument(..., help="caller utterances in Mandarin"),
    caller: str | None = typer.Option(None, "--caller", help="caller number (gives the area)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per text, per line"),
) -> None:
    """Print the draft fields extracted from TEXT: category, region, address, digits, department."""
    extractor = _extractor()
    for text in texts:
        extraction = extractor.extract(text, caller_number=caller)
        if as_json:
            emit_json({"input": text, **extraction.as_dict()})
        else:
            typer.echo(text)
            _print_fields(extraction)


@asr_app.command("check-model")
def check_model(
    directory: Path = typer.Argument(..., help="a Vosk model directory"),
    load: bool = typer.Option(True, "--load/--no-load", help="also load it with Vosk"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Validate a Vosk model directory (vosk-model-cn-0.22 or vosk-model-small-cn-0.22)."""
    from asr.model import check_model_dir, load_model

    try:
        info = check_model_dir(directory)
        load_s = None
        if load:
            began = time.perf_counter()
            load_model(directory)
            load_s = round(time.perf_counter() - began, 2)
    except ModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    result = {"path": str(info.path), "sample_rate": info.sample_rate, "graph": info.graph,
              "size_mb": info.size_mb, "ivector": info.has_ivector, "load_s": load_s}
    if as_json:
        emit_json(result)
        return
    typer.echo(f"ok: {info.path}")
    typer.echo(f"  sample rate {info.sample_rate} Hz, {info.graph} graph, {info.size_mb} MB"
               + (f", loaded in {load_s} s" if load_s is not None else ""))


@asr_app.command("transcribe")
def transcribe(
    files: list[Path] = typer.Argument(..., help="recordings: WAV, raw G.711, MP3, M4A..."),
    model_dir: Path | None = typer.Option(None, "--model-dir", help="default: asr.model_dir"),
    caller: str | None = typer.Option(None, "--caller", help="caller number (gives the area)"),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file, per line"),
) -> None:
    """Transcribe FILEs and print the transcript, word timings, draft fields and time taken."""
    from asr.engine import make_recognizer
    from asr.model import load_model, resolve_model_dir
    from asr.service import recognition_options

    config = settings()
    try:
        path = resolve_model_dir(model_dir or config.asr.model_dir)
        began = time.perf_counter()
        recognizer = make_recognizer(load_model(path), path, recognition_options(config.asr))
        load_s = time.perf_counter() - began
    except ModelError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    extractor = _extractor()
    options = recognition_options(config.asr)  # the same settings the workers use
    if not as_json:
        typer.echo(f"model {path} loaded in {load_s:.1f} s")
    failures = 0
    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeRemainingColumn(), console=_err, disable=len(files) < 2)
    with progress:
        task = progress.add_task("transcribing", total=len(files))
        for file in files:
            result = _transcribe_one(recognizer, extractor, file, options, caller)
            failures += "error" in result
            if as_json:
                emit_json(result)
            else:
                typer.echo(_describe(result))
            progress.advance(task)
    if failures:
        raise typer.Exit(1)


def _transcribe_one(recognizer: Recognizer, extractor: Extractor, file: Path, options: Any,
                    caller: str | None) -> dict[str, Any]:
    from asr.engine import recognise_file

    began = time.perf_counter()
    try:
        recognition = recognise_file(recognizer, file, options)
    except AudioError as exc:
        return {"file": str(file), "error": exc.reason, "detail": exc.detail,
                "seconds": round(time.perf_counter() - began, 3)}
    result: dict[str, Any] = {
        "file": str(file), "duration_s": round(recognition.info.duration_s, 2),
        "codec": recognition.info.codec, "sample_rate": recognition.info.sample_rate,
        "decode_s": round(recognition.decode_s, 3),
        "recognise_s": round(recognition.recognise_s, 3)}
    transcript = recognition.transcript
    if transcript is None or not transcript.text:
        result["no_speech"] = recognition.verdict.reason or "no words recognised"
        result["transcript"] = ""
    else:
        result["transcript"] = transcript.text
        result["words"] = [w.as_dict() for w in transcript.words]
        result["fields"] = extractor.extract(transcript.text, caller_number=caller).as_dict()
    result["seconds"] = round(time.perf_counter() - began, 3)
    return result


def _describe(result: dict[str, Any]) -> str:
    name = result["file"]
    if "error" in result:
        return f"{name}: error {result['error']}: {result['detail']}"
    lines = [(f"{name}: {result['duration_s']} s {result['codec']} @ {result['sample_rate']} Hz,"
              f" done in {result['seconds']} s")]
    if "no_speech" in result:
        lines.append(f"  no speech ({result['no_speech']})")
        return "\n".join(lines)
    lines.append(f"  transcript: {result['transcript']}")
    lines.append("  words:      " + " ".join(
        f"{w['word']}[{w['start']:.2f}-{w['end']:.2f} {w['conf']:.2f}]" for w in result["words"]))
    fields = result["fields"]
    lines.append(f"  category {fields['category_label']}, region {fields['region_code'] or '-'}, "
                 f"address {fields['address'] or '-'}, department "
                 f"{fields['department_type'] or '-'}, digits {','.join(fields['digits']) or '-'}")
    return "\n".join(lines)
