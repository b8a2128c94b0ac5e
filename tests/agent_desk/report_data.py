"""A small month of hotline life in Nanjing and Suzhou for the report tests: tickets through the
ticket service (so every outcome column is the service's), stored calls in each city's queue, and
agents' queue memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from agent_desk.desk import Desk
from ticketing.actions import FollowUp, Reply, Return, Sign
from ticketing.calls import CallStore
from ticketing.models import CallOutcome, utcnow
from ticketing.presence import PresenceStore
from ticketing.service import NewTicket
from ticketing.vocabulary import Category, Channel, Rating

NANJING_QUEUE, SUZHOU_QUEUE = "hotline-12345", "hotline-suzhou"
QUEUE_CITIES = {NANJING_QUEUE: "320100", SUZHOU_QUEUE: "320500"}
XUANWU, GUSU, WUZHONG = "320102", "320508", "320506"


@dataclass
class Seeded:
    replied_suzhou: int  # a Suzhou ticket replied to and not yet rated
    calls_at: datetime
    logged_in_since: datetime


def _ticket(region: str, category: Category, channel: Channel, text: str) -> NewTicket:
    return NewTicket(channel=channel, category=category, description=text, caller_number="13812345678",
                     region_code=region, address="", departments=("water_supply",))


async def seed(desk: Desk) -> Seeded:
    """Tickets of today, calls of the last hour, and agents logged in since two hours ago."""
    desk.settings.desk.supervision.queue_cities.update(QUEUE_CITIES)
    svc = desk.tickets
    made = {}
    for name, region, category, channel in [
        ("nj1", XUANWU, Category.COMPLAINT, Channel.PHONE), ("nj2", XUANWU, Category.HELP, Channel.WEB),
        ("sz1", GUSU, Category.COMPLAINT, Channel.PHONE), ("sz2", GUSU, Category.COMPLAINT, Channel.WECHAT),
        ("sz3", WUZHONG, Category.HELP, Channel.PHONE), ("sz4", GUSU, Category.CONSULTATION, Channel.PHONE),
    ]:
        made[name] = await svc.create(_ticket(region, category, channel, "小区停水三天了"), "agent1", dispatch=True)
    for name in ("nj1", "sz1", "sz2"):
        await svc.act(made[name].id, Sign(), "handler")
        await svc.act(made[name].id, Reply(answer="已恢复供水"), "handler")
    await svc.act(made["nj1"].id, FollowUp(rating=Rating.SATISFIED), "dispatcher")
    await svc.act(made["sz1"].id, FollowUp(rating=Rating.UNSATISFIED), "dispatcher")  # 重办
    await svc.act(made["sz3"].id, Return(reason="不属于本单位"), "handler")
    calls_at = utcnow() - timedelta(minutes=20)
    rows = [  # queue, outcome, wait, talk
        (NANJING_QUEUE, CallOutcome.ANSWERED, 3, 100), (NANJING_QUEUE, CallOutcome.ABANDONED, 30, None),
        (SUZHOU_QUEUE, CallOutcome.ANSWERED, 10, 200), (SUZHOU_QUEUE, CallOutcome.ANSWERED, 25, 160),
        (SUZHOU_QUEUE, CallOutcome.ABANDONED, 2, None),
    ]
    calls = []
    for i, (queue, outcome, wait, talk) in enumerate(rows):
        answered = calls_at if outcome is CallOutcome.ANSWERED else None
        agent = "Local/agent1@agents" if answered else None
        leg = {"queue": queue, "uniqueid": f"18000.{i}", "entered_at": calls_at, "wait_seconds": wait,
               "agent": agent, "answered_at": answered, "talk_seconds": talk, "outcome": outcome}
        calls.append({"server": "pbx1", "linkedid": f"18000.{i}", "caller_number": f"1390000000{i}", "queue": queue,
                      "entered_at": calls_at, "wait_seconds": wait, "agent": agent, "talk_seconds": talk,
                      "outcome": outcome, "answered_at": answered, "final": True, "legs": [leg]})
    await CallStore(desk.sessions).upsert_many(calls)
    since = utcnow() - timedelta(hours=2)
    await PresenceStore(desk.sessions).upsert_many([
        {"server": "pbx1", "queue": queue, "interface": interface, "member_name": interface,
         "logged_in_at": since, "logged_out_at": None}
        for queue, interface in [(NANJING_QUEUE, "PJSIP/1001"), (SUZHOU_QUEUE, "PJSIP/2001"),
                                 (SUZHOU_QUEUE, "PJSIP/2002")]])
    return Seeded(replied_suzhou=made["sz2"].id, calls_at=calls_at, logged_in_since=since)
