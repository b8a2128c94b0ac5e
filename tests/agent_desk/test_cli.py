"""`hotline users …`, `hotline seed --demo-users` and `hotline serve --help` against a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from agent_desk.cli import app
from ticketing.db import make_engine, make_session_factory
from ticketing.models import AuditEntry, Base, Role, Ticket, User
from ticketing.seed import seed_reference_data


async def _schema(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        await seed_reference_data(make_session_factory(engine))
    finally:
        await engine.dispose()


async def _rows(url: str) -> tuple[list[User], list[Ticket], list[AuditEntry]]:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            return (list((await session.scalars(select(User))).all()),
                    list((await session.scalars(select(Ticket))).all()),
                    list((await session.scalars(select(AuditEntry))).all()))
    finally:
        await engine.dispose()


@pytest.fixture
def db_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    asyncio.run(_schema(url))
    monkeypatch.setenv("HOTLINE_DB__URL", url)
    monkeypatch.setenv("HOTLINE_CONFIG", str(tmp_path / "absent.toml"))
    return url


def test_users_add_list_and_errors(db_url: str) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["users", "add", "li", "--role", "handler", "--unit", "dept:320102:water_supply"])
    assert result.exit_code == 0, result.output
    assert "password:" in result.output
    bad = runner.invoke(app, ["users", "add", "wang", "--role", "handler"])
    assert bad.exit_code == 1 and "needs an existing --unit" in bad.output
    bad = runner.invoke(app, ["users", "add", "zhao", "--role", "supervisor", "--region", "320102"])
    assert bad.exit_code == 1  # a county is not a supervisor's region
    listed = runner.invoke(app, ["users", "list"])
    assert "li" in listed.output and "dept:320102:water_supply" in listed.output
    users, _, audit = asyncio.run(_rows(db_url))
    assert [u.username for u in users] == ["li"] and users[0].password_hash.startswith("$argon2id$")
    assert [a.action for a in audit] == ["user.create"]


def test_seed_demo_users_prints_passwords_once_and_seeds_tickets(db_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["seed", "--demo-users"])
    assert first.exit_code == 0, first.output
    for name in ("demo-agent", "demo-dispatcher", "demo-handler", "demo-supervisor", "demo-admin"):
        assert name in first.output
    assert "JS20261128-000123" in first.output and "api_key" in first.output
    assert "demo knowledge base: 12 articles" in first.output
    assert "http://127.0.0.1:8000/wallboard#kiosk=" in first.output
    second = runner.invoke(app, ["seed", "--demo-users"])
    assert "already present" in second.output and "api_key" not in second.output and "kiosk=" not in second.output
    assert "knowledge base" not in second.output
    users, tickets, _ = asyncio.run(_rows(db_url))
    assert sorted(u.role.value for u in users) == ["admin", "agent", "dispatcher", "handler", "supervisor"]
    numbers = {t.number for t in tickets}
    assert "JS20261128-000123" in numbers and len(tickets) == 6
    assert [(t.channel, t.public) for t in tickets if t.channel == "web"] == [("web", True)]  # for /my12345's board
    # Later tickets of that day never collide with the fixed number.
    assert all(n == "JS20261128-000123" or not n.startswith("JS20261128-0001") or n > "JS20261128-000123"
               for n in numbers)


def test_serve_help_lists_replay_options() -> None:
    result = CliRunner().invoke(app, ["serve", "--help"])
    assert result.exit_code == 0
    assert "--replay" in result.output and "--speed" in result.output


def test_replay_source_precedence(tmp_path: Path) -> None:
    from agent_desk.cli.serve import replay_source
    from agent_desk.live.replay import bundled_capture

    mine, configured = tmp_path / "mine.jsonl", tmp_path / "conf.jsonl"
    assert replay_source(mine, configured, pbx_configured=True, no_replay=False) == mine
    assert replay_source(None, configured, pbx_configured=True, no_replay=False) is None
    assert replay_source(None, configured, pbx_configured=False, no_replay=False) == configured
    assert replay_source(None, None, pbx_configured=False, no_replay=False) == bundled_capture()
    assert replay_source(mine, None, pbx_configured=False, no_replay=True) is None


def test_commands_without_audio_neither_load_nor_warn_about_it(tmp_path: Path, db_url: str) -> None:
    """On a machine without ffmpeg, no `hotline` command but the audio ones imports pydub (whose import
    warns "Couldn't find ffmpeg"), Vosk or jieba; the audio ones say what is missing when they need it."""
    script = ("import sys, warnings; warnings.simplefilter('default'); from agent_desk.cli import app\n"
              "try:\n    app(sys.argv[1:])\nexcept SystemExit as stop:\n"
              "    print(sorted(m for m in ('pydub', 'vosk', 'jieba') if m in sys.modules), file=sys.stderr)\n"
              "    raise\n")
    env = {**os.environ, "PATH": str(tmp_path), "HOTLINE_CONFIG": str(tmp_path / "absent.toml"),
           "HOTLINE_DB__URL": db_url}
    for command in (["--help"], ["sla", "due", "--from", "2026-11-30T09:00", "--hours", "1"],
                    ["route", "explain", "--region", "320106"]):
        done = subprocess.run([sys.executable, "-c", script, *command], env=env, capture_output=True,
                              text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stderr == "[]\n", (command, done.stderr)


def test_users_passwd_disable_enable_and_revocations(db_url: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["users", "add", "zhang", "--role", "dispatcher"]).exit_code == 0
    weak = runner.invoke(app, ["users", "passwd", "zhang", "--password", "password123"])
    assert weak.exit_code == 1 and "too common" in weak.output
    changed = runner.invoke(app, ["users", "passwd", "zhang"])
    assert changed.exit_code == 0 and "password:" in changed.output and "sessions have ended" in changed.output
    assert runner.invoke(app, ["users", "disable", "zhang"]).exit_code == 0
    assert "(disabled)" in runner.invoke(app, ["users", "list"]).output
    assert runner.invoke(app, ["users", "enable", "zhang"]).exit_code == 0
    assert "(disabled)" not in runner.invoke(app, ["users", "list"]).output
    missing = runner.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code == 1 and "no user 'nobody'" in missing.output
    refused = runner.invoke(app, ["users", "set", "zhang", "--role", "supervisor", "--region", "320102"])
    assert refused.exit_code == 1 and "city or province" in refused.output
    moved = runner.invoke(app, ["users", "set", "zhang", "--role", "supervisor", "--region", "320100"])
    assert moved.exit_code == 0 and "sessions have ended" in moved.output
    users, _, audit = asyncio.run(_rows(db_url))
    assert (users[0].role, users[0].region_code) == (Role.SUPERVISOR, "320100")
    assert users[0].token_generation == 4  # each change revoked the tokens issued before
    assert [a.action for a in audit] == ["user.create", "user.passwd", "user.disable", "user.enable", "user.profile"]
    assert audit[-1].actor.startswith("cli:") and audit[-1].data["before"]["role"] == "dispatcher"

    added = runner.invoke(app, ["users", "api-client", "add", "wechat-backend", "--channel", "wechat"])
    assert added.exit_code == 0 and "api_key for wechat-backend (wechat):" in added.output
    assert runner.invoke(app, ["users", "api-client", "revoke", "wechat-backend"]).exit_code == 0
    assert "(revoked)" in runner.invoke(app, ["users", "api-client", "list"]).output
    kiosk = runner.invoke(app, ["users", "kiosk", "add", "nanjing-hall"])
    assert kiosk.exit_code == 0 and "/wallboard#kiosk=" in kiosk.output
    assert runner.invoke(app, ["users", "kiosk", "revoke", "nanjing-hall"]).exit_code == 0
    assert runner.invoke(app, ["users", "kiosk", "list", "--json"]).output.strip() == \
        '[{"name": "nanjing-hall", "active": false}]'
    assert runner.invoke(app, ["users", "kiosk", "revoke", "nowhere"]).exit_code == 1


def test_users_add_refuses_system_names_weak_passwords_and_agents_without_interface(db_url: str) -> None:
    runner = CliRunner()
    for args, message in (
        (["api:demo-webform", "--role", "dispatcher"], "letters, digits"),
        (["demo-seed", "--role", "dispatcher"], "reserved"),
        (["agent7", "--role", "agent"], "--interface"),
        (["liu", "--role", "dispatcher", "--password", "          "], "whitespace"),
        (["liu", "--role", "dispatcher", "--password", "qwertyuiop"], "too common"),
    ):
        result = runner.invoke(app, ["users", "add", *args])
        assert result.exit_code == 1 and message in result.output, (args, result.output)


@pytest.mark.parametrize("workers", ["1", "3"])
def test_serve_leaves_x_forwarded_for_to_the_desk(db_url: str, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    """uvicorn believes X-Forwarded-For from any loopback peer by default; the desk believes it only
    from `desk.auth.trusted_proxies`, so serve turns uvicorn's handling off."""
    import uvicorn

    seen: dict[str, object] = {}
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: seen.update(kwargs))
    # Several workers put their metrics in a folder named in the environment: undone after the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    result = CliRunner().invoke(app, ["serve", "--no-replay", "--workers", workers])
    assert result.exit_code == 0, result.output
    assert seen["proxy_headers"] is False and seen["server_header"] is False
