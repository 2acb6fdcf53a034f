"""Header safety: refuse what would break the request line or its framing, without echoing
secrets; and merge headers by name regardless of case, so each name goes out once."""

from __future__ import annotations

import re
from typing import Any

from voucherify.exceptions import ApiValueError

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE_CHARS = re.compile(r"[\r\n\x00]")

FRAMING_HEADERS = frozenset(
    {
        "content-length",
        "transfer-encoding",
        "host",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "expect",
        "proxy-connection",
        "http2-settings",
    }
)
"""Headers that say where a message ends or what the connection is: the transport writes
them; one from the caller could make a kept-alive connection read the next reply wrong."""


def check_header(name: Any, value: Any) -> None:
    """Raise ``ApiValueError`` for a header that is not a token name and a one-line ASCII
    string, or that is a framing header (``Content-Length``, ``Host``, ``Connection``...).

    The message names the header but never shows its value, which may be a key.
    """
    if not isinstance(name, str) or not _TOKEN.match(name):
        raise ApiValueError("header name is not a valid HTTP token")
    if name.lower() in FRAMING_HEADERS:
        raise ApiValueError(
            f"header {name} is set by the transport and cannot be given: it frames the "
            "message or the connection"
        )
    if not isinstance(value, str):
        raise ApiValueError(f"header {name}: value must be a string, not {type(value).__name__}")
    if _BAD_VALUE_CHARS.search(value):
        raise ApiValueError(f"header {name}: value contains CR, LF or NUL")
    if not value.isascii():
        if _outside_latin_1(value):
            problem = "characters outside Latin-1, which an HTTP header cannot carry"
        else:
            problem = (
                "characters outside ASCII, which the sync client would send as Latin-1 and "
                "the async one as UTF-8"
            )
        raise ApiValueError(
            f"header {name}: value has {problem}; use ASCII (percent-encoded if need be)"
        )


def _outside_latin_1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return True
    return False


def put_header(headers: dict[str, str], name: str, value: str) -> None:
    """Set ``name`` in ``headers``, replacing an entry whose name differs only in case.

    The first spelling stays (HTTP names ignore case); the value is the latest one.
    """
    if name not in headers:
        lower = name.lower()
        for existing in headers:
            if existing.lower() == lower:
                name = existing
                break
    headers[name] = value


def drop_header(headers: dict[str, str], name: str) -> None:
    """Remove every entry of ``headers`` named ``name``, in any case."""
    lower = name.lower()
    for existing in [existing for existing in headers if existing.lower() == lower]:
        del headers[existing]


def forbidden_header_error() -> ApiValueError:
    """What a transport raises when its HTTP library refuses a header the checks above did
    not see (one written straight into ``default_headers``): the library's own message would
    quote the value, which may be a key."""
    return ApiValueError("a header name or value contains a forbidden character (CR, LF or NUL)")
