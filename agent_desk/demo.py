"""Demo data for a first run: one user per role (passwords printed once), an Open311 client, a few
tickets and knowledge-base articles, so `make run` shows something. Idempotent: existing users,
tickets and articles are left alone."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.resources import files
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from agent_desk.accounts import NewUser, add_api_client, add_kiosk_key, add_user
from agent_desk.live.replay import DEMO_CALL_LINKEDID
from agent_desk.security.passwords import new_password
from agent_desk.settings import Settings
from ticketing import rollups
from ticketing.actions import Action, CloseDirect, Dispatch, FollowUp
from ticketing.db import SessionFactory
from ticketing.knowledge import ArticleInput, KnowledgeBase
from ticketing.models import (
    ApiClient,
    Draft,
    DraftStatus,
    KbArticle,
    KioskKey,
    Role,
    Ticket,
    TicketEvent,
    TicketSequence,
    User,
)
from ticketing.service import NewTicket, TicketService
from ticketing.vocabulary import Category, Channel, Rating, TicketState

DEMO_PROVINCE = "320000"  # 江苏省: the demo supervisor sees the replayed queues (no queue_cities needed)
DEMO_CITY = "320100"  # 南京市
DEMO_COUNTY = "320102"  # 玄武区
DEMO_UNIT = f"dept:{DEMO_COUNTY}:water_supply"
FIXED_NUMBER = "JS20261128-000123"


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: Role
    password: str
    scope: str


def _demo_users() -> list[NewUser]:
    return [
        NewUser("demo-agent", Role.AGENT, new_password(), "演示坐席", agent_interface="Local/agent1@agents"),
        NewUser("demo-dispatcher", Role.DISPATCHER, new_password(), "演示派单员"),
        NewUser("demo-handler", Role.HANDLER, new_password(), "玄武区供水 演示", unit_id=DEMO_UNIT),
        NewUser("demo-supervisor", Role.SUPERVISOR, new_password(), "江苏省 演示班长", region_code=DEMO_PROVINCE),
        NewUser("demo-admin", Role.ADMIN, new_password(), "演示管理员"),
    ]


async def seed_demo_users(sessions: SessionFactory) -> list[DemoUser]:
    """Create the demo users that do not exist yet; return them with their (only) plain passwords."""
    async with sessions() as session:
        existing = set((await session.scalars(select(User.username))).all())
    created = []
    for new in _demo_users():
        if new.username in existing:
            continue
        await add_user(sessions, new)
        scope = new.unit_id or new.region_code or new.agent_interface or "all"
        created.append(DemoUser(new.username, new.role, new.password, scope))
    return created


async def seed_demo_api_client(sessions: SessionFactory) -> str | None:
    async with sessions() as session:
        if await session.scalar(select(ApiClient.id).where(ApiClient.name == "demo-webform")):
            return None
    return await add_api_client(sessions, "demo-webform", Channel.WEB)


async def seed_demo_kiosk(sessions: SessionFactory) -> str | None:
    """A wallboard kiosk key for the demo wall screen, if there is none yet."""
    async with sessions() as session:
        if await session.scalar(select(KioskKey.id).where(KioskKey.name == "demo-wall")):
            return None
    return await add_kiosk_key(sessions, "demo-wall")


async def seed_demo_tickets(sessions: SessionFactory, service: TicketService) -> list[str]:
    """A few tickets in different states, plus JS20261128-000123 if that number is free."""
    async with sessions() as session:
        if await session.scalar(select(Ticket.id).where(Ticket.created_by == "demo-seed").limit(1)):
            return []
    numbers = []
    fixed = await _fixed_ticket(sessions, service.sla.worktime.tz)
    if fixed is not None:
        await service.act(fixed, Dispatch(lead_unit_id=DEMO_UNIT), "demo-seed")
        numbers.append(FIXED_NUMBER)
    answered = CloseDirect(answer="身份证、居住证明、照片；可在网上办理。")
    samples: list[tuple[Category, str, str, list[Action]]] = [
        (Category.HELP, "玄武区北京东路小区停水两天，物业说是管道破裂，请尽快修复", DEMO_COUNTY, [Dispatch()]),
        (Category.CONSULTATION, "咨询南京市居住证办理需要哪些材料", DEMO_CITY,
         [answered, FollowUp(rating=Rating.SATISFIED)]),
        (Category.COMPLAINT, "玄武区某餐馆夜间油烟扰民", DEMO_COUNTY, [Dispatch()]),
        (Category.SUGGESTION, "建议在玄武湖公园增设无障碍通道", DEMO_COUNTY, []),
    ]
    for category, text, region, actions in samples:
        view = await service.create(NewTicket(Channel.PHONE, category, text, caller_number="13800138000",
                                              region_code=region), "demo-seed")
        for action in actions:
            await service.act(view.id, action, "demo-seed")
        numbers.append(view.number)
    # As a citizen makes it on /my12345: dispatched at once, published (masked) on the board.
    web = await service.create(NewTicket(Channel.WEB, Category.HELP, "珠江路两盏路灯坏了一个星期，晚上很黑，我姓张",
                                         caller_number="13800138000", region_code=DEMO_COUNTY, public=True),
                               "demo-seed", dispatch=True)
    numbers.append(web.number)
    return numbers


DEMO_CALLER = "13800138000"


async def seed_demo_draft(sessions: SessionFactory) -> bool:
    """The draft of the replayed demo call (`call_answered`, answered by demo-agent), as the IVR and
    ASR would have left it, so the demo's screen pop has a transcript to turn into a ticket."""
    from asr.extraction.extractor import Extractor  # the ASR adapter, only where a demo is seeded

    async with sessions.begin() as session:
        if await session.scalar(select(Draft.id).where(Draft.call_linkedid == DEMO_CALL_LINKEDID)):
            return False
        transcript = "你好，我家在玄武区珠江路，小区停水两天了，物业说是管道坏了，请尽快派人修"
        extraction = Extractor.build().extract(transcript, caller_number=DEMO_CALLER)
        session.add(Draft(server="replay", call_linkedid=DEMO_CALL_LINKEDID, caller_number=DEMO_CALLER,
                          channel=Channel.PHONE, status=DraftStatus.READY, transcript=transcript,
                          **extraction.fields(), extraction=extraction.evidence()))
    return True


async def seed_demo_articles(sessions: SessionFactory, knowledge: KnowledgeBase) -> int:
    """The articles of `agent_desk/data/demo_articles.toml`, unless demo articles exist already."""
    async with sessions() as session:
        if await session.scalar(select(KbArticle.id).where(KbArticle.created_by == "demo-seed").limit(1)):
            return 0
    table = tomllib.loads(files("agent_desk.data").joinpath("demo_articles.toml").read_text("utf-8"))
    today = knowledge.today()
    for spec in table["article"]:
        days = spec.get("valid_for_days")
        await knowledge.create(ArticleInput(
            spec["title"], spec["body"], Category(spec["category"]), tuple(spec.get("region_codes", ())),
            tuple(spec.get("unit_ids", ())), today if days else None, today + timedelta(days=days) if days else None,
        ), "demo-seed")
    return len(table["article"])


async def _fixed_ticket(sessions: SessionFactory, zone: ZoneInfo) -> int | None:
    digits = FIXED_NUMBER[2:].replace("-", "")
    day, seq = digits[:8], int(digits[8:])
    created = datetime(2026, 11, 28, 1, 30, tzinfo=UTC)  # 09:30 in Nanjing
    async with sessions.begin() as session:
        if await session.scalar(select(Ticket.id).where(Ticket.number == FIXED_NUMBER)):
            return None
        ticket = Ticket(number=FIXED_NUMBER, digits=digits, channel=Channel.PHONE, category=Category.HELP,
                        caller_number="13800138000", description="玄武区珠江路自来水水压低，高层用户没水",
                        region_code=DEMO_COUNTY, city_code=DEMO_CITY, county_code=DEMO_COUNTY,
                        state=TicketState.ACCEPTED, created_by="demo-seed", created_at=created,
                        updated_at=created, co_handlers=[])
        session.add(ticket)
        await session.flush()
        await rollups.record(session, None, rollups.share(partial(getattr, ticket), zone,
                                                          await rollups.watermark(session)))
        session.add(TicketEvent(ticket_id=ticket.id, at=created, actor="demo-seed", action="accept",
                                from_state=None, to_state=TicketState.ACCEPTED, data={"channel": "phone"}))
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        # Later numbers of that day must not collide with the fixed one.
        await session.execute(insert(TicketSequence).values(day=day, last=seq).on_conflict_do_update(
            index_elements=["day"],
            set_={"last": _greatest(dialect, TicketSequence.last, seq)}))
        return ticket.id


def _greatest(dialect: str, column: object, value: int) -> object:
    return func.greatest(column, value) if dialect == "postgresql" else func.max(column, value)


async def seed_demo(config: Settings) -> None:
    """`hotline seed --demo-users`: create what is missing and print the new passwords once."""
    from ticketing.db import make_engine, make_session_factory

    engine = make_engine(config.db.url)
    try:
        sessions = make_session_factory(engine)
        users = await seed_demo_users(sessions)
        key = await seed_demo_api_client(sessions)
        kiosk = await seed_demo_kiosk(sessions)
        service = TicketService.from_settings(sessions, config.ticketing)
        tickets = await seed_demo_tickets(sessions, service)
        draft = await seed_demo_draft(sessions)
        articles = await seed_demo_articles(sessions, KnowledgeBase.from_settings(sessions, config.ticketing))
    finally:
        await engine.dispose()
    if users:
        print("demo users (these passwords are shown once; change them with `hotline users passwd NAME`):")
        for user in users:
            print(f"  {user.username:<16} {user.role.value:<11} {user.password}   scope: {user.scope}")
    else:
        print("demo users: already present (passwords were printed when they were created)")
    if key:
        print(f"demo Open311 api_key (client demo-webform, channel web): {key}")
    if kiosk:
        print(f"demo wallboard (kiosk demo-wall): http://{config.desk.host}:{config.desk.port}/wallboard#kiosk={kiosk}")
    if tickets:
        print(f"demo tickets: {', '.join(tickets)}")
    if draft:
        print(f"demo draft for the replayed call {DEMO_CALL_LINKEDID} (demo-agent's screen pop)")
    if articles:
        print(f"demo knowledge base: {articles} articles")
