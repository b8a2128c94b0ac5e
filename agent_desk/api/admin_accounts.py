"""Administration of accounts (/admin): users and Open311 clients, through the one account
service the `hotline users` commands use (`agent_desk.account_admin`), each change audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from pydantic import BaseModel, Field
from sqlalchemy import select

from agent_desk.account_admin import AccountAdmin
from agent_desk.accounts import NewUser, Profile
from agent_desk.api.deps import AdminCaller, DeskDep
from agent_desk.api.errors import AUTHED, responses
from agent_desk.api.pagination import CursorParam, Keyset, LimitParam, Page, keyset_page
from agent_desk.desk import Desk
from agent_desk.security.passwords import new_password
from ticketing.models import ApiClient, Role, User
from ticketing.vocabulary import Channel

router = APIRouter(prefix="/api/admin", tags=["admin"])
Username = Annotated[str, Path(max_length=64)]
ClientName = Annotated[str, Path(max_length=64)]
_BY_ID = Keyset((User.id,), (int,))


class UserView(BaseModel):
    username: str
    display_name: str
    role: Role
    unit_id: str | None
    region_code: str | None
    agent_interface: str | None
    active: bool

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(username=user.username, display_name=user.display_name, role=user.role, unit_id=user.unit_id,
                   region_code=user.region_code, agent_interface=user.agent_interface, active=user.active)


class ProfileWrite(BaseModel):
    role: Role
    display_name: str = Field("", max_length=64)
    unit_id: str | None = Field(None, max_length=48)
    region_code: str | None = Field(None, pattern=r"^\d{6}$")
    agent_interface: str | None = Field(None, max_length=64)

    def profile(self) -> Profile:
        return Profile(self.role, self.display_name, self.unit_id or None, self.region_code or None,
                       self.agent_interface or None)


class UserCreate(ProfileWrite):
    username: str = Field(max_length=64)
    password: str | None = Field(None, max_length=256, description="omitted: one is generated and answered once")


class CreatedUser(BaseModel):
    user: UserView
    password: str | None = Field(description="the generated password, shown once; null when you gave one")


class PasswordWrite(BaseModel):
    password: str | None = Field(None, max_length=256, description="omitted: one is generated and answered once")


class NewPassword(BaseModel):
    password: str | None = Field(description="the generated password, shown once; null when you gave one")


class ActiveWrite(BaseModel):
    active: bool


class ClientView(BaseModel):
    name: str
    channel: Channel
    active: bool


class ClientCreate(BaseModel):
    name: str = Field(min_length=1, max_length=64, pattern=r"^[\w.\-]+$")
    channel: Channel = Channel.OPEN311


class CreatedClient(BaseModel):
    client: ClientView
    api_key: str = Field(description="shown once: only its digest is stored")


def _accounts(desk: Desk) -> AccountAdmin:
    return AccountAdmin(desk.sessions, desk.audit)


@router.get("/users", response_model=Page[UserView], responses=responses(400, *AUTHED))
async def list_users(desk: DeskDep, who: AdminCaller, cursor: CursorParam = None,
                     limit: LimitParam = 100) -> Page[UserView]:
    """Every user with its role and scope (never a password hash), in creation order."""
    return await keyset_page(desk.sessions, select(User), _BY_ID, cursor=cursor, limit=limit,
                             key=lambda u: (u.id,), view=UserView.of)


@router.post("/users", response_model=CreatedUser, status_code=201, responses=responses(400, *AUTHED))
async def create_user(body: UserCreate, desk: DeskDep, who: AdminCaller) -> CreatedUser:
    secret = body.password or new_password()
    profile = body.profile()
    user = await _accounts(desk).create(who.username, NewUser(
        body.username, profile.role, secret, profile.display_name, profile.unit_id, profile.region_code,
        profile.agent_interface))
    return CreatedUser(user=UserView.of(user), password=None if body.password else secret)


@router.put("/users/{username}/profile", response_model=UserView, responses=responses(400, 404, *AUTHED))
async def set_profile(username: Username, body: ProfileWrite, desk: DeskDep, who: AdminCaller) -> UserView:
    """Role, unit, region, agent interface, display name. The user's sessions end (new role, new tokens)."""
    if username == who.username and body.role is not Role.ADMIN:
        raise HTTPException(400, "you cannot take the admin role from yourself: another admin can")
    return UserView.of(await _accounts(desk).set_profile(who.username, username, body.profile()))


@router.put("/users/{username}/active", response_model=UserView, responses=responses(404, *AUTHED))
async def set_active(username: Username, body: ActiveWrite, desk: DeskDep, who: AdminCaller) -> UserView:
    """Disable (every session of the user ends at its next request) or enable (it logs in again)."""
    if username == who.username and not body.active:
        raise HTTPException(400, "you cannot disable yourself: another admin can")
    return UserView.of(await _accounts(desk).set_active(who.username, username, body.active))


@router.post("/users/{username}/password", response_model=NewPassword, responses=responses(400, 404, *AUTHED))
async def reset_password(username: Username, body: PasswordWrite, desk: DeskDep, who: AdminCaller) -> NewPassword:
    """A new password (generated unless given); the user's sessions end."""
    secret = body.password or new_password()
    await _accounts(desk).set_password(who.username, username, secret)
    return NewPassword(password=None if body.password else secret)


@router.get("/api-clients", response_model=Page[ClientView], responses=responses(*AUTHED))
async def list_clients(desk: DeskDep, who: AdminCaller) -> Page[ClientView]:
    """Open311 clients (never their keys); one page: a province has a handful."""
    clients = await _accounts(desk).api_clients()
    return Page[ClientView](items=[_client(c) for c in clients], next_cursor=None)


@router.post("/api-clients", response_model=CreatedClient, status_code=201, responses=responses(400, *AUTHED))
async def create_client(body: ClientCreate, desk: DeskDep, who: AdminCaller) -> CreatedClient:
    key = await _accounts(desk).add_api_client(who.username, body.name, body.channel)
    return CreatedClient(client=ClientView(name=body.name, channel=body.channel, active=True), api_key=key)


@router.post("/api-clients/{name}/revoke", response_model=ClientView, responses=responses(404, *AUTHED))
async def revoke_client(name: ClientName, desk: DeskDep, who: AdminCaller) -> ClientView:
    """The key stops working at once."""
    accounts = _accounts(desk)
    await accounts.revoke_api_client(who.username, name)
    return next(_client(c) for c in await accounts.api_clients() if c.name == name)


def _client(client: ApiClient) -> ClientView:
    return ClientView(name=client.name, channel=client.channel, active=client.active)
