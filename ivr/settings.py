"""FastAGI IVR settings."""

from __future__ import annotations

from pydantic import BaseModel, Field


class IvrSettings(BaseModel):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(4573, ge=1, le=65535)
