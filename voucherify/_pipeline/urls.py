"""URLs: the one check of a host or proxy URL, joining a host and a path, loopback hosts,
which proxy a URL goes through, and a URL's credentials kept out of every message.

A URL is accepted only in a plain form that every parser in play reads the same way
(urllib3's ``parse_url``, which the sync transport connects by; ``urllib.parse``; and yarl,
which aiohttp connects by): ASCII only, no whitespace, backslash, ``?`` or ``#``, a host that
is a name, a dotted-quad IPv4 address or a bracketed IPv6 address, and a port from 1 to
65535. So the host that the plain-``http://`` check reads is the host the connection opens.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import sys
import urllib.request
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple, Optional
from urllib.parse import urlsplit

from urllib3.exceptions import LocationParseError
from urllib3.util.url import parse_url

from voucherify.exceptions import ApiTypeError, ApiValueError

if TYPE_CHECKING:
    from voucherify.configuration import Configuration

_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_FORM = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://"
    rf"(?:(?P<userinfo>[{_UNRESERVED}{_SUB_DELIMS}:%]*)@)?"
    rf"(?P<host>\[[0-9A-Fa-f:.]+\]|[{_UNRESERVED}]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    rf"(?P<path>/[{_UNRESERVED}{_SUB_DELIMS}:@/%]*)?\Z"
)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_NUMERIC_HOST = re.compile(r"[0-9A-Fa-fXx.]+\Z")
_MASK = "***"


class ParsedUrl(NamedTuple):
    """A checked URL's parts, as the transport reads them."""

    scheme: str
    """``http`` or ``https``, lower case."""
    host: str
    """Lower case; an IPv6 address without its brackets."""
    port: Optional[int]
    has_userinfo: bool


def redact_url(text: str) -> str:
    """``text`` with any ``user:password@`` part replaced by ``***``; never raises.

    It works on any string, parsable or not: everything between the scheme and the last
    ``@`` goes, which may hide more than the credentials but never less.
    """
    at = text.rfind("@")
    if at < 0:
        return text
    start = text.find("://")
    start = start + 3 if 0 <= start < at else 0
    return text[:start] + _MASK + text[at:]


def parse_checked(url: Any, what: str, *, credentials_allowed: bool = False) -> ParsedUrl:
    """Check ``url`` and return its parts, or raise ``ApiValueError``/``ApiTypeError``.

    ``what`` names the setting in the message (``configuration.host``); the message says
    what is wrong and never quotes the URL, which may hold a password.
    """
    if not isinstance(url, str):
        raise ApiTypeError(f"{what} must be a string URL, not {type(url).__name__}")
    return _parse_checked(url, what, credentials_allowed)


@lru_cache(maxsize=64)
def _parse_checked(url: str, what: str, credentials_allowed: bool) -> ParsedUrl:
    problem = _problem(url, credentials_allowed)
    if problem is not None:
        raise ApiValueError(f"{what} cannot be connected to as written: {problem}")
    match = _FORM.match(url)
    assert match is not None  # _problem found none
    scheme, host, port = match["scheme"].lower(), match["host"].lower(), match["port"]
    parsed = ParsedUrl(
        scheme, host.strip("[]"), None if port is None else int(port), match["userinfo"] is not None
    )
    if not _parsers_agree(url, parsed):
        raise ApiValueError(
            f"{what} cannot be connected to as written: URL parsers read its host differently"
        )
    return parsed


def _problem(url: str, credentials_allowed: bool) -> Optional[str]:
    """What makes ``url`` unusable, in words that do not quote it; ``None`` if nothing."""
    problem = _character_problem(url)
    if problem is not None:
        return problem
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        return "it must start with http:// or https://"
    authority = rest.partition("/")[0]
    if "@" in authority and not credentials_allowed:
        return "it must not have a user:password@ part (the keys go in configuration.api_key)"
    hostport = authority.rpartition("@")[2]
    if not hostport or hostport.startswith(":"):
        return "it has no host name"
    port = hostport.rpartition("]")[2] if hostport.startswith("[") else hostport
    if ":" in port:
        digits = port.rpartition(":")[2]
        if not digits.isdigit():
            return "its port is not a number"
        if not 1 <= int(digits) <= 65535:
            return "its port is outside 1-65535"
    match = _FORM.match(url)
    if match is None:
        return "it is not of the form https://host[:port][/path]"
    return _host_problem(match["host"])


def _character_problem(url: str) -> Optional[str]:
    if not url.isascii():
        return (
            "it has characters outside ASCII; write the host in its xn-- form and "
            "percent-encode the path"
        )
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        return "it has a space or a control character"
    if "\\" in url:
        return "it has a backslash"
    if "?" in url or "#" in url:
        return "it must not have a query string or fragment (a ? or #)"
    if _BAD_ESCAPE.search(url):
        return "it has a % that does not start a %XX escape"
    return None


def _host_problem(host: str) -> Optional[str]:
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return "its [...] is not an IPv6 address"
        if address.scope_id:
            return "its IPv6 address has a zone"
    elif _NUMERIC_HOST.match(host) and _is_ipv4_to_the_resolver(host):
        try:
            canonical = str(ipaddress.IPv4Address(host)) == host
        except ValueError:
            canonical = False
        if not canonical:
            return "its IPv4 address must be four decimal numbers, like 127.0.0.1"
    return None


def _is_ipv4_to_the_resolver(host: str) -> bool:
    # The resolver reads 0x7f.1, 127.1 and 2130706433 as 127.0.0.1; ipaddress does not.
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return True


def _parsers_agree(url: str, parsed: ParsedUrl) -> bool:
    """Whether urllib3, ``urllib.parse`` and (when loaded) yarl read ``parsed`` from ``url``."""
    expected = (parsed.scheme, parsed.host, parsed.port)
    try:
        by_urllib3 = parse_url(url)
        by_stdlib = urlsplit(url)
        readings = [
            (by_urllib3.scheme, (by_urllib3.host or "").strip("[]"), by_urllib3.port),
            (by_stdlib.scheme, by_stdlib.hostname, by_stdlib.port),
        ]
        yarl = sys.modules.get("yarl")  # loaded with aiohttp, the async client's transport
        if yarl is not None:
            by_yarl = yarl.URL(url)
            explicit_port = by_yarl.port if by_yarl.explicit_port is not None else None
            readings.append((by_yarl.scheme, (by_yarl.raw_host or "").lower(), explicit_port))
    except (LocationParseError, ValueError, TypeError):
        return False
    return all(_comparable(reading) == _comparable(expected) for reading in readings)


def _comparable(reading: tuple[Optional[str], Optional[str], Optional[int]]) -> tuple[Any, ...]:
    scheme, host, port = reading
    try:
        # One IPv6 address has many spellings: ::ffff:127.0.0.1 is ::ffff:7f00:1 to yarl.
        return (scheme, ipaddress.ip_address(host or ""), port)
    except ValueError:
        return (scheme, (host or "").lower(), port)


@lru_cache(maxsize=64)
def join_url(host: str, path: str) -> str:
    """``host`` + ``path``, keeping any path prefix of ``host`` and dropping a trailing slash.

    The host is checked first (:func:`parse_checked`): one that cannot be connected to as
    written raises ``ApiValueError`` before anything is sent.
    """
    parse_checked(host, "configuration.host")
    return host.rstrip("/") + path


@lru_cache(maxsize=64)
def is_loopback(host: str) -> bool:
    """Whether ``host`` (as :class:`ParsedUrl` gives it) is this machine: ``localhost`` or a
    loopback address. An IPv4-mapped IPv6 address never counts, on any Python version."""
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return False
    return address.is_loopback


def sends_in_clear(host_url: str) -> bool:
    """Whether calls to ``host_url`` would carry the keys unencrypted off this machine.

    The URL is read by the same check the connection's URL passes, so it raises
    ``ApiValueError`` for a URL that check refuses.
    """
    parsed = parse_checked(host_url, "configuration.host")
    return parsed.scheme == "http" and not is_loopback(parsed.host)


def proxy_for(url: str, configuration: Configuration) -> Optional[str]:
    """The proxy URL a request to ``url`` goes through, or ``None`` to go direct.

    Only the scheme and host decide, so ``url`` may carry any path and query.
    """
    authority_end = url.find("/", url.find("://") + 3)
    origin = url if authority_end < 0 else url[:authority_end]
    host = parse_checked(origin, "configuration.host").host
    if is_loopback(host):
        return None
    if configuration.proxy:
        return configuration.proxy
    if not configuration.trust_env:
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(urlsplit(url).scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy


def check_proxy(url: str, configuration: Configuration) -> None:
    """Refuse, before any I/O, a proxy that the request to ``url`` would go through and that
    cannot be connected to as written (its credentials are allowed, never quoted)."""
    proxy = proxy_for(url, configuration)
    if proxy is not None:
        what = (
            "configuration.proxy" if configuration.proxy
            else "the proxy from HTTPS_PROXY/HTTP_PROXY"
        )
        parse_checked(proxy, what, credentials_allowed=True)
