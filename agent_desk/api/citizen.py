"""The citizen portal's API (`/my12345`): submit a request, read it back, rate it, and the public board.

Submitting needs no account: the request enters the same intake, routing and clocks as a call
(channel `web`), dispatched at once by the routing rules, and the citizen gets its number. How many
requests one phone number and one address make is capped (`desk.portal.submissions_*`).

Reading and rating need the number and the phone number it was made with. Both must match; a wrong
phone number answers exactly as an unknown number does, so a guess reveals nothing, not even that
the number exists. Failed attempts are throttled per request number and per address
(`desk.auth.lookup_*`), and every attempt is audited. Rating is the ticket's 回访 (`follow_up`,
the same action as the IVR survey and a dispatcher's call), so it feeds 满意率 the same way.

The board lists only what the submitter agreed to publish, never a 举报, masked as Open311 does.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from agent_desk.api.deps import DeskDep, client_ip
from agent_desk.api.errors import responses
from agent_desk.api.inputs import Phone, phone_digits
from agent_desk.api.open311 import (
    NEWEST_FIRST,
    ServiceRequest,
    full_view,
    names_of_units,
    public_condition,
    public_text,
    public_view,
    region_name,
    unit_names,
)
from agent_desk.api.pagination import CursorParam, Page, keyset_page
from agent_desk.desk import Desk
from agent_desk.options import PHOTO_BYTES_CEILING
from agent_desk.photos import (
    BadPhoto,
    Photo,
    PhotoTooLarge,
    UnsupportedPhoto,
    clean_photo,
    store_photo,
)
from agent_desk.security.addresses import throttle_key
from agent_desk.timeline import Step, timeline
from ticketing.actions import FollowUp, Reason
from ticketing.errors import IllegalTransition, InvalidAction
from ticketing.models import Ticket, TicketAttachment, TicketEvent, utcnow
from ticketing.models.region import RegionLevel
from ticketing.service import NewTicket
from ticketing.vocabulary import (
    CATEGORY_LABELS,
    OPEN_STATES,
    Category,
    Channel,
    Rating,
    TicketState,
)

router = APIRouter(prefix="/api/citizen", tags=["citizen"])
NOT_FOUND = "no request with this number and phone number"
ACTOR = "citizen:web"
_PHOTO_CHARS = 4 * PHOTO_BYTES_CEILING // 3 + 4  # base64 makes 3 bytes 4 characters


class Choice(BaseModel):
    code: str
    label: str


class CategoryChoice(Choice):
    may_be_public: bool = Field(description="false for 举报: a report is never published")


class Place(BaseModel):
    code: str
    name: str


class City(Place):
    counties: list[Place]


class PortalOptions(BaseModel):
    categories: list[CategoryChoice]
    cities: list[City] = Field(description="the province's cities, each with its counties")
    ratings: list[Choice]
    photo_max_bytes: int


@router.get("/options", response_model=PortalOptions)
async def options(desk: DeskDep) -> PortalOptions:
    """What the portal's form offers: the categories, the places (city, then county) and the ratings."""
    tree = desk.tickets.routing.regions
    province = desk.tickets.routing.province_code
    cities = sorted((r for r in tree.values() if r.parent_code == province), key=lambda r: r.code)
    return PortalOptions(
        categories=[CategoryChoice(code=c.value, label=c.label, may_be_public=c is not Category.REPORT)
                    for c in Category],
        cities=[City(code=c.code, name=c.name,
                     counties=[Place(code=r.code, name=r.name)
                               for r in sorted(tree.values(), key=lambda r: r.code) if r.parent_code == c.code])
                for c in cities],
        ratings=[Choice(code=r.value, label=r.label) for r in Rating],
        photo_max_bytes=desk.settings.desk.portal.photo_max_bytes)


class Submission(BaseModel):
    category: Category
    region_code: str = Field(pattern=r"^\d{6}$", description="where it happens: a county, or a city")
    address: str = Field("", max_length=128, description="street and number, if it helps")
    description: str = Field(min_length=1, max_length=2000)
    phone: Phone = Field(max_length=32, description="to reach you; with the number, it reads the request back")
    public: bool = Field(False, description="publish on the board, masked; never for a report (举报)")
    photo: str | None = Field(None, max_length=_PHOTO_CHARS, description="a JPEG or PNG, base64-encoded")


class Submitted(BaseModel):
    service_request_id: str
    state_label: str
    unit: str | None = Field(description="the unit it was dispatched to")
    sign_due_at: datetime | None


async def _photo(desk: Desk, encoded: str | None) -> Photo | None:
    """The photo re-encoded, or a 4xx saying what is wrong with it."""
    if not encoded:
        return None
    portal = desk.settings.desk.portal
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(400, "照片编码无效 (photo: not base64)") from None
    try:  # decoding is CPU work: off the event loop
        return await asyncio.to_thread(clean_photo, raw, max_bytes=portal.photo_max_bytes,
                                       max_side=portal.photo_max_side)
    except BadPhoto as exc:
        status = 413 if isinstance(exc, PhotoTooLarge) else 415 if isinstance(exc, UnsupportedPhoto) else 400
        raise HTTPException(status, str(exc)) from None


@router.post("/requests", response_model=Submitted, status_code=201, responses=responses(400, 413, 415, 429))
async def submit(body: Submission, desk: DeskDep, request: Request) -> Submitted:
    """Make a request (channel `web`). It is accepted and dispatched at once; keep its number."""
    tree = desk.tickets.routing.regions
    region = tree.get(body.region_code)
    if region is None or region.level is RegionLevel.PROVINCE:
        raise HTTPException(400, "请选择事发的市和区县 (region_code: a city or county)")
    if body.public and body.category is Category.REPORT:
        raise HTTPException(400, "举报不能公开 (a report is never public)")
    if not body.description.strip():
        raise HTTPException(400, "请写下您的诉求 (description is empty)")
    photo = await _photo(desk, body.photo)
    ip = client_ip(request)
    # Every request counts (none is "failed"), so the throttle caps how many a phone or a place makes.
    attempt = await desk.submissions.attempt(phone_digits(body.phone), throttle_key(ip))
    if attempt.retry_after > 0:
        await desk.audit.record(ACTOR, "ticket.create", "ticket", None, outcome="throttled", source_ip=ip)
        raise HTTPException(429, "提交太频繁，请稍后再试 (too many requests)",
                            headers={"Retry-After": str(int(attempt.retry_after) + 1)})
    departments = tuple(s.dept_type for s in desk.tickets.routing.suggest_departments(body.description))
    place = region_name(tree, region.code) or region.name
    view = await desk.tickets.create(NewTicket(
        channel=Channel.WEB, category=body.category, description=body.description, caller_number=body.phone,
        region_code=region.code, address=f"{place}{body.address.strip()}", public=body.public,
        departments=departments), ACTOR, dispatch=True)
    if photo is not None:
        path = store_photo(photo, desk.settings.desk.portal.photos_dir, utcnow())
        async with desk.sessions.begin() as session:
            session.add(TicketAttachment(ticket_id=view.id, content_type=photo.content_type, path=path,
                                         size=len(photo.data), width=photo.width, height=photo.height,
                                         created_at=utcnow()))
    await desk.audit.record(ACTOR, "ticket.create", "ticket", view.id, number=view.number, channel="web",
                            public=body.public, photo=photo is not None, source_ip=ip)
    units = await names_of_units(desk, [view.lead_unit_id] if view.lead_unit_id else [])
    return Submitted(service_request_id=view.number, state_label=view.state_label,
                     unit=units.get(view.lead_unit_id or ""), sign_due_at=view.sign_due_at)


class LookupRequest(BaseModel):
    service_request_id: str = Field(min_length=1, max_length=32, description="the request number, e.g. "
                                                                             "JS20261128-000123")
    phone: Phone = Field(max_length=32, description="the phone number the request was made with")


class RateRequest(LookupRequest):
    rating: Rating
    reason: Reason | None = Field(None, description="what was not good enough")


class StateChange(BaseModel):
    at: datetime
    state: TicketState
    state_label: str


class CitizenRequest(ServiceRequest):
    state: TicketState
    state_label: str
    caller_name: str | None
    phone: str | None
    history: list[StateChange] = Field(description="each change of state, oldest first")
    timeline: list[Step] = Field(description="what happened, oldest first, in plain words")
    place: str | None = Field(description="the city and county")
    sign_due_at: datetime | None = Field(description="the unit must sign for it by then")
    due_at: datetime | None = Field(description="the unit must resolve it by then")
    answer: str | None = Field(description="the unit's reply")
    rating: Rating | None
    can_rate: bool = Field(description="the unit has replied and the request is not rated yet")
    photos: int = Field(description="photos sent with it")


async def _own_request(desk: Desk, request: Request, number_given: str, phone: str, action: str) -> Ticket:
    """The ticket with this number, if `phone` is the one it was made with; else 404 (or 429 when
    guessing too fast), the same whether the number exists or not."""
    ip = client_ip(request)
    number = number_given.strip().upper()
    attempt = await desk.lookups.attempt(number, throttle_key(ip))
    if attempt.retry_after > 0:
        await desk.audit.record("citizen", action, "ticket", number, outcome="throttled", source_ip=ip)
        raise HTTPException(429, "too many attempts; try again later",
                            headers={"Retry-After": str(int(attempt.retry_after) + 1)})
    async with desk.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == number))
    given = phone_digits(phone).encode()
    stored = phone_digits(ticket.caller_number or "").encode() if ticket is not None else b""
    if ticket is None or not stored or not hmac.compare_digest(given, stored):
        await desk.audit.record("citizen", action, "ticket", number, outcome="denied", source_ip=ip)
        raise HTTPException(404, NOT_FOUND)
    await desk.lookups.succeeded(attempt)
    await desk.audit.record("citizen", action, "ticket", ticket.id, number=number, source_ip=ip)
    return ticket


async def _citizen_view(desk: Desk, ticket_id: int) -> CitizenRequest:
    async with desk.sessions() as session:
        ticket = await session.get_one(Ticket, ticket_id)
        events = list((await session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id))).all())
        photos = await session.scalar(select(func.count()).where(TicketAttachment.ticket_id == ticket_id)) or 0
    unit_ids = {str(e.data["lead_unit_id"]) for e in events if (e.data or {}).get("lead_unit_id")}
    units = await names_of_units(desk, [*unit_ids, *([ticket.lead_unit_id] if ticket.lead_unit_id else [])])
    view = full_view(ticket, units)
    history = [StateChange(at=e.at, state=e.to_state, state_label=e.to_state.label)
               for e in events if e.to_state is not None and e.to_state != e.from_state]
    can_rate = ticket.state is TicketState.REPLIED or (ticket.state is TicketState.CLOSED and ticket.rating is None)
    return CitizenRequest(
        **view.model_dump(), state=ticket.state, state_label=ticket.state.label, caller_name=ticket.caller_name,
        phone=ticket.caller_number, history=history, timeline=timeline(events, units),
        place=region_name(desk.tickets.routing.regions, ticket.region_code),
        sign_due_at=ticket.sign_due_at if ticket.signed_at is None and ticket.state in OPEN_STATES else None,
        due_at=ticket.due_at if ticket.state in OPEN_STATES else None, answer=ticket.answer,
        rating=ticket.rating, can_rate=can_rate, photos=photos)


@router.post("/requests/lookup", response_model=CitizenRequest, responses=responses(404, 429))
async def lookup(body: LookupRequest, desk: DeskDep, request: Request) -> CitizenRequest:
    """Your request in full, given its number and the phone number you made it with."""
    ticket = await _own_request(desk, request, body.service_request_id, body.phone, "citizen.lookup")
    return await _citizen_view(desk, ticket.id)


@router.post("/requests/rate", response_model=CitizenRequest, responses=responses(404, 409, 429))
async def rate(body: RateRequest, desk: DeskDep, request: Request) -> CitizenRequest:
    """Rate the unit's reply (回访). Satisfied closes the request; unsatisfied sends it back to be redone."""
    ticket = await _own_request(desk, request, body.service_request_id, body.phone, "citizen.rate")
    try:
        await desk.tickets.act(ticket.id, FollowUp(rating=body.rating, reason=body.reason), ACTOR)
    except IllegalTransition:
        raise HTTPException(409, "承办单位答复后才能评价 (not replied yet)") from None
    except InvalidAction:
        raise HTTPException(409, "这件诉求已经评价过了 (already rated)") from None
    return await _citizen_view(desk, ticket.id)


class BoardItem(BaseModel):
    service_request_id: str
    category: Category
    category_label: str
    place: str | None
    state_label: str
    status: str = Field(description="open or closed")
    requested_datetime: datetime
    agency_responsible: str | None
    description: str = Field(description="masked")
    reply: str | None = Field(description="the unit's reply, masked")


@router.get("/board", response_model=Page[BoardItem], responses=responses(400))
async def board(desk: DeskDep,
                city_code: Annotated[str | None, Query(pattern=r"^\d{6}$", description="one city")] = None,
                category: Category | None = None, cursor: CursorParam = None,
                limit: Annotated[int, Query(ge=1, le=100)] = 20) -> Page[BoardItem]:
    """Requests made public by those who made them (never a 举报), newest first, personal data masked."""
    query = select(Ticket).where(public_condition())
    if city_code:
        query = query.where(Ticket.city_code == city_code)
    if category:
        query = query.where(Ticket.category == category)
    page = await keyset_page(desk.sessions, query, NEWEST_FIRST, cursor=cursor, limit=limit,
                             key=lambda t: (t.id,), view=lambda t: t)
    units = await unit_names(desk, page.items)
    regions = desk.tickets.routing.regions
    items = []
    for ticket in page.items:
        shown = public_view(ticket, units, regions)
        items.append(BoardItem(
            service_request_id=shown.service_request_id, category=ticket.category,
            category_label=CATEGORY_LABELS[ticket.category], place=shown.address, state_label=ticket.state.label,
            status=shown.status, requested_datetime=shown.requested_datetime,
            agency_responsible=shown.agency_responsible, description=shown.description or "",
            reply=public_text(ticket, ticket.answer) if ticket.answer else None))
    return Page[BoardItem](items=items, next_cursor=page.next_cursor)
