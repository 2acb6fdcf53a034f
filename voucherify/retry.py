"""``RetryPolicy``: urllib3's ``Retry`` with the one rule an event API needs.

Tracking an event is not idempotent and the API has no idempotency key: a POST that reached
the server and is sent again may record the event twice. So, for any method, the policy
retries only what certainly did not reach the server or was not processed:

- failures before the request was sent (refused, DNS, TLS handshake, connect timeout);
- 429, after ``Retry-After`` or ``X-Rate-Limit-Retry`` (the API did not process the call),
  unless the wait is longer than ``max_wait``.

Failures after sending (read timeout, reset mid-reply, 500/502/503/504) are retried only for
idempotent methods, or when ``retry_non_idempotent=True`` says duplicates are acceptable.
Counting, backoff with jitter and ``Retry-After`` parsing are urllib3's own.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Optional

from urllib3.util.retry import Retry

from voucherify.rate_limit import RateLimit

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class RetryPolicy(Retry):
    """Retry settings for :class:`~voucherify.Configuration` or one call (``_retries=``).

    :param total: retries after the first attempt (so ``total + 1`` attempts at most).
    :param backoff_factor: seconds; waits grow as ``factor * 2 ** (n - 1)`` from the second
        retry on, plus up to ``backoff_jitter`` seconds at random, up to ``backoff_max``.
    :param retry_non_idempotent: also retry a POST after a failure that happened once the
        request was sent; an event may then be recorded twice.
    :param max_wait: the longest ``Retry-After`` the policy waits out; a longer one ends the
        call with ``TooManyRequestsException`` and its ``retry_after``.
    """

    def __init__(
        self,
        total: Any = 3,
        *,
        backoff_factor: float = 0.5,
        backoff_max: float = 10.0,
        backoff_jitter: float = 0.25,
        retry_non_idempotent: bool = False,
        max_wait: float = 60.0,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("status_forcelist", RETRY_STATUSES)
        kwargs.setdefault("allowed_methods", IDEMPOTENT_METHODS)
        kwargs.setdefault("raise_on_status", False)
        kwargs.setdefault("redirect", False)
        super().__init__(
            total=total,
            backoff_factor=backoff_factor,
            backoff_max=backoff_max,
            backoff_jitter=backoff_jitter,
            **kwargs,
        )
        self.retry_non_idempotent = retry_non_idempotent
        self.max_wait = max_wait

    def new(self, **kw: Any) -> RetryPolicy:
        kw.setdefault("retry_non_idempotent", self.retry_non_idempotent)
        kw.setdefault("max_wait", self.max_wait)
        return super().new(**kw)

    def _is_method_retryable(self, method: str) -> bool:
        return self.retry_non_idempotent or super()._is_method_retryable(method)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # A 429 was not processed, so it is safe to send again whatever the method.
        if status_code == 429 and self.status_forcelist and 429 in self.status_forcelist:
            return True
        return super().is_retry(method, status_code, has_retry_after)

    def is_safe_to_resend(self, method: str, request_sent: Optional[bool]) -> bool:
        """Whether sending again cannot duplicate: not sent, idempotent, or opted in."""
        return request_sent is False or self._is_method_retryable(method)

    def get_retry_after(self, response: Any) -> Optional[float]:
        """``Retry-After`` in seconds, else the wait until ``X-Rate-Limit-Retry``."""
        rate_limit = RateLimit.from_headers(response.headers)
        return None if rate_limit is None else rate_limit.seconds_to_wait()

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(total={self.total}, backoff_factor={self.backoff_factor}, "
            f"retry_non_idempotent={self.retry_non_idempotent}, max_wait={self.max_wait})"
        )


DEFAULT_POLICY = RetryPolicy()
NO_RETRIES = RetryPolicy(total=0)


def resolve_policy(value: Any) -> RetryPolicy:
    """The policy for a ``retries`` setting: a policy, a number of retries, or None/False.

    ``None`` is the default policy; ``False`` or ``0`` never retries.
    """
    if value is None:
        return DEFAULT_POLICY
    if isinstance(value, RetryPolicy):
        return value
    if value is False:
        return NO_RETRIES
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return _policy_with_total(value)
    from voucherify.exceptions import ApiTypeError

    raise ApiTypeError("retries must be a RetryPolicy, a number of retries, None or False")


@lru_cache(maxsize=16)
def _policy_with_total(total: int) -> RetryPolicy:
    return RetryPolicy(total=total)
