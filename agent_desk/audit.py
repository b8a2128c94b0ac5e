"""Writing the audit log. Every state change made through the desk records its actor."""

from __future__ import annotations

from typing import Any

from ticketing.db import SessionFactory
from ticketing.models import AuditEntry, utcnow


class AuditLog:
    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def record(self, actor: str, action: str, target_type: str, target_id: object, *,
                     outcome: str = "ok", source_ip: str | None = None, **data: Any) -> None:
        async with self._sessions.begin() as session:
            session.add(AuditEntry(at=utcnow(), actor=actor, action=action, target_type=target_type,
                                   target_id=str(target_id), outcome=outcome, source_ip=source_ip,
                                   data={k: _plain(v) for k, v in data.items()}))


def _plain(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
