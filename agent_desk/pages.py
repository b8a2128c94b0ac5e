"""The page shell's one navigation table: every staff and citizen page, and the roles that see it.

A page is an HTML file under `agent_desk/static/` (which loads the shell's CSS and its own ES module)
plus one row here. The navigation only hides links: every API call a page makes is still checked by
the server (scope and role), so a page a role should not use shows the server's refusal, never data.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.models import Role


@dataclass(frozen=True)
class PageSpec:
    path: str  # where it is served, e.g. "/desk"
    title: str  # Chinese first …
    title_en: str  # … with English beside it
    roles: frozenset[Role]  # who sees it in the navigation (admins see every page)
    file: str | None = None  # under agent_desk/static/; None: served by its own router (the wallboard)
    in_navigation: bool = True  # False: reached from another page (a print view), not a nav link

    def visible_to(self, role: Role) -> bool:
        return role is Role.ADMIN or role in self.roles


LOGIN = "/login"
PAGES: tuple[PageSpec, ...] = (
    PageSpec("/desk", "坐席工作台", "Agent desk", frozenset({Role.AGENT}), "desk/desk.html"),
    PageSpec("/wallboard", "监控大屏", "Wallboard", frozenset({Role.SUPERVISOR, Role.DISPATCHER})),
    PageSpec("/reports", "统计报表", "Reports", frozenset({Role.SUPERVISOR, Role.DISPATCHER}), "reports/reports.html"),
    PageSpec("/handle", "承办工作台", "Handler workbench", frozenset({Role.HANDLER}), "handle/handle.html"),
    PageSpec("/dispatch", "派单调度", "Dispatch", frozenset({Role.DISPATCHER}), "dispatch/dispatch.html"),
    PageSpec("/reports/monthly", "月度报告", "Monthly report", frozenset({Role.SUPERVISOR, Role.DISPATCHER}),
             "reports/monthly.html", in_navigation=False),
    PageSpec("/admin", "系统管理", "Administration", frozenset(), "admin/admin.html"),
    # The citizen portal: no log-in, no staff navigation; its API is public (agent_desk.api.citizen).
    PageSpec("/my12345", "12345在线", "Citizen portal", frozenset(), "my12345/my12345.html", in_navigation=False),
)


def navigation(role: Role) -> list[PageSpec]:
    return [page for page in PAGES if page.in_navigation and page.visible_to(role)]
