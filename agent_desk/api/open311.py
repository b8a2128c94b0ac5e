"""Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) under /open311/v2/, in JSON and XML.

Web forms, WeChat and app back ends submit requests here; they enter the same ticketing pipeline
with channel `open311` (or the channel of the API key's client). Service codes are our categories.
`status` is `open` or `closed`; our richer state goes into `status_notes`. Errors are the
standard's array of `{code, description}`. Every operation answers `.json` or `.xml` from the same
models. Extensions (allowed by the spec): `public` on POST requests, `cursor` on GET requests, with
the next page announced in a `Link: <…>; rel="next"` header.

Privacy: only requests whose submitter agreed to publication (`public`) are listed or shown, never a
举报 (report), and only in a public view: service, status, region, dates, the responsible unit and
its reply, with personal data in the text masked (`agent_desk.security.redact`). The caller, the
phone number and the exact address are never shown here; the citizen reads the full request
through `agent_desk.api.citizen` with the number and the phone number used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, cast
from xml.etree import ElementTree

from fastapi import APIRouter, FastAPI, Form, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, select
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent_desk.accounts import api_client_for
from agent_desk.api.deps import DeskDep
from agent_desk.api.inputs import Email, Phone, WebUrl
from agent_desk.api.pagination import CursorParam, Keyset, keyset_page
from agent_desk.desk import Desk
from agent_desk.security.redact import mask_personal
from ticketing.errors import InvalidAction
from ticketing.instants import Instant
from ticketing.models import Ticket, Unit, utcnow
from ticketing.models.region import RegionLevel
from ticketing.regions import RegionRecord
from ticketing.service import NewTicket
from ticketing.vocabulary import CATEGORY_LABELS, OPEN_STATES, Category, TicketState

PREFIX = "/open311/v2"
router = APIRouter(prefix=PREFIX, tags=["open311"])
MAX_RESULTS = 1000
DEFAULT_DAYS = 90
NEWEST_FIRST = Keyset((Ticket.id,), (int,), descending=True)
_COORDS = re.compile(r"^(-?\d{1,3}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)$")
_MEDIA = "\n[media] "  # a request's media_url is kept at the end of its description
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_DESCRIPTIONS = {
    Category.CONSULTATION: "咨询 Ask about a policy or a service",
    Category.HELP: "求助 Ask for help with a problem (water, power, roads …)",
    Category.COMPLAINT: "投诉 Complain about a service or an official",
    Category.REPORT: "举报 Report a violation (never published)",
    Category.SUGGESTION: "建议 Suggest an improvement",
    Category.PRAISE: "表扬 Praise a service or an official",
}

Format = Annotated[Literal["json", "xml"], Path(description="json or xml")]


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


# XML: the root element and each item's element, per GeoReport v2.
_XML_NAMES: dict[type[BaseModel], tuple[str, str]] = {
    Service: ("services", "service"), ServiceRequest: ("service_requests", "request"),
    RequestCreated: ("service_requests", "request"), Open311Error: ("errors", "error"),
}


def _xml_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_INVALID.sub("\ufffd", str(value))


def _xml_element(parent: ElementTree.Element, tag: str, value: Any) -> None:
    element = ElementTree.SubElement(parent, tag)
    if isinstance(value, dict):
        for key, item in value.items():
            _xml_element(element, str(key), item)
    elif isinstance(value, list):
        for item in value:
            _xml_element(element, tag.removesuffix("s"), item)
    else:
        element.text = _xml_text(value)


def _xml(root_tag: str, item_tag: str | None, items: Sequence[BaseModel]) -> bytes:
    root = ElementTree.Element(root_tag)
    for item in items:
        data = item.model_dump(mode="json")
        target = ElementTree.SubElement(root, item_tag) if item_tag else root
        for key, value in data.items():
            _xml_element(target, key, value)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(root, encoding="utf-8",
                                                                             xml_declaration=False)


def respond(fmt: str, items: Sequence[BaseModel], *, status: int = 200,
            headers: dict[str, str] | None = None) -> Response:
    """A list of models as GeoReport JSON (an array) or XML (a root element of items)."""
    if fmt == "xml":
        root, item = _XML_NAMES[type(items[0])] if items else ("service_requests", "request")
        return Response(_xml(root, item, items), status_code=status, media_type="application/xml",
                        headers=headers)
    body = json.dumps([i.model_dump(mode="json") for i in items], ensure_ascii=False)
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def error(code: int, description: str, fmt: str = "json") -> Response:
    return respond(fmt, [Open311Error(code=code, description=description)], status=code)


def error_for_path(path: str, code: int, description: str) -> Response:
    """The GeoReport error of a request to `path`, in the format its extension names."""
    return error(code, description, "xml" if path.endswith(".xml") else "json")


_XML_CONTENT = {"application/xml": {"schema": {"type": "string"}}}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Every Open311 operation can answer 400: bad input is refused before any route runs."""
    names = {400: "Bad request", 403: "Invalid api_key", 404: "Not found", 413: "Body too large",
             415: "Unsupported body type"}
    return {code: {"model": list[Open311Error], "description": names[code], "content": _XML_CONTENT}
            for code in sorted({400, *codes})}


def _ok(status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The success response also comes as XML (for `.xml` paths)."""
    return {status: {"content": _XML_CONTENT}}


def _services() -> list[Service]:
    return [Service(service_code=c.value, service_name=f"{c.label} {c.value}", description=_DESCRIPTIONS[c],
                    metadata=False, type="realtime", keywords=f"{c.label},{c.value}", group="12345")
            for c in Category]


@router.get("/services.{fmt}", response_model=list[Service], responses={**_ok(), **_errors()})
async def services(fmt: Format) -> Response:
    """The service list: one service per request category."""
    return respond(fmt, _services())


@router.get("/services/{service_code}.{fmt}", response_model=ServiceDefinition,
            responses={**_ok(), **_errors(404)})
async def service_definition(service_code: Annotated[str, Path(max_length=32)], fmt: Format) -> Response:
    if service_code not in {c.value for c in Category}:
        return error(404, f"unknown service_code {service_code!r}", fmt)
    definition = ServiceDefinition(service_code=service_code, attributes=[])
    if fmt == "xml":
        return Response(_xml("service_definition", None, [definition]), media_type="application/xml")
    return Response(definition.model_dump_json(), media_type="application/json")


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


@router.post("/requests.{fmt}", response_model=list[RequestCreated], status_code=201,
             responses={**_ok(201), **_errors(403, 413, 415)})
async def create_request(
    desk: DeskDep,
    fmt: Format,
    api_key: Annotated[str, Form(min_length=1, max_length=128)],
    service_code: Annotated[str, Form(max_length=32)],
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    long: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address_string: Annotated[str | None, Form(max_length=256)] = None,
    address_id: Annotated[str | None, Form(max_length=64)] = None,
    email: Annotated[Email | None, Form(max_length=254)] = None,
    device_id: Annotated[str | None, Form(max_length=128)] = None,
    account_id: Annotated[str | None, Form(max_length=128)] = None,
    first_name: Annotated[str | None, Form(max_length=32)] = None,
    last_name: Annotated[str | None, Form(max_length=32)] = None,
    phone: Annotated[Phone | None, Form(max_length=32)] = None,
    description: Annotated[str | None, Form(max_length=4000)] = None,
    media_url: Annotated[WebUrl | None, Form(max_length=512)] = None,
    public: Annotated[bool, Form(description="extension: the submitter agrees to publication (masked); "
                                             "never for report")] = False,
) -> Response:
    """Submit a service request. Needs `api_key`, `service_code`, and a place: `lat` and `long`,
    or `address_string`. Returns the `service_request_id` (our ticket number)."""
    client = await api_client_for(desk.sessions, api_key)
    if client is None:
        return error(403, "invalid api_key", fmt)
    if service_code not in {c.value for c in Category}:
        return error(400, f"service_code {service_code!r} not found", fmt)
    if public and service_code == Category.REPORT:
        return error(400, "a report (举报) is never public: send public=false", fmt)
    if not (address_string and address_string.strip()) and (lat is None or long is None):
        return error(400, "a location is required: lat and long, or address_string", fmt)
    if not description or not description.strip():
        return error(400, "description is required", fmt)
    address = (address_string or "").strip() or f"{lat},{long}"
    region = _place(desk, address)
    name = " ".join(p for p in (last_name, first_name) if p) or None
    text = description.strip() + (f"{_MEDIA}{media_url}" if media_url else "")
    try:
        view = await desk.tickets.create(NewTicket(
            channel=client.channel, category=Category(service_code), description=text,
            caller_number=phone, caller_name=name, region_code=region.code if region else None,
            address=address, public=public,
        ), f"api:{client.name}")
    except InvalidAction as exc:
        return error(400, str(exc), fmt)
    await desk.audit.record(f"api:{client.name}", "ticket.create", "ticket", view.id, number=view.number,
                            channel=client.channel.value, email=email, device_id=device_id,
                            account_id=account_id, address_id=address_id, public=public)
    created = RequestCreated(service_request_id=view.number, service_notice="", account_id=account_id)
    return respond(fmt, [created], status=201)


def public_condition() -> ColumnElement[bool]:
    """The requests anyone may read: published with consent, and never a report (举报)."""
    return and_(Ticket.public.is_(True), Ticket.category != Category.REPORT)


def _status(state: TicketState) -> str:
    return "open" if state in OPEN_STATES else "closed"


def full_view(ticket: Ticket, units: dict[str, str]) -> ServiceRequest:
    """Everything the request says, for the citizen who made it."""
    coords = _COORDS.match(ticket.address or "")
    text, _, media = ticket.description.partition(_MEDIA)
    return ServiceRequest(
        service_request_id=ticket.number, status=_status(ticket.state),
        status_notes=f"{ticket.state.value} {ticket.state.label}" + (f": {ticket.answer}" if ticket.answer else ""),
        service_name=f"{CATEGORY_LABELS[ticket.category]} {ticket.category.value}",
        service_code=ticket.category.value, description=text,
        agency_responsible=units.get(ticket.lead_unit_id) if ticket.lead_unit_id else None,
        service_notice=None, requested_datetime=ticket.created_at, updated_datetime=ticket.updated_at,
        expected_datetime=ticket.due_at or ticket.sign_due_at,
        address=None if coords else (ticket.address or None), address_id=None, zipcode=None,
        lat=float(coords.group(1)) if coords else None, long=float(coords.group(2)) if coords else None,
        media_url=media or None,
    )


def public_view(ticket: Ticket, units: dict[str, str], regions: Mapping[str, RegionRecord]) -> ServiceRequest:
    """What anyone may read: the region instead of the address, coordinates to about a kilometre,
    personal data masked, no media."""
    full = full_view(ticket, units)
    notes = f"{ticket.state.value} {ticket.state.label}" + (
        f": {public_text(ticket, ticket.answer)}" if ticket.answer else "")
    return full.model_copy(update={
        "status_notes": notes, "description": public_text(ticket, full.description or ""),
        "address": region_name(regions, ticket.region_code),
        "lat": round(full.lat, 2) if full.lat is not None else None,
        "long": round(full.long, 2) if full.long is not None else None, "media_url": None})


def public_text(ticket: Ticket, text: str) -> str:
    """A request's text (its description, the unit's reply) as the public may read it."""
    return mask_personal(text, [ticket.caller_name])


def region_name(regions: Mapping[str, RegionRecord], code: str | None) -> str | None:
    region = regions.get(code or "")
    if region is None:
        return None
    city = regions.get(region.city_code or "")
    return region.name if city is None or city.code == region.code else city.name + region.name


async def unit_names(desk: Desk, tickets: Sequence[Ticket]) -> dict[str, str]:
    return await names_of_units(desk, [t.lead_unit_id for t in tickets if t.lead_unit_id])


async def names_of_units(desk: Desk, unit_ids: Iterable[str]) -> dict[str, str]:
    """Unit id → name, for the ids given."""
    ids = set(unit_ids)
    if not ids:
        return {}
    async with desk.sessions() as session:
        return {u.id: u.name for u in (await session.scalars(select(Unit).where(Unit.id.in_(ids)))).all()}


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


@router.get("/requests.{fmt}", response_model=list[ServiceRequest],
            responses={**_ok(), **_errors()})
async def list_requests(
    desk: DeskDep, request: Request, fmt: Format,
    service_request_id: Annotated[str | None, Query(max_length=2000, description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(max_length=200, description="comma-separated codes")] = None,
    start_date: Annotated[Instant | None, Query(description="W3C date-time with a time zone")] = None,
    end_date: Annotated[Instant | None, Query(description="W3C date-time with a time zone")] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed or both comma-separated")] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: CursorParam = None,
) -> Response:
    """Public service requests, newest first. Without ids or dates: the last 90 days, at most 1000."""
    ids = _split(service_request_id)
    query = select(Ticket).where(public_condition())
    if ids:
        query = query.where(Ticket.number.in_(ids))
    codes = _split(service_code)
    if codes:
        unknown = [c for c in codes if c not in {x.value for x in Category}]
        if unknown:
            return error(400, f"unknown service_code {', '.join(unknown)}"[:200], fmt)
        query = query.where(Ticket.category.in_(codes))
    if start_date is not None:
        query = query.where(Ticket.created_at >= start_date)
    if end_date is not None:
        query = query.where(Ticket.created_at <= end_date)
    if start_date is None and end_date is None and not ids:
        query = query.where(Ticket.created_at >= utcnow() - timedelta(days=DEFAULT_DAYS))
    statuses = _split(status)
    if any(s not in ("open", "closed") for s in statuses):
        return error(400, "status must be open or closed", fmt)
    if statuses == ["open"]:
        query = query.where(Ticket.state.in_(OPEN_STATES))
    elif statuses == ["closed"]:
        query = query.where(Ticket.state.not_in(OPEN_STATES))
    page = await keyset_page(desk.sessions, query, NEWEST_FIRST, cursor=cursor, limit=MAX_RESULTS,
                             key=lambda t: (t.id,), view=lambda t: cast(Ticket, t))
    headers = {}
    if page.next_cursor:
        headers["Link"] = f'<{request.url.include_query_params(cursor=page.next_cursor)}>; rel="next"'
    units = await unit_names(desk, page.items)
    regions = desk.tickets.routing.regions
    return respond(fmt, [public_view(t, units, regions) for t in page.items], headers=headers)


@router.get("/requests/{service_request_id}.{fmt}", response_model=list[ServiceRequest],
            responses={**_ok(), **_errors(404)})
async def get_request(desk: DeskDep, service_request_id: Annotated[str, Path(max_length=32)], fmt: Format,
                      jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None) -> Response:
    """One public request (an array of one). A request that is not public is not found."""
    async with desk.sessions() as session:
        ticket = await session.scalar(select(Ticket).where(Ticket.number == service_request_id, public_condition()))
    if ticket is None:
        return error(404, "service request not found", fmt)
    view = public_view(ticket, await unit_names(desk, [ticket]), desk.tickets.routing.regions)
    return respond(fmt, [view])


def install_errors(app: FastAPI) -> None:
    """Under /open311/ every error is the GeoReport array `[{code, description}]` (XML for `.xml`
    paths); validation errors answer 400."""
    # FastAPI's own handlers (and ours in agent_desk.api.errors) are coroutines answering JSON.
    Handler = Callable[[Request, Exception], Awaitable[Response]]
    default_http = cast(Handler | None, app.exception_handlers.get(StarletteHTTPException))
    default_validation = cast(Handler | None, app.exception_handlers.get(RequestValidationError))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith(PREFIX):
            first = exc.errors()[0] if exc.errors() else {}
            where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "request"
            return error_for_path(request.url.path, 400, f"{where}: {first.get('msg', 'invalid')}"[:300])
        assert default_validation is not None
        return await default_validation(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(PREFIX):
            return error_for_path(request.url.path, exc.status_code, str(exc.detail))
        assert default_http is not None
        return await default_http(request, exc)
