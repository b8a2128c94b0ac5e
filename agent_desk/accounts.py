"""User accounts and API clients: creation with validation, authentication, principals."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from agent_desk.security.passwords import hash_password, verify_password
from agent_desk.security.principal import Principal
from ticketing.db import SessionFactory
from ticketing.models import ApiClient, Region, RegionLevel, Role, Unit, User
from ticketing.vocabulary import Channel


class AccountError(ValueError):
    """A user or client cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class NewUser:
    username: str
    role: Role
    password: str
    display_name: str = ""
    unit_id: str | None = None
    region_code: str | None = None
    agent_interface: str | None = None


async def add_user(sessions: SessionFactory, new: NewUser) -> User:
    if not new.username or len(new.username) > 64 or not new.username.isprintable():
        raise AccountError("username must be 1-64 printable characters")
    if len(new.password) < 8:
        raise AccountError("password must have at least 8 characters")
    async with sessions.begin() as session:
        if new.role is Role.HANDLER:
            if not new.unit_id or await session.get(Unit, new.unit_id) is None:
                raise AccountError(f"a handler needs an existing --unit (got {new.unit_id!r})")
        elif new.unit_id:
            raise AccountError("only handlers are bound to a unit")
        if new.role is Role.SUPERVISOR:
            region = await session.get(Region, new.region_code) if new.region_code else None
            if region is None or region.level is RegionLevel.COUNTY:
                raise AccountError(f"a supervisor needs a city or province --region (got {new.region_code!r})")
        elif new.region_code:
            raise AccountError("only supervisors are bound to a region")
        if new.agent_interface and new.role is not Role.AGENT:
            raise AccountError("only agents have a queue interface")
        user = User(username=new.username, role=new.role, password_hash=hash_password(new.password),
                    display_name=new.display_name or new.username, unit_id=new.unit_id,
                    region_code=new.region_code, agent_interface=new.agent_interface)
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            raise AccountError(f"user {new.username!r} or interface {new.agent_interface!r} already exists") from None
    return user


async def authenticate(sessions: SessionFactory, username: str, password: str) -> User | None:
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == username))
    ok = verify_password(password, user.password_hash if user else None)
    return user if ok and user is not None and user.active else None


async def active_user(sessions: SessionFactory, user_id: int) -> User | None:
    async with sessions() as session:
        user = await session.get(User, user_id)
    return user if user is not None and user.active else None


async def principal_of(sessions: SessionFactory, user: User) -> Principal:
    city = None
    if user.role is Role.SUPERVISOR and user.region_code:
        async with sessions() as session:
            region = await session.get(Region, user.region_code)
        city = region.code if region is not None and region.level is RegionLevel.CITY else None
    return Principal(user.id, user.username, user.role, user.unit_id, user.region_code, city,
                     user.agent_interface)


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


async def add_api_client(sessions: SessionFactory, name: str, channel: Channel = Channel.OPEN311) -> str:
    """Register an Open311 client and return its new key (shown once; only a digest is stored)."""
    key = secrets.token_urlsafe(24)
    async with sessions.begin() as session:
        session.add(ApiClient(name=name, key_hash=key_digest(key), channel=channel))
        try:
            await session.flush()
        except IntegrityError:
            raise AccountError(f"API client {name!r} already exists") from None
    return key


async def api_client_for(sessions: SessionFactory, api_key: str) -> ApiClient | None:
    async with sessions() as session:
        client = await session.scalar(select(ApiClient).where(ApiClient.key_hash == key_digest(api_key)))
    return client if client is not None and client.active else None
