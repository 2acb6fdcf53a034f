"""Faults to inject into the local stand-in: what the network or the API does when it fails.

Each function returns a frozen :class:`Fault`; queue it with ``server.inject(fault)``::

    from voucherify.testing import faults

    server.inject(faults.status(503), times=2)      # two 503s, then normal replies
    server.inject(faults.drop_after_processing())   # records the event, loses the reply

Some faults answer *instead of* the API (the event is not recorded: ``status``, ``reset``,
``redirect``, ``raw``); the others let the request be processed and then spoil the reply
(``delay``, ``drop_after_processing``, ``reset_after_head``, ``trickle``,
``close_after_reply``). :attr:`Fault.processes` tells which. A fault is about the transport,
so it applies before keys and rate limits are checked.

Faults are plain data, so they cross to a server in another process as JSON
(:meth:`Fault.to_json`, :meth:`Fault.from_json`).
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Union

__all__ = [
    "Fault",
    "close_after_reply",
    "delay",
    "drop_after_processing",
    "raw",
    "redirect",
    "reset",
    "reset_after_head",
    "status",
    "trickle",
]

PROCESSING_FAULTS = frozenset(
    {"delay", "drop_after_processing", "reset_after_head", "trickle", "close_after_reply"}
)
"""Faults after which the request is processed as usual (the event is recorded)."""

ANSWERING_FAULTS = frozenset({"status", "reset", "redirect", "raw"})
"""Faults that answer (or hang up) in place of the API: nothing is processed."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

Body = Union[bytes, str, Mapping[str, Any], list[Any], None]
"""A body for :func:`status`: bytes as they are, text as UTF-8, anything else as JSON."""


@dataclass(frozen=True)
class Fault:
    """One fault: its ``name`` and the parameters that name uses; build it with the functions.

    Fields a fault does not use keep their defaults. ``body=None`` on a ``status`` fault
    means the API's ``Error`` body for that status, with a fresh ``request_id`` each time.
    """

    name: str
    seconds: float = 0.0
    """``delay``: how long to wait before processing."""
    status: int = 0
    """``status``, ``redirect``, ``raw``: the status to answer."""
    body: Optional[bytes] = None
    """``status``, ``raw``: the body to answer; ``None`` on ``status`` means an Error body."""
    headers: tuple[tuple[str, str], ...] = ()
    """``status``: extra headers; ``redirect``: the ``Location``."""
    content_type: Optional[str] = None
    """``raw``: the ``Content-Type`` of ``body``."""
    chunk_size: int = 1
    """``trickle``: bytes per write."""
    interval: float = 0.0
    """``trickle``: seconds between writes."""

    def __post_init__(self) -> None:
        _check(self)

    @property
    def processes(self) -> bool:
        """Whether the request is processed (and an event recorded) despite the fault."""
        return self.name in PROCESSING_FAULTS

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``body`` as base64) that :meth:`from_json` turns back."""
        return {
            "name": self.name,
            "seconds": self.seconds,
            "status": self.status,
            "body": None if self.body is None else base64.b64encode(self.body).decode("ascii"),
            "headers": [list(pair) for pair in self.headers],
            "content_type": self.content_type,
            "chunk_size": self.chunk_size,
            "interval": self.interval,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Fault:
        """The fault :meth:`to_json` described; raises ``ValueError`` on anything else."""
        try:
            body = doc["body"]
            fault = cls(
                name=str(doc["name"]),
                seconds=float(doc["seconds"]),
                status=int(doc["status"]),
                body=None if body is None else base64.b64decode(body, validate=True),
                headers=tuple((str(name), str(value)) for name, value in doc["headers"]),
                content_type=None if doc["content_type"] is None else str(doc["content_type"]),
                chunk_size=int(doc["chunk_size"]),
                interval=float(doc["interval"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a fault description: {exc}") from None
        return fault

    def __repr__(self) -> str:
        # Short and parameter-only: faults appear in test output.
        shown = {
            "delay": ("seconds",),
            "status": ("status",),
            "trickle": ("chunk_size", "interval"),
            "redirect": ("status",),
            "raw": ("status", "content_type"),
        }.get(self.name, ())
        args = ", ".join(f"{field}={getattr(self, field)!r}" for field in shown)
        return f"faults.{self.name}({args})"


def delay(seconds: float) -> Fault:
    """Wait ``seconds`` after reading the request, then process and answer it normally.

    A client that gives up sooner sees a read timeout, yet the event is recorded.
    """
    return Fault("delay", seconds=_seconds(seconds, "seconds"))


def status(
    code: int,
    *,
    body: Body = None,
    headers: Optional[Mapping[str, str]] = None,
    retry_after: Optional[int] = None,
) -> Fault:
    """Answer ``code`` without processing the request.

    The default body is the API's ``Error`` JSON for ``code`` (``code``, ``key``,
    ``message``, ``details``, ``request_id``). ``headers`` are added (a ``Content-Type``
    among them replaces the JSON one); ``retry_after`` adds ``Retry-After`` in seconds.
    """
    extra = dict(headers or {})
    if retry_after is not None:
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise ValueError("retry_after must be a whole number of seconds, 0 or more")
        extra["Retry-After"] = str(retry_after)
    return Fault("status", status=code, body=_body(body), headers=tuple(extra.items()))


def reset() -> Fault:
    """Read the request, do not process it, and reset the connection (TCP RST)."""
    return Fault("reset")


def drop_after_processing() -> Fault:
    """Process the request (the event is recorded), then close the connection without a reply.

    The client cannot tell whether its event counted: sending it again counts it twice.
    """
    return Fault("drop_after_processing")


def reset_after_head() -> Fault:
    """Process the request, send the status line and headers, then reset before the body."""
    return Fault("reset_after_head")


def trickle(chunk_size: int = 1, interval: float = 0.05) -> Fault:
    """Process the request, then send the reply ``chunk_size`` bytes every ``interval`` s."""
    return Fault("trickle", chunk_size=chunk_size, interval=_seconds(interval, "interval"))


def close_after_reply() -> Fault:
    """Process the request, answer with ``Connection: close`` and close the connection."""
    return Fault("close_after_reply")


def redirect(location: str, status: int = 307) -> Fault:
    """Answer a redirect to ``location`` without processing the request."""
    return Fault("redirect", status=status, headers=(("Location", location),))


def raw(
    status: int = 200, body: bytes = b"<html>oops</html>", content_type: str = "text/html"
) -> Fault:
    """Answer ``status`` with these bytes and ``Content-Type``, without processing."""
    return Fault("raw", status=status, body=body, content_type=content_type)


def _check(fault: Fault) -> None:
    """Refuse parameters the server could not put on the wire, however the fault was built."""
    if fault.name not in PROCESSING_FAULTS | ANSWERING_FAULTS:
        raise ValueError(f"unknown fault {fault.name!r}")
    if fault.body is not None and not isinstance(fault.body, bytes):
        raise TypeError("a fault's body must be bytes")
    if fault.name == "raw" and (fault.body is None or fault.content_type is None):
        raise ValueError("a raw fault needs a body and a content type")
    if fault.name in ("status", "redirect", "raw"):
        _check_status(fault)
    _check_headers(fault)
    _seconds(fault.seconds, "seconds")
    _seconds(fault.interval, "interval")
    if isinstance(fault.chunk_size, bool) or not isinstance(fault.chunk_size, int):
        raise TypeError("chunk_size must be an int")
    if fault.chunk_size < 1:
        raise ValueError("chunk_size must be 1 or more")


def _check_status(fault: Fault) -> None:
    if isinstance(fault.status, bool) or not isinstance(fault.status, int):
        raise TypeError("a status code must be an int")
    if fault.name == "redirect":
        if fault.status not in REDIRECT_STATUSES:
            raise ValueError(f"a redirect status is one of {sorted(REDIRECT_STATUSES)}")
        location = fault.headers[0] if len(fault.headers) == 1 else ("", "")
        if location[0] != "Location" or not location[1]:
            raise ValueError("a redirect needs one non-empty location")
    elif not 200 <= fault.status <= 599:
        raise ValueError("status must be 200 to 599")


def _check_headers(fault: Fault) -> None:
    if not isinstance(fault.headers, tuple):
        raise TypeError("a fault's headers are a tuple of (name, value) pairs")
    for name, value in fault.headers:
        _header_text(name, "header name")
        _header_text(value, "header value")
        if not name or name.lower() in ("content-length", "transfer-encoding", "connection"):
            raise ValueError(f"header {name!r} cannot be set on a fault: the server sets it")
    if fault.content_type is not None:
        _header_text(fault.content_type, "content type")


def _seconds(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number of seconds")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a finite number of seconds, 0 or more")
    return float(value)


def _header_text(value: str, what: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"a {what} must be a string")
    if any(char in value for char in "\r\n\0"):
        raise ValueError(f"a {what} must not contain CR, LF or NUL")
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        raise ValueError(f"a {what} must be Latin-1 text, as HTTP headers are") from None


def _body(body: Body) -> Optional[bytes]:
    if body is None or isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
