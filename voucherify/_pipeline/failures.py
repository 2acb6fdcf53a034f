"""Transport failures, one table for both clients: how far an attempt got, what broke, and
what the SDK then says.

Each transport records how far an attempt got in a :class:`Progress` (its connection code
moves it on as it connects, tunnels, shakes hands and starts writing the request) and maps
its library's exception to a :class:`Kind`; :func:`transport_error` looks the two up in
:data:`CASES`. How far the attempt got alone decides ``request_sent``: a failure before the
first byte of the request was written is ``False``, any later one ``None``, whatever layer
(a proxy, TLS, the library) reported it and however it chose to name it.
"""

from __future__ import annotations

import enum
import errno
import http
import os
import ssl
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator, Optional

from voucherify.exceptions import (
    ApiConnectionException,
    ApiSSLException,
    ApiTimeoutException,
    ApiTransportException,
)


class Phase(enum.IntEnum):
    """How far an attempt got; only :attr:`SENT` and beyond may have reached the server."""

    POOL = 0
    """Taking a connection from the client's pool."""
    CONNECT = 1
    """Resolving the name and opening TCP to the host or the proxy."""
    PROXY = 2
    """Asking the proxy for a ``CONNECT`` tunnel and reading its answer."""
    TLS = 3
    """The TLS handshake with the host."""
    SENT = 4
    """Writing the request or reading the reply: the server may have processed it."""


class Kind(enum.Enum):
    """What broke, in terms that do not depend on the HTTP library."""

    CLOSED = "closed"
    """The client was closed while the call was starting."""
    TIMEOUT = "timeout"
    CERTIFICATE = "certificate"
    """The server's certificate was not accepted."""
    TLS = "tls"
    """A TLS protocol failure other than the certificate (garbage, plain HTTP, alerts)."""
    REFUSED_BY_PROXY = "refused by proxy"
    """The proxy answered the ``CONNECT`` with something other than 2xx."""
    BAD_REPLY = "bad reply"
    """What came back was not HTTP, or broke its framing."""
    BROKEN = "broken"
    """The connection failed or closed (refused, reset, end of file, unreachable...)."""


@dataclass(frozen=True)
class Case:
    """The exception class and the message (before any detail) for one kind of failure."""

    exception: type[ApiTransportException]
    message: str


_BEFORE_SENDING: dict[Kind, Case] = {
    Kind.CLOSED: Case(ApiConnectionException, "the client was closed as this call began"),
    Kind.TIMEOUT: Case(ApiTimeoutException, "timed out while connecting"),
    Kind.CERTIFICATE: Case(ApiSSLException, "TLS failure: certificate not accepted"),
    Kind.TLS: Case(ApiSSLException, "TLS handshake failed"),
    Kind.REFUSED_BY_PROXY: Case(ApiConnectionException, "the proxy refused the tunnel"),
    Kind.BAD_REPLY: Case(ApiConnectionException, "cannot connect"),
    Kind.BROKEN: Case(ApiConnectionException, "cannot connect"),
}
_AFTER_SENDING: dict[Kind, Case] = {
    Kind.CLOSED: Case(ApiConnectionException, "the client was closed during the call"),
    Kind.TIMEOUT: Case(ApiTimeoutException, "timed out waiting for the reply"),
    Kind.CERTIFICATE: Case(ApiSSLException, "TLS failure"),
    Kind.TLS: Case(ApiSSLException, "TLS failure"),
    Kind.REFUSED_BY_PROXY: Case(ApiConnectionException, "connection broken"),
    Kind.BAD_REPLY: Case(ApiConnectionException, "the reply broke the HTTP protocol"),
    Kind.BROKEN: Case(ApiConnectionException, "connection broken"),
}
_SHARPER: dict[tuple[Phase, Kind], Case] = {
    (Phase.PROXY, Kind.TIMEOUT): Case(ApiTimeoutException, "timed out waiting for the proxy"),
    (Phase.PROXY, Kind.BAD_REPLY): Case(ApiConnectionException, "the proxy broke off the tunnel"),
    (Phase.PROXY, Kind.BROKEN): Case(ApiConnectionException, "the proxy broke off the tunnel"),
    (Phase.TLS, Kind.TIMEOUT): Case(ApiTimeoutException, "timed out in the TLS handshake"),
    (Phase.TLS, Kind.BROKEN): Case(ApiConnectionException, "the TLS handshake broke off"),
}

CASES: dict[tuple[Phase, Kind], Case] = {
    (phase, kind): _SHARPER.get(
        (phase, kind), (_AFTER_SENDING if phase >= Phase.SENT else _BEFORE_SENDING)[kind]
    )
    for phase in Phase
    for kind in Kind
}
"""Every (phase, kind) pair and what the SDK raises for it. The exception class depends on
the kind only, so that both clients raise the same class for the same fault even where one
library cannot tell the phases before sending apart; the message names the phase when it can."""


def request_sent(phase: Phase) -> Optional[bool]:
    """``False`` when an attempt that got as far as ``phase`` cannot have been processed."""
    return None if phase >= Phase.SENT else False


def transport_error(
    phase: Phase, kind: Kind, detail: Optional[str] = None
) -> ApiTransportException:
    """The SDK exception for a failure of ``kind`` in ``phase``; ``detail`` ends its message.

    ``detail`` must come from :func:`describe` or be as safe: it never holds a URL, a header or
    anything else the caller configured.
    """
    case = CASES[(phase, kind)]
    message = f"{case.message}: {detail}" if detail else case.message
    return case.exception(message, request_sent=request_sent(phase))


class Progress:
    """How far the current attempt got; nothing moves it back once it reached ``SENT``."""

    __slots__ = ("phase",)

    def __init__(self) -> None:
        self.phase = Phase.POOL

    def reach(self, phase: Phase) -> None:
        """Note that the attempt got to ``phase``; once :attr:`Phase.SENT`, it stays there."""
        if self.phase is not Phase.SENT:
            self.phase = phase


current_progress: ContextVar[Optional[Progress]] = ContextVar(
    "voucherify_progress", default=None
)
"""The attempt the running transport code belongs to; set around each attempt."""


def reach(phase: Phase) -> None:
    """Move the current attempt (if the transport is tracking one) on to ``phase``."""
    progress = current_progress.get()
    if progress is not None:
        progress.reach(phase)


def causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and what it wraps: its ``__cause__``/``__context__`` chain and the libraries'
    own wrapping attributes (urllib3's ``reason`` and ``original_error``, aiohttp's
    ``os_error`` and ``certificate_error``), each once."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for name in ("original_error", "reason", "os_error", "certificate_error", "__cause__",
                     "__context__"):
            inner = getattr(current, name, None)
            if isinstance(inner, BaseException):
                pending.append(inner)
        for arg in getattr(current, "args", ()):
            if isinstance(arg, BaseException):
                pending.append(arg)


def describe(exc: BaseException) -> str:
    """A short reason for ``exc`` made only of what the OS, TLS or HTTP define, never of the
    exception's own text (which may name the URL, the proxy and its credentials)."""
    chain = list(causes(exc))
    for inner in chain:
        verify_message = getattr(inner, "verify_message", None)  # aiohttp's own lacks it
        if isinstance(inner, ssl.SSLCertVerificationError) and isinstance(verify_message, str):
            return f"{verify_message} (CERTIFICATE_VERIFY_FAILED)"
    for inner in chain:
        reason = getattr(inner, "reason", None)
        if isinstance(inner, ssl.SSLError) and isinstance(reason, str):
            return reason
    for inner in chain:
        code = getattr(inner, "errno", None)
        if isinstance(inner, OSError) and isinstance(code, int) and code > 0:
            name = errno.errorcode.get(code, "")
            return f"{os.strerror(code)} ({name})" if name else os.strerror(code)
    for inner in chain:
        if isinstance(inner, OSError) and isinstance(getattr(inner, "strerror", None), str):
            return str(inner.strerror)  # a resolver's gaierror: no errno, a fixed text
    return type(chain[-1]).__name__


def unrequested_reply(status: int) -> str:
    """The detail for a 1xx that came as the final reply (a ``101``: the SDK never asks to
    switch protocols); the request went out, and where the real reply starts is unknown."""
    return f"{status_text(status)} came as the final reply"


def status_text(status: int) -> str:
    """``407 Proxy Authentication Required``: a status and its standard phrase, not the
    peer's own (which could say anything)."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
