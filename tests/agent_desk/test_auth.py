"""Log-in, tokens and sessions (rotation, revocation), the password policy, reserved names, throttling
shared through the database, trusted proxies, and the audit trail of log-ins."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from ipaddress import ip_network

import httpx
import pytest
from sqlalchemy import select, update

from agent_desk import accounts
from agent_desk.accounts import AccountError, NewUser, add_user, set_active, set_password
from agent_desk.app import create_app
from agent_desk.live.board import LiveBoard
from agent_desk.security.addresses import client_address, throttle_key
from agent_desk.security.passwords import verify_password
from agent_desk.security.sessions import LoginSessions
from agent_desk.security.throttle import Throttle
from agent_desk.security.tokens import TokenIssuer
from agent_desk.settings import load_settings
from tests.agent_desk.conftest import PASSWORD, DeskClient
from ticketing.models import AuditEntry, LoginSession, Role, Ticket, User, utcnow

pytestmark = pytest.mark.anyio


async def test_password_is_stored_as_argon2_hash(client: DeskClient) -> None:
    async with client.desk.sessions() as session:
        user = await session.scalar(select(User).where(User.username == "agent1"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


async def test_passwords_are_checked_off_the_event_loop(client: DeskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 costs ~0.2 s of CPU per log-in: checked on the loop, it would hold every screen pop and
    live event of the process that long (a shift's log-ins at 08:00; the loop's longest pause under
    load fell from 775 to 29 ms, docs/agent_desk.md). So the check runs in a worker thread."""
    checked_in: list[threading.Thread] = []

    def verify(password: str, hashed: str | None) -> bool:
        checked_in.append(threading.current_thread())
        return verify_password(password, hashed)

    monkeypatch.setattr(accounts, "verify_password", verify)
    for password in (PASSWORD, "wrong-password"):
        response = await client.http.post("/api/auth/login", json={"username": "agent1", "password": password})
        assert response.status_code == (200 if password == PASSWORD else 401)
    assert len(checked_in) == 2 and threading.main_thread() not in checked_in


async def test_login_me_and_refresh(client: DeskClient) -> None:
    response = await client.http.post("/api/auth/login", json={"username": "sup_nanjing", "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"user_id": body["user"]["user_id"], "username": "sup_nanjing", "role": "supervisor",
                            "unit_id": None, "region_code": "320100", "city_scope": "320100",
                            "agent_interface": None}
    assert body["expires_at"].endswith("Z") or "+" in body["expires_at"]
    me = await client.http.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["city_scope"] == "320100"
    refreshed = await client.http.post("/api/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200
    # An access token is not a refresh token, and vice versa.
    as_refresh = await client.http.post("/api/auth/refresh", json={"refresh_token": body["access_token"]})
    assert as_refresh.status_code == 401
    wrong = {"Authorization": f"Bearer {body['refresh_token']}"}
    assert (await client.http.get("/api/auth/me", headers=wrong)).status_code == 401


async def test_wrong_password_and_missing_token(client: DeskClient) -> None:
    response = await client.http.post("/api/auth/login", json={"username": "agent1", "password": "nope-nope"})
    assert response.status_code == 401
    assert (await client.http.get("/api/tickets")).status_code == 401
    assert (await client.http.get("/api/tickets", headers={"Authorization": "Bearer junk"})).status_code == 401


async def test_expired_token_is_refused(client: DeskClient) -> None:
    issuer = TokenIssuer("test-secret-of-sufficient-length-32b", access_ttl=timedelta(seconds=-5),
                         refresh_ttl=timedelta(hours=1))
    claims = client.desk.tokens.decode(client.tokens["admin"], "access")
    expired = issuer.issue(claims.user_id, "access", session_id=claims.session_id, principal=claims.principal)
    response = await client.http.get("/api/auth/me", headers={"Authorization": f"Bearer {expired.token}"})
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid or expired token"}  # never PyJWT's own words


async def test_a_verified_token_is_refused_once_it_expires(client: DeskClient) -> None:
    claims = client.desk.tokens.decode(client.tokens["admin"], "access")
    short = client.desk.tokens.issue(claims.user_id, "access", session_id=claims.session_id,
                                     principal=claims.principal, expires_at=utcnow() + timedelta(seconds=1))
    assert (await client.http.get("/api/auth/me", headers=bearer(short.token))).status_code == 200  # kept
    await asyncio.sleep((short.expires_at - utcnow()).total_seconds() + 0.05)
    response = await client.http.get("/api/auth/me", headers=bearer(short.token))
    assert response.status_code == 401 and response.json() == {"detail": "invalid or expired token"}


async def test_login_is_rate_limited_and_audited(client: DeskClient) -> None:
    attempts = client.desk.settings.desk.auth.login_attempts
    codes = []
    for _ in range(attempts + 2):
        response = await client.http.post("/api/auth/login", json={"username": "agent2", "password": "wrong-pass"})
        codes.append(response.status_code)
    assert codes[:attempts] == [401] * attempts
    assert codes[attempts:] == [429, 429]
    assert int(response.headers["Retry-After"]) >= 1
    # Even the right password is refused while throttled.
    response = await client.http.post("/api/auth/login", json={"username": "agent2", "password": PASSWORD})
    assert response.status_code == 429
    async with client.desk.sessions() as session:
        outcomes = (await session.scalars(select(AuditEntry.outcome).where(
            AuditEntry.action == "user.login", AuditEntry.actor == "agent2"))).all()
    assert outcomes.count("denied") == attempts and outcomes.count("throttled") == 3


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def login(client: DeskClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.http.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, str] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_disabled_user_is_refused_at_once_and_a_cached_check_lasts_seconds(client: DeskClient) -> None:
    # Cold: the first request after the change is refused.
    tokens = await login(client, "agent2")
    await set_active(client.desk.sessions, "agent2", False)
    me = await client.http.get("/api/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401 and me.json() == {"detail": "invalid or expired token"}
    assert (await client.http.post("/api/auth/refresh",
                                   json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    assert (await client.http.post("/api/auth/login",
                                   json={"username": "agent2", "password": PASSWORD})).status_code == 401
    # Enabling lets the user log in again, but the old tokens stay dead.
    await set_active(client.desk.sessions, "agent2", True)
    assert (await client.http.get("/api/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401
    await login(client, "agent2")
    # Warm: the per-request check is cached for desk.auth.session_check_seconds, no longer.
    clock = FakeClock()
    client.desk.logins = LoginSessions(client.desk.sessions, client.desk.tokens, check_seconds=2, clock=clock)
    tokens = await login(client, "dispatcher")
    assert (await client.http.get("/api/auth/me", headers=bearer(tokens["access_token"]))).status_code == 200
    await set_active(client.desk.sessions, "dispatcher", False)
    clock.now += 2.01
    assert (await client.http.get("/api/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401


async def test_a_new_password_ends_every_session(client: DeskClient) -> None:
    tokens = await login(client, "agent1")
    with pytest.raises(AccountError, match="at least 10"):
        await set_password(client.desk.sessions, "agent1", "short")
    await set_password(client.desk.sessions, "agent1", "a-much-better-passphrase")
    assert (await client.http.get("/api/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await client.http.post("/api/auth/refresh",
                                   json={"refresh_token": tokens["refresh_token"]})).status_code == 401
    assert (await client.http.post("/api/auth/login",
                                   json={"username": "agent1", "password": PASSWORD})).status_code == 401
    await login(client, "agent1", "a-much-better-passphrase")


async def test_refresh_tokens_rotate_and_a_reused_one_ends_the_session(client: DeskClient) -> None:
    first = await login(client, "sup_nanjing")
    second = (await client.http.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["refresh_expires_at"] == first["refresh_expires_at"]  # a log-in lasts refresh_hours at most
    third = (await client.http.post("/api/auth/refresh", json={"refresh_token": second["refresh_token"]})).json()
    # The first token comes back (someone copied it): the whole session ends.
    reused = await client.http.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and "already used" in reused.json()["detail"]
    assert (await client.http.post("/api/auth/refresh",
                                   json={"refresh_token": third["refresh_token"]})).status_code == 401
    assert (await client.http.get("/api/auth/me", headers=bearer(third["access_token"]))).status_code == 401
    # Other sessions of the same user are not touched.
    other = await login(client, "sup_nanjing")
    assert (await client.http.get("/api/auth/me", headers=bearer(other["access_token"]))).status_code == 200
    async with client.desk.sessions() as session:
        revoked = (await session.scalars(select(LoginSession.revoked_reason).where(
            LoginSession.revoked_at.is_not(None)))).all()
        audit = (await session.scalars(select(AuditEntry.outcome).where(AuditEntry.action == "session.revoke"))).all()
    assert revoked == ["reuse"] and audit == ["reused"]


async def test_two_parallel_refreshes_with_one_token_do_not_both_win(client: DeskClient) -> None:
    tokens = await login(client, "sup_suzhou")
    answers = await asyncio.gather(*(client.http.post("/api/auth/refresh", json={
        "refresh_token": tokens["refresh_token"]}) for _ in range(2)))
    assert sorted(a.status_code for a in answers) in ([200, 401], [401, 401])


async def test_logout_ends_the_session(client: DeskClient) -> None:
    tokens = await login(client, "admin")
    assert (await client.http.post("/api/auth/logout", headers=bearer(tokens["access_token"]))).status_code == 204
    assert (await client.http.get("/api/auth/me", headers=bearer(tokens["access_token"]))).status_code == 401
    assert (await client.http.post("/api/auth/refresh",
                                   json={"refresh_token": tokens["refresh_token"]})).status_code == 401


@pytest.mark.parametrize(("password", "problem"), [
    ("short-pw", "at least 10"), (" " * 12, "whitespace"), ("\t\n" * 6, "whitespace"),
    ("1234567890", "too common"), ("QwertyUiop", "too common"), ("woaini1314", "too common"),
    ("newagent99", "not be the username"), ("x" * 257, "at most 256"),
])
async def test_password_policy(client: DeskClient, password: str, problem: str) -> None:
    with pytest.raises(AccountError, match=problem):
        await add_user(client.desk.sessions, NewUser("newagent99", Role.DISPATCHER, password))


async def test_agents_need_an_interface_and_system_names_are_reserved(client: DeskClient) -> None:
    with pytest.raises(AccountError, match="interface"):
        await add_user(client.desk.sessions, NewUser("agent9", Role.AGENT, PASSWORD))
    for name in ("api:demo-webform", "demo-seed", "IVR", "system:sla-sweep", "cli:root", "citizen", "a b", ""):
        with pytest.raises(AccountError):
            await add_user(client.desk.sessions, NewUser(name, Role.DISPATCHER, PASSWORD))
    with pytest.raises(AccountError, match="already exists"):
        await add_user(client.desk.sessions, NewUser("Admin", Role.DISPATCHER, PASSWORD))
    created = await add_user(client.desk.sessions, NewUser("王小明", Role.DISPATCHER, PASSWORD))
    assert created.username == "王小明"


async def test_agents_see_their_tickets_by_user_id_never_by_name(client: DeskClient) -> None:
    mine = (await client.http.post("/api/tickets", json={"category": "help", "description": "停水"},
                                   headers=client.auth("agent1"))).json()
    # A ticket whose creator *name* is agent2's (a system actor or a renamed account, say) is not agent2's.
    async with client.desk.sessions.begin() as session:
        await session.execute(update(Ticket).where(Ticket.id == mine["id"]).values(created_by="agent2"))
    assert (await client.http.get(f"/api/tickets/{mine['id']}", headers=client.auth("agent2"))).status_code == 404
    assert (await client.http.get("/api/tickets", headers=client.auth("agent2"))).json()["items"] == []
    assert (await client.http.get(f"/api/tickets/{mine['id']}", headers=client.auth("agent1"))).status_code == 200
    # Open311 tickets belong to no agent, whatever the client is called.
    await client.http.post("/open311/v2/requests.json", data={
        "api_key": client.api_key, "service_code": "help", "address_string": "南京", "description": "x"})
    ids = [t["id"] for t in (await client.http.get("/api/tickets", headers=client.auth("agent1"))).json()["items"]]
    assert ids == [mine["id"]]


def transport_from(client: DeskClient, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=client.app, client=(address, 40000)),
                             base_url="http://desk.test")


async def test_login_throttle_per_username_across_addresses(client: DeskClient) -> None:
    limit = client.desk.settings.desk.auth.login_attempts
    codes = []
    for i in range(limit + 2):
        async with transport_from(client, f"198.51.100.{i + 1}") as http:
            codes.append((await http.post("/api/auth/login", json={"username": "agent2", "password": "wrong-pass"}))
                         .status_code)
    assert codes == [401] * limit + [429, 429]


def small_address_limit(client: DeskClient, limit: int = 3) -> int:
    """The per-address limit lowered for a test (each attempt costs an argon2 check)."""
    client.desk.throttle = Throttle(client.desk.sessions, "login", per_subject=5, per_address=limit,
                                    window_seconds=60)
    return limit


async def test_login_throttle_per_address_across_usernames(client: DeskClient) -> None:
    assert client.desk.settings.desk.auth.login_attempts_per_address < 20  # 20 sprayed names never pass
    limit = small_address_limit(client)
    async with transport_from(client, "203.0.113.7") as http:
        codes = [(await http.post("/api/auth/login", json={"username": f"user{i}", "password": "wrong-pass"}))
                 .status_code for i in range(limit + 2)]
        assert codes == [401] * limit + [429, 429]
        # The right password from that address waits too; another address is not affected.
        assert (await http.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})).status_code == 429
    async with transport_from(client, "203.0.113.8") as http:
        assert (await http.post("/api/auth/login", json={"username": "admin", "password": PASSWORD})).status_code == 200
    # IPv6: one subscriber has a whole /64, so it counts as one address.
    for i in range(limit):
        async with transport_from(client, f"2001:db8:1:2::{i + 1:x}") as http:
            await http.post("/api/auth/login", json={"username": f"v6user{i}", "password": "wrong-pass"})
    async with transport_from(client, "2001:db8:1:2::ffff") as http:
        assert (await http.post("/api/auth/login", json={"username": "x", "password": "wrong-pass"})).status_code == 429


async def test_a_parallel_burst_is_throttled_too(client: DeskClient) -> None:
    limit = client.desk.settings.desk.auth.login_attempts
    answers = await asyncio.gather(*(client.http.post("/api/auth/login", json={
        "username": "agent2", "password": "wrong-pass"}) for _ in range(limit + 6)))
    codes = [a.status_code for a in answers]
    assert codes.count(401) <= limit and codes.count(429) >= 6 and set(codes) <= {401, 429}


async def test_x_forwarded_for_counts_only_from_a_trusted_proxy(client: DeskClient) -> None:
    # From anyone else (here the loopback, uvicorn's default trust), a rotating header changes nothing.
    limit = small_address_limit(client)
    codes = [(await client.http.post("/api/auth/login", json={"username": f"spray{i}", "password": "wrong-pass"},
                                     headers={"X-Forwarded-For": f"192.0.2.{i}"})).status_code
             for i in range(limit + 1)]
    assert codes[-1] == 429
    # From a configured proxy, the client behind it is the right-most address not itself a proxy.
    client.desk.settings.desk.auth.trusted_proxies = [ip_network("10.0.0.2/32"), ip_network("10.0.1.0/24")]
    async with transport_from(client, "10.0.0.2") as http:
        ok = await http.post("/api/auth/login", json={"username": "admin", "password": PASSWORD},
                             headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.9, 10.0.1.5"})
    assert ok.status_code == 200
    async with client.desk.sessions() as session:
        ips = (await session.scalars(select(AuditEntry.source_ip).where(
            AuditEntry.action == "user.login", AuditEntry.outcome == "ok"))).all()
    assert ips == ["198.51.100.9"]
    assert client_address("127.0.0.1", "6.6.6.6", []) == "127.0.0.1"
    assert client_address("10.0.0.2", "junk, 198.51.100.9", [ip_network("10.0.0.2/32")]) == "198.51.100.9"
    assert client_address("10.0.0.2", "198.51.100.9, junk", [ip_network("10.0.0.2/32")]) == "10.0.0.2"
    assert throttle_key("2001:db8::1") == "2001:db8::/64" and throttle_key("::ffff:192.0.2.1") == "192.0.2.1"


async def test_the_throttle_is_shared_by_every_process_on_the_database(client: DeskClient) -> None:
    """A second app (as a second `--workers` process would be) on the same database sees the
    failures the first one counted."""
    limit = client.desk.settings.desk.auth.login_attempts
    for _ in range(limit):
        await client.http.post("/api/auth/login", json={"username": "agent2", "password": "wrong-pass"})
    settings = load_settings(db={"url": client.db.target.url},
                             desk={"auth": {"jwt_secret": "test-secret-of-sufficient-length-32b"}})
    engine = client.db.target.engine()
    other = create_app(settings, engine=engine, board=LiveBoard(mode="offline"), run_sweep=False)
    try:
        async with (other.router.lifespan_context(other),
                    httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://w2") as http):
            response = await http.post("/api/auth/login", json={"username": "agent2", "password": PASSWORD})
            assert response.status_code == 429
            # … and a token of one worker is valid in the other (same secret, same sessions).
            me = await http.get("/api/auth/me", headers=client.auth("admin"))
            assert me.status_code == 200
    finally:
        await engine.dispose()


async def test_refused_tokens_get_a_generic_answer(client: DeskClient) -> None:
    for token in ("junk", client.tokens["admin"][:-4] + "AAAA", "a.b.c"):
        response = await client.http.get("/api/auth/me", headers=bearer(token))
        assert response.status_code == 401 and response.json() == {"detail": "invalid or expired token"}
    response = await client.http.post("/api/auth/refresh", json={"refresh_token": "a.b.c"})
    assert response.json() == {"detail": "invalid or expired refresh token"}
