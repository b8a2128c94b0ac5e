"""Refuse NUL characters at the edge: PostgreSQL cannot store them in text, SQLite silently can,
so both stores see the same input only if nobody sends them. Answers 422 in FastAPI's validation
error shape (400 with an Open311 error array under /open311/)."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_MARKERS = (b"\\u0000", b"%00", b"\x00")
MAX_INSPECTED = 1 << 20


class NulGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if any(m in scope.get("query_string", b"") for m in _MARKERS) or "\x00" in scope.get("path", ""):
            await _refuse(scope, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            more = message.get("more_body", False)
            if size > MAX_INSPECTED:
                break
        body = b"".join(chunks)
        if any(m in body for m in _MARKERS):
            await _refuse(scope, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send) -> None:
    text = "NUL characters are not allowed"
    open311 = scope.get("path", "").startswith("/open311/")
    payload: object = ([{"code": 400, "description": text}] if open311
                       else {"detail": [{"loc": ["body"], "msg": text, "type": "value_error"}]})
    body = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": 400 if open311 else 422,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
