"""Who is calling: the authenticated user with its role and scope, as every query needs it."""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.models import Role


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    unit_id: str | None = None  # handlers: the unit they work for
    region_code: str | None = None  # supervisors: a city code, or the province code
    city_scope: str | None = None  # supervisors bound to a city (None: the whole province)
    agent_interface: str | None = None  # agents: the queue member they answer as
    session_id: str | None = None  # the log-in session the token belongs to

    @property
    def sees_everything(self) -> bool:
        return self.role in (Role.ADMIN, Role.DISPATCHER) or (
            self.role is Role.SUPERVISOR and self.city_scope is None
        )
