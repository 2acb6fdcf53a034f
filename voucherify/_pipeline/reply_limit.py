"""How much of a reply body the SDK reads: one rule that both transports apply as they read.

A transport reads the body in decoded chunks of at most :data:`READ_CHUNK` bytes and hands
each to a :class:`ReplyBody`, which counts them against ``Configuration.max_response_bytes``
(the sync one reads a plain body whose ``Content-Length`` this checked in one read).
A body that goes past the limit (a gzip bomb, an endless chunked body) or a
``Content-Length`` that declares more ends the read with
:class:`~voucherify.exceptions.ApiResponseTooLargeException`, so a reply never holds more
than the limit plus one chunk in memory. No I/O happens here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from voucherify.exceptions import ApiResponseTooLargeException, ApiTypeError, ApiValueError

READ_CHUNK = 64 * 1024
"""The most decoded bytes a transport asks for in one read of a reply body."""

if TYPE_CHECKING:
    from voucherify.configuration import Configuration

_SETTING = "configuration.max_response_bytes"


def max_response_bytes(configuration: Configuration) -> int:
    """The configured limit, checked: a positive ``int`` (``bool`` is not a number here)."""
    value: object = configuration.max_response_bytes
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiTypeError(f"{_SETTING} must be an int: a number of bytes")
    if value <= 0:
        raise ApiValueError(f"{_SETTING} must be a positive number of bytes")
    return value


def too_large(status: int, limit: int) -> ApiResponseTooLargeException:
    """The exception for a reply with ``status`` whose body would pass ``limit`` bytes."""
    return ApiResponseTooLargeException(
        f"the reply (status {status}) has a body larger than {_SETTING} ({limit} bytes); "
        "it was not read",
        request_sent=None,
    )


class ReplyBody:
    """One reply's decoded body, collected chunk by chunk, never past the limit."""

    __slots__ = ("_chunks", "_limit", "_size", "_status")

    def __init__(self, limit: int, status: int, headers: Mapping[str, str]) -> None:
        """Start a body; raise at once if ``Content-Length`` declares more than ``limit``."""
        self._limit = limit
        self._status = status
        self._size = 0
        self._chunks: list[bytes] = []
        declared = headers.get("Content-Length")
        if declared is not None:
            digits = declared.strip()
            # Over 18 digits is past any limit; int() of thousands of digits would refuse.
            if digits.isascii() and digits.isdigit() and (len(digits) > 18 or int(digits) > limit):
                raise too_large(status, limit)

    def add(self, chunk: bytes) -> None:
        """Take the next decoded chunk; raise if the body is now larger than the limit."""
        self._size += len(chunk)
        if self._size > self._limit:
            self._chunks.clear()
            raise too_large(self._status, self._limit)
        self._chunks.append(chunk)

    def value(self) -> bytes:
        """The whole body (the single chunk itself, not a copy, when there was one)."""
        return b"".join(self._chunks)
