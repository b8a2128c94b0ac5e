"""The operator CLI on a seeded database."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from agent_desk.cli import app
from tests.conftest import DatabaseTarget, _wipe
from tests.ticketing.helpers import Clock, new_ticket, service
from ticketing.db import make_engine, make_session_factory
from ticketing.live_config import NoticeDay, replace_year
from ticketing.models import TicketRollup


@pytest.fixture
def cli_env(sqlite_target: DatabaseTarget, monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> CliRunner:
    monkeypatch.setenv("HOTLINE_DB__URL", sqlite_target.url)
    monkeypatch.setenv("HOTLINE_CONFIG", "/nonexistent/hotline.toml")
    return CliRunner()


def run(runner: CliRunner, *args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_regions_tree(cli_env: CliRunner) -> None:
    [nanjing] = json.loads(run(cli_env, "regions", "--under", "320100", "--json"))
    assert nanjing["name"] == "南京市" and len(nanjing["children"]) == 11
    assert "鼓楼区" in run(cli_env, "regions", "--under", "320300")


def test_sla_due_reports_the_calendar(cli_env: CliRunner) -> None:
    result = json.loads(run(cli_env, "sla", "due", "--from", "2026-09-30T16:00+08:00", "--hours", "4", "--json"))
    assert result["due"] == "2026-10-08T11:30:00+08:00"
    assert result["calendar"] == ["chinese-calendar"]
    fallback = json.loads(run(cli_env, "sla", "due", "--from", "2027-01-08T09:00", "--days", "3", "--json"))
    assert fallback["due"] == "2027-01-12T17:30:00+08:00"
    assert any("fallback" in c for c in fallback["calendar"])


def test_sla_due_uses_the_admins_entries(cli_env: CliRunner, sqlite_target: DatabaseTarget) -> None:
    async def enter_spring_festival() -> None:
        engine = make_engine(sqlite_target.url)
        try:
            async with make_session_factory(engine).begin() as session:
                await replace_year(session, 2027, [NoticeDay(date(2027, 2, d), False, "春节") for d in range(6, 13)],
                                   "admin")
        finally:
            await engine.dispose()

    asyncio.run(enter_spring_festival())
    result = json.loads(run(cli_env, "sla", "due", "--from", "2027-02-05T16:00", "--hours", "4", "--json"))
    assert result["due"] == "2027-02-15T11:30:00+08:00"
    assert result["calendar"] == ["admin entries (/admin working calendar)"]


def test_route_explain(cli_env: CliRunner) -> None:
    decision = json.loads(run(cli_env, "route", "explain", "--region", "320106", "--region", "320311", "--json"))
    assert decision["lead_unit_id"] == "platform:320000" and decision["rule"] == "cross-city"
    text = run(cli_env, "route", "explain", "--region", "320106", "--dept", "water_supply")
    assert "dept:320106:water_supply" in text and "because" in text
    bad = cli_env.invoke(app, ["route", "explain", "--region", "999999"])
    assert bad.exit_code == 1 and "unknown region" in bad.output


def test_kpi_tickets_json(cli_env: CliRunner) -> None:
    rows = json.loads(run(cli_env, "kpi", "tickets", "--by", "city", "--since", "2026-01-01", "--json"))
    assert isinstance(rows, list)


def test_kpi_rebuild_restores_the_rollups(cli_env: CliRunner, sqlite_target: DatabaseTarget) -> None:
    engine = sqlite_target.engine()

    async def tickets_without_rollups() -> None:
        svc = service(make_session_factory(engine), Clock())
        for region in ("320106", "320311", "320311"):
            await svc.create(new_ticket(region_code=region), "agent:1", dispatch=True)
        async with engine.begin() as conn:
            await conn.execute(delete(TicketRollup))

    try:
        asyncio.run(tickets_without_rollups())
        missing = json.loads(run(cli_env, "kpi", "tickets", "--by", "city", "--json"))
        assert [r["total"] for r in missing] == [0, 0]  # only red now, read from the tickets themselves
        rebuilt = run(cli_env, "kpi", "rebuild")
        assert "roll-up rows: 24 ticket (days), 0 call (hours), at UTC+8" in rebuilt  # 2 counties: 12 + 12 rows
        rows = json.loads(run(cli_env, "kpi", "tickets", "--by", "city", "--json"))
        assert [(r["key"], r["total"]) for r in rows] == [("320100", 1), ("320300", 2)]
    finally:
        asyncio.run(_wipe(engine))


def test_kb_reindex_on_an_empty_knowledge_base(cli_env: CliRunner) -> None:
    assert "articles re-segmented: 0" in run(cli_env, "kb", "reindex")
