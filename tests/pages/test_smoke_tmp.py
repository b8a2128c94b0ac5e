import pytest
from tests.pages.conftest import log_in, assert_no_page_errors

pytestmark = [pytest.mark.anyio, pytest.mark.browser]

@pytest.mark.parametrize("db_target", ["sqlite"], indirect=True)
async def test_smoke(serve, browser, shots):
    async with serve() as product:
        page = await log_in(browser, product, "agent1")
        await page.wait_for_timeout(1500)
        await shots(page, "desk")
        print(await page.inner_text("#shell-messages") if await page.query_selector("#shell-messages") else "")
        assert_no_page_errors(page)
