"""The prompt catalogue (id → Mandarin text), the check for missing sounds, and the builder.

Prompts live in Asterisk's sounds directory under `<directory>/<id>.<ext>` and are played as
`STREAM FILE <directory>/<id>`. The flows also play Asterisk's own `beep` (RECORD FILE … BEEP) and,
with `channel_language` set, `digits/*` in that language (SAY DIGITS / SAY NUMBER). The builder
renders text with espeak-ng (the beep with sox) to 8 kHz mono 16-bit WAV. It records what it wrote
in a manifest, so it re-renders its own files when the text changes but never overwrites a file an
operator put there (a studio recording).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ivr.settings import PromptSettings

log = logging.getLogger(__name__)

SOUND_EXTENSIONS = ("wav", "WAV", "gsm", "ulaw", "alaw", "sln", "sln16", "g722", "g729", "wav16", "mp3", "ogg")
MANIFEST = ".hotline-prompts.json"
SAMPLE_RATE = 8000
BEEP = "beep"  # what RECORD FILE … BEEP plays; without it Asterisk answers (randomerror) and records nothing
BEEP_TONE = "sine 1000 Hz, 0.25 s"


class PromptBuildError(RuntimeError):
    """espeak-ng or sox failed, or is missing."""


@dataclass(frozen=True)
class PromptCatalogue:
    texts: dict[str, str]
    directory: str = "hotline"
    digits: dict[str, str] = field(default_factory=dict)  # Asterisk's digits/<name> for SAY *

    @property
    def ids(self) -> list[str]:
        return sorted(self.texts)

    def name(self, prompt_id: str) -> str:
        """What STREAM FILE / GET DATA play: `hotline/greeting`."""
        return f"{self.directory}/{prompt_id}"

    def text(self, prompt_id: str, **values: str) -> str:
        template = self.texts[prompt_id]
        for key, value in values.items():
            template = template.replace("{" + key + "}", value)
        return template


def load_catalogue(path: Path | None = None, directory: str = "hotline") -> PromptCatalogue:
    """The built-in catalogue, or the TOML at `path` (a `[prompts]` table of id = text)."""
    raw = path.read_bytes() if path else resources.files("ivr").joinpath("prompts.toml").read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))
    texts = data.get("prompts")
    if not isinstance(texts, dict) or not texts:
        raise ValueError(f"{path or 'ivr/prompts.toml'}: no [prompts] table")
    digits = data.get("digits", {})
    bad = [key for key, value in (texts | digits).items() if not isinstance(value, str) or not value.strip()]
    if bad:
        raise ValueError(f"prompts without text: {', '.join(bad)}")
    return PromptCatalogue({str(k): str(v) for k, v in texts.items()}, directory,
                           {str(k): str(v) for k, v in digits.items()})


def catalogue_from_settings(settings: PromptSettings) -> PromptCatalogue:
    return load_catalogue(settings.catalogue, settings.directory)


def prompt_present(sounds_dir: Path, name: str) -> bool:
    """Is there a file Asterisk would play for `name`, in any format, with or without a language dir?"""
    for base in (sounds_dir, *_language_dirs(sounds_dir)):
        for ext in SOUND_EXTENSIONS:
            if (base / f"{name}.{ext}").is_file():
                return True
    return False


def _language_dirs(sounds_dir: Path) -> Iterable[Path]:
    if not sounds_dir.is_dir():
        return ()
    return (child for child in sounds_dir.iterdir() if child.is_dir() and len(child.name) <= 5)


def sounds_used(catalogue: PromptCatalogue, language: str | None = None) -> list[str]:
    """Every sound the flows play, as paths under the sounds directory without an extension: the
    prompts and `beep` (in any language directory or none), and when the IVR sets the channel's
    language, that language's `digits/*` for SAY DIGITS / SAY NUMBER."""
    digits = [f"{language}/digits/{name}" for name in sorted(catalogue.digits)] if language else []
    return [*(catalogue.name(pid) for pid in catalogue.ids), BEEP, *digits]


def missing_sounds(catalogue: PromptCatalogue, sounds_dir: Path, language: str | None = None) -> list[str]:
    """The sounds in `sounds_used` that have no file Asterisk would play."""
    return [name for name in sounds_used(catalogue, language) if not prompt_present(sounds_dir, name)]


def report_missing_sounds(catalogue: PromptCatalogue, sounds_dir: Path, language: str | None = None) -> list[str]:
    """Log (once, at start-up) which sounds have no file. Calls still go on without them."""
    missing = missing_sounds(catalogue, sounds_dir, language)
    if missing:
        log.warning(
            "%d of %d IVR sounds have no file under %s: %s (run `hotline prompts build`)",
            len(missing), len(sounds_used(catalogue, language)), sounds_dir, ", ".join(missing),
        )
    return missing


# ---- building -----------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildResult:
    prompt_id: str
    path: Path
    action: str  # built, unchanged, kept (operator's file), failed
    detail: str = ""


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _load_manifest(target: Path) -> dict[str, dict[str, str]]:
    try:
        loaded = json.loads((target / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def render(text: str, out: Path, *, voice: str, speed: int) -> None:
    """Speak `text` into `out` as 8 kHz mono 16-bit signed PCM WAV."""
    espeak = shutil.which("espeak-ng")
    sox = shutil.which("sox")
    if espeak is None or sox is None:
        raise PromptBuildError("espeak-ng and sox are needed (Debian: apt install espeak-ng sox)")
    with tempfile.TemporaryDirectory(prefix="hotline-prompt-") as tmp:
        raw = Path(tmp) / "raw.wav"
        _run([espeak, "-v", voice, "-s", str(speed), "-w", str(raw), "--", text])
        partial = Path(tmp) / "out.wav"
        _run([sox, "-q", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
              str(partial)])
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(partial, out)


def render_beep(out: Path) -> None:
    """The beep (`BEEP_TONE`) as 8 kHz mono 16-bit signed PCM WAV."""
    sox = shutil.which("sox")
    if sox is None:
        raise PromptBuildError("sox is needed (Debian: apt install sox)")
    with tempfile.TemporaryDirectory(prefix="hotline-prompt-") as tmp:
        partial = Path(tmp) / "out.wav"
        _run([sox, "-q", "-n", "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", "-e", "signed-integer",
              str(partial), "synth", "0.25", "sine", "1000", "vol", "0.5"])
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(partial, out)


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, timeout=60, check=False)
    if done.returncode != 0:
        raise PromptBuildError(f"{Path(argv[0]).name} failed ({done.returncode}): "
                               f"{done.stderr.decode(errors='replace').strip()[:300]}")


def build_prompts(
    catalogue: PromptCatalogue,
    sounds_dir: Path,
    *,
    voice: str = "cmn-latn-pinyin",
    speed: int = 165,
    values: dict[str, str] | None = None,
    force: bool = False,
    only: Iterable[str] | None = None,
    on_progress: Callable[[BuildResult], None] | None = None,
) -> list[BuildResult]:
    """Render every prompt to `<sounds_dir>/<directory>/<id>.wav`.

    A file the builder wrote before is re-rendered when its text (or voice) changed; a file it did
    not write (or that was edited since) is kept unless `force`.
    """
    wanted = list(only) if only is not None else catalogue.ids
    unknown = [pid for pid in wanted if pid not in catalogue.texts]
    if unknown:
        raise KeyError(f"unknown prompt id(s): {', '.join(unknown)}")
    texts = {pid: catalogue.text(pid, **(values or {})) for pid in wanted}
    return build_sounds(texts, sounds_dir / catalogue.directory, voice=voice, speed=speed, force=force,
                        on_progress=on_progress)


def build_digit_sounds(
    catalogue: PromptCatalogue,
    sounds_dir: Path,
    *,
    language: str = "zh",
    voice: str = "cmn-latn-pinyin",
    speed: int = 165,
    force: bool = False,
    on_progress: Callable[[BuildResult], None] | None = None,
) -> list[BuildResult]:
    """Render Asterisk's `digits/*` in Mandarin to `<sounds_dir>/<language>/digits/`, for SAY DIGITS/NUMBER."""
    return build_sounds(dict(sorted(catalogue.digits.items())), sounds_dir / language / "digits", voice=voice,
                        speed=speed, force=force, on_progress=on_progress)


def build_beep(
    sounds_dir: Path,
    *,
    force: bool = False,
    on_progress: Callable[[BuildResult], None] | None = None,
) -> BuildResult:
    """Write `<sounds_dir>/beep.wav` (found whatever the channel's language) unless Asterisk has a
    beep already, e.g. its core sounds' `en/beep.gsm`."""
    ours = sounds_dir / f"{BEEP}.wav"
    if not force and not ours.exists() and prompt_present(sounds_dir, BEEP):
        result = BuildResult(BEEP, ours, "kept", "Asterisk has its own beep")
        if on_progress is not None:
            on_progress(result)
        return result
    (result,) = _build([_Sound(BEEP, BEEP_TONE, render_beep)], sounds_dir, force=force, on_progress=on_progress)
    return result


def build_sounds(
    texts: dict[str, str],
    target: Path,
    *,
    voice: str,
    speed: int,
    force: bool = False,
    on_progress: Callable[[BuildResult], None] | None = None,
) -> list[BuildResult]:
    """Render `name → text` to `<target>/<name>.wav`, keeping files the builder did not write."""
    sounds = [_Sound(name, text, functools.partial(render, text, voice=voice, speed=speed), f"{voice}\0{speed}\0")
              for name, text in texts.items()]
    return _build(sounds, target, force=force, on_progress=on_progress)


@dataclass(frozen=True)
class _Sound:
    name: str
    text: str  # what it says (or is), kept in the manifest
    render: Callable[[Path], None]
    how: str = ""  # with the text, what a change of forces a new rendering (voice, speed)


def _build(sounds: list[_Sound], target: Path, *, force: bool,
           on_progress: Callable[[BuildResult], None] | None) -> list[BuildResult]:
    target.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(target)
    results: list[BuildResult] = []
    for sound in sounds:
        out = target / f"{sound.name}.wav"
        source = _digest(f"{sound.how}{sound.text}".encode())
        entry = manifest.get(sound.name, {})
        result: BuildResult
        if out.exists() and not force:
            ours = entry.get("audio") == _digest(out.read_bytes())
            if ours and entry.get("source") == source:
                result = BuildResult(sound.name, out, "unchanged")
            elif not ours:
                result = BuildResult(sound.name, out, "kept", "not written by the builder; --force replaces it")
            else:
                result = _render_one(sound, out, source, manifest)
        else:
            result = _render_one(sound, out, source, manifest)
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
    return results


def _render_one(sound: _Sound, out: Path, source: str, manifest: dict[str, dict[str, str]]) -> BuildResult:
    try:
        sound.render(out)
    except (PromptBuildError, subprocess.TimeoutExpired, OSError) as exc:
        return BuildResult(sound.name, out, "failed", str(exc))
    manifest[sound.name] = {"source": source, "audio": _digest(out.read_bytes()), "text": sound.text}
    return BuildResult(sound.name, out, "built")
