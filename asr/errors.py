"""Errors the ASR adapter raises. Each carries a short machine-readable reason."""

from __future__ import annotations


class AudioError(Exception):
    """Audio we refuse to transcribe: empty, truncated, undecodable, too long.

    `reason` is one of: missing, empty, truncated, undecodable, too_long, bad_format, no_ffmpeg.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason, detail)
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


class ModelError(Exception):
    """The Vosk model directory is missing or unusable. The message says where to get one."""
