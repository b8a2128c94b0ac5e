"""Log-in, tokens, refresh, throttling and the audit trail of log-ins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from agent_desk.security.tokens import TokenIssuer
from tests.agent_desk.conftest import PASSWORD, DeskClient
from ticketing.models import AuditEntry, User

pytestmark = pytest.mark.anyio


async def test_password_is_stored_as_argon2_hash(client: DeskClient) -> None:
    async with client.desk.sessions() as session:
        user = await session.scalar(select(User).where(User.username == "agent1"))
    assert user is not None
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


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
    assert (await client.http.post("/api/auth/refresh", json={"refresh_token": body["access_token"]})).status_code == 401
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
