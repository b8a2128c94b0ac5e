"""Where the model gets "now" from: the wall clock live, the recording's clock on replay.

Asterisk sends no timestamps (`timestampevents = no`), so a raw `.recv` capture carries time only
inside some fields: a Uniqueid starts with the epoch second its channel was created, and member
events carry `LoginTime`, `LastPause` and `LastCall` epochs. `StreamClock` follows those, never
going backwards, so that replaying a capture gives the same timestamps every time.
"""

from __future__ import annotations

from datetime import UTC, datetime


class StreamClock:
    def __init__(self, start: float = 0.0) -> None:
        self.epoch = start

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.epoch, UTC)

    def observe(self, epoch: float) -> None:
        self.epoch = max(self.epoch, epoch)

    def observe_uniqueid(self, uniqueid: str) -> None:
        head, _, _ = uniqueid.partition(".")
        if head.isdigit():
            value = int(head)
            self.epoch = max(self.epoch, value)
