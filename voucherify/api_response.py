"""``ApiResponse``: a parsed reply together with its status, headers and raw bytes."""

from __future__ import annotations

from typing import Generic, Mapping, TypeVar

T = TypeVar("T")


class ApiResponse(Generic[T]):
    """What the ``..._with_http_info`` variants return.

    ``headers`` is case-insensitive (``headers["x-rate-limit-remaining"]`` works whatever the
    server's spelling); ``raw_data`` is the body exactly as received.
    """

    __slots__ = ("data", "headers", "raw_data", "status_code")

    def __init__(
        self, status_code: int, headers: Mapping[str, str], data: T, raw_data: bytes
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self.data = data
        self.raw_data = raw_data

    def __repr__(self) -> str:
        return f"ApiResponse(status_code={self.status_code}, data={self.data!r})"
