"""A proxy URL's ``user:password@`` part, taken out of the URL and sent as a header.

Both transports give their library the proxy URL without credentials (so that no message,
repr or log of urllib3 or aiohttp can hold them) and send ``Proxy-Authorization`` themselves:
on the ``CONNECT`` of an https call, on the request itself of a plain-http one. That is what
aiohttp does with credentials in a proxy URL, and what the sync client now does too.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Optional
from urllib.parse import unquote

from urllib3.util.url import parse_url

from voucherify.exceptions import ApiValueError

PROXY_AUTHORIZATION = "Proxy-Authorization"


@dataclass(frozen=True)
class ProxyRoute:
    """How to use one proxy: its URL without credentials, the headers for it (with the
    configured ``proxy_headers``), and the ``Proxy-Authorization`` value, if any."""

    url: str
    headers: Optional[dict[str, str]]
    authorization: Optional[str]


def proxy_route(proxy: str, headers: Optional[Mapping[str, str]]) -> ProxyRoute:
    """Split ``proxy`` into a URL without credentials and the headers to send the proxy.

    The credentials are percent-decoded and sent as Basic auth in Latin-1 (as aiohttp does);
    they replace a ``Proxy-Authorization`` given in ``proxy_headers``, whatever its case.
    """
    url, authorization = _split(proxy)
    if authorization is None:
        return ProxyRoute(url, dict(headers) if headers is not None else None, None)
    merged = {
        name: value for name, value in (headers or {}).items()
        if name.lower() != PROXY_AUTHORIZATION.lower()
    }
    merged[PROXY_AUTHORIZATION] = authorization
    return ProxyRoute(url, merged, authorization)


@lru_cache(maxsize=16)
def _split(proxy: str) -> tuple[str, Optional[str]]:
    parsed = parse_url(proxy)
    if parsed.auth is None:
        return proxy, None
    user, _, password = parsed.auth.partition(":")
    try:
        pair = f"{unquote(user)}:{unquote(password)}".encode("latin-1")
    except UnicodeEncodeError:
        raise ApiValueError(
            "configuration.proxy: the user name and password must be Latin-1 text"
        ) from None
    return parsed._replace(auth=None).url, "Basic " + base64.b64encode(pair).decode("ascii")
