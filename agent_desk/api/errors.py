"""Error bodies and the documented error responses of every route."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from agent_desk.accounts import AccountError, UnknownAccount
from agent_desk.telephony import TelephonyError, TelephonyUnavailable
from ticketing.errors import (
    ActionForbidden,
    AlreadyLinked,
    ArticleNotFound,
    CallNotFound,
    ConcurrentUpdate,
    DraftNotFound,
    IllegalTransition,
    InvalidAction,
    InvalidKnowledgeRequest,
    RoutingError,
    StaleRevision,
    TicketNotFound,
)


class ErrorBody(BaseModel):
    detail: str = Field(description="what went wrong, for a person")
    allowed_actions: list[str] | None = Field(
        None, description="409 on a ticket action: the actions its current state allows"
    )
    state: str | None = Field(None, description="409 on a ticket action: the ticket's current state")
    ticket_id: int | None = Field(None, description="409 on intake: the ticket the draft or call already belongs to")
    ticket_number: str | None = Field(None, description="… and its number")
    revision: int | None = Field(None, description="409 on a knowledge-base edit: the article's current revision")


_DESCRIPTIONS = {
    400: "Bad request (for example a malformed cursor or parameter)",
    401: "Missing, expired or invalid bearer token",
    403: "Your role may not do this",
    404: "Not found, or outside your scope",
    409: "Conflict: the action is not allowed in the current state (see allowed_actions), a concurrent "
         "update, the draft or call already belongs to a ticket (see ticket_id, ticket_number), or a "
         "knowledge-base edit was made from an old revision (see revision)",
    413: "Too large: the body (over 1 MiB) or a photo (over `desk.portal.photo_max_bytes` or its side limit)",
    415: "Unsupported type: a multipart body, or a photo that is not a JPEG or PNG by its bytes",
    429: "Too many attempts; retry after the Retry-After header's seconds",
    503: "The telephony system is not connected",
    502: "The telephony system refused the action",
}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


AUTHED = (401, 403)
# Inputs never echoed back in an error, whatever their length.
SECRET_FIELDS = frozenset({"password", "refresh_token", "api_key", "access_token", "token", "phone"})
MAX_ECHO = 64
MAX_ERRORS = 20


def validation_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic's errors as a client may see them: type, where and why; the input only when it is
    short, plain and not a secret (a 5 MB description or a password is never sent back)."""
    shown = []
    for error in errors[:MAX_ERRORS]:
        loc = [p if isinstance(p, (str, int)) else str(p) for p in error.get("loc", ())]
        item: dict[str, Any] = {"type": error.get("type", "value_error"), "loc": loc,
                                "msg": str(error.get("msg", "invalid"))[:300]}
        value = error.get("input")
        secret = any(isinstance(p, str) and p in SECRET_FIELDS for p in loc)
        if not secret and (value is None or isinstance(value, (bool, int, float))):
            item["input"] = value
        elif not secret and isinstance(value, str):
            item["input"] = value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + "…"
        shown.append(item)
    return shown


# Errors whose message is the whole answer, by status.
_PLAIN: dict[type[Exception], int] = {
    DraftNotFound: 404, CallNotFound: 404, ActionForbidden: 403, ConcurrentUpdate: 409, InvalidAction: 400,
    RoutingError: 400, AccountError: 400, UnknownAccount: 404, TelephonyUnavailable: 503, ArticleNotFound: 404,
    InvalidKnowledgeRequest: 400,
}


def install_handlers(app: FastAPI) -> None:
    async def _plain(_: Request, exc: Exception) -> JSONResponse:
        status = next(_PLAIN[kind] for kind in type(exc).__mro__ if kind in _PLAIN)
        return JSONResponse({"detail": str(exc)}, status_code=status)

    for error in _PLAIN:
        app.add_exception_handler(error, _plain)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": validation_errors(exc.errors())}, status_code=422)

    @app.exception_handler(TicketNotFound)
    async def _not_found(_: Request, exc: TicketNotFound) -> JSONResponse:
        return JSONResponse({"detail": "ticket not found"}, status_code=404)

    @app.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "allowed_actions": exc.allowed, "state": exc.state.value},
                            status_code=409)

    @app.exception_handler(AlreadyLinked)
    async def _already_linked(_: Request, exc: AlreadyLinked) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "ticket_id": exc.ticket_id, "ticket_number": exc.ticket_number},
                            status_code=409)

    @app.exception_handler(StaleRevision)
    async def _stale(_: Request, exc: StaleRevision) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "revision": exc.current}, status_code=409)

    @app.exception_handler(UnicodeEncodeError)
    async def _surrogates(_: Request, exc: UnicodeEncodeError) -> JSONResponse:
        # Lone surrogates pass JSON decoding but no database can store them.
        return JSONResponse({"detail": "text must be valid Unicode (no lone surrogates)"}, status_code=400)

    @app.exception_handler(TelephonyError)
    async def _pbx_refused(_: Request, exc: TelephonyError) -> JSONResponse:
        return JSONResponse({"detail": f"PBX refused: {exc}"}, status_code=502)
