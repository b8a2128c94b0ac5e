"""The page harness: the real product served by uvicorn on a free port, Debian's chromium driven by
Playwright, a screenshot of each step under test-artifacts/pages/<test>/, and helpers to log in.

    async def test_something(serve, browser, shots):
        async with serve() as product:                      # SQLite and PostgreSQL (the `db` fixture)
            page = await log_in(browser, product, "agent1") # through the login page, lands on /desk
            await shots(page, "desk")
            assert_no_page_errors(page)

`serve(ami_port=…, desk={…}, …)` passes settings sections through; `ami_port` points the AMI client
at a loopback peer (tests/ami/peer.py) that answers as the recorded Asterisk.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from agent_desk.app import create_app
from agent_desk.desk import Desk
from agent_desk.settings import load_settings
from agent_desk.wiring import adapter_parts
from tests.agent_desk.conftest import PASSWORD, LiveServer, free_port, password_hash
from tests.conftest import Database
from ticketing.models import Role, User

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
STAFF_VIEWPORT = {"width": 1366, "height": 768}
JWT_SECRET = "test-secret-of-sufficient-length-32b"
# (role, agent interface, unit, region) per username; every password is PASSWORD.
STAFF: dict[str, tuple[Role, str | None, str | None, str | None]] = {
    "agent1": (Role.AGENT, "Local/agent1@agents", None, None),
    "agent2": (Role.AGENT, "Local/agent2@agents", None, None),
    "agent4": (Role.AGENT, "Local/agent4@agents", None, None),
    "dispatcher": (Role.DISPATCHER, None, None, None),
    "handler": (Role.HANDLER, None, "dept:320102:water_supply", None),
    "supervisor": (Role.SUPERVISOR, None, None, "320100"),
    "sup_suzhou": (Role.SUPERVISOR, None, None, "320500"),
    "sup_province": (Role.SUPERVISOR, None, None, "320000"),
    "admin": (Role.ADMIN, None, None, None),
}


@dataclass
class Product:
    url: str
    app: FastAPI
    desk: Desk
    db: Database
    server: LiveServer
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


async def _add_staff(product: Product) -> None:
    async with product.desk.sessions.begin() as session:
        users = [User(username=name, role=role, password_hash=password_hash(), display_name=name,
                      agent_interface=interface, unit_id=unit, region_code=region, active=True,
                      token_generation=0)
                 for name, (role, interface, unit, region) in STAFF.items()]
        session.add_all(users)
    for user in users:
        product.tokens[user.username] = (await product.desk.logins.start(user)).access.token


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


Serve = Callable[..., AbstractAsyncContextManager[Product]]


@pytest.fixture
def serve(db: Database) -> Serve:
    """Start the product (its lifespan, adapters as configured, uvicorn) on the test's database."""

    @asynccontextmanager
    async def start(*, ami_port: int | None = None, **sections: Any) -> AsyncIterator[Product]:
        base: dict[str, Any] = {"db": {"url": db.target.url}, "desk": {"auth": {"jwt_secret": JWT_SECRET}}}
        if ami_port is not None:
            base["ami"] = {"servers": [{"name": "pbx1", "port": ami_port, "secret": "hotline-secret"}],
                           "ping_interval": 5, "action_timeout": 2}
        settings = load_settings(**_merge(base, sections))
        app = create_app(settings, engine=db.engine, parts=adapter_parts(settings), run_sweep=False)
        async with app.router.lifespan_context(app):
            server = LiveServer(app, free_port())
            await server.start()
            try:
                product = Product(server.url, app, app.state.desk, db, server)
                await _add_staff(product)
                yield product
            finally:
                await server.stop()

    return start


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make system-deps)")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield chromium
        finally:
            await chromium.close()


Shots = Callable[[Any, str], Awaitable[Path]]


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    """`await shots(page, "step")` saves test-artifacts/pages/<test>/<NN>-<step>.png."""
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    count = 0

    async def shot(page: Any, step: str) -> Path:
        nonlocal count
        count += 1
        path = folder / f"{count:02d}-{step}.png"
        await page.screenshot(path=str(path))
        return path

    return shot


async def open_page(browser: Any, viewport: dict[str, int] | None = None) -> Any:
    """A new page in its own context (its own session storage), collecting script errors."""
    context = await browser.new_context(viewport=viewport or STAFF_VIEWPORT, locale="zh-CN")
    page = await context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    return page


async def log_in(browser: Any, product: Product, username: str, path: str = "/desk",
                 password: str = PASSWORD) -> Any:
    """Open `path`, get sent to the login page, log in there, and wait for `path` to be ready."""
    page = await open_page(browser)
    await page.goto(product.url + path)
    await page.wait_for_url(re.compile(r"/login"))
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name=re.compile("登录")).click()
    await page.wait_for_url(re.compile(re.escape(path) + r"$"))
    try:
        await page.wait_for_selector("body[data-ready=true]", state="attached")
    except Exception as exc:
        shown = await page.evaluate("document.querySelector('#shell-messages')?.innerText || ''")
        raise AssertionError(f"{path} not ready: script errors {page.errors}, messages {shown!r}") from exc
    return page


def assert_no_page_errors(page: Any) -> None:
    assert page.errors == [], page.errors
