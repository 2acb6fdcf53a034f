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
from typing import Optional

from voucherify.rate_limit import RateLimit

_PAUSE_WITHOUT_HINT = 1.0
"""Seconds to hold back after a 429 or an exhausted window that says nothing of when to retry."""


class Pacer:
    """Hands out permission to send, one call at a time, to any number of threads."""

    def __init__(self, max_rate: Optional[float] = None, max_wait: float = 60.0) -> None:
        self._interval = 0.0 if not max_rate else 1.0 / max_rate
        self.max_wait = max_wait
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._remaining: Optional[int] = None
        self._window_end = 0.0
        self._paused_until = 0.0
        self.in_flight = 0
        self.rate_limited = 0
        """How many 429 replies came back."""

    def acquire(self, stop: threading.Event) -> bool:
        """Wait until a call may be sent; ``False`` if ``stop`` was set meanwhile."""
        while not stop.is_set():
            with self._lock:
                wait = self._wait_needed(time.monotonic())
                if wait <= 0:
                    if self._remaining is not None:
                        self._remaining -= 1
                    self.in_flight += 1
                    return True
            stop.wait(min(wait, 0.5))
        return False

    def _wait_needed(self, now: float) -> float:
        if now < self._paused_until:
            return self._paused_until - now
        if self._remaining is not None and self._remaining <= 0:
            if now < self._window_end:
                return self._window_end - now
            self._remaining = None  # a new window: the next reply will say how much is left
        if self._interval:
            if now < self._next_slot:
                return self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._interval
        return 0.0

    def observe(self, rate_limit: Optional[RateLimit], status: Optional[int]) -> bool:
        """Learn from one finished call: its rate-limit headers and status (None: no reply).

        ``False`` when it was a 429 demanding a wait longer than ``max_wait``: the pacer
        does not wait that out, and the item must not be sent again.
        """
        now = time.monotonic()
        within = True
        with self._lock:
            self.in_flight -= 1
            if status == 429:
                self.rate_limited += 1
                wait = rate_limit.seconds_to_wait() if rate_limit is not None else None
                if wait is None:
                    wait = _PAUSE_WITHOUT_HINT
                if wait <= self.max_wait:
                    self._paused_until = max(self._paused_until, now + wait)
                else:  # inf and NaN included: NaN is never <= anything
                    within = False
            if rate_limit is None or rate_limit.remaining is None:
                return within
            window_end = now + (
                self._bounded(rate_limit.retry_at - time.time())
                if rate_limit.retry_at is not None
                else _PAUSE_WITHOUT_HINT
            )
            estimate = rate_limit.remaining - self.in_flight
            if window_end > self._window_end + 0.5 or self._remaining is None:
                self._remaining, self._window_end = estimate, window_end  # a later window
            else:
                self._remaining = min(self._remaining, estimate)
        return within

    def _bounded(self, seconds: float) -> float:
        """``seconds`` within ``[0, max_wait]``; NaN counts as 0."""
        if seconds > self.max_wait:
            return self.max_wait
        return seconds if seconds > 0 else 0.0
