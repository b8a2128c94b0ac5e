"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/.

Web forms, WeChat and app back ends submit requests here; they enter the same ticketing pipeline
with channel `open311` (or the channel of the API key's client). Service codes are our categories.
`status` is `open` or `closed`; our richer state goes into `status_notes`. Errors are the
standard's array of `{code, description}`. Extensions (allowed by the spec): `cursor` on
GET requests.json, with the next page announced in a `Link: <…>; rel="next"` header.
Phone-channel tickets are not exposed here.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent_desk.accounts import api_client_for
from agent_desk.api.deps import DeskDep
from agent_desk.api.pagination import decode_cursor, encode_cursor
from agent_desk.desk import Desk
from ticketing.errors import InvalidAction
from ticketing.models import Ticket, Unit, utcnow
from ticketing.models.region import RegionLevel
from ticketing.regions import RegionRecord
from ticketing.service import NewTicket
from ticketing.vocabulary import CATEGORY_LABELS, OPEN_STATES, Category, Channel, TicketState

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
_COORDS = re.compile(r"^(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)$")
_DESCRIPTIONS = {
    Category.CONSULTATION: "咨询 Ask about a policy or a service",
    Category.HELP: "求助 Ask for help with a problem (water, power, roads …)",
    Category.COMPLAINT: "投诉 Complain about a service or an official",
    Category.REPORT: "举报 Report a violation",
    Category.SUGGESTION: "建议 Suggest an improvement",
    Category.PRAISE: "表扬 Praise a service or an official",
}


class Open311Error(BaseModel):
    code: int
    description: str


class Service(BaseModel):
    service_code: str
    service_name: str
    description: str
    metadata: bool
    type: str
    keywords: str
    group: str


class ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[dict[str, Any]]


class RequestCreated(BaseModel):
    service_request_id: str
    service_notice: str
    account_id: str | None


class ServiceRequest(BaseModel):
    service_request_id: str
    status: str = Field(description="open or closed")
    status_notes: str | None
    service_name: str
    service_code: str
    description: str | None
    agency_responsible: str | None
    service_notice: str | None
    requested_datetime: datetime
    updated_datetime: datetime | None
    expected_datetime: datetime | None
    address: str | None
    address_id: str | None
    zipcode: str | None
    lat: float | None
    long: float | None
    media_url: str | None


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Every Open311 operation can answer 400: the NUL guard refuses bad input before any route runs."""
    names = {400: "Bad request", 403: "Invalid api_key", 404: "Not found"}
    return {code: {"model": list[Open311Error], "description": names[code]} for code in sorted({400, *codes})}


def error(code: int, description: str) -> JSONResponse:
    return JSONResponse([{"code": code, "description": description}], status_code=code)


def _services() -> list[Service]:
    return [Service(service_code=c.value, service_name=f"{c.label} {c.value}", description=_DESCRIPTIONS[c],
                    metadata=False, type="realtime", keywords=f"{c.label},{c.value}", group="12345")
            for c in Category]


@router.get("/services.json", response_model=list[Service], responses=_errors())
async def services() -> list[Service]:
    """The service list: one service per request category."""
    return _services()


@router.get("/services/{service_code}.json", response_model=ServiceDefinition, responses=_errors(404))
async def service_definition(service_code: Annotated[str, Path(max_length=32)]) -> Any:
    if service_code not in {c.value for c in Category}:
        return error(404, f"unknown service_code {service_code!r}")
    return ServiceDefinition(service_code=service_code, attributes=[])


def _place(desk: Desk, address: str) -> RegionRecord | None:
    """The most specific region whose name appears in the address (county before city)."""
    best: RegionRecord | None = None
    for region in desk.tickets.routing.regions.values():
        if region.level is RegionLevel.PROVINCE:
            continue
        for name in (region.name, region.short_name):
            more_specific = best is None or (region.level is RegionLevel.COUNTY
                                             and best.level is not RegionLevel.COUNTY)
            if len(name) >= 2 and name in address and more_specific:
                best = region
    return best


@router.post("/requests.json", response_model=list[RequestCreated], status_code=201,
             responses=_errors(400, 403))
async def create_request(
    desk: DeskDep,
    api_key: Annotated[str, Form(min_length=1, max_length=128)],
    service_code: Annotated[str, Form(max_length=32)],
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[str | None, Form(max_length=256)] = None,
    address_id: Annotated[str | None, Form(max_length=64)] = None,
    email: Annotated[str | None, Form(max_length=128)] = None,
    device_id: Annotated[str | None, Form(max_length=128)] = None,
    account_id: Annotated[str | None, Form(max_length=128)] = None,
    first_name: Annotated[str | None, Form(max_length=32)] = None,
    last_name: Annotated[str | None, Form(max_length=32)] = None,
    phone: Annotated[str | None, Form(max_length=32)] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    media_url: Annotated[str | None, Form(max_length=512)] = None,
) -> Any:
    """Submit a service request. Needs `api_key`, `service_code`, and a place: `lat` and `long`,
    or `address_string`. Returns the `service_request_id` (our ticket number)."""
    client = await api_client_for(desk.sessions, api_key)
    if client is None:
        return error(403, "invalid api_key")
    if service_code not in {c.value for c in Category}:
        return error(400, f"service_code {service_code!r} not found")
    if not (address_string and address_string.strip()) and (lat is None or long is None):
        return error(400, "a location is required: lat and long, or address_string")
    if not description or not description.strip():
        return error(400, "description is required")
    address = (address_string or "").strip() or f"{lat},{long}"
    region = _place(desk, address)
    name = " ".join(p for p in (last_name, first_name) if p) or None
    text = description.strip() + (f"\n[media] {media_url}" if media_url else "")
    try:
        view = await desk.tickets.create(NewTicket(
            channel=client.channel, category=Category(service_code), description=text,
            caller_number=phone, caller_name=name, region_code=region.code if region else None,
            address=address,
        ), f"api:{client.name}")
    except InvalidAction as exc:
        return error(400, str(exc))
    await desk.audit.record(f"api:{client.name}", "ticket.create", "ticket", view.id, number=view.number,
                            channel=client.channel.value, email=email, device_id=device_id,
                            account_id=account_id, address_id=address_id)
    return [RequestCreated(service_request_id=view.number, service_notice="", account_id=account_id)]


def _status(state: TicketState) -> str:
    return "open" if state in OPEN_STATES else "closed"


def _as_request(ticket: Ticket, units: dict[str, str]) -> ServiceRequest:
    coords = _COORDS.match(ticket.address or "")
    lines = ticket.description.split("\n[media] ", 1)
    return ServiceRequest(
        service_request_id=ticket.number, status=_status(ticket.state),
        status_notes=f"{ticket.state.value} {ticket.state.label}" + (f": {ticket.answer}" if ticket.answer else ""),
        service_name=f"{CATEGORY_LABELS[ticket.category]} {ticket.category.value}",
        service_code=ticket.category.value, description=lines[0],
        agency_responsible=units.get(ticket.lead_unit_id or "") if ticket.lead_unit_id else None,
        service_notice=None, requested_datetime=ticket.created_at, updated_datetime=ticket.updated_at,
        expected_datetime=ticket.due_at or ticket.sign_due_at,
        address=None if coords else (ticket.address or None), address_id=None, zipcode=None,
        lat=float(coords.group(1)) if coords else None, long=float(coords.group(2)) if coords else None,
        media_url=lines[1] if len(lines) > 1 else None,
    )


async def _unit_names(desk: Desk, tickets: list[Ticket]) -> dict[str, str]:
    ids = {t.lead_unit_id for t in tickets if t.lead_unit_id}
    if not ids:
        return {}
    async with desk.sessions() as session:
        return {u.id: u.name for u in (await session.scalars(select(Unit).where(Unit.id.in_(ids)))).all()}


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _w3c(value: str | None, name: str) -> datetime | None | JSONResponse:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return error(400, f"{name} must be a W3C date-time, e.g. 2026-11-28T08:00:00+08:00")
    if parsed.tzinfo is None:
        return error(400, f"{name} needs a time zone")
    return parsed


@router.get("/requests.json", response_model=list[ServiceRequest], responses=_errors(400))
async def list_requests(
    desk: DeskDep, request: Request, response: Response,
    service_request_id: Annotated[str | None, Query(max_length=2000, description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(max_length=200, description="comma-separated codes")] = None,
    start_date: Annotated[str | None, Query(max_length=40)] = None,
    end_date: Annotated[str | None, Query(max_length=40)] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed or both comma-separated")] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=512, description="extension: next page (see Link header)")] = None,
) -> Any:
    """Service requests, newest first. Without ids or dates: the last 90 days, at most 1000."""
    ids = _split(service_request_id)
    query = select(Ticket).where(Ticket.channel != Channel.PHONE).order_by(Ticket.id.desc())
    if ids:
        query = query.where(Ticket.number.in_(ids))
    codes = _split(service_code)
    if codes:
        unknown = [c for c in codes if c not in {x.value for x in Category}]
        if unknown:
            return error(400, f"unknown service_code {', '.join(unknown)}")
        query = query.where(Ticket.category.in_(codes))
    start, end = _w3c(start_date, "start_date"), _w3c(end_date, "end_date")
    for bound in (start, end):
        if isinstance(bound, JSONResponse):
            return bound
    if start is not None:
        query = query.where(Ticket.created_at >= start)
    if end is not None:
        query = query.where(Ticket.created_at <= end)
    if start is None and end is None and not ids:
        query = query.where(Ticket.created_at >= utcnow() - timedelta(days=DEFAULT_DAYS))
    statuses = _split(status)
    if any(s not in ("open", "closed") for s in statuses):
        return error(400, "status must be open or closed")
    if statuses == ["open"]:
        query = query.where(Ticket.state.in_(OPEN_STATES))
    elif statuses == ["closed"]:
        query = query.where(Ticket.state.not_in(OPEN_STATES))
    if cursor:
        try:
            (last_id,) = decode_cursor(cursor, 1)
        except HTTPException:
            return error(400, "malformed cursor")
        if not isinstance(last_id, int):
            return error(400, "malformed cursor")
        query = query.where(Ticket.id < last_id)
    async with desk.sessions() as session:
        rows = list((await session.scalars(query.limit(MAX_RESULTS + 1))).all())
    page = rows[:MAX_RESULTS]
    if len(rows) > MAX_RESULTS:
        url = request.url.include_query_params(cursor=encode_cursor(page[-1].id))
        response.headers["Link"] = f'<{url}>; rel="next"'
    units = await _unit_names(desk, page)
    return [_as_request(t, units) for t in page]


@router.get("/requests/{service_request_id}.json", response_model=list[ServiceRequest], responses=_errors(404))
async def get_request(desk: DeskDep, service_request_id: Annotated[str, Path(max_length=32)],
                      jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None) -> Any:
    async with desk.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(
            Ticket.number == service_request_id, Ticket.channel != Channel.PHONE))
    if ticket is None:
        return error(404, f"service request {service_request_id!r} not found")
    return [_as_request(ticket, await _unit_names(desk, [ticket]))]


