"""What the sync and async ``ApiClient`` share: configuration and the headers of every call."""

from __future__ import annotations

import platform
from typing import Any, ClassVar, Optional

from typing_extensions import Self

from voucherify._pipeline.headers import check_header, put_header
from voucherify._pipeline.operation import Operation, RequestOptions
from voucherify._pipeline.request import PreparedRequest, TargetCache, prepare_request
from voucherify._version import __version__
from voucherify.configuration import Configuration

USER_AGENT = f"voucherify-python/{__version__} (Python {platform.python_version()})"
CHANNEL = "Python-SDK"
"""``X-Voucherify-Channel``: Voucherify counts SDK traffic by it."""


class BaseApiClient:
    """Holds the configuration and default headers; subclasses add a transport.

    ``ApiClient`` (urllib3) and ``voucherify.aio.ApiClient`` (aiohttp) differ in that and in
    how they drive the shared pipeline, blocking or awaiting.

    :param configuration: host, keys and connection settings; the default
        :class:`Configuration` when omitted.
    :param header_name: with ``header_value``, one extra header sent on every call; the
        log masks it like a key.
    :param cookie: a ``Cookie`` header sent on every call.

    Header names ignore case: setting one that differs from an existing one only in case
    replaces it, so each name goes out once.
    """

    _default: ClassVar[Optional[BaseApiClient]] = None

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
    ) -> None:
        self.configuration = Configuration.get_default() if configuration is None else configuration
        self.default_headers: dict[str, str] = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Voucherify-Channel": CHANNEL,
        }
        self._secret_headers: frozenset[str] = frozenset()
        """Lower-case names of client headers the log masks (``header_name``)."""
        if header_name is not None and header_value is not None:
            self.set_default_header(header_name, header_value)
            self._secret_headers = frozenset({header_name.lower()})
        if cookie is not None:
            self.set_default_header("Cookie", cookie)
        self.cookie = cookie
        self._targets: TargetCache = {}
        """Each operation's URL, headers and limits, rebuilt when the settings change."""
        self._open_transport()

    def _prepare(
        self,
        operation: Operation[Any],
        body: Any,
        header_args: tuple[Any, ...],
        options: RequestOptions,
    ) -> PreparedRequest:
        """Validate one call and build its request from this client's settings."""
        return prepare_request(
            operation, self.configuration, self.default_headers, body, header_args, options,
            self._targets, self._secret_headers,
        )

    def _open_transport(self) -> None:
        """Make ``self.rest_client``, the transport; each client class has its own."""
        raise NotImplementedError

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` header sent with every call."""
        for name, value in self.default_headers.items():
            if name.lower() == "user-agent":
                return value
        return ""

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        self.set_default_header("User-Agent", value)

    def set_default_header(self, header_name: str, header_value: str) -> None:
        """Send ``header_name: header_value`` on every call of this client, replacing a
        header of the same name in any case. Framing headers (``Content-Length``, ``Host``,
        ``Connection``...) and values that are not one line of ASCII raise ``ApiValueError``."""
        check_header(header_name, header_value)
        put_header(self.default_headers, header_name, header_value)

    @classmethod
    def get_default(cls) -> Self:
        """The shared client that API classes built without one use (one per client class)."""
        default: Optional[Self] = cls.__dict__.get("_default")
        if default is None:
            default = cls()
            cls._default = default
        return default

    @classmethod
    def set_default(cls, default: Optional[Self]) -> None:
        cls._default = default
