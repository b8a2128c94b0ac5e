"""`hotline users add|list|api-client`: people and Open311 clients."""

from __future__ import annotations

import asyncio
import getpass

import typer
from sqlalchemy import select

from agent_desk.accounts import AccountError, NewUser, add_api_client, add_user
from agent_desk.audit import AuditLog
from agent_desk.cli.app import app, emit_json, settings
from agent_desk.security.passwords import new_password
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Role, User
from ticketing.vocabulary import Channel

users_app = typer.Typer(no_args_is_help=True, help="Users (agents, dispatchers, handlers, supervisors, admins).")
app.add_typer(users_app, name="users")


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="login name"),
    role: Role = typer.Option(..., help="agent, dispatcher, handler, supervisor or admin"),
    unit: str | None = typer.Option(None, help="handlers: the unit id, e.g. dept:320102:water_supply"),
    region: str | None = typer.Option(None, help="supervisors: a city code (320100) or the province (320000)"),
    interface: str | None = typer.Option(None, help="agents: the queue member interface, e.g. PJSIP/1001"),
    name: str = typer.Option("", help="display name"),
    password: str | None = typer.Option(None, help="default: generate one and print it once",
                                        envvar="HOTLINE_NEW_PASSWORD"),
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user. The password is generated and shown once unless given."""
    config = settings()
    secret = password or new_password()

    async def run() -> None:
        engine = make_engine(config.db.url)
        try:
            sessions = make_session_factory(engine)
            user = await add_user(sessions, NewUser(username, role, secret, name, unit, region, interface))
            await AuditLog(sessions).record(f"cli:{getpass.getuser()}", "user.create", "user", user.id,
                                            username=username, role=role.value, unit=unit, region=region)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if json_output:
        emit_json({"username": username, "role": role.value, "password": None if password else secret})
    else:
        typer.echo(f"created {role.value} {username}" + ("" if password else f"; password: {secret}"))


@users_app.command("list")
def users_list(json_output: bool = typer.Option(False, "--json")) -> None:
    """List users with their role and scope (never their hashes)."""
    config = settings()

    async def run() -> list[User]:
        engine = make_engine(config.db.url)
        try:
            async with make_session_factory(engine)() as session:
                return list((await session.scalars(select(User).order_by(User.username))).all())
        finally:
            await engine.dispose()

    users = asyncio.run(run())
    rows = [{"username": u.username, "role": u.role.value, "unit": u.unit_id, "region": u.region_code,
             "interface": u.agent_interface, "active": u.active} for u in users]
    if json_output:
        emit_json(rows)
        return
    for row in rows:
        scope = row["unit"] or row["region"] or row["interface"] or ""
        typer.echo(f"{row['username']:<24} {row['role']:<11} {scope}" + ("" if row["active"] else " (inactive)"))


@users_app.command("api-client")
def users_api_client(
    name: str = typer.Argument(..., help="client name, e.g. wechat-backend"),
    channel: Channel = typer.Option(Channel.OPEN311, help="channel its requests enter with"),
) -> None:
    """Register an Open311 client; prints its api_key once."""
    config = settings()

    async def run() -> str:
        engine = make_engine(config.db.url)
        try:
            sessions = make_session_factory(engine)
            key = await add_api_client(sessions, name, channel)
            await AuditLog(sessions).record(f"cli:{getpass.getuser()}", "api_client.create", "api_client", name,
                                            channel=channel.value)
            return key
        finally:
            await engine.dispose()

    try:
        key = asyncio.run(run())
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"api_key for {name} ({channel.value}): {key}")
