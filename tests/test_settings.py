"""Settings: a TOML file, HOTLINE_* overrides, and bad settings named at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent_desk.cli import app
from agent_desk.settings import SettingsError, load_settings


def test_toml_file_then_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text('[db]\nurl = "sqlite+aiosqlite:///x.db"\n[desk]\nport = 9000\n'
                      '[ticketing.sla]\nsign_off_hours = 1\nresolution_days = 3\n', "utf-8")
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    monkeypatch.setenv("HOTLINE_DESK__PORT", "9100")
    settings = load_settings()
    assert settings.db.url == "sqlite+aiosqlite:///x.db"
    assert settings.desk.port == 9100
    assert (settings.ticketing.sla.sign_off_hours, settings.ticketing.sla.resolution_days) == (1, 3)


def test_a_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("HOTLINE_DB__URL", "mysql://nope")
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "db.url" in str(err.value) and "HOTLINE_DB__URL" in str(err.value)


def test_the_cli_stops_with_the_setting_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "absent.toml"))
    monkeypatch.setenv("HOTLINE_TICKETING__SLA__SIGN_OFF_HOURS", "-1")
    result = CliRunner().invoke(app, ["sla", "due", "--from", "2026-11-30T09:00", "--hours", "1"])
    assert result.exit_code == 2
    assert "ticketing.sla.sign_off_hours" in result.output


@pytest.mark.parametrize(("overrides", "name"), [
    ({"ivr": {"hours": {"timezone": "UTC"}}}, "ivr.hours.timezone"),
    ({"asr": {"province_code": "110000"}}, "asr.province_code"),
])
def test_one_setting_per_concept_and_a_removed_copy_is_refused(overrides: dict[str, object], name: str) -> None:
    """The time zone is `ticketing.calendar.timezone` and the province `ticketing.province_code`; the
    adapters' old copies are named as errors, not silently ignored."""
    with pytest.raises(SettingsError, match=name.replace(".", r"\.")):
        load_settings(**overrides)


def test_a_pbx_serves_a_city_of_the_province() -> None:
    settings = load_settings(ami={"servers": [{"name": "nanjing", "city_code": "320100"},
                                              {"name": "suzhou", "city_code": "320500"}, {"name": "spare"}]})
    assert settings.ami.cities() == {"nanjing": "320100", "suzhou": "320500"}
    for wrong in ("320102", "110100", "999900"):  # a county, another province's city, no place at all
        with pytest.raises(SettingsError, match=rf"ami\.servers\.0\.city_code: {wrong} is not a city"):
            load_settings(ami={"servers": [{"name": "nanjing", "city_code": wrong}]})
    with pytest.raises(SettingsError, match="nanjing given twice"):
        load_settings(ami={"servers": [{"name": "nanjing"}, {"name": "nanjing", "port": 5039}]})



@pytest.mark.anyio
async def test_the_database_pool_is_sized_by_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """More intakes or requests in flight than the pool holds open and close a connection each (8 in
    flight on a pool of 5: 412 intakes/s, against 973 on a pool of 16; docs/benchmarks.md)."""
    from ticketing.db import make_engine

    monkeypatch.setenv("HOTLINE_DB__POOL_SIZE", "7")
    db = load_settings().db
    assert (db.pool_size, db.max_overflow) == (7, 5)
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none", pool_size=db.pool_size,
                         max_overflow=db.max_overflow)  # never connected
    try:
        assert (engine.pool.size(), engine.pool.overflow()) == (7, -7)  # overflow counts down from -size
        assert engine.sync_engine.pool._max_overflow == 5  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
