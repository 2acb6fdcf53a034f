"""What the attempt loop and the clients that drive it hand each other, named once.

:func:`~voucherify._pipeline.exchange.exchange` yields a :class:`Send` or a :class:`Sleep`;
the client answers a ``Send`` with the transport's :class:`Reply` (or its exception). Plain
``__slots__`` classes: building one costs a single Python call, the least a named type can,
and the per-call budget counts every call. They are final, so ``type(x) is Send`` (no call)
tells them apart.
"""

from __future__ import annotations

from typing import Mapping, Optional

from typing_extensions import final

Timeouts = Optional[tuple[Optional[float], Optional[float]]]
"""An attempt's ``(connect, read)`` seconds, either ``None`` for no limit; ``None`` for neither."""


@final
class Send:
    """Send the prepared request once, with these timeouts, reading the reply by ``deadline_at``.

    ``deadline_at`` is a ``time.monotonic()`` value, ``None`` when the call has no deadline.
    """

    __slots__ = ("deadline_at", "timeouts")

    def __init__(self, timeouts: Timeouts, deadline_at: Optional[float]) -> None:
        self.timeouts = timeouts
        self.deadline_at = deadline_at

    def __repr__(self) -> str:
        return f"Send(timeouts={self.timeouts!r}, deadline_at={self.deadline_at!r})"


@final
class Sleep:
    """Wait ``seconds`` before the next attempt, then resume the loop with ``None``."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Sleep(seconds={self.seconds!r})"


@final
class Reply:
    """A whole reply as a transport read it: status, reason phrase, headers and raw body."""

    __slots__ = ("body", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: Optional[str], headers: Mapping[str, str], body: bytes
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def __repr__(self) -> str:
        # The headers and body stay out: a reply may echo what was sent.
        return f"Reply(status={self.status!r}, reason={self.reason!r}, {len(self.body)} bytes)"
