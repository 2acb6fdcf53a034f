"""``ApiClient``: runs an operation through the pipeline over the urllib3 transport.

One client holds one connection pool and is safe to share between threads. Use it as a
context manager, or call :meth:`ApiClient.close`, to release its connections.
"""

from __future__ import annotations

import platform
import time
from types import TracebackType
from typing import Any, ClassVar, Optional

import urllib3

from voucherify._pipeline.exchange import SLEEP, exchange
from voucherify._pipeline.headers import check_header
from voucherify._pipeline.operation import Operation, RequestOptions, ResponseT
from voucherify._pipeline.request import prepare_request
from voucherify._version import __version__
from voucherify.api_response import ApiResponse
from voucherify.configuration import Configuration
from voucherify.exceptions import ApiTransportException
from voucherify.rest import RESTClientObject

USER_AGENT = f"voucherify-python/{__version__} (Python {platform.python_version()})"
CHANNEL = "Python-SDK"


class ApiClient:
    """Sends operations for the API classes (:class:`~voucherify.EventsApi`...).

    :param configuration: host, keys and connection settings; the default
        :class:`Configuration` when omitted.
    :param header_name: with ``header_value``, one extra header sent on every call.
    :param cookie: a ``Cookie`` header sent on every call.
    """

    _default: ClassVar[Optional[ApiClient]] = None

    def __init__(
        self,
        configuration: Optional[Configuration] = None,
        header_name: Optional[str] = None,
        header_value: Optional[str] = None,
        cookie: Optional[str] = None,
    ) -> None:
        self.configuration = Configuration.get_default() if configuration is None else configuration
        self.rest_client = RESTClientObject(self.configuration)
        self.default_headers: dict[str, str] = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Voucherify-Channel": CHANNEL,
        }
        if header_name is not None and header_value is not None:
            self.set_default_header(header_name, header_value)
        if cookie is not None:
            self.set_default_header("Cookie", cookie)
        self.cookie = cookie

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every pooled connection; the client opens new ones if used again."""
        self.rest_client.close()

    @property
    def user_agent(self) -> str:
        """The ``User-Agent`` header sent with every call."""
        return self.default_headers["User-Agent"]

    @user_agent.setter
    def user_agent(self, value: str) -> None:
        self.set_default_header("User-Agent", value)

    def set_default_header(self, header_name: str, header_value: str) -> None:
        """Send ``header_name: header_value`` on every call of this client."""
        check_header(header_name, header_value)
        self.default_headers[header_name] = header_value

    @classmethod
    def get_default(cls) -> ApiClient:
        """The shared client that API classes built without one use."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    @classmethod
    def set_default(cls, default: Optional[ApiClient]) -> None:
        cls._default = default

    def call_operation(
        self,
        operation: Operation[ResponseT],
        body: Any,
        header_args: tuple[Any, ...],
        options: RequestOptions,
    ) -> ApiResponse[ResponseT]:
        """Validate, send and parse one call, retrying as the policy allows.

        The API classes' methods all end here. Failures raise with ``attempts``, ``slept``
        and ``retryable`` set; a success reports the same on the ``ApiResponse``.
        """
        request = prepare_request(
            operation, self.configuration, self.default_headers, body, header_args, options
        )
        steps = exchange(operation, request, self.configuration.log_level)
        step = next(steps)
        outcome: Any
        try:
            while True:
                if step[0] is SLEEP:
                    time.sleep(step[1])
                    outcome = None
                else:
                    try:
                        outcome = self.rest_client.send(
                            request.method,
                            request.url,
                            request.headers,
                            request.body,
                            step[1],
                            step[2],
                        )
                    except ApiTransportException as error:
                        outcome = error
                step = steps.send(outcome)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def call_operation_raw(
        self,
        operation: Operation[Any],
        body: Any,
        header_args: tuple[Any, ...],
        options: RequestOptions,
    ) -> urllib3.BaseHTTPResponse:
        """Validate and send one call; return the unread reply, whatever its status."""
        request = prepare_request(
            operation, self.configuration, self.default_headers, body, header_args, options
        )
        return self.rest_client.request(
            request.method,
            request.url,
            request.headers,
            request.body,
            request.timeouts,
            preload_content=False,
        )
