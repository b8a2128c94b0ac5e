"""Speech-to-text settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class AsrSettings(BaseModel):
    model_dir: Path | None = Field(None, description="a Vosk model directory, e.g. vosk-model-small-cn-0.22")
    workers: int = Field(1, ge=0, le=64)
