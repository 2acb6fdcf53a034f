"""``Configuration``: where the API is, which keys to send, and how to connect.

Attribute names follow the official generated SDK (``host``, ``api_key``, ``api_key_prefix``,
``server_index``, ``server_variables``, ``verify_ssl``, ``ssl_ca_cert``, ``proxy``...) so that
existing set-up code keeps working. The secret keys never appear in ``repr`` or in
``to_debug_report``.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import platform
import sys
from functools import lru_cache
from typing import Any, ClassVar, Mapping, Optional, Union

from voucherify._version import __version__
from voucherify.exceptions import ApiTypeError, ApiValueError

DEFAULT_HOST = "https://api.voucherify.io"

DEFAULT_TIMEOUT: tuple[float, float] = (5.0, 30.0)
"""Seconds to wait for a connection and for each read of the reply, per attempt."""

DEFAULT_DEADLINE = 60.0
"""Seconds a whole call may take: every attempt, every wait between them, and reading."""

DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""The most bytes of a reply body the SDK reads, after decompression; the API's are small."""

TimeoutSpec = Union[None, float, tuple[float, float]]

CLUSTERS: dict[str, str] = {
    "api": "Europe (default)",
    "us1.api": "United States",
    "as1.api": "Asia",
}

REGIONS: dict[str, str] = {
    "eu": "api",
    "europe": "api",
    "us": "us1.api",
    "us1": "us1.api",
    "united-states": "us1.api",
    "as": "as1.api",
    "as1": "as1.api",
    "asia": "as1.api",
}
"""Plain names for the shared clusters, accepted by ``Configuration(region=...)``."""

_SERVER_TEMPLATE = "https://{cluster}.voucherify.io"

_LOG_LEVELS = {"debug": 10, "info": 20}
"""``VOUCHERIFY_LOG`` values, as ``logging`` levels."""

AUTH_KEYS: tuple[str, ...] = (
    "X-App-Id",
    "X-App-Token",
    "X-Client-Application-Id",
    "X-Client-Token",
)


HOST_ENV = "VOUCHERIFY_HOST"
"""The API's base URL, as ``host``."""
REGION_ENV = "VOUCHERIFY_REGION"
"""A shared cluster by plain name, as ``region``; not together with ``VOUCHERIFY_HOST``."""
KEY_ENV: dict[str, str] = {
    "X-App-Id": "VOUCHERIFY_APP_ID",
    "X-App-Token": "VOUCHERIFY_APP_TOKEN",
    "X-Client-Application-Id": "VOUCHERIFY_CLIENT_APP_ID",
    "X-Client-Token": "VOUCHERIFY_CLIENT_TOKEN",
}
"""The environment variable of each key, by the header it is sent as."""


def environment_for(host: str, keys: Mapping[str, str]) -> dict[str, str]:
    """The environment variables that make :meth:`Configuration.from_env` give ``host`` and
    ``keys`` (by header name): what a parent sets for a child process."""
    environment = {HOST_ENV: host}
    for header, value in keys.items():
        environment[KEY_ENV[header]] = value
    return environment


_COMPUTED_SETTINGS = ("host", "get_host_from_settings", "get_api_key_with_prefix")
"""What a subclass may override to decide the host or the keys at call time."""


class Configuration:
    """Settings shared by every call of an :class:`~voucherify.ApiClient`.

    :param host: base URL of the API; a path prefix and a trailing slash are allowed
        (``https://gateway.example/voucherify/``). Defaults to the European cluster.
    :param api_key: keys by header name: ``X-App-Id`` and ``X-App-Token`` for server-side
        calls, ``X-Client-Application-Id`` and ``X-Client-Token`` for client-side calls.
    :param api_key_prefix: an optional prefix per key, sent before it with a space.
    :param server_index: pick a server from :meth:`get_host_settings` instead of ``host``.
    :param server_variables: values for the chosen server's variables (``cluster``).
    :param ssl_ca_cert: a CA bundle file to verify the server's certificate with.
    :param region: a plain cluster name: ``"eu"``, ``"us"`` or ``"asia"`` (or ``"us1.api"``...).
    :param timeout: default ``(connect, read)`` timeout in seconds for each attempt, or one
        number for both. ``None`` waits forever, which is rarely what you want.
    :param deadline: seconds a whole call may take, retries and waits included; ``None`` for
        no limit beyond the per-attempt timeouts.
    :param retries: a :class:`~voucherify.retry.RetryPolicy`, a number of retries, ``None``
        for the default policy or ``False`` for none. The default never sends a tracked event
        twice: see :mod:`voucherify.retry`.
    """

    _default: ClassVar[Optional[Configuration]] = None
    _settings_are_stored: ClassVar[bool] = True
    """False for a subclass that computes the host or keys itself (see call_settings)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._settings_are_stored = all(
            getattr(cls, name) is getattr(Configuration, name) for name in _COMPUTED_SETTINGS
        )

    def __init__(
        self,
        host: Optional[str] = None,
        api_key: Optional[dict[str, str]] = None,
        api_key_prefix: Optional[dict[str, str]] = None,
        server_index: Optional[int] = None,
        server_variables: Optional[dict[str, str]] = None,
        ssl_ca_cert: Optional[str] = None,
        *,
        region: Optional[str] = None,
        timeout: TimeoutSpec = DEFAULT_TIMEOUT,
        deadline: Optional[float] = DEFAULT_DEADLINE,
        retries: Any = None,
    ) -> None:
        self._base_path = DEFAULT_HOST if host is None else host
        self.server_index = 0 if server_index is None and host is None else server_index
        self.server_variables: dict[str, str] = _dict_of(server_variables, "server_variables")
        if region is not None:
            if host is not None:
                raise ApiValueError("give either host or region, not both")
            self.server_index = 0
            self.server_variables["cluster"] = _cluster_for_region(region)
        self.api_key: dict[str, str] = _dict_of(api_key, "api_key")
        self.api_key_prefix: dict[str, str] = _dict_of(api_key_prefix, "api_key_prefix")
        self.timeout: TimeoutSpec = timeout
        self.deadline = deadline
        self.retries: Any = retries

        self.verify_ssl = True
        self.ssl_ca_cert = ssl_ca_cert
        self.cert_file: Optional[str] = None
        self.key_file: Optional[str] = None
        self.assert_hostname: Optional[Union[bool, str]] = None
        self.tls_server_name: Optional[str] = None
        self.connection_pool_maxsize = multiprocessing.cpu_count() * 5
        self.proxy: Optional[str] = None
        self.proxy_headers: Optional[dict[str, str]] = None
        self.trust_env = True
        """Use ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` when ``proxy`` is not set."""
        self.allow_insecure_http = False
        """Allow ``http://`` hosts other than this machine, sending the keys unencrypted."""
        self.socket_options: Optional[list[tuple[int, int, int]]] = None
        self.max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
        """Refuse a reply whose body, decompressed, is larger (checked on each call)."""
        self.client_side_validation = True
        self.debug = False
        """Log each attempt at DEBUG, headers included (keys masked), for this config only."""
        self._env_log_level = _LOG_LEVELS.get(os.environ.get("VOUCHERIFY_LOG", "").lower())

    @classmethod
    def from_env(
        cls,
        environ: Optional[Mapping[str, str]] = None,
        *,
        host: Optional[str] = None,
        region: Optional[str] = None,
        **settings: Any,
    ) -> Configuration:
        """A configuration from the environment: the host from ``VOUCHERIFY_HOST`` or
        ``VOUCHERIFY_REGION`` (else the European cluster), the keys from
        ``VOUCHERIFY_APP_ID``, ``VOUCHERIFY_APP_TOKEN``, ``VOUCHERIFY_CLIENT_APP_ID`` and
        ``VOUCHERIFY_CLIENT_TOKEN`` (each only if set and not empty).

        ``host`` or ``region`` given here win over both variables; ``settings`` go to the
        constructor (``timeout=``, ``retries=``...). ``environ`` defaults to ``os.environ``.
        Both variables set raise ``ApiValueError`` naming them; nothing is read implicitly
        elsewhere, so ``Configuration()`` stays as the official SDK's.
        """
        env = os.environ if environ is None else environ
        if host is None and region is None:
            host, region = env.get(HOST_ENV) or None, env.get(REGION_ENV) or None
            if host is not None and region is not None:
                raise ApiValueError(f"{HOST_ENV} and {REGION_ENV} are both set; unset one")
        try:
            configuration = cls(host=host, region=region, **settings)
        except ApiValueError as error:
            where = REGION_ENV if region is not None else HOST_ENV
            raise ApiValueError(f"{error} (from {where} or the region argument)") from None
        for header, name in KEY_ENV.items():
            value = env.get(name)
            if value:
                configuration.api_key[header] = value
        return configuration

    @property
    def log_level(self) -> Optional[int]:
        """The level this configuration's clients log at whatever the logger's level: DEBUG
        with ``debug``, else from ``VOUCHERIFY_LOG`` (``info`` or ``debug``), else ``None``."""
        return _LOG_LEVELS["debug"] if self.debug else self._env_log_level

    # -- hosts -------------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The base URL calls go to: ``server_index`` wins when set, else the given host."""
        return self.get_host_from_settings(self.server_index, self.server_variables)

    @host.setter
    def host(self, value: str) -> None:
        self._base_path = value
        self.server_index = None

    def get_host_settings(self) -> list[dict[str, Any]]:
        """The API's servers: one template whose ``cluster`` variable picks the region."""
        return _servers()

    def get_host_from_settings(
        self,
        index: Optional[int],
        variables: Optional[dict[str, str]] = None,
        servers: Optional[list[dict[str, Any]]] = None,
    ) -> str:
        """The URL of server ``index`` with ``variables`` filled in (defaults otherwise)."""
        if index is None:
            return self._base_path
        if not isinstance(index, int) or isinstance(index, bool):
            raise ApiTypeError(f"server_index must be an integer, not {type(index).__name__}")
        variables = _variables(variables)
        if servers is None:
            return _default_server_url(index, tuple(sorted(variables.items())))
        return _server_url(servers, index, variables)

    # -- keys --------------------------------------------------------------------------------

    def get_api_key_with_prefix(
        self, identifier: str, alias: Optional[str] = None
    ) -> Optional[str]:
        """The key for header ``identifier`` with its prefix, or ``None`` if it is not set."""
        key = self.api_key.get(identifier)
        if key is None and alias is not None:
            key = self.api_key.get(alias)
        if key is None:
            return None
        prefix = self.api_key_prefix.get(identifier)
        return f"{prefix} {key}" if prefix else key

    def call_settings(self) -> Optional[tuple[Any, ...]]:
        """Every setting a call's URL, headers and limits are made from, dicts as they are.

        Clients compare it with what they last built from, so a change, even to a key set in
        place (``api_key["X-App-Token"] = ...``), takes effect on the next call. ``None`` when
        a subclass computes the host or the keys itself: then they are asked on every call.
        """
        if not self._settings_are_stored:
            return None
        # The limits' types too: True == 1 and 2.0 == 2, but only one of each is valid.
        return (
            self._base_path,
            self.server_index,
            self.server_variables,
            self.api_key,
            self.api_key_prefix,
            self.allow_insecure_http,
            type(self.timeout),
            self.timeout,
            type(self.retries),
            self.retries,
            type(self.deadline),
            self.deadline,
        )

    def auth_settings(self) -> dict[str, dict[str, Any]]:
        """Each configured key as an auth setting, in the generated SDKs' shape."""
        settings = {}
        for name in AUTH_KEYS:
            value = self.get_api_key_with_prefix(name)
            if value is not None:
                settings[name] = {"type": "api_key", "in": "header", "key": name, "value": value}
        return settings

    # -- defaults and copies -----------------------------------------------------------------

    @classmethod
    def set_default(cls, default: Optional[Configuration]) -> None:
        """Make ``default`` the configuration that ``ApiClient()`` without one uses."""
        cls._default = default

    @classmethod
    def get_default(cls) -> Configuration:
        """The default configuration, created on first use."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    def __deepcopy__(self, memo: dict[int, Any]) -> Configuration:
        clone = copy.copy(self)
        for name in ("api_key", "api_key_prefix", "server_variables", "proxy_headers"):
            setattr(clone, name, copy.deepcopy(getattr(self, name), memo))
        return clone

    # -- safe descriptions -------------------------------------------------------------------

    def __repr__(self) -> str:
        keys = ", ".join(f"{name!r}: '***'" for name in _names(self.api_key))
        proxy = f", proxy={self._shown(self.proxy)!r}" if self.proxy else ""
        return f"Configuration(host={self._shown_host()!r}, api_key={{{keys}}}{proxy})"

    def to_debug_report(self) -> str:
        """Versions and settings for a bug report; never the keys, nor a URL's password."""
        return "\n".join(
            [
                "Python SDK Debug Report:",
                f"OS: {sys.platform}",
                f"Python Version: {platform.python_version()}",
                f"SDK Package Version: {__version__}",
                f"Host: {self._shown_host()}",
                f"Proxy: {self._shown(self.proxy) if self.proxy else 'none'}",
                f"Keys set: {', '.join(sorted(_names(self.api_key))) or 'none'}",
            ]
        )

    def _shown_host(self) -> str:
        try:
            host = self.host
        except Exception as error:  # a description must not fail; the call will say why
            return f"<not usable: {type(error).__name__}>"
        return self._shown(host)

    @staticmethod
    def _shown(url: Any) -> str:
        from voucherify._pipeline.urls import redact_url

        return redact_url(url) if isinstance(url, str) else f"<{type(url).__name__}>"


def _dict_of(value: Any, what: str) -> dict[str, str]:
    """A copy of a constructor's mapping argument; the wrong type is an ``ApiTypeError``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ApiTypeError(f"{what} must be a dict, not {type(value).__name__}")
    return dict(value)


def _variables(variables: Any) -> dict[str, str]:
    if variables is None:
        return {}
    if not isinstance(variables, Mapping) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in variables.items()
    ):
        raise ApiTypeError("server_variables must be a dict of names to string values")
    return dict(variables)


def _names(keys: Any) -> list[str]:
    """The key names of ``api_key`` for a description, whatever was assigned to it."""
    return [str(name) for name in keys] if isinstance(keys, Mapping) else []


def _servers() -> list[dict[str, Any]]:
    return [
        {
            "url": _SERVER_TEMPLATE,
            "description": "Voucherify shared or dedicated cluster",
            "variables": {
                "cluster": {
                    "description": "The cluster: "
                    + ", ".join(f"{name} ({where})" for name, where in CLUSTERS.items()),
                    "default_value": "api",
                    "enum_values": list(CLUSTERS),
                }
            },
        }
    ]


def _server_url(servers: list[dict[str, Any]], index: int, variables: dict[str, str]) -> str:
    if not 0 <= index < len(servers):
        raise ApiValueError(f"server index {index} is out of range; there are {len(servers)}")
    url: str = servers[index]["url"]
    for name, spec in servers[index].get("variables", {}).items():
        value = variables.get(name, spec["default_value"])
        allowed = spec.get("enum_values")
        if allowed and value not in allowed:
            raise ApiValueError(
                f"server variable {name}: {value!r} is not one of {', '.join(allowed)}"
            )
        url = url.replace("{" + name + "}", value)
    return url


@lru_cache(maxsize=16)
def _default_server_url(index: int, variables: tuple[tuple[str, str], ...]) -> str:
    # The host is read on every call; the default server list never changes, so cache it.
    return _server_url(_servers(), index, dict(variables))


def _cluster_for_region(region: Any) -> str:
    if not isinstance(region, str):
        raise ApiTypeError(f"region must be a string, not {type(region).__name__}")
    name = region.strip().lower()
    if name in CLUSTERS:
        return name
    cluster = REGIONS.get(name)
    if cluster is None:
        choices = ", ".join(sorted(set(REGIONS) | set(CLUSTERS)))
        raise ApiValueError(f"region {region!r} is not known; use one of: {choices}")
    return cluster
