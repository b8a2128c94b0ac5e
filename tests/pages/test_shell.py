"""The page shell in chromium: log-in (and its refusals, in the server's words), navigation by role,
the silent refresh (tolerating a rotated refresh token), log-out, labels and accessibility (axe-core),
keyboard use and the 1366×768 fit."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from tests.pages.conftest import (
    PASSWORD,
    Product,
    Serve,
    Shots,
    assert_no_page_errors,
    log_in,
    open_page,
)
from ticketing.models import LoginSession, User

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


async def log_in_at_the_login_page(browser: Any, url: str, username: str) -> Any:
    page = await open_page(browser)
    await page.goto(url + "/login")
    await page.get_by_label("用户名").fill(username)
    await page.get_by_label("密码").fill(PASSWORD)
    await page.keyboard.press("Enter")
    return page


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_login_page_shows_the_servers_refusal_and_sends_each_role_home(serve: Serve, browser: Any,
                                                                             shots: Shots) -> None:
    async with serve() as product:
        page = await open_page(browser)
        await page.goto(product.url + "/")
        await page.wait_for_url(re.compile("/login$"))
        await page.get_by_label("用户名").fill("agent1")
        await page.get_by_label("密码").fill("wrong password")
        await page.keyboard.press("Enter")
        await page.wait_for_function("() => document.querySelector('#login-error').textContent !== ''")
        assert await page.inner_text("#login-error") == "wrong username or password"
        await shots(page, "refused")
        # The navigation is the role's: a supervisor lands on the wallboard, an agent on the desk.
        supervisor = await log_in_at_the_login_page(browser, product.url, "supervisor")
        await supervisor.wait_for_function("() => location.pathname === '/wallboard'")
        # … which shows a city supervisor its city: Nanjing's lights only.
        await supervisor.wait_for_selector("body[data-connection=live]")
        assert await supervisor.eval_on_selector_all("#city-lights li", "ls => ls.map(l => l.dataset.city)") == [
            "320100"]
        agent = await log_in(browser, product, "agent1")
        links = await agent.eval_on_selector_all(".shell-nav a", "as => as.map(a => a.getAttribute('href'))")
        assert links == ["/desk"]
        assert await agent.get_attribute(".shell-nav a", "aria-current") == "page"
        # A page outside the role's navigation says so; the server still refuses its data.
        dispatcher = await log_in_at_the_login_page(browser, product.url, "dispatcher")
        await dispatcher.wait_for_function("() => location.pathname === '/wallboard'")
        await dispatcher.wait_for_selector("body[data-connection=live]")  # the session opens it, no kiosk key
        assert await dispatcher.inner_text("[data-field=waiting]") == "0"
        await dispatcher.goto(product.url + "/desk")
        await dispatcher.wait_for_selector("#shell-messages .message.error")
        shown = await dispatcher.inner_text("#shell-messages")
        assert "not for your role" in shown and "403" in shown
        await shots(dispatcher, "dispatcher-on-desk")
        for p in (page, supervisor, agent, dispatcher):
            assert_no_page_errors(p)


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_session_refreshes_silently_and_takes_a_rotated_refresh_token(serve: Serve, browser: Any) -> None:
    async with serve(desk={"auth": {"access_minutes": 0.02}}) as product:  # 1.2 s access tokens
        page = await log_in(browser, product, "agent1")
        first = await page.evaluate("JSON.parse(sessionStorage.getItem('hotline.session'))")
        await page.wait_for_timeout(2000)  # the access token has expired
        await page.click("#tab-find")
        await page.get_by_label("工单号、号码或内容").fill("停水")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#find-results li")
        after = await page.evaluate("JSON.parse(sessionStorage.getItem('hotline.session'))")
        assert after["access_token"] != first["access_token"]
        assert after["refresh_token"]  # whatever the refresh answered (a rotated one) is kept
        assert await page.evaluate("document.body.dataset.stream") in ("live", "connecting", "reconnecting")
        errors = await page.evaluate("document.querySelectorAll('#shell-messages .message.error').length")
        assert errors == 0
        # A revoked session sends the page back to the login, keeping where it was.
        await page.evaluate("""() => { const s = JSON.parse(sessionStorage.getItem('hotline.session'));
            s.refresh_token = 'revoked'; s.expires_at = new Date(0).toISOString();
            sessionStorage.setItem('hotline.session', JSON.stringify(s)); }""")
        await page.reload()
        await page.wait_for_url(re.compile(r"/login\?next=%2Fdesk$"))
        assert_no_page_errors(page)


async def open_sessions(product: Product, username: str) -> list[str | None]:
    """The revocation reason of each session the user opened by logging in (None: still open)."""
    async with product.desk.sessions() as session:
        rows = await session.scalars(select(LoginSession.revoked_reason).join(User)
                                     .where(User.username == username).order_by(LoginSession.created_at))
        return list(rows.all())[1:]  # the harness's own session first


async def me(page: Any) -> str:
    """`GET /api/auth/me` through the page's own API client (the shell's module instance)."""
    name: str = await page.evaluate("""async () => (await (await import('/static/shell/api.js'))
        .api('/api/auth/me')).username""")
    return name


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_refresh_tokens_are_used_by_one_page_at_a_time(serve: Serve, browser: Any) -> None:
    """Rotation with reuse detection ends a session whose used refresh token comes back; the shell
    never sends one twice: one refresh in flight per page, a page left only once it has answered,
    and a tab copied with its sessionStorage (the browser's Duplicate) logs in on its own."""
    async with serve(desk={"auth": {"access_minutes": 0.02}}) as product:  # 1.2 s access tokens
        a = await log_in(browser, product, "agent1")
        sent: list[str] = []  # every refresh token any page sent: none may be sent twice

        def watch(page: Any) -> None:
            page.on("request", lambda r: sent.append(json.loads(r.post_data)["refresh_token"])
                    if r.url.endswith("/api/auth/refresh") else None)

        watch(a)
        await a.wait_for_timeout(1500)  # expired
        await a.evaluate("""async () => { const { api } = await import('/static/shell/api.js');
            await Promise.all([1, 2, 3, 4, 5].map(() => api('/api/auth/me'))); }""")
        assert sent and len(sent) == len(set(sent))

        # A copy of the tab: same sessionStorage, refresh token included.
        stored = await a.evaluate("sessionStorage.getItem('hotline.session')")
        copy = await a.context.new_page()
        watch(copy)
        copy.errors = []
        copy.on("pageerror", lambda exc: copy.errors.append(str(exc)))
        await copy.add_init_script(script="if (!sessionStorage.getItem('copied')) { sessionStorage.setItem("
                                          "'copied', '1'); sessionStorage.setItem('hotline.session', "
                                          f"{json.dumps(stored)}); }}")
        await copy.goto(product.url + "/desk")
        await copy.wait_for_url(re.compile(r"/login\?next=%2Fdesk$"))
        assert "copy of another signed-in tab" in await copy.inner_text("#login-error")
        await a.wait_for_timeout(1500)
        assert await me(a) == "agent1"  # the original refreshes on, its session untouched
        await copy.get_by_label("用户名").fill("agent1")
        await copy.get_by_label("密码").fill(PASSWORD)
        await copy.keyboard.press("Enter")
        await copy.wait_for_selector("body[data-ready=true]")
        await a.wait_for_timeout(1500)
        assert [await me(a), await me(copy)] == ["agent1", "agent1"]
        assert await open_sessions(product, "agent1") == [None, None]

        # Leaving while a refresh is on its way: the server has rotated, its answer is a second away.
        await copy.close()
        held: list[str] = []
        rotate = product.desk.logins.rotate

        async def slow_rotate(refresh_token: str) -> Any:
            pair = await rotate(refresh_token)
            if not held:
                held.append(refresh_token)
                await asyncio.sleep(1.0)
            return pair

        product.desk.logins.rotate = slow_rotate  # type: ignore[method-assign]
        await a.evaluate("() => { import('/static/shell/api.js').then((m) => m.refresh()); }")
        for _ in range(100):
            if held:
                break
            await asyncio.sleep(0.01)
        async with a.expect_navigation(url=re.compile("/desk$")):
            await a.click(".shell-nav a")  # the next page starts with the token that answer carries
        await a.wait_for_selector("body[data-ready=true]")
        assert held and await me(a) == "agent1"
        assert await open_sessions(product, "agent1") == [None, None]
        assert len(sent) == len(set(sent))
        for page in (a, copy):
            assert_no_page_errors(page)


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_desk_is_accessible_fits_the_screen_and_works_from_the_keyboard(serve: Serve, browser: Any,
                                                                              shots: Shots) -> None:
    from axe_playwright_python.async_playwright import Axe

    async with serve() as product:
        login = await open_page(browser)
        await login.goto(product.url + "/login")
        results = await Axe().run(login)
        assert results.violations_count == 0, results.generate_report()
        page = await log_in(browser, product, "agent1")
        results = await Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        # Every control has a label a screen reader reads.
        unlabelled = await page.evaluate("""() => [...document.querySelectorAll('input, select, textarea, button')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
            .map(e => e.id || e.outerHTML.slice(0, 60))""")
        assert unlabelled == []
        # 1366×768: nothing scrolls the page itself.
        size = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
        assert size[0] <= 1366 and size[1] <= 768, size
        # Keyboard: Alt+F goes to the search, Alt+K to the knowledge base, Tab reaches the controls.
        await page.keyboard.press("Alt+F")
        assert await page.evaluate("document.activeElement.id") == "find-q"
        await page.keyboard.press("Alt+K")
        assert await page.evaluate("document.activeElement.id") == "kb-q"
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.tagName") == "BUTTON"
        await shots(page, "desk-keyboard")
        assert_no_page_errors(page)
