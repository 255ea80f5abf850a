"""Wrong codes and keys per visitor, in a sliding window: what bounds guessing a room code.

Kept in memory (a restart forgets them); a visitor is its client address (a classroom
behind one address shares its allowance: ``max_failed_lookups`` is generous), else its
session.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from playground.classroom.errors import RoomLimitError
from playground.messages import Message

MAX_VISITORS = 10_000  # visitors remembered at once (the oldest are forgotten first)


class Attempts:
    """Counts failures per visitor; :meth:`check` refuses one with ``limit`` failures in the last ``window_s``."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.time) -> None:
        self.limit = limit
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, who: str) -> deque[float]:
        seen = self._seen.get(who)
        if seen is None:
            return deque()
        start = self.clock() - self.window_s
        while seen and seen[0] < start:
            seen.popleft()
        if not seen:
            del self._seen[who]
        return seen

    def check(self, who: str) -> None:
        """Raise RoomLimitError when ``who`` has used up its wrong tries."""
        with self._lock:
            if len(self._recent(who)) >= self.limit:
                minutes = max(1, round(self.window_s / 60))
                raise RoomLimitError(Message("room_too_many_tries", limit=self.limit, minutes=minutes))

    def failed(self, who: str) -> None:
        """Count one wrong code or key of ``who``."""
        with self._lock:
            seen = self._seen.pop(who, None) or deque()
            seen.append(self.clock())
            self._seen[who] = seen  # the most recent last
            while len(self._seen) > MAX_VISITORS:
                self._seen.popitem(last=False)
