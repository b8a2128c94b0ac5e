"""User accounts, API clients and kiosk keys: creation with validation, authentication, revocation."""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_desk.security.passwords import hash_password, password_problem, verify_password
from agent_desk.security.principal import Principal
from ticketing.db import SessionFactory
from ticketing.models import ApiClient, KioskKey, Region, RegionLevel, Role, Unit, User
from ticketing.vocabulary import Channel

# Actors that write ticket history and the audit log without being users. System actors with a
# prefix (`api:<client>`, `cli:<login>`, `system:sla-sweep`) are kept apart by the colon, which a
# username may not contain; these have no prefix, so they are reserved by name.
RESERVED_USERNAMES = frozenset({"ivr", "demo-seed", "system", "asr", "ami", "citizen", "anonymous"})
_USERNAME = re.compile(r"[\w.\-]{1,64}")


class AccountError(ValueError):
    """A user, client or key cannot be created or changed as asked; the message says why."""


class UnknownAccount(AccountError):
    """No user, client or key of that name."""


@dataclass(frozen=True)
class NewUser:
    username: str
    role: Role
    password: str
    display_name: str = ""
    unit_id: str | None = None
    region_code: str | None = None
    agent_interface: str | None = None


def username_problem(username: str) -> str | None:
    if not _USERNAME.fullmatch(username):
        return "username must be 1-64 letters, digits, '.', '_' or '-'"
    if username.casefold() in RESERVED_USERNAMES:
        return f"username {username!r} is reserved for a system actor"
    return None


async def add_user(sessions: SessionFactory, new: NewUser) -> User:
    problem = username_problem(new.username) or password_problem(new.password, new.username)
    if problem:
        raise AccountError(problem)
    password_hash = await _off_the_loop(hash_password, new.password)
    async with sessions.begin() as session:
        await _check_scope(session, new.role, new.unit_id, new.region_code, new.agent_interface)
        if await session.scalar(select(User.id).where(func.lower(User.username) == new.username.lower())):
            raise AccountError(f"user {new.username!r} already exists")
        user = User(username=new.username, role=new.role, password_hash=password_hash,
                    display_name=new.display_name or new.username, unit_id=new.unit_id,
                    region_code=new.region_code, agent_interface=new.agent_interface)
        session.add(user)
        try:
            await session.flush()
        except IntegrityError:
            raise AccountError(f"user {new.username!r} or interface {new.agent_interface!r} already exists") from None
    return user


@dataclass(frozen=True)
class Profile:
    """What a user is and where it works: the role and the one scope field that role has."""

    role: Role
    display_name: str = ""
    unit_id: str | None = None
    region_code: str | None = None
    agent_interface: str | None = None


async def set_profile(sessions: SessionFactory, username: str, profile: Profile) -> tuple[User, Profile]:
    """Change a user's role and scope (validated as at creation); its sessions end, since their
    tokens carry the old role. Returns the user and its profile before."""
    async with sessions.begin() as session:
        user = await session.scalar(select(User).where(User.username == username))
        if user is None:
            raise UnknownAccount(f"no user {username!r}")
        await _check_scope(session, profile.role, profile.unit_id, profile.region_code, profile.agent_interface)
        before = Profile(user.role, user.display_name, user.unit_id, user.region_code, user.agent_interface)
        user.role, user.unit_id, user.region_code = profile.role, profile.unit_id, profile.region_code
        user.agent_interface = profile.agent_interface
        user.display_name = profile.display_name or user.display_name
        user.token_generation += 1
        try:
            await session.flush()
        except IntegrityError:
            raise AccountError(f"interface {profile.agent_interface!r} belongs to another agent") from None
    return user, before


async def _check_scope(session: AsyncSession, role: Role, unit_id: str | None, region_code: str | None,
                       agent_interface: str | None) -> None:
    """Each role has exactly its scope: an agent its queue interface, a handler its unit, a
    supervisor its city or province; the others none."""
    if role is Role.AGENT and not agent_interface:
        raise AccountError("an agent needs its queue --interface, e.g. PJSIP/1001")
    if agent_interface and role is not Role.AGENT:
        raise AccountError("only agents have a queue interface")
    if role is Role.HANDLER:
        if not unit_id or await session.get(Unit, unit_id) is None:
            raise AccountError(f"a handler needs an existing --unit (got {unit_id!r})")
    elif unit_id:
        raise AccountError("only handlers are bound to a unit")
    if role is Role.SUPERVISOR:
        region = await session.get(Region, region_code) if region_code else None
        if region is None or region.level is RegionLevel.COUNTY:
            raise AccountError(f"a supervisor needs a city or province --region (got {region_code!r})")
    elif region_code:
        raise AccountError("only supervisors are bound to a region")


async def set_password(sessions: SessionFactory, username: str, password: str) -> User:
    """Change a user's password; every token issued before stops working."""
    problem = password_problem(password, username)
    if problem:
        raise AccountError(problem)
    return await _change_user(sessions, username, password_hash=await _off_the_loop(hash_password, password))


async def set_active(sessions: SessionFactory, username: str, active: bool) -> User:
    """Enable or disable a user. Disabling ends its sessions and tokens at once; enabling does not
    bring them back (the user logs in again)."""
    return await _change_user(sessions, username, active=active)


async def _change_user(sessions: SessionFactory, username: str, **values: object) -> User:
    async with sessions.begin() as session:
        user = await session.scalar(
            update(User).where(User.username == username)
            .values(token_generation=User.token_generation + 1, **values).returning(User))
    if user is None:
        raise UnknownAccount(f"no user {username!r}")
    return user


async def authenticate(sessions: SessionFactory, username: str, password: str) -> User | None:
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.username == username))
    ok = await _off_the_loop(verify_password, password, user.password_hash if user else None)
    return user if ok and user is not None and user.active else None


_T = TypeVar("_T")


async def _off_the_loop(work: Callable[..., _T], *args: object) -> _T:
    """Argon2 costs a fifth of a second of CPU in C that releases the GIL: in a worker thread, the
    event loop keeps serving screen pops and live events while someone logs in."""
    return await asyncio.to_thread(work, *args)


async def principal_of(sessions: SessionFactory, user: User, session_id: str | None = None) -> Principal:
    city = None
    if user.role is Role.SUPERVISOR and user.region_code:
        async with sessions() as session:
            region = await session.get(Region, user.region_code)
        city = region.code if region is not None and region.level is RegionLevel.CITY else None
    return Principal(user.id, user.username, user.role, user.unit_id, user.region_code, city,
                     user.agent_interface, session_id)


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def add_api_client(sessions: SessionFactory, name: str, channel: Channel = Channel.OPEN311) -> str:
    """Register an Open311 client and return its new key (shown once; only a digest is stored)."""
    return await _new_key(sessions, lambda digest: ApiClient(name=name, key_hash=digest, channel=channel),
                          f"API client {name!r}")


async def api_client_for(sessions: SessionFactory, api_key: str) -> ApiClient | None:
    return await _holder(sessions, ApiClient, api_key)


async def revoke_api_client(sessions: SessionFactory, name: str) -> None:
    """The client's key stops working at once (it is checked on every request)."""
    await _deactivate(sessions, ApiClient, name, f"API client {name!r}")


async def add_kiosk_key(sessions: SessionFactory, name: str) -> str:
    """A new wallboard kiosk key (shown once; only a digest is stored)."""
    return await _new_key(sessions, lambda digest: KioskKey(name=name, key_hash=digest), f"kiosk {name!r}")


async def kiosk_for(sessions: SessionFactory, key: str) -> KioskKey | None:
    return await _holder(sessions, KioskKey, key)


async def revoke_kiosk_key(sessions: SessionFactory, name: str) -> None:
    await _deactivate(sessions, KioskKey, name, f"kiosk {name!r}")


KeyHolder = TypeVar("KeyHolder", ApiClient, KioskKey)


async def _new_key(sessions: SessionFactory, holder: Callable[[str], ApiClient | KioskKey], what: str) -> str:
    key = secrets.token_urlsafe(24)
    async with sessions.begin() as session:
        session.add(holder(key_digest(key)))
        try:
            await session.flush()
        except IntegrityError:
            raise AccountError(f"{what} already exists") from None
    return key


async def _holder(sessions: SessionFactory, model: type[KeyHolder], key: str) -> KeyHolder | None:
    """The active client or kiosk of a key."""
    async with sessions() as session:
        found = await session.scalar(select(model).where(model.key_hash == key_digest(key)))
    return found if found is not None and found.active else None


async def _deactivate(sessions: SessionFactory, model: type[KeyHolder], name: str, what: str) -> None:
    async with sessions.begin() as session:
        result = await session.execute(update(model).where(model.name == name).values(active=False))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise UnknownAccount(f"no {what}")
