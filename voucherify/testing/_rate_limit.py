"""Fixed-window rate limits, as the API applies them: per project, or per client IP.

A window opens at the first counted request and lasts ``window`` seconds; within it, the
first ``requests`` calls pass and the rest are refused. The next counted request after the
window ends opens a new one.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Optional

PROJECT = "project"
CLIENT = "client"
"""The values of ``X-Rate-Limit-Type``: the project's limit, or the client-side one per IP."""


@dataclass(frozen=True)
class Limit:
    """``requests`` calls per ``window`` seconds."""

    requests: int
    window: float


def make_limit(requests: Optional[int], window: float) -> Optional[Limit]:
    """A checked :class:`Limit`, or ``None`` (no limit) when ``requests`` is ``None``."""
    if requests is None:
        return None
    if isinstance(requests, bool) or not isinstance(requests, int):
        raise TypeError("a rate limit is an int number of requests")
    if requests < 1:
        raise ValueError("a rate limit allows 1 request or more")
    if isinstance(window, bool) or not isinstance(window, (int, float)):
        raise TypeError("a rate limit window is a number of seconds")
    if not math.isfinite(window) or window <= 0:
        raise ValueError("a rate limit window is a finite number of seconds above 0")
    return Limit(requests, float(window))


def limit_from_pair(pair: Optional[tuple[int, float]]) -> Optional[Limit]:
    """The constructor's form, ``(requests, window_seconds)`` or ``None``."""
    if pair is None:
        return None
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise TypeError("a rate limit is a (requests, window_seconds) tuple, or None")
    return make_limit(pair[0], pair[1])


@dataclass(frozen=True)
class Decision:
    """What the limiter decided for one request, and the headers that say so."""

    allowed: bool
    limit: int
    remaining: int
    retry_at: float
    """Unix time when the window ends, to the millisecond (the contract says "Unix time";
    whole seconds would make a client wait up to a second too long for short windows)."""
    retry_after: int
    """Whole seconds (rounded up, at least 1) until the window ends."""
    kind: str

    def headers(self) -> tuple[tuple[str, str], ...]:
        """``X-Rate-Limit-*`` always; ``Retry-After`` and ``X-Rate-Limit-Type`` when refused."""
        headers = (
            ("X-Rate-Limit-Limit", str(self.limit)),
            ("X-Rate-Limit-Remaining", str(self.remaining)),
            ("X-Rate-Limit-Retry", f"{self.retry_at:.3f}"),
        )
        if self.allowed:
            return headers
        return (
            *headers,
            ("Retry-After", str(self.retry_after)),
            ("X-Rate-Limit-Type", self.kind),
        )


@dataclass
class _Window:
    ends: float
    """``time.monotonic()`` at the end of the window."""
    used: int


class RateLimiter:
    """One limit (or none), with a window per key; safe to use from several threads."""

    def __init__(self, kind: str, limit: Optional[Limit] = None) -> None:
        self.kind = kind
        self._lock = threading.Lock()
        self._limit = limit
        self._windows: dict[str, _Window] = {}

    @property
    def limit(self) -> Optional[Limit]:
        """The limit in force; ``None`` when off."""
        return self._limit

    def configure(self, limit: Optional[Limit]) -> None:
        """Change the limit; every window starts afresh."""
        with self._lock:
            self._limit = limit
            self._windows.clear()

    def forget(self) -> None:
        """Start every window afresh, keeping the limit."""
        with self._lock:
            self._windows.clear()

    def hit(self, key: str) -> Optional[Decision]:
        """Count one request for ``key``; ``None`` when no limit is on."""
        with self._lock:
            limit = self._limit
            if limit is None:
                return None
            now = time.monotonic()
            window = self._windows.get(key)
            if window is None or now >= window.ends:
                window = self._windows[key] = _Window(now + limit.window, 0)
            allowed = window.used < limit.requests
            if allowed:
                window.used += 1
            remaining = limit.requests - window.used
            left = window.ends - now
        return Decision(
            allowed=allowed,
            limit=limit.requests,
            remaining=remaining,
            retry_at=math.ceil((time.time() + left) * 1000) / 1000,
            retry_after=max(1, math.ceil(left)),
            kind=self.kind,
        )
