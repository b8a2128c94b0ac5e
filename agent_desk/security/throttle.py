"""Login throttling: at most N attempts per (username, address) in a sliding window."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class LoginThrottle:
    def __init__(self, attempts: int, window_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._attempts = attempts
        self._window = window_seconds
        self._clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}

    def retry_after(self, username: str, address: str) -> float:
        """Seconds until another attempt is allowed (0: allowed now). Records the attempt if allowed."""
        now = self._clock()
        key = (username.casefold(), address)
        stamps = self._seen.setdefault(key, deque())
        while stamps and stamps[0] <= now - self._window:
            stamps.popleft()
        if len(stamps) >= self._attempts:
            return stamps[0] + self._window - now
        stamps.append(now)
        if len(self._seen) > 100_000:  # bound memory under a username-spraying attack
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self._window}
        return 0.0

    def succeeded(self, username: str, address: str) -> None:
        self._seen.pop((username.casefold(), address), None)
