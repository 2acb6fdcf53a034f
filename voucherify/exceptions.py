"""Everything the SDK raises, rooted at one class.

``OpenApiException`` (also exported as ``VoucherifyError``) is the root: catching it catches
every error the SDK raises. ``ApiException`` covers what comes back from, or fails on the way
to, the API; ``ApiValueError`` and ``ApiTypeError`` cover bad input, raised before any I/O.
The names match the official generated SDK so that existing ``except`` clauses keep working.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, Optional, Sequence

if TYPE_CHECKING:
    from voucherify.models.error import Error
    from voucherify.rate_limit import RateLimit

__all__ = [
    "ApiAttributeError",
    "ApiConnectionException",
    "ApiException",
    "ApiKeyError",
    "ApiResponseTooLargeException",
    "ApiSSLException",
    "ApiTimeoutException",
    "ApiTransportException",
    "ApiTypeError",
    "ApiValueError",
    "BadRequestException",
    "ConflictException",
    "ForbiddenException",
    "InvalidResponseException",
    "NotFoundException",
    "OpenApiException",
    "RateLimitException",
    "ServiceException",
    "TooManyRequestsException",
    "UnauthorizedException",
    "UnprocessableEntityException",
    "VoucherifyError",
]


def _rebuild(cls: type[BaseException], args: tuple[Any, ...]) -> BaseException:
    """Make an exception with these ``args`` without running its ``__init__``; pickle then
    restores its attributes."""
    exc = cls.__new__(cls, *args)
    exc.args = args
    return exc


class PicklableException(BaseException):
    """Mixin: pickle and copy by ``args`` and attributes, never by calling ``__init__`` again.

    Python's default calls ``cls(*self.args)``, which fails for any ``__init__`` whose
    parameters differ from ``args`` (``ProcessPoolExecutor`` and ``multiprocessing`` then
    lose the exception). Every exception class of the SDK derives from this.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args), self._pickle_state() or None)

    def _pickle_state(self) -> dict[str, Any]:
        """The attributes to restore; a subclass swaps what cannot be pickled."""
        return dict(self.__dict__)


class OpenApiException(PicklableException, Exception):
    """The root of every exception this SDK raises."""


VoucherifyError = OpenApiException


def render_path(path: Optional[Sequence[Any]]) -> str:
    """Render a field path as `customer.metadata.tags[2]`."""
    out = ""
    for part in path or ():
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class ApiTypeError(OpenApiException, TypeError):
    """A value of the wrong type was given; raised before any request is sent."""

    def __init__(
        self,
        msg: str,
        path_to_item: Optional[Sequence[Any]] = None,
        valid_classes: Optional[tuple[type, ...]] = None,
        key_type: Optional[bool] = None,
    ) -> None:
        self.path_to_item = list(path_to_item or [])
        self.valid_classes = valid_classes
        self.key_type = key_type
        where = render_path(path_to_item)
        super().__init__(f"{where}: {msg}" if where else msg)


class ApiValueError(OpenApiException, ValueError):
    """Input broke a rule of the API contract; raised before any request is sent.

    ``errors`` lists each problem as ``(path, rule)``; the message joins them, naming the
    field path and the rule but never echoing the offending value.
    """

    def __init__(
        self,
        msg: str,
        path_to_item: Optional[Sequence[Any]] = None,
        errors: Optional[Sequence[tuple[str, str]]] = None,
    ) -> None:
        self.path_to_item = list(path_to_item or [])
        where = render_path(path_to_item)
        self.errors: list[tuple[str, str]] = list(errors or ([(where, msg)] if where else []))
        super().__init__(f"{where}: {msg}" if where else msg)


class ApiAttributeError(OpenApiException, AttributeError):
    """An attribute that does not exist was asked for."""


class ApiKeyError(OpenApiException, KeyError):
    """A key that does not exist was asked for."""


class ApiException(OpenApiException):
    """The API answered with an error status, or the exchange with it failed.

    ``status``, ``reason``, ``headers`` (case-insensitive) and ``body`` (the raw bytes, decoded
    to text where possible) describe the reply; ``data`` is the parsed :class:`Error` when the
    body was one. The error's fields are reachable directly: ``e.key``, ``e.details``,
    ``e.request_id`` and so on.
    """

    status: Optional[int]
    reason: Optional[str]
    attempts: int = 1
    """How many times the request was sent (or tried) before this was raised."""
    slept: float = 0.0
    """Seconds spent waiting between attempts."""
    retryable: bool = False
    """Whether sending the same request again cannot record the event twice: it was not
    sent or not processed (refused, 429), or the method is idempotent."""

    def __init__(
        self,
        status: Optional[int] = None,
        reason: Optional[str] = None,
        http_resp: Any = None,
        *,
        body: Optional[str] = None,
        data: Optional[Error] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> None:
        self.status = status
        self.reason = reason
        self.body = body
        self.data = data
        self.headers: Optional[Mapping[str, str]] = headers
        if http_resp is not None:
            self.status = http_resp.status if status is None else status
            self.reason = http_resp.reason if reason is None else reason
            if self.headers is None:
                self.headers = http_resp.headers
            if self.body is None:
                raw = http_resp.data
                self.body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        super().__init__(self.status, self.reason)

    def _pickle_state(self) -> dict[str, Any]:
        state = super()._pickle_state()
        state["headers"] = _picklable_headers(state.get("headers"))
        return state

    # Parsed-error shortcuts: ``e.key`` instead of ``e.data.key``.
    @property
    def code(self) -> Any:
        return getattr(self.data, "code", None)

    @property
    def key(self) -> Optional[str]:
        return getattr(self.data, "key", None)

    @property
    def message(self) -> Optional[str]:
        return getattr(self.data, "message", None)

    @property
    def details(self) -> Optional[str]:
        return getattr(self.data, "details", None)

    @property
    def request_id(self) -> Optional[str]:
        return getattr(self.data, "request_id", None)

    @property
    def resource_id(self) -> Optional[str]:
        return getattr(self.data, "resource_id", None)

    @property
    def resource_type(self) -> Optional[str]:
        return getattr(self.data, "resource_type", None)

    @property
    def rate_limit(self) -> Optional[RateLimit]:
        """The reply's rate-limit headers, parsed; ``None`` when it had none."""
        from voucherify.rate_limit import RateLimit

        return RateLimit.from_headers(self.headers)

    @property
    def retry_after(self) -> Optional[float]:
        """Seconds the API asked to wait before the next call (for a 429), if it said."""
        rate_limit = self.rate_limit
        return None if rate_limit is None else rate_limit.seconds_to_wait()

    def __str__(self) -> str:
        head = f"({self.status}) {self.reason}" if self.reason else f"({self.status})"
        parts = [head]
        if self.key:
            parts.append(f"key={self.key}")
        if self.message:
            parts.append(f"message={self.message!r}")
        if self.details:
            parts.append(f"details={self.details!r}")
        if self.request_id:
            parts.append(f"request_id={self.request_id}")
        if self.data is None and self.body:
            snippet = self.body if len(self.body) <= 200 else self.body[:200] + "..."
            parts.append(f"body={snippet!r}")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, reason={self.reason!r})"

    @classmethod
    def from_response(
        cls,
        *,
        http_resp: Any,
        body: Optional[str] = None,
        data: Optional[Error] = None,
    ) -> ApiException:
        """Build the exception class that matches ``http_resp.status``."""
        exc_class = exception_class_for_status(http_resp.status)
        return exc_class(http_resp=http_resp, body=body, data=data)


class BadRequestException(ApiException):
    """400: the payload broke a rule (``invalid_payload``, ``metadata_validation_failed``...)."""


class UnauthorizedException(ApiException):
    """401: the application id or secret key is wrong or missing."""


class ForbiddenException(ApiException):
    """403: the keys lack a permission this call needs."""


class NotFoundException(ApiException):
    """404: a referenced resource (a customer id, say) does not exist."""


class ConflictException(ApiException):
    """409: the request conflicts with the resource's current state."""


class UnprocessableEntityException(ApiException):
    """422: the request was well-formed but could not be processed."""


class TooManyRequestsException(ApiException):
    """429: the project's rate limit was hit; the API did not process the request."""


RateLimitException = TooManyRequestsException


class ServiceException(ApiException):
    """5xx: the server failed; an event may or may not have been recorded."""


class InvalidResponseException(ApiException):
    """A 2xx reply whose body is not JSON or lacks what the response model needs."""

    def __init__(self, problem: str, **kwargs: Any) -> None:
        self.problem = problem
        super().__init__(**kwargs)

    def __str__(self) -> str:
        return f"({self.status}) unusable response body: {self.problem}"


class ApiTransportException(ApiException):
    """The exchange with the API failed before a complete reply arrived.

    ``request_sent`` is ``False`` when the request certainly never reached the server (so it
    was not processed) and ``None`` when it may have been processed: for an event, it may have
    been recorded.
    """

    deadline_exceeded: bool = False
    """Whether the call's total deadline, not one attempt's timeout, ended it."""

    def __init__(self, message: str, *, request_sent: Optional[bool]) -> None:
        self.request_sent = request_sent
        self._message = message
        super().__init__(status=None, reason=None)

    @property
    def message(self) -> Optional[str]:
        return self._message

    def __str__(self) -> str:
        if self.request_sent is False:
            outcome = "the request was not sent"
        elif self.retryable:
            outcome = "the request may have been processed"
        else:
            outcome = "the request may have been processed, so it was not sent again"
        tries = f", after {self.attempts} attempts" if self.attempts > 1 else ""
        cause = "the call's deadline passed: " if self.deadline_exceeded else ""
        return f"{cause}{self._message} ({outcome}{tries})"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._message!r}, request_sent={self.request_sent!r})"


class ApiConnectionException(ApiTransportException):
    """The connection could not be made, or broke (refused, reset, DNS, proxy)."""


class ApiSSLException(ApiConnectionException):
    """The TLS handshake failed, for example because the certificate was not trusted."""


class ApiTimeoutException(ApiTransportException):
    """The connect or read timeout ran out."""


class ApiResponseTooLargeException(ApiTransportException):
    """The reply's body, decompressed, was larger than ``Configuration.max_response_bytes``,
    so the SDK stopped reading it. The server had answered, so ``request_sent`` is ``None``."""


def _picklable_headers(headers: Optional[Mapping[str, str]]) -> Optional[Mapping[str, str]]:
    """The headers as a urllib3 ``HTTPHeaderDict`` (case-insensitive, repeated names kept).

    aiohttp's ``CIMultiDictProxy`` cannot be pickled; a plain mapping is converted too, so a
    copied exception's headers ignore case as the original's did.
    """
    if headers is None:
        return None
    from urllib3 import HTTPHeaderDict

    if type(headers) is HTTPHeaderDict:
        return headers
    copied = HTTPHeaderDict()
    for name, value in headers.items():
        copied.add(name, value)
    return copied


_BY_STATUS: dict[int, type[ApiException]] = {
    400: BadRequestException,
    401: UnauthorizedException,
    403: ForbiddenException,
    404: NotFoundException,
    409: ConflictException,
    422: UnprocessableEntityException,
    429: TooManyRequestsException,
}


def exception_class_for_status(status: int) -> type[ApiException]:
    """The ``ApiException`` subclass that a reply with ``status`` raises."""
    if 500 <= status <= 599:
        return ServiceException
    return _BY_STATUS.get(status, ApiException)
