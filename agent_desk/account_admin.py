"""Administering accounts: each change with its audit entry (who, what, before and after).

The one home of this logic: `hotline users …` calls it with the actor `cli:<login>`, the /admin page
(through /api/admin/…) with the administrator's username.
"""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select

from agent_desk.accounts import (
    NewUser,
    Profile,
    add_api_client,
    add_kiosk_key,
    add_user,
    revoke_api_client,
    revoke_kiosk_key,
    set_active,
    set_password,
    set_profile,
)
from agent_desk.audit import AuditLog
from ticketing.db import SessionFactory
from ticketing.models import ApiClient, KioskKey, User
from ticketing.vocabulary import Channel


class AccountAdmin:
    def __init__(self, sessions: SessionFactory, audit: AuditLog) -> None:
        self._sessions, self._audit = sessions, audit

    async def users(self) -> list[User]:
        async with self._sessions() as session:
            return list((await session.scalars(select(User).order_by(User.username))).all())

    async def create(self, actor: str, new: NewUser) -> User:
        user = await add_user(self._sessions, new)
        await self._audit.record(actor, "user.create", "user", user.id, username=new.username, role=new.role.value,
                                 unit=new.unit_id, region=new.region_code, interface=new.agent_interface)
        return user

    async def set_password(self, actor: str, username: str, password: str) -> User:
        user = await set_password(self._sessions, username, password)
        await self._audit.record(actor, "user.passwd", "user", user.id, username=username)
        return user

    async def set_active(self, actor: str, username: str, active: bool) -> User:
        user = await set_active(self._sessions, username, active)
        await self._audit.record(actor, "user.enable" if active else "user.disable", "user", user.id,
                                 username=username)
        return user

    async def set_profile(self, actor: str, username: str, profile: Profile) -> User:
        user, before = await set_profile(self._sessions, username, profile)
        await self._audit.record(actor, "user.profile", "user", user.id, username=username,
                                 before=asdict(before), after=asdict(profile))
        return user

    async def api_clients(self) -> list[ApiClient]:
        async with self._sessions() as session:
            return list((await session.scalars(select(ApiClient).order_by(ApiClient.name))).all())

    async def add_api_client(self, actor: str, name: str, channel: Channel) -> str:
        """The new client's key, shown once."""
        key = await add_api_client(self._sessions, name, channel)
        await self._audit.record(actor, "api_client.create", "api_client", name, channel=channel.value)
        return key

    async def revoke_api_client(self, actor: str, name: str) -> None:
        await revoke_api_client(self._sessions, name)
        await self._audit.record(actor, "api_client.revoke", "api_client", name)

    async def kiosks(self) -> list[KioskKey]:
        async with self._sessions() as session:
            return list((await session.scalars(select(KioskKey).order_by(KioskKey.name))).all())

    async def add_kiosk(self, actor: str, name: str) -> str:
        key = await add_kiosk_key(self._sessions, name)
        await self._audit.record(actor, "kiosk.create", "kiosk", name)
        return key

    async def revoke_kiosk(self, actor: str, name: str) -> None:
        await revoke_kiosk_key(self._sessions, name)
        await self._audit.record(actor, "kiosk.revoke", "kiosk", name)
