"""Log-in sessions: token pairs bound to a session row, refresh-token rotation with reuse detection,
and the per-request check that makes revocation take effect at once.

- A log-in opens a session (`login_sessions`) and lasts at most `refresh_ttl`.
- Each refresh returns a new pair; only the newest refresh token of the session is valid. Presenting
  an older one means it was copied: the session is revoked, with every token of it.
- Every request checks the access token against the user (active, `token_generation`) and its
  session (not revoked), through a cache of `check_seconds`: disabling a user, changing its
  password, logging out or a detected reuse stops its tokens within that time, in every process.
  The access token's signature is verified once per process and its claims kept until it expires;
  the revocation check above is made on every request all the same.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, select, update

from agent_desk.accounts import principal_of
from agent_desk.security.principal import Principal
from agent_desk.security.tokens import InvalidToken, Issued, TokenClaims, TokenIssuer
from agent_desk.supervision.cache import TtlCache
from ticketing.db import SessionFactory, autocommit_sessions
from ticketing.models import LoginSession, User, utcnow

VERIFIED_TOKENS = 10_000  # access tokens whose claims a process keeps (about one per desk, for 15 minutes)


class RefreshReused(InvalidToken):
    """An already rotated refresh token came back; its session is now revoked."""

    def __init__(self, username: str, session_id: str) -> None:
        super().__init__(f"a used refresh token of {username}'s session {session_id} came back; session revoked")
        self.username = username
        self.session_id = session_id


@dataclass(frozen=True)
class SessionTokens:
    access: Issued
    refresh: Issued
    principal: Principal


@dataclass(frozen=True)
class _Live:
    active: bool
    generation: int
    session_open: bool


class LoginSessions:
    def __init__(self, db: SessionFactory, tokens: TokenIssuer, *, check_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._db = db
        self._tokens = tokens
        self._check_seconds = check_seconds
        self._clock = clock
        self._live: TtlCache[_Live | None] = TtlCache(check_seconds, clock)
        # The per-request check reads without BEGIN and ROLLBACK: with a think time above
        # check_seconds, nearly every request of a shift makes it (docs/benchmarks.md, the desk mix).
        self._reads = autocommit_sessions(db)
        # Sessions this process ended within the cache's lifetime: refused here without waiting for it.
        self._ended_here: dict[str, float] = {}
        self._verified: dict[str, TokenClaims] = {}

    async def start(self, user: User) -> SessionTokens:
        """Open a session for a user who has just proven its password."""
        now = utcnow()
        session_id = uuid.uuid4().hex
        expires = now + self._tokens.refresh_ttl
        refresh = self._tokens.issue(user.id, "refresh", session_id=session_id, generation=user.token_generation,
                                     now=now, expires_at=expires)
        async with self._db.begin() as db:
            await db.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                        LoginSession.expires_at < now))
            db.add(LoginSession(id=session_id, user_id=user.id, refresh_jti=refresh.token_id, created_at=now,
                                expires_at=expires))
        return await self._pair(user, session_id, refresh, now, expires)

    async def rotate(self, refresh_token: str) -> SessionTokens:
        """A new pair for the session's newest refresh token. Raises InvalidToken, or RefreshReused
        after revoking the session when an older one is presented."""
        claims = self._tokens.decode(refresh_token, "refresh")
        now = utcnow()
        reused = False
        async with self._db.begin() as db:
            row = await db.get(LoginSession, claims.session_id)
            user = await db.get(User, claims.user_id)
            if row is None or row.user_id != claims.user_id or row.revoked_at is not None or row.expires_at <= now:
                raise InvalidToken("session ended")
            if user is None or not user.active or user.token_generation != claims.generation:
                raise InvalidToken("account revoked")
            refresh = self._tokens.issue(user.id, "refresh", session_id=row.id, generation=user.token_generation,
                                         now=now, expires_at=row.expires_at)
            swapped = await db.execute(
                update(LoginSession)
                .where(LoginSession.id == row.id, LoginSession.refresh_jti == claims.token_id,
                       LoginSession.revoked_at.is_(None))
                .values(refresh_jti=refresh.token_id))
            reused = swapped.rowcount != 1  # type: ignore[attr-defined]
            expires = row.expires_at
        if reused:
            await self.revoke(claims.session_id, "reuse")
            raise RefreshReused(user.username, claims.session_id)
        return await self._pair(user, claims.session_id, refresh, now, expires)

    async def revoke(self, session_id: str, reason: str) -> None:
        async with self._db.begin() as db:
            await db.execute(update(LoginSession)
                             .where(LoginSession.id == session_id, LoginSession.revoked_at.is_(None))
                             .values(revoked_at=utcnow(), revoked_reason=reason))
        now = self._clock()
        self._ended_here = {sid: at for sid, at in self._ended_here.items() if now - at <= self._check_seconds}
        self._ended_here[session_id] = now

    async def principal(self, access_token: str) -> Principal:
        """The caller of a request, if its token is valid and nothing revoked it since."""
        claims = self._claims(access_token)
        if claims.session_id in self._ended_here:
            raise InvalidToken("session ended")
        live = await self._live.get((claims.user_id, claims.session_id),
                                    lambda: self._load(claims.user_id, claims.session_id))
        if live is None or not live.active or not live.session_open or live.generation != claims.generation:
            raise InvalidToken("revoked")
        assert claims.principal is not None
        return claims.principal

    def _claims(self, access_token: str) -> TokenClaims:
        claims = self._verified.get(access_token)
        if claims is not None and claims.expires_at > utcnow():
            return claims
        self._verified.pop(access_token, None)
        claims = self._tokens.decode(access_token, "access")
        if len(self._verified) >= VERIFIED_TOKENS:
            self._verified.clear()
        self._verified[access_token] = claims
        return claims

    async def _load(self, user_id: int, session_id: str) -> _Live | None:
        async with self._reads() as db:
            row = (await db.execute(
                select(User.active, User.token_generation, LoginSession.id, LoginSession.revoked_at)
                .select_from(User)
                .outerjoin(LoginSession, and_(LoginSession.id == session_id, LoginSession.user_id == User.id))
                .where(User.id == user_id))).first()
        if row is None:
            return None
        return _Live(bool(row[0]), int(row[1]), row[2] is not None and row[3] is None)

    async def _pair(self, user: User, session_id: str, refresh: Issued, now: datetime,
                    session_expires: datetime) -> SessionTokens:
        who = await principal_of(self._db, user, session_id)
        access = self._tokens.issue(user.id, "access", session_id=session_id, generation=user.token_generation,
                                    principal=who, now=now,
                                    expires_at=min(now + self._tokens.access_ttl, session_expires))
        return SessionTokens(access, refresh, who)
