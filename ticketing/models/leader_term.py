"""Who leads each singleton (a PBX set's telephony, the SLA sweep), and since which term.

The advisory lock decides the leader; this row numbers its terms and holds its lease. Every write a
leader makes first reads its singleton's row `FOR KEY SHARE` and goes ahead only if the epoch is
still its own, so a leader that lost the lock without noticing (a frozen process, a cut link) is
fenced off. The leader renews `renewed` (the database's clock) from the connection `pid` that holds
the lock; a standby that finds it older than the lease ends that connection and takes over.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ticketing.models.base import Base


class LeaderTerm(Base):
    __tablename__ = "leader_terms"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)  # "sweep", "telephony:pbx1"
    epoch: Mapped[int] = mapped_column(BigInteger)  # the fencing token: +1 on every new leader
    holder: Mapped[str] = mapped_column(String(128))  # host:pid of the leader
    since: Mapped[datetime]
    renewed: Mapped[datetime]  # the lease's last renewal, by the database's clock
    pid: Mapped[int | None] = mapped_column(Integer)  # the server process of the leader's lock connection
