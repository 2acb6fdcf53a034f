"""``ApiResponse``: a parsed reply together with its status, headers and raw bytes."""

from __future__ import annotations

from typing import Generic, Mapping, Optional, TypeVar

from voucherify.rate_limit import RateLimit

T = TypeVar("T")


class ApiResponse(Generic[T]):
    """What the ``..._with_http_info`` variants return.

    ``headers`` is case-insensitive (``headers["x-rate-limit-remaining"]`` works whatever the
    server's spelling); ``raw_data`` is the body exactly as received; ``rate_limit`` parses
    the rate-limit headers; ``attempts`` and ``slept`` say what retries it took.
    """

    __slots__ = ("attempts", "data", "headers", "raw_data", "slept", "status_code")

    def __init__(
        self,
        status_code: int,
        headers: Mapping[str, str],
        data: T,
        raw_data: bytes,
        attempts: int = 1,
        slept: float = 0.0,
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.data = data
        self.raw_data = raw_data
        self.attempts = attempts
        """How many times the request was sent (or tried) to get this reply."""
        self.slept = slept
        """Seconds spent waiting between attempts."""

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        """The reply's rate-limit headers (``X-Rate-Limit-*``), parsed when read."""
        return RateLimit.from_headers(self.headers)

    def __repr__(self) -> str:
        return f"ApiResponse(status_code={self.status_code}, data={self.data!r})"
