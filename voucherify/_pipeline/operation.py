"""What an endpoint is: method, path, keys, body and response models, header parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Optional, TypeVar

from typing_extensions import TypedDict

from voucherify.configuration import TimeoutSpec
from voucherify.models._base import RequestModel, ResponseModel

ResponseT = TypeVar("ResponseT", bound=ResponseModel)


@dataclass(frozen=True)
class Operation(Generic[ResponseT]):
    """One endpoint, declared once by its API class and read by the pipeline on each call."""

    name: str
    """``ApiClass.method``, used in messages."""
    method: str
    path: str
    body_param: str
    """The keyword the body is passed as, named in messages."""
    body_model: type[RequestModel]
    response_model: type[ResponseT]
    auth: tuple[str, ...]
    """Header names of the keys the endpoint requires, looked up in ``Configuration.api_key``."""
    header_params: tuple[str, ...] = ()
    """Required headers given as method arguments (``origin``)."""


class RequestOptions(TypedDict, total=False):
    """Per-call options every operation accepts, named as in the official SDK."""

    _request_timeout: TimeoutSpec
    """``(connect, read)`` seconds, or one number for both; overrides the configuration."""
    _request_auth: Optional[dict[str, Any]]
    """An auth setting (``{"in": "header", "key": ..., "value": ...}``) used instead of the
    configured keys for this call."""
    _content_type: Optional[str]
    """A JSON media type to send as ``Content-Type``."""
    _headers: Optional[dict[str, str]]
    """Extra headers for this call."""
    _host_index: Optional[int]
    """Send this call to server ``n`` of ``Configuration.get_host_settings()``."""
    _retries: Any
    """A ``RetryPolicy``, a number of retries, or ``False``, instead of the configuration's."""
    _deadline: Optional[float]
    """Seconds this whole call may take, instead of the configuration's ``deadline``."""


OPTION_NAMES = frozenset(RequestOptions.__annotations__)
