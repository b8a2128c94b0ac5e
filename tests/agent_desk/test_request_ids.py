"""X-Request-ID: a sane incoming id is kept, anything else is replaced, never echoed; every line
logged during the request carries it, and nothing after it."""

from __future__ import annotations

import logging
import re

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from agent_desk.request_ids import RequestIds
from tests.agent_desk.conftest import DeskClient, LiveServer
from tests.json_logs import json_lines

pytestmark = pytest.mark.anyio
log = logging.getLogger("agent_desk.test_request_ids")
FRESH = re.compile(rb"[0-9a-f]{32}")


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    log.info("handling %s", scope["path"])
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _request(sent_id: bytes | None) -> bytes:
    headers = [(b"x-request-id", sent_id)] if sent_id is not None else []
    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": headers}
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        messages.append(message)

    await RequestIds(_app)(scope, receive, send)
    returned = [value for name, value in messages[0]["headers"] if name == b"x-request-id"]
    assert len(returned) == 1
    return returned[0]


@pytest.mark.parametrize("sent", [b"a" * 129, b"abc\x01def", b"abc\r\nset-cookie: x=1", b"", b"id with spaces",
                                  "请求".encode()])
async def test_an_insane_id_is_replaced_not_echoed(sent: bytes) -> None:
    with json_lines(log.name) as lines:
        returned = await _request(sent)
    assert FRESH.fullmatch(returned) and returned != sent
    [line] = lines
    assert line["request_id"] == returned.decode() and line["event"] == "handling /x"


async def test_a_sane_id_is_kept_and_left_behind_after_the_request() -> None:
    with json_lines(log.name) as lines:
        assert await _request(b"lb-01HF.9:x_y") == b"lb-01HF.9:x_y"
        assert FRESH.fullmatch(await _request(None))
        log.info("between requests")
    first, second, after = lines
    assert first["request_id"] == "lb-01HF.9:x_y" and second["request_id"] != first["request_id"]
    assert "request_id" not in after


async def test_refusals_at_the_edge_carry_the_id_too(client: DeskClient) -> None:
    response = await client.http.get("/api/tickets", params={"q": "a\x00b"}, headers={"X-Request-ID": "edge-1"})
    assert response.status_code == 422
    assert response.headers["x-request-id"] == "edge-1"


async def test_an_unhandled_error_answers_500_with_the_id_and_logs_it_with_the_id(
        client: DeskClient, live_server: LiveServer) -> None:
    async def boom() -> None:
        raise RuntimeError("a bug")

    client.app.add_api_route("/boom", boom)
    with json_lines("uvicorn.error", logging.ERROR) as lines:
        async with httpx.AsyncClient(base_url=live_server.url) as http:
            response = await http.get("/boom", headers={"X-Request-ID": "bug-1"})
    assert response.status_code == 500 and response.headers["x-request-id"] == "bug-1"
    [line] = lines
    assert line["event"] == "Exception in ASGI application\n" and line["request_id"] == "bug-1"
    assert "RuntimeError: a bug" in line["exception"]
