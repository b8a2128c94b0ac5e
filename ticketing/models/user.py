"""People and systems that use the desk: users with a role and a scope, their log-in sessions,
Open311 API clients and wallboard kiosk keys."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base, enum_type, utcnow
from ticketing.vocabulary import Channel


class Role(enum.StrEnum):
    AGENT = "agent"  # takes calls, creates tickets
    DISPATCHER = "dispatcher"  # dispatches, rules on returns, approves extensions
    HANDLER = "handler"  # works tickets for one handling unit (`unit_id`)
    SUPERVISOR = "supervisor"  # watches one region (`region_code`: a city or the province)
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[Role] = mapped_column(enum_type(Role))
    password_hash: Mapped[str] = mapped_column(String(256))
    unit_id: Mapped[str | None] = mapped_column(ForeignKey("units.id"))  # handlers
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))  # supervisors
    # The queue member this agent answers as (AMI Interface, e.g. "PJSIP/1001" or "Local/agent1@agents").
    agent_interface: Mapped[str | None] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped to revoke every token issued before (password change, deactivation).
    token_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """One log-in and the refresh tokens that descend from it (a token family).

    Only the newest refresh token of a family is valid (`refresh_jti`); presenting an older one
    means it was copied, and the whole family is revoked, access tokens included.
    """

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    refresh_jti: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(32))  # logout, reuse


class ApiClient(Base):
    """A system submitting Open311 requests (web form, WeChat or app back end), keyed by `api_key`."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the key
    channel: Mapped[Channel] = mapped_column(enum_type(Channel), default=Channel.OPEN311)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KioskKey(Base):
    """A read-only key for a wallboard screen (a kiosk has no user to log in as). Only a digest is stored."""

    __tablename__ = "kiosk_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the key
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
