"""Pacing shared by every worker: stay under ``max_rate`` and the API's own rate limit.

The API says where a call stands in ``X-Rate-Limit-Remaining`` and when its window ends in
``X-Rate-Limit-Retry``. The pacer keeps an estimate of the calls left in the window (the last
reply's count less the calls still in flight), holds workers back when it reaches zero until
the window ends, and, when a 429 comes anyway, holds everyone back for its ``Retry-After``.

No wait is longer than ``max_wait``, the retry policy's bound on a demanded wait: a window
said to end later is waited out for ``max_wait`` only, and a 429 that asks for more (``inf``,
a far-future time) is not waited out at all; :meth:`Pacer.observe` says so, and the caller
ends that item as a single call would.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Optional

from voucherify.rate_limit import RateLimit

_PAUSE_WITHOUT_HINT = 1.0
"""Seconds to hold back after a 429 or an exhausted window that says nothing of when to retry."""


@dataclass
class PaceState:
    """What pacing knows, with no clock and no lock of its own: the rule both bulk runs (one
    process, :class:`Pacer`) and the outbox (many processes, this state kept in its store)
    apply. Times are on whatever clock the caller passes as ``now``."""

    next_slot: float = 0.0
    """When the next call may go, under ``max_rate``."""
    remaining: Optional[int] = None
    """Calls estimated left in the API's current window; ``None`` when unknown."""
    window_end: float = 0.0
    paused_until: float = 0.0
    """No call before this: a 429 asked for it (or the caller paused for its own reasons)."""

    def grant(self, now: float, interval: float = 0.0) -> float:
        """Seconds to wait before a call may go; at 0, the call is counted as sent."""
        if now < self.paused_until:
            return self.paused_until - now
        if self.remaining is not None and self.remaining <= 0:
            if now < self.window_end:
                return self.window_end - now
            self.remaining = None  # a new window: the next reply will say how much is left
        if interval:
            if now < self.next_slot:
                return self.next_slot - now
            self.next_slot = max(now, self.next_slot) + interval
        if self.remaining is not None:
            self.remaining -= 1
        return 0.0

    def learn(
        self,
        rate_limit: Optional[RateLimit],
        status: Optional[int],
        now: float,
        in_flight: int,
        max_wait: float,
        wall_now: Optional[float] = None,
    ) -> bool:
        """Learn from one finished call (``status`` None: no reply), ``in_flight`` other calls
        still out. ``wall_now`` is the Unix time at ``now`` (``now`` itself by default), to
        place ``X-Rate-Limit-Retry`` on the caller's clock.

        ``False`` when it was a 429 demanding a wait longer than ``max_wait``, which is then
        not waited out: the caller decides what becomes of the call.
        """
        within = True
        if status == 429:
            wait = rate_limit.seconds_to_wait() if rate_limit is not None else None
            if wait is None:
                wait = _PAUSE_WITHOUT_HINT
            if wait <= max_wait:
                self.paused_until = max(self.paused_until, now + wait)
            else:  # inf and NaN included: NaN is never <= anything
                within = False
        if rate_limit is None or rate_limit.remaining is None:
            return within
        wall = now if wall_now is None else wall_now
        window_end = now + (
            _bounded(rate_limit.retry_at - wall, max_wait)
            if rate_limit.retry_at is not None
            else _PAUSE_WITHOUT_HINT
        )
        estimate = rate_limit.remaining - in_flight
        if window_end > self.window_end + 0.5 or self.remaining is None:
            self.remaining, self.window_end = estimate, window_end  # a later window
        else:
            self.remaining = min(self.remaining, estimate)
        return within


def _bounded(seconds: float, max_wait: float) -> float:
    """``seconds`` within ``[0, max_wait]``; NaN counts as 0."""
    if seconds > max_wait:
        return max_wait
    return seconds if seconds > 0 else 0.0


class Pacer:
    """Hands out permission to send, one call at a time, to any number of threads."""

    def __init__(self, max_rate: Optional[float] = None, max_wait: float = 60.0) -> None:
        self._interval = 0.0 if not max_rate else 1.0 / max_rate
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._state = PaceState()
        self.in_flight = 0
        self.rate_limited = 0
        """How many 429 replies came back."""

    def acquire(self, stop: threading.Event) -> bool:
        """Wait until a call may be sent; ``False`` if ``stop`` was set meanwhile."""
        while not stop.is_set():
            with self._lock:
                wait = self._state.grant(time.monotonic(), self._interval)
                if wait <= 0:
                    self.in_flight += 1
                    return True
            stop.wait(min(wait, 0.5))
        return False

    def observe(self, rate_limit: Optional[RateLimit], status: Optional[int]) -> bool:
        """Learn from one finished call: its rate-limit headers and status (None: no reply).

        ``False`` when it was a 429 demanding a wait longer than ``max_wait``: the pacer
        does not wait that out, and the item must not be sent again.
        """
        with self._lock:
            self.in_flight -= 1
            if status == 429:
                self.rate_limited += 1
            return self._state.learn(
                rate_limit, status, time.monotonic(), self.in_flight, self.max_wait,
                wall_now=time.time(),
            )
