"""One call's attempts: timeouts inside the call's deadline, and what follows a failure.

This decides and does no I/O: the sync client (and the async one) send, read and sleep as it
says, so both follow the same retry rules. The decisions are the :class:`RetryPolicy`'s,
which is urllib3's ``Retry`` underneath.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Mapping, Optional

from urllib3 import exceptions as u3

from voucherify._pipeline import log
from voucherify._pipeline.request import PreparedRequest
from voucherify._pipeline.steps import Timeouts
from voucherify._pipeline.urls import redact_url
from voucherify.exceptions import ApiException, ApiTransportException


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

    __slots__ = (
        "count",
        "deadline_at",
        "log_level",
        "method",
        "policy",
        "request",
        "slept",
        "started_at",
        "timeouts",
        "url",
    )

    def __init__(self, request: PreparedRequest, log_level: Optional[int]) -> None:
        self.request = request
        self.policy = request.retry_policy
        self.method = request.method
        self.url = request.url
        self.timeouts = request.timeouts
        self.log_level = log_level
        self.started_at = time.monotonic()
        deadline = request.deadline
        self.deadline_at = None if deadline is None else self.started_at + deadline
        self.count = 0
        self.slept = 0.0

    def start(self) -> Timeouts:
        """Count one more attempt; its ``(connect, read)`` timeouts, cut to the deadline."""
        self.count += 1
        self.started_at = time.monotonic()
        if log.enabled(logging.DEBUG, self.log_level):
            log.emit(
                logging.DEBUG, self.log_level, "%s %s attempt=%d headers=%s",
                self.method, redact_url(self.url), self.count,
                log.mask_headers(self.request.headers, self.request.secrets),
            )
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
            wait = None
        else:
            wait = self._within_deadline(self.policy.get_backoff_time())
        self._log(type(error).__name__, None, wait)
        return wait

    def wait_after_status(self, status: int, headers: Mapping[str, str]) -> Optional[float]:
        """Seconds to wait before sending again after this reply; ``None`` when it is final."""
        # A success is final: decided here, without a call, as the per-call budget counts them.
        wait = None if status < 400 else self._wait_for_status(status, headers)
        if self.log_level is not None or log.logger.isEnabledFor(logging.INFO):
            self._log(str(status), headers.get("X-Request-Id"), wait)
        return wait

    def _wait_for_status(self, status: int, headers: Mapping[str, str]) -> Optional[float]:
        if not self.policy.is_retry(self.method, status, "Retry-After" in headers):
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

    def _log(self, outcome: str, request_id: Optional[str], wait: Optional[float]) -> None:
        elapsed_ms = (time.monotonic() - self.started_at) * 1000
        then = "final" if wait is None else f"retry in {wait:.2f}s"
        log.emit(
            logging.INFO,
            self.log_level,
            "%s %s -> %s attempt=%d elapsed=%.1fms request_id=%s %s",
            self.method,
            redact_url(self.url),
            outcome,
            self.count,
            elapsed_ms,
            request_id or "-",
            then,
        )

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
