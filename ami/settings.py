"""AMI settings: one entry per Asterisk server."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class AmiServer(BaseModel):
    name: str = Field(..., min_length=1, description="server name carried by every call record")
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str = "hotline"
    secret: SecretStr = SecretStr("")


class AmiSettings(BaseModel):
    servers: list[AmiServer] = Field(default_factory=list, description="empty: no PBX connected")
