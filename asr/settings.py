"""Speech-to-text settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AsrSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")  # e.g. a `province_code` from older configs: say so, don't ignore it

    model_dir: Path | None = Field(
        None, description="a Vosk model directory, e.g. /opt/vosk/vosk-model-small-cn-0.22")
    workers: int = Field(1, ge=0, le=64, description="recognition workers; 0 = only queue jobs")
    engine: Literal["processes", "threads"] = Field(
        "processes", description="processes: one model each, isolated; threads: one shared model")
    max_duration_s: float = Field(600.0, gt=0, description="longer recordings are refused")
    min_speech_s: float = Field(0.3, ge=0, description="less voiced audio than this is no speech")
    silence_dbfs: float = Field(-45.0, le=0, description="frames quieter than this are silence")
    chunk_ms: int = Field(250, ge=10, le=2000, description="audio fed to the recognizer per call")
    pause_s: float | None = Field(
        0.8, ge=0.1, description="a pause this long in the signal ends a segment; null = Vosk only")
    min_confidence: float = Field(0.35, ge=0, le=1,
                                  description="below this mean word confidence a draft is flagged")
    max_attempts: int = Field(3, ge=1, le=20, description="tries before a job is parked as failed")
    retry_backoff_s: float = Field(5.0, ge=0, description="first retry delay; doubles per attempt")
    lease_s: float = Field(60.0, gt=0, description="a job whose heartbeat is older is taken over")
    poll_s: float = Field(1.0, gt=0, description="idle workers look for jobs this often")
    jobs_per_process: int | None = Field(
        None, ge=1, description="restart a worker process after this many jobs (caps memory)")
    job_timeout_s: float = Field(900.0, gt=0, description="a recognition running longer fails")
    rules_path: Path | None = Field(
        None, description="category rules TOML; default: the rules shipped in asr/data")
