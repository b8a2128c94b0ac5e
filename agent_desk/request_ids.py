"""Every HTTP request has an id: every line logged while it runs carries it as `request_id`
(uvicorn's access line included), and the response returns it in `X-Request-ID`. Routes bind more
(`ticket`: the number of the ticket they act on) for the rest of the request.

An incoming `X-Request-ID` (a proxy's, or a client's) is kept when it is 1–128 letters, digits,
`.`, `_`, `:` or `-`; anything else is replaced by a fresh id, never echoed. An unhandled error's
500 carries it too.
"""

from __future__ import annotations

import os
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.contextvars import bind_contextvars, clear_contextvars

HEADER = b"x-request-id"
_SANE = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> bytes:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return value if _SANE.fullmatch(value) else os.urandom(16).hex().encode()
    return os.urandom(16).hex().encode()


class RequestIds:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        bind_contextvars(request_id=request_id.decode())
        started = False

        async def with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", ()), (HEADER, request_id)]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        except Exception:
            if not started:  # Starlette's own 500 would come from outside this middleware, without the id
                await with_id({"type": "http.response.start", "status": 500,
                               "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body", "body": b"Internal Server Error"})
            # uvicorn logs the traceback after this, in the same context: the line keeps the id.
            raise
        clear_contextvars()  # what the request bound (its id, a ticket) goes with it
