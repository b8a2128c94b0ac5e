"""The desk's own settings groups, composed into `DeskSettings` (`[desk.auth]`, `[desk.agents]` …)."""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr

from ticketing.call_kpis import CallKpiSettings


class AuthSettings(BaseModel):
    jwt_secret: SecretStr = Field(
        SecretStr(""),
        description="HS256 signing key; empty: a random key per process (tokens die on restart)",
    )
    access_minutes: float = Field(15, gt=0, le=24 * 60)
    refresh_hours: float = Field(12, gt=0, le=24 * 30, description="a log-in lasts this long at most")
    session_check_seconds: float = Field(
        2, ge=0, le=30, description="a revoked user or session is refused within this (per-request check cache)")
    login_attempts: int = Field(5, ge=1, description="failed log-ins per username (from any address) …")
    login_attempts_per_address: int = Field(10, ge=1, description="… and per address (across usernames) …")
    login_window_seconds: float = Field(60, gt=0, description="… within this window")
    lookup_attempts: int = Field(5, ge=1, description="citizens' failed look-ups per request number …")
    lookup_attempts_per_address: int = Field(10, ge=1, description="… and per address …")
    lookup_window_seconds: float = Field(600, gt=0, description="… within this window")
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(
        default_factory=list, description="reverse proxies whose X-Forwarded-For is believed, e.g. 10.0.0.2/32")


class AgentSettings(BaseModel):
    pause_reasons: list[str] = Field(
        default_factory=lambda: ["lunch-break", "training", "meeting", "after-call-work", "toilet"],
        description="reason codes an agent may pause with (sent as the AMI QueuePause Reason)",
    )
    queues: list[str] = Field(default_factory=lambda: ["hotline-12345", "hotline-enterprise"])
    wrapup_seconds: int = Field(5, ge=0, le=3600, description="after-call work the desk counts down after each "
                                "call; keep it equal to queues.conf `wrapuptime`")
    screen_pop_days: int = Field(90, ge=1, le=3650, description="caller history shown on a screen pop")
    transfer_context: str = Field("transfer", description="dialplan context a Redirect sends calls to; it needs "
                                  "an extension per queue and per agent (deploy/asterisk: [transfer])")
    transfer_extensions: list[str] = Field(default_factory=list, description="other extensions of the transfer "
                                           "context an agent may transfer to, besides queue names and agents")
    callback_channel: str = Field("PJSIP/trunk/{number}",
                                  description="Originate channel that dials the caller; {number} is replaced")
    callback_context: str = Field("callback", description="context the answered caller is connected in")
    callback_queue: str = Field("hotline-12345", description="where a supervisor's call-back is connected")
    callback_caller_id: str = "12345"
    recordings_dir: Path = Field(Path("/var/spool/asterisk/monitor"),
                                 description="call recordings (MixMonitor files) are served from under here only")


# A photo travels base64-encoded in a JSON body, which the input guard caps at 1 MiB.
PHOTO_BYTES_CEILING = 760 * 1024


class PortalSettings(BaseModel):
    """The citizen portal (/my12345)."""

    photos_dir: Path = Field(Path("var/photos"), description="citizens' photos are stored under here (beside the "
                             "recordings: a data directory, never one the web server serves)")
    photo_max_bytes: int = Field(700 * 1024, ge=1024, le=PHOTO_BYTES_CEILING, description="largest photo accepted")
    photo_max_side: int = Field(4096, ge=64, le=8192, description="largest width or height, in pixels")
    submissions_per_phone: int = Field(5, ge=1, description="requests one phone number may make …")
    submissions_per_address: int = Field(20, ge=1, description="… and one address (a whole office may share it) …")
    submission_window_seconds: float = Field(3600, gt=0, description="… within this window")


class SupervisionSettings(BaseModel):
    answer_rate_target: float = Field(0.9, gt=0, le=1, description="gauge target on the wallboard")
    service_level_seconds: float = Field(20, gt=0, description="T of the service level (Asterisk servicelevel)")
    service_level_target: float = Field(0.8, gt=0, lt=1, description="Erlang C staffing goal")
    short_abandon_seconds: float = Field(5, ge=0, description="abandons this short leave the answer rate")
    wrapup_seconds: float = Field(0, ge=0, description="after-call work added to AHT (Asterisk wrapuptime)")
    hotspot_factor: float = Field(3, gt=1, description="alert when the last hour exceeds the usual rate × this")
    hotspot_min_tickets: int = Field(5, ge=1, description="… and has at least this many tickets")
    hotspot_baseline_days: int = Field(14, ge=1, description="the usual rate: mean per hour over these days")
    queue_cities: dict[str, str] = Field(
        default_factory=dict, description="queue name → city code, scoping calls for city supervisors"
    )

    def call_kpis(self) -> CallKpiSettings:
        """The call KPIs' thresholds (docs/metrics.md), for every place that computes them."""
        return CallKpiSettings(service_level_seconds=self.service_level_seconds,
                               short_abandon_seconds=self.short_abandon_seconds,
                               wrapup_seconds=self.wrapup_seconds)


class ReplaySettings(BaseModel):
    file: Path | None = Field(None, description="an AMI capture (.recv) to replay when no PBX is configured")
    speed: float = Field(1.0, gt=0, le=1000)
    loop: bool = Field(True, description="start over at the end, so a demo keeps moving")


class RedisSettings(BaseModel):
    """Redis carries the live events between processes when `hotline serve --role` splits the product
    (docs/architecture.md); one process (`make run`) never uses it."""

    url: str = Field("redis://127.0.0.1:6379/0", description="redis://[:password@]host:port/db")
    prefix: str = Field("hotline", pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                        description="channel and key prefix: several deployments can share one Redis")
