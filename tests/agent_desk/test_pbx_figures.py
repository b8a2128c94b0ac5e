"""Several PBXs on one board: each PBX's figures are what its capture alone gives, the totals their
sum; a city supervisor sees its city's PBX, on the API and the wallboard, and no other city's."""

from __future__ import annotations

from typing import Any

import pytest

from agent_desk.live.board import LiveBoard
from agent_desk.wiring import estimated_wait
from ami.clock import StreamClock
from ami.model import LiveModel
from ami.parser import AmiParser
from ami.replay import ReplaySource, replay_file
from ami.settings import AmiServer, AmiSettings
from tests.agent_desk.conftest import NANJING, SUZHOU, DeskClient
from tests.ami.peer import Script
from tests.conftest import FIXTURES
from tests.pages.test_desk_shift import recorded_events
from ticketing.call_kpis import COUNTS, CallKpis
from ticketing.calls import CallStore

pytestmark = pytest.mark.anyio
CAPTURES = {"nanjing": "call_answered", "suzhou": "call_abandoned"}
CITIES = {"nanjing": NANJING, "suzhou": SUZHOU}
NOT_FIGURES = {"name", "city_code", "callers", "members"}


def _feed(board: LiveBoard, pbx: str) -> None:
    ReplaySource(FIXTURES / "ami" / f"{CAPTURES[pbx]}.jsonl", board.model, server=pbx).feed_all()


def alone(pbx: str) -> dict[str, Any]:
    """The figures of one PBX's capture on a board of its own."""
    board = LiveBoard(LiveModel(clock=StreamClock()))
    _feed(board, pbx)
    return board.snapshot().totals.model_dump(exclude=NOT_FIGURES)


@pytest.fixture
def board() -> LiveBoard:
    both = LiveBoard(LiveModel(clock=StreamClock()), mode="live", cities=CITIES)
    for pbx in CAPTURES:
        _feed(both, pbx)
    return both


@pytest.fixture
def pbxs(client: DeskClient) -> None:
    client.desk.settings.ami = AmiSettings(servers=[AmiServer(name=name, city_code=city)
                                                    for name, city in CITIES.items()])


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in NOT_FIGURES}


@pytest.mark.usefixtures("pbxs")
@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_each_pbx_is_its_capture_alone_and_the_province_their_sum(client: DeskClient) -> None:
    for path in ("/api/supervisor/live", "/api/wallboard/snapshot"):
        snap = (await client.http.get(path, headers=client.auth("sup_province"))).json()
        assert [(p["name"], p["city_code"]) for p in snap["pbx"]] == [("nanjing", NANJING), ("suzhou", SUZHOU)]
        for row in snap["pbx"]:
            assert _figures(row) == alone(row["name"])
        for counter in COUNTS:
            assert snap["totals"][counter] == sum(p[counter] for p in snap["pbx"])
        assert (snap["totals"]["answered"], snap["totals"]["abandoned"]) == (1, 1)
        assert snap["totals"]["logged_in"] == sum(p["logged_in"] for p in snap["pbx"]) > 0
        assert {a["queue"] for a in snap["abandoned"]} == {"hotline-enterprise"}
    kiosk = (await client.http.get("/api/wallboard/snapshot", headers=client.kiosk)).json()
    assert [p["name"] for p in kiosk["pbx"]] == ["nanjing", "suzhou"]


@pytest.mark.usefixtures("pbxs")
@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_a_city_supervisor_sees_its_citys_pbx_only(client: DeskClient) -> None:
    nanjing = client.auth("sup_nanjing")
    for path in ("/api/supervisor/live", "/api/wallboard/snapshot"):
        snap = (await client.http.get(path, headers=nanjing)).json()
        assert [p["name"] for p in snap["pbx"]] == ["nanjing"]
        assert _figures(snap["totals"]) == alone("nanjing")
        assert snap["abandoned"] == []  # suzhou's abandoned caller is not Nanjing's
        assert (await client.http.get(path, params={"pbx": "nanjing"}, headers=nanjing)).status_code == 200
        refused = await client.http.get(path, params={"pbx": "suzhou"}, headers=nanjing)
        assert refused.status_code == 403 and "another city" in refused.json()["detail"]
        assert (await client.http.get(path, params={"pbx": "beijing"}, headers=nanjing)).status_code == 404
        one = (await client.http.get(path, params={"pbx": "suzhou"}, headers=client.auth("sup_province"))).json()
        assert [p["name"] for p in one["pbx"]] == ["suzhou"] and _figures(one["totals"]) == alone("suzhou")
    stream = await client.http.get("/api/wallboard/stream", params={"pbx": "suzhou"}, headers=nanjing)
    assert stream.status_code == 403
    lights = (await client.http.get("/api/wallboard/snapshot", headers=nanjing)).json()["cities"]
    assert [c["code"] for c in lights] == [NANJING]
    suzhou = (await client.http.get("/api/supervisor/live", headers=client.auth("sup_suzhou"))).json()
    assert [p["name"] for p in suzhou["pbx"]] == ["suzhou"] and _figures(suzhou["totals"]) == alone("suzhou")


async def _store_both(client: DeskClient) -> None:
    store = CallStore(client.desk.sessions)
    for pbx, capture in CAPTURES.items():
        _model, calls = replay_file(FIXTURES / "ami" / f"{capture}.jsonl", server=pbx)
        await store.upsert_many([call.record_fields() for call in calls])


@pytest.mark.usefixtures("pbxs")
@pytest.mark.parametrize("db_target", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)
async def test_stored_call_kpis_by_pbx_and_of_one_pbx(client: DeskClient) -> None:
    await _store_both(client)
    period = {"since": "2026-11-01T00:00:00Z", "until": "2026-12-01T00:00:00Z"}  # the recordings' days
    path = "/api/supervisor/kpi/calls"
    kpis = set(CallKpis.model_fields)

    async def rows(user: str, **params: str) -> list[dict[str, Any]]:
        answer = await client.http.get(path, params={**period, **params}, headers=client.auth(user))
        assert answer.status_code == 200, answer.text
        return [{k: v for k, v in row.items() if k in kpis | {"key"}} for row in answer.json()["items"]]

    def figures(pbx: str) -> dict[str, Any]:
        return {k: v for k, v in alone(pbx).items() if k in kpis}

    assert await rows("sup_province", by="pbx") == [{"key": pbx, **figures(pbx)} for pbx in CAPTURES]
    assert await rows("sup_province", pbx="suzhou") == [{"key": None, **figures("suzhou")}]
    assert await rows("sup_nanjing") == [{"key": None, **figures("nanjing")}]  # its city's PBX, by default
    refused = await client.http.get(path, params={**period, "pbx": "suzhou"}, headers=client.auth("sup_nanjing"))
    assert refused.status_code == 403
    unknown = await client.http.get(path, params={**period, "pbx": "x"}, headers=client.auth("sup_province"))
    assert unknown.status_code == 404
    # The reports count a city's PBX as the city's calls too: Nanjing's own, and the province's Suzhou.
    days = {"start": "2026-11-01", "end": "2026-11-30"}
    for user, region, pbx in (("sup_nanjing", None, "nanjing"), ("sup_province", SUZHOU, "suzhou")):
        report = await client.http.get("/api/reports/calls", params={**days, **({"region": region} if region else {})},
                                       headers=client.auth(user))
        assert report.status_code == 200, report.text
        [row] = report.json()["items"]
        assert {k: v for k, v in row.items() if k in kpis} == figures(pbx)


async def test_the_ivr_estimates_a_queues_wait_on_its_own_pbx() -> None:
    """Both PBXs have a caller waiting in their `hotline-enterprise` (call_abandoned, up to the
    caller's QueueCallerJoin): the IVR next to Nanjing's PBX counts Nanjing's caller only."""
    script = Script.load(FIXTURES / "ami" / "call_abandoned")
    events = recorded_events(script, "abandon-0002")
    joined = events[:events.index(b"\r\n\r\n", events.index(b"Event: QueueCallerJoin")) + 4]
    board = LiveBoard(LiveModel(clock=StreamClock()), cities=CITIES)
    for pbx in CAPTURES:
        for message in AmiParser(wants=board.model.wants).feed(joined):
            board.model.apply(pbx, message)
    assert board.snapshot().totals.waiting == 2
    nanjing, everywhere = estimated_wait(board, "nanjing"), estimated_wait(board, None)
    assert await nanjing("hotline-enterprise") == 2 * 180.0  # one waiting there, and the caller asking
    assert await everywhere("hotline-enterprise") == 3 * 180.0


@pytest.mark.usefixtures("pbxs")
@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_metrics_keep_each_pbxs_queues_apart(client: DeskClient) -> None:
    """Prometheus: a queue's gauges and the call counters carry the PBX, as each capture alone gives them."""
    from prometheus_client.parser import text_string_to_metric_families

    text = (await client.http.get("/metrics")).text
    samples = {(s.name, frozenset(s.labels.items())): s.value
               for family in text_string_to_metric_families(text) for s in family.samples}
    for pbx in CAPTURES:
        for outcome in ("offered", "answered", "abandoned"):
            assert samples[("hotline_calls_total", frozenset({("pbx", pbx), ("outcome", outcome)}))] == \
                alone(pbx)[outcome]
    logged_in = {labels: value for (name, labels), value in samples.items()
                 if name == "hotline_queue_agents" and ("state", "logged_in") in labels}
    assert {dict(labels)["pbx"] for labels in logged_in} == set(CAPTURES)
