"""The prompt catalogue (id → Mandarin text), the start-up check for missing files, and the builder.

Prompts live in Asterisk's sounds directory under `<directory>/<id>.<ext>` and are played as
`STREAM FILE <directory>/<id>`. The builder renders text with espeak-ng and converts it to
8 kHz mono 16-bit WAV with sox. It records what it wrote in a manifest, so it re-renders its own
files when the text changes but never overwrites a file an operator put there (a studio recording).
"""

from __future__ import annotations

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


def missing_prompts(catalogue: PromptCatalogue, sounds_dir: Path) -> list[str]:
    return [pid for pid in catalogue.ids if not prompt_present(sounds_dir, catalogue.name(pid))]


def report_missing_prompts(catalogue: PromptCatalogue, sounds_dir: Path) -> list[str]:
    """Log (once, at start-up) which prompts have no sound file. Calls still go on without them."""
    missing = missing_prompts(catalogue, sounds_dir)
    if missing:
        log.warning(
            "%d of %d IVR prompts have no sound file under %s/%s: %s (run `hotline prompts build`)",
            len(missing), len(catalogue.ids), sounds_dir, catalogue.directory, ", ".join(missing),
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
    target.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(target)
    results: list[BuildResult] = []
    for pid, text in texts.items():
        out = target / f"{pid}.wav"
        source = _digest(f"{voice}\0{speed}\0{text}".encode())
        entry = manifest.get(pid, {})
        result: BuildResult
        if out.exists() and not force:
            ours = entry.get("audio") == _digest(out.read_bytes())
            if ours and entry.get("source") == source:
                result = BuildResult(pid, out, "unchanged")
            elif not ours:
                result = BuildResult(pid, out, "kept", "not written by the builder; --force replaces it")
            else:
                result = _render_one(pid, text, out, voice, speed, source, manifest)
        else:
            result = _render_one(pid, text, out, voice, speed, source, manifest)
        results.append(result)
        if on_progress is not None:
            on_progress(result)
    (target / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
    return results


def _render_one(pid: str, text: str, out: Path, voice: str, speed: int, source: str,
                manifest: dict[str, dict[str, str]]) -> BuildResult:
    try:
        render(text, out, voice=voice, speed=speed)
    except (PromptBuildError, subprocess.TimeoutExpired, OSError) as exc:
        return BuildResult(pid, out, "failed", str(exc))
    manifest[pid] = {"source": source, "audio": _digest(out.read_bytes()), "text": text}
    return BuildResult(pid, out, "built")
