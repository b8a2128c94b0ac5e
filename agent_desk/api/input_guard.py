"""Refuse, at the edge, text that no store can keep as sent.

Every text field of a request is checked after decoding, wherever it sits: the path, the query
string, a form body or any string (key or value) of a JSON body, at any depth and any offset.
- NUL characters: PostgreSQL cannot store them in text and SQLite silently can, so both stores
  see the same input only if nobody sends them (422 in FastAPI's validation shape).
- Invalid UTF-8 in the path, the query or a form (`%FF`), and lone surrogates in JSON (`\\ud800`):
  400, instead of being stored as U+FFFD or failing in the database.
- Bodies over `MAX_BODY` bytes: 413. Multipart bodies: 415 (no route takes files).
Under /open311/ refusals are GeoReport error arrays with status 400 (413, 415 as such).
JSON that does not parse is left to FastAPI, which answers it the usual way.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agent_desk.api import open311

MAX_BODY = 1 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")


class BadText(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class InputGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            _check_text(scope.get("raw_path") or scope["path"].encode(), "the path", pairs=False)
            _check_text(scope.get("query_string", b""), "the query string", pairs=True)
            body = await _read_body(scope, receive)
            if body is not None:
                _check_body(scope, body)
        except BadText as exc:
            await _refusal(scope, exc.status, str(exc))(scope, receive, send)
            return
        except _Disconnected:
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class _Disconnected(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


async def _read_body(scope: Scope, receive: Receive) -> bytes | None:
    """The whole body of a request that may carry one; None for methods that do not."""
    if scope["method"] in ("GET", "HEAD", "OPTIONS"):
        return None
    declared = _header(scope, b"content-length")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise BadText(413, f"the body is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise BadText(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _check_body(scope: Scope, body: bytes) -> None:
    kind = _header(scope, b"content-type").split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        _check_text(body, "the form", pairs=True)
    elif kind.startswith("multipart/"):
        raise BadText(415, "multipart bodies are not accepted: send application/x-www-form-urlencoded or JSON")
    elif body and (not kind or kind == "application/json" or kind.endswith("+json")):
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            return
        _check_json(document)


def _check_text(raw: bytes, where: str, *, pairs: bool) -> None:
    """Percent-decoded UTF-8 without NUL; `pairs`: a `k=v&…` string with `+` for spaces."""
    parts = [p for chunk in raw.split(b"&") for p in chunk.split(b"=")] if pairs else [raw]
    for part in parts:
        try:
            text = unquote_to_bytes(part.replace(b"+", b" ") if pairs else part).decode("utf-8")
        except UnicodeDecodeError:
            raise BadText(400, f"{where} is not valid UTF-8") from None
        if "\x00" in text:
            raise BadText(422, f"NUL characters are not allowed in {where}")


def _check_json(document: Any) -> None:
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_string(item)
        elif isinstance(item, dict):
            for key, value in item.items():
                _check_string(key)
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def _check_string(text: str) -> None:
    if "\x00" in text:
        raise BadText(422, "NUL characters are not allowed in the body")
    if _SURROGATE.search(text):
        raise BadText(400, "text must be valid Unicode (no lone surrogates)")


def _refusal(scope: Scope, status: int, message: str) -> Response:
    path = scope.get("path", "")
    if path.startswith(open311.PREFIX):
        return open311.error_for_path(path, 400 if status == 422 else status, message)
    if status == 422:
        return JSONResponse({"detail": [{"type": "value_error", "loc": ["body"], "msg": message}]}, status_code=422)
    return JSONResponse({"detail": message}, status_code=status)
