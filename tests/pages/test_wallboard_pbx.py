"""The wallboard with two PBXs, in chromium: two loopback peers answering as the recorded Asterisk
(Nanjing's PBX and Suzhou's) each send a different recorded call at the same time. The province
supervisor's board has a tile per PBX beside the totals; Nanjing's supervisor sees Nanjing's PBX only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agent_desk.test_pbx_peers import both_calls, peers
from tests.pages.conftest import Serve, Shots, assert_no_page_errors
from tests.pages.test_shell import log_in_at_the_login_page

pytestmark = [pytest.mark.anyio, pytest.mark.browser, pytest.mark.slow]


async def _tile(page: Any, pbx: str, field: str) -> str:
    return str(await page.inner_text(f".pbx-tile[data-pbx={pbx}] [data-pbx-field={field}]"))


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_the_province_sees_a_tile_per_pbx_and_a_city_its_own(serve: Serve, browser: Any, shots: Shots,
                                                                   fixtures_dir: Path) -> None:
    async with peers(fixtures_dir) as running:
        servers = [{"name": pbx, "port": peer.server.sockets[0].getsockname()[1], "secret": "hotline-secret",
                    "city_code": city} for pbx, (peer, _), city in
                   zip(running, running.values(), ("320100", "320500"), strict=True) if peer.server]
        async with serve(ami={"servers": servers, "ping_interval": 5, "action_timeout": 2}) as product:
            province = await log_in_at_the_login_page(browser, product.url, "sup_province")
            await province.wait_for_function("() => location.pathname === '/wallboard'")
            await province.wait_for_selector(".pbx-tile[data-pbx=suzhou]")
            await shots(province, "province-before-the-calls")
            await both_calls(product.app, running)
            await province.wait_for_function(
                "() => document.querySelector('[data-field=abandoned]').textContent === '1'"
                " && document.querySelector('[data-field=answered]').textContent === '1'")
            assert await province.is_visible(".pbxs")
            names = await province.eval_on_selector_all(".pbx-tile h3", "hs => hs.map(h => h.innerText)")
            assert names == ["nanjing 南京", "suzhou 苏州"]  # each PBX with its city
            assert (await _tile(province, "nanjing", "answered"), await _tile(province, "nanjing", "abandoned"),
                    await _tile(province, "suzhou", "answered"), await _tile(province, "suzhou", "abandoned")) == (
                "1", "0", "0", "1")
            assert await _tile(province, "nanjing", "answer_rate") == "100.0%"
            assert await province.inner_text("[data-field=answer_rate]") == "50.0%"
            await province.locator(".pbxs").scroll_into_view_if_needed()
            await shots(province, "province-a-tile-per-pbx")

            nanjing = await log_in_at_the_login_page(browser, product.url, "supervisor")  # Nanjing's
            await nanjing.wait_for_function("() => location.pathname === '/wallboard'")
            await nanjing.wait_for_selector("body[data-connection=live]")
            await nanjing.wait_for_function("() => document.querySelector('[data-field=answered]').textContent === '1'")
            assert await nanjing.inner_text("[data-field=abandoned]") == "0"  # Suzhou's caller is not Nanjing's
            assert not await nanjing.is_visible(".pbxs")  # its one PBX is the totals
            assert await nanjing.eval_on_selector_all("#city-lights li", "ls => ls.map(l => l.dataset.city)") == [
                "320100"]
            await shots(nanjing, "nanjing-its-own-pbx")
            for page in (province, nanjing):
                assert_no_page_errors(page)
