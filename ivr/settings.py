"""FastAGI IVR settings: where to listen, the menu, time-outs, queues, recordings and prompts."""

from __future__ import annotations

from datetime import time
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class ServiceWindow(BaseModel):
    """Open on these ISO weekdays (1 = Monday) from `start` to `end` local time (end 00:00 = midnight)."""

    days: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    start: time = time(0)
    end: time = time(0)

    @field_validator("days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(day < 1 or day > 7 for day in value):
            raise ValueError("days are ISO weekdays 1..7")
        return value


class ServiceHours(BaseModel):
    """When agents answer, in local time (`ticketing.calendar.timezone`). No windows means 7×24 (the
    default). Outside them callers leave a message."""

    model_config = ConfigDict(extra="forbid")  # e.g. a `timezone` from older configs: say so, don't ignore it
    windows: list[ServiceWindow] = Field(default_factory=list)
    description: str = Field(default="全天二十四小时", description="how the greeting states the hours ({hours})")


class MenuSettings(BaseModel):
    report: str = Field(default="1", pattern=r"^[0-9*#]$")
    progress: str = Field(default="2", pattern=r"^[0-9*#]$")
    enterprise: str = Field(default="3", pattern=r"^[0-9*#]$")
    agent: str = Field(default="0", pattern=r"^[0-9*#]$")
    timeout_ms: int = Field(default=10_000, ge=500, le=60_000, description="wait for a key after the menu prompt")
    retries: int = Field(default=3, ge=0, le=10, description="invalid input is retried this often, then an agent")

    @model_validator(mode="after")
    def _distinct(self) -> MenuSettings:
        keys = [self.report, self.progress, self.enterprise, self.agent]
        if len(set(keys)) != len(keys):
            raise ValueError("menu keys must be distinct")
        return self


class QueueSettings(BaseModel):
    main: str = "hotline-12345"
    enterprise: str = "hotline-enterprise"
    priority: int = Field(default=0, ge=0, description="QUEUE_PRIO for an ordinary caller")
    enterprise_priority: int = Field(default=5, ge=0)
    repeat_caller_boost: int = Field(default=10, ge=0, description="added for a caller with an open ticket")
    repeat_caller_days: int = Field(default=7, ge=1, le=90)
    long_wait_seconds: float | None = Field(
        default=180, gt=0, description="offer to leave a message when the estimated wait exceeds this; None: never"
    )
    message_key: str = Field(default="9", pattern=r"^[0-9*#]$")


class RecordingSettings(BaseModel):
    directory: str = Field(default="/var/spool/asterisk/hotline",
                           description="as Asterisk sees it; no trailing slash")
    format: str = Field(default="wav", pattern=r"^[a-z0-9]+$")
    report_max_seconds: int = Field(default=60, ge=5, le=600)
    message_max_seconds: int = Field(default=120, ge=5, le=600)
    silence_seconds: int = Field(default=3, ge=0, le=30, description="stop after this much silence; 0: never")


class ProgressSettings(BaseModel):
    timeout_ms: int = Field(default=8000, ge=1000, le=60_000)
    max_digits: int = Field(default=20, ge=14, le=40)
    attempts: int = Field(default=3, ge=1, le=10)


class SurveySettings(BaseModel):
    timeout_ms: int = Field(default=6000, ge=1000, le=60_000)
    attempts: int = Field(default=3, ge=1, le=10)


class PromptSettings(BaseModel):
    sounds_dir: Path = Field(default=Path("/var/lib/asterisk/sounds"), description="Asterisk's sounds directory")
    directory: str = Field(default="hotline", pattern=r"^[A-Za-z0-9_\-/]+$",
                           description="sub-directory and STREAM FILE prefix")
    catalogue: Path | None = Field(default=None, description="a prompts TOML replacing the built-in catalogue")
    language: str = Field(default="zh", pattern=r"^[a-z]{2}(_[A-Za-z]{2})?$",
                          description="language directory for the Mandarin digit sounds (SAY DIGITS/NUMBER)")
    voice: str = "cmn-latn-pinyin"
    speed: int = Field(default=165, ge=80, le=450, description="espeak-ng words per minute")


LOOPBACK: tuple[IPv4Network | IPv6Network, ...] = (IPv4Network("127.0.0.1/32"), IPv6Network("::1/128"))


class IvrSettings(BaseModel):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=4573, ge=0, le=65535, description="0: any free port (tests)")
    allowed_peers: list[IPv4Network | IPv6Network] = Field(
        default_factory=lambda: list(LOOPBACK),
        description="addresses of the Asterisk servers allowed to connect; others are refused (logged)")
    max_sessions: int = Field(default=500, ge=1, le=100_000,
                              description="concurrent FastAGI sessions; connections beyond are refused (logged)")
    server_name: str | None = Field(default=None,
                                    description="Asterisk server name stamped on drafts (ami.servers[].name)")
    channel_language: str | None = Field(
        default=None, description="set CHANNEL(language) at the start of each call, e.g. zh for Mandarin SAY DIGITS")
    environment_timeout_seconds: float = Field(default=5.0, gt=0)
    reply_timeout_seconds: float = Field(default=900.0, gt=0, description="longest wait for one AGI reply")
    hours: ServiceHours = Field(default_factory=ServiceHours)
    menu: MenuSettings = Field(default_factory=MenuSettings)
    queues: QueueSettings = Field(default_factory=QueueSettings)
    recordings: RecordingSettings = Field(default_factory=RecordingSettings)
    progress: ProgressSettings = Field(default_factory=ProgressSettings)
    survey: SurveySettings = Field(default_factory=SurveySettings)
    prompts: PromptSettings = Field(default_factory=PromptSettings)
