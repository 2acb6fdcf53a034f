"""URLs: joining a host and a path, loopback hosts, and which proxy a URL goes through."""

from __future__ import annotations

import ipaddress
import urllib.request
from functools import lru_cache
from typing import TYPE_CHECKING, Optional
from urllib.parse import urlsplit

from voucherify.exceptions import ApiValueError

if TYPE_CHECKING:
    from voucherify.configuration import Configuration


@lru_cache(maxsize=64)
def join_url(host: str, path: str) -> str:
    """``host`` + ``path``, keeping any path prefix of ``host`` and dropping a trailing slash."""
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ApiValueError("configuration.host must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ApiValueError("configuration.host must not have a query string or fragment")
    return host.rstrip("/") + path


@lru_cache(maxsize=64)
def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or a loopback address."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@lru_cache(maxsize=64)
def sends_in_clear(host_url: str) -> bool:
    """Whether calls to ``host_url`` would carry the keys unencrypted off this machine."""
    parts = urlsplit(host_url)
    return parts.scheme == "http" and not is_loopback(parts.hostname or "")


def proxy_for(url: str, configuration: Configuration) -> Optional[str]:
    """The proxy URL a request to ``url`` goes through, or ``None`` to go direct."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if is_loopback(host):
        return None
    if configuration.proxy:
        return configuration.proxy
    if not configuration.trust_env:
        return None
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme)
    if not proxy or urllib.request.proxy_bypass(host):
        return None
    return proxy
