"""Settings owned by the ticketing core. Plain models: `agent_desk.settings` composes and loads them."""

from __future__ import annotations

from datetime import date, time

from pydantic import BaseModel, Field, field_validator


def async_database_url(value: str) -> str:
    """A database URL the product's stack can open (SQLAlchemy async: aiosqlite or asyncpg)."""
    if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
        raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
    return value


class DatabaseSettings(BaseModel):
    url: str = Field(
        "sqlite+aiosqlite:///./var/hotline.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///… (embedded) or postgresql+asyncpg://… (production)",
    )
    echo: bool = False
    pool_size: int = Field(
        20, ge=1, le=500,
        description="PostgreSQL connections each process keeps open; more requests or intakes in flight than "
        "this open and close connections of their own (max_overflow), which costs more than the work itself. "
        "Keep pool_size + max_overflow times the processes under the server's max_connections",
    )
    max_overflow: int = Field(5, ge=0, le=500, description="connections beyond pool_size, closed when returned")
    leader_lease_seconds: float = Field(
        6.0, ge=1.0, le=60.0,
        description="a singleton's leader (PostgreSQL, split roles) renews its lease every sixth of this and steps "
        "down after half of it without a renewal; a standby ends a leader whose lease is this old and takes over",
    )

    @field_validator("url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        return async_database_url(value)


class OfficeHours(BaseModel):
    start: time
    end: time


class CalendarSettings(BaseModel):
    """Working time for SLA clocks. Overrides win over the chinese-calendar tables."""

    timezone: str = "Asia/Shanghai"
    office_hours: list[OfficeHours] = Field(
        default_factory=lambda: [OfficeHours(start=time(9), end=time(12)),
                                 OfficeHours(start=time(13, 30), end=time(17, 30))]
    )
    extra_holidays: list[date] = Field(default_factory=list, description="days off the tables lack")
    extra_workdays: list[date] = Field(default_factory=list, description="swapped working weekend days (调休)")


class SlaSettings(BaseModel):
    """Deadlines. Defaults are the Jiangsu promise; the documented target profile is 1 h / 3 days."""

    sign_off_hours: float = Field(4, gt=0)
    resolution_days: float = Field(5, gt=0)
    sweep_interval_seconds: float = Field(60, gt=0)


class TicketingSettings(BaseModel):
    number_prefix: str = Field("JS", pattern=r"^[A-Z]{2,4}$")
    province_code: str = Field("320000", pattern=r"^\d{6}$")
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    routing_rules: str | None = Field(None, description="path to a routing TOML replacing the built-in rules")
