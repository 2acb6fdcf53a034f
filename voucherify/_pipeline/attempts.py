"""One call's attempts: timeouts inside the call's deadline, and what follows a failure.

This decides and does no I/O: the sync client (and the async one) send, read and sleep as it
says, so both follow the same retry rules. The decisions are the :class:`RetryPolicy`'s,
which is urllib3's ``Retry`` underneath.
"""

from __future__ import annotations

import math
import time
from typing import Mapping, Optional

from urllib3 import exceptions as u3

from voucherify._pipeline.request import Timeouts
from voucherify.exceptions import ApiException, ApiTransportException
from voucherify.retry import RetryPolicy


class _Reply:
    """The little of a reply that ``Retry.increment`` and ``get_retry_after`` read."""

    __slots__ = ("headers", "status")

    def __init__(self, status: int, headers: Mapping[str, str]) -> None:
        self.status = status
        self.headers = headers

    def get_redirect_location(self) -> bool:
        return False


class Attempts:
    """Counts attempts and sleeps, and answers "again, after how long?" after each failure."""

    __slots__ = ("count", "deadline_at", "method", "policy", "slept", "timeouts", "url")

    def __init__(
        self,
        policy: RetryPolicy,
        method: str,
        url: str,
        timeouts: Timeouts,
        deadline: Optional[float],
    ) -> None:
        self.policy = policy
        self.method = method
        self.url = url
        self.timeouts = timeouts
        self.deadline_at = None if deadline is None else time.monotonic() + deadline
        self.count = 0
        self.slept = 0.0

    def start(self) -> Timeouts:
        """Count one more attempt; its ``(connect, read)`` timeouts, cut to the deadline."""
        self.count += 1
        if self.deadline_at is None:
            return self.timeouts
        remaining = max(self.deadline_at - time.monotonic(), 0.001)
        connect, read = self.timeouts or (None, None)
        return (
            remaining if connect is None else min(connect, remaining),
            remaining if read is None else min(read, remaining),
        )

    def wait_after_error(self, error: ApiTransportException) -> Optional[float]:
        """Seconds to wait before trying again after ``error``; ``None`` when it is final."""
        # Retry counts connect and read failures apart; it tells them by urllib3's classes.
        as_urllib3 = (
            u3.ConnectTimeoutError(str(error))
            if error.request_sent is False
            else u3.ProtocolError(str(error))
        )
        try:
            self.policy = self.policy.increment(self.method, self.url, error=as_urllib3)
        except (u3.MaxRetryError, u3.HTTPError):
            return None
        return self._within_deadline(self.policy.get_backoff_time())

    def wait_after_status(self, status: int, headers: Mapping[str, str]) -> Optional[float]:
        """Seconds to wait before sending again after this reply; ``None`` when it is final."""
        if status < 400 or not self.policy.is_retry(
            self.method, status, "Retry-After" in headers
        ):
            return None
        reply = _Reply(status, headers)
        try:
            # increment reads only status, headers and get_redirect_location of a reply.
            self.policy = self.policy.increment(
                self.method, self.url, response=reply  # type: ignore[arg-type]
            )
        except u3.MaxRetryError:
            return None
        wait = self.policy.get_retry_after(reply)
        if wait is None:
            wait = self.policy.get_backoff_time()
        elif wait > self.policy.max_wait:
            return None
        return self._within_deadline(wait)

    def slept_for(self, seconds: float) -> None:
        self.slept += seconds

    def _within_deadline(self, wait: float) -> Optional[float]:
        if self.deadline_at is not None and time.monotonic() + wait >= self.deadline_at:
            return None
        return wait

    def finish(self, error: ApiException) -> ApiException:
        """Note on the final ``error`` how many attempts were made and whether resending is safe."""
        error.attempts = self.count
        error.slept = self.slept
        if isinstance(error, ApiTransportException):
            error.retryable = self.policy.is_safe_to_resend(self.method, error.request_sent)
            error.deadline_exceeded = self.remaining() <= 0.01
        elif error.status == 429:
            error.retryable = True
        elif error.status is not None and 500 <= error.status <= 599:
            error.retryable = self.policy.is_safe_to_resend(self.method, None)
        return error

    def remaining(self) -> float:
        """Seconds left before the deadline (infinity without one)."""
        if self.deadline_at is None:
            return math.inf
        return self.deadline_at - time.monotonic()
