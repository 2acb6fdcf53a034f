"""Header safety: refuse what would break the request line, without echoing secrets."""

from __future__ import annotations

import re
from typing import Any

from voucherify.exceptions import ApiValueError

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BAD_VALUE_CHARS = re.compile(r"[\r\n\x00]")


def check_header(name: Any, value: Any) -> None:
    """Raise ``ApiValueError`` for a header that is not a token name and a one-line string.

    The message names the header but never shows its value, which may be a key.
    """
    if not isinstance(name, str) or not _TOKEN.match(name):
        raise ApiValueError("header name is not a valid HTTP token")
    if not isinstance(value, str):
        raise ApiValueError(f"header {name}: value must be a string, not {type(value).__name__}")
    if _BAD_VALUE_CHARS.search(value):
        raise ApiValueError(f"header {name}: value contains CR, LF or NUL")


def forbidden_header_error() -> ApiValueError:
    """What a transport raises when its HTTP library refuses a header the checks above did
    not see (one written straight into ``default_headers``): the library's own message would
    quote the value, which may be a key."""
    return ApiValueError("a header name or value contains a forbidden character (CR, LF or NUL)")
