"""Settings assembly: each package owns its model; this composes them and loads them.

Sources, highest first: HOTLINE_* environment variables (nested with `__`, e.g.
HOTLINE_DB__URL), then the TOML file (HOTLINE_CONFIG, default ./hotline.toml), then defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from agent_desk.logs import LogFormat
from agent_desk.options import (
    AgentSettings,
    AuthSettings,
    PortalSettings,
    RedisSettings,
    ReplaySettings,
    SupervisionSettings,
)
from ami.settings import AmiSettings
from asr.settings import AsrSettings
from ivr.settings import IvrSettings
from ticketing.models.region import RegionLevel
from ticketing.regions import province_records
from ticketing.settings import DatabaseSettings, TicketingSettings

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class DeskSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: LogLevel = Field("INFO", description="what `hotline serve` logs: INFO shows the AMI link "
                                "going down and up and every IVR session; WARNING only problems")
    log_format: LogFormat = Field("plain", description="plain: readable lines (`make run`); json: one JSON "
                                  "object per line with the request id, ticket number or Linkedid "
                                  "(role deployments)")
    auth: AuthSettings = Field(default_factory=AuthSettings)
    agents: AgentSettings = Field(default_factory=AgentSettings)
    supervision: SupervisionSettings = Field(default_factory=SupervisionSettings)
    replay: ReplaySettings = Field(default_factory=ReplaySettings)
    portal: PortalSettings = Field(default_factory=PortalSettings)

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_in_capitals(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_in_lower_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOTLINE_", env_nested_delimiter="__", extra="forbid")

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ticketing: TicketingSettings = Field(default_factory=TicketingSettings)
    ami: AmiSettings = Field(default_factory=AmiSettings)
    ivr: IvrSettings = Field(default_factory=IvrSettings)
    asr: AsrSettings = Field(default_factory=AsrSettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)

    @model_validator(mode="after")
    def _pbx_cities_are_the_provinces(self) -> Settings:
        """A PBX's city is one of the seeded regions: a city of `ticketing.province_code`."""
        cities = {r.code for r in province_records(self.ticketing.province_code) if r.level is RegionLevel.CITY}
        for index, server in enumerate(self.ami.servers):
            if server.city_code is not None and server.city_code not in cities:
                raise ValueError(f"ami.servers.{index}.city_code: {server.city_code} is not a city of province "
                                 f"{self.ticketing.province_code} (a city code ends in 00, e.g. 320100)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get("HOTLINE_CONFIG", "hotline.toml"))
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file))


class SettingsError(Exception):
    """A bad setting, with the dotted names of every offending field."""


def load_settings(**overrides: object) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = ".".join(str(part) for part in error["loc"]) or "(root)"
            env = "HOTLINE_" + "__".join(str(p).upper() for p in error["loc"])
            lines.append(f"  {name} (env {env}): {error['msg']} [got {error.get('input')!r}]")
        raise SettingsError("invalid settings:\n" + "\n".join(lines)) from None
