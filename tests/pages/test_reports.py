"""The report page and the printable monthly report in chromium: a Suzhou supervisor sees only
Suzhou, the tables under the charts carry the API's figures, exports download the same figures,
the province drills down, and nothing breaks the page's security policy (no inline script or style,
no eval)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from tests.agent_desk.report_data import seed
from tests.pages.conftest import Serve, Shots, assert_no_page_errors, log_in

pytestmark = [pytest.mark.anyio, pytest.mark.browser]
NANJING_WORDS = ("南京", "玄武", "320100", "320102")


def collect_console(page: Any) -> list[str]:
    """Console errors (a CSP violation is reported there, not as a page error)."""
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if message.type == "error" else None)
    return seen


def value(text: Any) -> Any:
    """A cell's or the API's value, compared as a number where it is one (JS writes 1.0 as "1")."""
    if text is None or text == "":
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return str(text)


async def table_values(page: Any, block: str) -> list[dict[str, Any]]:
    cells = await page.eval_on_selector_all(
        f"#{block} table.report-table tbody tr",
        """rows => rows.map(tr => Object.fromEntries([...tr.querySelectorAll('[data-field]')]
             .map(cell => [cell.dataset.field, cell.dataset.value])))""")
    return [{field: value(text) for field, text in row.items()} for row in cells]


def as_cells(api_rows: list[dict[str, Any]], fields: list[str]) -> list[dict[str, Any]]:
    return [{f: value(row[f]) for f in fields} for row in api_rows]


async def api_rows(product: Any, user: str, path: str, **params: str) -> list[dict[str, Any]]:
    import httpx

    async with httpx.AsyncClient(base_url=product.url) as http:
        response = await http.get(path, params=params, headers=product.auth(user))
        assert response.status_code == 200, response.text
        return list(response.json()["items"])


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_a_suzhou_supervisor_sees_only_suzhou_and_the_tables_carry_the_apis_figures(
        serve: Serve, browser: Any, shots: Shots) -> None:
    from axe_playwright_python.async_playwright import Axe

    async with serve() as product:
        await seed(product.desk)
        page = await log_in(browser, product, "sup_suzhou", path="/reports")
        console = collect_console(page)
        csp = await page.evaluate("() => fetch('/reports').then(r => r.headers.get('content-security-policy'))")
        assert "script-src 'self'" in csp and "unsafe" not in csp  # the console check below means it
        assert await page.inner_text("#trail") == "苏州市"
        await shots(page, "calls")
        shown = await table_values(page, "calls-day")
        api = await api_rows(product, "sup_suzhou", "/api/reports/calls", by="day")
        assert shown == as_cells(api, list(shown[0]))
        assert api[0]["offered"] == 3
        # tickets: the breakdown is Suzhou's counties, as the API gives them
        await page.click("#tab-tickets")
        await page.wait_for_selector("#tickets-breakdown table")
        await page.wait_for_function("() => document.body.dataset.ready === 'true'")
        shown = await table_values(page, "tickets-breakdown")
        api = await api_rows(product, "sup_suzhou", "/api/reports/tickets", by="county")
        assert shown == as_cells(api, list(shown[0]))
        text = await page.inner_text("main")
        for word in NANJING_WORDS:
            assert word not in text
        await shots(page, "tickets")
        # the XLSX button downloads the API's figures
        async with page.expect_download() as info:
            await page.click("#tickets-breakdown button.export[data-format=xlsx]")
        download = await info.value
        book = openpyxl.load_workbook(io.BytesIO(Path(await download.path()).read_bytes()))
        sheet = list(book.worksheets[0].iter_rows(values_only=True))
        assert [dict(zip(sheet[0], row, strict=True)) for row in sheet[1:]] == api
        for view in ("satisfaction", "staffing", "hotspots"):
            await page.click(f"#tab-{view}")
            await page.wait_for_function(f"() => document.querySelector('#tab-{view}').ariaSelected === 'true' "
                                         "&& document.body.dataset.ready === 'true'")
            assert await page.locator("#view canvas").count() >= 1
            if view == "satisfaction":
                assert "投诉" in await page.inner_text("#satisfaction-category")
            await shots(page, view)
        # the printable monthly report of the city
        await page.click("#monthly")
        await page.wait_for_url(re.compile(r"/reports/monthly\?month=\d{4}-\d{2}&region=320500$"))
        await page.wait_for_selector("body[data-ready=true]", state="attached")
        assert (await page.inner_text("#report-title")).startswith("苏州市 12345 热线")
        assert await page.locator("#report canvas").count() >= 6
        results = await Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        await shots(page, "monthly")
        await page.emulate_media(media="print")
        await shots(page, "monthly-print")
        assert await page.is_hidden("#monthly-controls")
        pdf = await page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
        assert_no_page_errors(page)
        assert console == []
        # Nanjing in the address: the page shows the server's refusal, and no figure
        await page.emulate_media(media="screen")
        await page.goto(product.url + "/reports?region=320100")
        await page.wait_for_selector("#shell-messages .message.error")
        assert "404: no region 320100 in your scope" in await page.inner_text("#shell-messages")
        assert await page.locator("#view table").count() == 0


@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_the_province_drills_down_to_a_city_a_county_and_back(serve: Serve, browser: Any, shots: Shots) -> None:
    from axe_playwright_python.async_playwright import Axe

    async with serve() as product:
        await seed(product.desk)
        page = await log_in(browser, product, "sup_province", path="/reports?view=tickets")
        console = collect_console(page)
        await page.wait_for_selector("#tickets-breakdown table")
        # axe-core finds nothing; the page is as wide as the screen (it scrolls down, not across)
        results = await Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= 1366
        await page.click("#tickets-breakdown button.drill[aria-label*='苏州市']")
        await page.wait_for_function("() => document.querySelector('#trail').innerText.includes('苏州市')")
        await page.wait_for_selector("body[data-ready=true]", state="attached")
        await page.click("#tickets-breakdown button.drill[aria-label*='姑苏区']")
        await page.wait_for_function("() => document.querySelector('#trail').innerText.includes('姑苏区')")
        await page.wait_for_selector("body[data-ready=true]", state="attached")
        assert await page.inner_text("#trail") == "江苏省 › 苏州市 › 姑苏区"
        await shots(page, "county")
        await page.get_by_role("link", name="江苏省").click()
        await page.wait_for_function("() => document.querySelector('#trail').innerText === '江苏省'")
        assert_no_page_errors(page)
        assert console == []
