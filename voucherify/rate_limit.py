"""``RateLimit``: the API's rate-limit headers, parsed.

Voucherify limits calls per project per minute and says where a call stands in
``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and ``X-Rate-Limit-Retry`` (the Unix time
of the next allowed call), and after the limit is hit in ``Retry-After`` (seconds, or an HTTP
date) and ``X-Rate-Limit-Type``.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Mapping, Optional

_HEADERS = (
    "X-Rate-Limit-Limit",
    "X-Rate-Limit-Remaining",
    "X-Rate-Limit-Retry",
    "Retry-After",
    "X-Rate-Limit-Type",
)


@dataclass(frozen=True)
class RateLimit:
    """Where a call stands against the rate limit; a field is ``None`` when not sent."""

    limit: Optional[int] = None
    """Calls allowed per window."""
    remaining: Optional[int] = None
    """Calls left in the current window."""
    retry_at: Optional[float] = None
    """Unix time when the next call is allowed (``X-Rate-Limit-Retry``)."""
    retry_after: Optional[float] = None
    """Seconds to wait before the next call (``Retry-After``)."""
    type: Optional[str] = None
    """Which limit was hit (``X-Rate-Limit-Type``)."""

    @classmethod
    def from_headers(cls, headers: Optional[Mapping[str, str]]) -> Optional[RateLimit]:
        """Parse the headers of a reply; ``None`` when it carries none of them.

        ``headers`` must be case-insensitive, as urllib3's and aiohttp's are.
        """
        if headers is None or not any(name in headers for name in _HEADERS):
            return None
        return cls(
            limit=_int(headers.get("X-Rate-Limit-Limit")),
            remaining=_int(headers.get("X-Rate-Limit-Remaining")),
            retry_at=_float(headers.get("X-Rate-Limit-Retry")),
            retry_after=_seconds(headers.get("Retry-After")),
            type=headers.get("X-Rate-Limit-Type"),
        )

    def seconds_to_wait(self) -> Optional[float]:
        """``retry_after``, else the time left until ``retry_at``; ``None`` if neither."""
        if self.retry_after is not None:
            return self.retry_after
        if self.retry_at is not None:
            return max(0.0, self.retry_at - time.time())
        return None


def _int(value: Optional[str]) -> Optional[int]:
    try:
        return None if value is None else int(value.strip())
    except ValueError:
        return None


def _float(value: Optional[str]) -> Optional[float]:
    try:
        return None if value is None else float(value.strip())
    except ValueError:
        return None


def _seconds(value: Optional[str]) -> Optional[float]:
    if value is None:
        return None
    seconds = _float(value)
    if seconds is not None:
        return max(0.0, seconds)
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - time.time())
