"""`hotline users …`: people, their passwords and access; Open311 clients; wallboard kiosk keys."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from agent_desk.account_admin import AccountAdmin
from agent_desk.accounts import AccountError, NewUser, Profile
from agent_desk.audit import AuditLog
from agent_desk.cli.app import app, emit_json, settings
from agent_desk.security.passwords import new_password
from ticketing.db import make_engine, make_session_factory
from ticketing.models import Role
from ticketing.vocabulary import Channel

T = TypeVar("T")
users_app = typer.Typer(no_args_is_help=True, help="Users (agents, dispatchers, handlers, supervisors, admins).")
clients_app = typer.Typer(no_args_is_help=True, help="Open311 API clients (web forms, WeChat, apps).")
kiosks_app = typer.Typer(no_args_is_help=True, help="Wallboard kiosk keys (wall screens without a user).")
app.add_typer(users_app, name="users")
users_app.add_typer(clients_app, name="api-client")
users_app.add_typer(kiosks_app, name="kiosk")
PASSWORD_OPTION = typer.Option(None, help="default: generate one and print it once", envvar="HOTLINE_NEW_PASSWORD")


def _run(work: Callable[[AccountAdmin], Awaitable[T]]) -> T:
    """Run `work` against the configured database; an AccountError ends the command with its message."""
    config = settings()

    async def run() -> T:
        engine = make_engine(config.db.url)
        try:
            sessions = make_session_factory(engine)
            return await work(AccountAdmin(sessions, AuditLog(sessions)))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


@users_app.command("add")
def users_add(
    username: str = typer.Argument(..., help="login name: letters, digits, '.', '_' or '-'"),
    role: Role = typer.Option(..., help="agent, dispatcher, handler, supervisor or admin"),
    unit: str | None = typer.Option(None, help="handlers: the unit id, e.g. dept:320102:water_supply"),
    region: str | None = typer.Option(None, help="supervisors: a city code (320100) or the province (320000)"),
    interface: str | None = typer.Option(None, help="agents (required): the queue member interface, e.g. PJSIP/1001"),
    name: str = typer.Option("", help="display name"),
    password: str | None = PASSWORD_OPTION,
    json_output: bool = typer.Option(False, "--json"),
) -> None:
    """Create a user. The password is generated and shown once unless given (at least 10
    characters, not a common password)."""
    secret = password or new_password()

    _run(lambda admin: admin.create(_actor(), NewUser(username, role, secret, name, unit, region, interface)))
    if json_output:
        emit_json({"username": username, "role": role.value, "password": None if password else secret})
    else:
        typer.echo(f"created {role.value} {username}" + ("" if password else f"; password: {secret}"))


@users_app.command("list")
def users_list(json_output: bool = typer.Option(False, "--json")) -> None:
    """List users with their role and scope (never their hashes)."""

    rows = [{"username": u.username, "role": u.role.value, "unit": u.unit_id, "region": u.region_code,
             "interface": u.agent_interface, "active": u.active} for u in _run(lambda admin: admin.users())]
    if json_output:
        emit_json(rows)
        return
    for row in rows:
        scope = row["unit"] or row["region"] or row["interface"] or ""
        typer.echo(f"{row['username']:<24} {row['role']:<11} {scope}" + ("" if row["active"] else " (disabled)"))


@users_app.command("passwd")
def users_passwd(username: str = typer.Argument(..., help="login name"),
                 password: str | None = PASSWORD_OPTION) -> None:
    """Set a new password (generated and shown once unless given). The user's sessions end."""
    secret = password or new_password()

    _run(lambda admin: admin.set_password(_actor(), username, secret))
    typer.echo(f"password of {username} changed; its sessions have ended"
               + ("" if password else f"; password: {secret}"))


def _set_active(username: str, active: bool) -> None:
    _run(lambda admin: admin.set_active(_actor(), username, active))


@users_app.command("disable")
def users_disable(username: str = typer.Argument(..., help="login name")) -> None:
    """Stop a user: log-in is refused and every token of it stops working at once."""
    _set_active(username, False)
    typer.echo(f"disabled {username}; its sessions have ended")


@users_app.command("enable")
def users_enable(username: str = typer.Argument(..., help="login name")) -> None:
    """Let a disabled user log in again (its old sessions stay ended)."""
    _set_active(username, True)
    typer.echo(f"enabled {username}")


@users_app.command("set")
def users_set(
    username: str = typer.Argument(..., help="login name"),
    role: Role = typer.Option(..., help="agent, dispatcher, handler, supervisor or admin"),
    unit: str | None = typer.Option(None, help="handlers: the unit id"),
    region: str | None = typer.Option(None, help="supervisors: a city code or the province"),
    interface: str | None = typer.Option(None, help="agents: the queue member interface"),
    name: str = typer.Option("", help="display name (default: unchanged)"),
) -> None:
    """Set a user's role and scope (the same checks as `add`). The user's sessions end."""
    _run(lambda admin: admin.set_profile(_actor(), username, Profile(role, name, unit, region, interface)))
    typer.echo(f"{username} is now {role.value}; its sessions have ended")


@clients_app.command("add")
def clients_add(
    name: str = typer.Argument(..., help="client name, e.g. wechat-backend"),
    channel: Channel = typer.Option(Channel.OPEN311, help="channel its requests enter with"),
) -> None:
    """Register an Open311 client; prints its api_key once."""

    key = _run(lambda admin: admin.add_api_client(_actor(), name, channel))
    typer.echo(f"api_key for {name} ({channel.value}): {key}")


@clients_app.command("list")
def clients_list(json_output: bool = typer.Option(False, "--json")) -> None:
    """List Open311 clients (never their keys)."""

    rows = [{"name": c.name, "channel": c.channel.value, "active": c.active}
            for c in _run(lambda admin: admin.api_clients())]
    if json_output:
        emit_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['name']:<24} {row['channel']:<8}" + ("" if row["active"] else " (revoked)"))


@clients_app.command("revoke")
def clients_revoke(name: str = typer.Argument(..., help="client name")) -> None:
    """Revoke an Open311 client's key: its requests are refused (403) from now on."""

    _run(lambda admin: admin.revoke_api_client(_actor(), name))
    typer.echo(f"revoked API client {name}")


@kiosks_app.command("add")
def kiosks_add(name: str = typer.Argument(..., help="the screen, e.g. nanjing-hall")) -> None:
    """Create a wallboard kiosk key; prints it once. Open /wallboard#kiosk=KEY on the screen."""

    key = _run(lambda admin: admin.add_kiosk(_actor(), name))
    typer.echo(f"kiosk key for {name}: {key}\nopen /wallboard#kiosk={key} on that screen")


@kiosks_app.command("list")
def kiosks_list(json_output: bool = typer.Option(False, "--json")) -> None:
    """List kiosk keys (never the keys themselves)."""

    rows = [{"name": k.name, "active": k.active} for k in _run(lambda admin: admin.kiosks())]
    if json_output:
        emit_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['name']}" + ("" if row["active"] else " (revoked)"))


@kiosks_app.command("revoke")
def kiosks_revoke(name: str = typer.Argument(..., help="the screen's name")) -> None:
    """Revoke a kiosk key: the screen's wallboard stops within seconds."""

    _run(lambda admin: admin.revoke_kiosk(_actor(), name))
    typer.echo(f"revoked kiosk {name}")
