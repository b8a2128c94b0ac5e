"""AMI settings: one entry per Asterisk server, plus the link's timing and backlog."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from ticketing.settings import async_database_url


class QueueLogTable(BaseModel):
    """Asterisk's realtime `queue_log` table (`extconfig.conf`: `queue_log => pgsql,…`): docs/ami.md."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., description="the database Asterisk writes queue_log to, as an async SQLAlchemy URL "
                     "(postgresql+asyncpg://user:password@host/asterisk)")
    table: str = Field("queue_log", pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
                       description="the table extconfig.conf names, optionally schema-qualified")
    timezone: str = Field("UTC", description="the zone of its `time` column: UTC with logger.conf's "
                          "queue_log_realtime_use_gmt = yes (deploy/asterisk), else the PBX host's zone")

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        try:
            make_url(value)
        except (ArgumentError, ValueError) as exc:
            raise ValueError(f"not a database URL ({exc})") from None
        return async_database_url(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class AmiServer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, description="server name carried by every call record")
    city_code: str | None = Field(None, pattern=r"^\d{6}$", description="the city (region code) this PBX "
                                  "serves: its live figures are that city's supervisors'; none: the province's")
    host: str = "127.0.0.1"
    port: int = Field(5038, ge=1, le=65535)
    username: str = "hotline"
    secret: SecretStr = SecretStr("")
    queue_log: Path | None = Field(None, description="this PBX's queue_log file, readable here (a read-only "
                                   "mount): calls missed in a gap are reconciled from it after each reconnect")
    queue_log_table: QueueLogTable | None = Field(None, description="or the realtime queue_log table Asterisk "
                                                  "writes instead (not both)")

    @model_validator(mode="after")
    def _one_queue_log(self) -> AmiServer:
        if self.queue_log is not None and self.queue_log_table is not None:
            raise ValueError(f"server {self.name!r}: give queue_log (the file) or queue_log_table "
                             "(Asterisk's realtime table), not both")
        return self


class AmiSettings(BaseModel):
    """The KPI thresholds are the desk's (`desk.supervision`): an old `[ami]` one is refused by name."""

    model_config = ConfigDict(extra="forbid")

    servers: list[AmiServer] = Field(default_factory=list, description="empty: no PBX connected")
    ping_interval: float = Field(10.0, gt=0, description="seconds between keepalive Pings")
    ping_timeout: float = Field(5.0, gt=0, description="no Pong within this: the link is dead")
    action_timeout: float = Field(10.0, gt=0, description="seconds to wait for an action's answer")
    connect_timeout: float = Field(5.0, gt=0)
    backoff_initial: float = Field(0.5, gt=0, description="first reconnect delay (doubles, jittered)")
    backoff_max: float = Field(30.0, gt=0, description="longest reconnect delay")
    resync_timeout: float = Field(30.0, gt=0, description="seconds to wait for each resync list")
    record_backlog: int = Field(10000, ge=10, description="call records waiting to be stored")
    queue_log_lookback: float = Field(3600, gt=0, description="seconds before a gap the queue_log is read "
                                      "from: the longest a call missed in the gap can have been going on")

    @field_validator("servers")
    @classmethod
    def _one_name_each(cls, servers: list[AmiServer]) -> list[AmiServer]:
        names = [server.name for server in servers]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise ValueError(f"each PBX needs a name of its own: {', '.join(twice)} given twice")
        return servers

    def cities(self) -> dict[str, str]:
        """PBX name → the city it serves, for the PBXs tied to one."""
        return {server.name: server.city_code for server in self.servers if server.city_code}
