"""Supervisor reports: every view within the caller's scope, the same figures in JSON, CSV and XLSX,
the drill-down's checks, the staffing advice from stored calls and memberships, and 满意率 moving
with a rating."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import openpyxl
import pytest

from agent_desk.supervision.erlang import required_agents
from tests.agent_desk.conftest import DeskClient
from tests.agent_desk.report_data import GUSU, WUZHONG, XUANWU, seed
from tests.ticketing.helpers import Clock, new_ticket, service
from ticketing.call_kpis import CallDimension, call_kpis
from ticketing.models import utcnow

pytestmark = pytest.mark.anyio
# Every view and breakdown the page shows: (path, parameters).
VIEWS: list[tuple[str, dict[str, str]]] = [
    ("/api/reports/calls", {}), ("/api/reports/calls", {"by": "day"}), ("/api/reports/calls", {"by": "hour_of_day"}),
    ("/api/reports/staffing", {}), ("/api/reports/tickets", {}),
    *[("/api/reports/tickets", {"by": by}) for by in ("channel", "category", "city", "county", "unit")],
    ("/api/reports/overdue", {}), ("/api/reports/hotspots", {}),
]
NANJING_WORDS = ("320100", XUANWU, "南京", "玄武", "hotline-12345")


def period(client: DeskClient) -> dict[str, str]:
    """Yesterday and today (local): the seeded hour is in it whatever the time of the test."""
    today = utcnow().astimezone(client.desk.zone).date()
    return {"start": (today - timedelta(days=1)).isoformat(), "end": today.isoformat()}


async def rows(client: DeskClient, user: str, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    params = {**period(client), **params, "limit": "500"}
    response = await client.http.get(path, params=params, headers=client.auth(user))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["next_cursor"] is None
    items: list[dict[str, Any]] = page["items"]
    return items


async def export(client: DeskClient, user: str, path: str, params: dict[str, str], fmt: str) -> bytes:
    response = await client.http.get(path, params={**period(client), **params, "format": fmt},
                                     headers=client.auth(user))
    assert response.status_code == 200, response.text
    return response.content


def xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    data = book.worksheets[0].iter_rows(values_only=True)
    header = next(data)
    return [dict(zip(header, row, strict=True)) for row in data]


def csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def as_csv(value: Any) -> str:
    """A JSON value as the CSV writes it (an instant in its +00:00 form: the same instant as the Z)."""
    if isinstance(value, str) and value.endswith("Z") and "T" in value:
        return datetime.fromisoformat(value).isoformat()
    return "" if value is None else str(value)


async def test_a_suzhou_supervisor_sees_only_suzhou_in_every_view_and_export(client: DeskClient) -> None:
    await seed(client.desk)
    for path, params in VIEWS:
        mine = await rows(client, "sup_suzhou", path, params)
        # the province's supervisor drilled down to Suzhou sees exactly the same figures
        assert mine == await rows(client, "sup_province", path, {**params, "region": "320500"}), path
        text = repr(mine) + (await export(client, "sup_suzhou", path, params, "csv")).decode("utf-8-sig")
        for word in NANJING_WORDS:
            assert word not in text, (path, params, word)
        book = openpyxl.load_workbook(io.BytesIO(await export(client, "sup_suzhou", path, params, "xlsx")))
        cells = repr([list(sheet.values) for sheet in book.worksheets])
        for word in NANJING_WORDS:
            assert word not in cells, (path, params, word)
    by_city = await rows(client, "sup_suzhou", "/api/reports/tickets", {"by": "city"})
    assert [r["key"] for r in by_city] == ["320500"]
    province = {r["key"] for r in await rows(client, "sup_province", "/api/reports/tickets", {"by": "city"})}
    assert province == {"320100", "320500"}
    [calls] = await rows(client, "sup_suzhou", "/api/reports/calls", {})
    assert (calls["offered"], calls["answered"], calls["abandoned"]) == (3, 2, 1)
    # Nanjing, its counties and units do not exist for Suzhou's supervisor
    for params in ({"region": "320100"}, {"region": XUANWU}, {"unit": "office:320102"}):
        refused = await client.http.get("/api/reports/tickets", params=params, headers=client.auth("sup_suzhou"))
        assert refused.status_code == 404, params
    context = (await client.http.get("/api/reports/context", params={"region": GUSU},
                                     headers=client.auth("sup_suzhou"))).json()
    assert [p["name"] for p in context["trail"]] == ["苏州市", "姑苏区"] and context["breakdown"] == "unit"


async def test_xlsx_and_csv_carry_the_apis_figures(client: DeskClient) -> None:
    await seed(client.desk)
    for path, params in VIEWS:
        api = await rows(client, "sup_province", path, params)
        assert xlsx_rows(await export(client, "sup_province", path, params, "xlsx")) == api, (path, params)
        assert csv_rows(await export(client, "sup_province", path, params, "csv")) == [
            {k: as_csv(v) for k, v in row.items()} for row in api], (path, params)
    book = openpyxl.load_workbook(io.BytesIO(await export(client, "sup_province", "/api/reports/tickets", {}, "xlsx")))
    definitions = {row[0]: row[1] for row in book["definitions"].values if row and row[0]}
    assert definitions["satisfaction_rate"] == "满意率: satisfied ÷ rated"
    assert definitions["place 地区"] == "江苏省"


async def test_satisfaction_moves_with_a_rating(client: DeskClient) -> None:
    seeded = await seed(client.desk)
    [before] = await rows(client, "sup_suzhou", "/api/reports/tickets", {})
    assert (before["rated"], before["satisfied"], before["satisfaction_rate"]) == (1, 0, 0.0)
    assert (before["redone"], before["redo_rate"], before["returned"]) == (1, 1.0, 1)
    rated = await client.http.post(f"/api/tickets/{seeded.replied_suzhou}/actions/follow_up",
                                   json={"rating": "satisfied"}, headers=client.auth("dispatcher"))
    assert rated.status_code == 200, rated.text
    [after] = await rows(client, "sup_suzhou", "/api/reports/tickets", {})
    assert (after["rated"], after["satisfied"], after["satisfaction_rate"]) == (2, 1, 0.5)
    assert after["redo_rate"] == 0.5
    by_category = {r["key"]: r for r in await rows(client, "sup_suzhou", "/api/reports/tickets", {"by": "category"})}
    assert by_category["complaint"]["satisfaction_rate"] == 0.5 and by_category["complaint"]["label"] == "投诉"


async def test_staffing_sets_calls_per_hour_against_agents_logged_in_and_erlang_c(client: DeskClient) -> None:
    seeded = await seed(client.desk)
    hours = {r["hour"]: r for r in await rows(client, "sup_suzhou", "/api/reports/staffing", {})}
    assert len(hours) == 24 and {r["hours_in_period"] for r in hours.values()} == {2}
    local = seeded.calls_at.astimezone(client.desk.zone)
    hour = local.strftime("%H:00")
    row = hours[hour]
    assert row["offered"] == 3 and row["aht_seconds"] == 180.0
    assert row["calls_per_hour"] == pytest.approx(3 / row["hours_in_period"], abs=1e-3)
    advice = required_agents(3 / row["hours_in_period"], 180.0, answer_seconds=20, target=0.8)
    assert row["agents_needed"] == advice.agents
    # two Suzhou agents logged in since `logged_in_since`, still now; the other day's hour: none
    hour_start = local.replace(minute=0, second=0, microsecond=0)
    overlap = (min(utcnow(), hour_start + timedelta(hours=1)) - max(seeded.logged_in_since, hour_start)).total_seconds()
    assert row["agents_logged_in"] == pytest.approx(2 * overlap / 3600 / 2, abs=0.01)
    # the hour-of-day figures are the call KPI definition's
    async with client.desk.sessions() as session:
        reference = await call_kpis(session, since=seeded.calls_at, until=seeded.calls_at + timedelta(seconds=1),
                                    settings=client.desk.settings.desk.supervision.call_kpis(),
                                    by=CallDimension.HOUR_OF_DAY, utc_offset_hours=client.desk.utc_offset_hours())
    by_hour = {r["key"]: r for r in await rows(client, "sup_province", "/api/reports/calls", {"by": "hour_of_day"})}
    assert by_hour[hour] == reference[0].model_dump()


async def test_bad_periods_places_and_roles_are_refused_clearly(client: DeskClient) -> None:
    await seed(client.desk)
    cases = [({"start": "2026-11-10", "end": "2026-11-01"}, 400, "end must not be before start"),
             ({"start": "2025-01-01", "end": "2026-11-01"}, 400, "at most 366 days"),
             ({"start": "0001-01-01", "end": "0001-01-02"}, 400, "days must be between 1970-01-01"),
             ({"start": "9999-12-30", "end": "9999-12-31"}, 400, "days must be between"),
             ({"region": "32"}, 422, None), ({"unit": "nope"}, 404, "no unit nope"),
             ({"region": "999999"}, 404, "no region 999999"), ({"format": "pdf"}, 422, None)]
    for params, status, detail in cases:
        response = await client.http.get("/api/reports/tickets", params=params, headers=client.auth("sup_province"))
        assert response.status_code == status, (params, response.text)
        if detail:
            assert detail in response.json()["detail"]
    for user in ("agent1",):
        assert (await client.http.get("/api/reports/calls", headers=client.auth(user))).status_code == 403
    assert (await client.http.get("/api/reports/calls")).status_code == 401


async def test_overdue_cases_are_the_red_figures_tickets_paged_in_the_database(client: DeskClient) -> None:
    await seed(client.desk)
    ten_days_ago = utcnow() - timedelta(days=10)  # past 4 working hours whatever the holidays
    late = service(client.desk.sessions, Clock(ten_days_ago))
    for region in (GUSU, GUSU, WUZHONG, XUANWU):
        await late.create(new_ticket(region_code=region), "agent1", dispatch=True)  # never signed: red
    today = utcnow().astimezone(client.desk.zone).date()
    period = {"start": (today - timedelta(days=14)).isoformat(), "end": today.isoformat()}
    [kpi] = await rows(client, "sup_suzhou", "/api/reports/tickets", period)
    first = (await client.http.get("/api/reports/overdue", params={**period, "limit": 2},
                                   headers=client.auth("sup_suzhou"))).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = (await client.http.get("/api/reports/overdue", params={**period, "limit": 2, "cursor": first["next_cursor"]},
                                  headers=client.auth("sup_suzhou"))).json()
    listed = first["items"] + rest["items"]
    assert rest["next_cursor"] is None and len(listed) == kpi["red"] == 3
    assert {r["county_code"] for r in listed} == {GUSU, WUZHONG}
    assert [r["overdue_since"] for r in listed] == sorted(r["overdue_since"] for r in listed)
    assert csv_rows(await export(client, "sup_suzhou", "/api/reports/overdue", period, "csv")) == [
        {k: as_csv(v) for k, v in row.items()} for row in listed]
    bad = await client.http.get("/api/reports/overdue", params={"cursor": "bm90LWFuLW9mZnNldA"},
                                headers=client.auth("sup_suzhou"))
    assert bad.status_code == 400


async def test_hot_spots_are_the_busiest_pairs_over_time(client: DeskClient) -> None:
    await seed(client.desk)
    cells = await rows(client, "sup_suzhou", "/api/reports/hotspots", {"top": "2"})
    hour = utcnow().astimezone(client.desk.zone).strftime("%Y-%m-%dT%H:00")  # two days: hourly buckets
    assert [(c["category"], c["county"], c["bucket"], c["tickets"]) for c in cells] == [
        ("complaint", "姑苏区", hour, 2), ("help", "吴中区", hour, 1)]  # ties: by county code
    today = utcnow().astimezone(client.desk.zone).date()
    month = {"start": (today - timedelta(days=30)).isoformat(), "end": today.isoformat()}
    daily = await rows(client, "sup_province", "/api/reports/hotspots", month)
    assert {c["bucket"] for c in daily} == {today.isoformat()}  # a longer period: daily buckets
    assert len({(c["category"], c["county_code"]) for c in daily}) == 5
