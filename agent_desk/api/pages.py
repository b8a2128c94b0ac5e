"""The shell's pages: the login page, each page of the navigation table, and the navigation itself.

Pages are static HTML and ES modules (`agent_desk/static/`, no build step, nothing from the network);
the data they show comes from the same scoped API as every other client.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel

from agent_desk.api.deps import Caller
from agent_desk.api.errors import AUTHED, responses
from agent_desk.pages import LOGIN, PAGES, PageSpec, navigation

router = APIRouter(tags=["pages"])
STATIC = files("agent_desk.static")
HTML: dict[int | str, dict[str, Any]] = {200: {"content": {"text/html": {}}, "description": "the page"}}


class NavItem(BaseModel):
    path: str
    title: str
    title_en: str


class Navigation(BaseModel):
    items: list[NavItem]
    home: str | None


@router.get("/api/pages", response_model=Navigation, responses=responses(*AUTHED))
async def my_pages(who: Caller) -> Navigation:
    """The pages your role sees, in navigation order; `home` is where to go after logging in."""
    items = [NavItem(path=p.path, title=p.title, title_en=p.title_en) for p in navigation(who.role)]
    return Navigation(items=items, home=items[0].path if items else None)


@router.get("/", include_in_schema=False)
async def root() -> RedirectResponse:
    return RedirectResponse(LOGIN, status_code=307)


@router.get(LOGIN, response_class=HTMLResponse, responses=HTML)
async def login_page() -> HTMLResponse:
    return _html("shell/login.html")


def _html(file: str) -> HTMLResponse:
    return HTMLResponse(STATIC.joinpath(file).read_text("utf-8"), headers={"Cache-Control": "no-cache"})


def _serve(page: PageSpec, file: str) -> None:
    async def serve() -> HTMLResponse:
        return _html(file)

    router.add_api_route(page.path, serve, methods=["GET"], response_class=HTMLResponse, responses=HTML,
                         summary=f"{page.title_en} page", name=f"page:{page.path}")


for _page in PAGES:
    if _page.file is not None:
        _serve(_page, _page.file)
