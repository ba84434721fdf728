"""A per-client limit on new participants: at most N joins per address in a sliding minute.

A flood of fake participants (941 in 1.4 s filled a study before) comes from few
addresses; real participants join once each. The limit is generous enough for a lab
whose computers share one address behind NAT (the default, 20 a minute, is one new
participant every three seconds) and is checked before anything is written.
"""

from __future__ import annotations

import threading
import time
from collections import deque

MAX_CLIENTS_TRACKED = 100_000  # bounds memory under a flood from many addresses


class RateLimit:
    """Sliding-window counter of events per key (a client address)."""

    def __init__(self, per_minute: int, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Return True and count the event when `key` is under its limit (0: no limit)."""
        if self.per_minute <= 0:
            return True
        now = time.monotonic()
        with self._lock:
            events = self._events.get(key)
            if events is None:
                if len(self._events) >= MAX_CLIENTS_TRACKED:
                    self._forget_idle(now)
                events = self._events[key] = deque()
            while events and now - events[0] > self.window_s:
                events.popleft()
            if len(events) >= self.per_minute:
                return False
            events.append(now)
            return True

    def _forget_idle(self, now: float) -> None:
        """Drop clients whose last event left the window (or all, if none did)."""
        idle = [k for k, ev in self._events.items() if not ev or now - ev[-1] > self.window_s]
        for key in idle or list(self._events):
            del self._events[key]
